"""Output helpers on hostile text: escaped for a terminal, plain in the UI, inert in Markdown."""

from __future__ import annotations

import json

import pytest
from markdown_it import MarkdownIt
from rich.console import Console

from errwatch.core.textsafe import (
    for_terminal,
    json_text,
    markdown_block,
    markdown_code,
    markdown_fence,
    markdown_inline,
    plain,
)
from tests.hostile import corpus


@pytest.mark.parametrize("text", corpus.ALL)
def test_nothing_acts_on_a_terminal(text: str) -> None:
    shown = for_terminal(text)
    assert corpus.raw_controls(shown) == []
    assert corpus.raw_controls(for_terminal(text, one_line=True), allow="") == []


def test_escapes_stay_visible_and_ordinary_text_is_untouched() -> None:
    assert for_terminal(corpus.OSC_TITLE) == "\\x1b]2;PWNED\\x1b\\"
    assert for_terminal(corpus.BIDI) == "user\\u202eexe.txt\\u202c"
    assert for_terminal(corpus.CARRIAGE) == "innocent\\rPWNED"
    text = "ZeroDivisionError: division by zero — café [ok]\n  line 2\tcol"
    assert for_terminal(text) == text
    assert for_terminal("a\nb\tc", one_line=True) == "a\\nb\\tc"


@pytest.mark.parametrize("text", [*corpus.MARKUP, corpus.MESSAGE])
def test_the_ui_shows_markup_as_text(text: str) -> None:
    rendered = plain(text)
    assert rendered.plain == for_terminal(text)
    assert not rendered.spans  # no style came from the text
    console = Console(width=400, color_system=None, file=None, force_terminal=False)
    with console.capture() as captured:
        console.print(rendered)
    assert corpus.raw_controls(captured.get()) == []
    for markup in corpus.MARKUP:
        if markup in text:
            assert markup in captured.get().replace("\n", "")  # shown, not applied


def _tokens(markdown: str) -> list[str]:
    return [token.type for token in MarkdownIt("gfm-like").parse(markdown)]


@pytest.mark.parametrize("text", [*corpus.MARKDOWN, corpus.MESSAGE, "````` five", "a ` b `` c"])
def test_a_sample_cannot_leave_its_fence(text: str) -> None:
    document = f"# Report\n\n{markdown_block(text)}\n## After\n"
    kinds = _tokens(document)
    # One heading before, one fence, one heading after: nothing in between from the text.
    assert kinds.count("fence") == 1
    assert kinds.count("heading_open") == 2
    assert "html_block" not in kinds and "html_inline" not in kinds
    fence = MarkdownIt("gfm-like").parse(document)[3]
    assert fence.type == "fence"
    assert fence.content.rstrip("\n") == for_terminal(text).rstrip("\n")


def test_the_fence_is_longer_than_any_backtick_run() -> None:
    assert markdown_fence("no ticks") == "```"
    assert markdown_fence("``````") == "```````"


@pytest.mark.parametrize("text", [*corpus.MARKDOWN, corpus.MESSAGE, "# title", "1. item", "**b**"])
def test_a_message_outside_a_fence_is_literal(text: str) -> None:
    line = markdown_inline(text)
    assert "\n" not in line
    document = f"| message |\n| --- |\n| {line} |\n"
    parsed = MarkdownIt("gfm-like").parse(document)
    cells = [parsed[i + 1] for i, token in enumerate(parsed) if token.type == "td_open"]
    assert len(cells) == 1  # one cell: no | from the text opened another
    kinds = {child.type for child in cells[0].children or []}
    assert kinds <= {"text"}, kinds  # no link, emphasis, html, code


BARE_LINKS = ("evil.com", "www.evil.example", "http://evil.example/x", "x@evil.com", "//evil.com")
BLOCK_STARTS = ("- item", "+ item", "1) item", "1. item", "# title", "===", "> quote", "---")


@pytest.mark.parametrize("text", [*BARE_LINKS, *BLOCK_STARTS, corpus.MESSAGE])
def test_a_message_at_the_start_of_a_paragraph_is_literal(text: str) -> None:
    """No linkifier finds a link in it, and it opens no list, heading or quote."""
    parsed = MarkdownIt("gfm-like").parse(f"{markdown_inline(text)} and more\n")
    assert [token.type for token in parsed] == ["paragraph_open", "inline", "paragraph_close"]
    children = parsed[1].children or []
    assert {child.type for child in children} <= {"text"}
    assert "".join(child.content for child in children) == for_terminal(text, one_line=True) + (
        " and more"
    )


def test_ordinary_words_stay_readable() -> None:
    assert markdown_inline("inventory-slow: delay 2s on 50% of requests") == (
        "inventory-slow: delay 2s on 50% of requests"
    )


@pytest.mark.parametrize(
    "text", [*corpus.ALL, corpus.MESSAGE, "a`b", "`x`", "``", "a ``` b", " lead", "trail "]
)
def test_a_name_in_a_code_span_is_shown_whole(text: str) -> None:
    """The span ends where errwatch ends it, and holds the name verbatim (escapes shown)."""
    for cell in (False, True):
        span = markdown_code(text, cell=cell)
        document = f"| name |\n| --- |\n| {span} |\n" if cell else f"on {span} (3)\n"
        parsed = MarkdownIt("gfm-like").parse(document)
        inline = [token for token in parsed if token.type == "inline"][-1]
        codes = [child for child in inline.children or [] if child.type == "code_inline"]
        assert len(codes) == 1, span
        assert codes[0].content == for_terminal(text, one_line=True)
        assert len([token for token in parsed if token.type == "td_open"]) == (1 if cell else 0)


@pytest.mark.parametrize("indent", [None, 2])
def test_json_for_a_terminal_is_valid_and_inert(indent: int | None) -> None:
    value = {"message": corpus.MESSAGE, corpus.BIDI: [corpus.C1_CSI, "café ✓"]}
    text = json_text(value, indent=indent)
    assert corpus.raw_controls(text, allow="\n" if indent else "") == []
    assert json.loads(text) == value  # the text itself, once decoded
    assert "café ✓" in text  # letters stay readable

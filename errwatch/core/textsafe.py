"""Text from outside (log lines, labels, server answers, command output) made safe to show.

Such text is data. One helper per kind of output, used by every path that shows it:

- :func:`for_terminal`: printed to a terminal (``scan``, ``check``, ``inject``, the
  report on stdout) or drawn by the dashboard: escape sequences (CSI, OSC, DCS...) and
  control characters become visible escapes (``\\x1b``), never act on the terminal;
  bidirectional overrides, which reorder what a person reads, are shown the same way.
- :func:`plain`: the dashboard's cells and notes: :func:`for_terminal`, as a Rich ``Text``,
  so ``[/]`` or ``[@click=app.quit]`` in a message is shown, never parsed as markup.
- :func:`json_text`: JSON printed to a terminal (``--json``): valid JSON whose strings
  hold no raw control, C1 or bidirectional character (``json.dumps`` escapes only C0).
- :func:`markdown_block`, :func:`markdown_code` and :func:`markdown_inline`: the Markdown
  post-mortem: samples in fences longer than any backtick run they hold, names in code
  spans they cannot close, messages escaped, so that no heading, link, HTML or table
  cell comes from a log line.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text  # imported when used: scan and check print without Rich

_KEPT = {ord("\n"), ord("\t")}
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_NAMED = {ord("\r"): "\\r", ord("\t"): "\\t", ord("\n"): "\\n", 0x1B: "\\x1b", 0x7F: "\\x7f"}


def _escape(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI]
_MULTILINE = str.maketrans({code: _escape(code) for code in _CONTROLS if code not in _KEPT})
_ONE_LINE = str.maketrans({code: _escape(code) for code in _CONTROLS})


def for_terminal(text: str, *, one_line: bool = False) -> str:
    """``text`` with every control character and escape sequence shown, none acting.

    Newlines and tabs stay, unless ``one_line`` (a table cell, a status line), where they
    are shown as ``\\n`` and ``\\t`` too.
    """
    return text.translate(_ONE_LINE if one_line else _MULTILINE)


# Characters json.dumps(ensure_ascii=False) leaves raw: DEL, C1 (0x9b is a CSI to a
# terminal that reads 8-bit controls), bidirectional overrides. \uXXXX is valid JSON.
_JSON_RAW = str.maketrans({code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), *_BIDI)})


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON for a terminal or a pipe: non-ASCII letters as they are, every
    control, C1 and bidirectional character escaped (``\\u009b``)."""
    return json.dumps(value, ensure_ascii=False, indent=indent).translate(_JSON_RAW)


def plain(text: str, style: str = "", *, one_line: bool = False) -> Text:
    """``text`` as a Rich ``Text`` for the dashboard: never markup, never an escape sequence."""
    from rich.text import Text

    return Text(for_terminal(text, one_line=one_line), style=style)


_BACKTICKS = re.compile(r"`+")
# Characters that make Markdown or HTML structure wherever they stand: emphasis, code,
# links and images (the brackets), HTML and entities, table cells, strikethrough, math;
# "@", "." and ":" before "/" because linkifiers make a link of "x@y.z", "www.x",
# "http://x" and even a bare "evil.com".
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&@$.]|:(?=/))")
# Characters that open a block only at the start of a line (a heading, a list, a quote,
# a setext underline): escaped there; text outside a fence never spans lines.
_BLOCK_START = re.compile(r"^(\s*\d*)([-+=#)])")


def markdown_fence(text: str) -> str:
    """A backtick fence that ``text`` cannot close: longer than its longest backtick run."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def markdown_block(text: str, info: str = "") -> str:
    """``text`` as a fenced code block (shown verbatim, controls escaped), newline-ended."""
    body = for_terminal(text).rstrip("\n")
    fence = markdown_fence(body)
    return f"{fence}{info}\n{body}\n{fence}\n"


def markdown_inline(text: str) -> str:
    """``text`` as literal inline Markdown: one line, every Markdown and HTML character escaped.

    Safe in a paragraph, a list item or a table cell: a ``|`` cannot open a cell, a ``#``
    cannot make a heading, ``<b>`` and ``[x](y)`` stay text, a URL is no link.
    """
    escaped = _INLINE_SPECIAL.sub(r"\\\1", for_terminal(text, one_line=True))
    return _BLOCK_START.sub(r"\1\\\2", escaped)


def markdown_code(text: str, *, cell: bool = False) -> str:
    """``text`` as an inline code span (one line, shown verbatim): its backtick delimiters
    are a run that ``text`` does not hold, so nothing in it can close the span early.

    In a table ``cell``, ``|`` is escaped: GitHub splits cells at a ``|`` even inside code
    (and shows ``\\|`` there as ``|``).
    """
    body = for_terminal(text, one_line=True)
    if not body.strip(" "):
        return "` `"  # nothing to show (a span of spaces alone keeps them all)
    if cell:
        body = body.replace("|", "\\|")
    runs = {len(run) for run in _BACKTICKS.findall(body)}
    ticks = "`" * next(n for n in range(1, len(runs) + 2) if n not in runs)
    # One space each side when the text starts or ends with a backtick or a space:
    # Markdown strips one from each side, so the text comes back whole.
    padded = body[:1] in ("`", " ") or body[-1:] in ("`", " ")
    return f"{ticks} {body} {ticks}" if padded else f"{ticks}{body}{ticks}"

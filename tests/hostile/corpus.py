"""Hostile text, as anyone can put it in a log line (a request path, a message, a file name).

Every output errwatch has is fed these; none may act on the terminal, parse as markup,
or become Markdown structure.
"""

from __future__ import annotations

OSC_TITLE = "\x1b]2;PWNED\x1b\\"
OSC_BEL = "\x1b]0;PWNED\x07"
OSC_LINK = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CSI_CLEAR = "\x1b[2J\x1b[H"
CSI_COLOUR = "\x1b[31mred\x1b[0m"
DCS = "\x1bP+q544e\x1b\\"
C1_CSI = "\x9b2J"
BEL = "\x07"
NUL = "\x00"
BACKSPACE = "abc\x08\x08\x08xyz"
CARRIAGE = "innocent\rPWNED"
BIDI = "user\u202eexe.txt\u202c"
RICH_CLOSE = "[/]"
RICH_CLICK = "[@click=app.quit]quit[/]"
RICH_STYLE = "[bold red]not bold[/bold red]"
MARKDOWN_FENCE = "```\n# Heading from a log\n```"
MARKDOWN_LINK = "[click me](http://evil.example/)"
MARKDOWN_TABLE = "| a | b |"
HTML = "<script>alert(1)</script><img src=x onerror=alert(1)>"
LONG_TOKEN = "A" * 100_000

ESCAPES = (OSC_TITLE, OSC_BEL, OSC_LINK, CSI_CLEAR, CSI_COLOUR, DCS, C1_CSI, BEL, NUL)
"""Sequences that act on a terminal when written raw."""
MARKUP = (RICH_CLOSE, RICH_CLICK, RICH_STYLE)
MARKDOWN = (MARKDOWN_FENCE, MARKDOWN_LINK, MARKDOWN_TABLE, HTML)
ALL = (*ESCAPES, BACKSPACE, CARRIAGE, BIDI, *MARKUP, *MARKDOWN)

MESSAGE = " ".join(ALL)
"""One exception message holding all of it (newlines included, from the fence)."""
ONE_LINE = MESSAGE.replace("\n", " ")
"""The same on one line: a server's answer, a label, a name, a note."""

RAW_BYTES = (
    "\x1b",
    "\x07",
    "\x00",
    "\x08",
    "\x9b",
    "\x9d",
    "\u202e",
)
"""Characters that must never reach a terminal or a report raw."""


def raw_controls(output: str, *, allow: str = "\n\t") -> list[str]:
    """The control characters in ``output`` that are not escaped (empty when it is safe)."""
    return sorted(
        {
            char
            for char in output
            if char not in allow
            and (ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or char in RAW_BYTES)
        }
    )

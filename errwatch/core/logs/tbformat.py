"""How CPython prints a traceback: the shapes of the lines the parser recognises.

Plain data and small predicates over one line, shared by the parser
(:mod:`errwatch.core.logs.tracebacks`) and the blocks it fills (:mod:`.blocks`).
"""

from __future__ import annotations

import re

HEADER = "Traceback (most recent call last):"

# ", in" with nothing after it: a pasted "<module>" that HTML rendering swallowed.
FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+)(?:, in ?(?P<func>.*?))?\s*$')
SYNTAX_FRAME = re.compile(r'^  File "[^"]*", line \d+\s*$')
EXCEPTION = re.compile(
    r"^(?P<type>[A-Za-z_]\w*(?:\.(?:<locals>|[A-Za-z_]\w*))*)(?::(?: (?P<message>.*))?)?$"
)
SYNTAX_TYPES = frozenset({"SyntaxError", "IndentationError", "TabError"})
SOURCE_NOISE = re.compile(r"^\s*(?:[~^]+|\.\.\.<\d+ lines>\.\.\.)\s*$")
CARETS = re.compile(r"^\s+\^+\s*$")
REPEATED = re.compile(r"^\s*\[Previous line repeated (\d+) more times?\]\s*$")
THREAD = re.compile(r"^Exception in thread (?P<thread>.+?):?\s*$")
# How an exception type reads, told from a source line pasted without its indentation.
EXCEPTION_NAME = re.compile(
    r"(?:Error|Exception|Warning|Interrupt|Exit|Iteration|Timeout|Failure|Fault|Cancelled"
    r"|Group)$|^[A-Z]\w*$"
)
_BARE_TYPE = re.compile(
    r"(?:Error|Exception|Warning|Interrupt|Exit|Iteration|Timeout|Failure|Fault|Cancelled"
    r"|Group|Abort)$|\.[A-Z]\w*$"
)
CUT_SEPARATOR = len("The above exception")
"""Characters of a chain separator that tell it even when a paste ends inside it."""

LOOKBACK = 20
"""Lines before a traceback searched for its log record (or ``Exception in thread``)."""
MAX_BLOCK_LINES = 2000
MAX_BLOCK_CHARS = 1024 * 1024
"""Lines and characters of text kept per traceback; parsing goes on, the text is cut
and says so."""
MAX_MESSAGE_LINES = 200
"""Message and note lines (or MAX_BLOCK_CHARS) after which a block without a next
record is closed."""
HELD_LINES = 8
"""Records in a row that may come from other writers inside a traceback before it is
taken as cut off (each writer puts its record before its traceback)."""
SYNTAX_LINES = 4
"""Lines between a headerless ``File`` line and its SyntaxError (source, carets)."""


def ends_traceback(line: str, exception: re.Match[str]) -> bool:
    """Whether a line that reads like an exception line ends the frames: with a colon, or a
    bare name that is an exception's (``KeyboardInterrupt``, ``click.exceptions.Abort``), not
    the first letters of one where a paste was cut (``Att``)."""
    return len(line) > exception.end("type") or bool(_BARE_TYPE.search(exception["type"]))


def chain_separator(stripped: str, cause: str, context: str) -> str | None:
    """``"cause"`` or ``"context"`` for a chain separator, also one cut off where a paste
    ends (``The above exception was the direct cause of th``): the chain goes on."""
    if stripped == cause or (len(stripped) >= CUT_SEPARATOR and cause.startswith(stripped)):
        return "cause"
    if stripped == context or (len(stripped) >= CUT_SEPARATOR and context.startswith(stripped)):
        return "context"
    return None


def is_anchor(line: str) -> bool:
    """Whether a line can start a traceback; any other line only matters as context."""
    return HEADER in line or line.startswith("  File ")


def ends_with_header(line: str) -> bool:
    """A header after other text: ``^CTraceback (most recent call last):``."""
    return line.rstrip().endswith(HEADER)


BOX_IN_LINE = re.compile(r"  \+ Exception Group Traceback \(most recent call last\):\s*$")
_NUMBERS = re.compile(r"\d+")


def margin_shape(margin: str) -> re.Pattern[str]:
    """What a margin looks like on the next lines: the same text, any numbers (a time, a
    line number, a pid) in place of its own."""
    parts = _NUMBERS.split(margin)
    return re.compile(r"\d+".join(re.escape(part) for part in parts))

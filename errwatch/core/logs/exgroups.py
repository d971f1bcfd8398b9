"""The box CPython draws around an ExceptionGroup, back into exceptions.

``traceback`` prints a group with margins (``  | ``) and separators between its
sub-exceptions (``+-+---------------- 1 ----------------``), nesting deeper for groups
inside groups::

      + Exception Group Traceback (most recent call last):
      |   File "app.py", line 9, in <module>
      | ExceptionGroup: two failures (2 sub-exceptions)
      +-+---------------- 1 ----------------
        | ValueError: bad value
        +---------------- 2 ----------------
        | Traceback (most recent call last):
        | ...
        | KeyError: 'user'
        +------------------------------------

Each level is read by removing one margin, splitting at the separators, and handing
every part back to the ordinary traceback parser (a sub-exception may have its own
chain, or be a group itself). A sub-exception's chain may go on after a group it holds
has closed (``During handling of the above exception...`` under the inner box): what
follows the inner box's closing line is the rest of that chain, not more of the group.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from errwatch.core.logs.events import CAUSE, CONTEXT, ExceptionInfo

GROUP_HEADER = "Exception Group Traceback (most recent call last):"
BOX_START = re.compile(r"^  \+ Exception Group Traceback \(most recent call last\):\s*$")
IN_BOX = re.compile(r"^ {2,}[|+]")
_FIRST_SUB = "+-+"
_NEXT_SUB = re.compile(r"^  \+-{16} (?:\d+|\.\.\.) -{16}\s*$")
_CLOSE = re.compile(r"^ *\+-{36}\s*$")
_LEVEL_CLOSE = re.compile(r"^  \+-{36}\s*$")

ChainParser = Callable[[list[str]], list[ExceptionInfo]]
"""Lines of one traceback (margins removed) -> its chain, oldest first."""


def box_closed(line: str) -> bool:
    """Whether a box line closes a list of sub-exceptions (the box may end here)."""
    return bool(_CLOSE.match(line))


def _unmargin(line: str) -> str:
    if line.startswith(("| ", "+ ")):
        return line[2:]
    return "" if line.rstrip() in ("|", "+") else line


def read_box(lines: list[str], parse_chain: ChainParser) -> ExceptionInfo | None:
    """The group a top-level box shows (lines as printed, margins at column 2)."""
    chain = _segment([_unmargin(line[2:]) for line in lines], parse_chain)
    return chain[-1] if chain else None


def _segment(lines: list[str], parse_chain: ChainParser) -> list[ExceptionInfo]:
    """One level, margins removed: a chain whose last exception may be a group."""
    split = next((i for i, line in enumerate(lines) if line.startswith(_FIRST_SUB)), None)
    head = lines if split is None else lines[:split]
    chain = parse_chain([line.replace(GROUP_HEADER, _PLAIN_HEADER, 1) for line in head])
    if split is None or not chain:
        return chain
    parts: list[list[str]] = [[]]
    tail: list[str] = []
    for index in range(split + 1, len(lines)):
        line = lines[index]
        if _NEXT_SUB.match(line):
            parts.append([])
        elif _LEVEL_CLOSE.match(line):
            tail = lines[index + 1 :]
            break
        else:
            parts[-1].append(_unmargin(line[2:]))
    members = []
    for part in parts:
        sub = _segment(part, parse_chain)
        if sub:
            members.append(sub[-1])
    chain[-1] = replace(chain[-1], group=tuple(members))
    return chain + _continued(chain, tail, parse_chain)


def _continued(
    chain: list[ExceptionInfo], tail: list[str], parse_chain: ChainParser
) -> list[ExceptionInfo]:
    """The rest of a chain after a group's box closed: ``During handling...`` or ``The
    above exception...`` and the next exception (the relation is set on ``chain[-1]``)."""
    rest = [line for line in tail if line.strip()]
    if not rest or rest[0].strip() not in (CAUSE, CONTEXT):
        return []
    relation = "cause" if rest[0].strip() == CAUSE else "context"
    start = tail.index(rest[0]) + 1
    more = _segment(tail[start:], parse_chain)
    if more:
        chain[-1] = replace(chain[-1], relation=relation)
    return more


_PLAIN_HEADER = "Traceback (most recent call last):"

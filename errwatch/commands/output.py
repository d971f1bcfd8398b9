"""Where the commands print: the one way to stdout and stderr.

What commands print quotes text from outside: log lines and file names (``scan``), a
server's answers and label values (``check``, ``discover``, ``config check``, every
error line), a recording (``sessions``, ``report``). Such text is data: here every
control character and escape sequence is shown escaped (:func:`for_terminal`), so
none acts on the terminal (sets its title, clears it, hides a line behind ``\\r``), and
JSON stays valid JSON with none of them raw (:func:`json_text`). Nothing here is Rich
markup.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from errwatch.core.textsafe import for_terminal, json_text


def one_per_line(lines: Iterable[str]) -> str:
    """``lines`` joined, each kept on its line: a newline in what one quotes (a label, a
    message, a server's answer) is shown as ``\\n`` and cannot forge the next line."""
    return "\n".join(for_terminal(line, one_line=True) for line in lines)


def out(text: str = "") -> None:
    """``text`` and a newline on stdout; its newlines and tabs kept, every other control
    character escaped."""
    write(text + "\n")


def write(text: str) -> None:
    """``text`` on stdout as it is (a table, a report), every control character but
    newlines and tabs escaped."""
    sys.stdout.write(for_terminal(text))


def out_json(value: Any, *, indent: int | None = None) -> None:
    """``value`` as JSON on stdout, one document and a newline."""
    sys.stdout.write(json_text(value, indent=indent) + "\n")


def note(text: str) -> None:
    """A message for the person at the terminal, on stderr, at once (a command may run
    for a long while after it)."""
    sys.stderr.write(for_terminal(text) + "\n")
    sys.stderr.flush()


def error(message: object) -> None:
    """``errwatch: <message>`` on stderr: one line, whatever the message quotes."""
    note(f"errwatch: {for_terminal(str(message), one_line=True)}")

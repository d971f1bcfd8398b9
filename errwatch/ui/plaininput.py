"""An input line that holds no control character: what is pasted is kept as shown."""

from __future__ import annotations

from textual.widgets import Input

from errwatch.core.textsafe import for_terminal


class PlainInput(Input):
    """An ``Input`` whose value never holds an escape sequence or a control character.

    Typed keys never make one, but a pasted log line can (an OSC, a bidi override): it is
    inserted as the dashboard shows such text, escaped (``\\x1b]2;...``), so the input
    draws nothing raw and a filter typed from what is on screen finds what it shows.
    """

    def replace(self, text: str, start: int, end: int) -> None:
        """Every insertion (a key, a paste) comes here."""
        super().replace(for_terminal(text, one_line=True), start, end)

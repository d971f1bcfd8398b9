"""Small screens over the dashboard: a note for the timeline, and the list of every key."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from errwatch.ui.plaininput import PlainInput

MARK_LENGTH = 120
"""A mark is a short note."""


class MarkScreen(ModalScreen[str | None]):
    """Type a short note for the timeline; Enter adds it, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="mark-dialog"):
            yield Static("Mark the timeline (Enter adds, Esc cancels)")
            yield PlainInput(
                placeholder="what just happened?", max_length=MARK_LENGTH, id="mark-input"
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        note = event.value.strip()
        self.dismiss(note or None)

    def action_cancel(self) -> None:
        """Close without a mark."""
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key of the dashboard, with what it does; then what the traceback panel's
    Src column says (``legend``)."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(
        self, keys: Sequence[tuple[str, str]], legend: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__()
        self.keys = keys
        self.legend = legend

    def compose(self) -> ComposeResult:
        width = max(len(key) for key, _ in [*self.keys, *self.legend]) + 2
        table = Text()
        for key, what in self.keys:
            table.append(f"{key:<{width}}", "bold")
            table.append(f"{what}\n")
        if self.legend:
            table.append("\nTracebacks, Src column:\n", "underline")
        for code, what in self.legend:
            table.append(f"{code:<{width}}", "bold")
            table.append(f"{what}\n")
        with Vertical(id="help-dialog"):
            yield Static(
                "Keys (everything is also in the command palette, ctrl+p)", id="help-title"
            )
            with VerticalScroll():
                yield Static(table, id="help-keys")
            yield Static("Esc, ? or q closes", id="help-close")

    def action_close(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)

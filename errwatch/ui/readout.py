"""A line of text that costs nothing when it does not change."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Readout(Static):
    """A Static that redraws only when what it shows changes.

    ``Static.update`` lays the whole screen out again by default, which repaints every
    widget (the footer, the tabs...) once per poll. A readout whose size the stylesheet
    fixes (``fixed``) skips that; one whose height follows its text still skips the
    redraw when nothing changed.
    """

    def __init__(
        self,
        content: str | Text = "",
        *,
        fixed: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(content, id=id, classes=classes)
        self.fixed = fixed
        self._shown: str | Text = content

    def show(self, content: str | Text) -> None:
        """Show ``content`` if it differs from what is shown."""
        if content == self._shown:
            return
        self._shown = content
        self.update(content, layout=not self.fixed)

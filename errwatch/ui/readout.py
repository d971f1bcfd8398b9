"""A line of text that costs nothing when it does not change, and is never markup."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from errwatch.core.textsafe import plain


class Readout(Static):
    """A Static that redraws only when what it shows changes.

    ``Static.update`` lays the whole screen out again by default, which repaints every
    widget (the footer, the tabs...) once per poll. A readout whose size the stylesheet
    fixes (``fixed``) skips that; one whose height follows its text still skips the
    redraw when nothing changed.

    A ``str`` is shown as written (:func:`errwatch.core.textsafe.plain`), never parsed as
    markup; a ``Text`` is shown as built, so whoever builds one puts text from outside in
    it through ``plain`` too.
    """

    def __init__(
        self,
        content: str | Text = "",
        *,
        fixed: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        shown = plain(content) if isinstance(content, str) else content
        super().__init__(shown, id=id, classes=classes)
        self.fixed = fixed
        self._shown: Text = shown

    def show(self, content: str | Text) -> None:
        """Show ``content`` if it differs from what is shown."""
        shown = plain(content) if isinstance(content, str) else content
        if shown == self._shown:
            return
        self._shown = shown
        self.update(shown, layout=not self.fixed)


_TITLES: WeakKeyDictionary[Widget, Text | str] = WeakKeyDictionary()


def set_title(widget: Widget, title: Text | str) -> None:
    """Set a widget's border title when it differs from the one shown: setting it repaints
    the whole widget and everything in it, even when the title stays the same."""
    if _TITLES.get(widget) == title:
        return
    _TITLES[widget] = title
    widget.border_title = title

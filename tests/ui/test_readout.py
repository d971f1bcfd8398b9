"""Test the readouts and titles that repaint only when what they show changes: at idle,
a panel whose title was set again every poll repainted itself and all it holds."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical

from errwatch.ui.readout import Readout, set_title


class Panel(App[None]):
    def compose(self) -> ComposeResult:
        with Vertical(id="panel"):
            yield Readout("first", id="readout")


async def test_the_same_title_or_text_again_repaints_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Panel()
    async with app.run_test(size=(40, 8)) as pilot:
        panel = app.query_one("#panel", Vertical)
        readout = app.query_one("#readout", Readout)
        repaints: list[str] = []
        for widget in (panel, readout):
            original = widget.refresh

            def counted(*args: object, _name: str = widget.id or "", _to=original, **kw: object):  # type: ignore[no-untyped-def]
                repaints.append(_name)
                return _to(*args, **kw)

            monkeypatch.setattr(widget, "refresh", counted)
        set_title(panel, Text("Requests/s", "bold"))
        readout.show("first")
        assert repaints == ["panel"]  # the new title; the readout's text did not change
        set_title(panel, Text("Requests/s", "bold"))
        readout.show("first")
        assert repaints == ["panel"]
        set_title(panel, "Requests/s by code")
        readout.show("second")
        await pilot.pause()
        assert repaints[:2] == ["panel", "panel"] and "readout" in repaints
        assert panel.border_title == "Requests/s by code"

"""Extra panels from ``[[panels]]``: one small tile per PromQL expression."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Sparkline, Static

from errwatch.config import PanelConfig
from errwatch.core.metrics.panels import PanelReading, PanelState, format_value
from errwatch.core.textsafe import plain


def reading_text(reading: PanelReading | None) -> Text:
    """The newest value (or why there is none), as one line; the engine's words and label
    values as plain text."""
    if reading is None or reading.state is PanelState.NOT_ASKED:
        return Text("…", "dim")
    if reading.state is not PanelState.UP:
        detail = f": {reading.detail}" if reading.detail else ""
        return plain(f"{reading.state}{detail}", "bold" if reading.detail else "dim", one_line=True)
    current = reading.current()
    if len(current) == 1:
        return Text(format_value(current[0][1], reading.unit), "bold")
    return plain(
        "  ".join(f"{labels or '{}'} {format_value(v, reading.unit)}" for labels, v in current),
        one_line=True,
    )


class PanelTile(Horizontal):
    """One panel: its newest value and a sparkline of its first series."""

    reading: reactive[PanelReading | None] = reactive(None)

    def __init__(self, panel: PanelConfig) -> None:
        super().__init__(classes="panel-tile")
        self.panel = panel

    def compose(self) -> ComposeResult:
        yield Static("…", classes="panel-value")
        yield Sparkline([], classes="panel-spark")

    def on_mount(self) -> None:
        self.border_title = plain(self.panel.title, one_line=True)

    def watch_reading(self, reading: PanelReading | None) -> None:
        value = self.query_one(".panel-value", Static)
        value.update(reading_text(reading))
        failing = reading is not None and reading.state in (
            PanelState.BAD_QUERY,
            PanelState.QUERY_ERROR,
        )
        self.set_class(failing, "-failing")
        # The whole message on hover; the tile has room for its start only.
        self.tooltip = plain(reading.detail) if reading is not None and reading.detail else None
        spark = self.query_one(Sparkline)
        series = reading.series if reading is not None else ()
        points = series[0].points if series else ()
        spark.data = [value for _, value in points]
        spark.display = len(series) == 1 and bool(points)


class PanelStrip(Horizontal):
    """The row of extra panels; absent when none are configured."""

    readings: reactive[tuple[PanelReading, ...]] = reactive(())

    def __init__(self, panels: tuple[PanelConfig, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.panels = panels
        self.display = bool(panels)

    def compose(self) -> ComposeResult:
        for panel in self.panels:
            yield PanelTile(panel)

    def watch_readings(self, readings: tuple[PanelReading, ...]) -> None:
        for tile, reading in zip(self.query(PanelTile), readings, strict=False):
            tile.reading = reading

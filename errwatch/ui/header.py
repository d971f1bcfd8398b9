"""The top bar: target, metrics source state, refresh interval, and a notice line."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from errwatch.core.rates import MetricsSnapshot, SourceState
from errwatch.core.units import format_duration

_STATE_STYLE = {
    SourceState.UP: "bold green",
    SourceState.NO_DATA: "yellow",
    SourceState.CONNECTING: "cyan",
    SourceState.STARTING: "cyan",
}


class StatusBar(Widget):
    """Two lines: what errwatch watches and in which state, then what the demo started where."""

    target: reactive[str] = reactive("")
    refresh_interval: reactive[float] = reactive(2.0)
    snapshot: reactive[MetricsSnapshot | None] = reactive(None)
    notice: reactive[str] = reactive("")

    def render(self) -> Text:
        snapshot = self.snapshot
        state = snapshot.state if snapshot else SourceState.CONNECTING
        mode = snapshot.mode if snapshot else "prometheus"
        line = Text.assemble(
            ("errwatch", "bold"),
            "  target ",
            (self.target, "bold"),
            "  Prometheus: " if mode == "prometheus" else f"  {mode}: ",
            (str(state), _STATE_STYLE.get(state, "bold red")),
        )
        if snapshot is not None and not state.healthy and snapshot.age is not None:
            line.append(f" (data {format_duration(snapshot.age)} old)", "yellow")
        line.append(f"  refresh {format_duration(self.refresh_interval)}")
        return Text.assemble(line, "\n", (self.notice, "dim"))

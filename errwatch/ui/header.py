"""The top bar: target, metrics source state, refresh interval, and a notice line."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.core.textsafe import plain
from errwatch.core.units import format_duration

_STATE_STYLE = {
    SourceState.UP: "bold green",
    SourceState.NO_DATA: "yellow",
    SourceState.STALE: "bold yellow",
    SourceState.CONNECTING: "cyan",
    SourceState.STARTING: "cyan",
}
"""Anything else (a failure, the target down) is bold red."""


class StatusBar(Widget):
    """Two lines: what errwatch watches and in which state, then what the demo started where."""

    target: reactive[str] = reactive("")
    refresh_interval: reactive[float] = reactive(2.0)
    # Set once per poll; the bar repaints only when what it says changes (watch_snapshot).
    snapshot: reactive[MetricsSnapshot | None] = reactive(None, repaint=False)
    notice: reactive[str] = reactive("")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._said: Text | None = None

    def watch_snapshot(self) -> None:
        said = self.render()
        if said != self._said:
            self._said = said
            self.refresh()

    def render(self) -> Text:
        snapshot = self.snapshot
        state = snapshot.state if snapshot else SourceState.CONNECTING
        mode = snapshot.mode if snapshot else "prometheus"
        source = "Prometheus" if mode == "prometheus" else mode
        line = Text.assemble(
            ("errwatch", "bold"),
            "  ",
            plain(self.target, "bold", one_line=True),
            f"  {source} every {format_duration(self.refresh_interval)}: ",
            (str(state), _STATE_STYLE.get(state, "bold red")),
        )
        if (
            snapshot is not None
            and not state.healthy
            and snapshot.age is not None
            and snapshot.series
        ):
            line.append(f" ({format_duration(round(snapshot.age))} old)", "yellow")
        if snapshot is not None and snapshot.instances_up and snapshot.instances_up[1] > 1:
            up, total = snapshot.instances_up
            line.append(f"  {up}/{total} instances up", "bold" if up == total else "bold red")
        # What discovery chose: labels are data from outside, shown as plain text.
        found = snapshot.found if snapshot is not None else ""
        notice = "  ·  ".join(part for part in (self.notice, found) if part)
        if not notice:
            return line
        return Text.assemble(line, "\n", plain(notice, "dim", one_line=True))

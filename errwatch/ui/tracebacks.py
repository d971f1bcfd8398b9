"""The traceback panel: it owns the log follower and lists error groups."""

from __future__ import annotations

import threading
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from errwatch.core.follow import FollowState
from errwatch.core.grouping import ErrorGroup, in_app_frames
from errwatch.core.logwatch import TracebackMonitor, TracebackUpdate

SPARKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: tuple[int, ...], width: int = 10) -> str:
    """Per-minute counts as block characters, newest on the right."""
    values = values[-width:]
    top = max(values, default=0)
    if not top:
        return ""
    return "".join(SPARKS[round(v / top * (len(SPARKS) - 1))] for v in values)


def clock(at: float) -> str:
    """HH:MM:SS in local time."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def where(group: ErrorGroup) -> str:
    """``file:line in function`` of the group's location."""
    frame = group.location
    if frame is None:
        return "?"
    name = frame.file.rsplit("/", 1)[-1]
    return f"{name}:{frame.line} {frame.function}"


class TracebackScreen(ModalScreen[None]):
    """The whole traceback of a group, its chain, its frames and why it was grouped."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, group: ErrorGroup) -> None:
        super().__init__()
        self.group = group

    def compose(self) -> ComposeResult:
        group = self.group
        sample = group.sample
        head = Text.assemble(
            (group.type, "bold red"),
            f": {group.message}\n" if group.message else "\n",
            f"{group.count} times · first {clock(group.first_seen)}",
            f" · last {clock(group.last_seen)} · at {where(group)}",
        )
        if sample.record is not None and sample.record.route:
            head.append(f" · route {sample.record.method or ''} {sample.record.route}")
        frames = Text("Frames (in-app in bold)\n", "underline")
        app_frames = set(in_app_frames(sample.frames))
        for frame in sample.frames:
            style = "bold" if frame in app_frames else "dim"
            frames.append(f"  {frame.file}:{frame.line} in {frame.function}\n", style)
            if frame.source:
                frames.append(f"      {frame.source}\n", style)
        why = Text("Why grouped\n", "underline")
        for part in group.parts:
            why.append(f"  {part}\n")
        with Vertical(id="traceback-dialog"):
            yield Static(head, id="traceback-head")
            with VerticalScroll(id="traceback-body"):
                yield Static(Text(sample.text), id="traceback-text")
                yield Static(frames)
                yield Static(why)
            yield Static("[b]Esc[/b] close", id="traceback-help")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class TracebackPanel(Vertical):
    """Follows the logs in a thread; shows groups by last seen."""

    update: reactive[TracebackUpdate | None] = reactive(None)

    class Updated(Message):
        """Posted from the follower thread; also tells the parent about new groups."""

        def __init__(self, update: TracebackUpdate) -> None:
            super().__init__()
            self.update = update

    def __init__(self, monitor: TracebackMonitor | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.monitor = monitor
        self._stop = threading.Event()
        self._order: list[str] = []

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="groups", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="log-state")

    def on_mount(self) -> None:
        self.border_title = "Tracebacks"
        table = self.query_one(DataTable)
        table.add_column("Count", key="count", width=6)
        table.add_column("Exception", key="type")
        table.add_column("Where", key="where")
        table.add_column("Last", key="last", width=8)
        table.add_column("/min", key="spark", width=10)
        if self.monitor is None:
            self.query_one("#log-state", Static).update("no [[logs]] in the config")
            return
        self.follow()

    @work(thread=True, exit_on_error=False, group="logs")
    def follow(self) -> None:
        """Read the logs until unmounted; every update goes up as a message."""
        assert self.monitor is not None
        for update in self.monitor.run(self._stop):
            self.post_message(self.Updated(update))

    def on_traceback_panel_updated(self, message: Updated) -> None:
        self.update = message.update

    def watch_update(self, update: TracebackUpdate | None) -> None:
        if update is None:
            return
        table = self.query_one(DataTable)
        selected = (
            self._order[table.cursor_row] if 0 <= table.cursor_row < len(self._order) else None
        )
        table.clear()
        self._order = [group.fingerprint for group in update.groups]
        new = {group.fingerprint for group in update.new_groups}
        for group in update.groups:
            style = "bold red" if group.fingerprint in new else ""
            table.add_row(
                Text(str(group.count), justify="right"),
                Text(group.type.rsplit(".", 1)[-1], style=style or "red"),
                where(group),
                clock(group.last_seen),
                sparkline(group.minutes),
                key=group.fingerprint,
            )
        if selected in self._order:
            table.move_cursor(row=self._order.index(selected))
        self.query_one("#log-state", Static).update(self._files_line(update))

    @staticmethod
    def _files_line(update: TracebackUpdate) -> Text:
        text = Text(f"{update.events} tracebacks, {len(update.groups)} groups · ")
        for status in update.files:
            name = status.path.rsplit("/", 1)[-1]
            ok = status.state is FollowState.FOLLOWING
            text.append(f"{name}: {status.state}", "green" if ok else "yellow")
            if status.detail and not ok:
                text.append(f" ({status.detail})", "yellow")
            text.append("  ")
        return text

    def group(self, fingerprint: str) -> ErrorGroup | None:
        """The group with this fingerprint in the newest update."""
        update = self.update
        if update is None:
            return None
        return next((g for g in update.groups if g.fingerprint == fingerprint), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        group = self.group(str(event.row_key.value))
        if group is not None:
            self.app.push_screen(TracebackScreen(group))

    def on_unmount(self) -> None:
        self._stop.set()

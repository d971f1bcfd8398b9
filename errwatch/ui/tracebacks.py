"""The traceback panel: it owns the log follower and lists error groups.

Sorted by last seen or by count (``order``), filtered (``filter_text``), a new group marked
for a while, injected and application errors told apart, a progress bar while a big
backfill is read. The follower thread posts coalesced updates (at most one per
:data:`UPDATE_INTERVAL`), so a flood of log lines does not flood the UI.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import MappingProxyType

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Input, ProgressBar
from textual.worker import Worker, WorkerState

from errwatch.core.logs.follow import FollowState
from errwatch.core.logs.grouping import ErrorGroup, short_name
from errwatch.core.logs.logwatch import TracebackMonitor, TracebackUpdate
from errwatch.core.textsafe import for_terminal, plain
from errwatch.ui.plaininput import PlainInput
from errwatch.ui.readout import Readout
from errwatch.ui.traceback_detail import (
    TracebackScreen,
    clock,
    on_text,
    origin,
    where,
)

SPARKS = " ▁▂▃▄▅▆▇█"
UPDATE_INTERVAL = 0.1
"""Seconds between two updates posted by the follower thread, at most."""
NEW_FOR = 10.0
"""Seconds a new group stays marked."""
ORDERS = {"last": "by last seen", "count": "by count"}
NEW_MARK = "● "
_ORIGIN_STYLE = {"inj": "magenta", "flt": "magenta", "app": "", "mix": "yellow"}
_LIVE = (FollowState.FOLLOWING, FollowState.RUNNING)
ON_COLUMN = "on"
"""Key of the column that says where each group occurred (added when there are several
places: containers, pods, hosts, files)."""


def sparkline(values: tuple[int, ...], width: int = 10) -> str:
    """Per-minute counts as block characters, newest on the right."""
    values = values[-width:]
    top = max(values, default=0)
    if not top:
        return ""
    return "".join(SPARKS[round(v / top * (len(SPARKS) - 1))] for v in values)


def matches(group: ErrorGroup, query: str) -> bool:
    """Whether the filter text is in the type, message, file, function or where the group
    occurred (a container, pod, host or log file), in any case; as written in the log or
    as the dashboard shows it (escapes visible)."""
    if not query:
        return True
    frame = group.location
    haystack = " ".join(
        [
            group.type,
            group.message,
            *([frame.file, frame.function] if frame else []),
            *(name for name, _ in group.sources),
        ]
    )
    query = query.casefold()
    return query in haystack.casefold() or query in for_terminal(haystack).casefold()


def ordered(groups: tuple[ErrorGroup, ...], order: str) -> list[ErrorGroup]:
    """Most recently seen first, or most frequent first."""
    if order == "count":
        return sorted(groups, key=lambda g: (-g.count, -g.last_seen))
    return sorted(groups, key=lambda g: -g.last_seen)


class TracebackPanel(Vertical):
    """Follows the logs in a thread; shows the error groups."""

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False)]

    update: reactive[TracebackUpdate | None] = reactive(None)
    order: reactive[str] = reactive("last")
    """"last" (last seen first) or "count" (most frequent first)."""
    filter_text: reactive[str] = reactive("")
    """Only groups whose type, message, file or function contain this."""
    during_faults: reactive[Mapping[str, int]] = reactive(
        lambda: MappingProxyType({}), repaint=False
    )
    """Tracebacks per group fingerprint seen during a proxy's fault window (set by the
    app from the timeline's incident): test-induced, shown as ``flt``."""

    class Updated(Message):
        """Posted from the follower thread; the parent may use the new groups and changes."""

        def __init__(self, update: TracebackUpdate) -> None:
            super().__init__()
            self.update = update

    def __init__(self, monitor: TracebackMonitor | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.monitor = monitor
        self._stop = threading.Event()
        self._order: list[str] = []
        self._fresh: dict[str, float] = {}
        self._caught_up = False

    def compose(self) -> ComposeResult:
        yield ProgressBar(id="backfill", show_eta=False)
        table: DataTable[str | Text] = DataTable(id="groups", cursor_type="row", zebra_stripes=True)
        yield table
        yield PlainInput(placeholder="filter: type, message, file or function", id="group-filter")
        yield Readout("", id="log-state")

    def on_mount(self) -> None:
        self._title()
        table = self.query_one(DataTable)
        table.add_column("Count", key="count", width=6)
        table.add_column("Exception", key="type")
        table.add_column("Where", key="where")
        table.add_column("Last", key="last", width=8)
        table.add_column("/min", key="spark", width=10)
        table.add_column("Src", key="origin", width=3)
        self.set_interval(1.0, self._expire_marks)
        if self.monitor is None:
            self.query_one("#log-state", Readout).show("no [[logs]] in the config")
            return
        self.follow()

    @work(thread=True, exit_on_error=False, group="logs")
    def follow(self) -> None:
        """Read the logs until unmounted; every update goes up as a message."""
        assert self.monitor is not None
        for update in self.monitor.run(self._stop, min_interval=UPDATE_INTERVAL):
            self.post_message(self.Updated(update))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "logs" or event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        self.add_class("-failing")
        self.query_one("#log-state", Readout).show(
            plain(f"following the logs failed: {error}", "bold red", one_line=True)
        )
        self.notify(f"Following the logs failed: {error}", severity="error", timeout=10)

    def on_traceback_panel_updated(self, message: Updated) -> None:
        self.update = message.update

    def watch_update(self, update: TracebackUpdate | None) -> None:
        if update is None:
            return
        now = time.monotonic()
        if self._caught_up:
            for group in update.new_groups:
                self._fresh[group.fingerprint] = now + NEW_FOR
        self._caught_up = self._caught_up or update.progress is None
        progress = update.progress
        self.set_class(progress is not None, "-backfilling")
        if progress is not None:
            self.query_one(ProgressBar).update(total=progress.total, progress=progress.done)
        self._redraw()

    def watch_order(self) -> None:
        self._title()
        self._redraw()

    def watch_filter_text(self) -> None:
        self._title()
        self._redraw()

    def watch_during_faults(self) -> None:
        self._redraw()

    def _title(self) -> None:
        self.border_title = f"Tracebacks · {ORDERS[self.order]}"
        # What was typed (or pasted) is shown as typed, never as markup.
        self.border_subtitle = (
            plain(f"filter: {self.filter_text}", one_line=True) if self.filter_text else ""
        )

    def _expire_marks(self) -> None:
        now = time.monotonic()
        expired = [key for key, until in self._fresh.items() if until <= now]
        for key in expired:
            del self._fresh[key]
        if expired:
            self._redraw()

    def _redraw(self) -> None:
        update = self.update
        if update is None:
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        selected = self._order[row] if 0 <= row < len(self._order) else None
        shown = [g for g in ordered(update.groups, self.order) if matches(g, self.filter_text)]
        table.clear()
        # Where each group occurred, once there is more than one place to tell apart.
        places = {name for group in update.groups for name, _ in group.sources}
        if len(places) > 1 and ON_COLUMN not in table.columns:
            table.add_column("On", key=ON_COLUMN)
        with_places = ON_COLUMN in table.columns
        self._order = [group.fingerprint for group in shown]
        for group in shown:
            fresh = group.fingerprint in self._fresh
            kind = origin(group, self.during_faults.get(group.fingerprint, 0))
            table.add_row(
                Text(str(group.count), justify="right"),
                plain(
                    (NEW_MARK if fresh else "") + group.type.rsplit(".", 1)[-1],
                    "bold yellow" if fresh else "red",
                    one_line=True,
                ),
                plain(where(group.location), one_line=True),
                Text(clock(group.last_seen)),
                Text(sparkline(group.minutes)),
                Text(kind, style=_ORIGIN_STYLE[kind]),
                *([plain(on_text(group), one_line=True)] if with_places else []),
                key=group.fingerprint,
            )
        if selected in self._order:
            table.move_cursor(row=self._order.index(selected))
        self.query_one("#log-state", Readout).show(self._files_line(update, len(shown)))

    @staticmethod
    def _files_line(update: TracebackUpdate, shown: int) -> Text:
        total = len(update.groups)
        groups = f"{shown} of {total} groups" if shown != total else f"{total} groups"
        text = Text(f"{update.events} tracebacks, {groups}")
        if update.incomplete:
            text.append(f", {update.incomplete} cut off", "yellow")
        if update.dropped:
            text.append(f", {update.dropped} old groups dropped", "yellow")
        if update.progress is not None:
            done, whole = update.progress.done >> 20, update.progress.total >> 20
            text.append(f" · backfill {done}/{whole} MB", "cyan")
        text.append(" · ")
        for status in update.files:
            name = for_terminal(short_name(status.path), one_line=True)
            ok = status.state in _LIVE
            text.append(f"{name}: {status.state}", "green" if ok else "yellow")
            if status.detail and not ok:  # a command's last stderr line, ssh's own words
                text.append(f" ({for_terminal(status.detail, one_line=True)})", "yellow")
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
            during = self.during_faults.get(group.fingerprint, 0)
            self.app.push_screen(TracebackScreen(group, during=during))

    def toggle_order(self) -> None:
        """Last seen first <-> most frequent first."""
        self.order = "count" if self.order == "last" else "last"

    def open_filter(self) -> None:
        """Show the filter input and type into it."""
        self.add_class("-filtering")
        self.query_one("#group-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value.strip()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(DataTable).focus()

    def action_clear_filter(self) -> None:
        """Esc: no filter, input hidden, back to the table."""
        self.query_one("#group-filter", Input).value = ""
        self.filter_text = ""
        self.remove_class("-filtering")
        self.query_one(DataTable).focus()

    def on_unmount(self) -> None:
        self._stop.set()
        if self.monitor is not None:
            # Commands and SSH connections end now, with their process groups, not when
            # the follower thread notices: the app may be about to exit.
            self.monitor.stop()

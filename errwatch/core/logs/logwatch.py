"""Follow the configured logs, parse tracebacks, group them: immutable updates.

:meth:`TracebackMonitor.step` is one synchronous read of every file; :meth:`run` calls
it when the parent directories change (watchfiles), on a timer as a safety net (a
write through a path the watch does not see, a filesystem without notifications), and
without waiting while a backfill is catching up. Updates are coalesced to at most one
per ``min_interval``, so a flood of lines does not flood the consumer; the changes and
new groups of merged updates are all kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from errwatch.config import LogConfig
from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.follow import FileStatus, Identity, Progress
from errwatch.core.logs.grouping import ErrorGroup, GroupStore
from errwatch.core.logs.reader import TracebackReader
from errwatch.core.logs.tails import Tails

INCOMPLETE_TIMEOUT = 2.0
"""Seconds a traceback may wait for its exception line before it is reported incomplete."""
SETTLE = 0.01
"""Quiet seconds after which a traceback whose exception line is known is complete: a
writer printing line by line may still add a chained exception or a note before that."""
SAFETY_INTERVAL = 0.5
"""Files are stat'ed at least this often, whatever the file watcher says."""
STEP_BUDGET = 8 * 1024 * 1024
"""Bytes read per file and step; a bigger backlog is read over several steps."""
WATCH_STEP_MS = 10
"""How often the watcher looks for changes while it waits (milliseconds). watchfiles
wakes every step, idle or not: 10 ms costs ~0.8% of a core and adds ~1.5 steps to
write->group latency (p50 27 ms); 5 ms gave p50 19 ms for ~1.2% of a core."""
WATCH_DEBOUNCE_MS = 50
"""Longest the watcher groups a stream of changes before it returns (milliseconds)."""


@dataclass(frozen=True, slots=True)
class TracebackUpdate:
    """What changed in the logs since the previous update, and the groups now."""

    groups: tuple[ErrorGroup, ...]
    files: tuple[FileStatus, ...]
    new_events: tuple[TracebackEvent, ...] = ()
    new_groups: tuple[ErrorGroup, ...] = ()
    """Groups seen for the first time in this update (as they are now)."""
    changes: tuple[FileStatus, ...] = ()
    """File state changes (rotated, truncated, missing...) in the order they happened."""
    events: int = 0
    incomplete: int = 0
    dropped: int = 0
    """Groups pushed out by the cap on groups kept (the longest without an event go)."""
    progress: Progress | None = None
    """A backfill catching up, or None when every file has been read to its end."""

    def merged(self, newer: TracebackUpdate) -> TracebackUpdate:
        """This update followed by ``newer``, as one: nothing of either is lost."""
        current = {group.fingerprint: group for group in newer.groups}
        fresh: dict[str, ErrorGroup] = {}
        for group in (*self.new_groups, *newer.new_groups):
            fresh[group.fingerprint] = current.get(group.fingerprint, group)
        return TracebackUpdate(
            groups=newer.groups,
            files=newer.files,
            new_events=self.new_events + newer.new_events,
            new_groups=tuple(fresh.values()),
            changes=self.changes + newer.changes,
            events=newer.events,
            incomplete=newer.incomplete,
            dropped=newer.dropped,
            progress=newer.progress,
        )


class TracebackMonitor:
    """Many logs -> tracebacks -> groups. :meth:`step` is one synchronous read of everything."""

    def __init__(
        self,
        logs: Sequence[LogConfig],
        *,
        injection_route: str | None = None,
        incomplete_timeout: float = INCOMPLETE_TIMEOUT,
        settle: float = SETTLE,
        budget: int = STEP_BUDGET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.logs = tuple(logs)
        self.nudge = threading.Event()
        """Set when a command or a host brought something: the wait ends."""
        self.tail = Tails(self.logs, self.nudge)
        self.store = GroupStore(injection_route)
        self.incomplete_timeout = incomplete_timeout
        self.settle = settle
        self.budget = budget
        self._clock = clock
        self._readers: dict[Identity, TracebackReader] = {}
        self._incomplete = 0
        self._progress: Progress | None = None

    def _reader(self, file: Identity, path: str) -> TracebackReader:
        reader = self._readers.get(file)
        if reader is None:
            prefix, host = self.tail.options(path)
            reader = TracebackReader(path, clock=self._clock, prefix=prefix, host=host)
            self._readers[file] = reader
        return reader

    def step(self, *, settle: float | None = None) -> TracebackUpdate | None:
        """Read new lines, close finished tracebacks; None when nothing changed.

        ``settle``: quiet seconds before a finished traceback is emitted (default: the
        monitor's); 0 for what was written before following began.
        """
        settle = self.settle if settle is None else settle
        self.tail.start()
        self.nudge.clear()  # before reading: what comes after wakes the next wait
        events: list[TracebackEvent] = []
        for chunk in self.tail.poll(self.budget):
            events.extend(self._reader(chunk.file, chunk.path).feed(chunk.data))
        away = self.tail.waiting()
        for file, reader in self._readers.items():
            if file in away:  # a host reconnecting: its silence is not the writer's
                reader.hold()
            events.extend(reader.settle(settle))
            events.extend(reader.expire(self.incomplete_timeout))
        for file in self.tail.take_closed():
            gone = self._readers.pop(file, None)
            if gone is not None:
                events.extend(gone.finish())
        changes = tuple(self.tail.take_changes())
        progress = self.tail.progress()
        if not events and not changes and progress == self._progress:
            return None
        self._progress = progress
        new_groups = []
        for event in events:
            group, is_new = self.store.add(event)
            if is_new:
                new_groups.append(group)
            self._incomplete += int(not event.complete)
        current = {group.fingerprint: group for group in self.store.groups()}
        return TracebackUpdate(
            groups=tuple(current.values()),
            files=self.tail.statuses(),
            new_events=tuple(events),
            new_groups=tuple(
                current[group.fingerprint] for group in new_groups if group.fingerprint in current
            ),
            changes=changes,
            events=self.store.events,
            incomplete=self._incomplete,
            dropped=self.store.dropped,
            progress=progress,
        )

    def snapshot(self) -> TracebackUpdate:
        """The current groups and file states, without reading."""
        return TracebackUpdate(
            groups=self.store.groups(),
            files=self.tail.statuses(),
            events=self.store.events,
            incomplete=self._incomplete,
            dropped=self.store.dropped,
            progress=self._progress,
        )

    def next_wake(self) -> float:
        """Seconds until a step has something to do even if no file changes."""
        wake = SAFETY_INTERVAL
        for reader in self._readers.values():
            wake = min(wake, reader.wake(self.settle, self.incomplete_timeout))
        return max(0.0, wake)

    def run(self, stop: threading.Event, *, min_interval: float = 0.0) -> Iterator[TracebackUpdate]:
        """Updates until ``stop`` is set, at most one per ``min_interval`` seconds."""
        watcher = _DirectoryWatcher()
        pending: TracebackUpdate | None = None
        last_yield = 0.0
        try:
            # What the files held before following began is not being written: the
            # backfill needs no settling, and its groups come before anything new.
            first = self.step(settle=0)
            yield first if first is not None else self.snapshot()
            while self.tail.behind and not stop.is_set():
                more = self.step(settle=0)
                if more is not None:
                    yield more
            last_yield = time.monotonic()
            while not stop.is_set():
                if not self.tail.behind:
                    if watcher.watch(self.tail.directories()):
                        pass  # a new watch: step now, in case a write fell in between
                    else:
                        wait = self.next_wake()
                        if pending is not None:
                            wait = min(wait, max(0.0, last_yield + min_interval - time.monotonic()))
                        watcher.wait(wait, stop, self.nudge)
                update = self.step()
                if update is not None:
                    pending = update if pending is None else pending.merged(update)
                if pending is not None and time.monotonic() - last_yield >= min_interval:
                    yield pending
                    pending = None
                    last_yield = time.monotonic()
            if pending is not None:
                yield pending
        finally:
            watcher.close()
            self.tail.close()

    def stop(self) -> None:
        """Stop every command and SSH connection now, from any thread (files are closed
        by whoever reads them: :meth:`run` when it ends, or :meth:`close`)."""
        self.tail.stop()

    def close(self) -> None:
        """Close every followed file, stop every command and SSH connection (safe to call
        twice)."""
        self.tail.close()


class _DirectoryWatcher:
    """watchfiles on a set of directories, kept open between waits.

    ``watchfiles.watch()`` fixes its timeout for the life of the generator; the wait here
    changes every time (a traceback settling, an update to flush), so this talks to
    watchfiles' documented ``RustNotify`` directly. Changes that happen between two waits
    are kept by the watcher and returned by the next one.
    """

    def __init__(self) -> None:
        from watchfiles._rust_notify import RustNotify

        self._factory = RustNotify
        self._notify: RustNotify | None = None
        self._dirs: list[str] = []

    def watch(self, dirs: list[str]) -> bool:
        """Watch these directories; True when the set changed (a step is due now)."""
        if dirs == self._dirs:
            return False
        self.close()
        self._dirs = dirs
        if dirs:
            try:
                self._notify = self._factory(dirs, False, False, 0, False, True)
            except OSError:  # a directory vanished in between: the next wait retries
                self._notify = None
                self._dirs = []
        return True

    def wait(self, seconds: float, stop: threading.Event, nudge: threading.Event) -> None:
        """Until something changes in the directories, ``seconds`` pass, ``stop``, or
        ``nudge`` (a command or a host brought something)."""
        if seconds <= 0 or nudge.is_set():
            return
        either = _Either(stop, nudge)
        if self._notify is None:
            deadline = time.monotonic() + seconds
            while not either.is_set() and (left := deadline - time.monotonic()) > 0:
                nudge.wait(min(left, WATCH_STEP_MS / 1000))
            return
        timeout_ms = max(1, round(seconds * 1000))
        self._notify.watch(WATCH_DEBOUNCE_MS, WATCH_STEP_MS, timeout_ms, either)

    def close(self) -> None:
        if self._notify is not None:
            self._notify.close()
            self._notify = None
        self._dirs = []


class _Either:
    """Set when either event is (watchfiles only calls ``is_set``, every 10 ms step: two
    calls, no generator)."""

    __slots__ = ("_first", "_second")

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        self._first = first
        self._second = second

    def is_set(self) -> bool:
        return self._first.is_set() or self._second.is_set()

"""Follow the configured logs, parse tracebacks, group them: one immutable update per wake-up."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from errwatch.config import LogConfig
from errwatch.core.follow import FileStatus, MultiTail, backfill_bytes
from errwatch.core.grouping import ErrorGroup, GroupStore
from errwatch.core.tracebacks import TracebackEvent, TracebackParser

INCOMPLETE_TIMEOUT = 2.0
"""Seconds a traceback may wait for its exception line before it is reported incomplete."""
SAFETY_INTERVAL = 0.5
"""Files are stat'ed at least this often, whatever the file watcher says."""


@dataclass(frozen=True, slots=True)
class TracebackUpdate:
    """What changed in the logs since the previous update, and the groups now."""

    groups: tuple[ErrorGroup, ...]
    files: tuple[FileStatus, ...]
    new_events: tuple[TracebackEvent, ...] = ()
    new_groups: tuple[ErrorGroup, ...] = ()
    changes: tuple[FileStatus, ...] = ()
    events: int = 0
    incomplete: int = 0


class TracebackMonitor:
    """Many logs -> tracebacks -> groups. :meth:`step` is one synchronous read of everything."""

    def __init__(
        self,
        logs: Sequence[LogConfig],
        *,
        injection_route: str | None = None,
        incomplete_timeout: float = INCOMPLETE_TIMEOUT,
    ) -> None:
        self.logs = tuple(logs)
        self.tail = MultiTail([(log.path, backfill_bytes(log.backfill)) for log in logs])
        self.store = GroupStore(injection_route)
        self.incomplete_timeout = incomplete_timeout
        self._parsers: dict[str, TracebackParser] = {}
        self._incomplete = 0

    def _parser(self, path: str) -> TracebackParser:
        parser = self._parsers.get(path)
        if parser is None:
            parser = self._parsers[path] = TracebackParser(path)
        return parser

    def step(self) -> TracebackUpdate | None:
        """Read new lines, close finished tracebacks; None when nothing changed."""
        events: list[TracebackEvent] = []
        for batch in self.tail.poll():
            parser = self._parser(batch.path)
            events.extend(parser.feed_many(list(batch.lines)))
            events.extend(parser.idle())
        for parser in self._parsers.values():
            events.extend(parser.expire(self.incomplete_timeout))
        changes = tuple(self.tail.take_changes())
        if not events and not changes:
            return None
        new_groups = []
        for event in events:
            group, is_new = self.store.add(event)
            if is_new:
                new_groups.append(group)
            self._incomplete += int(not event.complete)
        return TracebackUpdate(
            groups=self.store.groups(),
            files=self.tail.statuses(),
            new_events=tuple(events),
            new_groups=tuple(new_groups),
            changes=changes,
            events=self.store.events,
            incomplete=self._incomplete,
        )

    def snapshot(self) -> TracebackUpdate:
        """The current groups and file states, without reading."""
        return TracebackUpdate(
            groups=self.store.groups(),
            files=self.tail.statuses(),
            events=self.store.events,
            incomplete=self._incomplete,
        )

    def run(self, stop: threading.Event) -> Iterator[TracebackUpdate]:
        """Updates until ``stop`` is set: on changes in the parent directories, or on a timer."""
        from watchfiles import watch

        first = self.step()
        yield first if first is not None else self.snapshot()
        while not stop.is_set():
            directories = [d for d in self.tail.directories() if os.path.isdir(d)]
            if not directories:
                stop.wait(SAFETY_INTERVAL)
                update = self.step()
                if update is not None:
                    yield update
                continue
            for _changes in watch(
                *directories,
                stop_event=stop,
                debounce=50,
                step=5,
                rust_timeout=int(SAFETY_INTERVAL * 1000),
                yield_on_timeout=True,
                recursive=False,
                raise_interrupt=False,
            ):
                update = self.step()
                if update is not None:
                    yield update
                if set(directories) != {d for d in self.tail.directories() if os.path.isdir(d)}:
                    break  # a directory appeared or vanished: watch the new set
        self.tail.close()

    def close(self) -> None:
        """Close every followed file."""
        self.tail.close()

"""Each dashboard run recorded into one SQLite file: events, per-status rates, traceback groups.

Writes happen on the recorder's own thread and are committed every second (WAL,
synchronous=NORMAL): a run killed with SIGKILL leaves a file that opens and holds
everything up to its last second. Groups are coalesced: one row per group, the newest
state of it, with one sample traceback.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from errwatch.core.incident.timeline import EventKind, TimelineEvent
from errwatch.core.logs.grouping import ErrorGroup

SUFFIX = ".sqlite"
FLUSH_INTERVAL = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
    test INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rates (
    at REAL NOT NULL, status TEXT NOT NULL, rate REAL NOT NULL, PRIMARY KEY (at, status)
);
CREATE TABLE IF NOT EXISTS ratios (
    at REAL PRIMARY KEY, error_ratio REAL, app_error_ratio REAL
);
CREATE TABLE IF NOT EXISTS groups (
    fingerprint TEXT PRIMARY KEY, type TEXT NOT NULL, message TEXT NOT NULL,
    file TEXT, line INTEGER, function TEXT, count INTEGER NOT NULL, injected INTEGER NOT NULL,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, sample TEXT NOT NULL,
    route TEXT, parts TEXT NOT NULL, sources TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS fault_errors (
    fingerprint TEXT PRIMARY KEY, count INTEGER NOT NULL
);
"""


def session_path(directory: Path, started: float) -> Path:
    """``session-YYYYmmdd-HHMMSS.sqlite`` in ``directory`` (local time)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    path = directory / f"session-{stamp}{SUFFIX}"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"session-{stamp}-{n}{SUFFIX}"
    return path


def private_dir(directory: Path) -> None:
    """Create ``directory`` readable by its owner only (0700), or make it so if it is ours.

    Recordings hold traceback samples, request paths and messages: not for other users of
    a shared test host.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_uid == os.getuid():
        directory.chmod(0o700)


def _connect(path: Path) -> sqlite3.Connection:
    # Created 0600 before SQLite opens it; SQLite gives its -wal and -shm the same mode.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(_SCHEMA)
    return connection


_Row = tuple[str, tuple[Any, ...]]
_STOP = ("stop", ())


class Recorder:
    """Records one session from its own thread; every method is safe to call from any thread."""

    def __init__(
        self, path: Path, meta: Mapping[str, str], *, flush_interval: float = FLUSH_INTERVAL
    ):
        self.path = path
        self.meta = dict(meta)
        self.flush_interval = flush_interval
        self._queue: queue.SimpleQueue[_Row] = queue.SimpleQueue()
        self._groups: dict[str, ErrorGroup] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="errwatch-recorder", daemon=True)
        self._ready = threading.Event()
        self._error: Exception | None = None

    def start(self) -> None:
        """Create the file and start writing; raises OSError/sqlite3.Error if it cannot."""
        private_dir(self.path.parent)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def add_event(self, event: TimelineEvent) -> None:
        """Record a timeline event."""
        data = json.dumps(dict(event.data), default=str)
        self._queue.put(("event", (event.at, str(event.kind), event.text, int(event.test), data)))

    def add_rates(
        self,
        at: float,
        rates: Mapping[str, float],
        error_ratio: float | None,
        app_error_ratio: float | None,
    ) -> None:
        """Record the current rate of every status and the 5xx ratios at ``at``."""
        for status, rate in rates.items():
            self._queue.put(("rate", (at, status, rate)))
        self._queue.put(("ratio", (at, error_ratio, app_error_ratio)))

    def add_fault_error(self, fingerprint: str) -> None:
        """Count one traceback of a group seen during a proxy's fault window."""
        self._queue.put(("fault_error", (fingerprint,)))

    def add_group(self, group: ErrorGroup) -> None:
        """Record a group's newest state (coalesced until the next flush)."""
        with self._lock:
            self._groups[group.fingerprint] = group

    def sync(self, timeout: float = 5.0) -> bool:
        """Block until everything added so far is committed; False if that took too long."""
        if not self._thread.is_alive():
            return False
        done = threading.Event()
        self._queue.put(("sync", (done,)))
        return done.wait(timeout)

    def close(self) -> None:
        """Write what is pending and close the file."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(10)

    def _run(self) -> None:
        try:
            connection = _connect(self.path)
            connection.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(self.meta.items())
            )
            connection.commit()
        except (OSError, sqlite3.Error) as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        last_flush = time.monotonic()
        try:
            while True:
                try:
                    kind, row = self._queue.get(timeout=self.flush_interval)
                except queue.Empty:
                    kind, row = "", ()
                if (kind, row) == _STOP:
                    break
                if kind == "sync":
                    self._flush(connection)
                    last_flush = time.monotonic()
                    row[0].set()
                    continue
                if kind:
                    _insert(connection, kind, row)
                if time.monotonic() - last_flush >= self.flush_interval:
                    self._flush(connection)
                    last_flush = time.monotonic()
            self._flush(connection)
        finally:
            connection.close()

    def _flush(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            groups, self._groups = list(self._groups.values()), {}
        connection.executemany(
            "INSERT OR REPLACE INTO groups VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [_group_row(group) for group in groups],
        )
        connection.commit()


def _insert(connection: sqlite3.Connection, kind: str, row: tuple[Any, ...]) -> None:
    if kind == "event":
        connection.execute(
            "INSERT INTO events (at, kind, text, test, data) VALUES (?,?,?,?,?)", row
        )
    elif kind == "rate":
        connection.execute("INSERT OR REPLACE INTO rates VALUES (?,?,?)", row)
    elif kind == "ratio":
        connection.execute("INSERT OR REPLACE INTO ratios VALUES (?,?,?)", row)
    elif kind == "fault_error":
        connection.execute(
            "INSERT INTO fault_errors VALUES (?, 1) "
            "ON CONFLICT(fingerprint) DO UPDATE SET count = count + 1",
            row,
        )


def _group_row(group: ErrorGroup) -> tuple[Any, ...]:
    where = group.location
    record = group.sample.record
    return (
        group.fingerprint,
        group.type,
        group.message,
        where.file if where else None,
        where.line if where else None,
        where.function if where else None,
        group.count,
        group.injected,
        group.first_seen,
        group.last_seen,
        group.sample.text,
        record.route if record else None,
        json.dumps(list(group.parts)),
        json.dumps([list(source) for source in group.sources]),
    )


@dataclass(frozen=True, slots=True)
class RecordedGroup:
    """A traceback group as recorded."""

    fingerprint: str
    type: str
    message: str
    file: str | None
    line: int | None
    function: str | None
    count: int
    injected: int
    first_seen: float
    last_seen: float
    sample: str
    route: str | None
    parts: tuple[str, ...]
    sources: tuple[tuple[str, int], ...] = ()
    """Where it occurred (container, pod, host, file) and how often."""

    @property
    def application(self) -> int:
        """Occurrences not caused by fault injection."""
        return self.count - self.injected


@dataclass(frozen=True, slots=True)
class RecordedSession:
    """Everything one recording holds."""

    path: Path
    meta: Mapping[str, str]
    events: tuple[TimelineEvent, ...]
    rates: tuple[tuple[float, str, float], ...]
    ratios: tuple[tuple[float, float | None, float | None], ...]
    groups: tuple[RecordedGroup, ...]
    fault_errors: Mapping[str, int] = field(default_factory=dict)
    """Tracebacks per group fingerprint seen during a proxy's fault window."""


def load_session(path: Path) -> RecordedSession:
    """Read a recording (also one whose writer was killed)."""
    connection = sqlite3.connect(path)
    try:
        meta = dict(connection.execute("SELECT key, value FROM meta"))
        events = tuple(
            TimelineEvent(at, EventKind(kind), text, bool(test), json.loads(data))
            for at, kind, text, test, data in connection.execute(
                "SELECT at, kind, text, test, data FROM events ORDER BY at, id"
            )
        )
        rates = tuple(connection.execute("SELECT at, status, rate FROM rates ORDER BY at, status"))
        ratios = tuple(connection.execute("SELECT * FROM ratios ORDER BY at"))
        groups = tuple(
            _recorded_group(row)
            for row in connection.execute("SELECT * FROM groups ORDER BY count DESC, first_seen")
        )
        try:
            fault_errors = dict(connection.execute("SELECT fingerprint, count FROM fault_errors"))
        except sqlite3.OperationalError:  # recorded before fault windows existed
            fault_errors = {}
    finally:
        connection.close()
    return RecordedSession(path, meta, events, rates, ratios, groups, fault_errors)


def _recorded_group(row: tuple[Any, ...]) -> RecordedGroup:
    fingerprint, type_, message, file, line, function, count, injected = row[:8]
    first_seen, last_seen, sample, route, parts = row[8:13]
    # Recordings written before groups knew where they occurred have no sources column.
    sources = (
        tuple((str(name), int(count)) for name, count in json.loads(row[13]))
        if len(row) > 13
        else ()
    )
    return RecordedGroup(
        fingerprint,
        type_,
        message,
        file,
        line,
        function,
        count,
        injected,
        first_seen,
        last_seen,
        sample,
        route,
        tuple(json.loads(parts)),
        sources,
    )


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One line of `errwatch sessions`."""

    path: Path
    started: float
    target: str
    events: int
    groups: int
    size: int


def _files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def list_sessions(directory: Path) -> list[SessionInfo]:
    """Every recording in ``directory``, newest first; unreadable files are skipped."""
    infos = []
    for path in sorted(directory.glob(f"session-*{SUFFIX}")):
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                meta = dict(connection.execute("SELECT key, value FROM meta"))
                events = connection.execute("SELECT count(*) FROM events").fetchone()[0]
                groups = connection.execute("SELECT count(*) FROM groups").fetchone()[0]
            finally:
                connection.close()
        except sqlite3.Error:
            continue
        size = sum(p.stat().st_size for p in _files(path))
        started = float(meta.get("started", path.stat().st_mtime))
        infos.append(SessionInfo(path, started, meta.get("target", "?"), events, groups, size))
    return sorted(infos, key=lambda info: info.started, reverse=True)


def apply_retention(
    directory: Path, *, max_age: float, max_bytes: int, now: float, keep: Path | None = None
) -> list[Path]:
    """Delete recordings older than ``max_age`` seconds, then the oldest beyond ``max_bytes``."""
    sessions = sorted(directory.glob(f"session-*{SUFFIX}"), key=lambda p: p.stat().st_mtime)
    removed = []
    total = sum(p.stat().st_size for s in sessions for p in _files(s))
    for path in sessions:
        if path == keep:
            continue
        size = sum(p.stat().st_size for p in _files(path))
        if now - path.stat().st_mtime > max_age or total > max_bytes:
            for part in _files(path):
                os.unlink(part)
            total -= size
            removed.append(path)
    return removed

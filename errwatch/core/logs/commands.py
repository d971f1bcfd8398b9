"""A command's output followed like a log file: ``[[logs]] command = ["docker", ...]``.

:class:`CommandTail` gives what :class:`~errwatch.core.logs.follow.MultiTail` gives for
files (chunks of complete lines, state changes, files closed) from a command kept
running by a :class:`~errwatch.core.logs.children.Supervisor`: its stdout and its stderr
are two streams of lines, each read (and its prefix detected) like a file; every run is
new files. The state says what the process does: running (pid), exited with its code
and its last stderr line, restarting in N seconds.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

from errwatch.core.logs.children import BACKOFF, Inbox, Supervisor
from errwatch.core.logs.follow import Chunk, FileStatus, FollowState, Identity, Progress
from errwatch.core.logs.lines import LineSplitter

_UIDS = itertools.count(1)
_END = "end"


class ChildTail:
    """What a child process writes, as chunks of lines: shared by commands and SSH."""

    def __init__(self, label: str, nudge: threading.Event | None = None) -> None:
        self.label = label
        self.uid = -next(_UIDS)
        """Device part of this source's identities: negative, never a real device."""
        self._nudge = nudge
        self._lock = threading.Lock()
        self._inbox = Inbox()
        self._splitters: dict[object, LineSplitter] = {}
        self._status = FileStatus(label, FollowState.WAITING, "not started")
        self._changes: list[FileStatus] = []
        self._closed: list[Identity] = []
        self.stopping = threading.Event()

    def _set(self, state: FollowState, detail: str = "") -> None:
        with self._lock:
            status = FileStatus(self.label, state, detail)
            if (status.state, status.detail) != (self._status.state, self._status.detail):
                self._changes.append(status)
            self._status = status
        self._wake()

    def _wake(self) -> None:
        if self._nudge is not None:
            self._nudge.set()

    def _put(self, identity: Identity, data: bytes) -> None:
        self._inbox.put(identity, data, self.stopping)
        self._wake()

    def _end(self, identity: Identity) -> None:
        """No more bytes will come for ``identity``: its last line goes, it is closed."""
        self._inbox.put((_END, identity), b"", self.stopping)
        self._wake()

    def poll(self, budget: int | None = None) -> list[Chunk]:
        """The complete lines written since the last poll (the inbox bounds them)."""
        out: list[Chunk] = []
        for key, data in self._inbox.take():
            if isinstance(key, tuple) and key[0] == _END:
                identity: Identity = key[1]
                splitter = self._splitters.pop(identity, None)
                last = splitter.flush() if splitter is not None else b""
                if last:
                    out.append(Chunk(self.label, identity, last))
                with self._lock:
                    self._closed.append(identity)
                continue
            splitter = self._splitters.get(key)
            if splitter is None:
                splitter = self._splitters[key] = self._splitter(key)
            lines = splitter.split(data)
            if lines:
                assert isinstance(key, tuple)
                out.append(Chunk(self.label, key, lines))
        return out

    def _splitter(self, key: object) -> LineSplitter:
        return LineSplitter()

    def take_changes(self) -> list[FileStatus]:
        """State changes since the last call."""
        with self._lock:
            changes, self._changes = self._changes, []
        return changes

    def take_closed(self) -> list[Identity]:
        """Streams that ended since the last call (their parsers can finish)."""
        with self._lock:
            closed, self._closed = self._closed, []
        return closed

    def statuses(self) -> tuple[FileStatus, ...]:
        """This source's state."""
        with self._lock:
            return (self._status,)

    def waiting(self) -> set[Identity]:
        """Streams that may go on once the source is back (none for a command: each run
        is new)."""
        return set()

    @property
    def behind(self) -> bool:
        """Never: the inbox is read whole at every poll."""
        return False

    def progress(self) -> Progress | None:
        """No backfill to report."""
        return None

    def directories(self) -> list[str]:
        """Nothing to watch on disk."""
        return []

    def check(self) -> None:
        """Called at every step of the monitor (a remote source checks its link here)."""

    def start(self) -> None:
        """Start reading (the subclass starts its process)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop reading (the subclass stops its process)."""
        raise NotImplementedError


class CommandTail(ChildTail):
    """One ``[[logs]] command``: started with :meth:`start`, restarted when it exits."""

    def __init__(
        self,
        argv: Sequence[str],
        label: str,
        nudge: threading.Event | None = None,
        *,
        backoff: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(label, nudge)
        self.argv = tuple(argv)
        self.supervisor = Supervisor(
            lambda: self.argv,
            on_output=self._output,
            on_state=self._state,
            on_end=self._run_ended,
            name=label,
            backoff=backoff or BACKOFF,
        )
        self._started = False
        self.stopping = self.supervisor.stopping

    def start(self) -> None:
        """Start the command (once)."""
        if not self._started:
            self._started = True
            self.supervisor.start()

    def _identity(self, run: int, stream: int) -> Identity:
        return (self.uid, run * 2 + stream - 1)

    def _output(self, run: int, stream: int, data: bytes) -> None:
        self._put(self._identity(run, stream), data)

    def _run_ended(self, run: int) -> None:
        for stream in (1, 2):
            self._end(self._identity(run, stream))

    def _state(self, state: str, detail: str) -> None:
        self._set(FollowState(state), detail)

    def close(self) -> None:
        """Stop the command and every process of its group."""
        self.supervisor.stop()

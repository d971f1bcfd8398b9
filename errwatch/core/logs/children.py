"""Child processes read like logs: kept running, restarted with backoff, stopped as a group.

A :class:`Supervisor` runs one argv at a time in a thread of its own: it starts it in a
new session (its own process group) with ``PR_SET_PDEATHSIG``, so even a killed
errwatch takes the child along; it reads the child's stdout and stderr as they come,
hands the bytes to a callback, remembers the last stderr line, and when the child
exits it reports the code, waits (1 s, doubling up to 30 s, back to 1 s after a run
that lasted a minute) and starts it again. :meth:`Supervisor.stop` ends the whole
process group: SIGTERM, then SIGKILL after :data:`STOP_GRACE`, so a child that ignores
SIGTERM, or the children it started, are not left running either.

:class:`Inbox` is where the bytes wait for the reader: bounded, so a child that floods
waits for the reader (the pipe fills, the child blocks) instead of growing memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from errwatch.core.logs.lines import strip_ansi

STOP_GRACE = 1.0
"""Seconds a process group has to end after SIGTERM before it gets SIGKILL."""
BACKOFF = (1.0, 30.0)
"""First and longest wait before a child that exited is started again."""
STEADY = 60.0
"""A run that lasted this long resets the backoff."""
INBOX_LIMIT = 8 * 1024 * 1024
"""Bytes of output held for the reader; past it the child's pipe is left to fill."""
READ_SIZE = 64 * 1024
_EXIT_DRAIN = 0.2
"""Seconds the pipes are still read after the child exited (its children may hold them)."""
_STDERR_KEPT = 300
_PR_SET_PDEATHSIG = 1

# Resolved in the parent so the forked child only makes one foreign call.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    # The kernel signals the child when the thread that started it ends, so a killed
    # errwatch leaves no reader behind. SIGKILL: a log reader has nothing to save.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """``argv`` in its own session, stdout and stderr piped, stdin closed."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 (no locks, no imports in the child)
    )


def stop_group(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM to the child's whole process group, SIGKILL after ``grace``; reaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace)
    # The leader may be gone while members of its group live on: they go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


class Inbox:
    """Output of a child waiting for its reader, bounded by :data:`INBOX_LIMIT`."""

    def __init__(self, limit: int = INBOX_LIMIT) -> None:
        self._ready = threading.Condition()
        self._items: list[tuple[object, bytes]] = []
        self._size = 0
        self.limit = limit

    def put(self, key: object, data: bytes, stop: threading.Event) -> None:
        """Add bytes; waits while the reader is behind (unless ``stop``)."""
        with self._ready:
            while self._size >= self.limit and not stop.is_set():
                self._ready.wait(0.1)
            items = self._items
            if items and items[-1][0] == key:
                items[-1] = (key, items[-1][1] + data)
            else:
                items.append((key, data))
            self._size += len(data)

    def take(self) -> list[tuple[object, bytes]]:
        """Everything waiting, in order."""
        with self._ready:
            items, self._items = self._items, []
            self._size = 0
            self._ready.notify_all()
        return items


Output = Callable[[int, int, bytes], None]
"""(run, stream: 1 stdout or 2 stderr, bytes)."""
State = Callable[[str, str], None]
"""(state, detail): "running", "exited", "restarting"."""


class Supervisor:
    """Keeps one command running in a thread; see the module's docstring."""

    def __init__(
        self,
        argv: Callable[[], Sequence[str] | None],
        *,
        on_output: Output,
        on_state: State,
        on_end: Callable[[int], None] | None = None,
        backoff: tuple[float, float] = BACKOFF,
        name: str = "child",
    ) -> None:
        self._argv = argv
        self._on_output = on_output
        self._on_state = on_state
        self._on_end = on_end
        self.backoff = backoff
        self.stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"errwatch {name}", daemon=True)
        self.runs = 0
        self.last_stderr = ""
        self.delay = backoff[0]

    def start(self) -> None:
        """Start the first run (in the supervisor's thread)."""
        self._thread.start()

    @property
    def pid(self) -> int | None:
        """The running child's pid, if one runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def stop(self) -> None:
        """Stop for good: the process group is ended, the thread joined."""
        self.stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(STOP_GRACE + 5)

    def kill(self) -> None:
        """End the current run now (the next one starts after the backoff)."""
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def wait(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stopped."""
        return self.stopping.wait(seconds)

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                argv = self._argv()
                if argv is None:  # not ready to start yet (a remote link is down)
                    self.wait(0.1)
                    continue
                started = time.monotonic()
                code = self._once(argv)
                if self.stopping.is_set():
                    break
                if time.monotonic() - started >= STEADY:
                    self.delay = self.backoff[0]
                why = f"exited with code {code}" if code is not None else "could not start"
                if self.last_stderr:
                    why += f": {self.last_stderr}"
                self._on_state("exited", why)
                self._on_state("restarting", f"in {self.delay:g}s ({why})")
                if self.wait(self.delay):
                    break
                self.delay = min(self.delay * 2, self.backoff[1])
        finally:
            with self._lock:
                proc, self._proc = self._proc, None
            if proc is not None:
                stop_group(proc)

    def _once(self, argv: Sequence[str]) -> int | None:
        """One run: start, read until it ends, end its group. Its exit code (None: could
        not start)."""
        self.last_stderr = ""
        try:
            proc = spawn(argv)
        except OSError as error:
            self.last_stderr = f"{argv[0]}: {error.strerror or error}"
            return None
        with self._lock:
            self._proc = proc
        self.runs += 1
        run = self.runs
        self._on_state("running", f"pid {proc.pid}")
        try:
            self._pump(proc, run)
        finally:
            with self._lock:
                self._proc = None
            stop_group(proc, grace=0 if proc.poll() is not None else STOP_GRACE)
            if self._on_end is not None:
                self._on_end(run)
        return proc.returncode

    def _pump(self, proc: subprocess.Popen[bytes], run: int) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        streams = {proc.stdout.fileno(): 1, proc.stderr.fileno(): 2}
        partial = b""
        exited_at: float | None = None
        with selectors.DefaultSelector() as selector:
            for fd in streams:
                os.set_blocking(fd, False)
                selector.register(fd, selectors.EVENT_READ)
            while streams and not self.stopping.is_set():
                ready = selector.select(0.1)
                for key, _ in ready:
                    fd = int(key.fd)
                    try:
                        data = os.read(fd, READ_SIZE)
                    except BlockingIOError:
                        continue
                    if not data:
                        selector.unregister(fd)
                        del streams[fd]
                        continue
                    if streams[fd] == 2:
                        partial = self._remember_stderr(partial + data)
                    self._on_output(run, streams[fd], data)
                if proc.poll() is not None and not ready:
                    # Exited, and quiet: children it left may hold the pipes open.
                    exited_at = exited_at or time.monotonic()
                    if time.monotonic() - exited_at >= _EXIT_DRAIN:
                        break
        if partial.strip():
            self._keep_stderr(partial)

    def _remember_stderr(self, data: bytes) -> bytes:
        """Keep the last complete non-empty stderr line; return the partial rest."""
        end = data.rfind(b"\n")
        if end < 0:
            return data[-4096:]
        for line in reversed(data[:end].split(b"\n")):
            if line.strip():
                self._keep_stderr(line)
                break
        return data[end + 1 :]

    def _keep_stderr(self, line: bytes) -> None:
        text = strip_ansi(line.decode("utf-8", "replace")).strip()
        text = "".join(char if char.isprintable() else "?" for char in text)
        self.last_stderr = text[:_STDERR_KEPT]

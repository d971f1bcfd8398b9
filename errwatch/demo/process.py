"""Child processes that never outlive errwatch, and loopback ports."""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from errwatch.errors import SourceError

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# Resolved in the parent so the forked child only makes one foreign call.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    # The kernel sends SIGTERM to the child when the thread that spawned it exits,
    # so even a SIGKILLed errwatch leaves nothing listening. Spawn from the main thread.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    stdout_pipe: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session with stderr (and stdout unless piped) into ``log``."""
    with log.open("ab") as log_file:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else log_file,
            stderr=log_file,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (no locks, no imports in the child)
            env=env,
        )


def terminate(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; always reaps the child."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def read_line(stream: IO[bytes], deadline: float) -> str | None:
    """One line from a child's pipe, or None at EOF or when ``deadline`` passes."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        buffer = b""
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return None
            chunk = os.read(stream.fileno(), 1)
            if not chunk:
                return None
            buffer += chunk
    return buffer.decode("utf-8", "replace").rstrip("\n")


def tail_of(log: Path, lines: int = 3) -> str:
    """The last lines of a child's log, joined on one line, for error messages."""
    try:
        text = log.read_text("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def wait_until_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll ``url`` until it answers 200; SourceError if the child dies or time runs out."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SourceError(f"{proc.args!r} exited with {proc.returncode}: {tail_of(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            time.sleep(0.02)
    raise SourceError(f"{url} not ready after {timeout:g}s: {tail_of(log)}")


class Service:
    """Something started and stopped as a whole; a context manager that always stops it."""

    def start(self) -> None:
        """Start and wait until ready."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop; safe to call twice."""
        raise NotImplementedError

    def restart(self) -> None:
        """Stop and start again."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

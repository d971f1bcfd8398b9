"""Driving the real errwatch in tmux, as a person would, and looking at what is left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest


def tmux(*args: str) -> str:
    """Run a tmux command; its stdout."""
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=True, timeout=10
    ).stdout


def new_session(session: str, command: str, width: int = 80, height: int = 24) -> None:
    """Run ``command`` in a detached tmux session of ``width`` x ``height``."""
    tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command)


def screen(session: str) -> str:
    """What a person sees in the pane now."""
    return tmux("capture-pane", "-p", "-t", session)


def processes_mentioning(marker: str) -> list[str]:
    """``pid: cmdline`` of every process whose command line contains ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def wait_exited(session: str, timeout: float = 10) -> str:
    """The final screen once the command printed its ``EXITED=`` line."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(session)
        if "EXITED=" in shown:
            return shown
        time.sleep(0.1)
    pytest.fail(f"errwatch did not exit:\n{shown}")


def leave(session: str, how: str) -> str:
    """Quit by a key (``q``, ``C-c``) or by SIGTERM to errwatch; the final screen."""
    if how == "SIGTERM":
        shell = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}"))
        [pid] = children_of(shell)
        os.kill(pid, signal.SIGTERM)
    else:
        tmux("send-keys", "-t", session, how)
    return wait_exited(session)

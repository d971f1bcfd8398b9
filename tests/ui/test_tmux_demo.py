"""`errwatch demo` as a person sees it: in tmux at 80x24, live data, clean quit.

How soon the data shows is a figure of benchmarks/bench_demo_start.py, not a test's."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from errwatch.core.incident.recording import load_session
from tests.conftest import wait_until
from tests.ui.tmuxing import leave, new_session, processes_mentioning, tmux

RATE = re.compile(r"\b[245](?:0\d|xx)\s+(\d+\.\d\d)/s")  # a code or a class


def test_errwatch_demo_in_tmux(tmp_path: Path, session: str, prometheus_bin: str) -> None:
    errwatch = Path(sys.executable).parent / "errwatch"
    # TMPDIR marks every child (their temp dir lives under it), to find leftovers.
    command = f"cd {tmp_path} && TMPDIR={tmp_path} {errwatch} demo; echo EXITED=$?; sleep 60"
    started = time.monotonic()
    new_session(session, command)
    screen = ""
    first_data = None
    while time.monotonic() - started < 15:
        screen = tmux("capture-pane", "-p", "-t", session)
        if any(float(rate) > 0 for rate in RATE.findall(screen)):
            first_data = time.monotonic() - started
            break
        time.sleep(0.1)
    assert first_data is not None, f"no live data on screen:\n{screen}"
    print(f"first data on screen after {first_data:.2f}s")
    assert "demo API on 127.0.0.1:" in screen
    assert "5xx" in screen and "ratio" in screen and "Start injection" in screen
    assert len(screen.splitlines()) <= 24 and all(len(line) <= 80 for line in screen.splitlines())
    assert processes_mentioning(str(tmp_path)), "the demo's children should be running"

    tmux("send-keys", "-t", session, "q")
    deadline = time.monotonic() + 10
    while "EXITED=" not in screen and time.monotonic() < deadline:
        time.sleep(0.1)
        screen = tmux("capture-pane", "-p", "-t", session)
    assert "EXITED=0" in screen
    assert "Traceback" not in screen
    leftovers = [p for p in processes_mentioning(str(tmp_path)) if "sleep 60" not in p]
    assert leftovers == []


def start_demo(tmp_path: Path, session: str) -> None:
    errwatch = Path(sys.executable).parent / "errwatch"
    command = f"cd {tmp_path} && TMPDIR={tmp_path} {errwatch} demo; echo EXITED=$?; sleep 60"
    new_session(session, command)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if "Start injection" in tmux("capture-pane", "-p", "-t", session):
            return
        time.sleep(0.1)
    pytest.fail("the dashboard did not show up")


@pytest.mark.parametrize("how", ["C-c", "SIGTERM"])
def test_ctrl_c_and_sigterm_stop_everything(
    tmp_path: Path, session: str, prometheus_bin: str, how: str
) -> None:
    start_demo(tmp_path, session)
    tmux("send-keys", "-t", session, "f")  # injection running when the stop comes
    wait_until(
        lambda: "Stop injection" in tmux("capture-pane", "-p", "-t", session), 10, "injection"
    )
    children = [p for p in processes_mentioning(str(tmp_path)) if "sleep 60" not in p]
    assert len(children) >= 2, children  # the API and Prometheus
    screen = leave(session, how)
    assert "EXITED=0" in screen
    assert "Traceback" not in screen
    assert [p for p in processes_mentioning(str(tmp_path)) if "sleep 60" not in p] == []


def test_a_terminal_that_goes_away_ends_errwatch(tmp_path: Path, session: str) -> None:
    # tmux kill-session is what a dropped SSH link does: SIGHUP, and no terminal left.
    config = tmp_path / "config.toml"
    config.write_text(f'[recording]\ndir = "{tmp_path / "sessions"}"\n')
    errwatch = Path(sys.executable).parent / "errwatch"
    new_session(session, f"cd {tmp_path} && {errwatch} --config {config}")
    # The panels, not just the first frame: the recording starts with them.
    wait_until(
        lambda: "Start injection" in tmux("capture-pane", "-p", "-t", session), 15, "the panels"
    )
    assert processes_mentioning(str(config))
    tmux("kill-session", "-t", session)
    deadline = time.monotonic() + 10
    while processes_mentioning(str(config)):
        assert time.monotonic() < deadline, processes_mentioning(str(config))
        time.sleep(0.1)
    [recording] = (tmp_path / "sessions").glob("session-*.sqlite")
    assert load_session(recording).meta["target"] == "http://localhost:5000"

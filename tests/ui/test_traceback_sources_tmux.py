"""Command sources as a person runs them: the dashboard in tmux, `errwatch check`.

Whatever ends errwatch (q, SIGTERM, the terminal going away), no process of a
``[[logs]] command`` is left running, children of the command included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from errwatch.demo.stack import DemoApi
from tests.conftest import wait_until
from tests.ui.tmuxing import leave, new_session, processes_mentioning, screen, tmux

ERRWATCH = str(Path(sys.executable).parent / "errwatch")


def write_config(tmp_path: Path, marker: str, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    child = f"{sys.executable} -c 'import time; time.sleep(1000)' \"$0\""
    command = ["sh", "-c", f"{child} & sleep 1000", marker]
    config.write_text(
        f'[recording]\ndir = "{tmp_path / "sessions"}"\n'
        f'[[logs]]\ncommand = {json.dumps(command)}\nname = "sleeper"\n{extra}'
    )
    return config


def left(marker: str) -> list[str]:
    return [p for p in processes_mentioning(marker) if "tmux" not in p and "sleep 60" not in p]


@pytest.mark.parametrize("how", ["q", "SIGTERM", "hangup"])
def test_quitting_the_dashboard_stops_every_command(tmp_path: Path, session: str, how: str) -> None:
    marker = f"errwatch-e2e-{os.getpid()}-{how}"
    config = write_config(tmp_path, marker)
    new_session(
        session,
        f"cd {tmp_path} && {ERRWATCH} --config {config}; echo EXITED=$?; sleep 60",
    )
    wait_until(lambda: "q Quit" in screen(session), 15, "the dashboard")
    tmux("send-keys", "-t", session, "2")  # the tracebacks page, whatever the size
    wait_until(lambda: "sleeper: running" in screen(session), 15, "the command running")
    assert len(left(marker)) == 2  # the command and the child it started
    if how == "hangup":
        tmux("kill-session", "-t", session)  # what a dropped SSH link does
    else:
        shown = leave(session, how)
        assert "EXITED=0" in shown and "Traceback" not in shown
    wait_until(lambda: left(marker) == [], 10, "nothing left running")


def test_check_reads_a_command_and_leaves_nothing(tmp_path: Path) -> None:
    marker = f"errwatch-check-{os.getpid()}"
    api = DemoApi(tmp_path, port=0)
    api.start()
    try:
        crash = (
            "printf 'Traceback (most recent call last):\\n"
            '  File \\"/srv/job.py\\", line 3, in <module>\\n'
            "ValueError: bad input\\n'; sleep 1000"
        )
        config = tmp_path / "config.toml"
        config.write_text(
            f'[target]\nurl = "{api.url}"\n[recording]\nenabled = false\n'
            f"[[logs]]\ncommand = {json.dumps(['sh', '-c', crash, marker])}\n"
        )
        command = [ERRWATCH, "check", "--config", str(config), "--direct-scrape", "--json"]
        done = subprocess.run(
            [*command, "--duration", "2s"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        api.stop()
    report = json.loads(done.stdout)
    assert report["tracebacks"] == 1
    [group] = report["groups"]
    assert group["type"] == "ValueError"
    assert list(group["sources"]) == [f"sh -c {crash} {marker}"[:39] + "…"]
    assert list(report["sources"]["logs"].values()) == ["running"]
    time.sleep(0.2)
    assert left(marker) == []

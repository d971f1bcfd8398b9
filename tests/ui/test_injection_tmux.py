"""The real dashboard in tmux: quitting or SIGTERM during injection leaves the API in peace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from errwatch.demo.stack import DemoApi
from tests.conftest import api_counter, wait_until
from tests.ui.test_tmux_demo import children_of, session, tmux, wait_exited

__all__ = ["session"]  # the fixture, used by name below


def leave(session: str, how: str) -> str:
    """Press ``q`` or send SIGTERM to errwatch (the pane's shell's child); the final screen."""
    if how == "SIGTERM":
        shell = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}"))
        [pid] = children_of(shell)
        os.kill(pid, signal.SIGTERM)
    else:
        tmux("send-keys", "-t", session, how)
    return wait_exited(session)


@pytest.mark.parametrize("how", ["q", "SIGTERM"])
def test_no_request_reaches_the_api_once_errwatch_is_gone(
    tmp_path: Path, session: str, demo_api: DemoApi, how: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[target]\nurl = "{demo_api.url}"\n[injection]\nrate = 50\n')
    errwatch = Path(sys.executable).parent / "errwatch"
    command = f"{errwatch} --config {config} --direct-scrape; echo EXITED=$?; sleep 60"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)
    try:
        wait_until(
            lambda: "Start injection" in tmux("capture-pane", "-p", "-t", session), 15, "the UI"
        )
        tmux("send-keys", "-t", session, "f")
        wait_until(lambda: api_counter(demo_api.url, "/error", "500") >= 25, 10, "injection")
        screen = leave(session, how)
        assert "EXITED=0" in screen
        assert "Traceback" not in screen
        gone = api_counter(demo_api.url, "/error", "500")
        time.sleep(1.0)  # a quiet window: nothing may reach the API after errwatch exited
        assert api_counter(demo_api.url, "/error", "500") == gone
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)

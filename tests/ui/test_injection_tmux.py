"""The real dashboard in tmux: quitting or SIGTERM during injection leaves the API in peace."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from errwatch.demo.stack import DemoApi
from tests.conftest import api_counter, wait_until
from tests.ui.tmuxing import leave, new_session, tmux


@pytest.mark.parametrize("how", ["q", "SIGTERM"])
def test_no_request_reaches_the_api_once_errwatch_is_gone(
    tmp_path: Path, session: str, demo_api: DemoApi, how: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[target]\nurl = "{demo_api.url}"\n[injection]\nrate = 50\n')
    errwatch = Path(sys.executable).parent / "errwatch"
    command = f"{errwatch} --config {config} --direct-scrape; echo EXITED=$?; sleep 60"
    new_session(session, command)
    wait_until(lambda: "Start injection" in tmux("capture-pane", "-p", "-t", session), 15, "the UI")
    tmux("send-keys", "-t", session, "f")
    wait_until(lambda: api_counter(demo_api.url, "/error", "500") >= 25, 10, "injection")
    screen = leave(session, how)
    assert "EXITED=0" in screen
    assert "Traceback" not in screen
    gone = api_counter(demo_api.url, "/error", "500")
    time.sleep(1.0)  # a quiet window: nothing may reach the API after errwatch exited
    assert api_counter(demo_api.url, "/error", "500") == gone

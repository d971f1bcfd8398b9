"""NO_COLOR: the dashboard draws in greys only, and says everything in words."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from errwatch.demo.stack import DemoApi
from tests.conftest import wait_until
from tests.ui.tmuxing import leave, new_session, tmux

SGR = re.compile(r"\x1b\[([0-9;]*)m")
GREY_256 = {0, 7, 8, 15, 16, 231, *range(232, 256)}


def colours(screen: str) -> list[str]:
    """Every foreground/background colour the screen's escape codes set, as text."""
    found = []
    for params in SGR.findall(screen):
        codes = [int(p) for p in params.split(";") if p]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5:
                    found.append(f"256:{codes[i + 2]}")
                    i += 3
                    continue
                if codes[i + 1] == 2:
                    found.append("rgb:{}:{}:{}".format(*codes[i + 2 : i + 5]))
                    i += 5
                    continue
            if 30 <= code <= 37 or 40 <= code <= 47 or 90 <= code <= 97 or 100 <= code <= 107:
                found.append(f"16:{code}")
            i += 1
    return found


def is_grey(colour: str) -> bool:
    kind, *values = colour.split(":")
    if kind == "256":
        return int(values[0]) in GREY_256
    if kind == "rgb":
        return len(set(values)) == 1
    return int(values[0]) % 10 in (0, 7)  # black and white, plain or bright


def test_no_color_is_grey_and_still_says_everything(
    tmp_path: Path, session: str, demo_api: DemoApi
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[target]\nurl = "{demo_api.url}"\n[recording]\nenabled = false\n')
    errwatch = Path(sys.executable).parent / "errwatch"
    command = f"NO_COLOR=1 {errwatch} --config {config} --direct-scrape; echo EXITED=$?; sleep 60"
    new_session(session, command)
    wait_until(
        lambda: "direct scrape every 2s: up" in tmux("capture-pane", "-p", "-t", session),
        15,
        "the dashboard and its first poll",
    )
    time.sleep(0.5)
    screen = tmux("capture-pane", "-e", "-p", "-t", session)
    used = colours(screen)
    assert used, "no colour codes at all: the capture did not keep them"
    assert [c for c in used if not is_grey(c)] == []
    plain = tmux("capture-pane", "-p", "-t", session)
    for words in ("up", "5xx", "ratio", "Start injection", "q Quit", "1 Rates"):
        assert words in plain
    assert "EXITED=0" in leave(session, "q")

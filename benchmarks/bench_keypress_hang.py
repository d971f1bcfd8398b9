"""A key press answered while Prometheus hangs: `c` in errwatch under tmux (80x24), until the
chart's title changes on screen.

The "Prometheus" is a loopback server that first answers like a healthy one (five
minutes of recorded rates, 1 s steps), then accepts every query and never answers.
Baseline, measured in the same run: the same key press while it answers healthily.
Goal: p99 <= 100 ms while it hangs.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import percentile, report, tmux, tmux_new, tmux_sessions, venv_bin
from tests.loopback import Loopback, Reply, loopback

PRESSES = 40
TITLES = ("by status class", "by status code", "5xx ratio")
SESSION = "errwatch-bench-keypress"


def answer(path: str) -> Reply:
    """What a healthy Prometheus says: up, and five minutes of rates ending now."""
    now = time.time()
    if path.startswith("/api/v1/query?"):
        result: list[dict[str, object]] = [{"metric": {"job": "api"}, "value": [now, "1"]}]
        kind = "vector"
    else:
        times = [now - 300 + i for i in range(301)]
        rates = (("200", 3.0), ("201", 1.0), ("404", 1.2), ("500", 1.5))
        result = [
            {
                "metric": {"status": code},
                "values": [[t, f"{base + math.sin(t / 9):.3f}"] for t in times],
            }
            for code, base in rates
        ]
        kind = "matrix"
    body = {"status": "success", "data": {"resultType": kind, "result": result}}
    return Reply(body=json.dumps(body).encode())


def healthy(server: Loopback) -> None:
    server.route = answer


def hanging(server: Loopback) -> None:
    server.route = lambda path: Reply(hang=True)


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_screen(text: str, timeout: float) -> float:
    started = time.monotonic()
    while text not in screen():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"never saw {text!r} on screen:\n{screen()}")
        time.sleep(0.002)
    return time.monotonic() - started


def presses(count: int) -> list[float]:
    """Press c ``count`` times; each time, the seconds until the next title is on screen."""
    shown = next(i for i, title in enumerate(TITLES) if title in screen())
    times = []
    for _ in range(count):
        shown = (shown + 1) % len(TITLES)
        tmux("send-keys", "-t", SESSION, "c")
        times.append(wait_screen(TITLES[shown], 5.0))
        time.sleep(0.05)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, loopback() as server:
        healthy(server)
        config = Path(workdir) / "config.toml"
        config.write_text(
            f'[prometheus]\nurl = "{server.url}"\nrefresh = "1s"\n'
            # The series pinned: this loopback server answers queries, not discovery.
            'metric = "http_requests_total"\nstatus_label = "status"\n'
            'route_label = "endpoint"\njob = "api"\ninstance = ""\n'
            # Long enough that a hung query stays hung while keys are pressed.
            'timeout = "30s"\n'
        )
        tmux_new(SESSION, f"cd {workdir} && {venv_bin('errwatch')} --config {config}")
        try:
            wait_screen("every 1s: up", 20)
            baseline = presses(PRESSES)
            hanging(server)
            waiting = len(server.requests)
            while len(server.requests) == waiting:  # the next poll is now stuck
                time.sleep(0.01)
            time.sleep(0.2)
            stuck = presses(PRESSES)
            assert "every 1s: up" in screen()  # no answer yet: still the last state
        finally:
            server.stop.set()
            tmux("send-keys", "-t", SESSION, "q")
            deadline = time.monotonic() + 10
            while SESSION in tmux_sessions() and time.monotonic() < deadline:
                time.sleep(0.1)
    p50, p99 = percentile(stuck, 50) * 1000, percentile(stuck, 99) * 1000
    report(
        f"key press -> screen while Prometheus hangs (tmux 80x24, {PRESSES} presses)",
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(stuck) * 1000:.0f} ms",
        f"healthy Prometheus: p50 {percentile(baseline, 50) * 1000:.0f} ms, "
        f"p99 {percentile(baseline, 99) * 1000:.0f} ms, "
        f"mean {statistics.mean(baseline) * 1000:.0f} ms",
        "goal p99 <= 100 ms: " + ("met" if p99 <= 100 else "MISSED"),
    )


if __name__ == "__main__":
    main()

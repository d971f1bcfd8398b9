"""First frame and idle CPU of the dashboard, against a bare Textual hello-world, same run.

First frame: from launching the command in tmux (80x24) to its first text on screen.
Idle CPU: the dashboard on a real demo API and a real Prometheus with no traffic, at a
1 s refresh, for 30 s after a 5 s warm-up; CPU time of the dashboard process alone
(utime + stime from /proc) over wall time, in % of one core.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import api_and_prometheus, report, tmux, tmux_new, tmux_sessions, venv_bin
from tests.ui.tmuxing import children_of

RUNS = 5
IDLE_SECONDS = 30.0
WARM_UP = 5.0
TICKS = os.sysconf("SC_CLK_TCK")


def pane_pid_child(session: str) -> int:
    """The command's process: the only child of the pane's shell."""
    shell = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}"))
    children = children_of(shell)
    if not children:
        raise SystemExit("the command has no process")
    return children[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def first_frame(command: str, marker: str) -> float:
    session = "errwatch-bench-frame"
    started = time.monotonic()
    tmux_new(session, f"{command}; sleep 30")
    try:
        while time.monotonic() - started < 20:
            if marker in tmux("capture-pane", "-p", "-t", session):
                return time.monotonic() - started
            time.sleep(0.005)
        raise SystemExit(f"{marker!r} never showed")
    finally:
        tmux("kill-session", "-t", session)
        while session in tmux_sessions():
            time.sleep(0.05)


def idle_cpu(command: str, marker: str) -> float:
    session = "errwatch-bench-idle"
    tmux_new(session, f"{command}; sleep 60")
    try:
        deadline = time.monotonic() + 20
        while marker not in tmux("capture-pane", "-p", "-t", session):
            if time.monotonic() > deadline:
                raise SystemExit(f"{marker!r} never showed")
            time.sleep(0.05)
        pid = pane_pid_child(session)
        time.sleep(WARM_UP)
        cpu, wall = cpu_seconds(pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        return 100 * (cpu_seconds(pid) - cpu) / (time.monotonic() - wall)
    finally:
        tmux("kill-session", "-t", session)
        while session in tmux_sessions():
            time.sleep(0.05)


def main() -> None:
    hello = f"{sys.executable} -m benchmarks.hello"
    with tempfile.TemporaryDirectory() as workdir, api_and_prometheus(Path(workdir)) as stack:
        api, prometheus = stack
        work = Path(workdir)
        config = work / "config.toml"
        config.write_text(
            f'[target]\nurl = "{api.url}"\n'
            f'[prometheus]\nurl = "{prometheus.url}"\nrefresh = "1s"\n'
            f'[[logs]]\npath = "{api.log_file}"\n'
            f'[recording]\ndir = "{work / "sessions"}"\n'
        )
        errwatch = f"cd {os.getcwd()} && {venv_bin('errwatch')} --config {config}"
        ours = [first_frame(errwatch, "errwatch  http") for _ in range(RUNS)]
        theirs = [first_frame(f"cd {os.getcwd()} && {hello}", "hello world") for _ in range(RUNS)]
        report(
            "first frame (tmux 80x24, launch -> first text on screen)",
            f"errwatch median {statistics.median(ours):.2f}s "
            f"(runs {', '.join(f'{t:.2f}' for t in ours)})",
            f"Textual hello-world median {statistics.median(theirs):.2f}s",
            "goal <= 1.5 s: " + ("met" if statistics.median(ours) <= 1.5 else "MISSED"),
        )
        ours_cpu = idle_cpu(errwatch, "Prometheus every 1s: up")
        theirs_cpu = idle_cpu(f"cd {os.getcwd()} && {hello}", "hello world")
        report(
            f"idle CPU at 1 s refresh ({IDLE_SECONDS:.0f} s, real Prometheus, no traffic)",
            f"errwatch {ours_cpu:.2f}% of one core",
            f"Textual hello-world {theirs_cpu:.2f}%",
            "goal <= 3 %: " + ("met" if ours_cpu <= 3 else "MISSED"),
        )


if __name__ == "__main__":
    main()

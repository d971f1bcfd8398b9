"""First frame and idle CPU of the dashboard, against a bare Textual hello-world, same run.

First frame: from launching the command in tmux (80x24) to its first text on screen;
errwatch and the hello-world take turns, so a load that comes and goes weighs on both.
The goal is a ratio: errwatch's median at most 1.5x the hello-world's. Both run from
compiled bytecode, as an installed package does (pip compiles at install time; an
editable install under PYTHONDONTWRITEBYTECODE=1 would compile errwatch's modules again
at every launch, ~70 ms that no user pays).
Idle CPU: the dashboard on a real demo API and a real Prometheus with no traffic, at a
1 s refresh, for 30 s after a 5 s warm-up; CPU time of the dashboard process alone
(utime + stime from /proc) over wall time, in % of one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import (
    api_and_prometheus,
    compile_bytecode,
    report,
    tmux,
    tmux_new,
    tmux_sessions,
    venv_bin,
)
from tests.ui.tmuxing import children_of

RUNS = 9
FRAME_GOAL = 1.5
"""errwatch's first frame over the hello-world's, at most."""
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


def first_frame(command: str, *markers: str) -> list[float]:
    """Seconds from launch until each marker is on screen."""
    session = "errwatch-bench-frame"
    started = time.monotonic()
    tmux_new(session, f"{command}; sleep 30")
    seen: dict[str, float] = {}
    try:
        while time.monotonic() - started < 20:
            screen = tmux("capture-pane", "-p", "-t", session)
            for marker in markers:
                if marker in screen and marker not in seen:
                    seen[marker] = time.monotonic() - started
            if len(seen) == len(markers):
                return [seen[marker] for marker in markers]
            time.sleep(0.005)
        raise SystemExit(f"{[m for m in markers if m not in seen]!r} never showed")
    finally:
        command = pane_pid_child(session)
        tmux("kill-session", "-t", session)
        # Until the command has really left: one still shutting down would slow the next.
        while session in tmux_sessions() or Path(f"/proc/{command}").exists():
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


def first_frames(errwatch: str, hello: str, runs: int) -> None:
    """Both commands in turns; the medians and their ratio. errwatch's first frame is its
    header; its panels (the injection button) follow once the sources are built."""
    ours: list[float] = []
    panels: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        frame, button = first_frame(errwatch, "errwatch  http", "Start injection")
        ours.append(frame)
        panels.append(button)
        theirs.extend(first_frame(hello, "hello world"))
    ratio = statistics.median(ours) / statistics.median(theirs)
    report(
        "first frame (tmux 80x24, launch -> first text on screen)",
        f"errwatch median {statistics.median(ours):.3f}s "
        f"(runs {', '.join(f'{t:.2f}' for t in ours)})",
        f"Textual hello-world median {statistics.median(theirs):.3f}s "
        f"(runs {', '.join(f'{t:.2f}' for t in theirs)})",
        f"ratio {ratio:.2f}x, goal <= {FRAME_GOAL}x: "
        + ("met" if ratio <= FRAME_GOAL else "MISSED"),
    )
    report(
        "panels on screen (same runs, launch -> the injection button)",
        f"errwatch median {statistics.median(panels):.3f}s "
        f"(runs {', '.join(f'{t:.2f}' for t in panels)})",
        f"Textual hello-world's first frame {statistics.median(theirs):.3f}s",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="first-frame runs of each")
    parser.add_argument("--first-frame-only", action="store_true", help="skip idle CPU")
    args = parser.parse_args()
    hello = f"cd {os.getcwd()} && {sys.executable} -m benchmarks.hello"
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
        compile_bytecode()
        first_frames(errwatch, hello, args.runs)
        if args.first_frame_only:
            return
        ours_cpu = idle_cpu(errwatch, "Prometheus every 1s: up")
        theirs_cpu = idle_cpu(hello, "hello world")
        report(
            f"idle CPU at 1 s refresh ({IDLE_SECONDS:.0f} s, real Prometheus, no traffic)",
            f"errwatch {ours_cpu:.2f}% of one core",
            f"Textual hello-world {theirs_cpu:.2f}%",
            "goal <= 3 %: " + ("met" if ours_cpu <= 3 else "MISSED"),
        )


if __name__ == "__main__":
    main()

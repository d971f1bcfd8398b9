"""Shared helpers for benchmarks: timing, percentiles, tmux screens, a result line."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from errwatch.demo.prometheus import PrometheusServer
    from errwatch.demo.stack import DemoApi


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0..100)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def report(name: str, figure: str, baseline: str, verdict: str = "") -> None:
    """One line a person can paste: the figure, the baseline measured in the same run."""
    print(f"{name}: {figure} | baseline: {baseline}" + (f" | {verdict}" if verdict else ""))


def tmux(*args: str) -> str:
    """Run a tmux command and return its stdout."""
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=10)
    return done.stdout


def tmux_new(session: str, command: str, width: int = 80, height: int = 24) -> None:
    """Run ``command`` in a detached tmux session of ``width`` x ``height``."""
    tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command)


def venv_bin(name: str) -> str:
    """A console script next to the running interpreter."""
    return str(Path(sys.executable).parent / name)


def tmux_sessions() -> list[str]:
    """Names of the running tmux sessions (none when no server runs)."""
    done = subprocess.run(
        ["tmux", "list-sessions", "-F", "#{session_name}"], capture_output=True, text=True
    )
    return done.stdout.split() if done.returncode == 0 else []


@contextmanager
def api_and_prometheus(
    workdir: Path, prepare: Callable[[PrometheusServer], None] | None = None
) -> Iterator[tuple[DemoApi, PrometheusServer]]:
    """The demo API (test routes on) and a real Prometheus scraping it every second, both
    stopped on exit; ``prepare`` may change Prometheus's config before it starts."""
    from errwatch.demo.prometheus import PrometheusServer, find_prometheus
    from errwatch.demo.stack import DemoApi

    binary = find_prometheus()
    if binary is None:
        raise SystemExit("prometheus is not installed (make debs)")
    api = DemoApi(workdir, port=0, test_routes=True)
    api.start()
    try:
        (workdir / "prometheus").mkdir()
        prometheus = PrometheusServer(binary, workdir / "prometheus", [api.host_port])
        if prepare is not None:
            prepare(prometheus)
        prometheus.start()
        try:
            yield api, prometheus
        finally:
            prometheus.stop()
    finally:
        api.stop()


def compile_bytecode() -> None:
    """errwatch's and the benchmarks' bytecode, written as an install would (a machine
    where PYTHONDONTWRITEBYTECODE is set would compile every changed module at each
    start, and time that)."""
    import compileall

    import errwatch

    for package in (Path(errwatch.__file__).parent, Path(__file__).parent):
        compileall.compile_dir(package, quiet=1)

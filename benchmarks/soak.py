"""Soak: the demo stack under load and trouble; the dashboard must come out whole.

For a run of D seconds (``make soak``: 10 minutes; CI: 60 s): background traffic all
along; fault injection switched on and off every 30 s; the API's log rotated (renamed
away) every 45 s; Prometheus restarted once (at D/3) and the API once (at 2D/3).

At the end it asserts: no crash (no worker failed, the app still answers a key), memory
growth <= 20 MB after the warm-up, every traceback the API wrote counted exactly once
(the dashboard's count against a scan of every log file as it was when the count was
read: the traffic stops first, and nothing written later can be in that count), every
injection window in the timeline. The dashboard runs headless in this process, driven
like a person would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from textual.worker import WorkerState

from errwatch.config import Config, InjectionConfig, RecordingConfig
from errwatch.core.incident.timeline import EventKind
from errwatch.core.logs.scan import ScanResult, scan_fds
from errwatch.demo.process import free_port
from errwatch.demo.prometheus import find_prometheus
from errwatch.demo.stack import DemoStack, demo_config
from errwatch.sources import build_sources
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.timeline import TimelinePanel
from errwatch.ui.tracebacks import TracebackPanel

TOGGLE_EVERY = 30.0
ROTATE_EVERY = 45.0
FIRST_TOGGLE = 5.0
MAX_GROWTH_MB = 20.0
TICK = 0.25
DOWNTIME = 4.0
"""Seconds Prometheus and the API stay down when restarted."""


def rss_mb() -> float:
    """Resident memory of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def log_sizes(log: Path) -> dict[Path, int]:
    """The API's log and its rotated copies, with their sizes now."""
    return {path: path.stat().st_size for path in sorted(log.parent.glob(f"{log.name}*"))}


def scan_as_of(sizes: dict[Path, int]) -> ScanResult:
    """The tracebacks of the first ``sizes[path]`` bytes of each file: what had been
    written when the dashboard's count was read (later lines cannot be in that count)."""
    descriptors: list[tuple[str, int]] = []
    try:
        for path, size in sizes.items():
            fd = os.memfd_create(path.name)
            descriptors.append((str(path), fd))
            with path.open("rb") as source:
                data = memoryview(source.read(size))
            while data:
                data = data[os.write(fd, data) :]
            os.lseek(fd, 0, os.SEEK_SET)
        return scan_fds(descriptors)
    finally:
        for _, fd in descriptors:
            os.close(fd)


@dataclass
class SoakResult:
    """What the soak saw and measured."""

    seconds: float
    toggles: int
    windows: int
    rotations: int
    warm_mb: float
    end_mb: float
    counted: int
    written: int
    incomplete: int
    states: list[str]
    failed_workers: list[str]

    @property
    def growth_mb(self) -> float:
        """Memory growth after the warm-up."""
        return self.end_mb - self.warm_mb

    def problems(self) -> list[str]:
        """Every check that failed, in words."""
        found = []
        if self.failed_workers:
            found.append(f"workers failed: {self.failed_workers}")
        if self.growth_mb > MAX_GROWTH_MB:
            found.append(f"memory grew {self.growth_mb:.1f} MB (> {MAX_GROWTH_MB:g})")
        if self.counted != self.written:
            found.append(f"{self.counted} tracebacks counted, {self.written} in the files")
        if self.windows != (self.toggles + 1) // 2:
            found.append(
                f"{self.windows} injection windows in the timeline, {self.toggles} toggles"
            )
        return found


async def run_soak(duration: float, workdir: Path, *, say: bool = True) -> SoakResult:
    """Run the soak for ``duration`` seconds in ``workdir``; the result (checked by the caller)."""
    binary = find_prometheus()
    if binary is None:
        raise SystemExit("prometheus is not installed")
    base = Config(
        injection=InjectionConfig(rate=10, duration=TOGGLE_EVERY * 2),
        recording=RecordingConfig(dir=str(workdir / "sessions")),
    )
    toggles = rotations = 0
    states: list[str] = []
    with DemoStack(
        workdir, api_port=free_port(), prometheus_binary=binary, traffic_rate=8
    ) as stack:
        config = demo_config(base, stack)
        sources = build_sources(config, bridge_warmup=True)
        app = ErrwatchApp.over(config, sources, output_dir=workdir)
        log = stack.api.log_file
        async with app.run_test(size=(120, 40)) as pilot:
            started = time.monotonic()
            next_toggle, next_rotation = FIRST_TOGGLE, ROTATE_EVERY
            prometheus_restart, api_restart = duration / 3, 2 * duration / 3
            warm_at, warm_mb = min(60.0, duration / 3), 0.0
            while (elapsed := time.monotonic() - started) < duration:
                if elapsed >= next_toggle:
                    await pilot.press("f")
                    toggles += 1
                    next_toggle += TOGGLE_EVERY
                if elapsed >= next_rotation:
                    rotations += 1
                    os.rename(log, log.with_name(f"{log.name}.{rotations}"))
                    next_rotation += ROTATE_EVERY
                # Restarts with a few seconds down, like a deploy, from this (main) thread:
                # children spawned here die with it.
                if elapsed >= prometheus_restart and stack.prometheus is not None:
                    stack.prometheus.stop()
                    await pilot.pause(DOWNTIME)
                    stack.prometheus.start()
                    prometheus_restart = float("inf")
                if elapsed >= api_restart:
                    stack.api.stop()
                    await pilot.pause(DOWNTIME)
                    stack.api.start()
                    api_restart = float("inf")
                if not warm_mb and elapsed >= warm_at:
                    warm_mb = rss_mb()
                snapshot = app.query_one("#rates").snapshot  # type: ignore[attr-defined]
                if snapshot is not None and (not states or states[-1] != str(snapshot.state)):
                    states.append(str(snapshot.state))
                await pilot.pause(TICK)
            if app.injector.running:
                await pilot.press("f")
                toggles += 1
            # The traffic stops before the count: once the dashboard leaves, its proxies
            # close and every product page the traffic asks for logs a ConnectError
            # traceback that no dashboard is there to count.
            if stack.traffic is not None:
                await asyncio.to_thread(stack.traffic.stop)
            await pilot.pause(4.0)  # the last requests answered, their tracebacks read
            end_mb = rss_mb()
            panel = app.query_one(TracebackPanel)
            counted = panel.update.events if panel.update is not None else 0
            written_at_count = log_sizes(log)
            incident = app.query_one(TimelinePanel).incident
            windows = sum(
                1
                for e in incident.timeline.newest_first()
                if e.kind in (EventKind.INJECTION_STOPPED, EventKind.INJECTION_ABORTED)
            )
            failed = [w.name for w in app.workers if w.state is WorkerState.ERROR]
            await pilot.press("2")  # still answering keys
            assert app.page == "tracebacks" or app.has_class("-wide")
        sources.incident.close()
        scanned = scan_as_of(written_at_count)
    result = SoakResult(
        seconds=duration,
        toggles=toggles,
        windows=windows,
        rotations=rotations,
        warm_mb=warm_mb,
        end_mb=end_mb,
        counted=counted,
        written=scanned.events,
        incomplete=scanned.incomplete,
        states=states,
        failed_workers=failed,
    )
    if say:
        print(describe(result))
    return result


def describe(result: SoakResult) -> str:
    """The soak's figures on a few lines."""
    verdict = "; ".join(result.problems()) or "every check passed"
    return (
        f"soak {result.seconds:.0f}s: {result.toggles} injection toggles -> {result.windows} "
        f"windows in the timeline, {result.rotations} rotations, Prometheus and API restarted "
        f"once\n  tracebacks: {result.counted} counted by the dashboard, {result.written} in the "
        f"log files ({result.incomplete} incomplete)\n  memory: {result.warm_mb:.1f} MB after "
        f"warm-up, {result.end_mb:.1f} MB at the end, growth {result.growth_mb:+.1f} MB "
        f"(limit {MAX_GROWTH_MB:g})\n  source states seen: {' -> '.join(result.states)}\n"
        f"  verdict: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="errwatch-soak-") as workdir:
        result = asyncio.run(run_soak(args.duration, Path(workdir)))
    if result.problems():
        raise SystemExit(1)


if __name__ == "__main__":
    main()

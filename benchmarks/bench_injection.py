"""Fault injection: achieved/asked rate and stop latency, against Debian's hey in the same run.

Everything is judged by the demo API itself: its own counter (how many arrived) and
its own log (each injected failure is logged with a millisecond timestamp and the
request's X-Errwatch-Injection header: when each arrived). hey runs the same schedule
the issue names, ``hey -c 1 -q R -z D`` (hey's -q is per worker: one worker at R).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import percentile, report
from errwatch.config import INJECTION_HEADER, InjectionConfig
from errwatch.core.injection.injector import Injector
from errwatch.demo.stack import DemoApi
from tests.conftest import api_counter
from tests.core.injection.injected import arrivals, span_rate

RATES = (1, 10, 100, 500)
REPEATS = 3
"""Runs per rate and tool; the median is reported (the machine may be shared)."""
SATURATION_RATES = (500, 750, 1000, 1500)
DURATION = 4.0
STOP_TRIALS = 40
HEY_STOP_TRIALS = 10
STOP_RATE = 200.0


def counted(api: DemoApi) -> float:
    return api_counter(api.url, "/error", "500")


def settle(api: DemoApi, run_id: str, count: float) -> list[float]:
    """The arrivals of a run once the log holds them all (the API logs as it answers)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen = arrivals(api.log_file, run_id)
        if len(seen) >= count:
            return seen
        time.sleep(0.05)
    return arrivals(api.log_file, run_id)


def ours(api: DemoApi, rate: float, duration: float) -> tuple[float, float, int]:
    """(server-counted rate, server-clocked rate, skipped) of one errwatch run."""
    before = counted(api)
    cfg = InjectionConfig(rate=rate, duration=duration, max_rate=10_000.0)
    stats = asyncio.run(Injector(cfg, api.url).run())
    got = counted(api) - before
    seen = settle(api, stats.run_id, got)
    return got / duration, span_rate(seen), stats.skipped


def hey(api: DemoApi, rate: float, duration: float, tag: str) -> tuple[float, float]:
    """(server-counted rate, server-clocked rate) of ``hey -c 1 -q R -z D``."""
    before = counted(api)
    subprocess.run(
        [
            "hey",
            *("-c", "1", "-q", f"{rate:g}", "-z", f"{duration:g}s"),
            *("-H", f"{INJECTION_HEADER}: {tag}", f"{api.url}/error"),
        ],
        capture_output=True,
        check=True,
        timeout=duration + 30,
    )
    got = counted(api) - before
    seen = settle(api, tag, got)
    return got / duration, span_rate(seen)


async def stop_once(api: DemoApi, rng: random.Random) -> tuple[float, float, float]:
    """Seconds after stop(): last request handed to the client, last arrival, in-flight ended."""
    engine = Injector(InjectionConfig(rate=STOP_RATE, duration=60.0), api.url)
    run = asyncio.create_task(engine.run())
    await asyncio.sleep(rng.uniform(0.3, 0.8))
    stopped = time.time()
    engine.stop()
    stats = await run
    drained = time.time() - stopped
    seen = settle(api, stats.run_id, stats.sent)
    return engine.last_request_started - stopped, max(seen) - stopped, drained


def hey_stop_once(api: DemoApi, rng: random.Random, tag: str) -> tuple[float, float]:
    """(last arrival after SIGINT, time until hey exited) of one stop, seconds."""
    before = counted(api)
    proc = subprocess.Popen(
        [
            "hey",
            *("-c", "1", "-q", f"{STOP_RATE:g}", "-z", "60s"),
            *("-H", f"{INJECTION_HEADER}: {tag}", f"{api.url}/error"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(rng.uniform(0.3, 0.8))
    stopped = time.time()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    exited = time.time() - stopped
    seen = settle(api, tag, counted(api) - before)
    return max(seen) - stopped, exited


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    if shutil.which("hey") is None:
        raise SystemExit("hey is not installed (apt-get install -y --no-install-recommends hey)")
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="errwatch-bench-") as workdir:
        api = DemoApi(Path(workdir), port=0)
        api.start()
        try:
            for rate in RATES:
                runs = [ours(api, rate, DURATION) for _ in range(REPEATS)]
                heys = [hey(api, rate, DURATION, f"hey{rate}r{i}") for i in range(REPEATS)]
                counted_rate = statistics.median(run[0] for run in runs) / rate
                report(
                    f"achieved/asked at {rate} req/s, {DURATION:g}s, median of {REPEATS} "
                    "(server-side)",
                    f"errwatch {counted_rate:.3f} counted, "
                    f"{statistics.median(run[1] for run in runs) / rate:.3f} clocked "
                    f"(runs {', '.join(f'{run[0] / rate:.3f}' for run in runs)}; "
                    f"skipped {sum(run[2] for run in runs)})",
                    f"hey -c 1 -q {rate} {statistics.median(h[0] for h in heys) / rate:.3f} "
                    f"counted, {statistics.median(h[1] for h in heys) / rate:.3f} clocked "
                    f"(runs {', '.join(f'{h[0] / rate:.3f}' for h in heys)})",
                    "goal within 2 %: " + ("met" if abs(counted_rate - 1) <= 0.02 else "MISSED"),
                )
            ceiling = []
            for rate in SATURATION_RATES:
                counted_rate, _, skipped = ours(api, rate, 3.0)
                ceiling.append(f"{rate}->{counted_rate:.0f} ({skipped} skipped)")
            report(
                "where the demo API saturates (asked->counted req/s, concurrency 50)",
                ", ".join(ceiling),
                "the asked rate",
            )

            stops = [asyncio.run(stop_once(api, rng)) for _ in range(STOP_TRIALS)]
            hey_stops = [hey_stop_once(api, rng, f"heystop{i}") for i in range(HEY_STOP_TRIALS)]
            started = [one[0] for one in stops]
            arrived = [one[1] for one in stops]
            drained = [one[2] for one in stops]
            hey_arrived = [one[0] for one in hey_stops]
            report(
                f"stop latency at {STOP_RATE:g} req/s, {STOP_TRIALS} stops",
                f"errwatch: last request started {max(started) * 1000:+.1f} ms from stop (max); "
                f"last arrival p50 {ms(percentile(arrived, 50))}, p99 {ms(percentile(arrived, 99))}"
                f"; in-flight ended p99 {ms(percentile(drained, 99))}",
                f"hey SIGINT ({HEY_STOP_TRIALS} stops): last arrival p50 "
                f"{ms(percentile(hey_arrived, 50))}, p99 {ms(percentile(hey_arrived, 99))}; "
                f"exited p99 {ms(percentile([one[1] for one in hey_stops], 99))}",
                "goal: no request starts > 100 ms after stop: "
                + ("met" if max(started) <= 0.1 else "MISSED"),
            )
        finally:
            api.stop()


if __name__ == "__main__":
    main()

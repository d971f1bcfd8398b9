"""Injection stays on loopback and on schedule whatever the environment and the values."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from errwatch.config import InjectionConfig
from errwatch.core.injection.injector import Injector
from errwatch.demo.process import free_port
from errwatch.demo.stack import DemoApi
from tests.conftest import api_counter, wait_until
from tests.core.injection.injected import HangingPeer
from tests.hostile.servers import RecordingProxy

ERRWATCH_INJECT = [sys.executable, "-m", "errwatch", "inject"]


def test_inject_ignores_proxy_variables(tmp_path: Path, demo_api: DemoApi) -> None:
    path = tmp_path / "config.toml"
    # The guard's probe asks Prometheus (nothing listens there): it must not ask the proxy.
    closed = f"http://127.0.0.1:{free_port()}"
    path.write_text(f'[target]\nurl = "{demo_api.url}"\n[prometheus]\nurl = "{closed}"\n')
    with RecordingProxy() as proxy:
        done = subprocess.run(
            [*ERRWATCH_INJECT, "--config", str(path), "--rate", "20", "--duration", "1s", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **proxy.environ(), "NO_PROXY": "", "no_proxy": ""},
        )
        assert done.returncode == 0, done.stderr
        assert proxy.requests == []
    summary = json.loads(done.stdout)
    assert summary["by_status"] == {"500": 20}  # the API's answers, not the proxy's 200s
    assert api_counter(demo_api.url, "/error", "500") == 20


async def test_a_forged_injection_header_never_reaches_the_api(demo_api: DemoApi) -> None:
    # The config refuses it; a config built in code cannot slip it through either.
    cfg = InjectionConfig(
        rate=10.0, duration=0.5, headers={"x-errwatch-injection": "forged", "X-Other": "1"}
    )
    stats = await Injector(cfg, demo_api.url).run()
    assert stats.sent == 5
    wait_until(
        lambda: demo_api.log_file.read_text().count(f"X-Errwatch-Injection: {stats.run_id}") == 5,
        5,
        "five failures logged with the run id",
    )
    assert "forged" not in demo_api.log_file.read_text()


async def test_an_absurd_rate_still_yields_and_ends_on_time() -> None:
    # Beyond any cap (the config refuses it; built in code here): the schedule is always
    # behind, every request but the first is skipped, and the loop must still yield.
    cfg = InjectionConfig(rate=1e9, max_rate=1e9, duration=1.0, concurrency=1, timeout=5.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async with HangingPeer() as peer:
        engine = Injector(cfg, peer.url)
        background = asyncio.create_task(ticker())
        started = time.monotonic()
        stats = await asyncio.wait_for(engine.run(), timeout=20)
        elapsed = time.monotonic() - started
        background.cancel()
    assert stats.stopped_by == "duration"
    assert elapsed < 10  # the duration ended it (plus the hung request's bounded wait)
    assert stats.sent == 1 and stats.skipped > 1000
    assert ticks > 20  # other tasks (a key, a signal handler) ran meanwhile

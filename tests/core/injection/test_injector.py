"""The injection engine against the real demo API, judged by what the API itself counted."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from errwatch.config import INJECTION_HEADER, InjectionConfig
from errwatch.core.injection.injector import Injector, check_target
from errwatch.demo.process import free_port
from errwatch.demo.stack import DemoApi
from errwatch.errors import UsageError
from tests.conftest import api_counter, wait_until
from tests.core.injection.injected import Clocked, HangingPeer, arrivals, span_rate
from tests.loopback import Reply, loopback


def injector(url: str, **changes: object) -> Injector:
    settings: dict[str, object] = {"rate": 10.0, "duration": 2.0, "timeout": 2.0}
    settings.update(changes)
    return Injector(InjectionConfig(**settings), url)  # type: ignore[arg-type]


def all_logged(api: DemoApi, run_id: str, count: int) -> None:
    wait_until(lambda: len(arrivals(api.log_file, run_id)) >= count, 5, f"{count} log records")


@pytest.mark.parametrize("rate", [2.0, 25.0, 200.0])
async def test_the_api_counts_the_asked_rate(demo_api: DemoApi, rate: float) -> None:
    duration = 3.0
    before = api_counter(demo_api.url, "/error", "500")
    # Room for every request in flight even when a busy API answers in 1 s: saturation
    # (skipped requests) has a test of its own.
    engine = injector(demo_api.url, rate=rate, duration=duration, concurrency=int(rate) + 10)
    stats = await engine.run()
    assert stats.stopped_by == "duration"
    assert stats.sent == round(rate * duration)
    assert stats.skipped == 0 and stats.failed == 0
    # The API's own counter: every request arrived, none was added or lost.
    assert api_counter(demo_api.url, "/error", "500") - before == stats.sent
    # The API's own clock: requests arrived at the asked rate. A wide bound: on a busy
    # machine the API may handle the first or the last one late; the precision is
    # measured in benchmarks/bench_injection.py.
    all_logged(demo_api, stats.run_id, stats.sent)
    seen = arrivals(demo_api.log_file, stats.run_id)
    assert span_rate(seen) == pytest.approx(rate, rel=0.1)
    assert stats.achieved_rate(time.time()) == pytest.approx(rate, rel=0.1)


async def test_stop_is_immediate_and_nothing_arrives_after_it(demo_api: DemoApi) -> None:
    engine = injector(demo_api.url, rate=200.0, duration=30.0)
    run = asyncio.create_task(engine.run())
    await asyncio.sleep(1.0)
    stopped = time.time()
    engine.stop("user")
    stats = await asyncio.wait_for(run, timeout=3 + engine.cfg.timeout)
    returned = time.time()
    assert returned - stopped < engine.cfg.timeout + 0.5  # in-flight requests: the timeout
    assert stats.stopped_by == "user"
    assert engine.last_request_started <= stopped
    assert stats.sent == pytest.approx(200, rel=0.25)
    assert api_counter(demo_api.url, "/error", "500") == stats.sent
    all_logged(demo_api, stats.run_id, stats.sent)
    # Every request reached the API (which logs it before answering) before run() returned.
    assert max(arrivals(demo_api.log_file, stats.run_id)) <= returned
    await asyncio.sleep(0.5)  # a quiet window: nothing may arrive late
    assert api_counter(demo_api.url, "/error", "500") == stats.sent


async def test_in_flight_requests_end_within_the_timeout_and_the_cap_skips() -> None:
    async with HangingPeer() as peer:
        engine = injector(peer.url, rate=50.0, duration=30.0, timeout=0.5, concurrency=3)
        run = asyncio.create_task(engine.run())
        await asyncio.sleep(0.5)
        stopped = time.time()
        engine.stop("user")
        stats = await asyncio.wait_for(run, timeout=3)
        ended = time.time() - stopped
    assert ended < 0.5 + 0.3
    assert stats.sent == 3  # the concurrency cap: hung requests hold their slots
    assert stats.skipped >= 15  # ... and the schedule went on, counting what it could not send
    assert stats.timeouts == 3 and not stats.by_status
    assert max(peer.accepted) <= stopped + 0.1


async def test_the_duration_is_capped_and_so_is_the_rate(demo_api: DemoApi) -> None:
    engine = injector(demo_api.url, rate=20.0, max_rate=20.0, max_duration=1.0)
    assert engine.set_rate(1000.0) == 20.0
    began = time.monotonic()
    stats = await engine.run(duration=60.0)
    assert time.monotonic() - began < 5.0  # the 1 s cap, not the 60 s asked
    assert stats.stopped_by == "duration"
    assert stats.duration == 1.0
    assert stats.sent == 20
    assert api_counter(demo_api.url, "/error", "500") == 20


async def test_a_rate_change_rebases_the_schedule_without_a_burst(demo_api: DemoApi) -> None:
    clock = Clocked()
    engine = Injector(
        InjectionConfig(rate=2.0, duration=30.0, timeout=2.0), demo_api.url, transport=clock
    )
    run = asyncio.create_task(engine.run())
    await asyncio.sleep(1.25)
    faster = time.time()
    engine.set_rate(50.0)
    await asyncio.sleep(1.0)
    slower = time.time()
    engine.set_rate(2.0)
    await asyncio.sleep(0.7)
    engine.stop()
    stats = await run
    # When requests left, not when a busy API got round to them: the schedule is on trial.
    seen = clock.sent
    assert len(seen) == stats.sent and api_counter(demo_api.url, "/error", "500") == stats.sent
    fast = [at for at in seen if faster <= at < slower]
    # Re-based at the change: about 50 in the second at 50/s, and no catch-up burst first.
    assert len([at for at in fast if at < faster + 0.1]) <= 7
    assert span_rate(fast) == pytest.approx(50.0, rel=0.1)
    # Slowed down: the next request waits a whole new interval (0.5 s) after the last one
    # (the first 0.15 s allow for a request due before the change and sent a little late).
    assert not [at for at in seen if slower + 0.15 < at < slower + 0.45]


async def test_method_headers_and_body_come_from_the_config(demo_api: DemoApi) -> None:
    engine = injector(
        demo_api.url,
        method="POST",
        route="/api/orders",
        body='{"user_id": 1, "item": "book"}',
        headers={"Content-Type": "application/json"},
        rate=20.0,
        duration=0.5,
    )
    stats = await engine.run()
    assert dict(stats.by_status) == {"201": 10}
    assert api_counter(demo_api.url, "/api/orders", "201") == 10


async def test_the_run_id_header_cannot_be_overridden(demo_api: DemoApi) -> None:
    engine = injector(demo_api.url, headers={INJECTION_HEADER: "spoofed"}, rate=10, duration=0.3)
    stats = await engine.run()
    all_logged(demo_api, stats.run_id, stats.sent)
    assert "spoofed" not in demo_api.log_file.read_text()


async def test_connection_errors_are_counted_and_the_run_goes_on() -> None:
    stats = await injector(f"http://127.0.0.1:{free_port()}", rate=20.0, duration=0.5).run()
    assert stats.stopped_by == "duration"
    assert stats.connection_errors == stats.sent == 10


async def test_an_unexpected_failure_ends_the_run_and_says_why() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("no handler for this request")

    engine = Injector(
        InjectionConfig(rate=20.0, duration=30.0),
        "http://127.0.0.1:9",
        transport=httpx.MockTransport(broken),
    )
    stats = await asyncio.wait_for(engine.run(), timeout=3)
    assert stats.stopped_by == "error"
    assert stats.detail == "RuntimeError: no handler for this request"
    assert not engine.running


class FailsOnFifth(Injector):
    """An engine with a bug that strikes when the fifth request is due."""

    def _launch(self, client: httpx.AsyncClient) -> None:
        if self.stats().sent == 4:
            raise RuntimeError("bug in the schedule")
        super()._launch(client)


async def test_a_failing_engine_lets_the_requests_in_flight_end_then_raises() -> None:
    with loopback() as peer:
        # Each answer takes 0.3 s: the four requests are all on the wire when the bug strikes.
        peer.reply = Reply(status=500, delay=0.3)
        engine = FailsOnFifth(InjectionConfig(rate=100.0, duration=30.0, timeout=5.0), peer.url)
        with pytest.raises(RuntimeError, match="bug in the schedule"):
            await asyncio.wait_for(engine.run(), timeout=10)
        assert len(peer.requests) == 4
    stats = engine.stats()
    assert not stats.running and stats.in_flight == 0
    assert (stats.stopped_by, stats.detail) == ("error", "RuntimeError: bug in the schedule")
    # Not cancelled: their answers came back and were counted, as after a stop.
    assert dict(stats.by_status) == {"500": 4} and stats.timeouts == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://[::1]:5000", "http://localhost"])
def test_loopback_targets_are_accepted(url: str) -> None:
    check_target(url)


async def test_a_remote_target_is_refused_with_why_and_how_to_allow_it() -> None:
    engine = injector("http://10.20.30.40:5000")
    with pytest.raises(UsageError) as refused:
        await engine.run()
    message = str(refused.value)
    assert message.startswith("refusing to inject faults into 10.20.30.40: not a loopback address")
    assert 'add "10.20.30.40" to injection.allow_remote' in message
    assert engine.stats().sent == 0
    check_target("http://Staging.Example:8080/error", ("staging.example",))

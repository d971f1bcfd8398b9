"""The TCP fault proxy in front of Debian's real redis-server, with redis-py as the client:
the client sees the delay, the reset and the refusal."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from errwatch.config import FaultConfig, ProxyConfig
from errwatch.core.injection.links import Listener, build_proxy
from errwatch.demo.process import free_port, spawn, terminate
from tests.conftest import require_binary, wait_until


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    """A real redis-server on a free loopback port, nothing saved to disk."""
    binary = require_binary("redis-server", shutil.which("redis-server"))
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(tmp_path)]
    proc = spawn(argv, log=tmp_path / "redis.log")

    def answers() -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() == "PONG"

    try:
        wait_until(answers, 10, "redis-server to answer PING")
        yield port
    finally:
        terminate(proc)


def client(port: int) -> aioredis.Redis:
    """redis-py without retries: what happens on the link is what the test sees."""
    return aioredis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=5,
        socket_connect_timeout=5,
        retry=Retry(NoBackoff(), 0),
        single_connection_client=True,
    )


@asynccontextmanager
async def tcp_proxy(redis_port: int, **fault: object) -> AsyncIterator[Listener]:
    cfg = ProxyConfig(
        name="redis",
        listen="127.0.0.1:0",
        upstream=f"tcp://127.0.0.1:{redis_port}",
        fault=FaultConfig(**fault),  # type: ignore[arg-type]
    )
    proxy = build_proxy(cfg)
    await proxy.open()
    serving = asyncio.create_task(proxy.serve())
    try:
        yield proxy
    finally:
        proxy.shutdown()
        await serving


async def timed(call: object) -> float:
    began = time.perf_counter()
    await call  # type: ignore[misc]
    return time.perf_counter() - began


async def test_commands_pass_untouched(redis_port: int) -> None:
    async with tcp_proxy(redis_port, kind="delay") as proxy:
        redis = client(proxy.port)
        await redis.set("key", b"\x00value\xff" * 1000)
        assert await redis.get("key") == b"\x00value\xff" * 1000
        pipe = redis.pipeline()
        for _ in range(100):
            pipe.incr("counter")
        assert (await pipe.execute())[-1] == 100
        await redis.aclose()
    stats = proxy.stats()
    assert stats.connections == stats.forwarded >= 1 and not stats.faulted


async def test_the_client_sees_the_delay_also_on_a_connection_opened_before(
    redis_port: int,
) -> None:
    async with tcp_proxy(redis_port, kind="delay", delay=0.3) as proxy:
        redis = client(proxy.port)
        assert await timed(redis.ping()) < 0.2
        proxy.start_fault(0)  # the pooled connection is already open: it is picked too
        slow = [await timed(redis.ping()) for _ in range(3)]
        proxy.stop_fault()
        fast = await timed(redis.ping())
        await redis.aclose()
    assert all(0.3 <= t < 0.6 for t in slow), slow
    assert fast < 0.2
    stats = proxy.stats()
    assert stats.faulted["delay"] == 1
    # histogram buckets are 2 % wide: their middle may read a little under the true value
    assert stats.added_p50_ms is not None and 294 <= stats.added_p50_ms < 400


async def test_the_client_sees_the_reset(redis_port: int) -> None:
    async with tcp_proxy(redis_port, kind="reset") as proxy:
        redis = client(proxy.port)
        await redis.set("before", "1")
        proxy.start_fault(0)
        with pytest.raises(RedisConnectionError) as caught:
            await redis.get("before")
        assert "reset by peer" in str(caught.value).lower() or "closed" in str(caught.value)
        proxy.stop_fault()
        await redis.aclose()
        again = client(proxy.port)
        assert await again.get("before") == b"1", "after the window the link works again"
        await again.aclose()
    assert proxy.stats().faulted["reset"] == 1


async def test_the_client_sees_the_refusal(redis_port: int) -> None:
    async with tcp_proxy(redis_port, kind="refuse") as proxy:
        open_before = client(proxy.port)
        await open_before.ping()
        proxy.start_fault(0)
        await asyncio.sleep(0.05)  # the listener closes on the loop's next turn
        refused = client(proxy.port)
        with pytest.raises(RedisConnectionError, match="Error 111 connecting"):  # ECONNREFUSED
            await refused.ping()
        assert await open_before.ping(), "connections already open go on"
        assert proxy.stats().state == "refusing"
        proxy.stop_fault()
        await asyncio.sleep(0.05)
        assert await refused.ping()
        await refused.aclose()
        await open_before.aclose()
    assert proxy.stats().state == "stopped"


async def test_a_share_of_connections_is_refused_exactly(redis_port: int) -> None:
    async with tcp_proxy(redis_port, kind="refuse", ratio=0.25) as proxy:
        proxy.start_fault(0)
        outcomes = []
        for _ in range(8):
            redis = client(proxy.port)
            try:
                outcomes.append(bool(await redis.ping()))
            except RedisConnectionError:
                outcomes.append(False)
            await redis.aclose()
    assert outcomes == [False, True, True, True, False, True, True, True]
    assert proxy.stats().faulted["refuse"] == 2

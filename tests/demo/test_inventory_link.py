"""The demo API and its inventory backend as real processes, an errwatch proxy on the link
between them: a slow link is a 504 and a logged httpx.ReadTimeout, a cut one a 502 and
its traceback, each answered in JSON as Flask's error guide recommends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from errwatch.config import FaultConfig, ProxyConfig
from errwatch.core.injection.links import Listener, build_proxy
from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.tracebacks import parse_text
from errwatch.demo.process import free_port
from errwatch.demo.stack import DemoApi, Inventory
from tests.conftest import api_counter, wait_until

PRODUCTS = "/api/products/<int:product_id>"


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[Inventory]:
    service = Inventory(tmp_path)
    service.start()
    yield service
    service.stop()


@pytest.fixture
def link_port() -> int:
    return free_port()


@pytest.fixture
def api(tmp_path: Path, link_port: int) -> Iterator[DemoApi]:
    """The demo API calling the inventory through 127.0.0.1:link_port."""
    service = DemoApi(tmp_path, port=0, inventory_url=f"http://127.0.0.1:{link_port}")
    service.start()
    yield service
    service.stop()


@asynccontextmanager
async def link(port: int, upstream: str, **fault: object) -> AsyncIterator[Listener]:
    cfg = ProxyConfig(
        name="inventory",
        listen=f"127.0.0.1:{port}",
        upstream=upstream,
        fault=FaultConfig(**fault),  # type: ignore[arg-type]
    )
    proxy = build_proxy(cfg)
    await proxy.open()
    serving = asyncio.create_task(proxy.serve())
    try:
        proxy.start_fault(0)
        yield proxy
    finally:
        proxy.shutdown()
        await serving


def tracebacks(api: DemoApi) -> list[TracebackEvent]:
    """What errwatch's own parser reads in the API's log."""
    return parse_text(api.log_file.read_text())


def logged(api: DemoApi, text: str) -> None:
    wait_until(lambda: text in api.log_file.read_text(), 5, f"{text!r} in the API's log")


async def test_a_healthy_link_answers_the_stock(
    api: DemoApi, inventory: Inventory, link_port: int
) -> None:
    async with (
        link(link_port, inventory.url, kind="abort", route="/nowhere/*"),
        httpx.AsyncClient(base_url=api.url) as client,
    ):
        answer = await client.get("/api/products/2")
        missing = await client.get("/api/products/99")
    assert answer.status_code == 200
    assert answer.json() == {"product_id": 2, "name": "fountain pen", "available": True}
    assert missing.status_code == 404
    assert missing.json()["description"] == "No product with id 99."


async def test_a_slow_link_is_a_504_and_a_logged_read_timeout(
    api: DemoApi, inventory: Inventory, link_port: int
) -> None:
    async with (
        link(link_port, inventory.url, kind="delay", delay=1.5) as proxy,
        httpx.AsyncClient(base_url=api.url, timeout=5) as client,
    ):
        answer = await client.get("/api/products/1")
    assert answer.status_code == 504
    assert answer.json() == {
        "code": 504,
        "name": "Gateway Timeout",
        "description": "The inventory service did not answer within 1 s.",
    }
    assert proxy.stats().faulted["delay"] == 1
    logged(api, "httpx.ReadTimeout: timed out")
    [event] = [e for e in tracebacks(api) if e.type == "httpx.ReadTimeout"]
    assert event.record is not None and event.record.route == "/api/products/1"
    assert any(frame.function == "get_product" for frame in event.frames)
    assert api_counter(api.url, PRODUCTS, "504") == 1


async def test_a_reset_link_is_a_502_and_its_traceback(
    api: DemoApi, inventory: Inventory, link_port: int
) -> None:
    async with (
        link(link_port, inventory.url, kind="reset", ratio=0.5) as proxy,
        httpx.AsyncClient(base_url=api.url) as client,
    ):
        codes = [(await client.get(f"/api/products/{n}")).status_code for n in (1, 2, 3, 4)]
        cut = await client.get("/api/products/5")
    assert codes == [502, 200, 502, 200]
    assert cut.json() == {
        "code": 502,
        "name": "Bad Gateway",
        "description": "The inventory service could not be reached or cut the connection.",
    }
    assert proxy.stats().faulted["reset"] == 3
    logged(api, "httpx.ReadError")
    assert [e.type for e in tracebacks(api)].count("httpx.ReadError") == 3
    assert api_counter(api.url, PRODUCTS, "502") == 3


async def test_an_error_status_from_the_inventory_is_a_502(
    api: DemoApi, inventory: Inventory, link_port: int
) -> None:
    async with (
        link(link_port, inventory.url, kind="abort", status=503),
        httpx.AsyncClient(base_url=api.url) as client,
    ):
        answer = await client.get("/api/products/1")
    assert answer.status_code == 502
    assert answer.json()["description"] == "The inventory service answered 503."
    logged(api, "httpx.HTTPStatusError")


async def test_no_link_at_all_is_a_502(api: DemoApi) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        answer = await client.get("/api/products/1")
    assert answer.status_code == 502
    logged(api, "httpx.ConnectError")

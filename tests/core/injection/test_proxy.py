"""The HTTP fault proxy in front of a real werkzeug server: pass-through fidelity, the
exact share, abort, delay, reset, the fault window, an upstream that is not there."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from errwatch.config import FaultConfig, ProxyConfig
from errwatch.core.injection.faults import Share
from errwatch.core.injection.links import Listener, build_proxy
from errwatch.core.injection.proxy import HttpProxy
from errwatch.demo.process import free_port
from errwatch.demo.prometheus import PrometheusServer
from errwatch.errors import SourceError, UsageError
from tests.conftest import wait_until
from tests.core.injection.upstream import BINARY, Upstream, upstream


@pytest.fixture
def origin() -> Iterator[Upstream]:
    with upstream() as server:
        yield server


@asynccontextmanager
async def proxied(url: str, **fault: object) -> AsyncIterator[Listener]:
    cfg = ProxyConfig(
        name="test",
        listen="127.0.0.1:0",
        upstream=url,
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


def base(proxy: Listener) -> str:
    return f"http://127.0.0.1:{proxy.port}"


async def raw_exchange(port: int, request: bytes, *, read_all: bool = True) -> bytes:
    """Send bytes as they are; read the answer up to the end of the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(-1) if read_all else reader.read(65536), 10)
    writer.close()
    return data


def test_the_share_is_exact_and_evenly_spread() -> None:
    for ratio in (0.3, 0.5, 0.01, 1 / 3, 0.999, 1.0):
        share = Share(ratio)
        picks = [share.take() for _ in range(1000)]
        assert picks[0], "the first item of a window is faulted"
        for n in (1, 7, 100, 999, 1000):
            assert sum(picks[:n]) == -(-n * share.ratio.numerator // share.ratio.denominator)
    half = Share(0.5)
    assert [half.take() for _ in range(6)] == [True, False, True, False, True, False]


async def test_pass_through_keeps_bodies_headers_and_one_connection(origin: Upstream) -> None:
    async with proxied(origin.url) as proxy:
        headers = {
            "X-Custom": "kept",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "named by Connection: dropped",
        }
        async with httpx.AsyncClient(base_url=base(proxy)) as client:
            answers = [
                await client.post("/echo?x=1&y=%20", content=b"body \x00\xff", headers=headers)
                for _ in range(3)
            ]
            binary = await client.get("/binary")
    echoed = answers[0].json()
    sent = {name.lower(): value for name, value in echoed["headers"]}
    assert echoed["method"] == "POST" and echoed["path"] == "/echo?x=1&y=%20"
    assert echoed["body"] == b"body \x00\xff".decode("latin-1")
    assert sent["x-custom"] == "kept"
    assert sent["host"] == origin.url.removeprefix("http://")
    for hop in ("keep-alive", "proxy-authorization", "x-hop"):
        assert hop not in sent, hop
    assert answers[0].headers["x-upstream"] == "echo"
    assert answers[0].headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert binary.content == BINARY and binary.headers["content-length"] == str(len(BINARY))
    stats = proxy.stats()
    assert stats.connections == 1, "the client's connection was kept alive"
    # werkzeug closes every connection ("Connection: close"): the proxy opened one per request
    assert len(set(origin.peers)) == 4
    assert stats.forwarded == 4 and dict(stats.by_status) == {"200": 4}
    assert stats.overhead_p50_ms is not None


async def test_upstream_connections_are_kept_alive_and_reused(
    prometheus_bin: str, tmp_path: Path
) -> None:
    # Prometheus (Go's net/http) keeps connections alive, as most servers do.
    server = PrometheusServer(prometheus_bin, tmp_path, [])
    server.start()
    try:
        async with proxied(server.url) as proxy:
            async with httpx.AsyncClient(base_url=base(proxy)) as client:
                answers = [await client.get("/-/healthy") for _ in range(20)]
            async with httpx.AsyncClient(base_url=base(proxy)) as other:
                await other.get("/-/healthy")
            assert isinstance(proxy, HttpProxy)
            opened = proxy.upstream.opened
    finally:
        server.stop()
    assert {answer.status_code for answer in answers} == {200}
    assert opened == 1, "one upstream connection served both clients"
    assert proxy.stats().connections == 2


async def test_chunked_bodies_are_relayed_both_ways(origin: Upstream) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for n in range(20):
            yield f"piece {n};".encode()

    async with proxied(origin.url) as proxy, httpx.AsyncClient(base_url=base(proxy)) as client:
        echoed = (await client.post("/echo", content=pieces())).json()
        async with client.stream("GET", "/stream?n=300") as streamed:
            assert streamed.headers["transfer-encoding"] == "chunked"
            lines = [line async for line in streamed.aiter_lines() if line]
    assert echoed["chunked"] and echoed["body"] == "".join(f"piece {n};" for n in range(20))
    assert [json.loads(line)["n"] for line in lines] == list(range(300))


async def test_an_http_1_0_client_gets_the_data_without_chunks(origin: Upstream) -> None:
    async with proxied(origin.url) as proxy:
        answer = await raw_exchange(proxy.port, b"GET /stream?n=5 HTTP/1.0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding" not in head.lower() and b"connection: close" in head.lower()
    assert body == b"".join(f'{{"n": {n}}}\n'.encode() for n in range(5))


async def test_expect_100_continue_and_head(origin: Upstream) -> None:
    async with proxied(origin.url) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        go = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert go.startswith(b"HTTP/1.1 100")
        writer.write(b"hello")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        echoed = json.loads(await reader.readexactly(length))
        assert echoed["body"] == "hello"
        writer.write(b"HEAD /binary HTTP/1.1\r\nHost: x\r\n\r\n")  # same connection
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert f"content-length: {len(BINARY)}".encode() in head.lower()
        writer.write(b"GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 204")
        writer.close()


async def test_abort_answers_the_exact_share_of_the_matching_route(origin: Upstream) -> None:
    async with proxied(origin.url, kind="abort", status=503, ratio=0.3, route="/echo/*") as proxy:
        proxy.start_fault(0)
        async with httpx.AsyncClient(base_url=base(proxy)) as client:
            matching = [(await client.get(f"/echo/item/{n}")) for n in range(200)]
            others = [(await client.get("/echo")).status_code for _ in range(20)]
    codes = [answer.status_code for answer in matching]
    assert codes.count(503) == 60 and codes.count(200) == 140
    assert codes[:10] == [503, 200, 200, 503, 200, 200, 503, 200, 200, 200], "evenly spread"
    assert others == [200] * 20, "other routes pass untouched"
    aborted = next(answer for answer in matching if answer.status_code == 503)
    assert aborted.json() == {
        "code": 503,
        "name": "Service Unavailable",
        "description": "fault injected by errwatch proxy test",
    }
    assert aborted.headers["x-errwatch-fault"] == "abort"
    stats = proxy.stats()
    assert dict(stats.faulted) == {"abort": 60}
    assert stats.forwarded == 160 and dict(stats.by_status) == {"200": 160, "503": 60}
    assert (stats.window_seen, stats.window_faulted) == (200, 60)
    assert stats.connections == 1, "an abort keeps the connection alive"


async def test_delay_holds_the_request_then_forwards_it(origin: Upstream) -> None:
    async with (
        proxied(origin.url, kind="delay", delay=0.3, ratio=0.5) as proxy,
        httpx.AsyncClient(base_url=base(proxy)) as client,
    ):
        proxy.start_fault(0)
        times = []
        for _ in range(4):
            began = time.perf_counter()
            answer = await client.post("/echo", content=b"late")
            times.append(time.perf_counter() - began)
            assert answer.json()["body"] == "late"
    slow = [t for t in times if t >= 0.3]
    assert len(slow) == 2 and all(t < 1.0 for t in times)
    stats = proxy.stats()
    assert stats.faulted["delay"] == 2 and stats.forwarded == 4
    assert stats.added_max_ms is not None and 300 <= stats.added_max_ms < 400


async def test_reset_cuts_the_connection_with_a_tcp_reset(origin: Upstream) -> None:
    async with proxied(origin.url, kind="reset") as proxy:
        proxy.start_fault(0)
        async with httpx.AsyncClient(base_url=base(proxy)) as client:
            with pytest.raises(httpx.ReadError):
                await client.get("/echo")
        with pytest.raises(ConnectionResetError):
            await raw_exchange(proxy.port, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert proxy.stats().faulted["reset"] == 2
        assert proxy.stats().forwarded == 0


async def test_the_window_ends_by_itself_then_everything_passes(origin: Upstream) -> None:
    async with (
        proxied(origin.url, kind="abort", status=500) as proxy,
        httpx.AsyncClient(base_url=base(proxy)) as client,
    ):
        proxy.start_fault(0.3)
        assert (await client.get("/echo")).status_code == 500
        await asyncio.sleep(0.4)
        assert (await client.get("/echo")).status_code == 200
        stats = proxy.stats()
    assert not stats.active and stats.stopped_by == "duration"
    assert stats.started_at is not None and stats.stopped_at is not None
    assert stats.stopped_at - stats.started_at == pytest.approx(0.3, abs=0.05)


async def test_an_upstream_that_is_not_there_is_a_json_502() -> None:
    async with (
        proxied(f"http://127.0.0.1:{free_port()}") as proxy,
        httpx.AsyncClient(base_url=base(proxy)) as client,
    ):
        answer = await client.get("/stock/1")
    assert answer.status_code == 502
    assert "refused the connection" in answer.json()["description"]
    assert proxy.stats().upstream_errors == 1


async def test_a_busy_port_is_one_line_and_a_remote_upstream_is_refused(origin: Upstream) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proxy = build_proxy(
            ProxyConfig(name="busy", listen=f"127.0.0.1:{port}", upstream=origin.url)
        )
        with pytest.raises(SourceError) as caught:
            await proxy.open()
    assert str(caught.value) == (
        f"proxy busy: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert proxy.stats().state == "failed"
    remote = ProxyConfig(name="far", listen="127.0.0.1:0", upstream="http://192.0.2.7:80")
    with pytest.raises(UsageError, match=r"refusing to proxy faults to 192\.0\.2\.7"):
        build_proxy(remote)
    assert build_proxy(remote, allow_remote=("192.0.2.7",)).cfg is remote


async def test_closing_leaves_nothing_listening_nor_connected(origin: Upstream) -> None:
    async with proxied(origin.url) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        port = proxy.port
    assert await asyncio.wait_for(reader.read(-1), 5) is not None  # closed under the client
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    assert proxy.stats().state == "stopped"


def test_a_proxy_on_a_thread_of_its_own_is_driven_from_another(origin: Upstream) -> None:
    cfg = ProxyConfig(
        name="threaded",
        listen="127.0.0.1:0",
        upstream=origin.url,
        fault=FaultConfig(kind="abort", status=500),
    )
    proxy = build_proxy(cfg)
    ended = proxy.run_in_thread()
    wait_until(lambda: proxy.listening, 5, "the proxy to listen")
    assert proxy.start_fault(0.3).active  # from this thread: it runs on the proxy's loop
    with httpx.Client(base_url=base(proxy)) as client:
        assert client.get("/echo").status_code == 500
        wait_until(lambda: not proxy.active, 2, "the window's own timer to end it")
        assert client.get("/echo").status_code == 200
    assert proxy.stats().stopped_by == "duration"
    port = proxy.port
    proxy.stop_and_wait("quit")
    assert ended.result(timeout=5) is None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "nothing left listening"


@asynccontextmanager
async def raw_upstream(answer: bytes) -> AsyncIterator[str]:
    """A server that reads one request head and answers bytes as given, then closes: for
    framings a real server will not produce on demand."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


@pytest.mark.parametrize(
    ("answer", "body", "status"),
    [
        # chunked and a length: the chunks win, the length is not passed on (RFC 9112 6.3)
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n",
            b"hello",
            200,
        ),
        # framed by the end of the connection: relayed to the end, then ours closes too
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
            b"until the end",
            200,
        ),
        (b"", None, 502),  # closed without an answer
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", None, 502),  # not HTTP
    ],
)
async def test_odd_framings_from_the_upstream(
    answer: bytes, body: bytes | None, status: int
) -> None:
    async with (
        raw_upstream(answer) as url,
        proxied(url) as proxy,
        httpx.AsyncClient(base_url=base(proxy)) as client,
    ):
        got = await client.get("/")
    assert got.status_code == status
    if body is not None:
        assert got.content == body and "content-length" not in got.headers
    else:
        assert got.json()["code"] == 502 and proxy.stats().upstream_errors == 1

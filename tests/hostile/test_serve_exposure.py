"""`errwatch serve` beyond loopback: an explicit option, a warning, and a token on every page."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import httpx
import pytest

from errwatch.demo.process import free_port, spawn, terminate
from tests.conftest import wait_until


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errwatch", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "anyone who reaches port 8000 there could start fault injection"),
        (["--host", "192.0.2.7", "--port", "9000"], "add --public"),
        (["--port", "99999"], "--port: must be between 1 and 65535, got 99999"),
    ],
)
def test_a_risky_or_impossible_serve_is_refused_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = serve(tmp_path, *args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert message in done.stderr


def test_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = serve(tmp_path, "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"errwatch: --port {port}: cannot listen on 127.0.0.1")


def test_public_serving_needs_the_printed_token(tmp_path: Path) -> None:
    # --public on loopback: the same guard as on a real interface, without leaving loopback.
    port = free_port()
    log = tmp_path / "serve.log"
    server = spawn(
        [sys.executable, "-m", "errwatch", "serve", "--public", "--port", str(port)],
        log=log,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        found: list[str] = []

        def token_printed() -> bool:
            found[:] = re.findall(r"\?token=([\w-]+)", log.read_text())
            return bool(found)

        wait_until(token_printed, 20, "the token printed")
        text = log.read_text()
        assert "anyone who reaches this port with the token can start fault injection" in text
        token = found[0]
        wait_until(lambda: _status(f"{base}/") == 403, 20, "the server answering")
        assert _status(f"{base}/?token=wrong{token}") == 403
        assert _status(f"{base}/ws") == 403
        with httpx.Client(timeout=5) as client:
            page = client.get(f"{base}/?token={token}")
            assert page.status_code == 200
            assert "errwatch" in page.text
            # The cookie set with the page opens the websocket's door, not the token alone.
            assert client.cookies.get("errwatch_token") == token
        assert _status(f"{base}/static/css/xterm.css") == 200  # scripts and fonts hold no data
        assert asyncio.run(_websocket(f"{base}/ws", None)) == 403
        assert asyncio.run(_websocket(f"{base}/ws", token)) == 101
    finally:
        terminate(server)


async def _websocket(url: str, token: str | None) -> int:
    """The websocket handshake's status, with the cookie the page sets (or none)."""
    cookies = {"errwatch_token": token} if token else {}
    async with aiohttp.ClientSession(cookies=cookies) as session:
        try:
            socket_ = await session.ws_connect(url)
        except aiohttp.WSServerHandshakeError as error:
            return error.status
        await socket_.close()
        return 101


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0

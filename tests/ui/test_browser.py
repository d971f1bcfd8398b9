"""`errwatch serve` in a real headless Chromium: a screenshot, then a click on the inject button."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from errwatch.config import Config, TargetConfig
from errwatch.core.injection.injector import Injector
from errwatch.demo.process import free_port, spawn, terminate, wait_until_ok
from errwatch.demo.stack import DemoApi
from errwatch.ui.app import ErrwatchApp
from tests.conftest import api_counter, require_binary, wait_until
from tests.ui.recorded import RecordedSource
from tests.ui.scenes import STATES

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def button_cell(size: tuple[int, int], config: Config) -> tuple[float, float]:
    """Where the inject button is, in cells, on a screen of ``size``: the app itself says."""
    app = ErrwatchApp(
        config,
        metrics=RecordedSource([STATES["unreachable"]]),
        tracebacks=None,
        injector=Injector(config.injection, config.target.url),
    )
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        region = app.query_one("#inject").region
    return region.x + region.width / 2, region.y + 0.5


def test_serve_in_chromium_screenshot_and_click_inject(tmp_path: Path, demo_api: DemoApi) -> None:
    chromium = require_binary("chromium", shutil.which("chromium"))
    sync_api = pytest.importorskip("playwright.sync_api")
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[target]\nurl = "{demo_api.url}"\n[recording]\nenabled = false\n')
    port = free_port()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    server = spawn(
        [
            sys.executable,
            "-m",
            "errwatch",
            "--config",
            str(config_file),
            "serve",
            "--port",
            str(port),
        ],
        log=tmp_path / "serve.log",
        env=env,
    )
    try:
        wait_until_ok(f"http://127.0.0.1:{port}/", server, tmp_path / "serve.log", 20)
        sent: list[str] = []
        received: list[object] = []
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})

            def watch(ws: object) -> None:
                # Playwright keys handlers by function: a bound builtin like list.append fails.
                ws.on("framesent", lambda frame: sent.append(frame))  # type: ignore[attr-defined]  # noqa: PLW0108
                ws.on("framereceived", lambda frame: received.append(frame))  # type: ignore[attr-defined]  # noqa: PLW0108

            page.on("websocket", watch)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.querySelector('.xterm-screen') !== null")
            browsing(page, lambda: any('"resize"' in str(f) for f in sent), 15, "the terminal size")
            _, cells = json.loads(next(str(f) for f in sent if '"resize"' in str(f)))
            size = (cells["width"], cells["height"])
            # A whole dashboard is tens of kilobytes of escape codes; the UI only repaints
            # what changes, so count bytes, not frames.
            browsing(page, lambda: sum(map(len, received)) > 20_000, 15, "the dashboard to draw")
            page.wait_for_timeout(1500)
            first = tmp_path / "served.png"
            page.screenshot(path=str(first))
            assert first.stat().st_size > 20_000  # a drawn dashboard, not a blank page

            screen = page.locator(".xterm-screen").bounding_box()
            assert screen is not None
            # Playwright's loop owns this thread: the app measures itself in another one.
            layout = button_cell(size, Config(target=TargetConfig(demo_api.url)))
            with ThreadPoolExecutor(1) as pool:
                column, row = pool.submit(asyncio.run, layout).result(timeout=30)
            x = screen["x"] + column * screen["width"] / size[0]
            y = screen["y"] + row * screen["height"] / size[1]
            before = api_counter(demo_api.url, "/error", "500")
            page.mouse.click(x, y)
            browsing(
                page,
                lambda: api_counter(demo_api.url, "/error", "500") >= before + 5,
                10,
                "injected requests after the click",
            )
            page.screenshot(path=str(tmp_path / "injecting.png"))
            browser.close()
    finally:
        terminate(server)
    # The browser is gone and the server stopped: its dashboard stopped injecting too.
    wait_until(lambda: _quiet(demo_api.url), 10, "the API to stop receiving injected requests")


def browsing(page: Any, condition: Callable[[], object], timeout: float, what: str) -> None:
    """wait_until, letting Playwright run meanwhile (its events only arrive inside its calls)."""
    wait_until(condition, timeout, what, pause=lambda s: page.wait_for_timeout(s * 1000))


def _quiet(url: str) -> bool:
    first = api_counter(url, "/error", "500")
    time.sleep(0.5)
    return api_counter(url, "/error", "500") == first

"""The injection panel driven with Pilot, injecting into the real demo API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.widgets import Static

from errwatch.config import Config, InjectionConfig, TargetConfig
from errwatch.core.injection.guard import ErrorSplit
from errwatch.core.injection.injector import Injector
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.demo.stack import DemoApi
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.injection import InjectionPanel
from tests.conftest import api_counter
from tests.ui.helpers import wait_for
from tests.ui.recorded import RecordedSource


def build(url: str, injector: Injector | None = None, **injection: object) -> ErrwatchApp:
    config = Config(
        target=TargetConfig(url=url),
        injection=InjectionConfig(**injection),  # type: ignore[arg-type]
    )
    return ErrwatchApp(
        config,
        metrics=RecordedSource([MetricsSnapshot(SourceState.NO_DATA, 0.0)]),
        tracebacks=None,
        injector=injector or Injector(config.injection, config.target.url),
    )


def panel_text(app: ErrwatchApp) -> str:
    return str(app.query_one("#inject-stats", Static).render())


def notes() -> tuple[list[Notification], Callable[[Message], None]]:
    seen: list[Notification] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            seen.append(message.notification)

    return seen, hook


async def test_plus_and_minus_change_the_rate_while_running_never_past_the_cap(
    demo_api: DemoApi,
) -> None:
    seen, hook = notes()
    app = build(demo_api.url, rate=10.0, max_rate=50.0, duration=60.0)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        panel = app.query_one(InjectionPanel)
        await pilot.press("f")
        await wait_for(pilot, lambda: panel.stats.running, 2, "injection to start")
        for key, rate in (("plus", 20), ("plus", 50), ("plus", 50)):
            await pilot.press(key)
            assert panel.injector.rate == rate
        assert [n.title for n in seen] == ["Rate capped"]
        assert seen[0].message == "100/s is above injection.max_rate: the rate stays at 50/s"
        await wait_for(pilot, lambda: "GET /error @ 50/s" in panel_text(app), 3, "the new rate")

        # The schedule follows at once: about 50 more requests due in the next second (sent,
        # or skipped if a busy API holds every connection; its answers may come late).
        def due() -> int:
            stats = panel.injector.stats()
            return stats.sent + stats.skipped

        before = due()
        began = time.monotonic()
        await pilot.pause(1.0)
        assert (due() - before) / (time.monotonic() - began) > 35
        await pilot.press("minus")
        assert panel.injector.rate == 20
        await pilot.press("f")
        await wait_for(pilot, lambda: not panel.injector.running, 10, "injection to stop")
        stats = panel.injector.stats()
        assert stats.stopped_by == "user"
        # Every request sent reached the API (it counts before answering).
        assert stats.failed == 0 and api_counter(demo_api.url, "/error", "500") == stats.sent


async def test_the_run_stops_by_itself_at_its_duration(demo_api: DemoApi) -> None:
    app = build(demo_api.url, rate=10.0, duration=1.0)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(InjectionPanel)
        await pilot.click("#inject")
        await wait_for(pilot, lambda: panel.stats.running, 2, "injection to start")
        assert "Stop injection" in str(app.query_one("#inject").render())
        await wait_for(pilot, lambda: not panel.stats.running, 4, "the duration to end the run")
        text = panel_text(app)
        assert "sent 10" in text and "5xx 10" in text
        assert "stopped: duration" in text
        assert "Start injection" in str(app.query_one("#inject").render())
    assert api_counter(demo_api.url, "/error", "500") == 10


async def test_the_guard_aborts_on_the_applications_errors_and_shows_why(
    demo_api: DemoApi,
) -> None:
    app = build(demo_api.url, rate=20.0, duration=60.0, guard_ratio=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(InjectionPanel)
        await pilot.press("f")
        await wait_for(pilot, lambda: panel.stats.running, 2, "injection to start")
        # What the app sets from each metrics snapshot: injected 5xx apart from the app's.
        panel.errors = ErrorSplit(time.time(), app_ratio=0.0, injected_errors=19.5)
        await pilot.pause(0.3)
        assert panel.injector.running
        assert "app 5xx 0.0% (guard 5.0%)  5xx/s injected 19.5 app 0.0" in panel_text(app)
        panel.errors = ErrorSplit(time.time(), 0.3, app_errors=6.0, injected_errors=19.8)
        await wait_for(pilot, lambda: not panel.stats.running, 3, "the guard to stop the run")
        stats = panel.injector.stats()
        assert stats.stopped_by == "guard"
        reason = "application 5xx ratio 30.0% above the guard's 5.0%"
        assert f"stopped by guard: {reason}" in panel_text(app)
        assert panel.has_class("-alarm")
    await asyncio.sleep(0.3)
    assert api_counter(demo_api.url, "/error", "500") == stats.sent


class BrokenInjector(Injector):
    """An engine with a bug that strikes on the fifth request."""

    def _launch(self, client: httpx.AsyncClient) -> None:
        if self.stats().sent == 4:
            raise RuntimeError("bug in the schedule")
        super()._launch(client)


async def test_a_failing_worker_stops_the_schedule_and_shows_why(demo_api: DemoApi) -> None:
    seen, hook = notes()
    config = InjectionConfig(rate=20.0, duration=60.0)
    app = build(demo_api.url, BrokenInjector(config, demo_api.url))
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        panel = app.query_one(InjectionPanel)
        await pilot.press("f")
        await wait_for(
            pilot,
            lambda: "stopped by error" in panel_text(app) and seen,
            3,
            "the failure on the panel and in a notification",
        )
        assert "stopped by error: RuntimeError: bug in the schedule" in panel_text(app)
        shown = [(n.title, n.message) for n in seen]
        assert ("Injection failed", "bug in the schedule") in shown, shown
        assert not panel.injector.running
        # The four requests sent before the bug were not cancelled: they got their answers
        # before the run ended (the API counts a request before it answers).
        assert dict(panel.injector.stats().by_status) == {"500": 4}
        assert api_counter(demo_api.url, "/error", "500") == 4


async def test_quit_stops_injection_and_nothing_reaches_the_api_after(demo_api: DemoApi) -> None:
    app = build(demo_api.url, rate=50.0, duration=60.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f")
        await wait_for(
            pilot, lambda: api_counter(demo_api.url, "/error", "500") >= 10, 5, "requests"
        )
        await pilot.press("q")
    stats = app.injector.stats()
    assert not stats.running and stats.stopped_by == "quit"
    at_exit = api_counter(demo_api.url, "/error", "500")
    assert at_exit == stats.sent
    await asyncio.sleep(0.5)  # a quiet window: nothing may arrive after the exit
    assert api_counter(demo_api.url, "/error", "500") == at_exit


async def test_a_remote_target_is_refused_with_a_notification() -> None:
    seen, hook = notes()
    app = build("http://192.0.2.10:5000")
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.press("f")
        await wait_for(pilot, lambda: seen, 2, "the refusal")
        assert seen[0].title == "Injection refused"
        assert "injection.allow_remote" in seen[0].message
        assert not app.injector.running and app.injector.stats().sent == 0

"""Every action from the keyboard: help, palette, pages, marks, the report, screenshots, alerts."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Static

from errwatch.config import AlertConfig
from errwatch.core.incident.recording import load_session
from errwatch.core.incident.timeline import EventKind
from errwatch.demo.process import free_port
from errwatch.ui.app import KEYS, ErrwatchApp
from errwatch.ui.injection import InjectionPanel
from errwatch.ui.rates import RatesPanel
from errwatch.ui.screens import HelpScreen, MarkScreen
from errwatch.ui.timeline import AlertBanner, TimelinePanel
from errwatch.ui.tracebacks import TracebackPanel
from tests.ui import scenes
from tests.ui.dashboard import build
from tests.ui.helpers import wait_for


def shown(app: ErrwatchApp, panel_id: str) -> bool:
    return app.query_one(f"#{panel_id}").display and app.query_one(f"#{panel_id}").region.area > 0


async def ready(pilot, app: ErrwatchApp) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: app.query_one(RatesPanel).snapshot is not None, 5, "a poll")
    panel = app.query_one(TracebackPanel)
    await wait_for(pilot, lambda: panel.update is not None and panel.update.events == 15, 5, "log")
    await pilot.pause()


async def test_help_lists_every_key(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = str(app.screen.query_one("#help-keys", Static).render())
        for binding in KEYS:
            if binding.key != "ctrl+c":
                assert binding.description in listed, binding
        for key in ("enter", "escape", "ctrl+p"):
            assert key in listed
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_action_is_in_the_command_palette(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(80, 24)):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        wanted = {b.description for b in KEYS if b.key != "ctrl+c"}
        assert wanted <= titles
        assert "Theme" in " ".join(titles)  # Textual's own commands stay


async def test_small_screens_show_one_page_at_a_time(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        assert not app.has_class("-wide")
        assert shown(app, "rates") and not shown(app, "tracebacks") and not shown(app, "timeline")
        assert shown(app, "injection")
        await pilot.press("2")
        assert shown(app, "tracebacks") and not shown(app, "rates")
        assert app.query_one(DataTable).row_count == 2
        await pilot.press("3")
        assert shown(app, "timeline") and not shown(app, "tracebacks")
        await pilot.press("1")
        assert shown(app, "rates")
        await pilot.press("slash")  # a key about the tracebacks brings their page
        assert shown(app, "tracebacks")
        assert isinstance(app.focused, Input)


async def test_wide_screens_show_every_panel(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        assert app.has_class("-wide")
        for panel in ("rates", "tracebacks", "timeline", "injection"):
            assert shown(app, panel), panel
        assert not shown(app, "pages")


async def test_a_mark_goes_into_the_timeline_and_the_recording(tmp_path: Path) -> None:
    app = build(tmp_path, record=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("m")
        assert isinstance(app.screen, MarkScreen)
        await pilot.press(*"db failover", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, MarkScreen)
        timeline = app.query_one(TimelinePanel)
        newest = timeline.incident.timeline.newest_first()[0]
        assert (newest.kind, newest.data["note"]) == (EventKind.MARK, "db failover")
        assert "mark: db failover" in str(app.query_one("#timeline-events", Static).render())
        assert any(s.kind == "mark" for s in app.query_one(RatesPanel).spans)
        recorder = timeline.incident.recorder
        assert recorder is not None and recorder.sync()
        assert "mark: db failover" in [e.text for e in load_session(recorder.path).events]
        await pilot.press("m")
        await pilot.press("escape")  # cancelled: nothing added
        assert timeline.incident.timeline.newest_first()[0] is newest


async def test_r_writes_the_post_mortem_of_this_run(tmp_path: Path) -> None:
    app = build(tmp_path, record=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: list(tmp_path.glob("postmortem-*.md")), 10, "the report")
        [report] = tmp_path.glob("postmortem-*.md")
        text = report.read_text()
        assert text.startswith("# Rapport d’incident et post‑mortem")  # noqa: RUF001
        assert "Première occurrence de `ZeroDivisionError`" in text
        assert "KeyError" in text


async def test_s_saves_a_screenshot(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("s")
        [svg] = tmp_path.glob("errwatch-*.svg")
        assert svg.read_text().startswith("<svg") and "Rates" in svg.read_text()


async def test_an_alert_shows_in_the_banner_and_rings_the_bell(tmp_path: Path) -> None:
    # Recorded time does not move, so the rule fires at once ("for" of 0).
    rule = AlertConfig("5xx ratio above 5%", "error_ratio", threshold=0.05)
    app = build(tmp_path, snapshot=scenes.STATES["injecting"], alerts=(rule,))
    rings = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.query_one(AlertBanner)
        await wait_for(pilot, lambda: banner.display, 5, "the banner")
        text = str(banner.render())
        # Injected errors only: the ratio alert is a test alert, never an application one.
        assert "TEST ALERT  5xx ratio above 5% (0.549) since 08:00:00" in text
        assert rings  # the bell rang (the rule's default)
        assert any(s.kind == "alert" for s in app.query_one(RatesPanel).spans)


async def test_an_injection_window_reaches_the_timeline_and_the_chart(tmp_path: Path) -> None:
    app = build(tmp_path, target=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        panel = app.query_one(InjectionPanel)
        incident = app.query_one(TimelinePanel).incident
        await pilot.press("f")

        def kinds() -> list[EventKind]:
            return [e.kind for e in incident.timeline.newest_first()]

        # The panel's state and the timeline's event travel separately (a message up).
        await wait_for(
            pilot,
            lambda: panel.stats.running and EventKind.INJECTION_STARTED in kinds(),
            2,
            "injection to start, on the panel and in the timeline",
        )
        assert EventKind.INJECTION_STOPPED not in kinds()
        assert [s.end for s in app.query_one(RatesPanel).spans if s.kind == "injection"] == [None]
        await pilot.pause(0.3)
        await pilot.press("f")
        await wait_for(pilot, lambda: not panel.stats.running, 3, "injection to stop")
        [stopped] = [
            e for e in incident.timeline.newest_first() if e.kind is EventKind.INJECTION_STOPPED
        ]
        assert stopped.data["reason"] == "user" and stopped.data["sent"] > 0
        [window] = [s for s in app.query_one(RatesPanel).spans if s.kind == "injection"]
        assert window.end is not None

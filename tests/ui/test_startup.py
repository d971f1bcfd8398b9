"""The dashboard as the command line starts it: its frame first, then its sources and panels."""

from __future__ import annotations

import sys
from pathlib import Path

from errwatch.config import Config, InjectionConfig, LogConfig, RecordingConfig, TargetConfig
from errwatch.core.incident.recording import load_session
from errwatch.demo.stack import DemoApi
from errwatch.errors import UsageError
from errwatch.sources import Sources, build_sources
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.header import StatusBar
from errwatch.ui.injection import InjectionPanel
from errwatch.ui.rates import RatesPanel
from errwatch.ui.timeline import AlertBanner, TimelinePanel
from errwatch.ui.tracebacks import TracebackPanel
from tests.conftest import api_counter
from tests.ui.helpers import wait_for
from tests.ui.tmuxing import new_session, tmux, wait_exited

PANELS = (AlertBanner, RatesPanel, TracebackPanel, TimelinePanel, InjectionPanel)


def config_for(api: DemoApi, tmp_path: Path) -> Config:
    return Config(
        target=TargetConfig(url=api.url),
        logs=(LogConfig(path=str(api.log_file)),),
        injection=InjectionConfig(rate=20.0, duration=60.0),
        recording=RecordingConfig(dir=str(tmp_path / "sessions")),
    )


async def test_the_frame_is_drawn_before_the_sources_are_built_then_every_panel_works(
    demo_api: DemoApi, tmp_path: Path
) -> None:
    config = config_for(demo_api, tmp_path)
    at_build: list[tuple[bool, list[str]]] = []

    def build() -> Sources:
        # What the app had when it came to build: a header laid out on screen, no panel.
        header = app.query_one(StatusBar)
        at_build.append((header.region.area > 0, [type(w).__name__ for w in app.query("*")]))
        # Keys that act on a panel, come before there is one, do nothing (and do not crash).
        app.action_toggle_injection()
        app.action_injection_rate(1)
        app.action_cycle_chart()
        app.action_order_tracebacks()
        app.action_filter_tracebacks()
        app.action_mark()
        app.action_report()
        return build_sources(config, direct_scrape=True)

    app = ErrwatchApp.starting(config, build, output_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.panels is not None, 10, "the panels")
        [(laid_out, widgets)] = at_build
        assert laid_out
        assert not {panel.__name__ for panel in PANELS} & set(widgets)
        for panel in PANELS:
            assert len(app.query(panel)) == 1
        # In the same places as a dashboard built at once (the layout's CSS relies on it).
        assert [w.id for w in app.screen.children] == [
            "status", "alerts", "pages", "main", "injection", None,
        ]  # fmt: skip
        assert [w.id for w in app.query_one("#left").children] == ["rates", "tracebacks"]
        # The early keys did nothing: no injection, no mark dialog, no report.
        assert not app.injector.running and app.injector.rate == 20.0
        assert app.screen is app.screen_stack[0]
        assert not list(tmp_path.glob("postmortem-*"))

        injection = app.query_one(InjectionPanel)
        await pilot.press("f")
        await wait_for(pilot, lambda: api_counter(demo_api.url, "/error", "500") >= 3, 10, "hits")
        await pilot.pause(0.3)
        await pilot.press("f")
        await wait_for(pilot, lambda: not injection.injector.running, 10, "injection to stop")
        tracebacks = app.query_one(TracebackPanel)
        await wait_for(
            pilot,
            lambda: tracebacks.update is not None and tracebacks.update.events >= 3,
            10,
            "the tracebacks of the injected errors",
        )
    assert app.failure is None
    assert app.sources is not None
    app.sources.incident.close()
    [recording] = (tmp_path / "sessions").glob("session-*.sqlite")
    assert load_session(recording).meta["target"] == demo_api.url


async def test_bad_input_found_while_building_ends_the_app_with_exit_code_2(
    tmp_path: Path,
) -> None:
    def build() -> Sources:
        raise UsageError("cannot record into /nowhere: Permission denied")

    app = ErrwatchApp.starting(Config(), build)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: not app.is_running, 5, "the app to leave")
    assert app.return_code == 2
    assert str(app.failure) == "cannot record into /nowhere: Permission denied"
    assert app.sources is None and app.panels is None


def test_a_recording_directory_that_cannot_be_made_is_one_line_and_exit_2(
    tmp_path: Path, session: str
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[target]\nurl = "http://127.0.0.1:9"\n[recording]\ndir = "{blocker / "sessions"}"\n'
    )
    errwatch = Path(sys.executable).parent / "errwatch"
    new_session(session, f"{errwatch} --config {config}; echo EXITED=$?; sleep 60")
    wait_exited(session, timeout=20)
    screen = tmux("capture-pane", "-p", "-J", "-t", session)  # long lines joined
    assert "EXITED=2" in screen
    assert f"errwatch: cannot record into {blocker / 'sessions'}: " in screen
    assert "Traceback" not in screen and screen.count("errwatch:") == 1

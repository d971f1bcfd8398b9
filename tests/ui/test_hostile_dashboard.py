"""The dashboard fed the hostile corpus through every way text reaches it: log files (a
real Python traceback whose message, file and record hold it, and a log whose file name
does), Prometheus's words (a bad query's message, notes, label values, what discovery
found, a panel's error), an alert command's stderr, the `/` filter, a mark, the
injection's stop reason. Nothing may crash it, act on the terminal or parse as markup."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from textual.widgets._toast import Toast

from errwatch.config import AlertConfig, LogConfig, PanelConfig
from errwatch.core.incident.timeline import EventKind
from errwatch.core.injection.faults import ProxyStats
from errwatch.core.injection.injector import Injector
from errwatch.core.logs.logwatch import TracebackMonitor
from errwatch.core.metrics.panels import PanelReading, PanelSeries, PanelState
from errwatch.core.metrics.rates import InstanceRates, MetricsSnapshot, RateSeries, SourceState
from errwatch.core.textsafe import for_terminal
from errwatch.sources import build_incident
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.faultlinks import describe_proxy
from errwatch.ui.tracebacks import TracebackPanel, TracebackScreen
from tests.hostile import corpus
from tests.hostile.logs import NAMED, hostile_logs
from tests.ui import scenes
from tests.ui.helpers import wait_for
from tests.ui.recorded import RecordedSource

ONE_LINE = corpus.ONE_LINE
SHOWN = ("[@click=app.quit]quit[/]", "[bold red]not bold[/bold red]", "\\x1b]2;PWNED")
"""Markup and escapes that must be on screen as text, not acted on."""


def hostile_snapshots() -> list[MetricsSnapshot]:
    """An engine whose every word and label is hostile: up first, then a bad query."""
    up = scenes.live()
    hostile_series = RateSeries(f"5{corpus.RICH_CLOSE}", up.series[0].points)
    up = replace(
        up,
        series=(*up.series, hostile_series),
        notes=(f"left out: {ONE_LINE}",),
        found=f"found {ONE_LINE}",
        detail=ONE_LINE,
        instances=(
            InstanceRates(f"a{corpus.OSC_TITLE}{corpus.RICH_CLICK}", up.series),
            InstanceRates(f"b{corpus.CSI_CLEAR}", up.series),
        ),
        panels=(
            PanelReading(
                "p95",
                "s",
                PanelState.UP,
                (
                    PanelSeries(f'{{le="{ONE_LINE}"}}', ((scenes.AT, 0.1),)),
                    PanelSeries("{}", ((scenes.AT, 0.2),)),
                ),
            ),
            PanelReading("errors", "", PanelState.BAD_QUERY, detail=ONE_LINE),
        ),
    )
    bad = replace(up, state=SourceState.BAD_QUERY, detail=f"1:2: parse error: {corpus.MESSAGE}")
    return [up, bad]


def build(tmp_path: Path) -> ErrwatchApp:
    log, named = hostile_logs(tmp_path)
    stderr = f"import sys; sys.stderr.write({ONE_LINE!r}); sys.exit(3)"
    base = scenes.config()
    config = replace(
        base,
        logs=(LogConfig(path=str(log)), LogConfig(path=str(named))),
        panels=(
            PanelConfig(expr="x", title=f"p95 {corpus.RICH_CLOSE}"),
            PanelConfig(expr="y", title="errors"),
        ),
        alerts=(
            AlertConfig(
                "new traceback group",
                "new_group",
                hold=60.0,
                command=(sys.executable, "-c", stderr),
            ),
        ),
    )
    return ErrwatchApp(
        config,
        metrics=RecordedSource(hostile_snapshots()),
        tracebacks=TracebackMonitor(config.logs, injection_route=config.injection.route),
        injector=Injector(config.injection, config.target.url),
        incident=build_incident(config, mode="prometheus"),
        notice=f"notice {ONE_LINE}",
        output_dir=tmp_path,
    )


def on_screen(app: ErrwatchApp) -> str:
    """Every character the screen (notifications included) sends to the terminal, as
    text: Textual's own cursor and style sequences aside."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip if not seg.control) for strip in strips)


def assert_inert(app: ErrwatchApp, where: str) -> str:
    """Nothing on screen acts on the terminal, and the app has not stopped."""
    text = on_screen(app)
    assert corpus.raw_controls(text, allow="\n") == [], where
    assert app.is_running and not app.return_code, f"the dashboard stopped ({where})"
    return text


def toasts(app: ErrwatchApp) -> list[str]:
    """The text of each notification on screen."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def groups(app: ErrwatchApp) -> int:
    update = app.query_one(TracebackPanel).update
    return len(update.groups) if update is not None else 0


async def ready(pilot: Pilot[None], app: ErrwatchApp) -> None:
    source = app._sources().metrics
    assert isinstance(source, RecordedSource)
    await wait_for(pilot, lambda: groups(app) == 2, 10, "both hostile groups")
    await wait_for(pilot, lambda: source.polls >= 2, 10, "the bad query after the good poll")
    await pilot.pause()


async def test_the_panels_show_hostile_text_as_text(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(200, 60), notifications=True, tooltips=True) as pilot:
        await ready(pilot, app)
        text = assert_inert(app, "the panels")
        # The markup is on screen as written (not bold, not a link), escapes as escapes.
        assert "parse error: \\x1b]2;PWNED" in text  # the rates panel's message
        assert "[@click=app.quit]quit[/]" in text and "[bold red]not bold[/bold red]" in text
        assert "5[/]" in text  # a status label as the engine spelled it
        assert "f[/]" in text  # the Where cell: a function named so crashed it
        assert "notice \\x1b]2;PWNED" in text  # the header's second line
        assert '{le="\\x1b]2;PWNED' in text and "p95 [/]" in text  # a panel: labels, title
        message = str(app.query_one("#rate-message").render())
        assert "left out: \\x1b]2;PWNED" in message  # the notes, under the message
        table = app.query_one(DataTable)
        places = [str(table.get_row_at(i)[6]) for i in range(table.row_count)]
        assert any(for_terminal(NAMED) in place for place in places), places


async def test_the_detail_of_each_hostile_group(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(200, 60), notifications=True, tooltips=True) as pilot:
        await ready(pilot, app)
        table = app.query_one(DataTable)
        for row in range(table.row_count):
            table.focus()
            table.move_cursor(row=row)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, TracebackScreen)
            text = assert_inert(app, f"the detail of row {row}")
            assert "[/]" in text  # the file, the function
            for shown in SHOWN:
                assert shown in text, (row, shown)
            await pilot.press("escape")
            await pilot.pause()


async def test_the_filter_takes_any_text(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(200, 60), notifications=True, tooltips=True) as pilot:
        await ready(pilot, app)
        await pilot.press("slash", "left_square_bracket", "slash", "right_square_bracket")
        panel = app.query_one(TracebackPanel)
        assert panel.filter_text == "[/]"
        text = assert_inert(app, "typing [/] in the filter")
        assert "filter: [/]" in text
        assert app.query_one(DataTable).row_count == 2  # both hold [/]: a file, a function
        await pilot.press("escape", "slash")
        # A log file's name pasted from elsewhere, escape sequences and all: kept as the
        # dashboard shows it, and it finds the group that occurred in that file.
        app.query_one("#group-filter", Input).post_message(events.Paste(NAMED))
        await pilot.pause()
        assert panel.filter_text == for_terminal(NAMED)
        text = assert_inert(app, "a pasted filter")
        assert f"filter: {for_terminal(NAMED)}" in text
        assert app.query_one(DataTable).row_count == 1
        await pilot.press("escape")
        assert panel.filter_text == ""


async def test_a_mark_an_alert_command_and_a_stop_reason(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(200, 60), notifications=True, tooltips=True) as pilot:
        await ready(pilot, app)
        # The alert fired on the new groups; its command failed, saying the corpus on stderr.
        await wait_for(
            pilot,
            lambda: any("exited with 3" in toast for toast in toasts(app)),
            15,
            "the alert command's notification",
        )
        assert_inert(app, "the alert command's notification")
        [note, *_] = [toast for toast in toasts(app) if "exited with 3" in toast]
        assert corpus.raw_controls(note, allow="\n") == []
        assert "[@click=app.quit]quit[/]" in note and "\\u202e" in note

        await pilot.press("m")
        note = corpus.OSC_TITLE + corpus.RICH_CLICK + corpus.BIDI  # within a mark's length
        app.screen.query_one("#mark-input", Input).post_message(events.Paste(note))
        await pilot.pause()
        await pilot.press("enter")
        incident = app.incident
        await wait_for(
            pilot,
            lambda: any(e.kind is EventKind.MARK for e in incident.timeline.newest_first()),
            5,
            "the mark",
        )
        assert_inert(app, "the timeline with a mark")
        events_shown = str(app.query_one("#timeline-events").render())
        assert f"mark: {for_terminal(note)}" in events_shown.replace("\n", "")

        panels = app.panels
        assert panels is not None
        stopped = replace(panels.injection.stats, stopped_by="error", detail=corpus.MESSAGE)
        panels.injection.stats = stopped
        await pilot.pause()
        text = assert_inert(app, "the injection panel's stop reason")
        assert "stopped by error: \\x1b]2;PWNED" in text

        app.notify(corpus.MESSAGE, title=corpus.RICH_CLOSE)  # any notification, any text
        await pilot.pause()
        assert_inert(app, "a notification of the whole corpus")


def test_a_proxy_failure_is_plain_text() -> None:
    """The injection panel's proxy lines: a failure's detail, names and addresses."""
    stats = ProxyStats(
        name=corpus.RICH_CLICK,
        listen=corpus.OSC_TITLE,
        upstream=corpus.MESSAGE,
        fault=corpus.RICH_STYLE,
        state="failed",
        detail=f"cannot listen: {corpus.MESSAGE}",
    )
    text = describe_proxy(stats, None, 0.0, "t: next target")
    assert isinstance(text, Text)
    assert corpus.raw_controls(text.plain, allow="\n") == []
    assert corpus.RICH_CLICK in text.plain and corpus.RICH_STYLE in text.plain
    assert for_terminal(f"cannot listen: {corpus.MESSAGE}", one_line=True) in text.plain

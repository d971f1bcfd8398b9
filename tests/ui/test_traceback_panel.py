"""The traceback panel on real log files: groups, order, filter, new groups, backfill, detail."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.widgets import DataTable, Input, ProgressBar, Static

from errwatch.config import Config, LogConfig
from errwatch.core.injection.injector import Injector
from errwatch.core.logs.logwatch import TracebackMonitor, TracebackUpdate
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.tracebacks import NEW_MARK, TracebackPanel, TracebackScreen
from tests.core.logs import corpus
from tests.realpython import logged
from tests.ui.helpers import wait_for
from tests.ui.recorded import RecordedSource

BODY = corpus.APP_ERRORS


def build(log: Path, monitor: TracebackMonitor | None = None) -> ErrwatchApp:
    config = Config(logs=(LogConfig(path=str(log)),))
    return ErrwatchApp(
        config,
        metrics=RecordedSource([MetricsSnapshot(SourceState.NO_DATA, 0.0)]),
        tracebacks=monitor or TracebackMonitor(config.logs, injection_route="/error"),
        injector=Injector(config.injection, config.target.url),
    )


def rows(app: ErrwatchApp) -> list[tuple[str, str, str]]:
    """(count, exception, origin) of every row, top to bottom."""
    table = app.query_one(DataTable)
    return [
        (str(row[0]), str(row[1]), str(row[5]))
        for row in (table.get_row_at(i) for i in range(table.row_count))
    ]


def events(app: ErrwatchApp) -> int:
    update = app.query_one(TracebackPanel).update
    return update.events if update is not None else 0


async def test_groups_with_counts_and_the_whole_traceback_on_enter(tmp_path: Path) -> None:
    logged(tmp_path, BODY)
    app = build(tmp_path / "app.log")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: events(app) == 4, 5, "4 tracebacks")
        assert sorted(rows(app)) == [("1", "KeyError", "app"), ("3", "ZeroDivisionError", "inj")]
        table = app.query_one(DataTable)
        table.focus()
        table.move_cursor(row=[r[1] for r in rows(app)].index("ZeroDivisionError"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TracebackScreen)
        screen = app.screen

        def text(widget_id: str) -> str:
            return str(screen.query_one(widget_id, Static).render())

        assert "Traceback (most recent call last):" in text("#traceback-text")
        assert "return a / b" in text("#traceback-text")
        assert text("#traceback-text").rstrip().endswith("ZeroDivisionError: division by zero")
        head = text("#traceback-head")
        assert "3 times" in head and "route GET /error" in head
        assert "3 injected by errwatch · 0 from the application" in head
        assert "1. ZeroDivisionError: division by zero" in text("#traceback-chain")
        frames = screen.query_one("#traceback-frames", Static).render()
        own = [span for span in frames.spans if "bold" in str(span.style)]  # type: ignore[union-attr]
        assert own, "in-app frames are highlighted"
        assert "▶ " + str(tmp_path / "app.py") in text("#traceback-frames")
        why = text("#traceback-why")
        assert "type: ZeroDivisionError" in why
        assert "frame: app.py | divide | return a / b" in why
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TracebackScreen)


async def test_the_detail_shows_the_chain_and_the_members_of_a_group(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(corpus.exception_group(tmp_path))
    app = build(log)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: events(app) == 1, 5, "the traceback")
        app.query_one(DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        chain = str(app.screen.query_one("#traceback-chain", Static).render())
        assert "1. ExceptionGroup: outer (2 sub-exceptions)" in chain
        assert "was the direct cause of" in chain
        assert "├ ValueError: bad value" in chain
        assert "├ TypeError: bad type" in chain  # a member of the nested group
        assert "2. RuntimeError: wrapped" in chain


async def test_o_orders_by_count_or_by_last_seen(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    head = "2025-07-29 14:35:{:02d},000 ERROR [api] failed\n"
    text = corpus.plain(tmp_path)
    other = corpus.qualified(tmp_path)
    log.write_text("".join(head.format(n) + text for n in range(3)) + head.format(30) + other)
    app = build(log)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: events(app) == 4, 5, "4 tracebacks")
        panel = app.query_one(TracebackPanel)
        assert [r[1] for r in rows(app)] == ["HTTPError", "ZeroDivisionError"]  # last seen
        await pilot.press("o")
        assert panel.order == "count"
        assert [r[:2] for r in rows(app)] == [("3", "ZeroDivisionError"), ("1", "HTTPError")]
        assert "by count" in str(panel.border_title)
        await pilot.press("o")
        assert [r[1] for r in rows(app)] == ["HTTPError", "ZeroDivisionError"]


async def test_slash_filters_and_escape_clears(tmp_path: Path) -> None:
    logged(tmp_path, BODY)
    app = build(tmp_path / "app.log")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: events(app) == 4, 5, "4 tracebacks")
        panel = app.query_one(TracebackPanel)
        filter_input = app.query_one("#group-filter", Input)
        assert not filter_input.display
        await pilot.press("slash")
        assert filter_input.display and filter_input.has_focus
        await pilot.press(*"foq")  # app keys, typed into the filter: no injection, no quit
        assert filter_input.value == "foq"
        assert (panel.order, app.injector.running, app.is_running) == ("last", False, True)
        await pilot.press("backspace", "backspace", "backspace", *"keyerror")
        await pilot.pause()
        assert [r[1] for r in rows(app)] == ["KeyError"]
        assert "1 of 2 groups" in str(app.query_one("#log-state", Static).render())
        assert panel.border_subtitle == "filter: keyerror"
        await pilot.press("escape")
        await pilot.pause()
        assert panel.filter_text == "" and not filter_input.display
        assert sorted(r[1] for r in rows(app)) == ["KeyError", "ZeroDivisionError"]
        assert app.query_one(DataTable).has_focus


async def test_a_new_group_is_marked_and_backfilled_ones_are_not(tmp_path: Path) -> None:
    logged(tmp_path, BODY)
    log = tmp_path / "app.log"
    app = build(log)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: events(app) == 4, 5, "the backfill")
        assert not any(NEW_MARK in r[1] for r in rows(app))
        with log.open("a") as writer:
            writer.write(corpus.qualified(tmp_path))
        await wait_for(pilot, lambda: events(app) == 5, 5, "the new traceback")
        marked = [r[1] for r in rows(app) if r[1].startswith(NEW_MARK)]
        assert marked == [NEW_MARK + "HTTPError"]


class HeldMonitor(TracebackMonitor):
    """Real following, held after its first backfill step until the test has looked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()

    def step(self, *, settle: float | None = None) -> TracebackUpdate | None:
        if self.snapshot().progress is not None:  # mid-backfill: its update is out
            self.release.wait(10)
        return super().step(settle=settle)


async def test_a_big_backfill_shows_a_progress_bar_and_the_ui_answers(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    filler = "2025-07-29 14:35:00,000 INFO [api] GET /api/users 200\n" * 4000
    record = "2025-07-29 14:35:01,000 ERROR [api] failed\n" + corpus.plain(tmp_path)
    log.write_text((filler + record) * 40)  # about 9 MB
    monitor = HeldMonitor([LogConfig(path=str(log))], budget=1024 * 1024)
    seen: list[TracebackUpdate] = []

    def record_updates(message: Message) -> None:
        # The hook sees a message at every node it bubbles through: keep it once.
        if isinstance(message, TracebackPanel.Updated) and all(
            u is not message.update for u in seen
        ):
            seen.append(message.update)

    app = build(log, monitor)
    async with app.run_test(size=(80, 24), message_hook=record_updates) as pilot:
        panel = app.query_one(TracebackPanel)
        await wait_for(pilot, lambda: panel.has_class("-backfilling"), 10, "the progress bar")
        bar = app.query_one(ProgressBar)
        assert bar.display and 0 < (bar.progress or 0) < (bar.total or 0)
        assert "backfill 1/8 MB" in str(app.query_one("#log-state", Static).render())
        await pilot.press("o")  # keys work while the backfill runs
        assert panel.order == "count"
        monitor.release.set()
        await wait_for(pilot, lambda: events(app) == 40, 30, "the whole backfill")
        await pilot.pause()
        assert not panel.has_class("-backfilling")
        assert not bar.display
    done = [u.progress.done for u in seen if u.progress is not None]
    assert len(done) >= 8 and done == sorted(done)


class BrokenMonitor(TracebackMonitor):
    """A follower that fails (a failure a real file will not produce on demand)."""

    def step(self, *, settle: float | None = None) -> TracebackUpdate | None:
        raise OSError("disk on fire")


async def test_a_failing_follower_is_a_visible_state_not_a_crash(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    app = build(log, BrokenMonitor([LogConfig(path=str(log))]))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(TracebackPanel)
        await wait_for(pilot, lambda: panel.has_class("-failing"), 5, "the failure state")
        assert "disk on fire" in str(app.query_one("#log-state", Static).render())
        await pilot.press("o")  # the app is still alive
        assert panel.order == "count"


async def test_a_missing_log_says_waiting_and_is_read_when_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    app = build(log)
    async with app.run_test(size=(80, 24)) as pilot:
        state = app.query_one("#log-state", Static)
        await wait_for(pilot, lambda: "later.log: waiting" in str(state.render()), 5, "waiting")
        logged(tmp_path, BODY)
        (tmp_path / "app.log").rename(log)
        await wait_for(pilot, lambda: events(app) == 4, 5, "4 tracebacks")
        assert "later.log: following" in str(state.render())


async def test_groups_pushed_out_by_the_cap_are_counted_on_screen(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "".join(
            "Traceback (most recent call last):\n"
            f'  File "/srv/app.py", line 10, in handler_{n}\n'
            "    ratio = 1 / 0\n"
            "ZeroDivisionError: division by zero\n"
            for n in range(5)
        )
    )
    monitor = TracebackMonitor([LogConfig(path=str(log))], injection_route="/error")
    monitor.store.max_groups = 2
    app = build(log, monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: events(app) == 5, 5, "five tracebacks")
        state = str(app.query_one("#log-state", Static).render())
        assert "5 tracebacks, 2 groups, 3 old groups dropped" in state
        assert len(rows(app)) == 2


def compose_log(tmp_path: Path) -> Path:
    """Two containers' output, as `docker compose logs` prints it: the same error on both,
    one more error on the worker only."""
    plain = corpus.plain(tmp_path / "p") if (tmp_path / "p").mkdir() is None else ""
    key = corpus.chained(tmp_path / "k") if (tmp_path / "k").mkdir() is None else ""
    lines = [f"web-1     | {line}" for line in plain.splitlines()]
    lines += [f"worker-1  | {line}" for line in plain.splitlines() + key.splitlines()]
    log = tmp_path / "compose.log"
    log.write_text("\n".join(lines) + "\n")
    return log


async def test_where_a_group_occurred_is_shown_and_filtered(tmp_path: Path) -> None:
    app = build(compose_log(tmp_path))
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: events(app) == 3, 5, "3 tracebacks")
        table = app.query_one(DataTable)
        on = {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[6]) for i in range(2)}
        assert on["KeyError"] == "worker-1"
        assert on["ZeroDivisionError"] in ("web-1 +1", "worker-1 +1")  # once on each
        await pilot.press("slash", *"web-1")
        await pilot.pause()
        assert [r[1] for r in rows(app)] == ["ZeroDivisionError"]
        await pilot.press("escape")
        table.focus()
        table.move_cursor(row=[r[1] for r in rows(app)].index("ZeroDivisionError"))
        await pilot.press("enter")
        await pilot.pause()
        head = str(app.screen.query_one("#traceback-head", Static).render())
        assert "web-1 (1)" in head and "worker-1 (1)" in head
        assert "(service web-1)" in head or "(service worker-1)" in head


async def test_a_command_source_shows_its_state(tmp_path: Path) -> None:
    config = Config(
        logs=(LogConfig(command=("sh", "-c", "echo 'gone away' >&2; exit 4"), name="job"),)
    )
    monitor = TracebackMonitor(config.logs)
    app = ErrwatchApp(
        config,
        metrics=RecordedSource([MetricsSnapshot(SourceState.NO_DATA, 0.0)]),
        tracebacks=monitor,
        injector=Injector(config.injection, config.target.url),
    )
    async with app.run_test(size=(140, 30)) as pilot:
        state = app.query_one("#log-state", Static)
        await wait_for(
            pilot,
            lambda: "job: restarting" in str(state.render()),
            10,
            "the command's state",
        )
        assert "exited with code 4: gone away" in str(state.render())
    assert not any(child.supervisor.pid for child in monitor.tail.children)  # stopped on quit

"""The dashboard app: composes the panels, routes their messages, owns the key bindings.

Layout: wide terminals (``-wide``) show every panel at once; smaller ones show one page
at a time behind tabs (1 rates, 2 tracebacks, 3 timeline), with the alert banner and the
injection panel always in view.

From the command line the dashboard starts in two steps (:meth:`ErrwatchApp.starting`):
its first frame is the frame itself (header, tabs, footer); the sources, the panels and
the core they import come right after it. So the panels' modules and the core are not
imported here at module level.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

from errwatch.config import Config
from errwatch.core.injection.guard import split_of
from errwatch.core.textsafe import for_terminal
from errwatch.errors import ErrwatchError
from errwatch.ui.header import StatusBar
from errwatch.ui.screens import HelpScreen, MarkScreen

if TYPE_CHECKING:
    from errwatch.core.incident.incident import Incident
    from errwatch.core.injection.injector import Injector
    from errwatch.core.injection.links import Listener
    from errwatch.core.logs.logwatch import TracebackMonitor
    from errwatch.core.metrics.polling import MetricsSource
    from errwatch.sources import Sources
    from errwatch.ui.dashboard import DashboardPanels
    from errwatch.ui.injection import InjectionPanel
    from errwatch.ui.rates import RatesPanel
    from errwatch.ui.timeline import TimelinePanel
    from errwatch.ui.tracebacks import TracebackPanel

HANGUP_GRACE = 2.0
"""Seconds a run whose terminal hung up has to shut down before it is ended."""
EXIT_GRACE = 10.0
"""Seconds any other exit has (injection's last answers included) before it is forced."""
WIDE = (110, 32)
"""Columns and rows from which every panel fits on one screen."""
PAGES = ("rates", "tracebacks", "timeline")
CONTEXT_KEYS = (
    ("enter", "open the selected traceback group (whole traceback, chain, why grouped)"),
    ("escape", "close a screen; clear the traceback filter"),
    ("tab / shift+tab", "move the focus between the buttons, tables and tabs"),
    ("ctrl+p", "command palette: every action, and the themes"),
)

KEYS: tuple[Binding, ...] = (
    Binding("q", "quit", "Quit"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    Binding("f", "toggle_injection", "Inject"),
    Binding("t", "fault_target", "Fault target"),
    Binding("plus", "injection_rate(1)", "Rate+", key_display="+"),
    Binding("minus", "injection_rate(-1)", "Rate-", key_display="-"),
    Binding("m", "mark", "Mark"),
    Binding("r", "report", "Report"),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("1", "page('rates')", "Rates page", show=False),
    Binding("2", "page('tracebacks')", "Tracebacks page", show=False),
    Binding("3", "page('timeline')", "Timeline page", show=False),
    Binding("o", "order_tracebacks", "Order tracebacks", show=False),
    Binding("slash", "filter_tracebacks", "Filter tracebacks", show=False, key_display="/"),
    Binding("c", "cycle_chart", "Chart view", show=False),
    Binding("s", "screenshot", "Screenshot (SVG)", show=False),
)


class ErrwatchApp(App[None]):
    """Rates from Prometheus, tracebacks from the logs, fault injection, the incident timeline."""

    CSS_PATH = "errwatch.tcss"
    TITLE = "errwatch"
    BINDINGS: ClassVar[list[BindingType]] = list(KEYS)

    sources: Sources | None
    """What the panels read from and act on; None until built (see :meth:`starting`)."""
    panels: DashboardPanels | None
    """None until the panels are composed or mounted."""
    failure: ErrwatchError | None
    """Bad input found while building the sources after the first frame (the app exits 2)."""

    def __init__(
        self,
        config: Config,
        *,
        metrics: MetricsSource,
        tracebacks: TracebackMonitor | None,
        injector: Injector,
        incident: Incident | None = None,
        notice: str = "",
        output_dir: Path | None = None,
        proxies: tuple[Listener, ...] = (),
    ) -> None:
        """The dashboard over sources already built: every panel is in its first frame."""
        from errwatch.core.incident.incident import Incident
        from errwatch.sources import Sources

        self._setup(config, notice, output_dir)
        incident = incident or Incident(
            config.alerts, injection_route=config.injection.route, method=config.injection.method
        )
        self.sources = Sources(
            metrics=metrics,
            tracebacks=tracebacks,
            injector=injector,
            incident=incident,
            proxies=proxies,
        )

    def _setup(self, config: Config, notice: str, output_dir: Path | None) -> None:
        super().__init__()
        self.config = config
        self.notice = notice
        self.output_dir = output_dir or Path.cwd()
        self.page = "rates"
        self.sources = None
        self.panels = None
        self.failure = None
        self._build: Callable[[], Sources] | None = None
        self._leaving = False
        self._watchdog: threading.Timer | None = None

    @classmethod
    def over(
        cls, config: Config, sources: Sources, *, notice: str = "", output_dir: Path | None = None
    ) -> ErrwatchApp:
        """The dashboard over the sources that :func:`errwatch.sources.build_sources` made."""
        return cls(
            config,
            metrics=sources.metrics,
            tracebacks=sources.tracebacks,
            injector=sources.injector,
            incident=sources.incident,
            notice=notice,
            output_dir=output_dir,
            proxies=sources.proxies,
        )

    @classmethod
    def starting(
        cls,
        config: Config,
        build: Callable[[], Sources],
        *,
        notice: str = "",
        output_dir: Path | None = None,
    ) -> ErrwatchApp:
        """The dashboard that draws its frame first, then calls ``build`` and mounts its panels.

        What the first frame does not show (the sources, their clients and recording, the
        panels and the core they import) comes right after it, so the header is on screen
        at once. Bad input found by ``build`` ends the app with ``failure`` set.
        """
        app = cls.__new__(cls)
        app._setup(config, notice, output_dir)
        app._build = build
        return app

    @property
    def injector(self) -> Injector:
        """The fault injector."""
        return self._sources().injector

    @property
    def incident(self) -> Incident:
        """The run's timeline, alerts and recording."""
        return self._sources().incident

    @property
    def proxies(self) -> tuple[Listener, ...]:
        """The [[proxies]] running with the dashboard; none before the sources are built."""
        return () if self.sources is None else self.sources.proxies

    def _sources(self) -> Sources:
        if self.sources is None:
            raise RuntimeError("the dashboard's sources are not built yet")
        return self.sources

    def _panels_over(self, sources: Sources) -> DashboardPanels:
        from errwatch.ui.dashboard import DashboardPanels

        return DashboardPanels.over(self.config, sources)

    def compose(self) -> ComposeResult:
        # The layout classes are set before any widget is styled: set at mount, they
        # would restyle the whole screen once more before the first frame.
        self._layout(self.size.width, self.size.height, update=False)
        self._page_classes(self.page, update=False)
        bar = StatusBar(id="status")
        bar.target = self.config.target.url
        bar.refresh_interval = self.config.prometheus.refresh
        bar.notice = self.notice
        yield bar
        # Built already (tests, `over`): every panel in the first frame. Otherwise the
        # frame alone, and _start mounts the panels in the same places.
        panels = self.panels = None if self.sources is None else self._panels_over(self.sources)
        if panels is not None:
            yield panels.banner
        yield Tabs(
            Tab("1 Rates", id="page-rates"),
            Tab("2 Tracebacks", id="page-tracebacks"),
            Tab("3 Timeline", id="page-timeline"),
            id="pages",
        )
        with Horizontal(id="main"):
            with Vertical(id="left"):
                if panels is not None:
                    yield panels.rates
                    yield panels.tracebacks
            if panels is not None:
                yield panels.timeline
        if panels is not None:
            yield panels.injection
        yield Footer()

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            # Not available off the main thread (tests); the terminal case is what matters.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._on_signal, signum)
        if self.sources is None:
            # Once the first frame is drawn, and as a message of the app's own: the app
            # handles no other message (a key, a panel's news) until the panels are there.
            self.call_after_refresh(self.call_later, self._start)

    async def _start(self) -> None:
        """Right after the first frame: build the sources, mount the panels."""
        if self._build is None or self._leaving:
            return  # leaving already (a key or a signal came first): nothing to start
        try:
            sources = self.sources = self._build()
        except ErrwatchError as error:
            # Bad input the config could not show (the recording's directory): one line
            # from the command, exit 2, as before anything was drawn.
            self.failure = error
            self.exit(return_code=2)
            return
        panels = self._panels_over(sources)
        await self.mount(panels.banner, before="#pages")
        await self.mount(panels.injection, after="#main")
        await self.query_one("#main").mount(panels.timeline)
        await self.query_one("#left").mount(panels.tracebacks)
        # The rates panel last: its first poll and its chart (a slow import) start once
        # the other panels are in place.
        await self.query_one("#left").mount(panels.rates, before=panels.tracebacks)
        self.panels = panels

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int, *, update: bool = True) -> None:
        self.set_class(width >= WIDE[0] and height >= WIDE[1], "-wide", update=update)

    def _page_classes(self, page: str, *, update: bool = True) -> None:
        for name in PAGES:
            self.set_class(name == page, f"-page-{name}", update=update)

    def _show_page(self, page: str) -> None:
        self.page = page
        self._page_classes(page)
        tabs = self.query_one(Tabs)
        if tabs.active != f"page-{page}":
            tabs.active = f"page-{page}"

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        page = (event.tab.id or "").removeprefix("page-")
        if page in PAGES and page != self.page:
            self._show_page(page)

    # -- messages up, attributes down --------------------------------------------------

    # A message may arrive while the app closes and its panels are already gone:
    # routing then has nowhere to go, which is fine (NoMatches is suppressed).

    def on_rates_panel_updated(self, message: RatesPanel.Updated) -> None:
        snapshot = message.snapshot
        with contextlib.suppress(NoMatches):
            self.query_one(StatusBar).snapshot = snapshot
            if self.panels is None:
                return
            self.panels.timeline.metrics = snapshot
            split = split_of(snapshot)
            if split is not None:
                self.panels.injection.errors = split  # the guard reads it

    def on_traceback_panel_updated(self, message: TracebackPanel.Updated) -> None:
        if self.panels is not None:
            with contextlib.suppress(NoMatches):
                self.panels.timeline.tracebacks = message.update

    def on_injection_panel_changed(self, message: InjectionPanel.Changed) -> None:
        if self.panels is not None:
            with contextlib.suppress(NoMatches):
                self.panels.timeline.injection = message.stats

    def on_injection_panel_fault_changed(self, message: InjectionPanel.FaultChanged) -> None:
        if self.panels is not None:
            with contextlib.suppress(NoMatches):
                self.panels.timeline.fault = message.stats

    def on_timeline_panel_changed(self, message: TimelinePanel.Changed) -> None:
        if self.panels is not None:
            with contextlib.suppress(NoMatches):
                self.panels.banner.statuses = message.statuses
                self.panels.rates.spans = message.spans

    def on_timeline_panel_during_faults(self, message: TimelinePanel.DuringFaults) -> None:
        # The timeline's incident knows the fault windows; the traceback panel shows them.
        if self.panels is not None:
            with contextlib.suppress(NoMatches):
                self.panels.tracebacks.during_faults = message.counts

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.panels is not None:
            self.panels.injection.stop(name)  # at once: nothing new leaves from here on
        self.call_next(self._leave, name)

    async def _leave(self, reason: str) -> None:
        self._leaving = True
        self._arm_watchdog(reason)
        if self.panels is not None:
            with contextlib.suppress(NoMatches):
                await self.panels.injection.wind_down(reason)
                for stats in self.panels.injection.fault_stats():  # last windows: recorded now
                    self.panels.timeline.fault = stats
        self.exit()

    def _arm_watchdog(self, reason: str) -> None:
        """Make sure the process leaves even if shutting the terminal down hangs.

        When the terminal is gone (SIGHUP: an SSH link dropped, a tmux pane killed),
        Textual's output thread can die on its first failed write and leave its queue
        full, so restoring the terminal blocks forever. There is no terminal to restore:
        after a grace period the recording is closed and the process ends.
        """
        if self._watchdog is not None or self.is_headless:
            return  # headless (tests, run_test): nothing to hang on, nothing to force
        grace = HANGUP_GRACE if reason == "SIGHUP" else EXIT_GRACE

        def leave_now() -> None:
            if self.sources is not None:
                self.sources.incident.close()
            os._exit(0)

        self._watchdog = threading.Timer(grace, leave_now)
        self._watchdog.daemon = True
        self._watchdog.start()

    def disarm(self) -> None:
        """The app has left normally: no need to force anything."""
        if self._watchdog is not None:
            self._watchdog.cancel()

    # -- actions -----------------------------------------------------------------------

    # Keys about a panel do nothing in the instant before the panels are mounted.

    def action_page(self, page: str) -> None:
        """Show one page (when the screen is too small for all of them)."""
        self._show_page(page)

    def action_cycle_chart(self) -> None:
        """Chart by status class, by code, or the 5xx ratio against its thresholds."""
        if self.panels is not None:
            self.panels.rates.cycle_view()

    def action_toggle_injection(self) -> None:
        """Start or stop fault injection."""
        if self.panels is not None:
            self.panels.injection.toggle()

    def action_fault_target(self) -> None:
        """Choose what `f` starts: the test route, or the fault of one of the [[proxies]]."""
        if self.panels is not None:
            self.panels.injection.next_target()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`t` acts (and shows in the footer) only when there are proxies to choose from."""
        return bool(self.proxies) if action == "fault_target" else True

    def action_injection_rate(self, direction: int) -> None:
        """Step the injection rate up (1) or down (-1), capped by injection.max_rate."""
        if self.panels is not None:
            self.panels.injection.step_rate(direction)

    def action_order_tracebacks(self) -> None:
        """Sort the traceback groups by last seen or by count."""
        if self.panels is not None:
            self._bring("tracebacks")
            self.panels.tracebacks.toggle_order()

    def action_filter_tracebacks(self) -> None:
        """Type a filter for the traceback groups (Esc clears it)."""
        if self.panels is not None:
            self._bring("tracebacks")
            self.panels.tracebacks.open_filter()

    def _bring(self, page: str) -> None:
        """On a small screen, a key about a panel shows its page."""
        if not self.has_class("-wide"):
            self._show_page(page)

    def action_mark(self) -> None:
        """Add a short note to the timeline."""
        if self.panels is None:
            return
        timeline = self.panels.timeline

        def add(note: str | None) -> None:
            if note:
                timeline.mark(note)

        self.push_screen(MarkScreen(), add)

    def action_report(self) -> None:
        """Draft the post-mortem of this run (Markdown) in the current directory."""
        if self.panels is not None:
            self.panels.timeline.write_report(self.output_dir)

    def action_screenshot(self) -> None:  # type: ignore[override]
        """Save what the screen shows as an SVG in the current directory."""
        # The picture is of the dashboard, not of toasts: clear them, repaint, then save.
        self.clear_notifications()
        self.call_after_refresh(self._save_screenshot)

    def _save_screenshot(self) -> None:
        name = f"errwatch-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        path = self.save_screenshot(filename=name, path=str(self.output_dir))
        self.notify(path, title="Screenshot saved")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification of the dashboard (a widget's ``notify`` comes here too).

        They carry text from outside (an alert command's stderr, a server's answer, an
        error's message, a file name): shown as written, never markup, never an escape
        sequence. ``markup`` is accepted for Textual's signature and ignored.
        """
        super().notify(
            for_terminal(message),
            title=for_terminal(title, one_line=True),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_help(self) -> None:
        """Every key and what it does."""
        from errwatch.ui.traceback_detail import ORIGINS  # the panels are there by now

        keys = [(b.key_display or b.key, b.description) for b in KEYS if b.key != "ctrl+c"]
        self.push_screen(HelpScreen([*keys, *CONTEXT_KEYS], legend=ORIGINS))

    async def action_quit(self) -> None:
        """Stop injection first, let its last requests end, then leave."""
        await self._leave("quit")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette: Textual's own commands, then every dashboard action."""
        yield from super().get_system_commands(screen)
        for binding in KEYS:
            if binding.key == "ctrl+c":
                continue
            action = binding.action
            yield SystemCommand(
                binding.description,
                f"key {binding.key_display or binding.key}",
                lambda action=action: self.run_action(action),
            )

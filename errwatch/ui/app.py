"""The dashboard app: composes the panels, routes their messages, owns the key bindings."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer

from errwatch.config import Config
from errwatch.core.guard import split_of
from errwatch.core.injector import Injector
from errwatch.core.logwatch import TracebackMonitor
from errwatch.core.metrics import MetricsSource
from errwatch.ui.header import StatusBar
from errwatch.ui.injection import InjectionPanel
from errwatch.ui.rates import RatesPanel
from errwatch.ui.tracebacks import TracebackPanel


class ErrwatchApp(App[None]):
    """Rates from Prometheus, tracebacks from the logs, and a fault-injection switch."""

    CSS_PATH = "errwatch.tcss"
    TITLE = "errwatch"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("f", "toggle_injection", "Inject on/off"),
        Binding("plus", "injection_rate(1)", "Rate+", key_display="+"),
        Binding("minus", "injection_rate(-1)", "Rate-", key_display="-"),
        Binding("o", "order_tracebacks", "Order"),
        Binding("slash", "filter_tracebacks", "Filter"),
        Binding("c", "cycle_chart", "Chart view"),
    ]

    def __init__(
        self,
        config: Config,
        *,
        metrics: MetricsSource,
        tracebacks: TracebackMonitor | None,
        injector: Injector,
        notice: str = "",
    ) -> None:
        super().__init__()
        self.config = config
        self.metrics = metrics
        self.tracebacks = tracebacks
        self.injector = injector
        self.notice = notice

    def compose(self) -> ComposeResult:
        bar = StatusBar(id="status")
        bar.target = self.config.target.url
        bar.refresh_interval = self.config.prometheus.refresh
        bar.notice = self.notice
        yield bar
        with Vertical(id="main"):
            yield RatesPanel(
                self.metrics,
                refresh=self.config.prometheus.refresh,
                span=self.config.prometheus.range,
                thresholds=self.config.dashboard,
                panels=self.config.panels,
                id="rates",
            )
            yield TracebackPanel(self.tracebacks, id="tracebacks")
            yield InjectionPanel(self.injector, id="injection")
        yield Footer()

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            # Not available off the main thread (tests); the terminal case is what matters.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        self.query_one(InjectionPanel).stop(name)  # at once: nothing new leaves from here on
        self.call_next(self._leave, name)

    async def _leave(self, reason: str) -> None:
        await self.query_one(InjectionPanel).wind_down(reason)
        self.exit()

    def on_rates_panel_updated(self, message: RatesPanel.Updated) -> None:
        self.query_one(StatusBar).snapshot = message.snapshot
        split = split_of(message.snapshot)
        if split is not None:
            self.query_one(InjectionPanel).errors = split  # the guard reads it

    def action_cycle_chart(self) -> None:
        """Chart by status class, by code, or the 5xx ratio against its thresholds."""
        self.query_one(RatesPanel).cycle_view()

    def action_toggle_injection(self) -> None:
        """Start or stop fault injection."""
        self.query_one(InjectionPanel).toggle()

    def action_injection_rate(self, direction: int) -> None:
        """Step the injection rate up (1) or down (-1), capped by injection.max_rate."""
        self.query_one(InjectionPanel).step_rate(direction)

    def action_order_tracebacks(self) -> None:
        """Sort the traceback groups by last seen or by count."""
        self.query_one(TracebackPanel).toggle_order()

    def action_filter_tracebacks(self) -> None:
        """Type a filter for the traceback groups (Esc clears it)."""
        self.query_one(TracebackPanel).open_filter()

    async def action_quit(self) -> None:
        """Stop injection first, let its last requests end, then leave."""
        await self._leave("quit")

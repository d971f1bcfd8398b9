"""The injection panel: a Start/Stop button over the injector, and its live counters."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Static

from errwatch.core.injector import InjectionStats, Injector
from errwatch.errors import ErrwatchError

STATS_INTERVAL = 0.25


class InjectionPanel(Horizontal):
    """Starts and stops fault injection; shows sent / 5xx / failed while it runs."""

    stats: reactive[InjectionStats] = reactive(InjectionStats, always_update=True)

    class Changed(Message):
        """Injection started or stopped."""

        def __init__(self, stats: InjectionStats) -> None:
            super().__init__()
            self.stats = stats

    def __init__(self, injector: Injector, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.injector = injector

    def compose(self) -> ComposeResult:
        yield Button("Start injection", id="inject", variant="error")
        yield Static("", id="inject-stats")

    def on_mount(self) -> None:
        self.border_title = "Fault injection"
        self.stats = self.injector.stats()
        self.set_interval(STATS_INTERVAL, self._sample)

    def _sample(self) -> None:
        if self.injector.running or self.stats.running:
            self.stats = self.injector.stats()

    def toggle(self) -> None:
        """Start when stopped, stop when running."""
        if self.injector.running:
            self.injector.stop("user")
            self.stats = self.injector.stats()
        else:
            self.inject()

    def stop(self, reason: str) -> None:
        """Stop if running (quit, signal)."""
        self.injector.stop(reason)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "inject":
            event.stop()
            self.toggle()

    @work(exclusive=True, exit_on_error=False, group="inject")
    async def inject(self) -> None:
        """Run the injector until it stops; failures become a notification."""
        try:
            await self.injector.run()
        except ErrwatchError as error:
            self.notify(str(error), title="Injection refused", severity="error", timeout=8)
        finally:
            self.stats = self.injector.stats()

    def watch_stats(self, old: InjectionStats, stats: InjectionStats) -> None:
        button = self.query_one("#inject", Button)
        button.label = "Stop injection" if stats.running else "Start injection"
        self.set_class(stats.running, "-active")
        cfg = self.injector.cfg
        text = Text.assemble(
            (f"{cfg.method} {cfg.route} @ {self.injector.rate:g}/s", "bold"),
            "  sent ",
            (str(stats.sent), "bold"),
            "  5xx ",
            (str(stats.server_errors), "bold red" if stats.server_errors else "bold"),
            "  failed ",
            (str(stats.failed), "bold yellow" if stats.failed else "bold"),
        )
        if stats.p50_ms is not None:
            text.append(f"  p50 {stats.p50_ms:.0f}ms")
        if not stats.running and stats.stopped_by:
            text.append(f"  stopped: {stats.stopped_by}", "dim")
        self.query_one("#inject-stats", Static).update(text)
        if old.running != stats.running:
            self.post_message(self.Changed(stats))

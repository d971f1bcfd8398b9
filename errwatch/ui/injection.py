"""The injection panel: a Start/Stop button over what `f` starts (the test route's
injector, or the fault of one of the ``[[proxies]]``), its live counters and its guard.

The panel owns the proxies: a worker each runs them for as long as the panel (the
dashboard) does, on an event loop of their own in a thread, so drawing never delays a
request; one that cannot listen is a visible state, not a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from errwatch.core.injection.faults import ProxyStats
from errwatch.core.injection.guard import ErrorSplit
from errwatch.core.injection.injector import InjectionStats, Injector, step_rate
from errwatch.core.injection.links import Listener
from errwatch.core.textsafe import for_terminal, plain
from errwatch.core.units import format_duration
from errwatch.errors import ErrwatchError
from errwatch.ui.faultlinks import describe_proxy
from errwatch.ui.readout import Readout, set_title

STATS_INTERVAL = 0.25
ALARMING = ("guard", "error")
"""Reasons to stop that a person must notice."""


def describe(
    stats: InjectionStats, injector: Injector, errors: ErrorSplit | None, now: float
) -> Text:
    """Three lines: what runs and how far; the answers; the 5xx split and the guard.

    Why it stopped (an error's message, the guard's reading) is plain text."""
    cfg = injector.cfg
    duration = stats.duration or injector.clamp_duration(cfg.duration)
    head = Text.assemble(
        plain(f"{cfg.method} {cfg.route} @ {injector.rate:g}/s", "bold", one_line=True)
    )
    head.append(f"  {format_duration(round(stats.elapsed(now)))} of {format_duration(duration)}")
    head.append("  sent ")
    head.append(str(stats.sent), "bold")
    if stats.skipped:
        head.append(f"  skipped {stats.skipped}", "bold yellow")

    classes = stats.by_class
    server = classes.pop("5xx", 0)
    answers = Text.assemble("5xx ", (str(server), "bold red" if server else "bold"))
    for name, count in sorted(classes.items()):
        answers.append(f"  {name} {count}")
    answers.append("  timeouts ")
    answers.append(str(stats.timeouts), "bold yellow" if stats.timeouts else "bold")
    answers.append("  conn ")
    answers.append(str(stats.connection_errors), "bold yellow" if stats.connection_errors else "")
    if stats.p50_ms is not None and stats.p99_ms is not None:
        answers.append(f"  p50 {stats.p50_ms:.0f}ms p99 {stats.p99_ms:.0f}ms")

    if not stats.running and stats.stopped_by in ALARMING:
        guard = plain(f"stopped by {stats.stopped_by}: {stats.detail}", "bold red", one_line=True)
    else:
        guard = plain(injector.guard.describe(), one_line=True)
        if errors is not None:
            # Attribution from the metrics: the injection route's 5xx vs every other route's.
            guard.append(f"  5xx/s injected {errors.injected_errors:.1f}")
            guard.append(f" app {errors.app_errors:.1f}", "bold red" if errors.app_errors else "")
        if not stats.running and stats.stopped_by:
            guard.append(f"  stopped: {for_terminal(stats.stopped_by, one_line=True)}", "dim")
    return Text("\n").join([head, answers, guard])


class InjectionPanel(Horizontal):
    """Starts and stops fault injection; shows its counters, the 5xx split and the guard.

    ``errors`` is set by the parent from the metrics (5xx on the injection route vs the
    others); every new value feeds the injector's guard. With proxies, ``target`` says
    what `f` starts: 0 the test route, 1.. a proxy's fault (`t` moves it on).
    """

    # The watchers redraw the button and the readout; the panel itself has nothing to paint.
    stats: reactive[InjectionStats] = reactive(InjectionStats, always_update=True, repaint=False)
    errors: reactive[ErrorSplit | None] = reactive(None, repaint=False)
    target: reactive[int] = reactive(0, repaint=False)

    class Changed(Message):
        """Injection started or stopped."""

        def __init__(self, stats: InjectionStats) -> None:
            super().__init__()
            self.stats = stats

    class FaultChanged(Message):
        """A proxy's fault window opened or closed, or its listener changed state."""

        def __init__(self, stats: ProxyStats) -> None:
            super().__init__()
            self.stats = stats

    def __init__(
        self, injector: Injector, *, proxies: tuple[Listener, ...] = (), id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.injector = injector
        self.proxies = proxies
        self._seen: dict[str, ProxyStats] = {}

    def compose(self) -> ComposeResult:
        yield Button("Start injection", id="inject", variant="error")
        yield Readout("", id="inject-stats")

    def on_mount(self) -> None:
        self.border_title = "Fault injection"
        self.stats = self.injector.stats()
        for proxy in self.proxies:
            self.serve_proxy(proxy)
        self.set_interval(STATS_INTERVAL, self._sample)

    def _sample(self) -> None:
        if self.injector.running or self.stats.running:
            self.stats = self.injector.stats()
        self._sample_proxies()

    def _sample_proxies(self) -> None:
        """Post what changed in the proxies' windows and states; redraw the chosen one."""
        for proxy in self.proxies:
            now = proxy.stats()
            was = self._seen.get(now.name)
            if was is None or (was.state, was.active, was.window) != (
                now.state,
                now.active,
                now.window,
            ):
                self._seen[now.name] = now
                self.post_message(self.FaultChanged(now))
        if self.target:
            self._show()

    @property
    def proxy(self) -> Listener | None:
        """The proxy `f` acts on now, or None for the test route."""
        return self.proxies[self.target - 1] if self.target else None

    def fault_stats(self) -> list[ProxyStats]:
        """Every proxy's snapshot now."""
        return [proxy.stats() for proxy in self.proxies]

    def next_target(self) -> None:
        """Let `f` act on the next one: test route, then each proxy, then around."""
        self.target = (self.target + 1) % (len(self.proxies) + 1)

    def watch_target(self) -> None:
        self._show()

    def toggle(self) -> None:
        """Start when stopped, stop when running (the chosen target)."""
        proxy = self.proxy
        if proxy is not None:
            if proxy.active:
                proxy.stop_fault("user")
            elif proxy.stats().state == "failed":
                self.notify(proxy.stats().detail, title="Proxy not listening", severity="error")
            else:
                proxy.start_fault()
            self._sample_proxies()
            self._show()
        elif self.injector.running:
            self.injector.stop("user")
            self.stats = self.injector.stats()
        else:
            self.inject()

    def stop(self, reason: str) -> None:
        """Stop injection and every fault: no request starts or is faulted after this."""
        self.injector.stop(reason)
        for proxy in self.proxies:
            proxy.stop_fault(reason)

    async def wind_down(self, reason: str) -> None:
        """Stop, and let in-flight requests end (within the request timeout) before leaving.

        Quitting without this cancels requests already on the wire: the API may count
        them after errwatch is gone, and the counters would not match what it saw.
        """
        self.stop(reason)
        runs = [
            worker.wait()
            for worker in self.workers
            if worker.node is self and worker.group == "inject" and not worker.is_finished
        ]
        with contextlib.suppress(WorkerFailed, WorkerCancelled, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*runs), self.injector.cfg.timeout + 0.5)

    def step_rate(self, direction: int) -> None:
        """One step up or down the 1-2-5 rate ladder, never above ``max_rate``."""
        if self.proxy is not None:
            self.notify("+ and - change the test route's rate: press t to choose it")
            return
        wanted = step_rate(self.injector.rate, direction)
        applied = self.injector.set_rate(wanted)
        if applied < wanted:
            self.notify(
                f"{wanted:g}/s is above injection.max_rate: the rate stays at {applied:g}/s",
                title="Rate capped",
                severity="warning",
            )
        self.stats = self.injector.stats()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "inject":
            event.stop()
            self.toggle()

    @work(exit_on_error=False, group="proxies")
    async def serve_proxy(self, proxy: Listener) -> None:
        """Run one proxy as long as the panel, on a loop of its own in a thread (drawing
        never holds a request); a port it cannot take is shown, not raised."""
        try:
            await asyncio.wrap_future(proxy.run_in_thread())
        except ErrwatchError as error:
            self.notify(str(error), title="Proxy not listening", severity="error", timeout=8)
        finally:
            # Cancelled when the dashboard leaves: close it now, nothing stays listening.
            proxy.stop_and_wait("quit")
            self._sample_proxies()

    @work(exclusive=True, exit_on_error=False, group="inject")
    async def inject(self) -> None:
        """Run the injector until it stops; a refusal becomes a notification."""
        try:
            await self.injector.run()
        except ErrwatchError as error:
            self.notify(str(error), title="Injection refused", severity="error", timeout=8)
        finally:
            self.stats = self.injector.stats()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "proxies" and event.state is WorkerState.ERROR:
            event.stop()
            self.notify(f"{event.worker.error}", title="Proxy failed", severity="error")
            self._sample_proxies()
            return
        if event.worker.group != "inject" or event.state is not WorkerState.ERROR:
            return
        event.stop()
        # The injector has ended its schedule on the way out; say so and why.
        self.injector.stop("error", repr(event.worker.error))
        self.notify(f"{event.worker.error}", title="Injection failed", severity="error", timeout=8)
        self.stats = self.injector.stats()

    def watch_errors(self, errors: ErrorSplit | None) -> None:
        if errors is not None:
            self.injector.observe(errors)
            self.stats = self.injector.stats()

    def watch_stats(self, old: InjectionStats, stats: InjectionStats) -> None:
        self._show()
        if old.running != stats.running:
            self.post_message(self.Changed(stats))

    def _show(self) -> None:
        """Button, classes and readout for the chosen target."""
        button = self.query_one("#inject", Button)
        proxy = self.proxy
        now = time.time()
        if proxy is None:
            stats = self.stats
            button.label = "Stop injection" if stats.running else "Start injection"
            self.set_class(stats.running, "-active")
            self.set_class(not stats.running and stats.stopped_by in ALARMING, "-alarm")
            text = describe(stats, self.injector, self.errors, now)
            faulting = [p.cfg.name for p in self.proxies if p.active]
            if faulting:
                text.append_text(plain(f"  faults on: {', '.join(faulting)}", "bold magenta"))
            elif self.proxies:
                text.append(f"  {self._choice()}", "dim")
        else:
            current = proxy.stats()
            button.label = "Stop fault" if current.active else "Start fault"
            self.set_class(current.active, "-active")
            self.set_class(current.state == "failed", "-alarm")
            text = describe_proxy(current, self.errors, now, self._choice())
        set_title(
            self,
            plain(
                f"Fault injection: {proxy.cfg.name}" if proxy is not None else "Fault injection",
                one_line=True,
            ),
        )
        self.query_one("#inject-stats", Readout).show(text)

    def _choice(self) -> str:
        return f"t: next target ({self.target + 1} of {len(self.proxies) + 1})"

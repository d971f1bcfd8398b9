"""`errwatch check`: watch the metrics (and logs) for a while, then a verdict and a summary.

The threshold applies to the application's own 5xx ratio (routes other than the
injection route): the seed's post-mortem asks to tell test errors from application
errors, and a check run during fault injection must not fail because of it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from errwatch.core.logs.grouping import ErrorGroup, ranked_sources
from errwatch.core.logs.logwatch import TracebackMonitor, TracebackUpdate
from errwatch.core.metrics.polling import Backoff, MetricsSource
from errwatch.core.metrics.rates import MetricsSnapshot, SourceState
from errwatch.core.textsafe import for_terminal
from errwatch.core.units import format_duration

HEALTHY, CROSSED, UNUSABLE = 0, 1, 2
"""Exit codes: healthy, a threshold crossed (or the target down), no answer at all."""


@dataclass(frozen=True, slots=True)
class RatioStats:
    """Min, mean and max of a ratio over the polls that had traffic (None: never any)."""

    min: float | None = None
    avg: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, values: list[float]) -> RatioStats:
        """Statistics of ``values``."""
        if not values:
            return cls()
        return cls(min(values), sum(values) / len(values), max(values))

    def text(self) -> str:
        """min 0.0% avg 1.2% max 4.0%, or "no traffic"."""
        if self.avg is None:
            return "no traffic"
        return f"min {self.min:.1%} avg {self.avg:.1%} max {self.max:.1%}"


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """What a check saw and what it concludes."""

    duration: float
    mode: str
    url: str
    polls: int
    states: dict[str, int]
    final_state: SourceState
    final_detail: str
    by_status: dict[str, float]
    error_ratio: RatioStats
    app_error_ratio: RatioStats
    split: bool
    test_errors: float
    injection_route: str
    threshold: float
    tracebacks: int
    groups: tuple[ErrorGroup, ...]
    logs: dict[str, str]
    interrupted: bool = False
    reasons: tuple[str, ...] = field(default=())
    exit_code: int = HEALTHY
    found: str = ""
    """What discovery chose (metric, labels, job, instance); "" when the config named it."""
    estimated: bool = False
    """The application's part is an estimate (no route label: the injector's own answers
    subtracted from the totals)."""
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """One JSON object (the keys `errwatch check --json` prints)."""
        source = "prometheus" if self.mode == "prometheus" else self.mode
        return {
            "healthy": self.exit_code == HEALTHY,
            "exit_code": self.exit_code,
            "reasons": list(self.reasons),
            "duration": self.duration,
            "interrupted": self.interrupted,
            "polls": self.polls,
            "error_ratio": _ratio_json(self.error_ratio),
            "app_error_ratio": _ratio_json(self.app_error_ratio),
            "test_errors_per_second": round(self.test_errors, 4),
            "threshold": {
                "max_error_ratio": self.threshold,
                "applies_to": "app_error_ratio",
                "injection_route": self.injection_route if self.split else None,
            },
            "app_error_ratio_estimated": self.estimated,
            "series": self.found or None,
            "notes": list(self.notes),
            "by_status": {status: round(rate, 4) for status, rate in self.by_status.items()},
            "tracebacks": self.tracebacks,
            "groups": [_group_json(group) for group in self.groups],
            "sources": {source: str(self.final_state), "logs": dict(self.logs)},
            "states": dict(self.states),
        }

    def to_text(self) -> str:
        """The summary for a person; what the engine and the logs said stays on its line
        (a newline in a message cannot forge the verdict line)."""

        def line(text: str) -> str:
            return for_terminal(text, one_line=True)

        rates = " · ".join(f"{s} {r:.2f}/s" for s, r in self.by_status.items()) or "none"
        states = ", ".join(f"{state}: {count}" for state, count in self.states.items())
        where = f"{self.mode} {self.url}"
        lines = [
            f"errwatch check: {format_duration(self.duration)} on {where}, {self.polls} polls"
            + (" (interrupted)" if self.interrupted else ""),
            f"  states       {states}",
            f"  now          {self.final_state}"
            + (f": {line(self.final_detail)}" if self.final_detail else ""),
            *([f"  series       {line(self.found)}"] if self.found else []),
            *(f"  note         {line(note)}" for note in self.notes),
            f"  rates        {rates}",
            f"  5xx ratio    all routes: {self.error_ratio.text()}",
        ]
        if self.split:
            estimated = " (estimated)" if self.estimated else ""
            lines += [
                f"               application{estimated}: {self.app_error_ratio.text()}"
                f" (threshold {self.threshold:.1%})",
                f"               test errors on {self.injection_route}{estimated}: "
                f"{self.test_errors:.2f}/s",
            ]
        elif self.by_status:
            lines.append(f"               (no route label: threshold {self.threshold:.1%} on all)")
        groups = len(self.groups)
        lines.append(
            f"  tracebacks   {self.tracebacks} seen, {groups} group{'s' if groups != 1 else ''}"
        )
        lines += [
            f"    {g.count:>5} x {line(g.type)}: {line(g.message)[:60]}"
            + (f" ({g.injected} injected)" if g.injected else "")
            for g in self.groups
        ]
        lines += [f"  log          {line(path)}: {state}" for path, state in self.logs.items()]
        verdict = {HEALTHY: "healthy", CROSSED: "NOT healthy", UNUSABLE: "no verdict"}
        lines.append(f"verdict: {verdict[self.exit_code]}")
        lines += [f"  - {line(reason)}" for reason in self.reasons]
        return "\n".join(lines)


def _ratio_json(stats: RatioStats) -> dict[str, float | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {"min": rounded(stats.min), "avg": rounded(stats.avg), "max": rounded(stats.max)}


def _group_json(group: ErrorGroup) -> dict[str, Any]:
    frame = group.location
    return {
        "type": group.type,
        "message": group.message,
        "count": group.count,
        "injected": group.injected,
        "where": f"{frame.file}:{frame.line} in {frame.function}" if frame else None,
        "fingerprint": group.fingerprint,
        "sources": dict(ranked_sources(group)),
    }


class CheckRun:
    """Accumulates polls and log updates; :meth:`summary` gives the verdict."""

    def __init__(self, *, threshold: float, injection_route: str) -> None:
        self.threshold = threshold
        self.injection_route = injection_route
        self.states: Counter[str] = Counter()
        self.last: MetricsSnapshot | None = None
        self._rates: Counter[str] = Counter()
        self._current_polls = 0
        self._ratios: list[float] = []
        self._app_ratios: list[float] = []
        self._test_errors = 0.0
        self.tracebacks = 0
        self.groups: tuple[ErrorGroup, ...] = ()
        self.logs: dict[str, str] = {}

    def add_metrics(self, snapshot: MetricsSnapshot) -> None:
        """Count one poll; only current data (state up) goes into rates and ratios."""
        self.states[str(snapshot.state)] += 1
        self.last = snapshot
        if snapshot.state is not SourceState.UP:
            return
        self._current_polls += 1
        self._rates.update(snapshot.current())
        self._test_errors += snapshot.test_error_rate()
        for ratio, into in (
            (snapshot.error_ratio(), self._ratios),
            (snapshot.app_error_ratio(), self._app_ratios),
        ):
            if ratio is not None:
                into.append(ratio)

    def add_tracebacks(self, update: TracebackUpdate) -> None:
        """Count new traceback events; keep the groups and file states as they are now."""
        self.tracebacks += len(update.new_events)
        self.groups = update.groups
        self.logs = {status.path: str(status.state) for status in update.files}

    def summary(self, duration: float, *, url: str, interrupted: bool = False) -> CheckSummary:
        """The verdict over everything added."""
        last = self.last
        mode = last.mode if last else "prometheus"
        polls = sum(self.states.values())
        app = RatioStats.of(self._app_ratios)
        reasons: list[str] = []
        code = HEALTHY
        answered = sum(n for state, n in self.states.items() if SourceState(state).answered)
        down = self.states.get(str(SourceState.TARGET_DOWN), 0)
        if not answered:
            why = f"{last.state}: {last.detail}" if last else "no poll finished"
            reasons.append(f"{mode} never answered in {format_duration(duration)} ({why})")
        elif not self._current_polls and not down:
            seen = ", ".join(f"{state}: {n}" for state, n in self.states.items())
            why = f": {last.detail}" if last and last.detail else ""
            reasons.append(f"no current data during the whole run ({seen}){why}")
        if reasons:
            code = UNUSABLE
        if down:
            code = CROSSED
            reasons.append(f"the target was down during {down} of {polls} polls")
        estimated = bool(last and last.estimated)
        what = "application 5xx ratio" + (" (estimated)" if estimated else "")
        if app.max is not None and app.max > self.threshold:
            code = CROSSED
            reasons.append(f"{what} reached {app.max:.1%}, above {self.threshold:.1%}")
        if code == HEALTHY:
            reasons.append(
                "no traffic: the ratio could not be measured"
                if app.max is None
                else f"{what} stayed at or under {self.threshold:.1%}"
            )
        current = max(self._current_polls, 1)
        return CheckSummary(
            duration=duration,
            mode=mode,
            url=url,
            polls=polls,
            states=dict(self.states),
            final_state=last.state if last else SourceState.CONNECTING,
            final_detail=last.detail if last else "",
            by_status={s: self._rates[s] / current for s in sorted(self._rates)},
            error_ratio=RatioStats.of(self._ratios),
            app_error_ratio=app,
            split=bool(last and last.split),
            test_errors=self._test_errors / current,
            injection_route=self.injection_route,
            threshold=self.threshold,
            tracebacks=self.tracebacks,
            groups=self.groups,
            logs=self.logs,
            interrupted=interrupted,
            reasons=tuple(reasons),
            exit_code=code,
            found=last.found if last else "",
            estimated=estimated,
            notes=last.notes if last else (),
        )


def watch(
    run: CheckRun,
    source: MetricsSource,
    monitor: TracebackMonitor | None,
    *,
    duration: float,
    refresh: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Poll and read the logs until ``duration`` has passed; False when interrupted (^C)."""
    backoff = Backoff(refresh)
    deadline = clock() + duration
    steps = [monitor.step] if monitor is not None else []
    try:
        for step in steps:  # opens the logs at their end: what comes next counts
            step()
        while True:
            snapshot = source.poll()
            run.add_metrics(snapshot)
            for step in steps:
                update = step()
                if update is not None:
                    run.add_tracebacks(update)
            remaining = deadline - clock()
            if remaining <= 0:
                return True
            sleep(min(backoff.next_delay(snapshot.state), remaining))
    except KeyboardInterrupt:
        return False
    finally:
        if monitor is not None:
            run.add_tracebacks(monitor.snapshot())

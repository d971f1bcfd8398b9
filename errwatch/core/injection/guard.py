"""The injection guard: stop injecting faults when the application's own errors climb.

Injected errors are the point of an injection; the guard watches the others. It is a
pure object fed with observations ``(ratio, at)``: the 5xx share of the requests on
routes other than the injection route, at a time. Where the ratio comes from (a
metrics snapshot in the dashboard, an instant PromQL query for ``errwatch inject``) is
the caller's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from errwatch.core.metrics.rates import MetricsSnapshot
from errwatch.core.units import format_duration


@dataclass(frozen=True, slots=True)
class ErrorSplit:
    """5xx from the metrics at one moment, split by cause: injected vs the application's."""

    at: float
    """Unix time the rates describe."""
    app_ratio: float | None
    """5xx share of requests on routes other than the injection route; None: no such traffic."""
    app_errors: float = 0.0
    """5xx per second on routes other than the injection route."""
    injected_errors: float = 0.0
    """5xx per second on the injection route."""
    estimated: bool = False
    """No route label: the injected part is what the injector got back (an estimate)."""
    app_ratio_low: float | None = None
    """With an estimate: the lowest application 5xx ratio its margin allows (answers in
    flight across a scrape may have been counted on either side); None: no margin known."""


def split_errors(
    rates: Iterable[tuple[str, str, float]], injection_route: str, at: float
) -> ErrorSplit:
    """Split ``(route, status, requests per second)`` rows into injected and application 5xx."""
    app_total = app_errors = injected_errors = 0.0
    for route, status, rate in rates:
        server_error = status.startswith("5")
        if route == injection_route:
            injected_errors += rate if server_error else 0.0
            continue
        app_total += rate
        app_errors += rate if server_error else 0.0
    ratio = app_errors / app_total if app_total > 0 else None
    return ErrorSplit(at, ratio, app_errors, injected_errors)


def split_of(snapshot: MetricsSnapshot) -> ErrorSplit | None:
    """The split a metrics snapshot tells, or None when it cannot tell it now.

    Without a split every 5xx would count as the application's, and the guard would abort
    on the very errors it is meant to ignore; stale or failed data says nothing now. A
    split estimated from the injector's own answers (no route label) is a split too.
    """
    if not snapshot.split or not snapshot.state.healthy or snapshot.data_at is None:
        return None
    return ErrorSplit(
        at=snapshot.data_at,
        app_ratio=snapshot.app_error_ratio(),
        app_errors=snapshot.app_error_rate(),
        injected_errors=snapshot.test_error_rate(),
        estimated=snapshot.estimated,
        app_ratio_low=snapshot.app_ratio_low,
    )


class ErrorGuard:
    """Trips when the application's 5xx ratio stays above ``threshold`` for ``hold`` seconds.

    A threshold of 0 turns the guard off. Observations not newer than the last one are
    ignored (a source repeating stale data must not extend or start a streak), and a
    ratio back under the threshold, or no application traffic at all, ends a streak.
    """

    def __init__(self, threshold: float, hold: float = 0.0) -> None:
        self.threshold = threshold
        self.hold = hold
        self.tripped = ""
        """Why the guard tripped; empty while it has not."""
        self.last: tuple[float | None, float] | None = None
        """The newest observation taken into account: (ratio, at)."""
        self.estimated = False
        """Whether the newest ratio is an estimate (no route label)."""
        self._above_since: float | None = None

    @property
    def enabled(self) -> bool:
        """Whether the guard can trip at all."""
        return self.threshold > 0

    def reset(self) -> None:
        """Forget the streak and the trip (a new run starts); the last observation stays."""
        self.tripped = ""
        self._above_since = None

    def observe(
        self, ratio: float | None, at: float, *, estimated: bool = False, low: float | None = None
    ) -> str | None:
        """Take one observation; the reason when this one trips the guard, else None.

        ``low``: the lowest ratio an estimate's margin allows; the guard trips only when
        that too is above the threshold (an estimate within its own margin is no proof).
        """
        if self.last is not None and at <= self.last[1]:
            return None
        self.last = (ratio, at)
        self.estimated = estimated
        if not self.enabled or self.tripped:
            return None
        judged = ratio if low is None or ratio is None else min(ratio, low)
        if judged is None or judged <= self.threshold:
            self._above_since = None
            return None
        if self._above_since is None:
            self._above_since = at
        if at - self._above_since < self.hold:
            return None
        held = f" for {format_duration(self.hold)}" if self.hold else ""
        what = "application 5xx ratio (estimated)" if estimated else "application 5xx ratio"
        least = f" (at least {judged:.1%})" if judged != ratio else ""
        self.tripped = f"{what} {ratio:.1%}{least} above the guard's {self.threshold:.1%}{held}"
        return self.tripped

    def describe(self) -> str:
        """One short line: the guard and the last ratio seen."""
        if not self.enabled:
            return "guard off"
        limit = f"guard {self.threshold:.1%}"
        if self.last is None:
            return f"app 5xx: waiting for metrics ({limit})"
        ratio = self.last[0]
        shown = "no traffic" if ratio is None else f"{ratio:.1%}"
        if self.estimated and ratio is not None:
            shown += " est."
        return f"app 5xx {shown} ({limit})"

"""Alert rules over errwatch's own values, with pending / firing / resolved as in Prometheus.

A rule's condition must hold for its ``for`` duration before it fires (pending until
then); when it stops holding, a firing alert resolves. Each value is observed twice: on
all traffic and on application traffic only (injected requests and tracebacks left out).
An alert whose condition holds on all traffic but not on application traffic is a test
alert: fault injection alone caused it (the seed's post-mortem asks to tell them apart).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from errwatch.config import AlertConfig

AlertRule = AlertConfig
"""A rule is its ``[[alerts]]`` entry: name, value, threshold, ``for`` (hold), bell, command."""


class AlertState(StrEnum):
    """Where a rule stands."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(frozen=True, slots=True)
class Observation:
    """The values alerts look at, at one moment; None means "not known now"."""

    at: float
    error_ratio: float | None = None
    app_error_ratio: float | None = None
    rates: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    app_rates: Mapping[str, float] | None = None
    traceback_rate: float | None = None
    """Tracebacks per minute, all of them."""
    app_traceback_rate: float | None = None
    """Tracebacks per minute, injected ones left out."""
    new_groups: tuple[tuple[str, bool], ...] = ()
    """(description, injected) of traceback groups first seen since the last observation."""
    injecting: bool = False
    """Injected traffic may be in the values (injection running, or stopped so recently
    that its requests are still in the rate window)."""
    fault: str = ""
    """The fault window the values fall in ("inventory: delay 2s..."), "" outside any: an
    alert firing inside one is test-induced, whatever route its errors are on."""
    estimated: bool = False
    """The application's part is an estimate: no route label, the injector's own answers
    subtracted from the totals."""


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """A rule's current state."""

    rule: AlertRule
    state: AlertState = AlertState.INACTIVE
    since: float | None = None
    value: float | None = None
    test: bool = False
    detail: str = ""
    fault: str = ""
    """The fault window it fired in, "" when none."""


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """A rule changed state: it fired or it resolved."""

    rule: AlertRule
    state: Literal["firing", "resolved"]
    at: float
    value: float | None
    test: bool
    detail: str = ""
    fault: str = ""
    """The fault window it fired in, "" when none."""

    def to_json(self) -> str:
        """The alert as JSON, as given on stdin to an alert command."""
        return json.dumps(
            {
                "alert": self.rule.name,
                "state": self.state,
                "at": self.at,
                "value": self.value,
                "threshold": self.rule.threshold,
                "kind": "test" if self.test else "application",
                "detail": self.detail,
                "during_fault": self.fault or None,
            }
        )


def _status_rate(rates: Mapping[str, float] | None, status: str) -> float | None:
    if rates is None:
        return None
    if status.endswith("xx"):
        return sum(rate for code, rate in rates.items() if code[:1] == status[:1])
    return rates.get(status, 0.0)


def values(rule: AlertRule, obs: Observation) -> tuple[float | None, float | None]:
    """The rule's value on all traffic and on application traffic only.

    An application value the observation does not know (None) is the whole value when no
    injection is under way (all traffic is the application's), and unknown otherwise.
    """
    if rule.value == "error_ratio":
        return obs.error_ratio, _app(obs, obs.app_error_ratio, obs.error_ratio)
    if rule.value == "app_error_ratio":
        app = _app(obs, obs.app_error_ratio, obs.error_ratio)
        return app, app
    if rule.value == "status_rate":
        everything = _status_rate(obs.rates, rule.status)
        return everything, _app(obs, _status_rate(obs.app_rates, rule.status), everything)
    if rule.value == "traceback_rate":
        return obs.traceback_rate, _app(obs, obs.app_traceback_rate, obs.traceback_rate)
    new = len(obs.new_groups)
    return float(new), float(sum(1 for _, injected in obs.new_groups if not injected))


def _app(obs: Observation, app: float | None, everything: float | None) -> float | None:
    if app is not None or obs.injecting:
        return app
    return everything


class AlertEngine:
    """Evaluates every rule at each observation; returns the firing/resolved transitions."""

    def __init__(self, rules: Iterable[AlertRule]) -> None:
        self._status = {rule.name: AlertStatus(rule) for rule in rules}

    def statuses(self) -> tuple[AlertStatus, ...]:
        """Every rule and its state."""
        return tuple(self._status.values())

    def evaluate(self, obs: Observation) -> list[AlertTransition]:
        """Advance every rule to ``obs``."""
        transitions = []
        for name, status in self._status.items():
            new, change = self._step(status, obs)
            self._status[name] = new
            if change is not None:
                transitions.append(change)
        return transitions

    def _step(
        self, status: AlertStatus, obs: Observation
    ) -> tuple[AlertStatus, AlertTransition | None]:
        rule = status.rule
        everything, app = values(rule, obs)
        holds = everything is not None and everything > rule.threshold
        app_holds = app is not None and app > rule.threshold
        # A new group fires at once and stays firing for `hold` without another one.
        since = status.since if status.since is not None else obs.at
        lingering = obs.at - since < rule.hold
        if (
            rule.value == "new_group"
            and status.state is AlertState.FIRING
            and not holds
            and lingering
        ):
            return status, None
        detail = _detail(rule, obs) if holds else status.detail
        if not holds:
            if status.state is AlertState.FIRING:
                resolved = AlertTransition(
                    rule, "resolved", obs.at, everything, status.test, status.detail, status.fault
                )
                return AlertStatus(rule), resolved
            return AlertStatus(rule), None
        test = not app_holds or bool(obs.fault)
        if status.state is AlertState.INACTIVE:
            status = AlertStatus(
                rule, AlertState.PENDING, obs.at, everything, test, detail, obs.fault
            )
        pending_since = status.since if status.since is not None else obs.at
        if status.state is AlertState.PENDING and (
            rule.value == "new_group" or obs.at - pending_since >= rule.hold
        ):
            fired_since = obs.at if rule.value == "new_group" else status.since
            fault = obs.fault or status.fault if test else ""
            firing = AlertStatus(
                rule, AlertState.FIRING, fired_since, everything, test, detail, fault
            )
            change = AlertTransition(rule, "firing", obs.at, everything, test, detail, fault)
            return firing, change
        # Still pending or firing: an application cause upgrades a test alert, and a
        # further new group keeps a new_group alert firing for another `hold`.
        upgraded = replace(
            status,
            since=obs.at if rule.value == "new_group" else status.since,
            value=everything,
            test=status.test and test,
            detail=detail,
            fault=(status.fault or obs.fault) if status.test and test else "",
        )
        return upgraded, None


ESTIMATED = "application part estimated: no route label, errwatch's own answers subtracted"


def _detail(rule: AlertRule, obs: Observation) -> str:
    if rule.value == "new_group":
        return ", ".join(text for text, _ in obs.new_groups)
    if obs.estimated and rule.value in ("error_ratio", "app_error_ratio", "status_rate"):
        return ESTIMATED
    return ""

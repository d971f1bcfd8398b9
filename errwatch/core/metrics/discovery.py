"""Discovery: which job and instance scrape the API, which series counts its requests.

With ``metric``, ``status_label``, ``route_label``, ``job`` or ``instance`` left at
"auto", errwatch reads the PromQL API: ``/api/v1/targets`` for the job and instance
whose address is the API's host and port, the metric names of that target, their
metadata, then the series of the likely ones. Everything here is pure: functions over
the API's JSON, and :func:`discover`, a generator that yields the requests it needs
(:class:`Ask`) and receives their ``data``, so one logic serves a blocking client
(:func:`run_sync`), an async one and a direct scrape of ``/metrics``
(:func:`choose_request_series` over the exposition's families).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.requestseries import (
    AUTO,
    Candidate,
    choose_request_series,
    metric_kinds,
    names_to_fetch,
    route_templates,
)
from errwatch.core.metrics.targets import Target, parse_targets, place

__all__ = ["AUTO", "Ask", "Discovery", "choose_request_series", "discover", "route_templates"]


@dataclass(frozen=True, slots=True)
class Ask:
    """One GET to the PromQL API; ``optional``: a failure is answered with None."""

    path: str
    params: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Discovery:
    """What errwatch reads, and why: the values in force and where each came from."""

    metric: str
    status_label: str
    route_label: str
    job: str
    instance: str
    """"" for every instance of the job."""
    pinned: tuple[str, ...] = ()
    """Keys whose value the config gave (a value written in the config always wins)."""
    candidate: Candidate | None = None
    others: tuple[Candidate, ...] = ()
    targets: tuple[Target, ...] = ()
    """The job's targets."""
    scrape_interval: float | None = None
    problem: str = ""
    """Why discovery found nothing usable; "" when it did."""
    closest: tuple[str, ...] = ()
    """What the engine has that comes nearest, when something was not found."""
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether there is a metric, a status label and a job to query."""
        return not self.problem

    @property
    def classes_only(self) -> bool:
        """The status label holds classes only: by code is by class."""
        return bool(self.candidate and self.candidate.classes_only)

    @property
    def split_exact(self) -> bool:
        """Whether the route label tells the injection route apart (else: estimated)."""
        if not self.route_label:
            return False
        return self.candidate is None or self.candidate.route_paths

    def resolve(self, cfg: PrometheusConfig) -> PrometheusConfig:
        """``cfg`` with the values in force; the route label only when it holds paths."""
        return replace(
            cfg,
            metric=self.metric,
            status_label=self.status_label,
            route_label=self.route_label if self.split_exact else "",
            job=self.job,
            instance=self.instance,
        )

    def summary(self) -> str:
        """One line for the header: what is read, and from where."""
        if self.problem:
            return f"discovery: {self.problem}"
        where = f'job="{self.job}"' + (f', instance="{self.instance}"' if self.instance else "")
        route = f"route {self.route_label}" if self.route_label else "no route label"
        if self.route_label and not self.split_exact:
            route += " (not paths)"
        if not self.split_exact:
            route += ": test errors estimated"
        shape = ", classes only" if self.classes_only else ""
        return f"{self.metric}{{{where}}} status {self.status_label}{shape}, {route}"

    def toml(self) -> str:
        """The config lines that pin this choice."""
        lines = ["[prometheus]"]
        for key in ("metric", "status_label", "route_label", "job", "instance"):
            lines.append(f'{key} = "{getattr(self, key)}"')
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Everything, for `errwatch discover --json`."""
        return {
            "found": self.ok,
            "problem": self.problem or None,
            "metric": self.metric,
            "status_label": self.status_label,
            "route_label": self.route_label,
            "job": self.job,
            "instance": self.instance,
            "pinned": list(self.pinned),
            "split": "exact" if self.split_exact else "estimated",
            "classes_only": self.classes_only,
            "candidate": _candidate_json(self.candidate),
            "others": [_candidate_json(c) for c in self.others],
            "targets": [
                {"job": t.job, "instance": t.instance, "health": t.health} for t in self.targets
            ],
            "scrape_interval": self.scrape_interval,
            "closest": list(self.closest),
            "notes": list(self.notes),
            "toml": self.toml(),
        }


def _candidate_json(candidate: Candidate | None) -> dict[str, Any] | None:
    if candidate is None:
        return None
    return {
        "metric": candidate.metric,
        "exporter": candidate.exporter or None,
        "status_label": candidate.status_label,
        "route_label": candidate.route_label or None,
        "series": candidate.series,
        "statuses": list(candidate.statuses),
        "left_out": list(candidate.left_out),
        "classes_only": candidate.classes_only,
        "routes": list(candidate.routes),
        "route_paths": candidate.route_paths,
    }


# -- the whole discovery ---------------------------------------------------------------------


def _matchers(job: str, instance: str, extra: str = "") -> str:
    from errwatch.core.metrics.promql import string_literal

    parts = [f"job={string_literal(job)}"] if job else []
    if instance:
        parts.append(f"instance={string_literal(instance)}")
    inner = extra.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1].strip()
    if inner:
        parts.append(inner)
    return ",".join(parts)


def pinned_keys(cfg: PrometheusConfig) -> tuple[str, ...]:
    """The keys of discovery that the config gives a value."""
    keys = ("metric", "status_label", "route_label", "job", "instance")
    return tuple(key for key in keys if getattr(cfg, key) != AUTO)


def needs_discovery(cfg: PrometheusConfig) -> bool:
    """Whether any of metric, status_label, route_label, job, instance is "auto"."""
    return len(pinned_keys(cfg)) < 5


def from_config(cfg: PrometheusConfig) -> Discovery:
    """Everything pinned by the config: nothing to find."""
    return Discovery(
        cfg.metric,
        cfg.status_label,
        cfg.route_label,
        cfg.job,
        cfg.instance,
        pinned=pinned_keys(cfg),
    )


Steps = Generator[Ask, Any, Discovery]


def discover(cfg: PrometheusConfig, target_url: str) -> Steps:
    """Find what is "auto" in ``cfg``; yields each request, receives its ``data``."""
    pinned = pinned_keys(cfg)
    if not needs_discovery(cfg):
        return from_config(cfg)
    job, instance = cfg.job, cfg.instance
    targets: tuple[Target, ...] = ()
    interval = None
    if AUTO in (job, instance):
        data = yield Ask("/api/v1/targets", {"state": "active"}, optional=job != AUTO)
        every = parse_targets(data) if data is not None else ()
        placed = place(every, target_url, job, instance)
        if placed.problem:
            return _nothing(cfg, pinned, placed.problem, placed.closest)
        job, instance, targets = placed.job, placed.instance, placed.targets
        intervals = [t.scrape_interval for t in targets if t.scrape_interval]
        interval = min(intervals) if intervals else None
    matchers = _matchers(job, instance, cfg.selector)
    kinds: dict[str, str] = {}
    if cfg.metric == AUTO:
        names = yield Ask("/api/v1/label/__name__/values", {"match[]": f"{{{matchers}}}"})
        metadata = yield Ask("/api/v1/metadata", {}, optional=True)
        kinds = metric_kinds(metadata)
        fetch = names_to_fetch(names if isinstance(names, list) else (), kinds, AUTO)
    else:
        fetch = [cfg.metric]
    series_by_metric: dict[str, list[Mapping[str, str]]] = {}
    if fetch:
        pattern = "|".join(re.escape(n) for n in fetch)
        found = yield Ask("/api/v1/series", {"match[]": f'{{__name__=~"{pattern}",{matchers}}}'})
        for labels in found if isinstance(found, list) else ():
            name = str(labels.get("__name__", "")) if isinstance(labels, dict) else ""
            if name in fetch:  # an engine that ignores part of the matcher adds nothing
                series_by_metric.setdefault(name, []).append(labels)
    best, others = choose_request_series(
        series_by_metric, kinds, status_label=cfg.status_label, route_label=cfg.route_label
    )
    where = f"{{{matchers}}}"
    if best is None:
        if cfg.metric != AUTO:
            problem = f"no series of {cfg.metric}{where} with an HTTP status label"
        else:
            counters = f"{len(fetch)} counter" + ("s" if len(fetch) != 1 else "")
            problem = f"no request series among the {counters} of {where}"
        closest = tuple(sorted(series_by_metric))[:5] or tuple(fetch[:5])
        if not fetch and cfg.metric == AUTO:
            problem = f"no series at all for {where} (no request served yet?)"
        return _nothing(
            cfg,
            pinned,
            problem,
            closest,
            job=job,
            instance=instance,
            targets=targets,
            interval=interval,
        )
    notes = []
    if best.left_out:
        notes.append(
            f"{best.status_label} values left out (not HTTP statuses): {', '.join(best.left_out)}"
        )
    if best.classes_only:
        notes.append(f"{best.status_label} holds status classes only: by code shows classes")
    if others:
        notes.append("other request series: " + ", ".join(o.metric for o in others[:4]))
    return Discovery(
        metric=best.metric,
        status_label=best.status_label,
        route_label=best.route_label,
        job=job,
        instance=instance,
        pinned=pinned,
        candidate=best,
        others=others,
        targets=targets,
        scrape_interval=interval,
        notes=tuple(notes),
    )


def _nothing(
    cfg: PrometheusConfig,
    pinned: tuple[str, ...],
    problem: str,
    closest: tuple[str, ...],
    *,
    job: str = "",
    instance: str = "",
    targets: tuple[Target, ...] = (),
    interval: float | None = None,
) -> Discovery:
    def value(key: str, found: str = "") -> str:
        given: str = getattr(cfg, key)
        return given if given != AUTO else found

    return Discovery(
        value("metric"),
        value("status_label"),
        value("route_label"),
        value("job", job),
        value("instance", instance),
        pinned=pinned,
        targets=targets,
        scrape_interval=interval,
        problem=problem,
        closest=closest,
    )


class AskFailed(Exception):
    """A required request of the discovery failed; carries the client's own error."""


def run_sync(steps: Steps, fetch: Callable[[Ask], Any]) -> Discovery:
    """Drive :func:`discover` with a blocking ``fetch(ask) -> data``.

    ``fetch`` raises on failure; an optional ask is then answered with None, any other
    failure propagates to the caller.
    """
    try:
        ask = next(steps)
        while True:
            try:
                data = fetch(ask)
            except Exception:
                if not ask.optional:
                    raise
                data = None
            ask = steps.send(data)
    except StopIteration as done:
        result: Discovery = done.value
        return result


async def run_async(steps: Steps, fetch: Callable[[Ask], Any]) -> Discovery:
    """Drive :func:`discover` with an async ``fetch(ask) -> data`` (a coroutine function)."""
    try:
        ask = next(steps)
        while True:
            try:
                data = await fetch(ask)
            except Exception:
                if not ask.optional:
                    raise
                data = None
            ask = steps.send(data)
    except StopIteration as done:
        result: Discovery = done.value
        return result

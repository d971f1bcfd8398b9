"""Raw counter samples as the engine stored them: increases between the scrapes it has.

A rate from the engine extrapolates its samples to the edges of the window; something
counted elsewhere (the injector's answers) cannot be lined up with that. The samples
themselves can: each carries the time of its scrape, and the target's
``scrape_duration_seconds`` at that time says how long after it the counter was read.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from errwatch.config import PrometheusConfig
from errwatch.core.metrics.promql import regex_escape, selector, string_literal, window

SCRAPE_DURATION = "scrape_duration_seconds"
"""The engine's own series of how long each scrape of a target took."""
TIMESTAMP_SLACK = 0.01
"""Seconds a scrape's timestamp may sit off its real start (Prometheus aligns timestamps
within 2 ms of the scrape schedule; kept wider)."""


def samples_query(cfg: PrometheusConfig, span: float) -> str:
    """The raw samples over ``span`` seconds of the request series and of the scrape
    durations of the API's target(s): one range selector for both."""
    names = f"{regex_escape(cfg.metric)}|{SCRAPE_DURATION}"
    inner = selector(cfg)[1:-1]
    matchers = f"__name__=~{string_literal(names)}" + (f",{inner}" if inner else "")
    return f"{{{matchers}}}[{window(span)}]"


@dataclass(frozen=True, slots=True)
class CounterIncrease:
    """How much one counter series rose between two of its target's scrapes."""

    labels: Mapping[str, str]
    start: float
    """Time of the scrape the increase counts from."""
    end: float
    """Time of the newest sample."""
    increase: float
    """Counter resets counted as Prometheus does (a drop adds the new value)."""
    start_read: float
    """Seconds after ``start`` within which that scrape read the counter."""
    end_read: float
    """Seconds after ``end`` within which that scrape read the counter."""


def counter_increases(matrix: Any, metric: str, read_bound: float) -> tuple[CounterIncrease, ...]:
    """The increase of each ``metric`` series of a :func:`samples_query` matrix.

    A series that was missing at an earlier scrape of its target in the matrix is new
    (no exporter pre-creates its label sets): it counts from 0 at the scrape before its
    first sample, so its first requests count. ``read_bound``: how long after its time a
    scrape may have read the counter when the engine keeps no scrape duration for it.
    """
    scrapes: dict[str, list[tuple[float, float]]] = {}
    counters: list[tuple[dict[str, str], list[tuple[float, float]]]] = []
    for item in matrix:
        labels = {str(k): str(v) for k, v in item["metric"].items()}
        values = sorted((float(at), float(text)) for at, text in item["values"])
        name = labels.pop("__name__", "")
        if name == SCRAPE_DURATION:
            scrapes[labels.get("instance", "")] = values
        elif name == metric and values:
            counters.append((labels, values))
    found = []
    for labels, stored in counters:
        times = scrapes.get(labels.get("instance", ""), [])
        reads = dict(times)
        before = [at for at, _ in times if at < stored[0][0] - TIMESTAMP_SLACK]
        # New within the span: 0 at the scrape before its first sample.
        values = [(before[-1], 0.0), *stored] if before else stored
        if len(values) < 2:
            continue
        increase = 0.0
        for (_, previous), (_, value) in itertools.pairwise(values):
            increase += value - previous if value >= previous else value
        start, end = values[0][0], values[-1][0]
        found.append(
            CounterIncrease(
                labels,
                start,
                end,
                increase,
                reads.get(start, read_bound) + TIMESTAMP_SLACK,
                reads.get(end, read_bound) + TIMESTAMP_SLACK,
            )
        )
    return tuple(found)

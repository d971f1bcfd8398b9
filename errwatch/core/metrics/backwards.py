"""Counters going backwards: processes that answer scrapes in turn, each with its own
counters (gunicorn without prometheus_client's multiprocess mode)."""

from __future__ import annotations

from collections.abc import Mapping

from errwatch.core.metrics.rates import RateSeries

BACKWARDS_DROPS = 3
"""Counter drops over the chart range from which counters "go backwards": a restart drops
a counter once; processes answering scrapes in turn drop it again and again."""


def counter_drops(
    resets: Mapping[str, tuple[tuple[float, float], ...]],
) -> tuple[str, float] | None:
    """(instance, drops over the range) when counters go backwards, else None.

    Each point is the number of drops within the rate window ending then, so a drop is
    counted once, when it enters the window (the count rises).
    """
    worst: tuple[str, float] | None = None
    for instance, points in resets.items():
        drops, before = 0.0, 0.0
        for _, value in points:
            drops += max(0.0, value - before)
            before = value
        if drops >= BACKWARDS_DROPS and (worst is None or drops > worst[1]):
            worst = (instance, drops)
    return worst


def without_points(series: tuple[RateSeries, ...], gaps: set[float]) -> tuple[RateSeries, ...]:
    """``series`` less the points at the times in ``gaps``."""
    return tuple(
        RateSeries(one.status, tuple(p for p in one.points if p[0] not in gaps)) for one in series
    )

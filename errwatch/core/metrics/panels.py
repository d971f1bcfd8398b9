"""Extra panels from config: one PromQL expression each, read over the chart range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from errwatch.core.units import format_duration


class PanelState(StrEnum):
    """Whether a panel's expression gave something to show."""

    UP = "up"
    NO_DATA = "no data"
    BAD_QUERY = "bad query"
    QUERY_ERROR = "query error"
    NOT_ASKED = "not asked"
    """The poll failed before this panel's turn: the main query already says why."""


@dataclass(frozen=True, slots=True)
class PanelSeries:
    """One series of a panel: its distinguishing labels and its points (NaN/Inf left out)."""

    labels: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class PanelReading:
    """A panel as read by one poll."""

    title: str
    unit: str
    state: PanelState
    series: tuple[PanelSeries, ...] = ()
    detail: str = ""

    def current(self) -> tuple[tuple[str, float], ...]:
        """(labels, newest value) of every series that has a point at the newest time."""
        lasts = [(s.labels, s.points[-1]) for s in self.series if s.points]
        if not lasts:
            return ()
        newest = max(point[0] for _, point in lasts)
        return tuple((labels, value) for labels, (at, value) in lasts if at >= newest - 1e-6)


_SCALES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def format_value(value: float, unit: str) -> str:
    """A number as a person reads it in ``unit``: "%" takes a 0..1 ratio, "s" a duration."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return format_duration(round(value, 3)) if value >= 0.001 else f"{value * 1e6:.0f}µs"
    if unit == "bytes":
        for scale, prefix in _SCALES:
            if abs(value) >= scale:
                return f"{value / scale:.1f}{prefix}B"
        return f"{value:.0f}B"
    text = _short(value)
    return f"{text} {unit}" if unit else text


def _short(value: float) -> str:
    for scale, prefix in _SCALES:
        if abs(value) >= scale:
            return f"{value / scale:.3g}{prefix}"
    return f"{value:.3g}"

"""Time spans the chart marks: injection and fault windows, alerts, marks; other parts
report them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("injection", "fault", "alert", "mark")
"""Kinds the chart knows a colour for; any other kind is drawn like "mark"."""


@dataclass(frozen=True, slots=True)
class Span:
    """From ``start`` to ``end`` (None: still going), unix seconds, with a short label."""

    start: float
    end: float | None
    label: str
    kind: str = "mark"

    def clipped(self, low: float, high: float) -> tuple[float, float] | None:
        """The part of the span inside [low, high], or None when it is all outside."""
        end = high if self.end is None else self.end
        start, end = max(self.start, low), min(end, high)
        return (start, end) if start <= end else None


def visible(spans: Iterable[Span], low: float, high: float) -> tuple[Span, ...]:
    """The spans that overlap [low, high], oldest first."""
    return tuple(
        sorted((s for s in spans if s.clipped(low, high) is not None), key=lambda s: s.start)
    )

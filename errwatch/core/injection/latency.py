"""Latency percentiles over a whole run in bounded memory: log-spaced buckets."""

from __future__ import annotations

import math

GROWTH = 1.02
"""Each bucket is 2 % wider than the one below: a percentile is within 1 % of the truth."""
FLOOR_MS = 0.01
"""Everything faster than 10 µs shares the first bucket."""


class LatencyHistogram:
    """Counts latencies (milliseconds) in buckets; O(1) to add, percentiles from the counts."""

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self.count = 0

    def add(self, ms: float) -> None:
        """Count one latency."""
        index = 0 if ms <= FLOOR_MS else math.ceil(math.log(ms / FLOOR_MS, GROWTH))
        self._buckets[index] = self._buckets.get(index, 0) + 1
        self.count += 1

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0..100) by nearest rank, as its bucket's middle; None if empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q / 100 * self.count))
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                return FLOOR_MS * GROWTH ** (index - 0.5) if index else FLOOR_MS
        raise AssertionError("unreachable: ranks never exceed the count")

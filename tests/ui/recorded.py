"""A metrics source that replays recorded snapshots: deterministic pictures for UI tests."""

from __future__ import annotations

from collections.abc import Sequence

from errwatch.core.metrics.rates import MetricsSnapshot


class RecordedSource:
    """Returns the given snapshots in order, then keeps returning the last one."""

    def __init__(self, snapshots: Sequence[MetricsSnapshot], mode: str = "prometheus") -> None:
        self.snapshots = list(snapshots)
        self._mode = mode
        self.polls = 0

    @property
    def mode(self) -> str:
        return self._mode

    def poll(self) -> MetricsSnapshot:
        snapshot = self.snapshots[min(self.polls, len(self.snapshots) - 1)]
        self.polls += 1
        return snapshot

    def close(self) -> None:
        pass

"""``monitor.run`` in a thread, as the dashboard's worker runs it: shared by the tests of
files, commands and SSH hosts."""

from __future__ import annotations

import threading

from errwatch.core.logs.logwatch import TracebackMonitor, TracebackUpdate
from tests.conftest import wait_until


class Following:
    """The updates of one monitor, collected as they come."""

    def __init__(self, monitor: TracebackMonitor, min_interval: float = 0.0) -> None:
        self.monitor = monitor
        self.updates: list[TracebackUpdate] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(min_interval,), daemon=True)

    def _run(self, min_interval: float) -> None:
        for update in self.monitor.run(self.stop, min_interval=min_interval):
            self.updates.append(update)

    @property
    def last(self) -> TracebackUpdate:
        return self.updates[-1]

    def events(self) -> int:
        return self.last.events if self.updates else 0

    def states(self) -> list[tuple[str, str]]:
        """Every source state change so far: (state, detail)."""
        return [(str(c.state), c.detail) for u in list(self.updates) for c in u.changes]

    def close(self) -> None:
        """Stop following; the thread must end."""
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the follower must end when asked"


def start(follow: list[Following], monitor: TracebackMonitor, **kwargs: float) -> Following:
    """Follow ``monitor`` in a thread until the test ends; returns once the first update
    has come."""
    following = Following(monitor, **kwargs)
    follow.append(following)
    following.thread.start()
    wait_until(lambda: following.updates, 10, "the first update")
    return following

"""The ways a log's bytes reach a reader: in random pieces as live following reads a
file, and in windows of every size as a scan reads it."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.reader import TracebackReader
from errwatch.core.logs.scan import scan_fd

PIECES = (1, 7, 80, 500, 4096, 100_000)
WINDOWS = (97, 4096, 1 << 20)


def in_pieces(
    data: bytes, reader: TracebackReader, seed: int, sizes: tuple[int, ...] = PIECES
) -> list[TracebackEvent]:
    """Complete lines of reads of random sizes, then the end of the input."""
    rng = random.Random(seed)
    events: list[TracebackEvent] = []
    pos, pending = 0, b""
    while pos < len(data):
        size = rng.choice(sizes)
        pending += data[pos : pos + size]
        pos += size
        cut = pending.rfind(b"\n") + 1
        if cut:
            events.extend(reader.feed(pending[:cut]))
            pending = pending[cut:]
    return events + reader.finish()


def in_windows(
    log: Path, reader: Callable[[], TracebackReader], windows: tuple[int, ...] = WINDOWS
) -> Iterator[tuple[int, list[TracebackEvent]]]:
    """A scan of the file with each window size, a new reader each time."""
    for window in windows:
        fd = os.open(log, os.O_RDONLY)
        try:
            yield window, scan_fd(fd, reader(), window)
        finally:
            os.close(fd)

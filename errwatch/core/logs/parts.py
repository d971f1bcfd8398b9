"""One large log file read by several processes at once, giving what one pass gives.

The file is cut at line starts into parts, one per process, each read with a fresh
:class:`~errwatch.core.logs.reader.TracebackReader`. Where a part starts, its reader
does not know what came before: a traceback may be open there, or its record line may be
the last line of the part before. So the part before goes on past its end, line by line,
beside a fresh reader fed the same lines, until both are at rest with the same last lines
in mind (:meth:`~errwatch.core.logs.reader.TracebackReader.rest_state`): from that line
on, a fresh reader reads what one pass reads. The next part reads its first
:data:`EARLY` bytes line by line and keeps each event with the offset it ended at; those
ending before the meeting line are dropped (the part before has them). Where the readers
do not meet within ``EARLY`` bytes (a traceback longer than that), the part before reads
the next part too and tries at the one after: slower, never different.

Prefixed lines (docker compose, kubectl, syslog, journald) are read in parts too: a
reader's state is then the last lines with their streams, and where a line without the
prefix goes. Pipes and small files are read in one pass.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.framing import Setting, detect
from errwatch.core.logs.lines import MAX_LINE
from errwatch.core.logs.reader import DETECT_BYTES, TracebackReader, collect_sample
from errwatch.core.logs.scan import WINDOW, Tally, scan_clock, scan_stream

PART = 64 * 1024 * 1024
"""Bytes of a part at least: below that, a process costs more than it saves."""
EARLY = 64 * 1024
"""Bytes at the start of a part read line by line, where the part before meets it."""


def default_jobs() -> int:
    """The processes a scan may use: the cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Plan:
    """How one file is read in parts: part ``i`` is ``cuts[i]:cuts[i + 1]``."""

    name: str
    fd: int
    framing: Setting
    cuts: tuple[int, ...]
    window: int
    early: int
    max_groups: int
    clock: Callable[[], float]

    @property
    def last(self) -> int:
        return len(self.cuts) - 2

    def reader(self) -> TracebackReader:
        return TracebackReader(self.name, count_lines=False, prefix=self.framing, clock=self.clock)


@dataclass(slots=True)
class PartResult:
    """What one process read."""

    tally: Tally
    early: list[tuple[int, TracebackEvent]] = field(default_factory=list)
    """Events of the first EARLY bytes, with the offset each ended at."""
    usable: bool = True
    """False: the first EARLY bytes could not be read line by line (the part before reads them)."""
    met: int | None = None
    """Where this part's reader met the next part's: the next part's events count from there."""
    last: int = 0
    """The last part this process read (itself, or a later one it had to read too)."""


def scan_in_parts(
    tally: Tally,
    name: str,
    fd: int,
    jobs: int,
    *,
    prefix: Setting = "auto",
    window: int = WINDOW,
    part: int | None = None,
    early: int = EARLY,
) -> bool:
    """Count the tracebacks of ``fd`` into ``tally``, read in parts by up to ``jobs``
    processes; False (nothing read) when the file is not worth it or cannot be."""
    if not hasattr(os, "fork"):
        return False
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or jobs < 2:
        return False
    begin = os.lseek(fd, 0, os.SEEK_CUR)  # standard input may have been read from already
    size = info.st_size - begin
    part = part or PART
    if size // part < 2:
        return False
    framing = _framing(name, fd, prefix, window, begin=begin, size=info.st_size)
    if framing is None:
        return False
    cuts = _cuts(fd, begin, info.st_size, min(jobs, size // part))
    if len(cuts) < 3:
        return False
    plan = Plan(name, fd, framing, cuts, window, early, tally.store.max_groups, scan_clock())
    found = Tally(tally.store.max_groups)
    try:
        results = _run(plan, found)
    except _PartFailed:  # no process to spare, or one died: one pass gives the answer
        return False
    _merge(found, results)
    tally.merge(found)
    return True


class _PartFailed(Exception):
    """A part could not be read by a process of its own."""


def _framing(
    name: str, fd: int, prefix: Setting, window: int, *, begin: int, size: int
) -> Setting | None:
    """How the file's lines are framed, as a one-pass reader decides it from its first
    lines (read the same way); None when it is still undecided after a few windows."""
    if prefix != "auto":
        return prefix
    # The reader decides on its first read when that holds enough lines: that read alone.
    head = os.pread(fd, window, begin)
    end = head.rfind(b"\n") + 1
    sample: list[str] = []
    if end and (collect_sample(sample, head, end) or end >= DETECT_BYTES):
        return detect(sample) or "none"
    probe = TracebackReader(name, count_lines=False)
    reads = scan_stream(fd, probe, window, start=begin, stop=size, finish=False)
    for read, _ in enumerate(reads):
        if probe.decided:
            return probe.framer or "none"
        if read * window > 4 * DETECT_BYTES:
            break
    return None


def _cuts(fd: int, begin: int, end: int, count: int) -> tuple[int, ...]:
    """Line starts cutting the bytes from ``begin`` to ``end`` into ``count`` parts of
    about the same size."""
    cuts = [begin]
    for index in range(1, count):
        at = max(begin + (end - begin) * index // count, cuts[-1] + 1)
        start = _line_start(fd, at, end)
        if start >= end:
            break
        cuts.append(start)
    return (*cuts, end)


def _line_start(fd: int, at: int, size: int) -> int:
    """The first line start at or after ``at``."""
    pos = at - 1
    while pos < size:
        chunk = os.pread(fd, 64 * 1024, pos)
        if not chunk:
            break
        newline = chunk.find(b"\n")
        if newline >= 0:
            return pos + newline + 1
        pos += len(chunk)
    return size


def _run(plan: Plan, tally: Tally) -> list[PartResult]:
    """Part 0 here, into ``tally``; the others in child processes."""
    children: list[tuple[int, int]] = []
    try:
        for index in range(1, plan.last + 1):
            read_end, write_end = os.pipe()
            try:
                pid = os.fork()
            except OSError:  # no more processes allowed (EAGAIN), no memory
                os.close(read_end)
                os.close(write_end)
                raise _PartFailed from None
            if pid == 0:  # pragma: no cover - the child's coverage is not collected
                os.close(read_end)
                _child(plan, index, write_end)
            os.close(write_end)
            children.append((pid, read_end))
        results = [_part(plan, 0, tally)]
        while children:
            pid, read_end = children.pop(0)
            results.append(_receive(pid, read_end))
        return results
    finally:
        for pid, read_end in children:
            os.close(read_end)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _child(plan: Plan, index: int, write_end: int) -> None:  # pragma: no cover
    """A child's whole life: read its part, send what it found, exit."""
    try:
        try:
            payload = pickle.dumps(("ok", _part(plan, index, Tally(plan.max_groups))))
        except OSError as error:
            payload = pickle.dumps(("oserror", (error.errno, error.strerror, error.filename)))
        except BaseException as error:  # noqa: BLE001 - told to the parent
            payload = pickle.dumps(("error", f"{type(error).__name__}: {error}"))
        with memoryview(payload) as view:
            sent = 0
            while sent < len(view):
                sent += os.write(write_end, view[sent:])
    finally:
        os._exit(0)


def _receive(pid: int, read_end: int) -> PartResult:
    """A child's result; a read error there is raised here, anything else fails the
    scan in parts (read again in one pass)."""
    chunks = []
    try:
        while chunk := os.read(read_end, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    if not chunks:  # killed (out of memory?) before it could say anything
        raise _PartFailed
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "oserror":
        raise OSError(*value)
    if kind != "ok":
        raise _PartFailed(value)
    assert isinstance(value, PartResult)
    return value


def _part(plan: Plan, index: int, tally: Tally) -> PartResult:
    """Read part ``index`` (and the next ones, while the readers do not meet)."""
    reader = plan.reader()
    result = PartResult(tally, last=index)
    start = plan.cuts[index]
    if index > 0:
        lines = early_lines(plan, start, plan.cuts[index + 1])
        if lines is None:
            result.usable = False
            return result
        for end, line in lines:
            result.early.extend((end, event) for event in reader.feed(line))
            start = end
    while True:
        final = result.last == plan.last
        stop = plan.cuts[result.last + 1]
        for events in scan_stream(
            plan.fd, reader, plan.window, start=start, stop=stop, finish=final
        ):
            for event in events:
                tally.add(event)
        if final:
            return result
        result.met, start = _meet(plan, reader, result.last + 1, tally)
        if result.met is not None:
            return result
        result.last += 1  # not met: this process reads the next part too


def _meet(plan: Plan, reader: TracebackReader, index: int, tally: Tally) -> tuple[int | None, int]:
    """Feed ``reader`` the first lines of part ``index`` beside a fresh reader until both
    are in the same state: (that line's offset, or None; the offset read up to)."""
    at = plan.cuts[index]
    lines = early_lines(plan, at, plan.cuts[index + 1])
    if lines is None:
        return None, at
    fresh = plan.reader()
    for end, line in lines:
        state = reader.rest_state()
        if state is not None and state == fresh.rest_state():
            return at, at
        for event in reader.feed(line):
            tally.add(event)
        fresh.feed(line)
        at = end
    state = reader.rest_state()
    return (at if state is not None and state == fresh.rest_state() else None), at


def early_lines(plan: Plan, at: int, stop: int) -> list[tuple[int, bytes]] | None:
    """The complete lines of the first EARLY bytes from ``at``, each with the offset it
    ends at; None when one is longer than a reader keeps whole (or there is none)."""
    data = os.pread(plan.fd, min(plan.early, stop - at), at)
    cut = data.rfind(b"\n") + 1
    if cut == 0:
        return None
    lines = []
    pos = 0
    while pos < cut:
        newline = data.index(b"\n", pos)
        if newline - pos > MAX_LINE:
            return None
        lines.append((at + newline + 1, data[pos : newline + 1]))
        pos = newline + 1
    return lines


def _merge(tally: Tally, results: list[PartResult]) -> None:
    """Add the later parts' findings to part 0's, each from where the one before met it."""
    met, index = results[0].met, results[0].last + 1
    while index < len(results):
        part = results[index]
        if met is None or not part.usable:
            raise RuntimeError(f"scan in parts: part {index} was not met")
        for end, event in part.early:
            if end > met:
                tally.add(event)
        tally.merge(part.tally)
        met, index = part.met, part.last + 1

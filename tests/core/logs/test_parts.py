"""Test a large file read in parts by several processes: the same groups, counts, samples
and times as one pass, wherever the cuts fall (inside a traceback, between a record and
its traceback, in a traceback longer than where the parts meet), for lines without a
prefix, docker compose's two services interleaved and journald's continued entries."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from errwatch.cli import main
from errwatch.core.logs import parts
from errwatch.core.logs.framing import DETECT_LINES, Framer, detect
from errwatch.core.logs.parts import scan_in_parts
from errwatch.core.logs.scan import ScanResult, Tally, scan_fds

SAMPLES = Path(__file__).parent / "samples"

FLASK = (
    "2025-07-29 14:36:{s:02d},{ms:03d} ERROR [api] Exception on /orders/{n} [GET]\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/venv/lib/python3.11/site-packages/flask/app.py", line 1455, in wsgi_app\n'
    "    response = self.full_dispatch_request()\n"
    '  File "/srv/app/orders.py", line 40, in show\n'
    "    return ORDERS[order_id]\n"
    "KeyError: 'o-{n}'\n"
)
CHAIN = (
    "2025-07-29 14:37:{s:02d},{ms:03d} ERROR [billing] invoice {n} failed\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/billing.py", line 88, in total\n'
    "    rate = RATES[currency]\n"
    "KeyError: 'XTS'\n"
    "\n"
    "During handling of the above exception, another exception occurred:\n"
    "\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/billing.py", line 93, in total\n'
    "    raise LookupError(currency)\n"
    "LookupError: no rate for invoice {n}\n"
)
SYNTAX = (
    '  File "/srv/app/jobs/nightly.py", line 12\n'
    "    def run(\n"
    "           ^\n"
    "SyntaxError: '(' was never closed\n"
)
JSON = (
    '{{"asctime": "2025-07-29 14:38:{s:02d},{ms:03d}", "levelname": "ERROR", "message": '
    '"Exception on /pay [POST]", "exc_info": "Traceback (most recent call last):\\n  File '
    '\\"/srv/app/pay.py\\", line 9, in charge\\n    return amount / {n}\\n'
    'ZeroDivisionError: division by zero"}}\n'
)
DEEP = "".join(
    f'  File "/srv/app/walk.py", line {10 + depth}, in walk\n    return walk(node.child)\n'
    for depth in range(60)
)
LONG = (
    "2025-07-29 14:39:{s:02d},{ms:03d} ERROR [tree] walk {n} failed\n"
    "Traceback (most recent call last):\n" + DEEP + "RecursionError: too deep at {n}\n"
)
"""A traceback of about 5 KB: longer than the tests' meeting zone."""
RECORD = "2025-07-29 14:35:{s:02d},{ms:03d} INFO [api] GET /health {n} 200\n"


def unprefixed_samples() -> str:
    """The real samples whose lines carry no prefix, one after another."""
    texts = []
    for path in sorted(SAMPLES.glob("*.log")):
        text = path.read_text("utf-8", "replace")
        if framing_of(text) is None:
            texts.append(text.rstrip("\n") + "\n")
    return "".join(texts)


def framing_of(text: str) -> Framer | None:
    """The prefix a reader finds on these lines."""
    return detect([line for line in text.splitlines() if line.strip()][:DETECT_LINES])


def log_entries(seed: int, blocks: int) -> list[str]:
    """Records and tracebacks of every shape in a random order, the real samples' lines
    around them: one string per log entry (a traceback is one, with its record)."""
    rng = random.Random(seed)
    shapes = (FLASK, CHAIN, SYNTAX, JSON, LONG)
    entries = unprefixed_samples().splitlines(keepends=True)
    for n in range(blocks):
        for _ in range(rng.randint(0, 12)):
            entries.append(RECORD.format(s=n % 60, ms=n % 1000, n=n))
        if rng.random() < 0.6:
            entries.append(rng.choice(shapes).format(s=n % 60, ms=n % 1000, n=n % 7))
    return entries + unprefixed_samples().splitlines(keepends=True)


def log_text(seed: int, blocks: int) -> str:
    return "".join(log_entries(seed, blocks))


def make_log(path: Path, seed: int, blocks: int, *, tail: str = "") -> Path:
    path.write_text(log_text(seed, blocks) + tail)
    return path


def as_compose(entries: list[str], seed: int) -> str:
    """The entries as docker compose prints them for web-1, worker-1's records falling
    between their lines (inside tracebacks too)."""
    rng = random.Random(seed)
    out = []
    for n, line in enumerate("".join(entries).splitlines(keepends=True)):
        while rng.random() < 0.3:
            out.append("worker-1  | " + RECORD.format(s=n % 60, ms=n % 1000, n=n))
        out.append("web-1     | " + line)
    return "".join(out)


def as_journald(entries: list[str], seed: int) -> str:
    """journalctl's short output: an entry's first line prefixed, the lines that continue
    it aligned under its text without a prefix; cron's entries in between."""
    rng = random.Random(seed)
    out = []
    for n, entry in enumerate(entries):
        head = f"Nov 30 07:{n // 60 % 60:02d}:{n % 60:02d} testhost "
        if rng.random() < 0.2:
            out.append(f"{head}CRON[{700 + n % 5}]: (root) CMD (run-parts /etc/cron.hourly)\n")
        prefix = f"{head}api[42]: "
        first, *rest = entry.splitlines(keepends=True)
        out.append(prefix + first)
        out.extend(" " * len(prefix) + line for line in rest)
    return "".join(out)


SHAPES = {"plain": lambda entries, seed: "".join(entries), "compose": as_compose}
SHAPES["journald"] = as_journald


def seen(result: ScanResult) -> object:
    """What a scan tells, without the arrival times (a scan's own clock)."""
    groups = [
        (g.fingerprint, g.count, g.message, g.location, g.sample.text, g.sources, g.uncertain)
        for g in result.groups
    ]
    return result.events, result.incomplete, result.dropped, groups, dict(result.logged)


def one_pass(path: Path, prefix: str = "none") -> ScanResult:
    fd = os.open(path, os.O_RDONLY)
    try:
        return scan_fds([(str(path), fd)], prefix=prefix)  # type: ignore[arg-type]
    finally:
        os.close(fd)


def in_parts(
    path: Path, jobs: int, early: int, prefix: str = "none", window: int = 1 << 20
) -> Iterator[tuple[bool, ScanResult]]:
    fd = os.open(path, os.O_RDONLY)
    try:
        tally = Tally()
        part = max(1, os.fstat(fd).st_size // jobs)
        used = scan_in_parts(
            tally,
            str(path),
            fd,
            jobs,
            prefix=prefix,  # type: ignore[arg-type]
            window=window,
            part=part,
            early=early,
        )
        yield used, tally.result()
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("seed", "jobs", "early"),
    [(1, 2, 4096), (2, 5, 4096), (3, 8, 1024), (4, 8, 300), (5, 13, 64), (6, 3, 1 << 20)],
)
def test_parts_give_what_one_pass_gives(tmp_path: Path, seed: int, jobs: int, early: int) -> None:
    # Early zones of 64 and 300 bytes are shorter than most tracebacks: parts that cannot
    # be met there are read by the part before.
    log = make_log(tmp_path / "app.log", seed, 400)
    expected = one_pass(log)
    assert expected.events > 200 and expected.incomplete > 0  # real samples are cut
    for used, result in in_parts(log, jobs, early, window=4096):
        assert used
        assert seen(result) == seen(expected)


def test_a_traceback_open_at_the_end_and_no_last_newline(tmp_path: Path) -> None:
    log = make_log(tmp_path / "app.log", 7, 200, tail="Traceback (most recent call last):\n  File")
    expected = one_pass(log)
    for jobs in (2, 4, 7):
        for used, result in in_parts(log, jobs, 2048):
            assert used and seen(result) == seen(expected)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_cuts_at_every_line_of_a_record_and_its_traceback(tmp_path: Path, shape: str) -> None:
    # Two parts, the cut (the first line start past the middle) moved line by line through
    # a record and the tracebacks after it: each record (its time, its logger) stays with
    # its traceback wherever the cut is.
    entries = [RECORD.format(s=1, ms=n, n=n) for n in range(200)]
    entries += [FLASK.format(s=2, ms=5, n=3), CHAIN.format(s=3, ms=7, n=4)]
    text = SHAPES[shape](entries, 1)
    cut_from = len(SHAPES[shape](entries[:-2], 1).encode()) - 300
    log = tmp_path / "app.log"
    overhead = len(SHAPES[shape](["\n"], 2).encode())
    for middle in range(cut_from, len(text.encode()) + 10, 29):
        filler = 2 * middle - len(text.encode()) - overhead
        log.write_text(text + SHAPES[shape](["x" * filler + "\n"], 2))
        assert log.stat().st_size == 2 * middle
        expected = one_pass(log, prefix="auto")
        assert expected.events == 2 and all(times[0] for times in expected.logged.values())
        fd = os.open(log, os.O_RDONLY)
        try:
            tally = Tally()
            assert scan_in_parts(tally, str(log), fd, 2, part=middle, early=512)
            assert seen(tally.result()) == seen(expected), middle
        finally:
            os.close(fd)


@pytest.mark.parametrize("shape", ["compose", "journald"])
@pytest.mark.parametrize(("jobs", "early"), [(3, 4096), (8, 300)])
def test_prefixed_lines_in_parts_give_what_one_pass_gives(
    tmp_path: Path, shape: str, jobs: int, early: int
) -> None:
    log = tmp_path / f"{shape}.log"
    log.write_text(SHAPES[shape](log_entries(10 + jobs, 1500), jobs))
    framer = framing_of(log.read_text())
    assert framer is not None and framer.continued is (shape == "journald")
    expected = one_pass(log, prefix="auto")
    assert expected.events > 300
    # A window of 1 KiB holds too few lines to decide on the prefix: decided over several.
    for window in (1024, 8192):
        for used, result in in_parts(log, jobs, early, prefix="auto", window=window):
            assert used and seen(result) == seen(expected)


def test_pipes_and_small_files_are_read_in_one_pass(tmp_path: Path) -> None:
    compose = tmp_path / "compose.log"
    compose.write_text("".join(f"web-1  | {RECORD.format(s=1, ms=n, n=n)}" for n in range(5000)))
    fd = os.open(compose, os.O_RDONLY)
    try:
        assert not scan_in_parts(Tally(), "compose", fd, 4, part=1 << 30)  # too small
        assert not scan_in_parts(Tally(), "compose", fd, 1, prefix="none", part=4096)
    finally:
        os.close(fd)
    read_end, write_end = os.pipe()
    try:
        assert not scan_in_parts(Tally(), "pipe", read_end, 4, prefix="none", part=1)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_auto_framing_reads_a_large_unprefixed_file_in_parts(tmp_path: Path) -> None:
    log = make_log(tmp_path / "app.log", 8, 3000)
    assert log.stat().st_size > 256 * 1024  # a reader decides on its first 256 KiB
    expected = one_pass(log, prefix="auto")
    for used, result in in_parts(log, 4, 8192, prefix="auto"):
        assert used and seen(result) == seen(expected)


def test_the_command_takes_jobs_and_refuses_a_wrong_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = make_log(tmp_path / "app.log", 9, 100)
    assert main(["scan", "--jobs", "1", "--json", str(log)]) == 0
    once = capsys.readouterr().out
    assert main(["scan", "--jobs", "3", "--json", str(log)]) == 0
    assert capsys.readouterr().out == once
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "--jobs", "none", str(log)])
    assert exit_info.value.code == 2
    assert "--jobs: not a number of processes (1 or more): 'none'" in capsys.readouterr().err


def test_a_file_already_read_from_is_read_from_where_it_stands(tmp_path: Path) -> None:
    # `errwatch scan - < app.log` after something read the start of standard input: the
    # scan starts where the descriptor stands, in parts as in one pass.
    log = make_log(tmp_path / "app.log", 11, 600)
    fd = os.open(log, os.O_RDONLY)
    try:
        skip = log.read_bytes().index(b"Traceback", 200_000)
        os.lseek(fd, skip, os.SEEK_SET)
        expected = scan_fds([(str(log), fd)], prefix="none")
        os.lseek(fd, skip, os.SEEK_SET)
        tally = Tally()
        assert scan_in_parts(tally, str(log), fd, 4, prefix="none", part=50_000, early=2048)
        whole = one_pass(log)
    finally:
        os.close(fd)
    assert seen(tally.result()) == seen(expected)
    assert expected.events < whole.events


def test_no_process_to_spare_or_one_dying_leaves_it_to_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = make_log(tmp_path / "app.log", 12, 300)
    real_part = parts._part

    def dying(plan: parts.Plan, index: int, tally: Tally) -> parts.PartResult:
        if index == 2:
            os._exit(3)  # as the kernel's OOM killer would leave it: no word
        return real_part(plan, index, tally)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    fd = os.open(log, os.O_RDONLY)
    try:
        for patch in (("_part", dying), ("fork", no_fork)):
            with monkeypatch.context() as patched:
                patched.setattr(parts if patch[0] == "_part" else os, patch[0], patch[1])
                tally = Tally()
                assert not scan_in_parts(tally, str(log), fd, 4, prefix="none", part=10_000)
            assert tally.result().events == 0  # nothing counted twice by the one pass after
        expected = one_pass(log)
        with monkeypatch.context() as patched:  # the whole scan: read again in one pass
            patched.setattr(parts, "_part", dying)
            patched.setattr(parts, "PART", 10_000)
            assert seen(scan_fds([(str(log), fd)], prefix="none", jobs=4)) == seen(expected)
    finally:
        os.close(fd)

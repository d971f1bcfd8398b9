"""`errwatch scan PATH... [--json] [--prefix P]`: the tracebacks of log files, grouped, offline.

For CI and triage over SSH. ``-`` reads standard input as it comes, in bounded memory
(``kubectl logs deploy/api | errwatch scan -``). Line prefixes (docker compose, kubectl,
journald, syslog...) are detected per file, or forced with ``--prefix``. The import path
stays lean (no Textual, no HTTP client): start-up counts when the whole command must
keep pace with ``grep -c``.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from errwatch.commands import output
from errwatch.core.textsafe import for_terminal
from errwatch.errors import SourceError, UsageError

if TYPE_CHECKING:
    from errwatch.core.logs.grouping import ErrorGroup
    from errwatch.core.logs.scan import ScanResult


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add `scan`."""
    scan = commands.add_parser(
        "scan",
        help="group the tracebacks of log files (offline)",
        description="Read log files and group their Python tracebacks like the dashboard does.",
    )
    scan.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help='log file (a FIFO works too); "-" reads standard input',
    )
    scan.add_argument(
        "--prefix",
        default="auto",
        metavar="P",
        help='line prefix: "auto" (detected per file, the default), "none", or a regex '
        "with named groups (ts: the time, stream: whose line it is)",
    )
    scan.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="processes reading one large file at once (default: one per core; 1: one pass)",
    )
    scan.add_argument(
        "--json",
        action="store_true",
        help='one JSON object: {"events", "incomplete", "groups": [...]}, groups by count',
    )
    scan.set_defaults(run=run)


STDIN = "-"
STDIN_NAME = "stdin"


def _open(path: str) -> int:
    if path == STDIN:
        return os.dup(sys.stdin.fileno())
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read: {error.strerror}") from None
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceError(f"{path}: is a directory, not a log file")
    return fd


def run(args: argparse.Namespace) -> int:
    """Open every file first (a wrong path fails before any work), then scan them."""
    from errwatch.core.logs.framing import setting
    from errwatch.core.logs.parts import default_jobs
    from errwatch.core.logs.scan import scan_fds

    prefix = _prefix(args.prefix)
    with ExitStack() as stack:
        files = []
        for path in args.paths:
            fd = _open(path)
            stack.callback(os.close, fd)
            files.append((STDIN_NAME if path == STDIN else path, fd))
        try:
            jobs = args.jobs or default_jobs()
            result = scan_fds(files, prefix=setting(prefix), jobs=jobs)
        except OSError as error:
            name = error.filename or "a log file"
            raise SourceError(f"{name}: read failed: {error.strerror}") from None
    # Messages, samples, file and stream names are log text: escaped, never raw.
    if args.json:
        output.out_json(as_json(result))
    else:
        output.write(as_table(result))
    if result.dropped:
        output.note(
            f"errwatch scan: {result.dropped} more groups left out: only the"
            f" {len(result.groups)} with the most recent events are kept"
        )
    return 0


def _jobs(text: str) -> int:
    """--jobs checked: a whole number of processes, 1 or more."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes (1 or more): {text!r}")
    return jobs


def _prefix(text: str) -> str:
    """--prefix checked: "auto", "none" or a regex that compiles (one line otherwise)."""
    if text in ("auto", "none"):
        return text
    import re

    try:
        re.compile(text)
    except re.error as error:
        raise UsageError(f'--prefix: not "auto", "none" or a valid regex: {error}') from None
    return text


def _when(at: float | None) -> str | None:
    if at is None:
        return None
    from datetime import datetime

    return datetime.fromtimestamp(at).astimezone().isoformat(timespec="milliseconds")


def _group(group: ErrorGroup, logged: tuple[float | None, float | None]) -> dict[str, Any]:
    from errwatch.core.logs.grouping import ranked_sources

    where = group.location
    return {
        "fingerprint": group.fingerprint,
        "type": group.type,
        "message": group.message,
        "count": group.count,
        "first_seen": _when(logged[0]),
        "last_seen": _when(logged[1]),
        "location": (
            {"file": where.file, "line": where.line, "function": where.function}
            if where is not None
            else None
        ),
        "sample": group.sample.text,
        "sources": dict(ranked_sources(group)),
    }


def as_json(result: ScanResult) -> dict[str, Any]:
    """The object ``--json`` prints."""
    return {
        "events": result.events,
        "incomplete": result.incomplete,
        "groups": [_group(group, result.logged[group.fingerprint]) for group in result.groups],
    }


def _cut(text: str, width: int) -> str:
    """A table cell: the first line, escapes shown (so the columns stay put), cut to width."""
    text = for_terminal(text.split("\n", 1)[0], one_line=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def as_table(result: ScanResult) -> str:
    """A table a person reads: one row per group, most frequent first."""
    from errwatch.core.logs.grouping import sources_text

    head = f"{result.events} tracebacks in {len(result.groups)} groups"
    if result.incomplete:
        head += f", {result.incomplete} incomplete (cut off before their exception line)"
    rows = [head]
    # Where each group occurred, when there is more than one place to tell apart.
    several = len({name for group in result.groups for name, _ in group.sources}) > 1
    if result.groups:
        rows.append(
            f"{'COUNT':>6}  {'TYPE':<28}  {'WHERE':<32}  {'LAST SEEN':<19}  "
            + (f"{'ON':<24}  " if several else "")
            + "MESSAGE"
        )
    for group in result.groups:
        where = group.location
        place = f"{where.file.rsplit('/', 1)[-1]}:{where.line} {where.function}" if where else "?"
        last = _when(result.logged[group.fingerprint][1])
        on = f"{_cut(sources_text(group, short=True), 24):<24}  " if several else ""
        rows.append(
            f"{group.count:>6}  {_cut(group.type, 28):<28}  {_cut(place, 32):<32}  "
            f"{(last or '-')[:19].replace('T', ' '):<19}  {on}{_cut(group.message, 60)}"
        )
    return "\n".join(rows) + "\n"

"""`errwatch scan PATH... [--json]`: the tracebacks of log files, grouped, offline.

For CI and triage over SSH. The import path stays lean (no Textual, no HTTP client):
start-up counts when the whole command must keep pace with ``grep -c``.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from errwatch.errors import SourceError

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
    scan.add_argument("paths", nargs="+", metavar="PATH", help="log file (a FIFO works too)")
    scan.add_argument(
        "--json",
        action="store_true",
        help='one JSON object: {"events", "incomplete", "groups": [...]}, groups by count',
    )
    scan.set_defaults(run=run)


def _open(path: str) -> int:
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
    from errwatch.core.logs.scan import scan_fds

    with ExitStack() as stack:
        files = []
        for path in args.paths:
            fd = _open(path)
            stack.callback(os.close, fd)
            files.append((path, fd))
        try:
            result = scan_fds(files)
        except OSError as error:
            name = error.filename or "a log file"
            raise SourceError(f"{name}: read failed: {error.strerror}") from None
    out = sys.stdout
    if args.json:
        import json

        json.dump(as_json(result), out, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(as_table(result))
    if result.dropped:
        sys.stderr.write(
            f"errwatch scan: {result.dropped} more groups left out: only the"
            f" {len(result.groups)} with the most recent events are kept\n"
        )
    return 0


def _when(at: float | None) -> str | None:
    if at is None:
        return None
    from datetime import datetime

    return datetime.fromtimestamp(at).astimezone().isoformat(timespec="milliseconds")


def _group(group: ErrorGroup, logged: tuple[float | None, float | None]) -> dict[str, Any]:
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
    }


def as_json(result: ScanResult) -> dict[str, Any]:
    """The object ``--json`` prints."""
    return {
        "events": result.events,
        "incomplete": result.incomplete,
        "groups": [_group(group, result.logged[group.fingerprint]) for group in result.groups],
    }


def _cut(text: str, width: int) -> str:
    text = text.split("\n", 1)[0]
    return text if len(text) <= width else text[: width - 1] + "…"


def as_table(result: ScanResult) -> str:
    """A table a person reads: one row per group, most frequent first."""
    head = f"{result.events} tracebacks in {len(result.groups)} groups"
    if result.incomplete:
        head += f", {result.incomplete} incomplete (cut off before their exception line)"
    rows = [head]
    if result.groups:
        rows.append(f"{'COUNT':>6}  {'TYPE':<28}  {'WHERE':<32}  {'LAST SEEN':<19}  MESSAGE")
    for group in result.groups:
        where = group.location
        place = f"{where.file.rsplit('/', 1)[-1]}:{where.line} {where.function}" if where else "?"
        last = _when(result.logged[group.fingerprint][1])
        rows.append(
            f"{group.count:>6}  {_cut(group.type, 28):<28}  {_cut(place, 32):<32}  "
            f"{(last or '-')[:19].replace('T', ' '):<19}  {_cut(group.message, 60)}"
        )
    return "\n".join(rows) + "\n"

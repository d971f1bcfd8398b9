"""`errwatch sessions` and `errwatch report`: the recordings of dashboard runs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from errwatch.commands import output
from errwatch.commands.common import find_config
from errwatch.core.textsafe import for_terminal
from errwatch.errors import UsageError


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add `sessions` and `report`."""
    sessions = commands.add_parser("sessions", parents=[common], help="list the recorded runs")
    sessions.set_defaults(run=run_sessions)

    report = commands.add_parser(
        "report", parents=[common], help="write the post-mortem of a recorded run (Markdown)"
    )
    report.add_argument(
        "session", nargs="?", help="a recording: path, name or prefix (default: the newest)"
    )
    report.add_argument("--lang", choices=("fr", "en"), default="fr", help="default fr")
    report.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")
    report.set_defaults(run=run_report)


def _directory(args: argparse.Namespace) -> Path:
    return Path(find_config(args).recording.dir)


def run_sessions(args: argparse.Namespace) -> int:
    """Print one line per recording, newest first."""
    from errwatch.core.incident.recording import list_sessions

    directory = _directory(args)
    infos = list_sessions(directory) if directory.is_dir() else []
    if not infos:
        output.out(f"no recording in {directory}")
        return 0
    output.out(f"{'session':<34} {'started':<19} {'events':>6} {'groups':>6} {'size':>8}  target")
    for info in infos:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.started))
        size = f"{info.size / 1024:.0f} KiB"
        name = for_terminal(info.path.stem, one_line=True)
        output.out(
            f"{name:<34} {started:<19} {info.events:>6} {info.groups:>6} "
            f"{size:>8}  {for_terminal(info.target, one_line=True)}"
        )
    return 0


def resolve_session(directory: Path, wanted: str | None) -> Path:
    """A recording from a path, a name or a unique prefix; the newest when none is given."""
    from errwatch.core.incident.recording import SUFFIX, list_sessions

    if wanted is not None and Path(wanted).is_file():
        return Path(wanted)
    infos = list_sessions(directory) if directory.is_dir() else []
    if not infos:
        raise UsageError(f"no recording in {directory} (the dashboard records each run)")
    if wanted is None:
        return infos[0].path
    name = wanted.removesuffix(SUFFIX)
    matches = [info.path for info in infos if info.path.stem.startswith(name)]
    if len(matches) != 1:
        problem = "no recording" if not matches else f"{len(matches)} recordings"
        raise UsageError(f"{problem} named {wanted} in {directory} (see `errwatch sessions`)")
    return matches[0]


def run_report(args: argparse.Namespace) -> int:
    """Render the post-mortem of one recording."""
    import sqlite3

    from errwatch.core.incident.recording import load_session
    from errwatch.core.incident.report import render

    path = resolve_session(_directory(args), args.session)
    try:
        text = render(load_session(path), lang=args.lang)
    except sqlite3.DatabaseError as error:
        raise UsageError(f"{path}: not a readable errwatch recording ({error})") from None
    if args.out is None:
        output.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{args.out}: cannot write: {error.strerror}") from None
    output.note(f"report written to {args.out}")
    return 0

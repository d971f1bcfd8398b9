"""Command line: parse arguments, build objects, hand them over. Nothing else lives here."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from errwatch import __version__
from errwatch.commands import (
    check,
    configcheck,
    dashboard,
    demo,
    discover,
    inject,
    output,
    proxy,
    scan,
    serve,
    sessions,
)
from errwatch.commands.common import config_option
from errwatch.errors import ErrwatchError

# Each module adds its subcommands; add a module here to add a command.
COMMANDS = (demo, inject, scan, check, discover, sessions, configcheck, serve, proxy)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    common = config_option()
    parser = argparse.ArgumentParser(
        prog="errwatch",
        description="Live error supervision: Prometheus rates, log tracebacks, fault injection.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"errwatch {__version__}")
    dashboard.add_arguments(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `errwatch` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ErrwatchError as error:
        output.error(error)  # it may quote a file name or a server's answer
        return 2
    except KeyboardInterrupt:
        return 130
    return code

"""`errwatch config check`: validate the config and print the effective one, secrets masked."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from errwatch.commands import output
from errwatch.commands.common import config_path, find_config
from errwatch.core.textsafe import for_terminal

if TYPE_CHECKING:
    from errwatch.config import Config


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add `config check`."""
    config = commands.add_parser("config", help="check the configuration")
    actions = config.add_subparsers(title="actions", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        parents=[common],
        help="validate, then print the effective config (file + environment), secrets masked",
    )
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 and print the config when valid; a ConfigError exits 2 through cli.main."""
    from errwatch.config import ENV_PREFIX, dump_config  # not on other commands' path

    config = find_config(args)
    path = config_path(args, os.environ)
    source = f"# from {path}" if path is not None else "# no config file: built-in defaults"
    overrides = sorted(name for name in os.environ if name.startswith(ENV_PREFIX))
    output.out(source)
    if overrides:
        output.out(f"# overridden by the environment: {', '.join(overrides)}")
    output.write(dump_config(config))
    output.out(discovered(config))  # Prometheus's answer, or why there is none
    return 0


def discovered(config: Config) -> str:
    """What "auto" stands for now, as TOML comments; why not, when Prometheus cannot say."""
    from errwatch.commands.discover import find
    from errwatch.core.metrics.discovery import needs_discovery
    from errwatch.errors import SourceError

    if not needs_discovery(config.prometheus):
        return "# [prometheus] metric, labels, job and instance: all named above"
    try:
        found = find(config)
    except SourceError as error:
        return for_terminal(f'# "auto" not resolved now: {error}', one_line=True)
    if not found.ok:
        return for_terminal(f'# "auto" not resolved now: {found.problem}', one_line=True)
    lines = ['# "auto" stands for (errwatch discover says why):', f"# {found.summary()}"]
    lines += [f"#   {line}" for line in found.toml().splitlines()[1:]]
    # Each a comment line: a newline in what Prometheus said cannot end the comment.
    return output.one_per_line(lines)

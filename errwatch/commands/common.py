"""What every command shares: the --config option and how a config is found."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from errwatch.errors import UsageError

if TYPE_CHECKING:
    from errwatch.config import Config


def config_option() -> argparse.ArgumentParser:
    """A parent parser with --config, usable before or after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="config file (default: ./config.toml, then $XDG_CONFIG_HOME/errwatch/config.toml, "
        "then built-in defaults; ERRWATCH_<SECTION>_<KEY> variables override it)",
    )
    return common


def config_path(args: argparse.Namespace, environ: Mapping[str, str]) -> Path | None:
    """--config, else ./config.toml, else $XDG_CONFIG_HOME/errwatch/config.toml, else None."""
    from errwatch.config import DEFAULT_PATH

    path: Path | None = getattr(args, "config", None)
    if path is not None:
        return path
    if DEFAULT_PATH.exists():
        return DEFAULT_PATH
    home = environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    user = Path(home) / "errwatch" / "config.toml"
    return user if user.exists() else None


def find_config(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Config:
    """The discovered config file (or the built-in defaults) with ERRWATCH_* overrides."""
    # Imported here: commands that need no config (scan) start faster without it.
    from errwatch.config import config_from_mapping, load_config

    environ = os.environ if environ is None else environ
    path = config_path(args, environ)
    if path is not None:
        return load_config(path, environ=environ)
    return config_from_mapping({}, label="defaults", base=Path.cwd(), environ=environ)


def require_demo_extra() -> None:
    """Flask and prometheus-client, or a clear line saying how to get them."""
    try:
        import flask  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError:
        raise UsageError("the demo needs the demo extra: pip install 'errwatch[demo]'") from None


def duration_option(text: str, option: str) -> float:
    """Seconds in a command-line duration ("30s"); one clear line when it is not one."""
    from errwatch.core.units import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None
    if seconds <= 0:
        raise UsageError(f'{option}: must be longer than 0, got "{text}"')
    return seconds

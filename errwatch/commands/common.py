"""What every command shares: the --config option and how a config is found."""

from __future__ import annotations

import argparse
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
        help="config file (default: ./config.toml, else built-in defaults)",
    )
    return common


def find_config(args: argparse.Namespace) -> Config:
    """The config named by --config, else ./config.toml, else the built-in defaults."""
    # Imported here: commands that need no config (scan) start faster without it.
    from errwatch.config import DEFAULT_PATH, Config, load_config

    path: Path | None = getattr(args, "config", None)
    if path is not None:
        return load_config(path)
    if DEFAULT_PATH.exists():
        return load_config(DEFAULT_PATH)
    return Config()


def require_demo_extra() -> None:
    """Flask and prometheus-client, or a clear line saying how to get them."""
    try:
        import flask  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError:
        raise UsageError("the demo needs the demo extra: pip install 'errwatch[demo]'") from None

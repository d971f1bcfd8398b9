"""`errwatch [--config PATH]`: the dashboard on the configured API, Prometheus and logs."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from typing import TYPE_CHECKING

from errwatch.commands import output
from errwatch.commands.common import duration_option, find_config
from errwatch.errors import UsageError

if TYPE_CHECKING:
    from textual.app import App

    from errwatch.config import Config
    from errwatch.sources import Sources

CRASHED = 1
"""Exit code when the dashboard stopped on an error of its own (a bug), not on a request."""


def display_options(parser: argparse.ArgumentParser) -> None:
    """--refresh and --theme, for every command that opens the dashboard."""
    parser.add_argument(
        "--refresh",
        metavar="D",
        help='redraw and poll no more often than this, e.g. "5s" for a slow SSH link '
        "(default: prometheus.refresh)",
    )
    parser.add_argument("--theme", metavar="NAME", help="a Textual theme, e.g. nord, gruvbox")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the default command."""
    parser.add_argument(
        "--direct-scrape",
        action="store_true",
        help="read the target's /metrics instead of querying Prometheus",
    )
    display_options(parser)
    parser.set_defaults(run=run)


def open_dashboard(
    config: Config,
    args: argparse.Namespace,
    *,
    direct_scrape: bool = False,
    bridge_warmup: bool = False,
    notice: str = "",
) -> int:
    """Run the dashboard until it quits (its sources built right after its first frame),
    close the recording; bad input found while building is raised once the app has left.

    Returns the exit code: 0, or :data:`CRASHED` (said in one line) when it stopped on an
    error of its own."""
    config = displayed(config, args)
    theme = getattr(args, "theme", None)
    # Textual reads its frame cap at import: a slow link gets fewer frames too.
    os.environ.setdefault("TEXTUAL_FPS", str(frame_cap(config.prometheus.refresh)))
    from errwatch.ui.app import ErrwatchApp

    def build() -> Sources:
        from errwatch.sources import build_sources

        return build_sources(config, direct_scrape=direct_scrape, bridge_warmup=bridge_warmup)

    app = ErrwatchApp.starting(config, build, notice=notice)
    if theme is not None:
        app.theme = theme
    try:
        app.run()
    finally:
        app.disarm()
        if app.sources is not None:
            app.sources.incident.close()
    if app.failure is not None:
        raise app.failure
    return exit_code(app)


def exit_code(app: App[None]) -> int:
    """0 when the dashboard left as asked; :data:`CRASHED`, said in one line on stderr,
    when an exception ended it.

    Textual prints the exception and sets the app's return code, but ``run()`` returns as
    if all went well: without this the process would exit 0 after a crash.
    """
    if not app.return_code:
        return 0
    error = getattr(app, "_exception", None)  # the first one, kept by Textual
    what = f"{type(error).__name__}: {error}" if error is not None else "an internal error"
    output.error(f"the dashboard stopped on {what} (a bug in errwatch; the traceback is above)")
    return CRASHED


KEY_FPS = 30
"""Frames per second at a refresh of 1 s or faster: a key is on screen within ~33 ms
plus drawing (4 fps here once made a key wait up to 250 ms; idle CPU barely differs)."""
MIN_FPS = 4


def frame_cap(refresh: float) -> int:
    """Textual's frame cap for a refresh interval: fewer frames for a slower refresh
    (a slow link), never under :data:`MIN_FPS`, so keys still answer within 250 ms."""
    return max(MIN_FPS, min(KEY_FPS, round(KEY_FPS / refresh)))


def displayed(config: Config, args: argparse.Namespace) -> Config:
    """The config with --refresh applied, once --refresh and --theme are known to be good.

    Called before anything starts (the demo's stack, a recording), so a typo costs nothing.
    """
    theme = getattr(args, "theme", None)
    if theme is not None:
        check_theme(theme)
    return with_refresh(config, getattr(args, "refresh", None))


def check_theme(theme: str) -> None:
    """A Textual theme name, or one line listing the known ones."""
    from textual.theme import BUILTIN_THEMES

    if theme not in BUILTIN_THEMES:
        known = ", ".join(sorted(BUILTIN_THEMES))
        raise UsageError(f"--theme: unknown theme {theme!r} (known: {known})")


def with_refresh(config: Config, refresh: str | None) -> Config:
    """The config with --refresh applied (never faster than the config asks)."""
    if refresh is None:
        return config
    seconds = duration_option(refresh, "--refresh")
    prometheus = replace(config.prometheus, refresh=max(seconds, config.prometheus.refresh))
    return replace(config, prometheus=prometheus)


def run(args: argparse.Namespace) -> int:
    """Open the dashboard."""
    return open_dashboard(find_config(args), args, direct_scrape=args.direct_scrape)

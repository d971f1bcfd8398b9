"""Log files holding the hostile corpus, as a real application writes them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.hostile import corpus
from tests.realpython import LOGGING_PRELUDE

NAMED = f"x{corpus.OSC_BEL}{corpus.CSI_CLEAR}.log"
"""A log file's name with escape sequences (no "[": a config's path is a glob)."""


def hostile_logs(tmp_path: Path) -> tuple[Path, Path]:
    """A real application's log (Python raised and logged it) whose exception message,
    source file and log record hold the corpus (and a 100,000-character token); and a
    second log whose file name does, with a traceback whose function and file hold markup."""
    odd = tmp_path / "src["
    odd.mkdir()
    script = odd / "]app.py"  # the frames say .../src[/]app.py
    log = tmp_path / "api.log"
    script.write_text(
        LOGGING_PRELUDE
        + textwrap.dedent(
            f"""
            MESSAGE = {corpus.MESSAGE + " " + corpus.LONG_TOKEN!r}

            def handler():
                raise ValueError(MESSAGE)

            try:
                handler()
            except ValueError:
                log.exception("request failed %s", {corpus.RICH_CLICK!r})
            """
        )
    )
    subprocess.run([sys.executable, str(script), str(log)], check=True, timeout=60)
    named = tmp_path / NAMED
    named.write_text(
        "2027-01-15 07:58:00,000 ERROR [api] failed\n"
        "Traceback (most recent call last):\n"
        f'  File "/srv/x{corpus.RICH_CLOSE}y.py", line 3, in f{corpus.RICH_CLOSE}\n'
        "    raise KeyError(key)\n"
        f"KeyError: {corpus.ONE_LINE}\n"
    )
    return log, named

"""Fixtures made by running real Python code, not typed by hand."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def python_stderr(code: str, *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """What a real interpreter prints on stderr for ``code`` (a failing script)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )
    return done.stderr


def run_script(path: Path, code: str) -> str:
    """Write ``code`` to ``path``, run it, return its stderr (tracebacks name that file)."""
    path.write_text(textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, cwd=path.parent
    )
    return done.stderr


LOGGING_PRELUDE = """
import logging, sys
logging.basicConfig(
    filename=sys.argv[1],
    format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
    level=logging.INFO,
)
log = logging.getLogger("shop.api")
"""


def logged(tmp_path: Path, body: str, name: str = "app.py") -> str:
    """Run ``body`` after a logging set-up like a real app's; return the log file's text."""
    script = tmp_path / name
    log = tmp_path / "app.log"
    script.write_text(LOGGING_PRELUDE + textwrap.dedent(body))
    subprocess.run([sys.executable, str(script), str(log)], check=True, timeout=60, cwd=tmp_path)
    return log.read_text()

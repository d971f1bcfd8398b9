"""A dashboard that crashes never exits 0: the real command in tmux, with a bug put in."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from errwatch.demo.process import free_port
from tests.ui.tmuxing import new_session, wait_exited

BROKEN = textwrap.dedent(
    """
    import sys

    from errwatch.cli import main
    from errwatch.ui.header import StatusBar

    def broken(self):
        # The bug put in: drawing the header raises, as a MarkupError once did.
        raise RuntimeError("header \\x1b]2;PWNED\\x07 [/] cannot draw")

    StatusBar.render = broken
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_crash_exits_non_zero_and_says_so_in_one_line(tmp_path: Path, session: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[prometheus]\nurl = "http://127.0.0.1:{free_port()}"\n')
    script = tmp_path / "broken.py"
    script.write_text(BROKEN)
    command = f"{sys.executable} {script} --config {config}; echo EXITED=$?; sleep 60"
    new_session(session, command, width=200, height=50)
    shown = wait_exited(session, timeout=30)
    assert "EXITED=1" in shown
    [line] = [line for line in shown.splitlines() if line.startswith("errwatch: ")]
    assert line.startswith("errwatch: the dashboard stopped on RuntimeError: header ")
    assert "\\x1b]2;PWNED\\x07 [/] cannot draw" in line  # the message quoted, escapes shown
    assert "a bug in errwatch" in line

"""[[logs]] entries: files, commands, test hosts, prefixes; each mistake is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from errwatch.cli import main
from errwatch.config import load_config
from errwatch.errors import ConfigError
from tests.test_config import write


def test_a_command_a_remote_file_and_a_prefix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[logs]]\ncommand = ["docker", "compose", "logs", "-f", "api"]\n'
        '[[logs]]\nhost = "deploy@test-1"\npath = "logs/api.log"\nssh_options = ["-p", "2222"]\n'
        "[[logs]]\npath = \"app.log\"\nprefix = '^(?P<ts>\\S+) (?P<stream>\\w+): '\n",
    )
    command, remote, local = load_config(path).logs
    assert command.command == ("docker", "compose", "logs", "-f", "api")
    assert command.path == "" and command.prefix == "auto"
    # A remote path is the host's, as written: not resolved against this file.
    assert (remote.host, remote.path, remote.ssh_options) == (
        "deploy@test-1",
        "logs/api.log",
        ("-p", "2222"),
    )
    assert local.path == str(tmp_path.resolve() / "app.log")
    assert local.prefix == r"^(?P<ts>\S+) (?P<stream>\w+): "


CASES = [
    (
        '[[logs]]\npath = "a.log"\nprefix = "(?P<ts>["\n',
        '{path}: logs[1].prefix: not "auto", "none" or a valid regex: '
        "unterminated character set at position 7",
    ),
    (
        '[[logs]]\ncommand = "docker compose logs -f"\n',
        '{path}: logs[1].command: expected an array, got string "docker compose logs -f"',
    ),
    (
        '[[logs]]\ncommand = ["kubectl"]\npath = "a.log"\n',
        "{path}: logs[1]: command and path (or host) exclude each other",
    ),
    (
        '[[logs]]\ncommand = ["", "x"]\n',
        "{path}: logs[1].command: the program (first item) is empty",
    ),
    (
        '[[logs]]\nhost = "deploy@test-1"\n',
        "{path}: logs[1].path: missing (this key is required)",
    ),
    (
        '[[logs]]\npath = "a.log"\nssh_options = ["-p", "22"]\n',
        "{path}: logs[1].ssh_options: only used with host",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), CASES, ids=[c[1].split(": ", 1)[1][:40] for c in CASES]
)
def test_a_wrong_log_entry_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == expected.format(path=path)
    assert main(["--config", str(path), "config", "check"]) == 2
    assert capsys.readouterr().err == f"errwatch: {expected.format(path=path)}\n"


def test_config_check_shows_the_new_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[[logs]]\ncommand = ["journalctl", "-f", "-o", "short-iso"]\n')
    assert main(["--config", str(path), "config", "check"]) == 0
    shown = capsys.readouterr().out
    assert 'command = ["journalctl", "-f", "-o", "short-iso"]' in shown
    assert 'prefix = "auto"' in shown and 'host = ""' in shown and "ssh_options = []" in shown

"""config.toml loading: every mistake is one line naming file and key, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from errwatch.cli import main
from errwatch.config import Config, load_config
from errwatch.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_shipped_config_matches_the_seed_setup() -> None:
    config = load_config(REPO / "config.toml")
    assert config.target.url == "http://localhost:5000"
    assert config.prometheus.url == "http://localhost:9090"
    assert config.injection.route == "/error"
    assert config.prometheus.refresh == 2.0
    assert config.logs and config.logs[0].path == str(REPO / "logs" / "api.log")


def test_every_key_of_the_shipped_config_is_commented() -> None:
    lines = (REPO / "config.toml").read_text().splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[index - 1].lstrip().startswith("#"), f"no comment above: {line}"


def test_the_shipped_alerts_and_recording(tmp_path: Path) -> None:
    config = load_config(REPO / "config.toml")
    assert [(a.name, a.value, a.threshold, a.hold) for a in config.alerts] == [
        ("5xx ratio above 5%", "error_ratio", 0.05, 3.0),
        ("application 5xx ratio above 1%", "app_error_ratio", 0.01, 10.0),
        ("new traceback group", "new_group", 0.0, 60.0),
    ]
    assert config.recording.keep == 7 * 86400
    assert config.recording.dir.endswith("errwatch/sessions")


def test_the_built_in_alerts_are_the_shipped_ones(tmp_path: Path) -> None:
    assert Config().alerts == load_config(REPO / "config.toml").alerts
    assert load_config(write(tmp_path, "alerts = []\n")).alerts == ()


def test_durations_are_parsed_once_into_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, '[prometheus]\nrefresh = "500ms"\nrange = "1h30m"\n')
    config = load_config(path)
    assert config.prometheus.refresh == 0.5
    assert config.prometheus.range == 5400.0


def test_relative_log_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[[logs]]\npath = "app/*.log"\n')
    assert load_config(path).logs[0].path == str(tmp_path.resolve() / "app" / "*.log")


CASES = [
    (
        '[prometheus]\nurll = "http://x"\n',
        "{path}: unknown key prometheus.urll (did you mean url?)",
    ),
    (
        "[prometheus]\nurl = 9090\n",
        "{path}: prometheus.url: expected a string, got integer 9090",
    ),
    (
        '[prometheus]\nrefresh = "2 seconds"\n',
        '{path}: prometheus.refresh: invalid duration "2 seconds" '
        '(write e.g. "500ms", "2s", "1m", "1h30m")',
    ),
    (
        "[prometheus]\nrefresh = 2\n",
        '{path}: prometheus.refresh: expected a duration string like "2s", got integer 2',
    ),
    (
        '[injection]\nrate = "fast"\n',
        '{path}: injection.rate: expected a number, got string "fast"',
    ),
    (
        '[injection]\nroute = "error"\n',
        '{path}: injection.route: must start with "/", got "error"',
    ),
    (
        '[injection]\nmethod = "FETCH"\n',
        '{path}: injection.method: must be one of "GET", "POST", "PUT", "PATCH", "DELETE", '
        '"HEAD", got "FETCH"',
    ),
    (
        '[[logs]]\nbackfill = "all"\n',
        "{path}: logs[1].path: missing (this key is required)",
    ),
    (
        '[target]\nurl = "localhost:5000"\n',
        '{path}: target.url: expected an http:// or https:// URL, got "localhost:5000"',
    ),
    (
        '[prometheus\nurl = "x"\n',
        "{path}: invalid TOML: Expected ']' at the end of a table declaration "
        "(at line 1, column 12)",
    ),
    (
        "[injection]\nrate = 600\n",
        "{path}: injection.rate (600) is above injection.max_rate (500)",
    ),
    (
        "colour = true\n",
        "{path}: unknown key colour (known keys: target, prometheus, logs, injection, dashboard, "
        "panels, alerts, recording, proxies)",
    ),
    (
        '[[alerts]]\nname = "x"\nvalue = "status_rate"\nthreshold = 1.0\n',
        '{path}: alerts[1].status: required when value is "status_rate"',
    ),
    (
        '[[alerts]]\nname = "x"\nvalue = "error_ratio"\nfor = 5\n',
        '{path}: alerts[1].for: expected a duration string like "2s", got integer 5',
    ),
    (
        '[[alerts]]\nname = "x"\nvalue = "error_ratio"\nfro = "5s"\n',
        "{path}: unknown key alerts[1].fro (did you mean for?)",
    ),
    (
        '[recording]\nkeep = "a week"\n',
        '{path}: recording.keep: invalid duration "a week" '
        '(write e.g. "500ms", "2s", "1m", "1h30m")',
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1].split(": ")[1][:30] for c in CASES])
def test_bad_config_gives_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == expected.format(path=path)
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"errwatch: {expected.format(path=path)}\n"


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.toml"
    assert main(["--config", str(path)]) == 2
    assert capsys.readouterr().err == f"errwatch: {path}: file not found\n"


def test_no_python_traceback_reaches_the_user(tmp_path: Path) -> None:
    path = write(tmp_path, '[prometheus]\nrefresh = "soon"\n')
    done = subprocess.run(
        [sys.executable, "-m", "errwatch", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f'errwatch: {path}: prometheus.refresh: invalid duration "soon" '
        '(write e.g. "500ms", "2s", "1m", "1h30m")'
    ]


def test_no_config_file_means_the_built_in_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from errwatch.cli import build_parser
    from errwatch.commands.common import find_config

    monkeypatch.chdir(tmp_path)
    assert find_config(build_parser().parse_args([])) == Config()

"""Absurd values in the config and on the command line: one line naming the key, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HUGE = "9" * 400

ABSURD = [
    ('[prometheus]\nrefresh = "' + HUGE + 's"\n', "prometheus.refresh", "longer than"),
    ('[recording]\nmax_size = "' + HUGE + 'MB"\n', "recording.max_size", "larger than"),
    ('[logs]\npath = "x.log"\nbackfill = "' + HUGE + 'MB"\n', "logs", None),
    ("[injection]\nrate = " + HUGE + "\n", "injection.rate", "out of range"),
    ("[injection]\nrate = inf\n", "injection.rate", "finite"),
    ("[injection]\nrate = nan\n", "injection.rate", "finite"),
    ("[injection]\nmax_rate = 1e9\n", "injection.max_rate", "at most 1000"),
    ("[injection]\nconcurrency = 100000\n", "injection.concurrency", "at most 1000"),
    ("[dashboard]\nratio_warning = -inf\n", "dashboard.ratio_warning", "finite"),
    ('[target]\nurl = "http://127.0.0.1:99999"\n', "target.url", "port out of range"),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply", None),
    ("a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply", None),
    (
        '[injection.headers]\nx-errwatch-injection = "forged"\n',
        "injection.headers.x-errwatch-injection",
        "cannot be set",
    ),
]


def config_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errwatch", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("text", "key", "problem"), ABSURD)
def test_an_absurd_config_value_is_one_line_naming_the_key(
    tmp_path: Path, text: str, key: str, problem: str | None
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    done = config_check(path)
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"errwatch: {path}: ")
    assert key in lines[0]
    assert problem is None or problem in lines[0]
    assert len(lines[0]) < 300  # a 400-digit value is cut, the line stays readable


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", HUGE + "s"], "--duration: duration"),
        (["--rate", "nan"], "--rate: must be greater than 0"),
        (["--rate", HUGE + "x"], "--rate: expected requests per second"),
    ],
)
def test_absurd_injection_options_are_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[target]\nurl = "http://127.0.0.1:9"\n')
    done = subprocess.run(
        [sys.executable, "-m", "errwatch", "inject", "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert message in done.stderr
    assert len(done.stderr) < 300


def test_sane_extremes_are_still_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[injection]\nmax_rate = 1000\nrate = 1000\nconcurrency = 1000\nmax_duration = "366d"\n'
        '[recording]\nkeep = "366d"\nmax_size = "1024GiB"\n'
        '[target]\nurl = "http://127.0.0.1:65535"\n'
    )
    done = config_check(path)
    assert done.returncode == 0, done.stderr
    assert 'keep = "366d"' in done.stdout

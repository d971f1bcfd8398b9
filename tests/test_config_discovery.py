"""Where the config comes from: --config, ./config.toml, $XDG_CONFIG_HOME, ERRWATCH_* variables."""

from __future__ import annotations

import argparse
import os
import tomllib
from pathlib import Path

import pytest

from errwatch.cli import build_parser, main
from errwatch.commands.common import find_config
from errwatch.config import environment_names


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    work = tmp_path / "work"
    xdg = tmp_path / "xdg"
    (xdg / "errwatch").mkdir(parents=True)
    work.mkdir()
    monkeypatch.chdir(work)
    for name in [n for n in os.environ if n.startswith("ERRWATCH_")]:
        monkeypatch.delenv(name)
    return {"work": work, "xdg": xdg}


def test_discovery_order(places: dict[str, Path]) -> None:
    env = {"XDG_CONFIG_HOME": str(places["xdg"])}
    assert find_config(args(), env).target.url == "http://localhost:5000"  # defaults
    (places["xdg"] / "errwatch" / "config.toml").write_text('[target]\nurl = "http://xdg:1"\n')
    assert find_config(args(), env).target.url == "http://xdg:1"
    (places["work"] / "config.toml").write_text('[target]\nurl = "http://cwd:2"\n')
    assert find_config(args(), env).target.url == "http://cwd:2"
    explicit = places["work"] / "other.toml"
    explicit.write_text('[target]\nurl = "http://explicit:3"\n')
    assert find_config(args("--config", str(explicit)), env).target.url == "http://explicit:3"


def test_environment_overrides_the_file(places: dict[str, Path]) -> None:
    (places["work"] / "config.toml").write_text('[prometheus]\nurl = "http://file:9090"\n')
    env = {
        "ERRWATCH_PROMETHEUS_URL": "http://env:9090",
        "ERRWATCH_PROMETHEUS_REFRESH": "500ms",
        "ERRWATCH_INJECTION_RATE": "12",
        "ERRWATCH_RECORDING_ENABLED": "false",
    }
    config = find_config(args(), env)
    assert config.prometheus.url == "http://env:9090"
    assert config.prometheus.refresh == 0.5
    assert config.injection.rate == 12.0
    assert config.recording.enabled is False


def test_every_scalar_key_of_a_section_has_a_variable() -> None:
    names = environment_names()
    assert names["ERRWATCH_PROMETHEUS_URL"] == ("prometheus", "url")
    assert names["ERRWATCH_INJECTION_MAX_RATE"] == ("injection", "max_rate")
    assert not [n for n in names if n.startswith("ERRWATCH_LOGS_")]  # lists stay in the file


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "ERRWATCH_PROMETHEUS_URLL",
            "http://x",
            "errwatch: environment: unknown variable ERRWATCH_PROMETHEUS_URLL "
            "(did you mean ERRWATCH_PROMETHEUS_URL?)",
        ),
        (
            "ERRWATCH_INJECTION_RATE",
            "fast",
            'errwatch: environment: ERRWATCH_INJECTION_RATE: expected a number, got string "fast"',
        ),
        (
            "ERRWATCH_TARGET_URL",
            "localhost:5000",
            "errwatch: environment: ERRWATCH_TARGET_URL: expected an http:// or https:// URL, "
            'got "localhost:5000"',
        ),
    ],
)
def test_a_bad_variable_is_named_in_one_line(
    places: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["config", "check"]) == 2
    assert capsys.readouterr().err == message + "\n"


def test_config_check_prints_the_effective_config_as_toml(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (places["work"] / "config.toml").write_text(
        '[[alerts]]\nname = "ratio"\nvalue = "error_ratio"\nfor = "5s"\n'
    )
    monkeypatch.setenv("ERRWATCH_PROMETHEUS_URL", "http://env:9090")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [
        "# from config.toml",
        "# overridden by the environment: ERRWATCH_PROMETHEUS_URL",
    ]
    effective = tomllib.loads(out)
    assert effective["prometheus"]["url"] == "http://env:9090"
    assert effective["alerts"][0]["for"] == "5s"
    assert effective["recording"]["keep"] == "7d"


def test_config_check_masks_header_secrets_and_shows_nested_tables(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (places["work"] / "config.toml").write_text(
        "[prometheus.headers]\n"
        'Authorization = "Bearer abc123"\n'
        'X-Api-Key = "k-999"\n'
        'X-Team = "sre"\n'
        "[prometheus.auth]\n"
        'bearer_token_env = "PROM_TOKEN"\n'
    )
    monkeypatch.setenv("PROM_TOKEN", "sekrit-value")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "abc123" not in out and "k-999" not in out and "sekrit-value" not in out
    effective = tomllib.loads(out)
    assert effective["prometheus"]["headers"] == {
        "Authorization": "***",
        "X-Api-Key": "***",
        "X-Team": "sre",
    }
    assert effective["prometheus"]["auth"]["bearer_token_env"] == "PROM_TOKEN"

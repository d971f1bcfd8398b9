"""--theme and --refresh: checked before anything starts, one line when wrong."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from errwatch.cli import main
from errwatch.commands.dashboard import frame_cap, with_refresh
from errwatch.config import Config, PrometheusConfig


@pytest.fixture(autouse=True)
def no_recordings_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.chdir(tmp_path)
    return state


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--theme", "neon"], "errwatch: --theme: unknown theme 'neon' (known: "),
        (["--refresh", "soon"], 'errwatch: --refresh: invalid duration "soon"'),
        (["demo", "--refresh", "0s"], 'errwatch: --refresh: must be longer than 0, got "0s"'),
    ],
)
def test_bad_display_options_are_one_line_and_start_nothing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], no_recordings_left: Path
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not no_recordings_left.exists()  # refused before a recording was opened


def test_refresh_slows_polling_for_a_slow_link_and_never_speeds_it_up() -> None:
    config = Config(prometheus=PrometheusConfig(refresh=2.0))
    assert with_refresh(config, "5s").prometheus.refresh == 5.0
    assert with_refresh(config, "500ms").prometheus.refresh == 2.0
    assert with_refresh(config, None) is config


def test_a_slower_refresh_lowers_the_frame_cap_but_keys_keep_four_frames_a_second() -> None:
    # At 1 s or faster, 30 fps: a key is drawn within 33 ms (make bench: keypress).
    assert [frame_cap(r) for r in (0.25, 1.0, 2.0, 5.0, 60.0)] == [30, 30, 15, 6, 4]


def test_the_theme_option_is_known_to_every_dashboard_command() -> None:
    from errwatch.cli import build_parser

    parser = build_parser()
    for argv in (["--theme", "nord"], ["demo", "--theme", "nord"]):
        args: argparse.Namespace = parser.parse_args(argv)
        assert args.theme == "nord"

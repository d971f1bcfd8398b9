"""`errwatch sessions` and `errwatch report` on real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from errwatch.cli import main
from errwatch.core.incident import timeline
from errwatch.core.incident.recording import Recorder, session_path

T0 = 1_753_792_500.0  # 2025-07-29 12:35:00 UTC


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[recording]\ndir = "sessions"\n')
    return path


def recording(tmp_path: Path, started: float, target: str) -> Path:
    path = session_path(tmp_path / "sessions", started)
    recorder = Recorder(path, {"started": str(started), "target": target})
    recorder.start()
    recorder.add_event(
        timeline.injection_started(started + 1, method="GET", route="/error", rate=5, run="a")
    )
    recorder.add_event(
        timeline.injection_stopped(started + 9, route="/error", reason="user", sent=40, errors=40)
    )
    recorder.close()
    return path


def test_sessions_lists_newest_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    older = recording(tmp_path, T0, "http://127.0.0.1:5000")
    newer = recording(tmp_path, T0 + 3600, "http://127.0.0.1:5001")
    assert main(["--config", str(config(tmp_path)), "sessions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["session", "started", "events", "groups"]
    assert [line.split()[0] for line in lines[1:]] == [newer.stem, older.stem]
    assert lines[1].endswith("http://127.0.0.1:5001") and lines[1].split()[3] == "2"


def test_report_of_the_newest_in_english_to_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording(tmp_path, T0, "http://127.0.0.1:5000")
    newest = recording(tmp_path, T0 + 3600, "http://127.0.0.1:5001")
    out = tmp_path / "postmortem.md"
    code = main(["--config", str(config(tmp_path)), "report", "--lang", "en", "--out", str(out)])
    assert code == 0
    text = out.read_text()
    assert text.startswith("# Incident report and post-mortem")
    assert "API exposed on `http://127.0.0.1:5001`" in text
    assert f"recording `{newest.name}`" in text
    assert capsys.readouterr().err == f"report written to {out}\n"


def test_report_by_name_in_french_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = recording(tmp_path, T0, "http://127.0.0.1:5000")
    recording(tmp_path, T0 + 3600, "http://127.0.0.1:5001")
    assert main(["--config", str(config(tmp_path)), "report", older.stem]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Rapport d’incident et post‑mortem")  # noqa: RUF001
    assert "Arrêt de l’injection (user) : 40 requêtes, 40 en 5xx" in out  # noqa: RUF001


def test_report_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(config(tmp_path))
    assert main(["--config", cfg, "report"]) == 2
    assert capsys.readouterr().err == (
        f"errwatch: no recording in {tmp_path / 'sessions'} (the dashboard records each run)\n"
    )
    recording(tmp_path, T0, "http://127.0.0.1:5000")
    assert main(["--config", cfg, "report", "session-1999"]) == 2
    assert "no recording named session-1999" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    assert main(["--config", cfg, "report", str(junk)]) == 2
    assert capsys.readouterr().err.startswith(
        f"errwatch: {junk}: not a readable errwatch recording"
    )

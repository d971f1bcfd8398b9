"""`errwatch check`: a verdict a CI job can act on, and a summary a person can read."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from errwatch.cli import main
from errwatch.core.check import CROSSED, HEALTHY, UNUSABLE, CheckRun
from errwatch.core.metrics.rates import SourceState
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.process import free_port
from tests.conftest import wait_until
from tests.engines import EngineStack
from tests.ui import scenes


def write_config(tmp_path: Path, engine: EngineStack | None, extra: str = "") -> Path:
    url = engine.url if engine else f"http://127.0.0.1:{free_port()}"
    api = engine.api.url if engine else "http://127.0.0.1:9"
    logs = f'\n[[logs]]\npath = "{engine.api.log_file}"\n' if engine else ""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[target]\nurl = "{api}"\n[prometheus]\nurl = "{url}"\nrefresh = "500ms"\n'
        f'timeout = "1s"\n{logs}{extra}'
    )
    return path


class Traffic:
    """Requests in the background while a check runs: normal routes and the test route.

    Entering waits until the engine's rates show them: the check then sees traffic for
    its whole duration, however long the engine took to scrape (a loaded machine).
    """

    def __init__(self, engine: EngineStack) -> None:
        self.api_url = engine.api.url
        self.engine = engine
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        with httpx.Client(base_url=self.api_url, timeout=2) as client:
            while not self.stop.wait(0.05):
                client.get("/api/users")
                client.get("/error")

    def __enter__(self) -> Traffic:
        self.thread.start()
        source = PrometheusSource(self.engine.config(), injection_route="/error")

        def seen() -> bool:
            rates = source.poll().current()
            return rates.get("200", 0.0) > 0 and rates.get("500", 0.0) > 0

        try:
            wait_until(seen, 30, f"{self.engine.name} to see the traffic")
        except BaseException:
            self.__exit__()
            raise
        finally:
            source.close()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def run_check(
    capsys: pytest.CaptureFixture[str], config: Path, *args: str
) -> tuple[int, dict[str, object]]:
    code = main(["--config", str(config), "check", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_injected_errors_alone_keep_the_check_healthy(
    engine: EngineStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, engine)
    with Traffic(engine):
        code, report = run_check(capsys, config, "--duration", "4s", "--max-error-ratio", "0.01")
    assert code == HEALTHY, report["reasons"]
    assert report["healthy"] is True
    ratio = report["error_ratio"]
    assert isinstance(ratio, dict) and set(ratio) == {"min", "avg", "max"}
    assert ratio["max"] > 0.2  # half the requests fail... on the test route
    assert report["app_error_ratio"] == {"min": 0.0, "avg": 0.0, "max": 0.0}
    by_status = report["by_status"]
    # Rates, not counts: how many per second a busy machine manages is not on trial.
    assert isinstance(by_status, dict) and by_status["200"] > 0 and by_status["500"] > 0
    assert report["sources"] == {
        "prometheus": "up",
        "logs": {str(engine.api.log_file): "following"},
    }
    assert isinstance(report["tracebacks"], int) and report["tracebacks"] > 5
    [group] = report["groups"]  # type: ignore[misc]
    assert group["type"] == "ZeroDivisionError"
    assert group["injected"] == group["count"] == report["tracebacks"]


def test_errors_on_an_application_route_cross_the_threshold(
    engine: EngineStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Injection configured elsewhere: the 500s of /error are now the application's own.
    config = write_config(tmp_path, engine, '[injection]\nroute = "/elsewhere"\n')
    with Traffic(engine):
        code, report = run_check(capsys, config, "--duration", "3s", "--max-error-ratio", "0.05")
    assert code == CROSSED
    assert report["healthy"] is False
    reasons = report["reasons"]
    assert isinstance(reasons, list) and reasons[0].startswith("application 5xx ratio reached")


def test_a_prometheus_unreachable_for_the_whole_run_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, None)
    code = main(["--config", str(config), "check", "--duration", "1s", "--json"])
    captured = capsys.readouterr()
    assert code == UNUSABLE
    report = json.loads(captured.out)  # the summary is printed all the same
    assert report["sources"]["prometheus"] == "unreachable"
    assert captured.err.startswith("errwatch: prometheus never answered in 1s (unreachable: ")
    assert len(captured.err.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "soon"], '--duration: invalid duration "soon"'),
        (
            ["--max-error-ratio", "5%"],
            '--max-error-ratio: expected a number between 0 and 1, got "5%"',
        ),
        (["--max-error-ratio", "2"], "--max-error-ratio: must be between 0 and 1, got 2"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config = write_config(tmp_path, None)
    assert main(["--config", str(config), "check", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"errwatch: {message}") and len(err.splitlines()) == 1


def test_the_text_summary_reads_as_a_report(tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    done = subprocess.run(
        [sys.executable, "-m", "errwatch", "--config", str(config), "check", "--duration", "1s"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout.splitlines()[0].startswith("errwatch check: 1s on prometheus http://")
    assert "verdict: no verdict" in done.stdout


def add(run: CheckRun, *names: str) -> None:
    for name in names:
        run.add_metrics(scenes.STATES[name])


@pytest.mark.parametrize(
    ("polls", "code", "reason"),
    [
        (("up", "up"), HEALTHY, "application 5xx ratio stayed at or under 5.0%"),
        (("injecting", "up"), HEALTHY, "application 5xx ratio stayed at or under 5.0%"),
        (("up", "target-down", "up"), CROSSED, "the target was down during 1 of 3 polls"),
        (("unreachable", "timeout"), UNUSABLE, "prometheus never answered in 30s (timeout: "),
        (("no-data", "stale"), UNUSABLE, "no current data during the whole run (no data: 1, "),
        (("unreachable", "up"), HEALTHY, "application 5xx ratio stayed"),
    ],
    ids=["healthy", "test-errors-only", "target-down", "never-answered", "no-data", "recovered"],
)
def test_the_verdict(polls: tuple[str, ...], code: int, reason: str) -> None:
    run = CheckRun(threshold=0.05, injection_route="/error")
    add(run, *polls)
    summary = run.summary(30.0, url="http://x")
    assert summary.exit_code == code
    assert summary.reasons[0].startswith(reason)


def test_application_errors_above_the_threshold_fail_even_when_the_target_recovers() -> None:
    run = CheckRun(threshold=0.01, injection_route="/error")
    add(run, "up")  # the live scene ends with a burst of application errors... 40 s ago
    live = scenes.STATES["up"]
    assert live.app_error_ratio() == 0.0
    burst = scenes.live(at=scenes.AT - 30)  # ...which is "now" 30 s earlier
    assert burst.app_error_ratio() is not None and burst.app_error_ratio() > 0.01
    run.add_metrics(burst)
    summary = run.summary(10.0, url="http://x")
    assert summary.exit_code == CROSSED
    assert summary.app_error_ratio.max == pytest.approx(burst.app_error_ratio())
    assert summary.final_state is SourceState.UP


def test_an_estimated_split_is_said_in_the_verdict_and_the_json() -> None:
    from dataclasses import replace

    run = CheckRun(threshold=0.05, injection_route="/error")
    live = replace(scenes.injecting(), estimated=True, found='m{job="j"} status code')
    run.add_metrics(live)
    summary = run.summary(5.0, url="http://prom:9090")
    text = summary.to_text()
    assert "application (estimated):" in text
    assert '  series       m{job="j"} status code' in text
    assert summary.reasons == ("application 5xx ratio (estimated) stayed at or under 5.0%",)
    data = summary.to_json()
    assert data["app_error_ratio_estimated"] is True and data["series"] == 'm{job="j"} status code'

"""`errwatch inject` as a person or a script runs it, against the real demo API."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from errwatch.demo.process import free_port
from errwatch.demo.stack import DemoApi
from tests.conftest import api_counter, wait_until
from tests.core.injection.injected import HangingPeer


def config(tmp_path: Path, target: str, injection: str = "", prometheus: str = "") -> Path:
    """A config for the target; the guard's Prometheus is unreachable unless given."""
    path = tmp_path / "inject.toml"
    prometheus = prometheus or f"http://127.0.0.1:{free_port()}"
    path.write_text(
        f'[target]\nurl = "{target}"\n'
        f'[prometheus]\nurl = "{prometheus}"\nrefresh = "200ms"\ntimeout = "500ms"\n'
        f"[injection]\n{injection}\n"
    )
    return path


def errwatch(path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "errwatch", "inject", "--config", str(path), *args]


def inject(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(errwatch(path, *args), capture_output=True, text=True, timeout=60)


def test_the_json_summary_matches_what_the_api_counted(tmp_path: Path, demo_api: DemoApi) -> None:
    done = inject(config(tmp_path, demo_api.url), "--rate", "40", "--duration", "1s", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["sent"] == 40
    assert summary["by_status"] == {"500": 40}
    assert summary["errors"] == 0
    # A wide bound: a late wake-up on a busy machine stretches a 1 s run (precision:
    # benchmarks/bench_injection.py).
    assert summary["achieved_rate"] == pytest.approx(40, rel=0.1)
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]
    assert summary["stopped_by"] == "duration"
    assert api_counter(demo_api.url, "/error", "500") == 40


def test_the_caps_hold_on_the_command_line_and_it_says_so(
    tmp_path: Path, demo_api: DemoApi
) -> None:
    path = config(
        tmp_path, demo_api.url, 'rate = 5\nmax_rate = 50\nduration = "1s"\nmax_duration = "1s"'
    )
    began = time.monotonic()
    done = inject(path, "--rate", "1000", "--duration", "1h")
    assert time.monotonic() - began < 10
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "errwatch inject: --rate 1000/s is above injection.max_rate: injecting at 50/s",
        "errwatch inject: --duration 1h is above injection.max_duration: stopping after 1s",
    ]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sent 50 in 1.0s: ")
    assert lines[0].endswith("(asked 50/s); stopped by duration")
    assert lines[1] == "answers: 500 x50; timeouts 0, connection errors 0, skipped 0"
    assert lines[3].startswith("guard: no reading (Prometheus unreachable: ")
    assert api_counter(demo_api.url, "/error", "500") == 50


def test_a_remote_target_is_refused_in_one_line(tmp_path: Path) -> None:
    done = inject(config(tmp_path, "http://192.0.2.10:5000"), "--duration", "1s")
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("errwatch: refusing to inject faults into 192.0.2.10: not a loopback")
    assert line.endswith('add "192.0.2.10" to injection.allow_remote in the config.')


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "fast"], 'errwatch: --rate: expected requests per second, got "fast"'),
        (["--rate", "0"], "errwatch: --rate: must be greater than 0, got 0"),
        (["--duration", "5"], 'errwatch: --duration: invalid duration "5" (write e.g. "500ms", '),
        (["--route", "error"], 'errwatch: --route: must start with "/", got "error"'),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = inject(config(tmp_path, "http://127.0.0.1:5000"), *args)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith(message)


def test_a_config_mistake_names_the_file_and_key(tmp_path: Path) -> None:
    path = config(tmp_path, "http://127.0.0.1:5000", "rat = 5")
    done = inject(path)
    assert done.returncode == 2
    assert done.stderr == f"errwatch: {path}: unknown key injection.rat (did you mean rate?)\n"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_cleanly_and_print_the_summary(
    tmp_path: Path, demo_api: DemoApi, signum: signal.Signals
) -> None:
    path = config(tmp_path, demo_api.url)
    proc = subprocess.Popen(
        errwatch(path, "--rate", "50", "--duration", "1m", "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: api_counter(demo_api.url, "/error", "500") >= 20, 10, "injection")
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=5)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    summary = json.loads(out)
    assert summary["stopped_by"] == "user"
    # The process is gone: what the API counted is what was sent, and it stays so.
    assert api_counter(demo_api.url, "/error", "500") == summary["sent"]
    time.sleep(0.5)  # a quiet window in which nothing may arrive
    assert api_counter(demo_api.url, "/error", "500") == summary["sent"]


def test_the_command_does_not_load_textual(tmp_path: Path, demo_api: DemoApi) -> None:
    path = config(tmp_path, demo_api.url)
    code = (
        "import sys\nfrom errwatch.cli import main\n"
        f"main(['inject', '--config', {str(path)!r}, '--rate', '10', '--duration', '200ms'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[0].startswith("sent 2 in ")
    assert done.stdout.splitlines()[-1] == "[]"


async def test_a_hung_prometheus_does_not_hold_the_end_back(
    tmp_path: Path, demo_api: DemoApi
) -> None:
    async with HangingPeer() as prometheus:
        path = config(tmp_path, demo_api.url, prometheus=prometheus.url)
        path.write_text(path.read_text().replace('timeout = "500ms"', 'timeout = "20s"'))
        began = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *errwatch(path, "--rate", "10", "--duration", "500ms", "--json"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
        took = time.monotonic() - began
    assert proc.returncode == 0
    assert json.loads(out)["stopped_by"] == "duration"
    assert prometheus.accepted  # the guard did ask, and got no answer
    assert took < 10  # not the 20 s query timeout (a process start included)

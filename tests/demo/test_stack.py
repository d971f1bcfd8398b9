"""The demo stack: real processes, port fallback, nothing left behind."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import httpx

from errwatch.demo.process import free_port, port_is_free
from errwatch.demo.stack import DemoStack
from tests.conftest import wait_until


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stack_takes_a_free_port_when_the_wanted_one_is_taken(
    tmp_path: Path, prometheus_bin: str
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        stack = DemoStack(tmp_path, api_port=taken, traffic_rate=0)
        with stack:
            assert stack.api.port != taken
            assert f"({taken} was taken)" in stack.notice()
            assert httpx.get(f"{stack.api.url}/health").json() == {"status": "ok"}
            assert stack.prometheus is not None
            assert httpx.get(f"{stack.prometheus.url}/-/ready").status_code == 200
            api_pid = stack.api.pid
            prometheus_port = stack.prometheus.port
        assert api_pid is not None
        assert not alive(api_pid)
        assert port_is_free(stack.api.port)
        assert port_is_free(prometheus_port)


def test_port_0_asks_for_a_free_port_and_is_not_called_taken(tmp_path: Path) -> None:
    with DemoStack(tmp_path, api_port=0, use_prometheus=False, traffic_rate=0) as stack:
        assert stack.api.port != 0
        assert stack.notice().startswith(f"demo API on {stack.api.host_port} · ")


def test_without_prometheus_the_stack_says_so(tmp_path: Path) -> None:
    with DemoStack(tmp_path, api_port=free_port(), use_prometheus=False, traffic_rate=0) as stack:
        assert stack.prometheus is None
        assert "no Prometheus binary: reading /metrics directly" in stack.notice()


def test_background_traffic_reaches_normal_routes_only(tmp_path: Path) -> None:
    with DemoStack(tmp_path, api_port=free_port(), use_prometheus=False, traffic_rate=20) as stack:
        wait_until(lambda: stack.api.log_file.read_text().count("HTTP/1.1") >= 10, 10, "traffic")
        log = stack.api.log_file.read_text()
        assert "/api/users" in log
        assert "/error" not in log


def test_the_api_dies_with_its_parent_thread(tmp_path: Path) -> None:
    # PR_SET_PDEATHSIG: a SIGKILLed errwatch must not leave its API listening.
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from errwatch.demo.stack import DemoApi\n"
        "api = DemoApi(Path(sys.argv[1]), port=0)\n"
        "api.start()\n"
        "print(api.pid, api.port, flush=True)\n"
        "time.sleep(60)\n"
    )
    import subprocess
    import sys

    parent = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pid, port = map(int, parent.stdout.readline().split())
    assert alive(pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    wait_until(lambda: not alive(pid) or _zombie(pid), 10, "the API to exit")
    wait_until(lambda: port_is_free(port), 10, "the port to be released")


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] == "Z"
    except FileNotFoundError:
        return True

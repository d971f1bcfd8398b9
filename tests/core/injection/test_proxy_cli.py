"""`errwatch proxy` as a script runs it: in front of a real werkzeug server, stopped by
Ctrl-C or SIGTERM, its summary, its exit codes, and one line for every mistake."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from errwatch.demo.process import read_line
from tests.core.injection.upstream import Upstream, upstream

READY = re.compile(r"listening on 127\.0\.0\.1:(\d+) -> ")


@pytest.fixture
def origin() -> Iterator[Upstream]:
    with upstream() as server:
        yield server


def command(tmp_path: Path, *args: str) -> list[str]:
    config = tmp_path / "none.toml"
    config.write_text("")
    return [sys.executable, "-m", "errwatch", "proxy", "--config", str(config), *args]


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """The proxy running, and the port it listens on (from its first line on stderr)."""
    proc = subprocess.Popen(
        command(tmp_path, "--listen", "127.0.0.1:0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = read_line(proc.stderr, time.monotonic() + 15) or ""
    found = READY.search(line)
    if found is None:
        proc.kill()
        pytest.fail(f"no ready line: {line!r}")
    return proc, int(found.group(1))


def finish(proc: subprocess.Popen[bytes], signum: int) -> tuple[int, str, str]:
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=15)
    return proc.returncode, out.decode(), err.decode()


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_prints_the_json_summary_and_leaves_nothing(
    tmp_path: Path, origin: Upstream
) -> None:
    proc, port = start(
        tmp_path, "--upstream", origin.url, "--abort", "503", "--ratio", "0.5", "--json"
    )
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        codes = [client.get(f"/echo/{n}").status_code for n in range(10)]
    code, out, err = finish(proc, signal.SIGINT)
    assert code == 0, err
    assert codes == [503, 200] * 5
    summary = json.loads(out)
    assert summary["forwarded"] == 5
    assert summary["faulted"] == {"abort": 5, "delay": 0, "reset": 0}
    assert summary["by_status"] == {"200": 5, "503": 5}
    assert summary["stopped_by"] == "user"
    assert summary["fault"]["kind"] == "abort" and summary["fault"]["ended_by"] == "user"
    assert summary["overhead_ms"]["p50"] is not None
    assert "Traceback" not in err
    assert not listening(port)


def test_after_the_duration_everything_passes_until_sigterm(
    tmp_path: Path, origin: Upstream
) -> None:
    proc, port = start(
        tmp_path, "--upstream", origin.url, "--delay", "200ms", "--duration", "500ms"
    )
    assert proc.stderr is not None
    over = read_line(proc.stderr, time.monotonic() + 5) or ""
    assert "the fault window is over: passing everything through" in over
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        began = time.monotonic()
        assert client.get("/echo").status_code == 200
        assert time.monotonic() - began < 0.2
    code, out, err = finish(proc, signal.SIGTERM)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"proxied 127.0.0.1:{port} -> {origin.url} for ")
    assert lines[0].endswith("stopped by SIGTERM")
    assert lines[1].startswith("forwarded 1 (connections 1); faulted 0")
    assert lines[-1].startswith("fault: delay 200ms on every request, active 0.5s")
    assert lines[-1].endswith("ended by duration")
    assert not listening(port)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--abort", "99"], '--abort: expected an HTTP error status 400..599, got "99"'),
        (["--ratio", "0"], "--ratio: must be above 0 and at most 1, got 0"),
        (["--ratio", "half"], '--ratio: expected a share above 0 and at most 1, got "half"'),
        (["--route", "api/*"], '--route: a path glob starts with "/" or "*", got "api/*"'),
        (["--delay", "soon"], '--delay: invalid duration "soon"'),
        (["--refuse"], '--refuse: "refuse" is for --tcp links'),
        (["--listen", "127.0.0.1:x"], '--listen: invalid address "127.0.0.1:x"'),
        (
            ["--upstream", "ftp://x"],
            '--upstream: expected an http:// or https:// URL, got "ftp://x"',
        ),
        (["--upstream", "http://192.0.2.1:80"], "refusing to proxy faults to 192.0.2.1:"),
        (["--tcp", "--upstream", "127.0.0.1"], "--upstream: expected HOST:PORT with --tcp"),
        (
            ["--tcp", "--upstream", "127.0.0.1:6379", "--abort", "500"],
            '--abort: "abort" answers an HTTP',
        ),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    defaults = {"--listen": "127.0.0.1:0", "--upstream": "http://127.0.0.1:1"}
    for option, value in defaults.items():
        if option not in args:
            args = [option, value, *args]
    done = subprocess.run(command(tmp_path, *args), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"errwatch: {message}")


def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path, origin: Upstream) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            command(tmp_path, "--listen", f"127.0.0.1:{port}", "--upstream", origin.url),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 2
    assert done.stderr == (
        f"errwatch: proxy proxy: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def test_tcp_mode_relays_and_counts_connections(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        upstream_port = server.getsockname()[1]
        proc, port = start(
            tmp_path, "--tcp", "--upstream", f"127.0.0.1:{upstream_port}", "--reset", "--json"
        )
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            accepted, _ = server.accept()
            client.sendall(b"PING\r\n")
            with pytest.raises(ConnectionResetError):
                client.recv(10)
            accepted.close()
    code, out, _ = finish(proc, signal.SIGINT)
    summary = json.loads(out)
    assert code == 0 and summary["mode"] == "tcp"
    assert summary["faulted"] == {"delay": 0, "reset": 1, "refuse": 0}
    assert summary["connections"] == 1 and "by_status" in summary
    assert not listening(port)

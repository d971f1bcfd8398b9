"""Faults on a dependency's link as a person sees them in tmux: `errwatch demo` with its
inventory proxies, `errwatch proxy` alone; nothing left listening after Ctrl-C, SIGTERM
or a terminal that goes away."""

from __future__ import annotations

import re
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.ui.tmuxing import leave, new_session, processes_mentioning, screen, tmux

LISTENING = re.compile(r"proxy (inventory(?:-slow)?) listening: 127\.0\.0\.1:(\d+)")


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_screen(session: str, pattern: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(session)
        if re.search(pattern, shown):
            return shown
        time.sleep(0.1)
    pytest.fail(f"{pattern!r} never showed:\n{shown}")


def start_demo(tmp_path: Path, session: str) -> dict[str, int]:
    """`errwatch demo` at 80x24, the inventory fault started; the proxies' ports."""
    errwatch = Path(sys.executable).parent / "errwatch"
    command = f"cd {tmp_path} && TMPDIR={tmp_path} {errwatch} demo --port 0; echo EXITED=$?"
    new_session(session, command + "; sleep 60")
    wait_screen(session, "Start injection")
    tmux("send-keys", "-t", session, "t")
    wait_screen(session, "Start fault")
    tmux("send-keys", "-t", session, "f")
    wait_screen(session, "Stop fault")
    tmux("send-keys", "-t", session, "3")
    shown = wait_screen(session, r"proxy inventory-slow listening: 127\.0\.0\.1:\d+")
    shown = wait_screen(session, r"proxy inventory listening: 127\.0\.0\.1:\d+")
    ports = {name: int(port) for name, port in LISTENING.findall(shown)}
    assert set(ports) == {"inventory", "inventory-slow"}, shown
    assert all(accepts(port) for port in ports.values())
    assert "fault started on inventory: reset on 30% of requests" in shown.replace("\n", " ")
    return ports


@pytest.mark.parametrize("how", ["C-c", "SIGTERM"])
def test_the_demo_with_a_fault_on_leaves_nothing_behind(
    tmp_path: Path, session: str, prometheus_bin: str, how: str
) -> None:
    ports = start_demo(tmp_path, session)
    children = [p for p in processes_mentioning(str(tmp_path)) if "sleep 60" not in p]
    assert any("errwatch.demo.inventory" in p for p in children), children
    final = leave(session, how)
    assert "EXITED=0" in final and "Traceback" not in final
    assert [p for p in processes_mentioning(str(tmp_path)) if "sleep 60" not in p] == []
    assert not any(accepts(port) for port in ports.values())


def test_a_dropped_terminal_ends_the_demo_and_its_proxies_after_the_api_failed(
    tmp_path: Path, session: str, prometheus_bin: str
) -> None:
    ports = start_demo(tmp_path, session)
    # Every panel shows the cut link: the API's tracebacks, an alert that says why.
    tmux("send-keys", "-t", session, "2")
    wait_screen(session, r"ReadError\s+api\.py:\d+ get_product", timeout=40)
    wait_screen(session, "TEST ALERT")  # the new group's alert, a test one
    tmux("send-keys", "-t", session, "3")
    wait_screen(session, r"first httpx\.ReadError at api\.py:\d+ in\s+get_product\s+during")
    tmux("kill-session", "-t", session)
    deadline = time.monotonic() + 10
    while processes_mentioning(str(tmp_path)) or any(accepts(p) for p in ports.values()):
        assert time.monotonic() < deadline, processes_mentioning(str(tmp_path))
        time.sleep(0.1)


@pytest.mark.parametrize("how", ["C-c", "SIGTERM", "hangup"])
def test_errwatch_proxy_leaves_nothing_listening(tmp_path: Path, session: str, how: str) -> None:
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen()
        target = f"127.0.0.1:{upstream.getsockname()[1]}"
        errwatch = Path(sys.executable).parent / "errwatch"
        config = tmp_path / "proxy.toml"
        config.write_text("")
        command = (
            f"{errwatch} proxy --config {config} --tcp --upstream {target} "
            "--listen 127.0.0.1:0 --delay 1s; echo EXITED=$?; sleep 60"
        )
        new_session(session, command)
        shown = wait_screen(session, r"listening on 127\.0\.0\.1:\d+")
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", shown).group(1))  # type: ignore[union-attr]
        assert accepts(port)
        if how == "hangup":
            tmux("kill-session", "-t", session)
            deadline = time.monotonic() + 10
            while processes_mentioning(str(config)):
                assert time.monotonic() < deadline, processes_mentioning(str(config))
                time.sleep(0.1)
        else:
            final = leave(session, how)
            assert "EXITED=0" in final and "Traceback" not in final
            stopped = "user" if how == "C-c" else "SIGTERM"
            assert f"stopped by {stopped}" in final
        assert not accepts(port)

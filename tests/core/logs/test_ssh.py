"""Test hosts over SSH, against Debian's real OpenSSH server started by the test.

Each host is an sshd on its own loopback port with keys the test made (tests/core/logs/
sshd.py); errwatch goes through the real ``ssh`` client with that config only. The
connection is cut mid-traceback by stopping the server (every session killed) and
restored by starting it again on the same port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from errwatch.config import LogConfig
from errwatch.core.logs.logwatch import TracebackMonitor
from tests.conftest import require_binary, wait_until
from tests.core.logs.following import Following, start
from tests.core.logs.sshd import Sshd, sshd_binary

RECORD = (
    "2025-07-29 14:35:{n:02d},000 ERROR [api] Exception on /orders/{n} [GET]\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/orders.py", line 40, in show\n'
    "    return ORDERS[order_id]\n"
    "KeyError: 'o-{n}'\n"
)


@pytest.fixture(scope="module")
def sshd_bin() -> str:
    return require_binary("openssh-server", sshd_binary())


@pytest.fixture
def hosts(sshd_bin: str, tmp_path: Path) -> Iterator[list[Sshd]]:
    """Two test hosts (start them with ``.start()``), stopped at the end."""
    servers = [Sshd(sshd_bin, tmp_path / f"host{n}") for n in (1, 2)]
    yield servers
    for server in servers:
        server.stop()


def watch(follow: list[Following], *logs: LogConfig) -> Following:
    following = start(follow, TracebackMonitor(logs))
    wait_until(
        lambda: following.updates and all(s.state == "following" for s in following.last.files),
        20,
        "every remote file followed",
    )
    return following


def follow_one(follow: list[Following], host: Sshd, log: Path, text: str = "") -> Following:
    """Start ``host``, write ``text`` to ``log`` and follow that file on the host."""
    host.start()
    log.write_text(text)
    return watch(follow, LogConfig(host=host.host, path=str(log), ssh_options=host.options))


def append(path: Path, text: str) -> None:
    with path.open("a") as log:
        log.write(text)


def test_a_remote_file_is_followed_and_the_host_is_the_stream(
    hosts: list[Sshd], tmp_path: Path, follow: list[Following]
) -> None:
    host = hosts[0]
    log = tmp_path / "api.log"
    following = follow_one(follow, host, log, RECORD.format(n=1))
    wait_until(lambda: following.events() == 1, 10, "the backfilled traceback")
    append(log, RECORD.format(n=2))
    wait_until(lambda: following.events() == 2, 10, "the appended traceback")
    [group] = following.last.groups
    assert group.type == "KeyError"
    assert group.sources == ((host.host, 2),)
    assert group.sample.record is not None and group.sample.record.route == "/orders/2"


def test_a_cut_connection_resumes_where_it_stopped(
    hosts: list[Sshd], tmp_path: Path, follow: list[Following]
) -> None:
    host = hosts[0]
    log = tmp_path / "api.log"
    following = follow_one(follow, host, log, RECORD.format(n=1))
    wait_until(lambda: following.events() == 1, 10, "the first traceback")
    second = RECORD.format(n=2).splitlines(keepends=True)
    append(log, "".join(second[:3]))  # the record, the header, one frame: then the cut
    child = following.monitor.tail.children[0]
    wait_until(lambda: child.offset == log.stat().st_size, 10, "the half traceback read")
    host.stop()
    wait_until(lambda: "reconnecting" in [s for s, _ in following.states()], 10, "reconnecting")
    append(log, "".join(second[3:]) + RECORD.format(n=3))
    host.start()
    wait_until(lambda: following.events() == 3, 30, "the rest after the reconnection")
    assert following.last.incomplete == 0  # the cut traceback is whole, none twice
    groups = following.last.groups
    assert [(g.type, g.count) for g in groups] == [("KeyError", 3)]
    states = following.states()
    assert any(state == "reconnecting" and "Connection" in detail for state, detail in states), (
        states
    )


def test_a_fleet_counts_the_same_group_per_host(
    hosts: list[Sshd], tmp_path: Path, follow: list[Following]
) -> None:
    logs = []
    for n, host in enumerate(hosts):
        host.start()
        log = tmp_path / f"api-{n}.log"
        log.write_text(RECORD.format(n=1) * (n + 1))
        logs.append(LogConfig(host=host.uri, path=str(log), ssh_options=host.options))
    following = watch(follow, *logs)
    wait_until(lambda: following.events() == 3, 15, "every host's tracebacks")
    [group] = following.last.groups
    assert dict(group.sources) == {
        f"{hosts[0].user}@127.0.0.1:{hosts[0].port}": 1,
        f"{hosts[1].user}@127.0.0.1:{hosts[1].port}": 2,
    }
    assert {status.state for status in following.last.files} == {"following"}


def test_rotation_and_truncation_on_the_host(
    hosts: list[Sshd], tmp_path: Path, follow: list[Following]
) -> None:
    host = hosts[0]
    log = tmp_path / "api.log"
    following = follow_one(follow, host, log)
    append(log, RECORD.format(n=1))
    wait_until(lambda: following.events() == 1, 10, "the first traceback")
    log.rename(tmp_path / "api.log.1")
    append(tmp_path / "api.log.1", RECORD.format(n=2))  # the old writer, after the rename
    log.write_text(RECORD.format(n=3))
    wait_until(lambda: following.events() == 3, 15, "both files read")
    log.write_text("")  # copytruncate
    append(log, RECORD.format(n=4))
    wait_until(lambda: following.events() == 4, 15, "the truncated file read again")
    assert following.last.incomplete == 0


def test_a_refused_key_is_a_state_not_a_crash(
    hosts: list[Sshd], tmp_path: Path, follow: list[Following]
) -> None:
    host = hosts[0]
    host.start()
    other_key = tmp_path / "other_key"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {other_key}")
    options = (*host.options, "-o", f"IdentityFile={other_key}")
    config = host.dir / "ssh_config"
    config.write_text(config.read_text().replace(str(host.dir / "client_key"), str(other_key)))
    following = start(
        follow,
        TracebackMonitor([LogConfig(host=host.host, path="/var/log/api.log", ssh_options=options)]),
    )
    wait_until(
        lambda: any("Permission denied" in detail for _, detail in following.states()),
        20,
        "the refusal shown",
    )
    assert following.events() == 0


def test_nothing_is_left_running_after_close(
    hosts: list[Sshd], tmp_path: Path, follow: list[Following]
) -> None:
    host = hosts[0]
    log = tmp_path / "api.log"
    following = follow_one(follow, host, log)
    assert host.sessions(), "the connection and its remote script"
    control = following.monitor.tail.fleet._dir
    assert control is not None and os.listdir(control)
    following.close()
    follow.remove(following)
    wait_until(lambda: not host.sessions(), 10, "the remote side gone")
    assert not Path(control).exists()


def test_files_of_one_host_share_one_connection(
    hosts: list[Sshd], tmp_path: Path, follow: list[Following]
) -> None:
    host = hosts[0]
    host.start()
    logs = []
    for name in ("api.log", "worker.log"):
        (tmp_path / name).write_text(RECORD.format(n=1))
        logs.append(LogConfig(host=host.host, path=str(tmp_path / name), ssh_options=host.options))
    following = watch(follow, *logs)
    wait_until(lambda: following.events() == 2, 10, "both files")
    assert len(following.monitor.tail.fleet.links) == 1
    # One connection: sshd serves every session of it in one process ("sshd: user@notty").
    connections = [
        pid
        for pid in host.sessions()
        if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(f"sshd: {host.user}@".encode())
    ]
    assert len(connections) == 1, connections

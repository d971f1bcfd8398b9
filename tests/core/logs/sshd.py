"""Debian's real OpenSSH server, started by a test on a free loopback port.

Everything is the test's own: a host key and a client key generated in a temporary
directory, an ``sshd_config`` (StrictModes off, no PAM, only that key, the current
user), and an ``ssh_config`` that errwatch is given with ``-F`` (its own known_hosts,
that key only). ``~/.ssh`` is never read or written. As root, sshd needs its privilege
separation directory (``/run/sshd``, made by Debian's service at boot): the fixture
makes it when it is missing, and lets root log in with the key only.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from errwatch.demo.process import free_port

SSHD = "/usr/sbin/sshd"


def sshd_binary() -> str | None:
    """The installed sshd, if any."""
    return SSHD if os.access(SSHD, os.X_OK) else shutil.which("sshd")


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path.with_suffix(".pub").read_text().strip()


class Sshd:
    """One sshd on 127.0.0.1:<port>; :meth:`stop` and :meth:`start` to cut and restore."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.user = getpass.getuser()
        self.proc: subprocess.Popen[bytes] | None = None
        host_key = workdir / "host_key"
        client_key = workdir / "client_key"
        host_public = _keygen(host_key)
        (workdir / "authorized_keys").write_text(_keygen(client_key) + "\n")
        (workdir / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_public}\n")
        root = os.geteuid() == 0
        (workdir / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {workdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    f"AllowUsers {self.user}",
                    f"PermitRootLogin {'prohibit-password' if root else 'no'}",
                    "MaxSessions 20",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        (workdir / "ssh_config").write_text(
            "\n".join(
                [
                    "Host *",
                    f"  User {self.user}",
                    f"  Port {self.port}",
                    f"  IdentityFile {client_key}",
                    "  IdentitiesOnly yes",
                    f"  UserKnownHostsFile {workdir / 'known_hosts'}",
                    "  GlobalKnownHostsFile /dev/null",
                    "  StrictHostKeyChecking yes",
                    "",
                ]
            )
        )
        client_key.chmod(0o600)
        if root:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    @property
    def host(self) -> str:
        """The destination errwatch is given."""
        return f"{self.user}@127.0.0.1"

    @property
    def uri(self) -> str:
        """The destination with its port: several such hosts on one address stay apart."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    @property
    def options(self) -> tuple[str, ...]:
        """The ssh arguments that point at this server and its keys only."""
        return ("-F", str(self.dir / "ssh_config"))

    def start(self) -> None:
        """Start and wait until the port accepts connections."""
        log = (self.dir / "sshd.log").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "-D", "-e", "-f", str(self.dir / "sshd_config")],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.dir / 'sshd.log').read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.02)
        raise RuntimeError("sshd did not listen in 10 s")

    def sessions(self) -> list[int]:
        """Pids of the per-connection sshd processes (children of the listener)."""
        if self.proc is None:
            return []
        return _descendants(self.proc.pid)

    def stop(self) -> None:
        """Stop the listener and every connection it serves (a host going away)."""
        if self.proc is None:
            return
        for pid in [*self.sessions(), self.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def run(self, command: str) -> str:
        """Run a command on the host with the test's own ssh config."""
        done = subprocess.run(
            ["ssh", *self.options, "-o", "BatchMode=yes", self.host, command],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found

"""A log file on a test host, followed over the user's own ``ssh``.

``[[logs]] host = "user@host"`` with ``path = "/var/log/api.log"``. errwatch runs the
``ssh`` on the PATH, so the user's ``~/.ssh/config``, keys and agent apply; it stores no
secret, and BatchMode means a missing key is an error shown, never a prompt.

One connection per host: :class:`HostLink` keeps an ``ssh -M -N`` master running (a
control socket in a private directory) and every file of that host is followed through
it (``-S socket``). On the host, a small POSIX ``sh`` script (:data:`REMOTE_SCRIPT`,
sent as the command, nothing installed) does ``tail -F``: it reads the file through a
descriptor it keeps open (a renamed file is read to its end, then the new file at the
path), notices truncation (a shorter file, or other first bytes: copytruncate and a
rewrite) and a missing file, and says so in marker lines that carry a
random token (``\\x1e<token> O <inode> <offset>`` when it starts reading a file at a
byte offset, ``M`` missing, ``T`` truncated, ``H`` heartbeat every second). Everything
else is the file's bytes, counted here: after a dropped connection the script is sent
the inode and offset reached, and goes on from there (or from the old file found under
another name in the directory), so nothing is lost and nothing read twice.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence

from errwatch.core.logs.children import Supervisor
from errwatch.core.logs.commands import ChildTail
from errwatch.core.logs.follow import FollowState, Identity
from errwatch.core.logs.lines import LineSplitter

POLL_EVERY = 0.2
"""Seconds between two looks at the remote file."""
DRAIN_TICKS = 10
"""Looks (2 s) a renamed file is still read before the new file at the path is opened."""
HEARTBEAT_TICKS = 5
"""Looks between two heartbeats (1 s)."""
SILENT_LIMIT = 10.0
"""Seconds without a byte or a heartbeat after which the connection is taken for dead."""
MASTER_OPTIONS = (
    "-o",
    "BatchMode=yes",
    "-o",
    "ServerAliveInterval=3",
    "-o",
    "ServerAliveCountMax=2",
    "-o",
    "ConnectTimeout=10",
)

REMOTE_SCRIPT = r"""
p=$1 want=$2 off=$3 tok=$4 every=$5 drain=$6 beat=$7
case $p in "~/"*) p="$HOME/${p#"~/"}" ;; esac
mark() { printf '\036%s %s\n' "$tok" "$*"; }
ino_of() { set -- $(ls -lnLid -- "$1" 2>/dev/null); echo "${1:-}"; }
fd_info() { set -- $(ls -lnLid /dev/fd/3 2>/dev/null); fino=${1:-}; fsize=${6:-0}; }
nap() { sleep "$every" 2>/dev/null || sleep 1; }
head_of() { dd if=/dev/fd/3 bs=1 count="$1" 2>/dev/null | cksum; }
remember() {
  hlen=$fsize; [ "$hlen" -gt 64 ] && hlen=64
  head=$(head_of "$hlen")
}
open_at() {
  [ -f "$p" ] && [ -r "$p" ] || return 1
  command exec 3<"$p" || return 1
  fd_info
  case $1 in
    end) at=$fsize ;;
    -*) at=$((fsize + $1)); [ "$at" -lt 0 ] && at=0 ;;
    *) at=$1; if [ "$at" -gt "$fsize" ]; then mark T; at=0; fi ;;
  esac
  [ "$at" -gt 0 ] && dd bs=1 skip="$at" count=0 <&3 >/dev/null 2>&1
  mark O "$fino" "$at"
  last=$fsize
  remember
}
wait_open() {
  missing=
  until open_at "$1"; do
    [ -z "$missing" ] && { mark M; missing=1; }
    nap
    set -- 0
  done
}
if [ "$want" != - ] && [ "$(ino_of "$p")" != "$want" ]; then
  old=$(ls -1i -- "$(dirname -- "$p")" 2>/dev/null | while read -r i name; do
    [ "$i" = "$want" ] && { echo "$name"; break; }; done)
  if [ -n "$old" ] && command exec 3<"$(dirname -- "$p")/$old"; then
    fd_info
    if [ "$off" -le "$fsize" ]; then
      [ "$off" -gt 0 ] && dd bs=1 skip="$off" count=0 <&3 >/dev/null 2>&1
      mark O "$fino" "$off"
      cat <&3 || exit 0
    fi
  fi
  off=0
fi
wait_open "$off"
moved=0 n=0
while :; do
  cat <&3 || exit 0
  fd_info
  # Shorter, or other first bytes (copytruncate, then a rewrite as long): from the start.
  if [ "$fsize" -lt "$last" ] || { [ "$hlen" -gt 0 ] && [ "$(head_of "$hlen")" != "$head" ]; }; then
    mark T
    wait_open 0
    continue
  fi
  [ "$hlen" -lt 64 ] && [ "$fsize" -gt "$hlen" ] && remember
  last=$fsize
  pino=$(ino_of "$p")
  if [ "$pino" != "$fino" ]; then
    moved=$((moved + 1))
    if [ "$moved" -gt "$drain" ] && [ -n "$pino" ]; then
      wait_open 0
      moved=0
      continue
    fi
    [ -z "$pino" ] && [ "$moved" -eq 1 ] && mark M
  else
    moved=0
  fi
  n=$((n + 1))
  [ $((n % beat)) -eq 0 ] && mark H
  nap
done
"""


def remote_command(path: str, inode: str, offset: str, token: str) -> str:
    """The command line sent to the host: the script and its arguments, quoted."""
    args = [path, inode, offset, token, f"{POLL_EVERY:g}", str(DRAIN_TICKS), str(HEARTBEAT_TICKS)]
    return "sh -c " + shlex.quote(REMOTE_SCRIPT) + " errwatch " + " ".join(map(shlex.quote, args))


class MarkerReader:
    """The script's output -> file bytes and marker lines, whatever the reads cut."""

    def __init__(self, token: str) -> None:
        self.mark = b"\x1e" + token.encode() + b" "
        self._rest = b""

    def feed(self, data: bytes) -> list[bytes | list[str]]:
        """In order: bytes of the file, and markers as their fields (``["O", ino, off]``)."""
        buf = self._rest + data if self._rest else data
        out: list[bytes | list[str]] = []
        mark = self.mark
        while True:
            at = buf.find(mark)
            if at < 0:
                keep = buf.rfind(b"\x1e", max(0, len(buf) - len(mark)))
                if keep >= 0 and mark.startswith(buf[keep:]):
                    out.append(buf[:keep])
                    self._rest = buf[keep:]
                else:
                    out.append(buf)
                    self._rest = b""
                break
            out.append(buf[:at])
            end = buf.find(b"\n", at)
            if end < 0:
                self._rest = buf[at:]
                break
            out.append(buf[at + len(mark) : end].decode("ascii", "replace").split())
            buf = buf[end + 1 :]
        return [item for item in out if item]

    def reset(self) -> None:
        """A new connection: a marker cut by the old one is gone."""
        self._rest = b""


def display_host(host: str) -> str:
    """``ssh://user@host:2222`` -> ``user@host:2222``: the host as a stream's name."""
    return host.removeprefix("ssh://").rstrip("/")


class HostLink:
    """The one SSH connection to a host that every file of the host goes through."""

    def __init__(self, host: str, options: Sequence[str], socket: str, ssh: str = "ssh") -> None:
        self.host = host
        self.options = tuple(options)
        self.socket = socket
        self.ssh = ssh
        self.state = "connecting"
        self.detail = ""
        self.supervisor = Supervisor(
            self._argv,
            on_output=lambda run, stream, data: None,
            on_state=self._state,
            name=f"ssh {display_host(host)}",
        )
        self._started = False

    def start(self) -> None:
        """Connect (once; reconnected with backoff when it drops)."""
        if not self._started:
            self._started = True
            self.supervisor.start()

    def _argv(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)  # a master killed hard leaves its socket behind
        return [
            self.ssh,
            "-M",
            "-N",
            "-S",
            self.socket,
            "-o",
            "ControlPersist=no",
            *MASTER_OPTIONS,
            *self.options,
            self.host,
        ]

    def _state(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail

    @property
    def up(self) -> bool:
        """Whether followers can go through it now."""
        return self.supervisor.pid is not None and os.path.exists(self.socket)

    def why_down(self) -> str:
        """The master's last words when it is not up."""
        last = self.supervisor.last_stderr
        if self.state == "restarting":
            return f"{self.detail}"
        return last or "connecting"

    def close(self) -> None:
        """Close the connection."""
        self.supervisor.stop()


class SshTail(ChildTail):
    """One remote file: ``tail -F`` on the host, resumed at its byte offset."""

    def __init__(
        self,
        link: HostLink,
        path: str,
        *,
        backfill: int | None = None,
        nudge: threading.Event | None = None,
        label: str = "",
    ) -> None:
        super().__init__(label or f"{display_host(link.host)}:{path}", nudge)
        self.link = link
        self.path = path
        self.host = display_host(link.host)
        self.start_at = "0" if backfill is None else ("end" if backfill == 0 else f"-{backfill}")
        self.inode: str | None = None
        self.offset = 0
        self.generation = 0
        self._reader: MarkerReader | None = None
        self._heard = time.monotonic()
        self._connected = False
        self._fresh_start = True
        self.supervisor = Supervisor(
            self._argv,
            on_output=self._output,
            on_state=self._child_state,
            name=f"ssh {self.label}",
        )
        self.stopping = self.supervisor.stopping
        self._started = False
        self._set(FollowState.CONNECTING, "")

    @property
    def identity(self) -> Identity:
        """The stream of the file being read now."""
        return (self.uid, self.generation)

    def start(self) -> None:
        """Connect and follow (once)."""
        if not self._started:
            self._started = True
            self.link.start()
            self.supervisor.start()

    def _argv(self) -> list[str] | None:
        """The follower's command line once the host's link is up (None meanwhile)."""
        link = self.link
        while not link.up:
            state = FollowState.CONNECTING if self._fresh_start else FollowState.RECONNECTING
            self._set(state, link.why_down())
            if self.supervisor.wait(0.05):
                return None
        token = secrets.token_hex(8)
        self._reader = MarkerReader(token)
        self._heard = time.monotonic()
        if self.inode is None:
            command = remote_command(self.path, "-", self.start_at, token)
        else:
            command = remote_command(self.path, self.inode, str(self.offset), token)
        return [
            link.ssh,
            "-S",
            link.socket,
            "-o",
            "ControlMaster=no",
            "-o",
            "BatchMode=yes",
            *link.options,
            link.host,
            command,
        ]

    def _child_state(self, state: str, detail: str) -> None:
        if state == "running":
            self._connected = True
            return  # following is said by the first marker
        self._connected = False
        self._fresh_start = False
        if state == "restarting":
            self._set(FollowState.RECONNECTING, detail)

    def _output(self, run: int, stream: int, data: bytes) -> None:
        if stream != 1 or self._reader is None:
            return  # stderr: ssh's and the script's own words, kept as last_stderr
        self._heard = time.monotonic()
        for item in self._reader.feed(data):
            if isinstance(item, bytes):
                self.offset += len(item)
                self._put(self.identity, item)
            else:
                self._marker(item)

    def _marker(self, fields: list[str]) -> None:
        kind = fields[0] if fields else ""
        if kind == "O" and len(fields) == 3:
            inode, offset = fields[1], int(fields[2])
            if (inode, offset) != (self.inode, self.offset):
                # Another file, or the same one from elsewhere: a new stream.
                if self.inode is not None:
                    self._end(self.identity)
                self.generation += 1
                if offset > 0 and self.inode is None and self.start_at.startswith("-"):
                    # The last N bytes of the file begin mid-line: from the next line on.
                    self._splitters[self.identity] = LineSplitter(skipping=True)
                self.inode, self.offset = inode, offset
            self._set(FollowState.FOLLOWING, f"{self.host}:{self.path}")
        elif kind == "M":
            self._set(FollowState.MISSING, f"no file {self.path} on {self.host}")
        elif kind == "T":
            self._set(FollowState.TRUNCATED, "truncated: reading from the start")

    def waiting(self) -> set[Identity]:
        """While reconnecting, the file being read goes on afterwards: its open traceback
        must not be given up for silence."""
        return set() if self._connected else {self.identity}

    def check(self) -> None:
        """A connection that went silent (no byte, no heartbeat) is dropped and retried."""
        if self._connected and time.monotonic() - self._heard > SILENT_LIMIT:
            self._heard = time.monotonic()
            self.supervisor.kill()

    def close(self) -> None:
        """Stop following (the host's link is closed by its owner)."""
        self.supervisor.stop()


class Fleet:
    """The SSH links of a monitor: one per host, a private directory for their sockets."""

    def __init__(self, ssh: str = "ssh") -> None:
        self.ssh = ssh
        self._dir: str | None = None
        self.links: dict[tuple[str, tuple[str, ...]], HostLink] = {}

    def link(self, host: str, options: Sequence[str]) -> HostLink:
        """The link to ``host`` (created on first use)."""
        key = (host, tuple(options))
        link = self.links.get(key)
        if link is None:
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="errwatch-ssh-")
            socket = os.path.join(self._dir, str(len(self.links)))
            link = self.links[key] = HostLink(host, options, socket, self.ssh)
        return link

    def close(self) -> None:
        """Close every link, remove the sockets' directory."""
        for link in self.links.values():
            link.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

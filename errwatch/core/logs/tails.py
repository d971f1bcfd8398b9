"""Every source of a monitor behind one interface: files, commands, files on test hosts.

:class:`Tails` is what :class:`~errwatch.core.logs.logwatch.TracebackMonitor` reads:
the local files and globs of the config (one
:class:`~errwatch.core.logs.follow.MultiTail`), each ``command`` (a
:class:`~errwatch.core.logs.commands.CommandTail`) and each ``host`` + ``path`` (an
:class:`~errwatch.core.logs.remote.SshTail`, one SSH connection per host). It also
says, for a chunk's path, how its lines are framed and on which host they were written.
"""

from __future__ import annotations

import fnmatch
import glob
import threading
from collections.abc import Sequence

from errwatch.config import LogConfig
from errwatch.core.logs.commands import ChildTail, CommandTail
from errwatch.core.logs.follow import (
    Chunk,
    FileStatus,
    Identity,
    MultiTail,
    Progress,
    backfill_bytes,
)
from errwatch.core.logs.framing import Setting, setting
from errwatch.core.logs.remote import Fleet, SshTail, display_host

LABEL_WIDTH = 40
"""Characters of a command line kept as its source's name."""


def command_label(argv: Sequence[str]) -> str:
    """A command as a source's name: its words, shortened."""
    text = " ".join(argv)
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 1] + "…"


class Tails:
    """The files, commands and remote files of a config, read as one."""

    def __init__(self, logs: Sequence[LogConfig], nudge: threading.Event | None = None) -> None:
        self.nudge = nudge if nudge is not None else threading.Event()
        local = [log for log in logs if not log.command and not log.host]
        self.files = MultiTail([(log.path, backfill_bytes(log.backfill)) for log in local])
        self._local = local
        self.fleet = Fleet()
        self.children: list[ChildTail] = []
        self._options: dict[str, tuple[Setting, str]] = {}
        for log in logs:
            if log.command or log.host:
                self._add(log)
        self._started = False
        self._stopped = False
        self._lock = threading.Lock()

    def _add(self, log: LogConfig) -> None:
        child: ChildTail
        if log.command:
            label = self._unique(log.name or command_label(log.command))
            child = CommandTail(log.command, label, self.nudge)
            host = ""
        else:
            link = self.fleet.link(log.host, log.ssh_options)
            host = display_host(log.host)
            label = self._unique(log.name or f"{host}:{log.path}")
            child = SshTail(
                link, log.path, backfill=backfill_bytes(log.backfill), nudge=self.nudge, label=label
            )
        self.children.append(child)
        self._options[label] = (setting(log.prefix), host)

    def _unique(self, label: str) -> str:
        taken = {child.label for child in self.children}
        unique, n = label, 1
        while unique in taken:
            n += 1
            unique = f"{label} #{n}"
        return unique

    def options(self, path: str) -> tuple[Setting, str]:
        """How the lines of ``path`` (a file, or a command's or host's label) are framed,
        and the host they come from ("" for this machine)."""
        known = self._options.get(path)
        if known is not None:
            return known
        found: tuple[Setting, str] = ("auto", "")
        for log in self._local:
            if path == log.path or (glob.has_magic(log.path) and fnmatch.fnmatch(path, log.path)):
                found = (setting(log.prefix), "")
                break
        self._options[path] = found
        return found

    def start(self) -> None:
        """Start the commands and connect to the hosts (once)."""
        with self._lock:
            if self._started or self._stopped:
                return
            self._started = True
            for child in self.children:
                child.start()

    def poll(self, budget: int | None = None) -> list[Chunk]:
        """What every source brought since the last poll."""
        chunks = self.files.poll(budget)
        for child in self.children:
            child.check()
            chunks.extend(child.poll(budget))
        return chunks

    def take_changes(self) -> list[FileStatus]:
        """State changes since the last call, files first."""
        changes = self.files.take_changes()
        for child in self.children:
            changes.extend(child.take_changes())
        return changes

    def take_closed(self) -> list[Identity]:
        """Streams read to their end since the last call."""
        closed = self.files.take_closed()
        for child in self.children:
            closed.extend(child.take_closed())
        return closed

    def waiting(self) -> set[Identity]:
        """Streams whose source is away for now (a host reconnecting): not silent."""
        return set().union(*(child.waiting() for child in self.children))

    def statuses(self) -> tuple[FileStatus, ...]:
        """The state of every source."""
        return self.files.statuses() + tuple(
            status for child in self.children for status in child.statuses()
        )

    @property
    def behind(self) -> bool:
        """Whether the last poll left bytes to read (a backfill)."""
        return self.files.behind

    def progress(self) -> Progress | None:
        """A backfill catching up, or None."""
        return self.files.progress()

    def directories(self) -> list[str]:
        """The directories whose changes mean a file has more to read."""
        return self.files.directories()

    def stop(self) -> None:
        """Stop every command (with its process group) and every SSH link; from any
        thread, and for good."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        for child in self.children:
            child.close()
        self.fleet.close()

    def close(self) -> None:
        """Stop the commands and links, close every file."""
        self.stop()
        self.files.close()

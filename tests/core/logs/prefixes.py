"""Line prefixes as the tools print them, for the tools that cannot run here.

No docker engine, no Kubernetes, no systemd, no Heroku or CI runner on this machine: their
prefixes are written from their documented formats (rsyslog and OpenSSH run for real in
their own tests). Each function takes the lines of a real log (Python's own output) and
returns them as that tool prints them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

Prefixer = Callable[[list[str]], list[str]]

T0 = 1753799702.0
"""2025-07-29T14:35:02Z, where every fake clock of these prefixes starts."""


def _iso(n: int, digits: int = 9, zone: str = "Z") -> str:
    at = T0 + n * 0.001
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
    fraction = f"{at % 1:.9f}"[2 : 2 + digits]
    return f"{base}.{fraction}{zone}" if digits else f"{base}{zone}"


def _syslog_time(n: int, precise: bool = False) -> str:
    at = T0 + n * 0.001
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(at))
    return f"{stamp}.{int(at % 1 * 1e6):06d}" if precise else stamp


def compose_v1(service: str = "web_1", width: int = 6) -> Prefixer:
    """docker-compose 1.x: the container's short name padded to the longest, `` | ``."""
    return lambda lines: [f"{service.ljust(width)} | {line}" for line in lines]


def compose_v2(service: str = "web-1", width: int = 9, timestamps: bool = False) -> Prefixer:
    """docker compose v2 (``docker compose logs [-t]``): ``web-1  | [TIME ]line``."""

    def apply(lines: list[str]) -> list[str]:
        return [
            f"{service.ljust(width)} | " + (f"{_iso(n)} " if timestamps else "") + line
            for n, line in enumerate(lines)
        ]

    return apply


def docker_timestamps(lines: list[str]) -> list[str]:
    """``docker logs -t`` and ``kubectl logs --timestamps``: RFC 3339 with nanoseconds."""
    return [f"{_iso(n)} {line}" for n, line in enumerate(lines)]


def kubectl_prefix(pod: str = "api-7d4f9c6b5-x2x9q", container: str = "api") -> Prefixer:
    """``kubectl logs --prefix --timestamps``: ``[pod/POD/CONTAINER] TIME line``."""
    return lambda lines: [
        f"[pod/{pod}/{container}] {_iso(n)} {line}" for n, line in enumerate(lines)
    ]


def stern(pod: str = "api-7d4f9c6b5-x2x9q", container: str = "api") -> Prefixer:
    """stern's default template, colours off (a pipe): ``POD CONTAINER line``."""
    return lambda lines: [f"{pod} {container} {line}" for line in lines]


def journald(
    mode: str = "short", host: str = "web01", tag: str = "gunicorn", pid: int = 812
) -> Prefixer:
    """journalctl -o MODE of a service whose stdout/stderr go to the journal: one entry
    per line (systemd's logs-show.c formats)."""

    def stamp(n: int) -> str:
        if mode == "short":
            return _syslog_time(n)
        if mode == "short-precise":
            return _syslog_time(n, precise=True)
        if mode == "short-iso":
            return _iso(n, digits=0, zone="+02:00")
        if mode == "short-iso-old":  # systemd before v250 wrote %z
            return _iso(n, digits=0, zone="+0200")
        if mode == "short-iso-precise":
            return _iso(n, digits=6, zone="+02:00")
        if mode == "short-unix":
            return f"{T0 + n * 0.001:.6f}"
        raise ValueError(mode)

    return lambda lines: [f"{stamp(n)} {host} {tag}[{pid}]: {line}" for n, line in enumerate(lines)]


def journald_entry(
    lines: list[str], host: str = "web01", tag: str = "api", pid: int = 7
) -> list[str]:
    """One journal entry of several lines (a JournalHandler record): journalctl prints the
    rest of the entry indented under the text of its first line."""
    head = f"{_syslog_time(0)} {host} {tag}[{pid}]: "
    return [head + lines[0], *(" " * len(head) + line for line in lines[1:])]


def journald_entries(lines: list[str]) -> list[str]:
    """A log through a JournalHandler: each record one entry, a traceback and what else
    follows the record's first line printed under it (:func:`journald_entry`)."""
    out: list[str] = []
    entry: list[str] = []
    for line in lines:
        if entry and not line.startswith("2025-"):
            entry.append(line)
            continue
        if entry:
            out.extend(journald_entry(entry))
        entry = [line]
    return out + (journald_entry(entry) if entry else [])


def heroku(dyno: str = "web.1") -> Prefixer:
    """``heroku logs``: ``TIME app[web.1]: line`` (microseconds, +00:00)."""
    return lambda lines: [
        f"{_iso(n, digits=6, zone='+00:00')} app[{dyno}]: {line}" for n, line in enumerate(lines)
    ]


def papertrail(host: str = "myapp", program: str = "app/web.1") -> Prefixer:
    """Papertrail's event viewer and CLI for a Heroku drain: syslog time, host, program."""
    return lambda lines: [
        f"{_syslog_time(n)} {host} {program}: {line}" for n, line in enumerate(lines)
    ]


def cri(stream: str = "stderr") -> Prefixer:
    """Kubernetes CRI container log files (/var/log/pods/...): ``TIME stderr F line``."""
    return lambda lines: [f"{_iso(n)} {stream} F {line}" for n, line in enumerate(lines)]


def docker_json(stream: str = "stderr") -> Prefixer:
    """docker's json-file log driver: one JSON object per line, the line in ``log``."""
    return lambda lines: [
        json.dumps({"log": line + "\n", "stream": stream, "time": _iso(n)}, separators=(",", ":"))
        for n, line in enumerate(lines)
    ]


def github_actions(lines: list[str]) -> list[str]:
    """A GitHub Actions job log as downloaded: RFC 3339 with 7 digits, Z."""
    return [f"{_iso(n, digits=7)} {line}" for n, line in enumerate(lines)]


def gitlab(lines: list[str]) -> list[str]:
    """A GitLab runner job log with FF_TIMESTAMPS: ``TIME 00E line`` (stream id, type)."""
    return [f"{_iso(n, digits=6)} 00E {line}" for n, line in enumerate(lines)]


def indented(lines: list[str]) -> list[str]:
    """A whole log indented (pasted under a list item, or by a CI step's formatter)."""
    return [f"    {line}" for line in lines]


def literal(prefix: str = "[api] ") -> Prefixer:
    """A constant literal prefix on every line (a process manager's tag)."""
    return lambda lines: [prefix + line for line in lines]


def interleave(*logs: Iterable[str]) -> list[str]:
    """Lines of several streams, one of each in turn (writers at the same time)."""
    streams = [list(log) for log in logs]
    out: list[str] = []
    while any(streams):
        for stream in streams:
            if stream:
                out.append(stream.pop(0))
    return out

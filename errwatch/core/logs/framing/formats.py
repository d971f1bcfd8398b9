"""The line prefixes real log pipelines put before each line, as regular expressions.

Each format names its groups: ``ts`` is the prefix's timestamp, the groups listed in
``keys`` say which stream a line belongs to (a container, a pod, a unit and its pid),
the others are kept as attributes. The text of the line is what follows the match.
Sources of the shapes: docker compose v1 and v2 (``web_1  | ``, ``web-1  | ``,
podman-compose's ``[web]  | ``), ``docker logs -t`` and ``kubectl logs --timestamps``
(RFC 3339 with nanoseconds), ``kubectl logs --prefix`` (``[pod/NAME/CONTAINER] ``),
stern (``POD CONTAINER ``), journalctl's short, short-precise, short-iso,
short-iso-precise and short-unix modes (systemd's logs-show.c), syslog files as
rsyslog writes them (RFC 3164 traditional format, RFC 5424 protocol-23 format),
Heroku (``TIME app[web.1]: ``) and Papertrail (``Mar 24 02:38:07 host app/web.1: ``),
the Kubernetes CRI log files (``TIME stderr F ``), docker's json-file log driver
(``{"log":"...\\n","stream":"stderr","time":"..."}``), GitHub Actions (RFC 3339, 7
digits) and GitLab runners with FF_TIMESTAMPS (``TIME 00O ``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)"
_SYSLOG_TIME = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d{1,6})?"
# journald's identifier ("python3", "gunicorn", "sample-service.py") or rsyslog's tag;
# Papertrail writes Heroku's "app/web.1".
_TAG = r"(?P<tag>[^\s\[\]:]+)(?:\[(?P<pid>[^\]\s]*)\])?: ?"
_LEVELS = r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)\b"
_OPTIONAL_TS = rf"(?:(?P<ts>{_RFC3339}) )?"


@dataclass(frozen=True, slots=True)
class PrefixFormat:
    """One kind of line prefix."""

    name: str
    pattern: re.Pattern[str]
    keys: tuple[str, ...] = ()
    """Groups whose values make the stream (empty: one stream)."""
    show: str = ""
    """How a stream is named, with the groups' values: ``"{host}/{tag}"``."""
    continued: bool = True
    """A line without the prefix continues the previous line's stream (journald indents
    the rest of a multi-line entry); otherwise it is the tool's own output, a stream of
    its own."""
    escaped_newlines: bool = False
    """``#012`` in a line is a newline rsyslog escaped: one message of several lines."""
    json_text: bool = False
    """The line's text is the ``text`` group, a JSON string's inside (docker's json-file
    log driver), rather than what follows the prefix."""

    @property
    def multi(self) -> bool:
        """Whether lines of several streams may be mixed."""
        return bool(self.keys)


def _format(name: str, pattern: str, **options: object) -> PrefixFormat:
    return PrefixFormat(name, re.compile(pattern), **options)  # type: ignore[arg-type]


FORMATS: tuple[PrefixFormat, ...] = (
    _format(
        "kubectl --prefix",
        rf"\[(?:pod/)?(?P<pod>[^/\]\s]+)/(?P<container>[^\]\s]+)\] {_OPTIONAL_TS}",
        keys=("pod", "container"),
        show="{pod}/{container}",
        continued=False,
    ),
    _format(
        "docker compose",
        rf"(?!{_LEVELS})(?:\[(?P<bracketed>[^\]\s]+)\]|(?P<service>[A-Za-z0-9][\w.\-]*)) +\| ?"
        + _OPTIONAL_TS,
        keys=("service", "bracketed"),
        show="{service}{bracketed}",
        continued=False,
    ),
    _format(
        "heroku",
        rf"(?P<ts>{_RFC3339}) (?P<source>[\w\-]+)\[(?P<dyno>[\w.\-]+)\]: ?",
        keys=("source", "dyno"),
        show="{source}[{dyno}]",
        continued=False,
    ),
    _format(
        "syslog RFC 5424",
        r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+)"
        r" (?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+) ?",
        keys=("host", "app", "procid"),
        show="{host}/{app}",
        escaped_newlines=True,
    ),
    _format(
        "journald short-iso",
        rf"(?P<ts>{_RFC3339}) (?P<host>\S+) {_TAG}",
        keys=("host", "tag", "pid"),
        show="{host}/{tag}",
        escaped_newlines=True,
    ),
    _format(
        "syslog RFC 3164 / journald short",
        rf"(?:<(?P<pri>\d{{1,3}})>)?(?P<ts>{_SYSLOG_TIME}) (?P<host>\S+) {_TAG}",
        keys=("host", "tag", "pid"),
        show="{host}/{tag}",
        escaped_newlines=True,
    ),
    _format(
        "journald short-unix",
        rf"(?P<ts>\d{{9,10}}\.\d{{6}}) (?P<host>\S+) {_TAG}",
        keys=("host", "tag", "pid"),
        show="{host}/{tag}",
    ),
    _format(
        "kubernetes CRI",
        rf"(?P<ts>{_RFC3339}) (?P<stream>stdout|stderr) (?P<tag>[FP]) ",
        keys=("stream",),
    ),
    _format(
        "gitlab runner",
        rf"(?P<ts>{_RFC3339}) (?P<stream>[0-9a-f]{{2}}[OE])[ +]",
        keys=("stream",),
    ),
    _format(
        "stern",
        r"(?P<pod>[a-z0-9][a-z0-9.\-]*-(?:[a-z0-9]{5}|\d+)) (?P<container>[a-z0-9][a-z0-9\-]*) "
        + _OPTIONAL_TS,
        keys=("pod", "container"),
        show="{pod}/{container}",
        continued=False,
    ),
    _format(
        "docker json-file",
        r'\{"log":"(?P<text>(?:[^"\\]|\\.)*)","stream":"(?P<stream>stdout|stderr)"'
        r',"time":"(?P<ts>[^"]+)"',
        keys=("stream",),
        json_text=True,
    ),
    _format("timestamps", rf"(?P<ts>{_RFC3339}) "),
)
"""Known prefixes, most specific first (a tie in detection goes to the earlier one)."""

TIME_GROUPS = ("ts", "time", "timestamp")
TEXT_GROUP = "text"
"""A group of that name is the line's text, not a part of its prefix."""
"""Names a custom prefix may give its timestamp group."""


def custom_format(pattern: str) -> PrefixFormat:
    """A prefix written in the config: a regex with named groups (``ts`` is the time,
    ``stream`` names the stream; without it, every other named group does)."""
    compiled = re.compile(pattern)
    names = [name for name in compiled.groupindex if name not in TIME_GROUPS]
    keys = ("stream",) if "stream" in names else tuple(names)
    return PrefixFormat(
        "custom",
        compiled,
        keys=keys,
        show="/".join("{" + key + "}" for key in keys),
        continued=not keys,
    )

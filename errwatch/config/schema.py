"""The configuration's schema: frozen dataclasses, each field with its unit and default.

Durations and sizes are written "2s", "10MB" in TOML and parsed once by the reader
(:mod:`errwatch.config.reader`); the ``check`` in a field's metadata validates its value.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from errwatch.core.units import parse_address, parse_size

DEFAULT_PATH = Path("config.toml")


class _Marker:
    """Tags an ``Annotated`` type with how its TOML value is read."""

    def __init__(self, name: str) -> None:
        self.name = name


_DURATION = _Marker("duration")
_SIZE = _Marker("size")
_PATH = _Marker("path")
_URL = _Marker("url")

Duration = Annotated[float, _DURATION]
"""Seconds, written in TOML as "500ms", "2s", "1m"."""
ByteSize = Annotated[int, _SIZE]
"""Bytes, written in TOML as "512KB", "10MB"."""
PathStr = Annotated[str, _PATH]
"""A filesystem path or glob; relative ones are relative to the config file."""
Url = Annotated[str, _URL]
"""An http:// or https:// URL with a host."""

Check = Callable[[Any], "str | None"]


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be greater than 0, got {value}"


def _between(low: float, high: float) -> Check:
    """Greater than ``low`` and at most ``high``."""

    def check(value: Any) -> str | None:
        if value <= low:
            return f"must be greater than {low:g}, got {value:g}"
        return None if value <= high else f"must be at most {high:g}, got {value:g}"

    return check


INJECTION_HEADER = "X-Errwatch-Injection"
"""errwatch's own header on every injected request, carrying the run id."""
MAX_RATE = 1000.0
"""Above what one errwatch process sends on schedule (about 750/s on a 2-core machine,
`make bench`, bench_injection_ceiling); beyond what it can send, requests are skipped."""
MAX_CONCURRENCY = 1000
"""Each request in flight holds a socket; beyond this a process runs out of descriptors."""


def _ratio(value: Any) -> str | None:
    return None if 0 <= value <= 1 else f"must be between 0 and 1, got {value}"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else f"must be 0 or more, got {value}"


def _route(value: Any) -> str | None:
    return None if str(value).startswith("/") else f'must start with "/", got "{value}"'


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _metric_name(value: Any) -> str | None:
    return None if _METRIC_NAME.fullmatch(value) else f'not a metric name: "{value}"'


def _label_name(value: Any) -> str | None:
    return None if _LABEL_NAME.fullmatch(value) else f'not a label name: "{value}"'


def _label_name_or_empty(value: Any) -> str | None:
    return _label_name(value) if value else None


def _proxy_url(value: Any) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f'expected an http:// or https:// proxy URL, got "{value}"'
    if parts.username or parts.password:
        return "no credentials in the URL (errwatch keeps secrets out of its config)"
    return None


def _existing_file(value: Any) -> str | None:
    return None if not value or Path(value).is_file() else f"file not found: {value}"


def _not_blank(value: Any) -> str | None:
    return None if str(value).strip() else "must not be empty"


def _backfill(value: Any) -> str | None:
    if value in ("all", "none"):
        return None
    try:
        parse_size(value)
    except ValueError:
        return f'must be "all", "none" or a size like "10MB", got "{value}"'
    return None


def _prefix(value: Any) -> str | None:
    if value in ("auto", "none"):
        return None
    try:
        re.compile(value)
    except re.error as error:
        return f'not "auto", "none" or a valid regex: {error}'
    return None


def _checked(default: Any, check: Check) -> Any:
    return field(default=default, metadata={"check": check})


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """The API under test."""

    url: Url = "http://localhost:5000"
    """Base URL of the API; fault injection and direct scraping go there."""


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Where the PromQL API's credentials live; the secrets themselves never go in config.toml."""

    bearer_token_env: str = ""
    """Environment variable holding a bearer token; default none."""
    bearer_token_file: PathStr = _checked("", _existing_file)
    """File holding a bearer token (one line); default none."""
    username: str = ""
    """User name for basic auth; default none."""
    password_env: str = ""
    """Environment variable holding the basic-auth password; default none."""
    password_file: PathStr = _checked("", _existing_file)
    """File holding the basic-auth password; default none."""


@dataclass(frozen=True, slots=True)
class PrometheusConfig:
    """Where request rates come from."""

    url: Url = "http://localhost:9090"
    """Prometheus (or any PromQL engine) base URL."""
    refresh: Duration = _checked(2.0, _positive)
    """Time between two polls; default "2s"."""
    timeout: Duration = _checked(2.0, _positive)
    """Timeout of one query; default "2s"."""
    range: Duration = _checked(300.0, _positive)
    """Time span the chart shows; default "5m"."""
    rate_window: Duration = _checked(10.0, _positive)
    """Window of rate(); at least 4x the scrape interval; default "10s"."""
    metric: str = _checked("auto", _metric_name)
    """Counter (or histogram _count) of HTTP requests; default "auto": found from the
    API's own series (see `errwatch discover`)."""
    status_label: str = _checked("auto", _label_name)
    """Label holding the HTTP status (status, code, status_code...); default "auto"."""
    route_label: str = _checked("auto", _label_name_or_empty)
    """Label holding the route; "" when there is none (test errors are then estimated from
    the injector's own answers); default "auto"."""
    selector: str = ""
    """Extra label matchers added to every query, e.g. 'env="test"'; default none."""
    job: str = "auto"
    """Scrape job of the API: every query is restricted to it; "" for none; default "auto":
    the job of the target whose address is [target] url's host and port."""
    instance: str = "auto"
    """Instance of that job: "auto" is the API's own target if one has its address, else
    every instance of the job; "" every instance; default "auto"."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    """Bearer token or basic auth, read from the environment or files."""
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Extra HTTP headers on every query (e.g. X-Scope-OrgID); default none."""
    tls_verify: bool = True
    """Check the server's TLS certificate; default true."""
    ca_file: PathStr = _checked("", _existing_file)
    """CA bundle (PEM) that signed the server's certificate; default: the system's."""
    proxy: str = _checked("", _proxy_url)
    """HTTP proxy to reach the engine through; default none (proxy variables are ignored)."""


@dataclass(frozen=True, slots=True)
class LogConfig:
    """One followed log: a path or a glob, a command's output, or a file on a test host."""

    path: PathStr = ""
    """File or glob to follow (a glob may match rotated files); relative to the config file.
    With ``host``: the file's path on that host. Required unless ``command`` is set."""
    backfill: str = _checked("all", _backfill)
    """What to read of existing content at start: "all", "none" or the last N ("10MB")."""
    prefix: str = _checked("auto", _prefix)
    """Line prefix (docker compose, kubectl, journald, syslog...): "auto" detects it from
    the first lines, "none" reads lines as they are, or a regex with named groups (``ts``
    the time, ``stream`` the stream); default "auto"."""
    command: tuple[str, ...] = ()
    """Instead of ``path``: an argv list (never a shell string) whose stdout and stderr are
    followed; started with the dashboard and ``check``, restarted when it exits; default
    none."""
    host: str = ""
    """With ``path``: follow that file on this host through ssh ("user@host", an alias of
    ~/.ssh/config, or "ssh://user@host:port"); default none (a local file)."""
    ssh_options: tuple[str, ...] = ()
    """Extra arguments for ssh, before the host, e.g. ["-p", "2222"]; default none."""
    name: str = ""
    """How the source is named on screen; default: the path, the command or host:path."""


@dataclass(frozen=True, slots=True)
class InjectionConfig:
    """Fault injection against the API's test route."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    """HTTP method of injected requests."""
    route: str = _checked("/error", _route)
    """Path the requests go to; default "/error"."""
    rate: float = _checked(5.0, _between(0, MAX_RATE))
    """Requests per second in total (not per worker); default 5."""
    duration: Duration = _checked(60.0, _positive)
    """Injection stops by itself after this long; default "1m"."""
    concurrency: int = _checked(50, _between(0, MAX_CONCURRENCY))
    """Most requests in flight at once (at most 1000); default 50."""
    timeout: Duration = _checked(2.0, _positive)
    """Timeout of one injected request; default "2s"."""
    max_rate: float = _checked(500.0, _between(0, MAX_RATE))
    """Hard cap on the rate that nothing (UI, command line) can exceed (at most 1000); default
    500."""
    max_duration: Duration = _checked(600.0, _positive)
    """Hard cap on the duration; default "10m"."""
    headers: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    """Extra request headers; default none (X-Errwatch-Injection is errwatch's own: it is
    always set and cannot be set here)."""
    body: str = ""
    """Request body sent as is (set Content-Type in headers); default none."""
    allow_remote: tuple[str, ...] = ()
    """Hosts other than loopback that may be targeted; default none."""
    guard_ratio: float = _checked(0.05, _ratio)
    """Abort when the application's own 5xx ratio passes this (0..1, 0 = off); default 0.05."""
    guard_hold: Duration = _checked(0.0, _non_negative)
    """How long the ratio must stay above the guard before aborting; default "0s"."""


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """How the dashboard presents what it sees."""

    ratio_warning: float = _checked(0.01, _ratio)
    """5xx ratio shown as a warning (0..1); default 0.01."""
    ratio_critical: float = _checked(0.05, _ratio)
    """5xx ratio shown as critical (0..1); default 0.05."""


AlertValueName = Literal[
    "error_ratio", "app_error_ratio", "status_rate", "traceback_rate", "new_group"
]


def _status(value: Any) -> str | None:
    ok = len(value) == 3 and (value.isdigit() or (value[0].isdigit() and value[1:] == "xx"))
    return (
        None
        if ok or not value
        else f'must be a code like "500" or a class like "5xx", got "{value}"'
    )


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """One ``[[alerts]]`` rule over errwatch's own values."""

    name: str
    """Shown in the banner, the timeline and the report."""
    value: AlertValueName
    """error_ratio, app_error_ratio (injected traffic left out), status_rate, traceback_rate
    (per minute) or new_group."""
    threshold: float = 0.0
    """Fires when the value is above it (ratios 0..1, rates per second); default 0."""
    hold: Duration = field(default=0.0, metadata={"key": "for"})
    """``for``: how long the value must stay above the threshold; default "0s". For
    new_group, how long the alert stays firing after the newest new group."""
    status: str = _checked("", _status)
    """For status_rate: a code ("500") or a class ("5xx")."""
    bell: bool = True
    """Ring the terminal bell when it fires; default true."""
    command: tuple[str, ...] = ()
    """Optional argv run when it fires or resolves, with the alert as JSON on stdin."""


DEFAULT_ALERTS = (
    AlertConfig("5xx ratio above 5%", "error_ratio", threshold=0.05, hold=3.0),
    AlertConfig("application 5xx ratio above 1%", "app_error_ratio", threshold=0.01, hold=10.0),
    AlertConfig("new traceback group", "new_group", hold=60.0),
)
"""The rules of the shipped config.toml; a config without [[alerts]] gets them too
(``alerts = []`` turns them all off)."""


def _state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "errwatch", "sessions")


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """Where and how long dashboard runs are recorded."""

    enabled: bool = True
    """Record each dashboard run; default true."""
    dir: PathStr = field(default_factory=_state_dir)
    """Directory of the recordings; default $XDG_STATE_HOME/errwatch/sessions."""
    keep: Duration = _checked(7 * 86400.0, _positive)
    """Recordings older than this are deleted at start; default "7d"."""
    max_size: ByteSize = _checked(500_000_000, _positive)
    """The oldest recordings are deleted beyond this total size; default "500MB"."""
    report_lang: Literal["fr", "en"] = "fr"
    """Language of the post-mortem the dashboard's `r` writes; default "fr" (the seed's)."""


@dataclass(frozen=True, slots=True)
class PanelConfig:
    """An extra chart: any PromQL expression, drawn over the chart range."""

    expr: str = _checked(dataclasses.MISSING, _not_blank)
    """PromQL expression; required."""
    title: str = _checked(dataclasses.MISSING, _not_blank)
    """Title over the panel; required."""
    unit: str = ""
    """How values read: "%" (a 0..1 ratio), "s", "bytes", "req/s" or any text; default none."""


def _address(value: Any) -> str | None:
    try:
        parse_address(value)
    except ValueError as error:
        return str(error)
    return None


def _upstream(value: Any) -> str | None:
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    if parts.scheme == "tcp" and parts.hostname and port:
        return None
    return f'expected http://HOST[:PORT] or tcp://HOST:PORT, got "{value}"'


def _http_status(value: Any) -> str | None:
    return None if 400 <= value <= 599 else f"must be an HTTP error status 400..599, got {value}"


def _share(value: Any) -> str | None:
    return None if 0 < value <= 1 else f"must be above 0 and at most 1, got {value}"


def _glob(value: Any) -> str | None:
    ok = str(value).startswith(("/", "*"))
    return None if ok else f'must be a path glob starting with "/" or "*", got "{value}"'


FaultKind = Literal["abort", "delay", "reset", "refuse"]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """The fault a proxy applies while it is started (`f` in the dashboard)."""

    kind: FaultKind = "abort"
    """abort (answer `status`, the upstream never asked), delay (hold for `delay`, then
    forward), reset (cut the connection), refuse (tcp:// only: refuse connections);
    default "abort"."""
    status: int = _checked(503, _http_status)
    """HTTP status an abort answers, 400..599; default 503."""
    delay: Duration = _checked(2.0, _positive)
    """How long a delay holds a request (HTTP) or each piece of data (TCP); default "2s"."""
    ratio: float = _checked(1.0, _share)
    """Share of the matching requests (HTTP) or connections (TCP) faulted, spread evenly
    (exact over time, not a coin toss), above 0 and at most 1; default 1."""
    route: str = _checked("*", _glob)
    """HTTP only: glob of the paths the fault touches, e.g. "/stock/*"; default "*" (all)."""
    duration: Duration = _checked(60.0, _positive)
    """The fault stops by itself after this long, then everything passes; default "1m"."""


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """One ``[[proxies]]`` entry: errwatch's proxy on the link to a dependency."""

    name: str = _checked(dataclasses.MISSING, _not_blank)
    """Shown in the injection panel, the timeline and the report; required."""
    listen: str = _checked(dataclasses.MISSING, _address)
    """HOST:PORT the proxy listens on (point the API at it); ":PORT" is 127.0.0.1; required."""
    upstream: str = _checked(dataclasses.MISSING, _upstream)
    """The dependency: http://HOST:PORT (request faults) or tcp://HOST:PORT (connection
    faults, e.g. Redis, PostgreSQL); loopback unless injection.allow_remote names it."""
    fault: FaultConfig = field(default_factory=FaultConfig)
    """What `f` starts on this link."""

    @property
    def tcp(self) -> bool:
        """Whether the link is proxied as plain TCP (connection faults only)."""
        return self.upstream.startswith("tcp://")


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration."""

    target: TargetConfig = field(default_factory=TargetConfig)
    prometheus: PrometheusConfig = field(default_factory=PrometheusConfig)
    logs: tuple[LogConfig, ...] = ()
    injection: InjectionConfig = field(default_factory=InjectionConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    panels: tuple[PanelConfig, ...] = ()
    alerts: tuple[AlertConfig, ...] = DEFAULT_ALERTS
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    proxies: tuple[ProxyConfig, ...] = ()

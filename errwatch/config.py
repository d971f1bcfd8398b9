"""config.toml -> frozen dataclasses. Every error names the file and the key.

The schema is the dataclasses below; one generic walker checks types, parses
durations and sizes once, rejects unknown keys with a suggestion and resolves
log paths against the config file's directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from errwatch.core.units import format_duration, format_size, parse_duration, parse_size
from errwatch.errors import ConfigError

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
    metric: str = _checked("http_requests_total", _metric_name)
    """Counter of HTTP requests."""
    status_label: str = _checked("status", _label_name)
    """Label holding the HTTP status code (status, code, status_code)."""
    route_label: str = _checked("endpoint", _label_name_or_empty)
    """Label holding the route template; "" when there is none (no test/app split)."""
    selector: str = ""
    """Extra label matchers added to every query, e.g. 'job="api"'; default none."""
    job: str = "api"
    """Scrape job of the API, used to tell "target down" (up == 0) from "no traffic"."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    """Bearer token or basic auth, read from the environment or files."""
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Extra HTTP headers on every query (e.g. X-Scope-OrgID); default none."""
    tls_verify: bool = True
    """Check the server's TLS certificate; default true."""
    ca_file: PathStr = _checked("", _existing_file)
    """CA bundle (PEM) that signed the server's certificate; default: the system's."""


@dataclass(frozen=True, slots=True)
class LogConfig:
    """One followed log: a path or a glob."""

    path: PathStr
    """File or glob to follow (a glob may match rotated files); relative to the config file."""
    backfill: str = _checked("all", _backfill)
    """What to read of existing content at start: "all", "none" or the last N ("10MB")."""


@dataclass(frozen=True, slots=True)
class InjectionConfig:
    """Fault injection against the API's test route."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    """HTTP method of injected requests."""
    route: str = _checked("/error", _route)
    """Path the requests go to; default "/error"."""
    rate: float = _checked(5.0, _positive)
    """Requests per second in total (not per worker); default 5."""
    duration: Duration = _checked(60.0, _positive)
    """Injection stops by itself after this long; default "1m"."""
    concurrency: int = _checked(50, _positive)
    """Most requests in flight at once; default 50."""
    timeout: Duration = _checked(2.0, _positive)
    """Timeout of one injected request; default "2s"."""
    max_rate: float = _checked(500.0, _positive)
    """Hard cap on the rate that nothing (UI, command line) can exceed; default 500."""
    max_duration: Duration = _checked(600.0, _positive)
    """Hard cap on the duration; default "10m"."""
    headers: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    """Extra request headers; default none (X-Errwatch-Injection is always set)."""
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


def load_config(path: Path | str, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file, then ``ERRWATCH_*`` overrides from ``environ``."""
    path = Path(path)
    label = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{label}: is a directory, not a config file") from None
    except OSError as error:
        raise ConfigError(f"{label}: cannot read: {error.strerror}") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{label}: invalid TOML: {error}") from None
    return config_from_mapping(table, label=label, base=path.parent, environ=environ)


def config_from_mapping(
    table: Mapping[str, Any],
    *,
    label: str,
    base: Path,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build a Config from an already parsed TOML table (and environment overrides)."""
    _refuse_written_secrets(table, label)
    if environ:
        table = _with_overrides(table, environ, base)
    reader = _Reader(label, base.resolve())
    config: Config = reader.build(Config, table, "")
    _check_prometheus(config.prometheus, label)
    ratios = config.dashboard
    if ratios.ratio_warning > ratios.ratio_critical:
        raise ConfigError(
            f"{label}: dashboard.ratio_warning ({ratios.ratio_warning}) is above "
            f"dashboard.ratio_critical ({ratios.ratio_critical})"
        )
    injection = config.injection
    if injection.rate > injection.max_rate:
        raise ConfigError(
            f"{label}: injection.rate ({injection.rate:g}) is above injection.max_rate "
            f"({injection.max_rate:g})"
        )
    if injection.duration > injection.max_duration:
        raise ConfigError(
            f"{label}: injection.duration ({format_duration(injection.duration)}) is above "
            f"injection.max_duration ({format_duration(injection.max_duration)})"
        )
    for index, alert in enumerate(config.alerts, 1):
        if alert.value == "status_rate" and not alert.status:
            raise ConfigError(
                f'{label}: alerts[{index}].status: required when value is "status_rate"'
            )
    names = [alert.name for alert in config.alerts]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f'{label}: alerts: two rules are named "{name}"')
    return config


_WRITTEN_SECRETS = ("bearer_token", "token", "password")


def _refuse_written_secrets(table: Mapping[str, Any], label: str) -> None:
    prometheus = table.get("prometheus")
    auth = prometheus.get("auth") if isinstance(prometheus, dict) else None
    for key in auth if isinstance(auth, dict) else ():
        if key in _WRITTEN_SECRETS:
            env = "bearer_token" if "token" in key else "password"
            raise ConfigError(
                f"{label}: prometheus.auth.{key}: secrets do not go in the config file; name "
                f"an environment variable ({env}_env) or a file ({env}_file) instead"
            )


def _check_prometheus(cfg: PrometheusConfig, label: str) -> None:
    """Cross-key checks, then read the named secrets once so a mistake stops errwatch now."""
    from errwatch.core.auth import CredentialError, load_credentials

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{label}: prometheus.{key}: {problem}")

    parts = urlsplit(cfg.url)
    if parts.username or parts.password:
        raise fail("url", "no credentials in the URL; use [prometheus.auth]")
    auth = cfg.auth
    if auth.bearer_token_env and auth.bearer_token_file:
        raise fail("auth", "set bearer_token_env or bearer_token_file, not both")
    if auth.password_env and auth.password_file:
        raise fail("auth", "set password_env or password_file, not both")
    has_bearer = bool(auth.bearer_token_env or auth.bearer_token_file)
    has_password = bool(auth.password_env or auth.password_file)
    if has_password and not auth.username:
        raise fail("auth.username", "missing (password_env or password_file needs a user)")
    if auth.username and not has_password:
        raise fail("auth.username", "needs password_env or password_file")
    if has_bearer and auth.username:
        raise fail("auth", "a bearer token and basic auth are exclusive: choose one")
    if cfg.ca_file and not cfg.tls_verify:
        raise fail("ca_file", "is ignored when tls_verify = false: remove one of them")
    try:
        load_credentials(auth)
    except CredentialError as error:
        raise ConfigError(f"{label}: {error}") from None


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


def _toml_type(value: Any) -> str:
    names = {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        list: "array",
        dict: "table",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


class _Reader:
    """Walks a TOML table along a dataclass schema."""

    def __init__(self, label: str, base: Path, names: Mapping[str, str] | None = None) -> None:
        self.label = label
        self.base = base
        self.names = names or {}

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.label}: {self.names.get(key, key)}: {problem}")

    def build(self, cls: type[Any], table: Mapping[str, Any], prefix: str) -> Any:
        hints = get_type_hints(cls, include_extras=True)
        # A field may be spelled differently in TOML (``for`` is a Python keyword).
        fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls)}
        for key in table:
            if key not in fields:
                where = f"{prefix}{key}"
                near = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
                hint = f" (did you mean {near[0]}?)" if near else ""
                known = "" if near else f" (known keys: {', '.join(fields)})"
                raise ConfigError(f"{self.label}: unknown key {where}{hint}{known}")
        values: dict[str, Any] = {}
        for name, spec in fields.items():
            key = f"{prefix}{name}"
            if name not in table:
                missing = (
                    spec.default is dataclasses.MISSING
                    and spec.default_factory is dataclasses.MISSING
                )
                if missing:
                    raise self.fail(key, "missing (this key is required)")
                continue
            value = self.convert(table[name], hints[spec.name], key)
            check: Check | None = spec.metadata.get("check")
            if check is not None:
                problem = check(value)
                if problem:
                    raise self.fail(key, problem)
            values[spec.name] = value
        return cls(**values)

    def convert(self, value: Any, kind: Any, key: str) -> Any:
        origin = get_origin(kind)
        if origin is Annotated:
            base, marker = get_args(kind)[:2]
            return self.convert_marked(value, base, marker, key)
        if origin in (Union, types.UnionType):
            options = [arg for arg in get_args(kind) if arg is not type(None)]
            return self.convert(value, options[0], key)
        if origin is Literal:
            allowed = get_args(kind)
            if value not in allowed:
                shown = ", ".join(_show(option) for option in allowed)
                raise self.fail(key, f"must be one of {shown}, got {_show(value)}")
            return value
        if origin is tuple:
            item = get_args(kind)[0]
            if not isinstance(value, list):
                raise self.fail(key, f"expected an array, got {_toml_type(value)} {_show(value)}")
            return tuple(self.convert(v, item, f"{key}[{i + 1}]") for i, v in enumerate(value))
        if origin in (Mapping, dict):
            if not isinstance(value, dict):
                raise self.fail(key, f"expected a table, got {_toml_type(value)} {_show(value)}")
            item = get_args(kind)[1]
            return types.MappingProxyType(
                {k: self.convert(v, item, f"{key}.{k}") for k, v in value.items()}
            )
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise self.fail(key, f"expected a table, got {_toml_type(value)} {_show(value)}")
            return self.build(kind, value, f"{key}.")  # type: ignore[arg-type]
        return self.convert_plain(value, kind, key)

    def convert_plain(self, value: Any, kind: type[Any], key: str) -> Any:
        fits = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not fits:
            wanted = _TYPE_NAMES.get(kind, kind.__name__)
            raise self.fail(key, f"expected {wanted}, got {_toml_type(value)} {_show(value)}")
        return value

    def convert_marked(self, value: Any, base: type[Any], marker: _Marker, key: str) -> Any:
        if marker is _DURATION:
            if not isinstance(value, str):
                raise self.fail(
                    key,
                    f'expected a duration string like "2s", got {_toml_type(value)} {_show(value)}',
                )
            try:
                return parse_duration(value)
            except ValueError as error:
                raise self.fail(key, str(error)) from None
        if marker is _SIZE:
            if not isinstance(value, str):
                raise self.fail(key, f'expected a size string like "10MB", got {_show(value)}')
            try:
                return parse_size(value)
            except ValueError as error:
                raise self.fail(key, str(error)) from None
        text = self.convert_plain(value, base, key)
        if marker is _PATH:
            if not text:  # an optional path left empty, not the config's directory
                return ""
            expanded = Path(text).expanduser()
            return str(expanded if expanded.is_absolute() else self.base / expanded)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(key, f'expected an http:// or https:// URL, got "{text}"')
        return text.rstrip("/")


# -- environment overrides: ERRWATCH_<SECTION>_<KEY> for every scalar key of a section ----

ENV_PREFIX = "ERRWATCH_"
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")


def _sections() -> dict[str, type[Any]]:
    hints = get_type_hints(Config)
    return {
        spec.name: hints[spec.name]
        for spec in dataclasses.fields(Config)
        if dataclasses.is_dataclass(hints[spec.name])
    }


def environment_names() -> dict[str, tuple[str, str]]:
    """``ERRWATCH_PROMETHEUS_URL`` -> ("prometheus", "url") for every overridable key."""
    names = {}
    for section, cls in _sections().items():
        hints = get_type_hints(cls, include_extras=True)
        for spec in dataclasses.fields(cls):
            base = get_origin(hints[spec.name])
            if base in (tuple, Mapping, dict):
                continue  # lists and tables stay in the file
            key = spec.metadata.get("key", spec.name)
            names[f"{ENV_PREFIX}{section}_{key}".upper()] = (section, key)
    return names


def _env_value(text: str, kind: Any) -> Any:
    """An environment string as the TOML value the walker expects for ``kind``."""
    if get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
        if kind in (float, int):  # Duration and ByteSize are written as strings
            return text
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        return text
    for number in (int, float):
        if kind is number or (kind is float and number is int):
            try:
                return number(text)
            except ValueError:
                continue
    return text


def _with_overrides(
    table: Mapping[str, Any], environ: Mapping[str, str], base: Path
) -> dict[str, Any]:
    names = environment_names()
    overrides: dict[str, dict[str, Any]] = {}
    shown: dict[str, str] = {}
    for variable, text in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX):
            continue
        if variable not in names:
            near = difflib.get_close_matches(variable, list(names), n=1, cutoff=0.8)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ConfigError(f"environment: unknown variable {variable}{hint}")
        section, key = names[variable]
        cls = _sections()[section]
        field_name = next(
            f.name for f in dataclasses.fields(cls) if f.metadata.get("key", f.name) == key
        )
        kind = get_type_hints(cls, include_extras=True)[field_name]
        overrides.setdefault(section, {})[key] = _env_value(text, kind)
        shown[f"{section}.{key}"] = variable
    if not overrides:
        return dict(table)
    # Checked on their own first, so a bad value is blamed on its variable.
    _Reader("environment", base.resolve(), shown).build(Config, overrides, "")
    merged = {
        name: dict(value) if isinstance(value, dict) else value for name, value in table.items()
    }
    for section, values in overrides.items():
        current = merged.get(section)
        merged[section] = {**(current if isinstance(current, dict) else {}), **values}
    return merged


def _toml(value: Any, kind: Any) -> str:
    marker = get_args(kind)[1] if get_origin(kind) is Annotated else None
    if marker is _DURATION:
        return f'"{format_duration(value)}"'
    if marker is _SIZE:
        return f'"{format_size(value)}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # The file holds no secrets (they are refused, or named by variable or file);
        # header values are the exception, masked below.
        shown = value
        return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        inner = get_args(kind)[0] if get_args(kind) else str
        return "[" + ", ".join(_toml(item, inner) for item in value) + "]"
    if isinstance(value, Mapping):
        items = (
            f'"{k}" = ' + ('"***"' if k.lower() in _SECRET_HEADERS else _toml(v, str))
            for k, v in value.items()
        )
        inner = ", ".join(items)
        return "{ " + inner + " }" if inner else "{}"
    return f'"{value}"'


def _table(obj: Any, name: str, *, array: bool = False) -> list[str]:
    """``[name]`` (or ``[[name]]``) with the scalar keys, then nested tables as [name.key]."""
    hints = get_type_hints(type(obj), include_extras=True)
    lines = [f"[[{name}]]" if array else f"[{name}]"]
    nested = []
    for spec in dataclasses.fields(obj):
        key = spec.metadata.get("key", spec.name)
        value = getattr(obj, spec.name)
        if dataclasses.is_dataclass(value):
            nested.append((key, value))
            continue
        lines.append(f"{key} = {_toml(value, hints[spec.name])}")
    for key, value in nested:
        lines += ["", *_table(value, f"{name}.{key}")]
    return lines


def dump_config(config: Config) -> str:
    """The effective config as TOML, secrets masked (``errwatch config check``)."""
    lines: list[str] = []
    for spec in dataclasses.fields(config):
        value = getattr(config, spec.name)
        if isinstance(value, tuple):
            for item in value:
                lines += ["", *_table(item, spec.name, array=True)]
        else:
            lines += ["", *_table(value, spec.name)]
    return "\n".join(lines).lstrip() + "\n"

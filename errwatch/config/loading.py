"""config.toml -> frozen dataclasses. Every error names the file and the key.

The schema is :mod:`errwatch.config.schema`; one generic walker (:mod:`errwatch.config.reader`)
checks types, parses durations and sizes once, rejects unknown keys with a suggestion and
resolves log paths against the config file's directory.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from errwatch.config.environ import _with_overrides
from errwatch.config.reader import _Reader
from errwatch.config.schema import INJECTION_HEADER, Config, PrometheusConfig, ProxyConfig
from errwatch.core.units import format_duration, parse_address
from errwatch.errors import ConfigError


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
    except RecursionError:
        raise ConfigError(f"{label}: invalid TOML: arrays or tables nested too deeply") from None
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
    for name in injection.headers:
        if name.lower() == INJECTION_HEADER.lower():
            raise ConfigError(
                f"{label}: injection.headers.{name}: errwatch sets this header itself "
                "(the run id); it cannot be set in the config"
            )
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
    config = _check_logs(config, table, label)
    names = [alert.name for alert in config.alerts]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f'{label}: alerts: two rules are named "{name}"')
    _check_proxies(config.proxies, label)
    return config


def proxy_problem(proxy: ProxyConfig) -> tuple[str, str] | None:
    """(key, problem) when a proxy's fault does not fit its link, else None.

    The command line (`errwatch proxy`) asks the same question of its options.
    """
    kind = proxy.fault.kind
    if proxy.tcp and kind == "abort":
        why = '"abort" answers an HTTP status: a tcp:// link takes delay, reset or refuse'
        return "fault.kind", why
    if not proxy.tcp and kind == "refuse":
        return (
            "fault.kind",
            '"refuse" is for tcp:// links (an HTTP link takes abort, delay or reset)',
        )
    if proxy.tcp and proxy.fault.route != "*":
        return "fault.route", "only http:// links have routes (a tcp:// link has none)"
    return None


def _check_proxies(proxies: tuple[ProxyConfig, ...], label: str) -> None:
    names: set[str] = set()
    listens: dict[tuple[str, int], str] = {}
    for index, proxy in enumerate(proxies, 1):
        problem = proxy_problem(proxy)
        if problem is not None:
            raise ConfigError(f"{label}: proxies[{index}].{problem[0]}: {problem[1]}")
        if proxy.name in names:
            raise ConfigError(f'{label}: proxies: two proxies are named "{proxy.name}"')
        names.add(proxy.name)
        address = parse_address(proxy.listen)
        if address[1] and address in listens:
            raise ConfigError(
                f"{label}: proxies[{index}].listen: {proxy.listen} is also the listen address "
                f'of "{listens[address]}"'
            )
        listens[address] = proxy.name


def _check_logs(config: Config, table: Mapping[str, Any], label: str) -> Config:
    """Each [[logs]] is a path, a command, or a host and a path; a remote path is kept as
    written (it is the host's, not relative to this file)."""
    raw = table.get("logs")
    logs = []
    for index, log in enumerate(config.logs, 1):
        where = f"{label}: logs[{index}]"
        if log.command and (log.path or log.host):
            raise ConfigError(f"{where}: command and path (or host) exclude each other")
        if not log.command and not log.path:
            raise ConfigError(f"{where}.path: missing (this key is required)")
        if log.command and not log.command[0].strip():
            raise ConfigError(f"{where}.command: the program (first item) is empty")
        if log.ssh_options and not log.host:
            raise ConfigError(f"{where}.ssh_options: only used with host")
        if log.host:
            written = raw[index - 1].get("path", "") if isinstance(raw, list) else log.path
            logs.append(replace(log, path=str(written).strip()))
        else:
            logs.append(log)
    return replace(config, logs=tuple(logs))


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
    from errwatch.core.metrics.auth import CredentialError, load_credentials

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

"""The generic walker: a TOML table along a dataclass schema, every error naming file and key."""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from errwatch.config.schema import _DURATION, _PATH, _SIZE, Check, _Marker
from errwatch.core.units import clip, parse_duration, parse_size
from errwatch.errors import ConfigError

MAX_NUMBER = 10**15
"""No number in the config is sanely larger (TOML integers have no limit of their own)."""

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
        return f'"{clip(value)}"'
    if isinstance(value, int) and not isinstance(value, bool):
        return clip(str(value))
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
        is_int = isinstance(value, int) and not isinstance(value, bool)
        # TOML has inf and nan, and integers of any length: no setting is sane beyond these.
        if is_int and abs(value) > MAX_NUMBER:
            raise self.fail(key, f"{_show(value)} is out of range (at most {MAX_NUMBER:.0e})")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {value}")
        if kind is float and is_int:
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
            raise self.fail(key, f'expected an http:// or https:// URL, got "{clip(text)}"')
        try:
            parts.port  # noqa: B018 (urlsplit checks the port only when asked)
        except ValueError:
            raise self.fail(key, f'port out of range 1-65535 in "{clip(text)}"') from None
        return text.rstrip("/")

"""The effective config as TOML, secrets masked (``errwatch config check``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from errwatch.config.environ import _SECRET_HEADERS
from errwatch.config.schema import _DURATION, _SIZE, Config
from errwatch.core.units import format_duration, format_size


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

"""Environment overrides: ``ERRWATCH_<SECTION>_<KEY>`` for every scalar key of a section."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from errwatch.config.reader import _Reader
from errwatch.config.schema import Config
from errwatch.errors import ConfigError

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

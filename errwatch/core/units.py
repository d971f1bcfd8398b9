"""Durations ("2s", "1m30s", "500ms") and byte sizes ("10MB") as people write them."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?", re.IGNORECASE)
MAX_DURATION = 366 * 86400.0
"""No duration errwatch takes (timeouts, windows, retention) is sanely longer than a year."""
MAX_SIZE = 1024**4
"""No size errwatch takes (backfill, retention) is sanely larger than 1 TiB."""
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``"2s"``, ``"1m30s"`` or ``"250ms"``; ValueError otherwise."""
    text = text.strip()
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(
            f'invalid duration "{clip(text)}" (write e.g. "500ms", "2s", "1m", "1h30m")'
        )
    if not total <= MAX_DURATION:  # also catches inf, from a number of 400 digits
        raise ValueError(f'duration "{clip(text)}" is longer than the most errwatch takes (366d)')
    return total


def parse_size(text: str) -> int:
    """Bytes in a size such as ``"10MB"``, ``"512KiB"`` or ``"100"``; ValueError otherwise."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f'invalid size "{clip(text)}" (write e.g. "512KB", "10MB", "1GiB")')
    unit = (match.group(2) or "B").lower()
    size = float(match.group(1)) * _SIZE_UNITS[unit]
    if not size <= MAX_SIZE:
        raise ValueError(f'size "{clip(text)}" is larger than the most errwatch takes (1024GiB)')
    return int(size)


def clip(text: str, limit: int = 40) -> str:
    """A value quoted in an error message, cut so that one line stays one line."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def format_duration(seconds: float) -> str:
    """The shortest way to write ``seconds`` back: 0.5 -> "500ms", 90 -> "1m30s"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    if whole % 86400 == 0:
        return f"{whole // 86400}d"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{value}{unit}" for value, unit in parts if value) or "0s"


def format_size(size: int) -> str:
    """The shortest exact way to write a size back: 500_000_000 -> "500MB"."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``[::1]:PORT``, ``:PORT`` or ``PORT`` as (host, port); ValueError otherwise.

    Port 0 is kept: it asks the system for a free port.
    """
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or default_host
    if not port.isdigit() or int(port) > 65535 or not host or " " in host:
        raise ValueError(f'invalid address "{text}" (write HOST:PORT, e.g. "127.0.0.1:8081")')
    return host, int(port)

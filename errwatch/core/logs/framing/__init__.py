"""Framing: the stage between reading a log and parsing it.

Each raw line becomes (stream, text): the prefix a pipeline put before it (docker
compose, kubectl, journald, syslog, Heroku, a CI runner, an indentation...) is
recognised, stripped, and what it says (container, pod, host, unit, pid, time) is kept
for the events of that stream. A source's prefix is detected from its first lines
(``prefix = "auto"``), switched off (``"none"``) or given as a regex with named groups.
"""

from __future__ import annotations

from typing import Literal

from errwatch.core.logs.framing.detect import DETECT_LINES, detect
from errwatch.core.logs.framing.formats import FORMATS, PrefixFormat, custom_format
from errwatch.core.logs.framing.framer import TOOL_STREAM, Framer, PrefixContext

__all__ = [
    "DETECT_LINES",
    "FORMATS",
    "TOOL_STREAM",
    "Framer",
    "PrefixContext",
    "PrefixFormat",
    "Setting",
    "detect",
    "setting",
]

Setting = Framer | Literal["auto", "none"]
"""What a source was told: detect the prefix, none, or this one."""


def setting(prefix: str) -> Setting:
    """``prefix`` as written in a [[logs]] entry: "auto", "none" or a regex (already
    checked when the config was read)."""
    if prefix in ("auto", "none"):
        return "auto" if prefix == "auto" else "none"
    return Framer(custom_format(prefix))

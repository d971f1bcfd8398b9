"""The log record around a traceback: when, how bad, which logger, which request.

A traceback written by ``logging.exception`` follows its record's first line
(``2025-07-29 14:35:02,123 ERROR [api] Exception on /error [GET]``); one escaped in a
JSON line carries the same facts as fields. Both become a :class:`RecordContext`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

# A line that starts a new log record: an ISO-like date, a bracketed date (gunicorn),
# logging's basic "LEVEL:logger:" form, a werkzeug/combined access line, or syslog.
RECORD = re.compile(
    r"^(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"
    r"|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL|FATAL)[:\s]"
    r"|\d{1,3}(?:\.\d{1,3}){3} - \S+ \["
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} )"
)
_TIMESTAMP = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:[,.](?P<frac>\d{1,9}))?(?: ?(?P<tz>Z|[+-]\d{2}:?\d{2})\b)?"
)
_LEVELS = "DEBUG|INFO|WARNING|ERROR|CRITICAL|FATAL"
_LEVEL = re.compile(rf"\b({_LEVELS})\b")
# The logger name in the formats seen in the field: "LEVEL [name]" (errwatch's demo),
# "LEVEL:name:" (basicConfig), "name - LEVEL" ("%(name)s - %(levelname)s") and Flask's
# "LEVEL in module:". gunicorn's "[pid] [LEVEL]" names no logger.
_LOGGER = re.compile(
    rf"(?:{_LEVELS}) \[(?P<bracket>[A-Za-z_][\w.\-]*)\]"
    rf"|(?:{_LEVELS}):(?P<basic>[\w.\-]+):"
    rf"|(?:^|\s-\s|\s)(?P<dashed>[A-Za-z_][\w.\-]*) - (?:{_LEVELS})\b"
    rf"|(?:{_LEVELS}) in (?P<module>[\w.]+):"
)
_FLASK = re.compile(r"Exception on (?P<route>/\S*) \[(?P<method>[A-Z]+)\]")
_GUNICORN = re.compile(r"Error handling request (?:(?P<method>[A-Z]+) )?(?P<route>/[^\s?]*)")
_INJECTION = re.compile(r"X-Errwatch-Injection: (?P<run>[\w\-]+)")
RECORD_LINE_KEPT = 500
"""Characters of the record line kept with an event (a JSON record can be huge)."""


@dataclass(frozen=True, slots=True)
class RecordContext:
    """What the log record introducing a traceback says: when, how bad, where from."""

    line: str
    timestamp: float | None = None
    logged_at: str | None = None
    level: str | None = None
    logger: str | None = None
    route: str | None = None
    method: str | None = None
    injection: str | None = None


def parse_timestamp(text: str) -> tuple[float | None, str | None]:
    """The first date-time in ``text`` as epoch seconds (local time unless an offset is
    written), and as written."""
    stamp = _TIMESTAMP.search(text)
    if stamp is None:
        return None, None
    parts = stamp.groupdict()
    frac = (parts["frac"] or "0")[:6].ljust(6, "0")
    try:
        moment = datetime(
            int(parts["y"]),
            int(parts["mo"]),
            int(parts["d"]),
            int(parts["h"]),
            int(parts["mi"]),
            int(parts["s"]),
            int(frac),
        )
    except ValueError:
        return None, None
    tz = parts["tz"]
    if tz:
        offset = timedelta(0)
        if tz != "Z":
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            offset = -offset if tz[0] == "-" else offset
        return moment.replace(tzinfo=timezone(offset)).timestamp(), stamp.group(0)
    try:
        return time.mktime(moment.timetuple()) + moment.microsecond / 1e6, stamp.group(0)
    except (OverflowError, ValueError):
        return None, None


def _context(
    line: str,
    when: tuple[float | None, str | None],
    level: str | None,
    logger: str | None,
    message: str,
) -> RecordContext:
    route = _FLASK.search(message) or _GUNICORN.search(message)
    injection = _INJECTION.search(message)
    return RecordContext(
        line=line[:RECORD_LINE_KEPT],
        timestamp=when[0],
        logged_at=when[1],
        level=level,
        logger=logger,
        route=route.group("route") if route else None,
        method=route.group("method") if route else None,
        injection=injection.group("run") if injection else None,
    )


def parse_record(line: str) -> RecordContext:
    """Time, level, logger, route and injection run in a log record's first line."""
    level = _LEVEL.search(line)
    logger = _LOGGER.search(line)
    return _context(
        line,
        parse_timestamp(line),
        level.group(1) if level else None,
        next((name for name in logger.groups() if name), None) if logger else None,
        line,
    )


def _field(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return value
    return None


def json_record(line: str, record: Mapping[str, Any]) -> RecordContext:
    """The facts of a JSON log record (python-json-logger, structlog, ECS-like names)."""
    message = str(_field(record, "message", "msg", "event") or "")
    when = _field(record, "asctime", "timestamp", "@timestamp", "time", "ts", "created")
    timestamp: float | None = None
    logged_at: str | None = None
    if isinstance(when, int | float) and not isinstance(when, bool):
        timestamp = when / 1000 if when > 1e11 else float(when)  # epoch milliseconds or seconds
        logged_at = str(when)
    elif isinstance(when, str):
        timestamp, logged_at = parse_timestamp(when)
    level = _field(record, "levelname", "level", "severity", "log.level")
    logger = _field(record, "name", "logger", "logger_name", "log.logger")
    return _context(
        line,
        (timestamp, logged_at),
        str(level).upper() if level is not None else None,
        str(logger) if logger is not None else None,
        message,
    )


def _traceback_field(record: Mapping[str, Any], header: str) -> str | None:
    """The first field (one level of nesting looked into) holding a traceback."""
    values: list[Any] = list(record.values())
    for value in list(values):
        if isinstance(value, dict):
            values.extend(value.values())
    for value in values:
        text = value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            text = "".join(item if item.endswith("\n") else item + "\n" for item in value)
        if isinstance(text, str) and header in text:
            return text
    return None


def json_traceback(line: str, header: str) -> tuple[RecordContext, str] | None:
    """A JSON log record (after any prefix) with a traceback in a field: its facts and
    the traceback's text, unescaped."""
    start = line.find("{")
    if start < 0:
        return None
    import json  # only lines that hold an escaped traceback get here

    try:
        record, _ = json.JSONDecoder().raw_decode(line, start)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    text = _traceback_field(record, header)
    return None if text is None else (json_record(line, record), text)

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
    year, month, day, hour, minute, second, frac, tz = stamp.groups()
    base = _minute((year, month, day, hour, minute, tz or ""))
    if base is None or int(second) > 59:
        return None, None
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if tz:  # as datetime.timestamp() computes it, to the same last bit
        return ((int(base) + int(second)) * 10**6 + micro) / 10**6, stamp.group(0)
    return base + int(second) + micro / 1e6, stamp.group(0)


_MINUTES: dict[tuple[str, str, str, str, str, str], float | None] = {}


def _minute(key: tuple[str, str, str, str, str, str]) -> float | None:
    """Epoch seconds at the start of a minute (records of one minute share it)."""
    if key in _MINUTES:
        return _MINUTES[key]
    if len(_MINUTES) >= 4096:
        _MINUTES.clear()
    year, month, day, hour, minute, tz = key
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute))
        if tz:
            offset = timedelta(0)
            if tz != "Z":
                digits = tz[1:].replace(":", "")
                offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                offset = -offset if tz[0] == "-" else offset
            start: float | None = moment.replace(tzinfo=timezone(offset)).timestamp()
        else:
            start = time.mktime(moment.timetuple())
    except (OverflowError, ValueError):
        start = None
    _MINUTES[key] = start
    return start


def _context(
    line: str,
    when: tuple[float | None, str | None],
    level: str | None,
    logger: str | None,
    found: tuple[str | None, str | None, str | None],
) -> RecordContext:
    route, method, injection = found
    return RecordContext(
        line=line[:RECORD_LINE_KEPT],
        timestamp=when[0],
        logged_at=when[1],
        level=level,
        logger=logger,
        route=route,
        method=method,
        injection=injection,
    )


def _request(message: str) -> tuple[str | None, str | None, str | None]:
    """The route, method and injection run a record's message names."""
    route = _FLASK.search(message) or _GUNICORN.search(message)
    injection = _INJECTION.search(message)
    return (
        route["route"] if route else None,
        route["method"] if route else None,
        injection["run"] if injection else None,
    )


def parse_record(line: str) -> RecordContext:
    """Time, level, logger, route and injection run in a log record's first line."""
    shape = line.encode("utf-8", "surrogatepass").translate(_DIGITS)
    spans = _RECORD_SPANS.get(shape)
    if spans is None:
        if len(_RECORD_SPANS) >= 4096:
            _RECORD_SPANS.clear()
        spans = _RECORD_SPANS[shape] = _record_spans(line)
    level, logger, *found = (None if span is None else line[span[0] : span[1]] for span in spans)
    return _context(line, parse_timestamp(line), level, logger, (found[0], found[1], found[2]))


Span = tuple[int, int] | None
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_RECORD_SPANS: dict[bytes, tuple[Span, Span, Span, Span, Span]] = {}
"""Where a record line's facts are, per line shape: records differ in their digits (a
time, an id), which no pattern here tells apart, so lines of one shape have them at the
same places."""


def _record_spans(line: str) -> tuple[Span, Span, Span, Span, Span]:
    """Where the level, logger, route, method and injection run are in a record line."""
    level = _LEVEL.search(line)
    logger = _LOGGER.search(line)
    route = _FLASK.search(line) or _GUNICORN.search(line)
    injection = _INJECTION.search(line)
    name = (
        next((key for key, value in logger.groupdict().items() if value), None) if logger else None
    )
    return (
        level.span(1) if level else None,
        logger.span(name) if logger and name else None,
        route.span("route") if route else None,
        route.span("method") if route and route["method"] else None,
        injection.span("run") if injection else None,
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
        _request(message),
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

"""The time a line prefix gives, as epoch seconds: ISO 8601 / RFC 3339, syslog, epoch.

Parsed only when a traceback opens (never per line), so plain functions are enough.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

from errwatch.core.logs.logrecords import parse_timestamp

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_SYSLOG = re.compile(r"(?P<mon>[A-Z][a-z]{2}) +(?P<d>\d{1,2}) (?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)")
_EPOCH = re.compile(r"\d{9,10}(?:\.\d+)?")
_YEAR_SLACK = 86400.0
"""A syslog date (no year) more than this far in the future is last year's."""


def syslog_time(text: str, now: float | None = None) -> float | None:
    """``Mar 24 02:38:07[.123456]`` (local time, no year: this year, or last year when
    that would be in the future, as after New Year's Eve)."""
    found = _SYSLOG.match(text)
    month = _MONTHS.get(found.group("mon")) if found else None
    if found is None or month is None:
        return None
    now = time.time() if now is None else now
    fraction = text[found.end() :]
    micro = int(fraction[1:7].ljust(6, "0")) if fraction[:1] == "." and fraction[1:2] else 0
    year = time.localtime(now).tm_year
    for candidate in (year, year - 1):
        try:
            moment = datetime(
                candidate,
                month,
                int(found.group("d")),
                int(found.group("h")),
                int(found.group("mi")),
                int(found.group("s")),
                micro,
            )
        except ValueError:  # Feb 29 of a year that has none
            continue
        at = time.mktime(moment.timetuple()) + micro / 1e6
        if at <= now + _YEAR_SLACK:
            return at
    return None


def prefix_time(text: str) -> float | None:
    """Epoch seconds of a prefix's timestamp in any of the forms prefixes use."""
    if not text:
        return None
    if text[0].isdigit():
        if _EPOCH.fullmatch(text):
            return float(text)
        return parse_timestamp(text)[0]
    return syslog_time(text)

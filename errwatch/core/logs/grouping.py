"""Fingerprints and error groups, in the manner of Sentry's default grouping.

The fingerprint is the final exception's type plus, for each in-app frame, the file's
basename (with its package for ``__init__.py``), the function and the
whitespace-normalised source line (never line numbers). Library frames (site-packages,
the standard library) are left out when the traceback has in-app frames. An
ExceptionGroup adds the types of its members. Without any usable frame, or when the
frames cannot be trusted (tracebacks of several processes interleaved), the type plus
the message with variable parts (numbers, hex, uuids, IPs, paths, quoted values)
replaced.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from errwatch.core.logs.events import Frame, TracebackEvent

_LIBRARY = re.compile(
    r"(?:[/\\](?:site|dist)-packages[/\\]"
    r"|[/\\]lib[/\\]python\d(?:\.\d+)?[/\\]"
    r"|^<frozen |^<string>$)"
)
_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<quoted>"),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.\-]+){2,}[/\\]?"), "<path>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b[0-9a-fA-F]{12,}\b"), "<hex>"),
    (re.compile(r"(?<![\w.<])\d+(?:\.\d+)?"), "<int>"),
)
SPARK_MINUTES = 30
"""Length of a group's per-minute history."""


def is_library(frame: Frame) -> bool:
    """Whether a frame is in site-packages or the standard library."""
    return bool(_LIBRARY.search(frame.file))


def in_app_frames(frames: Iterable[Frame]) -> tuple[Frame, ...]:
    """The frames of the application itself."""
    return tuple(frame for frame in frames if not is_library(frame))


def normalise_message(message: str) -> str:
    """The message with its variable parts replaced by placeholders."""
    text = message.split("\n", 1)[0]
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return " ".join(text.split())


def module_name(path: str) -> str:
    """The file's basename; a package's ``__init__.py`` keeps its package's name."""
    parts = re.split(r"[/\\]", path)
    if parts[-1] == "__init__.py" and len(parts) > 1:
        return f"{parts[-2]}/__init__.py"
    return parts[-1]


def _members(event: TracebackEvent) -> str:
    names = sorted({member.type for member in event.exceptions})
    return ", ".join(names)


def fingerprint_parts(event: TracebackEvent) -> tuple[str, ...]:
    """The values the fingerprint is made of, for "why grouped"."""
    parts = [f"type: {event.type}"]
    if event.exceptions:
        parts.append(f"members: {_members(event)}")
    usable = _frame_parts(event.frames)[0]
    if usable and not event.uncertain:
        parts.extend(usable)
    else:
        why = " (interleaved lines: frames not used)" if event.uncertain else ""
        parts.append(f"message: {_normalised(event.message)}{why}")
    return tuple(parts)


def _frame_parts(frames: tuple[Frame, ...]) -> tuple[tuple[str, ...], Frame | None]:
    """The frames' share of a fingerprint, and the location: a recurring traceback has
    the same frames every time (computed once; a repeat has the very same tuple)."""
    seen = _SEEN_FRAMES.get(id(frames))
    if seen is not None and seen[0] is frames:
        return seen[1]
    if len(_SEEN_FRAMES) >= 4096:
        _SEEN_FRAMES.clear()
    found = _frame_parts_of(frames)
    _SEEN_FRAMES[id(frames)] = (frames, found)  # holding the tuple keeps its id unique
    return found


_SEEN_FRAMES: dict[int, tuple[tuple[Frame, ...], tuple[tuple[str, ...], Frame | None]]] = {}


@lru_cache(maxsize=4096)
def _frame_parts_of(frames: tuple[Frame, ...]) -> tuple[tuple[str, ...], Frame | None]:
    chosen = in_app_frames(frames) or frames
    usable = [frame for frame in chosen if frame.function != "?" or frame.source]
    parts = tuple(
        f"frame: {module_name(f.file)} | {f.function} | {' '.join(f.source.split())}"
        for f in usable
    )
    return parts, (chosen[-1] if chosen else None)


@lru_cache(maxsize=4096)
def _normalised(message: str) -> str:
    return normalise_message(message)


@lru_cache(maxsize=4096)
def fingerprint(parts: tuple[str, ...]) -> str:
    """A short stable digest of the parts."""
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def location(event: TracebackEvent) -> Frame | None:
    """The innermost in-app frame (or innermost frame when none is in-app)."""
    return _frame_parts(event.frames)[1]


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """Every traceback with one fingerprint."""

    fingerprint: str
    parts: tuple[str, ...]
    type: str
    message: str
    location: Frame | None
    count: int
    first_seen: float
    last_seen: float
    sample: TracebackEvent
    minutes: tuple[int, ...] = ()
    """Occurrences per minute, oldest first, ending at the minute of last_seen."""
    incomplete: int = 0
    injected: int = 0
    """Occurrences attributed to errwatch's fault injection."""
    uncertain: int = 0
    """Occurrences read from interleaved lines."""
    sources: tuple[tuple[str, int], ...] = ()
    """Where it occurred (a container, pod, host or file) and how often, in the order
    first seen; past :data:`MAX_SOURCES` names, the rest is counted under :data:`OTHERS`."""

    @property
    def application(self) -> int:
        """Occurrences not caused by errwatch's fault injection."""
        return self.count - self.injected


def _bump_minutes(minutes: tuple[int, ...], last: float, at: float) -> tuple[int, ...]:
    shift = int(at // 60) - int(last // 60)
    if shift < 0:  # an older record arrived late: count it where it belongs, if still kept
        index = len(minutes) - 1 + shift
        if index >= 0:
            bumped = list(minutes)
            bumped[index] += 1
            return tuple(bumped)
        return minutes
    grown = (*minutes, *(0,) * (shift - 1), 1) if shift else (*minutes[:-1], minutes[-1] + 1)
    return grown[-SPARK_MINUTES:]


def _merged_minutes(one: ErrorGroup, other: ErrorGroup) -> tuple[int, ...]:
    """The per-minute counts of two groups of one fingerprint, added minute by minute."""
    end = max(int(one.last_seen // 60), int(other.last_seen // 60))
    counts = [0] * SPARK_MINUTES
    for group in (one, other):
        last = int(group.last_seen // 60)
        for back, count in enumerate(reversed(group.minutes)):
            index = SPARK_MINUTES - 1 - (end - last) - back
            if index >= 0:
                counts[index] += count
    first = next((i for i, count in enumerate(counts) if count), SPARK_MINUTES - 1)
    return tuple(counts[first:])


def injected(event: TracebackEvent, injection_route: str | None) -> bool:
    """Whether fault injection caused a traceback: its record names the injection route,
    or carries errwatch's X-Errwatch-Injection header."""
    record = event.record
    if record is None:
        return False
    if record.injection:
        return True
    return injection_route is not None and record.route == injection_route


MAX_SOURCES = 50
"""Names of streams kept per group (a fleet of hosts, the containers of a compose file)."""
OTHERS = "(others)"


def count_source(
    sources: tuple[tuple[str, int], ...], name: str, times: int = 1
) -> tuple[tuple[str, int], ...]:
    """``sources`` with ``times`` more occurrences on ``name`` (a nameless place is not kept)."""
    if not name:
        return sources
    for index, (known, count) in enumerate(sources):
        if known == name:
            return (*sources[:index], (known, count + times), *sources[index + 1 :])
    if len(sources) >= MAX_SOURCES and name != OTHERS:
        return count_source(sources, OTHERS, times)
    return (*sources, (name, times))


def short_name(source: str) -> str:
    """A source as shown: a log file by its name, a container, host or command as is."""
    return source.rsplit("/", 1)[-1] if source.startswith("/") else source


def ranked_sources(group: ErrorGroup) -> list[tuple[str, int]]:
    """Where a group occurred, most occurrences first."""
    return sorted(group.sources, key=lambda item: -item[1])


def sources_text(group: ErrorGroup, *, short: bool = False) -> str:
    """Every place a group occurred, with its count: ``web-1 (3), worker-1 (1)``."""
    return ", ".join(
        f"{short_name(name) if short else name} ({count})" for name, count in ranked_sources(group)
    )


MAX_GROUPS = 10_000
"""Groups kept at once; past it the group that has gone longest without an event is
dropped, so a log of endlessly distinct errors cannot grow memory without bound."""


class GroupStore:
    """Groups events by fingerprint; hands out immutable :class:`ErrorGroup` values.

    At most ``max_groups`` are kept: a new group past the cap pushes out the one that has
    gone longest without an event, and :attr:`dropped` counts those pushed out.
    """

    def __init__(self, injection_route: str | None = None, max_groups: int = MAX_GROUPS) -> None:
        # Kept in the order they were last updated: the first one is the next to go.
        self._groups: dict[str, ErrorGroup] = {}
        self.injection_route = injection_route
        self.max_groups = max_groups
        self.events = 0
        self.dropped = 0

    def is_injected(self, event: TracebackEvent) -> bool:
        """Whether fault injection caused it: its route or the injection header says so."""
        return injected(event, self.injection_route)

    def add(self, event: TracebackEvent) -> tuple[ErrorGroup, bool]:
        """Count one event; return its group and whether the group is new."""
        self.events += 1
        parts = fingerprint_parts(event)
        key = fingerprint(parts)
        at = event.seen_at
        injected = int(self.is_injected(event))
        group = self._groups.get(key)
        if group is None:
            group = ErrorGroup(
                fingerprint=key,
                parts=parts,
                type=event.type,
                message=event.message,
                location=location(event),
                count=1,
                first_seen=at,
                last_seen=at,
                sample=event,
                minutes=(1,),
                incomplete=int(not event.complete),
                injected=injected,
                uncertain=int(event.uncertain),
                sources=count_source((), event.stream or event.source),
            )
            if len(self._groups) >= self.max_groups:
                del self._groups[next(iter(self._groups))]
                self.dropped += 1
            self._groups[key] = group
            return group, True
        # Like Sentry, the group shows its newest complete event: where the code is now.
        complete = event.complete
        group = ErrorGroup(
            fingerprint=key,
            parts=group.parts,
            type=group.type,
            message=event.message if complete else group.message,
            location=location(event) if complete else group.location,
            count=group.count + 1,
            first_seen=min(group.first_seen, at),
            last_seen=max(group.last_seen, at),
            sample=event if complete or not group.sample.complete else group.sample,
            minutes=_bump_minutes(group.minutes, group.last_seen, at),
            incomplete=group.incomplete + (not complete),
            injected=group.injected + injected,
            uncertain=group.uncertain + event.uncertain,
            sources=count_source(group.sources, event.stream or event.source),
        )
        del self._groups[key]  # to the end: the most recently updated
        self._groups[key] = group
        return group, False

    def merge(self, later: ErrorGroup) -> None:
        """Count a group gathered from a later part of the same input (a scan in parts):
        as if its events had been added here one by one."""
        self.events += later.count
        key = later.fingerprint
        group = self._groups.pop(key, None)
        if group is None:
            if len(self._groups) >= self.max_groups:
                del self._groups[next(iter(self._groups))]
                self.dropped += 1
            self._groups[key] = later
            return
        sources = group.sources
        for name, times in later.sources:
            sources = count_source(sources, name, times)
        self._groups[key] = replace(
            later,
            parts=group.parts,
            type=group.type,
            count=group.count + later.count,
            first_seen=min(group.first_seen, later.first_seen),
            last_seen=max(group.last_seen, later.last_seen),
            minutes=_merged_minutes(group, later),
            incomplete=group.incomplete + later.incomplete,
            injected=group.injected + later.injected,
            uncertain=group.uncertain + later.uncertain,
            sources=sources,
        )

    def in_order(self) -> tuple[ErrorGroup, ...]:
        """All groups, least recently updated first."""
        return tuple(self._groups.values())

    def groups(self) -> tuple[ErrorGroup, ...]:
        """All groups, most recently seen first."""
        return tuple(sorted(self._groups.values(), key=lambda g: g.last_seen, reverse=True))

    def __len__(self) -> int:
        return len(self._groups)

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self._groups

"""Which prefix a source's lines carry, decided from its first lines.

A known format wins when most sample lines carry it (a tool's own lines, such as
``Attaching to web_1``, have none) and, for formats that name streams, when those
streams are few: a "stream" that changes on every line is ordinary text that happens to
look like a prefix. Otherwise a constant literal prefix (``> `` of a quoted paste,
``[api] ``) or an indentation shared by every line is stripped, and the rest is looked
at again. Anything that could be a record's own start (a date, a level) is never taken
for a literal prefix: a wrong guess there would cost the record its time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from errwatch.core.logs.framing.formats import FORMATS, PrefixFormat
from errwatch.core.logs.framing.framer import Framer, strip_colours

DETECT_LINES = 64
"""Non-empty lines a decision is made on."""
MAJORITY = 0.5
"""Share of the sample lines a known format must match (a tool's own lines have none)."""
LITERAL_SHARE = 0.9
"""Share of the sample lines a literal prefix must start."""
MIN_LITERAL_LINES = 3
_SEPARATORS = " |:>])#"
_RECORD_START = re.compile(
    r"\d|(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)\b", re.IGNORECASE
)
_DATE_OR_TIME = re.compile(r"\d\d[-:/.]\d\d")


def sample_lines(lines: Sequence[str]) -> list[str]:
    """The lines a decision looks at: non-empty, colours removed, at most DETECT_LINES."""
    sample: list[str] = []
    for line in lines:
        if line.strip():
            sample.append(strip_colours(line))
            if len(sample) >= DETECT_LINES:
                break
    return sample


def detect(lines: Sequence[str]) -> Framer | None:
    """The framer for lines like these, or None when they carry no prefix."""
    sample = sample_lines(lines)
    if not sample:
        return None
    known = _known(sample)
    if known is not None:
        return _indented(Framer(known), sample)
    literal = _literal(sample)
    if not literal:
        return None
    # The shortest literal after which a known format follows ("> " then compose), else
    # the whole literal.
    for cut in sorted({i + 1 for i, char in enumerate(literal) if char in _SEPARATORS}):
        rest = [line[cut:] for line in sample if line.startswith(literal[:cut])]
        known = _known(rest)
        if known is not None:
            return _indented(Framer(known, literal[:cut]), sample)
    return Framer(None, literal)


def _indented(framer: Framer, sample: list[str]) -> Framer:
    """The framer, told to remove the spaces every text starts with after the prefix."""
    texts = [split[1] for line in sample if (split := framer.split(line)) and split[1].strip()]
    indent = min((len(text) - len(text.lstrip(" ")) for text in texts), default=0)
    if indent and framer.format is not None:
        return Framer(framer.format, framer.literal, indent)
    return framer


def _known(sample: list[str]) -> PrefixFormat | None:
    best: tuple[int, PrefixFormat] | None = None
    for candidate in FORMATS:
        framer = Framer(candidate)
        keys = set()
        matched = counted = 0
        for line in sample:
            split = framer.split(line)
            if split is not None:
                matched += 1
                keys.add(split[0])
            elif candidate.continued and line[:1] in (" ", "\t"):
                continue  # the rest of a multi-line entry, under its first line
            counted += 1
        need = max(min(2, counted), math.ceil(MAJORITY * counted))
        if not matched or matched < need or (candidate.multi and len(keys) > max(3, matched // 3)):
            continue
        if best is None or matched > best[0]:
            best = (matched, candidate)
    return best[1] if best is not None else None


def _literal(sample: list[str]) -> str:
    if len(sample) < MIN_LITERAL_LINES:
        return ""
    common, count = Counter(line[:2] for line in sample).most_common(1)[0]
    group = [line for line in sample if line.startswith(common)]
    if count < LITERAL_SHARE * len(sample):
        return ""
    prefix = _common_start(group)
    if not prefix.strip():
        # An indentation only counts when every line has it: the frames of a traceback
        # are indented, its header is not.
        return prefix if prefix and len(group) == len(sample) else ""
    cut = max(prefix.rfind(separator) for separator in _SEPARATORS)
    prefix = prefix[: cut + 1] if cut >= 0 else ""
    if (
        not prefix.strip()
        or _RECORD_START.match(prefix.lstrip(" [(<"))
        or _DATE_OR_TIME.search(prefix)
    ):
        return ""
    return prefix


def _common_start(lines: list[str]) -> str:
    """The characters every line starts with."""
    first, last = min(lines), max(lines)
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    return first[:size]

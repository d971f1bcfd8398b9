"""Bytes of log text -> lines, the same way for live following and offline scans.

Both paths hand complete lines to one decoder, :func:`decode_line`, so a line reads the
same whichever path saw it: over-long lines cut at :data:`MAX_LINE` and marked, a
trailing CR dropped, invalid UTF-8 and NUL runs turned into replacement characters.

:func:`searcher` gives ``bytes.find`` made fast for short needles over one buffer:
glibc's ``memmem`` searches ``b'\\n  File '`` about three to five times faster than
CPython's own search over long stretches, which decides whether ``errwatch scan`` keeps
pace with grep (``bytes.find`` is the fallback).
"""

from __future__ import annotations

import ctypes
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

MAX_LINE = 1024 * 1024
"""Longer lines are cut here and marked, so memory stays bounded."""
LONG_LINE_MARK = " [errwatch: line cut at 1 MiB]"
LONG_LINE_MARK_BYTES = LONG_LINE_MARK.encode()
_NUL_RUN = re.compile("\x00+")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

Buffer = bytes | bytearray


class LineSplitter:
    """Bytes as they arrive -> complete lines. Keeps at most one partial line; a line
    longer than :data:`MAX_LINE` is cut there, marked, and the rest of it dropped."""

    __slots__ = ("partial", "skipping")

    def __init__(self, *, skipping: bool = False) -> None:
        self.partial = b""
        self.skipping = skipping
        """Inside an over-long line (or a line begun before the start): dropping until
        its newline."""

    def split(self, chunk: bytes) -> bytes:
        """The complete lines ``chunk`` finishes; the rest waits for its newline."""
        data = self.partial + chunk if self.partial else chunk
        start = 0
        if self.skipping:
            newline = data.find(b"\n")
            if newline < 0:
                self.partial = b""
                return b""
            self.skipping = False
            start = newline + 1
        end = data.rfind(b"\n", start)
        lines = data[start : end + 1] if end >= start else b""
        rest = data[end + 1 :] if end >= start else data[start:]
        if len(rest) > MAX_LINE:
            lines += rest[:MAX_LINE] + LONG_LINE_MARK_BYTES + b"\n"
            rest = b""
            self.skipping = True
        self.partial = rest
        return lines

    def flush(self) -> bytes:
        """The last line, without its newline, once nothing more will come (with one)."""
        last = self.partial + b"\n" if self.partial and not self.skipping else b""
        self.reset()
        return last

    def reset(self) -> None:
        """Start again at a line boundary (a truncated file read from its start)."""
        self.partial = b""
        self.skipping = False


def decode_line(raw: Buffer) -> str:
    """One line's bytes (without its newline) as text; never raises."""
    marked = len(raw) > MAX_LINE
    if marked:
        raw = raw[:MAX_LINE]
    elif raw.endswith(b"\r"):
        raw = raw[:-1]
    text = raw.decode("utf-8", "replace")
    if "\x00" in text:
        text = _NUL_RUN.sub("\ufffd", text)
    return text + LONG_LINE_MARK if marked else text


def strip_ansi(line: str) -> str:
    """Remove terminal colour codes (Python 3.13 with FORCE_COLOR, werkzeug's access log)."""
    return _ANSI.sub("", line) if "\x1b" in line else line


def last_lines(data: Buffer, start: int, stop: int, count: int) -> list[str]:
    """The last ``count`` lines of ``data[start:stop]`` (``stop`` is a line start), oldest
    first, decoded."""
    lines = list(islice(_newest_first(data, start, stop), count))
    lines.reverse()
    return lines


def _newest_first(data: Buffer, start: int, stop: int) -> Iterator[str]:
    line_end = stop - 1
    while line_end >= start:
        line_start = max(start, data.rfind(b"\n", start, line_end) + 1)
        yield decode_line(data[line_start:line_end])
        line_end = line_start - 1


class RecentLines:
    """The last ``size`` lines seen (colours removed), the newest of them possibly still
    bytes of the buffer being read: most are never looked at, so they are decoded only
    when asked for, newest first, or before the buffer changes (:meth:`settle`)."""

    __slots__ = ("_data", "_lines", "_size", "_start", "_stop")

    def __init__(self, size: int) -> None:
        self._lines: deque[str] = deque(maxlen=size)
        self._size = size
        self._data: Buffer | None = None
        self._start = self._stop = 0

    def defer(self, data: Buffer, start: int, stop: int) -> None:
        """The lines of ``data[start:stop]`` went by (``stop`` is a line start)."""
        self.settle()
        self._data, self._start, self._stop = data, start, stop

    def settle(self) -> None:
        """Decode the deferred lines: their buffer is about to change."""
        data = self._data
        if data is not None:
            self._data = None
            lines = last_lines(data, self._start, self._stop, self._size)
            self._lines.extend(strip_ansi(line) for line in lines)

    def append(self, line: str, /) -> None:
        self.settle()
        self._lines.append(line)

    def extend(self, lines: Iterable[str], /) -> None:
        self.settle()
        self._lines.extend(lines)

    def clear(self) -> None:
        self._data = None
        self._lines.clear()

    def __len__(self) -> int:
        self.settle()
        return len(self._lines)

    def __getitem__(self, index: int, /) -> str:
        self.settle()
        return self._lines[index]

    def __reversed__(self) -> Iterator[str]:
        if self._data is None:
            return reversed(self._lines)
        return self._newest_first()

    def _newest_first(self) -> Iterator[str]:
        data, start, size = self._data, self._start, self._size
        assert data is not None
        line_end = self._stop - 1
        while line_end >= start and size:
            line_start = max(start, data.rfind(b"\n", start, line_end) + 1)
            yield strip_ansi(decode_line(data[line_start:line_end]))
            line_end = line_start - 1
            size -= 1
        yield from islice(reversed(self._lines), size)


Search = Callable[[bytes, int, int], int]
"""``haystack.find(needle, start, end)`` for one haystack."""


def _python_searcher(haystack: Buffer) -> Search:
    return haystack.find


def _libc_searcher() -> Callable[[Buffer], Search] | None:
    try:
        libc = ctypes.CDLL(None)
        memmem = libc.memmem
    except (OSError, AttributeError):  # no libc symbols here (Windows): bytes.find it is
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]

    def searcher(haystack: Buffer) -> Search:
        size = len(haystack)
        if isinstance(haystack, bytearray):
            # from_buffer pins the bytearray (no resize) for as long as the view lives; a
            # single char of it gives the address (an array type of each size would cost
            # the creation of a type per window).
            view: object = ctypes.c_char.from_buffer(haystack) if size else None
            base = ctypes.addressof(view) if size else 0  # type: ignore[arg-type]
        else:
            view = haystack
            base = ctypes.cast(ctypes.c_char_p(haystack), ctypes.c_void_p).value or 0

        def search(needle: bytes, start: int, end: int, _view: object = view) -> int:
            end = min(end, size)
            if end - start < len(needle) or start < 0:
                return -1 if start >= 0 else haystack.find(needle, start, end)
            found = memmem(base + start, end - start, needle, len(needle))
            return -1 if found is None else found - base

        return search

    return searcher


searcher: Callable[[Buffer], Search] = _libc_searcher() or _python_searcher
"""A search of one haystack for short needles, through memmem where the C library has
it (the haystack cannot be resized while the search lives)."""

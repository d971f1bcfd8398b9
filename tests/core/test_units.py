"""Durations and sizes as people write them."""

from __future__ import annotations

import pytest

from errwatch.core.units import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2.0), ("500ms", 0.5), ("1m", 60.0), ("1m30s", 90.0), ("1h", 3600.0), ("1.5s", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "s", "2 s", "1m 30s", "-1s", "2sec", "1s2"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("1MiB") == 1_048_576
    assert parse_size("512") == 512
    with pytest.raises(ValueError, match="invalid size"):
        parse_size("ten megs")


def test_durations_read_back() -> None:
    assert [format_duration(s) for s in (0.25, 2, 90, 3600, 5400)] == [
        "250ms",
        "2s",
        "1m30s",
        "1h",
        "1h30m",
    ]

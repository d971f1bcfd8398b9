"""Fixtures of the log tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.logs.following import Following


@pytest.fixture
def follow() -> Iterator[list[Following]]:
    """Followers started by a test (``following.start``), all stopped at its end."""
    started: list[Following] = []
    yield started
    for following in started:
        following.close()

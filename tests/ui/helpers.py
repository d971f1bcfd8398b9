"""Helpers for driving the dashboard with Textual's Pilot."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual.pilot import Pilot


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], object], timeout: float, what: str
) -> None:
    """Let the app run until ``condition`` holds (data from real processes takes real time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")

"""Fixtures for tests that drive errwatch in tmux."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI


@pytest.fixture
def session() -> Iterator[str]:
    """A tmux session name, killed after the test."""
    if shutil.which("tmux") is None:
        if IN_CI:
            pytest.fail("tmux is not installed")
        pytest.skip("tmux is not installed")
    name = f"errwatch-test-{os.getpid()}"
    yield name
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)

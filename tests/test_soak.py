"""The soak, one minute of it: what `make soak` does for ten."""

from __future__ import annotations

from pathlib import Path

from benchmarks.soak import describe, run_soak


async def test_a_minute_of_load_and_trouble(tmp_path: Path, prometheus_bin: str) -> None:
    result = await run_soak(60.0, tmp_path, say=False)
    print(describe(result))
    assert result.problems() == []
    assert result.rotations >= 1 and result.toggles >= 2
    assert result.written > 0  # the run injected, so the API wrote tracebacks
    # Each outage was said for what it is: Prometheus gone is not the API gone.
    assert "unreachable" in result.states and "target down" in result.states

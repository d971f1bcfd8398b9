"""`errwatch scan --json` on real logs pasted in public issues (samples/SOURCES.toml)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.reader import TracebackReader
from tests.core.logs.reading import in_pieces, in_windows

SAMPLES = Path(__file__).parent / "samples"
MANIFEST = tomllib.loads((SAMPLES / "SOURCES.toml").read_text())["sample"]
ERRWATCH = str(Path(sys.executable).parent / "errwatch")


def test_every_sample_is_listed_with_its_source() -> None:
    listed = {sample["file"] for sample in MANIFEST}
    assert listed == {path.name for path in SAMPLES.glob("*.log")}
    assert all(sample["source"].startswith("https://github.com/") for sample in MANIFEST)


def _marks(sample: dict[str, Any]) -> list[pytest.MarkDecorator]:
    """A sample errwatch does not read right yet says why (``known_miss``): the test
    fails the day it reads it right, so the note goes."""
    if "known_miss" not in sample:
        return []
    return [pytest.mark.xfail(reason=sample["known_miss"], strict=True)]


@pytest.mark.parametrize(
    "sample",
    [pytest.param(sample, id=sample["file"], marks=_marks(sample)) for sample in MANIFEST],
)
def test_a_careful_reader_counts_the_same(sample: dict[str, Any]) -> None:
    done = subprocess.run(
        [ERRWATCH, "scan", "--json", sample["file"]],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=SAMPLES,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["events"], found["incomplete"]) == (sample["events"], sample["incomplete"])
    types = Counter({group["type"]: group["count"] for group in found["groups"]})
    assert types == Counter(sample.get("types", []))
    if "sources" in sample:
        assert {name for group in found["groups"] for name in group["sources"]} == set(
            sample["sources"]
        )


@pytest.mark.parametrize("sample", MANIFEST, ids=[sample["file"] for sample in MANIFEST])
def test_the_dashboard_reads_each_sample_as_the_scan_does(sample: dict[str, Any]) -> None:
    """Live following (pieces of random sizes, then the end) against scans in windows of
    every size: the same events, each with its text, stream, record and completeness."""
    log = SAMPLES / sample["file"]

    def summary(events: list[TracebackEvent]) -> list[tuple[object, ...]]:
        return [(e.type, e.text, e.stream, e.record, e.complete) for e in events]

    scans = [summary(events) for _, events in in_windows(log, lambda: TracebackReader("s"))]
    assert all(scan == scans[0] for scan in scans)
    data = log.read_bytes()
    for seed in range(3):
        assert summary(in_pieces(data, TracebackReader("s"), seed)) == scans[0], seed

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

SAMPLES = Path(__file__).parent / "samples"
MANIFEST = tomllib.loads((SAMPLES / "SOURCES.toml").read_text())["sample"]
ERRWATCH = str(Path(sys.executable).parent / "errwatch")


def test_every_sample_is_listed_with_its_source() -> None:
    listed = {sample["file"] for sample in MANIFEST}
    assert listed == {path.name for path in SAMPLES.glob("*.log")}
    assert all(sample["source"].startswith("https://github.com/") for sample in MANIFEST)


@pytest.mark.parametrize("sample", MANIFEST, ids=[sample["file"] for sample in MANIFEST])
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

"""errwatch.core runs without a terminal: importing it must not pull in Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import errwatch.core


def test_core_does_not_import_textual() -> None:
    modules = [
        m.name for m in pkgutil.walk_packages(errwatch.core.__path__, prefix="errwatch.core.")
    ]
    assert "errwatch.core.logs.tracebacks" in modules
    code = "\n".join(
        [*(f"import {name}" for name in modules), "import sys", "print(sorted(sys.modules))"]
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = eval(done.stdout)
    assert not [name for name in loaded if name == "textual" or name.startswith("textual.")]
    assert "errwatch.core.logs.tracebacks" in loaded

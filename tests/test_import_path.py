"""What each command imports: no Textual without a terminal, no core before the first frame."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from errwatch.demo.process import free_port

RUN = """
import json, sys
from errwatch.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as leaving:
    code = leaving.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_by(*argv: str) -> tuple[int, list[str]]:
    """The exit code of ``errwatch argv`` and the modules it imported, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", RUN, *argv], capture_output=True, text=True, timeout=60
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], result["modules"]


def of(modules: list[str], *packages: str) -> list[str]:
    return [m for m in modules if m.split(".")[0] in packages or m.startswith(packages)]


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["scan", "--help"], ["check", "--help"], ["config", "check"]],
    ids=["help", "scan-help", "check-help", "config-check"],
)
def test_commands_that_draw_nothing_do_not_import_textual(argv: list[str]) -> None:
    code, modules = loaded_by(*argv)
    assert code in (0, None)
    assert of(modules, "textual", "rich") == []


def test_scan_reads_a_log_without_textual_or_an_http_client(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        'Traceback (most recent call last):\n  File "app.py", line 1, in <module>\n'
        "ZeroDivisionError: division by zero\n"
    )
    code, modules = loaded_by("scan", "--json", str(log))
    assert code == 0
    assert "errwatch.core.logs.scan" in modules
    assert of(modules, "textual", "rich", "httpx", "requests") == []


def test_check_runs_without_textual(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[prometheus]\nurl = "http://127.0.0.1:{free_port()}"\n')
    code, modules = loaded_by("--config", str(config), "check", "--duration", "0.3s", "--json")
    assert code == 2  # nothing answered: no verdict, but it ran
    assert "errwatch.core.check" in modules
    assert of(modules, "textual") == []


def test_the_dashboards_first_frame_needs_neither_the_core_nor_an_http_client() -> None:
    code = (
        "import sys\n"
        "from errwatch.cli import build_parser\n"
        "from errwatch.commands.dashboard import open_dashboard\n"
        "from errwatch.ui.app import ErrwatchApp\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    modules = done.stdout.split()
    assert "textual.app" in modules and "errwatch.ui.header" in modules
    # Built right after the first frame: the sources, their clients and recording, the
    # panels, the log reader, the chart.
    later = of(
        modules,
        "httpx", "requests", "urllib3", "prometheus_api_client", "sqlite3", "watchfiles",
        "plotext", "textual_plotext", "errwatch.sources", "errwatch.core.logs",
        "errwatch.core.incident", "errwatch.core.injection.injector",
        "errwatch.core.metrics.source", "errwatch.ui.rates", "errwatch.ui.tracebacks",
        "errwatch.ui.timeline", "errwatch.ui.injection", "errwatch.ui.chart",
        "errwatch.ui.dashboard",
    )  # fmt: skip
    assert later == []

"""Every command's terminal output fed the hostile corpus: nothing acts on the terminal.

Real parts where a real one can carry the text: a real Python application's log for
`scan`; a real exporter (prometheus_client) whose label values hold escape sequences and
markup, scraped by a real Prometheus, for `check` and `discover`. A loopback fake only for
answers a real Prometheus will not give on demand (an error page, for `discover` and
`config check`; a refusal, for the guard of `inject`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from errwatch.core.incident import timeline
from errwatch.core.incident.recording import Recorder
from errwatch.core.logs.grouping import GroupStore
from errwatch.core.logs.tracebacks import parse_text
from errwatch.core.textsafe import for_terminal
from errwatch.demo.process import free_port
from errwatch.demo.prometheus import PrometheusServer
from tests.hostile import corpus
from tests.hostile.logs import NAMED, hostile_logs
from tests.loopback import Reply, loopback

FORGED = "\nverdict: healthy"
LABEL = corpus.OSC_TITLE + corpus.RICH_CLOSE + corpus.C1_CSI + corpus.BIDI + FORGED
"""A label value: an OSC, markup, an 8-bit CSI, a bidi override, and a line of its own
that would pass for errwatch's."""


def errwatch(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process; stdout and stderr as text."""
    extra = ["--config", str(config)] if config is not None else []
    return subprocess.run(
        [sys.executable, "-m", "errwatch", *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def inert(text: str) -> str:
    """``text`` when nothing in it acts on a terminal (newlines aside)."""
    assert corpus.raw_controls(text, allow="\n") == [], text[-2000:]
    return text


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single ``errwatch: ...`` line of a command that refused (exit 2)."""
    assert done.returncode == 2, done.stderr
    lines = inert(done.stderr).splitlines()
    assert len(lines) == 1 and lines[0].startswith("errwatch: "), lines
    return lines[0]


def strings(value: Any) -> list[str]:
    """Every string in a decoded JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.items() for part in item for text in strings(part)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


# -- scan ------------------------------------------------------------------------------


def test_scan_table_and_json(tmp_path: Path) -> None:
    log, named = hostile_logs(tmp_path)
    table = errwatch("scan", str(log), str(named))
    assert table.returncode == 0, table.stderr
    inert(table.stdout)
    assert "y.py:3 f[/]" in table.stdout  # markup in a function name, shown as written
    assert for_terminal(NAMED, one_line=True)[:20] in table.stdout  # the ON column, cut
    rows = table.stdout.splitlines()
    assert len(rows) == 2 + 2  # the head, the columns, one row per group: none was split

    done = errwatch("scan", "--json", str(log), str(named))
    assert done.returncode == 0, done.stderr
    inert(done.stdout)
    found = json.loads(done.stdout)
    messages = {group["type"]: group["message"] for group in found["groups"]}
    # The text itself once decoded: escaped for the terminal, not altered (the parser
    # drops colour codes, as a log's ANSI colours; everything else is there, whole).
    for piece in (corpus.OSC_TITLE, corpus.C1_CSI, corpus.BIDI, corpus.RICH_CLICK, corpus.HTML):
        assert piece in messages["ValueError"] and piece in messages["KeyError"], piece
    assert corpus.LONG_TOKEN in messages["ValueError"]
    assert str(named) in strings(found)


def test_a_missing_file_is_one_escaped_line(tmp_path: Path) -> None:
    missing = tmp_path / f"gone{corpus.OSC_TITLE}{corpus.CARRIAGE}.log"
    line = one_error_line(errwatch("scan", str(missing)))
    assert for_terminal(str(missing), one_line=True) in line


# -- a real exporter and a real Prometheus, with hostile label values -------------------


@dataclass
class HostileEngine:
    config: Path
    """A config naming the exporter as the target and the Prometheus scraping it."""


@pytest.fixture(scope="module")
def hostile_engine(
    prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostileEngine]:
    """prometheus_client serving requests by status and path, where one status and one
    path hold the corpus; a real Prometheus scraping it every second."""
    registry = CollectorRegistry()
    requests = Counter("http_requests", "Requests", ["status", "path"], registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def traffic() -> None:
        while not stop.wait(0.2):
            requests.labels("200", "/items").inc(5)
            requests.labels("500", "/items").inc(1)
            requests.labels("200", "/error").inc(1)
            requests.labels(f"5{LABEL}", f"/x{LABEL}").inc(1)

    ticker = threading.Thread(target=traffic, daemon=True)
    ticker.start()
    workdir = tmp_path_factory.mktemp("hostile-engine")
    prometheus = PrometheusServer(prometheus_bin, workdir, [f"127.0.0.1:{port}"])
    prometheus.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # every series scraped, twice (for rate())
            series = httpx.get(
                f"{prometheus.url}/api/v1/query",
                params={"query": "count_over_time(http_requests_total[1m]) >= 2"},
                timeout=2,
            ).json()["data"]["result"]
            if len(series) == 4:
                break
            time.sleep(0.2)
        else:
            pytest.fail("Prometheus did not scrape the hostile exporter twice")
        config = workdir / "config.toml"
        config.write_text(
            f'[target]\nurl = "http://127.0.0.1:{port}"\n'
            f'[prometheus]\nurl = "{prometheus.url}"\nrefresh = "500ms"\n'
        )
        yield HostileEngine(config)
    finally:
        stop.set()
        ticker.join(2)
        prometheus.stop()
        server.shutdown()
        server.server_close()
        thread.join(2)


def test_check_text_and_json(hostile_engine: HostileEngine) -> None:
    text = errwatch("check", "--duration", "2s", config=hostile_engine.config)
    assert text.returncode in (0, 1), text.stderr
    note = [line for line in inert(text.stdout).splitlines() if "left out" in line]
    assert note and for_terminal(f"5{LABEL}", one_line=True) in note[0], text.stdout
    verdicts = [line for line in text.stdout.splitlines() if line.startswith("verdict:")]
    assert verdicts == ["verdict: NOT healthy"]  # the 5xx ratio is 1 in 7; none forged

    done = errwatch("check", "--duration", "2s", "--json", config=hostile_engine.config)
    assert done.returncode in (0, 1), done.stderr
    summary = json.loads(inert(done.stdout))
    assert any(f"5{LABEL}" in note for note in summary["notes"]), summary["notes"]


def test_discover_text_and_json(hostile_engine: HostileEngine) -> None:
    text = errwatch("discover", config=hostile_engine.config)
    assert text.returncode == 0, text.stderr
    assert for_terminal(f"/x{LABEL}", one_line=True) in inert(text.stdout)  # routes seen
    assert not [line for line in text.stdout.splitlines() if line.startswith("verdict")]

    done = errwatch("discover", "--json", config=hostile_engine.config)
    assert done.returncode == 0, done.stderr
    found = json.loads(inert(done.stdout))
    assert f"/x{LABEL}" in found["candidate"]["routes"]
    assert f"5{LABEL}" in found["candidate"]["left_out"]


# -- one-line errors that quote a server's answer or a value ----------------------------


def test_an_error_page_is_quoted_in_one_escaped_line(tmp_path: Path) -> None:
    page = f"<html><head><title>{corpus.ONE_LINE}</title></head><body>down</body></html>"
    with loopback() as server:
        server.reply = Reply(status=503, content_type="text/html", body=page.encode())
        config = tmp_path / "config.toml"
        config.write_text(f'[prometheus]\nurl = "{server.url}"\ntimeout = "2s"\n')
        line = one_error_line(errwatch("discover", config=config))
        assert "\\x1b]2;PWNED" in line and "[@click=app.quit]" in line
        checked = errwatch("config", "check", config=config)
    assert checked.returncode == 0, checked.stderr
    [comment] = [line for line in inert(checked.stdout).splitlines() if "not resolved" in line]
    assert "\\x1b]2;PWNED" in comment


def test_a_value_quoted_back_is_one_escaped_line(tmp_path: Path) -> None:
    config = tmp_path / "none.toml"
    config.write_text("")
    route = f"x{corpus.OSC_TITLE}{corpus.RICH_CLOSE}\nsecond line"
    line = one_error_line(
        errwatch("proxy", "--upstream", "http://127.0.0.1:9", "--listen", ":0", "--route", route)
    )
    assert for_terminal(route, one_line=True) in line


# -- inject: the guard's reading and the route ------------------------------------------


def test_inject_summary_text_and_json(tmp_path: Path) -> None:
    """The guard quotes Prometheus's refusal; the route is the person's own: both shown."""
    refusal = {"status": "error", "errorType": "bad_data", "error": corpus.ONE_LINE}
    with loopback() as server:
        server.reply = Reply(status=400, body=json.dumps(refusal).encode())
        config = tmp_path / "config.toml"
        config.write_text(
            f'[target]\nurl = "http://127.0.0.1:{free_port()}"\n'
            f'[prometheus]\nurl = "{server.url}"\nrefresh = "200ms"\n'
            '[prometheus.auth]\n[injection]\ntimeout = "200ms"\n'
        )
        route = f"/e{corpus.RICH_CLICK}"
        args = ("inject", "--rate", "5", "--duration", "1s", "--route", route)
        text = errwatch(*args, config=config)
        done = errwatch(*args, "--json", config=config)
    assert text.returncode == 0, text.stderr
    inert(text.stderr)
    guard = [line for line in inert(text.stdout).splitlines() if line.startswith("guard:")]
    assert guard and "\\x1b]2;PWNED" in guard[0], text.stdout
    assert done.returncode == 0, done.stderr
    summary = json.loads(inert(done.stdout))
    assert summary["url"].endswith(route)


# -- sessions and report on stdout -----------------------------------------------------


def test_sessions_and_the_report_on_stdout(tmp_path: Path) -> None:
    directory = tmp_path / "sessions"
    directory.mkdir(mode=0o700)
    recorder = Recorder(
        directory / "session-hostile.sqlite",
        {"started": str(time.time() - 60), "target": corpus.ONE_LINE, "query": corpus.MESSAGE},
    )
    recorder.start()
    store = GroupStore(injection_route="/error")
    traceback = (
        "Traceback (most recent call last):\n"
        f'  File "/srv/{corpus.RICH_CLOSE}.py", line 3, in f\n'
        f"ValueError: {corpus.MESSAGE}\n"
    )
    group, _ = store.add(parse_text(traceback)[0])
    recorder.add_group(group)
    recorder.add_event(timeline.mark(time.time(), corpus.ONE_LINE))
    recorder.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[recording]\ndir = "{directory}"\n')

    listed = errwatch("sessions", config=config)
    assert listed.returncode == 0, listed.stderr
    assert for_terminal(corpus.ONE_LINE) in inert(listed.stdout)

    for lang in ("fr", "en"):
        report = errwatch("report", "--lang", lang, config=config)
        assert report.returncode == 0, report.stderr
        assert "[@click=app.quit]" in inert(report.stdout)

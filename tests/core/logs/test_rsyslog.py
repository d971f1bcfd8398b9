"""Syslog files as Debian's real rsyslogd writes them, RFC 3164 and RFC 5424.

The test's own rsyslogd (``-n -f conf -i pidfile``; the system's /dev/log untouched)
takes messages on a unix socket and writes every one to two files, one per template.
Python apps send to it with logging's SysLogHandler (a record with its traceback is one
message: rsyslog escapes its newlines as ``#012``), and ``logger`` sends a crash line by
line, as a service's stderr would reach syslog.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from errwatch.config import LogConfig
from errwatch.core.logs.events import TracebackEvent
from errwatch.core.logs.logwatch import TracebackMonitor, TracebackUpdate
from errwatch.core.logs.reader import TracebackReader
from tests.conftest import require_binary, wait_until
from tests.core.logs import corpus

ERRWATCH = str(Path(sys.executable).parent / "errwatch")
HOST = socket.gethostname().split(".")[0]


@dataclass
class Rsyslog:
    socket: Path
    rfc3164: Path
    rfc5424: Path


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    binary = require_binary("rsyslog", shutil.which("rsyslogd") or "/usr/sbin/rsyslogd")
    work = tmp_path / "rsyslog"
    work.mkdir()
    conf = work / "rsyslog.conf"
    logs = Rsyslog(work / "log.sock", tmp_path / "syslog-3164.log", tmp_path / "syslog-5424.log")
    conf.write_text(
        textwrap.dedent(
            f"""\
            global(workDirectory="{work}")
            module(load="imuxsock" SysSock.Use="off")
            input(type="imuxsock" Socket="{logs.socket}" CreatePath="on")
            *.* action(type="omfile" file="{logs.rfc3164}"
                       template="RSYSLOG_TraditionalFileFormat")
            *.* action(type="omfile" file="{logs.rfc5424}"
                       template="RSYSLOG_SyslogProtocol23Format")
            """
        )
    )
    proc = subprocess.Popen(
        [binary, "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(logs.socket.exists, 10, "rsyslogd's socket")
        yield logs
    finally:
        proc.terminate()
        proc.wait(10)


def send_record_with_traceback(sock: Path, tmp_path: Path, tag: str = "api") -> None:
    """A real app: logging to syslog, logging.exception in a handler."""
    script = tmp_path / f"{tag}.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import logging, logging.handlers
            handler = logging.handlers.SysLogHandler(address={str(sock)!r})
            handler.setFormatter(
                logging.Formatter("{tag}[%(process)d]: %(levelname)s %(message)s")
            )
            log = logging.getLogger("{tag}")
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.info("started")

            def divide(a, b):
                return a / b

            try:
                divide(1, 0)
            except ZeroDivisionError:
                log.exception("Exception on /error [GET]")
            """
        )
    )
    subprocess.run([sys.executable, str(script)], check=True, timeout=30)


def send_lines(sock: Path, tag: str, text: str) -> None:
    """Each line one message (a service's stderr going to syslog)."""
    subprocess.run(
        ["logger", "-u", str(sock), "-t", tag], input=text, text=True, check=True, timeout=30
    )


def scan_json(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [ERRWATCH, "scan", "--json", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("template", ["rfc3164", "rfc5424"])
def test_what_rsyslog_wrote_is_read_per_program(
    rsyslog: Rsyslog, tmp_path: Path, template: str
) -> None:
    send_record_with_traceback(rsyslog.socket, tmp_path)
    crash = corpus.chained(tmp_path)
    send_lines(rsyslog.socket, "worker", crash)
    log: Path = getattr(rsyslog, template)
    wait_until(lambda: log.exists() and "KeyError" in log.read_text(), 10, "rsyslog's file")
    assert "#012" in log.read_text()  # the record and its traceback: one escaped message
    found = scan_json(log)
    groups = {group["type"]: group for group in found["groups"]}  # type: ignore[attr-defined]
    assert (found["events"], found["incomplete"]) == (2, 0)
    assert set(groups) == {"ZeroDivisionError", "KeyError"}
    zero, key = groups["ZeroDivisionError"], groups["KeyError"]
    assert zero["location"]["function"] == "divide"
    assert list(zero["sources"]) == [f"{HOST}/api"]
    assert list(key["sources"]) == [f"{HOST}/worker"]
    assert zero["first_seen"] is not None  # the syslog time: the record has none of its own
    _, bare = _events(crash)
    reader, [*events] = _events(log.read_text())
    assert [e.chain for e in events if e.type == "KeyError"] == [bare[0].chain]
    assert reader.framing.startswith("syslog")


def test_two_programs_logging_line_by_line_at_once(rsyslog: Rsyslog, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    crashes = [corpus.plain(first), corpus.chained(second)]
    senders = [
        subprocess.Popen(
            ["logger", "-u", str(rsyslog.socket), "-t", f"job{n}"],
            stdin=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    lines = [crash.splitlines() for crash in crashes]
    for pair in zip(*lines, strict=False):
        for sender, line in zip(senders, pair, strict=True):
            assert sender.stdin is not None
            sender.stdin.write(line + "\n")
            sender.stdin.flush()
    for sender, rest in zip(senders, lines, strict=True):
        assert sender.stdin is not None
        for line in rest[min(map(len, lines)) :]:
            sender.stdin.write(line + "\n")
        sender.stdin.close()
        sender.wait(10)
    wait_until(
        lambda: rsyslog.rfc3164.exists() and "KeyError" in rsyslog.rfc3164.read_text(),
        10,
        "both crashes written",
    )
    _, events = _events(rsyslog.rfc3164.read_text())
    assert sorted((e.type, e.stream, e.uncertain) for e in events) == [
        ("KeyError", f"{HOST}/job2", False),
        ("ZeroDivisionError", f"{HOST}/job1", False),
    ]


def test_following_what_rsyslog_writes(rsyslog: Rsyslog, tmp_path: Path) -> None:
    monitor = TracebackMonitor([LogConfig(path=str(rsyslog.rfc5424))])
    stop = threading.Event()
    updates: list[TracebackUpdate] = []
    thread = threading.Thread(target=lambda: updates.extend(monitor.run(stop)), daemon=True)
    thread.start()
    try:
        wait_until(lambda: updates, 10, "the monitor")
        send_record_with_traceback(rsyslog.socket, tmp_path)
        wait_until(lambda: updates and updates[-1].events == 1, 10, "the traceback followed")
        [group] = updates[-1].groups
        assert group.type == "ZeroDivisionError"
        assert group.sources == ((f"{HOST}/api", 1),)
        assert group.sample.record is not None and group.sample.record.route == "/error"
    finally:
        stop.set()
        thread.join(10)


def _events(text: str) -> tuple[TracebackReader, list[TracebackEvent]]:
    reader = TracebackReader("syslog")
    return reader, [*reader.feed(text.encode()), *reader.finish()]

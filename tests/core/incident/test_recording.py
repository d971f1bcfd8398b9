"""Recording to SQLite: complete after a clean close, up to the last second after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from errwatch.core.incident.recording import (
    Recorder,
    apply_retention,
    list_sessions,
    load_session,
    session_path,
)
from errwatch.core.incident.timeline import EventKind, event
from errwatch.core.logs.grouping import GroupStore
from errwatch.core.logs.tracebacks import parse_text

TRACEBACK = (
    "2025-07-29 14:35:02,000 ERROR [api] Exception on /error [GET]\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app.py", line 10, in error\n'
    "    ratio = 1 / 0\n"
    "ZeroDivisionError: division by zero\n"
)


def test_a_closed_recording_holds_events_rates_and_groups(tmp_path: Path) -> None:
    path = session_path(tmp_path, 1_700_000_000.0)
    recorder = Recorder(path, {"target": "http://127.0.0.1:5000", "started": "1700000000"})
    recorder.start()
    recorder.add_event(event(1.0, EventKind.INJECTION_STARTED, "injection started", rate=5))
    recorder.add_rates(1.5, {"200": 3.0, "500": 5.0}, 0.625, 0.0)
    store = GroupStore(injection_route="/error")
    for _ in range(3):
        group, _new = store.add(parse_text(TRACEBACK)[0])
        recorder.add_group(group)
    recorder.close()

    session = load_session(path)
    assert session.meta["target"] == "http://127.0.0.1:5000"
    [started] = session.events
    assert (started.kind, started.data["rate"]) == (EventKind.INJECTION_STARTED, 5)
    assert session.rates == ((1.5, "200", 3.0), (1.5, "500", 5.0))
    assert session.ratios == ((1.5, 0.625, 0.0),)
    [group] = session.groups
    assert (group.type, group.count, group.injected, group.route) == (
        "ZeroDivisionError",
        3,
        3,
        "/error",
    )
    assert group.line == 10 and "ratio = 1 / 0" in group.sample
    [info] = list_sessions(tmp_path)
    assert (info.events, info.groups, info.target) == (1, 1, "http://127.0.0.1:5000")


WRITER = """
import sys, time
from pathlib import Path
from errwatch.core.incident.recording import Recorder
from errwatch.core.incident.timeline import EventKind, event

recorder = Recorder(Path(sys.argv[1]), {"started": str(time.time())})
recorder.start()
n = 0
while True:
    n += 1
    recorder.add_event(event(time.time(), EventKind.MARK, f"mark {n}"))
    recorder.add_rates(time.time(), {"200": float(n)}, None, None)
    print(n, time.time(), flush=True)
    time.sleep(0.05)
"""


def test_sigkill_mid_run_leaves_a_file_with_everything_up_to_the_last_second(
    tmp_path: Path,
) -> None:
    path = tmp_path / "session-killed.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    writer = subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    written: list[tuple[int, float]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        n, at = writer.stdout.readline().split()
        written.append((int(n), float(at)))
        if written[-1][1] - written[0][1] > 3.2:
            break
    os.kill(writer.pid, signal.SIGKILL)
    killed_at = time.time()
    writer.wait()

    session = load_session(path)  # opens: WAL recovery after a killed writer
    marks = [int(e.text.split()[1]) for e in session.events]
    assert marks == list(range(1, len(marks) + 1))  # nothing missing in between
    older_than_a_second = [n for n, at in written if at < killed_at - 1.0]
    assert set(older_than_a_second) <= set(marks)
    assert len(session.rates) == len(marks) or len(session.rates) >= len(older_than_a_second)


def test_retention_by_age_then_by_size(tmp_path: Path) -> None:
    now = time.time()
    paths = []
    for age_days, size in ((10, 1000), (3, 4000), (2, 4000), (1, 4000)):
        path = tmp_path / f"session-{age_days}.sqlite"
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
        paths.append(path)
    removed = apply_retention(tmp_path, max_age=7 * 86400, max_bytes=9000, now=now, keep=paths[-1])
    assert removed == [paths[0], paths[1]]
    assert [p.exists() for p in paths] == [False, False, True, True]


def test_recordings_are_private_to_their_owner(tmp_path: Path) -> None:
    # Samples hold request paths and messages: not for the other users of a test host.
    directory = tmp_path / "state" / "sessions"
    directory.mkdir(parents=True, mode=0o755)
    directory.chmod(0o755)
    path = session_path(directory, 1_700_000_000.0)
    recorder = Recorder(path, {"started": "1700000000"})
    recorder.start()
    recorder.add_event(event(1.0, EventKind.MARK, "a mark"))
    assert recorder.sync()
    modes = {p.name: p.stat().st_mode & 0o777 for p in directory.iterdir()}
    recorder.close()
    assert directory.stat().st_mode & 0o777 == 0o700
    assert modes[path.name] == 0o600
    assert modes[f"{path.name}-wal"] == 0o600  # SQLite's WAL follows the database's mode

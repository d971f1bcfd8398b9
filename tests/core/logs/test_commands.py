"""`[[logs]] command = [...]`: real commands read like log files, kept running, stopped whole.

The commands are real processes (sh, Python): one that exits, one that never writes,
one that floods, one that ignores SIGTERM and leaves a child of its own.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from errwatch.config import LogConfig
from errwatch.core.logs.children import INBOX_LIMIT, STOP_GRACE
from errwatch.core.logs.commands import CommandTail
from errwatch.core.logs.follow import FollowState
from errwatch.core.logs.logwatch import TracebackMonitor
from tests.conftest import wait_until
from tests.core.logs.following import Following, start
from tests.ui.tmuxing import processes_mentioning

CRASH = (
    "printf 'Traceback (most recent call last):\\n"
    '  File "/srv/job.py", line 3, in <module>\\n'
    "    run()\\n"
    "ValueError: bad input\\n' >&2; "
    "echo '2025-07-29 14:35:03,000 CRITICAL [job] gave up' >&2; exit 3"
)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run_command(follow: list[Following], *argv: str, name: str = "") -> Following:
    """Follow one ``[[logs]] command``."""
    return start(follow, TracebackMonitor([LogConfig(command=argv, name=name)]))


def test_a_command_that_exits_is_shown_exited_then_restarted_with_backoff(
    follow: list[Following],
) -> None:
    follower = run_command(follow, "sh", "-c", CRASH, name="job")
    wait_until(lambda: follower.events() >= 2, 10, "two runs of the job")
    changes = follower.states()
    why = "exited with code 3: 2025-07-29 14:35:03,000 CRITICAL [job] gave up"
    assert ("exited", why) in changes
    restarts = [detail for state, detail in changes if state == "restarting"]
    assert restarts[:2] == [f"in 1s ({why})", f"in 2s ({why})"]
    [group] = follower.updates[-1].groups
    assert (group.type, group.message) == ("ValueError", "bad input")  # read from its stderr
    assert group.sources == (("job", group.count),)


def test_backoff_doubles_up_to_its_cap_and_each_run_is_read_whole() -> None:
    tail = CommandTail(["sh", "-c", "echo run; exit 1"], "quick", backoff=(0.05, 0.2))
    tail.start()
    try:
        wait_until(
            lambda: sum(c.state is FollowState.RESTARTING for c in tail._changes) >= 4,
            10,
            "four restarts",
        )
    finally:
        tail.close()
    waits = [c.detail.split()[1] for c in tail.take_changes() if c.state is FollowState.RESTARTING]
    assert waits[:4] == ["0.05s", "0.1s", "0.2s", "0.2s"]
    lines = b"".join(chunk.data for chunk in tail.poll())
    assert lines.count(b"run\n") == tail.supervisor.runs
    assert len(tail.take_closed()) == 2 * tail.supervisor.runs  # stdout and stderr of each


def test_a_command_that_never_writes_runs_quietly_and_stops(
    follow: list[Following], tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    follower = run_command(follow, "sh", "-c", f"echo $$ > {pid_file}; exec sleep 1000")
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "the pid")
    pid = int(pid_file.read_text())
    wait_until(lambda: ("running", f"pid {pid}") in follower.states(), 5, "running")
    assert follower.events() == 0
    started = time.monotonic()
    follower.close()
    assert time.monotonic() - started < STOP_GRACE + 2
    wait_until(lambda: not alive(pid), 2, "the command to die")


def test_a_command_that_floods_is_read_exactly_in_bounded_memory(follow: list[Following]) -> None:
    count = 20_000
    script = (
        "import sys\n"
        "tb = 'x ERROR [api] failed\\nTraceback (most recent call last):\\n"
        '  File "/srv/api.py", line 9, in handler\\n    1 / 0\\n'
        "ZeroDivisionError: division by zero\\n'\n"
        f"sys.stdout.write(tb * {count})\n"
        "sys.stdout.flush()\n"
        "import time; time.sleep(1000)\n"  # one run only: no restart adds to the count
    )
    follower = run_command(follow, sys.executable, "-c", script, name="flood")
    wait_until(lambda: follower.events() >= count, 60, f"{count} tracebacks")
    time.sleep(0.3)  # one more step: nothing beyond the count may appear
    assert follower.events() == count
    child = follower.monitor.tail.children[0]
    assert child._inbox.limit == INBOX_LIMIT  # the bound a flood waits on


def test_a_command_that_ignores_sigterm_is_killed_with_its_children(
    follow: list[Following], tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    script = (
        "trap '' TERM; "
        f"{sys.executable} -c 'import time; time.sleep(1000)' & echo $! >> {pids}; "
        f"echo $$ >> {pids}; echo started; while :; do sleep 1; done"
    )
    follower = run_command(follow, "sh", "-c", script)
    wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, 10, "both pids")
    group = [int(pid) for pid in pids.read_text().split()]
    assert all(alive(pid) for pid in group)
    started = time.monotonic()
    follower.monitor.stop()
    took = time.monotonic() - started
    assert STOP_GRACE <= took < STOP_GRACE + 3  # SIGTERM ignored: SIGKILL after the grace
    # SIGKILL is sent; dying takes the killed processes a moment more.
    wait_until(lambda: not any(alive(pid) for pid in group), 2, "the group to die")


def test_a_program_that_does_not_exist_is_a_state_not_a_crash(follow: list[Following]) -> None:
    follower = run_command(follow, "no-such-program-errwatch")
    wait_until(lambda: any(state == "restarting" for state, _ in follower.states()), 5, "a restart")
    assert (
        "exited",
        "could not start: no-such-program-errwatch: No such file or directory",
    ) in follower.states()


def test_a_prefixed_command_is_framed_like_a_file(follow: list[Following]) -> None:
    lines = [
        "web-1  | 2025-07-29 14:35:02,000 ERROR [api] Exception on /orders/1 [GET]",
        "web-1  | Traceback (most recent call last):",
        'web-1  |   File "/srv/api.py", line 9, in show',
        "web-1  |     return ORDERS[order_id]",
        "worker-1  | 2025-07-29 14:35:02,500 INFO [worker] tick",
        "web-1  | KeyError: 'o-1'",
        "worker-1  | 2025-07-29 14:35:03,000 INFO [worker] tick",
    ]
    script = "\n".join(f"print({line!r})" for line in lines)
    follower = run_command(follow, sys.executable, "-c", script, name="compose")
    wait_until(lambda: follower.events() == 1, 10, "the traceback")
    [group] = follower.updates[-1].groups
    assert group.type == "KeyError"
    assert group.sources == (("web-1", 1),)
    assert group.sample.record is not None and group.sample.record.route == "/orders/1"


def test_nothing_is_left_after_the_monitor_closes(tmp_path: Path) -> None:
    marker = f"errwatch-test-{os.getpid()}-left"
    monitor = TracebackMonitor(
        [LogConfig(command=("sh", "-c", "sleep 1000 & sleep 1000", marker)) for _ in range(3)]
    )
    monitor.step()
    wait_until(lambda: len(processes_mentioning(marker)) == 3, 10, "three commands")
    monitor.close()
    wait_until(lambda: processes_mentioning(marker) == [], 2, "every command and child to die")

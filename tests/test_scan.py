"""`errwatch scan` as a person or a CI job runs it: the real command on real log files."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.core.logs import corpus
from tests.privileges import obeying_file_modes
from tests.realpython import logged

ERRWATCH = str(Path(sys.executable).parent / "errwatch")

BODY = corpus.APP_ERRORS
GROUP_KEYS = {
    "fingerprint": str,
    "type": str,
    "message": str,
    "count": int,
    "first_seen": (str, type(None)),
    "last_seen": (str, type(None)),
    "location": (dict, type(None)),
    "sample": str,
    "sources": dict,
}


def scan(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ERRWATCH, "scan", *args], capture_output=True, text=True, timeout=60, **kwargs
    )


def scan_json(*paths: Path) -> dict[str, Any]:
    done = scan("--json", *map(str, paths))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_json_has_exactly_the_documented_shape(tmp_path: Path) -> None:
    logged(tmp_path, BODY)
    log = tmp_path / "app.log"
    with log.open("a") as handle:  # a traceback cut off at the end of the file
        handle.write('Traceback (most recent call last):\n  File "/srv/x.py", line 1, in f\n')
    found = scan_json(log)
    assert set(found) == {"events", "incomplete", "groups"}
    assert (found["events"], found["incomplete"]) == (4, 1)
    for group in found["groups"]:
        assert set(group) == set(GROUP_KEYS)
        for key, kind in GROUP_KEYS.items():
            assert isinstance(group[key], kind), key
    zero, key_error = found["groups"]  # by count, most first
    assert (zero["type"], zero["count"], zero["message"]) == (
        "ZeroDivisionError",
        3,
        "division by zero",
    )
    line = (tmp_path / "app.py").read_text().splitlines().index("    return a / b") + 1
    assert zero["location"] == {
        "file": str(tmp_path / "app.py"),
        "line": line,
        "function": "divide",
    }
    assert zero["sample"].startswith("Traceback (most recent call last):")
    assert zero["sample"].endswith("ZeroDivisionError: division by zero")
    first, last = (datetime.fromisoformat(zero[k]) for k in ("first_seen", "last_seen"))
    assert first < last  # the log's own timestamps, 10 ms apart at least
    stamps = [line[:23] for line in log.read_text().splitlines() if "Exception on" in line]
    assert first.strftime("%Y-%m-%d %H:%M:%S,%f")[:23] == stamps[0]
    assert (key_error["type"], key_error["count"]) == ("KeyError", 1)
    assert sum(group["count"] for group in found["groups"]) == found["events"]
    assert zero["sources"] == {str(log): 3}  # an unprefixed file: the file is the stream


def test_types_are_as_printed_and_seen_is_null_without_log_timestamps(tmp_path: Path) -> None:
    (tmp_path / "q").mkdir()
    (tmp_path / "g").mkdir()
    log = tmp_path / "stderr.log"
    log.write_text(corpus.qualified(tmp_path / "q") + corpus.task_group(tmp_path / "g"))
    found = scan_json(log)
    assert sorted(group["type"] for group in found["groups"]) == [
        "ExceptionGroup",
        "urllib.error.HTTPError",
    ]
    assert all(g["first_seen"] is None and g["last_seen"] is None for g in found["groups"])


def test_several_files_are_grouped_together(tmp_path: Path) -> None:
    logs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        logged(tmp_path / name, BODY)
        logs.append(tmp_path / name / "app.log")
    found = scan_json(*logs)
    assert found["events"] == 8
    # Same basename, function and source line in both: the same error, whatever the file.
    assert [(g["type"], g["count"]) for g in found["groups"]] == [
        ("ZeroDivisionError", 6),
        ("KeyError", 2),
    ]
    assert found["groups"][0]["sources"] == {str(logs[0]): 3, str(logs[1]): 3}


def test_without_json_a_readable_table(tmp_path: Path) -> None:
    logged(tmp_path, BODY)
    done = scan(str(tmp_path / "app.log"))
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "4 tracebacks in 2 groups"
    assert lines[1].split() == ["COUNT", "TYPE", "WHERE", "LAST", "SEEN", "MESSAGE"]
    line = (tmp_path / "app.py").read_text().splitlines().index("    return a / b") + 1
    assert lines[2].split()[:4] == ["3", "ZeroDivisionError", f"app.py:{line}", "divide"]
    assert lines[2].rstrip().endswith("division by zero")
    assert lines[3].split()[:2] == ["1", "KeyError"]


def test_groups_past_the_cap_are_left_out_and_said_so(tmp_path: Path) -> None:
    from errwatch.core.logs.grouping import MAX_GROUPS

    log = tmp_path / "many.log"
    extra = 5
    with log.open("w") as handle:  # one distinct in-app function per traceback
        for n in range(MAX_GROUPS + extra):
            handle.write(
                "Traceback (most recent call last):\n"
                f'  File "/srv/app.py", line 10, in handler_{n}\n'
                "    ratio = 1 / 0\n"
                "ZeroDivisionError: division by zero\n"
            )
    done = scan("--json", str(log))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["events"] == MAX_GROUPS + extra
    assert len(found["groups"]) == MAX_GROUPS
    functions = {group["location"]["function"] for group in found["groups"]}
    assert "handler_0" not in functions and f"handler_{MAX_GROUPS + extra - 1}" in functions
    assert done.stderr == (
        f"errwatch scan: {extra} more groups left out: only the {MAX_GROUPS}"
        " with the most recent events are kept\n"
    )


@pytest.mark.parametrize("problem", ["missing", "directory", "unreadable"])
def test_a_bad_path_is_one_line_and_exit_2(tmp_path: Path, problem: str) -> None:
    good = tmp_path / "good.log"
    good.write_text("nothing here\n")
    bad = tmp_path / "bad.log"
    expected = {
        "missing": f"errwatch: {bad}: no such file\n",
        "directory": f"errwatch: {bad}: is a directory, not a log file\n",
        "unreadable": f"errwatch: {bad}: cannot read: Permission denied\n",
    }[problem]
    if problem == "directory":
        bad.mkdir()
    elif problem == "unreadable":
        bad.write_text("secret\n")
        bad.chmod(0)
    done = scan("--json", str(good), str(bad), preexec_fn=obeying_file_modes())
    assert (done.returncode, done.stdout, done.stderr) == (2, "", expected)


def test_the_command_imports_no_ui_or_http_client(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(corpus.plain(tmp_path))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "errwatch", "scan", "--json", str(log)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    heavy = {"textual", "rich", "httpx", "requests", "prometheus_api_client", "watchfiles", "flask"}
    assert "errwatch.core.logs.scan" in imported
    assert not {name.split(".")[0] for name in imported} & heavy


def test_stdin_is_read_as_it_comes_in_bounded_memory(tmp_path: Path) -> None:
    """`kubectl logs ... | errwatch scan -`: 64 MiB through a pipe, a traceback every MiB."""
    crash = corpus.plain(tmp_path)
    filler = ("2025-07-29T14:35:02.000000000Z INFO [api] GET /health 200\n" * 18_000).encode()
    stamped = "".join(f"2025-07-29T14:35:03.000000000Z {line}\n" for line in crash.splitlines())
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; chunk = sys.stdin.buffer.read()\n"
            "for _ in range(64): sys.stdout.buffer.write(chunk)",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert writer.stdin is not None
    writer.stdin.write(filler + stamped.encode())
    writer.stdin.close()
    # errwatch's own peak, from a parent that has no other child: the test process's
    # RUSAGE_CHILDREN holds the peak of every child it ever reaped (servers, the writer).
    measured = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(done.returncode)"
    )
    done = subprocess.run(
        [sys.executable, "-c", measured, ERRWATCH, "scan", "--json", "-"],
        stdin=writer.stdout,
        capture_output=True,
        timeout=120,
    )
    writer.wait(30)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["events"], found["incomplete"]) == (64, 0)
    [group] = found["groups"]
    assert group["sources"] == {"stdin": 64}
    assert group["first_seen"].startswith("2025-07-29T14:35:03")  # the prefix's time
    peak_mb = int(done.stderr.decode().split()[-1]) / 1024
    assert peak_mb < 150, peak_mb  # wide: the input is 64 MiB, memory must not follow it


def test_prefixed_logs_say_where_each_group_occurred(tmp_path: Path) -> None:
    crash = corpus.plain(tmp_path).splitlines()
    lines = [f"web-1     | {line}" for line in crash] * 2 + [
        f"worker-1  | {line}" for line in crash
    ]
    log = tmp_path / "compose.log"
    log.write_text("\n".join(lines) + "\n")
    [group] = scan_json(log)["groups"]
    assert group["sources"] == {"web-1": 2, "worker-1": 1}
    table = scan(str(log)).stdout.splitlines()
    assert table[1].split()[:7] == ["COUNT", "TYPE", "WHERE", "LAST", "SEEN", "ON", "MESSAGE"]
    assert "web-1 (2), worker-1 (1)" in table[2]
    # --prefix none: lines read as they are, the file is the only place.
    unframed = json.loads(scan("--json", "--prefix", "none", str(log)).stdout)
    assert {name for g in unframed["groups"] for name in g["sources"]} == {str(log)}


def test_a_bad_prefix_regex_is_one_line_and_exit_2(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("nothing\n")
    done = scan("--prefix", "(?P<ts>[", str(log))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        'errwatch: --prefix: not "auto", "none" or a valid regex: '
        "unterminated character set at position 7\n"
    )

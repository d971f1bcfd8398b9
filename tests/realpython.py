"""Fixtures made by running real Python code, not typed by hand."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def python_stderr(code: str, *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """What a real interpreter prints on stderr for ``code`` (a failing script)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )
    return done.stderr


def run_script(path: Path, code: str) -> str:
    """Write ``code`` to ``path``, run it, return its stderr (tracebacks name that file)."""
    path.write_text(textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, cwd=path.parent
    )
    return done.stderr


LOGGING_PRELUDE = """
import logging, sys
logging.basicConfig(
    filename=sys.argv[1],
    format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
    level=logging.INFO,
)
log = logging.getLogger("shop.api")
"""


def logged(tmp_path: Path, body: str, name: str = "app.py") -> str:
    """Run ``body`` after a logging set-up like a real app's; return the log file's text."""
    script = tmp_path / name
    log = tmp_path / "app.log"
    script.write_text(LOGGING_PRELUDE + textwrap.dedent(body))
    subprocess.run([sys.executable, str(script), str(log)], check=True, timeout=60, cwd=tmp_path)
    return log.read_text()


WORKERS = """
import logging, multiprocessing, random, sys, time, traceback


class LineByLine:
    \"\"\"A shared stderr written one line at a time, a little apart, as by a worker.\"\"\"

    def __init__(self, path, rng):
        self.out = open(path, "a", buffering=1)
        self.rng = rng

    def write(self, text):
        for line in text.splitlines(keepends=True):
            self.out.write(line)
            self.out.flush()
            time.sleep(self.rng.random() * 0.002)
        return len(text)

    def flush(self):
        pass


def zero(n):
    return n / 0


def lookup(n):
    return {}["job-%d" % n]


def parse(n):
    return int("x%d" % n)


def missing(n):
    return {}["cfg-%d" % n]


def chained(n):
    try:
        missing(n)
    except KeyError as error:
        raise RuntimeError("job %d has no config" % n) from error


def work(name, path, barrier, each, seed, logged):
    rng = random.Random(seed)
    out = LineByLine(path, rng)
    log = logging.getLogger(name)
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(asctime)s ERROR [" + name + "] %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    for n in range(each):
        barrier.wait()
        try:
            globals()[name](n)
        except Exception:
            if logged:
                log.exception("job %d failed", n)
            else:
                traceback.print_exc(file=out)


if __name__ == "__main__":
    path, each, seed, logged, *names = sys.argv[1:]
    barrier = multiprocessing.Barrier(len(names))
    workers = [
        multiprocessing.Process(
            target=work, args=(name, path, barrier, int(each), int(seed) + i, logged == "1")
        )
        for i, name in enumerate(names)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
"""
WORKER_TYPES = {
    "zero": "ZeroDivisionError",
    "lookup": "KeyError",
    "parse": "ValueError",
    "chained": "RuntimeError",
}
"""The final exception of each worker of :data:`WORKERS`."""


def workers_at_once(
    log: Path, names: list[str], *, each: int = 5, seed: int = 0, logged: bool = False
) -> str:
    """Worker processes (``names`` from :data:`WORKER_TYPES`) that fail ``each`` times
    together, every one printing its traceback line by line to the same file (after a
    ``logging`` record when ``logged``); the file's text."""
    script = log.parent / "workers.py"
    script.write_text(WORKERS)
    argv = [sys.executable, str(script), str(log), str(each), str(seed), str(int(logged))]
    subprocess.run([*argv, *names], check=True, timeout=120, cwd=log.parent)
    return log.read_text()

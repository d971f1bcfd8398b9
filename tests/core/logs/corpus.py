"""Traceback texts made by running real Python 3.11 code, one function per format.

Shapes only later Pythons print (3.12/3.13 carets on calls, 3.13 colours) are built by
hand from CPython's own formatting code (Lib/traceback.py, Lib/_colorize.py); each says so.
"""

from __future__ import annotations

from pathlib import Path

from tests.realpython import logged, run_script

APP_ERRORS = """
import time
def divide(a, b):
    return a / b

for n in range(3):
    try:
        divide(n, 0)
    except ZeroDivisionError:
        log.exception("Exception on /error [GET] (X-Errwatch-Injection: run-1)")
    time.sleep(0.01)
try:
    {}["user"]
except KeyError:
    log.exception("lookup failed")
"""
"""Body for ``logged``: 3 ZeroDivisionError (injected, 10 ms apart) then 1 KeyError."""


def plain(tmp_path: Path) -> str:
    return run_script(
        tmp_path / "calc.py",
        """
        def ratio(a, b):
            return a / b

        def main():
            print(ratio(1, 0))

        main()
        """,
    )


def chained(tmp_path: Path) -> str:
    return run_script(
        tmp_path / "chain.py",
        """
        import json

        def load(raw):
            try:
                return json.loads(raw)
            except ValueError as error:
                raise RuntimeError("bad config") from error

        def handle():
            try:
                load("{")
            except RuntimeError:
                {}["missing"]

        handle()
        """,
    )


def exception_group(tmp_path: Path) -> str:
    """A group holding a plain exception and a nested group, then chained (3.11)."""
    return run_script(
        tmp_path / "groups.py",
        """
        def inner():
            raise ExceptionGroup("inner", [TypeError("bad type"), KeyError("user")])

        def outer():
            try:
                inner()
            except ExceptionGroup as group:
                raise ExceptionGroup("outer", [ValueError("bad value"), group]) from None

        def main():
            try:
                outer()
            except ExceptionGroup as error:
                raise RuntimeError("wrapped") from error

        main()
        """,
    )


def group_in_a_member_chain(tmp_path: Path) -> str:
    """A group whose first member was raised while handling another group: the member's
    chain goes on after the inner group's box, inside the outer box (3.11)."""
    return run_script(
        tmp_path / "member_chain.py",
        """
        def load():
            try:
                raise ExceptionGroup("retries", [TimeoutError("slow"), TimeoutError("slower")])
            except ExceptionGroup:
                raise KeyError("cache")

        def serve():
            errors = []
            try:
                load()
            except KeyError as error:
                errors.append(error)
            errors.append(TypeError("bad payload"))
            raise ExceptionGroup("request failed", errors)

        serve()
        """,
    )


def task_group(tmp_path: Path) -> str:
    """asyncio.TaskGroup: the ExceptionGroup is the final exception."""
    return run_script(
        tmp_path / "tasks.py",
        """
        import asyncio

        async def fetch(n):
            await asyncio.sleep(0)
            raise ConnectionError(f"backend {n} down")

        async def main():
            async with asyncio.TaskGroup() as group:
                group.create_task(fetch(1))
                group.create_task(fetch(2))

        asyncio.run(main())
        """,
    )


def syntax_errors(tmp_path: Path) -> list[str]:
    """Scripts that fail to compile: no Traceback header at all."""
    sources = {
        "never_closed.py": "x = 1\ndef f(\n    y = 2\n",
        "indent.py": "if True:\nprint('x')\n",
        "unexpected.py": "x = 1\n    y = 2\n",
        "tabs.py": "if True:\n\tx = 1\n        y = 2\n",
    }
    return [run_script(tmp_path / name, code) for name, code in sources.items()]


def no_message(tmp_path: Path) -> str:
    return run_script(tmp_path / "bare.py", "def check():\n    raise ValueError\ncheck()\n")


def qualified(tmp_path: Path) -> str:
    return run_script(
        tmp_path / "fetch.py",
        """
        import urllib.error

        def fetch(url):
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

        fetch("http://example.test/users/7")
        """,
    )


def local_class(tmp_path: Path) -> str:
    return run_script(
        tmp_path / "local.py",
        """
        def make():
            class QuotaExceeded(Exception):
                pass
            raise QuotaExceeded("over quota")

        make()
        """,
    )


def notes_then_record(tmp_path: Path) -> str:
    """A multi-line message with add_note() lines, in a logging record, then the next record."""
    return logged(
        tmp_path,
        """
        try:
            error = ValueError("first line\\nsecond line\\n  indented third")
            error.add_note("note: while importing users.csv")
            error.add_note("Traceback-like note: see the runbook")
            raise error
        except ValueError:
            log.exception("import failed")
        log.info("next record")
        """,
    )


def recursion(tmp_path: Path) -> str:
    return run_script(
        tmp_path / "deep.py",
        """
        def walk(node):
            return walk(node + 1)

        walk(0)
        """,
    )


def thread(tmp_path: Path) -> str:
    return run_script(
        tmp_path / "threads.py",
        """
        import threading

        def work():
            raise ValueError("in thread")

        worker = threading.Thread(target=work, name="worker-1")
        worker.start()
        worker.join()
        """,
    )


def gunicorn(tmp_path: Path) -> str:
    """gunicorn's error log: its format and date format (gunicorn/glogging.py), the
    message of workers/base.py handle_error, written by the real logging module."""
    return logged(
        tmp_path,
        """
        import logging
        handler = logging.getLogger().handlers[0]
        handler.setFormatter(logging.Formatter(
            "%(asctime)s [%(process)d] [%(levelname)s] %(message)s", "[%Y-%m-%d %H:%M:%S %z]"
        ))
        errors = logging.getLogger("gunicorn.error")
        errors.info("Booting worker with pid: 12")
        def view(order_id):
            return {}[order_id]
        try:
            view("o-1")
        except KeyError:
            errors.exception("Error handling request %s %s", "GET", "/error/1?debug=1")
        errors.info("Worker exiting")
        """,
    )


def json_lines(tmp_path: Path) -> str:
    """A JSON formatter like python-json-logger's: the traceback escaped in one line."""
    return logged(
        tmp_path,
        """
        import json, logging

        class JsonFormatter(logging.Formatter):
            def format(self, record):
                body = {
                    "asctime": self.formatTime(record),
                    "levelname": record.levelname,
                    "name": record.name,
                    "message": record.getMessage(),
                }
                if record.exc_info:
                    body["exc_info"] = self.formatException(record.exc_info)
                return json.dumps(body)

        logging.getLogger().handlers[0].setFormatter(JsonFormatter())
        log.info("started")
        def charge(amount):
            return amount / 0
        try:
            charge(12)
        except ZeroDivisionError:
            log.exception("Exception on /pay [POST]")
        log.info("still serving")
        """,
    )


def logging_records(tmp_path: Path) -> str:
    """Flask's log_exception line ("Exception on /error [GET]") in a logging record."""
    return logged(
        tmp_path,
        """
        log.info("started")
        def error():
            return 1 / 0
        try:
            error()
        except ZeroDivisionError:
            log.exception("Exception on /error [GET] (X-Errwatch-Injection: run-7)")
        log.info("still serving")
        """,
    )


def carets_313(file: str) -> str:
    """Python 3.13 output, built from Lib/traceback.py (format_frame_summary): 3.13
    underlines calls too (``~~~~^^``) and elides the middle of long statements."""
    return (
        "Traceback (most recent call last):\n"
        f'  File "{file}", line 12, in <module>\n'
        "    main()\n"
        "    ~~~~^^\n"
        f'  File "{file}", line 8, in main\n'
        "    total = compute(\n"
        "            ~~~~~~~^\n"
        "        1,\n"
        "        ^^\n"
        "    ...<2 lines>...\n"
        "        0,\n"
        "        ^^\n"
        "    )\n"
        "    ^\n"
        f'  File "{file}", line 3, in compute\n'
        "    return a / b\n"
        "           ~~^~~\n"
        "ZeroDivisionError: division by zero\n"
    )


def colour_313(file: str) -> str:
    """Python 3.13 with FORCE_COLOR, built from Lib/traceback.py and Lib/_colorize.py
    (file, line and function MAGENTA; type BOLD_MAGENTA, message MAGENTA; the failing
    part of the source BOLD_RED under ``^``, the rest of the expression RED under ``~``)."""
    magenta, bold_magenta, red, bold_red, reset = (
        "\x1b[35m",
        "\x1b[1;35m",
        "\x1b[31m",
        "\x1b[1;31m",
        "\x1b[0m",
    )
    return (
        "Traceback (most recent call last):\n"
        f'  File {magenta}"{file}"{reset}, line {magenta}5{reset}, in {magenta}<module>{reset}\n'
        f"    {red}ratio{reset}{bold_red}(1, 0){reset}\n"
        f"    {red}~~~~~{reset}{bold_red}^^^^^^{reset}\n"
        f'  File {magenta}"{file}"{reset}, line {magenta}2{reset}, in {magenta}ratio{reset}\n'
        f"    return {red}a{reset}{bold_red} / {reset}{red}b{reset}\n"
        f"           {red}~{reset}{bold_red}^^^{reset}{red}~{reset}\n"
        f"{bold_magenta}ZeroDivisionError{reset}: {magenta}division by zero{reset}\n"
    )

"""A whole dashboard on recorded data: metrics at a fixed time, a real log, a fixed clock."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from errwatch.config import AlertConfig, LogConfig, RecordingConfig
from errwatch.core.injection.injector import Injector
from errwatch.core.logs.logwatch import TracebackMonitor
from errwatch.core.metrics.rates import MetricsSnapshot
from errwatch.sources import build_incident
from errwatch.ui.app import ErrwatchApp
from tests.ui import scenes
from tests.ui.recorded import RecordedSource


def stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at)) + ",000"


def write_log(path: Path) -> None:
    """Tracebacks as the demo API logs them, at fixed times before ``scenes.AT``."""
    lines = []
    for n in range(12):
        at = scenes.INJECTION[0] + 5 * n
        lines += [
            f"{stamp(at)} ERROR [errwatch.demo.api] Exception on /error [GET] "
            "(X-Errwatch-Injection: 5f3a9c21)",
            "Traceback (most recent call last):",
            '  File "/srv/api/app.py", line 187, in error',
            "    ratio = 1 / 0",
            "            ~~^~~",
            "ZeroDivisionError: division by zero",
        ]
    for n in range(3):
        at = scenes.AT - 40 + 5 * n
        lines += [
            f"{stamp(at)} ERROR [errwatch.demo.api] Exception on /api/users/{n + 7} [GET]",
            "Traceback (most recent call last):",
            '  File "/srv/api/app.py", line 96, in get_user',
            "    return jsonify(USERS[user_id])",
            "                   ~~~~~^^^^^^^^^",
            f"KeyError: {n + 7}",
        ]
    path.write_text("\n".join(lines) + "\n")


def build(
    tmp_path: Path,
    *,
    snapshot: MetricsSnapshot | None = None,
    record: bool = False,
    alerts: tuple[AlertConfig, ...] | None = None,
    target: str | None = None,
) -> ErrwatchApp:
    """The dashboard over recorded metrics, a real log file, and (``record``) a recording."""
    log = tmp_path / "api.log"
    write_log(log)
    base = scenes.config()
    config = replace(
        base,
        target=replace(base.target, url=target or base.target.url),
        logs=(LogConfig(path=str(log)),),
        recording=RecordingConfig(enabled=record, dir=str(tmp_path / "sessions")),
        alerts=base.alerts if alerts is None else alerts,
    )
    incident = build_incident(config, mode="prometheus", clock=lambda: scenes.AT)
    snapshot = snapshot or scenes.STATES["up"]
    return ErrwatchApp(
        config,
        metrics=RecordedSource([snapshot], mode=snapshot.mode),
        tracebacks=TracebackMonitor(config.logs, injection_route=config.injection.route),
        injector=Injector(config.injection, config.target.url),
        incident=incident,
        output_dir=tmp_path,
    )

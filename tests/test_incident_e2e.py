"""The seed's story end to end: demo stack -> inject 10 s -> stop -> recovery -> post-mortem."""

from __future__ import annotations

import time
from pathlib import Path

from errwatch.config import Config, InjectionConfig, RecordingConfig
from errwatch.core.incident.recording import load_session
from errwatch.core.incident.report import analyse
from errwatch.core.incident.timeline import EventKind
from errwatch.core.metrics.rates import SourceState
from errwatch.demo.process import free_port
from errwatch.demo.stack import DemoStack, demo_config
from errwatch.sources import build_sources
from errwatch.ui.app import ErrwatchApp
from errwatch.ui.rates import RatesPanel
from errwatch.ui.timeline import TimelinePanel
from tests.ui.helpers import wait_for

RATIO_ALERT = "5xx ratio above 5%"


def clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


async def test_inject_stop_recover_and_the_report_tells_it_in_order(
    tmp_path: Path, prometheus_bin: str
) -> None:
    base = Config(
        injection=InjectionConfig(rate=20, duration=60),
        recording=RecordingConfig(dir=str(tmp_path / "sessions")),
    )
    with DemoStack(tmp_path, api_port=free_port(), prometheus_binary=prometheus_bin) as stack:
        config = demo_config(base, stack)
        sources = build_sources(config, bridge_warmup=True)
        app = ErrwatchApp.over(config, sources, output_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            rates = app.query_one(RatesPanel)
            await wait_for(
                pilot,
                lambda: (
                    rates.snapshot is not None
                    and rates.snapshot.mode == "prometheus"
                    and rates.snapshot.state is SourceState.UP
                ),
                20,
                "Prometheus to take over from the direct scrape",
            )
            await pilot.press("f")
            await pilot.pause(10.0)  # the injection window itself
            await pilot.press("f")
            incident = app.query_one(TimelinePanel).incident

            def resolved() -> bool:
                return any(
                    e.kind is EventKind.ALERT_RESOLVED and e.data["name"] == RATIO_ALERT
                    for e in incident.timeline.newest_first()
                )

            await wait_for(pilot, resolved, 40, "the 5xx ratio alert to resolve")
            await wait_for(
                pilot,
                lambda: (
                    rates.snapshot is not None and rates.snapshot.current().get("500", 1.0) == 0.0
                ),
                30,
                "the 500 rate back to 0",
            )
            await pilot.pause(1.5)  # one more poll recorded with the rate at 0
            await pilot.press("r")
            await wait_for(pilot, lambda: list(tmp_path.glob("postmortem-*.md")), 10, "report")
            recorder = incident.recorder
            assert recorder is not None
        sources.incident.close()

    [report] = tmp_path.glob("postmortem-*.md")
    session = load_session(recorder.path)
    events = session.events

    def first(kind: EventKind, **data: str) -> float:
        return next(
            e.at
            for e in events
            if e.kind is kind and all(e.data.get(k) == v for k, v in data.items())
        )

    moments = [
        ("injection start", first(EventKind.INJECTION_STARTED)),
        ("first ZeroDivisionError", first(EventKind.NEW_GROUP, type="ZeroDivisionError")),
        ("alert firing", first(EventKind.ALERT_FIRING, name=RATIO_ALERT)),
        ("injection stop", first(EventKind.INJECTION_STOPPED)),
        ("alert resolving", first(EventKind.ALERT_RESOLVED, name=RATIO_ALERT)),
    ]
    assert [name for name, _ in sorted(moments, key=lambda m: m[1])] == [n for n, _ in moments]

    text = report.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "|---" not in line][1:]
    wanted = [
        f"| {clock(moments[0][1])} | Début de l’injection : GET `/error` à 20 req/s (test) |",  # noqa: RUF001
        f"| {clock(moments[1][1])} | Première occurrence de `ZeroDivisionError` en `api.py:",
        f"| {clock(moments[2][1])} | Alerte « {RATIO_ALERT} » déclenchée (test) |",
        f"| {clock(moments[3][1])} | Arrêt de l’injection (user) :",  # noqa: RUF001
        f"| {clock(moments[4][1])} | Alerte « {RATIO_ALERT} » résolue (test) |",
    ]
    positions = []
    for row in wanted:
        matches = [i for i, line in enumerate(rows) if line.startswith(row)]
        assert matches, f"{row!r} not in the report's timeline:\n" + "\n".join(rows)
        positions.append(matches[0])
    assert positions == sorted(positions)

    facts = analyse(session)
    assert facts.first_error is not None and facts.detected is not None
    assert facts.recovered is not None and facts.recovered > moments[3][1]
    assert facts.severity == "low"  # every error was injected: a test incident, as in the seed
    # Two detections: from the log (a new traceback group fires at once) and from the
    # metrics (the 5xx ratio above 5% held for 3 s). How fast: benchmarks/bench_detection.
    assert facts.detected_by == "new traceback group"
    assert facts.first_error <= facts.detected < moments[2][1]  # the log tells first
    assert moments[2][1] - facts.first_error >= 3.0  # the ratio alert waited for its hold

"""The injector's small parts: the rate ladder, latency percentiles, the command line's plan."""

from __future__ import annotations

import random

import pytest

from errwatch.commands.injecting import plan
from errwatch.config import InjectionConfig
from errwatch.core.injection.injector import Injector, step_rate
from errwatch.core.injection.latency import LatencyHistogram
from errwatch.errors import UsageError


@pytest.mark.parametrize(
    ("rate", "up", "down"),
    [(5, 10, 2), (10, 20, 5), (7, 10, 5), (0.1, 0.2, 0.1), (500, 1000, 200), (0.3, 0.5, 0.2)],
)
def test_plus_and_minus_walk_a_1_2_5_ladder(rate: float, up: float, down: float) -> None:
    assert step_rate(rate, +1) == up
    assert step_rate(rate, -1) == down


def test_the_engine_clamps_every_rate_it_is_given() -> None:
    engine = Injector(InjectionConfig(rate=400.0, max_rate=400.0), "http://127.0.0.1:5000")
    assert engine.set_rate(step_rate(engine.rate, +1)) == 400.0
    assert engine.set_rate(0.0) == 0.1
    assert engine.clamp_duration(3600.0) == 600.0


def test_latency_percentiles_are_within_one_percent_over_a_whole_run() -> None:
    rng = random.Random(5)
    values = [rng.lognormvariate(1.0, 0.8) for _ in range(50_000)]
    histogram = LatencyHistogram()
    for value in values:
        histogram.add(value)
    ordered = sorted(values)
    for q in (50, 99):
        exact = ordered[int(q / 100 * len(ordered)) - 1]
        assert histogram.percentile(q) == pytest.approx(exact, rel=0.011)
    assert histogram.count == 50_000
    assert LatencyHistogram().percentile(50) is None


def test_the_plan_clamps_to_the_caps_and_says_so() -> None:
    cfg = InjectionConfig(max_rate=100.0, max_duration=60.0)
    planned, notes = plan(cfg, rate="250", duration="2m", route="/boom")
    assert (planned.rate, planned.duration, planned.route) == (100.0, 60.0, "/boom")
    assert notes == [
        "--rate 250/s is above injection.max_rate: injecting at 100/s",
        "--duration 2m is above injection.max_duration: stopping after 1m",
    ]
    assert plan(cfg, rate=None, duration=None, route=None) == (cfg, [])


@pytest.mark.parametrize(
    ("rate", "duration", "message"),
    [
        ("nan", None, "--rate: must be greater than 0, got nan"),
        ("-3", None, "--rate: must be greater than 0, got -3"),
        (None, "0s", '--duration: must be longer than 0, got "0s"'),
        (None, "soon", '--duration: invalid duration "soon"'),
    ],
)
def test_the_plan_refuses_bad_values(rate: str | None, duration: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=f"^{message}"):
        plan(InjectionConfig(), rate=rate, duration=duration, route=None)

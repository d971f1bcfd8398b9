"""The guard: pure, fed with (ratio, at) observations; the 5xx split by route."""

from __future__ import annotations

import pytest

from errwatch.core.injection.guard import ErrorGuard, split_errors


def test_trips_on_the_first_ratio_above_the_threshold_and_says_why() -> None:
    guard = ErrorGuard(0.05)
    assert guard.observe(0.0, 1.0) is None
    assert guard.observe(0.05, 2.0) is None  # at the threshold is not past it
    reason = guard.observe(0.125, 3.0)
    assert reason == "application 5xx ratio 12.5% above the guard's 5.0%"
    assert guard.tripped == reason
    assert guard.observe(0.5, 4.0) is None  # tripped once: the caller stops once


def test_an_estimate_trips_only_when_its_lowest_ratio_is_above() -> None:
    guard = ErrorGuard(0.05)
    # 10.4% estimated, but its margin reaches 2%: no proof of application errors.
    assert guard.observe(0.104, 1.0, estimated=True, low=0.02) is None
    assert guard.describe() == "app 5xx 10.4% est. (guard 5.0%)"
    reason = guard.observe(0.3, 2.0, estimated=True, low=0.2)
    assert (
        reason == "application 5xx ratio (estimated) 30.0% (at least 20.0%) above the guard's 5.0%"
    )


def test_hold_needs_the_ratio_to_stay_above_for_that_long() -> None:
    guard = ErrorGuard(0.1, hold=2.0)
    assert guard.observe(0.2, 10.0) is None
    assert guard.observe(0.2, 11.0) is None
    assert guard.observe(0.05, 11.5) is None  # back under: the streak ends
    assert guard.observe(0.3, 12.0) is None
    assert guard.observe(0.3, 13.9) is None
    assert guard.observe(0.3, 14.0) == "application 5xx ratio 30.0% above the guard's 10.0% for 2s"


def test_no_application_traffic_ends_a_streak() -> None:
    guard = ErrorGuard(0.1, hold=1.0)
    assert guard.observe(0.5, 1.0) is None
    assert guard.observe(None, 1.5) is None
    assert guard.observe(0.5, 2.0) is None
    assert guard.observe(0.5, 3.0) is not None


def test_stale_or_repeated_observations_are_ignored() -> None:
    guard = ErrorGuard(0.1, hold=1.0)
    assert guard.observe(0.5, 5.0) is None
    # A source repeating its last data (Prometheus down) must not age a streak into a trip.
    assert guard.observe(0.5, 5.0) is None
    assert guard.observe(0.5, 4.0) is None
    assert guard.last == (0.5, 5.0)
    assert guard.observe(0.5, 6.0) is not None


def test_a_threshold_of_zero_turns_the_guard_off() -> None:
    guard = ErrorGuard(0.0)
    assert not guard.enabled
    assert guard.observe(1.0, 1.0) is None
    assert guard.describe() == "guard off"


def test_reset_rearms_for_a_new_run_but_keeps_the_last_reading() -> None:
    guard = ErrorGuard(0.1)
    assert guard.observe(0.5, 1.0)
    guard.reset()
    assert guard.tripped == ""
    assert guard.describe() == "app 5xx 50.0% (guard 10.0%)"
    assert guard.observe(0.5, 2.0)


def test_describe_says_when_there_is_nothing_to_judge_yet() -> None:
    guard = ErrorGuard(0.05)
    assert guard.describe() == "app 5xx: waiting for metrics (guard 5.0%)"
    guard.observe(None, 1.0)
    assert guard.describe() == "app 5xx no traffic (guard 5.0%)"


def test_split_keeps_the_injection_route_apart() -> None:
    rows = [
        ("/error", "500", 20.0),
        ("/api/users", "200", 9.0),
        ("/api/users/<int:user_id>", "500", 1.0),
        ("/api/users/<int:user_id>", "404", 2.0),
    ]
    split = split_errors(rows, "/error", at=42.0)
    assert split.at == 42.0
    assert split.injected_errors == 20.0
    assert split.app_errors == 1.0
    assert split.app_ratio == pytest.approx(1.0 / 12.0)


def test_split_without_application_traffic_has_no_ratio() -> None:
    split = split_errors([("/error", "500", 20.0), ("/api/users", "200", 0.0)], "/error", 1.0)
    assert split.app_ratio is None
    assert split.injected_errors == 20.0

"""The drift alarm's CUSUM: its recorded limits give the documented false-alarm rate."""

from __future__ import annotations

import math

import pytest

from reviewdesk.core.drift import (
    IN_CONTROL_RUN_LENGTH,
    LIMITS,
    Cusum,
    limit_for,
    mean_run_length,
    rates,
)


@pytest.mark.parametrize("aoql", [0.01, 0.05])
def test_recorded_limit_gives_the_in_control_run_length(aoql: float) -> None:
    # Fresh random numbers (not the derivation's): the mean run length at p0 is within 20% of
    # the target; the standard error of 300 runs is about 6%.
    cusum = Cusum.for_rate(aoql)
    arl0 = mean_run_length(cusum, cusum.p0, runs=300, seed=99)
    assert 0.8 * IN_CONTROL_RUN_LENGTH < arl0 < 1.2 * IN_CONTROL_RUN_LENGTH


def test_alarm_is_fast_when_the_rate_triples() -> None:
    cusum = Cusum.for_rate(0.02)
    assert mean_run_length(cusum, cusum.p1, runs=300, seed=5) < IN_CONTROL_RUN_LENGTH / 20


def test_limits_interpolate_between_recorded_ones() -> None:
    (a0, h0), (a1, h1) = LIMITS[1], LIMITS[2]
    middle = math.sqrt(a0 * a1)
    assert limit_for(middle) == pytest.approx((h0 + h1) / 2)
    assert limit_for(a0) == pytest.approx(h0)
    assert limit_for(1e-6) == LIMITS[0][1] and limit_for(0.9) == LIMITS[-1][1]


def test_step_signals_and_restarts() -> None:
    cusum = Cusum.for_rate(0.02)
    s, signals = 0.0, 0
    for _ in range(10):
        s, signal = cusum.step(s, defect=True)
        signals += signal
    assert signals >= 1 and s < cusum.limit
    # A clear outcome never takes the statistic below 0.
    assert cusum.step(0.0, defect=False) == (0.0, False)


def test_rates_stay_probabilities() -> None:
    p0, p1 = rates(0.5)
    assert 0 < p0 < p1 < 1


def test_peak_runs_from_zero_and_never_below_it() -> None:
    cusum = Cusum.for_rate(0.05)
    up, down = cusum.weights
    # Fifty clear outcomes first: the statistic stays at 0, so five defects then add up fully.
    highest, last = cusum.peak([False] * 50 + [True] * 5 + [False] * 3)
    assert highest == pytest.approx(5 * up) and highest >= cusum.limit
    assert last == pytest.approx(5 * up + 3 * down)
    assert cusum.peak([]) == (0.0, 0.0)

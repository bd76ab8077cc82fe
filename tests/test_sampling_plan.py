"""CSP-1 plan math against the published table and the plan's own definitions."""

from __future__ import annotations

import math
import random

import pytest

from reviewdesk.core.defects import is_defect
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.core.sampling_plan import (
    Phase,
    PlanState,
    Route,
    after_outcome,
    aoql,
    clearance_number,
    clears_screening,
    plan_for,
    plan_for_review_share,
    route,
)

# docs/policies.md: smallest i for an AOQL at most the target.
FRACTIONS = (1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 7, 1 / 10, 1 / 25, 1 / 50, 1 / 100)
TABLE = {
    0.01: (28, 46, 60, 71, 89, 110, 166, 212, 262),
    0.02: (14, 23, 30, 36, 44, 54, 83, 106, 130),
    0.05: (5, 9, 12, 14, 18, 21, 32, 42, 51),
}


@pytest.mark.parametrize("target", sorted(TABLE))
def test_clearance_numbers_match_the_table(target: float) -> None:
    assert tuple(clearance_number(target, f) for f in FRACTIONS) == TABLE[target]


@pytest.mark.parametrize("target", sorted(TABLE))
def test_clearance_number_is_the_smallest_that_keeps_the_promise(target: float) -> None:
    for f in FRACTIONS:
        i = clearance_number(target, f)
        assert aoql(i, f) <= target < aoql(i - 1, f)


def test_the_worked_example() -> None:
    plan = plan_for(0.01, 0.1)
    assert plan.clearance == 110
    assert plan.afi(0.005) == pytest.approx(0.16, abs=0.005)
    assert plan.aoq(0.005) == pytest.approx(0.0042, abs=0.00005)
    assert plan.afi(0.02) == pytest.approx(0.51, abs=0.005)
    assert plan.aoq(0.02) == pytest.approx(0.0099, abs=0.00005)
    assert plan.afi(0.05) == pytest.approx(0.97, abs=0.005)


def test_aoq_never_exceeds_aoql_at_any_defect_rate() -> None:
    plan = plan_for(0.02, 0.1)
    limit = plan.aoql()
    for k in range(1, 2000):
        assert plan.aoq(k / 2000) <= limit + 1e-12


def test_afi_and_aoq_agree_with_the_phase_lengths() -> None:
    # AFI from u and v as the design note defines them, computed the long way.
    i, f, p = 54, 0.1, 0.01
    q = 1 - p
    u = (1 - q**i) / (p * q**i)
    v = 1 / (f * p)
    plan = plan_for(0.02, f)
    assert plan.clearance == i
    assert plan.afi(p) == pytest.approx((u + f * v) / (u + v))
    assert plan.aoq(p) == pytest.approx(p * (1 - plan.afi(p)))


@pytest.mark.parametrize("bad", [0, -0.1, 1, 1.5, math.nan, math.inf])
def test_bad_aoql_is_refused(bad: float) -> None:
    with pytest.raises(InvalidArgument, match="AOQL"):
        clearance_number(bad, 0.1)


@pytest.mark.parametrize("bad", [0, -0.5, 1.01, math.nan])
def test_bad_fraction_is_refused(bad: float) -> None:
    with pytest.raises(InvalidArgument, match="sampling fraction"):
        clearance_number(0.02, bad)


def test_review_share_picks_the_plan_within_it() -> None:
    plan = plan_for_review_share(0.02, 0.2, 0.002)
    assert plan.afi(0.002) <= 0.2
    denominator = round(1 / plan.fraction)
    # One step more review would pass the share.
    assert plan_for(0.02, 1 / (denominator - 1)).afi(0.002) > 0.2
    with pytest.raises(InvalidArgument, match="too often bad"):
        plan_for_review_share(0.02, 0.1, 0.2)


def test_phase_machine() -> None:
    state = PlanState(Phase.SCREENING, 0)
    for n in range(1, 3):
        step = after_outcome(state, defect=False, clearance=3)
        state = step.state
        assert state == PlanState(Phase.SCREENING, n) and step.why is None
    step = after_outcome(state, defect=False, clearance=3)
    assert step.state == PlanState(Phase.SAMPLING, 0) and step.why == "cleared"
    assert after_outcome(step.state, defect=False, clearance=3).state.phase is Phase.SAMPLING
    back = after_outcome(step.state, defect=True, clearance=3)
    assert back.state == PlanState(Phase.SCREENING, 0) and back.why == "defect"
    # A defect in screening starts the count again.
    assert after_outcome(PlanState(Phase.SCREENING, 2), defect=True, clearance=3).state == (
        PlanState(Phase.SCREENING, 0)
    )


def test_routing_reviews_everything_in_screening_and_a_share_in_sampling() -> None:
    rng = random.Random(4)
    assert all(route(Phase.SCREENING, 0.1, rng.random()) is Route.REVIEW for _ in range(1000))
    reviewed = sum(route(Phase.SAMPLING, 0.1, rng.random()) is Route.REVIEW for _ in range(20000))
    assert 1800 < reviewed < 2200


def test_recent_history_clears_screening() -> None:
    assert clears_screening([True] + [False] * 5, 5)
    assert not clears_screening([False] * 4 + [True], 5)
    assert not clears_screening([False] * 4, 5)


@pytest.mark.parametrize(
    ("label", "distance", "trivial_count", "gold", "defect"),
    [
        ("approved", None, False, False, False),
        ("rejected", None, False, False, True),
        ("escalated", None, False, False, True),
        ("edited", 0.01, False, False, False),
        ("edited", 0.02, False, False, False),
        ("edited", 0.03, False, False, True),
        ("edited", 0.01, True, False, True),
        ("rejected", None, False, True, False),
    ],
)
def test_defect_rule(
    label: str, distance: float | None, trivial_count: bool, gold: bool, defect: bool
) -> None:
    assert is_defect(label, distance, trivial_edits_count=trivial_count, gold=gold) is defect

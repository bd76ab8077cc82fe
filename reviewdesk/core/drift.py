"""The drift alarm: a Bernoulli CUSUM over a cell's sampled outcomes (Reynolds and Stoumbos 1999),
and over a category's decisions for the defect-rate alert (reviewdesk/core/alerts.py).

Sampled drafts are picked at random, so their outcomes (defect or clear) are a random sample of
the cell. The CUSUM adds the log-likelihood ratio of each outcome, "defect rate p1" against "p0",
and stays at 0 or above:

    S = max(0, S + log(p1 / p0))              after a defect
    S = max(0, S + log((1 - p1) / (1 - p0)))  after a clear draft

and signals when S reaches the limit h. p0 is the in-control defect rate: for a policy with
promised AOQL a, p0 = a (a defect rate the plan copes with); for the defect-rate alert, the
category's baseline rate. p1 = 3 p0 (a clearly worse AI). h is set by simulation so that at p0 the
mean number of outcomes before a false alarm is IN_CONTROL_RUN_LENGTH: LIMITS records the values
``tools/cusum_limits.py`` derived, and tests/test_drift.py simulates them again.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from reviewdesk.core.sampling_plan import Phase, PlanState, after_outcome

# Mean outcomes between false alarms when the defect rate is p0 (a policy's AOQL, or the usual).
IN_CONTROL_RUN_LENGTH = 5000
# The out-of-control rate the alarm is tuned to: this many times p0.
SHIFT = 3.0

# (p0, limit h) for IN_CONTROL_RUN_LENGTH, derived by `python tools/cusum_limits.py`
# (400 simulated runs per candidate h, seed 1; docs/policies.md has the output).
LIMITS: tuple[tuple[float, float], ...] = (
    (0.005, 2.92),
    (0.01, 3.58),
    (0.02, 4.22),
    (0.05, 5.15),
    (0.1, 5.87),
    (0.2, 6.71),
    (0.3, 6.51),
    (0.5, 6.15),
)


def rates(p0: float) -> tuple[float, float]:
    """(p0, p1) of the alarm whose in-control rate is ``p0`` (a policy's AOQL)."""
    p1 = min(SHIFT * p0, (1 + p0) / 2)
    return p0, p1


def limit_for(p0: float) -> float:
    """The recorded limit for ``p0``, interpolated in log p0 between the recorded ones (the
    nearest end outside them)."""
    xs = [math.log(a) for a, _ in LIMITS]
    x = math.log(p0)
    if x <= xs[0]:
        return LIMITS[0][1]
    if x >= xs[-1]:
        return LIMITS[-1][1]
    k = bisect.bisect_right(xs, x)
    (x0, h0), (x1, h1) = (xs[k - 1], LIMITS[k - 1][1]), (xs[k], LIMITS[k][1])
    return h0 + (h1 - h0) * (x - x0) / (x1 - x0)


@dataclass(frozen=True)
class Cusum:
    p0: float
    p1: float
    limit: float

    @classmethod
    def for_rate(cls, p0: float) -> Cusum:
        """The alarm whose in-control defect rate is ``p0`` (a policy's AOQL)."""
        p0, p1 = rates(p0)
        return cls(p0, p1, limit_for(p0))

    @property
    def weights(self) -> tuple[float, float]:
        """(added after a defect, added after a clear outcome)."""
        return (
            math.log(self.p1 / self.p0),
            math.log((1 - self.p1) / (1 - self.p0)),
        )

    def advance(self, statistic: float, defect: bool) -> float:
        """The statistic after one outcome (it never goes below 0)."""
        up, down = self.weights
        return max(0.0, statistic + (up if defect else down))

    def step(self, statistic: float, defect: bool) -> tuple[float, bool]:
        """The statistic after one sampled outcome, and whether it signals (then it restarts
        from 0)."""
        value = self.advance(statistic, defect)
        if value >= self.limit:
            return 0.0, True
        return value, False

    def peak(self, outcomes: Iterable[bool]) -> tuple[float, float]:
        """Run from 0 over ``outcomes`` (True: a defect): (the highest value it reached, its
        value after the last). It signals within them when the highest reaches the limit."""
        highest = value = 0.0
        for defect in outcomes:
            value = self.advance(value, defect)
            highest = max(highest, value)
        return highest, value


def run_length(cusum: Cusum, p: float, rng: random.Random, cap: int = 10_000_000) -> int:
    """Sampled outcomes at defect rate ``p`` until the alarm signals (at most ``cap``)."""
    up, down = cusum.weights
    limit, s = cusum.limit, 0.0
    draw = rng.random
    for n in range(1, cap + 1):
        s = s + up if draw() < p else s + down
        if s < 0.0:
            s = 0.0
        elif s >= limit:
            return n
    return cap


def mean_run_length(cusum: Cusum, p: float, runs: int, seed: int) -> float:
    rng = random.Random(seed)
    return sum(run_length(cusum, p, rng) for _ in range(runs)) / runs


@dataclass(frozen=True)
class AfterDecision:
    """A cell's plan state and alarm statistic after one counted decision."""

    state: PlanState
    statistic: float
    # What changed: "cleared", "defect" or "alarm" (none for most decisions).
    events: tuple[str, ...]


def after_decision(
    state: PlanState,
    statistic: float,
    *,
    defect: bool,
    sampled: bool,
    clearance: int,
    aoql: float,
) -> AfterDecision:
    """The plan state after a decision on a draft routed under it (``sampled``: reviewed while
    the cell was sampling, i.e. one of the random sample).

    The plan moves as CSP-1 says (sampling_plan.after_outcome). Only sampled outcomes feed the
    alarm; its statistic runs on across screening phases, so that defects that each return the
    cell to screening add up, and its signal holds the cell in full review (Phase.HELD) until a
    lead resets it.

    The database counts decisions with this rule written again in SQL (storage/policy_sql.py);
    this function is its reference model (tests/test_policy_count_sql.py).
    """
    moved = after_outcome(state, defect=defect, clearance=clearance)
    if sampled:
        statistic, signal = Cusum.for_rate(aoql).step(statistic, defect)
        if signal and state.phase is not Phase.HELD:
            return AfterDecision(PlanState(Phase.HELD, 0), 0.0, ("alarm",))
    return AfterDecision(moved.state, statistic, (moved.why,) if moved.why else ())

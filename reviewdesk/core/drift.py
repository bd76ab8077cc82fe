"""The drift alarm: a Bernoulli CUSUM over a cell's sampled outcomes (Reynolds and Stoumbos 1999).

Sampled drafts are picked at random, so their outcomes (defect or clear) are a random sample of
the cell. The CUSUM adds the log-likelihood ratio of each outcome, "defect rate p1" against "p0",
and stays at 0 or above:

    S = max(0, S + log(p1 / p0))              after a defect
    S = max(0, S + log((1 - p1) / (1 - p0)))  after a clear draft

and signals when S reaches the limit h. For a policy with promised AOQL a, p0 = a (a defect rate
the plan copes with) and p1 = 3a (a clearly worse AI). h is set by simulation so that at p0 the
mean number of sampled outcomes before a false alarm is IN_CONTROL_RUN_LENGTH: LIMITS records
the values ``tools/cusum_limits.py`` derived, and tests/test_drift.py simulates them again.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass

from reviewdesk.core.sampling_plan import Phase, PlanState, after_outcome

# Mean sampled outcomes between false alarms when the cell's defect rate is p0 (= the AOQL).
IN_CONTROL_RUN_LENGTH = 5000
# The out-of-control rate the alarm is tuned to: this many times p0.
SHIFT = 3.0

# (AOQL, limit h) for IN_CONTROL_RUN_LENGTH, derived by `python tools/cusum_limits.py`
# (400 simulated runs per candidate h, seed 1; docs/policies.md has the output).
LIMITS: tuple[tuple[float, float], ...] = (
    (0.005, 2.92),
    (0.01, 3.58),
    (0.02, 4.22),
    (0.05, 5.15),
    (0.1, 5.87),
    (0.2, 6.71),
)


def rates(aoql: float) -> tuple[float, float]:
    """(p0, p1) of the alarm of a policy promising ``aoql``."""
    p0 = aoql
    p1 = min(SHIFT * p0, (1 + p0) / 2)
    return p0, p1


def limit_for(aoql: float) -> float:
    """The recorded limit for ``aoql``, interpolated in log AOQL between the recorded ones (the
    nearest end outside them)."""
    xs = [math.log(a) for a, _ in LIMITS]
    x = math.log(aoql)
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
    def for_aoql(cls, aoql: float) -> Cusum:
        p0, p1 = rates(aoql)
        return cls(p0, p1, limit_for(aoql))

    @property
    def weights(self) -> tuple[float, float]:
        """(added after a defect, added after a clear outcome)."""
        return (
            math.log(self.p1 / self.p0),
            math.log((1 - self.p1) / (1 - self.p0)),
        )

    def step(self, statistic: float, defect: bool) -> tuple[float, bool]:
        """The statistic after one sampled outcome, and whether it signals (then it restarts
        from 0)."""
        up, down = self.weights
        value = max(0.0, statistic + (up if defect else down))
        if value >= self.limit:
            return 0.0, True
        return value, False


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
    """
    moved = after_outcome(state, defect=defect, clearance=clearance)
    if sampled:
        statistic, signal = Cusum.for_aoql(aoql).step(statistic, defect)
        if signal and state.phase is not Phase.HELD:
            return AfterDecision(PlanState(Phase.HELD, 0), 0.0, ("alarm",))
    return AfterDecision(moved.state, statistic, (moved.why,) if moved.why else ())

"""Continuous sampling plan CSP-1 (Dodge 1943; ASTM E2819): how much review a cell needs.

A cell's drafts are all reviewed (screening) until ``i`` consecutive ones are clear; then each is
reviewed with probability ``f`` (sampling) and the others are released; a defect among the
reviewed ones returns the cell to screening. With defect rate p (q = 1 - p), in the long run:

- drafts per screening phase u = (1 - q^i) / (p q^i); per sampling phase v = 1 / (f p);
- average fraction reviewed AFI = (u + f v) / (u + v);
- average outgoing quality AOQ = p (1 - f) q^i / (f + (1 - f) q^i), the share of all drafts
  that go out bad (a reviewed draft never does);
- AOQL = max over p of AOQ: whatever the defect rate, at most that share goes out bad.

docs/policies.md explains it for a lead, with the table of clearance numbers that
tests/test_sampling_plan.py checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from reviewdesk.core.errors import InvalidArgument

# The largest clearance number considered: beyond it a plan is full review in all but name.
MAX_CLEARANCE = 100_000
# Sampling fractions a maximum review share chooses from: 1/k for k up to this.
MAX_FRACTION_DENOMINATOR = 1000


class Phase(StrEnum):
    SCREENING = "screening"
    SAMPLING = "sampling"
    # Full review after a drift alarm, until a lead resets the cell: no count toward i.
    HELD = "held"


class Route(StrEnum):
    """What routing did with one draft of a cell under a plan."""

    REVIEW = "review"  # queued for a person (screening, or picked for a sample)
    RELEASED = "released"  # went out unreviewed


@dataclass(frozen=True)
class Plan:
    """A CSP-1 plan: clearance number ``i`` and sampling fraction ``f``."""

    clearance: int
    fraction: float

    def afi(self, p: float) -> float:
        return average_fraction_inspected(p, self.clearance, self.fraction)

    def aoq(self, p: float) -> float:
        return average_outgoing_quality(p, self.clearance, self.fraction)

    def aoql(self) -> float:
        return aoql(self.clearance, self.fraction)


def check_aoql(value: float) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value < 1:
        raise InvalidArgument(
            f"AOQL must be a share strictly between 0 and 1 (0.02 is 2%), not {value!r}."
        )
    return float(value)


def check_fraction(value: float) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value <= 1:
        raise InvalidArgument(
            f"The sampling fraction f must be more than 0 and at most 1 (0.1 reviews one draft "
            f"in ten), not {value!r}."
        )
    return float(value)


def average_outgoing_quality(p: float, clearance: int, fraction: float) -> float:
    """Long-run share of the cell's drafts that go out bad at defect rate ``p``."""
    if p <= 0 or fraction >= 1:
        return 0.0
    if p >= 1:
        return 0.0
    qi = math.exp(clearance * math.log1p(-p))
    return p * (1 - fraction) * qi / (fraction + (1 - fraction) * qi)


def average_fraction_inspected(p: float, clearance: int, fraction: float) -> float:
    """Long-run share of the cell's drafts that a person reviews at defect rate ``p``."""
    if p <= 0:
        return fraction
    if p >= 1:
        return 1.0
    qi = math.exp(clearance * math.log1p(-p))
    # AFI = (u + f v) / (u + v) with u = (1 - q^i) / (p q^i), v = 1 / (f p); times p q^i f.
    u = (1 - qi) * fraction
    v = qi
    return (u + fraction * v) / (u + v)


def aoql(clearance: int, fraction: float) -> float:
    """The plan's average outgoing quality limit: AOQ at its worst defect rate."""
    return average_outgoing_quality(worst_defect_rate(clearance, fraction), clearance, fraction)


def worst_defect_rate(clearance: int, fraction: float) -> float:
    """The defect rate at which the plan lets the largest share out bad (AOQ is unimodal)."""
    if fraction >= 1:
        return 0.0
    # Golden-section search on log p: the maximum sits near 1 / (i + 1).
    lo, hi = math.log(1e-9), math.log(0.999999)
    ratio = (math.sqrt(5) - 1) / 2

    def value(x: float) -> float:
        return average_outgoing_quality(math.exp(x), clearance, fraction)

    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = value(a), value(b)
    for _ in range(200):
        if fa < fb:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = value(b)
        else:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = value(a)
    return math.exp((lo + hi) / 2)


def clearance_number(target_aoql: float, fraction: float) -> int:
    """The smallest ``i`` whose plan with ``fraction`` keeps AOQL at most ``target_aoql``."""
    check_aoql(target_aoql)
    check_fraction(fraction)
    if fraction >= 1:
        return 1
    if aoql(MAX_CLEARANCE, fraction) > target_aoql:
        raise InvalidArgument(
            f"No plan with f = {fraction:g} reaches AOQL {target_aoql:g}: choose a larger f."
        )
    lo, hi = 1, MAX_CLEARANCE  # aoql(hi) <= target; AOQL falls as i grows
    while lo < hi:
        mid = (lo + hi) // 2
        if aoql(mid, fraction) <= target_aoql:
            hi = mid
        else:
            lo = mid + 1
    return lo


def plan_for(target_aoql: float, fraction: float) -> Plan:
    return Plan(clearance_number(target_aoql, fraction), check_fraction(fraction))


def plan_for_review_share(target_aoql: float, max_share: float, defect_rate: float) -> Plan:
    """The plan that reviews the most while its expected review share at ``defect_rate`` stays
    at most ``max_share``: f = 1/k for the smallest such k (at most 1/1000).

    Raises InvalidArgument when no such plan exists (the cell's defect rate is too high for
    that little review: its plan would spend most of its time screening)."""
    check_aoql(target_aoql)
    if not isinstance(max_share, (int, float)) or not 0 < max_share <= 1:
        raise InvalidArgument(
            f"The maximum review share must be more than 0 and at most 1, not {max_share!r}."
        )
    if not 0 <= defect_rate < 1:
        raise InvalidArgument(f"A defect rate must be at least 0 and below 1: {defect_rate!r}.")
    for k in range(1, MAX_FRACTION_DENOMINATOR + 1):
        plan = plan_for(target_aoql, 1 / k)
        if plan.afi(defect_rate) <= max_share:
            return plan
    raise InvalidArgument(
        f"No plan with AOQL {target_aoql:.3g} ({target_aoql:.1%}) reviews at most "
        f"{max_share:.0%} of the drafts at the cell's defect rate of {defect_rate:.2%}: the "
        "drafts are too often bad for sampling."
    )


def clears_screening(recent_outcomes: list[bool], clearance: int) -> bool:
    """Whether the last ``clearance`` outcomes (True = defect, newest last) are all clear: the
    cell's history then already completes the screening phase."""
    return len(recent_outcomes) >= clearance and not any(recent_outcomes[-clearance:])


@dataclass(frozen=True)
class PlanState:
    """The shared state of one cell under a plan."""

    phase: Phase
    # Consecutive clear decisions counted toward the clearance number (screening).
    clear_run: int


@dataclass(frozen=True)
class Transition:
    state: PlanState
    # What changed the phase, if it changed: "cleared" or "defect".
    why: str | None


def after_outcome(state: PlanState, *, defect: bool, clearance: int) -> Transition:
    """The state after one decision on a draft routed under the plan.

    A defect returns the cell to screening from either phase; a clear decision counts toward
    the clearance number in screening, and the ``clearance``-th one starts sampling.
    """
    if state.phase is Phase.HELD:
        return Transition(state, None)
    if defect:
        back = state.phase is Phase.SAMPLING
        return Transition(PlanState(Phase.SCREENING, 0), "defect" if back else None)
    if state.phase is Phase.SAMPLING:
        return Transition(state, None)
    run = state.clear_run + 1
    if run >= clearance:
        return Transition(PlanState(Phase.SAMPLING, 0), "cleared")
    return Transition(PlanState(Phase.SCREENING, run), None)


def route(phase: Phase, fraction: float, draw: float) -> Route:
    """Where one draft goes: screening (and a held cell) reviews all; sampling reviews it when
    ``draw`` (uniform in [0, 1), from a CSPRNG) falls below ``fraction``."""
    if phase is not Phase.SAMPLING or draw < fraction:
        return Route.REVIEW
    return Route.RELEASED


def review_probability(phase: Phase, fraction: float) -> float:
    return fraction if phase is Phase.SAMPLING else 1.0

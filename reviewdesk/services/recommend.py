"""Where human review could be reduced or removed, with the evidence and the rule that fired.

For each category, each category x confidence band, and each category's confidence threshold,
one of: keep full review; reduce to sampled review (at a suggested rate); review can be
removed, keep spot checks; not enough evidence yet (and how many more reviews). The method and
its error rates are in docs/recommendations.md; ``benchmarks/recommendation_sim.py`` measures
them. In short: removal needs an *anytime-valid* lower confidence bound on the approval rate
to reach the target, so that looking at the recommendation after every review, or every 50,
does not inflate the chance of removing review from a category that is not good enough.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import Risk, Severity
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.core.stats import BANDS, left_out
from reviewdesk.services.stats import DEFAULT_TRIVIAL_EDIT, Rate, StatsService
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.stats_sql import ROLLUP_TRIVIAL_EDIT, EvidenceQuery, StatsReader

if TYPE_CHECKING:
    from reviewdesk.services.desk import ReviewDesk

_RISK_ORDER = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2}
_NORMAL = NormalDist()


class Outcome(StrEnum):
    KEEP_FULL = "keep_full_review"
    SAMPLE = "sampled_review"
    REMOVE = "remove_review"
    NOT_ENOUGH = "not_enough_evidence"


class Rule(StrEnum):
    """Which rule decided the outcome (docs/recommendations.md, "The rules")."""

    ESCALATION = "blocking_escalation"
    DECLINE = "significant_decline"
    MINIMUM = "minimum_evidence"
    REMOVAL_BOUND = "approval_bound_reached"
    SAMPLING = "sampling_rate"
    TOO_LOW = "approval_too_low"


@dataclass(frozen=True)
class RecommendSettings:
    """Every threshold of the method; defaults as in docs/recommendations.md."""

    # The approval rate that review removal must be shown to exceed.
    target: float = 0.95
    # Chance, over all looks ever taken, of showing a rate above target that is not.
    alpha: float = 0.05
    min_reviews_low: int = 50
    min_reviews_medium: int = 200
    min_reviews_high: int = 500
    # Any escalation of these severities in the period keeps full review.
    blocking_severities: tuple[str, ...] = (Severity.CRITICAL.value, Severity.HIGH.value)
    # Trend: the last trend_days of the period against the trend_days before.
    trend_days: int = 28
    trend_alpha: float = 0.05
    trend_min_reviews: int = 30
    # Count edits of at most this normalized distance as approvals.
    edit_adjusted: bool = False
    trivial_edit_threshold: float = DEFAULT_TRIVIAL_EDIT
    # Sampling above this rate saves too little to be worth the risk: keep full review.
    max_sampling_rate: float = 0.75
    # After removal, keep reviewing this share of drafts, to notice a change.
    spot_check_rate: float = 0.02
    # Weight (in reviews) of the mixture prior behind the anytime-valid bound.
    prior_weight: float = 100.0
    # "More reviews needed" is reported in steps of this many.
    batch: int = 50

    def __post_init__(self) -> None:
        if not 0 < self.target < 1:
            raise InvalidArgument("target must be in (0, 1)")
        if not 0 < self.alpha < 1 or not 0 < self.trend_alpha < 1:
            raise InvalidArgument("alpha and trend_alpha must be in (0, 1)")
        if not 0 < self.max_sampling_rate <= 1 or not 0 <= self.spot_check_rate <= 1:
            raise InvalidArgument("rates must be in [0, 1]")
        if self.trend_days < 1 or self.batch < 1 or self.prior_weight <= 0:
            raise InvalidArgument("trend_days, batch and prior_weight must be positive")

    def min_reviews(self, risk: Risk) -> int:
        return {
            Risk.LOW: self.min_reviews_low,
            Risk.MEDIUM: self.min_reviews_medium,
            Risk.HIGH: self.min_reviews_high,
        }[risk]


# -- the anytime-valid bound ----------------------------------------------------------------------
def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def anytime_lower_bound(
    successes: int, n: int, *, alpha: float, prior_mean: float, prior_weight: float
) -> float:
    """Lower end of a (1 - alpha) confidence sequence for a Bernoulli rate.

    For a candidate rate q, the beta-binomial mixture likelihood ratio

        M(q) = B(a + S, b + F) / B(a, b) / (q^S (1 - q)^F),  a = mean*w, b = (1 - mean)*w

    is a nonnegative martingale with mean 1 when q is the true rate, so by Ville's inequality
    it ever reaches 1/alpha with probability at most alpha, however many reviews come and
    however often anyone looks (Robbins 1970; Howard et al. 2021). The bound is the smallest q
    that M has not ruled out. The prior (mean, weight) only moves power, never validity.
    """
    if n == 0 or successes == 0:
        return 0.0
    failures = n - successes
    a, b = prior_mean * prior_weight, (1 - prior_mean) * prior_weight
    mixture = _log_beta(a + successes, b + failures) - _log_beta(a, b)
    threshold = math.log(1 / alpha)

    def log_m(q: float) -> float:
        tail = failures * math.log1p(-q) if failures else 0.0
        return mixture - successes * math.log(q) - tail

    # log M is convex in q with its minimum (<= 0) at S/n: bisect the crossing below it.
    lo, hi = 0.0, successes / n
    if hi >= 1.0:
        hi = math.nextafter(1.0, 0.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        if mid <= 0.0 or log_m(mid) >= threshold:
            lo = mid
        else:
            hi = mid
    return lo


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of p1 < p2: (z, one-sided p-value)."""
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 0.5
    z = (x1 / n1 - x2 / n2) / se
    return z, _NORMAL.cdf(z)


# -- evidence and verdicts ------------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """Additive counts for one group of live, non-gold decisions."""

    n: int = 0
    approved: int = 0
    trivial_edits: int = 0
    escalations: dict[str, int] = field(default_factory=dict)
    current_n: int = 0
    current_approved: int = 0
    current_trivial: int = 0
    previous_n: int = 0
    previous_approved: int = 0
    previous_trivial: int = 0
    risk: Risk = Risk.LOW
    # Low-attention approvals left out of every count above (0 when they are included).
    low_attention_left_out: int = 0
    # Drafts a review policy released unreviewed: not decisions, in no count above.
    released: int = 0

    def __add__(self, other: Evidence) -> Evidence:
        escalations = dict(self.escalations)
        for k, v in other.escalations.items():
            escalations[k] = escalations.get(k, 0) + v
        return Evidence(
            n=self.n + other.n,
            approved=self.approved + other.approved,
            trivial_edits=self.trivial_edits + other.trivial_edits,
            escalations=escalations,
            current_n=self.current_n + other.current_n,
            current_approved=self.current_approved + other.current_approved,
            current_trivial=self.current_trivial + other.current_trivial,
            previous_n=self.previous_n + other.previous_n,
            previous_approved=self.previous_approved + other.previous_approved,
            previous_trivial=self.previous_trivial + other.previous_trivial,
            risk=max(self.risk, other.risk, key=_RISK_ORDER.__getitem__),
            low_attention_left_out=self.low_attention_left_out + other.low_attention_left_out,
            released=self.released + other.released,
        )


@dataclass(frozen=True)
class Trend:
    """The approval rate of the last ``trend_days`` against the ``trend_days`` before."""

    current: Rate
    previous: Rate
    tested: bool  # both periods had trend_min_reviews
    z: float | None
    p_value: float | None  # one-sided, for a decline
    declined: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current.to_json(),
            "previous": self.previous.to_json(),
            "tested": self.tested,
            "z": self.z,
            "p_value": self.p_value,
            "declined": self.declined,
        }


@dataclass(frozen=True)
class Verdict:
    """The outcome for one group, and all the evidence behind it."""

    outcome: Outcome
    rule: Rule
    explanation: str
    n: int
    risk: Risk
    min_reviews: int
    approval: Rate  # 95% Wilson, as shown in statistics (edit-adjusted if so configured)
    bound: float  # the anytime-valid lower bound the rules use
    trivial_edits: Rate
    escalations: dict[str, int]
    trend: Trend
    sampling_rate: float | None
    spot_check_rate: float | None
    more_reviews_needed: int | None  # for removal; None when out of reach at the current rate
    low_attention_left_out: int = 0  # low-attention approvals not counted in n
    # Drafts a review policy released unreviewed while sampling: not decisions, not in n.
    released: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "rule": self.rule.value,
            "explanation": self.explanation,
            "n": self.n,
            "risk": self.risk.value,
            "min_reviews": self.min_reviews,
            "approval": self.approval.to_json(),
            "bound": self.bound,
            "trivial_edits": self.trivial_edits.to_json(),
            "escalations": dict(self.escalations),
            "trend": self.trend.to_json(),
            "sampling_rate": self.sampling_rate,
            "spot_check_rate": self.spot_check_rate,
            "more_reviews_needed": self.more_reviews_needed,
            "low_attention_left_out": self.low_attention_left_out,
            "released": self.released,
        }


def _bound(s: RecommendSettings, successes: int, n: int) -> float:
    return anytime_lower_bound(
        successes,
        n,
        alpha=s.alpha,
        prior_mean=(1 + s.target) / 2,
        prior_weight=s.prior_weight,
    )


def reviews_needed(s: RecommendSettings, successes: int, n: int, floor: int) -> int | None:
    """Total reviews (a multiple of ``batch``, at least ``floor``) after which the bound would
    reach the target if the approval rate stayed at successes / n; None if it never would."""
    rate = successes / n if n else 0.0
    if rate <= s.target:
        return None

    def reaches(total: int) -> bool:
        return _bound(s, math.floor(rate * total), total) >= s.target

    step = s.batch
    low = max(n, floor)
    low = -(-low // step) * step
    if reaches(low):
        return low
    high = low
    while not reaches(high):
        high *= 2
        if high > 10_000_000:
            return None
    # The bound grows with n at a fixed rate (up to rounding): bisect on batches.
    lo_b, hi_b = low // step, high // step
    while hi_b - lo_b > 1:
        mid = (lo_b + hi_b) // 2
        if reaches(mid * step):
            hi_b = mid
        else:
            lo_b = mid
    return hi_b * step


def _trend(s: RecommendSettings, e: Evidence) -> Trend:
    cur_x = e.current_approved + (e.current_trivial if s.edit_adjusted else 0)
    prev_x = e.previous_approved + (e.previous_trivial if s.edit_adjusted else 0)
    current, previous = Rate.of(cur_x, e.current_n), Rate.of(prev_x, e.previous_n)
    if e.current_n < s.trend_min_reviews or e.previous_n < s.trend_min_reviews:
        return Trend(current, previous, False, None, None, False)
    z, p = two_proportion_z(cur_x, e.current_n, prev_x, e.previous_n)
    return Trend(current, previous, True, z, p, p < s.trend_alpha)


def evaluate(e: Evidence, s: RecommendSettings) -> Verdict:
    """The rules of docs/recommendations.md, in order; the first that applies decides."""
    successes = e.approved + (e.trivial_edits if s.edit_adjusted else 0)
    successes = min(successes, e.n)
    approval = Rate.of(successes, e.n)
    bound = _bound(s, successes, e.n)
    minimum = s.min_reviews(e.risk)
    trend = _trend(s, e)
    blocking = {k: v for k, v in e.escalations.items() if k in s.blocking_severities and v}
    needed = reviews_needed(s, successes, e.n, minimum)
    more = needed - e.n if needed is not None else None
    base = Verdict(
        outcome=Outcome.KEEP_FULL,
        rule=Rule.TOO_LOW,
        explanation="",
        n=e.n,
        risk=e.risk,
        min_reviews=minimum,
        approval=approval,
        bound=bound,
        trivial_edits=Rate.of(e.trivial_edits, e.n),
        escalations=dict(e.escalations),
        trend=trend,
        sampling_rate=None,
        spot_check_rate=None,
        more_reviews_needed=more,
        low_attention_left_out=e.low_attention_left_out,
        released=e.released,
    )
    if blocking:
        which = ", ".join(f"{v} {k}" for k, v in sorted(blocking.items()))
        return replace(
            base,
            outcome=Outcome.KEEP_FULL,
            rule=Rule.ESCALATION,
            explanation=f"{which} escalation(s) in the period: keep full review.",
        )
    if trend.declined:
        assert trend.p_value is not None
        return replace(
            base,
            outcome=Outcome.KEEP_FULL,
            rule=Rule.DECLINE,
            explanation=(
                f"Approval fell from {_pct(trend.previous.value)} to {_pct(trend.current.value)} "
                f"(one-sided p = {trend.p_value:.3f}): keep full review."
            ),
        )
    if e.n < minimum:
        more_min = max(minimum - e.n, more or 0)
        return replace(
            base,
            outcome=Outcome.NOT_ENOUGH,
            rule=Rule.MINIMUM,
            explanation=(
                f"{e.n} of the {minimum} reviews a {e.risk.value}-risk group needs"
                + (
                    f"; at the current rate removal needs {more_min} more."
                    if more is not None
                    else "; at the current rate removal is out of reach."
                )
            ),
            more_reviews_needed=more_min,
        )
    if bound >= s.target:
        return replace(
            base,
            outcome=Outcome.REMOVE,
            rule=Rule.REMOVAL_BOUND,
            explanation=(
                f"Approval is at least {_pct(bound)} with {_pct(1 - s.alpha, 0)} confidence, "
                f"however often this was checked: review can be removed; keep spot checks of "
                f"{_pct(s.spot_check_rate, 0)}."
            ),
            spot_check_rate=s.spot_check_rate,
            more_reviews_needed=0,
        )
    rate = sampling_rate(s, bound)
    if rate <= s.max_sampling_rate:
        return replace(
            base,
            outcome=Outcome.SAMPLE,
            rule=Rule.SAMPLING,
            explanation=(
                f"Approval is at least {_pct(bound)}: reviewing {_pct(rate, 0)} of drafts keeps "
                f"the unreviewed bad drafts under {_pct(1 - s.target, 0)} of all."
                + (f" Removal needs about {more} more reviews." if more else "")
            ),
            sampling_rate=rate,
        )
    return replace(
        base,
        outcome=Outcome.KEEP_FULL,
        rule=Rule.TOO_LOW,
        explanation=(
            f"Approval may be as low as {_pct(bound)}: sampling would need {_pct(rate, 0)} of "
            "drafts reviewed; keep full review."
        ),
    )


def sampling_rate(s: RecommendSettings, bound: float) -> float:
    """The share of drafts to review so that, at the pessimistic approval rate ``bound``, the
    bad drafts that skip review stay at most 1 - target of all drafts (what removal allows):
    (1 - r)(1 - bound) <= 1 - target. Rounded up to 5%."""
    if bound >= s.target:
        return 0.0
    raw = 1 - (1 - s.target) / (1 - bound)
    return min(1.0, math.ceil(round(raw * 20, 9)) / 20)


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


# -- the report -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recommendation:
    category: str
    band: str | None  # None: the whole category
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        return {"category": self.category, "band": self.band, **self.verdict.to_json()}


@dataclass(frozen=True)
class ConfidenceThreshold:
    """The lowest confidence t such that drafts with confidence >= t meet the removal rule,
    found by testing t = 0.95, 0.90, ... in that order and stopping at the first failure."""

    category: str
    threshold: float | None  # None: no threshold qualifies
    verdict: Verdict | None  # the evidence for drafts at or above the threshold
    skip_share: Rate | None  # share of the category's decisions at or above it
    tested: tuple[tuple[float, Outcome], ...]  # each threshold tried, in order

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "threshold": self.threshold,
            "verdict": self.verdict.to_json() if self.verdict else None,
            "skip_share": self.skip_share.to_json() if self.skip_share else None,
            "tested": [{"threshold": t, "outcome": o.value} for t, o in self.tested],
        }


@dataclass(frozen=True)
class RecommendationReport:
    settings: RecommendSettings
    since: date | None
    until: date
    models: tuple[str, ...]
    categories: tuple[Recommendation, ...]
    bands: tuple[Recommendation, ...]
    thresholds: tuple[ConfidenceThreshold, ...]
    generated_at: datetime
    # Low-attention approvals: counted (included), or left out and how many (see
    # stats.left_out).
    include_low_attention: bool = False
    low_attention_left_out: int = 0

    def to_json(self) -> dict[str, Any]:
        s = self.settings
        return {
            "period": {
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat(),
                "models": list(self.models),
            },
            "low_attention": {
                "included": self.include_low_attention,
                "left_out": self.low_attention_left_out,
            },
            # Drafts released unreviewed by review policies in the period: in no other count.
            "released": sum(r.verdict.released for r in self.categories),
            "settings": {
                "target": s.target,
                "alpha": s.alpha,
                "min_reviews": {
                    "low": s.min_reviews_low,
                    "medium": s.min_reviews_medium,
                    "high": s.min_reviews_high,
                },
                "blocking_severities": list(s.blocking_severities),
                "trend_days": s.trend_days,
                "trend_alpha": s.trend_alpha,
                "edit_adjusted": s.edit_adjusted,
                "trivial_edit_threshold": s.trivial_edit_threshold,
                "max_sampling_rate": s.max_sampling_rate,
                "spot_check_rate": s.spot_check_rate,
            },
            "generated_at": self.generated_at.isoformat(),
            "categories": [r.to_json() for r in self.categories],
            "bands": [r.to_json() for r in self.bands],
            "thresholds": [t.to_json() for t in self.thresholds],
        }


def confidence_threshold(
    category: str, by_bucket: dict[int, Evidence], s: RecommendSettings
) -> ConfidenceThreshold:
    """Fixed-sequence test from the top: thresholds are tried in an order fixed in advance
    and the search stops at the first that fails, so the chance of any false "removable" stays
    alpha without dividing it among the thresholds. Thresholds with fewer reviews than the
    minimum are passed over (that depends on the confidences only, not on the verdicts), and
    so are thresholds no draft falls between: the threshold is always a supported one."""
    total = sum((e.n for e in by_bucket.values()), 0)
    cumulative = Evidence()
    tested: list[tuple[float, Outcome]] = []
    best: tuple[float, Verdict, int] | None = None
    for bucket in range(19, -1, -1):
        if not by_bucket.get(bucket, Evidence()).n:
            # No draft there: a lower threshold would skip drafts no one has seen.
            continue
        cumulative = cumulative + by_bucket[bucket]
        threshold = bucket / 20
        verdict = evaluate(cumulative, s)
        tested.append((threshold, verdict.outcome))
        if verdict.outcome is Outcome.NOT_ENOUGH:
            continue
        if verdict.outcome is not Outcome.REMOVE:
            break
        best = (threshold, verdict, cumulative.n)
    if best is None:
        return ConfidenceThreshold(category, None, None, None, tuple(tested))
    threshold, verdict, n = best
    return ConfidenceThreshold(category, threshold, verdict, Rate.of(n, total), tuple(tested))


class RecommendationEngine:
    """Builds ``RecommendationReport``s from one database."""

    def __init__(
        self,
        engines: Engines,
        *,
        clock: Clock | None = None,
        settings: RecommendSettings | None = None,
    ) -> None:
        self._stats = StatsService(engines, clock=clock)
        self.settings = settings or RecommendSettings()

    @classmethod
    def for_desk(
        cls, desk: ReviewDesk, settings: RecommendSettings | None = None
    ) -> RecommendationEngine:
        return cls(desk.engines, clock=desk.clock, settings=settings)

    def recommend(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        models: Sequence[str] = (),
        categories: Sequence[str] = (),
        settings: RecommendSettings | None = None,
        include_low_attention: bool = False,
    ) -> RecommendationReport:
        """Recommendations on the decisions of [since, until] (UTC days; default: all up to
        today), optionally of some model versions and categories only. Low-attention approvals
        are left out, as statistics and exports leave them out, unless
        ``include_low_attention``."""
        s = settings or self.settings
        with self._stats.store.snapshot() as reader:
            now = reader.now()
            end = until or now.date()
            query = EvidenceQuery(
                since=since,
                until=end,
                current_from=end - timedelta(days=s.trend_days - 1),
                previous_from=end - timedelta(days=2 * s.trend_days - 1),
                trivial=s.trivial_edit_threshold,
                models=tuple(models),
                categories=tuple(categories),
            )
            cells = _evidence(reader, query, include_low_attention)
        by_category: dict[str, dict[int, Evidence]] = {}
        for (category, bucket), evidence in cells.items():
            # Rollup rows stay behind at zero when their decisions are undone.
            if (
                evidence.n
                or any(evidence.escalations.values())
                or evidence.low_attention_left_out
                or evidence.released
            ):
                by_category.setdefault(category, {})[bucket] = evidence
        cats: list[Recommendation] = []
        bands: list[Recommendation] = []
        thresholds: list[ConfidenceThreshold] = []
        for category in sorted(by_category):
            buckets = by_category[category]
            whole = _sum(buckets.values())
            cats.append(Recommendation(category, None, evaluate(whole, s)))
            for band in BANDS:
                present = [buckets[b] for b in band.buckets if b in buckets]
                if present:
                    bands.append(Recommendation(category, band.label, evaluate(_sum(present), s)))
            thresholds.append(confidence_threshold(category, buckets, s))
        return RecommendationReport(
            settings=s,
            since=since,
            until=end,
            models=tuple(models),
            categories=tuple(cats),
            bands=tuple(bands),
            thresholds=tuple(thresholds),
            generated_at=now,
            include_low_attention=include_low_attention,
            low_attention_left_out=sum(
                e.low_attention_left_out
                for buckets in by_category.values()
                for e in buckets.values()
            ),
        )


def _evidence(
    reader: StatsReader, q: EvidenceQuery, include_low_attention: bool
) -> dict[tuple[str, int], Evidence]:
    """Counts per (category, 5% confidence bucket), from the rollup and the rare-label
    indexes: the whole period, its last trend_days, and the trend_days before."""
    cells: dict[tuple[str, int], Evidence] = {}

    def add(key: tuple[str, int], e: Evidence) -> None:
        cells[key] = cells[key] + e if key in cells else e

    from_rollup = q.trivial == ROLLUP_TRIVIAL_EDIT
    for r in reader.rollup_evidence(q):
        if left_out(r.low_attention_approval, include_low_attention=include_low_attention):
            # Counted nowhere, not even in the group's risk: only said to be left out.
            add((r.category, r.bucket), Evidence(low_attention_left_out=r.n))
            continue
        add(
            (r.category, r.bucket),
            Evidence(
                n=r.n,
                approved=r.approved,
                current_n=r.current_n,
                previous_n=r.previous_n,
                current_approved=r.current_approved,
                previous_approved=r.previous_approved,
                trivial_edits=r.trivial if from_rollup else 0,
                current_trivial=r.current_trivial if from_rollup else 0,
                previous_trivial=r.previous_trivial if from_rollup else 0,
                risk=r.risk,
            ),
        )
    if not from_rollup:
        for t in reader.trivial_edit_evidence(q):
            add(
                (t.category, t.bucket),
                Evidence(
                    trivial_edits=t.trivial,
                    current_trivial=t.current_trivial,
                    previous_trivial=t.previous_trivial,
                    risk=t.risk,
                ),
            )
    for e in reader.escalation_evidence(q):
        add((e.category, e.bucket), Evidence(escalations={e.severity: e.n}, risk=e.risk))
    for released in reader.released_evidence(q):
        # Counted apart: released drafts change no verdict, not even its group's risk.
        add((released.category, released.bucket), Evidence(released=released.n))
    return cells


def _sum(evidence: Iterable[Evidence]) -> Evidence:
    total = Evidence()
    for e in evidence:
        total = total + e
    return total

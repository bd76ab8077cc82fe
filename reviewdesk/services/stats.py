"""The lead's statistics: how good the AI's drafts are, and where reviewers add value.

Every figure is counted in the database (``reviewdesk/storage/stats_sql.py``: the rollup that
triggers keep per period and group, and the rarer labels from their own rows). Python only adds
up the counts and puts a Wilson interval on each rate. Gold drafts and undone decisions never
count.

Low-attention approvals (approvals faster than reading, flagged on the decision) are left out of
every figure, as exports leave them out, unless the filter includes them (``left_out``); each
group says how many it left out. The rollup keeps them in rows of their own (migration 0007).

Groupings, confidence bands and the filter are in ``reviewdesk/core/stats.py``. Periods are UTC
days and ISO weeks (starting Monday), written as the date they start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.control_limits import wilson_interval
from reviewdesk.core.domain import Severity
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.core.stats import (
    BAND_BY_LABEL,
    BANDS,
    HISTOGRAM,
    PERIODS,
    REVIEW_TIME_EDGES,
    Band,
    Dimension,
    StatsFilter,
    histogram_median,
    left_out,
)
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.stats_sql import (
    ROLLUP_TRIVIAL_EDIT,
    GroupKey,
    StatsReader,
    StatsStore,
    cover_period,
)

if TYPE_CHECKING:
    from reviewdesk.services.desk import ReviewDesk

# Re-exported: the statistics' vocabulary, as callers have always imported it from here.
__all__ = [
    "BANDS",
    "BAND_BY_LABEL",
    "DEFAULT_TRIVIAL_EDIT",
    "HISTOGRAM",
    "PERIODS",
    "REVIEW_TIME_EDGES",
    "ROLLUP_TRIVIAL_EDIT",
    "Band",
    "Dimension",
    "GroupStats",
    "Rate",
    "StatsFilter",
    "StatsReport",
    "StatsService",
    "cover_period",
    "histogram_median",
    "left_out",
    "wilson_interval",
]

# An edit whose normalized Levenshtein distance is at most this changed at most 2 characters in
# 100: a typo, a comma, a name's capital. Such a review added almost nothing, so the
# edit-adjusted view counts it as an approval. Configurable per call.
DEFAULT_TRIVIAL_EDIT = 0.02
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Rate:
    """``count`` of ``total``, with its 95% Wilson interval; ``value`` is None when total is 0."""

    count: int
    total: int
    value: float | None
    low: float
    high: float

    @classmethod
    def of(cls, count: int, total: int) -> Rate:
        return _rate(count, total)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total": self.total,
            "rate": self.value,
            "low": self.low,
            "high": self.high,
        }


@lru_cache(maxsize=32_768)
def _rate(count: int, total: int) -> Rate:
    # A report of thousands of groups repeats most (count, total) pairs (0 of n above all);
    # Rate is frozen, so one instance serves them all.
    low, high = wilson_interval(count, total)
    return Rate(count, total, count / total if total else None, low, high)


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupStats:
    """Every figure for one group of decisions. Rates are of ``decided`` unless noted."""

    key: tuple[str | None, ...]
    decided: int
    approved: Rate
    # Approved, or edited by at most the trivial-edit threshold.
    approved_adjusted: Rate
    edited: Rate
    trivial_edits: Rate
    mean_edit_distance: float | None
    rejected: Rate
    rejected_by_reason: dict[str, Rate]
    escalated: Rate
    escalated_by_severity: dict[str, Rate]
    # Of escalations: answered after their due time, or still open past it.
    sla_breaches: Rate
    escalations_open: int
    # Estimated from the review-time histogram (see ``histogram_median``).
    median_review_seconds: float | None
    # Decisions flagged low-attention, of all the group's decisions: counted or left out.
    low_attention: Rate
    # Low-attention approvals left out of every other figure (0 when they are included).
    low_attention_left_out: int
    # Of gold answers by the group's reviewers on the group's drafts; None without any.
    gold_accuracy: Rate | None

    def to_json(self, dimensions: Sequence[Dimension]) -> dict[str, Any]:
        return {
            **{d.value: k for d, k in zip(dimensions, self.key, strict=True)},
            "decided": self.decided,
            "approved": self.approved.to_json(),
            "approved_adjusted": self.approved_adjusted.to_json(),
            "edited": self.edited.to_json(),
            "trivial_edits": self.trivial_edits.to_json(),
            "mean_edit_distance": self.mean_edit_distance,
            "rejected": self.rejected.to_json(),
            "rejected_by_reason": {k: v.to_json() for k, v in self.rejected_by_reason.items()},
            "escalated": self.escalated.to_json(),
            "escalated_by_severity": {
                k: v.to_json() for k, v in self.escalated_by_severity.items()
            },
            "sla_breaches": self.sla_breaches.to_json(),
            "escalations_open": self.escalations_open,
            "median_review_seconds": self.median_review_seconds,
            "low_attention": self.low_attention.to_json(),
            "low_attention_left_out": self.low_attention_left_out,
            "gold_accuracy": self.gold_accuracy.to_json() if self.gold_accuracy else None,
        }


@dataclass(frozen=True)
class StatsReport:
    dimensions: tuple[Dimension, ...]
    filter: StatsFilter
    trivial_edit_threshold: float
    groups: tuple[GroupStats, ...]
    total: GroupStats
    generated_at: datetime

    def to_json(self) -> dict[str, Any]:
        f = self.filter
        return {
            "by": [d.value for d in self.dimensions],
            "filter": {
                "since": f.since.isoformat() if f.since else None,
                "until": f.until.isoformat() if f.until else None,
                "categories": list(f.categories),
                "models": list(f.models),
                "reviewers": list(f.reviewers),
                "bands": list(f.bands),
                "include_low_attention": f.include_low_attention,
            },
            "trivial_edit_threshold": self.trivial_edit_threshold,
            "generated_at": self.generated_at.isoformat(),
            "groups": [g.to_json(self.dimensions) for g in self.groups],
            "total": self.total.to_json(()),
        }


# -- counting -------------------------------------------------------------------------------------
@dataclass
class _Counts:
    """Additive counts of one group; Python only ever sums these."""

    decided: int = 0
    approved: int = 0
    low_attention: int = 0  # of the counted decisions
    left_out: int = 0  # low-attention approvals left out
    histogram: list[int] = field(default_factory=lambda: [0] * len(HISTOGRAM))
    edited: int = 0
    trivial: int = 0
    edit_distance_sum: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)
    severities: dict[str, int] = field(default_factory=dict)
    breaches: int = 0
    open: int = 0
    gold: int = 0
    gold_correct: int = 0

    def add(self, other: _Counts) -> None:
        self.decided += other.decided
        self.approved += other.approved
        self.low_attention += other.low_attention
        self.left_out += other.left_out
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=True)]
        self.edited += other.edited
        self.trivial += other.trivial
        self.edit_distance_sum += other.edit_distance_sum
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v
        for k, v in other.severities.items():
            self.severities[k] = self.severities.get(k, 0) + v
        self.breaches += other.breaches
        self.open += other.open
        self.gold += other.gold
        self.gold_correct += other.gold_correct

    def stats(self, key: tuple[str | None, ...]) -> GroupStats:
        n = self.decided
        escalated = sum(self.severities.values())
        return GroupStats(
            key=key,
            decided=n,
            approved=Rate.of(self.approved, n),
            approved_adjusted=Rate.of(min(n, self.approved + self.trivial), n),
            edited=Rate.of(self.edited, n),
            trivial_edits=Rate.of(self.trivial, n),
            mean_edit_distance=self.edit_distance_sum / self.edited if self.edited else None,
            rejected=Rate.of(sum(self.reasons.values()), n),
            rejected_by_reason={k: Rate.of(v, n) for k, v in sorted(self.reasons.items())},
            escalated=Rate.of(escalated, n),
            escalated_by_severity={s: Rate.of(self.severities.get(s, 0), n) for s in _SEVERITIES},
            sla_breaches=Rate.of(self.breaches, escalated),
            escalations_open=self.open,
            median_review_seconds=histogram_median(self.histogram),
            low_attention=Rate.of(self.low_attention + self.left_out, n + self.left_out),
            low_attention_left_out=self.left_out,
            gold_accuracy=Rate.of(self.gold_correct, self.gold) if self.gold else None,
        )


_SEVERITIES = tuple(s.value for s in Severity)


class StatsService:
    """Computes ``StatsReport``s on one database. Thread-safe: each call uses its own
    connection."""

    def __init__(self, engines: Engines, *, clock: Clock | None = None) -> None:
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        # None on PostgreSQL means the database's clock, as the queue does.
        self.clock: Clock | None = clock if clock or self.postgres else SystemClock()
        self.store = StatsStore(engines, clock=self.clock)

    @classmethod
    def for_desk(cls, desk: ReviewDesk) -> StatsService:
        return cls(desk.engines, clock=desk.clock)

    def now(self) -> datetime:
        """The time the statistics are read by: the injected clock's, or the database's."""
        return self.store.now()

    # -- public ---------------------------------------------------------------------------------
    def compute(
        self,
        by: Iterable[Dimension | str] = (),
        *,
        filter: StatsFilter | None = None,
        trivial_edit_threshold: float = DEFAULT_TRIVIAL_EDIT,
    ) -> StatsReport:
        """Statistics of live, non-gold decisions grouped by ``by`` (any of category, model,
        reviewer, confidence, and one of day or week), filtered by ``filter``; low-attention
        approvals left out unless ``filter.include_low_attention``."""
        try:
            dims = tuple(Dimension(d) for d in by)
        except ValueError as exc:
            raise InvalidArgument(
                f"{exc}: group by {', '.join(d.value for d in Dimension)}"
            ) from None
        if len(set(dims)) != len(dims):
            raise InvalidArgument("each grouping may appear once")
        if sum(d in PERIODS for d in dims) > 1:
            raise InvalidArgument("group by day or by week, not both")
        if not 0 <= trivial_edit_threshold < 1:
            raise InvalidArgument("the trivial-edit threshold is a distance in [0, 1)")
        flt = filter or StatsFilter()
        with self.store.snapshot() as reader:
            now = reader.now()
            groups = _counts(reader, dims, flt, trivial_edit_threshold, now)
        total = _Counts()
        for counts in groups.values():
            total.add(counts)
        # Rollup rows stay behind at zero when their decisions are undone or become gold.
        kept = {k: c for k, c in groups.items() if c != _Counts() or not dims}
        ordered = sorted(kept.items(), key=lambda kv: tuple(k or "" for k in kv[0]))
        return StatsReport(
            dimensions=dims,
            filter=flt,
            trivial_edit_threshold=trivial_edit_threshold,
            groups=tuple(c.stats(k) for k, c in ordered),
            total=total.stats(()),
            generated_at=now,
        )

    def known(self) -> dict[Dimension, list[str]]:
        """The categories, model versions and reviewers that have live decisions, sorted: what
        a filter can name."""
        return self.store.known()

    def last_active(self) -> dict[str, date]:
        """Each reviewer's last UTC day with a live decision."""
        return self.store.last_active()


def _counts(
    reader: StatsReader,
    dims: tuple[Dimension, ...],
    flt: StatsFilter,
    trivial: float,
    now: datetime,
) -> dict[GroupKey, _Counts]:
    """Each group's counts: the rollup's, then the rare labels' and gold answers'."""
    groups: dict[GroupKey, _Counts] = {}

    def group(key: GroupKey) -> _Counts:
        return groups.setdefault(key, _Counts())

    trivial_from_rollup = trivial == ROLLUP_TRIVIAL_EDIT
    for r in reader.rollup_counts(dims, flt):
        c = group(r.key)
        if left_out(r.low_attention_approval, include_low_attention=flt.include_low_attention):
            c.left_out += r.decided
            continue
        c.decided += r.decided
        c.approved += r.approved
        c.edited += r.edited
        if trivial_from_rollup:
            c.trivial += r.trivial
        c.edit_distance_sum += r.edit_distance_sum
        c.low_attention += r.low_attention
        c.histogram = [a + b for a, b in zip(c.histogram, r.histogram, strict=True)]
    if not trivial_from_rollup:
        for t in reader.trivial_edits(dims, flt, trivial):
            group(t.key).trivial += t.trivial
    for rej in reader.rejections(dims, flt):
        c = group(rej.key)
        reason = rej.reason or "(none)"
        c.reasons[reason] = c.reasons.get(reason, 0) + rej.n
    for esc in reader.escalations(dims, flt, now):
        c = group(esc.key)
        c.severities[esc.severity] = c.severities.get(esc.severity, 0) + esc.n
        c.breaches += esc.breaches
        c.open += esc.open
    for g in reader.gold_answers(dims, flt):
        c = group(g.key)
        c.gold += g.answers
        c.gold_correct += g.correct
    return groups

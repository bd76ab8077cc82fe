"""The lead's statistics: how good the AI's drafts are, and where reviewers add value.

Every figure is counted in the database. Counts that every decision adds to (decided,
approved, low attention, review-time histogram) come from ``decision_rollup``, which triggers
keep per period and group (migrations 0003 and 0004; see ``_grain_for``); the rarer labels
(edits, rejections, escalations) and gold answers are counted from their own rows through
partial indexes. Python only adds up the
counts and puts a Wilson interval on each rate. Gold drafts and undone decisions never count.

Low-attention approvals (approvals faster than reading, flagged on the decision) are left out of
every figure, as exports leave them out, unless the filter includes them (``left_out``); each
group says how many it left out. The rollup keeps them in rows of their own (migration 0007).

Confidence bands (of the model's ``confidence``, half-open ``[low, high)``)::

    <0.50  0.50-0.70  0.70-0.80  0.80-0.90  0.90-0.95  >=0.95  unknown (no confidence given)

Periods are UTC days and ISO weeks (starting Monday), written as the date they start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, Connection, bindparam, text
from sqlalchemy.sql.elements import TextClause

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.control_limits import wilson_interval
from reviewdesk.core.domain import Severity
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.types import UtcDateTime

if TYPE_CHECKING:
    from reviewdesk.services.desk import ReviewDesk

# An edit whose normalized Levenshtein distance is at most this changed at most 2 characters in
# 100: a typo, a comma, a name's capital. Such a review added almost nothing, so the
# edit-adjusted view counts it as an approval. Configurable per call.
DEFAULT_TRIVIAL_EDIT = 0.02
# Review-time histogram (seconds): bucket i is [edge[i-1], edge[i]); the last is open.
# Migrations 0003 and 0004 hold the same edges in their triggers.
REVIEW_TIME_EDGES: tuple[int, ...] = (2, 4, 6, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
HISTOGRAM = tuple(f"h{i}" for i in range(len(REVIEW_TIME_EDGES) + 1))
# The trivial-edit threshold the rollup counts at (migrations 0003, 0004); others read the edits.
ROLLUP_TRIVIAL_EDIT = 0.02
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Band:
    """A confidence band: model confidence in [low, high), in 5% buckets ``first..last-1``."""

    label: str
    low: float | None
    high: float | None
    first: int
    last: int

    @property
    def buckets(self) -> range:
        return range(self.first, self.last)


# Migration 0004 keeps grains d, w, m and x by band, as each band's first bucket: keep the two
# in step.
BANDS: tuple[Band, ...] = (
    Band("<0.50", 0.0, 0.5, 0, 10),
    Band("0.50-0.70", 0.5, 0.7, 10, 14),
    Band("0.70-0.80", 0.7, 0.8, 14, 16),
    Band("0.80-0.90", 0.8, 0.9, 16, 18),
    Band("0.90-0.95", 0.9, 0.95, 18, 19),
    Band(">=0.95", 0.95, None, 19, 20),
    Band("unknown", None, None, -1, 0),
)
BAND_BY_LABEL = {b.label: b for b in BANDS}


def left_out(low_attention_approval: bool, *, include_low_attention: bool) -> bool:
    """Whether decisions (rollup rows) that are low-attention approvals, or not, are left out of
    the figures: the one rule of statistics and recommendations, as exports apply it."""
    return bool(low_attention_approval) and not include_low_attention


class Dimension(StrEnum):
    CATEGORY = "category"
    MODEL = "model"
    REVIEWER = "reviewer"
    CONFIDENCE = "confidence"
    DAY = "day"
    WEEK = "week"


PERIODS = (Dimension.DAY, Dimension.WEEK)


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
class StatsFilter:
    """Which decisions count. Dates are UTC days, both ends included."""

    since: date | None = None
    until: date | None = None
    categories: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    bands: tuple[str, ...] = ()
    # Count low-attention approvals too; by default they are left out (see ``left_out``).
    include_low_attention: bool = False

    def __post_init__(self) -> None:
        unknown = [b for b in self.bands if b not in BAND_BY_LABEL]
        if unknown:
            raise InvalidArgument(
                f"unknown confidence band(s) {', '.join(unknown)}: use "
                + ", ".join(b.label for b in BANDS)
            )


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


def histogram_median(counts: Sequence[int]) -> float | None:
    """The median of grouped data: linear interpolation inside the bucket holding the middle.

    Exact medians need every value sorted, which no engine does for a million rows in under a
    second; the estimate stays within its bucket (docs/benchmarks.md measures how close it
    is). Past the last edge (10 minutes) the estimate is that edge.
    """
    total = sum(counts)
    if total == 0:
        return None
    half = total / 2
    below = 0
    lows = (0, *REVIEW_TIME_EDGES)
    for i, count in enumerate(counts):
        if count and below + count >= half:
            if i == len(REVIEW_TIME_EDGES):
                return float(lows[i])
            width = REVIEW_TIME_EDGES[i] - lows[i]
            return lows[i] + (half - below) / count * width
        below += count
    return float(REVIEW_TIME_EDGES[-1])


# -- which rollup rows answer a statistic ---------------------------------------------------------
# The grains of ``decision_rollup`` (migrations 0003 and 0004), each counting live, non-gold
# decisions per period and group:
#   a        day x category x model x risk x 5% confidence bucket: everything but the reviewer;
#   r        day x reviewer x category;
#   d, w, m  day, ISO week (its Monday), month (its first day) x reviewer x category x model x
#            confidence band (its first bucket): the reviewer with the model or the band;
#   x        ISO week x reviewer x model x band, all categories: the same without the category.
# A day of d holds about 1.5 decisions a row (654,214 rows for 1,000,000 decisions over 180
# days in benchmarks/stats_scale.py), too many to sum in a second on SQLite, so a period is
# added up from whole months and weeks where they fit and from days at its edges only. Without
# the category, whole weeks come from x (22,493 rows on that data; w has 213,125, m 60,648).
# Grains kept by day only: a period is its days.
DAY_GRAINS = ("a", "r")
# What one period's rows cost to sum, relative to a day's (measured on the benchmark's data:
# a week of w has 2.3 times the rows of a day of d, a month of m 2.8 times).
_PERIOD_COST = {"d": 1, "w": 2, "m": 3}


def _used(dims: Sequence[Dimension], flt: StatsFilter) -> set[Dimension]:
    """The dimensions a statistic groups or filters by."""
    return set(dims) | {
        d
        for d, values in (
            (Dimension.CATEGORY, flt.categories),
            (Dimension.MODEL, flt.models),
            (Dimension.REVIEWER, flt.reviewers),
            (Dimension.CONFIDENCE, flt.bands),
        )
        if values
    }


def _grain_for(dims: Sequence[Dimension], flt: StatsFilter) -> str:
    """The smallest grain that keeps every attribute the grouping and the filter use (``d``
    stands for the reviewer detail: d, w, m and x)."""
    used = _used(dims, flt)
    if Dimension.REVIEWER not in used:
        return "a"
    if Dimension.MODEL in used or Dimension.CONFIDENCE in used:
        return "d"
    return "r"


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def cover_period(first: date, last: date, grains: Sequence[str]) -> list[tuple[str, date, date]]:
    """The cheapest exact cover of the days ``first..last`` by days (grain ``d``, always
    allowed) and, where ``grains`` allows, whole ISO weeks (``w``) and calendar months (``m``).

    Returned as runs ``(grain, first period's start, last period's start)`` in date order;
    empty when ``last`` is before ``first``. A shortest-path walk over the days: a step is one
    day, or a whole week from a Monday, or a whole month from its first day.
    """
    days = (last - first).days + 1
    if days <= 0:
        return []
    # best[i]: (cost, previous index, grain of the step) of the cheapest cover of first + i days.
    best: list[tuple[int, int, str] | None] = [None] * (days + 1)
    best[0] = (0, 0, "d")
    for i in range(days):
        here = best[i]
        if here is None:
            continue
        at = first + timedelta(days=i)
        steps = [("d", 1)]
        if "w" in grains and at.weekday() == 0:
            steps.append(("w", 7))
        if "m" in grains and at.day == 1:
            steps.append(("m", (_next_month(at) - at).days))
        for grain, length in steps:
            j = i + length
            if j > days:
                continue
            cost = here[0] + _PERIOD_COST[grain]
            there = best[j]
            if there is None or cost < there[0]:
                best[j] = (cost, i, grain)
    pieces: list[tuple[str, date]] = []
    i = days
    while i > 0:
        step = best[i]
        assert step is not None  # a day at a time always reaches the end
        pieces.append((step[2], first + timedelta(days=step[1])))
        i = step[1]
    runs: list[tuple[str, date, date]] = []
    for grain, start in reversed(pieces):
        if runs and runs[-1][0] == grain:
            runs[-1] = (grain, runs[-1][1], start)
        else:
            runs.append((grain, start, start))
    return runs


# -- SQL ------------------------------------------------------------------------------------------
def _band_case(bucket: str) -> str:
    parts = " ".join(
        f"WHEN {bucket} < {b.last} THEN '{b.label}'" for b in BANDS if b.label != "unknown"
    )
    return f"CASE WHEN {bucket} < 0 THEN 'unknown' {parts} END"


class _Sql:
    """Dialect-specific expressions; the statements are built from these constants only."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def bucket(self, confidence: str) -> str:
        # The same 5% bucket as the rollup triggers (migrations 0003 and 0004).
        whole = f"floor({confidence} * 20)" if self.postgres else f"{confidence} * 20"
        return (
            f"(CASE WHEN {confidence} IS NULL THEN -1 WHEN {confidence} >= 1 THEN 19 "
            f"ELSE CAST({whole} AS INTEGER) END)"
        )

    def day(self, at: str) -> str:
        if self.postgres:
            return f"to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({at}, 1, 10)"

    def week_of_day(self, day: str) -> str:
        if self.postgres:
            return f"to_char(date_trunc('week', CAST({day} AS date)), 'YYYY-MM-DD')"
        return f"date({day}, 'weekday 0', '-6 days')"

    def seconds_between(self, start: str, end: str) -> str:
        if self.postgres:
            return f"EXTRACT(EPOCH FROM ({end} - {start}))"
        return f"((julianday({end}) - julianday({start})) * 86400.0)"


@dataclass(frozen=True)
class _Source:
    """How one table set names the grouping attributes."""

    category: str
    model: str
    reviewer: str
    bucket: str
    day: str
    at: str | None  # the timestamp column, for exact period filters on raw rows


_RESPONSE_SECONDS = " ".join(
    f"WHEN '{s.value}' THEN {int(s.response_time.total_seconds())}" for s in Severity
)


class StatsService:
    """Computes ``StatsReport``s on one database. Thread-safe: each call uses its own
    connection."""

    def __init__(self, engines: Engines, *, clock: Clock | None = None) -> None:
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        # None on PostgreSQL means the database's clock, as the queue does.
        self.clock: Clock | None = clock if clock or self.postgres else SystemClock()
        self._sql = _Sql(self.postgres)

    @classmethod
    def for_desk(cls, desk: ReviewDesk) -> StatsService:
        engines, clock = desk_engines(desk)
        return cls(engines, clock=clock)

    def connect(self) -> Connection:
        """A read-only connection whose statements all see one snapshot, so that the counts
        of one report agree with each other (SQLite: one read transaction; PostgreSQL:
        repeatable read)."""
        conn = self.engines.write.connect().execution_options(**{READ_ONLY: True})
        if self.postgres:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        return conn

    def now(self, conn: Connection) -> datetime:
        if self.clock is not None:
            return self.clock.now()
        value = conn.execute(text("SELECT now()")).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

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
        with self.connect() as conn:
            now = self.now(conn)
            groups = self._counts(conn, dims, flt, trivial_edit_threshold, now)
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
        a filter can name. Read from the monthly rollup, a few rows per month."""
        out: dict[Dimension, list[str]] = {}
        with self.connect() as conn:
            for dim in (Dimension.CATEGORY, Dimension.MODEL, Dimension.REVIEWER):
                rows = conn.execute(
                    text(
                        f"SELECT {dim.value} FROM decision_rollup WHERE grain = 'm' "  # noqa: S608
                        f"GROUP BY {dim.value} HAVING sum(n) > 0"
                    )
                )
                out[dim] = sorted(r[0] for r in rows if r[0])
        return out

    def last_active(self) -> dict[str, date]:
        """Each reviewer's last UTC day with a live decision, from the daily reviewer rollup."""
        with self.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT reviewer, max(day) FROM decision_rollup "
                    "WHERE grain = 'r' AND n > 0 GROUP BY reviewer"
                )
            )
            return {r[0]: date.fromisoformat(r[1]) for r in rows}

    # -- internals ------------------------------------------------------------------------------
    def _counts(
        self,
        conn: Connection,
        dims: tuple[Dimension, ...],
        flt: StatsFilter,
        trivial: float,
        now: datetime,
    ) -> dict[tuple[str | None, ...], _Counts]:
        sql = self._sql
        raw = _Source(
            category="d.category",
            model="coalesce(d.model, '')",
            reviewer="dec.reviewer",
            bucket=sql.bucket("d.confidence"),
            day=sql.day("dec.decided_at"),
            at="dec.decided_at",
        )
        groups: dict[tuple[str | None, ...], _Counts] = {}

        def group(row: Any) -> _Counts:
            key = tuple(
                None if v == "" and d is Dimension.MODEL else v
                for d, v in zip(dims, row[: len(dims)], strict=True)
            )
            return groups.setdefault(key, _Counts())

        hist = ", ".join(f"sum(r.{h})" for h in HISTOGRAM)
        rollup = _Source(
            category="r.category",
            model="r.model",
            reviewer="r.reviewer",
            bucket="r.band",
            day="r.day",
            at=None,
        )
        periods, params = self._rollup_rows(conn, dims, flt)
        keys, where, attribute_params = self._where(rollup, dims, flt)
        stmt = f"""SELECT {keys} r.low_attention_approval, sum(r.n), sum(r.approved),
                sum(r.edited), sum(r.trivial), sum(r.edit_distance_sum), sum(r.low_attention),
                {hist}
            FROM decision_rollup r WHERE ({periods}) {where}
            {self._group_by(dims, extra="r.low_attention_approval")}"""  # noqa: S608
        trivial_from_main = trivial == ROLLUP_TRIVIAL_EDIT
        for row in conn.execute(self._text(stmt), {**params, **attribute_params}):
            c = group(row)
            flag, *values = row[len(dims) :]
            if left_out(flag, include_low_attention=flt.include_low_attention):
                c.left_out += int(values[0] or 0)
                continue
            c.decided += int(values[0] or 0)
            c.approved += int(values[1] or 0)
            c.edited += int(values[2] or 0)
            if trivial_from_main:
                c.trivial += int(values[3] or 0)
            c.edit_distance_sum += float(values[4] or 0.0)
            c.low_attention += int(values[5] or 0)
            c.histogram = [a + int(b or 0) for a, b in zip(c.histogram, values[6:], strict=True)]

        keys, where, params = self._where(raw, dims, flt)
        # SQLite would walk the reviewer index for GROUP BY reviewer; the partial index of
        # the label is the one that reads only those rows.
        base = (
            "FROM decision dec {hint} JOIN draft d ON d.id = dec.draft_id "
            "WHERE dec.label = '{label}' AND dec.undone_at IS NULL AND NOT d.is_gold"
        )

        def rare(label: str, index: str) -> str:
            hint = "" if self.postgres else f"INDEXED BY {index}"
            return base.format(label=label, hint=hint)

        if not trivial_from_main:
            edits = f"""SELECT {keys}
                    sum(CASE WHEN dec.edit_distance <= :trivial THEN 1 ELSE 0 END)
                {rare("edited", "ix_decision_edits")} {where}
                {self._group_by(dims)}"""
            for row in conn.execute(self._text(edits), {**params, "trivial": trivial}):
                group(row).trivial += int(row[len(dims)] or 0)

        rejections = f"""SELECT {keys} coalesce(dec.reason, ''), count(*)
            {rare("rejected", "ix_decision_rejections")} {where}
            {self._group_by(dims, extra="coalesce(dec.reason, '')")}"""
        for row in conn.execute(self._text(rejections), params):
            c = group(row)
            reason, count = row[len(dims) :]
            c.reasons[reason or "(none)"] = c.reasons.get(reason or "(none)", 0) + int(count)

        late = sql.seconds_between("dec.decided_at", "coalesce(dec.resolved_at, :now)")
        escalations = f"""SELECT {keys} dec.severity, count(*),
                sum(CASE WHEN {late} > CASE dec.severity {_RESPONSE_SECONDS} END
                    THEN 1 ELSE 0 END),
                sum(CASE WHEN dec.resolved_at IS NULL THEN 1 ELSE 0 END)
            {rare("escalated", "ix_decision_escalations")} {where}
            {self._group_by(dims, extra="dec.severity")}"""
        for row in conn.execute(self._text(escalations), {**params, "now": now}):
            c = group(row)
            severity, count, breaches, still_open = row[len(dims) :]
            c.severities[severity] = c.severities.get(severity, 0) + int(count)
            c.breaches += int(breaches or 0)
            c.open += int(still_open or 0)

        gold_source = _Source(
            category="d.category",
            model="coalesce(d.model, '')",
            reviewer="ga.reviewer",
            bucket=sql.bucket("d.confidence"),
            day=sql.day("ga.answered_at"),
            at="ga.answered_at",
        )
        keys, where, params = self._where(gold_source, dims, flt)
        gold = f"""SELECT {keys} count(*), sum(CASE WHEN ga.correct THEN 1 ELSE 0 END)
            FROM gold_answer ga JOIN gold_item gi ON gi.id = ga.gold_item_id
            JOIN draft d ON d.id = gi.draft_id WHERE 1 = 1 {where}
            {self._group_by(dims)}"""  # noqa: S608
        for row in conn.execute(self._text(gold), params):
            c = group(row)
            count, correct = row[len(dims) :]
            c.gold += int(count)
            c.gold_correct += int(correct or 0)
        return groups

    def _rollup_rows(
        self, conn: Connection, dims: Sequence[Dimension], flt: StatsFilter
    ) -> tuple[str, dict[str, Any]]:
        """Which ``decision_rollup`` rows (alias r) hold the decisions of ``flt``'s period, at
        the grain that keeps every attribute ``dims`` and ``flt`` use: an SQL condition and its
        parameters."""
        grain = _grain_for(dims, flt)
        params: dict[str, Any] = {}
        if grain in DAY_GRAINS:
            where = [f"r.grain = '{grain}'"]
            if flt.since:
                where.append("r.day >= :since_day")
                params["since_day"] = flt.since.isoformat()
            if flt.until:
                where.append("r.day <= :until_day")
                params["until_day"] = flt.until.isoformat()
            return " AND ".join(where), params
        # Reviewer detail: cover the period with whole months and ISO weeks where they fit (and
        # the grouping allows), days at the edges. An open end reaches past the data's first and
        # last days to whole months and weeks.
        extent = conn.execute(
            text(
                "SELECT (SELECT min(day) FROM decision_rollup WHERE grain = 'd'), "
                "(SELECT max(day) FROM decision_rollup WHERE grain = 'd')"
            )
        ).one()
        if extent[0] is None:
            return "1 = 0", params
        lowest, highest = date.fromisoformat(extent[0]), date.fromisoformat(extent[1])
        first = min(lowest.replace(day=1), lowest - timedelta(days=lowest.weekday()))
        last = max(
            _next_month(highest) - timedelta(days=1),
            highest + timedelta(days=6 - highest.weekday()),
        )
        first = max(first, flt.since) if flt.since else first
        last = min(last, flt.until) if flt.until else last
        with_category = Dimension.CATEGORY in _used(dims, flt)
        if Dimension.DAY in dims:
            grains: tuple[str, ...] = ("d",)
        elif Dimension.WEEK in dims or not with_category:
            # Without the category a week of x is smaller than a month of m.
            grains = ("d", "w")
        else:
            grains = ("d", "w", "m")
        where = []
        for i, (level, start, end) in enumerate(cover_period(first, last, grains)):
            name = "x" if level == "w" and not with_category else level
            where.append(f"(r.grain = '{name}' AND r.day >= :from{i} AND r.day <= :to{i})")
            params[f"from{i}"] = start.isoformat()
            params[f"to{i}"] = end.isoformat()
        return " OR ".join(where) or "1 = 0", params

    def _key(self, source: _Source, dim: Dimension) -> str:
        match dim:
            case Dimension.CATEGORY:
                return source.category
            case Dimension.MODEL:
                return source.model
            case Dimension.REVIEWER:
                return source.reviewer
            case Dimension.CONFIDENCE:
                return _band_case(source.bucket)
            case Dimension.DAY:
                return source.day
            case Dimension.WEEK:
                return self._sql.week_of_day(source.day)

    def _where(
        self, source: _Source, dims: Sequence[Dimension], flt: StatsFilter
    ) -> tuple[str, str, dict[str, Any]]:
        keys = "".join(f"{self._key(source, d)} AS k{i}, " for i, d in enumerate(dims))
        where: list[str] = []
        params: dict[str, Any] = {}
        if source.at is not None:
            # Raw rows: compare timestamps, so that the time index serves the filter. (Which
            # rollup rows a period takes is chosen by _rollup_rows.)
            if flt.since:
                where.append(f"{source.at} >= :since_at")
                params["since_at"] = datetime.combine(flt.since, time(), UTC)
            if flt.until:
                where.append(f"{source.at} < :until_at")
                params["until_at"] = datetime.combine(flt.until + timedelta(days=1), time(), UTC)
        for name, column, values in (
            ("categories", source.category, list(flt.categories)),
            ("models", source.model, list(flt.models)),
            ("reviewers", source.reviewer, list(flt.reviewers)),
            (
                "buckets",
                source.bucket,
                [i for b in flt.bands for i in BAND_BY_LABEL[b].buckets],
            ),
        ):
            if values:
                where.append(f"{column} IN :{name}")
                params[name] = values
        return keys, "".join(f" AND {w}" for w in where), params

    @staticmethod
    def _group_by(dims: Sequence[Dimension], *, extra: str | None = None) -> str:
        parts = [f"k{i}" for i in range(len(dims))]
        if extra:
            parts.append(extra)
        return f"GROUP BY {', '.join(parts)}" if parts else ""

    @staticmethod
    def _text(sql: str) -> TextClause:
        clause = text(sql)
        binds: list[BindParameter[Any]] = [
            bindparam(name, expanding=True)
            for name in ("categories", "models", "reviewers", "buckets")
            if f":{name}" in sql
        ]
        binds += [
            bindparam(name, type_=UtcDateTime)
            for name in ("since_at", "until_at", "now")
            if f":{name}" in sql
        ]
        return clause.bindparams(*binds) if binds else clause


def desk_engines(desk: ReviewDesk) -> tuple[Engines, Clock | None]:
    """The desk's engines and injected clock (None: the database's clock on PostgreSQL)."""
    # ReviewDesk has no public accessor for these yet; see the report of issue 5.
    return desk.engines, desk.clock

"""The statistics' and recommendations' reads: counts of live, non-gold decisions per group.

Counts that every decision adds to (decided, approved, low attention, review-time histogram)
come from ``decision_rollup``, which triggers keep per period and group (migrations 0003 and
0004; see ``grain_for``); the rarer labels (edits, rejections, escalations) and gold answers are
counted from their own rows through partial indexes. Each read returns typed rows of additive
counts; the services add them up and put intervals on them.

The statements are assembled from module constants and the dialect's expressions only; every
value goes in as a parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, Connection, bindparam, text
from sqlalchemy.sql.elements import TextClause

from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import Label, Risk
from reviewdesk.core.stats import BANDS, HISTOGRAM, Dimension, StatsFilter, used_dimensions
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.reads import database_now, read_connection
from reviewdesk.storage.rules_sql import response_seconds
from reviewdesk.storage.types import UtcDateTime

# The trivial-edit threshold the rollup counts at (migrations 0003, 0004); others read the edits.
ROLLUP_TRIVIAL_EDIT = 0.02

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

GroupKey = tuple[str | None, ...]


def grain_for(dims: Sequence[Dimension], flt: StatsFilter) -> str:
    """The smallest grain that keeps every attribute the grouping and the filter use (``d``
    stands for the reviewer detail: d, w, m and x)."""
    used = used_dimensions(dims, flt)
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


# -- typed rows -----------------------------------------------------------------------------------
# Named tuples: a report by day, reviewer and model reads tens of thousands of rows, and a tuple
# is built at a fraction of a frozen dataclass's cost.
class RollupCount(NamedTuple):
    """The rollup's counts of one group, kept apart by whether they are low-attention
    approvals. ``trivial`` is at ``ROLLUP_TRIVIAL_EDIT``."""

    key: GroupKey
    low_attention_approval: bool
    decided: int
    approved: int
    edited: int
    trivial: int
    edit_distance_sum: float
    low_attention: int
    histogram: tuple[int, ...]  # per HISTOGRAM bucket


class TrivialEditCount(NamedTuple):
    key: GroupKey
    trivial: int  # edits at most the threshold asked for


class RejectionCount(NamedTuple):
    key: GroupKey
    reason: str | None
    n: int


class EscalationCount(NamedTuple):
    key: GroupKey
    severity: str
    n: int
    breaches: int  # answered after their due time, or still open past it
    open: int


class GoldCount(NamedTuple):
    key: GroupKey
    answers: int
    correct: int


@dataclass(frozen=True)
class EvidenceQuery:
    """The recommendation's period: [since, until] (UTC days), its trend windows starting on
    ``current_from`` and ``previous_from``, some model versions and categories (empty: any)."""

    since: date | None
    until: date
    current_from: date
    previous_from: date
    trivial: float
    models: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


class RollupEvidence(NamedTuple):
    """Per (category, risk, 5% confidence bucket), whole period / current / previous window.
    The trivial counts are at ``ROLLUP_TRIVIAL_EDIT``."""

    category: str
    risk: Risk
    bucket: int
    low_attention_approval: bool
    n: int
    approved: int
    current_n: int
    previous_n: int
    current_approved: int
    previous_approved: int
    trivial: int
    current_trivial: int
    previous_trivial: int


class TrivialEditEvidence(NamedTuple):
    category: str
    risk: Risk
    bucket: int
    trivial: int
    current_trivial: int
    previous_trivial: int


class EscalationEvidence(NamedTuple):
    category: str
    risk: Risk
    bucket: int
    severity: str
    n: int


class ReleasedEvidence(NamedTuple):
    """Drafts a review policy released unreviewed, per category and 5% bucket: not decisions,
    so in no other count."""

    category: str
    bucket: int
    n: int


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


_ROLLUP = _Source(
    category="r.category",
    model="r.model",
    reviewer="r.reviewer",
    bucket="r.band",
    day="r.day",
    at=None,
)


def _typed(sql: str) -> TextClause:
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


def _group_by(dims: Sequence[Dimension], *, extra: str | None = None) -> str:
    parts = [f"k{i}" for i in range(len(dims))]
    if extra:
        parts.append(extra)
    return f"GROUP BY {', '.join(parts)}" if parts else ""


def _key_of(dims: Sequence[Dimension], row: Sequence[Any]) -> GroupKey:
    # A draft without a model version is grouped under '' (the rollup's key): None again here.
    return tuple(
        None if v == "" and d is Dimension.MODEL else v
        for d, v in zip(dims, row[: len(dims)], strict=True)
    )


class StatsReader:
    """The counting reads of one report, on one connection that sees one snapshot."""

    def __init__(self, conn: Connection, *, postgres: bool, clock: Clock | None) -> None:
        self._conn = conn
        self._postgres = postgres
        self._clock = clock
        self._sql = _Sql(postgres)

    def now(self) -> datetime:
        return database_now(self._conn, self._clock)

    # -- the statistics' counts -----------------------------------------------------------------
    def rollup_counts(self, dims: Sequence[Dimension], flt: StatsFilter) -> list[RollupCount]:
        """The rollup's counts per group of ``dims``, at the grain ``flt`` and ``dims`` need."""
        periods, params = self._rollup_rows(dims, flt)
        keys, where, attribute_params = self._where(_ROLLUP, dims, flt)
        hist = ", ".join(f"sum(r.{h})" for h in HISTOGRAM)
        stmt = f"""SELECT {keys} r.low_attention_approval, sum(r.n), sum(r.approved),
                sum(r.edited), sum(r.trivial), sum(r.edit_distance_sum), sum(r.low_attention),
                {hist}
            FROM decision_rollup r WHERE ({periods}) {where}
            {_group_by(dims, extra="r.low_attention_approval")}"""  # noqa: S608
        out = []
        for row in self._conn.execute(_typed(stmt), {**params, **attribute_params}):
            flag, *values = row[len(dims) :]
            out.append(
                RollupCount(
                    key=_key_of(dims, row),
                    low_attention_approval=bool(flag),
                    decided=int(values[0] or 0),
                    approved=int(values[1] or 0),
                    edited=int(values[2] or 0),
                    trivial=int(values[3] or 0),
                    edit_distance_sum=float(values[4] or 0.0),
                    low_attention=int(values[5] or 0),
                    histogram=tuple(int(b or 0) for b in values[6:]),
                )
            )
        return out

    def trivial_edits(
        self, dims: Sequence[Dimension], flt: StatsFilter, threshold: float
    ) -> list[TrivialEditCount]:
        """Edits of at most ``threshold`` per group, counted from the edits themselves."""
        keys, where, params = self._where(self._raw, dims, flt)
        stmt = f"""SELECT {keys}
                sum(CASE WHEN dec.edit_distance <= :trivial THEN 1 ELSE 0 END)
            {self._rare(Label.EDITED, "ix_decision_edits")} {where}
            {_group_by(dims)}"""
        rows = self._conn.execute(_typed(stmt), {**params, "trivial": threshold})
        return [TrivialEditCount(_key_of(dims, row), int(row[len(dims)] or 0)) for row in rows]

    def rejections(self, dims: Sequence[Dimension], flt: StatsFilter) -> list[RejectionCount]:
        """Rejections per group and reason ('' or None: none given)."""
        keys, where, params = self._where(self._raw, dims, flt)
        stmt = f"""SELECT {keys} coalesce(dec.reason, ''), count(*)
            {self._rare(Label.REJECTED, "ix_decision_rejections")} {where}
            {_group_by(dims, extra="coalesce(dec.reason, '')")}"""
        out = []
        for row in self._conn.execute(_typed(stmt), params):
            reason, count = row[len(dims) :]
            out.append(RejectionCount(_key_of(dims, row), reason, int(count)))
        return out

    def escalations(
        self, dims: Sequence[Dimension], flt: StatsFilter, now: datetime
    ) -> list[EscalationCount]:
        """Escalations per group and severity, with those past their due time at ``now``."""
        keys, where, params = self._where(self._raw, dims, flt)
        late = self._sql.seconds_between("dec.decided_at", "coalesce(dec.resolved_at, :now)")
        stmt = f"""SELECT {keys} dec.severity, count(*),
                sum(CASE WHEN {late} > {response_seconds("dec.severity")} THEN 1 ELSE 0 END),
                sum(CASE WHEN dec.resolved_at IS NULL THEN 1 ELSE 0 END)
            {self._rare(Label.ESCALATED, "ix_decision_escalations")} {where}
            {_group_by(dims, extra="dec.severity")}"""
        out = []
        for row in self._conn.execute(_typed(stmt), {**params, "now": now}):
            severity, count, breaches, still_open = row[len(dims) :]
            out.append(
                EscalationCount(
                    _key_of(dims, row),
                    severity,
                    int(count),
                    int(breaches or 0),
                    int(still_open or 0),
                )
            )
        return out

    def gold_answers(self, dims: Sequence[Dimension], flt: StatsFilter) -> list[GoldCount]:
        """Gold answers per group (of the answering reviewer and the gold draft)."""
        sql = self._sql
        gold_source = _Source(
            category="d.category",
            model="coalesce(d.model, '')",
            reviewer="ga.reviewer",
            bucket=sql.bucket("d.confidence"),
            day=sql.day("ga.answered_at"),
            at="ga.answered_at",
        )
        keys, where, params = self._where(gold_source, dims, flt)
        stmt = f"""SELECT {keys} count(*), sum(CASE WHEN ga.correct THEN 1 ELSE 0 END)
            FROM gold_answer ga JOIN gold_item gi ON gi.id = ga.gold_item_id
            JOIN draft d ON d.id = gi.draft_id WHERE 1 = 1 {where}
            {_group_by(dims)}"""  # noqa: S608
        out = []
        for row in self._conn.execute(_typed(stmt), params):
            count, correct = row[len(dims) :]
            out.append(GoldCount(_key_of(dims, row), int(count), int(correct or 0)))
        return out

    # -- the recommendation's evidence ----------------------------------------------------------
    def rollup_evidence(self, q: EvidenceQuery) -> list[RollupEvidence]:
        """The rollup's counts per category, risk and 5% bucket (grain ``a``)."""
        params = self._evidence_params(q)
        periods = _evidence_periods
        stmt = f"""SELECT r.category, r.risk, r.band, r.low_attention_approval, sum(r.n),
                sum(r.approved), {periods("r.day", "r.n")}, {periods("r.day", "r.approved")},
                sum(r.trivial), {periods("r.day", "r.trivial")}
            FROM decision_rollup r WHERE r.grain = 'a'
            {_evidence_where(q, "r.day", "r.model", "r.category")}
            GROUP BY r.category, r.risk, r.band, r.low_attention_approval"""  # noqa: S608
        out = []
        for row in self._conn.execute(_typed(stmt), params):
            category, risk, bucket, flag, *counts = row
            n, approved, cur_n, prev_n, cur_a, prev_a, trivial, cur_t, prev_t = (
                int(c or 0) for c in counts
            )
            out.append(
                RollupEvidence(
                    category=category,
                    risk=Risk(risk),
                    bucket=int(bucket),
                    low_attention_approval=bool(flag),
                    n=n,
                    approved=approved,
                    current_n=cur_n,
                    previous_n=prev_n,
                    current_approved=cur_a,
                    previous_approved=prev_a,
                    trivial=trivial,
                    current_trivial=cur_t,
                    previous_trivial=prev_t,
                )
            )
        return out

    def trivial_edit_evidence(self, q: EvidenceQuery) -> list[TrivialEditEvidence]:
        """Edits of at most ``q.trivial`` per category, risk and 5% bucket, from the edits."""
        day = self._sql.day("dec.decided_at")
        bucket = self._sql.bucket("d.confidence")
        small = "CASE WHEN dec.edit_distance <= :trivial THEN 1 ELSE 0 END"
        stmt = f"""SELECT d.category, d.risk, {bucket}, sum({small}),
                {_evidence_periods(day, small)}
            {self._rare(Label.EDITED, "ix_decision_edits")}
            {_evidence_where(q, day, "coalesce(d.model, '')", "d.category")}
            GROUP BY d.category, d.risk, {bucket}"""
        out = []
        for row in self._conn.execute(_typed(stmt), self._evidence_params(q)):
            category, risk, bucket_, trivial, cur_t, prev_t = row
            out.append(
                TrivialEditEvidence(
                    category,
                    Risk(risk),
                    int(bucket_),
                    int(trivial or 0),
                    int(cur_t or 0),
                    int(prev_t or 0),
                )
            )
        return out

    def escalation_evidence(self, q: EvidenceQuery) -> list[EscalationEvidence]:
        """Escalations per category, risk, 5% bucket and severity."""
        day = self._sql.day("dec.decided_at")
        bucket = self._sql.bucket("d.confidence")
        stmt = f"""SELECT d.category, d.risk, {bucket}, dec.severity, count(*)
            {self._rare(Label.ESCALATED, "ix_decision_escalations")}
            {_evidence_where(q, day, "coalesce(d.model, '')", "d.category")}
            GROUP BY d.category, d.risk, {bucket}, dec.severity"""
        return [
            EscalationEvidence(category, Risk(risk), int(bucket_), severity, int(count))
            for category, risk, bucket_, severity, count in self._conn.execute(
                _typed(stmt), self._evidence_params(q)
            )
        ]

    def released_evidence(self, q: EvidenceQuery) -> list[ReleasedEvidence]:
        """Drafts released unreviewed in the period (the day they were routed), per category
        and 5% bucket. Released drafts are exactly the routings with a result cursor."""
        day = self._sql.day("r.routed_at")
        bucket = self._sql.bucket("d.confidence")
        stmt = f"""SELECT d.category, {bucket}, count(*)
            FROM policy_routing r JOIN draft d ON d.id = r.draft_id
            WHERE r.cursor IS NOT NULL AND r.route = 'released'
            {_evidence_where(q, day, "coalesce(d.model, '')", "d.category")}
            GROUP BY d.category, {bucket}"""  # noqa: S608
        return [
            ReleasedEvidence(category, int(bucket_), int(count))
            for category, bucket_, count in self._conn.execute(
                _typed(stmt), self._evidence_params(q)
            )
        ]

    # -- internals ------------------------------------------------------------------------------
    @property
    def _raw(self) -> _Source:
        return _Source(
            category="d.category",
            model="coalesce(d.model, '')",
            reviewer="dec.reviewer",
            bucket=self._sql.bucket("d.confidence"),
            day=self._sql.day("dec.decided_at"),
            at="dec.decided_at",
        )

    def _rare(self, label: Label, index: str) -> str:
        """Live, non-gold decisions of one rare label. SQLite would walk the reviewer index for
        GROUP BY reviewer; the partial index of the label is the one that reads only those
        rows."""
        hint = "" if self._postgres else f"INDEXED BY {index}"
        return (
            f"FROM decision dec {hint} JOIN draft d ON d.id = dec.draft_id "
            f"WHERE dec.label = '{label.value}' AND dec.undone_at IS NULL AND NOT d.is_gold"
        )

    def _rollup_rows(
        self, dims: Sequence[Dimension], flt: StatsFilter
    ) -> tuple[str, dict[str, Any]]:
        """Which ``decision_rollup`` rows (alias r) hold the decisions of ``flt``'s period, at
        the grain that keeps every attribute ``dims`` and ``flt`` use: an SQL condition and its
        parameters."""
        grain = grain_for(dims, flt)
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
        extent = self._conn.execute(
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
        with_category = Dimension.CATEGORY in used_dimensions(dims, flt)
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
            ("buckets", source.bucket, flt.buckets),
        ):
            if values:
                where.append(f"{column} IN :{name}")
                params[name] = values
        return keys, "".join(f" AND {w}" for w in where), params

    @staticmethod
    def _evidence_params(q: EvidenceQuery) -> dict[str, Any]:
        params: dict[str, Any] = {
            "until_day": q.until.isoformat(),
            "current_from": q.current_from.isoformat(),
            "previous_from": q.previous_from.isoformat(),
            "trivial": q.trivial,
            "models": list(q.models),
            "categories": list(q.categories),
        }
        if q.since is not None:
            params["since_day"] = q.since.isoformat()
        return params


def _evidence_where(q: EvidenceQuery, day: str, model: str, category: str) -> str:
    where = f" AND {day} <= :until_day"
    if q.since is not None:
        where += f" AND {day} >= :since_day"
    if q.models:
        where += f" AND {model} IN :models"
    if q.categories:
        where += f" AND {category} IN :categories"
    return where


def _evidence_periods(day: str, value: str) -> str:
    """The sums of ``value`` in the current and the previous trend window."""
    return (
        f"sum(CASE WHEN {day} >= :current_from THEN {value} ELSE 0 END), "
        f"sum(CASE WHEN {day} >= :previous_from AND {day} < :current_from "
        f"THEN {value} ELSE 0 END)"
    )


class StatsStore:
    """The statistics' reads on one database. Thread-safe: each read uses its own connection."""

    def __init__(self, engines: Engines, *, clock: Clock | None) -> None:
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        # None means the database's clock (PostgreSQL only).
        self.clock = clock

    @contextmanager
    def snapshot(self) -> Iterator[StatsReader]:
        """The reads of one report, all seeing one snapshot, so that its counts agree with
        each other (SQLite: one read transaction; PostgreSQL: repeatable read)."""
        with read_connection(self.engines, snapshot=True) as conn:
            yield StatsReader(conn, postgres=self.postgres, clock=self.clock)

    def now(self) -> datetime:
        with self.snapshot() as reader:
            return reader.now()

    def known(self) -> dict[Dimension, list[str]]:
        """The categories, model versions and reviewers that have live decisions, sorted. Read
        from the monthly rollup, a few rows per month."""
        out: dict[Dimension, list[str]] = {}
        with read_connection(self.engines, snapshot=True) as conn:
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
        with read_connection(self.engines, snapshot=True) as conn:
            rows = conn.execute(
                text(
                    "SELECT reviewer, max(day) FROM decision_rollup "
                    "WHERE grain = 'r' AND n > 0 GROUP BY reviewer"
                )
            )
            return {r[0]: date.fromisoformat(r[1]) for r in rows}

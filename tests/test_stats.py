"""Lead statistics on SQLite and PostgreSQL, against hand-counted data and statsmodels.

The data set is nine live decisions (plus a gold draft and an undone decision, which must not
count), made through the real API with a manual clock. Every grouping and filter is checked
against a plain count over the records written below, and the headline figures by hand.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.sql.elements import TextClause
from statsmodels.stats.proportion import proportion_confint

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.stats import (
    BANDS,
    REVIEW_TIME_EDGES,
    Dimension,
    GroupStats,
    StatsFilter,
    StatsService,
    histogram_median,
    wilson_interval,
)

DAY1 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
DAY2 = DAY1 + timedelta(days=1)
DAY8 = DAY1 + timedelta(days=7)  # the next Monday
BASE = "The parcel left our warehouse and will arrive within three working days, Ana."
assert len(BASE) > 50


@dataclass(frozen=True)
class Rec:
    """One decision as the test writes it; the reference counts come from these."""

    id: str
    category: str
    model: str | None
    confidence: float | None
    reviewer: str
    verdict: str
    seconds: float
    at: datetime
    distance: float | None = None  # edits: the normalized edit distance the text will have
    reason: str | None = None
    severity: str | None = None

    @property
    def day(self) -> str:
        return self.at.date().isoformat()

    @property
    def week(self) -> str:
        monday = self.at.date() - timedelta(days=self.at.weekday())
        return monday.isoformat()

    @property
    def band(self) -> str:
        if self.confidence is None:
            return "unknown"
        for b in BANDS:
            if (
                b.low is not None
                and b.low <= self.confidence
                and (b.high is None or self.confidence < b.high)
            ):
                return b.label
        raise AssertionError(self.confidence)

    def key(self, dim: Dimension) -> str | None:
        if dim is Dimension.CONFIDENCE:
            return self.band
        return {
            Dimension.CATEGORY: self.category,
            Dimension.MODEL: self.model,
            Dimension.REVIEWER: self.reviewer,
            Dimension.DAY: self.day,
            Dimension.WEEK: self.week,
        }[dim]


LIVE = [
    Rec("r1", "refund", "m1", 0.97, "ana", "approve", 10, DAY1),
    Rec("r2", "refund", "m1", 0.97, "ana", "approve", 20, DAY1),
    Rec("r3", "refund", "m1", 0.75, "bob", "edit", 30, DAY1, distance=1 / len(BASE)),
    Rec("r4", "refund", "m2", 0.75, "bob", "edit", 40, DAY2, distance=10 / len(BASE)),
    Rec("r5", "refund", "m2", None, "ana", "reject", 50, DAY2, reason="factual_error"),
    Rec("s6", "shipping", "m1", 0.97, "bob", "approve", 5, DAY2),
    Rec("s7", "shipping", "m2", 0.97, "ana", "escalate", 60, DAY8, severity="high"),
    Rec("s8", "shipping", None, 0.55, "bob", "reject", 70, DAY8, reason="wrong_tone"),
    # Approved, undone by ana, then rejected: only the rejection counts.
    Rec("r10", "refund", "m1", 0.97, "ana", "reject", 15, DAY8, reason="other"),
]
# Flagged low-attention: r1 is an approval (left out unless included); s8 a rejection, which a
# run of fast approvals can sweep in, and which counts like any other rejection.
LOW_ATTENTION = {"r1", "s8"}
GOLD = Rec("g9", "shipping", "m1", 0.97, "ana", "approve", 3, DAY2)


def _edited(distance: float) -> str:
    changes = round(distance * len(BASE))
    return "X" * changes + BASE[changes:]


def make_decision(desk: ReviewDesk, clock: ManualClock, rec: Rec, *, verdict: str = "") -> None:
    clock.set(rec.at)
    record: dict[str, object] = {"id": rec.id, "draft": BASE, "category": rec.category}
    if rec.model is not None:
        record["model"] = rec.model
    if rec.confidence is not None:
        record["confidence"] = rec.confidence
    desk.submit([record])
    lease = desk.claim(rec.reviewer)
    assert lease is not None and lease.draft.id == rec.id
    decide(desk, lease, rec, verdict or rec.verdict)


def decide(desk: ReviewDesk, lease: object, rec: Rec, verdict: str) -> None:
    kwargs: dict[str, object] = {"review_seconds": rec.seconds}
    if verdict == "edit":
        assert rec.distance is not None
        kwargs["text"] = _edited(rec.distance)
    if verdict == "reject":
        kwargs["reason"] = rec.reason
    if verdict == "escalate":
        kwargs["severity"] = rec.severity
        kwargs["note"] = "Promises a date we cannot keep."
    desk.decide(lease, verdict, **kwargs)  # type: ignore[arg-type]


def execute(desk: ReviewDesk, sql: str, **params: object) -> None:
    with desk._engines.write.begin() as conn:
        conn.execute(text(sql), params)


def build(desk: ReviewDesk, clock: ManualClock) -> None:
    for rec in LIVE[:-1]:
        make_decision(desk, clock, rec)
    # r10: approved first, undone (history), then rejected.
    undone = LIVE[-1]
    make_decision(desk, clock, undone, verdict="approve")
    lease = desk.undo(undone.reviewer)
    decide(desk, lease, undone, "reject")
    # A gold draft: decided, then chosen as gold by a lead; its decision never counts.
    make_decision(desk, clock, GOLD)
    execute(desk, "UPDATE draft SET is_gold = :t WHERE external_id = 'g9'", t=True)
    execute(
        desk,
        "UPDATE decision SET low_attention = :t WHERE draft_id IN "
        "(SELECT id FROM draft WHERE external_id IN ('r1', 's8'))",
        t=True,
    )
    _gold_answers(desk)
    clock.set(DAY8 + timedelta(hours=2))


# Gold answers: ana 1 of 2 correct, bob 1 of 1 (on the shipping/m1/0.97 gold draft, day 2).
GOLD_ANSWERS = [("ana", True), ("ana", False), ("bob", True)]


def _gold_answers(desk: ReviewDesk) -> None:
    with desk._engines.write.begin() as conn:
        draft_id = conn.execute(text("SELECT id FROM draft WHERE external_id = 'g9'")).scalar_one()
        item = conn.execute(
            text(
                "INSERT INTO gold_item (draft_id, expected_label, created_by, created_at, active) "
                "VALUES (:d, 'approved', 'lead', :at, :t) RETURNING id"
            ),
            {"d": draft_id, "at": _db_time(desk, DAY2), "t": True},
        ).scalar_one()
        for reviewer, correct in GOLD_ANSWERS:
            conn.execute(
                text(
                    "INSERT INTO gold_answer (gold_item_id, reviewer, label, correct, "
                    "answered_at) VALUES (:i, :r, 'approved', :c, :at)"
                ),
                {"i": item, "r": reviewer, "c": correct, "at": _db_time(desk, DAY2)},
            )


def _db_time(desk: ReviewDesk, at: datetime) -> object:
    # SQLite stores times as fixed-format UTC text (storage/types.py).
    if desk.target.dialect == "sqlite":
        return at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


@pytest.fixture
def built(desk: ReviewDesk, clock: ManualClock) -> StatsService:
    build(desk, clock)
    return StatsService.for_desk(desk)


# -- the reference: a plain count over LIVE -----------------------------------------------------
def _left_out(rec: Rec, flt: StatsFilter) -> bool:
    low = rec.low if isinstance(rec, ScanRec) else rec.id in LOW_ATTENTION
    return low and rec.verdict == "approve" and not flt.include_low_attention


def _flagged(rec: Rec) -> bool:
    return rec.low if isinstance(rec, ScanRec) else rec.id in LOW_ATTENTION


def _passes(rec: Rec, flt: StatsFilter) -> bool:
    return (
        (flt.since is None or rec.at.date() >= flt.since)
        and (flt.until is None or rec.at.date() <= flt.until)
        and (not flt.categories or rec.category in flt.categories)
        and (not flt.models or (rec.model or "") in flt.models)
        and (not flt.reviewers or rec.reviewer in flt.reviewers)
        and (not flt.bands or rec.band in flt.bands)
    )


def _expected_median(seconds: Sequence[float]) -> float | None:
    counts = [0] * (len(REVIEW_TIME_EDGES) + 1)
    for s in seconds:
        counts[sum(1 for e in REVIEW_TIME_EDGES if s >= e)] += 1
    return histogram_median(counts)


def check_group(g: GroupStats, recs: Sequence[Rec], gold: Sequence[bool], flt: StatsFilter) -> None:
    """``recs``: the group's decisions, those the filter leaves out included."""
    left_out = [r for r in recs if _left_out(r, flt)]
    assert g.low_attention_left_out == len(left_out)
    # The low-attention rate is of every decision, counted or left out.
    assert (g.low_attention.count, g.low_attention.total) == (
        sum(_flagged(r) for r in recs),
        len(recs),
    )
    recs = [r for r in recs if not _left_out(r, flt)]
    n = len(recs)
    assert g.decided == n
    assert g.approved.count == sum(r.verdict == "approve" for r in recs)
    assert g.edited.count == sum(r.verdict == "edit" for r in recs)
    trivial = sum(r.verdict == "edit" and (r.distance or 0) <= 0.02 for r in recs)
    assert g.trivial_edits.count == trivial
    assert g.approved_adjusted.count == g.approved.count + trivial
    distances = [r.distance for r in recs if r.distance is not None]
    if distances:
        assert g.mean_edit_distance == pytest.approx(sum(distances) / len(distances))
    else:
        assert g.mean_edit_distance is None
    reasons: dict[str, int] = {}
    for r in recs:
        if r.reason:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
    assert {k: v.count for k, v in g.rejected_by_reason.items()} == reasons
    assert g.rejected.count == sum(reasons.values())
    severities = {
        s: sum(r.severity == s for r in recs) for s in ("critical", "high", "medium", "low")
    }
    assert {k: v.count for k, v in g.escalated_by_severity.items()} == severities
    assert g.escalated.count == sum(severities.values())
    # The one escalation (high, day 8 09:00) is open at day 8 11:00: past its 1 hour.
    assert g.sla_breaches.count == g.escalated.count == g.escalations_open
    assert g.median_review_seconds == _expected_median([r.seconds for r in recs])
    if gold:
        assert g.gold_accuracy is not None
        assert (g.gold_accuracy.count, g.gold_accuracy.total) == (sum(gold), len(gold))
    else:
        assert g.gold_accuracy is None


def _gold_for(key: dict[Dimension, str | None], flt: StatsFilter) -> list[bool]:
    answers = []
    for reviewer, correct in GOLD_ANSWERS:
        rec = Rec("g", GOLD.category, GOLD.model, GOLD.confidence, reviewer, "approve", 0, DAY2)
        if _passes(rec, flt) and all(rec.key(d) == v for d, v in key.items()):
            answers.append(correct)
    return answers


def check_report(service: StatsService, dims: Sequence[Dimension], flt: StatsFilter) -> None:
    report = service.compute(dims, filter=flt)
    recs = [r for r in LIVE if _passes(r, flt)]
    expected: dict[tuple[str | None, ...], list[Rec]] = {}
    for r in recs:
        expected.setdefault(tuple(r.key(d) for d in dims), []).append(r)
    gold_keys = {
        tuple(k)
        for reviewer, _ in GOLD_ANSWERS
        if _passes(Rec("g", "shipping", "m1", 0.97, reviewer, "approve", 0, DAY2), flt)
        for k in [[Rec("g", "shipping", "m1", 0.97, reviewer, "a", 0, DAY2).key(d) for d in dims]]
    }
    assert {g.key for g in report.groups} == set(expected) | gold_keys
    for g in report.groups:
        gold = _gold_for(dict(zip(dims, g.key, strict=True)), flt)
        check_group(g, expected.get(g.key, []), gold, flt)
    check_group(report.total, recs, _gold_for({}, flt), flt)


GROUPINGS: list[tuple[Dimension, ...]] = [
    (),
    *[(d,) for d in Dimension],
    (Dimension.CATEGORY, Dimension.CONFIDENCE),
    (Dimension.WEEK, Dimension.CATEGORY),
    (Dimension.DAY, Dimension.MODEL),
    (Dimension.REVIEWER, Dimension.CATEGORY),
    (Dimension.REVIEWER, Dimension.WEEK),
    # The reviewer with the model or the confidence band: grains d, w and m (migration 0004).
    (Dimension.REVIEWER, Dimension.MODEL),
    (Dimension.REVIEWER, Dimension.CONFIDENCE),
    (Dimension.REVIEWER, Dimension.MODEL, Dimension.CONFIDENCE),
    (Dimension.REVIEWER, Dimension.CATEGORY, Dimension.MODEL),
    (Dimension.WEEK, Dimension.REVIEWER, Dimension.MODEL),
    (Dimension.DAY, Dimension.REVIEWER, Dimension.CONFIDENCE),
]
FILTERS = [
    StatsFilter(),
    StatsFilter(since=DAY2.date()),
    StatsFilter(until=DAY2.date()),
    StatsFilter(since=DAY2.date(), until=DAY2.date()),
    StatsFilter(categories=("refund",)),
    StatsFilter(models=("m2",)),
    StatsFilter(models=("",)),
    StatsFilter(reviewers=("bob",)),
    StatsFilter(bands=(">=0.95", "unknown")),
    StatsFilter(reviewers=("ana",), models=("m1",)),
    StatsFilter(reviewers=("ana",), categories=("shipping",), since=DAY2.date()),
    # The lead's reviewer table filtered by category and model.
    StatsFilter(categories=("refund",), models=("m1",)),
    StatsFilter(reviewers=("bob",), bands=("0.70-0.80", "0.50-0.70")),
    # Whole months and weeks: the reviewer detail reads month and week rows for these.
    StatsFilter(since=date(2026, 1, 1), until=date(2026, 1, 31)),
    StatsFilter(since=DAY1.date(), until=DAY1.date() + timedelta(days=6)),
    StatsFilter(since=date(2025, 12, 1), until=DAY8.date() - timedelta(days=1)),
    # Low-attention approvals counted in full.
    StatsFilter(include_low_attention=True),
    StatsFilter(reviewers=("ana",), models=("m1",), include_low_attention=True),
    StatsFilter(since=date(2026, 1, 1), until=date(2026, 1, 31), include_low_attention=True),
]


def test_every_grouping_and_filter_matches_the_hand_counts(built: StatsService) -> None:
    for dims, flt in itertools.product(GROUPINGS, FILTERS):
        check_report(built, dims, flt)


def test_headline_figures_by_hand(built: StatsService) -> None:
    report = built.compute([Dimension.CATEGORY])
    refund, shipping = report.groups
    assert refund.key == ("refund",) and shipping.key == ("shipping",)
    # refund: r1 r2 approved, r3 trivial edit, r4 edit, r5 r10 rejected; r10's approval undone.
    # r1 is a low-attention approval: left out, and said so.
    assert (refund.decided, refund.approved.count, refund.edited.count) == (5, 1, 2)
    assert refund.low_attention_left_out == 1
    assert refund.trivial_edits.count == 1 and refund.approved_adjusted.count == 2
    assert refund.rejected_by_reason["factual_error"].count == 1
    assert refund.rejected_by_reason["other"].count == 1
    # shipping: s6 approved, s7 escalated high, s8 rejected (flagged low-attention, but not an
    # approval: counted); the gold draft g9 is left out.
    assert (shipping.decided, shipping.approved.count, shipping.escalated.count) == (3, 1, 1)
    assert shipping.escalated_by_severity["high"].count == 1
    assert shipping.rejected.count == 1 and shipping.low_attention_left_out == 0
    total = report.total
    assert total.decided == 8 and total.approved.count == 2
    assert total.low_attention_left_out == 1
    assert (total.low_attention.count, total.low_attention.total) == (2, 9)
    # Review times 5 15 20 30 40 50 60 70 (r1's 10 left out): the middle (4th) falls in
    # [30, 45), which holds two: 30 + (4 - 3) / 2 * 15.
    assert total.median_review_seconds == 37.5
    assert total.approved.value == pytest.approx(2 / 8)
    low, high = proportion_confint(2, 8, alpha=0.05, method="wilson")
    assert (total.approved.low, total.approved.high) == (pytest.approx(low), pytest.approx(high))
    # Included, r1 counts in full: 3 approvals of 9, review times 5 10 15 ... 70.
    every = built.compute([Dimension.CATEGORY], filter=StatsFilter(include_low_attention=True))
    assert (every.total.decided, every.total.approved.count) == (9, 3)
    assert every.total.low_attention_left_out == 0
    assert every.total.median_review_seconds == 33.75
    assert every.to_json()["filter"]["include_low_attention"] is True
    assert report.to_json()["total"]["low_attention_left_out"] == 1
    by_reviewer = {g.key[0]: g for g in built.compute([Dimension.REVIEWER]).groups}
    assert by_reviewer["ana"].gold_accuracy is not None
    assert by_reviewer["ana"].gold_accuracy.value == 0.5
    assert by_reviewer["bob"].gold_accuracy is not None
    assert by_reviewer["bob"].gold_accuracy.value == 1.0


@pytest.mark.parametrize("include", [False, True])
def test_statistics_and_exports_leave_out_the_same_decisions(
    built: StatsService, desk: ReviewDesk, tmp_path: Any, include: bool
) -> None:
    from reviewdesk.services.export import ExportFilter, ExportOptions, export_dataset

    flt = StatsFilter(include_low_attention=include)
    total = built.compute(filter=flt).total
    result = export_dataset(
        desk.target,
        ExportOptions(out=tmp_path / "out", filter=ExportFilter(include_low_attention=include)),
    )
    lines = (tmp_path / "out" / "data.jsonl").read_text(encoding="utf-8").splitlines()
    exported = {line.split('"id":"', 1)[1].split('"', 1)[0] for line in lines}
    # The flagged rejection s8 is in both; the flagged approval r1 in neither, unless included.
    assert exported == {r.id for r in LIVE} - ({"r1"} if not include else set())
    assert result.records == total.decided == len(exported)
    assert total.low_attention_left_out == (0 if include else 1)


def test_trivial_edit_threshold_is_configurable(built: StatsService) -> None:
    # r4's edit changed 10 characters of BASE: trivial only at a threshold above 10/len.
    assert built.compute().total.trivial_edits.count == 1
    assert built.compute(trivial_edit_threshold=0.2).total.trivial_edits.count == 2
    assert built.compute(trivial_edit_threshold=0.0).total.trivial_edits.count == 0
    reviewer = built.compute([Dimension.REVIEWER], trivial_edit_threshold=0.2)
    assert {g.key[0]: g.trivial_edits.count for g in reviewer.groups} == {"ana": 0, "bob": 2}


def test_gold_flag_undo_and_flag_changes_keep_the_rollup_exact(
    built: StatsService, desk: ReviewDesk
) -> None:
    before = built.compute().total
    # A draft that stops being gold counts again; one that becomes gold stops counting.
    execute(desk, "UPDATE draft SET is_gold = :f WHERE external_id = 'g9'", f=False)
    assert built.compute().total.decided == before.decided + 1
    execute(desk, "UPDATE draft SET is_gold = :t WHERE external_id IN ('g9', 's6')", t=True)
    after = built.compute().total
    assert after.decided == before.decided - 1
    assert after.approved.count == before.approved.count - 1


def test_bulk_statements_keep_the_rollup_exact(built: StatsService, desk: ReviewDesk) -> None:
    before = built.compute([Dimension.CATEGORY, Dimension.REVIEWER]).to_json()
    # A statement that changes no counted column (like an ack) changes no figure.
    execute(desk, "UPDATE decision SET delivered_at = decided_at")
    after = built.compute([Dimension.CATEGORY, Dimension.REVIEWER]).to_json()
    assert after["groups"] == before["groups"] and after["total"] == before["total"]
    # One statement undoing all of bob's decisions (r3, r4, s6, s8) removes exactly those.
    execute(
        desk,
        "UPDATE decision SET undone_at = decided_at WHERE reviewer = 'bob' AND undone_at IS NULL",
    )
    report = built.compute([Dimension.REVIEWER])
    # ana's r2 r5 s7 r10 count; her r1, a low-attention approval, is left out.
    assert report.total.decided == 4 and report.total.edited.count == 0
    assert report.total.low_attention_left_out == 1
    bob = next(g for g in report.groups if g.key == ("bob",))
    # Only bob's gold answer keeps his row.
    assert bob.decided == 0 and bob.gold_accuracy is not None
    by_category = built.compute([Dimension.CATEGORY, Dimension.MODEL])
    assert (None, "shipping") not in {(g.key[1], g.key[0]) for g in by_category.groups}


def test_empty_database_and_bad_arguments(desk: ReviewDesk) -> None:
    service = StatsService.for_desk(desk)
    report = service.compute([Dimension.CATEGORY])
    assert report.groups == () and report.total.decided == 0
    assert report.total.approved.value is None
    assert report.total.median_review_seconds is None
    assert service.compute().groups[0].decided == 0
    with pytest.raises(ValueError, match="day or by week"):
        service.compute([Dimension.DAY, Dimension.WEEK])
    with pytest.raises(ValueError, match="once"):
        service.compute([Dimension.MODEL, Dimension.MODEL])
    with pytest.raises(ValueError, match="band"):
        StatsFilter(bands=("high",))


def test_report_serializes_to_json(built: StatsService) -> None:
    data = built.compute([Dimension.CATEGORY, Dimension.MODEL]).to_json()
    assert data["by"] == ["category", "model"]
    first = data["groups"][0]
    assert set(first) >= {"category", "model", "decided", "approved", "median_review_seconds"}
    assert set(first["approved"]) == {"count", "total", "rate", "low", "high"}


# -- Wilson, against statsmodels -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("successes", "n"),
    [
        (0, 1),
        (1, 1),
        (0, 10),
        (10, 10),
        (3, 9),
        (47, 50),
        (950, 1000),
        (999, 1000),
        (1, 2),
        (5000, 5001),
    ],
)
@pytest.mark.parametrize("confidence", [0.95, 0.99, 0.9])
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    low, high = wilson_interval(successes, n, z=z)
    ref_low, ref_high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


def test_confidence_buckets_match_the_band_edges() -> None:
    # The SQL buckets confidence by floor(c * 20); each band edge must land on its own bucket.
    for band in BANDS:
        if band.low is not None:
            assert int(band.low * 20) == band.first


def test_histogram_median_interpolates_within_the_bucket() -> None:
    counts = [0] * (len(REVIEW_TIME_EDGES) + 1)
    counts[8] = 4  # four reviews in [30, 45)
    assert histogram_median(counts) == 30 + 2 / 4 * 15
    counts = [0] * (len(REVIEW_TIME_EDGES) + 1)
    counts[-1] = 1
    assert histogram_median(counts) == REVIEW_TIME_EDGES[-1]
    assert histogram_median([0] * 16) is None


# -- months of decisions, against a direct count -------------------------------------------------
# Random decisions over four months (seeded), written with plain SQL as bulk loads and the
# queue's own statements would write them: single-row and multi-row inserts, an undo by one
# statement, replacements, gold flags set and cleared, a draft recategorized, low-attention
# flags, lead resolutions. The reference counts the final rows in Python.
SCAN_START = datetime(2026, 1, 20, tzinfo=UTC)
SCAN_NOW = datetime(2026, 5, 20, tzinfo=UTC)
SCAN_CONFIDENCES = [None, 0.0, 0.3, 0.4999, 0.5, 0.6999, 0.7, 0.75, 0.8, 0.9, 0.95, 0.97, 1.0]
VERDICT_LABEL = {
    "approve": "approved",
    "edit": "edited",
    "reject": "rejected",
    "escalate": "escalated",
}


@dataclass(frozen=True)
class ScanRec(Rec):
    """A decision of the scan data set, with what check_group's hand data keeps elsewhere."""

    low: bool = False
    resolved_at: datetime | None = None


@dataclass
class ScanDraft:
    category: str
    risk: str
    model: str | None
    confidence: float | None
    gold: bool = False


class History:
    """Writes the scan data set into a database and keeps what it wrote."""

    def __init__(self, seed: int) -> None:
        import random

        self.rng = random.Random(seed)
        self.drafts: dict[int, ScanDraft] = {}
        # draft id -> its decisions, oldest first; the live one is the last unless undone.
        self.decisions: dict[int, list[dict[str, Any]]] = {}
        self.undone: set[int] = set()  # decision ids
        self.next_decision = 1

    def draft(self, i: int) -> ScanDraft:
        rng = self.rng
        return ScanDraft(
            category=rng.choice(["refund", "shipping", "billing", "legal"]),
            risk=rng.choice(["low", "medium", "high"]),
            model=rng.choice(["m1", "m2", "m3", None]),
            confidence=rng.choice(SCAN_CONFIDENCES),
        )

    def decision(self, draft_id: int, earliest: datetime) -> dict[str, Any]:
        rng = self.rng
        verdict = rng.choices(["approve", "edit", "reject", "escalate"], [6, 2, 1, 1])[0]
        at = earliest + timedelta(seconds=rng.randrange(int((SCAN_NOW - earliest).total_seconds())))
        at = min(at, SCAN_NOW - timedelta(days=2))
        row: dict[str, Any] = {
            "id": self.next_decision,
            "draft_id": draft_id,
            "reviewer": rng.choice(["ana", "bob", "cem", "dee", "eli"]),
            "label": VERDICT_LABEL[verdict],
            "reason": rng.choice(["factual_error", "wrong_tone"]) if verdict == "reject" else None,
            "severity": rng.choice(["low", "high", "critical"]) if verdict == "escalate" else None,
            "seconds": rng.choice([0.5, 2, 3.9, 12, 35, 44.9, 61, 700]),
            "at": at,
            "distance": rng.choice([0.0, 0.01, 0.02, 0.021, 0.3]) if verdict == "edit" else None,
            "low": False,
            "resolved_at": None,
        }
        self.next_decision += 1
        self.decisions.setdefault(draft_id, []).append(row)
        return row

    def live(self) -> list[ScanRec]:
        out = []
        verdicts = {v: k for k, v in VERDICT_LABEL.items()}
        for draft_id, rows in self.decisions.items():
            d = self.drafts[draft_id]
            row = rows[-1]
            if d.gold or row["id"] in self.undone:
                continue
            out.append(
                ScanRec(
                    id=str(row["id"]),
                    category=d.category,
                    model=d.model,
                    confidence=d.confidence,
                    reviewer=str(row["reviewer"]),
                    verdict=verdicts[str(row["label"])],
                    seconds=float(row["seconds"]),
                    at=row["at"],
                    distance=row["distance"],
                    reason=row["reason"],
                    severity=row["severity"],
                    low=bool(row["low"]),
                    resolved_at=row["resolved_at"],
                )
            )
        return out


_TIMES = ("created_at", "submitted_at", "visible_at", "decided_at", "undone_at", "resolved_at")


def _typed(sql: str) -> TextClause:
    from sqlalchemy import bindparam

    from reviewdesk.storage.types import UtcDateTime

    names = [n for n in re.findall(r":(\w+)", sql) if n.rstrip("0123456789_") in _TIMES]
    return text(sql).bindparams(*[bindparam(n, type_=UtcDateTime) for n in dict.fromkeys(names)])


DRAFT_INSERT = (
    "INSERT INTO draft (id, external_id, content_hash, draft, context, category, risk, model,"
    " confidence, priority, created_at, submitted_at, metadata, state, visible_at, lease_epoch,"
    " is_gold) VALUES (:id, :ext, 'h', 'text', '{}', :category, :risk, :model, :confidence, 0,"
    " :created_at, :created_at, '{}', 'decided', :created_at, 1, :gold)"
)
DECISION_COLUMNS = (
    "id, draft_id, reviewer, label, final_text, reason, severity, review_seconds, decided_at,"
    " lease_epoch, idempotency_key, low_attention, edit_distance"
)


def _decision_values(row: dict[str, Any], n: int | str = "") -> tuple[str, dict[str, Any]]:
    values = (
        f"(:id{n}, :draft{n}, :reviewer{n}, :label{n}, 'final', :reason{n}, :severity{n},"
        f" :seconds{n}, :decided_at{n}, 1, :key{n}, :low{n}, :distance{n})"
    )
    params = {
        f"id{n}": row["id"],
        f"draft{n}": row["draft_id"],
        f"reviewer{n}": row["reviewer"],
        f"label{n}": row["label"],
        f"reason{n}": row["reason"],
        f"severity{n}": row["severity"],
        f"seconds{n}": row["seconds"],
        f"decided_at{n}": row["at"],
        f"key{n}": f"scan-{row['id']}",
        f"low{n}": row["low"],
        f"distance{n}": row["distance"],
    }
    return values, params


def write_history(conn: Connection, history: History, *, drafts: int, first_id: int = 1) -> None:
    """Drafts ``first_id..`` with their decisions, then the changes listed above."""
    rng = history.rng
    ids = list(range(first_id, first_id + drafts))
    for i in ids:
        history.drafts[i] = history.draft(i)
    conn.execute(
        _typed(DRAFT_INSERT),
        [
            {
                "id": i,
                "ext": f"scan-{i}",
                "category": d.category,
                "risk": d.risk,
                "model": d.model,
                "confidence": d.confidence,
                "created_at": SCAN_START,
                "gold": False,
            }
            for i, d in ((i, history.drafts[i]) for i in ids)
        ],
    )
    rows = [history.decision(i, SCAN_START) for i in ids]
    half = len(rows) // 2
    # One statement per decision (as the queue decides), then one statement for many.
    single_values, _ = _decision_values(rows[0])
    conn.execute(
        _typed(f"INSERT INTO decision ({DECISION_COLUMNS}) VALUES {single_values}"),
        [_decision_values(r)[1] for r in rows[:half]],
    )
    many = [_decision_values(r, n) for n, r in enumerate(rows[half:])]
    conn.execute(
        _typed(
            f"INSERT INTO decision ({DECISION_COLUMNS}) VALUES " + ", ".join(v for v, _ in many)
        ),
        {k: v for _, p in many for k, v in p.items()},
    )
    # Undo a tenth in one statement; most get a new decision, some on another day or month.
    undone = rng.sample(rows, len(rows) // 10)
    conn.execute(
        text("UPDATE decision SET undone_at = decided_at WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": [r["id"] for r in undone]},
    )
    history.undone |= {int(r["id"]) for r in undone}
    for r in undone[: len(undone) * 3 // 4]:
        again = history.decision(int(r["draft_id"]), r["at"])
        values, params = _decision_values(again)
        conn.execute(_typed(f"INSERT INTO decision ({DECISION_COLUMNS}) VALUES {values}"), params)
    # Gold: some drafts become gold in one statement, a few stop being gold.
    gold = rng.sample(ids, max(2, drafts // 20))
    by_ids = text("UPDATE draft SET is_gold = :g WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    conn.execute(by_ids, {"g": True, "ids": gold})
    conn.execute(by_ids, {"g": False, "ids": gold[:2]})
    for i in gold[2:]:
        history.drafts[i].gold = True
    # A draft moved to another category takes its decision along.
    moved = rng.sample(ids, 3)
    conn.execute(
        text("UPDATE draft SET category = 'returns' WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": moved},
    )
    for i in moved:
        history.drafts[i].category = "returns"
    # Low-attention flags (counted) and a lead's resolutions (not counted) on live decisions.
    live = [
        rs[-1] for rs in (history.decisions[i] for i in ids) if rs[-1]["id"] not in history.undone
    ]
    # Mostly approvals; a few rejections too, which a run of fast approvals can sweep in.
    flagged = [r for r in live if r["label"] == "approved"][::7]
    flagged += [r for r in live if r["label"] == "rejected"][::5]
    conn.execute(
        text("UPDATE decision SET low_attention = :t WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"t": True, "ids": [r["id"] for r in flagged]},
    )
    for r in flagged:
        r["low"] = True
    escalated = [r for r in live if r["label"] == "escalated"]
    for r in escalated[::2]:
        r["resolved_at"] = r["at"] + timedelta(minutes=rng.choice([5, 30, 90, 600]))
        conn.execute(
            _typed(
                "UPDATE decision SET resolution = 'dismiss', resolved_by = 'lead',"
                " resolved_at = :resolved_at WHERE id = :id"
            ),
            {"resolved_at": r["resolved_at"], "id": r["id"]},
        )


def check_scan_group(g: GroupStats, recs: Sequence[ScanRec], flt: StatsFilter) -> None:
    """``recs``: the group's decisions, those the filter leaves out included."""
    assert g.low_attention_left_out == sum(_left_out(r, flt) for r in recs), g.key
    assert (g.low_attention.count, g.low_attention.total) == (sum(r.low for r in recs), len(recs))
    recs = [r for r in recs if not _left_out(r, flt)]
    assert g.decided == len(recs), g.key
    assert g.approved.count == sum(r.verdict == "approve" for r in recs)
    edits = [r for r in recs if r.verdict == "edit"]
    assert g.edited.count == len(edits)
    assert g.trivial_edits.count == sum((r.distance or 0) <= 0.02 for r in edits)
    if edits:
        assert g.mean_edit_distance == pytest.approx(
            sum(r.distance or 0 for r in edits) / len(edits)
        )
    else:
        assert g.mean_edit_distance is None
    assert g.median_review_seconds == _expected_median([r.seconds for r in recs])
    reasons: dict[str, int] = {}
    for r in recs:
        if r.reason:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
    assert {k: v.count for k, v in g.rejected_by_reason.items()} == reasons
    escalations = [r for r in recs if r.severity]
    assert {k: v.count for k, v in g.escalated_by_severity.items() if v.count} == {
        s: n
        for s in ("low", "medium", "high", "critical")
        if (n := sum(r.severity == s for r in escalations))
    }
    from reviewdesk.core.domain import Severity

    breaches = sum(
        (r.resolved_at or SCAN_NOW) - r.at > Severity(r.severity).response_time for r in escalations
    )
    assert (g.sla_breaches.count, g.escalations_open) == (
        breaches,
        sum(r.resolved_at is None for r in escalations),
    )


def check_scan_report(
    service: StatsService, recs: Sequence[ScanRec], dims: Sequence[Dimension], flt: StatsFilter
) -> None:
    report = service.compute(dims, filter=flt)
    chosen = [r for r in recs if _passes(r, flt)]
    expected: dict[tuple[str | None, ...], list[ScanRec]] = {}
    for r in chosen:
        expected.setdefault(tuple(r.key(d) for d in dims), []).append(r)
    assert {g.key for g in report.groups} == set(expected), (dims, flt)
    for g in report.groups:
        check_scan_group(g, expected[g.key], flt)
    check_scan_group(report.total, chosen, flt)


SCAN_GROUPINGS: list[tuple[Dimension, ...]] = [
    (*attributes, *period)
    for n in range(5)
    for attributes in itertools.combinations(
        (Dimension.REVIEWER, Dimension.CATEGORY, Dimension.MODEL, Dimension.CONFIDENCE), n
    )
    for period in ((), (Dimension.DAY,), (Dimension.WEEK,))
]
SCAN_FILTERS = [
    StatsFilter(),
    StatsFilter(since=date(2026, 2, 11)),
    StatsFilter(until=date(2026, 4, 14)),
    # Days and weeks at the ends, whole months (February to April) between them.
    StatsFilter(since=date(2026, 1, 28), until=date(2026, 5, 12)),
    StatsFilter(since=date(2026, 2, 11), until=date(2026, 4, 14)),
    StatsFilter(since=date(2026, 3, 1), until=date(2026, 3, 31)),
    StatsFilter(since=date(2026, 2, 2), until=date(2026, 2, 8)),  # one ISO week
    StatsFilter(since=date(2026, 3, 17), until=date(2026, 3, 17)),
    StatsFilter(categories=("refund", "legal"), models=("m2",)),
    StatsFilter(reviewers=("ana", "cem"), bands=("0.70-0.80", ">=0.95", "unknown")),
    StatsFilter(models=("",), bands=("<0.50",)),
    StatsFilter(
        since=date(2026, 1, 28), reviewers=("bob",), categories=("refund",), models=("m1",)
    ),
    StatsFilter(include_low_attention=True),
    StatsFilter(since=date(2026, 1, 28), until=date(2026, 5, 12), include_low_attention=True),
    StatsFilter(reviewers=("ana", "cem"), bands=(">=0.95",), include_low_attention=True),
]


@pytest.fixture
def scanned(desk: ReviewDesk, clock: ManualClock) -> tuple[StatsService, list[ScanRec]]:
    history = History(seed=5)
    with desk._engines.write.begin() as conn:
        write_history(conn, history, drafts=240)
    clock.set(SCAN_NOW)
    return StatsService.for_desk(desk), history.live()


def test_every_grouping_and_filter_matches_a_direct_count(
    scanned: tuple[StatsService, list[ScanRec]],
) -> None:
    service, recs = scanned
    assert len({r.at.month for r in recs}) == 5 and len(recs) > 150
    for dims, flt in itertools.product(SCAN_GROUPINGS, SCAN_FILTERS):
        check_scan_report(service, recs, dims, flt)


def test_a_period_is_covered_exactly_by_whole_months_weeks_and_days() -> None:
    import random

    from reviewdesk.services.stats import cover_period

    def spans(runs: list[tuple[str, date, date]]) -> list[date]:
        days = []
        for grain, start, end in runs:
            at = start
            while at <= end:
                if grain == "m":
                    assert at.day == 1
                    nxt = (at.replace(day=28) + timedelta(days=4)).replace(day=1)
                elif grain == "w":
                    assert at.weekday() == 0
                    nxt = at + timedelta(days=7)
                else:
                    nxt = at + timedelta(days=1)
                while at < nxt:
                    days.append(at)
                    at += timedelta(days=1)
        return days

    rng = random.Random(3)
    for _ in range(300):
        first = date(2025, 11, 1) + timedelta(days=rng.randrange(200))
        last = first + timedelta(days=rng.randrange(-2, 200))
        for grains in (("d",), ("d", "w"), ("d", "w", "m")):
            runs = cover_period(first, last, grains)
            assert {g for g, _, _ in runs} <= set(grains)
            expected = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            assert spans(runs) == expected
    # Whole months where they fit, weeks next, days only at the edges.
    assert cover_period(date(2026, 1, 28), date(2026, 5, 19), ("d", "w", "m")) == [
        ("d", date(2026, 1, 28), date(2026, 1, 31)),
        ("m", date(2026, 2, 1), date(2026, 4, 1)),
        ("d", date(2026, 5, 1), date(2026, 5, 3)),
        ("w", date(2026, 5, 4), date(2026, 5, 11)),
        ("d", date(2026, 5, 18), date(2026, 5, 19)),
    ]
    # Grouping by week allows no month; by day, days only.
    assert cover_period(date(2026, 2, 1), date(2026, 2, 28), ("d", "w")) == [
        ("d", date(2026, 2, 1), date(2026, 2, 1)),
        ("w", date(2026, 2, 2), date(2026, 2, 16)),
        ("d", date(2026, 2, 23), date(2026, 2, 28)),
    ]
    assert cover_period(date(2026, 2, 1), date(2026, 2, 28), ("d",)) == [
        ("d", date(2026, 2, 1), date(2026, 2, 28))
    ]
    assert cover_period(date(2026, 2, 2), date(2026, 2, 1), ("d", "w", "m")) == []

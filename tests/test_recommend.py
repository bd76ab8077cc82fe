"""The recommendation rules on constructed histories: each outcome, each evidence field, the
anytime-valid bound, the trend test (against statsmodels), the threshold search, and the
engine on a database (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Risk
from reviewdesk.services.recommend import (
    Evidence,
    Outcome,
    RecommendationEngine,
    RecommendSettings,
    Rule,
    anytime_lower_bound,
    confidence_threshold,
    evaluate,
    reviews_needed,
    sampling_rate,
    two_proportion_z,
)
from reviewdesk.storage.tables import DecisionRow, DraftRow

S = RecommendSettings()


def bound(successes: int, n: int, s: RecommendSettings = S) -> float:
    return anytime_lower_bound(
        successes, n, alpha=s.alpha, prior_mean=(1 + s.target) / 2, prior_weight=s.prior_weight
    )


# -- the bound --------------------------------------------------------------------------------
def _log_mixture(successes: int, n: int, q: float, a: float, b: float) -> float:
    failures = n - successes

    def lbeta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return (
        lbeta(a + successes, b + failures)
        - lbeta(a, b)
        - successes * math.log(q)
        - failures * math.log1p(-q)
    )


@pytest.mark.parametrize(("successes", "n"), [(50, 50), (98, 100), (495, 500), (940, 1000)])
def test_bound_is_where_the_mixture_martingale_crosses_one_over_alpha(
    successes: int, n: int
) -> None:
    lb = bound(successes, n)
    a, b = 0.975 * 100, 0.025 * 100
    threshold = math.log(1 / S.alpha)
    # Just below the bound the martingale has rejected q; just above it has not.
    assert _log_mixture(successes, n, lb - 1e-6, a, b) >= threshold
    assert _log_mixture(successes, n, lb + 1e-6, a, b) < threshold


def test_bound_is_more_cautious_than_a_single_look_wilson_bound() -> None:
    for successes, n in [(195, 200), (490, 500), (980, 1000), (4950, 5000)]:
        wilson_low = proportion_confint(successes, n, alpha=0.10, method="wilson")[0]
        assert bound(successes, n) < wilson_low
        assert bound(successes, n) < successes / n


def test_bound_edges_and_monotonicity() -> None:
    assert bound(0, 0) == 0.0
    assert bound(0, 10) == 0.0
    assert 0 < bound(10, 10) < 1
    assert bound(500, 500) > bound(499, 500) > bound(490, 500)
    assert bound(1000, 1000) > bound(500, 500)


# -- the rules, one outcome each ----------------------------------------------------------------
def test_removal_when_the_bound_reaches_the_target() -> None:
    v = evaluate(Evidence(n=1000, approved=995, trivial_edits=2, risk=Risk.LOW), S)
    assert v.outcome is Outcome.REMOVE and v.rule is Rule.REMOVAL_BOUND
    assert v.bound >= 0.95 and v.bound == pytest.approx(bound(995, 1000))
    assert v.spot_check_rate == S.spot_check_rate
    assert v.more_reviews_needed == 0
    assert v.n == 1000 and v.min_reviews == 50 and v.risk is Risk.LOW
    assert (v.approval.count, v.approval.total) == (995, 1000)
    low, high = proportion_confint(995, 1000, method="wilson")
    assert (v.approval.low, v.approval.high) == (pytest.approx(low), pytest.approx(high))
    assert v.trivial_edits.count == 2
    assert v.sampling_rate is None
    assert "removed" in v.explanation


def test_sampled_review_with_the_suggested_rate() -> None:
    v = evaluate(Evidence(n=500, approved=470, risk=Risk.MEDIUM), S)
    assert v.outcome is Outcome.SAMPLE and v.rule is Rule.SAMPLING
    expected = math.ceil((1 - 0.05 / (1 - v.bound)) * 20) / 20
    assert v.sampling_rate == expected
    # 94% approval never reaches a 95% bound: removal is out of reach at this rate.
    assert v.more_reviews_needed is None


def test_keep_full_review_when_approval_is_too_low() -> None:
    v = evaluate(Evidence(n=600, approved=420, risk=Risk.HIGH), S)
    assert v.outcome is Outcome.KEEP_FULL and v.rule is Rule.TOO_LOW
    assert v.sampling_rate is None


def test_not_enough_evidence_says_how_many_more() -> None:
    # High risk needs 500 reviews; at 100% approval the bound would get there sooner.
    v = evaluate(Evidence(n=120, approved=120, risk=Risk.HIGH), S)
    assert v.outcome is Outcome.NOT_ENOUGH and v.rule is Rule.MINIMUM
    assert v.min_reviews == 500 and v.more_reviews_needed == 380
    # Low risk needs 50; at 47 of 48 approved the bound needs more than the minimum.
    v = evaluate(Evidence(n=48, approved=47, risk=Risk.LOW), S)
    assert v.outcome is Outcome.NOT_ENOUGH
    needed = reviews_needed(S, 47, 48, 50)
    assert needed is not None and v.more_reviews_needed == needed - 48 > 2
    # At 90% approval removal is never reachable: the minimum is what is missing.
    v = evaluate(Evidence(n=10, approved=9, risk=Risk.MEDIUM), S)
    assert v.more_reviews_needed == 190 and "out of reach" in v.explanation


def test_reviews_needed_is_the_first_batch_where_the_bound_reaches_the_target() -> None:
    needed = reviews_needed(S, 99, 100, 50)
    assert needed is not None and needed % S.batch == 0
    assert bound(math.floor(0.99 * needed), needed) >= 0.95
    before = needed - S.batch
    assert before < 100 or bound(math.floor(0.99 * before), before) < 0.95
    assert reviews_needed(S, 95, 100, 50) is None


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_a_critical_or_high_escalation_keeps_full_review(severity: str) -> None:
    v = evaluate(
        Evidence(n=1000, approved=998, escalations={severity: 1, "low": 1}, risk=Risk.LOW), S
    )
    assert v.outcome is Outcome.KEEP_FULL and v.rule is Rule.ESCALATION
    assert v.escalations == {severity: 1, "low": 1}
    assert severity in v.explanation


def test_medium_and_low_escalations_do_not_block() -> None:
    v = evaluate(
        Evidence(n=1000, approved=996, escalations={"medium": 1, "low": 1}, risk=Risk.LOW), S
    )
    assert v.outcome is Outcome.REMOVE


def test_a_significant_decline_keeps_full_review() -> None:
    e = Evidence(
        n=2000,
        approved=1990,
        current_n=200,
        current_approved=190,
        previous_n=400,
        previous_approved=399,
        risk=Risk.LOW,
    )
    v = evaluate(e, S)
    assert v.outcome is Outcome.KEEP_FULL and v.rule is Rule.DECLINE
    t = v.trend
    assert t.tested and t.declined
    z, p = proportions_ztest([190, 399], [200, 400], alternative="smaller")
    assert t.z == pytest.approx(z) and t.p_value == pytest.approx(p)
    assert (t.current.count, t.previous.count) == (190, 399)


def test_an_insignificant_dip_or_a_thin_period_is_no_decline() -> None:
    e = Evidence(n=2000, approved=1990, current_n=200, current_approved=198, previous_n=400,
                 previous_approved=397, risk=Risk.LOW)  # fmt: skip
    v = evaluate(e, S)
    assert v.trend.tested and not v.trend.declined and v.outcome is Outcome.REMOVE
    thin = Evidence(n=2000, approved=1990, current_n=10, current_approved=5, previous_n=400,
                    previous_approved=400, risk=Risk.LOW)  # fmt: skip
    v = evaluate(thin, S)
    assert not v.trend.tested and v.trend.z is None and v.outcome is Outcome.REMOVE


def test_edit_adjusted_view_counts_trivial_edits_as_approvals() -> None:
    e = Evidence(n=1000, approved=960, trivial_edits=38, risk=Risk.LOW)
    assert evaluate(e, S).outcome is Outcome.SAMPLE
    adjusted = evaluate(e, RecommendSettings(edit_adjusted=True))
    assert adjusted.outcome is Outcome.REMOVE
    assert adjusted.approval.count == 998


def test_minimum_evidence_follows_risk() -> None:
    for risk, minimum in ((Risk.LOW, 50), (Risk.MEDIUM, 200), (Risk.HIGH, 500)):
        assert evaluate(Evidence(n=1, approved=1, risk=risk), S).min_reviews == minimum
    custom = RecommendSettings(min_reviews_high=1000)
    assert evaluate(Evidence(n=600, approved=600, risk=Risk.HIGH), custom).outcome is (
        Outcome.NOT_ENOUGH
    )


def test_sampling_rate_rule() -> None:
    assert sampling_rate(S, 0.90) == 0.5  # (1 - r) * 10% <= 5%
    assert sampling_rate(S, 0.80) == 0.75
    assert sampling_rate(S, 0.50) == 0.9
    assert sampling_rate(S, 0.93) == 0.3  # 0.2857 rounded up
    assert sampling_rate(S, 0.96) == 0.0


def test_two_proportion_z_matches_statsmodels() -> None:
    z, p = two_proportion_z(45, 50, 190, 200)
    ref_z, ref_p = proportions_ztest([45, 190], [50, 200], alternative="smaller")
    assert (z, p) == (pytest.approx(ref_z), pytest.approx(ref_p))
    assert two_proportion_z(10, 10, 20, 20) == (0.0, 0.5)


def test_evidence_adds_up_and_keeps_the_highest_risk() -> None:
    a = Evidence(n=2, approved=1, escalations={"low": 1}, risk=Risk.LOW)
    b = Evidence(n=3, approved=3, escalations={"low": 2, "high": 1}, risk=Risk.HIGH)
    total = a + b
    assert (total.n, total.approved, total.risk) == (5, 4, Risk.HIGH)
    assert total.escalations == {"low": 3, "high": 1}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="target"):
        RecommendSettings(target=1.0)
    with pytest.raises(ValueError, match="alpha"):
        RecommendSettings(alpha=0)


# -- the confidence threshold -------------------------------------------------------------------
def test_threshold_is_the_lowest_before_the_first_failure() -> None:
    buckets = {
        19: Evidence(n=600, approved=599, risk=Risk.LOW),
        18: Evidence(n=300, approved=297, risk=Risk.LOW),
        17: Evidence(n=300, approved=240, risk=Risk.LOW),
        # Would pass alone, but the search stopped at 0.85: a fixed sequence never resumes.
        5: Evidence(n=5000, approved=5000, risk=Risk.LOW),
    }
    t = confidence_threshold("refund", buckets, S)
    assert t.threshold == 0.90
    assert t.verdict is not None and t.verdict.n == 900 and t.verdict.outcome is Outcome.REMOVE
    assert t.skip_share is not None and (t.skip_share.count, t.skip_share.total) == (900, 6200)
    assert [(th, o) for th, o in t.tested] == [
        (0.95, Outcome.REMOVE),
        (0.90, Outcome.REMOVE),
        (0.85, Outcome.SAMPLE),
    ]


def test_thin_top_buckets_are_passed_over_and_failure_gives_no_threshold() -> None:
    buckets = {
        19: Evidence(n=10, approved=10, risk=Risk.MEDIUM),
        16: Evidence(n=400, approved=399, risk=Risk.MEDIUM),
    }
    t = confidence_threshold("billing", buckets, S)
    assert t.tested[0] == (0.95, Outcome.NOT_ENOUGH)
    assert t.threshold == 0.80 and t.verdict is not None and t.verdict.n == 410
    bad = confidence_threshold("legal", {19: Evidence(n=600, approved=500, risk=Risk.HIGH)}, S)
    assert bad.threshold is None and bad.verdict is None and bad.skip_share is None


# -- the engine on a database -------------------------------------------------------------------
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _insert(desk: ReviewDesk, rows: list[dict[str, Any]]) -> None:
    """Decided drafts written directly (hundreds through claim/decide would be slow); the
    rollup triggers see them like any decision."""
    drafts, decisions = [], []
    for i, r in enumerate(rows, start=1):
        at = r["at"]
        drafts.append(
            {
                "id": i,
                "external_id": f"x{i}",
                "content_hash": f"{i:064x}",
                "draft": "text",
                "context": {},
                "category": r["category"],
                "risk": r.get("risk", "low"),
                "model": r.get("model", "m1"),
                "confidence": r.get("confidence", 0.97),
                "priority": 0,
                "created_at": at,
                "submitted_at": at,
                "metadata": {},
                "state": "decided",
                "visible_at": at,
                "lease_epoch": 1,
            }
        )
        decisions.append(
            {
                "draft_id": i,
                "reviewer": "ana",
                "label": r["label"],
                "severity": r.get("severity"),
                "edit_distance": r.get("distance"),
                "review_seconds": 10.0,
                "decided_at": at,
                "lease_epoch": 1,
                "idempotency_key": f"k{i}",
                "low_attention": r.get("low", False),
            }
        )
    with desk._engines.write.begin() as conn:
        conn.execute(insert(DraftRow.__table__), drafts)  # type: ignore[attr-defined]
        conn.execute(insert(DecisionRow.__table__), decisions)  # type: ignore[attr-defined]


@pytest.fixture
def engine_desk(make_desk: Any) -> ReviewDesk:
    desk: ReviewDesk = make_desk(clock=ManualClock(NOW))
    rows: list[dict[str, Any]] = []
    # order_status: 300 approved of 300, low risk -> removable.
    rows += [{"category": "order_status", "label": "approved", "at": NOW - timedelta(hours=i)}
             for i in range(300)]  # fmt: skip
    # refund: medium risk, 100 reviews -> not enough evidence (needs 200).
    rows += [{"category": "refund", "risk": "medium", "label": "approved",
              "at": NOW - timedelta(hours=i)} for i in range(100)]  # fmt: skip
    # billing: 400 reviews, 360 approved, 40 edited -> sampled review; trivial edits would
    # make it removable in the edit-adjusted view.
    rows += [{"category": "billing", "label": "approved", "at": NOW - timedelta(hours=i)}
             for i in range(360)]  # fmt: skip
    rows += [{"category": "billing", "label": "edited", "distance": 0.01,
              "at": NOW - timedelta(hours=i, minutes=30)} for i in range(38)]  # fmt: skip
    rows += [{"category": "billing", "label": "edited", "distance": 0.3,
              "at": NOW - timedelta(hours=i, minutes=20)} for i in range(2)]  # fmt: skip
    # shipping: all approved but one critical escalation -> keep full review.
    rows += [{"category": "shipping", "label": "approved", "at": NOW - timedelta(hours=i)}
             for i in range(300)]  # fmt: skip
    rows += [{"category": "shipping", "label": "escalated", "severity": "critical",
              "at": NOW - timedelta(days=3)}]  # fmt: skip
    # returns: confidence >= 0.9 is perfect, below it poor -> threshold 0.90.
    rows += [{"category": "returns", "label": "approved", "confidence": 0.92,
              "at": NOW - timedelta(hours=i)} for i in range(300)]  # fmt: skip
    rows += [{"category": "returns", "label": "rejected" if i % 2 else "approved",
              "confidence": 0.6, "at": NOW - timedelta(hours=i)} for i in range(300)]  # fmt: skip
    # faq: 60 approvals, 20 of them low-attention, and a low-attention rejection: 41 counted,
    # 20 left out, unless included.
    rows += [{"category": "faq", "label": "approved", "low": i % 3 == 0,
              "at": NOW - timedelta(hours=i)} for i in range(60)]  # fmt: skip
    rows += [{"category": "faq", "label": "rejected", "low": True, "at": NOW}]  # fmt: skip
    _insert(desk, rows)
    return desk


def test_engine_recommends_per_category_band_and_threshold(engine_desk: ReviewDesk) -> None:
    report = RecommendationEngine.for_desk(engine_desk).recommend()
    by_cat = {r.category: r.verdict for r in report.categories}
    assert by_cat["order_status"].outcome is Outcome.REMOVE
    assert by_cat["order_status"].n == 300
    assert by_cat["refund"].outcome is Outcome.NOT_ENOUGH
    assert by_cat["refund"].more_reviews_needed == 100 and by_cat["refund"].risk is Risk.MEDIUM
    assert by_cat["billing"].outcome is Outcome.SAMPLE
    assert by_cat["billing"].trivial_edits.count == 38
    assert by_cat["shipping"].outcome is Outcome.KEEP_FULL
    assert by_cat["shipping"].escalations == {"critical": 1}
    assert by_cat["returns"].outcome is Outcome.KEEP_FULL
    bands = {(r.category, r.band): r.verdict for r in report.bands}
    assert bands[("returns", "0.90-0.95")].outcome is Outcome.REMOVE
    assert bands[("returns", "0.50-0.70")].outcome is Outcome.KEEP_FULL
    thresholds = {t.category: t for t in report.thresholds}
    assert thresholds["returns"].threshold == 0.90
    assert thresholds["order_status"].threshold == 0.95
    assert thresholds["shipping"].threshold is None
    adjusted = RecommendationEngine.for_desk(engine_desk).recommend(
        settings=RecommendSettings(edit_adjusted=True)
    )
    billing = next(r for r in adjusted.categories if r.category == "billing")
    assert billing.verdict.approval.count == 398
    # A non-default trivial threshold is counted from the edits themselves.
    wide = RecommendationEngine.for_desk(engine_desk).recommend(
        settings=RecommendSettings(edit_adjusted=True, trivial_edit_threshold=0.5)
    )
    billing = next(r for r in wide.categories if r.category == "billing")
    assert billing.verdict.approval.count == 400


def test_engine_period_trend_and_filters(engine_desk: ReviewDesk) -> None:
    engine = RecommendationEngine.for_desk(engine_desk)
    # order_status decisions span 300 hours back from NOW (12.5 days): with 7-day trend
    # periods, the last 7 days hold 7*24 of them, the 7 before the rest.
    report = engine.recommend(settings=RecommendSettings(trend_days=7))
    order = next(r for r in report.categories if r.category == "order_status").verdict
    assert order.trend.current.total + order.trend.previous.total == 300
    assert order.trend.tested and not order.trend.declined
    since = engine.recommend(since=(NOW - timedelta(days=2)).date())
    order = next(r for r in since.categories if r.category == "order_status").verdict
    assert order.n == 24 * 2 + 13  # the last two days and today up to noon
    only = engine.recommend(categories=["refund"], models=["m1"])
    assert [r.category for r in only.categories] == ["refund"]
    assert engine.recommend(models=["m9"]).categories == ()
    data = report.to_json()
    assert data["categories"][0]["outcome"] in {o.value for o in Outcome}
    assert data["settings"]["min_reviews"] == {"low": 50, "medium": 200, "high": 500}


def test_low_attention_approvals_are_left_out_unless_included(engine_desk: ReviewDesk) -> None:
    engine = RecommendationEngine.for_desk(engine_desk)
    report = engine.recommend()
    faq = next(r for r in report.categories if r.category == "faq").verdict
    # Left out as exports leave them out, and said so; the flagged rejection counts.
    assert (faq.n, faq.approval.count, faq.low_attention_left_out) == (41, 40, 20)
    assert faq.outcome is Outcome.NOT_ENOUGH and faq.more_reviews_needed is not None
    assert (report.include_low_attention, report.low_attention_left_out) == (False, 20)
    order = next(r for r in report.categories if r.category == "order_status").verdict
    assert order.low_attention_left_out == 0
    band = next(r for r in report.bands if r.category == "faq").verdict
    assert band.low_attention_left_out == 20
    data = report.to_json()
    assert data["low_attention"] == {"included": False, "left_out": 20}
    faq_json = next(c for c in data["categories"] if c["category"] == "faq")
    assert faq_json["low_attention_left_out"] == 20

    every = engine.recommend(include_low_attention=True)
    faq = next(r for r in every.categories if r.category == "faq").verdict
    assert (faq.n, faq.approval.count, faq.low_attention_left_out) == (61, 60, 0)
    assert (every.include_low_attention, every.low_attention_left_out) == (True, 0)

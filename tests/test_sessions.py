"""Sessions as the queue enforces them, on SQLite and PostgreSQL, with a manual clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import ClaimRefused
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.storage.queue_sql import ANALYZE_AFTER_SUBMIT, VARIETY_HEAD
from tests.conftest import DeskFactory

UTC_LIMITS = SessionLimits(timezone="UTC", gold_rate=0.0)


def fill(desk: ReviewDesk, n: int, **extra: object) -> None:
    desk.submit([{"id": f"q{i:03}", "draft": f"Reply number {i}", **extra} for i in range(n)])


def review(desk: ReviewDesk, reviewer: str, n: int, **decide: object) -> list[str]:
    done = []
    for _ in range(n):
        lease = desk.claim(reviewer)
        assert lease is not None
        desk.decide(lease, "approve", **{"review_seconds": 20.0, **decide})  # type: ignore[arg-type]
        done.append(lease.draft.id)
    return done


def test_review_limit_starts_a_break_that_holds_across_restarts(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock)
    desk.set_session_limits(UTC_LIMITS.with_changes(reviews_per_session=3))
    fill(desk, 10)
    review(desk, "ana", 3)
    with pytest.raises(ClaimRefused, match="on a break until") as refused:
        desk.claim("ana")
    assert refused.value.reason == "on_break"
    assert refused.value.until == clock.now() + timedelta(minutes=10)
    # Another client, or the app restarted: the break lives in the database.
    other = make_desk(clock=clock)
    with pytest.raises(ClaimRefused):
        other.claim("ana")
    status = other.session_status("ana")
    assert status.blocked is not None and status.until == refused.value.until
    assert other.claim("bob") is not None  # only ana is on a break
    clock.advance(10 * 60)
    lease = other.claim("ana")
    assert lease is not None and lease.session_id != refused.value.reviewer


def test_prefetched_drafts_count_so_the_limit_is_never_overshot(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    desk.set_session_limits(UTC_LIMITS.with_changes(reviews_per_session=2))
    fill(desk, 5)
    first, second = desk.claim("ana"), desk.claim("ana")
    assert first and second
    with pytest.raises(ClaimRefused):
        desk.claim("ana")


def test_a_skipped_draft_does_not_count(desk: ReviewDesk) -> None:
    desk.set_session_limits(UTC_LIMITS.with_changes(reviews_per_session=2))
    fill(desk, 5)
    skipped = desk.claim("ana")
    assert skipped
    desk.release(skipped)
    review(desk, "ana", 2)
    with pytest.raises(ClaimRefused):
        desk.claim("ana")


def test_warning_at_eighty_percent(desk: ReviewDesk) -> None:
    desk.set_session_limits(UTC_LIMITS.with_changes(reviews_per_session=5))
    fill(desk, 5)
    review(desk, "ana", 3)
    assert desk.session_status("ana").warnings == []
    review(desk, "ana", 1)
    (warning,) = desk.session_status("ana").warnings
    assert (warning.limit, warning.used, warning.allowed) == ("reviews_per_session", 4, 5)


def test_counted_time_is_capped_and_ends_the_session(desk: ReviewDesk, clock: ManualClock) -> None:
    limits = UTC_LIMITS.with_changes(minutes_per_session=5.0, review_time_cap_seconds=120.0)
    desk.set_session_limits(limits)
    fill(desk, 5)
    review(desk, "ana", 2, review_seconds=3600.0)  # an hour away from the desk counts 2 minutes
    status = desk.session_status("ana")
    assert status.session is not None and status.session.counted_seconds == 240.0
    assert status.can_claim
    review(desk, "ana", 1, review_seconds=90.0)  # 330 s: past the 5 minutes
    with pytest.raises(ClaimRefused, match="break"):
        desk.claim("ana")
    summary = desk.session_summary("ana")
    assert summary is not None and summary.session.end_reason == "time_limit"


def test_daily_session_cap_lifts_on_the_next_review_day(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    desk.set_session_limits(
        UTC_LIMITS.with_changes(reviews_per_session=1, sessions_per_day=2, break_minutes=0.0)
    )
    fill(desk, 10)
    review(desk, "ana", 1)
    review(desk, "ana", 1)  # the first session is spent: a second one opens
    with pytest.raises(ClaimRefused, match="today's 2 sessions") as refused:
        desk.claim("ana")
    assert refused.value.reason == "daily_sessions"
    assert refused.value.until == (clock.now() + timedelta(days=1)).replace(hour=4, minute=0)
    clock.set(refused.value.until)
    assert desk.claim("ana") is not None


def test_daily_review_cap_spans_sessions(desk: ReviewDesk, clock: ManualClock) -> None:
    desk.set_session_limits(
        UTC_LIMITS.with_changes(reviews_per_session=3, reviews_per_day=4, break_minutes=1.0)
    )
    fill(desk, 10)
    review(desk, "ana", 3)
    clock.advance(60)
    review(desk, "ana", 1)  # the second session may hand out only one more
    with pytest.raises(ClaimRefused) as refused:
        desk.claim("ana")
    assert refused.value.reason in ("on_break", "daily_reviews")
    clock.advance(60)
    with pytest.raises(ClaimRefused, match="today's 4 reviews"):
        desk.claim("ana")


def test_an_idle_session_ends_with_its_last_activity(desk: ReviewDesk, clock: ManualClock) -> None:
    desk.set_session_limits(UTC_LIMITS)
    fill(desk, 5)
    review(desk, "ana", 2)
    last = clock.now()
    clock.advance(31 * 60)  # walked away: the break has long been taken
    assert desk.session_status("ana").session is not None  # open in the database ...
    lease = desk.claim("ana")  # ... and ended at its last activity when looked at
    assert lease is not None
    ended = desk.session_summary("ana")
    assert ended is not None and len(ended.trend) == 2
    first = [p for p in ended.trend if p.session_id != lease.session_id]
    assert first and first[0].reviews == 2
    earlier = desk.session_summary("ana", first[0].session_id)
    assert earlier is not None
    assert (earlier.session.end_reason, earlier.session.ended_at) == ("idle", last)


def test_ending_early_starts_the_break_and_returns_the_summary(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    desk.set_session_limits(UTC_LIMITS)
    fill(desk, 6)
    lease = desk.claim("ana")
    assert lease
    desk.decide(lease, "reject", reason="off_topic", review_seconds=30.0)
    review(desk, "ana", 2, review_seconds=10.0)
    summary = desk.end_session("ana")
    assert summary is not None
    assert summary.by_label == {"rejected": 1, "approved": 2}
    assert summary.median_seconds == 10.0
    assert summary.session.end_reason == "ended"
    with pytest.raises(ClaimRefused, match="break"):
        desk.claim("ana")


def test_variety_without_starving_priority_or_age(desk: ReviewDesk) -> None:
    desk.set_session_limits(UTC_LIMITS.with_changes(max_same_category=3))
    desk.submit(
        [
            {
                "id": f"a{i}",
                "draft": "x",
                "category": "refund",
                "created_at": f"2026-01-01T00:0{i}:00Z",
            }
            for i in range(8)
        ]
        + [
            {
                "id": f"b{i}",
                "draft": "x",
                "category": "order",
                "created_at": f"2026-01-02T00:0{i}:00Z",
            }
            for i in range(2)
        ]
        + [
            {
                "id": "urgent",
                "draft": "x",
                "category": "refund",
                "priority": 1,
                "created_at": "2026-01-03T00:00:00Z",
            }
        ]
    )
    order = [lease.draft.id for lease in iter(lambda: _claim_decide(desk), None)]
    assert order == ["urgent", "a0", "a1", "b0", "a2", "a3", "a4", "b1", "a5", "a6", "a7"]
    # No run longer than three while another category waited; each passed-over refund draft
    # waited for exactly one claim.


def test_variety_reaches_categories_far_behind_a_long_run(desk: ReviewDesk) -> None:
    # More drafts of one category than a varied claim looks at in claim order: the other
    # categories are found by asking each of them, and the oldest of their first drafts wins.
    run = VARIETY_HEAD + 8
    desk.set_session_limits(SessionLimits.off().with_changes(max_same_category=3, timezone="UTC"))
    minute = timedelta(minutes=1)
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def at(n: int) -> str:
        return (start + n * minute).strftime("%Y-%m-%dT%H:%M:%SZ")

    desk.submit(
        [
            {"id": f"a{i}", "draft": "x", "category": "refund", "priority": 1, "created_at": at(i)}
            for i in range(run)
        ]
        + [
            {
                "id": "late",
                "draft": "x",
                "category": "shipping",
                "priority": 1,
                "created_at": at(run + 9),
            },
            {
                "id": "early",
                "draft": "x",
                "category": "order",
                "priority": 1,
                "created_at": at(run + 5),
            },
            {"id": "low", "draft": "x", "category": "account", "created_at": at(0)},
        ]
    )
    order = [lease.draft.id for lease in iter(lambda: _claim_decide(desk), None)]
    assert order[:8] == ["a0", "a1", "a2", "early", "a3", "a4", "a5", "late"]
    assert order[-1] == "low"  # never above a higher priority, however long the run
    assert len(order) == run + 3


def _claim_decide(desk: ReviewDesk) -> object:
    lease = desk.claim("ana")
    if lease is not None:
        desk.decide(lease, "approve", review_seconds=20.0)
    return lease


def test_variety_never_jumps_a_higher_priority(desk: ReviewDesk) -> None:
    desk.set_session_limits(UTC_LIMITS.with_changes(max_same_category=2))
    desk.submit(
        [{"id": f"hi{i}", "draft": "x", "category": "refund", "priority": 5} for i in range(4)]
        + [{"id": "low", "draft": "x", "category": "order"}]
    )
    order = [lease.draft.id for lease in iter(lambda: _claim_decide(desk), None)]
    assert order == ["hi0", "hi1", "hi2", "hi3", "low"]


def test_rubber_stamping_is_flagged_and_nudged_once(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock)
    desk.set_session_limits(UTC_LIMITS.with_changes(fast_approvals_to_flag=3))
    long_text = "This reply explains the refund policy in detail. " * 12  # 96 words
    desk.submit([{"id": f"r{i}", "draft": long_text} for i in range(8)])
    outcomes = []
    for seconds in (1.0, 1.0, 1.0, 1.0, 30.0, 1.0):
        lease = desk.claim("ana")
        assert lease
        decision = desk.decide(lease, "approve", review_seconds=seconds)
        outcomes.append((decision.low_attention, decision.nudge))
    assert outcomes == [
        (False, False),
        (False, False),
        (True, True),  # the third fast approval in a row: flagged, and nudged
        (True, False),  # the run goes on: flagged, no second nudge
        (False, False),  # read properly: the run resets
        (False, False),
    ]
    with desk._engines.write.connect() as conn:
        flagged = conn.execute(
            text("SELECT count(*) FROM decision WHERE low_attention")
        ).scalar_one()
    assert flagged == 4  # the whole run of four, the first two flagged afterwards
    summary = desk.session_summary("ana")
    assert summary is not None and summary.low_attention == 4


def test_gold_drafts_look_ordinary_and_never_reach_consumers(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock, rng=random.Random(3))
    desk.set_session_limits(UTC_LIMITS.with_changes(gold_rate=0.5))
    desk.submit([{"id": "bad", "draft": "We will refund you twice.", "thread": "c1"}])
    first = desk.claim("lead")
    assert first
    desk.decide(first, "reject", reason="factual_error", review_seconds=20.0)
    desk.ack(desk.results(unsettled=True))
    desk.mark_gold("bad", "rejected", by="lead", note="double refund promised")
    fill(desk, 30)
    served = []
    while (lease := desk.claim("ana")) is not None:
        if lease.draft.id == "bad":
            assert lease.gold_item_id is not None
            assert lease.draft.draft == "We will refund you twice."
            assert [e.kind.value for e in desk.history(lease).events] == ["submitted"]
            decision = desk.decide(lease, "escalate", severity="medium", review_seconds=20.0)
            served.append(decision)
        else:
            desk.decide(lease, "approve", review_seconds=20.0)
    assert len(served) == 1  # once per session
    (caught,) = served
    assert (caught.gold_correct, caught.caught) == (True, True)
    # Only the lead's original decision is a result; the gold answer is no decision.
    assert [
        r.reviewer for r in desk.results(unsettled=True, include_delivered=True) if r.id == "bad"
    ] == ["lead"]
    assert all(r.id != "bad" for r in desk.results(unsettled=True))
    assert desk.counts().decided == 31
    (accuracy,) = desk.gold_accuracy("ana")
    assert (accuracy["answers"], accuracy["correct"], accuracy["caught"]) == (1, 1, 1)
    summary = desk.session_summary("ana")
    assert summary is not None
    assert (summary.gold_answers, summary.gold_correct, summary.caught) == (1, 1, 1)
    # The lead's own rejection was confirmed by marking it gold and by ana's answer.
    assert [c["external_id"] for c in desk.confirmed_catches("lead")] == ["bad"]


def test_a_missed_gold_item_is_counted_wrong(make_desk: DeskFactory, clock: ManualClock) -> None:
    desk = make_desk(clock=clock, rng=random.Random(1))
    desk.set_session_limits(UTC_LIMITS.with_changes(gold_rate=0.5))
    desk.submit([{"id": "g", "draft": "Wrong answer"}])
    lease = desk.claim("lead")
    assert lease
    desk.decide(lease, "reject", reason="factual_error")
    desk.mark_gold("g", "rejected", by="lead")
    fill(desk, 10)
    answers = []
    while (lease := desk.claim("bob")) is not None:
        answers.append(desk.decide(lease, "approve", review_seconds=20.0))
    (missed,) = [a for a in answers if a.gold_correct is not None]
    assert (missed.gold_correct, missed.caught) == (False, False)


def test_only_decided_drafts_can_be_gold(desk: ReviewDesk) -> None:
    from reviewdesk import InvalidDecision

    fill(desk, 1)
    with pytest.raises(InvalidDecision, match="not decided yet"):
        desk.mark_gold("q000", "approved", by="lead")
    with pytest.raises(InvalidDecision, match="No draft with id"):
        desk.mark_gold("nope", "approved", by="lead")
    with pytest.raises(InvalidDecision, match="Expected verdict"):
        desk.mark_gold("q000", "great", by="lead")


@pytest.mark.postgres
def test_a_large_load_refreshes_the_planners_statistics(postgres_url: str) -> None:
    # Stale statistics after a bulk load made the varied claim sort every pending draft.
    with ReviewDesk.open(postgres_url, upgrade=True) as desk:

        def planner_rows() -> float:
            # ANALYZE sets reltuples in the same transaction: no statistics collector delay.
            with desk.engines.write.connect() as conn:
                return float(
                    conn.execute(
                        text("SELECT reltuples FROM pg_class WHERE oid = 'draft'::regclass")
                    ).scalar_one()
                )

        desk.submit([{"id": f"s{i}", "draft": "x"} for i in range(100)])
        assert planner_rows() < 100
        desk.submit([{"id": f"b{i}", "draft": "x"} for i in range(ANALYZE_AFTER_SUBMIT)])
        assert planner_rows() == ANALYZE_AFTER_SUBMIT + 100

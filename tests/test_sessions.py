"""Sessions as the queue enforces them, on SQLite and PostgreSQL, with a manual clock."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import ClaimRefused, ConfigurationError, LeaseLost, UndoRefused
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.storage.queue_common import ANALYZE_AFTER_SUBMIT, VARIETY_HEAD
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


def test_a_leads_lower_cap_holds_at_the_next_claim(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    """The claim fences on the limits as stored, not on a desk's copy of them (read every
    30 s): a lead's lower cap holds at the reviewer's next claim, which then says why."""
    lead = make_desk(clock=clock)
    lead.set_session_limits(UTC_LIMITS.with_changes(reviews_per_session=5))
    fill(lead, 10)
    desk = make_desk(clock=clock)
    review(desk, "ana", 2)
    lead.set_session_limits(UTC_LIMITS.with_changes(reviews_per_session=2))
    with pytest.raises(ClaimRefused, match="on a break until") as refused:
        desk.claim("ana")
    assert refused.value.until == clock.now() + timedelta(minutes=10)


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
            trail = [(e.kind.value, e.actor, e.epoch) for e in desk.history(lease).events]
            assert trail == [("submitted", None, 0), ("claimed", "ana", 1)]  # as a fresh draft's
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


def test_a_good_draft_approved_is_right_but_no_catch(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    """A catch is a draft that had to be stopped, stopped: the answer, the session summary and
    the accuracy the database counts all say so alike (core.sessions.gold_answer_caught)."""
    desk = make_desk(clock=clock, rng=random.Random(1))
    desk.set_session_limits(UTC_LIMITS.with_changes(gold_rate=0.5))
    desk.submit([{"id": "g", "draft": "Right answer"}])
    lease = desk.claim("lead")
    assert lease
    desk.decide(lease, "approve", review_seconds=20.0)
    desk.mark_gold("g", "approved", by="lead")
    fill(desk, 10)
    answers = []
    while (lease := desk.claim("bob")) is not None:
        answers.append(desk.decide(lease, "approve", review_seconds=20.0))
    (right,) = [a for a in answers if a.gold_correct is not None]
    assert (right.gold_correct, right.caught) == (True, False)
    summary = desk.session_summary("bob")
    assert summary is not None and (summary.gold_correct, summary.caught) == (1, 0)
    (accuracy,) = desk.gold_accuracy("bob")
    assert (accuracy["correct"], accuracy["caught"]) == (1, 0)


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
@pytest.mark.one_engine("ANALYZE after a large load is for PostgreSQL's planner")
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
        # A load under a tenth of the rows the planner knows of moves no plan: no ANALYZE (a
        # table of a million rows, as the planner would know it; set by the test's superuser).
        with desk.engines.write.begin() as conn:
            conn.execute(
                text("UPDATE pg_class SET reltuples = 1000000 WHERE oid = 'draft'::regclass")
            )
        desk.submit([{"id": f"c{i}", "draft": "x"} for i in range(ANALYZE_AFTER_SUBMIT)])
        assert planner_rows() == 1_000_000


# -- known-answer drafts: served like claims, fenced like claims ------------------------------
class GoldEveryClaim(random.Random):
    """Draws that serve a known-answer draft on every claim that can have one (and start each
    pick's random walk at the first gold item)."""

    def random(self) -> float:
        return 0.0


def gold_desk(
    make_desk: DeskFactory, clock: ManualClock, *ids: str, **limits: object
) -> ReviewDesk:
    """A desk that serves gold whenever it can; the lead decided ``ids`` (stops) and marked
    them gold, and ended the session."""
    desk = make_desk(clock=clock, rng=GoldEveryClaim())
    desk.set_session_limits(UTC_LIMITS.with_changes(gold_rate=0.5))
    desk.submit([{"id": i, "draft": f"Wrong answer {i}"} for i in ids])
    for _ in ids:
        lease = desk.claim("lead")
        assert lease is not None and lease.gold_item_id is None
        desk.decide(lease, "reject", reason="factual_error", review_seconds=20.0)
    for i in ids:
        desk.mark_gold(i, "rejected", by="lead")
    desk.end_session("lead")
    desk.set_session_limits(desk.session_limits().with_changes(**limits))
    return desk


def test_a_gold_draft_is_served_once_a_session_and_answered_once(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = gold_desk(make_desk, clock, "g")
    fill(desk, 3)
    gold = desk.claim("ana")
    assert gold is not None and gold.draft.id == "g" and gold.gold_item_id is not None
    # Claimed ahead while the gold draft is still open: not the same gold draft again.
    ahead = desk.claim("ana")
    assert ahead is not None and ahead.draft.id == "q000" and ahead.gold_item_id is None
    missed = desk.decide(gold, "approve", review_seconds=20.0, idempotency_key="k-1")
    assert (missed.gold_correct, missed.replayed) == (False, False)
    # A retry reports the first answer; a second answer on the same serve is refused.
    again = desk.decide(gold, "approve", review_seconds=20.0, idempotency_key="k-1")
    assert (again.gold_correct, again.replayed, again.decided_at) == (
        False,
        True,
        missed.decided_at,
    )
    with pytest.raises(LeaseLost) as lost:
        desk.decide(gold, "reject", reason="factual_error", idempotency_key="k-2")
    assert lost.value.why == "already_decided"
    # One mistake is one wrong answer, not "0 of 2".
    (accuracy,) = desk.gold_accuracy("ana")
    assert (accuracy["answers"], accuracy["correct"]) == (1, 0)
    summary = desk.session_summary("ana")
    assert summary is not None and (summary.gold_answers, summary.gold_correct) == (1, 0)
    attempts = [
        (a["outcome"], a["detail"]) for a in desk.attempts() if a["lease_id"] == gold.lease_id
    ]
    assert attempts == [("accepted", None), ("replayed", None), ("refused", "already_decided")]
    desk.decide(ahead, "approve", review_seconds=20.0)
    # The rest of the session: real drafts only, the gold draft was served already.
    rest = []
    while (lease := desk.claim("ana")) is not None:
        rest.append((lease.draft.id, lease.gold_item_id))
        desk.decide(lease, "approve", review_seconds=20.0)
    assert rest == [("q001", None), ("q002", None)]


def test_a_served_gold_draft_has_the_trail_and_counts_of_a_claimed_one(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = gold_desk(make_desk, clock, "g")
    fill(desk, 1)
    plain = make_desk(clock=clock, rng=random.Random(0))  # gold_rate 0.5: check each draw
    before = desk.counts()
    real = None
    while real is None:  # a real claim on the same queue, for comparison
        lease = plain.claim("bob")
        assert lease is not None
        if lease.gold_item_id is None:
            real = lease
        else:
            plain.release(lease)
    after_real = desk.counts()
    gold = desk.claim("ana")
    assert gold is not None and gold.gold_item_id is not None
    after_gold = desk.counts()
    assert after_real.leased == before.leased + 1
    assert after_gold.leased == after_real.leased + 1  # "in review" counts it, as a claim

    def trail(d: ReviewDesk, lease: object) -> list[tuple[str, int | None]]:
        return [(e.kind.value, e.epoch) for e in d.history(lease).events]  # type: ignore[arg-type]

    assert trail(desk, gold) == trail(plain, real) == [("submitted", 0), ("claimed", 1)]
    assert [e.actor for e in desk.history(gold).events] == [None, "ana"]
    clock.advance(30)
    gold, real = desk.renew(gold), plain.renew(real)
    assert trail(desk, gold) == trail(plain, real)
    assert trail(desk, gold)[-1] == ("renewed", 1)
    assert len(gold.lease_id) == len(real.lease_id) == 36  # a lease id like any other
    desk.decide(gold, "reject", reason="factual_error", review_seconds=20.0)
    assert desk.counts().leased == after_real.leased
    # The lead sees what happened to the gold draft, each serve under a lease of its own.
    audit = [(e.kind.value, e.actor, e.epoch) for e in desk.history("g").events]
    assert audit == [
        ("submitted", None, 0),
        ("claimed", "lead", 1),
        ("decided", "lead", 1),
        ("claimed", "ana", 2),
        ("renewed", "ana", 2),
        ("answered", "ana", 2),
    ]


def test_no_reviewer_is_served_gold_they_decided_themselves(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = gold_desk(make_desk, clock, "g1", "g2")
    clock.advance(11 * 60)  # the lead's break is over
    fill(desk, 4)
    handed = []
    while (lease := desk.claim("lead")) is not None:
        handed.append(lease.draft.id)
        desk.decide(lease, "approve", review_seconds=20.0)
    assert handed == ["q000", "q001", "q002", "q003"]
    served = desk.claim("ana")
    assert served is not None and served.draft.id == "g1"  # another reviewer is


def test_a_session_of_n_reviews_hands_out_n_drafts_gold_included(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = gold_desk(make_desk, clock, "g1", "g2", "g3", "g4", reviews_per_session=3)
    fill(desk, 10)
    handed = [desk.claim("ana") for _ in range(3)]
    assert all(lease is not None and lease.gold_item_id is not None for lease in handed)
    # The reviewer walked away; the leases ran out, and the desk gives back what it held
    # when it closes. Expired leases give nothing back: the three were handed out.
    clock.advance(desk.lease_ttl + 1)
    for lease in handed:
        assert lease is not None
        with contextlib.suppress(LeaseLost):  # as the desk closes
            desk.release(lease)
    with pytest.raises(ClaimRefused, match="on a break"):
        desk.claim("ana")
    summary = desk.session_summary("ana")
    assert summary is not None and summary.session.claims == 3
    for lease in handed:
        assert lease is not None
        for call in (desk.release, desk.renew):
            with pytest.raises(LeaseLost) as lost:
                call(lease)
            assert lost.value.why == "expired"


def test_skipped_gold_gives_its_claim_back_once_and_is_not_served_again(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = gold_desk(make_desk, clock, "g1", "g2", reviews_per_session=2)
    fill(desk, 10)
    skipped = desk.claim("ana")
    assert skipped is not None and skipped.gold_item_id is not None
    desk.release(skipped)  # a skip gives the claim back, as for any draft
    with pytest.raises(LeaseLost) as lost:
        desk.release(skipped)  # ... once
    assert lost.value.why == "released"
    with pytest.raises(LeaseLost) as lost:
        desk.decide(skipped, "reject", reason="factual_error")
    assert lost.value.why == "released"
    handed = [desk.claim("ana") for _ in range(2)]
    assert [(lease.draft.id, lease.gold_item_id is not None) for lease in handed if lease] == [
        ({"g1", "g2"}.difference({skipped.draft.id}).pop(), True),
        ("q000", False),
    ]
    with pytest.raises(ClaimRefused):
        desk.claim("ana")


def test_gold_drafts_come_in_turn_and_a_session_skips_the_ones_it_had(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = gold_desk(make_desk, clock, "g1", "g2", "g3", break_minutes=0.0)
    fill(desk, 10)

    def next_gold() -> str:
        lease = desk.claim("ana")
        assert lease is not None and lease.gold_item_id is not None
        desk.decide(lease, "reject", reason="factual_error", review_seconds=20.0)
        return lease.draft.id

    assert next_gold() == "g1"
    desk.end_session("ana")
    # A new session goes on where the last one stopped, and wraps around.
    assert next_gold() == "g2"
    desk.retire_gold("g3")
    assert next_gold() == "g1"
    desk.mark_gold("g3", "rejected", by="lead")  # serving it again
    # After g1 comes g2, which this session had: passed over for g3.
    assert next_gold() == "g3"
    lease = desk.claim("ana")  # every gold draft served this session: a real one
    assert lease is not None and lease.gold_item_id is None


# -- the lease TTL and the undo window: team settings ---------------------------------------
def test_lease_ttl_and_undo_window_are_the_teams_settings(
    make_desk: DeskFactory, db_url: str, clock: ManualClock
) -> None:
    lead = make_desk(clock=clock)
    lead.set_session_limits(UTC_LIMITS.with_changes(lease_ttl_seconds=60, undo_window_seconds=30))
    desk = make_desk(clock=clock)  # another client reads them from the database
    assert (desk.lease_ttl, desk.undo_window) == (60.0, 30.0)
    fill(desk, 3)
    lease = desk.claim("ana")
    assert lease is not None and lease.ttl_seconds == 60.0
    assert lease.expires_at == lease.claimed_at + timedelta(seconds=60)
    clock.advance(40)
    lease = desk.renew(lease)
    assert lease.expires_at == clock.now() + timedelta(seconds=60)
    desk.decide(lease, "approve", review_seconds=20.0)
    assert desk.results() == []
    clock.advance(31)
    with pytest.raises(UndoRefused, match=r"older than the undo window \(30 s\)"):
        desk.undo("ana")
    assert [r.id for r in desk.results()] == ["q000"]


def test_a_desk_may_shorten_them_within_the_same_bounds(
    make_desk: DeskFactory, db_url: str, clock: ManualClock
) -> None:
    make_desk(clock=clock).set_session_limits(UTC_LIMITS)  # the team's: 120 s and 300 s
    for options, message in (
        ({"lease_ttl": 1e9}, "lease_ttl must be a number of seconds from 30 to 3600"),
        ({"lease_ttl": 1e12}, "lease_ttl must be a number of seconds from 30 to 3600"),
        ({"lease_ttl": float("inf")}, "not inf"),
        ({"lease_ttl": float("nan")}, "not nan"),
        ({"lease_ttl": -5}, "not -5"),
        ({"lease_ttl": "60"}, "not '60'"),
        ({"undo_window": 601}, "undo_window must be a number of seconds from 0 to 600"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            ReviewDesk.open(db_url, clock=clock, **options)  # type: ignore[arg-type]
    desk = make_desk(clock=clock, lease_ttl=30, undo_window=600)
    # Its own leases are shorter; its undo window cannot outlast the team's, on which
    # consumers' settled results rely.
    assert (desk.lease_ttl, desk.undo_window) == (30.0, 300.0)
    short = make_desk(clock=clock, undo_window=10)
    assert short.undo_window == 10.0
    fill(desk, 1)
    lease = short.claim("ana")
    assert lease is not None
    short.decide(lease, "approve", review_seconds=20.0)
    clock.advance(11)
    with pytest.raises(UndoRefused, match=r"\(10 s\)"):
        short.undo("ana")
    assert short.results() == []  # the team's 300 s, not this desk's 10

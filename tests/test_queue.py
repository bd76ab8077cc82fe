"""Queue semantics on SQLite and PostgreSQL: claim order, leases, fencing, idempotency, undo,
results and acknowledgement, history. Time is a manual clock unless a test says otherwise."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, TextualSelect, column, event, text, update

from reviewdesk import (
    InvalidDecision,
    InvalidInput,
    Label,
    LeaseLost,
    ReviewDesk,
    Severity,
    SubmitConflict,
    UndoRefused,
)
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Draft, Event, EventKind, Retraction, Risk, ThreadEntry
from reviewdesk.storage.driver_sql import DriverStatement
from reviewdesk.storage.engine import create_engines, resolve_target
from reviewdesk.storage.queue_common import DRAFT
from reviewdesk.storage.queue_contract import Attempt, QueuedDraft, Undone
from reviewdesk.storage.queues import open_queue_store
from tests.conftest import DeskFactory


def drafts(n: int, **extra: object) -> list[dict[str, object]]:
    return [{"id": f"d{i}", "draft": f"Draft number {i}", **extra} for i in range(n)]


def test_claim_order_is_priority_then_age(desk: ReviewDesk, clock: ManualClock) -> None:
    desk.submit(
        [
            {"id": "old-low", "draft": "x", "created_at": "2026-01-01T00:00:00Z"},
            {"id": "new-high", "draft": "x", "priority": 5, "created_at": "2026-01-03T00:00:00Z"},
            {"id": "old-high", "draft": "x", "priority": 5, "created_at": "2026-01-02T00:00:00Z"},
            {"id": "newest-low", "draft": "x"},
        ]
    )
    order = []
    while (lease := desk.claim("ana")) is not None:
        order.append(lease.draft.id)
    assert order == ["old-high", "new-high", "old-low", "newest-low"]


def test_claimed_draft_carries_all_fields(desk: ReviewDesk) -> None:
    desk.submit(
        [
            {
                "id": "t-1",
                "draft": "Your refund is on its way.",
                "input": "Where is my refund?",
                "context": {"retrieved": [{"title": "Refund policy", "text": "14 days"}]},
                "category": "refund",
                "risk": "high",
                "model": "drafter-2",
                "confidence": 0.87,
                "thread": "cust-9",
                "priority": 2,
                "metadata": {"ticket": 17},
                "channel": "email",
            }
        ]
    )
    lease = desk.claim("ana")
    assert lease is not None
    d = lease.draft
    assert (d.id, d.draft, d.input, d.category, d.risk.value, d.model) == (
        "t-1",
        "Your refund is on its way.",
        "Where is my refund?",
        "refund",
        "high",
        "drafter-2",
    )
    assert (d.confidence, d.thread, d.priority) == (0.87, "cust-9", 2)
    assert d.context == {"retrieved": [{"title": "Refund policy", "text": "14 days"}]}
    assert d.metadata == {"ticket": 17, "channel": "email"}
    assert lease.reviewer == "ana" and lease.epoch == 1
    assert lease.expires_at == lease.claimed_at + timedelta(seconds=desk.lease_ttl)


def test_a_leased_draft_is_not_claimed_twice(desk: ReviewDesk) -> None:
    desk.submit(drafts(2))
    a, b = desk.claim("ana"), desk.claim("bob")
    assert a and b and a.draft.id != b.draft.id
    assert desk.claim("cyd") is None


def test_every_verdict_is_recorded_and_delivered(desk: ReviewDesk) -> None:
    desk.submit(drafts(4))
    leases = [desk.claim("ana") for _ in range(4)]
    assert all(leases)
    a, e, r, x = leases  # type: ignore[misc]
    desk.decide(a, "approve", review_seconds=4.0)
    desk.decide(e, "edit", text="Better text", review_seconds=9.5)
    desk.decide(r, "reject", reason="hallucination", note="invented a policy")
    desk.decide(x, "escalate", severity="critical", note="legal threat")
    results = {res.id: res for res in desk.results(unsettled=True)}
    assert results[a.draft.id].label is Label.APPROVED
    assert results[a.draft.id].final == a.draft.draft
    assert results[a.draft.id].review_seconds == 4.0
    assert results[e.draft.id].label is Label.EDITED
    assert (results[e.draft.id].final, results[e.draft.id].draft) == ("Better text", e.draft.draft)
    assert (results[r.draft.id].reason, results[r.draft.id].note) == (
        "hallucination",
        "invented a policy",
    )
    assert results[r.draft.id].final is None
    edited = desk.history(e.draft.id)  # the edit size is stored with the decision
    assert edited.events[-1].kind is EventKind.DECIDED
    assert results[x.draft.id].severity is Severity.CRITICAL
    assert {res.reviewer for res in results.values()} == {"ana"}
    counts = desk.counts()
    assert (counts.pending, counts.leased, counts.decided, counts.undelivered) == (0, 0, 4, 4)


@pytest.mark.parametrize(
    ("verdict", "kwargs", "message"),
    [
        ("bless", {}, "Unknown verdict"),
        ("edit", {}, "needs the corrected text"),
        ("edit", {"text": "Draft number 0"}, "approve it instead"),
        ("reject", {}, "needs a reason"),
        ("reject", {"reason": "boring"}, "needs a reason"),
        ("escalate", {}, "needs a severity"),
        ("escalate", {"severity": "urgent"}, "needs a severity"),
        ("escalate", {"severity": "high"}, "needs a note"),
        ("escalate", {"severity": "critical", "note": "  "}, "needs a note"),
    ],
)
def test_invalid_decisions_are_refused_before_writing(
    desk: ReviewDesk, verdict: str, kwargs: dict[str, str], message: str
) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    with pytest.raises(InvalidDecision, match=message):
        desk.decide(lease, verdict, **kwargs)  # type: ignore[arg-type]
    assert desk.attempts() == []
    desk.decide(lease, "escalate", severity="low")  # the lease is still good; low needs no note


def test_expired_lease_is_refused_logged_and_changes_nothing(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    clock.advance(desk.lease_ttl + 0.001)
    with pytest.raises(LeaseLost, match="expired") as lost:
        desk.decide(lease, "approve")
    assert lost.value.why == "expired"
    assert desk.results(unsettled=True) == []
    (attempt,) = desk.attempts()
    assert (attempt["outcome"], attempt["detail"], attempt["reviewer"]) == (
        "refused",
        "expired",
        "ana",
    )
    # The expired draft is claimable again by anyone, and the new claimant can decide.
    again = desk.claim("bob")
    assert again and again.draft.id == lease.draft.id and again.epoch == lease.epoch + 1
    desk.decide(again, "approve")
    assert [r.reviewer for r in desk.results(unsettled=True)] == ["bob"]
    kinds = [(e.kind, e.actor) for e in desk.history(lease.draft.id).events]
    assert kinds == [
        (EventKind.SUBMITTED, None),
        (EventKind.CLAIMED, "ana"),
        (EventKind.EXPIRED, "ana"),
        (EventKind.CLAIMED, "bob"),
        (EventKind.DECIDED, "bob"),
    ]


def test_taken_over_lease_cannot_decide_renew_or_release(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    desk.submit(drafts(1))
    first = desk.claim("ana")
    assert first
    clock.advance(desk.lease_ttl + 1)
    second = desk.claim("bob")
    assert second
    for call in (
        lambda: desk.decide(first, "approve"),
        lambda: desk.renew(first),
        lambda: desk.release(first),
    ):
        with pytest.raises(LeaseLost) as lost:
            call()
        assert lost.value.why == "taken_over"
    desk.decide(second, "approve")
    with pytest.raises(LeaseLost) as lost:
        desk.decide(first, "approve")
    assert lost.value.why == "already_decided"
    outcomes = [(a["reviewer"], a["outcome"], a["detail"]) for a in desk.attempts()]
    assert outcomes == [
        ("ana", "refused", "taken_over"),
        ("bob", "accepted", None),
        ("ana", "refused", "already_decided"),
    ]


def test_a_lease_records_one_decision_whatever_the_idempotency_key(desk: ReviewDesk) -> None:
    """The decide fence's state = 'pending': a second decision on the same lease, with a key of
    its own, is refused and logged, not stopped by the unique index as a database error."""
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    desk.decide(lease, "approve", idempotency_key="k-1")
    with pytest.raises(LeaseLost) as lost:
        desk.decide(lease, "reject", reason="factual_error", idempotency_key="k-2")
    assert lost.value.why == "already_decided"
    outcomes = [(a["idempotency_key"], a["outcome"], a["detail"]) for a in desk.attempts()]
    assert outcomes == [("k-1", "accepted", None), ("k-2", "refused", "already_decided")]
    assert [(r.id, r.label) for r in desk.results(unsettled=True)] == [("d0", Label.APPROVED)]


def test_an_expired_lease_nobody_took_cannot_be_renewed(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    """The renew fence's visible_at > now: a lease that ran out stays out, even while the
    draft waits unclaimed with the same lease id on it."""
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    clock.advance(desk.lease_ttl + 1)
    with pytest.raises(LeaseLost) as lost:
        desk.renew(lease)
    assert lost.value.why == "expired"
    assert EventKind.RENEWED not in [e.kind for e in desk.history(lease).events]
    assert desk.counts().pending == 1
    again = desk.claim("bob")
    assert again is not None and again.draft.id == "d0"


def test_lease_is_valid_until_its_last_moment(desk: ReviewDesk, clock: ManualClock) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    clock.advance(desk.lease_ttl - 0.001)
    desk.decide(lease, "approve")


def test_renew_extends_the_lease(desk: ReviewDesk, clock: ManualClock) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    for _ in range(5):  # five times the TTL in all, renewed every TTL/2
        clock.advance(desk.lease_ttl / 2)
        lease = desk.renew(lease)
        assert lease.expires_at == clock.now() + timedelta(seconds=desk.lease_ttl)
    assert desk.claim("bob") is None
    desk.decide(lease, "approve")
    kinds = [e.kind for e in desk.history(lease).events]
    assert kinds.count(EventKind.RENEWED) == 5


def test_release_makes_the_draft_claimable_at_once(desk: ReviewDesk) -> None:
    desk.submit(drafts(2))
    lease = desk.claim("ana")
    assert lease and lease.draft.id == "d0"
    desk.release(lease)
    # Skipping: the reviewer passes over what they released; others get it at once.
    nxt = desk.claim("ana", exclude=[lease.draft_key])
    assert nxt and nxt.draft.id == "d1"
    other = desk.claim("bob")
    assert other and other.draft.id == "d0"
    with pytest.raises(LeaseLost) as lost:
        desk.decide(lease, "approve")
    assert lost.value.why == "taken_over"


def test_released_lease_is_reported_as_released(desk: ReviewDesk) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    desk.release(lease)
    with pytest.raises(LeaseLost) as lost:
        desk.decide(lease, "approve")
    assert lost.value.why == "released"


def test_retried_decision_reports_the_first_outcome(desk: ReviewDesk) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    first = desk.decide(lease, "edit", text="Fixed", idempotency_key="k-1")
    again = desk.decide(lease, "edit", text="Fixed", idempotency_key="k-1")
    assert not first.replayed and again.replayed
    assert (again.label, again.final, again.decided_at) == (
        first.label,
        first.final,
        first.decided_at,
    )
    assert len(desk.results(unsettled=True)) == 1
    assert [a["outcome"] for a in desk.attempts()] == ["accepted", "replayed"]


def test_undo_returns_the_draft_to_the_same_reviewer(desk: ReviewDesk, clock: ManualClock) -> None:
    desk.submit(drafts(2))
    lease = desk.claim("ana")
    assert lease
    desk.decide(lease, "reject", reason="off_topic")
    clock.advance(desk.undo_window - 1)
    back = desk.undo("ana")
    assert back.draft.id == lease.draft.id and back.reviewer == "ana"
    assert back.epoch == lease.epoch + 1
    assert desk.results(unsettled=True) == []
    assert desk.claim("bob") is not None  # bob gets the other draft, not the undone one
    assert desk.claim("cyd") is None
    desk.decide(back, "approve")
    (result,) = desk.results(unsettled=True)
    assert (result.id, result.label) == (lease.draft.id, Label.APPROVED)
    kinds = [e.kind for e in desk.history(lease).events]
    assert kinds[-3:] == [EventKind.DECIDED, EventKind.UNDONE, EventKind.DECIDED]


def test_undo_refused_outside_window_after_delivery_or_with_nothing(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    with pytest.raises(UndoRefused, match="no decision"):
        desk.undo("ana")
    desk.submit(drafts(2))
    first = desk.claim("ana")
    assert first
    desk.decide(first, "approve")
    clock.advance(desk.undo_window + 1)
    with pytest.raises(UndoRefused, match="undo window"):
        desk.undo("ana")
    second = desk.claim("ana")
    assert second
    desk.decide(second, "approve")
    desk.ack(desk.results(unsettled=True))
    with pytest.raises(UndoRefused, match="delivered"):
        desk.undo("ana")
    with pytest.raises(UndoRefused, match="no decision"):
        desk.undo("bob")


def test_results_cursor_ack_and_at_least_once(desk: ReviewDesk) -> None:
    desk.submit(drafts(5))
    for _ in range(5):
        lease = desk.claim("ana")
        assert lease
        desk.decide(lease, "approve")
    page = desk.results(unsettled=True, limit=2)
    assert [r.id for r in page] == ["d0", "d1"]
    rest = desk.results(unsettled=True, after=page[-1].cursor)
    assert [r.id for r in rest] == ["d2", "d3", "d4"]
    # Unacknowledged results come back again.
    assert [r.id for r in desk.results(unsettled=True)] == ["d0", "d1", "d2", "d3", "d4"]
    report = desk.ack(page)
    assert (report.acknowledged, report.already_delivered, report.undone) == (2, 0, [])
    assert [r.id for r in desk.results(unsettled=True)] == ["d2", "d3", "d4"]
    assert len(desk.results(unsettled=True, include_delivered=True)) == 5
    again = desk.ack([page[0].cursor])
    assert (again.acknowledged, again.already_delivered) == (0, 1)
    assert desk.history("d0").events[-1].kind is EventKind.DELIVERED


def test_ack_reports_results_undone_in_between(desk: ReviewDesk) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    desk.decide(lease, "approve")
    (result,) = desk.results(unsettled=True)
    desk.undo("ana")
    report = desk.ack([result])
    assert (report.acknowledged, report.undone) == (0, [result.cursor])


def test_results_are_settled_unless_asked_for(desk: ReviewDesk, clock: ManualClock) -> None:
    # Settled: no longer undoable. A consumer sees a decision once its undo window has passed
    # (or it was delivered, or a lead resolved it), never one its reviewer may still take back.
    desk.submit(drafts(3))
    for reviewer in ("ana", "bob"):
        lease = desk.claim(reviewer)
        assert lease
        desk.decide(lease, "approve")
    assert desk.results() == []
    assert [r.id for r in desk.results(unsettled=True)] == ["d0", "d1"]
    # At exactly the window's end a decision can still be undone, so it is still held back.
    clock.advance(desk.undo_window)
    assert desk.results() == []
    back = desk.undo("bob")
    desk.release(back)
    clock.advance(0.000001)
    assert [r.id for r in desk.results()] == ["d0"]
    with pytest.raises(UndoRefused, match="undo window"):
        desk.undo("ana")
    # Escalated and resolved by a lead: settled at once (it cannot be undone any more).
    lease = desk.claim("cyd")
    assert lease
    desk.decide(lease, "escalate", severity="low")
    assert [r.id for r in desk.results()] == ["d0"]
    from reviewdesk.services.escalations import EscalationInbox

    (escalation,) = EscalationInbox.for_desk(desk).list()
    EscalationInbox.for_desk(desk).resolve(escalation.cursor, "dismiss", note="dup", lead="lea")
    assert [r.id for r in desk.results()] == ["d0", lease.draft.id]
    # Delivered: settled too, so a consumer re-reading with include_delivered sees it at once.
    lease = desk.claim("ana")
    assert lease
    desk.decide(lease, "approve")
    desk.ack(desk.results(unsettled=True))
    assert lease.draft.id in {r.id for r in desk.results(include_delivered=True)}


def test_a_result_undone_after_it_was_read_is_retracted(desk: ReviewDesk) -> None:
    desk.submit(drafts(2))
    for reviewer in ("ana", "bob"):
        lease = desk.claim(reviewer)
        assert lease
        desk.decide(lease, "approve")
    read = desk.results(unsettled=True)
    assert desk.retracted(read) == []
    desk.undo("ana")
    retraction = Retraction(cursor=read[0].cursor, id="d0")
    assert desk.retracted(read) == [retraction]
    report = desk.ack(read)
    assert (report.acknowledged, report.undone, report.retractions) == (
        1,
        [read[0].cursor],
        [retraction],
    )
    # Bare cursors are retracted by id too.
    assert desk.ack([read[0].cursor]).retractions == [retraction]
    assert retraction.to_json() == {"id": "d0", "cursor": read[0].cursor, "retracted": True}


def test_history_shows_the_thread_and_its_decisions(desk: ReviewDesk, clock: ManualClock) -> None:
    desk.submit(
        [
            {"id": "t1", "draft": "first", "thread": "c", "created_at": "2026-01-01T00:00:00Z"},
            {"id": "t2", "draft": "second", "thread": "c", "created_at": "2026-01-02T00:00:00Z"},
            {"id": "t3", "draft": "third", "thread": "c", "created_at": "2026-01-03T00:00:00Z"},
            {"id": "other", "draft": "x", "thread": "z", "created_at": "2026-01-01T00:00:00Z"},
        ]
    )
    lease = desk.claim("ana")
    assert lease and lease.draft.id in ("t1", "other")
    while lease and lease.draft.id != "t1":
        lease = desk.claim("ana")
    assert lease
    desk.decide(lease, "edit", text="first, better")
    history = desk.history("t3")
    assert [(e.draft.id, e.decision.label if e.decision else None) for e in history.thread] == [
        ("t1", Label.EDITED),
        ("t2", None),
    ]
    assert history.thread[0].decision and history.thread[0].decision.final == "first, better"
    assert [e.kind for e in history.events] == [EventKind.SUBMITTED]
    # Only what came before: the middle draft sees the first, not the third.
    assert [e.draft.id for e in desk.history("t2").thread] == ["t1"]
    assert desk.history("t1").thread == []


def test_resubmission_is_idempotent_and_conflicts_write_nothing(desk: ReviewDesk) -> None:
    assert desk.submit(drafts(3)).submitted == 3
    report = desk.submit(drafts(3))
    assert (report.submitted, report.duplicates) == (0, 3)
    changed = [*drafts(2), {"id": "d2", "draft": "changed"}, {"id": "new", "draft": "x"}]
    with pytest.raises(SubmitConflict) as conflict:
        desk.submit(changed, source="batch.jsonl")
    assert [(c.line, c.draft_id) for c in conflict.value.conflicts] == [(3, "d2")]
    assert "batch.jsonl:3: field 'id': 'd2' is already queued with different content" in str(
        conflict.value
    )
    assert desk.counts().pending == 3  # 'new' was not written either


def test_invalid_submission_writes_nothing(desk: ReviewDesk) -> None:
    with pytest.raises(InvalidInput) as invalid:
        desk.submit([*drafts(3), {"id": "bad"}])
    assert [(p.line, p.field) for p in invalid.value.problems] == [(4, "draft")]
    assert desk.counts().pending == 0


def test_reject_reasons_are_configurable(desk: ReviewDesk) -> None:
    assert "hallucination" in desk.reject_reasons()
    desk.set_reject_reasons(["wrong_price", "rude"])
    assert desk.reject_reasons() == ("wrong_price", "rude")
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    with pytest.raises(InvalidDecision):
        desk.decide(lease, "reject", reason="hallucination")
    desk.decide(lease, "reject", reason="wrong_price")


def test_review_seconds_defaults_to_time_since_claim(desk: ReviewDesk) -> None:
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    time.sleep(0.05)
    decision = desk.decide(lease, "approve")
    assert decision.review_seconds is not None and 0.05 <= decision.review_seconds < 5


def test_abandoned_draft_is_claimable_within_a_second_of_expiry(make_desk: DeskFactory) -> None:
    """Real time and the database's own clock: no reaper is needed."""
    desk = make_desk()
    desk.submit(drafts(1))
    lease = desk.claim("ana")
    assert lease
    # A lease that runs out half a second after its claim (a TTL is 30 s at least), set in the
    # database as the claim would have set it: the time now passes, not a manual clock.
    expires = lease.claimed_at + timedelta(seconds=0.5)
    with desk.engines.write.begin() as conn:
        conn.execute(update(DRAFT).where(DRAFT.c.id == lease.draft_key).values(visible_at=expires))
    deadline = time.monotonic() + 10
    while (again := desk.claim("bob")) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert again is not None
    # Measured against the lease's own expiry, in the database's time.
    assert again.claimed_at - expires < timedelta(seconds=1)
    assert again.claimed_at >= expires


def test_edit_size_is_stored_as_normalized_edit_distance(desk: ReviewDesk) -> None:
    desk.submit([{"id": "e", "draft": "Hello world"}, {"id": "a", "draft": "Fine"}])
    first, second = desk.claim("ana"), desk.claim("ana")
    assert first and second
    edited = desk.decide(first, "edit", text="Hello World!")
    approved = desk.decide(second, "approve")
    assert edited.edit_distance == pytest.approx(2 / 12)  # 2 edits over the longer text
    assert approved.edit_distance is None


def test_positional_result_columns_match_what_the_database_returns(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    """Hot statements declare their result columns by position (so SQLAlchemy caches the result
    metadata); a list out of step with the SQL would give values the wrong types silently."""
    checked: set[str] = set()

    def check(_conn, cursor, statement, _params, context, _many) -> None:  # type: ignore[no-untyped-def]
        compiled = getattr(context, "compiled", None)
        stmt = getattr(compiled, "statement", None)
        if isinstance(stmt, TextualSelect) and stmt.positional:
            declared = [c.name for c in stmt.column_args]
            assert [d[0] for d in cursor.description] == declared, statement
            checked.add(statement)
        elif context is None and cursor.description:  # a DriverStatement: it checks itself
            checked.add(statement)

    event.listen(Engine, "after_cursor_execute", check)
    try:
        # The database's clock, and one given: their statements differ.
        for n, desk in enumerate((make_desk(), make_desk(clock=clock))):
            desk.submit(
                [
                    {"id": f"{n}-{i}-{c}", "draft": "x", "category": c}
                    for i in range(6)
                    for c in "ab"
                ]
            )
            verdicts: list[tuple[str, dict[str, object]]] = [
                ("approve", {}),
                ("edit", {"text": "y"}),
                ("reject", {"reason": "other"}),
                ("escalate", {"severity": "low"}),
            ]
            for verdict, extra in verdicts * 2:
                lease = desk.claim("ana")
                assert lease is not None
                desk.decide(lease, verdict, idempotency_key=f"k-{lease.draft.id}", **extra)
                desk.decide(lease, verdict, idempotency_key=f"k-{lease.draft.id}", **extra)
            lease = desk.claim("ana")
            assert lease is not None
            desk.release(desk.renew(lease))
            desk.undo("ana")
            desk.close()
    finally:
        event.remove(Engine, "after_cursor_execute", check)
    # The claim and the decision (their statements on this engine: on PostgreSQL, calls of
    # their functions) were among those checked.
    assert any("lease_epoch + 1" in sql or "rd_claim(" in sql for sql in checked)
    assert any(
        "INSERT INTO decision " in sql or "FROM decision WHERE" in sql or "rd_decide(" in sql
        for sql in checked
    )


@pytest.mark.one_engine("driver statements are PostgreSQL's hot path")
def test_a_driver_statement_refuses_a_column_list_out_of_step(postgres_url: str) -> None:
    engines = create_engines(resolve_target(postgres_url))
    try:
        clause = text("SELECT 1 AS a, 2 AS b").columns(column("b"), column("a"))
        statement = DriverStatement(clause, engines.statement.dialect)
        with engines.statement.connect() as conn, pytest.raises(RuntimeError, match="declared"):
            statement.first(conn, {})
        right = DriverStatement(
            text("SELECT 1 AS a, 2 AS b").columns(column("a"), column("b")),
            engines.statement.dialect,
        )
        with engines.statement.connect() as conn:
            assert right.first(conn, {}) == {"a": 1, "b": 2}
    finally:
        engines.dispose()


def test_bulk_submission_keeps_every_value_as_given(desk: ReviewDesk) -> None:
    """Drafts are bulk-loaded through the driver: each value must come back as submitted,
    including JSON that the fast encoder refuses (integers beyond 64 bits)."""
    context = {"ticket": 2**70, "nested": {"é": [1.5, None, True]}, "text": 'quote " \\ \n'}
    desk.submit(
        [
            {
                "id": "exact",
                "draft": "Ünïcode draft\n",
                "context": context,
                "confidence": 0.25,
                "priority": 3,
                "created_at": "2026-01-02T03:04:05.123456+02:00",
                "metadata": {"k": "v"},
            },
            *drafts(3),
        ]
    )
    lease = desk.claim("ana")
    assert lease is not None
    got = lease.draft
    assert (got.id, got.draft, got.context, got.confidence, got.priority) == (
        "exact",
        "Ünïcode draft\n",
        context,
        0.25,
        3,
    )
    assert got.created_at.isoformat() == "2026-01-02T01:04:05.123456+00:00"
    assert got.metadata == {"k": "v"}
    trail = desk.history(lease).events
    assert [event.kind for event in trail] == [EventKind.SUBMITTED, EventKind.CLAIMED]


def _server_pids(desk: ReviewDesk) -> set[int]:
    """The server process behind ``desk``'s kept connection (none when none is kept)."""
    pool = desk._engines.statement.pool
    assert pool.checkedout() <= 1
    store = desk._store
    return {store._hot.connection.driver_connection.info.backend_pid} if store._hot else set()


@pytest.mark.postgres
@pytest.mark.one_engine("the kept connection is PostgreSQL's")
def test_a_kept_connection_that_the_server_ended_is_replaced_before_use(
    postgres_url: str,
) -> None:
    with ReviewDesk.open(postgres_url, upgrade=True) as desk:
        desk.submit(drafts(4))
        desk.decide(desk.claim("ana"), "approve")  # type: ignore[arg-type]
        (pid,) = _server_pids(desk)
        admin = create_engines(resolve_target(postgres_url))
        try:
            with admin.statement.connect() as conn:
                # Returns once the session has ended, and has told its client so.
                ended = conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
                assert ended.scalar_one()
        finally:
            admin.dispose()
        # The kept connection is gone: the next claim runs on a new one, as if nothing happened.
        lease = desk.claim("ana")
        assert lease is not None
        desk.decide(lease, "approve")
        assert _server_pids(desk) != {pid}
        assert desk.counts().decided == 2


@pytest.mark.postgres
@pytest.mark.one_engine("the kept connection is PostgreSQL's")
def test_concurrent_callers_do_not_share_the_kept_connection(postgres_url: str) -> None:
    import threading

    from reviewdesk.core.sessions import SessionLimits

    with ReviewDesk.open(postgres_url, upgrade=True) as desk:
        desk.set_session_limits(SessionLimits.off())
        desk.submit(drafts(200))
        errors: list[BaseException] = []
        decided: list[str] = []

        def review(name: str) -> None:
            try:
                while (lease := desk.claim(name)) is not None:
                    desk.decide(lease, "approve")
                    decided.append(lease.draft.id)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=review, args=(f"r{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(decided) == sorted(f"d{i}" for i in range(200))
        assert desk._engines.statement.pool.checkedout() == 1
    # Closed: the kept connection went back before the pool was disposed.
    assert desk._engines.statement.pool.checkedout() == 0


@pytest.mark.postgres
@pytest.mark.one_engine("the kept connection is PostgreSQL's")
def test_an_idle_kept_connection_goes_back_to_the_pool(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reviewdesk.storage import queue_pg

    with ReviewDesk.open(postgres_url, upgrade=True) as desk:
        desk.submit(drafts(3))
        desk.decide(desk.claim("ana"), "approve")  # type: ignore[arg-type]
        kept = desk._store._hot
        monkeypatch.setattr(queue_pg, "HOT_IDLE_SECONDS", -1.0)
        desk.decide(desk.claim("ana"), "approve")  # type: ignore[arg-type]
        assert kept is not None and kept.closed
        assert desk._engines.statement.pool.checkedout() == 1


def test_the_stores_records_hold_each_column_in_its_field(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    """The queue contract's typed records, read straight from a store: each value comes back in
    its own field (queue_common's row->record functions), on every engine."""
    desk.submit(
        [
            {
                "id": "early",
                "draft": "Earlier answer.",
                "thread": "cust-9",
                "priority": 3,
                "category": "billing",
                "model": "drafter-1",
                "created_at": "2026-01-01T00:00:00Z",
            },
            {
                "id": "edit-me",
                "draft": "Refund soon.",
                "input": "Where is my refund?",
                "context": {"retrieved": [{"title": "Refund policy", "text": "14 days"}]},
                "category": "refund",
                "risk": "high",
                "model": "drafter-2",
                "confidence": 0.87,
                "thread": "cust-9",
                "priority": 3,
                "metadata": {"ticket": 17},
                "created_at": "2026-01-02T00:00:00Z",
            },
            {"id": "held", "draft": "Held draft.", "priority": 2},
            {"id": "escalate-me", "draft": "We will sue.", "priority": 1},
        ]
    )
    submitted_at = clock.now()
    early, edit, held, esc = (desk.claim("ana") for _ in range(4))
    assert early and edit and held and esc
    assert [x.draft.id for x in (early, edit, held, esc)] == [
        "early",
        "edit-me",
        "held",
        "escalate-me",
    ]
    rejected = desk.decide(
        early, "reject", reason="hallucination", note="invented a policy", review_seconds=7.5
    )
    edited = desk.decide(
        edit, "edit", text="Refund within 14 days.", review_seconds=12.0, idempotency_key="k-e"
    )
    escalated = desk.decide(esc, "escalate", severity="high", note="legal", review_seconds=3.0)
    now = clock.now()
    store = open_queue_store(desk.engines, desk.clock)
    try:
        queued = store.draft_by_external_id("edit-me")
        assert queued is not None and queued.key == edit.draft_key
        assert queued.draft == Draft(
            id="edit-me",
            draft="Refund soon.",
            input="Where is my refund?",
            context={"retrieved": [{"title": "Refund policy", "text": "14 days"}]},
            category="refund",
            risk=Risk.HIGH,
            model="drafter-2",
            confidence=0.87,
            thread="cust-9",
            priority=3,
            created_at=datetime(2026, 1, 2, tzinfo=UTC),
            submitted_at=submitted_at,
            metadata={"ticket": 17},
        )
        assert store.draft_by_external_id("held") == QueuedDraft(
            key=held.draft_key,
            draft=held.draft,
            lease_id=held.lease_id,
            lease_epoch=1,
            lease_owner="ana",
            leased_at=now,
            visible_at=now + timedelta(seconds=desk.lease_ttl),
        )
        assert store.draft_by_external_id("nobody") is None

        records = store.results(after=0, limit=10, include_delivered=False, settled_before=None)
        # What was written, read back field by field (the desk built these from the write).
        assert [r.decision for r in records] == [rejected, edited, escalated]
        assert [(r.draft, r.reason, r.note, r.severity) for r in (rejected, escalated)] == [
            ("Earlier answer.", "hallucination", "invented a policy", None),
            ("We will sue.", None, "legal", Severity.HIGH),
        ]
        first = records[0]
        assert (first.category, first.model, first.session_id) == (
            "billing",
            "drafter-1",
            early.session_id,
        )
        assert first.session_id is not None
        assert (first.resolution, first.resolution_text, first.resolution_note) == (None,) * 3
        assert (first.resolved_by, first.resolved_at, first.delivered_at) == (None,) * 3
        assert store.live_decision(draft_key=edit.draft_key) == (now, records[1])
        assert store.live_decision(draft_key=held.draft_key) == (now, None)

        assert store.thread_history(
            thread="cust-9",
            draft_key=edit.draft_key,
            created_at=queued.draft.created_at,
            limit=10,
        ) == [ThreadEntry(draft=early.draft, decision=rejected)]
        assert store.events(draft_key=edit.draft_key) == [
            Event(EventKind.SUBMITTED, submitted_at, None, 0),
            Event(EventKind.CLAIMED, now, "ana", 1),
            Event(EventKind.DECIDED, now, "ana", 1),
        ]

        replayed = desk.decide(edit, "edit", text="Refund within 14 days.", idempotency_key="k-e")
        assert replayed == dataclasses.replace(edited, replayed=True)
        assert [
            dataclasses.replace(a, id=0) for a in store.attempts() if a.draft_id == edit.draft_key
        ] == [
            Attempt(0, edit.draft_key, edit.lease_id, "ana", "edit", "k-e", outcome, None, now)
            for outcome in ("accepted", "replayed")
        ]

        undone = store.undo_last(reviewer="ana", window=60, lease_id="lease-undo", ttl=30)
        assert undone == Undone(
            QueuedDraft(
                key=esc.draft_key,
                draft=esc.draft,
                lease_id="lease-undo",
                lease_epoch=2,
                lease_owner="ana",
                leased_at=now,
                visible_at=now + timedelta(seconds=30),
            )
        )
    finally:
        store.close()

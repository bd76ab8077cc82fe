"""Review policies on a database: routing at submit, released results, the phase machine."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import DatabaseUnavailable, InvalidArgument, SubmitConflict
from reviewdesk.core.sampling_plan import Phase
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.export import ExportOptions, export_dataset
from reviewdesk.services.stats import StatsService
from reviewdesk.storage import migrate
from reviewdesk.storage.policy_sql import PolicyStore
from reviewdesk.storage.queue_pg import PostgresQueueStore
from tests.conftest import DeskFactory


def drafts(prefix: str, n: int, category: str = "billing", **fields: object) -> list[dict]:
    return [
        {"id": f"{prefix}{i}", "draft": f"{prefix} text {i}", "category": category, **fields}
        for i in range(n)
    ]


def decide_all(desk: ReviewDesk, verdict: str = "approve", **options: object) -> int:
    n = 0
    while (lease := desk.claim("ana")) is not None:
        desk.decide(lease, verdict, review_seconds=30, **options)  # type: ignore[arg-type]
        n += 1
    return n


def cell(desk: ReviewDesk, category: str = "billing", model: str = "") -> tuple[Phase, int]:
    view = desk.policies.show(category)[0]
    state = next(c for c in view.cells if c.model_key == model)
    return state.phase, state.clear_run


@pytest.fixture
def seeded(make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    desk = make_desk(clock=clock, rng=random.Random(7))
    desk.set_session_limits(SessionLimits.off())
    return desk


def sampling_desk(desk: ReviewDesk, fraction: float = 0.5) -> ReviewDesk:
    """A desk whose billing cell starts in sampling (its history clears screening)."""
    desk.submit(drafts("h", 30))
    decide_all(desk)
    desk.policies.set(
        "billing", aoql=0.05, fraction=fraction, note="n", by="lead", start_from_history=True
    )
    assert cell(desk)[0] is Phase.SAMPLING
    return desk


def test_screening_reviews_everything_until_i_clear_then_samples(seeded: ReviewDesk) -> None:
    desk = seeded
    desk.submit(drafts("h", 1))
    decide_all(desk)
    view = desk.policies.set("billing", aoql=0.05, fraction=0.5, note="start", by="lead")
    assert view.policy.plan.clearance == 5
    report = desk.submit(drafts("a", 5))
    assert [r.route.value for r in report.routings] == ["review"] * 5
    for n in range(1, 5):
        lease = desk.claim("ana")
        assert lease is not None
        desk.decide(lease, "approve")
        assert cell(desk) == (Phase.SCREENING, n)
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "approve")
    assert cell(desk) == (Phase.SAMPLING, 0)
    report = desk.submit(drafts("b", 200))
    assert 50 < report.released < 150
    assert {r.probability for r in report.routings} == {0.5}


def test_a_sampled_defect_returns_to_screening(seeded: ReviewDesk) -> None:
    desk = sampling_desk(seeded)
    # At f = 1/2, all 40 released (no draft to claim) has a chance of 1e-12.
    desk.submit(drafts("s", 40))
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "edit", text="entirely different words here")
    assert cell(desk) == (Phase.SCREENING, 0)
    kinds = [e.kind for e in desk.policies.show("billing")[0].history]
    assert kinds[0] == "defect"
    # Screening: the next drafts are all reviewed.
    assert desk.submit(drafts("t", 10)).released == 0


def test_trivial_edits_are_no_defect_unless_the_policy_says(seeded: ReviewDesk) -> None:
    desk = sampling_desk(seeded)
    desk.submit(drafts("s", 40))
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "edit", text=lease.draft.draft + ".")  # one character in ~15: 0.06
    assert cell(desk)[0] is Phase.SCREENING


def test_a_new_model_version_starts_in_screening(seeded: ReviewDesk) -> None:
    desk = sampling_desk(seeded)
    report = desk.submit(drafts("m", 20, model="v2"))
    assert report.released == 0
    assert cell(desk, model="v2") == (Phase.SCREENING, 0)
    assert cell(desk)[0] is Phase.SAMPLING
    assert any(e.kind == "model" for e in desk.policies.show("billing")[0].history)


def test_a_new_prompt_version_starts_in_screening(seeded: ReviewDesk) -> None:
    desk = sampling_desk(seeded)
    report = desk.submit(drafts("p", 20, metadata={"prompt_version": "2024-12"}))
    assert report.released == 0
    assert {r.model_key for r in report.routings} == {"prompt 2024-12"}
    assert cell(desk, model="prompt 2024-12") == (Phase.SCREENING, 0)
    assert cell(desk)[0] is Phase.SAMPLING


def test_reset_is_effective_for_the_next_draft(seeded: ReviewDesk) -> None:
    desk = sampling_desk(seeded)
    assert desk.submit(drafts("a", 50)).released > 0
    desk.policies.reset(note="the AI changed", by="lead")
    assert desk.submit(drafts("b", 50)).released == 0
    event = desk.policies.show("billing")[0].history[0]
    assert (event.kind, event.actor, event.note) == ("reset", "lead", "the AI changed")


def test_drift_alarm_holds_full_review_until_a_reset(seeded: ReviewDesk) -> None:
    desk = sampling_desk(seeded, fraction=1.0)
    # f = 1: every draft is a sampled one. Sampled defects push the CUSUM over its limit;
    # each also returns the cell to screening: here it is put back in sampling at once, as a
    # cell that keeps clearing its screening phase between defects would be.
    for n in range(10):
        with desk.policies._store.engines.write.begin() as conn:
            conn.execute(text("UPDATE policy_state SET phase = 'sampling'"))
        desk.submit(drafts(f"d{n}-", 1))
        lease = desk.claim("ana")
        assert lease is not None
        desk.decide(lease, "reject", reason="other")
        if cell(desk)[0] is Phase.HELD:
            break
    assert cell(desk)[0] is Phase.HELD
    view = desk.policies.show("billing")[0]
    assert len(view.alarms) == 1 and view.alarm_count == 1 and view.cells[0].alarms == 1
    # Held: clear decisions do not count toward i.
    desk.submit(drafts("c", 10))
    decide_all(desk)
    assert cell(desk) == (Phase.HELD, 0)
    desk.policies.reset("billing", note="looked at it", by="lead")
    assert cell(desk) == (Phase.SCREENING, 0)


def test_released_drafts_are_results_at_once_and_never_decisions(
    seeded: ReviewDesk, tmp_path: Path
) -> None:
    desk = sampling_desk(seeded)
    stats_before = StatsService.for_desk(desk).compute().total
    report = desk.submit(drafts("r", 40))
    released = {r.id for r in report.routings if r.route.value == "released"}
    assert released
    # Settled at once: no unsettled flag needed, no undo window to wait out.
    results = desk.results(limit=1000)
    out = {r.id: r for r in results if r.label.value == "released"}
    assert set(out) == released
    one = out[min(released)]
    assert one.final == one.draft and one.reviewer == ""
    assert one.routing == {
        "policy": 1,
        "phase": "sampling",
        "clear_run": 0,
        "probability_of_review": 0.5,
    }
    assert (one.draft, one.category) == (f"r text {one.id[1:]}", "billing")
    assert json.loads(json.dumps(one.to_json()))["label"] == "released"
    state = desk.state(one.id)
    assert (state.state, state.result, state.delivered) == ("released", one, False)
    # Never claimed, never counted, never exported.
    decided = decide_all(desk)
    assert decided == 40 - len(released)
    total = StatsService.for_desk(desk).compute().total
    assert total.decided == stats_before.decided + decided
    export = export_dataset(desk.target, ExportOptions(out=tmp_path / "out"))
    assert export.records == 30 + decided
    # One cursor order: decisions after the releases come after them, none shares a cursor.
    every = desk.results(limit=1000, unsettled=True)
    cursors = [r.cursor for r in every]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    ack = desk.ack([out[i] for i in sorted(released)])
    assert ack.acknowledged == len(released)
    assert not {r.id for r in desk.results(limit=1000)} & released
    assert desk.ack([out[min(released)]]).already_delivered == 1


@pytest.mark.parametrize("failing", ["before", "after"])
def test_routing_is_atomic_with_the_insert(
    seeded: ReviewDesk, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """Routing fails before the drafts are inserted, or after: either way nothing is kept.
    (PostgreSQL inserts and routes in one statement: the submit fails before it, or after it
    in the same transaction.)"""
    desk = sampling_desk(seeded)

    def fail(*args: object, **kwargs: object) -> list[int]:
        raise DatabaseUnavailable("the server went away")

    if desk.policies._store.postgres:
        routed = PostgresQueueStore._insert_routed

        def route_then_fail(*args: object, **kwargs: object) -> list[int]:
            routed(*args, **kwargs)  # type: ignore[arg-type]
            return fail()

        monkeypatch.setattr(
            PostgresQueueStore, "_insert_routed", fail if failing == "before" else route_then_fail
        )
    else:
        step = "_start_states" if failing == "before" else "record_routings"
        monkeypatch.setattr(PolicyStore, step, fail)
    with pytest.raises(DatabaseUnavailable):
        desk.submit(drafts("x", 40))
    monkeypatch.undo()
    with desk.policies._store.engines.write.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM draft WHERE external_id LIKE 'x%'")).scalar()
            == 0
        )
        assert conn.execute(text("SELECT count(*) FROM policy_routing")).scalar() == 0
    # Routed exactly once: a resubmission of the same drafts is a duplicate, not routed again.
    first = desk.submit(drafts("x", 40))
    again = desk.submit(drafts("x", 40))
    assert len(first.routings) == 40 and again.routings == () and again.duplicates == 40
    with pytest.raises(SubmitConflict):
        desk.submit([{"id": "x1", "draft": "other", "category": "billing"}, *drafts("y", 3)])
    with desk.policies._store.engines.write.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM policy_routing")).scalar() == 40


# A trigger that fails the count's last statement (marking the routing counted): the decision
# and every earlier statement of its count must roll back with it.
_FAIL_COUNT = {
    "sqlite": [
        """CREATE TRIGGER fail_count BEFORE UPDATE OF outcome ON policy_routing
           BEGIN SELECT RAISE(ABORT, 'count refused'); END"""
    ],
    "postgresql": [
        """CREATE FUNCTION fail_count() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'count refused'; END $$""",
        """CREATE TRIGGER fail_count BEFORE UPDATE OF outcome ON policy_routing
           FOR EACH ROW EXECUTE FUNCTION fail_count()""",
    ],
}
_UNDO_FAIL_COUNT = {
    "sqlite": ["DROP TRIGGER fail_count"],
    "postgresql": ["DROP TRIGGER fail_count ON policy_routing", "DROP FUNCTION fail_count()"],
}


def test_a_decision_whose_count_fails_is_not_recorded(seeded: ReviewDesk) -> None:
    """The count runs in the decision's transaction: when it fails, the decision, the plan's
    state and its history are as they were, and the same lease decides again."""
    desk = seeded
    desk.submit(drafts("h", 1))
    decide_all(desk)
    desk.policies.set("billing", aoql=0.05, fraction=0.5, note="start", by="lead")
    desk.submit(drafts("a", 1))
    lease = desk.claim("ana")
    assert lease is not None
    engine = desk.policies._store.engines.write
    dialect = engine.dialect.name

    def snapshot() -> tuple[object, ...]:
        with engine.connect() as conn:
            return (
                conn.execute(text("SELECT count(*) FROM decision")).scalar(),
                conn.execute(text("SELECT count(*) FROM policy_event")).scalar(),
                conn.execute(text("SELECT outcome FROM policy_routing")).scalar(),
                conn.execute(text("SELECT state FROM draft WHERE external_id = 'a0'")).scalar(),
                cell(desk),
            )

    before = snapshot()
    with engine.begin() as conn:
        for sql in _FAIL_COUNT[dialect]:
            conn.execute(text(sql))
    try:
        with pytest.raises(Exception, match="count refused"):
            desk.decide(lease, "approve")
        assert snapshot() == before
    finally:
        with engine.begin() as conn:
            for sql in _UNDO_FAIL_COUNT[dialect]:
                conn.execute(text(sql))
    desk.decide(lease, "approve")
    assert cell(desk) == (Phase.SCREENING, 1)


def test_an_undone_clear_decided_again_as_a_defect_counts(seeded: ReviewDesk) -> None:
    desk = seeded
    desk.submit(drafts("h", 1))
    decide_all(desk)
    desk.policies.set("billing", aoql=0.05, fraction=0.5, note="n", by="lead")
    desk.submit(drafts("a", 2))
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "approve")
    assert cell(desk) == (Phase.SCREENING, 1)
    again = desk.undo("ana")
    desk.decide(again, "reject", reason="other")
    assert cell(desk) == (Phase.SCREENING, 0)
    # Nothing else counts twice: a defect decided again as clear, nor a clear again as clear.
    again = desk.undo("ana")
    desk.decide(again, "approve")
    assert cell(desk) == (Phase.SCREENING, 0)
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "approve")
    assert cell(desk) == (Phase.SCREENING, 1)
    again = desk.undo("ana")
    desk.decide(again, "approve")
    assert cell(desk) == (Phase.SCREENING, 1)
    again = desk.undo("ana")
    desk.decide(again, "edit", text="a text edited well beyond the trivial", review_seconds=30)
    assert cell(desk) == (Phase.SCREENING, 0)
    again = desk.undo("ana")
    desk.decide(again, "approve")
    assert cell(desk) == (Phase.SCREENING, 0)
    with desk.policies._store.engines.write.connect() as conn:
        outcomes = conn.execute(text("SELECT outcome FROM policy_routing ORDER BY draft_id"))
        assert outcomes.scalars().all() == ["defect", "defect"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"aoql": 0, "fraction": 0.1}, "AOQL"),
        ({"aoql": 1, "fraction": 0.1}, "AOQL"),
        ({"aoql": 0.02, "fraction": 0}, "sampling fraction"),
        ({"aoql": 0.02, "fraction": 1.5}, "sampling fraction"),
        ({"aoql": 0.02}, "either a sampling fraction"),
        ({"aoql": 0.02, "fraction": 0.1, "note": " "}, "needs a note"),
        ({"aoql": 0.02, "fraction": 0.1, "min_confidence": 2}, "confidence floor"),
    ],
)
def test_bad_policy_input_is_refused(desk: ReviewDesk, options: dict, message: str) -> None:
    desk.submit(drafts("h", 1))
    with pytest.raises(InvalidArgument, match=message):
        desk.policies.set("billing", **{"note": "n", "by": "lead", **options})
    assert desk.policies.overview() == []


def test_unknown_category_is_refused(desk: ReviewDesk) -> None:
    with pytest.raises(InvalidArgument, match="Unknown category 'nope'"):
        desk.policies.set("nope", aoql=0.02, fraction=0.1, note="n", by="lead")
    with pytest.raises(InvalidArgument, match="No policy for category 'nope'"):
        desk.policies.reset("nope", note="n", by="lead")


def test_every_change_is_kept_with_who_when_and_why(desk: ReviewDesk) -> None:
    desk.submit(drafts("h", 1))
    desk.policies.set("billing", aoql=0.02, fraction=0.1, note="first", by="ana")
    desk.policies.set("billing", aoql=0.01, fraction=0.1, note="tighter", by="bo")
    desk.policies.stop("billing", note="enough", by="cy")
    view = desk.policies.show("billing")[0]
    assert [(e.kind, e.actor, e.note) for e in view.history] == [
        ("changed", "cy", "enough"),
        ("changed", "bo", "tighter"),
        ("created", "ana", "first"),
    ]
    assert view.history[1].old is not None and view.history[1].old["aoql"] == 0.02
    assert view.history[1].new is not None and view.history[1].new["clearance"] == 110
    assert view.policy.mode.value == "full"
    assert desk.submit(drafts("a", 10)).routings == ()


def test_decisions_the_plan_did_not_count_before_the_upgrade_are_counted_by_it(
    seeded: ReviewDesk,
) -> None:
    """Before migration 0017 the client counted a decision after it committed; one that stopped
    in between left it uncounted. The upgrade counts those, oldest first."""
    desk = sampling_desk(seeded)
    desk.submit(drafts("s", 20))
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "reject", reason="other")
    assert cell(desk) == (Phase.SCREENING, 0)
    engine = desk.policies._store.engines.write
    # What a stopped client left: the decision, and the plan as it was before it.
    with engine.begin() as conn:
        conn.execute(text("UPDATE policy_routing SET outcome = NULL"))
        conn.execute(text("UPDATE policy_state SET phase = 'sampling', clear_run = 0, cusum = 0"))
        conn.execute(text("DELETE FROM policy_event WHERE kind = 'defect'"))
    assert cell(desk) == (Phase.SAMPLING, 0)
    migrate.downgrade(engine, "0016")
    migrate.upgrade(engine)
    assert cell(desk) == (Phase.SCREENING, 0)
    view = desk.policies.show("billing")[0]
    assert [(e.kind, e.old, e.new) for e in view.history if e.kind == "defect"] == [
        ("defect", {"phase": "sampling", "clear_run": 0}, {"phase": "screening", "clear_run": 0})
    ]
    # Counted once: the next decisions count as they are made.
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "approve")
    assert cell(desk) == (Phase.SCREENING, 1)

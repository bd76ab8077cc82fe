"""The count of a decision toward its plan, in SQL (storage/policy_sql.py's COUNT_ statements,
run by rd_decide on PostgreSQL and by the decide's transaction on SQLite), against core's
reference model (core/defects.is_defect, core/drift.after_decision) on random decision
sequences: the same phases, clear runs, statistics and events, on each engine."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.defects import is_defect
from reviewdesk.core.drift import after_decision
from reviewdesk.core.sampling_plan import Phase, PlanState
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.storage.policy_sql import alarm_values
from tests.conftest import DeskFactory

SEQUENCES = 40
DECISIONS = 25
DRAFT = "a" * 100
# Verdicts with the defect test's cases: an edit of 1, 2 or 3 characters in 100 (0.02 is the
# trivial-edit threshold, not above it), a large edit, a rejection, an escalation.
VERDICTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("approve", {}),
    ("approve", {}),
    ("edit", {"text": "a" * 99 + "b"}),
    ("edit", {"text": "a" * 98 + "bb"}),
    ("edit", {"text": "a" * 97 + "bbb"}),
    ("edit", {"text": "A different answer altogether."}),
    ("reject", {"reason": "other"}),
    ("escalate", {"severity": "low"}),
)
AOQLS = (0.003, 0.01, 0.03, 0.05, 0.2, 0.4, 0.7)
CLEARANCES = (1, 2, 3, 5, 8)


@dataclass
class Model:
    """core's reference: the cell's state and statistic, the events, each draft's outcome."""

    clearance: int
    aoql: float
    trivial_edits_count: bool
    state: PlanState
    statistic: float
    events: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)

    def decide(self, draft: int, routed_phase: str, label: str, distance: float | None) -> None:
        defect = is_defect(label, distance, trivial_edits_count=self.trivial_edits_count)
        before = self.outcomes.get(draft)
        if before == "defect" or (before == "clear" and not defect):
            return  # counted already: only a clear decided again as a defect counts again
        self.outcomes[draft] = "defect" if defect else "clear"
        after = after_decision(
            self.state,
            self.statistic,
            defect=defect,
            sampled=routed_phase == Phase.SAMPLING.value,
            clearance=self.clearance,
            aoql=self.aoql,
        )
        old = {"phase": self.state.phase.value, "clear_run": self.state.clear_run}
        new = {"phase": after.state.phase.value, "clear_run": after.state.clear_run}
        self.events += [(kind, old, new) for kind in after.events]
        self.state, self.statistic = after.state, after.statistic


def _start(rng: random.Random, clearance: int, limit: float) -> tuple[PlanState, float]:
    phase = rng.choice(list(Phase))
    run = 0 if phase is Phase.SAMPLING else rng.randrange(clearance)
    return PlanState(phase, run), rng.choice([0.0, rng.uniform(0.0, limit)])


def _new_policy(desk: ReviewDesk, rng: random.Random, n: int) -> tuple[int, Model]:
    """A policy (mode full: nothing routes at submit, the test routes each draft itself) with
    a random AOQL, clearance number and trivial-edit rule, its cell in a random state."""
    aoql, clearance = rng.choice(AOQLS), rng.choice(CLEARANCES)
    trivial = rng.random() < 0.5
    alarm = alarm_values(aoql)
    state, statistic = _start(rng, clearance, alarm["cusum_limit"])
    with desk.policies._store.engines.write.begin() as conn:
        policy_id = conn.execute(
            text(
                """INSERT INTO policy (cell, category, mode, aoql, fraction, clearance,
                       trivial_edits_count, updated_at, updated_by, cusum_defect, cusum_clear,
                       cusum_limit)
                   VALUES (:cell, :cell, 'full', :aoql, 0.5, :clearance, :trivial,
                       CURRENT_TIMESTAMP, 'lead', :cusum_defect, :cusum_clear, :cusum_limit)
                   RETURNING id"""
            ),
            {"cell": f"c{n}", "aoql": aoql, "clearance": clearance, "trivial": trivial, **alarm},
        ).scalar_one()
        conn.execute(
            text(
                """INSERT INTO policy_state (policy_id, model_key, phase, clear_run, cusum,
                       updated_at)
                   VALUES (:p, '', :phase, :run, :cusum, CURRENT_TIMESTAMP)"""
            ),
            {
                "p": policy_id,
                "phase": state.phase.value,
                "run": state.clear_run,
                "cusum": statistic,
            },
        )
    return policy_id, Model(clearance, aoql, trivial, state, statistic)


def _route(desk: ReviewDesk, policy_id: int, external_id: str, phase: str) -> int:
    with desk.policies._store.engines.write.begin() as conn:
        draft_key = conn.execute(
            text("SELECT id FROM draft WHERE external_id = :e"), {"e": external_id}
        ).scalar_one()
        conn.execute(
            text(
                """INSERT INTO policy_routing (draft_id, policy_id, model_key, route, phase,
                       clear_run, probability, routed_at)
                   VALUES (:d, :p, '', 'review', :phase, 0, 1.0, CURRENT_TIMESTAMP)"""
            ),
            {"d": draft_key, "p": policy_id, "phase": phase},
        )
    return int(draft_key)


def _stored(desk: ReviewDesk, policy_id: int) -> tuple[tuple[str, int, float], list[Any]]:
    with desk.policies._store.engines.write.connect() as conn:
        state = conn.execute(
            text("SELECT phase, clear_run, cusum FROM policy_state WHERE policy_id = :p"),
            {"p": policy_id},
        ).one()
    events = [
        (e["kind"], e["old"], e["new"])
        for e in reversed(desk.policies._store.events(policy_id))
        if e["kind"] in ("cleared", "defect", "alarm")
    ]
    return (state[0], state[1], state[2]), events


def test_the_sql_count_is_cores_model_on_random_sequences(
    make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock)
    desk.set_session_limits(SessionLimits.off())
    rng = random.Random(2026)
    seen: set[str] = set()
    for n in range(SEQUENCES):
        policy_id, model = _new_policy(desk, rng, n)
        last: tuple[int, str] | None = None
        for i in range(DECISIONS):
            if last is not None and rng.random() < 0.2:
                # Undone and decided again: counted again only as a defect after a clear.
                lease = desk.undo("ana")
                draft_key, phase = last
            else:
                external_id = f"c{n}-{i}"
                desk.submit([{"id": external_id, "draft": DRAFT, "category": f"c{n}"}])
                # Routed in the cell's phase, mostly; any phase may have routed a draft still
                # waiting for its decision.
                current = model.state.phase.value
                phase = current if rng.random() < 0.7 else rng.choice([p.value for p in Phase])
                draft_key = _route(desk, policy_id, external_id, phase)
                lease = desk.claim("ana")
            assert lease is not None and lease.draft_key == draft_key
            verdict, options = rng.choice(VERDICTS)
            decision = desk.decide(lease, verdict, review_seconds=20, **options)
            model.decide(draft_key, phase, decision.label.value, decision.edit_distance)
            last = (draft_key, phase)
            (phase_now, run, cusum), events = _stored(desk, policy_id)
            where = f"sequence {n}, decision {i}"
            assert (phase_now, run) == (model.state.phase.value, model.state.clear_run), where
            assert cusum == pytest.approx(model.statistic, abs=1e-9), where
            assert events == model.events, where
            seen.update(kind for kind, _, _ in events)
            seen.add(phase_now)
    # The sequences reached every phase and every event.
    assert seen >= {"screening", "sampling", "held", "cleared", "defect", "alarm"}

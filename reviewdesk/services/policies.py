"""Review policies: less review with a guarantee on what goes out bad (docs/policies.md).

``desk.policies`` (a PolicyService) sets, shows and resets policies; ReviewDesk routes each
submitted draft of a cell under a sampling policy in the submit's own transaction, and storage
counts each decision on a routed draft toward its cell's plan in the decision's own transaction.
The plan math is core/sampling_plan.py, the defect rule core/defects.py, the drift alarm
core/drift.py (the reference model), the SQL storage/policy_sql.py (the count, written again).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reviewdesk.core.clock import Clock
from reviewdesk.core.defects import is_defect
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.core.policy_cells import (
    Cell,
    Mode,
    Policy,
    Routing,
    check_cell,
)
from reviewdesk.core.sampling_plan import (
    Phase,
    Plan,
    PlanState,
    Route,
    check_aoql,
    clears_screening,
    plan_for,
    plan_for_review_share,
)
from reviewdesk.services.access import Access
from reviewdesk.services.stats import wilson_interval
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.policy_sql import PolicyStore, ReleasedDraft, alarm_values
from reviewdesk.storage.queue_contract import SubmitTransaction

NOTE_MAX = 2000
# Decisions read to measure a cell's defect rate and check its history against screening.
HISTORY_DECISIONS = 2000


def _policy(row: Mapping[Any, Any]) -> Policy:
    return Policy(
        id=row["id"],
        cell=Cell(row["category"], row["min_confidence"], row["model"]),
        mode=Mode(row["mode"]),
        aoql=row["aoql"],
        plan=Plan(row["clearance"], row["fraction"]),
        trivial_edits_count=bool(row["trivial_edits_count"]),
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def _check_note(note: str | None, by: str | None) -> tuple[str, str]:
    if note is None or not note.strip():
        raise InvalidArgument("Every change to a policy needs a note saying why (--note).")
    if len(note) > NOTE_MAX:
        raise InvalidArgument(f"A policy note is at most {NOTE_MAX} characters, not {len(note)}.")
    if by is None or not by.strip() or len(by) > 200:
        raise InvalidArgument("Say who changes the policy (1 to 200 characters).")
    return note.strip(), by.strip()


@dataclass(frozen=True)
class Estimate:
    """A share with its 95% interval."""

    value: float | None
    low: float
    high: float

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class CellState:
    """One model version's plan under a policy, and what it did."""

    model_key: str
    phase: Phase
    clear_run: int
    cusum: float
    routed: int
    released: int
    reviewed: int
    # Reviewed while sampling (the random sample), decided so far, and the defects among them.
    sampled: int
    sampled_decided: int
    sampled_defects: int
    screening_defects: int
    # Drift alarms this model version's plan raised, ever.
    alarms: int = 0

    @property
    def review_share(self) -> float | None:
        return self.reviewed / self.routed if self.routed else None

    def outgoing_quality(self) -> Estimate:
        """Share of the cell's routed drafts that went out bad: released share times the defect
        rate of the sample (released drafts are the sample's complement, picked at random)."""
        if not self.routed:
            return Estimate(None, 0.0, 1.0)
        share = self.released / self.routed
        low, high = wilson_interval(self.sampled_defects, self.sampled_decided)
        rate = self.sampled_defects / self.sampled_decided if self.sampled_decided else None
        return Estimate(None if rate is None else share * rate, share * low, share * high)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model_key or None,
            "phase": self.phase.value,
            "clear_run": self.clear_run,
            "cusum": round(self.cusum, 4),
            "routed": self.routed,
            "released": self.released,
            "reviewed": self.reviewed,
            "sampled": self.sampled,
            "sampled_decided": self.sampled_decided,
            "sampled_defects": self.sampled_defects,
            "screening_defects": self.screening_defects,
            "alarms": self.alarms,
            "review_share": self.review_share,
            "outgoing_quality": self.outgoing_quality().to_json(),
        }


EVENT_TEXTS = {
    "created": "policy created",
    "changed": "policy changed",
    "reset": "back to full review (screening) by a lead",
    "cleared": "screening cleared: sampling",
    "defect": "defect in a sample: back to screening",
    "alarm": "drift alarm: full review until a lead resets it",
    "model": "new model version: screening",
}


@dataclass(frozen=True)
class PolicyEvent:
    policy_id: int
    kind: str
    at: datetime
    actor: str | None
    model_key: str | None
    note: str | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def text(self) -> str:
        """What happened, for a person: the kind, the model version, who and why."""
        model = f" [{self.model_key}]" if self.model_key else ""
        who = f" by {self.actor}" if self.actor else ""
        note = f": {self.note}" if self.note else ""
        return f"{EVENT_TEXTS.get(self.kind, self.kind)}{model}{who}{note}"

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy_id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "by": self.actor,
            "model": self.model_key,
            "note": self.note,
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True)
class PolicyView:
    """A policy with its plan's state per model version, its alarms and its history."""

    policy: Policy
    cells: tuple[CellState, ...]
    history: tuple[PolicyEvent, ...] = field(default_factory=tuple)

    @property
    def alarms(self) -> tuple[PolicyEvent, ...]:
        """The alarms among the history read (``CellState.alarms`` counts them all)."""
        return tuple(e for e in self.history if e.kind == "alarm")

    @property
    def alarm_count(self) -> int:
        return sum(c.alarms for c in self.cells)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.policy.to_json(),
            "cell": self.policy.cell.describe(),
            "states": [c.to_json() for c in self.cells],
            "alarms": [a.to_json() for a in self.alarms],
            "history": [e.to_json() for e in self.history],
        }


@dataclass(frozen=True)
class PlanPreview:
    """What a plan would do in a cell: its i and f, and at the cell's measured defect rate its
    expected review share and outgoing quality; whether recent history clears screening."""

    cell: Cell
    aoql: float
    plan: Plan
    decisions: int
    defects: int
    clears_screening: bool
    # The model versions of those decisions ('' for none): the states history can start.
    models: tuple[str, ...] = ()

    @property
    def defect_rate(self) -> float | None:
        return self.defects / self.decisions if self.decisions else None

    def to_json(self) -> dict[str, Any]:
        p = self.defect_rate
        return {
            **self.cell.to_json(),
            "aoql": self.aoql,
            "fraction": self.plan.fraction,
            "clearance": self.plan.clearance,
            "decisions": self.decisions,
            "defects": self.defects,
            "defect_rate": p,
            "expected_review_share": None if p is None else self.plan.afi(p),
            "expected_outgoing_quality": None if p is None else self.plan.aoq(p),
            "history_clears_screening": self.clears_screening,
        }


class SubmitRouter:
    """One submission's routing (QueueStore.submit's ``routing``): ``routings`` once done."""

    def __init__(self, store: PolicyStore) -> None:
        self._store = store
        self.routings: list[Routing] = []

    def released(
        self, conn: SubmitTransaction, now: datetime, fresh: Sequence[DraftSubmission]
    ) -> frozenset[str]:
        self.routings = self._store.route_submitted(conn, now, fresh)
        return frozenset(r.id for r in self.routings if r.route is Route.RELEASED)

    def record(self, conn: SubmitTransaction, now: datetime, keys: Mapping[str, int]) -> None:
        self._store.record_routings(conn, now, self.routings, keys)

    def routed(self, routings: Sequence[Routing]) -> None:
        """The database routed the submission (PostgreSQL's rd_submit)."""
        self.routings = list(routings)


class PolicyService:
    """Policies of one desk's database."""

    def __init__(
        self,
        engines: Engines,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        *,
        access: Access | None = None,
    ) -> None:
        self._store = PolicyStore(engines, _policy, clock, rng)
        self._access = access

    def _lead(self, note: str | None, by: str | None) -> tuple[str, str]:
        """A change's note and lead; on a shared database only a lead changes a policy, and
        the change is recorded under the login."""
        note, by = _check_note(note, by)
        if self._access is not None:
            self._access.require("lead", "Changing a review policy")
            by = self._access.person(by, what="lead")
        return note, by

    # -- routing (ReviewDesk calls this; a decision counts toward its plan in its own
    # transaction, in storage: policy_sql's COUNT_ statements) -----------------------------------
    def router(self) -> SubmitRouter:
        """What QueueStore.submit calls to route one submission's new drafts."""
        return SubmitRouter(self._store)

    # -- reading --------------------------------------------------------------------------------
    def overview(self) -> list[PolicyView]:
        """Every policy with its states, alarms and the latest history."""
        return self._views(self._store.policies())

    def show(
        self, category: str, *, min_confidence: float | None = None, model: str | None = None
    ) -> list[PolicyView]:
        """The policies of ``category`` (only the one of that floor and model, when given)."""
        found = [
            p
            for p in self._store.policies()
            if p.cell.category == category
            and (min_confidence is None or p.cell.min_confidence == min_confidence)
            and (model is None or p.cell.model == model)
        ]
        if not found:
            raise InvalidArgument(f"No policy for category {category!r}: every draft is reviewed.")
        return self._views(found, history=500)

    def _views(self, policies: Sequence[Policy], history: int = 50) -> list[PolicyView]:
        states = self._store.states()
        alarms = self._store.alarm_counts()
        counts: dict[tuple[int, str], dict[str, int]] = {}
        for r in self._store.routing_counts():
            c = counts.setdefault((r["policy_id"], r["model_key"]), {})
            n = int(r["n"])
            c["routed"] = c.get("routed", 0) + n
            if r["route"] == "released":
                c["released"] = c.get("released", 0) + n
                continue
            c["reviewed"] = c.get("reviewed", 0) + n
            if r["phase"] == Phase.SAMPLING.value:
                c["sampled"] = c.get("sampled", 0) + n
                if r["outcome"] is not None:
                    c["sampled_decided"] = c.get("sampled_decided", 0) + n
                if r["outcome"] == "defect":
                    c["sampled_defects"] = c.get("sampled_defects", 0) + n
            elif r["outcome"] == "defect":
                c["screening_defects"] = c.get("screening_defects", 0) + n
        views = []
        for policy in policies:
            cells = []
            for s in states:
                if s["policy_id"] != policy.id:
                    continue
                c = counts.get((policy.id, s["model_key"]), {})
                cells.append(
                    CellState(
                        model_key=s["model_key"],
                        phase=Phase(s["phase"]),
                        clear_run=s["clear_run"],
                        cusum=s["cusum"],
                        routed=c.get("routed", 0),
                        released=c.get("released", 0),
                        reviewed=c.get("reviewed", 0),
                        sampled=c.get("sampled", 0),
                        sampled_decided=c.get("sampled_decided", 0),
                        sampled_defects=c.get("sampled_defects", 0),
                        screening_defects=c.get("screening_defects", 0),
                        alarms=alarms.get((policy.id, s["model_key"]), 0),
                    )
                )
            events = tuple(
                PolicyEvent(
                    policy_id=e["policy_id"],
                    kind=e["kind"],
                    at=e["at"],
                    actor=e["actor"],
                    model_key=e["model_key"],
                    note=e["note"],
                    old=e["old"],
                    new=e["new"],
                )
                for e in self._store.events(policy.id, limit=history)
            )
            views.append(PolicyView(policy, tuple(cells), events))
        return views

    def preview(
        self,
        category: str,
        *,
        aoql: float,
        fraction: float | None = None,
        max_review_share: float | None = None,
        min_confidence: float | None = None,
        model: str | None = None,
        trivial_edits_count: bool = False,
    ) -> PlanPreview:
        """The plan a policy would get, with the cell's evidence (no change made)."""
        cell = check_cell(category, min_confidence, model)
        check_aoql(aoql)
        if (fraction is None) == (max_review_share is None):
            raise InvalidArgument(
                "Give either a sampling fraction (--fraction) or a maximum review share "
                "(--max-review-share)."
            )
        recent = self._store.recent_decisions(
            category=cell.category,
            min_confidence=cell.min_confidence,
            model=cell.model,
            limit=HISTORY_DECISIONS,
        )
        outcomes = [
            is_defect(r["label"], r["edit_distance"], trivial_edits_count=trivial_edits_count)
            for r in reversed(recent)
        ]
        defects = sum(outcomes)
        if fraction is not None:
            plan = plan_for(aoql, fraction)
        else:
            assert max_review_share is not None
            rate = defects / len(outcomes) if outcomes else 0.0
            plan = plan_for_review_share(aoql, max_review_share, rate)
        return PlanPreview(
            cell=cell,
            aoql=aoql,
            plan=plan,
            decisions=len(outcomes),
            defects=defects,
            clears_screening=clears_screening(outcomes, plan.clearance),
            models=tuple(sorted({r["model_key"] for r in recent[: plan.clearance]})),
        )

    # -- changing -------------------------------------------------------------------------------
    def set(
        self,
        category: str,
        *,
        aoql: float,
        note: str,
        by: str,
        fraction: float | None = None,
        max_review_share: float | None = None,
        min_confidence: float | None = None,
        model: str | None = None,
        trivial_edits_count: bool = False,
        start_from_history: bool = False,
    ) -> PolicyView:
        """Put a cell under a continuous sampling plan promising ``aoql``, with sampling
        fraction ``fraction`` or the plan whose review share at the cell's measured defect
        rate is at most ``max_review_share``. Every state of the cell starts in screening,
        unless ``start_from_history`` and the cell's last ``i`` decisions are all clear."""
        note, by = self._lead(note, by)
        preview = self.preview(
            category,
            aoql=aoql,
            fraction=fraction,
            max_review_share=max_review_share,
            min_confidence=min_confidence,
            model=model,
            trivial_edits_count=trivial_edits_count,
        )
        if not self._store.category_known(preview.cell.category):
            raise InvalidArgument(
                f"Unknown category {category!r}: no draft was ever submitted in it."
            )
        values = {
            "cell": preview.cell.key(),
            "category": preview.cell.category,
            "min_confidence": preview.cell.min_confidence,
            "model": preview.cell.model,
            "mode": Mode.SAMPLING.value,
            "aoql": aoql,
            "fraction": preview.plan.fraction,
            "clearance": preview.plan.clearance,
            "trivial_edits_count": trivial_edits_count,
            "updated_by": by,
            **alarm_values(aoql),
        }
        from_history = start_from_history and preview.clears_screening
        return self._save(
            preview.cell,
            values,
            note=note,
            by=by,
            start=Phase.SAMPLING if from_history else None,
            models=preview.models if from_history else (),
        )

    def stop(
        self,
        category: str,
        *,
        note: str,
        by: str,
        min_confidence: float | None = None,
        model: str | None = None,
    ) -> PolicyView:
        """Back to full review for good: the policy stays, with its history, in mode full."""
        note, by = self._lead(note, by)
        cell = check_cell(category, min_confidence, model)
        with self._store.engines.write.begin() as conn:
            current = self._store.policy_by_cell(conn, cell.key())
        if current is None:
            raise InvalidArgument(f"No policy for {cell.describe()}: every draft is reviewed.")
        values = {"mode": Mode.FULL.value, "updated_by": by}
        return self._save(cell, values, note=note, by=by, start=None, models=())

    def _save(
        self,
        cell: Cell,
        values: dict[str, Any],
        *,
        note: str,
        by: str,
        start: Phase | None,
        models: Sequence[str],
    ) -> PolicyView:
        """Save the policy; its existing states restart in screening, and ``start`` (sampling:
        history cleared screening) applies to them and to the states of ``models``."""
        store = self._store
        with store.engines.write.begin() as conn:
            now = store.now(conn)
            current = store.policy_by_cell(conn, cell.key())
            old = current.to_json() if current is not None else None
            policy_id = store.save_policy(
                conn,
                policy_id=current.id if current else None,
                values={**values, "updated_at": now},
            )
            states = store.lock_states(conn, [policy_id])
            keys = {k[1] for k in states} | set(models)
            # A new or changed plan earns its sampling again, unless history already has.
            phase = start or Phase.SCREENING
            for key in sorted(keys):
                store.put_state(
                    conn,
                    policy_id=policy_id,
                    model_key=key,
                    state=PlanState(phase, 0),
                    cusum=0.0,
                    now=now,
                )
            new = dict(values)
            new["updated_at"] = now.isoformat()
            new["start"] = phase.value
            store.add_event(
                conn,
                policy_id=policy_id,
                kind="created" if current is None else "changed",
                at=now,
                actor=by,
                note=note,
                old=old,
                new=new,
            )
        return self._views([p for p in store.policies() if p.id == policy_id], history=500)[0]

    def reset(self, category: str | None = None, *, note: str, by: str) -> list[int]:
        """Back to full review for the next submitted draft: every plan of ``category`` (None:
        of every category) returns to screening, its clear-run count at 0."""
        note, by = self._lead(note, by)
        if category is None:
            return self._store.reset(policy_ids=None, by=by, note=note)
        ids = [p.id for p in self._store.policies() if p.cell.category == category]
        if not ids:
            raise InvalidArgument(f"No policy for category {category!r}: every draft is reviewed.")
        return self._store.reset(policy_ids=ids, by=by, note=note)

    # -- released drafts as results -------------------------------------------------------------
    def released_results(
        self, *, after: int, limit: int, include_delivered: bool
    ) -> Sequence[ReleasedDraft]:
        return self._store.released_results(
            after=after, limit=limit, include_delivered=include_delivered
        )

    def release_of(self, draft_key: int) -> ReleasedDraft | None:
        return self._store.release_of(draft_key)

    def ack_released(self, cursors: Sequence[int]) -> tuple[list[int], list[int]]:
        return self._store.ack_released(cursors)


def routing_of(released: ReleasedDraft) -> dict[str, Any]:
    """A released result's routing record, as ``Result.routing`` carries it."""
    return {
        "policy": released.policy_id,
        "phase": released.phase,
        "clear_run": released.clear_run,
        "probability_of_review": released.probability,
    }

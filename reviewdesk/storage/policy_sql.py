"""Review policies' statements: policies, their plans' shared state, routing and history.

The plan state of a cell is shared by every producer and reviewer. Routing reads it inside the
submit's own transaction. On PostgreSQL the database routes: the SECURITY DEFINER function
``rd_submit`` (definer_sql, its statement in submit_sql) inserts a submit's drafts and routes
them in one statement, holding the state rows FOR SHARE so that a decision cannot change a
phase under it, with the server's random generator (the SQL rules below). On SQLite (one
person's database) ``route_submitted`` and ``record_routings`` route in Python, under the
database's write lock (every write transaction begins IMMEDIATE). A decision's count (the
COUNT_ statements, inside the decision's own transaction) and a reset lock the state rows FOR
UPDATE.

A released draft's result cursor comes from the decision ids' sequence, so that results and
releases share one cursor order (``NEXT_CURSOR_SQLITE`` on SQLite, which has no sequence:
SqliteQueueStore's decision insert uses it too).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.defects import TRIVIAL_EDIT_DISTANCE
from reviewdesk.core.domain import Label
from reviewdesk.core.drift import Cusum
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.core.policy_cells import PROMPT_VERSION, Policy, Routing, model_key, policy_for
from reviewdesk.core.sampling_plan import Phase, PlanState, Route, review_probability, route
from reviewdesk.storage.driver_sql import bulk_insert
from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.tables import (
    DraftRow,
    PolicyEventRow,
    PolicyRoutingRow,
    PolicyRow,
    PolicyStateRow,
)
from reviewdesk.storage.types import UtcDateTime

POLICY = PolicyRow.__table__  # type: ignore[attr-defined]
STATE = PolicyStateRow.__table__  # type: ignore[attr-defined]
ROUTING = PolicyRoutingRow.__table__  # type: ignore[attr-defined]
EVENT = PolicyEventRow.__table__  # type: ignore[attr-defined]
DRAFT = DraftRow.__table__  # type: ignore[attr-defined]

# The next result cursor on SQLite: above every decision id and every released draft's cursor.
# A decision's id there is the largest rowid plus one, so SqliteQueueStore inserts decisions
# with it.
NEXT_CURSOR_SQLITE = (
    "(SELECT MAX(c) + 1 FROM (SELECT COALESCE(MAX(id), 0) AS c FROM decision "
    "UNION ALL SELECT COALESCE(MAX(cursor), 0) FROM policy_routing))"
)
# -- PostgreSQL's routing, in the database (rd_submit, storage/submit_sql.py) -----------------
# core/policy_cells.py's matching rule (``policy_for``, ``Cell.holds``) and ``model_key``, and
# core/sampling_plan.py's ``route`` and ``review_probability``, written again in SQL so that the
# server routes with its own random generator and a producer's login writes no routing itself.
# tests/test_routing_sql.py runs random drafts against random policies through both;
# docs/architecture.md lists the copy.

# The characters Python's str.strip() removes (str.isspace), as PostgreSQL text.
PROMPT_VERSION_LITERAL = "'" + PROMPT_VERSION + "'"
PY_WHITESPACE = (
    9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, *range(8192, 8203), 8232, 8233, 8239,
    8287, 12288,
)  # fmt: skip
_STRIP = "(" + " || ".join(f"chr({c})" for c in PY_WHITESPACE) + ")"


def py_str_pg(value: str) -> str:
    """SQL: Python's ``str()`` of the JSON scalar ``value`` (a ``json`` expression, whose number
    tokens are as the producer's JSON wrote them); NULL for null, a list or an object. A number
    with a point or an exponent is a float to Python: PostgreSQL's text of a float8 has the same
    shortest digits as Python's repr, but writes an exponent from 1e15 on (Python from 1e16)
    and no '.0' after a whole number."""
    token = f"({value})::text"
    f = f"({token}::float8::text)"
    digits = f"replace(ltrim(split_part({f}, 'e', 1), '-'), '.', '')"
    return f"""CASE json_typeof({value})
        WHEN 'string' THEN {value} #>> '{{}}'
        WHEN 'boolean' THEN CASE WHEN {token} = 'true' THEN 'True' ELSE 'False' END
        WHEN 'number' THEN CASE
            WHEN {token} !~ '[.eE]' THEN {token}
            WHEN {f} LIKE '%e+15' THEN CASE WHEN {f} LIKE '-%' THEN '-' ELSE '' END
                || rpad(left({digits}, 16), 16, '0') || '.'
                || COALESCE(NULLIF(substr({digits}, 17), ''), '0')
            WHEN {f} ~ '^-?[0-9]+$' THEN {f} || '.0'
            ELSE {f} END
        END"""


def model_key_pg(model: str, metadata: str) -> str:
    """SQL: core's ``model_key`` of a draft's ``model`` (text) and ``metadata`` (json)."""
    prompt = f"btrim({py_str_pg(f'{metadata} -> {PROMPT_VERSION_LITERAL}')}, {_STRIP})"
    return f"""CASE WHEN {prompt} <> ''
        THEN left(btrim(COALESCE({model}, '') || ' prompt ' || {prompt}, {_STRIP}), 200)
        ELSE COALESCE({model}, '') END"""


def holds_pg(policy: str, category: str, confidence: str, model: str) -> str:
    """SQL: whether the sampling policy ``policy`` (an alias of a policy row) holds the draft:
    core's ``Cell.holds``."""
    return (
        f"{policy}.mode = 'sampling' AND {policy}.category = {category}"
        f" AND ({policy}.model IS NULL OR {policy}.model = {model})"
        f" AND ({policy}.min_confidence IS NULL OR {confidence} >= {policy}.min_confidence)"
    )


def most_specific_pg(policy: str) -> str:
    """SQL: an ORDER BY putting first the policy core's ``policy_for`` picks among those that
    hold a draft: one naming its model, then the highest floor (no two cells tie)."""
    return (
        f"({policy}.model IS NOT NULL) DESC, COALESCE({policy}.min_confidence, -1) DESC,"
        f" {policy}.id"
    )


# A uniform draw in [0, 1) from the server's CSPRNG: gen_random_uuid()'s last 48 bits, all
# random (a version 4 UUID's fixed version and variant bits are in its third and fourth groups).
DRAW_PG = "(('x' || right(gen_random_uuid()::text, 12))::bit(48)::int8::float8 / 281474976710656)"


def route_pg(phase: str, fraction: str) -> str:
    """SQL: core's ``route``: released when the cell samples and the draw is at or above f."""
    return (
        f"CASE WHEN {phase} = 'sampling' AND {DRAW_PG} >= {fraction}"
        " THEN 'released' ELSE 'review' END"
    )


def review_probability_pg(phase: str, fraction: str) -> str:
    """SQL: core's ``review_probability``."""
    return f"CASE WHEN {phase} = 'sampling' THEN {fraction} ELSE 1.0::float8 END"


_CHUNK = 1000

# -- a decision's count toward its plan -------------------------------------------------------
# The count runs inside the decision's own transaction: in rd_decide on PostgreSQL (definer_sql
# renders it from queue_pg's statements), in SqliteQueueStore's decide on SQLite. These are the
# rules of core/defects.is_defect and core/drift.after_decision (with sampling_plan.
# after_outcome) written again in SQL, once for both engines; core keeps the Python model for
# simulations, and tests/test_policy_count_sql.py runs both on random decision sequences. The
# drift alarm's logs and interpolated limit are the policy row's (cusum_defect, cusum_clear,
# cusum_limit, set with the policy), so the SQL only adds, compares and takes a maximum.
#
# ``{now}`` is the engine's time (PostgreSQL ``now()``, which definer_sql renders as the
# function's clock; SQLite ``:now``), ``{json}`` the engine's JSON object builder; ``:key`` is
# the decision's idempotency key. A live decision counts when the draft was routed, its cell's
# state exists, and the routing was not counted yet, or was counted clear and this decision is
# a defect (a draft decided again after an undo); nothing else counts twice.
_DEFECT = (
    "(dec.label IN ({stopped}) OR (dec.label = {edited} AND (p.trivial_edits_count "
    "OR dec.edit_distance IS NULL OR dec.edit_distance > {trivial})))"
).format(
    stopped=", ".join(f"'{label.value}'" for label in (Label.REJECTED, Label.ESCALATED)),
    edited=f"'{Label.EDITED.value}'",
    trivial=repr(TRIVIAL_EDIT_DISTANCE),
)
_COUNTED = f"""counted AS (
        SELECT c.draft_id, c.policy_id, c.model_key, c.defect, c.sampled, c.clearance,
            c.cusum_defect, c.cusum_clear, c.cusum_limit
        FROM (SELECT r.draft_id, r.policy_id, r.model_key, r.outcome, {_DEFECT} AS defect,
                r.phase = 'sampling' AND r.route = 'review' AS sampled, p.clearance,
                p.cusum_defect, p.cusum_clear, p.cusum_limit
            FROM decision dec
            JOIN policy_routing r ON r.draft_id = dec.draft_id
            JOIN policy p ON p.id = r.policy_id
            WHERE dec.idempotency_key = :key AND dec.undone_at IS NULL
              AND EXISTS (SELECT 1 FROM policy_state s
                          WHERE s.policy_id = r.policy_id AND s.model_key = r.model_key)) c
        WHERE c.outcome IS NULL OR (c.outcome = 'clear' AND c.defect))"""
# The cell's next state (core/drift.after_decision): only a sampled outcome moves the
# statistic, which stays at 0 or above; reaching the limit restarts it and holds the cell
# (alarm) unless it is held already; otherwise CSP-1 (core/sampling_plan.after_outcome).
_PLAN_NEXT = f"""WITH {_COUNTED}, raised AS (
        SELECT c.policy_id, c.model_key, c.defect, c.sampled, c.clearance, c.cusum_limit,
            s.phase AS old_phase, s.clear_run AS old_run,
            CASE WHEN NOT c.sampled THEN s.cusum
                 WHEN s.cusum + CASE WHEN c.defect THEN c.cusum_defect ELSE c.cusum_clear END
                      > 0.0
                 THEN s.cusum + CASE WHEN c.defect THEN c.cusum_defect ELSE c.cusum_clear END
                 ELSE 0.0 END AS statistic
        FROM counted c JOIN policy_state s
          ON s.policy_id = c.policy_id AND s.model_key = c.model_key
    ), judged AS (
        SELECT raised.*, (sampled AND statistic >= cusum_limit) AS signal FROM raised
    ), plan_next AS (
        SELECT policy_id, model_key, old_phase, old_run,
            CASE WHEN old_phase = 'held' OR signal THEN 'held'
                 WHEN defect THEN 'screening'
                 WHEN old_phase = 'sampling' OR old_run + 1 >= clearance THEN 'sampling'
                 ELSE 'screening' END AS phase,
            CASE WHEN old_phase = 'held' THEN old_run
                 WHEN signal OR defect THEN 0
                 WHEN old_phase = 'sampling' THEN old_run
                 WHEN old_run + 1 >= clearance THEN 0
                 ELSE old_run + 1 END AS clear_run,
            CASE WHEN signal THEN 0.0 ELSE statistic END AS cusum,
            CASE WHEN old_phase = 'held' THEN NULL
                 WHEN signal THEN 'alarm'
                 WHEN defect AND old_phase = 'sampling' THEN 'defect'
                 WHEN NOT defect AND old_phase <> 'sampling' AND old_run + 1 >= clearance
                 THEN 'cleared' END AS kind
        FROM judged
    )"""
# In order, in the decision's transaction: the cell's state row locked (PostgreSQL; its row
# count says whether there is anything to count), the phase change or alarm recorded with the
# state before and after, the state moved, the routing marked counted.
COUNT_LOCK = f"""WITH {_COUNTED}
    UPDATE policy_state SET updated_at = {{now}}
    FROM counted c
    WHERE policy_state.policy_id = c.policy_id AND policy_state.model_key = c.model_key"""
COUNT_EVENTS = f"""{_PLAN_NEXT}
    INSERT INTO policy_event (policy_id, model_key, kind, actor, at, note, "old", "new")
    SELECT policy_id, model_key, kind, NULL, {{now}}, NULL,
        {{json}}('phase', old_phase, 'clear_run', old_run),
        {{json}}('phase', phase, 'clear_run', clear_run)
    FROM plan_next WHERE kind IS NOT NULL"""
COUNT_STATE = f"""{_PLAN_NEXT}
    UPDATE policy_state SET phase = n.phase, clear_run = n.clear_run, cusum = n.cusum,
        updated_at = {{now}}
    FROM plan_next n
    WHERE policy_state.policy_id = n.policy_id AND policy_state.model_key = n.model_key"""
COUNT_OUTCOME = f"""WITH {_COUNTED}
    UPDATE policy_routing SET outcome = CASE WHEN c.defect THEN 'defect' ELSE 'clear' END
    FROM counted c
    WHERE policy_routing.draft_id = c.draft_id"""
JSON_OBJECT = {"postgresql": "jsonb_build_object", "sqlite": "json_object"}


def count_missed(conn: Connection) -> int:
    """Count, oldest first, the live decisions on routed drafts that their plans have not
    counted: those a client made before migration 0017, which counted them after the decision
    in a transaction of its own (and did not when it stopped in between). Returns how many."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        lock, *rest = (text(sql) for sql in count_statements(dialect, "now()"))
        params: dict[str, Any] = {}
    else:
        lock, *rest = (
            text(sql).bindparams(bindparam("now", type_=UtcDateTime))
            if ":now" in sql
            else text(sql)
            for sql in count_statements(dialect, ":now")
        )
        params = {"now": datetime.now(UTC)}
    keys = conn.execute(
        text(
            """SELECT dec.idempotency_key FROM policy_routing r JOIN decision dec
                 ON dec.draft_id = r.draft_id AND dec.undone_at IS NULL
               WHERE r.route = 'review' AND r.outcome IS NULL ORDER BY dec.id"""
        )
    ).scalars()
    counted = 0
    for key in list(keys):
        if conn.execute(lock, {**params, "key": key}).rowcount:
            counted += 1
            for statement in rest:
                conn.execute(statement, {**params, "key": key})
    return counted


def alarm_values(aoql: float) -> dict[str, float]:
    """The policy row's drift alarm columns for ``aoql`` (core/drift.Cusum.for_rate)."""
    alarm = Cusum.for_rate(aoql)
    up, down = alarm.weights
    return {"cusum_defect": up, "cusum_clear": down, "cusum_limit": alarm.limit}


def count_statements(dialect: str, now: str) -> tuple[str, str, str, str]:
    """The count's statements for ``dialect`` with time ``now``: (lock, events, state,
    outcome); the last three run only when the lock found a state to count toward."""
    json = JSON_OBJECT[dialect]
    return tuple(  # type: ignore[return-value]
        sql.replace("{now}", now).replace("{json}", json)
        for sql in (COUNT_LOCK, COUNT_EVENTS, COUNT_STATE, COUNT_OUTCOME)
    )


_ROUTING_COLUMNS = (
    "draft_id",
    "policy_id",
    "model_key",
    "route",
    "phase",
    "clear_run",
    "probability",
    "routed_at",
    "cursor",
)

# Policies read by routing: a process-wide cache is not used, so that a lead's change or reset
# applies to the next draft submitted by any producer.
PolicyBuilder = Callable[[RowMapping], Policy]


@dataclass(frozen=True)
class ReleasedDraft:
    """A draft a review policy released unreviewed, as its result is read: the routing that
    released it, the draft's text, category and model, and its delivery."""

    cursor: int
    policy_id: int
    phase: str
    clear_run: int
    probability: float
    routed_at: datetime
    delivered_at: datetime | None
    draft_id: str  # the draft's external id
    draft: str
    category: str
    model: str | None


def released_record(row: Mapping[Any, Any]) -> ReleasedDraft:
    """A released draft's row (``released_results``, ``release_of``) as its record."""
    return ReleasedDraft(
        cursor=row["cursor"],
        policy_id=row["policy_id"],
        phase=row["phase"],
        clear_run=row["clear_run"],
        probability=row["probability"],
        routed_at=row["routed_at"],
        delivered_at=row["delivered_at"],
        draft_id=row["external_id"],
        draft=row["draft"],
        category=row["category"],
        model=row["model"],
    )


class PolicyStore:
    def __init__(
        self,
        engines: Engines,
        build: PolicyBuilder,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        self.clock = clock if (clock is not None or self.postgres) else SystemClock()
        self._build = build
        # A CSPRNG unless a test injects a seeded generator.
        self.rng = rng if rng is not None else random.SystemRandom()

    # -- time -----------------------------------------------------------------------------------
    def now(self, conn: Connection) -> datetime:
        if self.clock is not None:
            return self.clock.now()
        value = conn.execute(text("SELECT now()")).scalar_one()
        assert isinstance(value, datetime)
        return value

    def _read(self) -> Connection:
        return self.engines.write.connect().execution_options(**{READ_ONLY: True})

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self.postgres else sqlite.insert)(table)

    # -- policies -------------------------------------------------------------------------------
    def policies(
        self, conn: Connection | None = None, *, sampling_only: bool = False
    ) -> list[Policy]:
        stmt = select(POLICY).order_by(POLICY.c.category, POLICY.c.id)
        if sampling_only:
            stmt = stmt.where(POLICY.c.mode == "sampling")
        if conn is not None:
            return [self._build(r) for r in conn.execute(stmt).mappings()]
        with self._read() as read:
            return [self._build(r) for r in read.execute(stmt).mappings()]

    def policy_by_cell(self, conn: Connection, cell_key: str) -> Policy | None:
        row = conn.execute(select(POLICY).where(POLICY.c.cell == cell_key)).mappings().first()
        return None if row is None else self._build(row)

    def save_policy(
        self,
        conn: Connection,
        *,
        policy_id: int | None,
        values: Mapping[str, Any],
    ) -> int:
        """Insert (``policy_id`` None) or update a policy row; returns its id."""
        if policy_id is None:
            return int(
                conn.execute(insert(POLICY).returning(POLICY.c.id), dict(values)).scalar_one()
            )
        conn.execute(update(POLICY).where(POLICY.c.id == policy_id).values(**values))
        return policy_id

    def lock_states(
        self, conn: Connection, policy_ids: Sequence[int], *, share: bool = False
    ) -> dict[tuple[int, str], RowMapping]:
        """The state rows of ``policy_ids``, locked in key order (PostgreSQL; SQLite's write
        lock is already held)."""
        if not policy_ids:
            return {}
        stmt = (
            select(STATE)
            .where(STATE.c.policy_id.in_(sorted(set(policy_ids))))
            .order_by(STATE.c.policy_id, STATE.c.model_key)
        )
        if self.postgres:
            stmt = stmt.with_for_update(read=share)
        return {(r["policy_id"], r["model_key"]): r for r in conn.execute(stmt).mappings()}

    def put_state(
        self,
        conn: Connection,
        *,
        policy_id: int,
        model_key: str,
        state: PlanState,
        cusum: float,
        now: datetime,
    ) -> None:
        stmt = self._insert(STATE).values(
            policy_id=policy_id,
            model_key=model_key,
            phase=state.phase.value,
            clear_run=state.clear_run,
            cusum=cusum,
            updated_at=now,
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["policy_id", "model_key"],
                set_={
                    "phase": state.phase.value,
                    "clear_run": state.clear_run,
                    "cusum": cusum,
                    "updated_at": now,
                },
            )
        )

    def add_event(
        self,
        conn: Connection,
        *,
        policy_id: int,
        kind: str,
        at: datetime,
        actor: str | None = None,
        model_key: str | None = None,
        note: str | None = None,
        old: Mapping[str, Any] | None = None,
        new: Mapping[str, Any] | None = None,
    ) -> None:
        conn.execute(
            insert(EVENT),
            {
                "policy_id": policy_id,
                "model_key": model_key,
                "kind": kind,
                "actor": actor,
                "at": at,
                "note": note,
                "old": dict(old) if old is not None else None,
                "new": dict(new) if new is not None else None,
            },
        )

    def reset(
        self, *, policy_ids: Sequence[int] | None, by: str, note: str, kind: str = "reset"
    ) -> list[int]:
        """Every state of the policies (None: all) back to screening with a count of 0, in one
        transaction; returns the policies reset."""
        with self.engines.write.begin() as conn:
            now = self.now(conn)
            ids = (
                [r[0] for r in conn.execute(select(POLICY.c.id).order_by(POLICY.c.id))]
                if policy_ids is None
                else sorted(set(policy_ids))
            )
            states = self.lock_states(conn, ids)
            for pid in ids:
                old = {
                    key[1]: {"phase": r["phase"], "clear_run": r["clear_run"]}
                    for key, r in states.items()
                    if key[0] == pid
                }
                conn.execute(
                    update(STATE)
                    .where(STATE.c.policy_id == pid)
                    .values(phase="screening", clear_run=0, cusum=0.0, updated_at=now)
                )
                self.add_event(
                    conn,
                    policy_id=pid,
                    kind=kind,
                    at=now,
                    actor=by,
                    note=note,
                    old={"states": old},
                    new={"phase": "screening", "clear_run": 0},
                )
            return ids

    # -- routing (inside QueueStore.submit's transaction) ---------------------------------------
    def route_submitted(
        self, conn: Connection, now: datetime, fresh: Sequence[DraftSubmission]
    ) -> list[Routing]:
        """SQLite: route the drafts about to be inserted that fall in a cell under a sampling
        policy: each is queued for review or released, at random, from the plan state read in
        this transaction. QueueStore.submit inserts the released ones as released, then
        ``record_routings`` keeps every routing, with the released drafts' result cursors."""
        policies = self.policies(conn, sampling_only=True)
        if not policies:
            return []
        # Only a category with a policy can match: most drafts skip the rule at once.
        by_category: dict[str, list[Policy]] = {}
        for p in policies:
            by_category.setdefault(p.cell.category, []).append(p)
        matched: list[tuple[DraftSubmission, Policy, str]] = []
        for rec in fresh:
            candidates = by_category.get(rec.category)
            if candidates is None:
                continue
            policy = policy_for(candidates, rec.category, rec.confidence, rec.model)
            if policy is not None:
                matched.append((rec, policy, model_key(rec.model, rec.metadata)))
        if not matched:
            return []
        fractions = {p.id: p.plan.fraction for _, p, _ in matched}
        keys = sorted({(p.id, version) for _, p, version in matched})
        self._start_states(conn, keys, now)
        states = self.lock_states(conn, [k[0] for k in keys], share=True)
        plans: dict[tuple[int, str], tuple[Phase, int, float, float]] = {}
        for key in keys:
            phase = Phase(states[key]["phase"])
            fraction = fractions[key[0]]
            plans[key] = (
                phase,
                states[key]["clear_run"],
                fraction,
                review_probability(phase, fraction),
            )
        draw = self.rng.random
        sampling = Phase.SAMPLING
        out = []
        for rec, policy, version in matched:
            phase, run, fraction, probability = plans[(policy.id, version)]
            where = route(phase, fraction, draw() if phase is sampling else 0.0)
            out.append(
                Routing(rec.id, where, policy.id, phase, run, probability, model_key=version)
            )
        return out

    def record_routings(
        self,
        conn: Connection,
        now: datetime,
        routings: Sequence[Routing],
        keys: Mapping[str, int],
    ) -> None:
        """Keep the routings of the drafts just inserted (``keys``: their keys by id), the
        released ones with their result cursors, in routing order."""
        if not routings:
            return
        # An enum member's ``value`` is a descriptor call: a dict holds them for the rows.
        text_of: dict[Route | Phase, str] = {m: m.value for m in (*Route, *Phase)}
        out = Route.RELEASED
        cursors = iter(self._next_cursors(conn, sum(r.route is out for r in routings)))
        bulk_insert(
            conn,
            ROUTING,
            _ROUTING_COLUMNS,
            [
                (keys[r.id], r.policy_id, r.model_key, text_of[r.route], text_of[r.phase],
                 r.clear_run, r.probability, now, next(cursors) if r.route is out else None)
                for r in routings
            ],
        )  # fmt: skip

    def _start_states(
        self, conn: Connection, keys: Sequence[tuple[int, str]], now: datetime
    ) -> None:
        """Create missing states in screening; a new model version of a policy that already
        has others is recorded in the policy's history."""
        stmt = (
            self._insert(STATE)
            .values(
                [
                    {
                        "policy_id": pid,
                        "model_key": model,
                        "phase": "screening",
                        "clear_run": 0,
                        "cusum": 0.0,
                        "updated_at": now,
                    }
                    for pid, model in keys
                ]
            )
            .on_conflict_do_nothing(index_elements=["policy_id", "model_key"])
            .returning(STATE.c.policy_id, STATE.c.model_key)
        )
        created = list(conn.execute(stmt))
        for pid, model in created:
            others = conn.execute(
                select(func.count())
                .select_from(STATE)
                .where(STATE.c.policy_id == pid, STATE.c.model_key != model)
            ).scalar_one()
            if others:
                self.add_event(
                    conn,
                    policy_id=pid,
                    model_key=model,
                    kind="model",
                    at=now,
                    new={"phase": "screening", "clear_run": 0},
                )

    def _next_cursors(self, conn: Connection, n: int) -> list[int]:
        """SQLite: ``n`` result cursors after every decision's and release's (the write lock
        is held). PostgreSQL's rd_submit draws them from the decisions' sequence."""
        if not n:
            return []
        first = int(conn.execute(text(f"SELECT {NEXT_CURSOR_SQLITE}")).scalar_one())
        return list(range(first, first + n))

    # -- results --------------------------------------------------------------------------------
    def released_results(
        self, *, after: int, limit: int, include_delivered: bool
    ) -> list[ReleasedDraft]:
        conditions = "r.cursor IS NOT NULL AND r.cursor > :after"
        if not include_delivered:
            conditions += " AND r.delivered_at IS NULL"
        stmt = text(
            f"""SELECT r.cursor, r.policy_id, r.phase, r.clear_run, r.probability, r.routed_at,
                    r.delivered_at, d.external_id, d.draft, d.category, d.model
                FROM policy_routing r JOIN draft d ON d.id = r.draft_id
                WHERE {conditions} ORDER BY r.cursor LIMIT :limit"""
        ).columns(routed_at=ROUTING.c.routed_at.type, delivered_at=ROUTING.c.delivered_at.type)
        with self._read() as conn:
            rows = conn.execute(stmt, {"after": after, "limit": limit}).mappings()
            return [released_record(r) for r in rows]

    def release_of(self, draft_key: int) -> ReleasedDraft | None:
        stmt = text(
            """SELECT r.cursor, r.policy_id, r.phase, r.clear_run, r.probability, r.routed_at,
                    r.delivered_at, d.external_id, d.draft, d.category, d.model
                FROM policy_routing r JOIN draft d ON d.id = r.draft_id
                WHERE r.draft_id = :k AND r.cursor IS NOT NULL"""
        ).columns(routed_at=ROUTING.c.routed_at.type, delivered_at=ROUTING.c.delivered_at.type)
        with self._read() as conn:
            row = conn.execute(stmt, {"k": draft_key}).mappings().first()
            return released_record(row) if row is not None else None

    def ack_released(self, cursors: Sequence[int]) -> tuple[list[int], list[int]]:
        """Mark released drafts delivered: (cursors acknowledged now, already delivered)."""
        if not cursors:
            return [], []
        with self.engines.write.begin() as conn:
            now = self.now(conn)
            acked: list[int] = []
            known: list[int] = []
            for start in range(0, len(cursors), _CHUNK):
                chunk = list(cursors[start : start + _CHUNK])
                acked += [
                    int(c)
                    for (c,) in conn.execute(
                        update(ROUTING)
                        .where(ROUTING.c.cursor.in_(chunk), ROUTING.c.delivered_at.is_(None))
                        .values(delivered_at=now)
                        .returning(ROUTING.c.cursor)
                    )
                ]
                known += [
                    int(c)
                    for (c,) in conn.execute(
                        select(ROUTING.c.cursor).where(ROUTING.c.cursor.in_(chunk))
                    )
                ]
            done = set(acked)
            return sorted(done), sorted(c for c in known if c not in done)

    # -- reading --------------------------------------------------------------------------------
    def states(self) -> list[RowMapping]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(STATE).order_by(STATE.c.policy_id, STATE.c.model_key)
                ).mappings()
            )

    def routing_counts(self) -> list[RowMapping]:
        """Per policy and model: drafts routed, by route, phase and counted outcome."""
        stmt = text(
            """SELECT policy_id, model_key, route, phase, outcome, count(*) AS n
               FROM policy_routing GROUP BY policy_id, model_key, route, phase, outcome"""
        )
        with self._read() as conn:
            return list(conn.execute(stmt).mappings())

    def alarm_counts(self) -> dict[tuple[int, str], int]:
        """Drift alarms ever raised, per policy and model version."""
        stmt = text(
            """SELECT policy_id, COALESCE(model_key, '') AS model_key, count(*) AS n
               FROM policy_event WHERE kind = 'alarm' GROUP BY policy_id, model_key"""
        )
        with self._read() as conn:
            return {(r[0], r[1]): int(r[2]) for r in conn.execute(stmt)}

    def events(self, policy_id: int | None = None, limit: int = 200) -> list[RowMapping]:
        stmt = select(EVENT).order_by(EVENT.c.id.desc()).limit(limit)
        if policy_id is not None:
            stmt = stmt.where(EVENT.c.policy_id == policy_id)
        with self._read() as conn:
            return list(conn.execute(stmt).mappings())

    def recent_decisions(
        self,
        *,
        category: str,
        min_confidence: float | None,
        model: str | None,
        limit: int,
    ) -> list[RowMapping]:
        """The cell's latest live decisions on drafts that are not gold, newest first."""
        conditions = ["dec.undone_at IS NULL", "NOT d.is_gold", "d.category = :category"]
        params: dict[str, Any] = {"category": category, "limit": limit}
        if min_confidence is not None:
            conditions.append("d.confidence >= :floor")
            params["floor"] = min_confidence
        if model is not None:
            conditions.append("d.model = :model")
            params["model"] = model
        stmt = text(
            f"""SELECT dec.label, dec.edit_distance, COALESCE(d.model, '') AS model_key
                FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE {" AND ".join(conditions)} ORDER BY dec.id DESC LIMIT :limit"""
        )
        with self._read() as conn:
            return list(conn.execute(stmt, params).mappings())

    def category_known(self, category: str) -> bool:
        """Whether any draft was ever submitted in ``category``."""
        stmt = text("SELECT 1 FROM draft WHERE category = :c LIMIT 1")
        with self._read() as conn:
            return conn.execute(stmt, {"c": category}).first() is not None

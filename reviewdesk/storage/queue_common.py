"""What both engines' queue stores share: the engine-neutral SQL fragments, and the base class
holding the operations that are the same on both (reads, settings, results, acknowledgements,
undo, the submit's steps). The engine modules (queue_pg.py, queue_sqlite.py) hold only what
differs; the contract is queue_contract.py.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    TextClause,
    TextualSelect,
    bindparam,
    column,
    insert,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeEngine

from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import (
    Decision,
    Draft,
    Event,
    EventKind,
    Label,
    Risk,
    Severity,
    ThreadEntry,
)
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.core.policy_cells import Routing
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.queue_contract import (
    Acknowledged,
    Attempt,
    ClaimOutcome,
    DecisionRecord,
    DecisionWrite,
    DecisionWritten,
    QueuedDraft,
    Renewal,
    SessionFence,
    SubmitRouting,
    Submitted,
    Undone,
)
from reviewdesk.storage.security_sql import Identity
from reviewdesk.storage.tables import DraftEventRow, DraftRow
from reviewdesk.storage.types import JsonDocument, UtcDateTime

DRAFT = DraftRow.__table__  # type: ignore[attr-defined]
EVENT = DraftEventRow.__table__  # type: ignore[attr-defined]

DRAFT_COLUMNS = (
    "id, external_id, draft, input, context, category, risk, model, confidence, thread, "
    "priority, created_at, submitted_at, metadata, lease_id, lease_epoch, lease_owner, "
    "leased_at, visible_at"
)
_TYPED: dict[str, TypeEngine[Any] | type[TypeEngine[Any]]] = {
    "context": JsonDocument,
    "metadata": JsonDocument,
    "created_at": UtcDateTime,
    "submitted_at": UtcDateTime,
    "leased_at": UtcDateTime,
    "visible_at": UtcDateTime,
    "decided_at": UtcDateTime,
    "expires_at": UtcDateTime,
    "undone_at": UtcDateTime,
    "delivered_at": UtcDateTime,
    "at": UtcDateTime,
    "now": UtcDateTime,
    "expires": UtcDateTime,
    "settled": UtcDateTime,
    "value": JsonDocument,
    "idle_after": UtcDateTime,
    "resolved_at": UtcDateTime,
    "attempted_at": UtcDateTime,
    "day_start": UtcDateTime,
}
SUBMIT_CHUNK = 1000

SUBMIT_COLUMNS = (
    "external_id",
    "content_hash",
    "draft",
    "input",
    "context",
    "category",
    "risk",
    "model",
    "confidence",
    "thread",
    "priority",
    "created_at",
    "submitted_at",
    "metadata",
    "state",
    "visible_at",
    "lease_epoch",
)
MAX_DRAFT_ID = text("SELECT COALESCE(MAX(id), 0) FROM draft")
SUBMITTED = """INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    SELECT id, 'submitted', NULL, :now, 0 FROM draft WHERE {drafts} ORDER BY id"""


def typed_sql(
    sql: str,
    *,
    columns: Iterable[str] = (),
    expanding: Iterable[str] = (),
    arrays: Iterable[str] = (),
    result: Sequence[str] | None = None,
) -> TextClause | TextualSelect:
    """A text statement whose timestamp and JSON parameters and result columns are typed.

    ``result`` lists every result column in order. SQLAlchemy then matches the columns by
    position and keeps the result metadata with the cached compiled statement; matched by name
    (``columns``, or none) it rebuilds that metadata on every execution, which is a large part of
    a claim's client time. The hot statements use it; tests check each list against the cursor.
    """
    clause = text(sql)
    binds: list[BindParameter[Any]] = [
        bindparam(name, type_=type_)
        for name, type_ in _TYPED.items()
        if re.search(rf":{name}\b", sql)
    ]
    binds += [bindparam(name, expanding=True) for name in expanding]
    # A PostgreSQL array of ids (``id <> ALL(:exclude)``): one parameter, however many ids.
    binds += [bindparam(name, type_=postgresql.ARRAY(BigInteger)) for name in arrays]
    if binds:
        clause = clause.bindparams(*binds)
    if result is not None:
        return clause.columns(*(column(name, _TYPED.get(name)) for name in result))
    typed = {name: _TYPED[name] for name in columns if name in _TYPED}
    return clause.columns(**typed) if typed else clause


WHY = """CASE WHEN state <> 'pending' THEN 'already_decided'
              WHEN lease_id IS NULL THEN 'released'
              WHEN lease_id <> :lease_id THEN 'taken_over'
              WHEN visible_at <= {now} THEN 'expired' END"""

# The key under which the team's session limits are stored (services.sessions writes them).
LIMITS_SETTING = "session_limits"


@dataclass(frozen=True)
class JsonAccess:
    """An engine's spelling of what the limits' SQL needs: a number read from a JSON document
    (``{doc}``, ``{key}``), whether the value there is a number or a JSON null, and a time some
    seconds before another (``{at}``, ``{seconds}``)."""

    number: str
    is_number: str
    is_null: str
    seconds_before: str


PG_JSON = JsonAccess(
    number="CAST({doc} ->> '{key}' AS float8)",
    is_number="jsonb_typeof({doc} -> '{key}') = 'number'",
    is_null="jsonb_typeof({doc} -> '{key}') = 'null'",
    seconds_before="{at} - make_interval(secs => {seconds})",
)
# SQLite's date functions keep milliseconds: the microseconds of ``{at}`` (a timestamp as
# UtcDateTime stores it, six digits after the point) are carried over as they are.
SQLITE_JSON = JsonAccess(
    number="json_extract({doc}, '$.{key}')",
    is_number="json_type({doc}, '$.{key}') IN ('integer', 'real')",
    is_null="json_type({doc}, '$.{key}') = 'null'",
    seconds_before=(
        "strftime('%Y-%m-%d %H:%M:%f', substr({at}, 1, 23), '-' || ({seconds}) || ' seconds')"
        " || substr({at}, 24)"
    ),
)
# The limits the database holds sessions to (SessionLimits' fields).
SERVER_LIMITS = (
    "reviews_per_session",
    "minutes_per_session",
    "reviews_per_day",
    "sessions_per_day",
    "break_minutes",
    "idle_end_minutes",
)


def team_limits(json: JsonAccess) -> str:
    """SQL for a one-row table of the team's session limits (SERVER_LIMITS) as stored in the
    setting table: the stored number; NULL where the lead switched the limit off (a JSON
    null); SessionLimits' default where none is stored (no setting, or no such key)."""
    defaults = SessionLimits()
    doc = "limits_setting.value"

    def limit(name: str) -> str:
        default = getattr(defaults, name)
        fallback = "NULL" if default is None else repr(float(default))
        where = {"doc": doc, "key": name}
        return (
            f"CASE WHEN {json.is_number.format(**where)} THEN {json.number.format(**where)} "
            f"WHEN {json.is_null.format(**where)} THEN NULL ELSE {fallback} END AS {name}"
        )

    columns = ",\n            ".join(limit(name) for name in SERVER_LIMITS)
    return f"""SELECT {columns}
        FROM (SELECT 1 AS one) AS one
        LEFT JOIN setting AS limits_setting ON limits_setting.key = '{LIMITS_SETTING}'"""


def session_open(json: JsonAccess, now: str) -> str:
    """The open session a claim is fenced on (``:session_id``), at ``now``: not ended, not
    spent, not idle, by the team's limits as the database holds them (team_limits), so that
    the limits hold wherever drafts are claimed, whatever a caller passes. Python's copy of
    these rules (core.sessions.session_limit_reached and idle_end) tells the desk why a
    session ended; tests/test_server_limits.py holds the two to the same answers."""
    session = "review_session"
    idle_cutoff = json.seconds_before.format(at=now, seconds="lim.idle_end_minutes * 60")
    # The session is the claimer's own: a function runs as the owner, so row-level security
    # would not stop a login from claiming under another person's open session.
    return f"""{session}.id = :session_id AND {session}.reviewer = :reviewer
        AND {session}.ended_at IS NULL AND EXISTS (
        SELECT 1 FROM ({team_limits(json)}) AS lim
        WHERE (lim.reviews_per_session IS NULL
               OR {session}.claims < lim.reviews_per_session)
          AND (lim.reviews_per_day IS NULL
               OR {session}.day_reviews_before + {session}.claims < lim.reviews_per_day)
          AND (lim.minutes_per_session IS NULL
               OR {session}.counted_seconds < lim.minutes_per_session * 60)
          AND {session}.last_activity_at > {idle_cutoff})"""


# A load of this many drafts refreshes the planner's statistics of the draft table (PostgreSQL).
ANALYZE_AFTER_SUBMIT = 10_000
# How far down the claim order a varied claim looks before it asks each category instead.
VARIETY_HEAD = 32


def varied_pick(*, now: str, not_excluded: str) -> str:
    """SQL for the id of the next draft of another category than ``:avoid`` (or none).

    The variety rule: after a run of one category, the next draft is the first in claim order
    of any other category, never below the top waiting priority. Filtering the claim order by
    category would walk every pending draft of the run's category when it dominates the queue
    (linear in the queue). Instead: the first VARIETY_HEAD drafts in claim order are looked at
    (``ix_draft_claim_order``); only when all of them are of the run's category is each other
    category asked for its own first draft, one index probe per category with drafts pending
    (``ix_draft_category_claim``, a loose index scan), and the first of those answers. Either
    way the cost depends on the number of categories, never on the number of drafts.

    One statement for both engines; ``not_excluded`` is the engine's spelling of "{col} is not
    one of :exclude".
    """

    def claimable(table: str) -> str:
        return (
            f"{table}.state = 'pending' AND {table}.visible_at <= {now} AND "
            + not_excluded.format(col=f"{table}.id")
        )

    return f"""WITH RECURSIVE head AS (
        SELECT id, category, priority, created_at FROM draft WHERE {claimable("draft")}
        ORDER BY priority DESC, created_at, id LIMIT {VARIETY_HEAD}
    ), top AS (
        SELECT max(priority) AS priority, count(*) AS seen FROM head
    ), near AS (
        SELECT id, priority, created_at FROM head
        WHERE category <> :avoid AND priority >= (SELECT priority FROM top)
    ), categories(category) AS (
        SELECT (SELECT category FROM draft WHERE state = 'pending' AND category IS NOT NULL
                ORDER BY category LIMIT 1)
        WHERE NOT EXISTS (SELECT 1 FROM near) AND (SELECT seen FROM top) = {VARIETY_HEAD}
        UNION ALL
        SELECT (SELECT d.category FROM draft AS d
                WHERE d.state = 'pending' AND d.category > categories.category
                ORDER BY d.category LIMIT 1)
        FROM categories WHERE categories.category IS NOT NULL
    ), far AS (
        SELECT d.id, d.priority, d.created_at FROM draft AS d
        WHERE d.id IN (
            SELECT (SELECT c.id FROM draft AS c
                    -- A range of one value, not '=': with '=' the planner may walk the claim
                    -- order index filtering on category, which is linear in a big queue.
                    WHERE c.category >= categories.category
                      AND c.category <= categories.category AND {claimable("c")}
                      AND c.priority >= (SELECT priority FROM top)
                    ORDER BY c.category, c.priority DESC, c.created_at, c.id LIMIT 1)
            FROM categories
            WHERE categories.category IS NOT NULL AND categories.category <> :avoid)
    )
    SELECT id FROM (SELECT * FROM near UNION ALL SELECT * FROM far) AS candidates
    ORDER BY priority DESC, created_at, id LIMIT 1"""


# A decision's effect on its session: count it, cap its time, follow the category run and the
# run of approvals faster than reading.
SESSION_COUNT = """UPDATE review_session SET
        reviews = reviews + 1,
        counted_seconds = counted_seconds + :counted_seconds,
        last_activity_at = {now},
        category_run = CASE WHEN last_category = :category THEN category_run + 1 ELSE 1 END,
        last_category = :category,
        fast_run = CASE WHEN :fast THEN fast_run + 1 ELSE 0 END,
        nudged = CASE WHEN :fast AND fast_run + 1 >= :fast_flag_at THEN TRUE ELSE nudged END
    WHERE id = :session_id AND reviewer = :reviewer AND {decided}"""

SESSION_UNCLAIM = """UPDATE review_session SET claims = claims - 1
    WHERE id = :session_id AND claims > 0 AND {released}"""

# The queue's counts at {now}: pending, in review (a served gold draft is in review as a claimed
# one is), decided, undelivered. PostgreSQL's rd_queue_counts gives the same to a reviewer, whom
# row-level security shows only their own drafts (definer_sql).
QUEUE_COUNTS = """(SELECT count(*) FROM draft
        WHERE state = 'pending' AND visible_at <= {now}) AS pending,
    (SELECT count(*) FROM draft WHERE state = 'pending' AND visible_at > {now})
        + (SELECT count(*) FROM gold_serve
            WHERE state = 'leased' AND visible_at > {now}) AS leased,
    (SELECT count(*) FROM decision WHERE undone_at IS NULL) AS decided,
    (SELECT count(*) FROM decision
        WHERE undone_at IS NULL AND delivered_at IS NULL) AS undelivered"""

# Low attention: this approval was fast and completes (or extends) a run of fast approvals.
LOW_ATTENTION = """(:fast AND COALESCE(
    (SELECT fast_run FROM review_session WHERE id = :session_id), 0) + 1 >= :fast_flag_at)"""

# A decision is settled when it can no longer be undone: delivered, resolved by a lead, or
# decided before the undo window (:settled = now - window; undo_last refuses the same ones).
SETTLED = (
    "(dec.decided_at < :settled OR dec.delivered_at IS NOT NULL OR dec.resolved_at IS NOT NULL)"
)

DECISION_RESULT = (
    "dec.id, d.external_id, dec.label, dec.final_text, d.draft, dec.reason, dec.note, "
    "dec.severity, dec.reviewer, dec.decided_at, dec.review_seconds, d.category, d.model, "
    "dec.edit_distance, dec.low_attention, dec.session_id, dec.resolution, "
    "dec.resolution_text, dec.resolution_note, dec.resolved_by, dec.resolved_at"
)
DECISION_COLUMNS = ("decided_at", "resolved_at")


# -- rows to records: the one place each kind of row becomes its typed record (both engines) --
def draft_of(row: Mapping[Any, Any]) -> Draft:
    """The draft a row of DRAFT_COLUMNS (or a superset) holds."""
    return Draft(
        id=row["external_id"],
        draft=row["draft"],
        input=row["input"],
        context=row["context"] or {},
        category=row["category"],
        risk=Risk(row["risk"]),
        model=row["model"],
        confidence=row["confidence"],
        thread=row["thread"],
        priority=row["priority"],
        created_at=row["created_at"],
        submitted_at=row["submitted_at"],
        metadata=row["metadata"] or {},
    )


def queued_draft(row: Mapping[Any, Any]) -> QueuedDraft:
    """A row of DRAFT_COLUMNS (a claim's, an undo's, a read's) as the queue's record."""
    return QueuedDraft(
        key=row["id"],
        draft=draft_of(row),
        lease_id=row["lease_id"],
        lease_epoch=row["lease_epoch"],
        lease_owner=row["lease_owner"],
        leased_at=row["leased_at"],
        visible_at=row["visible_at"],
    )


def decision_of(row: Mapping[Any, Any]) -> Decision:
    """The decision a row holds: one of DECISION_RESULT, or a thread entry's (which has no
    low_attention: a thread's decisions show none)."""
    return Decision(
        draft_id=row["external_id"],
        label=Label(row["label"]),
        final=row["final_text"],
        draft=row["draft"],
        reason=row["reason"],
        note=row["note"],
        severity=Severity(row["severity"]) if row["severity"] else None,
        reviewer=row["reviewer"],
        decided_at=row["decided_at"],
        review_seconds=row["review_seconds"],
        edit_distance=row["edit_distance"],
        low_attention=bool(row.get("low_attention", False)),
    )


def decision_record(row: Mapping[Any, Any]) -> DecisionRecord:
    """A row of DECISION_RESULT (with ``delivered_at`` where the read has it)."""
    return DecisionRecord(
        cursor=row["id"],
        decision=decision_of(row),
        category=row["category"],
        model=row["model"],
        session_id=row["session_id"],
        resolution=row["resolution"],
        resolution_text=row["resolution_text"],
        resolution_note=row["resolution_note"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        # A replay's read of the first decision leaves delivery out.
        delivered_at=row.get("delivered_at"),
    )


def thread_entry(row: Mapping[Any, Any]) -> ThreadEntry:
    """An earlier draft on a thread with its live decision, if any (thread_history's row)."""
    decision = decision_of(row) if row["label"] is not None else None
    return ThreadEntry(draft=draft_of(row), decision=decision)


def event_record(row: Mapping[Any, Any]) -> Event:
    """A row of the audit trail (draft_event)."""
    return Event(
        kind=EventKind(row["kind"]), at=row["at"], actor=row["actor"], epoch=row["lease_epoch"]
    )


def attempt_record(row: Mapping[Any, Any]) -> Attempt:
    """A row of the decision attempt log."""
    return Attempt(
        id=row["id"],
        draft_id=row["draft_id"],
        lease_id=row["lease_id"],
        reviewer=row["reviewer"],
        verdict=row["verdict"],
        idempotency_key=row["idempotency_key"],
        outcome=row["outcome"],
        detail=row["detail"],
        attempted_at=row["attempted_at"],
    )


# The lease fence: the draft is still held under this lease. Every lease-dependent write (renew,
# release, decide) is fenced on it, on both engines; WHY says which part failed.
LEASE_HELD = "id = :draft_key AND lease_id = :lease_id AND state = 'pending' AND visible_at > {now}"


class SqlQueueStore(ABC):
    """The queue's operations that are the same on both engines; an engine's subclass adds the
    lease operations and the submit's engine-specific steps (queue_contract.QueueStore)."""

    # How the undo's read of the reviewer's last decision locks it ("" where the transaction
    # holds the database's write lock already).
    undo_lock = ""

    def __init__(self, engines: Engines, clock: Clock | None, now_sql: str) -> None:
        self.engines = engines
        # None means "the database's now()": PostgreSQL only.
        self.clock = clock
        self._now_sql = now_sql
        self._decision_by_id = typed_sql(
            f"""SELECT {DECISION_RESULT} FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE dec.id = :decision_id""",
            columns=DECISION_COLUMNS,
        )

    # -- time -------------------------------------------------------------------------------------
    def _params(self, **params: Any) -> dict[str, Any]:
        if self.clock is not None:
            params["now"] = self.clock.now()
        return params

    def tx_now(self, conn: Connection) -> datetime:
        """The time to use inside a multi-statement transaction."""
        if self.clock is not None:
            return self.clock.now()
        value = conn.execute(text("SELECT now()")).scalar_one()
        assert isinstance(value, datetime)
        return value

    def close(self) -> None:
        """Give back any kept connection (before the engines are disposed)."""
        return None  # none is kept but on PostgreSQL

    def _read(self) -> Connection:
        return self.engines.write.connect().execution_options(**{READ_ONLY: True})

    # -- lease operations: their parameters here, their statements in each engine's module ---
    def claim(
        self,
        *,
        reviewer: str,
        lease_id: str,
        ttl: float,
        session: SessionFence,
        exclude: Sequence[int] = (),
    ) -> ClaimOutcome:
        """Lease the next draft within the session's limits. A claim that finds the session
        closed or spent changes nothing."""
        # An empty NOT IN list must still be valid SQL on both engines: -1 is never an id.
        params = self._params(
            reviewer=reviewer,
            lease_id=lease_id,
            ttl=ttl,
            exclude=list(exclude) or [-1],
            session_id=session.session_id,
            avoid=session.avoid_category,
        )
        return self._claim_next(params, session, ttl)

    def renew(self, *, draft_key: int, lease_id: str, reviewer: str, ttl: float) -> Renewal:
        """Extend the lease by ``ttl`` seconds from now, if it is still held."""
        params = self._params(draft_key=draft_key, lease_id=lease_id, reviewer=reviewer, ttl=ttl)
        return self._renew_lease(params, ttl)

    def release(
        self, *, draft_key: int, lease_id: str, reviewer: str, session_id: int | None
    ) -> str | None:
        """Returns None when released, or why the lease was already lost. A released draft was
        not reviewed, so it no longer counts against the session's limit."""
        params = self._params(
            draft_key=draft_key, lease_id=lease_id, reviewer=reviewer, session_id=session_id
        )
        return self._release_lease(params)

    def decide(self, write: DecisionWrite) -> DecisionWritten:
        """Record the decision, fenced on its lease; a replayed idempotency key returns the
        first decision. Every attempt is logged."""
        params = self._params(
            draft_key=write.draft_key,
            lease_id=write.lease_id,
            reviewer=write.reviewer,
            verdict=write.verdict,
            label=write.label,
            final_text=write.final_text,
            reason=write.reason,
            note=write.note,
            severity=write.severity,
            review_seconds=write.review_seconds,
            key=write.key,
            edit_distance=write.edit_distance,
            session_id=write.session_id,
            counted_seconds=write.counted_seconds,
            category=write.category,
            fast=write.fast,
            fast_flag_at=write.fast_flag_at,
        )
        return self._write_decision(params, write)

    # Each engine's statements for the lease operations.
    @abstractmethod
    def _claim_next(
        self, params: dict[str, Any], session: SessionFence, ttl: float
    ) -> ClaimOutcome: ...

    @abstractmethod
    def _renew_lease(self, params: dict[str, Any], ttl: float) -> Renewal: ...

    @abstractmethod
    def _release_lease(self, params: dict[str, Any]) -> str | None: ...

    @abstractmethod
    def _write_decision(self, params: dict[str, Any], write: DecisionWrite) -> DecisionWritten: ...

    def flag_low_attention(self, *, session_id: int, last: int) -> None:
        """Flag the session's last ``last`` live decisions as low-attention (a fast run)."""
        with self.engines.write.begin() as conn:
            conn.execute(
                typed_sql(
                    """UPDATE decision SET low_attention = TRUE WHERE id IN (
                           SELECT id FROM decision
                           WHERE session_id = :session_id AND undone_at IS NULL
                           ORDER BY id DESC LIMIT :last)"""
                ),
                {"session_id": session_id, "last": last},
            )

    # -- undo and delivery --------------------------------------------------------------------
    def undo_last(self, *, reviewer: str, window: float, lease_id: str, ttl: float) -> Undone:
        """Undo the reviewer's latest live decision: the draft comes back leased to the
        reviewer."""
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            lock = self.undo_lock
            last = (
                conn.execute(
                    typed_sql(
                        f"""SELECT dec.id, dec.draft_id, dec.decided_at, dec.delivered_at,
                            dec.session_id, dec.resolved_at
                        FROM decision dec
                        WHERE dec.reviewer = :reviewer AND dec.undone_at IS NULL
                        ORDER BY dec.id DESC LIMIT 1{lock}""",
                        columns=("decided_at", "delivered_at"),
                    ),
                    {"reviewer": reviewer},
                )
                .mappings()
                .first()
            )
            if last is None:
                return Undone(None, "nothing")
            if last["delivered_at"] is not None:
                return Undone(None, "delivered")
            if last["resolved_at"] is not None:
                return Undone(None, "resolved")
            # At exactly the window's end it may still be undone: results() holds a decision
            # back until its decided_at is strictly before now - window (SETTLED).
            if now - last["decided_at"] > timedelta(seconds=window):
                return Undone(None, "window")
            # The review is taken back: the session counts it again when it is decided again.
            conn.execute(
                typed_sql(
                    "UPDATE review_session SET reviews = reviews - 1 "
                    "WHERE id = :session_id AND reviews > 0"
                ),
                {"session_id": last["session_id"]},
            )
            conn.execute(
                typed_sql("UPDATE decision SET undone_at = :now WHERE id = :id"),
                {"now": now, "id": last["id"]},
            )
            row = (
                conn.execute(
                    typed_sql(
                        f"""UPDATE draft SET state = 'pending', visible_at = :expires,
                            lease_id = :lease_id, lease_epoch = lease_epoch + 1,
                            lease_owner = :reviewer, leased_at = :now
                        WHERE id = :draft_key AND state = 'decided'
                        RETURNING {DRAFT_COLUMNS}""",
                        columns=DRAFT_COLUMNS.split(", "),
                    ),
                    {
                        "expires": now + timedelta(seconds=ttl),
                        "now": now,
                        "lease_id": lease_id,
                        "reviewer": reviewer,
                        "draft_key": last["draft_id"],
                    },
                )
                .mappings()
                .one()
            )
            conn.execute(
                insert(EVENT),
                {
                    "draft_id": last["draft_id"],
                    "kind": "undone",
                    "actor": reviewer,
                    "at": now,
                    "lease_epoch": row["lease_epoch"],
                },
            )
            return Undone(queued_draft(row))

    def results(
        self, *, after: int, limit: int, include_delivered: bool, settled_before: datetime | None
    ) -> list[DecisionRecord]:
        """Live decisions after cursor ``after``; with ``settled_before``, only those that can
        no longer be undone (see SETTLED)."""
        conditions = ["dec.undone_at IS NULL", "dec.id > :after"]
        if not include_delivered:
            conditions.append("dec.delivered_at IS NULL")
        if settled_before is not None:
            conditions.append(SETTLED)
        stmt = typed_sql(
            f"""SELECT {DECISION_RESULT}, dec.delivered_at
                FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE {" AND ".join(conditions)}
                ORDER BY dec.id LIMIT :limit""",
            columns=("decided_at", "delivered_at", "resolved_at"),
        )
        params: dict[str, Any] = {"after": after, "limit": limit}
        if settled_before is not None:
            params["settled"] = settled_before
        with self._read() as conn:
            return [decision_record(r) for r in conn.execute(stmt, params).mappings()]

    def ack(self, cursors: Sequence[int], read_unresolved: Sequence[int] = ()) -> Acknowledged:
        """Mark results delivered. ``read_unresolved``: cursors the consumer read before any
        resolution; if a lead has resolved one since, it stays undelivered so that the
        resolution is delivered too."""
        if not cursors:
            return Acknowledged(0, 0, [], [])
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            acked = (
                conn.execute(
                    typed_sql(
                        """UPDATE decision SET delivered_at = :now
                       WHERE id IN :ids AND undone_at IS NULL AND delivered_at IS NULL
                         AND (resolved_at IS NULL OR id NOT IN :unresolved)
                       RETURNING id, draft_id, lease_epoch, reviewer""",
                        expanding=("ids", "unresolved"),
                    ),
                    {"now": now, "ids": list(cursors), "unresolved": list(read_unresolved) or [-1]},
                )
                .mappings()
                .all()
            )
            if acked:
                conn.execute(
                    insert(EVENT),
                    [
                        {
                            "draft_id": r["draft_id"],
                            "kind": "delivered",
                            "actor": None,
                            "at": now,
                            "lease_epoch": r["lease_epoch"],
                        }
                        for r in acked
                    ],
                )
            done = {r["id"] for r in acked}
            rest = conn.execute(
                typed_sql(
                    """SELECT dec.id, dec.undone_at, dec.delivered_at, d.external_id
                    FROM decision dec JOIN draft d ON d.id = dec.draft_id
                    WHERE dec.id IN :ids""",
                    expanding=("ids",),
                ),
                {"ids": [c for c in cursors if c not in done] or [-1]},
            ).all()
            undone = sorted((r[0], r[3]) for r in rest if r[1] is not None)
            resolved = sorted(r[0] for r in rest if r[1] is None and r[2] is None)
            return Acknowledged(
                len(done), len(rest) - len(undone) - len(resolved), undone, resolved
            )

    def undone_of(self, cursors: Sequence[int]) -> list[tuple[int, str]]:
        """(cursor, draft id) of those of ``cursors`` whose decision has been undone."""
        if not cursors:
            return []
        stmt = typed_sql(
            """SELECT dec.id, d.external_id FROM decision dec JOIN draft d ON d.id = dec.draft_id
            WHERE dec.id IN :ids AND dec.undone_at IS NOT NULL ORDER BY dec.id""",
            expanding=("ids",),
        )
        with self._read() as conn:
            return [(int(r[0]), str(r[1])) for r in conn.execute(stmt, {"ids": list(cursors)})]

    # -- producers ----------------------------------------------------------------------------
    def submit(
        self, records: Sequence[DraftSubmission], routing: SubmitRouting | None = None
    ) -> Submitted:
        """Queue new drafts all-or-nothing: with any conflict nothing is written. ``routing``
        routes the new drafts in the same transaction (review policies)."""
        for attempt in range(2):
            try:
                return self._submit_once(records, routing)
            except IntegrityError:
                # Another producer queued some of the same ids concurrently: classify again.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # The engine's steps of a submit.
    submit_chunk = SUBMIT_CHUNK  # ids classified per statement

    @abstractmethod
    def _known(self, conn: Connection, ids: list[str]) -> dict[str, str]:
        """Content hash by external id, of those of ``ids`` that are queued already."""
        ...

    def _insert_new(
        self,
        conn: Connection,
        now: datetime,
        fresh: Sequence[DraftSubmission],
        released: Set[str],
    ) -> dict[str, int]:
        """Where the client routes: insert ``fresh`` (none queued yet) as pending, or released
        when their id is in ``released``, each with its 'submitted' event; their keys by id,
        for the routings."""
        raise NotImplementedError

    # Whether the database routes a submit's drafts itself (PostgreSQL: rd_submit).
    routes_in_database = False

    def _insert_routed(
        self, conn: Connection, now: datetime, fresh: Sequence[DraftSubmission]
    ) -> list[Routing]:
        """Where the database routes: insert ``fresh`` (none queued yet) with their
        'submitted' events, route them there; the routings made."""
        raise NotImplementedError

    def _after_submit(self, inserted: int) -> None:
        """After a submit's commit (PostgreSQL: refresh the planner's statistics)."""
        return None

    def _submit_once(
        self, records: Sequence[DraftSubmission], routing: SubmitRouting | None = None
    ) -> Submitted:
        duplicates = 0
        conflicts: list[DraftSubmission] = []
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            fresh: list[DraftSubmission] = []
            step = self.submit_chunk or len(records) or 1
            for start in range(0, len(records), step):
                chunk = records[start : start + step]
                known = self._known(conn, [r.id for r in chunk])
                for rec in chunk:
                    existing = known.get(rec.id)
                    if existing is None:
                        fresh.append(rec)
                    elif existing == rec.content_hash:
                        duplicates += 1
                    else:
                        conflicts.append(rec)
            if conflicts:
                conn.rollback()
                return Submitted(0, duplicates, conflicts)
            if not fresh:
                return Submitted(0, duplicates, [])
            if self.routes_in_database:
                routed = self._insert_routed(conn, now, fresh)
                if routing is not None:
                    routing.routed(routed)
            else:
                released = (
                    routing.released(conn, now, fresh) if routing is not None else frozenset()
                )
                keys = self._insert_new(conn, now, fresh, released)
                if routing is not None:
                    routing.record(conn, now, keys)
        self._after_submit(len(fresh))
        return Submitted(len(fresh), duplicates, [])

    # -- reads ----------------------------------------------------------------------------------
    def draft_by_external_id(self, external_id: str) -> QueuedDraft | None:
        with self._read() as conn:
            row = (
                conn.execute(
                    typed_sql(
                        f"SELECT {DRAFT_COLUMNS} FROM draft WHERE external_id = :x",
                        columns=DRAFT_COLUMNS.split(", "),
                    ),
                    {"x": external_id},
                )
                .mappings()
                .first()
            )
            return queued_draft(row) if row is not None else None

    def thread_history(
        self, *, thread: str, draft_key: int, created_at: datetime, limit: int
    ) -> list[ThreadEntry]:
        """Earlier drafts on the thread (the latest ``limit``), oldest first, each with its live
        decision if any."""
        with self._read() as conn:
            return [
                thread_entry(r)
                for r in conn.execute(
                    typed_sql(
                        """SELECT * FROM (
                                SELECT d.id, d.external_id, d.draft, d.input, d.context, d.category,
                                    d.risk, d.model, d.confidence, d.thread, d.priority,
                                    d.created_at, d.submitted_at, d.metadata,
                                    dec.label, dec.final_text, dec.reason, dec.note, dec.severity,
                                    dec.reviewer, dec.decided_at, dec.review_seconds,
                                    dec.edit_distance
                                FROM draft d
                                LEFT JOIN decision dec
                                    ON dec.draft_id = d.id AND dec.undone_at IS NULL
                                WHERE d.thread = :thread AND d.id <> :draft_key
                                  AND (d.created_at < :created_at
                                       OR (d.created_at = :created_at AND d.id < :draft_key))
                                ORDER BY d.created_at DESC, d.id DESC LIMIT :limit
                            ) recent ORDER BY created_at, id""",
                        columns=("context", "metadata", "created_at", "submitted_at", "decided_at"),
                    ),
                    {
                        "thread": thread,
                        "draft_key": draft_key,
                        "created_at": created_at,
                        "limit": limit,
                    },
                ).mappings()
            ]

    def live_decision(self, *, draft_key: int) -> tuple[datetime, DecisionRecord | None]:
        """The database's now, and the draft's live decision as ``results`` reads it (None when
        it has none)."""
        with self._read() as conn:
            now = self.tx_now(conn)
            row = (
                conn.execute(
                    typed_sql(
                        f"""SELECT {DECISION_RESULT}, dec.delivered_at
                            FROM decision dec JOIN draft d ON d.id = dec.draft_id
                            WHERE dec.draft_id = :draft_key AND dec.undone_at IS NULL
                            ORDER BY dec.id DESC LIMIT 1""",
                        columns=("decided_at", "delivered_at", "resolved_at"),
                    ),
                    {"draft_key": draft_key},
                )
                .mappings()
                .first()
            )
            return now, decision_record(row) if row is not None else None

    def events(self, *, draft_key: int) -> list[Event]:
        with self._read() as conn:
            return [
                event_record(r)
                for r in conn.execute(
                    typed_sql(
                        "SELECT kind, at, actor, lease_epoch FROM draft_event "
                        "WHERE draft_id = :draft_key ORDER BY id",
                        columns=("at",),
                    ),
                    {"draft_key": draft_key},
                ).mappings()
            ]

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            now = self.tx_now(conn)
            row = (
                conn.execute(
                    typed_sql(f"SELECT {QUEUE_COUNTS.format(now=':now')}"),
                    {"now": now},
                )
                .mappings()
                .one()
            )
            return {k: int(v) for k, v in row.items()}

    def attempts(self) -> list[Attempt]:
        """The whole attempt log (for audits and tests)."""
        with self._read() as conn:
            return [
                attempt_record(r)
                for r in conn.execute(
                    typed_sql(
                        "SELECT id, draft_id, lease_id, reviewer, verdict, idempotency_key, "
                        "outcome, detail, attempted_at FROM decision_attempt ORDER BY id",
                        columns=("attempted_at",),
                    )
                ).mappings()
            ]

    def get_setting(self, key: str) -> Any:
        with self._read() as conn:
            return conn.execute(
                typed_sql("SELECT value FROM setting WHERE key = :key", columns=("value",)),
                {"key": key},
            ).scalar()

    def put_setting(self, key: str, value: Any) -> None:
        # One upsert, the same on both engines: two writers of a new key cannot both insert.
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            conn.execute(
                typed_sql(
                    """INSERT INTO setting (key, value, updated_at) VALUES (:key, :value, :now)
                    ON CONFLICT (key) DO UPDATE
                    SET value = excluded.value, updated_at = excluded.updated_at"""
                ),
                {"key": key, "value": value, "now": now},
            )

    # -- identity -------------------------------------------------------------------------------
    @functools.cached_property
    def row_security(self) -> bool:
        """Whether the database's rules bind this login (a team member's, on PostgreSQL)."""
        ident = self.identity()
        return ident is not None and ident.enforced

    def identity(self) -> Identity | None:
        """Who this connection is (None where the database knows no logins: SQLite, one
        person's database)."""
        return None

    def record_refusal(self, action: str, detail: str) -> None:
        """Log an action the database refused to this login, under the login (PostgreSQL)."""
        return None  # no logins: nothing to log

"""The queue's statements, in the shapes of docs/architecture.md.

PostgreSQL: each lease operation is one statement (data-modifying CTEs) run in autocommit, so a
claim or a decision costs one round trip and one durable commit, and no transaction stays open
while a person reads. SQLite: the same steps in one short BEGIN IMMEDIATE transaction.

Every lease-dependent write is fenced on (draft, lease_id), state 'pending' and an unexpired
lease. Time comes from one clock: PostgreSQL's now() in production, or an injected clock.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    RowMapping,
    String,
    TextClause,
    TextualSelect,
    bindparam,
    column,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeEngine

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.storage.driver_sql import DriverStatement, bulk_insert
from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.failures import server_closed
from reviewdesk.storage.policy_sql import NEXT_CURSOR_SQLITE
from reviewdesk.storage.security_sql import Identity
from reviewdesk.storage.security_sql import identity as security_identity
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
}
SUBMIT_CHUNK = 1000


# The submit's open transaction as services see it: handed back to storage, never used there.
SubmitTransaction = Connection


class SubmitRouting(Protocol):
    """Review policies' part of a submit (storage/policy_sql.py), in its transaction: which of
    the new drafts go out unreviewed (inserted as released), then the record of every routing."""

    def released(
        self, conn: Connection, now: datetime, fresh: Sequence[DraftSubmission]
    ) -> Set[str]: ...

    def record(self, conn: Connection, now: datetime, inserted: int) -> None: ...


# A kept connection idle longer than this goes back to the pool (QueueStore._hot_connection).
HOT_IDLE_SECONDS = 60.0
_SUBMIT_COLUMNS = (
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
_MAX_DRAFT_ID = text("SELECT COALESCE(MAX(id), 0) FROM draft")
_SUBMITTED = """INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    SELECT id, 'submitted', NULL, :now, 0 FROM draft WHERE {drafts} ORDER BY id"""


def _sql(
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


@dataclass(frozen=True)
class DecisionWrite:
    draft_key: int
    lease_id: str
    reviewer: str
    verdict: str
    label: str
    final_text: str | None
    reason: str | None
    note: str | None
    severity: str | None
    review_seconds: float | None
    key: str
    edit_distance: float | None = None
    session_id: int | None = None
    counted_seconds: float = 0.0
    category: str = ""
    fast: bool = False
    fast_flag_at: int = 5


@dataclass(frozen=True)
class SessionFence:
    """The open session a claim counts against, and what it may still hand out."""

    session_id: int
    max_claims: int
    max_seconds: float
    # A session idle this long has ended, even if nobody has closed it yet.
    idle_seconds: float = 1800.0
    avoid_category: str | None = None


@dataclass(frozen=True)
class DecisionWritten:
    outcome: str  # accepted | refused | replayed
    why: str | None
    # A replay: the first decision, read back. An accepted decision is what the write asked
    # for, plus ``decided_at`` and ``low_attention``, which the database decided.
    decision: RowMapping | None = None
    fast_run: int | None = None  # the session's run of fast approvals after this decision
    was_nudged: bool = False
    decided_at: datetime | None = None
    low_attention: bool = False


_WHY = """CASE WHEN state <> 'pending' THEN 'already_decided'
              WHEN lease_id IS NULL THEN 'released'
              WHEN lease_id <> :lease_id THEN 'taken_over'
              WHEN visible_at <= {now} THEN 'expired' END"""

# The open session a claim is fenced on: limits hold wherever drafts are claimed.
_SESSION_OPEN = """id = :session_id AND ended_at IS NULL
    AND claims < :max_claims AND counted_seconds < :max_seconds
    AND last_activity_at > {idle_cutoff}"""

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
_SESSION_COUNT = """UPDATE review_session SET
        reviews = reviews + 1,
        counted_seconds = counted_seconds + :counted_seconds,
        last_activity_at = {now},
        category_run = CASE WHEN last_category = :category THEN category_run + 1 ELSE 1 END,
        last_category = :category,
        fast_run = CASE WHEN :fast THEN fast_run + 1 ELSE 0 END,
        nudged = CASE WHEN :fast AND fast_run + 1 >= :fast_flag_at THEN TRUE ELSE nudged END
    WHERE id = :session_id AND {decided}"""

_SESSION_UNCLAIM = """UPDATE review_session SET claims = claims - 1
    WHERE id = :session_id AND claims > 0 AND {released}"""

# Low attention: this approval was fast and completes (or extends) a run of fast approvals.
_LOW_ATTENTION = """(:fast AND COALESCE(
    (SELECT fast_run FROM review_session WHERE id = :session_id), 0) + 1 >= :fast_flag_at)"""

# A decision is settled when it can no longer be undone: delivered, resolved by a lead, or
# decided before the undo window (:settled = now - window; undo_last refuses the same ones).
SETTLED = (
    "(dec.decided_at < :settled OR dec.delivered_at IS NOT NULL OR dec.resolved_at IS NOT NULL)"
)

_DECISION_RESULT = (
    "dec.id, d.external_id, dec.label, dec.final_text, d.draft, dec.reason, dec.note, "
    "dec.severity, dec.reviewer, dec.decided_at, dec.review_seconds, d.category, d.model, "
    "dec.edit_distance, dec.low_attention, dec.session_id, dec.resolution, "
    "dec.resolution_text, dec.resolution_note, dec.resolved_by, dec.resolved_at"
)
_DECISION_COLUMNS = ("decided_at", "resolved_at")
_CLAIMED = (*DRAFT_COLUMNS.split(", "), "previous_owner", "session_open")
_PG_DECIDE_RESULT = (
    "outcome",
    "detail",
    "decision_id",
    "fast_run",
    "was_nudged",
    "decided_at",
    "low_attention",
)


class QueueStore:
    """Runs the queue's statements on one database."""

    def __init__(self, engines: Engines, clock: Clock | None = None) -> None:
        self._hot: Connection | None = None
        self._hot_used = 0.0
        self._hot_lock = threading.Lock()
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        # None means "the database's now()": PostgreSQL only. SQLite has one local clock.
        self.clock: Clock | None = clock if (clock is not None or self.postgres) else SystemClock()
        now = "now()" if self.clock is None else "CAST(:now AS TIMESTAMP WITH TIME ZONE)"
        if not self.postgres:
            now = ":now"
        self._now_sql = now
        self._build()

    # -- time ---------------------------------------------------------------------------------
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

    @contextmanager
    def _hot_connection(self) -> Iterator[Connection]:
        """The connection claims and decisions run on, kept between calls.

        Checking a connection out of the pool and back in cost about 0.1 ms of client CPU per
        claim+decide cycle, a tenth of it (docs/benchmarks.md). One caller at a time uses the
        kept connection; a concurrent caller takes one from the pool. Only driver statements
        run on it, in autocommit, so no transaction is ever left open on it; after a lost
        connection SQLAlchemy connects it again on its next use. One that the server has closed
        since its last use (a restart) is replaced before it is used, without a round trip
        (failures.server_closed). Kept idle for a while (a reviewer's break), it goes back to
        the pool, whose recycling replaces connections a firewall may since have dropped.
        """
        if not self._hot_lock.acquire(blocking=False):
            with self.engines.statement.connect() as conn:
                yield conn
            return
        try:
            now = time.monotonic()
            if self._hot is not None and now - self._hot_used > HOT_IDLE_SECONDS:
                self._hot.close()
                self._hot = None
            if self._hot is None:
                self._hot = self.engines.statement.connect()
            elif not self._hot.invalidated and server_closed(
                self._hot.dialect, self._hot.connection.driver_connection
            ):
                self._hot.invalidate()  # connects afresh on its next use, just below
            self._hot_used = now
            yield self._hot
        finally:
            self._hot_lock.release()

    def close(self) -> None:
        """Give the kept connection back (before the engines are disposed)."""
        with self._hot_lock:
            if self._hot is not None:
                self._hot.close()
                self._hot = None

    def _read(self) -> Connection:
        return self.engines.write.connect().execution_options(**{READ_ONLY: True})

    # -- statements ---------------------------------------------------------------------------
    def _build(self) -> None:
        n = self._now_sql
        if self.postgres:
            expires = f"{n} + make_interval(secs => :ttl)"
            dialect = self.engines.statement.dialect
            self._claim = DriverStatement(self._pg_claim(varied=False), dialect)
            self._claim_varied = DriverStatement(self._pg_claim(varied=True), dialect)
            self._renew = _sql(
                f"""
                WITH renewed AS (
                    UPDATE draft SET visible_at = {expires}
                    WHERE id = :draft_key AND lease_id = :lease_id AND state = 'pending'
                      AND visible_at > {n}
                    RETURNING id, visible_at, lease_epoch
                ), events AS (
                    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                    SELECT id, 'renewed', :reviewer, {n}, lease_epoch FROM renewed
                )
                SELECT (SELECT visible_at FROM renewed) AS expires_at,
                       (SELECT {_WHY.format(now=n)} FROM draft WHERE id = :draft_key) AS why
                """,
                columns=("expires_at",),
            )
            self._release = _sql(
                f"""
                WITH released AS (
                    UPDATE draft SET visible_at = {n}, lease_id = NULL, lease_owner = NULL
                    WHERE id = :draft_key AND lease_id = :lease_id AND state = 'pending'
                      AND visible_at > {n}
                    RETURNING id, lease_epoch
                ), events AS (
                    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                    SELECT id, 'released', :reviewer, {n}, lease_epoch FROM released
                ), uncounted AS (
                    {_SESSION_UNCLAIM.format(released="EXISTS (SELECT 1 FROM released)")}
                )
                SELECT (SELECT count(*) FROM released) AS released,
                       (SELECT {_WHY.format(now=n)} FROM draft WHERE id = :draft_key) AS why
                """
            )
            self._decide = _sql(
                f"""
                WITH prior AS (
                    SELECT id FROM decision WHERE idempotency_key = :key
                ), fenced AS (
                    UPDATE draft SET state = 'decided'
                    WHERE id = :draft_key AND lease_id = :lease_id AND state = 'pending'
                      AND visible_at > {n} AND NOT EXISTS (SELECT 1 FROM prior)
                    RETURNING id, lease_epoch
                ), decided AS (
                    INSERT INTO decision (draft_id, reviewer, label, final_text, reason, note,
                        severity, review_seconds, decided_at, lease_epoch, idempotency_key,
                        edit_distance, session_id, low_attention)
                    SELECT id, :reviewer, :label, :final_text, :reason, :note, :severity,
                        :review_seconds, {n}, lease_epoch, :key, :edit_distance, :session_id,
                        {_LOW_ATTENTION}
                    FROM fenced
                    RETURNING id, decided_at, low_attention
                ), attempt AS (
                    INSERT INTO decision_attempt (draft_id, lease_id, reviewer, verdict,
                        idempotency_key, outcome, detail, attempted_at)
                    SELECT :draft_key, :lease_id, :reviewer, :verdict, :key,
                        CASE WHEN EXISTS (SELECT 1 FROM prior) THEN 'replayed'
                             WHEN EXISTS (SELECT 1 FROM decided) THEN 'accepted'
                             ELSE 'refused' END,
                        CASE WHEN EXISTS (SELECT 1 FROM prior) OR EXISTS (SELECT 1 FROM decided)
                             THEN NULL
                             ELSE (SELECT {_WHY.format(now=n)} FROM draft WHERE id = :draft_key)
                        END,
                        {n}
                    RETURNING outcome, detail
                ), events AS (
                    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                    SELECT id, 'decided', :reviewer, {n}, lease_epoch FROM fenced
                ), counted AS (
                    {_SESSION_COUNT.format(now=n, decided="EXISTS (SELECT 1 FROM fenced)")}
                    RETURNING fast_run
                )
                SELECT attempt.outcome, attempt.detail,
                       COALESCE((SELECT id FROM decided), (SELECT id FROM prior)) AS decision_id,
                       (SELECT fast_run FROM counted) AS fast_run,
                       (SELECT nudged FROM review_session WHERE id = :session_id) AS was_nudged,
                       (SELECT decided_at FROM decided) AS decided_at,
                       (SELECT low_attention FROM decided) AS low_attention
                FROM attempt
                """,
                result=_PG_DECIDE_RESULT,
            )
            assert isinstance(self._decide, TextualSelect)
            self._decide_driver = DriverStatement(self._decide, dialect)
        else:
            self._claim_pick = _sql(
                f"""SELECT id, lease_owner FROM draft
                    WHERE state = 'pending' AND visible_at <= {n} AND id NOT IN :exclude
                    ORDER BY priority DESC, created_at, id LIMIT 1""",
                expanding=("exclude",),
                result=("id", "lease_owner"),
            )
            pick = varied_pick(now=n, not_excluded="{col} NOT IN :exclude")
            self._claim_pick_varied = _sql(
                f"SELECT id, lease_owner FROM draft WHERE id = ({pick})",
                expanding=("exclude",),
                result=("id", "lease_owner"),
            )
            self._session_fence = _sql(
                "SELECT id FROM review_session WHERE "
                + _SESSION_OPEN.format(idle_cutoff=":idle_after"),
                result=("id",),
            )
            self._session_claimed = _sql(
                f"""UPDATE review_session SET claims = claims + 1, last_activity_at = {n}
                    WHERE id = :session_id"""
            )
            self._session_count = _sql(_SESSION_COUNT.format(now=n, decided="1 = 1"))
            self._session_fast_run = _sql(
                "SELECT fast_run, nudged FROM review_session WHERE id = :session_id",
                result=("fast_run", "nudged"),
            )
            self._claim_take = _sql(
                f"""UPDATE draft SET visible_at = :expires, lease_id = :lease_id,
                        lease_epoch = lease_epoch + 1, lease_owner = :reviewer, leased_at = :now
                    WHERE id = :draft_key
                    RETURNING {DRAFT_COLUMNS}""",
                result=DRAFT_COLUMNS.split(", "),
            )
            self._why = _sql(f"SELECT {_WHY.format(now=n)} AS why FROM draft WHERE id = :draft_key")
            self._renew_sqlite = _sql(
                f"""UPDATE draft SET visible_at = :expires
                    WHERE id = :draft_key AND lease_id = :lease_id AND state = 'pending'
                      AND visible_at > {n}
                    RETURNING visible_at AS expires_at, lease_epoch""",
                columns=("expires_at",),
            )
            self._release_sqlite = _sql(
                f"""UPDATE draft SET visible_at = {n}, lease_id = NULL, lease_owner = NULL
                    WHERE id = :draft_key AND lease_id = :lease_id AND state = 'pending'
                      AND visible_at > {n}
                    RETURNING lease_epoch"""
            )
            self._prior = _sql(
                "SELECT id FROM decision WHERE idempotency_key = :key", result=("id",)
            )
            self._fence_decide = _sql(
                f"""UPDATE draft SET state = 'decided'
                    WHERE id = :draft_key AND lease_id = :lease_id AND state = 'pending'
                      AND visible_at > {n}
                    RETURNING lease_epoch""",
                result=("lease_epoch",),
            )
            # Decision ids and released drafts' cursors are one order of results (policy_sql).
            self._insert_decision = _sql(
                f"""INSERT INTO decision (id, draft_id, reviewer, label, final_text, reason,
                        note, severity, review_seconds, decided_at, lease_epoch,
                        idempotency_key, edit_distance, session_id, low_attention)
                    VALUES ({NEXT_CURSOR_SQLITE}, :draft_key, :reviewer, :label, :final_text,
                        :reason, :note,
                        :severity, :review_seconds, {n}, :epoch, :key, :edit_distance,
                        :session_id, :low_attention)"""
            )
        self._submitted_pg = _sql(_SUBMITTED.format(drafts="external_id = ANY(:ids)")).bindparams(
            bindparam("ids", type_=postgresql.ARRAY(String))
        )
        self._known_pg = text(
            "SELECT external_id, content_hash FROM draft WHERE external_id = ANY(:ids)"
        ).bindparams(bindparam("ids", type_=postgresql.ARRAY(String)))
        self._submitted_sqlite = _sql(_SUBMITTED.format(drafts="id > :before"))
        self._event = _sql(
            f"""INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                VALUES (:draft_key, :kind, :actor, {n}, :epoch)"""
        )
        self._attempt = _sql(
            f"""INSERT INTO decision_attempt (draft_id, lease_id, reviewer, verdict,
                    idempotency_key, outcome, detail, attempted_at)
                VALUES (:draft_key, :lease_id, :reviewer, :verdict, :key, :outcome, :detail, {n})"""
        )
        self._decision_by_id = _sql(
            f"""SELECT {_DECISION_RESULT} FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE dec.id = :decision_id""",
            columns=_DECISION_COLUMNS,
        )

    def _pg_claim(self, *, varied: bool) -> TextualSelect:
        n = self._now_sql
        if varied:
            # One row by its key: with a claim order here, the planner walks that order testing
            # every row against the picked id (linear again).
            pick = varied_pick(now=n, not_excluded="{col} <> ALL(:exclude)")
            candidates = f"id = ({pick}) AND state = 'pending' AND visible_at <= {n}"
            order = ""
        else:
            candidates = f"state = 'pending' AND visible_at <= {n} AND id <> ALL(:exclude)"
            order = "ORDER BY priority DESC, created_at, id"
        session_open = _SESSION_OPEN.format(
            idle_cutoff=f"{n} - make_interval(secs => :idle_seconds)"
        )
        claim = _sql(
            f"""
            WITH session AS (
                SELECT id FROM review_session WHERE {session_open}
            ), next AS MATERIALIZED (
                SELECT id, lease_owner AS previous_owner
                FROM draft
                WHERE {candidates} AND EXISTS (SELECT 1 FROM session)
                {order}
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE draft AS d
                SET visible_at = {n} + make_interval(secs => :ttl), lease_id = :lease_id,
                    lease_epoch = d.lease_epoch + 1, lease_owner = :reviewer, leased_at = {n}
                FROM next
                WHERE d.id = next.id
                RETURNING d.id, d.external_id, d.draft, d.input, d.context, d.category,
                    d.risk, d.model, d.confidence, d.thread, d.priority, d.created_at,
                    d.submitted_at, d.metadata, d.lease_id, d.lease_epoch, d.lease_owner,
                    d.leased_at, d.visible_at, next.previous_owner
            ), events AS (
                INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                SELECT id, 'expired', previous_owner, {n}, lease_epoch - 1
                FROM claimed WHERE previous_owner IS NOT NULL
                UNION ALL
                SELECT id, 'claimed', :reviewer, {n}, lease_epoch FROM claimed
            ), counted AS (
                UPDATE review_session SET claims = claims + 1, last_activity_at = {n}
                WHERE id = :session_id AND EXISTS (SELECT 1 FROM claimed)
            )
            SELECT claimed.*, EXISTS (SELECT 1 FROM session) AS session_open
            FROM (SELECT 1) AS one LEFT JOIN claimed ON TRUE
            """,
            arrays=("exclude",),
            result=_CLAIMED,
        )
        assert isinstance(claim, TextualSelect)
        return claim

    # -- lease operations ---------------------------------------------------------------------
    def claim(
        self,
        *,
        reviewer: str,
        lease_id: str,
        ttl: float,
        session: SessionFence,
        exclude: Sequence[int] = (),
    ) -> tuple[Mapping[Any, Any] | None, bool]:
        """Lease the next draft within the session's limits.

        Returns (the draft row or None, whether the session fence held). A claim that finds the
        session closed or spent changes nothing.
        """
        # An empty NOT IN list must still be valid SQL on both engines: -1 is never an id.
        params = self._params(
            reviewer=reviewer,
            lease_id=lease_id,
            ttl=ttl,
            exclude=list(exclude) or [-1],
            session_id=session.session_id,
            max_claims=session.max_claims,
            max_seconds=session.max_seconds,
            idle_seconds=session.idle_seconds,
            avoid=session.avoid_category,
        )
        row: Mapping[Any, Any] | None = None
        if self.postgres:
            with self._hot_connection() as conn:
                if session.avoid_category is not None:
                    row = self._claim_varied.first(conn, params)
                    assert row is not None  # the statement always returns one row
                    if not row["session_open"]:
                        return None, False
                if row is None or row["id"] is None:
                    row = self._claim.first(conn, params)
                    assert row is not None
                return (row if row["id"] is not None else None), bool(row["session_open"])
        with self.engines.write.begin() as conn:
            now = params["now"]
            params["idle_after"] = now - timedelta(seconds=session.idle_seconds)
            if conn.execute(self._session_fence, params).first() is None:
                return None, False
            picked = None
            if session.avoid_category is not None:
                picked = conn.execute(self._claim_pick_varied, params).first()
            if picked is None:
                picked = conn.execute(self._claim_pick, params).first()
            if picked is None:
                return None, True
            draft_key, previous_owner = picked
            row = (
                conn.execute(
                    self._claim_take,
                    {**params, "draft_key": draft_key, "expires": now + timedelta(seconds=ttl)},
                )
                .mappings()
                .one()
            )
            epoch = row["lease_epoch"]
            if previous_owner is not None:
                conn.execute(
                    self._event,
                    {
                        "now": now,
                        "draft_key": draft_key,
                        "kind": "expired",
                        "actor": previous_owner,
                        "epoch": epoch - 1,
                    },
                )
            conn.execute(
                self._event,
                {
                    "now": now,
                    "draft_key": draft_key,
                    "kind": "claimed",
                    "actor": reviewer,
                    "epoch": epoch,
                },
            )
            conn.execute(self._session_claimed, params)
            return row, True

    def renew(
        self, *, draft_key: int, lease_id: str, reviewer: str, ttl: float
    ) -> tuple[datetime | None, str | None]:
        """Returns (new expiry, None), or (None, why the lease is lost)."""
        params = self._params(draft_key=draft_key, lease_id=lease_id, reviewer=reviewer, ttl=ttl)
        if self.postgres:
            with self.engines.statement.connect() as conn:
                row = conn.execute(self._renew, params).mappings().one()
                return row["expires_at"], (None if row["expires_at"] else row["why"] or "missing")
        with self.engines.write.begin() as conn:
            now = params["now"]
            renewed = (
                conn.execute(
                    self._renew_sqlite, {**params, "expires": now + timedelta(seconds=ttl)}
                )
                .mappings()
                .first()
            )
            if renewed is None:
                return None, self._why_lost(conn, params)
            conn.execute(
                self._event,
                {
                    "now": now,
                    "draft_key": draft_key,
                    "kind": "renewed",
                    "actor": reviewer,
                    "epoch": renewed["lease_epoch"],
                },
            )
            return renewed["expires_at"], None

    def release(
        self, *, draft_key: int, lease_id: str, reviewer: str, session_id: int | None
    ) -> str | None:
        """Returns None when released, or why the lease was already lost. A released draft was
        not reviewed, so it no longer counts against the session's limit."""
        params = self._params(
            draft_key=draft_key, lease_id=lease_id, reviewer=reviewer, session_id=session_id
        )
        if self.postgres:
            with self.engines.statement.connect() as conn:
                row = conn.execute(self._release, params).mappings().one()
                return None if row["released"] else (row["why"] or "missing")
        with self.engines.write.begin() as conn:
            released = conn.execute(self._release_sqlite, params).first()
            if released is None:
                return self._why_lost(conn, params)
            conn.execute(
                self._event,
                {
                    "now": params["now"],
                    "draft_key": draft_key,
                    "kind": "released",
                    "actor": reviewer,
                    "epoch": released[0],
                },
            )
            conn.execute(_sql(_SESSION_UNCLAIM.format(released="1 = 1")), params)
            return None

    def _why_lost(self, conn: Connection, params: Mapping[str, Any]) -> str:
        why = conn.execute(self._why, params).scalar()
        return str(why) if why else "missing"

    def decide(self, write: DecisionWrite) -> DecisionWritten:
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
        if self.postgres:
            with self._hot_connection() as hot:
                row = self._decide_driver.first(hot, params)
            assert row is not None  # one attempt row, whatever the outcome
            outcome, why, decision_id = row["outcome"], row["detail"], row["decision_id"]
            if outcome == "accepted":
                return DecisionWritten(
                    outcome,
                    None,
                    fast_run=row["fast_run"],
                    was_nudged=bool(row["was_nudged"]),
                    decided_at=row["decided_at"],
                    low_attention=bool(row["low_attention"]),
                )
            with self.engines.statement.connect() as conn:
                if outcome == "refused":
                    # A concurrent retry with the same key may have won the fence: report the
                    # first outcome, as a replay would.
                    decision_id = conn.execute(self._prior_pg, {"key": write.key}).scalar()
                    if decision_id is None:
                        return DecisionWritten("refused", why or "missing")
                decision = (
                    conn.execute(self._decision_by_id, {"decision_id": decision_id})
                    .mappings()
                    .one()
                )
                return DecisionWritten("replayed", None, decision)
        with self.engines.write.begin() as conn:
            prior = conn.execute(self._prior, params).scalar()
            if prior is not None:
                conn.execute(self._attempt, {**params, "outcome": "replayed", "detail": None})
                decision = (
                    conn.execute(self._decision_by_id, {"decision_id": prior}).mappings().one()
                )
                return DecisionWritten("replayed", None, decision)
            fenced = conn.execute(self._fence_decide, params).first()
            if fenced is None:
                why = self._why_lost(conn, params)
                conn.execute(self._attempt, {**params, "outcome": "refused", "detail": why})
                return DecisionWritten("refused", why, None)
            epoch = fenced[0]
            session = conn.execute(self._session_fast_run, params).first()
            fast_run_before, was_nudged = (session[0], bool(session[1])) if session else (0, False)
            low_attention = write.fast and fast_run_before + 1 >= write.fast_flag_at
            conn.execute(
                self._insert_decision, {**params, "epoch": epoch, "low_attention": low_attention}
            )
            conn.execute(self._attempt, {**params, "outcome": "accepted", "detail": None})
            conn.execute(
                self._event,
                {
                    "now": params["now"],
                    "draft_key": write.draft_key,
                    "kind": "decided",
                    "actor": write.reviewer,
                    "epoch": epoch,
                },
            )
            conn.execute(self._session_count, params)
            fast_run = (fast_run_before + 1 if write.fast else 0) if session else None
            return DecisionWritten(
                "accepted",
                None,
                fast_run=fast_run,
                was_nudged=was_nudged,
                decided_at=params["now"],
                low_attention=low_attention,
            )

    def flag_low_attention(self, *, session_id: int, last: int) -> None:
        """Flag the session's last ``last`` live decisions as low-attention (a fast run)."""
        with self.engines.write.begin() as conn:
            conn.execute(
                _sql(
                    """UPDATE decision SET low_attention = TRUE WHERE id IN (
                           SELECT id FROM decision
                           WHERE session_id = :session_id AND undone_at IS NULL
                           ORDER BY id DESC LIMIT :last)"""
                ),
                {"session_id": session_id, "last": last},
            )

    _prior_pg = text("SELECT id FROM decision WHERE idempotency_key = :key")

    # -- undo and delivery --------------------------------------------------------------------
    def undo_last(
        self, *, reviewer: str, window: float, lease_id: str, ttl: float
    ) -> tuple[RowMapping | None, str | None]:
        """Undo the reviewer's latest live decision; returns (the re-leased draft row, None) or
        (None, why not)."""
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            lock = " FOR UPDATE OF dec" if self.postgres else ""
            last = (
                conn.execute(
                    _sql(
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
                return None, "nothing"
            if last["delivered_at"] is not None:
                return None, "delivered"
            if last["resolved_at"] is not None:
                return None, "resolved"
            # At exactly the window's end it may still be undone: results() holds a decision
            # back until its decided_at is strictly before now - window (SETTLED).
            if now - last["decided_at"] > timedelta(seconds=window):
                return None, "window"
            # The review is taken back: the session counts it again when it is decided again.
            conn.execute(
                _sql(
                    "UPDATE review_session SET reviews = reviews - 1 "
                    "WHERE id = :session_id AND reviews > 0"
                ),
                {"session_id": last["session_id"]},
            )
            conn.execute(
                _sql("UPDATE decision SET undone_at = :now WHERE id = :id"),
                {"now": now, "id": last["id"]},
            )
            row = (
                conn.execute(
                    _sql(
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
            return row, None

    def results(
        self, *, after: int, limit: int, include_delivered: bool, settled_before: datetime | None
    ) -> list[RowMapping]:
        """Live decisions after cursor ``after``; with ``settled_before``, only those that can
        no longer be undone (see SETTLED)."""
        conditions = ["dec.undone_at IS NULL", "dec.id > :after"]
        if not include_delivered:
            conditions.append("dec.delivered_at IS NULL")
        if settled_before is not None:
            conditions.append(SETTLED)
        stmt = _sql(
            f"""SELECT {_DECISION_RESULT}, dec.delivered_at
                FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE {" AND ".join(conditions)}
                ORDER BY dec.id LIMIT :limit""",
            columns=("decided_at", "delivered_at", "resolved_at"),
        )
        params: dict[str, Any] = {"after": after, "limit": limit}
        if settled_before is not None:
            params["settled"] = settled_before
        with self._read() as conn:
            return list(conn.execute(stmt, params).mappings())

    def ack(
        self, cursors: Sequence[int], read_unresolved: Sequence[int] = ()
    ) -> tuple[int, int, list[tuple[int, str]], list[int]]:
        """Mark results delivered. ``read_unresolved``: cursors the consumer read before any
        resolution; if a lead has resolved one since, it stays undelivered so that the
        resolution is delivered too. Returns (acknowledged, already delivered, (cursor, draft
        id) of the undone ones, resolved-since-read cursors)."""
        if not cursors:
            return 0, 0, [], []
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            acked = (
                conn.execute(
                    _sql(
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
                _sql(
                    """SELECT dec.id, dec.undone_at, dec.delivered_at, d.external_id
                    FROM decision dec JOIN draft d ON d.id = dec.draft_id
                    WHERE dec.id IN :ids""",
                    expanding=("ids",),
                ),
                {"ids": [c for c in cursors if c not in done] or [-1]},
            ).all()
            undone = sorted((r[0], r[3]) for r in rest if r[1] is not None)
            resolved = sorted(r[0] for r in rest if r[1] is None and r[2] is None)
            return len(done), len(rest) - len(undone) - len(resolved), undone, resolved

    def undone_of(self, cursors: Sequence[int]) -> list[tuple[int, str]]:
        """(cursor, draft id) of those of ``cursors`` whose decision has been undone."""
        if not cursors:
            return []
        stmt = _sql(
            """SELECT dec.id, d.external_id FROM decision dec JOIN draft d ON d.id = dec.draft_id
            WHERE dec.id IN :ids AND dec.undone_at IS NOT NULL ORDER BY dec.id""",
            expanding=("ids",),
        )
        with self._read() as conn:
            return [(int(r[0]), str(r[1])) for r in conn.execute(stmt, {"ids": list(cursors)})]

    # -- producers ----------------------------------------------------------------------------
    def submit(
        self, records: Sequence[DraftSubmission], routing: SubmitRouting | None = None
    ) -> tuple[int, int, list[DraftSubmission]]:
        """Queue new drafts all-or-nothing. Returns (queued, unchanged duplicates, conflicts);
        with any conflict nothing is written. ``routing`` routes the new drafts in the same
        transaction (review policies)."""
        for attempt in range(2):
            try:
                return self._submit_once(records, routing)
            except IntegrityError:
                # Another producer queued some of the same ids concurrently: classify again.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _submit_once(
        self, records: Sequence[DraftSubmission], routing: SubmitRouting | None = None
    ) -> tuple[int, int, list[DraftSubmission]]:
        duplicates = 0
        conflicts: list[DraftSubmission] = []
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            fresh: list[DraftSubmission] = []
            # PostgreSQL: every id in one array parameter; SQLite: IN lists of SUBMIT_CHUNK.
            step = (len(records) or 1) if self.postgres else SUBMIT_CHUNK
            for start in range(0, len(records), step):
                chunk = records[start : start + step]
                ids = [r.id for r in chunk]
                known: dict[str, str] = dict(
                    conn.execute(self._known_pg, {"ids": ids}).all()
                    if self.postgres
                    else conn.execute(
                        select(DRAFT.c.external_id, DRAFT.c.content_hash).where(
                            DRAFT.c.external_id.in_(ids)
                        )
                    ).all()
                )
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
                return 0, duplicates, conflicts
            if not fresh:
                return 0, duplicates, []
            # SQLite: this transaction holds the write lock, so every id above the largest
            # one now is a draft it inserts.
            before = None if self.postgres else conn.execute(_MAX_DRAFT_ID).scalar_one()
            released = routing.released(conn, now, fresh) if routing is not None else ()
            bulk_insert(
                conn,
                DRAFT,
                _SUBMIT_COLUMNS,
                [
                    (
                        r.id,
                        r.content_hash,
                        r.draft,
                        r.input,
                        r.context,
                        r.category,
                        r.risk.value,
                        r.model,
                        r.confidence,
                        r.thread,
                        r.priority,
                        r.created_at or now,
                        now,
                        r.metadata,
                        "released" if r.id in released else "pending",
                        now,
                        0,
                    )
                    for r in fresh
                ],
                copy=not self.row_security,
            )
            if self.postgres:
                conn.execute(self._submitted_pg, {"now": now, "ids": [r.id for r in fresh]})
            else:
                conn.execute(self._submitted_sqlite, {"now": now, "before": before})
            if routing is not None:
                routing.record(conn, now, len(fresh))
        if self.postgres and len(fresh) >= ANALYZE_AFTER_SUBMIT:
            # Until autovacuum gets to it (a minute or more), the planner would believe the
            # pending drafts are as few as before the load and sort them all for a varied
            # claim instead of walking the claim order: refresh the statistics now.
            with self.engines.write.begin() as conn:
                conn.execute(text("ANALYZE draft"))
        return len(fresh), duplicates, []

    # -- reads ----------------------------------------------------------------------------------
    def draft_by_external_id(self, external_id: str) -> RowMapping | None:
        with self._read() as conn:
            return (
                conn.execute(
                    _sql(
                        f"SELECT {DRAFT_COLUMNS} FROM draft WHERE external_id = :x",
                        columns=DRAFT_COLUMNS.split(", "),
                    ),
                    {"x": external_id},
                )
                .mappings()
                .first()
            )

    def thread_history(
        self, *, thread: str, draft_key: int, created_at: datetime, limit: int
    ) -> list[RowMapping]:
        """Earlier drafts on the thread (the latest ``limit``), oldest first, each with its live
        decision if any."""
        with self._read() as conn:
            return list(
                conn.execute(
                    _sql(
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
            )

    def live_decision(self, *, draft_key: int) -> tuple[datetime, RowMapping | None]:
        """The database's now, and the draft's live decision as ``results`` reads it (None when
        it has none)."""
        with self._read() as conn:
            now = self.tx_now(conn)
            row = (
                conn.execute(
                    _sql(
                        f"""SELECT {_DECISION_RESULT}, dec.delivered_at
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
            return now, row

    def events(self, *, draft_key: int) -> list[RowMapping]:
        with self._read() as conn:
            return list(
                conn.execute(
                    _sql(
                        "SELECT kind, at, actor, lease_epoch FROM draft_event "
                        "WHERE draft_id = :draft_key ORDER BY id",
                        columns=("at",),
                    ),
                    {"draft_key": draft_key},
                ).mappings()
            )

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            now = self.tx_now(conn)
            row = (
                conn.execute(
                    _sql(
                        """SELECT
                        (SELECT count(*) FROM draft
                            WHERE state = 'pending' AND visible_at <= :now) AS pending,
                        (SELECT count(*) FROM draft
                            WHERE state = 'pending' AND visible_at > :now)
                        -- a served gold draft is in review as a claimed one is
                        + (SELECT count(*) FROM gold_serve
                            WHERE state = 'leased' AND visible_at > :now) AS leased,
                        (SELECT count(*) FROM decision WHERE undone_at IS NULL) AS decided,
                        (SELECT count(*) FROM decision
                            WHERE undone_at IS NULL AND delivered_at IS NULL) AS undelivered"""
                    ),
                    {"now": now},
                )
                .mappings()
                .one()
            )
            return {k: int(v) for k, v in row.items()}

    def attempts(self) -> list[RowMapping]:
        """The whole attempt log (for audits and tests)."""
        with self._read() as conn:
            return list(
                conn.execute(
                    _sql(
                        "SELECT id, draft_id, lease_id, reviewer, verdict, idempotency_key, "
                        "outcome, detail, attempted_at FROM decision_attempt ORDER BY id",
                        columns=("attempted_at",),
                    )
                ).mappings()
            )

    def get_setting(self, key: str) -> Any:
        with self._read() as conn:
            return conn.execute(
                _sql("SELECT value FROM setting WHERE key = :key", columns=("value",)),
                {"key": key},
            ).scalar()

    def put_setting(self, key: str, value: Any) -> None:
        # One upsert, the same on both engines: two writers of a new key cannot both insert.
        with self.engines.write.begin() as conn:
            now = self.tx_now(conn)
            conn.execute(
                _sql(
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
        """Who this connection is on PostgreSQL (None on SQLite: one person's database)."""
        if not self.postgres:
            return None
        with self._read() as conn:
            return security_identity(conn)

    def record_refusal(self, action: str, detail: str) -> None:
        """Log an action the database refused to this login, under the login (PostgreSQL)."""
        if not self.postgres:
            return
        with self.engines.statement.connect() as conn:
            conn.execute(
                text("SELECT rd_record_refusal(:action, :detail)"),
                {"action": action, "detail": detail},
            )

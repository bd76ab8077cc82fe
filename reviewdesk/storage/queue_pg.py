"""The queue on PostgreSQL (queue_contract.QueueStore).

Each lease operation is one statement (data-modifying CTEs) run in autocommit, so a claim or a
decision costs one round trip and one durable commit, and no transaction stays open while a
person reads. Claims and decisions run on one connection kept between calls.

The statements here are the bodies of SECURITY DEFINER functions (migration 0014,
definer_sql.py): the store calls the functions, one statement each, and a team member's login
has no right to write the tables itself.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Sequence, Set
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, TextualSelect, text
from sqlalchemy.engine import Dialect

from reviewdesk.core.clock import Clock
from reviewdesk.core.errors import NotPermitted
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.core.policy_cells import Routing
from reviewdesk.storage import definer_sql
from reviewdesk.storage.driver_sql import DriverStatement
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.failures import server_closed
from reviewdesk.storage.policy_sql import count_statements
from reviewdesk.storage.queue_common import (
    ANALYZE_AFTER_SUBMIT,
    DRAFT_COLUMNS,
    LEASE_HELD,
    LOW_ATTENTION,
    PG_JSON,
    SESSION_COUNT,
    SESSION_UNCLAIM,
    WHY,
    SqlQueueStore,
    decision_record,
    queued_draft,
    session_open,
    typed_sql,
    varied_pick,
)
from reviewdesk.storage.queue_contract import (
    Acknowledged,
    ClaimOutcome,
    DecisionWrite,
    DecisionWritten,
    Renewal,
    SessionFence,
    Undone,
)
from reviewdesk.storage.security_sql import Identity
from reviewdesk.storage.security_sql import identity as security_identity
from reviewdesk.storage.submit_sql import known_pg, submit_routed_pg

# A kept connection idle longer than this goes back to the pool (_hot_connection).
HOT_IDLE_SECONDS = 60.0

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


class DefinerCalls:
    """Calls of the state-changing functions (definer_sql), sent straight to the driver."""

    def __init__(self, dialect: Dialect, clock: Clock | None) -> None:
        self.clock = clock
        self._statements: dict[str, DriverStatement] = {}
        self._clauses: dict[str, TextualSelect] = {}
        for name, fn in definer_sql.calls().items():
            arrays = tuple(p for p in fn.params if definer_sql.PARAM_TYPES[p].endswith("[]"))
            clause = typed_sql(fn.call(), arrays=arrays, result=fn.columns)
            assert isinstance(clause, TextualSelect)
            self._clauses[name] = clause
            self._statements[name] = DriverStatement(clause, dialect)

    def call_all(
        self, conn: Connection, name: str, role: str, **params: Any
    ) -> list[dict[str, Any]]:
        """As ``call``, for a function that returns a row per item (then its refusal is the
        only row); through SQLAlchemy, being off the hot path."""
        if "now" not in params:
            params["now"] = self.clock.now() if self.clock is not None else None
        rows = [dict(r) for r in conn.execute(self._clauses[name], params).mappings()]
        if rows:
            definer_sql.refused(rows[0]["refused"], role)
        return rows

    def call(
        self,
        conn: Connection,
        name: str,
        role: str,
        *,
        passing: Set[str] = frozenset(),
        **params: Any,
    ) -> dict[str, Any]:
        """Call function ``name`` on ``conn``: its one row, or its refusal raised (but one of
        the kinds ``passing``, as ``call_optional``)."""
        row = self.call_optional(conn, name, role, passing=passing, **params)
        assert row is not None, name
        return row

    def call_optional(
        self,
        conn: Connection,
        name: str,
        role: str,
        *,
        passing: Set[str] = frozenset(),
        **params: Any,
    ) -> dict[str, Any] | None:
        """As ``call``, for a function that may return no row (then None). ``passing``: kinds
        of refusal the caller reads from the row itself (their ``refused`` is left in it)."""
        if "now" not in params:
            params["now"] = self.clock.now() if self.clock is not None else None
        row = self._statements[name].first(conn, params)
        if row is not None and definer_sql.refusal_kind(row["refused"]) not in passing:
            definer_sql.refused(row["refused"], role)
        return row


# One round trip: ANALYZE unless the planner already knows of ten times the rows just loaded.
_ANALYZE_IF_GROWN = """DO $$ BEGIN
    IF (SELECT reltuples FROM pg_class WHERE oid = 'draft'::regclass) < {n} * 10.0 THEN
        ANALYZE draft;
    END IF;
END $$"""


class PostgresQueueStore(SqlQueueStore):
    """The queue's statements on PostgreSQL."""

    undo_lock = " FOR UPDATE OF dec"
    submit_chunk = 0  # every id in one JSON parameter

    def __init__(self, engines: Engines, clock: Clock | None = None) -> None:
        # No clock: the database's now().
        now = "now()" if clock is None else "CAST(:now AS TIMESTAMP WITH TIME ZONE)"
        super().__init__(engines, clock, now)
        self._hot: Connection | None = None
        self._hot_used = 0.0
        self._hot_lock = threading.Lock()
        self._build()

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

    @functools.cached_property
    def definers(self) -> DefinerCalls:
        """The state changes, as calls of definer_sql's functions; made on first use, since
        definer_sql renders those functions from this class's statements."""
        return DefinerCalls(self.engines.statement.dialect, self.clock)

    def _call(self, conn: Connection, name: str, **params: Any) -> dict[str, Any]:
        return self.definers.call(conn, name, "reviewer", **params)

    @functools.cached_property
    def _counts_by_function(self) -> bool:
        """Whether this login counts the queue through rd_queue_counts: a reviewer's or a
        lead's, whose row-level security hides the waiting drafts (a lead's shows them all, but
        one answer for both roles keeps the status bar the same on every desk)."""
        try:
            who = self.identity()
        except NotPermitted:
            return False  # a login with no rights here: the plain count says which it lacks
        return who is not None and who.enforced and who.role in ("reviewer", "lead")

    def counts(self) -> dict[str, int]:
        if not self._counts_by_function:
            return super().counts()
        with self._read() as conn:
            row = self.definers.call(conn, "rd_queue_counts", "reviewer")
        return {k: int(v) for k, v in row.items() if k != "refused"}

    # -- statements ---------------------------------------------------------------------------
    def _build(self) -> None:
        n = self._now_sql
        held = LEASE_HELD.format(now=n)
        expires = f"{n} + make_interval(secs => :ttl)"
        dialect = self.engines.statement.dialect
        self._claim = DriverStatement(self._pg_claim(varied=False), dialect)
        self._claim_varied = DriverStatement(self._pg_claim(varied=True), dialect)
        self._renew = typed_sql(
            f"""
            WITH renewed AS (
                UPDATE draft SET visible_at = {expires}
                WHERE {held}
                RETURNING id, visible_at, lease_epoch
            ), events AS (
                INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                SELECT id, 'renewed', :reviewer, {n}, lease_epoch FROM renewed
            )
            SELECT (SELECT visible_at FROM renewed) AS expires_at,
                   (SELECT {WHY.format(now=n)} FROM draft WHERE id = :draft_key) AS why
            """,
            columns=("expires_at",),
        )
        self._release = typed_sql(
            f"""
            WITH released AS (
                UPDATE draft SET visible_at = {n}, lease_id = NULL, lease_owner = NULL
                WHERE {held}
                RETURNING id, lease_epoch
            ), events AS (
                INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                SELECT id, 'released', :reviewer, {n}, lease_epoch FROM released
            ), uncounted AS (
                {SESSION_UNCLAIM.format(released="EXISTS (SELECT 1 FROM released)")}
            )
            SELECT (SELECT count(*) FROM released) AS released,
                   (SELECT {WHY.format(now=n)} FROM draft WHERE id = :draft_key) AS why
            """
        )
        self._decide = typed_sql(
            f"""
            WITH prior AS (
                SELECT id FROM decision WHERE idempotency_key = :key
            ), fenced AS (
                UPDATE draft SET state = 'decided'
                WHERE {held} AND NOT EXISTS (SELECT 1 FROM prior)
                RETURNING id, lease_epoch
            ), decided AS (
                INSERT INTO decision (draft_id, reviewer, label, final_text, reason, note,
                    severity, review_seconds, decided_at, lease_epoch, idempotency_key,
                    edit_distance, session_id, low_attention)
                SELECT id, :reviewer, :label, :final_text, :reason, :note, :severity,
                    :review_seconds, {n}, lease_epoch, :key, :edit_distance, :session_id,
                    {LOW_ATTENTION}
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
                         ELSE (SELECT {WHY.format(now=n)} FROM draft WHERE id = :draft_key)
                    END,
                    {n}
                RETURNING outcome, detail
            ), events AS (
                INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                SELECT id, 'decided', :reviewer, {n}, lease_epoch FROM fenced
            ), counted AS (
                {SESSION_COUNT.format(now=n, decided="EXISTS (SELECT 1 FROM fenced)")}
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
        # The decision's count toward its review policy's plan, which rd_decide runs after the
        # decision in the same transaction (definer_sql).
        self._count = count_statements("postgresql", n)
        self._decide_driver = DriverStatement(self._decide, dialect)
        self._prior_pg = text("SELECT id FROM decision WHERE idempotency_key = :key")

    def _pg_claim(self, *, varied: bool, fence: str | None = None) -> TextualSelect:
        """The claim; ``fence``: the open session's condition at ``{now}`` (the team's stored
        limits; another only for a function as an older migration installed it)."""
        n = self._now_sql
        fence = session_open(PG_JSON, n) if fence is None else fence.format(now=n)
        if varied:
            # One row by its key: with a claim order here, the planner walks that order testing
            # every row against the picked id (linear again).
            pick = varied_pick(now=n, not_excluded="{col} <> ALL(:exclude)")
            candidates = f"id = ({pick}) AND state = 'pending' AND visible_at <= {n}"
            order = ""
        else:
            candidates = f"state = 'pending' AND visible_at <= {n} AND id <> ALL(:exclude)"
            order = "ORDER BY priority DESC, created_at, id"
        claim = typed_sql(
            f"""
            WITH session AS (
                SELECT id FROM review_session WHERE {fence}
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
    def _claim_next(
        self, params: dict[str, Any], session: SessionFence, ttl: float
    ) -> ClaimOutcome:
        row: dict[str, Any] | None = None
        with self._hot_connection() as conn:
            if session.avoid_category is not None:
                row = self._call(conn, "rd_claim", **params)
                if not row["session_open"]:
                    return ClaimOutcome(None, False)
            if row is None or row["id"] is None:
                row = self._call(conn, "rd_claim", **{**params, "avoid": None})
            return ClaimOutcome(
                queued_draft(row) if row["id"] is not None else None, bool(row["session_open"])
            )

    def _renew_lease(self, params: dict[str, Any], ttl: float) -> Renewal:
        with self.engines.statement.connect() as conn:
            row = self._call(conn, "rd_renew", **params)
            return Renewal(
                row["expires_at"], None if row["expires_at"] else row["why"] or "missing"
            )

    def _release_lease(self, params: dict[str, Any]) -> str | None:
        with self.engines.statement.connect() as conn:
            row = self._call(conn, "rd_release", **params)
            return None if row["released"] else (row["why"] or "missing")

    def _write_decision(self, params: dict[str, Any], write: DecisionWrite) -> DecisionWritten:
        with self._hot_connection() as hot:
            row = self._call(hot, "rd_decide", **params)
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
                conn.execute(self._decision_by_id, {"decision_id": decision_id}).mappings().one()
            )
            return DecisionWritten("replayed", None, decision_record(decision))

    def flag_low_attention(self, *, session_id: int, last: int) -> None:
        with self.engines.statement.connect() as conn:
            self._call(conn, "rd_flag_low_attention", session_id=session_id, last=last)

    def ack(self, cursors: Sequence[int], read_unresolved: Sequence[int] = ()) -> Acknowledged:
        if not cursors:
            return Acknowledged(0, 0, [], [])
        params = {"ids": list(cursors), "unresolved": list(read_unresolved) or [-1]}
        with self.engines.statement.connect() as conn:
            rows = self.definers.call_all(conn, "rd_ack", "producer", **params)
        done = [r for r in rows if r["acked"]]
        rest = [r for r in rows if not r["acked"]]
        undone = sorted((r["id"], r["external_id"]) for r in rest if r["undone"])
        resolved = sorted(r["id"] for r in rest if not r["undone"] and not r["delivered"])
        return Acknowledged(len(done), len(rest) - len(undone) - len(resolved), undone, resolved)

    def undo_last(self, *, reviewer: str, window: float, lease_id: str, ttl: float) -> Undone:
        with self.engines.statement.connect() as conn:
            row = self._call(
                conn, "rd_undo_last", reviewer=reviewer, window=window, lease_id=lease_id, ttl=ttl
            )
        if row["why"] is not None:
            return Undone(None, str(row["why"]))
        return Undone(queued_draft(row))

    # -- the submit's steps ---------------------------------------------------------------------
    def _known(self, conn: Connection, ids: list[str]) -> dict[str, str]:
        return known_pg(conn, ids)

    # Every submit is rd_submit's: a producer's login inserts no draft itself.
    routes_in_database = True

    def _insert_routed(
        self, conn: Connection, now: datetime, fresh: Sequence[DraftSubmission]
    ) -> list[Routing]:
        return submit_routed_pg(conn, fresh, now)

    def _after_submit(self, inserted: int) -> None:
        if inserted >= ANALYZE_AFTER_SUBMIT:
            # Until autovacuum gets to it (a minute or more), the planner would believe the
            # pending drafts are as few as before the load and sort them all for a varied
            # claim instead of walking the claim order: refresh the statistics now, when the
            # load is a tenth or more of the rows the planner knows of (less moves no plan).
            with self.engines.write.begin() as conn:
                conn.execute(text(_ANALYZE_IF_GROWN.format(n=inserted)))

    # -- identity -------------------------------------------------------------------------------
    def identity(self) -> Identity | None:
        """Who this connection is."""
        with self._read() as conn:
            return security_identity(conn)

    def record_refusal(self, action: str, detail: str) -> None:
        """Log an action the database refused to this login, under the login."""
        with self.engines.statement.connect() as conn:
            conn.execute(
                text("SELECT rd_record_refusal(:action, :detail)"),
                {"action": action, "detail": detail},
            )

"""The queue on SQLite (queue_contract.QueueStore).

Each lease operation runs its steps in one short BEGIN IMMEDIATE transaction, which holds the
database's write lock: the statements need no row locks. One local clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.core.sessions import fast_run_after, fast_run_flagged
from reviewdesk.storage.driver_sql import bulk_insert
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.policy_sql import NEXT_CURSOR_SQLITE, count_statements
from reviewdesk.storage.queue_common import (
    DRAFT,
    DRAFT_COLUMNS,
    LEASE_HELD,
    MAX_DRAFT_ID,
    SESSION_COUNT,
    SESSION_UNCLAIM,
    SQLITE_JSON,
    SUBMIT_COLUMNS,
    SUBMITTED,
    WHY,
    SqlQueueStore,
    decision_record,
    queued_draft,
    session_open,
    typed_sql,
    varied_pick,
)
from reviewdesk.storage.queue_contract import (
    ClaimOutcome,
    DecisionWrite,
    DecisionWritten,
    Renewal,
    SessionFence,
)
from reviewdesk.storage.submit_sql import RISK_TEXT


class SqliteQueueStore(SqlQueueStore):
    """The queue's statements on SQLite."""

    def __init__(self, engines: Engines, clock: Clock | None = None) -> None:
        super().__init__(engines, clock or SystemClock(), ":now")
        self._build()

    # -- statements ---------------------------------------------------------------------------
    def _build(self) -> None:
        n = self._now_sql
        held = LEASE_HELD.format(now=n)
        self._claim_pick = typed_sql(
            f"""SELECT id, lease_owner FROM draft
                WHERE state = 'pending' AND visible_at <= {n} AND id NOT IN :exclude
                ORDER BY priority DESC, created_at, id LIMIT 1""",
            expanding=("exclude",),
            result=("id", "lease_owner"),
        )
        pick = varied_pick(now=n, not_excluded="{col} NOT IN :exclude")
        self._claim_pick_varied = typed_sql(
            f"SELECT id, lease_owner FROM draft WHERE id = ({pick})",
            expanding=("exclude",),
            result=("id", "lease_owner"),
        )
        self._session_fence = typed_sql(
            "SELECT id FROM review_session WHERE " + session_open(SQLITE_JSON, n),
            result=("id",),
        )
        self._session_claimed = typed_sql(
            f"""UPDATE review_session SET claims = claims + 1, last_activity_at = {n}
                WHERE id = :session_id"""
        )
        self._session_count = typed_sql(SESSION_COUNT.format(now=n, decided="1 = 1"))
        self._session_unclaim = typed_sql(SESSION_UNCLAIM.format(released="1 = 1"))
        self._session_fast_run = typed_sql(
            "SELECT fast_run, nudged FROM review_session WHERE id = :session_id",
            result=("fast_run", "nudged"),
        )
        self._claim_take = typed_sql(
            f"""UPDATE draft SET visible_at = :expires, lease_id = :lease_id,
                    lease_epoch = lease_epoch + 1, lease_owner = :reviewer, leased_at = :now
                WHERE id = :draft_key
                RETURNING {DRAFT_COLUMNS}""",
            result=DRAFT_COLUMNS.split(", "),
        )
        self._why = typed_sql(f"SELECT {WHY.format(now=n)} AS why FROM draft WHERE id = :draft_key")
        self._renew_sqlite = typed_sql(
            f"""UPDATE draft SET visible_at = :expires
                WHERE {held}
                RETURNING visible_at AS expires_at, lease_epoch""",
            columns=("expires_at",),
        )
        self._release_sqlite = typed_sql(
            f"""UPDATE draft SET visible_at = {n}, lease_id = NULL, lease_owner = NULL
                WHERE {held}
                RETURNING lease_epoch"""
        )
        self._prior = typed_sql(
            "SELECT id FROM decision WHERE idempotency_key = :key", result=("id",)
        )
        self._fence_decide = typed_sql(
            f"""UPDATE draft SET state = 'decided'
                WHERE {held}
                RETURNING lease_epoch""",
            result=("lease_epoch",),
        )
        # Decision ids and released drafts' cursors are one order of results (policy_sql).
        self._insert_decision = typed_sql(
            f"""INSERT INTO decision (id, draft_id, reviewer, label, final_text, reason,
                    note, severity, review_seconds, decided_at, lease_epoch,
                    idempotency_key, edit_distance, session_id, low_attention)
                VALUES ({NEXT_CURSOR_SQLITE}, :draft_key, :reviewer, :label, :final_text,
                    :reason, :note,
                    :severity, :review_seconds, {n}, :epoch, :key, :edit_distance,
                    :session_id, :low_attention)"""
        )
        self._submitted_sqlite = typed_sql(SUBMITTED.format(drafts="id > :before"))
        self._event = typed_sql(
            f"""INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
                VALUES (:draft_key, :kind, :actor, {n}, :epoch)"""
        )
        # The decision's count toward its review policy's plan (policy_sql).
        lock, *count = (typed_sql(sql) for sql in count_statements("sqlite", n))
        self._count_lock, self._count = lock, tuple(count)
        self._attempt = typed_sql(
            f"""INSERT INTO decision_attempt (draft_id, lease_id, reviewer, verdict,
                    idempotency_key, outcome, detail, attempted_at)
                VALUES (:draft_key, :lease_id, :reviewer, :verdict, :key, :outcome, :detail, {n})"""
        )

    # -- lease operations ---------------------------------------------------------------------
    def _claim_next(
        self, params: dict[str, Any], session: SessionFence, ttl: float
    ) -> ClaimOutcome:
        with self.engines.write.begin() as conn:
            now = params["now"]
            if conn.execute(self._session_fence, params).first() is None:
                return ClaimOutcome(None, False)
            picked = None
            if session.avoid_category is not None:
                picked = conn.execute(self._claim_pick_varied, params).first()
            if picked is None:
                picked = conn.execute(self._claim_pick, params).first()
            if picked is None:
                return ClaimOutcome(None, True)
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
                    "actor": params["reviewer"],
                    "epoch": epoch,
                },
            )
            conn.execute(self._session_claimed, params)
            return ClaimOutcome(queued_draft(row), True)

    def _renew_lease(self, params: dict[str, Any], ttl: float) -> Renewal:
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
                return Renewal(None, self._why_lost(conn, params))
            conn.execute(
                self._event,
                {
                    "now": now,
                    "draft_key": params["draft_key"],
                    "kind": "renewed",
                    "actor": params["reviewer"],
                    "epoch": renewed["lease_epoch"],
                },
            )
            return Renewal(renewed["expires_at"])

    def _release_lease(self, params: dict[str, Any]) -> str | None:
        with self.engines.write.begin() as conn:
            released = conn.execute(self._release_sqlite, params).first()
            if released is None:
                return self._why_lost(conn, params)
            conn.execute(
                self._event,
                {
                    "now": params["now"],
                    "draft_key": params["draft_key"],
                    "kind": "released",
                    "actor": params["reviewer"],
                    "epoch": released[0],
                },
            )
            conn.execute(self._session_unclaim, params)
            return None

    def _why_lost(self, conn: Connection, params: Mapping[str, Any]) -> str:
        why = conn.execute(self._why, params).scalar()
        return str(why) if why else "missing"

    def _write_decision(self, params: dict[str, Any], write: DecisionWrite) -> DecisionWritten:
        with self.engines.write.begin() as conn:
            prior = conn.execute(self._prior, params).scalar()
            if prior is not None:
                conn.execute(self._attempt, {**params, "outcome": "replayed", "detail": None})
                decision = (
                    conn.execute(self._decision_by_id, {"decision_id": prior}).mappings().one()
                )
                return DecisionWritten("replayed", None, decision_record(decision))
            fenced = conn.execute(self._fence_decide, params).first()
            if fenced is None:
                why = self._why_lost(conn, params)
                conn.execute(self._attempt, {**params, "outcome": "refused", "detail": why})
                return DecisionWritten("refused", why, None)
            epoch = fenced[0]
            session = conn.execute(self._session_fast_run, params).first()
            fast_run_before, was_nudged = (session[0], bool(session[1])) if session else (0, False)
            fast_run_after_this = fast_run_after(fast_run_before, fast=write.fast)
            low_attention = write.fast and fast_run_flagged(fast_run_after_this, write.fast_flag_at)
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
            if conn.execute(self._count_lock, params).rowcount:
                for statement in self._count:
                    conn.execute(statement, params)
            fast_run = fast_run_after_this if session else None
            return DecisionWritten(
                "accepted",
                None,
                fast_run=fast_run,
                was_nudged=was_nudged,
                decided_at=params["now"],
                low_attention=low_attention,
            )

    # -- the submit's steps ---------------------------------------------------------------------
    def _known(self, conn: Connection, ids: list[str]) -> dict[str, str]:
        return dict(
            conn.execute(
                select(DRAFT.c.external_id, DRAFT.c.content_hash).where(
                    DRAFT.c.external_id.in_(ids)
                )
            ).all()
        )

    def _insert_new(
        self,
        conn: Connection,
        now: datetime,
        fresh: Sequence[DraftSubmission],
        released: Set[str],
    ) -> dict[str, int]:
        # This transaction holds the write lock, so the drafts get the ids after the largest
        # one now, in the order inserted.
        before = int(conn.execute(MAX_DRAFT_ID).scalar_one())
        bulk_insert(
            conn,
            DRAFT,
            SUBMIT_COLUMNS,
            [
                (
                    r.id,
                    r.content_hash,
                    r.draft,
                    r.input,
                    r.context,
                    r.category,
                    RISK_TEXT[r.risk],
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
        )
        conn.execute(self._submitted_sqlite, {"now": now, "before": before})
        return {r.id: before + 1 + i for i, r in enumerate(fresh)}

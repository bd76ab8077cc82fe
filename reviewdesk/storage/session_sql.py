"""Review sessions, gold items and their answers: the rows the fatigue policy reads and writes.

Not on the hot path (a claim and a decision fence and count in queue_sql); these run when a
session starts or ends, when a gold draft is served, and for summaries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from reviewdesk.core.clock import Clock
from reviewdesk.core.sessions import SessionSnapshot
from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.queue_sql import QueueStore
from reviewdesk.storage.tables import (
    DecisionRow,
    DraftRow,
    GoldAnswerRow,
    GoldItemRow,
    ReviewSessionRow,
)

SESSION = ReviewSessionRow.__table__  # type: ignore[attr-defined]
GOLD = GoldItemRow.__table__  # type: ignore[attr-defined]
ANSWER = GoldAnswerRow.__table__  # type: ignore[attr-defined]
DECISION = DecisionRow.__table__  # type: ignore[attr-defined]
DRAFT = DraftRow.__table__  # type: ignore[attr-defined]


def snapshot(row: RowMapping) -> SessionSnapshot:
    return SessionSnapshot(
        id=row["id"],
        reviewer=row["reviewer"],
        started_at=row["started_at"],
        last_activity_at=row["last_activity_at"],
        ended_at=row["ended_at"],
        end_reason=row["end_reason"],
        reviews=row["reviews"],
        claims=row["claims"],
        counted_seconds=row["counted_seconds"],
        day_start=row["day_start"],
        day_reviews_before=row["day_reviews_before"],
        last_category=row["last_category"],
        category_run=row["category_run"],
        fast_run=row["fast_run"],
        nudged=bool(row["nudged"]),
    )


class SessionStore:
    def __init__(self, engines: Engines, queue: QueueStore, clock: Clock | None) -> None:
        self.engines = engines
        self.queue = queue
        self.clock = clock

    def _read(self) -> Connection:
        return self.engines.write.connect().execution_options(**{READ_ONLY: True})

    def now(self) -> datetime:
        with self._read() as conn:
            return self.queue.tx_now(conn)

    # -- sessions -------------------------------------------------------------------------------
    def get(self, session_id: int) -> SessionSnapshot | None:
        with self._read() as conn:
            row = conn.execute(select(SESSION).where(SESSION.c.id == session_id)).mappings().first()
        return snapshot(row) if row else None

    def open_session(self, reviewer: str) -> SessionSnapshot | None:
        with self._read() as conn:
            row = (
                conn.execute(
                    select(SESSION).where(
                        SESSION.c.reviewer == reviewer, SESSION.c.ended_at.is_(None)
                    )
                )
                .mappings()
                .first()
            )
        return snapshot(row) if row else None

    def last_ended_at(self, reviewer: str) -> datetime | None:
        with self._read() as conn:
            value = conn.execute(
                select(func.max(SESSION.c.ended_at)).where(SESSION.c.reviewer == reviewer)
            ).scalar()
        assert value is None or isinstance(value, datetime)  # max() keeps the column's type
        return value

    def day_counts(self, reviewer: str, day_start: datetime) -> tuple[int, int]:
        """Sessions started and reviews done by the reviewer since ``day_start``."""
        with self._read() as conn:
            row = conn.execute(
                select(func.count(), func.coalesce(func.sum(SESSION.c.reviews), 0)).where(
                    SESSION.c.reviewer == reviewer, SESSION.c.started_at >= day_start
                )
            ).one()
        return int(row[0]), int(row[1])

    def start(
        self, *, reviewer: str, now: datetime, day_start: datetime, day_reviews_before: int
    ) -> SessionSnapshot:
        """Open a session; if another client opened one for this reviewer first, that one."""
        try:
            with self.engines.write.begin() as conn:
                conn.execute(
                    insert(SESSION).values(
                        reviewer=reviewer,
                        started_at=now,
                        last_activity_at=now,
                        day_start=day_start,
                        day_reviews_before=day_reviews_before,
                    )
                )
        except IntegrityError:
            pass  # the unique open-session index: someone else started it
        opened = self.open_session(reviewer)
        assert opened is not None
        return opened

    def end(self, session_id: int, *, at: datetime, reason: str) -> bool:
        with self.engines.write.begin() as conn:
            done = conn.execute(
                update(SESSION)
                .where(SESSION.c.id == session_id, SESSION.c.ended_at.is_(None))
                .values(ended_at=at, end_reason=reason)
            ).rowcount
        return bool(done)

    def claim_gold_slot(self, *, session_id: int, max_claims: int, max_seconds: float) -> bool:
        """Count a served gold draft against the session, fenced like any claim."""
        with self.engines.write.begin() as conn:
            now = self.queue.tx_now(conn)
            done = conn.execute(
                update(SESSION)
                .where(
                    SESSION.c.id == session_id,
                    SESSION.c.ended_at.is_(None),
                    SESSION.c.claims < max_claims,
                    SESSION.c.counted_seconds < max_seconds,
                )
                .values(claims=SESSION.c.claims + 1, last_activity_at=now)
            ).rowcount
        return bool(done)

    def unclaim(self, session_id: int) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(
                update(SESSION)
                .where(SESSION.c.id == session_id, SESSION.c.claims > 0)
                .values(claims=SESSION.c.claims - 1)
            )

    def recent_sessions(self, reviewer: str, limit: int) -> list[SessionSnapshot]:
        with self._read() as conn:
            rows = conn.execute(
                select(SESSION)
                .where(SESSION.c.reviewer == reviewer)
                .order_by(SESSION.c.started_at.desc(), SESSION.c.id.desc())
                .limit(limit)
            ).mappings()
            return [snapshot(r) for r in rows]

    def session_decisions(self, session_ids: list[int]) -> list[RowMapping]:
        """Live decisions of the sessions: label, review time, low attention."""
        if not session_ids:
            return []
        with self._read() as conn:
            return list(
                conn.execute(
                    select(
                        DECISION.c.session_id,
                        DECISION.c.label,
                        DECISION.c.review_seconds,
                        DECISION.c.low_attention,
                    ).where(DECISION.c.session_id.in_(session_ids), DECISION.c.undone_at.is_(None))
                ).mappings()
            )

    def session_gold_answers(self, session_ids: list[int]) -> list[RowMapping]:
        if not session_ids:
            return []
        with self._read() as conn:
            return list(
                conn.execute(
                    select(
                        ANSWER.c.session_id,
                        ANSWER.c.correct,
                        ANSWER.c.review_seconds,
                        GOLD.c.expected_label,
                    )
                    .join(GOLD, GOLD.c.id == ANSWER.c.gold_item_id)
                    .where(ANSWER.c.session_id.in_(session_ids))
                ).mappings()
            )

    # -- gold -------------------------------------------------------------------------------------
    def mark_gold(
        self, *, external_id: str, expected_label: str, by: str, note: str | None
    ) -> str | None:
        """Make a decided draft a gold item. Returns None, or why it cannot be."""
        with self.engines.write.begin() as conn:
            now = self.queue.tx_now(conn)
            row = (
                conn.execute(
                    select(DRAFT.c.id, DRAFT.c.state, DRAFT.c.is_gold).where(
                        DRAFT.c.external_id == external_id
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return f"no draft with id {external_id!r}"
            if row["state"] != "decided":
                return f"draft {external_id!r} is not decided yet; only decided drafts can be gold"
            if row["is_gold"]:
                conn.execute(
                    update(GOLD)
                    .where(GOLD.c.draft_id == row["id"])
                    .values(expected_label=expected_label, note=note, active=True)
                )
                return None
            conn.execute(update(DRAFT).where(DRAFT.c.id == row["id"]).values(is_gold=True))
            conn.execute(
                insert(GOLD).values(
                    draft_id=row["id"],
                    expected_label=expected_label,
                    note=note,
                    created_by=by,
                    created_at=now,
                )
            )
            return None

    def gold_expected(self, gold_item_id: int) -> str:
        with self._read() as conn:
            value = conn.execute(
                select(GOLD.c.expected_label).where(GOLD.c.id == gold_item_id)
            ).scalar_one()
        return str(value)

    def set_gold_active(self, *, external_id: str, active: bool) -> bool:
        with self.engines.write.begin() as conn:
            draft_key = conn.execute(
                select(DRAFT.c.id).where(DRAFT.c.external_id == external_id)
            ).scalar()
            if draft_key is None:
                return False
            return bool(
                conn.execute(
                    update(GOLD).where(GOLD.c.draft_id == draft_key).values(active=active)
                ).rowcount
            )

    def pick_gold(self, *, reviewer: str, session_id: int) -> dict[str, Any] | None:
        """An active gold item this reviewer has not answered in this session, preferring the
        ones they have answered least; with its draft's columns."""
        with self._read() as conn:
            answered = (
                select(func.count())
                .where(ANSWER.c.gold_item_id == GOLD.c.id, ANSWER.c.reviewer == reviewer)
                .scalar_subquery()
            )
            in_session = (
                select(ANSWER.c.id)
                .where(ANSWER.c.gold_item_id == GOLD.c.id, ANSWER.c.session_id == session_id)
                .exists()
            )
            pick = (
                conn.execute(
                    select(GOLD.c.id, GOLD.c.draft_id, GOLD.c.expected_label)
                    .where(GOLD.c.active.is_(True), ~in_session)
                    .order_by(answered, func.random())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            if pick is None:
                return None
            draft = (
                conn.execute(select(DRAFT).where(DRAFT.c.id == pick["draft_id"])).mappings().one()
            )
            return {
                **draft,
                "gold_item_id": pick["id"],
                "expected_label": pick["expected_label"],
            }

    def record_gold_answer(
        self,
        *,
        gold_item_id: int,
        reviewer: str,
        session_id: int | None,
        label: str,
        correct: bool,
        review_seconds: float | None,
        session_update: dict[str, Any],
    ) -> tuple[int | None, bool]:
        """Store the answer and count it in the session. Returns (fast run after, was nudged)."""
        with self.engines.write.begin() as conn:
            now = self.queue.tx_now(conn)
            conn.execute(
                insert(ANSWER).values(
                    gold_item_id=gold_item_id,
                    reviewer=reviewer,
                    session_id=session_id,
                    label=label,
                    correct=correct,
                    answered_at=now,
                    review_seconds=review_seconds,
                )
            )
            if session_id is None:
                return None, False
            before = conn.execute(
                select(SESSION.c.fast_run, SESSION.c.nudged).where(SESSION.c.id == session_id)
            ).first()
            fast = bool(session_update["fast"])
            category = session_update["category"]
            conn.execute(
                update(SESSION)
                .where(SESSION.c.id == session_id)
                .values(
                    reviews=SESSION.c.reviews + 1,
                    counted_seconds=SESSION.c.counted_seconds + session_update["counted_seconds"],
                    last_activity_at=now,
                    category_run=_category_run(category),
                    last_category=category,
                    fast_run=(SESSION.c.fast_run + 1) if fast else 0,
                    nudged=SESSION.c.nudged
                    | (
                        fast
                        and (before is not None and before[0] + 1 >= session_update["fast_flag_at"])
                    ),
                )
            )
            if before is None:
                return None, False
            return (before[0] + 1 if fast else 0), bool(before[1])

    def gold_accuracy(self, reviewer: str | None = None) -> list[RowMapping]:
        """Per reviewer: answers, correct answers, and caught (expected a stop, and stopped)."""
        with self._read() as conn:
            stop = GOLD.c.expected_label.in_(("rejected", "escalated"))
            caught = func.sum(case((and_(ANSWER.c.correct, stop), 1), else_=0))
            stmt = (
                select(
                    ANSWER.c.reviewer,
                    func.count().label("answers"),
                    func.sum(case((ANSWER.c.correct, 1), else_=0)).label("correct"),
                    caught.label("caught"),
                )
                .join(GOLD, GOLD.c.id == ANSWER.c.gold_item_id)
                .group_by(ANSWER.c.reviewer)
                .order_by(ANSWER.c.reviewer)
            )
            if reviewer is not None:
                stmt = stmt.where(ANSWER.c.reviewer == reviewer)
            return list(conn.execute(stmt).mappings())

    def confirmed_catches(self, reviewer: str, since: datetime | None) -> list[RowMapping]:
        """The reviewer's live rejections and escalations that a gold mark or another reviewer's
        gold answer has confirmed: a stop the lead or a peer agreed with."""
        with self._read() as conn:
            peer_agrees = (
                select(ANSWER.c.id)
                .where(
                    ANSWER.c.gold_item_id == GOLD.c.id,
                    ANSWER.c.reviewer != reviewer,
                    ANSWER.c.label.in_(("rejected", "escalated")),
                )
                .exists()
            )
            stmt = (
                select(
                    DRAFT.c.external_id, DECISION.c.label, DECISION.c.decided_at, GOLD.c.created_at
                )
                .join(DRAFT, DRAFT.c.id == DECISION.c.draft_id)
                .join(GOLD, GOLD.c.draft_id == DRAFT.c.id)
                .where(
                    DECISION.c.reviewer == reviewer,
                    DECISION.c.undone_at.is_(None),
                    DECISION.c.label.in_(("rejected", "escalated")),
                    GOLD.c.expected_label.in_(("rejected", "escalated")) | peer_agrees,
                )
                .order_by(DECISION.c.decided_at)
            )
            if since is not None:
                stmt = stmt.where(GOLD.c.created_at >= since)
            return list(conn.execute(stmt).mappings())


def _category_run(category: str) -> Any:
    return case((SESSION.c.last_category == category, SESSION.c.category_run + 1), else_=1)

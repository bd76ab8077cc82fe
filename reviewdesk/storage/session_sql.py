"""Review sessions, gold items and their answers: the rows the fatigue policy reads and writes.

Not on the hot path (a claim and a decision fence and count in the queue stores, queue_pg.py
and queue_sqlite.py); these run when a session starts or ends, when a gold draft is served, and
for summaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, case, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import STOPPING_LABELS
from reviewdesk.core.errors import ClaimRefused
from reviewdesk.core.sessions import Blocker, SessionSnapshot, gold_answer_correct
from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.queue_common import (
    LIMITS_SETTING,
    PG_JSON,
    SQLITE_JSON,
    queued_draft,
    session_open,
    team_limits,
    typed_sql,
)
from reviewdesk.storage.queue_contract import DecisionWrite, QueuedDraft, QueueStore, SessionFence
from reviewdesk.storage.queue_pg import DefinerCalls
from reviewdesk.storage.tables import (
    DecisionAttemptRow,
    DecisionRow,
    DraftEventRow,
    DraftRow,
    GoldAnswerRow,
    GoldItemRow,
    GoldServeRow,
    ReviewSessionRow,
)

# The refusals of rd_start_session that say why a session may not start now (core Blocker).
_BLOCKERS = frozenset(b.value for b in Blocker)

SESSION = ReviewSessionRow.__table__  # type: ignore[attr-defined]
GOLD = GoldItemRow.__table__  # type: ignore[attr-defined]
ANSWER = GoldAnswerRow.__table__  # type: ignore[attr-defined]
DECISION = DecisionRow.__table__  # type: ignore[attr-defined]
DRAFT = DraftRow.__table__  # type: ignore[attr-defined]
SERVE = GoldServeRow.__table__  # type: ignore[attr-defined]
EVENT = DraftEventRow.__table__  # type: ignore[attr-defined]
ATTEMPT = DecisionAttemptRow.__table__  # type: ignore[attr-defined]

# Gold items one pick looks at, at most, from where it starts: a claim that serves gold costs
# the same however many gold items there are. The ones it passes over are those served this
# session and those the reviewer decided; if all of a window are, the next start is tried.
GOLD_PICK_WINDOW = 64

# The next active gold item after :after that this session has not been served and that the
# reviewer did not decide. It walks ix_gold_item_active from :after, at most :window entries,
# and probes ux_gold_serve_session and ux_decision_live_draft once for each: the probes are
# scalar subqueries so that the planner cannot turn them into a join that reads whole tables.
_GOLD_PICK = typed_sql(
    """SELECT id, draft_id FROM (
            SELECT c.id, c.draft_id,
                (SELECT 1 FROM gold_serve s
                 WHERE s.session_id = :session_id AND s.gold_item_id = c.id) AS served,
                (SELECT 1 FROM decision d
                 WHERE d.draft_id = c.draft_id AND d.undone_at IS NULL
                   AND d.reviewer = :reviewer LIMIT 1) AS decided
            FROM (
                SELECT id, draft_id FROM gold_item WHERE active AND id > :after
                ORDER BY id LIMIT :window
            ) c
        ) probed
        WHERE served IS NULL AND decided IS NULL
        ORDER BY id LIMIT 1"""
)
# Where the reviewer's turn through the gold items stands: ix_gold_serve_reviewer.
_LAST_SERVED = typed_sql(
    "SELECT gold_item_id FROM gold_serve WHERE reviewer = :reviewer ORDER BY id DESC LIMIT 1"
)
_LAST_GOLD_ITEM = text("SELECT max(id) FROM gold_item")
# Sessions started and reviews done by a reviewer since the start of their review day: what
# the daily limits count. A new session records the reviews in it (day_reviews_before), which
# bound its claims; on PostgreSQL rd_start_session runs this same statement (definer_sql), so
# that the count is the server's, not a number the client passes. A session's reviews count at
# least as its claims: the claim's fence counts those, while a decision made outside the
# session (by plain SQL, with no session named) would add no review.
DAY_COUNTS = """SELECT count(*) AS sessions,
        COALESCE(sum(CASE WHEN claims > reviews THEN claims ELSE reviews END), 0) AS reviews
        FROM review_session WHERE reviewer = :reviewer AND started_at >= :day_start"""
# A new session with the day's count so far; ``{now}`` is the statement's clock. Built from
# constants only.
SESSION_START = f"""INSERT INTO review_session (reviewer, started_at, last_activity_at, day_start,
                                day_reviews_before)
    SELECT :reviewer, {{now}}, {{now}}, :day_start, today.reviews FROM ({DAY_COUNTS}) today"""  # noqa: S608
# Why the reviewer may not start a session at ``{now}``, and until when: core.sessions.
# start_blocker's rule (a break after the last session ended, then the day's sessions, then
# its reviews) over the team's stored limits, on PostgreSQL (rd_start_session runs it, so that
# no login starts a session the limits forbid). ``blocker`` is NULL when a session may start.
# The review day's start is the caller's (rd_start_session bounds it); the next one is a
# calendar day later in the team's zone, or 24 hours later where the team sets none (the
# desk's own zone is not the server's to know). Built from constants only.
START_BLOCKER = f"""SELECT blocker,
        CASE blocker WHEN 'on_break' THEN break_ends ELSE next_day END AS lifts_at,
        zone_name, break_minutes, sessions_per_day, reviews_per_day
    FROM (
        SELECT CASE
                WHEN {{now}} < last_end.ended_at + make_interval(secs => lim.break_minutes * 60)
                THEN 'on_break'
                WHEN today.sessions >= lim.sessions_per_day THEN 'daily_sessions'
                WHEN today.reviews >= lim.reviews_per_day THEN 'daily_reviews'
            END AS blocker,
            last_end.ended_at + make_interval(secs => lim.break_minutes * 60) AS break_ends,
            CASE WHEN team_zone.name IS NULL THEN :day_start + interval '24 hours'
                 ELSE ((:day_start AT TIME ZONE team_zone.name) + interval '1 day')
                      AT TIME ZONE team_zone.name
            END AS next_day,
            COALESCE(team_zone.name, 'UTC') AS zone_name,
            lim.break_minutes, lim.sessions_per_day, lim.reviews_per_day
        FROM ({team_limits(PG_JSON)}) AS lim,
            (SELECT max(ended_at) AS ended_at FROM review_session
             WHERE reviewer = :reviewer) AS last_end,
            ({DAY_COUNTS}) AS today,
            (SELECT (SELECT value ->> 'timezone' FROM setting
                     WHERE key = '{LIMITS_SETTING}') AS name) AS team_zone
    ) AS blocked"""  # noqa: S608
_DAY_COUNTS = typed_sql(DAY_COUNTS)
_SESSION_START = typed_sql(SESSION_START.format(now=":now"))
# A served gold draft counts against the session as a claim does, behind the claim's own fence
# (SQLite's; rd_serve_gold's on PostgreSQL).
_GOLD_CLAIM_COUNTED = typed_sql(
    "UPDATE review_session SET claims = claims + 1, last_activity_at = :now "  # noqa: S608
    + "WHERE "
    + session_open(SQLITE_JSON, ":now")
)


@dataclass(frozen=True)
class ServedGold:
    """A gold draft served under a new lease, as a claim's draft is, and its gold item."""

    draft: QueuedDraft
    gold_item_id: int


@dataclass(frozen=True)
class GoldAnswered:
    outcome: str  # accepted | refused | replayed
    why: str | None
    label: str | None = None
    correct: bool | None = None
    expected: str | None = None  # the gold item's expected label, once answered
    answered_at: datetime | None = None
    fast_run: int | None = None  # the session's run of fast approvals after this answer
    was_nudged: bool = False


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
        # PostgreSQL: sessions and gold serves change through definer_sql's functions.
        self._definers = (
            DefinerCalls(engines.statement.dialect, clock)
            if engines.target.dialect == "postgresql"
            else None
        )

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
            row = conn.execute(_DAY_COUNTS, {"reviewer": reviewer, "day_start": day_start}).one()
        return int(row[0]), int(row[1])

    def start(self, *, reviewer: str, now: datetime, day_start: datetime) -> SessionSnapshot:
        """Open a session, counting the reviewer's reviews since ``day_start`` into it; if
        another client opened one for this reviewer first, that one. On PostgreSQL the server
        refuses one during a break or past a daily cap: ClaimRefused, with its reason."""
        if self._definers is not None:
            with self.engines.statement.connect() as conn:
                row = self._definers.call(
                    conn, "rd_start_session", "reviewer", passing=_BLOCKERS,
                    reviewer=reviewer, day_start=day_start, now=now if self.clock else None,
                )  # fmt: skip
            if row["refused"] is not None:  # a break or a daily cap: the server's word
                blocker, _, message = row["refused"].partition(":")
                raise ClaimRefused(reviewer, blocker, row["blocked_until"], message)
            opened = self.open_session(reviewer)
            assert opened is not None
            return opened
        try:
            with self.engines.write.begin() as conn:
                conn.execute(
                    _SESSION_START, {"reviewer": reviewer, "now": now, "day_start": day_start}
                )
        except IntegrityError:
            pass  # the unique open-session index: someone else started it
        opened = self.open_session(reviewer)
        assert opened is not None
        return opened

    def end(self, session_id: int, *, at: datetime, reason: str) -> bool:
        if self._definers is not None:
            with self.engines.statement.connect() as conn:
                row = self._definers.call(
                    conn, "rd_end_session", "reviewer",
                    session_id=session_id, at=at, end_reason=reason,
                )  # fmt: skip
            return bool(row["ended"])
        with self.engines.write.begin() as conn:
            done = conn.execute(
                update(SESSION)
                .where(SESSION.c.id == session_id, SESSION.c.ended_at.is_(None))
                .values(ended_at=at, end_reason=reason)
            ).rowcount
        return bool(done)

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
        if self._definers is not None:
            with self.engines.statement.connect() as conn:
                problem = self._definers.call(
                    conn, "rd_mark_gold", "lead",
                    external_id=external_id, expected_label=expected_label, note=note, by=by,
                )["problem"]  # fmt: skip
            if problem == "missing":
                return f"no draft with id {external_id!r}"
            if problem == "undecided":
                return f"draft {external_id!r} is not decided yet; only decided drafts can be gold"
            return None
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

    def set_gold_active(self, *, external_id: str, active: bool) -> bool:
        if self._definers is not None:
            with self.engines.statement.connect() as conn:
                row = self._definers.call(
                    conn, "rd_set_gold_active", "lead", external_id=external_id, active=active
                )
            return bool(row["changed"])
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

    # -- serving gold: a lease like a claim's, fenced the same way ---------------------------
    def serve_gold(
        self,
        *,
        reviewer: str,
        session: SessionFence,
        lease_id: str,
        ttl: float,
        start: float,
        exclude: Sequence[int] = (),
    ) -> ServedGold | None:
        """Serve the reviewer a gold draft under a new lease, counted against the session like
        a claim and fenced on it the same way. None when no gold item fits, or the session is
        closed or spent (then the ordinary claim looks closer).

        ``start`` (0..1) places the walk at random when the reviewer's turn through the gold
        items finds nothing near where it stands.
        """
        if self._definers is not None:
            try:
                with self.engines.statement.connect() as conn:
                    row = self._definers.call_optional(
                        conn, "rd_serve_gold", "reviewer",
                        reviewer=reviewer, session_id=session.session_id, lease_id=lease_id,
                        ttl=ttl, start=start, exclude=list(exclude) or [-1],
                    )  # fmt: skip
            except IntegrityError:
                return None  # this session was served the same item concurrently: not twice
            return ServedGold(queued_draft(row), row["gold_item_id"]) if row is not None else None
        try:
            with self.engines.write.begin() as conn:
                now = self.queue.tx_now(conn)
                pick = self._pick_gold(conn, reviewer, session.session_id, start)
                if pick is None or pick["draft_id"] in exclude:
                    return None
                counted = conn.execute(
                    _GOLD_CLAIM_COUNTED,
                    {"now": now, "session_id": session.session_id, "reviewer": reviewer},
                ).rowcount
                if not counted:
                    return None
                draft = (
                    conn.execute(
                        update(DRAFT)
                        .where(DRAFT.c.id == pick["draft_id"])
                        .values(lease_epoch=DRAFT.c.lease_epoch + 1)
                        .returning(*DRAFT.c)
                    )
                    .mappings()
                    .one()
                )
                expires = now + timedelta(seconds=ttl)
                conn.execute(
                    insert(SERVE).values(
                        gold_item_id=pick["id"],
                        draft_id=pick["draft_id"],
                        session_id=session.session_id,
                        reviewer=reviewer,
                        lease_id=lease_id,
                        lease_epoch=draft["lease_epoch"],
                        state="leased",
                        served_at=now,
                        visible_at=expires,
                    )
                )
                _audit(conn, pick["draft_id"], "claimed", reviewer, now, draft["lease_epoch"])
        except IntegrityError:
            return None  # this session was served the same item concurrently: not twice
        leased = {
            **draft,
            "lease_id": lease_id,
            "lease_owner": reviewer,
            "leased_at": now,
            "visible_at": expires,
        }
        return ServedGold(queued_draft(leased), pick["id"])

    def _pick_gold(
        self, conn: Connection, reviewer: str, session_id: int, start: float
    ) -> RowMapping | None:
        """The gold item to serve: the reviewer takes the gold items in turn (id order, from
        the one last served to them, wrapping around), so each comes back only after all the
        others; failing that, from a random place."""
        last = conn.execute(_LAST_SERVED, {"reviewer": reviewer}).scalar()
        top = conn.execute(_LAST_GOLD_ITEM).scalar() or 0
        starts = [0, int(start * top)] if last is None else [last, 0, int(start * top)]
        for after in dict.fromkeys(starts):  # in order, without repeats
            pick = (
                conn.execute(
                    _GOLD_PICK,
                    {
                        "after": after,
                        "window": GOLD_PICK_WINDOW,
                        "session_id": session_id,
                        "reviewer": reviewer,
                    },
                )
                .mappings()
                .first()
            )
            if pick is not None:
                return pick
        return None

    def renew_gold(
        self, *, lease_id: str, reviewer: str, ttl: float
    ) -> tuple[datetime | None, str | None]:
        """Extend a gold serve's lease; (new expiry, None) or (None, why it is lost)."""
        if self._definers is not None:
            with self.engines.statement.connect() as conn:
                row = self._definers.call(
                    conn, "rd_renew_gold", "reviewer", lease_id=lease_id, reviewer=reviewer, ttl=ttl
                )
            return row["expires_at"], row["why"]
        with self.engines.write.begin() as conn:
            now = self.queue.tx_now(conn)
            renewed = (
                conn.execute(
                    update(SERVE)
                    .where(*_serve_fence(lease_id, now))
                    .values(visible_at=now + timedelta(seconds=ttl))
                    .returning(SERVE.c.draft_id, SERVE.c.lease_epoch, SERVE.c.visible_at)
                )
                .mappings()
                .first()
            )
            if renewed is None:
                return None, _serve_lost(conn, lease_id, now)
            _audit(conn, renewed["draft_id"], "renewed", reviewer, now, renewed["lease_epoch"])
            return renewed["visible_at"], None

    def release_gold(self, *, lease_id: str, reviewer: str) -> str | None:
        """Give a gold serve back (a skip): its claim no longer counts. None when released, or
        why the lease was lost already (then nothing is given back)."""
        if self._definers is not None:
            with self.engines.statement.connect() as conn:
                row = self._definers.call(
                    conn, "rd_release_gold", "reviewer", lease_id=lease_id, reviewer=reviewer
                )
            return row["why"]  # type: ignore[no-any-return]
        with self.engines.write.begin() as conn:
            now = self.queue.tx_now(conn)
            released = (
                conn.execute(
                    update(SERVE)
                    .where(*_serve_fence(lease_id, now))
                    .values(state="released")
                    .returning(SERVE.c.draft_id, SERVE.c.lease_epoch, SERVE.c.session_id)
                )
                .mappings()
                .first()
            )
            if released is None:
                return _serve_lost(conn, lease_id, now)
            _audit(conn, released["draft_id"], "released", reviewer, now, released["lease_epoch"])
            conn.execute(
                update(SESSION)
                .where(SESSION.c.id == released["session_id"], SESSION.c.claims > 0)
                .values(claims=SESSION.c.claims - 1)
            )
            return None

    def answer_gold(self, *, write: DecisionWrite, gold_item_id: int) -> GoldAnswered:
        """Record the answer to a gold serve, fenced on its lease as a decision is: one answer
        per serve, judged against the gold item's expected label (core.sessions,
        gold_answer_correct), which the answer brings back. A retry with the same idempotency
        key reports the first answer. Every attempt is logged, as a decision's is."""
        if self._definers is not None:
            with self.engines.statement.connect() as conn:
                row = self._definers.call(
                    conn, "rd_answer_gold", "reviewer",
                    draft_key=write.draft_key, lease_id=write.lease_id, reviewer=write.reviewer,
                    verdict=write.verdict, key=write.key, label=write.label,
                    review_seconds=write.review_seconds, session_id=write.session_id,
                    counted_seconds=write.counted_seconds, category=write.category,
                    fast=write.fast, fast_flag_at=write.fast_flag_at,
                )  # fmt: skip
            if row["outcome"] == "refused":
                return GoldAnswered("refused", row["why"])
            return GoldAnswered(
                row["outcome"],
                None,
                label=row["label"],
                correct=bool(row["correct"]),
                expected=row["expected"],
                answered_at=row["answered_at"],
                fast_run=row["fast_run"],
                was_nudged=bool(row["was_nudged"]),
            )
        with self.engines.write.begin() as conn:
            expected = conn.execute(
                select(GOLD.c.expected_label).where(GOLD.c.id == gold_item_id)
            ).scalar_one()
            correct = gold_answer_correct(str(expected), write.label)
            now = self.queue.tx_now(conn)
            attempt = {
                "draft_id": write.draft_key,
                "lease_id": write.lease_id,
                "reviewer": write.reviewer,
                "verdict": write.verdict,
                "idempotency_key": write.key,
                "attempted_at": now,
            }
            served = (
                conn.execute(
                    update(SERVE)
                    .where(*_serve_fence(write.lease_id, now))
                    .values(state="answered", answer_key=write.key)
                    .returning(SERVE.c.id, SERVE.c.draft_id, SERVE.c.lease_epoch)
                )
                .mappings()
                .first()
            )
            if served is None:
                # Looked for only now: a concurrent retry with this key may just have answered.
                prior = (
                    conn.execute(
                        select(ANSWER.c.label, ANSWER.c.correct, ANSWER.c.answered_at)
                        .join(SERVE, SERVE.c.id == ANSWER.c.serve_id)
                        .where(SERVE.c.lease_id == write.lease_id, SERVE.c.answer_key == write.key)
                    )
                    .mappings()
                    .first()
                )
                if prior is not None:
                    conn.execute(insert(ATTEMPT).values(**attempt, outcome="replayed"))
                    return GoldAnswered(
                        "replayed",
                        None,
                        label=prior["label"],
                        correct=bool(prior["correct"]),
                        expected=str(expected),
                        answered_at=prior["answered_at"],
                    )
                why = _serve_lost(conn, write.lease_id, now)
                conn.execute(insert(ATTEMPT).values(**attempt, outcome="refused", detail=why))
                return GoldAnswered("refused", why)
            conn.execute(
                insert(ANSWER).values(
                    gold_item_id=gold_item_id,
                    reviewer=write.reviewer,
                    session_id=write.session_id,
                    label=write.label,
                    correct=correct,
                    answered_at=now,
                    review_seconds=write.review_seconds,
                    serve_id=served["id"],
                )
            )
            conn.execute(insert(ATTEMPT).values(**attempt, outcome="accepted"))
            _audit(conn, served["draft_id"], "answered", write.reviewer, now, served["lease_epoch"])
            fast_run, was_nudged = self._count_answer(conn, write, now)
            return GoldAnswered(
                "accepted",
                None,
                label=write.label,
                correct=correct,
                expected=str(expected),
                answered_at=now,
                fast_run=fast_run,
                was_nudged=was_nudged,
            )

    def _count_answer(
        self, conn: Connection, write: DecisionWrite, now: datetime
    ) -> tuple[int | None, bool]:
        """Count the answer in its session as a decision is counted. Returns (fast run after,
        was nudged)."""
        session_id = write.session_id
        if session_id is None:
            return None, False
        before = conn.execute(
            select(SESSION.c.fast_run, SESSION.c.nudged).where(SESSION.c.id == session_id)
        ).first()
        fast = write.fast
        conn.execute(
            update(SESSION)
            .where(SESSION.c.id == session_id)
            .values(
                reviews=SESSION.c.reviews + 1,
                counted_seconds=SESSION.c.counted_seconds + write.counted_seconds,
                last_activity_at=now,
                category_run=_category_run(write.category),
                last_category=write.category,
                fast_run=(SESSION.c.fast_run + 1) if fast else 0,
                nudged=SESSION.c.nudged
                | (fast and (before is not None and before[0] + 1 >= write.fast_flag_at)),
            )
        )
        if before is None:
            return None, False
        return (before[0] + 1 if fast else 0), bool(before[1])

    def gold_accuracy(self, reviewer: str | None = None) -> list[RowMapping]:
        """Per reviewer: answers, correct answers, and caught (expected a stop, and stopped)."""
        with self._read() as conn:
            stop = GOLD.c.expected_label.in_(STOPPING_LABELS)
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
                    ANSWER.c.label.in_(STOPPING_LABELS),
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
                    DECISION.c.label.in_(STOPPING_LABELS),
                    GOLD.c.expected_label.in_(STOPPING_LABELS) | peer_agrees,
                )
                .order_by(DECISION.c.decided_at)
            )
            if since is not None:
                stmt = stmt.where(GOLD.c.created_at >= since)
            return list(conn.execute(stmt).mappings())


def _category_run(category: str) -> Any:
    return case((SESSION.c.last_category == category, SESSION.c.category_run + 1), else_=1)


def _serve_fence(lease_id: str, now: datetime) -> tuple[Any, ...]:
    """A gold serve's lease holds while it is neither answered nor released nor expired."""
    return (SERVE.c.lease_id == lease_id, SERVE.c.state == "leased", SERVE.c.visible_at > now)


def _serve_lost(conn: Connection, lease_id: str, now: datetime) -> str:
    """Why a gold serve's lease no longer holds, in the words LeaseLost uses for a draft's."""
    row = conn.execute(
        select(SERVE.c.state, SERVE.c.visible_at).where(SERVE.c.lease_id == lease_id)
    ).first()
    if row is None:
        return "missing"
    if row[0] == "answered":
        return "already_decided"
    if row[0] == "released":
        return "released"
    return "expired" if row[1] <= now else "missing"


def _audit(
    conn: Connection, draft_id: int, kind: str, actor: str, at: datetime, epoch: int
) -> None:
    """One audit event of a gold serve on its draft's trail, as a claimed draft has them."""
    conn.execute(
        insert(EVENT).values(draft_id=draft_id, kind=kind, actor=actor, at=at, lease_epoch=epoch)
    )

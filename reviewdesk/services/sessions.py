"""Fatigue-aware sessions, as the queue enforces them.

The policy is plain Python (reviewdesk.core.sessions). Here it meets the database: a claim is
fenced on the reviewer's open session inside the claim statement itself; only when that fence
fails does the keeper look closer, ending a spent or idle session, and either opening a new one
or refusing with the reason and the time it lifts.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from reviewdesk.core.domain import Label
from reviewdesk.core.errors import ClaimRefused
from reviewdesk.core.sessions import (
    Blocker,
    EndReason,
    LimitUse,
    SessionLimits,
    SessionSnapshot,
    SessionStatus,
    category_to_avoid,
    gold_answer_caught,
    idle_end,
    limit_uses,
    review_day_start,
    serve_gold,
    session_limit_reached,
    start_blocker,
    warnings,
)
from reviewdesk.storage.queue_common import LIMITS_SETTING
from reviewdesk.storage.queue_contract import QueueStore, SessionFence
from reviewdesk.storage.session_sql import SessionStore

LIMITS_KEY = LIMITS_SETTING
# A lead's change of limits reaches running desks within this many seconds.
LIMITS_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class SessionTrendPoint:
    session_id: int
    started_at: datetime
    reviews: int
    median_seconds: float | None
    approval_share: float | None
    gold_accuracy: float | None


@dataclass(frozen=True)
class SessionSummary:
    """What a reviewer sees on a break or at the end of a session."""

    session: SessionSnapshot
    by_label: dict[str, int]
    gold_answers: int
    gold_correct: int
    caught: int
    median_seconds: float | None
    low_attention: int
    trend: list[SessionTrendPoint] = field(default_factory=list)

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None


@dataclass
class _Run:
    """What this process knows of a reviewer's open session between claims."""

    session: SessionSnapshot
    last_category: str | None
    category_run: int


def _blocker_message(
    reviewer: str, blocker: Blocker, until: datetime, limits: SessionLimits
) -> str:
    when = until.astimezone(limits.zone()).strftime("%H:%M on %d %b")
    if blocker is Blocker.ON_BREAK:
        return (
            f"{reviewer} is on a break until {when}: sessions are at least "
            f"{limits.break_minutes:g} minutes apart."
        )
    if blocker is Blocker.DAILY_SESSIONS:
        return (
            f"{reviewer} has done today's {limits.sessions_per_day} sessions; "
            f"the next review day starts at {when}."
        )
    return (
        f"{reviewer} has done today's {limits.reviews_per_day} reviews; "
        f"the next review day starts at {when}."
    )


class SessionKeeper:
    def __init__(self, queue: QueueStore, store: SessionStore, rng: random.Random | None = None):
        self._queue = queue
        self._store = store
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._limits: tuple[float, SessionLimits] | None = None

    # -- limits -------------------------------------------------------------------------------
    def limits(self) -> SessionLimits:
        with self._lock:
            cached = self._limits
        if cached and time.monotonic() - cached[0] < LIMITS_CACHE_SECONDS:
            return cached[1]
        stored = self._queue.get_setting(LIMITS_KEY)
        limits = SessionLimits.from_json(stored) if stored else SessionLimits()
        with self._lock:
            self._limits = (time.monotonic(), limits)
        return limits

    def forget_limits(self) -> None:
        """Read the limits again at their next use (told that a lead changed them)."""
        with self._lock:
            self._limits = None

    def set_limits(self, limits: SessionLimits) -> None:
        self._queue.put_setting(LIMITS_KEY, limits.to_json())
        with self._lock:
            self._limits = (time.monotonic(), limits)

    # -- the claim fence ----------------------------------------------------------------------
    def fence(self, reviewer: str, *, fresh: bool = False) -> SessionFence:
        """The fence for the reviewer's next claim; opens a session if none is open.
        ``fresh``: the last claim found the session ended or spent, so look again, with the
        team's limits read afresh (the database fences on the stored ones).

        Raises ClaimRefused when the reviewer is on a break or done for the day.
        """
        if fresh:
            self.forget_limits()
        limits = self.limits()
        with self._lock:
            run = None if fresh else self._runs.get(reviewer)
        if run is None:
            session = self._ensure_session(reviewer, limits)
            run = _Run(session, session.last_category, session.category_run)
            with self._lock:
                self._runs[reviewer] = run
        # How much the session may still hand out is the database's to say (the claim fences
        # on the team's stored limits); the variety rule is the desk's.
        probe = SessionSnapshot(
            **{
                **run.session.__dict__,
                "last_category": run.last_category,
                "category_run": run.category_run,
            }
        )
        return SessionFence(
            session_id=run.session.id, avoid_category=category_to_avoid(probe, limits)
        )

    def _ensure_session(self, reviewer: str, limits: SessionLimits) -> SessionSnapshot:
        now = self._store.now()
        current = self._store.open_session(reviewer)
        if current is not None:
            idle_since = idle_end(current, limits, now)
            if idle_since is not None:
                self._store.end(current.id, at=idle_since, reason=EndReason.IDLE)
            elif (reason := session_limit_reached(current, limits)) is not None:
                # It was spent at its last activity, not when somebody next asked: the break
                # runs from then.
                self._store.end(current.id, at=current.last_activity_at, reason=reason)
            else:
                return current
        day_start = review_day_start(now, limits)
        sessions_today, reviews_today = self._store.day_counts(reviewer, day_start)
        blocked = start_blocker(
            limits=limits,
            now=now,
            last_ended_at=self._store.last_ended_at(reviewer),
            sessions_today=sessions_today,
            reviews_today=reviews_today,
        )
        if blocked is not None:
            blocker, until = blocked
            raise ClaimRefused(
                reviewer, blocker.value, until, _blocker_message(reviewer, blocker, until, limits)
            )
        # The store counts the day's reviews into the session itself (on PostgreSQL the
        # server does): ``reviews_today`` above only decides whether one may start. On
        # PostgreSQL the server decides that again, with the limits as stored now.
        try:
            return self._store.start(reviewer=reviewer, now=now, day_start=day_start)
        except ClaimRefused as refused:
            blocker = Blocker(refused.reason)
            message = _blocker_message(reviewer, blocker, refused.until, limits)
            raise ClaimRefused(reviewer, blocker.value, refused.until, message) from None

    def forget(self, reviewer: str) -> None:
        with self._lock:
            self._runs.pop(reviewer, None)

    def decided(self, reviewer: str, category: str) -> None:
        """Follow the category run locally, so the next fence knows it without a query."""
        with self._lock:
            run = self._runs.get(reviewer)
            if run is None:
                return
            if run.last_category == category:
                run.category_run += 1
            else:
                run.last_category, run.category_run = category, 1

    def serve_gold(self) -> bool:
        """Whether this claim serves a known-answer draft (drawn afresh for each claim)."""
        limits = self.limits()
        with self._lock:
            return serve_gold(self._rng, limits)

    def random_start(self) -> float:
        """Where in the gold items a pick starts when the reviewer's turn finds none (0..1)."""
        with self._lock:
            return self._rng.random()

    # -- status, ending, summaries ------------------------------------------------------------
    def status(self, reviewer: str) -> SessionStatus:
        limits = self.limits()
        now = self._store.now()
        day_start = review_day_start(now, limits)
        sessions_today, reviews_today = self._store.day_counts(reviewer, day_start)
        current = self._store.open_session(reviewer)
        if current is not None and idle_end(current, limits, now) is None:
            uses: list[LimitUse] = limit_uses(current, limits)
            spent = session_limit_reached(current, limits)
            if spent is None:
                return SessionStatus(
                    reviewer,
                    current,
                    None,
                    None,
                    uses,
                    warnings(uses, limits),
                    sessions_today,
                    reviews_today,
                )
            last_ended_at: datetime | None = current.last_activity_at  # spent then
        else:
            uses = []
            last_ended_at = self._store.last_ended_at(reviewer)
            if current is not None:
                last_ended_at = current.last_activity_at
        blocked = start_blocker(
            limits=limits,
            now=now,
            last_ended_at=last_ended_at,
            sessions_today=sessions_today,
            reviews_today=reviews_today,
        )
        return SessionStatus(
            reviewer,
            current,
            blocked[0] if blocked else None,
            blocked[1] if blocked else None,
            uses,
            warnings(uses, limits),
            sessions_today,
            reviews_today,
        )

    def end(self, reviewer: str, reason: EndReason = EndReason.ENDED) -> SessionSummary | None:
        """End the reviewer's open session now (early, or at a limit); returns its summary."""
        current = self._store.open_session(reviewer)
        self.forget(reviewer)
        if current is None:
            return None
        self._store.end(current.id, at=self._store.now(), reason=reason)
        return self.summary(reviewer, current.id)

    def summary(
        self, reviewer: str, session_id: int | None = None, *, trend_sessions: int = 10
    ) -> SessionSummary | None:
        recent = self._store.recent_sessions(reviewer, trend_sessions)
        if not recent:
            return None
        chosen = next((s for s in recent if s.id == session_id), None) if session_id else recent[0]
        if chosen is None:
            chosen = self._store.get(session_id) if session_id else None
            if chosen is None:
                return None
        ids = sorted({s.id for s in recent} | {chosen.id})
        decisions = self._store.session_decisions(ids)
        answers = self._store.session_gold_answers(ids)
        by_session: dict[int, list[tuple[str, float | None, bool]]] = {i: [] for i in ids}
        for d in decisions:
            by_session[d["session_id"]].append(
                (d["label"], d["review_seconds"], bool(d["low_attention"]))
            )
        gold: dict[int, list[tuple[bool, bool, float | None]]] = {i: [] for i in ids}
        for a in answers:
            caught = gold_answer_caught(a["expected_label"], bool(a["correct"]))
            gold[a["session_id"]].append((bool(a["correct"]), caught, a["review_seconds"]))

        def times(session: int) -> list[float]:
            seconds = [t for _, t, _ in by_session[session] if t is not None]
            return seconds + [t for _, _, t in gold[session] if t is not None]

        def median(values: list[float]) -> float | None:
            return statistics.median(values) if values else None

        trend = []
        for s in sorted(recent, key=lambda s: s.started_at):
            labels = [label for label, _, _ in by_session[s.id]]
            answered = gold[s.id]
            trend.append(
                SessionTrendPoint(
                    session_id=s.id,
                    started_at=s.started_at,
                    reviews=s.reviews,
                    median_seconds=median(times(s.id)),
                    approval_share=labels.count(Label.APPROVED) / len(labels) if labels else None,
                    gold_accuracy=(
                        sum(c for c, _, _ in answered) / len(answered) if answered else None
                    ),
                )
            )
        mine = by_session[chosen.id]
        answered = gold[chosen.id]
        return SessionSummary(
            session=chosen,
            by_label=dict(Counter(label for label, _, _ in mine)),
            gold_answers=len(answered),
            gold_correct=sum(c for c, _, _ in answered),
            caught=sum(1 for _, caught, _ in answered if caught),
            median_seconds=median(times(chosen.id)),
            low_attention=sum(1 for _, _, low in mine if low),
            trend=trend,
        )

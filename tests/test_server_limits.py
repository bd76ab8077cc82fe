"""The session limits as the database holds them give core.sessions' answers.

The claim's fence (queue_common.session_open, both engines) and PostgreSQL's refusal to start a
session (session_sql.START_BLOCKER, in rd_start_session) are the rules of core.sessions written
again in SQL over the team's stored limits; the desk keeps the Python rules to say why a
session ended and to show breaks and warnings (docs/architecture.md, "Rules written again in
SQL"). Random limits and sessions, many of them on a boundary, must get the same answer from
both.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, text

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import (
    SessionLimits,
    SessionSnapshot,
    idle_end,
    review_day_start,
    session_limit_reached,
    start_blocker,
)
from reviewdesk.storage.queue_common import PG_JSON, SQLITE_JSON, session_open, typed_sql
from reviewdesk.storage.session_sql import SESSION

BASE = datetime(2026, 3, 1, tzinfo=UTC)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")


def _near(rng: random.Random, value: float, unit: float) -> float:
    """A value on, just around, or anywhere near ``value``."""
    return value + rng.choice((0.0, unit, -unit, rng.uniform(-2, 2) * max(value, 1.0)))


def _fence_limits(rng: random.Random) -> SessionLimits:
    return SessionLimits(
        reviews_per_session=rng.choice((None, *range(1, 9))),
        reviews_per_day=rng.choice((None, *range(1, 21))),
        minutes_per_session=rng.choice((None, 0.5, 1.0, 2.5, 45.0)),
        idle_end_minutes=rng.choice((0.0, 0.5, 1.0, 2.75, 30.0)),
        timezone="UTC",
        gold_rate=0.0,
    )


def _fence(desk: ReviewDesk) -> Any:
    """The claim's fence alone: a count of the open sessions with ``:session_id`` at ``:now``."""
    if desk.engines.write.dialect.name == "postgresql":
        fence = session_open(PG_JSON, "CAST(:now AS TIMESTAMP WITH TIME ZONE)")
    else:
        fence = session_open(SQLITE_JSON, ":now")
    return typed_sql(f"SELECT count(*) FROM review_session WHERE {fence}")


def _put_limits(desk: ReviewDesk, value: dict[str, Any] | None) -> None:
    """Store ``value`` as the team's limits as it is (None: none stored)."""
    with desk.engines.write.begin() as conn:
        conn.execute(text("DELETE FROM setting WHERE key = 'session_limits'"))
        if value is not None:
            conn.execute(
                typed_sql(
                    "INSERT INTO setting (key, value, updated_at) "
                    "VALUES ('session_limits', :value, :now)"
                ),
                {"value": value, "now": BASE},
            )


def _session_row(
    rng: random.Random, n: int, now: datetime, limits: SessionLimits
) -> dict[str, Any]:
    idle = limits.idle_end_minutes * 60
    # On the cutoff, a microsecond or a millisecond either side of it, or anywhere near.
    before = idle + rng.choice((0, 1e-6, -1e-6, 1e-3, -1e-3, rng.uniform(-idle, idle)))
    minutes = limits.minutes_per_session or 10.0
    return {
        "reviewer": f"r{n}",
        "started_at": now - timedelta(hours=1),
        "last_activity_at": now - timedelta(seconds=max(before, 0.0)),
        "day_start": now - timedelta(hours=2),
        "day_reviews_before": rng.randint(0, 20),
        "reviews": 0,
        "claims": rng.randint(0, 10),
        "counted_seconds": max(_near(rng, minutes * 60, 1e-3), 0.0),
    }


def _snapshot(row: dict[str, Any]) -> SessionSnapshot:
    return SessionSnapshot(
        id=0,
        reviewer=row["reviewer"],
        started_at=row["started_at"],
        last_activity_at=row["last_activity_at"],
        ended_at=None,
        end_reason=None,
        reviews=row["reviews"],
        claims=row["claims"],
        counted_seconds=row["counted_seconds"],
        day_start=row["day_start"],
        day_reviews_before=row["day_reviews_before"],
        last_category=None,
        category_run=0,
        fast_run=0,
        nudged=False,
    )


def test_the_claims_fence_is_cores_rules(db_url: str) -> None:
    """Open by the SQL fence exactly when core finds the session neither spent nor idle."""
    rng = random.Random(18)
    desk = ReviewDesk.open(db_url, upgrade=True)
    try:
        fence = _fence(desk)
        checked = disagreements = 0
        for _ in range(40):
            limits = _fence_limits(rng)
            desk.set_session_limits(limits)
            now = BASE + timedelta(days=rng.randint(0, 300), microseconds=rng.randint(0, 10**6))
            rows = [_session_row(rng, n, now, limits) for n in range(12)]
            with desk.engines.write.begin() as conn:
                conn.execute(delete(SESSION))
                ids = [
                    conn.execute(insert(SESSION).values(**row).returning(SESSION.c.id)).scalar_one()
                    for row in rows
                ]
            with desk.engines.write.connect() as conn:
                for session_id, row in zip(ids, rows, strict=True):
                    snapshot = _snapshot(row)
                    expected = (
                        session_limit_reached(snapshot, limits) is None
                        and idle_end(snapshot, limits, now) is None
                    )
                    found = conn.execute(
                        fence,
                        {"session_id": session_id, "reviewer": row["reviewer"], "now": now},
                    ).scalar()
                    checked += 1
                    disagreements += bool(found) != expected
                    assert bool(found) == expected, (limits, row, now)
        assert checked == 480 and disagreements == 0
    finally:
        desk.close()


def _blocker_limits(rng: random.Random) -> SessionLimits:
    return SessionLimits(
        break_minutes=rng.choice((0.0, 0.5, 10.0, 12.25)),
        sessions_per_day=rng.choice((None, *range(1, 5))),
        reviews_per_day=rng.choice((None, *range(1, 16))),
        day_starts_hour=rng.randint(0, 23),
        timezone=rng.choice(ZONES),
        gold_rate=0.0,
    )


def _history(
    rng: random.Random, reviewer: str, now: datetime, day_start: datetime, limits: SessionLimits
) -> list[dict[str, Any]]:
    """Ended sessions, some before the review day began; the last ended on the break's edge
    now and then."""
    rows = []
    for _ in range(rng.randint(0, 4)):
        started = now - timedelta(seconds=rng.uniform(1, (now - day_start).total_seconds() + 7200))
        ended = min(started + timedelta(seconds=rng.uniform(0, 1800)), now)
        rows.append((started, ended))
    if rows and rng.random() < 0.5:
        edge = now - timedelta(minutes=limits.break_minutes)
        edge += timedelta(microseconds=rng.choice((0, 1, -1)))
        started, _ = rows[-1]
        rows[-1] = (min(started, edge), edge)
    return [
        {
            "reviewer": reviewer,
            "started_at": started,
            "last_activity_at": ended,
            "ended_at": ended,
            "end_reason": "ended",
            "day_start": day_start,
            "day_reviews_before": 0,
            "reviews": (reviews := rng.randint(0, 6)),
            "claims": reviews,
        }
        for started, ended in rows
    ]


def _start(conn: Connection, reviewer: str, day_start: datetime, now: datetime) -> Any:
    return conn.execute(
        typed_sql(
            "SELECT refused, started, blocked_until FROM rd_start_session("
            "CAST(:reviewer AS text), CAST(:day_start AS timestamptz), CAST(:now AS timestamptz))",
            columns=("day_start", "now"),
        ),
        {"reviewer": reviewer, "day_start": day_start, "now": now},
    ).one()


@pytest.mark.one_engine("rd_start_session is PostgreSQL's; SQLite's desk alone checks a start")
def test_the_session_starts_refusal_is_cores_start_blocker(postgres_url: str) -> None:
    """rd_start_session refuses exactly when core's start_blocker does, for the same reason and
    until the same time (a break's end, or the next review day in the team's zone)."""
    rng = random.Random(2018)
    desk = ReviewDesk.open(postgres_url, upgrade=True)
    try:
        seen: set[str | None] = set()
        for n in range(150):
            limits = _blocker_limits(rng)
            desk.set_session_limits(limits)
            now = BASE + timedelta(days=rng.randint(0, 300), seconds=rng.uniform(0, 86400))
            day_start = review_day_start(now, limits)
            reviewer = f"s{n}"
            history = _history(rng, reviewer, now, day_start, limits)
            if history:
                with desk.engines.write.begin() as conn:
                    conn.execute(insert(SESSION), history)
            today = [h for h in history if h["started_at"] >= day_start]
            expected = start_blocker(
                limits=limits,
                now=now,
                last_ended_at=max((h["ended_at"] for h in history), default=None),
                sessions_today=len(today),
                reviews_today=sum(h["reviews"] for h in today),
            )
            with desk.engines.write.begin() as conn:
                refused, started, until = _start(conn, reviewer, day_start, now)
            if expected is None:
                assert (refused, started, until) == (None, True, None), (limits, history, now)
            else:
                blocker, lifts = expected
                assert refused is not None and refused.split(":")[0] == blocker.value, (
                    limits, history, now, refused,
                )  # fmt: skip
                assert until == lifts, (limits, now, blocker)
            seen.add(expected[0].value if expected else None)
        assert seen == {None, "on_break", "daily_sessions", "daily_reviews"}
    finally:
        desk.close()


def test_a_limit_missing_from_the_stored_setting_is_its_default(db_url: str) -> None:
    """No stored limits, or a setting without a limit, fences on SessionLimits' default; a JSON
    null switches the limit off."""
    desk = ReviewDesk.open(db_url, upgrade=True)
    try:
        fence = _fence(desk)
        now = BASE
        row = _session_row(random.Random(1), 0, now, SessionLimits())
        row.update(claims=SessionLimits().reviews_per_session, counted_seconds=0.0)
        row.update(last_activity_at=now, day_reviews_before=0)
        _put_limits(desk, None)
        with desk.engines.write.begin() as conn:
            session_id = conn.execute(
                insert(SESSION).values(**row).returning(SESSION.c.id)
            ).scalar_one()

        def is_open() -> bool:
            with desk.engines.write.connect() as conn:
                params = {"session_id": session_id, "reviewer": row["reviewer"], "now": now}
                return bool(conn.execute(fence, params).scalar())

        assert not is_open()  # no setting: the default cap of 40, reached
        _put_limits(desk, {"reviews_per_day": 500})
        assert not is_open()  # no such key: its default
        _put_limits(desk, {"reviews_per_session": None})
        assert is_open()  # switched off
    finally:
        desk.close()

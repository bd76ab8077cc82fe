"""The fatigue policy as plain functions over an explicit time: no database, no waiting."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from reviewdesk import ConfigurationError
from reviewdesk.core.sessions import (
    Blocker,
    EndReason,
    SessionLimits,
    SessionSnapshot,
    category_to_avoid,
    counted_seconds,
    gold_answer_correct,
    idle_end,
    is_fast_approval,
    limit_uses,
    next_review_day,
    reading_seconds,
    review_day_start,
    serve_gold,
    session_limit_reached,
    start_blocker,
    warnings,
)

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LIMITS = SessionLimits(timezone="UTC")


def session(**changes: object) -> SessionSnapshot:
    base = {
        "id": 1,
        "reviewer": "ana",
        "started_at": NOON,
        "last_activity_at": NOON,
        "ended_at": None,
        "end_reason": None,
        "reviews": 0,
        "claims": 0,
        "counted_seconds": 0.0,
        "day_start": NOON.replace(hour=4),
        "day_reviews_before": 0,
        "last_category": None,
        "category_run": 0,
        "fast_run": 0,
        "nudged": False,
    }
    return SessionSnapshot(**{**base, **changes})  # type: ignore[arg-type]


def test_defaults_are_the_documented_ones() -> None:
    limits = SessionLimits()
    assert (limits.reviews_per_session, limits.minutes_per_session, limits.break_minutes) == (
        40,
        45.0,
        10.0,
    )
    assert (limits.sessions_per_day, limits.max_same_category, limits.gold_rate) == (6, 5, 1 / 25)
    assert (limits.lease_ttl_seconds, limits.undo_window_seconds) == (120.0, 300.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reviews_per_session": 0}, "reviews_per_session must be a whole number"),
        ({"minutes_per_session": -5}, "minutes_per_session must be positive"),
        ({"warn_at": 1.5}, "warn_at must be in"),
        ({"gold_rate": 0.9}, "gold_rate must be between 0 and 0.5"),
        ({"timezone": "Mars/Olympus"}, "not a known IANA time zone"),
        ({"day_starts_hour": 24}, "day_starts_hour"),
        ({"minutes_per_session": float("nan")}, "minutes_per_session must be a finite number"),
        ({"break_minutes": float("inf")}, "break_minutes must be a finite number"),
        *(
            (
                {"lease_ttl_seconds": bad},
                "lease_ttl_seconds must be a number of seconds from 30 to 3600",
            )
            for bad in (1e9, 1e12, float("inf"), float("nan"), -1, 0, 29.9, 3601, "60", None, True)
        ),
        *(
            (
                {"undo_window_seconds": bad},
                "undo_window_seconds must be a number of seconds from 0 to 600",
            )
            for bad in (-0.5, 601, float("inf"), float("nan"), "300", None)
        ),
    ],
)
def test_bad_limits_are_explained(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SessionLimits(**changes)  # type: ignore[arg-type]


def test_lease_ttl_and_undo_window_take_any_value_within_their_bounds() -> None:
    for ttl, undo in ((30, 0), (30.0, 0.0), (3600, 600), (90.5, 12.25)):
        limits = SessionLimits(lease_ttl_seconds=ttl, undo_window_seconds=undo)
        assert (limits.lease_ttl_seconds, limits.undo_window_seconds) == (ttl, undo)


def test_limits_round_trip_through_json_and_reject_unknown_keys() -> None:
    limits = SessionLimits(reviews_per_session=30, timezone="Europe/Berlin", lease_ttl_seconds=45)
    assert SessionLimits.from_json(limits.to_json()) == limits
    # Stored before the lease settings were team settings: the defaults.
    team = ("lease_ttl_seconds", "undo_window_seconds")
    older = {k: v for k, v in limits.to_json().items() if k not in team}
    assert SessionLimits.from_json(older).lease_ttl_seconds == 120.0
    with pytest.raises(ConfigurationError, match="lease_ttl_seconds must be"):
        SessionLimits.from_json({**limits.to_json(), "lease_ttl_seconds": 1e9})
    with pytest.raises(ConfigurationError, match="unknown setting"):
        SessionLimits.from_json({"reviews_per_hour": 3})


def test_review_day_starts_at_the_local_hour() -> None:
    berlin = SessionLimits(timezone="Europe/Berlin", day_starts_hour=4)
    # 02:30 UTC is 03:30 in Berlin (winter): still the previous review day.
    early = datetime(2026, 1, 15, 2, 30, tzinfo=UTC)
    assert review_day_start(early, berlin) == datetime(2026, 1, 14, 3, 0, tzinfo=UTC)
    later = datetime(2026, 1, 15, 3, 30, tzinfo=UTC)  # 04:30 in Berlin
    assert review_day_start(later, berlin) == datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
    # Across the spring change the next day still starts at 04:00 local (02:00 UTC in summer).
    before_dst = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert next_review_day(before_dst, berlin) == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def test_review_time_is_capped_per_draft() -> None:
    assert counted_seconds(30.0, LIMITS) == 30.0
    assert counted_seconds(3600.0, LIMITS) == LIMITS.review_time_cap_seconds
    assert counted_seconds(None, LIMITS) == 0.0


def test_each_limit_ends_a_session_and_says_which() -> None:
    assert session_limit_reached(session(claims=39), LIMITS) is None
    assert session_limit_reached(session(claims=40), LIMITS) is EndReason.REVIEW_LIMIT
    assert session_limit_reached(session(counted_seconds=45 * 60), LIMITS) is EndReason.TIME_LIMIT
    daily = session(claims=10, day_reviews_before=230)
    assert session_limit_reached(daily, LIMITS) is EndReason.DAILY_REVIEWS


def test_warnings_start_at_eighty_percent() -> None:
    uses = limit_uses(session(claims=31, counted_seconds=10 * 60), LIMITS)
    assert [u.limit for u in warnings(uses, LIMITS)] == []
    uses = limit_uses(session(claims=32, counted_seconds=36 * 60), LIMITS)
    assert {u.limit for u in warnings(uses, LIMITS)} == {
        "reviews_per_session",
        "minutes_per_session",
    }


def test_breaks_and_daily_caps_block_a_new_session_until_a_time() -> None:
    ended = NOON - timedelta(minutes=4)
    assert start_blocker(
        limits=LIMITS, now=NOON, last_ended_at=ended, sessions_today=1, reviews_today=40
    ) == (Blocker.ON_BREAK, ended + timedelta(minutes=10))
    assert (
        start_blocker(
            limits=LIMITS,
            now=NOON,
            last_ended_at=ended - timedelta(minutes=10),
            sessions_today=1,
            reviews_today=40,
        )
        is None
    )
    tomorrow = datetime(2026, 3, 11, 4, 0, tzinfo=UTC)
    assert start_blocker(
        limits=LIMITS, now=NOON, last_ended_at=None, sessions_today=6, reviews_today=0
    ) == (Blocker.DAILY_SESSIONS, tomorrow)
    assert start_blocker(
        limits=LIMITS, now=NOON, last_ended_at=None, sessions_today=2, reviews_today=240
    ) == (Blocker.DAILY_REVIEWS, tomorrow)


def test_an_idle_session_ended_with_its_last_activity() -> None:
    s = session(last_activity_at=NOON)
    assert idle_end(s, LIMITS, NOON + timedelta(minutes=29)) is None
    assert idle_end(s, LIMITS, NOON + timedelta(minutes=30)) == NOON


def test_variety_avoids_a_long_run_of_one_category() -> None:
    assert category_to_avoid(session(last_category="refund", category_run=4), LIMITS) is None
    assert category_to_avoid(session(last_category="refund", category_run=5), LIMITS) == "refund"
    assert (
        category_to_avoid(session(last_category="refund", category_run=9), SessionLimits.off())
        is None
    )


def test_fast_approval_means_faster_than_reading() -> None:
    text = "word " * 100  # 100 words: 10 s at 600 words a minute
    assert reading_seconds(text, LIMITS) == pytest.approx(10.0)
    assert reading_seconds("Thanks!", LIMITS) == LIMITS.read_min_seconds
    assert is_fast_approval("approve", text, 4.0, LIMITS)
    assert not is_fast_approval("approve", text, 12.0, LIMITS)
    assert not is_fast_approval("reject", text, 1.0, LIMITS)


def test_gold_answers_count_any_stop_as_a_catch() -> None:
    assert gold_answer_correct("approved", "approved")
    assert not gold_answer_correct("approved", "edited")
    assert gold_answer_correct("rejected", "escalated")
    assert gold_answer_correct("escalated", "rejected")
    assert not gold_answer_correct("rejected", "approved")


def test_gold_is_served_at_the_configured_rate() -> None:
    rng = random.Random(7)
    draws = 20_000
    served = sum(serve_gold(rng, LIMITS) for _ in range(draws))
    expected = draws / 25
    sd = (draws * (1 / 25) * (24 / 25)) ** 0.5
    assert abs(served - expected) < 4 * sd
    assert not any(serve_gold(rng, SessionLimits.off()) for _ in range(1000))

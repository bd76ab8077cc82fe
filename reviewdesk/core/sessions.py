"""Fatigue policy: session limits, breaks, daily caps, capped review time, variety, attention.

Plain functions over plain data and an explicit ``now``: the queue enforces them (the claim
statement fences on the open session) and tests drive them with a manual clock.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reviewdesk.core.domain import STOPPING_LABELS, Verdict
from reviewdesk.core.errors import ConfigurationError

# The team's lease and undo settings live with the session limits, within these bounds.
# A lease is renewed every third of its TTL while a draft is open: at 30 s one missed renewal
# (a dropped connection, a busy laptop) still leaves 10 s to renew. Above an hour a draft whose
# reviewer walked away (a closed laptop) stays out of the queue for longer, and an open draft
# gains nothing, because it is renewed anyway.
LEASE_TTL_BOUNDS = (30.0, 3600.0)
# 0 turns undo off. Consumers that ask for settled results wait out the whole window for every
# result, so it stays short: ten minutes covers a reviewer's second thoughts.
UNDO_WINDOW_BOUNDS = (0.0, 600.0)
# The settings above by name: never off, always a number of seconds within their bounds.
SECONDS_BOUNDS = {"lease_ttl_seconds": LEASE_TTL_BOUNDS, "undo_window_seconds": UNDO_WINDOW_BOUNDS}


def _not_finite(name: str, value: object) -> str | None:
    """NaN passes no comparison and an infinity passes every upper one: neither is a setting."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name} must be a finite number, not {value}"
    return None


def seconds_problem(name: str, value: object, bounds: tuple[float, float]) -> str | None:
    """Why ``value`` is not a number of seconds within ``bounds``; None when it is."""
    low, high = bounds
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        return f"{name} must be a number of seconds from {low:g} to {high:g}, not {value!r}"
    return None


@dataclass(frozen=True)
class SessionLimits:
    """What a team lead configures. ``None`` switches a limit off; the lease TTL and the undo
    window, team settings stored with the limits, are never off."""

    reviews_per_session: int | None = 40
    minutes_per_session: float | None = 45.0
    break_minutes: float = 10.0
    sessions_per_day: int | None = 6
    reviews_per_day: int | None = 240
    # Share of a limit at which the desk warns, gently.
    warn_at: float = 0.8
    # Time counted for one draft at most: a reviewer who walked away is not working.
    review_time_cap_seconds: float = 120.0
    # An open session without activity this long ended when the activity stopped.
    idle_end_minutes: float = 30.0
    # At most this many drafts of one category in a row while others wait.
    max_same_category: int | None = 5
    # Share of claims that serve a known-answer (gold) draft, when gold drafts exist.
    gold_rate: float = 1 / 25
    # Approving faster than this reading speed means the text was not read.
    read_words_per_minute: float = 600.0
    read_min_seconds: float = 2.0
    # This many fast approvals in a row are flagged low-attention and nudged once.
    fast_approvals_to_flag: int = 5
    # The review day starts at this local hour (late-night work counts to the day before).
    day_starts_hour: int = 4
    # IANA time zone of the review day; None: the local zone of the machine.
    timezone: str | None = None
    # Seconds a claim holds a draft; the desk renews it every third of that (LEASE_TTL_BOUNDS).
    lease_ttl_seconds: float = 120.0
    # Seconds after a decision in which its reviewer may undo it (UNDO_WINDOW_BOUNDS).
    undo_window_seconds: float = 300.0

    def __post_init__(self) -> None:
        problems = [
            problem
            for name, value in asdict(self).items()
            if name not in SECONDS_BOUNDS and (problem := _not_finite(name, value)) is not None
        ]
        if problems:  # the checks below compare numbers: say only this much
            raise ConfigurationError("Session limits: " + "; ".join(problems) + ".")
        for name, bounds in SECONDS_BOUNDS.items():
            if (problem := seconds_problem(name, getattr(self, name), bounds)) is not None:
                problems.append(problem)
        for name in (
            "reviews_per_session",
            "sessions_per_day",
            "reviews_per_day",
            "max_same_category",
        ):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                problems.append(f"{name} must be a whole number of at least 1, or off")
        if self.minutes_per_session is not None and self.minutes_per_session <= 0:
            problems.append("minutes_per_session must be positive, or off")
        for name in (
            "break_minutes",
            "review_time_cap_seconds",
            "idle_end_minutes",
            "read_min_seconds",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} cannot be negative")
        if not 0 < self.warn_at <= 1:
            problems.append("warn_at must be in (0, 1]")
        if not 0 <= self.gold_rate <= 0.5:
            problems.append("gold_rate must be between 0 and 0.5")
        if self.read_words_per_minute <= 0:
            problems.append("read_words_per_minute must be positive")
        if self.fast_approvals_to_flag < 2:
            problems.append("fast_approvals_to_flag must be at least 2")
        if not 0 <= self.day_starts_hour <= 23:
            problems.append("day_starts_hour must be an hour 0..23")
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"timezone {self.timezone!r} is not a known IANA time zone")
        if problems:
            raise ConfigurationError("Session limits: " + "; ".join(problems) + ".")

    @classmethod
    def off(cls) -> SessionLimits:
        """No limits, no gold, no variety rule: for bulk imports and benchmarks."""
        return cls(
            reviews_per_session=None,
            minutes_per_session=None,
            break_minutes=0.0,
            sessions_per_day=None,
            reviews_per_day=None,
            max_same_category=None,
            gold_rate=0.0,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionLimits:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"Session limits: unknown setting(s) {', '.join(unknown)}.")
        return cls(**data)

    def with_changes(self, **changes: Any) -> SessionLimits:
        return replace(self, **changes)

    def zone(self) -> tzinfo:
        if self.timezone:
            return ZoneInfo(self.timezone)
        local = datetime.now().astimezone().tzinfo
        return local or UTC


@dataclass(frozen=True)
class SessionSnapshot:
    """One review_session row as plain data."""

    id: int
    reviewer: str
    started_at: datetime
    last_activity_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    reviews: int
    claims: int
    counted_seconds: float
    day_start: datetime
    day_reviews_before: int
    last_category: str | None
    category_run: int
    fast_run: int
    nudged: bool


class EndReason(StrEnum):
    REVIEW_LIMIT = "review_limit"
    TIME_LIMIT = "time_limit"
    DAILY_REVIEWS = "daily_reviews"
    ENDED = "ended"  # the reviewer ended it early
    IDLE = "idle"  # nobody came back: it ended with the last activity


class Blocker(StrEnum):
    """Why a reviewer may not claim now."""

    ON_BREAK = "on_break"
    DAILY_SESSIONS = "daily_sessions"
    DAILY_REVIEWS = "daily_reviews"


@dataclass(frozen=True)
class LimitUse:
    """How much of one limit is used: shown as a gentle warning from ``warn_at`` on."""

    limit: str
    used: float
    allowed: float

    @property
    def share(self) -> float:
        return self.used / self.allowed if self.allowed else 1.0


@dataclass(frozen=True)
class SessionStatus:
    """Where a reviewer stands: in a session, on a break, or done for the day."""

    reviewer: str
    session: SessionSnapshot | None
    blocked: Blocker | None
    until: datetime | None  # when the blocker lifts (the break's end, or the next day)
    uses: list[LimitUse] = field(default_factory=list)
    warnings: list[LimitUse] = field(default_factory=list)
    sessions_today: int = 0
    reviews_today: int = 0

    @property
    def can_claim(self) -> bool:
        return self.blocked is None


def review_day_start(now: datetime, limits: SessionLimits) -> datetime:
    """The start of the review day containing ``now``, as an aware UTC time."""
    local = now.astimezone(limits.zone())
    start = local.replace(hour=limits.day_starts_hour, minute=0, second=0, microsecond=0)
    if local < start:
        start -= timedelta(days=1)
    return start.astimezone(UTC)


def next_review_day(now: datetime, limits: SessionLimits) -> datetime:
    local_start = review_day_start(now, limits).astimezone(limits.zone())
    # Add a calendar day in local time, so that daylight-saving changes keep the hour.
    following = (local_start + timedelta(days=1)).replace(hour=limits.day_starts_hour)
    return following.astimezone(UTC)


def counted_seconds(review_seconds: float | None, limits: SessionLimits) -> float:
    """Review time that counts towards the session: capped per draft."""
    if review_seconds is None or review_seconds < 0:
        return 0.0
    return min(review_seconds, limits.review_time_cap_seconds)


def max_session_seconds(limits: SessionLimits) -> float:
    return limits.minutes_per_session * 60 if limits.minutes_per_session is not None else 1e18


def session_limit_reached(session: SessionSnapshot, limits: SessionLimits) -> EndReason | None:
    """The limit that ends this session now, if any."""
    if limits.reviews_per_session is not None and session.claims >= limits.reviews_per_session:
        return EndReason.REVIEW_LIMIT
    if session.counted_seconds >= max_session_seconds(limits):
        return EndReason.TIME_LIMIT
    if (
        limits.reviews_per_day is not None
        and session.day_reviews_before + session.claims >= limits.reviews_per_day
    ):
        return EndReason.DAILY_REVIEWS
    return None


def idle_end(session: SessionSnapshot, limits: SessionLimits, now: datetime) -> datetime | None:
    """When an open session stopped being used, if it has been idle too long."""
    if now - session.last_activity_at >= timedelta(minutes=limits.idle_end_minutes):
        return session.last_activity_at
    return None


def start_blocker(
    *,
    limits: SessionLimits,
    now: datetime,
    last_ended_at: datetime | None,
    sessions_today: int,
    reviews_today: int,
) -> tuple[Blocker, datetime] | None:
    """Why a new session may not start now, and until when; None when it may."""
    if last_ended_at is not None:
        break_ends = last_ended_at + timedelta(minutes=limits.break_minutes)
        if now < break_ends:
            return Blocker.ON_BREAK, break_ends
    if limits.sessions_per_day is not None and sessions_today >= limits.sessions_per_day:
        return Blocker.DAILY_SESSIONS, next_review_day(now, limits)
    if limits.reviews_per_day is not None and reviews_today >= limits.reviews_per_day:
        return Blocker.DAILY_REVIEWS, next_review_day(now, limits)
    return None


def limit_uses(session: SessionSnapshot, limits: SessionLimits) -> list[LimitUse]:
    uses = []
    if limits.reviews_per_session is not None:
        uses.append(LimitUse("reviews_per_session", session.claims, limits.reviews_per_session))
    if limits.minutes_per_session is not None:
        uses.append(
            LimitUse(
                "minutes_per_session", session.counted_seconds / 60, limits.minutes_per_session
            )
        )
    if limits.reviews_per_day is not None:
        uses.append(
            LimitUse(
                "reviews_per_day",
                session.day_reviews_before + session.claims,
                limits.reviews_per_day,
            )
        )
    return uses


def warnings(uses: list[LimitUse], limits: SessionLimits) -> list[LimitUse]:
    return [u for u in uses if u.share >= limits.warn_at]


def category_to_avoid(session: SessionSnapshot, limits: SessionLimits) -> str | None:
    """The category to pass over on the next claim, when the run of it is long enough.

    The claim then takes the oldest draft of another category at the same top priority; if
    there is none, it takes the head of the queue as usual. A higher-priority draft is never
    passed over, and a passed-over draft waits for one claim at most, because the run resets.
    """
    if (
        limits.max_same_category is not None
        and session.last_category is not None
        and session.category_run >= limits.max_same_category
    ):
        return session.last_category
    return None


def serve_gold(rng: random.Random, limits: SessionLimits) -> bool:
    """Whether this claim serves a known-answer draft (independently, at ``gold_rate``)."""
    return limits.gold_rate > 0 and rng.random() < limits.gold_rate


def reading_seconds(text: str, limits: SessionLimits) -> float:
    """The least time in which the text could have been read."""
    words = len(text.split())
    return max(limits.read_min_seconds, words / limits.read_words_per_minute * 60)


def is_fast_approval(
    verdict: str, text: str, review_seconds: float | None, limits: SessionLimits
) -> bool:
    return (
        verdict == Verdict.APPROVE
        and review_seconds is not None
        and review_seconds < reading_seconds(text, limits)
    )


def fast_run_after(fast_run: int, *, fast: bool) -> int:
    """A session's run of fast approvals after a decision: one longer after a fast approval;
    any other decision ends it."""
    return fast_run + 1 if fast else 0


def fast_run_flagged(fast_run: int | None, flag_at: int) -> bool:
    """Whether a session's run of fast approvals (None: no session) is long enough to be
    flagged low-attention: ``fast_approvals_to_flag`` in a row."""
    return fast_run is not None and fast_run >= flag_at


def gold_answer_caught(expected: str, correct: bool) -> bool:
    """A catch: a known-answer draft that had to be stopped (rejected or escalated), stopped."""
    return correct and expected in STOPPING_LABELS


def gold_answer_correct(expected: str, label: str) -> bool:
    """A gold answer is right when it matches; stopping a bad draft either way counts."""
    return label == expected or (expected in STOPPING_LABELS and label in STOPPING_LABELS)

"""A reviewer's recent sessions on a throwaway database, for the break and summary screenshots.

``reviewdesk gui --screenshot PATH`` with ``REVIEWDESK_SCREENSHOT_SESSION=break`` (or
``summary``) runs this on the worker before the desk opens: the demo queue, four earlier sessions
of the reviewer and most of the current one, decided through the ``ReviewDesk`` API on a manual
clock that ends just before now. ``break``: the current session is full, so the desk opens on the
break screen; ``summary``: the desk opens on a draft and ends the session early.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Label
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.demo import load_demo_queue
from reviewdesk.services.desk import ReviewDesk

MODES = ("break", "summary")
LIMITS = SessionLimits(
    reviews_per_session=12,
    minutes_per_session=None,
    break_minutes=10.0,
    sessions_per_day=None,
    reviews_per_day=None,
    gold_rate=0.0,
)
# Per past session: (verdict pattern, seconds per draft): a reviewer settling into the work.
_PAST = (
    ("AAAEARAAXAAA", 34.0),
    ("AARAAEAAAARA", 29.0),
    ("AAAAAAEAAAAA", 21.0),
    ("AEARAAAXAARA", 27.0),
)
_CURRENT = "AERAAGAXAGAA"  # G: a known-answer draft, which this reviewer stops


def seed_sessions(url: str, reviewer: str, mode: str) -> None:
    """Fill the (empty, throwaway) database at ``url``; see the module's docstring."""
    now = datetime.now(UTC)
    clock = ManualClock(now - timedelta(hours=4))
    with ReviewDesk.open(url, clock=clock, rng=random.Random(5), upgrade=True) as desk:
        load_demo_queue(desk)
        desk.set_session_limits(LIMITS.with_changes(reviews_per_session=None))
        reasons = desk.reject_reasons()
        # A lead's known-answer drafts: two decided drafts that must be stopped.
        gold = []
        for _ in range(2):
            lease = desk.claim("lead")
            assert lease is not None
            desk.decide(lease, "reject", reason=reasons[0], review_seconds=40)
            desk.mark_gold(lease.draft.id, Label.REJECTED, by="lead")
            gold.append(lease.draft.id)
        desk.end_session("lead")
        desk.set_session_limits(LIMITS)
        for pattern, seconds in _PAST:
            _review(desk, clock, reviewer, pattern, seconds, reasons)
            desk.end_session(reviewer)
            clock.advance(35 * 60)
        current = _CURRENT if mode == "break" else _CURRENT[:7]
        clock.set(now - timedelta(seconds=24 * len(current) + 90))
        desk.set_session_limits(LIMITS.with_changes(gold_rate=0.5))
        _review(desk, clock, reviewer, current, 24.0, reasons)
        desk.set_session_limits(LIMITS)


def _review(
    desk: ReviewDesk,
    clock: ManualClock,
    reviewer: str,
    pattern: str,
    seconds: float,
    reasons: tuple[str, ...],
) -> None:
    for n, verdict in enumerate(pattern):
        lease = desk.claim(reviewer)
        if lease is None:
            return
        spent = seconds * (0.7 + 0.6 * ((n * 7) % 5) / 4)
        clock.advance(spent)
        if lease.gold_item_id is not None or verdict in "RG":
            desk.decide(lease, "reject", reason=reasons[n % len(reasons)], review_seconds=spent)
        elif verdict == "E":
            text = lease.draft.draft.rstrip() + " Thank you for your patience."
            desk.decide(lease, "edit", text=text, review_seconds=spent)
        elif verdict == "X":
            desk.decide(lease, "escalate", severity="medium", review_seconds=spent)
        else:
            desk.decide(lease, "approve", review_seconds=spent)

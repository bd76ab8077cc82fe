"""Six weeks of a team's decisions on the demo queue, for the lead view's screenshots only.

``reviewdesk gui --screenshot PATH`` with ``REVIEWDESK_SCREENSHOT_VIEW=lead`` (or ``inbox``)
seeds a throwaway database with this before the desk opens: the demo drafts, decided by four
reviewers through the ``ReviewDesk`` API on a manual clock that ends just before now, with
escalations resolved by a lead (some late) and a few still open; on three of the last days one
reviewer approves a run of drafts faster than they can be read, which the queue flags
low-attention. The verdicts are drawn from fixed per-category approval rates with a fixed
seed: they illustrate the screens and are not measurements of anything.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, timedelta

from reviewdesk.core.clock import ManualClock
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.demo import load_demo_queue
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.escalations import EscalationInbox, Resolution

MODES = ("lead", "inbox")
DAYS = 42
REVIEWERS = ("ana", "ben", "chloé", "dev")
LEAD = "lea"
# Days (before the end) on which this reviewer approves a run of drafts without reading them.
HURRIED, HURRIED_DAYS, HURRIED_RUN = "dev", (2, 4, 6), 6
# Chance that a draft is approved unchanged, by category (the demo's eleven).
APPROVAL = {
    "contact": 0.985,
    "newsletter": 0.97,
    "feedback": 0.93,
    "delivery": 0.9,
    "order": 0.86,
    "account": 0.83,
    "shipping_address": 0.8,
    "payment": 0.76,
    "cancellation_fee": 0.72,
    "invoice": 0.68,
    "refund": 0.6,
}
# The newer model version is a little better: the trend and model filter have something to show.
NEWER_MODEL_BONUS = 0.04
_NO_LIMITS = SessionLimits(
    reviews_per_session=None,
    minutes_per_session=None,
    sessions_per_day=None,
    reviews_per_day=None,
    gold_rate=0.0,
    max_same_category=None,
)
# The escalations still open at the end: (severity, minutes before the end), so that the
# inbox shows one overdue critical, one high not yet due, and the rest.
_OPEN = (("critical", 24), ("high", 19), ("medium", 300), ("medium", 95), ("low", 130))


def seed_lead(url: str) -> None:
    """Fill the (empty, throwaway) database at ``url``; see the module's docstring."""
    rng = random.Random(11)
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    start = (end - timedelta(days=DAYS)).replace(hour=8, minute=0)
    clock = ManualClock(start - timedelta(hours=1))
    with ReviewDesk.open(url, clock=clock, rng=random.Random(5), upgrade=True) as desk:
        load_demo_queue(desk)
        desk.set_session_limits(_NO_LIMITS)
        inbox = EscalationInbox.for_desk(desk)
        reasons = desk.reject_reasons()
        pending: list[tuple[datetime, int, str]] = []  # (resolve at, cursor, severity)
        times = _decision_times(rng, start, end - timedelta(hours=6))
        hurried = {(end - timedelta(days=d)).date() for d in HURRIED_DAYS}
        for at in times:
            _resolve_due(desk, inbox, clock, pending, at, rng)
            clock.set(at)
            if at.date() in hurried and at.hour >= 11:
                hurried.discard(at.date())
                _hurried_run(desk, clock)
            cursor = _decide(desk, rng, reasons, None)
            if cursor is not None:
                cursor_id, severity = cursor
                delay = _resolution_delay(rng, severity)
                heapq.heappush(pending, (at + delay, cursor_id, severity))
        _resolve_due(desk, inbox, clock, pending, end - timedelta(hours=6), rng)
        for severity, minutes in sorted(_OPEN, key=lambda o: -o[1]):
            clock.set(end - timedelta(minutes=minutes))
            _decide(desk, rng, reasons, severity)
        clock.set(end)


def _hurried_run(desk: ReviewDesk, clock: ManualClock) -> None:
    """HURRIED approves HURRIED_RUN drafts in a row, a second or two each."""
    for _ in range(HURRIED_RUN):
        lease = desk.claim(HURRIED)
        if lease is None:
            return
        desk.decide(lease, "approve", review_seconds=1.5)
        clock.advance(20)


def _decision_times(rng: random.Random, start: datetime, end: datetime) -> list[datetime]:
    """About 11 decisions a working day and 3 on a weekend day, in working hours."""
    times = []
    day = start
    while day < end:
        count = 3 if day.weekday() >= 5 else 13
        for _ in range(count):
            at = day + timedelta(minutes=rng.uniform(0, 9 * 60))
            if at < end:
                times.append(at)
        day += timedelta(days=1)
    return sorted(times)


def _decide(
    desk: ReviewDesk, rng: random.Random, reasons: tuple[str, ...], severity: str | None
) -> tuple[int, str] | None:
    """Claim and decide one draft; an escalation returns (its cursor, its severity)."""
    reviewer = rng.choice(REVIEWERS)
    lease = desk.claim(reviewer)
    if lease is None:
        return None
    draft = lease.draft
    seconds = rng.uniform(8, 55)
    if severity is None:
        approval = APPROVAL.get(draft.category, 0.8)
        if draft.model and draft.model.endswith("2026.11"):
            approval += NEWER_MODEL_BONUS
        roll = rng.random()
        if roll < approval:
            desk.decide(lease, "approve", review_seconds=seconds)
            return None
        other = rng.random()
        if other < 0.45:
            desk.decide(lease, "edit", text=_edited(draft.draft, rng), review_seconds=seconds)
            return None
        if other < 0.88:
            reason = rng.choices(reasons, weights=_reason_weights(reasons))[0]
            desk.decide(lease, "reject", reason=reason, review_seconds=seconds)
            return None
        severity = rng.choices(("low", "medium", "high", "critical"), (45, 40, 12, 3))[0]
    note = _NOTES[severity]
    desk.decide(lease, "escalate", severity=severity, note=note, review_seconds=seconds)
    cursor = next(e.cursor for e in EscalationInbox.for_desk(desk).list() if e.id == draft.id)
    return cursor, severity


def _edited(text: str, rng: random.Random) -> str:
    if rng.random() < 0.4:  # a typo-sized fix: a trivial edit
        return text.rstrip(".") + "!" if text.endswith(".") else text + "."
    return text.rstrip() + " If anything else comes up, just reply to this message."


def _reason_weights(reasons: tuple[str, ...]) -> list[float]:
    common = {"factual_error": 5, "incomplete": 4, "wrong_tone": 3, "hallucination": 2}
    return [float(common.get(r, 1)) for r in reasons]


def _resolution_delay(rng: random.Random, severity: str) -> timedelta:
    """Mostly in time; now and then late (an SLA breach)."""
    allowed = {"critical": 15, "high": 60, "medium": 240, "low": 1440}[severity]
    late = rng.random() < 0.15
    return timedelta(minutes=allowed * (rng.uniform(1.1, 2.0) if late else rng.uniform(0.2, 0.9)))


def _resolve_due(
    desk: ReviewDesk,
    inbox: EscalationInbox,
    clock: ManualClock,
    pending: list[tuple[datetime, int, str]],
    until: datetime,
    rng: random.Random,
) -> None:
    while pending and pending[0][0] <= until:
        at, cursor, _severity = heapq.heappop(pending)
        clock.set(at)
        outcome = rng.choices(list(Resolution), (3, 3, 3, 1))[0]
        text = None
        if outcome is Resolution.SEND_EDITED:
            escalation = inbox.get(cursor)
            assert escalation is not None
            text = escalation.draft.rstrip() + " We have checked this with our specialists."
        inbox.resolve(cursor, outcome, note=_RESOLUTION_NOTES[outcome], lead=LEAD, text=text)


_NOTES = {
    "critical": "The customer disputes this charge; nothing may go out before billing checks.",
    "high": "Quotes a fee that changed last month. Check before anything goes out.",
    "medium": "Not sure the account steps are right for business customers.",
    "low": "Tone is fine but the answer could link the help article.",
}
_RESOLUTION_NOTES = {
    Resolution.SEND_AS_IS: "Checked with billing: the draft is right.",
    Resolution.SEND_EDITED: "Corrected the amount and added the specialist's check.",
    Resolution.REJECT: "Wrong policy; the customer gets a call instead.",
    Resolution.DISMISS: "Already handled by phone.",
}

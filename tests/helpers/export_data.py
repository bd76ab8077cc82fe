"""Decisions made through the real queue API, and what an export of them must contain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Decision


@dataclass(frozen=True)
class Spec:
    """One draft and what its reviewer does with it."""

    id: str
    verdict: str = "approve"
    reviewer: str = "reviewer-ana-q7"
    category: str = "refund"
    risk: str = "medium"
    model: str | None = "drafter-2"
    input: str | None = "Where is my refund?"
    context: Mapping[str, Any] = field(default_factory=dict)
    draft: str = ""
    confidence: float | None = 0.8
    text: str | None = None
    reason: str | None = None
    note: str | None = None
    severity: str | None = None
    review_seconds: float = 12.5

    def submission(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "draft": self.draft or f"Draft answer for {self.id}.",
            "category": self.category,
            "risk": self.risk,
            "context": dict(self.context),
        }
        for name in ("input", "model", "confidence"):
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        return record


def no_session_limits(desk: ReviewDesk) -> None:
    """Session limits (breaks, caps, category runs) would reorder or refuse these claims; the
    export does not care how the decisions came about."""
    setter = getattr(desk, "set_session_limits", None)
    if setter is None:
        return
    from reviewdesk.core.sessions import SessionLimits

    setter(
        SessionLimits(
            reviews_per_session=None,
            minutes_per_session=None,
            sessions_per_day=None,
            reviews_per_day=None,
            max_same_category=None,
        )
    )


def decide_all(
    desk: ReviewDesk, specs: Sequence[Spec], clock: ManualClock | None = None
) -> dict[str, Decision]:
    """Submit every spec, then claim and decide them in order; one second apart on ``clock``."""
    no_session_limits(desk)
    desk.submit([s.submission() for s in specs])
    by_id = {s.id: s for s in specs}
    decisions: dict[str, Decision] = {}
    for _ in specs:
        # Claim as whoever decides the next draft in line (claim order is submission order).
        pending = [s for s in specs if s.id not in decisions]
        lease = desk.claim(pending[0].reviewer)
        assert lease is not None
        spec = by_id[lease.draft.id]
        assert lease.reviewer == spec.reviewer, "specs must be decided in submission order"
        decisions[spec.id] = desk.decide(
            lease,
            spec.verdict,
            text=spec.text,
            reason=spec.reason,
            note=spec.note,
            severity=spec.severity,
            review_seconds=spec.review_seconds,
        )
        if clock is not None:
            clock.advance(1)
    return decisions


def mixed_specs(prefix: str = "t") -> list[Spec]:
    """Every label, nested context, empty and missing fields, unicode."""
    return [
        Spec(
            f"{prefix}-approved",
            "approve",
            context={"retrieved": [{"title": "Refund policy", "text": "14 days"}], "tier": 2},
            confidence=0.91,
        ),
        Spec(
            f"{prefix}-edited",
            "edit",
            reviewer="reviewer-bo-z3",
            category="billing",
            risk="high",
            text="Your refund was issued today; allow 5–7 days. ✓",
            note="Was too vague about timing.",
            input="Wo ist meine Rückerstattung? 🙂",
        ),
        Spec(
            f"{prefix}-rejected",
            "reject",
            reason="hallucination",
            note="Invents a policy.",
            risk="low",
            model=None,
            confidence=None,
        ),
        Spec(
            f"{prefix}-escalated",
            "escalate",
            reviewer="reviewer-bo-z3",
            severity="high",
            note="Legal threat in the message.",
            category="legal",
            risk="high",
            input=None,
            context={"customer": {"name": "X", "orders": [1, 2, 3]}, "flag": True},
        ),
    ]


LEAD = "Lead-Lea-K2"
# Escalations and how a lead resolves each: (outcome, the lead's text for send_edited); None
# leaves it open.
RESOLUTIONS: dict[str, tuple[str, str | None] | None] = {
    "as-is": ("send_as_is", None),
    "edited": ("send_edited", "We are looking into it; a specialist writes back today."),
    "reject": ("reject", None),
    "dismiss": ("dismiss", None),
    "open": None,
}


def escalation_specs(prefix: str = "e") -> list[Spec]:
    """One escalation per way a lead resolves one, and one left open."""
    return [
        Spec(
            f"{prefix}-{name}",
            "escalate",
            severity="medium",
            note=f"Escalated: {name}.",
            category="legal",
            input=f"Question for {name}?",
        )
        for name in RESOLUTIONS
    ]


def resolve_escalations(desk: ReviewDesk, clock: ManualClock, prefix: str = "e") -> None:
    """Resolve the escalations of ``escalation_specs(prefix)`` as RESOLUTIONS says."""
    from reviewdesk.services.escalations import EscalationInbox

    inbox = EscalationInbox.for_desk(desk)
    cursors = {e.id: e.cursor for e in inbox.list()}
    for name, how in RESOLUTIONS.items():
        if how is None:
            continue
        outcome, text = how
        clock.advance(60)
        inbox.resolve(
            cursors[f"{prefix}-{name}"], outcome, note=f"Lead on {name}.", lead=LEAD, text=text
        )

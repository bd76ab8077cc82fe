"""The review domain: verdicts, labels, risk, severity, and the plain records that cross layers.

Only frozen dataclasses cross threads and layers; live ORM rows stay in the storage layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reviewdesk.core.errors import ConfigurationError
from reviewdesk.core.policy_cells import Routing


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Verdict(StrEnum):
    """What a reviewer does with a draft."""

    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    ESCALATE = "escalate"


class Label(StrEnum):
    """The recorded outcome of a decision, as consumers and exports see it."""

    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    ESCALATED = "escalated"


class Released(StrEnum):
    """The label of a result no person decided: a review policy released the draft unreviewed
    (docs/policies.md). Never a decision: never counted as an approval, never exported."""

    RELEASED = "released"


# The labels that keep a draft from going out as the AI wrote it, without a correction: a
# known-answer check expecting one of them is a catch to make.
STOPPING_LABELS: tuple[Label, ...] = (Label.REJECTED, Label.ESCALATED)


LABEL_OF_VERDICT: Mapping[Verdict, Label] = {
    Verdict.APPROVE: Label.APPROVED,
    Verdict.EDIT: Label.EDITED,
    Verdict.REJECT: Label.REJECTED,
    Verdict.ESCALATE: Label.ESCALATED,
}


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def response_time(self) -> timedelta:
        """How soon an escalation of this severity must be answered."""
        return _RESPONSE_TIMES[self]

    @property
    def needs_note(self) -> bool:
        """Critical and high escalations must say what is wrong."""
        return self in (Severity.CRITICAL, Severity.HIGH)


_RESPONSE_TIMES = {
    Severity.CRITICAL: timedelta(minutes=15),
    Severity.HIGH: timedelta(hours=1),
    Severity.MEDIUM: timedelta(hours=4),
    Severity.LOW: timedelta(hours=24),
}

DEFAULT_REJECT_REASONS: tuple[str, ...] = (
    "factual_error",
    "hallucination",
    "policy_violation",
    "wrong_tone",
    "incomplete",
    "off_topic",
    "other",
)

# The decision table stores a reason in VARCHAR(100) (migration 0001): a longer one would be
# accepted as a setting and then fail every reject on PostgreSQL.
REJECT_REASON_MAX_LENGTH = 100
# The reject dialog shows ten at once and picks the first nine by number.
REJECT_REASONS_MAX = 30


def clean_reject_reasons(reasons: Sequence[str]) -> tuple[str, ...]:
    """The team's reject reasons as stored, or ConfigurationError naming each problem.

    Surrounding spaces are dropped; a reason must be 1 to 100 printable characters, and two
    reasons that differ only in case are one reason said twice.
    """
    cleaned = tuple(reason.strip() for reason in reasons)
    problems = []
    if not cleaned:
        problems.append("at least one reason is needed")
    if len(cleaned) > REJECT_REASONS_MAX:
        problems.append(f"at most {REJECT_REASONS_MAX} reasons, not {len(cleaned)}")
    seen: set[str] = set()
    for number, reason in enumerate(cleaned, start=1):
        if not reason:
            problems.append(f"reason {number} is empty")
        elif len(reason) > REJECT_REASON_MAX_LENGTH:
            problems.append(
                f"reason {number} ({reason[:20]!r}...) is {len(reason)} characters long; "
                f"at most {REJECT_REASON_MAX_LENGTH}"
            )
        elif not reason.isprintable():
            problems.append(f"reason {number} ({reason!r}) has a control character")
        elif reason.casefold() in seen:
            problems.append(f"reason {number} ({reason!r}) is given twice")
        seen.add(reason.casefold())
    if problems:
        raise ConfigurationError("Reject reasons: " + "; ".join(problems) + ".")
    return cleaned


class EventKind(StrEnum):
    """Entries of a draft's audit trail."""

    SUBMITTED = "submitted"
    CLAIMED = "claimed"
    RENEWED = "renewed"
    RELEASED = "released"
    EXPIRED = "expired"
    DECIDED = "decided"
    ANSWERED = "answered"  # a known-answer draft's serve was answered (no decision)
    UNDONE = "undone"
    DELIVERED = "delivered"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Draft:
    """A queued AI draft with everything a reviewer needs to judge it."""

    id: str
    draft: str
    input: str | None
    context: dict[str, Any]
    category: str
    risk: Risk
    model: str | None
    confidence: float | None
    thread: str | None
    priority: int
    created_at: datetime
    submitted_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lease:
    """A reviewer's time-limited hold on one draft. Every write that depends on it is fenced."""

    draft: Draft
    draft_key: int
    lease_id: str
    epoch: int
    reviewer: str
    expires_at: datetime
    claimed_at: datetime
    # Local monotonic time at claim: review time is measured by the process that shows the draft.
    claimed_monotonic: float
    # The review session the claim counts against.
    session_id: int | None = None
    # Set for a known-answer draft: the lease is its serve (gold_serve), fenced like a claim,
    # and its answer is no decision. The desk never shows it: gold drafts look like any other.
    gold_item_id: int | None = None
    # The TTL the lease was taken or last renewed with (the team's setting): renew every third.
    ttl_seconds: float | None = None


@dataclass(frozen=True)
class Decision:
    """A recorded decision on one draft."""

    draft_id: str
    label: Label
    final: str | None
    draft: str
    reason: str | None
    note: str | None
    severity: Severity | None
    reviewer: str
    decided_at: datetime
    review_seconds: float | None
    # Normalized edit distance from draft to final text (0..1), for edits.
    edit_distance: float | None = None
    replayed: bool = False
    # Approved faster than it could be read, in a run of such approvals.
    low_attention: bool = False
    # The first time this session's run of fast approvals was long enough: say so, once.
    nudge: bool = False
    # For a known-answer draft: whether the answer was right, and whether it stopped a bad one.
    gold_correct: bool | None = None
    caught: bool = False


@dataclass(frozen=True)
class Result:
    """A decided draft as its producer collects it. ``cursor`` orders results and acks them."""

    cursor: int
    id: str
    label: Label | Released
    final: str | None
    draft: str
    reason: str | None
    note: str | None
    severity: Severity | None
    reviewer: str
    decided_at: datetime
    review_seconds: float | None
    category: str
    model: str | None
    # A lead's resolution of an escalation: send_as_is, send_edited, reject or dismiss. Once
    # resolved, the result is delivered again and ``final`` is the text to send, if any.
    resolution: str | None = None
    resolution_note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    # A released draft: the policy, plan state and probability of review it was routed under.
    routing: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        routing = {"routing": self.routing} if self.routing is not None else {}
        return {
            "id": self.id,
            "label": self.label.value,
            "final": self.final,
            "draft": self.draft,
            "reason": self.reason,
            "note": self.note,
            "severity": self.severity.value if self.severity else None,
            "reviewer": self.reviewer,
            "decided_at": self.decided_at.isoformat(),
            "review_seconds": self.review_seconds,
            "category": self.category,
            "model": self.model,
            "resolution": self.resolution,
            "resolution_note": self.resolution_note,
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "cursor": self.cursor,
            **routing,
        }


@dataclass(frozen=True)
class Retraction:
    """A result handed out and then undone by its reviewer: do not send it (or take it back).

    The draft is back with its reviewer; their new decision comes as a new result for the same
    ``id``, with a higher cursor."""

    cursor: int
    id: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "cursor": self.cursor, "retracted": True}


@dataclass(frozen=True)
class AckReport:
    acknowledged: int
    already_delivered: int
    undone: list[int]
    # Read before a lead resolved them: not acknowledged, delivered again with the resolution.
    resolved_since_read: list[int] = field(default_factory=list)
    # The undone ones, by id too: what to retract downstream.
    retractions: list[Retraction] = field(default_factory=list)


@dataclass(frozen=True)
class SubmitReport:
    """What a submission did: drafts queued, identical resubmissions skipped."""

    submitted: int
    duplicates: int
    # Drafts of cells under a sampling policy, each with how it was routed (docs/policies.md):
    # "review" (queued) or "released" (out unreviewed, in results at once).
    routings: tuple[Routing, ...] = ()

    @property
    def released(self) -> int:
        return sum(r.route == "released" for r in self.routings)

    def __str__(self) -> str:
        text = f"{self.submitted} draft(s) queued, {self.duplicates} already queued unchanged"
        if self.routings:
            text += (
                f"; under review policies: {len(self.routings) - self.released} for review, "
                f"{self.released} released unreviewed"
            )
        return text


@dataclass(frozen=True)
class Event:
    """One entry of a draft's audit trail."""

    kind: EventKind
    at: datetime
    actor: str | None
    epoch: int | None


@dataclass(frozen=True)
class ThreadEntry:
    """An earlier draft on the same thread, with its decision if it has one."""

    draft: Draft
    decision: Decision | None


@dataclass(frozen=True)
class History:
    """What came before a draft: its thread and its own audit trail."""

    draft: Draft
    thread: list[ThreadEntry]
    events: list[Event]


@dataclass(frozen=True)
class DraftState:
    """Where one draft stands: ``state`` is pending, in review (held by ``holder``) or decided,
    with its live decision as its producer collects it (``result``) and whether it was."""

    draft: Draft
    state: str
    holder: str | None
    result: Result | None
    delivered: bool


@dataclass(frozen=True)
class QueueCounts:
    pending: int
    leased: int
    decided: int
    undelivered: int


def text_to_send(
    final_text: str | None, resolution: str | None, resolution_text: str | None
) -> str | None:
    """What a result sends: the reviewer's final text, until a lead resolves the escalation;
    then the resolution's text (the draft for send_as_is, the lead's for send_edited, none for
    reject and dismiss)."""
    return resolution_text if resolution is not None else final_text

"""The schema, as SQLModel tables. Alembic owns its evolution (storage/migrations).

Leases are columns on the draft (see docs/architecture.md): a lease is data, not a lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
    true,
)
from sqlmodel import Field, SQLModel

from reviewdesk.core.domain import REJECT_REASON_MAX_LENGTH, Label
from reviewdesk.storage.types import JsonDocument, UtcDateTime


class DraftRow(SQLModel, table=True):
    __tablename__ = "draft"
    __table_args__ = (
        # Claims walk this partial index in claim order; lease columns stay out of every index
        # so that claiming and renewing remain cheap (HOT) updates on PostgreSQL.
        Index(
            "ix_draft_claim_order",
            text("priority DESC"),
            "created_at",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        # A varied claim asks each category for its first pending draft (migration 0006).
        Index(
            "ix_draft_category_claim",
            "category",
            text("priority DESC"),
            "created_at",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_draft_thread", "thread", "created_at"),
        # The drafts of the last hour, for the alert rules (migration 0011).
        Index("ix_draft_submitted", "submitted_at"),
        # What the lead's statistics read of a draft, for index-only lookups (migration 0003).
        Index("ix_draft_stats", "id", "is_gold", "category", "model", "confidence", "risk"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    external_id: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    draft: str = Field(sa_column=Column(Text, nullable=False))
    input: str | None = Field(default=None, sa_column=Column(Text))
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )
    category: str = Field(sa_column=Column(String(200), nullable=False))
    risk: str = Field(sa_column=Column(String(10), nullable=False))
    model: str | None = Field(default=None, sa_column=Column(String(200)))
    confidence: float | None = Field(default=None)
    thread: str | None = Field(default=None, sa_column=Column(String(200)))
    priority: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    submitted_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    producer_metadata: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JsonDocument, nullable=False)
    )
    state: str = Field(default="pending", sa_column=Column(String(10), nullable=False))
    visible_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    lease_id: str | None = Field(default=None, sa_column=Column(String(36)))
    lease_epoch: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(200)))
    leased_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    is_gold: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # The producer's login that submitted it (PostgreSQL, migration 0009; NULL before, and on
    # SQLite).
    submitted_by: str | None = Field(default=None, sa_column=Column(String(200)))


class DecisionRow(SQLModel, table=True):
    __tablename__ = "decision"
    __table_args__ = (
        # At most one live decision per draft; an undone decision stays as history.
        Index(
            "ux_decision_live_draft",
            "draft_id",
            unique=True,
            postgresql_where=text("undone_at IS NULL"),
            sqlite_where=text("undone_at IS NULL"),
        ),
        # What consumers poll: live, undelivered results in cursor order.
        Index(
            "ix_decision_undelivered",
            "id",
            postgresql_where=text("undone_at IS NULL AND delivered_at IS NULL"),
            sqlite_where=text("undone_at IS NULL AND delivered_at IS NULL"),
        ),
        Index("ix_decision_reviewer", "reviewer", "id"),
        # What the alert rules read: the last days' decisions (migration 0011).
        Index("ix_decision_decided", "decided_at"),
        # The rare labels, read by the lead's statistics and escalation inbox (migration 0003).
        Index(
            "ix_decision_edits",
            "decided_at",
            "draft_id",
            "reviewer",
            "edit_distance",
            postgresql_where=text(f"label = '{Label.EDITED.value}' AND undone_at IS NULL"),
            sqlite_where=text(f"label = '{Label.EDITED.value}' AND undone_at IS NULL"),
        ),
        Index(
            "ix_decision_rejections",
            "decided_at",
            "draft_id",
            "reviewer",
            "reason",
            postgresql_where=text(f"label = '{Label.REJECTED.value}' AND undone_at IS NULL"),
            sqlite_where=text(f"label = '{Label.REJECTED.value}' AND undone_at IS NULL"),
        ),
        Index(
            "ix_decision_escalations",
            "decided_at",
            "draft_id",
            "reviewer",
            "severity",
            "resolved_at",
            postgresql_where=text(f"label = '{Label.ESCALATED.value}' AND undone_at IS NULL"),
            sqlite_where=text(f"label = '{Label.ESCALATED.value}' AND undone_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    draft_id: int = Field(sa_column=Column(Integer, ForeignKey("draft.id"), nullable=False))
    reviewer: str = Field(sa_column=Column(String(200), nullable=False))
    label: str = Field(sa_column=Column(String(10), nullable=False))
    final_text: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(String(REJECT_REASON_MAX_LENGTH)))
    note: str | None = Field(default=None, sa_column=Column(Text))
    severity: str | None = Field(default=None, sa_column=Column(String(10)))
    review_seconds: float | None = Field(default=None)
    decided_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    lease_epoch: int = Field(sa_column=Column(Integer, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    undone_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    session_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("review_session.id", name="fk_decision_session"), nullable=True
        ),
    )
    # Decided faster than the text could be read, in a run of such approvals (rubber-stamping).
    low_attention: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # Normalized Levenshtein distance draft -> final (0 identical .. 1 all changed); edits only.
    edit_distance: float | None = Field(default=None)
    # A lead's resolution of an escalation (migration 0003): send_as_is | send_edited | reject |
    # dismiss, the text to send (send_as_is: the draft; send_edited: the lead's text), a note.
    resolution: str | None = Field(default=None, sa_column=Column(String(12)))
    resolution_text: str | None = Field(default=None, sa_column=Column(Text))
    resolution_note: str | None = Field(default=None, sa_column=Column(Text))
    resolved_by: str | None = Field(default=None, sa_column=Column(String(200)))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class DecisionAttemptRow(SQLModel, table=True):
    """Append-only: every decision attempt, accepted, refused or replayed."""

    __tablename__ = "decision_attempt"
    __table_args__ = (
        Index("ix_decision_attempt_key", "idempotency_key"),
        Index("ix_decision_attempt_draft", "draft_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    draft_id: int = Field(sa_column=Column(Integer, nullable=False))
    lease_id: str = Field(sa_column=Column(String(36), nullable=False))
    reviewer: str = Field(sa_column=Column(String(200), nullable=False))
    verdict: str = Field(sa_column=Column(String(10), nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False))
    outcome: str = Field(sa_column=Column(String(10), nullable=False))
    detail: str | None = Field(default=None, sa_column=Column(String(50)))
    attempted_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class DraftEventRow(SQLModel, table=True):
    """Append-only audit trail of each draft."""

    __tablename__ = "draft_event"
    __table_args__ = (Index("ix_draft_event_draft", "draft_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    draft_id: int = Field(sa_column=Column(Integer, ForeignKey("draft.id"), nullable=False))
    kind: str = Field(sa_column=Column(String(12), nullable=False))
    actor: str | None = Field(default=None, sa_column=Column(String(200)))
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    lease_epoch: int | None = Field(default=None)


class SettingRow(SQLModel, table=True):
    """Team-wide settings (reject reasons, later session limits), shared through the database."""

    __tablename__ = "setting"

    key: str = Field(sa_column=Column(String(100), primary_key=True))
    value: Any = Field(sa_column=Column(JsonDocument, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class ReviewSessionRow(SQLModel, table=True):
    """One sitting of one reviewer. Limits, breaks and daily caps are computed from these rows,
    and the claim statement fences on the open one, so no client can bypass them."""

    __tablename__ = "review_session"
    __table_args__ = (
        Index("ix_review_session_reviewer", "reviewer", "started_at"),
        # At most one open session per reviewer.
        Index(
            "ux_review_session_open",
            "reviewer",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    reviewer: str = Field(sa_column=Column(String(200), nullable=False))
    started_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    last_activity_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    end_reason: str | None = Field(default=None, sa_column=Column(String(20)))
    reviews: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Drafts handed out, decided or not: a prefetched draft counts, so limits are never overshot.
    claims: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Review time with each draft's time capped: idle time is not work.
    counted_seconds: float = Field(
        default=0.0, sa_column=Column(Float, nullable=False, server_default="0")
    )
    day_start: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    day_reviews_before: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    last_category: str | None = Field(default=None, sa_column=Column(String(200)))
    category_run: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    fast_run: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    nudged: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class GoldItemRow(SQLModel, table=True):
    """A decided draft a lead chose as a known-answer check, with the verdict expected."""

    __tablename__ = "gold_item"
    # The gold pick walks the active items in id order (migration 0008).
    __table_args__ = (
        Index(
            "ix_gold_item_active",
            "id",
            "draft_id",
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    draft_id: int = Field(
        sa_column=Column(Integer, ForeignKey("draft.id"), nullable=False, unique=True)
    )
    expected_label: str = Field(sa_column=Column(String(10), nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )


class GoldServeRow(SQLModel, table=True):
    """A gold item served to a reviewer (migration 0006): its lease, as a claim is a draft's.

    Renewing, releasing and answering are fenced on it as they are on a draft's lease, so one
    serve has at most one answer; a session serves each gold item once at most.
    """

    __tablename__ = "gold_serve"
    __table_args__ = (
        # Once a session per gold item; also what the gold pick probes per candidate.
        Index("ux_gold_serve_session", "session_id", "gold_item_id", unique=True),
        # The reviewer's latest serve: where their turn through the gold items goes on.
        Index("ix_gold_serve_reviewer", "reviewer", "id"),
        # Gold drafts in review, for the queue's counts.
        Index(
            "ix_gold_serve_leased",
            "visible_at",
            postgresql_where=text("state = 'leased'"),
            sqlite_where=text("state = 'leased'"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    gold_item_id: int = Field(sa_column=Column(Integer, ForeignKey("gold_item.id"), nullable=False))
    draft_id: int = Field(sa_column=Column(Integer, ForeignKey("draft.id"), nullable=False))
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("review_session.id"), nullable=False)
    )
    reviewer: str = Field(sa_column=Column(String(200), nullable=False))
    lease_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    # The gold draft's lease epoch, bumped by each serve: its audit events carry it.
    lease_epoch: int = Field(sa_column=Column(Integer, nullable=False))
    # leased | answered | released
    state: str = Field(sa_column=Column(String(10), nullable=False))
    served_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    # When the lease runs out, as draft.visible_at is for a claim.
    visible_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    # The idempotency key of the answer: a retry with it reports the first answer.
    answer_key: str | None = Field(default=None, sa_column=Column(String(64)))


class GoldAnswerRow(SQLModel, table=True):
    """A reviewer's verdict on a gold item. Never a decision: never delivered or exported."""

    __tablename__ = "gold_answer"
    __table_args__ = (
        Index("ix_gold_answer_reviewer", "reviewer", "answered_at"),
        # One answer per serve (migration 0008); answers from before it have none.
        Index("ux_gold_answer_serve", "serve_id", unique=True),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    gold_item_id: int = Field(sa_column=Column(Integer, ForeignKey("gold_item.id"), nullable=False))
    reviewer: str = Field(sa_column=Column(String(200), nullable=False))
    session_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("review_session.id"))
    )
    label: str = Field(sa_column=Column(String(10), nullable=False))
    correct: bool = Field(sa_column=Column(Boolean, nullable=False))
    answered_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    review_seconds: float | None = Field(default=None)
    serve_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("gold_serve.id", name="fk_gold_answer_serve"), nullable=True
        ),
    )


class DecisionRollupRow(SQLModel, table=True):
    """Per-period counts of live, non-gold decisions, kept by triggers (migrations 0003 to 0007).

    Statistics read these instead of scanning every decision. ``day`` is the period's first
    UTC day; ``grain`` says what a row groups:

    - ``a``: day x category x model x risk x 5% confidence bucket (``band`` 0..19, -1 unknown);
    - ``r``: day x reviewer x category (``model`` and ``risk`` '', ``band`` -2: any);
    - ``d``, ``w``, ``m``: day, ISO week (``day`` its Monday), calendar month (its first day) x
      reviewer x category x model x confidence band (``band`` the band's first 5% bucket: 0, 10,
      14, 16, 18, 19, -1 unknown; ``risk`` '');
    - ``x``: ISO week x reviewer x model x confidence band, all categories (``category`` '').

    ``model`` '' is a draft without one in every grain but ``r``. ``low_attention_approval``
    splits every grain: true for approvals flagged low-attention. ``h0``..``h15`` count review
    times per histogram bucket (reviewdesk/core/stats.py, ``REVIEW_TIME_EDGES``).
    """

    __tablename__ = "decision_rollup"
    # Clustered by its key on SQLite: a grain's days are one range scan, no row lookups.
    __table_args__ = {"sqlite_with_rowid": False}

    grain: str = Field(sa_column=Column(String(1), primary_key=True))
    day: str = Field(sa_column=Column(String(10), primary_key=True))
    category: str = Field(sa_column=Column(String(200), primary_key=True))
    model: str = Field(sa_column=Column(String(200), primary_key=True))
    risk: str = Field(sa_column=Column(String(10), primary_key=True))
    band: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    reviewer: str = Field(sa_column=Column(String(200), primary_key=True))
    # Low-attention approvals (migration 0007): rows of their own, so that statistics can leave
    # them out as exports do, or count them, exactly.
    low_attention_approval: bool = Field(sa_column=Column(Boolean, primary_key=True))
    n: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    approved: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    edited: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Edits with normalized distance <= 0.02 (the default trivial-edit threshold).
    trivial: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    edit_distance_sum: float = Field(
        default=0.0, sa_column=Column(Float, nullable=False, server_default="0")
    )
    low_attention: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    h0: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h1: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h2: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h3: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h4: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h5: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h6: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h7: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h8: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h9: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h10: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h11: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h12: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h13: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h14: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    h15: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class PolicyRow(SQLModel, table=True):
    """A review policy for one cell (migration 0010): a category, optionally only drafts with
    confidence at least a floor, optionally one model version. docs/policies.md."""

    __tablename__ = "policy"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    # category, floor and model in one key (services/policies.py cell_key): one policy a cell.
    cell: str = Field(sa_column=Column(String(450), nullable=False, unique=True))
    category: str = Field(sa_column=Column(String(200), nullable=False))
    min_confidence: float | None = Field(default=None)
    model: str | None = Field(default=None, sa_column=Column(String(200)))
    # sampling | full
    mode: str = Field(sa_column=Column(String(10), nullable=False))
    aoql: float = Field(sa_column=Column(Float, nullable=False))
    fraction: float = Field(sa_column=Column(Float, nullable=False))
    clearance: int = Field(sa_column=Column(Integer, nullable=False))
    trivial_edits_count: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))
    # The drift alarm for ``aoql`` (core/drift.Cusum.for_rate, migration 0017): what a defect
    # and a clear sampled outcome add to the statistic, and its limit. The count of a decision
    # in SQL (policy_sql) reads them, so that it only adds and compares.
    cusum_defect: float = Field(sa_column=Column(Float, nullable=False))
    cusum_clear: float = Field(sa_column=Column(Float, nullable=False))
    cusum_limit: float = Field(sa_column=Column(Float, nullable=False))


class PolicyStateRow(SQLModel, table=True):
    """A policy's shared plan state per model version ('' for drafts without one)."""

    __tablename__ = "policy_state"

    policy_id: int = Field(
        sa_column=Column(Integer, ForeignKey("policy.id"), primary_key=True, autoincrement=False)
    )
    model_key: str = Field(sa_column=Column(String(200), primary_key=True))
    # screening | sampling
    phase: str = Field(sa_column=Column(String(10), nullable=False))
    clear_run: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    # The drift alarm's CUSUM statistic over sampled outcomes (core/drift.py).
    cusum: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class PolicyRoutingRow(SQLModel, table=True):
    """How one draft of a cell under a policy was routed at submit, with the plan state and the
    probability of review it used; a released draft's result cursor and delivery; the outcome of
    its decision as the plan counted it."""

    __tablename__ = "policy_routing"
    __table_args__ = (
        # Drafts queued for review whose decision the plan has not counted yet.
        Index(
            "ix_policy_routing_uncounted",
            "draft_id",
            postgresql_where=text("route = 'review' AND outcome IS NULL"),
            sqlite_where=text("route = 'review' AND outcome IS NULL"),
        ),
        # What consumers poll: released drafts not yet delivered, in cursor order.
        Index(
            "ix_policy_routing_undelivered",
            "cursor",
            postgresql_where=text("cursor IS NOT NULL AND delivered_at IS NULL"),
            sqlite_where=text("cursor IS NOT NULL AND delivered_at IS NULL"),
        ),
    )

    draft_id: int = Field(
        sa_column=Column(Integer, ForeignKey("draft.id"), primary_key=True, autoincrement=False)
    )
    policy_id: int = Field(sa_column=Column(Integer, ForeignKey("policy.id"), nullable=False))
    model_key: str = Field(sa_column=Column(String(200), nullable=False))
    # review | released
    route: str = Field(sa_column=Column(String(10), nullable=False))
    phase: str = Field(sa_column=Column(String(10), nullable=False))
    clear_run: int = Field(sa_column=Column(Integer, nullable=False))
    probability: float = Field(sa_column=Column(Float, nullable=False))
    routed_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    # Released drafts only: their place among results (shared with decision ids).
    cursor: int | None = Field(default=None, sa_column=Column(Integer, unique=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    # clear | defect, once a decision on the draft has been counted by the plan.
    outcome: str | None = Field(default=None, sa_column=Column(String(10)))


class PolicyEventRow(SQLModel, table=True):
    """Append-only history of a policy: every change a lead made (who, when, why, old and new),
    and every phase change and drift alarm of its plan."""

    __tablename__ = "policy_event"
    __table_args__ = (Index("ix_policy_event_policy", "policy_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    policy_id: int = Field(sa_column=Column(Integer, ForeignKey("policy.id"), nullable=False))
    model_key: str | None = Field(default=None, sa_column=Column(String(200)))
    # created | changed | reset | cleared | defect | alarm | model
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    actor: str | None = Field(default=None, sa_column=Column(String(200)))
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    old: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonDocument))
    new: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonDocument))


class AlertRow(SQLModel, table=True):
    """An alert a rule raised (migration 0011): what (``rule``), where (``subject``), the
    figures that triggered it; acknowledged by whom; cleared when the condition ended. At most
    one open alert per rule and subject (``ux_alert_open``)."""

    __tablename__ = "alert"
    __table_args__ = (
        Index(
            "ux_alert_open",
            "rule",
            "subject",
            unique=True,
            postgresql_where=text("cleared_at IS NULL"),
            sqlite_where=text("cleared_at IS NULL"),
        ),
        Index("ix_alert_raised", "raised_at", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    rule: str = Field(sa_column=Column(String(40), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    severity: str = Field(sa_column=Column(String(10), nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))
    figures: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )
    raised_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    acknowledged_by: str | None = Field(default=None, sa_column=Column(String(200)))
    cleared_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class RefusalRow(SQLModel, table=True):
    """Append-only (PostgreSQL, migration 0009): actions the database refused a team member,
    recorded under the login (security_sql.rd_record_refusal)."""

    __tablename__ = "refusal"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    action: str = Field(sa_column=Column(String(100), nullable=False))
    detail: str | None = Field(default=None, sa_column=Column(String(500)))
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class SecurityInstallationRow(SQLModel, table=True):
    """PostgreSQL (migration 0009): this installation's group roles' prefix and its owner."""

    __tablename__ = "security_installation"

    role_prefix: str = Field(sa_column=Column(String(63), primary_key=True))
    owner_role: str = Field(sa_column=Column(String(63), nullable=False))

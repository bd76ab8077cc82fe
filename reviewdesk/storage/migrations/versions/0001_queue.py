"""The review queue: drafts with lease columns, decisions, the attempt log, audit trail, settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("external_id", sa.String(200), nullable=False, unique=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("draft", sa.Text, nullable=False),
        sa.Column("input", sa.Text),
        sa.Column("context", Json, nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("risk", sa.String(10), nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("confidence", sa.Float),
        sa.Column("thread", sa.String(200)),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("submitted_at", Ts, nullable=False),
        sa.Column("metadata", Json, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("visible_at", Ts, nullable=False),
        sa.Column("lease_id", sa.String(36)),
        sa.Column("lease_epoch", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("leased_at", Ts),
    )
    op.create_index(
        "ix_draft_claim_order",
        "draft",
        [sa.text("priority DESC"), "created_at", "id"],
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_draft_thread", "draft", ["thread", "created_at"])

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("draft.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("label", sa.String(10), nullable=False),
        sa.Column("final_text", sa.Text),
        sa.Column("reason", sa.String(100)),
        sa.Column("note", sa.Text),
        sa.Column("severity", sa.String(10)),
        sa.Column("review_seconds", sa.Float),
        sa.Column("decided_at", Ts, nullable=False),
        sa.Column("lease_epoch", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("undone_at", Ts),
        sa.Column("delivered_at", Ts),
    )
    op.create_index(
        "ux_decision_live_draft",
        "decision",
        ["draft_id"],
        unique=True,
        postgresql_where=sa.text("undone_at IS NULL"),
        sqlite_where=sa.text("undone_at IS NULL"),
    )
    op.create_index(
        "ix_decision_undelivered",
        "decision",
        ["id"],
        postgresql_where=sa.text("undone_at IS NULL AND delivered_at IS NULL"),
        sqlite_where=sa.text("undone_at IS NULL AND delivered_at IS NULL"),
    )
    op.create_index("ix_decision_reviewer", "decision", ["reviewer", "id"])

    op.create_table(
        "decision_attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draft_id", sa.Integer, nullable=False),
        sa.Column("lease_id", sa.String(36), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("detail", sa.String(50)),
        sa.Column("attempted_at", Ts, nullable=False),
    )
    op.create_index("ix_decision_attempt_key", "decision_attempt", ["idempotency_key"])
    op.create_index("ix_decision_attempt_draft", "decision_attempt", ["draft_id"])

    op.create_table(
        "draft_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("draft.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("at", Ts, nullable=False),
        sa.Column("lease_epoch", sa.Integer),
    )
    op.create_index("ix_draft_event_draft", "draft_event", ["draft_id", "id"])

    op.create_table(
        "setting",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", Json, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
    )

    if op.get_bind().dialect.name == "postgresql":
        # Room on each page for HOT updates of the lease columns, and vacuum before dead
        # tuples pile up under claim churn (docs/architecture.md).
        op.execute(
            "ALTER TABLE draft SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_analyze_scale_factor = 0.02)"
        )


def downgrade() -> None:
    for table in ("setting", "draft_event", "decision_attempt", "decision", "draft"):
        op.drop_table(table)

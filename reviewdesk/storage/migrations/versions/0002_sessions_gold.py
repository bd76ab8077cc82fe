"""Review sessions, known-answer (gold) items, low-attention flags.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("started_at", Ts, nullable=False),
        sa.Column("last_activity_at", Ts, nullable=False),
        sa.Column("ended_at", Ts),
        sa.Column("end_reason", sa.String(20)),
        sa.Column("reviews", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claims", sa.Integer, nullable=False, server_default="0"),
        sa.Column("counted_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("day_start", Ts, nullable=False),
        sa.Column("day_reviews_before", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_category", sa.String(200)),
        sa.Column("category_run", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fast_run", sa.Integer, nullable=False, server_default="0"),
        sa.Column("nudged", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_review_session_reviewer", "review_session", ["reviewer", "started_at"])
    op.create_index(
        "ux_review_session_open",
        "review_session",
        ["reviewer"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )

    op.create_table(
        "gold_item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("draft.id"), nullable=False, unique=True),
        sa.Column("expected_label", sa.String(10), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "gold_answer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("gold_item_id", sa.Integer, sa.ForeignKey("gold_item.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("review_session.id")),
        sa.Column("label", sa.String(10), nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("answered_at", Ts, nullable=False),
        sa.Column("review_seconds", sa.Float),
    )
    op.create_index("ix_gold_answer_reviewer", "gold_answer", ["reviewer", "answered_at"])

    # A plain ADD COLUMN: a batch rebuild of draft would lose the DESC of its claim index.
    # Gold drafts stay out of statistics and exports; a flag keeps those scans cheap.
    op.add_column(
        "draft", sa.Column("is_gold", sa.Boolean, nullable=False, server_default=sa.false())
    )
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("session_id", sa.Integer, sa.ForeignKey("review_session.id", name="fk_decision_session")))
        batch.add_column(
            sa.Column("low_attention", sa.Boolean, nullable=False, server_default=sa.false())
        )
        # Normalized Levenshtein distance between draft and final text, for edits; stored so
        # that statistics over millions of decisions aggregate in SQL.
        batch.add_column(sa.Column("edit_distance", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("edit_distance")
        batch.drop_column("low_attention")
        batch.drop_column("session_id")
    op.drop_column("draft", "is_gold")
    op.drop_table("gold_answer")
    op.drop_table("gold_item")
    op.drop_table("review_session")

"""A served gold draft holds a lease of its own: the gold_serve table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

Until now a gold draft was served without a row: nothing fenced its answer (two answers to one
serve were both counted), nothing kept it from being served twice in a session while the first
serve was open, and it had no audit trail and no place in the queue's counts. A serve is now a
row with a lease like a claim's; renewals, releases and the answer are fenced on it, and
``gold_answer.serve_id`` (unique) ties each answer to its serve. Answers from before have none.

The gold pick walks ``ix_gold_item_active`` from the reviewer's latest serve
(``ix_gold_serve_reviewer``), probing ``ux_gold_serve_session`` per candidate, so it costs the
same however many gold items or serves there are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gold_serve",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("gold_item_id", sa.Integer, sa.ForeignKey("gold_item.id"), nullable=False),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("draft.id"), nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("review_session.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("lease_id", sa.String(36), nullable=False, unique=True),
        sa.Column("lease_epoch", sa.Integer, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("served_at", Ts, nullable=False),
        sa.Column("visible_at", Ts, nullable=False),
        sa.Column("answer_key", sa.String(64)),
    )
    op.create_index(
        "ux_gold_serve_session", "gold_serve", ["session_id", "gold_item_id"], unique=True
    )
    op.create_index("ix_gold_serve_reviewer", "gold_serve", ["reviewer", "id"])
    op.create_index(
        "ix_gold_serve_leased",
        "gold_serve",
        ["visible_at"],
        postgresql_where=sa.text("state = 'leased'"),
        sqlite_where=sa.text("state = 'leased'"),
    )
    op.create_index(
        "ix_gold_item_active",
        "gold_item",
        ["id", "draft_id"],
        postgresql_where=sa.text("active"),
        sqlite_where=sa.text("active"),
    )
    with op.batch_alter_table("gold_answer") as batch:
        batch.add_column(
            sa.Column(
                "serve_id",
                sa.Integer,
                sa.ForeignKey("gold_serve.id", name="fk_gold_answer_serve"),
            )
        )
        batch.create_index("ux_gold_answer_serve", ["serve_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("gold_answer") as batch:
        batch.drop_index("ux_gold_answer_serve")
        batch.drop_column("serve_id")
    op.drop_index("ix_gold_item_active", table_name="gold_item")
    op.drop_table("gold_serve")

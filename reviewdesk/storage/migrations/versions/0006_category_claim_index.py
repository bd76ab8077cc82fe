"""An index that lets a varied claim ask each category for its next draft.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

The variety rule (after a run of one category, claim another category's next draft) filtered
the claim order by category. When one category filled the queue, every varied claim walked all
of its pending drafts: 26 ms at 60,000 pending drafts on PostgreSQL, 100 ms at 240,000. The
claim now asks each other category for its first pending draft, one probe per category, through
this partial index in claim order within a category (storage/queue_common.py, ``varied_pick``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_draft_category_claim",
        "draft",
        ["category", sa.text("priority DESC"), "created_at", "id"],
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_draft_category_claim", table_name="draft")

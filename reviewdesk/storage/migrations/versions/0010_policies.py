"""Review policies: a cell's continuous sampling plan, its shared state, routings and history.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

``policy`` holds one plan per cell (category, optional confidence floor, optional model version);
``policy_state`` its shared state per model version (phase, clear-run count, drift statistic),
locked by every routing and counted decision; ``policy_routing`` how each draft of a cell was
routed at submit and, for a released draft, its result cursor and delivery; ``policy_event``
every change a lead made and every phase change and alarm. A released draft's ``draft.state`` is
'released': no claim ever picks it. No existing row changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "policy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cell", sa.String(450), nullable=False, unique=True),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("min_confidence", sa.Float),
        sa.Column("model", sa.String(200)),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("aoql", sa.Float, nullable=False),
        sa.Column("fraction", sa.Float, nullable=False),
        sa.Column("clearance", sa.Integer, nullable=False),
        sa.Column("trivial_edits_count", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", Ts, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "policy_state",
        sa.Column(
            "policy_id",
            sa.Integer,
            sa.ForeignKey("policy.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("model_key", sa.String(200), primary_key=True),
        sa.Column("phase", sa.String(10), nullable=False),
        sa.Column("clear_run", sa.Integer, nullable=False),
        sa.Column("cusum", sa.Float, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
    )
    op.create_table(
        "policy_routing",
        sa.Column(
            "draft_id", sa.Integer, sa.ForeignKey("draft.id"), primary_key=True, autoincrement=False
        ),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("policy.id"), nullable=False),
        sa.Column("model_key", sa.String(200), nullable=False),
        sa.Column("route", sa.String(10), nullable=False),
        sa.Column("phase", sa.String(10), nullable=False),
        sa.Column("clear_run", sa.Integer, nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("routed_at", Ts, nullable=False),
        sa.Column("cursor", sa.Integer, unique=True),
        sa.Column("delivered_at", Ts),
        sa.Column("outcome", sa.String(10)),
    )
    op.create_index("ix_policy_routing_policy", "policy_routing", ["policy_id", "model_key"])
    op.create_index(
        "ix_policy_routing_uncounted",
        "policy_routing",
        ["draft_id"],
        postgresql_where=sa.text("route = 'review' AND outcome IS NULL"),
        sqlite_where=sa.text("route = 'review' AND outcome IS NULL"),
    )
    op.create_index(
        "ix_policy_routing_undelivered",
        "policy_routing",
        ["cursor"],
        postgresql_where=sa.text("cursor IS NOT NULL AND delivered_at IS NULL"),
        sqlite_where=sa.text("cursor IS NOT NULL AND delivered_at IS NULL"),
    )
    op.create_table(
        "policy_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("policy.id"), nullable=False),
        sa.Column("model_key", sa.String(200)),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("at", Ts, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("old", Json),
        sa.Column("new", Json),
    )
    op.create_index("ix_policy_event_policy", "policy_event", ["policy_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_policy_event_policy", table_name="policy_event")
    op.drop_table("policy_event")
    op.drop_index("ix_policy_routing_undelivered", table_name="policy_routing")
    op.drop_index("ix_policy_routing_uncounted", table_name="policy_routing")
    op.drop_index("ix_policy_routing_policy", table_name="policy_routing")
    op.drop_table("policy_routing")
    op.drop_table("policy_state")
    op.drop_table("policy")

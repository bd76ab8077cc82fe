"""PostgreSQL: review policies route a submit's drafts in the database.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05

A producer's login drew the routes in its own process and wrote released drafts, routings and
plan states itself, so plain SQL could insert a draft already released or decided. Now
``rd_submit`` (a SECURITY DEFINER function; a login not a producer is refused, and logged)
inserts a submit's drafts and routes them with the server's random generator; a team member's own INSERT adds only
pending drafts, with no lease, not gold (security_sql.draft_insert_rule); the producer group
loses INSERT and UPDATE on ``policy_state``, INSERT on ``policy_routing`` and ``policy_event``,
and the decisions' id sequence (security_sql.ROUTING_REVOKED). The functions are installed
again (``CREATE OR REPLACE``). Both engines: ``ix_policy_routing_policy`` dropped (no query
reads by it; it cost every routing an index entry).

Downgrade: rd_submit dropped, 0009's insert rule and 0012's grants again, the index again.
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import definer_sql, security_sql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    op.drop_index("ix_policy_routing_policy", table_name="policy_routing")
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        # The claim as it was before 0019 fenced on the stored limits.
        definer_sql.install(conn, inst, server_limits=False)
        security_sql.route_in_database(conn, inst)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        security_sql.route_in_client(conn, inst)
        op.execute("DROP FUNCTION IF EXISTS rd_submit(json, timestamptz)")
    op.create_index(
        "ix_policy_routing_policy", "policy_routing", ["policy_id", "model_key"], unique=False
    )

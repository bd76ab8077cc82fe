"""PostgreSQL: the insert rules' triggers fire only for the rows their functions act on.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05

``rd_draft_insert`` and ``rd_event_insert`` (migration 0009, tightened by 0014 and 0018) check a
team member's own INSERT. Inside ``rd_submit``, ``rd_ack`` and ``rd_claim`` (SECURITY DEFINER:
the current user is the owner) they were a plpgsql call per row that left the row as it was.
Each trigger now has a WHEN that skips exactly those rows (security_sql.insert_rule_triggers);
``rd_submit`` records the login as the drafts' submitter itself, as the draft rule did, and is
installed again.

Downgrade: the triggers without WHEN (0009's). ``rd_submit`` keeps recording the submitter,
which the draft rule then sets to the same value.
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import definer_sql, security_sql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        (submit,) = (fn for fn in definer_sql.definers(conn) if fn.name == "rd_submit")
        definer_sql.install_one(conn, inst, submit)
        security_sql.fire_insert_rules_when_needed(conn, inst)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        security_sql.fire_insert_rules_always(conn, security_sql.installation(conn))

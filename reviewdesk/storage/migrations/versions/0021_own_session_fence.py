"""PostgreSQL: a claim and a decision count only under the caller's own review session.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

The claim's fence (queue_common.session_open) and a decision's count toward its session
(SESSION_COUNT) named the session by id alone; the functions run as the owner, so a login could
claim under another person's open session, past its own break or caps. Both now require the
session to be the caller's. The day's count of reviews (session_sql.DAY_COUNTS) takes each
session's claims where they exceed its reviews, so that decisions naming no session do not
leave the day's cap behind. The functions are installed again, and the producer group's INSERT
on drafts and their id sequence revoked again (0018's grants as they are now, for a database
upgraded to 0018 by an earlier build).

Downgrade: nothing to undo (the functions keep the caller's own session, which 0020's callers
pass too).
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import definer_sql, security_sql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        definer_sql.install(conn, inst)
        security_sql.route_in_database(conn, inst)


def downgrade() -> None:
    return None

"""A decision counts toward its review policy's plan in its own transaction.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05

The count of a decision on a routed draft (its defect test, the plan's phase and clear run, the
drift alarm's statistic, the events) was the deciding client's, after the decision committed,
in a transaction of its own. It is now SQL run in the decision's transaction (policy_sql's
COUNT_ statements): inside ``rd_decide`` on PostgreSQL, in the decide's transaction on SQLite.

- ``policy`` gets the drift alarm's numbers for its AOQL (``cusum_defect``, ``cusum_clear``,
  ``cusum_limit``, core/drift.Cusum.for_rate), computed here for the existing policies.
- Decisions made before this upgrade that their plans did not count (a client stopped between
  its decision and its count) are counted now, oldest first.
- PostgreSQL: the functions are installed again (``rd_decide`` counts, and no longer says
  whether a policy routed the draft: its result type changes, so it is dropped first); the
  reviewer group loses its writes of ``policy_state``, ``policy_routing`` and ``policy_event``,
  and the lead group gets what setting and resetting a policy write.

Downgrade: the grants and ``rd_decide`` as 0016 had them, the columns dropped (the counts made
stay counted).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reviewdesk.storage import definer_sql, security_sql
from reviewdesk.storage.policy_sql import alarm_values, count_missed

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_COLUMNS = ("cusum_defect", "cusum_clear", "cusum_limit")
_DECIDE = "rd_decide"


def _drop_decide(conn: sa.Connection) -> None:
    (fn,) = (f for f in definer_sql.definers(None) if f.name == _DECIDE)
    op.execute(f"DROP FUNCTION IF EXISTS {fn.signature}")


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    for name in _COLUMNS:
        # SQLite adds a NOT NULL column only with a default, and rebuilding the policy table
        # instead would break the foreign keys to it. A 0 there (only for a row written by
        # plain SQL) is a limit every sampled outcome reaches: the cell is held in full review.
        op.add_column(
            "policy",
            sa.Column(name, sa.Float, nullable=not sqlite, server_default="0" if sqlite else None),
        )
    policies = conn.execute(sa.text("SELECT id, aoql FROM policy")).all()
    for policy_id, aoql in policies:
        conn.execute(
            sa.text(
                "UPDATE policy SET cusum_defect = :cusum_defect, cusum_clear = :cusum_clear, "
                "cusum_limit = :cusum_limit WHERE id = :id"
            ),
            {**alarm_values(aoql), "id": policy_id},
        )
    if not sqlite:
        for name in _COLUMNS:
            op.alter_column("policy", name, existing_type=sa.Float, nullable=False)
    count_missed(conn)
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        _drop_decide(conn)
        # The claim as it was before 0019 fenced on the stored limits.
        definer_sql.install(conn, inst, server_limits=False, routing=False)
        security_sql.close_plan_writes(conn, inst)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        security_sql.reopen_plan_writes(conn, inst)
        _drop_decide(conn)
        definer_sql.install(conn, inst, counting=False, server_limits=False, routing=False)
    for name in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE policy DROP COLUMN {name}")

"""Alerts, and PostgreSQL telling desks and consumers that the queue changed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

``alert``: one row per alert a rule raised (what: ``rule``; where: ``subject``; the figures that
triggered it), acknowledged by whom and when, cleared when the condition ended. A partial unique
index keeps one open alert per rule and subject, so that the same condition cannot be raised
twice while open, whoever evaluates the rules.

On PostgreSQL, triggers NOTIFY the channel ``reviewdesk.<schema>`` in the transaction of the
change, so that the notification is delivered if and only if the change commits. The payload
holds a table name and row ids only (``draft:12,13``): every user of the database can LISTEN, so
it carries nothing a receiver could not read; receivers read what changed under their own rights.
Only what a desk or a consumer shows raises one: a draft submitted, claimed, released or decided
(not a lease renewal), a decision made, undone, delivered or resolved, a team setting, an alert.
Inserts notify once per statement (a bulk submit is one notification); updates once per row
whose watched columns changed. SQLite has no such channel: readers watch the database files
(reviewdesk/storage/change_feed.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# At most this many ids in one payload (PostgreSQL's limit is 8000 bytes); "+" says more changed.
MAX_IDS = 50

_FUNCTION = f"""
CREATE FUNCTION reviewdesk_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        ids := NEW.id::text;
    ELSE
        SELECT string_agg(id::text, ',' ORDER BY id)
               || CASE WHEN count(*) > {MAX_IDS} THEN ',+' ELSE '' END
          INTO ids
          FROM (SELECT id FROM changed ORDER BY id LIMIT {MAX_IDS + 1}) AS firsts;
        IF ids IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pg_notify('reviewdesk.' || TG_TABLE_SCHEMA, TG_TABLE_NAME || ':' || ids);
    RETURN NULL;
END
$$
"""

_SETTING_FUNCTION = """
CREATE FUNCTION reviewdesk_notify_setting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reviewdesk.' || TG_TABLE_SCHEMA, 'setting:' || NEW.key);
    RETURN NULL;
END
$$
"""

# (trigger, table, timing and condition). Statement-level inserts see their rows in "changed".
_TRIGGERS = (
    ("notify_draft_insert", "draft", "AFTER INSERT", "STATEMENT", None),
    (
        "notify_draft_update",
        "draft",
        "AFTER UPDATE",
        "ROW",
        "OLD.state IS DISTINCT FROM NEW.state OR OLD.lease_id IS DISTINCT FROM NEW.lease_id",
    ),
    ("notify_decision_insert", "decision", "AFTER INSERT", "STATEMENT", None),
    (
        "notify_decision_update",
        "decision",
        "AFTER UPDATE",
        "ROW",
        "OLD.undone_at IS DISTINCT FROM NEW.undone_at"
        " OR OLD.delivered_at IS DISTINCT FROM NEW.delivered_at"
        " OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at",
    ),
    ("notify_alert_insert", "alert", "AFTER INSERT", "STATEMENT", None),
    (
        "notify_alert_update",
        "alert",
        "AFTER UPDATE",
        "ROW",
        "OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at"
        " OR OLD.cleared_at IS DISTINCT FROM NEW.cleared_at",
    ),
)


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("figures", Json, nullable=False),
        sa.Column("raised_at", Ts, nullable=False),
        sa.Column("acknowledged_at", Ts),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("cleared_at", Ts),
    )
    # One open alert per condition: a second evaluator's insert fails instead of doubling it.
    op.create_index(
        "ux_alert_open",
        "alert",
        ["rule", "subject"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"),
        sqlite_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index("ix_alert_raised", "alert", ["raised_at", "id"])
    # The alert rules read the last days' decisions and the last hour's drafts by time
    # (benchmarks/alerts_scale.py). Neither column changes after its row is written.
    op.create_index("ix_decision_decided", "decision", ["decided_at"])
    op.create_index("ix_draft_submitted", "draft", ["submitted_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(_SETTING_FUNCTION)
    for name, table, timing, level, condition in _TRIGGERS:
        referencing = " REFERENCING NEW TABLE AS changed" if level == "STATEMENT" else ""
        when = f" WHEN ({condition})" if condition else ""
        op.execute(
            f"CREATE TRIGGER {name} {timing} ON {table}{referencing} "
            f"FOR EACH {level}{when} EXECUTE FUNCTION reviewdesk_notify()"
        )
    op.execute(
        "CREATE TRIGGER notify_setting AFTER INSERT OR UPDATE ON setting "
        "FOR EACH ROW EXECUTE FUNCTION reviewdesk_notify_setting()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS notify_setting ON setting")
        for name, table, *_ in _TRIGGERS:
            if table != "alert":
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS reviewdesk_notify_setting()")
    op.drop_index("ix_draft_submitted", table_name="draft")
    op.drop_index("ix_decision_decided", table_name="decision")
    op.drop_table("alert")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS reviewdesk_notify()")

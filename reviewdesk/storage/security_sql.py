"""Who may do what on a shared PostgreSQL database: group roles, grants, row-level security.

The rules of docs/security.md live here, in the database's terms; migration 0009 installs them
(``install``) and ``reviewdesk team`` manages the people (``add_member`` and the rest).

- Group roles carry the rights, named per installation so that two installations on one server
  (two databases, or two schemas of one) never share a group: ``<prefix>_reviewer``,
  ``_lead``, ``_producer``, ``_admin``, where the prefix (``rd_`` and ten hex digits of the
  database's and the schema's names) is recorded in the ``security_installation`` table. The
  lead group is a member of the reviewer group: a lead reviews too.
- Each person logs in with a role of their own, named by their canonical name
  (core/identity.py), a member of one group. The person *is* ``session_user``: every row a
  person writes that names a person must name them (trigger ``rd_check_actor_*``).
- The installation itself is the owner of the tables (whoever ran the first ``db upgrade``) and
  any superuser: PostgreSQL lets them do anything by plain SQL, so no rule can bind them. The
  rules bind every other login (``rd_enforced()``).

A table added later needs ``grant_table`` in its migration (see docs/security.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from reviewdesk.core.errors import ConfigurationError, InvalidArgument
from reviewdesk.core.identity import login_name
from reviewdesk.core.sessions import LEASE_TTL_BOUNDS, UNDO_WINDOW_BOUNDS

GROUPS = ("reviewer", "lead", "producer", "admin")
INSTALLATION_TABLE = "security_installation"


def role_prefix(database: str, schema: str) -> str:
    """The group roles' prefix for the installation in ``database``.``schema``."""
    digest = hashlib.sha256(f"{database}\x00{schema}".encode()).hexdigest()
    return f"rd_{digest[:10]}"


def drop_group_roles_sql(database: str, schema: str) -> list[str]:
    """Statements that drop the group roles of the installation in ``database``.``schema``,
    once the schema is gone (tests and benchmarks that make throwaway schemas run them)."""
    prefix = role_prefix(database, schema)
    return [f"DROP ROLE IF EXISTS {quote(f'{prefix}_{group}')}" for group in GROUPS]


def quote(identifier: str) -> str:
    """A PostgreSQL identifier, quoted."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A PostgreSQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Installation:
    """One installation's group roles and owner."""

    prefix: str
    owner: str
    schema: str

    def group(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    @property
    def groups(self) -> dict[str, str]:
        return {name: self.group(name) for name in GROUPS}


def installation(conn: Connection) -> Installation:
    """The installation's roles, as ``install`` recorded them."""
    row = conn.execute(
        text(f"SELECT role_prefix, owner_role, current_schema() FROM {INSTALLATION_TABLE}")
    ).one()
    return Installation(str(row[0]), str(row[1]), str(row[2]))


# -- what each group may do, table by table ----------------------------------------------------
@dataclass(frozen=True)
class TableAccess:
    """Privileges per group on one table. ``select``/``update`` entries may name columns
    (a tuple) or the whole table (``ALL``). Append-only tables grant no UPDATE or DELETE."""

    select: Mapping[str, Sequence[str] | str] = field(default_factory=dict)
    insert: Sequence[str] = ()
    update: Mapping[str, Sequence[str] | str] = field(default_factory=dict)
    delete: Sequence[str] = ()
    rls: bool = True


ALL = "ALL"
_DRAFT_LEASE = ("visible_at", "lease_id", "lease_epoch", "lease_owner", "leased_at", "state")
# What statistics read of drafts and decisions: an admin reads figures, never texts.
_DRAFT_FIGURES = (
    "id", "external_id", "category", "risk", "model", "confidence", "thread", "priority",
    "created_at", "submitted_at", "state", "is_gold", "visible_at",
)  # fmt: skip
_DECISION_FIGURES = (
    "id", "draft_id", "reviewer", "label", "reason", "severity", "review_seconds", "decided_at",
    "lease_epoch", "undone_at", "delivered_at", "session_id", "low_attention", "edit_distance",
    "resolution", "resolved_by", "resolved_at",
)  # fmt: skip

_RESOLUTION = ("resolution", "resolution_text", "resolution_note", "resolved_by", "resolved_at")

ACCESS: dict[str, TableAccess] = {
    "draft": TableAccess(
        select={"reviewer": ALL, "producer": ALL, "admin": _DRAFT_FIGURES},
        insert=("producer",),
        update={"reviewer": _DRAFT_LEASE, "lead": ("is_gold",)},
    ),
    "decision": TableAccess(
        select={"reviewer": ALL, "producer": ALL, "admin": _DECISION_FIGURES},
        insert=("reviewer",),
        update={
            "reviewer": ("undone_at", "low_attention"),
            "lead": (*_RESOLUTION, "delivered_at"),
            "producer": ("delivered_at",),
        },
    ),
    # Append-only: no UPDATE, no DELETE for anyone but the owner.
    "decision_attempt": TableAccess(select={"reviewer": ALL, "admin": ALL}, insert=("reviewer",)),
    "draft_event": TableAccess(
        select={"reviewer": ALL, "producer": ALL, "admin": ALL}, insert=("reviewer", "producer")
    ),
    "setting": TableAccess(
        select={g: ALL for g in GROUPS},
        insert=("lead", "admin"),
        update={"lead": ALL, "admin": ALL},
        rls=False,
    ),
    "review_session": TableAccess(
        select={"reviewer": ALL, "admin": ALL},
        insert=("reviewer",),
        update={
            "reviewer": (
                "last_activity_at",
                "ended_at",
                "end_reason",
                "reviews",
                "claims",
                "counted_seconds",
                "last_category",
                "category_run",
                "fast_run",
                "nudged",
            )
        },
    ),
    "gold_item": TableAccess(
        select={"reviewer": ALL, "admin": ALL},
        insert=("lead",),
        update={"lead": ("active", "expected_label", "note")},
        rls=False,
    ),
    "gold_serve": TableAccess(
        # A producer counts the drafts in review (``reviewdesk status``); it sees no serve.
        select={"reviewer": ALL, "admin": ALL, "producer": ("state", "visible_at")},
        insert=("reviewer",),
        update={"reviewer": ("state", "visible_at", "answer_key")},
    ),
    "gold_answer": TableAccess(select={"reviewer": ALL, "admin": ALL}, insert=("reviewer",)),
    "decision_rollup": TableAccess(select={"lead": ALL, "admin": ALL}, rls=False),
    "refusal": TableAccess(select={"lead": ALL, "admin": ALL}),
    "alembic_version": TableAccess(select={g: ALL for g in GROUPS}, rls=False),
    INSTALLATION_TABLE: TableAccess(select={g: ALL for g in GROUPS}, rls=False),
}

# Tables of later migrations, granted by the migration that adds them (install_later_tables):
# review policies (0010) and alerts (0011), granted in 0012. They hold team-wide plan state and
# alerts, not one person's work, so they have grants and no row-level security. Who may change
# a plan's state here is the groups whose desks counted decisions (reviewers) and route drafts
# (producers); since migration 0017 rd_decide counts and reviewers write none of it
# (close_plan_writes).
_PLAN_COUNTS = ("phase", "clear_run", "cusum", "updated_at")
LATER_ACCESS: dict[str, TableAccess] = {
    "policy": TableAccess(
        select={g: ALL for g in GROUPS}, insert=("lead",), update={"lead": ALL}, rls=False
    ),
    "policy_state": TableAccess(
        select={"reviewer": ALL, "producer": ALL, "admin": ALL},
        insert=("reviewer", "producer"),
        # A producer locks the state it routes by (FOR SHARE needs an UPDATE right).
        update={"reviewer": _PLAN_COUNTS, "producer": ("updated_at",)},
        rls=False,
    ),
    "policy_routing": TableAccess(
        select={"reviewer": ALL, "producer": ALL, "admin": ALL},
        insert=("producer",),
        update={"reviewer": ("outcome",), "producer": ("delivered_at",)},
        rls=False,
    ),
    # Append-only, like the audit trail.
    "policy_event": TableAccess(
        select={"reviewer": ALL, "producer": ALL, "admin": ALL},
        insert=("reviewer", "producer"),
        rls=False,
    ),
    "alert": TableAccess(
        select={"reviewer": ALL, "admin": ALL},
        insert=("lead",),
        update={"lead": ("acknowledged_at", "acknowledged_by", "cleared_at")},
        rls=False,
    ),
}


def install_later_tables(conn: Connection) -> None:
    """Grant the tables of LATER_ACCESS (migration 0012); a producer also draws released
    drafts' result cursors from the decisions' id sequence."""
    inst = installation(conn)
    for table, access in LATER_ACCESS.items():
        grant_table(conn, inst, table, access)
    _runner(conn)(
        "GRANT USAGE ON SEQUENCE "
        + str(conn.execute(text("SELECT pg_get_serial_sequence('decision', 'id')")).scalar_one())
        + f" TO {quote(inst.group('producer'))}"
    )


def uninstall_later_tables(conn: Connection) -> None:
    inst = installation(conn)
    run = _runner(conn)
    for table in LATER_ACCESS:
        for role in inst.groups.values():
            run(f"REVOKE ALL ON {quote(table)} FROM {quote(role)}")


# Row-level security: (table, name, command, group, USING, WITH CHECK). Permissive policies of
# one command are OR'ed; a group's policies apply to its members (a lead is a reviewer).
_ME = "session_user"
POLICIES: tuple[tuple[str, str, str, str, str | None, str | None], ...] = (
    # A reviewer reads the drafts they hold or decided, the ones waiting to be claimed (any may
    # be handed out next; the claim statement reads them), gold drafts, and the decided history
    # of the threads of the drafts they hold. A lead reads all.
    (
        "draft", "draft_reviewer_read", "SELECT", "reviewer",
        f"lease_owner = {_ME} OR (state = 'pending' AND visible_at <= now()) OR is_gold"
        # Decided drafts only: a claim scans the drafts others hold, and a lookup per row
        # there doubled the server's time per cycle at 8 reviewers.
        " OR (state = 'decided' AND rd_holds_thread(thread))",
        None,
    ),
    (
        "draft", "draft_reviewer_lease", "UPDATE", "reviewer",
        f"lease_owner = {_ME} OR (state = 'pending' AND visible_at <= now()) OR is_gold",
        f"lease_owner = {_ME} OR lease_owner IS NULL OR is_gold",
    ),
    ("draft", "draft_lead_read", "SELECT", "lead", "true", None),
    ("draft", "draft_lead_gold", "UPDATE", "lead", "state = 'decided'", "state = 'decided'"),
    ("draft", "draft_admin_read", "SELECT", "admin", "true", None),
    # A producer reads what it submitted (and drafts from before there were producers' roles).
    (
        "draft", "draft_producer_read", "SELECT", "producer",
        f"submitted_by = {_ME} OR submitted_by IS NULL", None,
    ),
    ("draft", "draft_producer_submit", "INSERT", "producer", None, "true"),
    # Decisions: a reviewer's own, and those on the drafts they may read (not gold ones).
    (
        "decision", "decision_reviewer_read", "SELECT", "reviewer",
        f"reviewer = {_ME} OR EXISTS (SELECT 1 FROM draft d"
        " WHERE d.id = decision.draft_id AND NOT d.is_gold)",
        None,
    ),
    ("decision", "decision_reviewer_write", "INSERT", "reviewer", None, f"reviewer = {_ME}"),
    (
        "decision", "decision_reviewer_update", "UPDATE", "reviewer",
        f"reviewer = {_ME}", f"reviewer = {_ME}",
    ),
    ("decision", "decision_lead_read", "SELECT", "lead", "true", None),
    # A lead may touch any decision's row; the trigger says which changes (a resolution of an
    # escalation, by the login) are theirs to make.
    ("decision", "decision_lead_resolve", "UPDATE", "lead", "true", "true"),
    ("decision", "decision_admin_read", "SELECT", "admin", "true", None),
    (
        "decision", "decision_producer_read", "SELECT", "producer",
        "EXISTS (SELECT 1 FROM draft d WHERE d.id = decision.draft_id)", None,
    ),
    (
        "decision", "decision_producer_ack", "UPDATE", "producer",
        "EXISTS (SELECT 1 FROM draft d WHERE d.id = decision.draft_id)", "true",
    ),
    (
        "decision_attempt", "attempt_reviewer", "ALL", "reviewer",
        f"reviewer = {_ME}", f"reviewer = {_ME}",
    ),
    ("decision_attempt", "attempt_lead_read", "SELECT", "lead", "true", None),
    ("decision_attempt", "attempt_admin_read", "SELECT", "admin", "true", None),
    (
        "draft_event", "event_read", "SELECT", "reviewer",
        "EXISTS (SELECT 1 FROM draft d WHERE d.id = draft_event.draft_id)", None,
    ),
    (
        "draft_event", "event_producer_read", "SELECT", "producer",
        "EXISTS (SELECT 1 FROM draft d WHERE d.id = draft_event.draft_id)", None,
    ),
    ("draft_event", "event_admin_read", "SELECT", "admin", "true", None),
    ("draft_event", "event_write", "INSERT", "reviewer", None, "true"),
    ("draft_event", "event_producer_write", "INSERT", "producer", None, "true"),
    (
        "review_session", "session_own", "ALL", "reviewer",
        f"reviewer = {_ME}", f"reviewer = {_ME}",
    ),
    ("review_session", "session_lead_read", "SELECT", "lead", "true", None),
    ("review_session", "session_admin_read", "SELECT", "admin", "true", None),
    ("gold_serve", "serve_own", "ALL", "reviewer", f"reviewer = {_ME}", f"reviewer = {_ME}"),
    ("gold_serve", "serve_lead_read", "SELECT", "lead", "true", None),
    ("gold_serve", "serve_admin_read", "SELECT", "admin", "true", None),
    ("gold_answer", "answer_own", "ALL", "reviewer", f"reviewer = {_ME}", f"reviewer = {_ME}"),
    ("gold_answer", "answer_lead_read", "SELECT", "lead", "true", None),
    ("gold_answer", "answer_admin_read", "SELECT", "admin", "true", None),
    ("refusal", "refusal_read", "SELECT", "lead", "true", None),
    ("refusal", "refusal_admin_read", "SELECT", "admin", "true", None),
)  # fmt: skip

# Columns naming the person who acts, checked against session_user on INSERT, on tables where
# no row-level security policy checks them already (decisions, attempts, sessions, gold serves
# and answers have ``reviewer = session_user`` in their WITH CHECK; the audit trail has its own
# trigger, rd_event_insert).
ACTOR_COLUMNS = {"gold_item": "created_by"}


def _functions(inst: Installation) -> list[str]:
    """The helper and trigger functions. Each runs with a pinned search_path."""
    path = f"SET search_path = pg_catalog, {quote(inst.schema)}, pg_temp"
    owner = literal(inst.owner)
    group = {name: literal(role) for name, role in inst.groups.items()}
    ttl_max = LEASE_TTL_BOUNDS[1]
    undo_max = UNDO_WINDOW_BOUNDS[1]
    refuse = "RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = "
    # rd_enforced(), inline: the triggers run on every lease operation, and a function call
    # with a catalog lookup per row doubled the server's time per claim+decide cycle.
    # ``is_superuser`` is the current role's; a trigger runs as the session's login.
    enforced = f"(session_user <> {owner} AND current_setting('is_superuser') = 'off')"
    out = [
        # Whether the rules bind this login: not the installation (owner or a superuser).
        f"""CREATE FUNCTION rd_enforced() RETURNS boolean LANGUAGE sql STABLE {path} AS $$
            SELECT {enforced}
        $$""",
        f"""CREATE FUNCTION rd_is(grp text) RETURNS boolean LANGUAGE sql STABLE {path} AS $$
            SELECT NOT rd_enforced() OR pg_has_role(session_user,
                CASE grp WHEN 'reviewer' THEN {group["reviewer"]} WHEN 'lead' THEN {group["lead"]}
                         WHEN 'producer' THEN {group["producer"]}
                         ELSE {group["admin"]} END, 'MEMBER')
        $$""",
        # Whether the session's person holds a draft of ``t`` (runs as the owner: no RLS loop).
        f"""CREATE FUNCTION rd_holds_thread(t text) RETURNS boolean
            LANGUAGE sql STABLE STRICT SECURITY DEFINER COST 1000 {path} AS $$
            SELECT t IS NOT NULL AND EXISTS (SELECT 1 FROM draft
                WHERE thread = t AND lease_owner = session_user AND state = 'pending')
        $$""",
        # A refused action, recorded by the client after the database refused it (its own
        # transaction was rolled back). The actor is the login, whatever the client says.
        f"""CREATE FUNCTION rd_record_refusal(action text, detail text) RETURNS void
            LANGUAGE sql VOLATILE SECURITY DEFINER {path} AS $$
            INSERT INTO refusal (actor, action, detail, at)
            VALUES (session_user, left(action, 100), left(detail, 500), now())
        $$""",
        # Drafts: who submitted them; a lease no longer than the team's bound; a draft is
        # decided only with a live decision and pending again only when it was undone.
        f"""CREATE FUNCTION rd_draft_insert() RETURNS trigger LANGUAGE plpgsql {path} AS $$
        BEGIN
            IF {enforced} THEN NEW.submitted_by := session_user; END IF;
            RETURN NEW;
        END $$""",
        f"""CREATE FUNCTION rd_draft_update() RETURNS trigger LANGUAGE plpgsql {path} AS $$
        BEGIN
            IF {enforced} THEN
                IF NEW.visible_at > now() + make_interval(secs => {ttl_max}) THEN
                    {refuse} format('A lease may last at most %s seconds (the team''s bound).',
                                    {ttl_max});
                END IF;
                IF NEW.lease_owner IS DISTINCT FROM OLD.lease_owner
                   AND NEW.lease_owner IS NOT NULL AND NEW.lease_owner <> session_user THEN
                    {refuse} format('Connected as %I: a draft can only be leased to the login '
                                    'itself, not to %I.', session_user, NEW.lease_owner);
                END IF;
            END IF;
            RETURN NEW;
        END $$""",
        f"""CREATE FUNCTION rd_draft_state() RETURNS trigger LANGUAGE plpgsql {path} AS $$
        BEGIN
            IF {enforced} AND (NEW.state = 'decided') <> EXISTS (
                SELECT 1 FROM decision WHERE draft_id = NEW.id AND undone_at IS NULL) THEN
                {refuse} format('Draft %s: its state follows its decision; decide or undo it '
                                'instead.', NEW.external_id);
            END IF;
            RETURN NULL;
        END $$""",
        # Decisions: an undo is the reviewer's own, within the team's undo window, before the
        # result is delivered or resolved, and final; a resolution is a lead's, by the login.
        f"""CREATE FUNCTION rd_decision_update() RETURNS trigger LANGUAGE plpgsql {path} AS $$
        DECLARE window_s float8;
        BEGIN
            IF NOT {enforced} THEN RETURN NEW; END IF;
            IF NEW.undone_at IS DISTINCT FROM OLD.undone_at
               OR NEW.low_attention IS DISTINCT FROM OLD.low_attention THEN
                IF OLD.reviewer <> session_user THEN
                    {refuse} format('Connected as %I: only %I may undo or flag their own '
                                    'decision.', session_user, OLD.reviewer);
                END IF;
            END IF;
            IF NEW.undone_at IS DISTINCT FROM OLD.undone_at THEN
                SELECT LEAST(COALESCE((value ->> 'undo_window_seconds')::float8, 300),
                             {undo_max})
                  INTO window_s FROM setting WHERE key = 'session_limits';
                IF OLD.undone_at IS NOT NULL OR OLD.delivered_at IS NOT NULL
                   OR OLD.resolved_at IS NOT NULL
                   OR OLD.decided_at < now() - make_interval(
                       secs => COALESCE(window_s, LEAST(300, {undo_max}))) THEN
                    {refuse} 'This decision can no longer be undone.';
                END IF;
            END IF;
            IF NEW.delivered_at IS NOT NULL AND OLD.delivered_at IS NULL
               AND NOT rd_is('producer') THEN
                {refuse} 'Only a producer acknowledges results.';
            END IF;
            IF (NEW.resolved_at IS DISTINCT FROM OLD.resolved_at
                OR NEW.resolution IS DISTINCT FROM OLD.resolution)
               AND (OLD.label <> 'escalated' OR NOT rd_is('lead')) THEN
                {refuse} 'Only a lead resolves, and only an escalation.';
            END IF;
            IF NEW.resolved_by IS DISTINCT FROM OLD.resolved_by
               AND NEW.resolved_by IS DISTINCT FROM session_user THEN
                {refuse} format('Connected as %I: a resolution records the login, not %I.',
                                session_user, NEW.resolved_by);
            END IF;
            RETURN NEW;
        END $$""",
        f"""CREATE FUNCTION rd_event_insert() RETURNS trigger LANGUAGE plpgsql {path} AS $$
        BEGIN
            IF NOT {enforced} THEN RETURN NEW; END IF;
            IF NEW.kind IN ('submitted', 'delivered') THEN
                IF NOT rd_is('producer') THEN
                    {refuse} format('Only a producer records %s events.', NEW.kind);
                END IF;
            -- An expired lease is recorded under its previous holder by the claim that ends it.
            ELSIF NEW.kind <> 'expired' AND NEW.actor IS DISTINCT FROM session_user THEN
                {refuse} format('Connected as %I: the audit trail records the login, not %I.',
                                session_user, NEW.actor);
            END IF;
            RETURN NEW;
        END $$""",
        # Sessions: the counters move by one step and only the way the desk moves them.
        f"""CREATE FUNCTION rd_session_update() RETURNS trigger LANGUAGE plpgsql {path} AS $$
        BEGIN
            IF {enforced} AND (
                OLD.ended_at IS NOT NULL AND NEW.ended_at IS DISTINCT FROM OLD.ended_at
                OR NEW.counted_seconds < OLD.counted_seconds
                OR abs(NEW.claims - OLD.claims) > 1 OR abs(NEW.reviews - OLD.reviews) > 1) THEN
                {refuse} 'A review session''s figures only move as reviews are done.';
            END IF;
            RETURN NEW;
        END $$""",
        f"""CREATE FUNCTION rd_session_insert() RETURNS trigger LANGUAGE plpgsql {path} AS $$
        BEGIN
            IF {enforced} AND (NEW.started_at < now() - interval '5 minutes'
                OR NEW.claims <> 0 OR NEW.reviews <> 0 OR NEW.counted_seconds <> 0) THEN
                {refuse} 'A review session starts now, with nothing counted.';
            END IF;
            RETURN NEW;
        END $$""",
    ]
    for table, col in ACTOR_COLUMNS.items():
        out.append(
            f"""CREATE FUNCTION rd_check_actor_{table}() RETURNS trigger LANGUAGE plpgsql {path}
            AS $$
            BEGIN
                IF {enforced} AND NEW.{col} IS DISTINCT FROM session_user THEN
                    {refuse} format('Connected as %I: %s can only be recorded as the login '
                                    'itself, not as %I.', session_user, {literal(table)},
                                    NEW.{col});
                END IF;
                RETURN NEW;
            END $$"""
        )
    return out


_TRIGGERS = (
    "CREATE TRIGGER rd_draft_insert BEFORE INSERT ON draft "
    "FOR EACH ROW EXECUTE FUNCTION rd_draft_insert()",
    "CREATE TRIGGER rd_draft_update BEFORE UPDATE ON draft "
    "FOR EACH ROW EXECUTE FUNCTION rd_draft_update()",
    "CREATE TRIGGER rd_draft_state AFTER UPDATE OF state ON draft FOR EACH ROW "
    "WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION rd_draft_state()",
    "CREATE TRIGGER rd_decision_update BEFORE UPDATE ON decision "
    "FOR EACH ROW EXECUTE FUNCTION rd_decision_update()",
    "CREATE TRIGGER rd_event_insert BEFORE INSERT ON draft_event "
    "FOR EACH ROW EXECUTE FUNCTION rd_event_insert()",
    "CREATE TRIGGER rd_session_update BEFORE UPDATE ON review_session "
    "FOR EACH ROW EXECUTE FUNCTION rd_session_update()",
    "CREATE TRIGGER rd_session_insert BEFORE INSERT ON review_session "
    "FOR EACH ROW EXECUTE FUNCTION rd_session_insert()",
    *(
        f"CREATE TRIGGER rd_check_actor BEFORE INSERT ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION rd_check_actor_{table}()"
        for table in ACTOR_COLUMNS
    ),
)
_FUNCTION_NAMES = (
    "rd_holds_thread(text)", "rd_record_refusal(text, text)", "rd_draft_insert()",
    "rd_draft_update()", "rd_draft_state()", "rd_decision_update()", "rd_event_insert()",
    "rd_session_update()", "rd_session_insert()",
    *(f"rd_check_actor_{table}()" for table in ACTOR_COLUMNS),
    "rd_is(text)", "rd_enforced()",
)  # fmt: skip
# The rollup's trigger functions write decision_rollup, which no team member may write: they
# run as the owner.
ROLLUP_FUNCTIONS = (
    "decision_rollup_on_insert()",
    "decision_rollup_on_update()",
    "decision_rollup_on_delete()",
    "decision_rollup_on_draft()",
)


def trigger_functions(inst: Installation) -> list[str]:
    """The helper and trigger functions as migration 0009 creates them."""
    return _functions(inst)


def _runner(conn: Connection) -> Callable[[str], object]:
    """Runs DDL text as it is (``text()`` escapes the driver's placeholders)."""

    def run(sql: str) -> object:
        return conn.execute(text(sql))

    return run


def grant_table(conn: Connection, inst: Installation, table: str, access: TableAccess) -> None:
    """Give the groups their privileges on ``table`` (and its id sequence), nothing to PUBLIC;
    with ``access.rls``, row-level security (forced, deny by default) with the owner's policy.
    A table a later migration adds calls this with its own TableAccess and policies."""
    run = _runner(conn)
    name = quote(table)
    run(f"REVOKE ALL ON {name} FROM PUBLIC")
    for grp, cols in access.select.items():
        what = "SELECT" if cols == ALL else f"SELECT ({', '.join(map(quote, cols))})"
        run(f"GRANT {what} ON {name} TO {quote(inst.group(grp))}")
    for grp, cols in access.update.items():
        what = "UPDATE" if cols == ALL else f"UPDATE ({', '.join(map(quote, cols))})"
        run(f"GRANT {what} ON {name} TO {quote(inst.group(grp))}")
    for verb, groups in (("INSERT", access.insert), ("DELETE", access.delete)):
        for grp in groups:
            run(f"GRANT {verb} ON {name} TO {quote(inst.group(grp))}")
    sequence = conn.execute(
        text(
            """SELECT pg_get_serial_sequence(:t, 'id') FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = :name AND column_name = 'id'"""
        ),
        {"t": quote(table), "name": table},
    ).scalar()
    if sequence and access.insert:
        run(f"REVOKE ALL ON SEQUENCE {sequence} FROM PUBLIC")
        for grp in access.insert:
            run(f"GRANT USAGE ON SEQUENCE {sequence} TO {quote(inst.group(grp))}")
    if access.rls:
        run(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        run(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        owner = quote(inst.owner)
        run(f"CREATE POLICY rd_owner ON {name} TO {owner} USING (true) WITH CHECK (true)")


def create_policy(
    conn: Connection,
    inst: Installation,
    table: str,
    name: str,
    command: str,
    group: str,
    using: str | None,
    check: str | None,
) -> None:
    clause = f"CREATE POLICY {name} ON {quote(table)} FOR {command} TO {quote(inst.group(group))}"
    if using is not None:
        clause += f" USING ({using})"
    if check is not None:
        clause += f" WITH CHECK ({check})"
    _runner(conn)(clause)


def install(conn: Connection) -> Installation:
    """Create the group roles (if missing) and every grant, policy and rule (migration 0009)."""
    database, schema, owner, can_create = conn.execute(
        text(
            "SELECT current_database(), current_schema(), current_user, "
            "(SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user)"
        )
    ).one()
    inst = Installation(role_prefix(database, schema), owner, schema)
    if not can_create:
        raise ConfigurationError(
            f"Upgrading needs a login that may create roles (CREATEROLE): {owner!r} may not. "
            "Run 'reviewdesk db upgrade' as the database's owner or an administrator."
        )
    run = _runner(conn)
    run(
        f"INSERT INTO {INSTALLATION_TABLE} (role_prefix, owner_role) "
        f"VALUES ({literal(inst.prefix)}, {literal(owner)})"
    )
    for role in inst.groups.values():
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            run(f"CREATE ROLE {quote(role)} NOLOGIN")
    run(f"GRANT {quote(inst.group('reviewer'))} TO {quote(inst.group('lead'))}")
    run(f"REVOKE ALL ON SCHEMA {quote(schema)} FROM PUBLIC")
    run(
        f"GRANT USAGE ON SCHEMA {quote(schema)} TO "
        + ", ".join(quote(r) for r in inst.groups.values())
    )
    # Functions are callable by PUBLIC unless revoked, now and for those created later.
    in_schema = quote(schema)
    run(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {in_schema} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")
    for function in _functions(inst):
        run(function)
    for trigger in _TRIGGERS:
        run(trigger)
    for function in ROLLUP_FUNCTIONS:
        run(
            f"ALTER FUNCTION {function} SECURITY DEFINER "
            f"SET search_path = pg_catalog, {quote(schema)}, pg_temp"
        )
    run(f"REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {quote(schema)} FROM PUBLIC")
    everyone = ", ".join(quote(r) for r in inst.groups.values())
    for helper in ("rd_enforced()", "rd_is(text)", "rd_holds_thread(text)",
                   "rd_record_refusal(text, text)"):  # fmt: skip
        run(f"GRANT EXECUTE ON FUNCTION {helper} TO {everyone}")
    for table, access in ACCESS.items():
        grant_table(conn, inst, table, access)
    for policy in POLICIES:
        create_policy(conn, inst, *policy)
    return inst


def uninstall(conn: Connection) -> None:
    """Undo ``install`` (migration 0009's downgrade): policies, rules, grants, group roles."""
    inst = installation(conn)
    run = _runner(conn)
    for table, access in ACCESS.items():
        if access.rls:
            run(f"ALTER TABLE {quote(table)} NO FORCE ROW LEVEL SECURITY")
            run(f"ALTER TABLE {quote(table)} DISABLE ROW LEVEL SECURITY")
            run(f"DROP POLICY IF EXISTS rd_owner ON {quote(table)}")
    for table, name, *_ in POLICIES:
        run(f"DROP POLICY IF EXISTS {name} ON {quote(table)}")
    for trigger in _TRIGGERS:
        words = trigger.split()
        run(f"DROP TRIGGER IF EXISTS {words[2]} ON {words[words.index('ON') + 1]}")
    for function in ROLLUP_FUNCTIONS:
        run(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
    for function in _FUNCTION_NAMES:
        run(f"DROP FUNCTION IF EXISTS {function}")
    for table in ACCESS:
        if table not in ("refusal", INSTALLATION_TABLE):
            for role in inst.groups.values():
                run(f"REVOKE ALL ON {quote(table)} FROM {quote(role)}")
    drop_groups(conn, inst)


def drop_groups(conn: Connection, inst: Installation) -> None:
    """Drop the installation's group roles once nothing in this database refers to them."""
    for role in inst.groups.values():
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
            _runner(conn)(f"DROP OWNED BY {quote(role)}")
            _runner(conn)(f"DROP ROLE {quote(role)}")


# -- the team ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    name: str
    role: str
    can_login: bool


def members(conn: Connection, inst: Installation) -> list[Member]:
    """Each login in one of the installation's groups, with its group."""
    rows = conn.execute(
        text(
            """SELECT m.rolname, g.rolname, m.rolcanlogin
            FROM pg_auth_members am
            JOIN pg_roles g ON g.oid = am.roleid
            JOIN pg_roles m ON m.oid = am.member
            WHERE g.rolname = ANY(:groups) AND NOT m.rolname = ANY(:groups)
            ORDER BY m.rolname"""
        ),
        {"groups": list(inst.groups.values())},
    ).all()
    by_group = {role: name for name, role in inst.groups.items()}
    return [Member(str(r[0]), by_group[str(r[1])], bool(r[2])) for r in rows]


def member_role(conn: Connection, inst: Installation, name: str) -> str | None:
    for member in members(conn, inst):
        if member.name == name:
            return member.role
    return None


def _check_group(role: str) -> None:
    if role not in GROUPS:
        raise InvalidArgument(f"Unknown role {role!r}: use one of {', '.join(GROUPS)}.")


def add_member(conn: Connection, inst: Installation, name: str, role: str, password: str) -> str:
    """Create login ``name`` (canonical) with ``password`` in group ``role``; a login that
    exists already (another installation's member) only joins the group. Returns the name."""
    _check_group(role)
    login = login_name(name)
    if member_role(conn, inst, login) is not None:
        raise InvalidArgument(f"{login!r} is already on the team; use 'team set-role'.")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}).first()
    if exists is None:
        # The password goes to the server as a literal: CREATE ROLE takes no parameters. The
        # statement is never logged by ReviewDesk.
        extra = " CREATEROLE" if role == "admin" else ""
        _runner(conn)(f"CREATE ROLE {quote(login)} LOGIN{extra} PASSWORD {literal(password)}")
    _runner(conn)(f"GRANT {quote(inst.group(role))} TO {quote(login)}")
    return login


def set_member_role(conn: Connection, inst: Installation, name: str, role: str) -> str:
    _check_group(role)
    login = login_name(name)
    current = member_role(conn, inst, login)
    if current is None:
        raise InvalidArgument(f"{login!r} is not on the team; use 'team add'.")
    _runner(conn)(f"REVOKE {quote(inst.group(current))} FROM {quote(login)}")
    _runner(conn)(f"GRANT {quote(inst.group(role))} TO {quote(login)}")
    return login


def remove_member(conn: Connection, inst: Installation, name: str) -> str:
    """Take ``name`` off the team: out of the group; the login itself is kept, since other
    installations may use it and the history names it."""
    login = login_name(name)
    current = member_role(conn, inst, login)
    if current is None:
        raise InvalidArgument(f"{login!r} is not on the team.")
    _runner(conn)(f"REVOKE {quote(inst.group(current))} FROM {quote(login)}")
    return login


def new_password() -> str:
    """A generated initial password (shown once)."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Identity:
    """Who this connection is: the login, and whether the rules bind it."""

    login: str
    enforced: bool
    role: str | None  # reviewer | lead | producer | admin; None for the installation


def identity(conn: Connection) -> Identity:
    row = conn.execute(
        text(
            "SELECT session_user, rd_enforced(), rd_is('lead'), rd_is('reviewer'), "
            "rd_is('producer'), rd_is('admin')"
        )
    ).one()
    login, enforced = str(row[0]), bool(row[1])
    role = None
    if enforced:
        for name, member in zip(("lead", "reviewer", "producer", "admin"), row[2:], strict=True):
            if member:
                role = name
                break
    return Identity(login, enforced, role)


class TeamChangeFailed(Exception):
    """A team change the server refused for a reason other than a missing right; carries the
    driver error's class name only (its message may quote a statement with a password)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class TeamStore:
    """The team's members on one installation: each change in one transaction of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def members(self) -> list[Member]:
        with self._engine.connect() as conn:
            return members(conn, installation(conn))

    def add(self, name: str, role: str, password: str) -> str:
        return self._change(lambda conn, inst: add_member(conn, inst, name, role, password))

    def set_role(self, name: str, role: str) -> str:
        return self._change(lambda conn, inst: set_member_role(conn, inst, name, role))

    def remove(self, name: str) -> str:
        return self._change(lambda conn, inst: remove_member(conn, inst, name))

    def _change(self, change: Callable[[Connection, Installation], str]) -> str:
        try:
            with self._engine.begin() as conn:
                return change(conn, installation(conn))
        except DBAPIError as exc:
            if isinstance(exc.orig, Exception) and getattr(exc.orig, "sqlstate", None) == "42501":
                raise
            raise TeamChangeFailed(type(exc.orig).__name__) from None


# -- migration 0014: state changes only through SECURITY DEFINER functions --------------------
# The direct writes the functions (definer_sql) replace: a reviewer no longer writes any of these
# tables itself. Leads (resolutions, gold marks) and producers (submit, acknowledge) keep theirs.
DEFINER_REVOKED = {
    "draft": ("UPDATE",),
    "decision": ("INSERT", "UPDATE"),
    "decision_attempt": ("INSERT",),
    "draft_event": ("INSERT",),
    "review_session": ("INSERT", "UPDATE"),
    "gold_serve": ("INSERT", "UPDATE"),
    "gold_answer": ("INSERT",),
}
# The reviewer policies of 0009 that 0014 drops (writes, and the wide read of drafts).
_REPLACED_POLICIES = (
    "draft_reviewer_read", "draft_reviewer_lease", "decision_reviewer_write",
    "decision_reviewer_update", "attempt_reviewer", "event_write", "session_own", "serve_own",
    "answer_own",
)  # fmt: skip
DEFINER_POLICIES: tuple[tuple[str, str, str, str, str | None, str | None], ...] = (
    # A reviewer reads the drafts they hold, decided or are served, and the decided history of
    # the threads they hold: not the drafts waiting in the queue, not gold drafts as such.
    (
        "draft", "draft_reviewer_read", "SELECT", "reviewer",
        f"(lease_owner = {_ME} AND state = 'pending') OR rd_reviewed_by_me(id)"
        " OR (state = 'decided' AND rd_holds_thread(thread))",
        None,
    ),
    ("decision_attempt", "attempt_reviewer", "SELECT", "reviewer", f"reviewer = {_ME}", None),
    ("review_session", "session_own", "SELECT", "reviewer", f"reviewer = {_ME}", None),
    ("gold_serve", "serve_own", "SELECT", "reviewer", f"reviewer = {_ME}", None),
    ("gold_answer", "answer_own", "SELECT", "reviewer", f"reviewer = {_ME}", None),
    # Gold items: a lead's; a reviewer reads those they have answered (their summary's score).
    ("gold_item", "gold_lead_read", "SELECT", "lead", "true", None),
    ("gold_item", "gold_admin_read", "SELECT", "admin", "true", None),
    (
        "gold_item", "gold_reviewer_answered", "SELECT", "reviewer",
        f"EXISTS (SELECT 1 FROM gold_answer a WHERE a.gold_item_id = gold_item.id"
        f" AND a.reviewer = {_ME})",
        None,
    ),
)  # fmt: skip


def close_direct_writes(conn: Connection, inst: Installation) -> None:
    """Revoke the reviewer group's direct writes (DEFINER_REVOKED) and narrow what it reads
    (DEFINER_POLICIES): migration 0014, once the functions are there."""
    run = _runner(conn)
    path = f"SET search_path = pg_catalog, {quote(inst.schema)}, pg_temp"
    reviewer = quote(inst.group("reviewer"))
    for table, verbs in DEFINER_REVOKED.items():
        run(f"REVOKE {', '.join(verbs)} ON {quote(table)} FROM {reviewer}")
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": quote(table)}
        ).scalar()
        if sequence and "INSERT" in verbs:
            run(f"REVOKE USAGE ON SEQUENCE {sequence} FROM {reviewer}")
    # A lead resolves through rd_resolve and marks gold drafts through rd_mark_gold.
    lead = quote(inst.group("lead"))
    resolution = ", ".join(quote(c) for c in _RESOLUTION)
    run(f"REVOKE UPDATE ({resolution}, delivered_at) ON decision FROM {lead}")
    run(f"REVOKE UPDATE (is_gold) ON draft FROM {lead}")
    run(f"REVOKE INSERT, UPDATE ON gold_item FROM {lead}")
    # A producer acknowledges through rd_ack.
    run(f"REVOKE UPDATE (delivered_at) ON decision FROM {quote(inst.group('producer'))}")
    for table, name, *_ in POLICIES:
        if name in _REPLACED_POLICIES:
            run(f"DROP POLICY {name} ON {quote(table)}")
    # Whether the session's person decided this draft, or holds it as a gold serve (runs as
    # the owner: the decisions' and serves' own policies read drafts).
    run(
        f"""CREATE FUNCTION rd_reviewed_by_me(draft bigint) RETURNS boolean
        LANGUAGE sql STABLE STRICT SECURITY DEFINER COST 1000 {path} AS $$
            SELECT EXISTS (SELECT 1 FROM decision WHERE draft_id = draft
                           AND reviewer = session_user)
                OR EXISTS (SELECT 1 FROM gold_serve WHERE draft_id = draft
                           AND reviewer = session_user AND state = 'leased')
        $$"""
    )
    run("REVOKE EXECUTE ON FUNCTION rd_reviewed_by_me(bigint) FROM PUBLIC")
    everyone = ", ".join(quote(r) for r in inst.groups.values())
    run(f"GRANT EXECUTE ON FUNCTION rd_reviewed_by_me(bigint) TO {everyone}")
    run("ALTER TABLE gold_item ENABLE ROW LEVEL SECURITY")
    run("ALTER TABLE gold_item FORCE ROW LEVEL SECURITY")
    run(
        f"CREATE POLICY rd_owner ON gold_item TO {quote(inst.owner)} USING (true) WITH CHECK (true)"
    )
    for policy in DEFINER_POLICIES:
        create_policy(conn, inst, *policy)


def reopen_direct_writes(conn: Connection, inst: Installation) -> None:
    """Undo ``close_direct_writes`` (migration 0014's downgrade): 0009's grants and policies."""
    run = _runner(conn)
    for table, name, *_ in DEFINER_POLICIES:
        run(f"DROP POLICY IF EXISTS {name} ON {quote(table)}")
    run("DROP POLICY IF EXISTS rd_owner ON gold_item")
    run("ALTER TABLE gold_item NO FORCE ROW LEVEL SECURITY")
    run("ALTER TABLE gold_item DISABLE ROW LEVEL SECURITY")
    run("DROP FUNCTION IF EXISTS rd_reviewed_by_me(bigint)")
    for table in (*DEFINER_REVOKED, "decision", "gold_item"):
        grant_table(conn, inst, table, dataclasses.replace(ACCESS[table], rls=False))
    for policy in POLICIES:
        if policy[1] in _REPLACED_POLICIES:
            create_policy(conn, inst, *policy)


# -- migration 0017: a decision counts toward its review policy's plan inside rd_decide ---------
# The writes a reviewer's desk made to count decisions after they committed: rd_decide (running
# as the owner) makes them now, so no reviewer writes a plan's state, a routing's outcome or a
# policy's history itself. A lead keeps what setting and resetting a policy write (no longer as
# a reviewer); a producer keeps its routing rights.
PLAN_COUNT_REVOKED = {
    "policy_state": ("INSERT", "UPDATE"),
    "policy_routing": ("UPDATE",),
    "policy_event": ("INSERT",),
}
_LEAD_PLAN_WRITES = {
    "policy_state": TableAccess(insert=("lead",), update={"lead": _PLAN_COUNTS}, rls=False),
    "policy_event": TableAccess(insert=("lead",), rls=False),
}


def close_plan_writes(conn: Connection, inst: Installation) -> None:
    """Revoke the reviewer group's writes of the plans' tables (PLAN_COUNT_REVOKED); grant a
    lead's policy changes and resets theirs (migration 0017)."""
    run = _runner(conn)
    reviewer = quote(inst.group("reviewer"))
    for table, verbs in PLAN_COUNT_REVOKED.items():
        run(f"REVOKE {', '.join(verbs)} ON {quote(table)} FROM {reviewer}")
    events = conn.execute(text("SELECT pg_get_serial_sequence('policy_event', 'id')")).scalar()
    run(f"REVOKE USAGE ON SEQUENCE {events} FROM {reviewer}")
    for table, access in _LEAD_PLAN_WRITES.items():
        grant_table(conn, inst, table, access)


def reopen_plan_writes(conn: Connection, inst: Installation) -> None:
    """Undo ``close_plan_writes`` (migration 0017's downgrade): migration 0012's grants."""
    run = _runner(conn)
    lead = quote(inst.group("lead"))
    for table in _LEAD_PLAN_WRITES:
        run(f"REVOKE INSERT, UPDATE ON {quote(table)} FROM {lead}")
    for table in PLAN_COUNT_REVOKED:
        grant_table(conn, inst, table, LATER_ACCESS[table])


# -- migration 0018: routing in the database ------------------------------------------------------
# A producer's login submits through rd_submit (definer_sql), which routes in the database: the
# producer no longer writes plan states, routings or the policies' history itself, nor draws
# result cursors. It keeps reading them, and acknowledging released drafts (``delivered_at``).
ROUTING_REVOKED = {
    # Every draft comes in through rd_submit: a producer's plain INSERT could otherwise choose
    # a draft's id (one the sequence hands out later), its submission or visibility time.
    "draft": ("INSERT",),
    "policy_state": ("INSERT", "UPDATE"),
    "policy_routing": ("INSERT",),
    "policy_event": ("INSERT",),
}


def draft_insert_rule(inst: Installation) -> str:
    """Migration 0009's rule of a draft's insert (the login recorded as its submitter), and:
    a team member's own INSERT adds a pending draft, with no lease, not a gold draft; only
    rd_submit's routing (running as the owner) inserts a released one."""
    (rule,) = (f for f in _functions(inst) if "rd_draft_insert()" in f)
    owner = literal(inst.owner)
    enforced = f"(session_user <> {owner} AND current_setting('is_superuser') = 'off')"
    recorded = f"IF {enforced} THEN NEW.submitted_by := session_user; END IF;"
    assert recorded in rule
    refuse = "RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = "
    # Inside rd_submit the current user is the owner (SECURITY DEFINER).
    checked = f"""IF {enforced} THEN
                NEW.submitted_by := session_user;
                IF current_user <> {owner} AND NEW.state IS DISTINCT FROM 'pending' THEN
                    {refuse} format('Draft %s: a draft is submitted pending (not %s); only a '
                                    'review policy''s routing releases one.',
                                    NEW.external_id, NEW.state);
                END IF;
                IF current_user <> {owner} AND (NEW.is_gold
                   OR NEW.lease_id IS NOT NULL OR NEW.lease_owner IS NOT NULL
                   OR NEW.leased_at IS NOT NULL OR NEW.lease_epoch <> 0) THEN
                    {refuse} format('Draft %s: a draft is submitted without a lease, and not '
                                    'as a gold draft.', NEW.external_id);
                END IF;
            END IF;"""
    return rule.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1).replace(
        recorded, checked
    )


def _decision_sequence(conn: Connection) -> str:
    return str(conn.execute(text("SELECT pg_get_serial_sequence('decision', 'id')")).scalar_one())


def route_in_database(conn: Connection, inst: Installation) -> None:
    """Migration 0018: the producer group loses its INSERT of drafts and its writes of the
    policies' tables (ROUTING_REVOKED) and their id sequences, and the decisions' id sequence;
    rd_submit (installed with the other functions) does them. The insert rule still refuses a
    team member's draft that is not pending, should a grant ever give one back."""
    run = _runner(conn)
    producer = quote(inst.group("producer"))
    run(draft_insert_rule(inst))
    for table, verbs in ROUTING_REVOKED.items():
        run(f"REVOKE {', '.join(verbs)} ON {quote(table)} FROM {producer}")
    for table in ("policy_event", "draft"):
        sequence = conn.execute(text(f"SELECT pg_get_serial_sequence('{table}', 'id')")).scalar()
        if sequence:
            run(f"REVOKE USAGE ON SEQUENCE {sequence} FROM {producer}")
    run(f"REVOKE USAGE ON SEQUENCE {_decision_sequence(conn)} FROM {producer}")


def route_in_client(conn: Connection, inst: Installation) -> None:
    """Undo ``route_in_database`` (migration 0018's downgrade): 0009's insert rule and 0012's
    grants to producers."""
    run = _runner(conn)
    producer = quote(inst.group("producer"))
    (rule,) = (f for f in _functions(inst) if "rd_draft_insert()" in f)
    run(rule.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    for table in ROUTING_REVOKED:
        access = LATER_ACCESS.get(table) or ACCESS[table]
        if "producer" in access.insert:
            run(f"GRANT INSERT ON {quote(table)} TO {producer}")
        cols = access.update.get("producer")
        if cols is not None:
            what = "UPDATE" if cols == ALL else f"UPDATE ({', '.join(map(quote, cols))})"
            run(f"GRANT {what} ON {quote(table)} TO {producer}")
    for table in ("policy_event", "draft"):
        sequence = conn.execute(text(f"SELECT pg_get_serial_sequence('{table}', 'id')")).scalar()
        if sequence:
            run(f"GRANT USAGE ON SEQUENCE {sequence} TO {producer}")
    run(f"GRANT USAGE ON SEQUENCE {_decision_sequence(conn)} TO {producer}")


# -- migration 0020: the insert rules' triggers fire only where their function acts --------------
# rd_draft_insert and rd_event_insert exist to check a team member's own INSERT; inside
# rd_submit, rd_ack or rd_claim (the current user is the owner) they were a plpgsql call per row
# that changed nothing. Each trigger's WHEN is the negation of exactly the rows its function
# (draft_insert_rule, definer_sql's event rule) leaves as they are:
# - not enforced (the installation's login or a superuser): both functions return NEW at once;
# - a draft written as the owner whose submitted_by is already the login: the function's only
#   act for the owner is ``NEW.submitted_by := session_user`` (rd_submit sets it itself);
# - a 'submitted', 'delivered' or 'expired' event written as the owner: every branch of the
#   event rule that refuses one of these needs ``current_user <> owner``.
def insert_rule_triggers(inst: Installation) -> dict[str, str]:
    """The two insert rules' CREATE TRIGGER statements, each with its WHEN (migration 0020)."""
    owner = literal(inst.owner)
    enforced = f"(session_user <> {owner} AND current_setting('is_superuser') = 'off')"
    return {
        "rd_draft_insert": (
            "CREATE TRIGGER rd_draft_insert BEFORE INSERT ON draft FOR EACH ROW "
            f"WHEN ({enforced} AND (current_user <> {owner} "
            "OR NEW.submitted_by IS DISTINCT FROM session_user)) "
            "EXECUTE FUNCTION rd_draft_insert()"
        ),
        "rd_event_insert": (
            "CREATE TRIGGER rd_event_insert BEFORE INSERT ON draft_event FOR EACH ROW "
            f"WHEN ({enforced} AND (current_user <> {owner} "
            "OR NEW.kind NOT IN ('submitted', 'delivered', 'expired'))) "
            "EXECUTE FUNCTION rd_event_insert()"
        ),
    }


def fire_insert_rules_when_needed(conn: Connection, inst: Installation) -> None:
    """Migration 0020: the two insert rules' triggers with their WHEN."""
    run = _runner(conn)
    for name, create in insert_rule_triggers(inst).items():
        table = create.split(" ON ", 1)[1].split()[0]
        run(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        run(create)


def fire_insert_rules_always(conn: Connection, inst: Installation) -> None:
    """Undo ``fire_insert_rules_when_needed`` (migration 0020's downgrade): 0009's triggers."""
    run = _runner(conn)
    for name in insert_rule_triggers(inst):
        (create,) = (t for t in _TRIGGERS if t.startswith(f"CREATE TRIGGER {name} "))
        table = create.split(" ON ", 1)[1].split()[0]
        run(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        run(create)

"""Who may do what, enforced by PostgreSQL (docs/security.md): every action x every role.

One installation for the module, with a login per role. Each cell runs as that login: plain SQL
on every table (SELECT, INSERT, UPDATE, DELETE), API calls and CLI commands. A refused cell must
be refused by the database (SQLSTATE 42501, or a NotPermitted naming the role), write nothing,
and an API refusal must be in the refusal log under the login.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from reviewdesk import ReviewDesk
from reviewdesk.cli.entry import main
from reviewdesk.core.domain import DEFAULT_REJECT_REASONS, Lease
from reviewdesk.core.errors import ClaimRefused, NotPermitted
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.alerts import AlertService
from reviewdesk.services.escalations import EscalationInbox
from reviewdesk.services.stats import StatsService
from reviewdesk.storage import definer_sql, migrate, security_sql
from reviewdesk.storage.session_sql import GOLD_PICK_WINDOW
from tests.conftest import postgres_schema
from tests.helpers.team import login_url, person, team

pytestmark = pytest.mark.postgres

ROLES = ("reviewer", "lead", "producer", "admin")
PEOPLE = {"reviewer": "ana", "lead": "lee", "producer": "pat", "admin": "adam"}
TABLES = (
    "draft", "decision", "decision_attempt", "draft_event", "setting", "review_session",
    "gold_item", "gold_serve", "gold_answer", "decision_rollup", "refusal",
    "security_installation", "alembic_version",
    "policy", "policy_state", "policy_routing", "policy_event", "alert",
)  # fmt: skip
OTHER = "zoe"  # a person who is not the login of any cell


@dataclass
class Site:
    url: str
    root: ReviewDesk
    owner: Engine
    urls: dict[str, str]  # role -> URL
    desks: dict[str, ReviewDesk]
    engines: dict[str, Engine]

    def login(self, role: str) -> str:
        return person(self.urls, role)

    def snapshot(self) -> str:
        """Every table's rows, hashed: what 'nothing written' compares (but the refusal log,
        which a refusal writes)."""
        digest = hashlib.sha256()
        with self.owner.connect() as conn:
            for table in TABLES:
                if table == "refusal":
                    continue
                rows = conn.execute(text(f"SELECT t::text FROM {table} t ORDER BY 1")).scalars()
                digest.update("\n".join(rows).encode())
        return digest.hexdigest()

    def refusals(self, role: str) -> int:
        with self.owner.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM refusal WHERE actor = :a"), {"a": self.login(role)}
                ).scalar_one()
            )

    def claim(self, who: str) -> Lease:
        """A claim through the installation's connection that is not a known-answer serve."""
        lease = self.root.claim(who)
        while lease is not None and lease.gold_item_id is not None:
            self.root.release(lease)
            lease = self.root.claim(who)
        assert lease is not None
        return lease

    def decided(self, label: str = "approve") -> tuple[str, int]:
        """A new draft, decided by OTHER through the installation's own connection: (id,
        result cursor)."""
        draft_id = f"m-{uuid.uuid4().hex[:8]}"
        self.root.submit([{"id": draft_id, "draft": f"Draft {draft_id}", "priority": 100}])
        who = f"{OTHER}-{uuid.uuid4().hex[:6]}"  # a fresh session, never over a limit
        lease = self.claim(who)
        draft_id = lease.draft.id  # the new one, or one a failed cell left waiting
        options: dict[str, Any] = {}
        if label == "escalate":
            options = {"severity": "high", "note": "Check it."}
        self.root.decide(lease, label, **options)
        cursor = next(
            r.cursor
            for r in self.root.results(unsettled=True, include_delivered=True)
            if r.id == draft_id
        )
        return draft_id, cursor


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with postgres_schema() as url:
        root = ReviewDesk.open(url, upgrade=True)
        root.submit([{"id": f"d{i}", "draft": f"Draft {i}", "thread": "t-1"} for i in range(8)])
        owner = create_engine(url, isolation_level="AUTOCOMMIT")
        with team(url, {role: role for role in ROLES}) as urls:
            site = Site(url, root, owner, urls, {}, {})
            for role in ROLES:
                site.desks[role] = ReviewDesk.open(urls[role])
                site.engines[role] = create_engine(urls[role], isolation_level="AUTOCOMMIT")
            # Rows of every kind: OTHER's decisions (one escalated, one gold), the reviewer's own.
            gold_id, _ = site.decided()
            root.mark_gold(gold_id, "approved", by=OTHER)
            site.decided("escalate")
            ana = site.desks["reviewer"]
            lease = ana.claim(site.login("reviewer"))
            assert lease is not None
            ana.decide(lease, "approve")
            try:
                yield site
            finally:
                for desk in site.desks.values():
                    desk.close()
                for engine in site.engines.values():
                    engine.dispose()
        owner.dispose()
        root.close()


def _cells(spec: dict[str, tuple[str, str]]) -> list[Any]:
    """pytest params from {name: (sql, outcomes)}; outcomes: one letter per role in ROLES,
    o = accepted, n = refused, 0 = accepted but no row affected (row-level security)."""
    return [
        pytest.param(sql, role, outcome, id=f"{name}-{role}")
        for name, (sql, outcomes) in spec.items()
        for role, outcome in zip(ROLES, outcomes, strict=True)
    ]


_DRAFT_COLUMNS = (
    "external_id, content_hash, draft, context, category, risk, priority, created_at, "
    "submitted_at, metadata, state, visible_at, lease_epoch"
)


def _draft_insert(columns: str = "", values: str = "", state: str = "'pending'") -> str:
    extra = f", {columns}" if columns else ""
    more = f", {values}" if values else ""
    return (
        f"INSERT INTO draft ({_DRAFT_COLUMNS}{extra}) VALUES ('sql-' || gen_random_uuid(), 'h', "
        f"'t', '{{}}', 'c', 'low', 0, now(), now(), '{{}}', {state}, now(), 0{more})"
    )


SQL = {
    "draft-select-figures": ("SELECT id, category, state FROM draft", "oooo"),
    "draft-select-text": ("SELECT draft FROM draft", "ooon"),
    "draft-insert": (
        f"INSERT INTO draft ({_DRAFT_COLUMNS}) VALUES ('sql-' || gen_random_uuid(), 'h', 't', "
        "'{}', 'c', 'low', 0, now(), now(), '{}', 'pending', now(), 0)",
        "nnnn",
    ),
    # A producer's drafts come in through rd_submit only, pending or released by its routing.
    "draft-insert-released": (_draft_insert(state="'released'"), "nnnn"),
    "draft-insert-decided": (_draft_insert(state="'decided'"), "nnnn"),
    "draft-insert-leased": (
        _draft_insert("lease_owner, lease_id, leased_at", "session_user, 'l', now()"),
        "nnnn",
    ),
    "draft-insert-gold": (_draft_insert("is_gold", "true"), "nnnn"),
    "draft-update-priority": ("UPDATE draft SET priority = priority + 1", "nnnn"),
    "draft-lease-to-other": (
        f"UPDATE draft SET lease_owner = '{OTHER}' WHERE state = 'pending'",
        "nnnn",
    ),
    "draft-decide-without-decision": (
        "UPDATE draft SET state = 'decided' WHERE state = 'pending'",
        "nnnn",
    ),
    "draft-delete": ("DELETE FROM draft", "nnnn"),
    "decision-select": ("SELECT count(*) FROM decision", "oooo"),
    "decision-select-text": ("SELECT final_text FROM decision", "ooon"),
    "decision-insert-as-other": (
        "INSERT INTO decision (draft_id, reviewer, label, decided_at, lease_epoch, "
        f"idempotency_key) SELECT id, '{OTHER}', 'approved', now(), 1, gen_random_uuid()::text "
        "FROM draft WHERE state = 'pending' LIMIT 1",
        "nnnn",
    ),
    "decision-relabel": ("UPDATE decision SET label = 'approved'", "nnnn"),
    "decision-rename-reviewer": (f"UPDATE decision SET reviewer = '{OTHER}'", "nnnn"),
    "decision-undo-others": (
        f"UPDATE decision SET undone_at = now() WHERE reviewer LIKE '{OTHER}%'",
        "nnnn",
    ),
    "decision-resolve-as-other": (
        f"UPDATE decision SET resolved_by = '{OTHER}', resolved_at = now(), "
        "resolution = 'dismiss' WHERE label = 'escalated'",
        "nnnn",
    ),
    "decision-ack": (
        "UPDATE decision SET delivered_at = now() WHERE delivered_at IS NULL",
        "nnnn",
    ),
    "decision-delete": ("DELETE FROM decision", "nnnn"),
    "attempt-select": ("SELECT count(*) FROM decision_attempt", "oono"),
    "attempt-insert-as-other": (
        "INSERT INTO decision_attempt (draft_id, lease_id, reviewer, verdict, "
        f"idempotency_key, outcome, attempted_at) VALUES (1, 'l', '{OTHER}', 'approve', 'k', "
        "'accepted', now())",
        "nnnn",
    ),
    "attempt-update": ("UPDATE decision_attempt SET outcome = 'accepted'", "nnnn"),
    "attempt-delete": ("DELETE FROM decision_attempt", "nnnn"),
    "event-select": ("SELECT count(*) FROM draft_event", "oooo"),
    "event-insert-as-other": (
        "INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch) "
        f"VALUES (1, 'claimed', '{OTHER}', now(), 1)",
        "nnnn",
    ),
    # A producer records its drafts' submission (rd_submit does for a desk's submit).
    "event-insert-submitted": (
        "INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch) "
        "SELECT id, 'submitted', NULL, now(), 0 FROM draft LIMIT 1",
        "nnon",
    ),
    # An expired lease names its previous holder: only a claim (inside rd_claim) records one.
    "event-insert-expired": (
        "INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch) "
        f"VALUES (1, 'expired', '{OTHER}', now(), 1)",
        "nnnn",
    ),
    "event-update": (f"UPDATE draft_event SET actor = '{OTHER}'", "nnnn"),
    "event-delete": ("DELETE FROM draft_event", "nnnn"),
    "setting-select": ("SELECT count(*) FROM setting", "oooo"),
    "setting-upsert": (
        "INSERT INTO setting (key, value, updated_at) VALUES ('matrix_probe', '1', now()) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        "nono",
    ),
    "setting-update": ("UPDATE setting SET value = value", "nono"),
    "setting-delete": ("DELETE FROM setting", "nnnn"),
    "session-select": ("SELECT count(*) FROM review_session", "oono"),
    "session-insert-as-other": (
        "INSERT INTO review_session (reviewer, started_at, last_activity_at, day_start) "
        f"VALUES ('{OTHER}', now(), now(), now())",
        "nnnn",
    ),
    "session-reset-counts": (
        "UPDATE review_session SET reviews = reviews - 5, claims = 0",
        "nnnn",
    ),
    "session-delete": ("DELETE FROM review_session", "nnnn"),
    "gold-item-select": ("SELECT count(*) FROM gold_item", "oono"),
    "gold-item-insert-as-other": (
        "INSERT INTO gold_item (draft_id, expected_label, created_by, created_at, active) "
        f"SELECT id, 'approved', '{OTHER}', now(), true FROM draft WHERE NOT is_gold LIMIT 1",
        "nnnn",
    ),
    "gold-item-update": ("UPDATE gold_item SET active = active", "nnnn"),
    "gold-item-delete": ("DELETE FROM gold_item", "nnnn"),
    # A producer may count serves for the queue's counts; row-level security shows it none.
    "gold-serve-select": ("SELECT count(*) FROM gold_serve", "oooo"),
    "gold-serve-select-reviewer-column": ("SELECT reviewer FROM gold_serve", "oono"),
    "gold-serve-insert-as-other": (
        "INSERT INTO gold_serve (gold_item_id, draft_id, session_id, reviewer, lease_id, "
        f"lease_epoch, state, served_at, visible_at) SELECT 1, 1, 1, '{OTHER}', 'l', 1, "
        "'leased', now(), now()",
        "nnnn",
    ),
    "gold-serve-update": ("UPDATE gold_serve SET state = state", "nnnn"),
    "gold-serve-delete": ("DELETE FROM gold_serve", "nnnn"),
    "gold-answer-select": ("SELECT count(*) FROM gold_answer", "oono"),
    "gold-answer-insert-as-other": (
        "INSERT INTO gold_answer (gold_item_id, reviewer, label, correct, answered_at) "
        f"VALUES (1, '{OTHER}', 'approved', true, now())",
        "nnnn",
    ),
    "gold-answer-update": ("UPDATE gold_answer SET correct = true", "nnnn"),
    "gold-answer-delete": ("DELETE FROM gold_answer", "nnnn"),
    "rollup-select": ("SELECT count(*) FROM decision_rollup", "nono"),
    "rollup-insert": (
        "INSERT INTO decision_rollup (grain, day, category, model, risk, band, reviewer, "
        "low_attention_approval) VALUES ('a', '2026-01-01', 'c', '', '', 0, '', false)",
        "nnnn",
    ),
    "rollup-update": ("UPDATE decision_rollup SET n = n + 1", "nnnn"),
    "rollup-delete": ("DELETE FROM decision_rollup", "nnnn"),
    "refusal-select": ("SELECT count(*) FROM refusal", "nono"),
    "refusal-insert": (
        f"INSERT INTO refusal (actor, action, at) VALUES ('{OTHER}', 'x', now())",
        "nnnn",
    ),
    "refusal-update": ("UPDATE refusal SET actor = 'x'", "nnnn"),
    "refusal-delete": ("DELETE FROM refusal", "nnnn"),
    "installation-select": ("SELECT count(*) FROM security_installation", "oooo"),
    "installation-insert": (
        "INSERT INTO security_installation (role_prefix, owner_role) VALUES ('x', 'x')",
        "nnnn",
    ),
    "installation-update": ("UPDATE security_installation SET owner_role = 'x'", "nnnn"),
    "installation-delete": ("DELETE FROM security_installation", "nnnn"),
    "alembic-select": ("SELECT version_num FROM alembic_version", "oooo"),
    "alembic-insert": ("INSERT INTO alembic_version (version_num) VALUES ('x')", "nnnn"),
    "alembic-update": ("UPDATE alembic_version SET version_num = '0001'", "nnnn"),
    "alembic-delete": ("DELETE FROM alembic_version", "nnnn"),
    "policy-select": ("SELECT count(*) FROM policy", "oooo"),
    "policy-insert": (
        "INSERT INTO policy (cell, category, mode, aoql, fraction, clearance, updated_at, "
        "updated_by) SELECT 'c', 'c', 'sampling', 0.02, 0.1, 10, now(), 'x' WHERE false",
        "nonn",
    ),
    "policy-update": ("UPDATE policy SET aoql = aoql", "nonn"),
    "policy-delete": ("DELETE FROM policy", "nnnn"),
    "policy-state-select": ("SELECT count(*) FROM policy_state", "oooo"),
    "policy-state-insert": (
        "INSERT INTO policy_state (policy_id, model_key, phase, clear_run, cusum, updated_at) "
        "SELECT id, 'm', 'sampling', 99, 0, now() FROM policy",
        "nonn",
    ),
    # A decision counts toward its plan inside rd_decide: a reviewer writes no plan state, no
    # routing's outcome, no policy history; a lead's policy changes and resets write them.
    "policy-state-update": ("UPDATE policy_state SET clear_run = clear_run + 1", "nonn"),
    "policy-state-delete": ("DELETE FROM policy_state", "nnnn"),
    "policy-routing-select": ("SELECT count(*) FROM policy_routing", "oooo"),
    "policy-routing-insert": (
        "INSERT INTO policy_routing (draft_id, policy_id, model_key, route, phase, clear_run, "
        "probability, routed_at) SELECT 1, id, '', 'released', 'sampling', 0, 1, now() "
        "FROM policy",
        "nnnn",
    ),
    "policy-routing-count": ("UPDATE policy_routing SET outcome = outcome", "nnnn"),
    "policy-routing-ack": ("UPDATE policy_routing SET delivered_at = now()", "nnon"),
    "policy-routing-delete": ("DELETE FROM policy_routing", "nnnn"),
    "policy-event-select": ("SELECT count(*) FROM policy_event", "oooo"),
    "policy-event-insert": (
        "INSERT INTO policy_event (policy_id, kind, at) SELECT id, 'changed', now() FROM policy",
        "nonn",
    ),
    "policy-event-update": ("UPDATE policy_event SET note = 'x'", "nnnn"),
    "policy-event-delete": ("DELETE FROM policy_event", "nnnn"),
    "alert-select": ("SELECT count(*) FROM alert", "oono"),
    "alert-insert": (
        "INSERT INTO alert (rule, subject, severity, message, figures, raised_at) "
        "SELECT 'r', 's', 'low', 'm', '{}', now() WHERE false",
        "nonn",
    ),
    "alert-ack": ("UPDATE alert SET acknowledged_by = acknowledged_by", "nonn"),
    "alert-rewrite": ("UPDATE alert SET message = 'x'", "nnnn"),
    "alert-delete": ("DELETE FROM alert", "nnnn"),
}


def test_the_matrix_covers_every_table() -> None:
    for table in TABLES:
        ops = {sql.split()[0] for sql, _ in SQL.values() if f" {table} " in f"{sql} "}
        assert ops == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table


@pytest.mark.parametrize(("sql", "role", "outcome"), _cells(SQL))
def test_plain_sql(site: Site, sql: str, role: str, outcome: str) -> None:
    before = site.snapshot() if outcome == "n" else None
    with site.engines[role].connect() as conn:
        if outcome == "n":
            with pytest.raises(DBAPIError) as refused:
                conn.execute(text(sql))
            assert getattr(refused.value.orig, "sqlstate", None) == "42501", refused.value
        else:
            result = conn.execute(text(sql))
            if result.returns_rows:
                result.all()
            elif outcome == "0":
                assert result.rowcount == 0
    if before is not None:
        assert site.snapshot() == before


# -- the functions: plain SQL calls ---------------------------------------------------------------
_LEASE = "'00000000-0000-0000-0000-000000000000'"
_NOW = "NULL::timestamptz"
# name: (call with {who} for the person acted for, outcomes per role as in SQL). A refused call
# returns its refusal (``refused``), logs it under the login and writes nothing else; an
# accepted one here changes nothing either (no such lease, session or decision).
FUNCTIONS = {
    "claim-spent-session": (
        "SELECT refused FROM rd_claim(p_reviewer => {who}, p_lease_id => {lease}, p_ttl => 60, "
        "p_exclude => ARRAY[-1]::bigint[], p_session_id => -1, p_avoid => NULL, "
        "p_now => {now})",
        "oonn",
    ),
    "renew": (
        "SELECT refused FROM rd_renew(p_draft_key => -1, p_lease_id => {lease}, "
        "p_reviewer => {who}, p_ttl => 60, p_now => {now})",
        "oonn",
    ),
    "renew-past-the-bound": (
        "SELECT refused FROM rd_renew(p_draft_key => -1, p_lease_id => {lease}, "
        "p_reviewer => {who}, p_ttl => 9999, p_now => {now})",
        "nnnn",
    ),
    "release": (
        "SELECT refused FROM rd_release(p_draft_key => -1, p_lease_id => {lease}, "
        "p_reviewer => {who}, p_session_id => -1, p_now => {now})",
        "oonn",
    ),
    "undo": (
        "SELECT refused FROM rd_undo_last(p_reviewer => {who}, p_window => 0, "
        "p_lease_id => {lease}, p_ttl => 60, p_now => {now})",
        "oonn",
    ),
    "flag": (
        "SELECT refused FROM rd_flag_low_attention(p_session_id => -1, p_last => 1, "
        "p_now => {now})",
        "oonn",
    ),
    "end-session": (
        "SELECT refused FROM rd_end_session(p_session_id => -1, p_at => now(), "
        "p_end_reason => 'done', p_now => {now})",
        "oonn",
    ),
    "release-gold": (
        "SELECT refused FROM rd_release_gold(p_lease_id => {lease}, p_reviewer => {who}, "
        "p_now => {now})",
        "oonn",
    ),
    "mark-gold-missing": (
        "SELECT refused FROM rd_mark_gold(p_external_id => 'no-such-draft', "
        "p_expected_label => 'approved', p_note => NULL, p_by => {who}, p_now => {now})",
        "nonn",
    ),
    "retire-gold-missing": (
        "SELECT refused FROM rd_set_gold_active(p_external_id => 'no-such-draft', "
        "p_active => false, p_now => {now})",
        "nonn",
    ),
    "queue-counts": ("SELECT refused FROM rd_queue_counts(p_now => {now})", "oonn"),
    "ack-nothing": (
        "SELECT refused FROM rd_ack(p_ids => ARRAY[-1]::bigint[], "
        "p_unresolved => ARRAY[-1]::bigint[], p_now => {now})",
        "nnon",
    ),
    "submit-nothing": (
        "SELECT refused FROM rd_submit(p_rows => '[]'::json, p_now => {now})",
        "nnon",
    ),
    "resolve": (
        "SELECT refused FROM rd_resolve(p_id => -1, p_resolution => 'dismiss', "
        "p_as_is => false, p_text => NULL, p_note => NULL, p_lead => {who}, p_now => {now})",
        "nonn",
    ),
}


def _function_cells() -> list[Any]:
    return [
        pytest.param(name, role, outcome, as_other, id=f"{name}-{role}{'-as-other' * as_other}")
        for name, (_, outcomes) in FUNCTIONS.items()
        for role, outcome in zip(ROLES, outcomes, strict=True)
        for as_other in (False, True)
    ]


@pytest.mark.parametrize(("name", "role", "outcome", "as_other"), _function_cells())
def test_function_calls(site: Site, name: str, role: str, outcome: str, as_other: bool) -> None:
    """Each function checks the login: its group, and the person it acts for (OTHER is never
    the login). A refusal is returned, logged under the login, and nothing else is written."""
    sql = FUNCTIONS[name][0].format(
        who=f"'{OTHER}'" if as_other else "session_user", lease=_LEASE, now=_NOW
    )
    before, refusals = site.snapshot(), site.refusals(role)
    with site.engines[role].connect() as conn:
        refused = conn.execute(text(sql)).scalar()
    acts_for_someone = "{who}" in FUNCTIONS[name][0]
    expect_refused = outcome == "n" or (as_other and acts_for_someone)
    if expect_refused:
        assert refused is not None and refused.split(":")[0] in ("role", "actor", "bound")
        assert f"Connected as '{site.login(role)}'" in refused or "bound" in refused
        assert site.refusals(role) == refusals + 1
    else:
        assert refused is None
        assert site.refusals(role) == refusals
    assert site.snapshot() == before


def test_a_refused_call_is_logged_under_the_login(site: Site) -> None:
    """Whatever name the call passes, the refusal log names the login."""
    with site.engines["producer"].connect() as conn:
        refused = conn.execute(
            text(FUNCTIONS["renew"][0].format(who=f"'{OTHER}'", lease=_LEASE, now=_NOW))
        ).scalar_one()
    assert refused.startswith("role:") and "needs a reviewer" in refused
    with site.owner.connect() as conn:
        actor, action = conn.execute(
            text("SELECT actor, action FROM refusal ORDER BY id DESC LIMIT 1")
        ).one()
    assert (actor, action) == (site.login("producer"), "Renewing a lease")


def test_a_call_for_no_one_is_refused(site: Site) -> None:
    """A person's name given as NULL is nobody's, so not the login's."""
    refusals = site.refusals("reviewer")
    with site.engines["reviewer"].connect() as conn:
        refused = conn.execute(
            text(FUNCTIONS["release"][0].format(who="NULL", lease=_LEASE, now=_NOW))
        ).scalar_one()
    assert refused.startswith("actor:")
    assert site.refusals("reviewer") == refusals + 1


def test_a_producer_acknowledges_only_what_it_submitted(site: Site) -> None:
    draft_id, cursor = site.decided()
    with site.owner.connect() as conn:
        conn.execute(
            text("UPDATE draft SET submitted_by = :o WHERE external_id = :d"),
            {"o": OTHER, "d": draft_id},
        )
    before = site.snapshot()
    ack = text(
        "SELECT count(*) FROM rd_ack(p_ids => ARRAY[:c]::bigint[], "
        "p_unresolved => ARRAY[-1]::bigint[], p_now => NULL)"
    )
    with site.engines["producer"].connect() as conn:
        assert conn.execute(ack, {"c": cursor}).scalar_one() == 0
    assert site.snapshot() == before


def test_a_producers_submit_is_routed_and_released_by_the_database(site: Site) -> None:
    """A producer's login writes no routing itself; its submit through the API is routed by
    rd_submit: a sampling cell's drafts go out released, with their routings, as results."""
    category = f"released-{uuid.uuid4().hex[:6]}"
    site.root.submit([{"id": f"seed-{category}", "draft": "Seed", "category": category}])
    site.desks["lead"].policies.set(
        category, aoql=0.2, fraction=0.1, note="Matrix.", by=site.login("lead")
    )
    site.root.submit([{"id": f"start-{category}", "draft": "Start", "category": category}])
    with site.owner.connect() as conn:
        conn.execute(
            text(
                "UPDATE policy_state SET phase = 'sampling' WHERE policy_id = "
                "(SELECT id FROM policy WHERE category = :c)"
            ),
            {"c": category},
        )
    producer = site.desks["producer"]
    drafts = [
        {"id": f"{category}-{i}", "draft": f"Draft {i}", "category": category} for i in range(40)
    ]
    report = producer.submit(drafts)
    assert len(report.routings) == 40
    assert {r.probability for r in report.routings} == {0.1}
    # Released with probability 0.9 each: fewer than 20 of 40 has a chance below 1e-9.
    assert report.released >= 20
    released = {r.id for r in report.routings if r.route.value == "released"}
    with site.owner.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT d.external_id, d.state, d.submitted_by, r.route, r.cursor
                FROM draft d JOIN policy_routing r ON r.draft_id = d.id
                WHERE d.category = :c AND d.external_id <> :s"""
            ),
            {"c": category, "s": f"start-{category}"},
        ).all()
    assert len(rows) == 40
    for external_id, state, submitted_by, route, cursor in rows:
        assert submitted_by == site.login("producer")
        assert (state == "released") == (route == "released") == (external_id in released)
        assert (cursor is not None) == (external_id in released)
    out = [r for r in producer.results(include_delivered=True) if r.id in released]
    assert len(out) == len(released)
    assert producer.ack(out).acknowledged == len(released)


def _functions(conn: Any) -> dict[str, tuple[bool, list[str] | None, str]]:
    rows = conn.execute(
        text(
            "SELECT proname, prosecdef, proconfig, prosrc FROM pg_proc "
            "WHERE pronamespace = current_schema()::regnamespace AND proname LIKE 'rd\\_%'"
        )
    )
    return {str(r[0]): (bool(r[1]), r[2], str(r[3])) for r in rows}


def test_each_function_is_security_definer_with_a_pinned_search_path(site: Site) -> None:
    with site.owner.connect() as conn:
        installed = _functions(conn)
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        names = [fn.name for fn in definer_sql.definers(conn)]
    assert len(names) >= 12
    for name in [*names, "rd_refuse", "rd_refusal", "rd_reviewed_by_me"]:
        definer, config, _ = installed[name]
        assert definer, f"{name} is not SECURITY DEFINER"
        assert config == [f"search_path=pg_catalog, {schema}, pg_temp"], name


def test_installed_functions_are_what_the_code_renders(site: Site) -> None:
    """A changed statement or rule without a new migration fails here."""
    with site.owner.connect() as conn:
        installed = _functions(conn)
        inst = security_sql.installation(conn)
        for fn in definer_sql.definers(conn):
            _, body = definer_sql.definition(inst, fn)
            assert installed[fn.name][2] == body, f"{fn.name} differs from what the code renders"


def test_the_functions_hold_the_queue_statements(site: Site) -> None:
    """The claim and decision functions run the queue's own statements."""
    with site.owner.connect() as conn:
        installed = _functions(conn)
    assert "FOR UPDATE SKIP LOCKED" in installed["rd_claim"][2]
    assert "INSERT INTO decision_attempt" in installed["rd_decide"][2]
    # The decision's count toward its review policy's plan, in the same function (policy_sql).
    for statement in ("UPDATE policy_state", "INSERT INTO policy_event", "UPDATE policy_routing"):
        assert statement in installed["rd_decide"][2]
    assert definer_sql.GOLD_PICK_WINDOW == GOLD_PICK_WINDOW


# -- the API --------------------------------------------------------------------------------------
def _claim(site: Site, desk: ReviewDesk, login: str) -> None:
    lease = desk.claim(login)
    assert lease is not None and lease.reviewer == login
    desk.release(lease)


def _claim_as_other(site: Site, desk: ReviewDesk, login: str) -> None:
    desk.claim(OTHER)


def _decide_and_undo(site: Site, desk: ReviewDesk, login: str) -> None:
    lease = desk.claim(login)
    while lease is not None and lease.gold_item_id is not None:  # a draft, not a gold serve
        desk.release(lease)
        lease = desk.claim(login)
    assert lease is not None
    desk.decide(lease, "approve")
    again = desk.undo(login)
    desk.release(again)


def _undo_others(site: Site, desk: ReviewDesk, login: str) -> None:
    desk.undo(OTHER)


def _submit(site: Site, desk: ReviewDesk, login: str) -> None:
    desk.submit([{"id": f"api-{uuid.uuid4().hex[:8]}", "draft": "Hello"}])


def _ack(site: Site, desk: ReviewDesk, login: str) -> None:
    _, cursor = site.decided()
    assert desk.ack([cursor]).acknowledged == 1


def _set_reasons(site: Site, desk: ReviewDesk, login: str) -> None:
    desk.set_reject_reasons(desk.reject_reasons())


def _set_limits(site: Site, desk: ReviewDesk, login: str) -> None:
    desk.set_session_limits(desk.session_limits())


def _mark_gold(site: Site, desk: ReviewDesk, login: str) -> None:
    draft_id, _ = site.decided()
    desk.mark_gold(draft_id, "approved", by=login)


def _resolve(site: Site, desk: ReviewDesk, login: str) -> None:
    _, cursor = site.decided("escalate")
    EscalationInbox.for_desk(desk).resolve(cursor, "dismiss", note="Fine as is.", lead=login)


def _statistics(site: Site, desk: ReviewDesk, login: str) -> None:
    StatsService.for_desk(desk).known()


def _set_policy(site: Site, desk: ReviewDesk, login: str) -> None:
    category = site.root.state("d0").draft.category
    desk.policies.set(category, aoql=0.02, fraction=0.1, note="Matrix.", by=login)


def _alerts(site: Site, desk: ReviewDesk, login: str) -> None:
    AlertService(desk).evaluate()


API: dict[str, tuple[Callable[[Site, ReviewDesk, str], None], str, str | None]] = {
    # name: (action, outcomes per role as in SQL, the role a refusal names)
    "claim-release": (_claim, "oonn", "reviewer"),
    "claim-as-another": (_claim_as_other, "nnnn", None),
    "decide-undo": (_decide_and_undo, "oonn", "reviewer"),
    "undo-another's": (_undo_others, "nnnn", None),
    "submit": (_submit, "nnon", "producer"),
    "ack": (_ack, "nnon", "producer"),
    "set-reject-reasons": (_set_reasons, "nono", "lead"),
    "set-limits": (_set_limits, "nono", "lead"),
    "mark-gold": (_mark_gold, "nonn", "lead"),
    "resolve-escalation": (_resolve, "nonn", None),
    "statistics": (_statistics, "nono", None),
    "set-policy": (_set_policy, "nonn", None),
    "evaluate-alerts": (_alerts, "nonn", None),
}


@pytest.mark.parametrize(
    ("name", "role", "outcome"),
    [
        pytest.param(name, role, outcome, id=f"{name}-{role}")
        for name, (_, outcomes, _needs) in API.items()
        for role, outcome in zip(ROLES, outcomes, strict=True)
    ],
)
def test_api(site: Site, name: str, role: str, outcome: str) -> None:
    action, _, needs = API[name]
    desk, login = site.desks[role], site.login(role)
    if outcome == "o":
        action(site, desk, login)
        return
    refusals = site.refusals(role)
    with pytest.raises(NotPermitted) as refused:
        action(site, desk, login)
    if needs is not None and "another" not in name:
        assert refused.value.needs == needs
        assert f"needs {'a' if needs != 'admin' else 'an'} {needs}" in str(refused.value)
    if name.endswith(("another", "another's")):
        assert f"Connected as {login!r}" in str(refused.value)
    elif needs is not None:
        assert site.refusals(role) == refusals + 1


def test_a_reviewer_reads_only_what_they_may(site: Site) -> None:
    """Held and decided drafts and their threads; not a draft another person holds, not the
    drafts waiting in the queue, not gold drafts nor gold items they have not answered."""
    site.root.submit([{"id": "held-1", "draft": "Held by another", "priority": 1000}])
    held = site.claim(f"{OTHER}-holder")
    assert held.draft.id == "held-1"
    site.root.submit([{"id": "waiting-1", "draft": "Waiting", "priority": -1000}])
    desk, login = site.desks["reviewer"], site.login("reviewer")
    lease = desk.claim(login)
    while lease is not None and lease.gold_item_id is not None:  # a draft of their own
        desk.release(lease)
        lease = desk.claim(login)
    assert lease is not None
    desk.decide(lease, "approve")
    with site.owner.connect() as conn:
        gold = set(conn.execute(text("SELECT external_id FROM draft WHERE is_gold")).scalars())
        own = set(
            conn.execute(
                text(
                    "SELECT d.external_id FROM draft d JOIN decision dec ON dec.draft_id = d.id "
                    "WHERE dec.reviewer = :r AND NOT d.is_gold"
                ),
                {"r": site.login("reviewer")},
            ).scalars()
        )
    with site.engines["reviewer"].connect() as conn:
        seen = set(conn.execute(text("SELECT external_id FROM draft")).scalars())
        gold_items = conn.execute(text("SELECT count(*) FROM gold_item")).scalar_one()
        answered = conn.execute(
            text("SELECT count(DISTINCT gold_item_id) FROM gold_answer")
        ).scalar_one()
    assert gold and not (gold & seen), "gold drafts"
    assert "waiting-1" not in seen, "a waiting draft"
    assert own and own <= seen, "the reviewer's own decided drafts"
    assert gold_items == answered, "gold items not answered"
    with site.engines["reviewer"].connect() as conn:
        readable = set(conn.execute(text("SELECT id FROM draft")).scalars())
        others = set(
            conn.execute(
                text("SELECT draft_id FROM decision WHERE reviewer <> session_user")
            ).scalars()
        )
    with site.owner.connect() as conn:
        everyone = set(conn.execute(text("SELECT draft_id FROM decision")).scalars())
    assert held.draft.id not in seen
    assert others <= readable < everyone | readable, "others' decisions on hidden drafts"
    assert everyone - readable, "the installation has decisions the reviewer cannot read"
    with site.engines["lead"].connect() as conn:
        assert held.draft.id in set(conn.execute(text("SELECT external_id FROM draft")).scalars())
    site.root.release(held)


def test_names_are_one_person_whatever_the_spelling(site: Site) -> None:
    desk, login = site.desks["reviewer"], site.login("reviewer")
    lease = desk.claim(f"  {login.upper()} ")
    assert lease is not None and lease.reviewer == login
    desk.release(lease)


# -- the CLI --------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_team_commands_are_an_admins(
    site: Site, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    newcomer = f"new_{uuid.uuid4().hex[:8]}"
    db = ["--db", site.urls[role]]
    before = site.snapshot()
    try:
        code = main(
            ["team", "add", newcomer.upper(), "--role", "reviewer", "--generate-password", *db]
        )
        out, err = capsys.readouterr()
        if role != "admin":
            assert code == 1 and "needs an admin" in err and "Traceback" not in err
            assert main(["team", "list", *db]) == 1
            assert site.snapshot() == before
            return
        assert code == 0, err
        password = out.split("Initial password (shown once): ")[1].split()[0]
        assert f"Added {newcomer} as reviewer" in out
        assert main(["team", "list", *db]) == 0
        assert f"{newcomer}\treviewer" in capsys.readouterr().out
        assert main(["team", "set-role", newcomer, "lead", *db]) == 0
        newcomer_url = login_url(site.url, newcomer)
        with ReviewDesk.open(newcomer_url) as desk:
            assert desk.access.identity is not None and desk.access.identity.role == "lead"
        assert main(["team", "remove", newcomer, *db]) == 0
        capsys.readouterr()
        assert main(["team", "list", *db]) == 0
        assert newcomer not in capsys.readouterr().out
        assert password not in (out + err)[: out.find("Initial password")]
    finally:
        with site.owner.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{newcomer}"'))


@pytest.mark.one_engine("the embedded database's answer to team commands")
def test_team_on_sqlite_is_one_persons(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--db", sqlite_url]) == 0
    assert main(["team", "list", "--db", sqlite_url]) == 1
    assert "one person's" in capsys.readouterr().err


class _AlwaysGold(random.Random):
    """Every claim serves a known-answer draft while there is one."""

    def random(self) -> float:
        return 0.0


def test_a_reviewer_login_is_served_gold_and_answers_it(site: Site) -> None:
    login = site.login("reviewer")
    count = text("SELECT count(*) FROM gold_answer WHERE reviewer = :r")
    with site.owner.connect() as conn:
        before = conn.execute(count, {"r": login}).scalar_one()
    # A session serves each gold item once: two new ones, whatever earlier cells were served.
    for _ in range(2):
        gold_id, _ = site.decided()
        site.root.mark_gold(gold_id, "approved", by=OTHER)
    with ReviewDesk.open(site.urls["reviewer"], rng=_AlwaysGold()) as desk:
        lease = desk.claim(login)
        assert lease is not None and lease.gold_item_id is not None
        desk.release(lease)
        lease = desk.claim(login)
        assert lease is not None and lease.gold_item_id is not None
        desk.decide(lease, "approve")
    with site.owner.connect() as conn:
        assert conn.execute(count, {"r": login}).scalar_one() == before + 1


def test_a_reviewer_sees_the_decided_history_of_the_thread_they_hold(site: Site) -> None:
    thread = f"thread-{uuid.uuid4().hex[:6]}"
    site.root.submit(
        [
            {"id": f"{thread}-1", "draft": "First", "thread": thread, "priority": 3000},
            {"id": f"{thread}-2", "draft": "Second", "thread": thread, "priority": 2999},
        ]
    )
    first = site.claim(f"{OTHER}-thread")
    assert first.draft.id == f"{thread}-1"
    site.root.decide(first, "approve")
    desk, login = site.desks["reviewer"], site.login("reviewer")
    lease = desk.claim(login)
    while lease is not None and lease.gold_item_id is not None:
        desk.release(lease)
        lease = desk.claim(login)
    assert lease is not None and lease.draft.id == f"{thread}-2"
    history = desk.history(lease)
    assert [(e.draft.id, e.decision is not None) for e in history.thread] == [(f"{thread}-1", True)]
    desk.release(lease)
    # Released, the thread's decided drafts are hidden again.
    with site.engines["reviewer"].connect() as conn:
        seen = set(conn.execute(text("SELECT external_id FROM draft")).scalars())
    assert f"{thread}-1" not in seen


CLI: dict[str, tuple[list[str], str]] = {
    # name: (arguments, outcomes per role as in SQL; o: exit 0, n: exit 1 naming the refusal)
    "status": (["status"], "oooo"),
    "limits-set": (["limits", "set", "undo_window_seconds=300"], "nono"),
    "reasons-set": (["reasons", "set", *DEFAULT_REJECT_REASONS], "nono"),
    "stats": (["stats"], "nono"),
    "reviewers": (["reviewers"], "nono"),
    # Reading the inbox is reading decisions: each sees the escalations they may read.
    "escalations": (["escalations", "list"], "ooon"),
    "results-ack": (["results", "--ack", "--unsettled"], "nnon"),
    "session-status-as-other": (["session", "status", "--reviewer", OTHER], "nnnn"),
}


@pytest.mark.parametrize(
    ("name", "role", "outcome"),
    [
        pytest.param(name, role, outcome, id=f"{name}-{role}")
        for name, (_, outcomes) in CLI.items()
        for role, outcome in zip(ROLES, outcomes, strict=True)
    ],
)
def test_cli(
    site: Site, name: str, role: str, outcome: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments, _ = CLI[name]
    if name == "results-ack":  # something to acknowledge, the reviewer's own among it
        site.decided()
        desk, login = site.desks["reviewer"], site.login("reviewer")
        lease = desk.claim(login)
        assert lease is not None
        desk.decide(lease, "approve")
    before = site.snapshot()
    code = main([*arguments, "--db", site.urls[role]])
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    if outcome == "o":
        assert code == 0, err
        return
    assert code == 1 and ("permission denied" in err or "needs" in err or "Connected as" in err)
    assert site.snapshot() == before


def test_a_review_policy_runs_under_each_persons_login(site: Site) -> None:
    """A lead sets a policy, a producer's drafts are routed by it, a reviewer's decisions are
    counted toward it, the producer collects and acknowledges what it released: each under
    their own login, with the grants of migrations 0012 and 0017."""
    category = f"policy-{uuid.uuid4().hex[:6]}"
    site.root.submit([{"id": f"seed-{category}", "draft": "Seed", "category": category}])
    lead = site.desks["lead"]
    lead.policies.set(category, aoql=0.2, fraction=0.5, note="Matrix.", by=site.login("lead"))
    drafts = [
        {"id": f"{category}-{i}", "draft": f"Draft {i}", "category": category, "priority": 200}
        for i in range(12)
    ]
    report = site.desks["producer"].submit(drafts)
    assert len(report.routings) == 12
    # A reviewer's decisions, and a lead's, count in rd_decide: neither writes the plan itself.
    for role, n in (("reviewer", 3), ("lead", 1)):
        desk, login = site.desks[role], site.login(role)
        counted = 0
        for _ in range(12):  # the variety rule may serve another category's draft in between
            lease = desk.claim(login)
            assert lease is not None
            desk.decide(lease, "approve")
            counted += lease.draft.category == category
            if counted == n:
                break
        assert counted == n
    (view,) = lead.policies.show(category)
    assert sum(cell.reviewed for cell in view.cells) >= 4
    with site.owner.connect() as conn:
        outcomes = conn.execute(
            text(
                "SELECT r.outcome FROM policy_routing r JOIN policy p ON p.id = r.policy_id "
                "WHERE p.category = :c AND r.outcome IS NOT NULL"
            ),
            {"c": category},
        )
        assert outcomes.scalars().all() == ["clear"] * 4
    assert [e.actor for e in view.history if e.kind == "created"] == [site.login("lead")]
    released = [
        r
        for r in site.desks["producer"].results(include_delivered=True)
        if r.routing is not None and r.id.startswith(category)
    ]
    assert all(r.label.value == "released" for r in released)
    if released:
        assert site.desks["producer"].ack(released).acknowledged == len(released)


def test_a_reviewer_and_a_lead_count_the_whole_queue_without_reading_it(site: Site) -> None:
    """Row-level security shows a reviewer no waiting draft; their status bar still says how
    many wait (rd_queue_counts: counts only)."""
    whole = site.root.counts()
    assert whole.pending > 0
    with site.engines["reviewer"].connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM draft WHERE state = 'pending'")).scalar() == 0
        )
    for role in ("reviewer", "lead"):
        assert site.desks[role].counts() == whole


def test_a_reviewer_login_cannot_start_a_session_with_a_day_count_of_its_own(site: Site) -> None:
    """A new session's count of the day's reviews (which bounds its claims under the daily cap)
    is the server's, and its day start must lie within the longest review day before now: by
    plain SQL a reviewer cannot start a session claiming no reviews today."""
    with team(site.url, {"rev": "reviewer"}) as urls:
        login = person(urls, "rev")
        with site.owner.connect() as conn:  # three reviews two hours ago, in an ended session
            conn.execute(
                text(
                    "INSERT INTO review_session (reviewer, started_at, last_activity_at, "
                    "ended_at, end_reason, day_start, day_reviews_before, reviews, claims) "
                    "VALUES (:r, now() - interval '2 hours', now() - interval '1 hour', "
                    "now() - interval '1 hour', 'done', now() - interval '3 hours', 0, 3, 3)"
                ),
                {"r": login},
            )
        start = (
            "SELECT refused, started FROM rd_start_session(p_reviewer => session_user, "
            "p_day_start => {day_start}, p_now => NULL)"
        )
        engine = create_engine(urls["rev"], isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                # The count is no longer the caller's to give.
                with pytest.raises(DBAPIError) as no_such_function:
                    conn.execute(
                        text(
                            "SELECT * FROM rd_start_session(p_reviewer => session_user, "
                            "p_day_start => now() - interval '3 hours', "
                            "p_day_reviews_before => 0, p_now => NULL)"
                        )
                    )
                assert getattr(no_such_function.value.orig, "sqlstate", None) == "42883"
            with engine.connect() as conn:
                # A day start after now, or before the longest review day, is refused.
                for day_start in ("now() + interval '1 hour'", "now() - interval '26 hours'"):
                    refused, started = conn.execute(text(start.format(day_start=day_start))).one()
                    assert refused.startswith("bound:") and "within the 25 hours" in refused
                    assert started is None
                refused, started = conn.execute(
                    text(start.format(day_start="now() - interval '3 hours'"))
                ).one()
                assert (refused, started) == (None, True)
            with site.owner.connect() as conn:
                opened = conn.execute(
                    text(
                        "SELECT count(*), max(day_reviews_before) FROM review_session "
                        "WHERE reviewer = :r AND ended_at IS NULL"
                    ),
                    {"r": login},
                ).one()
                assert tuple(opened) == (1, 3)  # the server's count, not the caller's
                conn.execute(text("DELETE FROM review_session WHERE reviewer = :r"), {"r": login})
        finally:
            engine.dispose()


@pytest.mark.one_engine("PostgreSQL's functions; SQLite has none")
def test_rd_submit_exists_from_migration_0018_on(postgres_url: str) -> None:
    """Producers routed in their own process before 0018: no rd_submit below it, whichever way
    the revision was reached (0014 to 0017 install the functions from the code)."""
    found = text(
        "SELECT count(*) FROM pg_proc WHERE proname = 'rd_submit' "
        "AND pronamespace = current_schema()::regnamespace"
    )
    desk = ReviewDesk.open(postgres_url, upgrade=True)
    try:
        engine = desk.engines.write
        with engine.connect() as conn:
            assert conn.execute(found).scalar_one() == 1
        migrate.downgrade(engine, "0016")
        with engine.connect() as conn:
            assert conn.execute(found).scalar_one() == 0
        migrate.upgrade(engine, "0017")
        with engine.connect() as conn:
            assert conn.execute(found).scalar_one() == 0
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(found).scalar_one() == 1
    finally:
        desk.close()


@pytest.mark.one_engine("PostgreSQL's functions; SQLite has none")
def test_migration_0016_swaps_the_session_start_and_back(postgres_url: str) -> None:
    """Down to 0015 the function takes the caller's count again; up to 0016 that one is gone."""
    signatures = text(
        "SELECT oid::regprocedure::text FROM pg_proc WHERE proname = 'rd_start_session' "
        "AND pronamespace = current_schema()::regnamespace"
    )
    desk = ReviewDesk.open(postgres_url, upgrade=True)
    try:
        engine = desk.engines.write
        with engine.connect() as conn:
            assert list(conn.execute(signatures).scalars()) == [
                "rd_start_session(text,timestamp with time zone,timestamp with time zone)"
            ]
        migrate.downgrade(engine, "0015")
        with engine.connect() as conn:
            assert list(conn.execute(signatures).scalars()) == [
                "rd_start_session(text,timestamp with time zone,integer,timestamp with time zone)"
            ]
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert list(conn.execute(signatures).scalars()) == [
                "rd_start_session(text,timestamp with time zone,timestamp with time zone)"
            ]
    finally:
        desk.close()


# -- the session limits hold on the server (migration 0019) ----------------------------------------
_START = (
    "SELECT refused, started, blocked_until FROM rd_start_session(p_reviewer => session_user, "
    "p_day_start => now() - interval '3 hours', p_now => NULL)"
)
_CLAIM = (
    "SELECT refused, id, session_open FROM rd_claim(p_reviewer => session_user, "
    "p_lease_id => gen_random_uuid()::text, p_ttl => 60, p_exclude => ARRAY[-1]::bigint[], "
    "p_session_id => :session_id, p_avoid => NULL, p_now => NULL)"
)


@contextmanager
def _team_limits(site: Site, **changes: Any) -> Iterator[None]:
    """The team's limits changed for the block (by the installation), then as they were."""
    before = site.root.session_limits()
    site.root.set_session_limits(SessionLimits(timezone="UTC", gold_rate=0.0, **changes))
    try:
        yield
    finally:
        site.root.set_session_limits(before)


@contextmanager
def _reviewer(site: Site) -> Iterator[tuple[str, Engine, ReviewDesk]]:
    """A reviewer login of its own (no history), its engine and its desk."""
    with team(site.url, {"rev": "reviewer"}) as urls:
        login = person(urls, "rev")
        engine = create_engine(urls["rev"], isolation_level="AUTOCOMMIT")
        desk = ReviewDesk.open(urls["rev"])
        try:
            yield login, engine, desk
        finally:
            desk.close()
            engine.dispose()
            with site.owner.connect() as conn:
                for table in ("draft_event", "review_session"):
                    column = "actor" if table == "draft_event" else "reviewer"
                    conn.execute(text(f"DELETE FROM {table} WHERE {column} = :r"), {"r": login})
                conn.execute(
                    text(
                        "UPDATE draft SET lease_id = NULL, lease_owner = NULL, visible_at = now() "
                        "WHERE lease_owner = :r"
                    ),
                    {"r": login},
                )


def _history(site: Site, login: str, *, ended_ago: str, reviews: int) -> None:
    """An ended session of ``login`` today, ended ``ended_ago`` (an interval) before now."""
    with site.owner.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO review_session (reviewer, started_at, last_activity_at, ended_at, "
                "end_reason, day_start, day_reviews_before, reviews, claims) "
                "VALUES (:r, now() - CAST(:ago AS interval) - interval '20 minutes', "
                "now() - CAST(:ago AS interval), now() - CAST(:ago AS interval), 'review_limit', "
                "now() - interval '3 hours', 0, :n, :n)"
            ),
            {"r": login, "ago": ended_ago, "n": reviews},
        )


def _claims_by_plain_sql(engine: Engine, tries: int) -> tuple[int, int]:
    """Start a session and claim ``tries`` times by plain SQL: (drafts claimed, the session's
    claims as the server counted them)."""
    with engine.connect() as conn:
        refused, started, _ = conn.execute(text(_START)).one()
        assert (refused, started) == (None, True)
        session_id = conn.execute(
            text("SELECT id FROM review_session WHERE reviewer = session_user AND ended_at IS NULL")
        ).scalar_one()
        claimed = 0
        for _ in range(tries):
            refused, draft_key, session_open = conn.execute(
                text(_CLAIM), {"session_id": session_id}
            ).one()
            assert refused is None
            if draft_key is not None:
                claimed += 1
            else:
                assert not session_open  # refused by the fence, not for want of drafts
        counted = conn.execute(
            text("SELECT claims FROM review_session WHERE id = :s"), {"s": session_id}
        ).scalar_one()
        return claimed, counted


def test_a_reviewer_login_cannot_claim_past_the_session_cap_by_plain_sql(site: Site) -> None:
    """The claim's fence is the team's stored limits: a login calling rd_claim itself gets no
    more drafts than the session allows, and cannot pass bounds of its own any more."""
    site.root.submit([{"id": f"cap-{uuid.uuid4().hex[:8]}", "draft": "x"} for _ in range(6)])
    with _team_limits(site, reviews_per_session=3), _reviewer(site) as (_, engine, _desk):
        with engine.connect() as conn, pytest.raises(DBAPIError) as no_such_function:
            conn.execute(
                text(
                    "SELECT * FROM rd_claim(p_reviewer => session_user, p_lease_id => 'x', "
                    "p_ttl => 60, p_exclude => ARRAY[-1]::bigint[], p_session_id => -1, "
                    "p_max_claims => 1000000, p_max_seconds => 1e18, p_idle_seconds => 1e9, "
                    "p_avoid => NULL, p_now => NULL)"
                )
            )
        assert getattr(no_such_function.value.orig, "sqlstate", None) == "42883"
        assert _claims_by_plain_sql(engine, 5) == (3, 3)


def test_a_reviewer_login_cannot_claim_past_the_days_cap_by_plain_sql(site: Site) -> None:
    """Reviews earlier in the day count against the daily cap on the server: two reviews done
    in an ended session and a cap of four leave two claims for the next session."""
    site.root.submit([{"id": f"day-{uuid.uuid4().hex[:8]}", "draft": "x"} for _ in range(5)])
    limits = {"reviews_per_session": None, "reviews_per_day": 4, "break_minutes": 10.0}
    with _team_limits(site, **limits), _reviewer(site) as (login, engine, _desk):
        _history(site, login, ended_ago="1 hour", reviews=2)
        assert _claims_by_plain_sql(engine, 4) == (2, 2)


def test_a_reviewer_login_cannot_claim_under_another_persons_session(site: Site) -> None:
    """The fence is the claimer's own session: a login on a break that names another person's
    open session gets no draft, and that session's count is untouched (the functions run as the
    owner, so row-level security alone would not stop it)."""
    site.root.submit([{"id": f"foreign-{uuid.uuid4().hex[:8]}", "draft": "x"} for _ in range(3)])
    limits = {"reviews_per_session": 5, "break_minutes": 10.0}
    with _team_limits(site, **limits), _reviewer(site) as (login, engine, _desk):
        _history(site, login, ended_ago="1 minute", reviews=5)
        other = f"{OTHER}-{uuid.uuid4().hex[:6]}"
        with site.owner.connect() as conn:
            foreign = conn.execute(
                text(
                    "INSERT INTO review_session (reviewer, started_at, last_activity_at, "
                    "day_start, day_reviews_before) VALUES (:r, now(), now(), "
                    "now() - interval '3 hours', 0) RETURNING id"
                ),
                {"r": other},
            ).scalar_one()
        try:
            with engine.connect() as conn:
                assert conn.execute(text(_START)).one()[0].startswith("on_break:")
                for _ in range(3):
                    refused, draft_key, session_open = conn.execute(
                        text(_CLAIM), {"session_id": foreign}
                    ).one()
                    assert (refused, draft_key, session_open) == (None, None, False)
            with site.owner.connect() as conn:
                claims = conn.execute(
                    text("SELECT claims FROM review_session WHERE id = :s"), {"s": foreign}
                ).scalar_one()
            assert claims == 0
        finally:
            with site.owner.connect() as conn:
                conn.execute(text("DELETE FROM review_session WHERE reviewer = :r"), {"r": other})


def test_claims_count_toward_the_day_even_without_reviews(site: Site) -> None:
    """A session's claims count toward the day's reviews when its reviews are fewer (decisions
    made by plain SQL naming no session add no review, but each claim went through the fence):
    two claims and no review in an ended session leave two of a cap of four."""
    site.root.submit([{"id": f"unreviewed-{uuid.uuid4().hex[:8]}", "draft": "x"} for _ in range(5)])
    limits = {"reviews_per_session": None, "reviews_per_day": 4, "break_minutes": 10.0}
    with _team_limits(site, **limits), _reviewer(site) as (login, engine, _desk):
        _history(site, login, ended_ago="1 hour", reviews=2)
        with site.owner.connect() as conn:
            conn.execute(
                text("UPDATE review_session SET reviews = 0 WHERE reviewer = :r"), {"r": login}
            )
        assert _claims_by_plain_sql(engine, 4) == (2, 2)


@pytest.mark.parametrize(
    ("blocker", "limits", "ended_ago", "reviews", "message"),
    [
        ("on_break", {"break_minutes": 30.0}, "5 minutes", 1, "is on a break until"),
        ("daily_sessions", {"sessions_per_day": 1}, "2 hours", 1, "today's 1 sessions"),
        ("daily_reviews", {"reviews_per_day": 5}, "2 hours", 5, "today's 5 reviews"),
    ],
)
def test_a_reviewer_login_cannot_start_a_session_the_limits_forbid(
    site: Site, blocker: str, limits: dict[str, Any], ended_ago: str, reviews: int, message: str
) -> None:
    """rd_start_session refuses a session during a break or past a daily cap: the refusal names
    the reason and until when, is logged under the login, and nothing else is written."""
    with _team_limits(site, **limits), _reviewer(site) as (login, engine, _desk):
        _history(site, login, ended_ago=ended_ago, reviews=reviews)
        before, refusals = site.snapshot(), site.refusals("reviewer")
        with engine.connect() as conn:
            refused, started, until = conn.execute(text(_START)).one()
            now = conn.execute(text("SELECT now()")).scalar_one()
        assert refused.startswith(f"{blocker}:") and message in refused, refused
        assert started is None and until > now
        if blocker == "on_break":
            with site.owner.connect() as conn:
                ended = conn.execute(
                    text("SELECT max(ended_at) FROM review_session WHERE reviewer = :r"),
                    {"r": login},
                ).scalar_one()
            assert until == ended + timedelta(minutes=30)
        assert site.snapshot() == before
        with site.owner.connect() as conn:
            actor, action, detail = conn.execute(
                text("SELECT actor, action, detail FROM refusal ORDER BY id DESC LIMIT 1")
            ).one()
        assert site.refusals("reviewer") == refusals  # another login than the cells' reviewer
        assert (actor, action) == (login, "Starting a review session") and message in detail


def test_a_reviewer_login_cannot_end_a_session_in_the_past_to_skip_its_break(site: Site) -> None:
    """A session ends no earlier than its last activity, so the break runs from then however
    the login ends it."""
    site.root.submit([{"id": f"brk-{uuid.uuid4().hex[:8]}", "draft": "x"}])
    limits = {"reviews_per_session": 1, "break_minutes": 30.0}
    with _team_limits(site, **limits), _reviewer(site) as (_, engine, _desk):
        assert _claims_by_plain_sql(engine, 2) == (1, 1)
        with engine.connect() as conn:
            session_id, last_activity = conn.execute(
                text(
                    "SELECT id, last_activity_at FROM review_session "
                    "WHERE reviewer = session_user AND ended_at IS NULL"
                )
            ).one()
            ended = conn.execute(
                text(
                    "SELECT refused, ended FROM rd_end_session(p_session_id => :s, "
                    "p_at => now() - interval '1 day', p_end_reason => 'ended', p_now => NULL)"
                ),
                {"s": session_id},
            ).one()
            assert tuple(ended) == (None, True)
            ended_at = conn.execute(
                text("SELECT ended_at FROM review_session WHERE id = :s"), {"s": session_id}
            ).scalar_one()
            refused, started, until = conn.execute(text(_START)).one()
        assert ended_at == last_activity
        assert refused.startswith("on_break:") and started is None
        assert until == last_activity + timedelta(minutes=30)


def test_the_desk_shows_the_servers_refusal_as_its_own(site: Site) -> None:
    """A desk whose copy of the limits is older than the lead's change (it reads them every
    30 s) starts a session the server refuses: the reviewer sees the break, as from the desk's
    own check."""
    with _reviewer(site) as (login, _engine, desk):
        with _team_limits(site, break_minutes=0.0):
            assert desk.session_limits().break_minutes == 0.0  # the desk's copy, for 30 s
        _history(site, login, ended_ago="5 minutes", reviews=1)
        with _team_limits(site, break_minutes=30.0), pytest.raises(ClaimRefused) as refused:
            desk.claim(login)
        assert refused.value.reason == "on_break"
        assert "is on a break until" in str(refused.value)
        with site.owner.connect() as conn:
            ended, opened = conn.execute(
                text(
                    "SELECT max(ended_at), count(*) FILTER (WHERE ended_at IS NULL) "
                    "FROM review_session WHERE reviewer = :r"
                ),
                {"r": login},
            ).one()
        assert refused.value.until == ended + timedelta(minutes=30) and opened == 0


@pytest.mark.one_engine("PostgreSQL's functions; SQLite has none")
def test_migration_0019_moves_the_fence_to_the_server_and_back(postgres_url: str) -> None:
    """Down to 0018 the claim and the gold serve take the caller's bounds again and the session
    start says nothing of breaks; up to 0019 those are gone."""
    signatures = text(
        "SELECT oid::regprocedure::text FROM pg_proc WHERE proname IN "
        "('rd_claim', 'rd_serve_gold', 'rd_start_session') "
        "AND pronamespace = current_schema()::regnamespace ORDER BY 1"
    )
    start_result = text(
        "SELECT pg_get_function_result(oid) FROM pg_proc WHERE proname = 'rd_start_session' "
        "AND pronamespace = current_schema()::regnamespace"
    )
    desk = ReviewDesk.open(postgres_url, upgrade=True)
    try:
        engine = desk.engines.write
        with engine.connect() as conn:
            now = list(conn.execute(signatures).scalars())
            assert len(now) == 3 and not any("bigint, double precision, double" in s for s in now)
            assert "blocked_until" in conn.execute(start_result).scalar_one()
        migrate.downgrade(engine, "0018")
        with engine.connect() as conn:
            old = list(conn.execute(signatures).scalars())
            assert len(old) == 3 and old != now
            assert "blocked_until" not in conn.execute(start_result).scalar_one()
            inst = security_sql.installation(conn)
            for fn in definer_sql.definers(conn, server_limits=False):
                if fn.name in ("rd_claim", "rd_serve_gold"):
                    assert fn.signature in definer_sql.RETIRED_SIGNATURES
                    _, body = definer_sql.definition(inst, fn)
                    assert _functions(conn)[fn.name][2] == body
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert list(conn.execute(signatures).scalars()) == now
    finally:
        desk.close()

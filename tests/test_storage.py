"""Storage: migrations match the tables, SQLite durability settings, URLs and passwords."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from reviewdesk import ConfigurationError, ReviewDesk, SchemaOutOfDate
from reviewdesk.config import paths
from reviewdesk.core.errors import DatabaseNotFound
from reviewdesk.storage import migrate
from reviewdesk.storage.engine import (
    Engines,
    create_engines,
    defer_durability,
    keyring_account,
    resolve_target,
)
from tests.conftest import drop_group_roles, postgres_base_url
from tests.helpers.memory_keyring import MemoryKeyring


def test_migrations_build_exactly_the_model_schema(db_url: str) -> None:
    engines = create_engines(resolve_target(db_url), create=True)
    try:
        before, after = migrate.upgrade(engines.write)
        assert (before, after) == (None, migrate.head_revision())
        with engines.write.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        # Alembic cannot compare index expressions (priority DESC); all else must match.
        assert [d for d in diff if not any(name in str(d) for name in CLAIM_INDEXES)] == []
        # Upgrading again is a no-op.
        assert migrate.upgrade(engines.write) == (after, after)
    finally:
        engines.dispose()


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    # Start-up reads the revision without Alembic, so the constant must be kept current.
    assert migrate.head_revision() == migrate.script_head_revision()


CLAIM_INDEXES = ("ix_draft_claim_order", "ix_draft_category_claim")


@pytest.mark.parametrize("index", CLAIM_INDEXES)
def test_claim_indexes_are_partial(db_url: str, index: str) -> None:
    engines = create_engines(resolve_target(db_url), create=True)
    try:
        migrate.upgrade(engines.write)
        with engines.write.connect() as conn:
            if conn.dialect.name == "sqlite":
                sql = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = :name"), {"name": index}
                ).scalar_one()
            else:
                sql = conn.execute(
                    text(
                        "SELECT indexdef FROM pg_indexes "
                        "WHERE indexname = :name AND schemaname = current_schema()"
                    ),
                    {"name": index},
                ).scalar_one()
        # PostgreSQL spells the predicate ((state)::text = 'pending'::text).
        assert "priority DESC" in sql and "WHERE" in sql and "pending" in sql
    finally:
        engines.dispose()


@pytest.mark.one_engine("SQLite's pragmas")
def test_sqlite_is_durable_wal_with_foreign_keys(sqlite_url: str) -> None:
    with ReviewDesk.open(sqlite_url, upgrade=True) as desk, desk._engines.write.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_deferred_durability_is_for_the_builder_s_engines_only(db_url: str) -> None:
    """A database built in one go (the team demo) commits without waiting for the disk; every
    other engine on it still does."""
    target = resolve_target(db_url)
    sqlite = target.dialect == "sqlite"
    query = "PRAGMA synchronous" if sqlite else "SHOW synchronous_commit"
    builder, other = create_engines(target, create=True), create_engines(target, create=True)
    try:
        with builder.write.connect() as conn:  # a connection pooled before is dropped
            conn.exec_driver_sql("SELECT 1")
        defer_durability(builder)
        for engine in {builder.write, builder.statement}:
            with engine.connect() as conn:
                assert str(conn.exec_driver_sql(query).scalar()) == ("0" if sqlite else "off")
        with other.write.connect() as conn:
            assert str(conn.exec_driver_sql(query).scalar()) == ("2" if sqlite else "on")
    finally:
        builder.dispose()
        other.dispose()


def test_embedded_default_lives_in_the_data_folder_and_upgrades_itself(tmp_path: Path) -> None:
    with ReviewDesk.open() as desk:
        assert desk.target.embedded
        assert (
            Path(desk.target.url.database or "")
            == tmp_path / "home" / "data" / "reviewdesk.sqlite3"
        )
        assert paths.embedded_database_path().exists()
        assert migrate.current_revision(desk._engines.write) == migrate.head_revision()


@pytest.mark.postgres
@pytest.mark.one_engine("only a shared (PostgreSQL) database waits for an explicit upgrade")
def test_shared_database_behind_on_schema_is_refused_until_upgraded(postgres_url: str) -> None:
    with pytest.raises(SchemaOutOfDate, match="reviewdesk db upgrade"):
        ReviewDesk.open(postgres_url)
    ReviewDesk.open(postgres_url, upgrade=True).close()
    ReviewDesk.open(postgres_url).close()


@pytest.mark.one_engine("SQLite files")
def test_a_sqlite_file_upgrades_itself(sqlite_url: str) -> None:
    sqlite3.connect(sqlite_url.removeprefix("sqlite:///")).close()  # a file with no schema yet
    with ReviewDesk.open(sqlite_url) as desk:
        assert migrate.current_revision(desk._engines.write) == migrate.head_revision()


@pytest.mark.one_engine("SQLite files")
def test_a_missing_sqlite_file_is_refused_not_created(sqlite_url: str, tmp_path: Path) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    with pytest.raises(DatabaseNotFound, match=r"there is no file.*reviewdesk db upgrade --db"):
        ReviewDesk.open(sqlite_url)
    assert not path.exists()
    with pytest.raises(DatabaseNotFound, match="is a folder"):
        ReviewDesk.open(f"sqlite:///{tmp_path}")
    ReviewDesk.open(sqlite_url, upgrade=True).close()  # what `reviewdesk db upgrade` does
    assert path.is_file()


@pytest.mark.one_engine("URL resolution; no database is opened")
def test_environment_variable_names_the_database(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("REVIEWDESK_DATABASE_URL", sqlite_url)
    target = resolve_target(None)
    assert not target.embedded and target.display == sqlite_url
    assert resolve_target("sqlite:////elsewhere.db").url.database == "/elsewhere.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "ReviewDesk runs on SQLite or PostgreSQL"),
        ("sqlite://", "in-memory SQLite"),
        ("not a url", "Not a database URL"),
    ],
)
def test_unusable_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_target(url)


def test_passwords_are_masked_and_read_from_the_keyring(hermetic: MemoryKeyring) -> None:
    target = resolve_target("postgresql://ana:s3cret@db.example:6543/reviews")
    assert target.url.drivername == "postgresql+psycopg"
    assert "s3cret" not in target.display and "***" in target.display
    assert keyring_account(target.url) == "ana@db.example:6543/reviews"

    from reviewdesk.storage.engine import _with_keyring_password

    bare = resolve_target("postgresql+psycopg://ana@db.example/reviews")
    assert _with_keyring_password(bare.url).password is None
    hermetic.set_password("reviewdesk", "ana@db.example:5432/reviews", "from-keyring")
    assert _with_keyring_password(bare.url).password == "from-keyring"
    assert "from-keyring" not in bare.display


def test_unreachable_server_is_a_clear_error_without_the_password() -> None:
    from reviewdesk import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable) as err:
        ReviewDesk.open("postgresql+psycopg://ana:hunter2@127.0.0.1:1/nowhere")
    assert "127.0.0.1:1/nowhere" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_tables_exist_after_upgrade(db_url: str) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        names = set(inspect(desk._engines.write).get_table_names())
    assert {
        "draft",
        "decision",
        "decision_attempt",
        "draft_event",
        "setting",
        "alembic_version",
    } <= names


def test_upgrading_keeps_existing_drafts_and_decisions(db_url: str) -> None:
    engines = create_engines(resolve_target(db_url), create=True)
    try:
        migrate.upgrade(engines.write, "0001")
        with engines.write.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO draft (id, external_id, content_hash, draft, context, category,"
                    " risk, priority, created_at, submitted_at, metadata, state, visible_at,"
                    " lease_epoch) VALUES (1, 'old-1', 'h', 'kept text', '{}', 'refund', 'high',"
                    " 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', '{}', 'decided',"
                    " '2026-01-01 00:00:00', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO decision (draft_id, reviewer, label, final_text, decided_at,"
                    " lease_epoch, idempotency_key) VALUES (1, 'ana', 'approved', 'kept text',"
                    " '2026-01-01 00:01:00', 1, 'k')"
                )
            )
        migrate.upgrade(engines.write)
        with engines.write.connect() as conn:
            draft = conn.execute(text("SELECT draft, is_gold FROM draft")).one()
            decision = conn.execute(
                text("SELECT reviewer, label, low_attention, session_id FROM decision")
            ).one()
        assert (draft[0], bool(draft[1])) == ("kept text", False)
        assert (decision[0], decision[1], bool(decision[2]), decision[3]) == (
            "ana",
            "approved",
            False,
            None,
        )
    finally:
        engines.dispose()


@pytest.fixture
def fresh_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database beside ``db_url``, on the same engine."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import uuid

    from sqlalchemy import create_engine

    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            drop_group_roles(conn, schema)
        admin.dispose()


ROLLUP_KEY = "grain, day, category, model, risk, band, reviewer, low_attention_approval"


def _rollup_rows(engines: Engines) -> list[tuple[object, ...]]:
    """The rollup's counting rows in key order; edit_distance_sum (a sum of floats, added in
    any order) last."""
    with engines.write.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    f"SELECT {ROLLUP_KEY}, n, approved, edited, trivial, low_attention, "
                    + ", ".join(f"h{i}" for i in range(16))
                    + f", edit_distance_sum FROM decision_rollup WHERE n <> 0 ORDER BY {ROLLUP_KEY}"
                )
            )
        ]


def test_upgrading_from_0003_gives_the_statistics_of_a_fresh_database(
    db_url: str, fresh_url: str
) -> None:
    from reviewdesk.core.clock import ManualClock
    from reviewdesk.services.stats import Dimension, StatsService
    from tests.test_stats import (
        SCAN_FILTERS,
        SCAN_NOW,
        History,
        check_scan_report,
        write_history,
    )

    old = create_engines(resolve_target(db_url), create=True)
    fresh = create_engines(resolve_target(fresh_url), create=True)
    try:
        # The same decisions, undos, gold flags and resolutions: at 0003 (its triggers keep
        # grains a and r only), and at head from the start.
        migrate.upgrade(old.write, "0003")
        migrate.upgrade(fresh.write)
        histories = {"old": History(seed=11), "fresh": History(seed=11)}
        for name, engines in (("old", old), ("fresh", fresh)):
            with engines.write.begin() as conn:
                write_history(conn, histories[name], drafts=120)
        assert migrate.upgrade(old.write) == ("0003", migrate.head_revision())

        def same(recs_from: History) -> None:
            rows = _rollup_rows(old)
            assert {r[0] for r in rows} == {"a", "r", "d", "w", "m", "x"}
            expected = _rollup_rows(fresh)
            # The last column is edit_distance_sum: sums of floats in another order.
            assert [r[:-1] for r in rows] == [r[:-1] for r in expected]
            assert [r[-1] for r in rows] == pytest.approx([r[-1] for r in expected])
            recs = recs_from.live()
            for engines in (old, fresh):
                service = StatsService(engines, clock=ManualClock(SCAN_NOW))
                for dims in (
                    (Dimension.REVIEWER, Dimension.MODEL),
                    (Dimension.REVIEWER, Dimension.CONFIDENCE, Dimension.WEEK),
                    (Dimension.REVIEWER, Dimension.CATEGORY, Dimension.DAY),
                    (Dimension.CATEGORY, Dimension.CONFIDENCE),
                ):
                    for flt in SCAN_FILTERS:
                        check_scan_report(service, recs, dims, flt)

        same(histories["old"])
        # The upgraded database's triggers keep every grain from now on.
        for name, engines in (("old", old), ("fresh", fresh)):
            with engines.write.begin() as conn:
                write_history(conn, histories[name], drafts=40, first_id=1000)
        same(histories["old"])
        # Down to 0004 (its insert trigger takes the grouped path for one row too), decisions
        # there, then up again.
        assert migrate.downgrade(old.write, "0004") == (migrate.head_revision(), "0004")
        for name, engines in (("old", old), ("fresh", fresh)):
            with engines.write.begin() as conn:
                write_history(conn, histories[name], drafts=30, first_id=1500)
        migrate.upgrade(old.write)
        same(histories["old"])
        # Down to 0003 and decisions there (grains a and r only), then up again.
        assert migrate.downgrade(old.write, "0003") == (migrate.head_revision(), "0003")
        with old.write.connect() as conn:
            grains = conn.execute(text("SELECT DISTINCT grain FROM decision_rollup")).scalars()
            assert sorted(grains) == ["a", "r"]
        for name, engines in (("old", old), ("fresh", fresh)):
            with engines.write.begin() as conn:
                write_history(conn, histories[name], drafts=30, first_id=2000)
        migrate.upgrade(old.write)
        same(histories["old"])
    finally:
        old.dispose()
        fresh.dispose()

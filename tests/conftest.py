"""Hermetic tests: every folder under tmp_path, an in-memory keyring, a fresh database each.

Database tests run on SQLite and, when REVIEWDESK_TEST_POSTGRES_URL is set, on PostgreSQL too
(each test in a schema of its own). CI sets REVIEWDESK_REQUIRE_POSTGRES=1 so that a missing
server fails instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
import pytest
from sqlalchemy import Connection, create_engine, text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.storage import security_sql
from tests.helpers.memory_keyring import MemoryKeyring

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Subprocesses started by tests get a keyring that stores nothing and finds nothing.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

PG_ENV = "REVIEWDESK_TEST_POSTGRES_URL"
# Fixtures that open one engine on purpose, and why: their tests need no one_engine mark.
ONE_ENGINE_FIXTURES = {
    "desk_harness": "drives the window, which only calls ReviewDesk: the contract tests run "
    "ReviewDesk on every engine",
}
REQUIRE_PG_ENV = "REVIEWDESK_REQUIRE_POSTGRES"


def pytest_report_header() -> str:
    url = os.environ.get(PG_ENV)
    if url:
        return f"PostgreSQL tests: on, against {url}"
    return f"PostgreSQL tests: skipped, because {PG_ENV} is not set"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks gui tests, and the engine contract: every test on the ``db_url`` fixture runs on
    each engine and is marked ``contract``. A test that opens one engine only (``sqlite_url``
    or ``postgres_url``) must say why with ``one_engine(reason)``, or the run stops."""
    unexplained = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "qtbot" in names:
            item.add_marker(pytest.mark.gui)
        if "db_url" in names:
            item.add_marker(pytest.mark.contract)
        elif names & {"sqlite_url", "postgres_url"} and not names & set(ONE_ENGINE_FIXTURES):
            marker = item.get_closest_marker("one_engine")
            if marker is None or not (marker.args or marker.kwargs.get("reason")):
                unexplained.append(item.nodeid)
    if unexplained:
        raise pytest.UsageError(
            "these tests open one engine only without saying why: use the db_url fixture, "
            "or mark them @pytest.mark.one_engine(reason):\n  " + "\n  ".join(unexplained)
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if os.environ.get(REQUIRE_PG_ENV) and terminalreporter.stats.get("skipped"):
        pg_skips = [
            r
            for r in terminalreporter.stats["skipped"]
            if PG_ENV in str(getattr(r, "longrepr", ""))
        ]
        if pg_skips:
            terminalreporter.write_line(
                f"{len(pg_skips)} PostgreSQL test(s) skipped although {REQUIRE_PG_ENV} is set",
                red=True,
            )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not (os.environ.get(REQUIRE_PG_ENV) and reporter):
        return
    skipped = reporter.stats.get("skipped", [])
    if any(PG_ENV in str(getattr(r, "longrepr", "")) for r in skipped):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Send every ReviewDesk folder to tmp_path and install an in-memory keyring."""
    home = tmp_path / "home"
    monkeypatch.setenv("REVIEWDESK_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("REVIEWDESK_DATABASE_URL", raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def postgres_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://root@127.0.0.1:5432/test)"
        )
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty schema on the test server, dropped afterwards."""
    with postgres_schema() as url:
        yield url


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL to a fresh, empty schema on the test server, dropped on leaving."""
    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            drop_group_roles(conn, schema)
        admin.dispose()


def drop_group_roles(conn: Connection, schema: str) -> None:
    """Drop the group roles an upgrade of ``schema`` created (roles are cluster-wide)."""
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    for statement in security_sql.drop_group_roles_sql(database, schema):
        conn.execute(text(statement))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


DeskFactory = Callable[..., ReviewDesk]


@pytest.fixture
def make_desk(db_url: str) -> Iterator[DeskFactory]:
    """Open desks on the test database (upgraded to head); all closed at the end."""
    opened: list[ReviewDesk] = []

    def make(**options: object) -> ReviewDesk:
        desk = ReviewDesk.open(db_url, upgrade=True, **options)  # type: ignore[arg-type]
        opened.append(desk)
        return desk

    yield make
    for desk in opened:
        desk.close()


@pytest.fixture
def desk(make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    """A desk on a fresh database with a manual clock."""
    return make_desk(clock=clock)

"""The error contract when PostgreSQL fails: a server of this module's own that is stopped and
restarted, and a proxy in front of it that drops connections at chosen moments.

Every public call raises only ReviewDeskError subclasses, a decision that committed is reported
as recorded, a decision whose connection drops is retried once with the same idempotency key,
and the first call after a server restart succeeds. No command prints a traceback.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import NullPool, create_engine, text

from reviewdesk import ConnectionLost, DatabaseUnavailable, ReviewDesk
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services import sessions
from reviewdesk.services.escalations import EscalationInbox
from reviewdesk.services.stats import StatsService
from tests.conftest import PG_ENV, postgres_base_url
from tests.helpers.cli_walk import (
    NOT_ON_A_DATABASE,
    assert_one_line,
    command_names,
    database_commands,
    run_cli,
)
from tests.helpers.pg_cluster import PgCluster, free_port
from tests.helpers.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgCluster]:
    """A server to stop and restart, shared by this module's tests (each in its own schema)."""
    postgres_base_url()  # skipped, like every PostgreSQL test, without a test server
    try:
        server = PgCluster(tmp_path_factory.mktemp("pg"))
    except FileNotFoundError as exc:
        pytest.skip(f"{exc}: the fault tests need them besides {PG_ENV}")
    yield server
    server.destroy()


@pytest.fixture
def url(cluster: PgCluster) -> Iterator[str]:
    """A fresh schema on the module's server."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    # No pool: a connection from before a restart would not drop the schema.
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{cluster.url()}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def proxy(cluster: PgCluster) -> Iterator[TcpProxy]:
    tcp = TcpProxy(("127.0.0.1", cluster.port))
    yield tcp
    tcp.close()


@pytest.fixture
def desk(url: str, proxy: TcpProxy) -> Iterator[ReviewDesk]:
    """A desk that reaches its database through ``proxy``, no limits but the fast-run flag."""
    with ReviewDesk.open(url, upgrade=True) as setup:
        setup.set_session_limits(SessionLimits.off().with_changes(fast_approvals_to_flag=2))
        setup.submit([{"id": f"d{i}", "draft": f"Draft number {i}"} for i in range(6)])
    with ReviewDesk.open(proxy.url(url)) as opened:
        yield opened


def outcomes(desk: ReviewDesk) -> list[str]:
    return [a["outcome"] for a in desk.attempts()]


# -- decide --------------------------------------------------------------------------------------
def test_a_decision_that_committed_is_reported_when_the_flag_update_loses_its_connection(
    desk: ReviewDesk, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    first = desk.claim("ana")
    assert first is not None
    assert not desk.decide(first, "approve", review_seconds=0.1).low_attention
    lease = desk.claim("ana")
    assert lease is not None
    # The second fast approval in a row completes the run: flagging it is a write of its own,
    # after the decision committed. Its connection drops before the server hears it.
    # On PostgreSQL the flag is a call of its function (storage/definer_sql.py).
    cut = proxy.cut_when_sent(b"rd_flag_low_attention", reached_server=False)
    with caplog.at_level(logging.WARNING):
        decision = desk.decide(lease, "approve", review_seconds=0.1)
    assert cut.done.is_set()
    assert (decision.draft_id, decision.low_attention, decision.nudge) == ("d1", True, True)
    assert "could not be flagged as low attention" in caplog.text
    assert outcomes(desk) == ["accepted", "accepted"]
    assert desk.counts().decided == 2


def test_a_decision_whose_limits_cannot_be_read_says_the_database_is_unavailable(
    desk: ReviewDesk, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = desk.claim("ana")
    assert lease is not None
    monkeypatch.setattr(sessions, "LIMITS_CACHE_SECONDS", -1.0)  # the next decide reads them
    proxy.go_down()
    with pytest.raises(DatabaseUnavailable, match=f"127.0.0.1:{proxy.port}/reviews"):
        desk.decide(lease, "approve")
    proxy.come_back()
    # Nothing was recorded, and the first decision once the server is back is.
    assert not desk.decide(lease, "approve").replayed
    assert outcomes(desk) == ["accepted"]


def test_a_decision_whose_connection_drops_before_the_server_hears_it_is_retried(
    desk: ReviewDesk, proxy: TcpProxy
) -> None:
    lease = desk.claim("ana")
    assert lease is not None
    cut = proxy.cut_when_sent(b"key-unheard", reached_server=False)
    decision = desk.decide(lease, "approve", idempotency_key="key-unheard")
    assert cut.done.is_set()
    assert decision.draft_id == lease.draft.id and not decision.replayed
    assert outcomes(desk) == ["accepted"]


def test_a_decision_whose_connection_drops_after_it_committed_is_reported_as_replayed(
    desk: ReviewDesk, proxy: TcpProxy
) -> None:
    lease = desk.claim("ana")
    assert lease is not None
    cut = proxy.cut_when_sent(b"key-committed", reached_server=True)
    decision = desk.decide(lease, "edit", text="Changed", idempotency_key="key-committed")
    assert cut.done.is_set()
    assert (decision.final, decision.replayed) == ("Changed", True)
    # Recorded once; the retry found it by its key.
    assert outcomes(desk) == ["accepted", "replayed"]
    assert desk.counts().decided == 1


def test_a_decision_whose_retry_fails_too_carries_its_key_to_find_out_later(
    desk: ReviewDesk, proxy: TcpProxy
) -> None:
    lease = desk.claim("ana")
    assert lease is not None
    proxy.cut_when_sent(b"key-unknown", reached_server=True, then_down=True)
    with pytest.raises(ConnectionLost, match="unknown") as lost:
        desk.decide(lease, "approve", idempotency_key="key-unknown")
    assert lost.value.idempotency_key == "key-unknown"
    assert f"127.0.0.1:{proxy.port}/reviews" in str(lost.value)
    proxy.come_back()
    assert desk.decide(lease, "approve", idempotency_key="key-unknown").replayed
    assert outcomes(desk) == ["accepted", "replayed"]


# -- a server restart ------------------------------------------------------------------------
def test_an_idle_desk_works_at_once_after_the_server_restarts(cluster: PgCluster, url: str) -> None:
    with ReviewDesk.open(url, upgrade=True) as desk:
        desk.submit([{"id": f"d{i}", "draft": f"Draft number {i}"} for i in range(6)])
        stats = StatsService.for_desk(desk)
        inbox = EscalationInbox.for_desk(desk)
        # Every pool holds connections from before the restart, and the desk keeps one.
        desk.decide(desk.claim("ana"), "escalate", severity="low")  # type: ignore[arg-type]
        held = desk.claim("ana")
        assert held is not None
        with desk.engines.write.connect(), desk.engines.statement.connect():
            desk.counts()
            held = desk.renew(held)
        stats.compute()

        cluster.restart()

        # Each of these is the first call of its kind on a connection from before.
        assert desk.claim("ana") is not None  # the kept connection (a claim is not retried)
        held = desk.renew(held)  # a pooled autocommit connection
        desk.decide(held, "approve")
        assert desk.counts().decided == 2  # pooled transaction connections
        assert [r.id for r in desk.results(unsettled=True)] == ["d0", "d1"]
        assert desk.history("d0").draft.id == "d0"
        assert stats.compute().total.decided == 2
        assert len(inbox.list()) == 1


# -- the command line ------------------------------------------------------------------------
def _every_command_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], folder: Path, db: str, *, says: str, naming: str
) -> None:
    """Each command fails with one line naming the database (its password masked) and
    saying what is wrong."""
    commands = database_commands(folder)
    assert set(commands) | NOT_ON_A_DATABASE == command_names()
    for name, argv in commands.items():
        code, _out, err = run_cli(capsys, *argv, "--db", db)
        line = assert_one_line(code, err, naming=naming, hiding="s3cret")
        assert says in line, (name, line)


def test_every_command_with_the_server_stopped_says_so_in_one_line(
    cluster: PgCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cluster.url().replace("reviewdesk@", "reviewdesk:s3cret@")
    cluster.stop()
    try:
        _every_command_fails_in_one_line(
            capsys, tmp_path, db, says="Connection refused", naming="reviewdesk:***@127.0.0.1"
        )
        # And so does the installed command, with nothing else on stderr.
        exe = Path(sys.executable).parent / "reviewdesk"
        env = {**os.environ, "REVIEWDESK_HOME": str(tmp_path / "home")}
        for action in ("current", "upgrade"):
            done = subprocess.run(
                [exe, "db", action, "--db", db], env=env, capture_output=True, text=True
            )
            assert_one_line(done.returncode, done.stderr, naming="***@127.0.0.1", hiding="s3cret")
            assert "Connection refused" in done.stderr
    finally:
        cluster.start()


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("port", "Connection refused"),
        ("host", "failed to resolve host"),
        ("database", 'database "no_such_db" does not exist'),
        ("user", 'role "nobody_here" does not exist'),
        ("option", 'invalid connection option "no_such_option"'),
    ],
)
def test_every_command_with_a_wrong_url_says_what_is_wrong_in_one_line(
    cluster: PgCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, says: str
) -> None:
    wrong = {
        "port": cluster.url(port=free_port()),
        "host": cluster.url().replace("@127.0.0.1:", "@no-such-host.invalid:"),
        "database": cluster.url("no_such_db"),
        "user": cluster.url().replace("reviewdesk@", "nobody_here@"),
        "option": cluster.url() + "?no_such_option=1",
    }[where]
    db = wrong.replace("@", ":s3cret@", 1)
    naming = db.replace(":s3cret@", ":***@")
    _every_command_fails_in_one_line(capsys, tmp_path, db, says=says, naming=naming)


@pytest.mark.parametrize(
    ("grants", "argv", "says"),
    [
        # A login that may read the schema's version but none of the queue.
        (["GRANT SELECT ON alembic_version TO {role}"], ["status"], "permission denied for table"),
        # A login whose sessions are read-only, as on a standby server.
        (
            [
                "GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}",
                "GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
                "ALTER ROLE {role} SET default_transaction_read_only = on",
            ],
            ["reasons", "set", "rude"],
            "read-only transaction",
        ),
    ],
)
def test_a_login_without_the_rights_it_needs_is_told_in_one_line(
    url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    grants: list[str],
    argv: list[str],
    says: str,
) -> None:
    ReviewDesk.open(url, upgrade=True).close()
    schema = url.rsplit("%3D", 1)[1]
    role = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
        for grant in grants:
            conn.execute(text(grant.format(role=role, schema=f'"{schema}"')))
    try:
        db = url.replace("reviewdesk@", f"{role}@")
        code, _out, err = run_cli(capsys, *argv, "--db", db)
        assert says in assert_one_line(code, err, naming=f"{role}@127.0.0.1")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()

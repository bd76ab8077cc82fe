"""The error contract without a server: every public call raises only ReviewDeskError
subclasses, and every command tells a failure in one line, never a traceback. (Failures of a
PostgreSQL server: test_database_faults.py.)"""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import pytest

from reviewdesk import (
    ConnectionLost,
    InvalidArgument,
    ReviewDesk,
    ReviewDeskError,
    SchemaOutOfDate,
    UnknownDraft,
)
from reviewdesk.services.escalations import EscalationInbox
from reviewdesk.services.export.privacy import RedactionSettings
from reviewdesk.services.export.sampling import SplitSpec
from reviewdesk.services.stats import StatsService
from reviewdesk.storage.failures import describe
from tests.helpers.cli_walk import (
    NOT_ON_A_DATABASE,
    assert_one_line,
    command_names,
    database_commands,
    run_cli,
)


@pytest.fixture(autouse=True)
def _sqlite_file_exists(sqlite_url: str) -> None:
    """A database file to open: only `db upgrade` creates a missing one."""
    sqlite3.connect(sqlite_url.removeprefix("sqlite:///")).close()


def test_bad_arguments_raise_invalid_argument_which_is_still_a_value_error(db_url: str) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        calls = [
            lambda: desk.results(limit=0),
            lambda: desk.session_status(""),
            lambda: desk.claim(" "),
            lambda: StatsService.for_desk(desk).compute(by=["colour"]),
            lambda: EscalationInbox.for_desk(desk).resolve(1, "dismiss", note="n", lead=""),
            lambda: SplitSpec.parse("test=1.5"),
            lambda: RedactionSettings(phone_regions=("XX",)),
        ]
        for call in calls:
            with pytest.raises(InvalidArgument) as info:
                call()
            assert isinstance(info.value, ValueError)


def test_an_unknown_draft_is_named_and_is_still_a_key_error(db_url: str) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk, pytest.raises(UnknownDraft) as info:
        desk.history("t-404")
    assert isinstance(info.value, ReviewDeskError) and isinstance(info.value, KeyError)
    assert (info.value.draft_id, str(info.value)) == ("t-404", "No draft with id 't-404'.")


@pytest.mark.one_engine("needs no database: sqlite_url comes from the module's autouse file only")
def test_errors_keep_what_they_carry_across_processes() -> None:
    lost = pickle.loads(pickle.dumps(ConnectionLost("Lost it", idempotency_key="k-1")))
    assert (str(lost), lost.idempotency_key) == ("Lost it", "k-1")
    unknown = pickle.loads(pickle.dumps(UnknownDraft("t-1")))
    assert (unknown.draft_id, str(unknown)) == ("t-1", "No draft with id 't-1'.")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["results", "--limit", "0"], "limit must be at least 1, not 0"),
        (["reasons", "set", "rude", "rude"], "reason 2 ('rude') is given twice"),
        (["session", "status", "--reviewer", ""], "A reviewer name is required"),
        (["history", "t-404"], "No draft with id 't-404'."),
        (["show", "t-404"], "No draft with id 't-404'."),
        (["reviewers", "--days", "0"], "--days 0: give a number of days from 1 to 3660"),
    ],
)
def test_bad_input_is_one_line(
    db_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    ReviewDesk.open(db_url, upgrade=True).close()
    code, _out, err = run_cli(capsys, *argv, "--db", db_url)
    assert_one_line(code, err, naming=says)


def _broken_targets(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """SQLite URLs that cannot be used, each with what the message says."""
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("Not a database, just notes.\n" * 100)
    a_folder = tmp_path / "a-folder"
    a_folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    return {
        "not a database": (f"sqlite:///{not_a_database}", "file is not a database"),
        "a folder": (f"sqlite:///{a_folder}", "is a folder"),
        # Only `db upgrade` would create it: it says why it cannot; the rest, that it is missing.
        "an impossible folder": (f"sqlite:///{a_file}/sub/queue.db", "cannot create its folder"),
    }


@pytest.mark.parametrize("broken", ["not a database", "a folder", "an impossible folder"])
@pytest.mark.one_engine("files that are not SQLite databases")
def test_every_command_on_an_unusable_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broken: str
) -> None:
    db, says = _broken_targets(tmp_path)[broken]
    commands = database_commands(tmp_path)
    assert set(commands) | NOT_ON_A_DATABASE == command_names()
    for argv in commands.values():
        code, _out, err = run_cli(capsys, *argv, "--db", db)
        line = assert_one_line(code, err, naming=db)
        if broken == "an impossible folder" and argv[:2] != ["db", "upgrade"]:
            assert "there is no file" in line, line
        else:
            assert says in line, line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://ana:s3cret@db.example:port/reviews",
        "postgresql+psycopg://ana:s3cret@[::1/reviews",
    ],
)
@pytest.mark.one_engine("needs no database: sqlite_url comes from the module's autouse file only")
def test_a_malformed_url_is_one_line_without_its_password(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    for argv in (["status"], ["db", "current"], ["export", "--out", "x"]):
        code, _out, err = run_cli(capsys, *argv, "--db", url)
        assert_one_line(code, err, naming="Not a database URL", hiding="s3cret")


@pytest.mark.one_engine("writes the schema version into the SQLite file directly")
def test_a_schema_newer_than_this_reviewdesk_is_named_not_upgraded(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ReviewDesk.open(sqlite_url).close()
    path = sqlite_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.close()
    for argv in (["db", "upgrade"], ["db", "current"], ["status"]):
        code, _out, err = run_cli(capsys, *argv, "--db", sqlite_url)
        line = assert_one_line(code, err, naming=sqlite_url)
        assert "schema 0099, which this ReviewDesk does not know" in line
    with pytest.raises(SchemaOutOfDate, match="0099"):
        ReviewDesk.open(sqlite_url)


@pytest.mark.one_engine("needs no database: sqlite_url comes from the module's autouse file only")
def test_a_driver_message_is_told_on_one_line() -> None:
    # psycopg lists each address it tried on a line of its own, after a line ending in ':'.
    tried = Exception(
        "Multiple connection attempts failed. All failures were:\n"
        "- host: 'db', hostaddr: '::1': connection refused\n"
        "- host: 'db', hostaddr: '10.0.0.5': connection refused\n"
    )
    assert describe(tried) == (
        "Multiple connection attempts failed. All failures were: - host: 'db', hostaddr: '::1': "
        "connection refused; - host: 'db', hostaddr: '10.0.0.5': connection refused"
    )
    hinted = Exception(
        'connection failed: FATAL:  database "x" does not exist\n\tIs the server running?'
    )
    assert describe(hinted) == 'connection failed: FATAL: database "x" does not exist'

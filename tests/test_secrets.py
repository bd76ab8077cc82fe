"""A password given in a database URL is never shown: not on stdout or stderr, not in a log
record, an exception's message or traceback, or an export's dataset card; whether it came in the
userinfo (``user:pw@``), in the query (``?password=``, ``?sslpassword=``), or in text that is
not a URL at all. (The desk's window, settings file and crash log: tests/ui/test_secrets_ui.py.)
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from reviewdesk import ReviewDesk, ReviewDeskError
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.export import ExportOptions, export_dataset
from reviewdesk.storage.engine import resolve_target
from reviewdesk.storage.urls import mask_url, query_password, without_secrets
from tests.conftest import postgres_base_url, postgres_schema
from tests.helpers.cli_walk import database_commands, run_cli
from tests.helpers.export_data import Spec, decide_all

PW = "S3cr3t-Pw"

# A server that is not there: every command fails naming it.
UNREACHABLE = f"postgresql+psycopg://ana:{PW}@127.0.0.1:1/nowhere?password={PW}&sslpassword={PW}"
# Text that does not parse as a URL, with the password where its author put it.
MALFORMED = [
    f"ana:{PW}@db.example/reviews",  # no scheme
    f"postgresql+psycopg://ana:{PW}@db.example:port/reviews",  # a port that is no number
    f"postgresql+psycopg://ana@[::1/reviews?password={PW}",  # an unclosed IPv6 host
    f"host=db.example user=ana password={PW}",  # a libpq connection string
    f"host=db.example user=ana password='{PW} x'",  # with a quoted value
    f"postgresql://ana:{PW}@db.example:x/reviews?sslpassword={PW}",
]


def with_password(url: str) -> str:
    """``url`` with PW in its userinfo and in its query, as libpq accepts both."""
    parsed = make_url(url).set(password=PW)
    return parsed.update_query_dict({"password": PW, "sslpassword": PW}).render_as_string(
        hide_password=False
    )


def everything_said(out: str, err: str, caplog: pytest.LogCaptureFixture, *extra: str) -> str:
    records = [r.getMessage() for r in caplog.records]
    records += [
        "".join(traceback.format_exception(*r.exc_info)) for r in caplog.records if r.exc_info
    ]
    return "\n".join([out, err, *records, *extra])


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+psycopg://ana:{PW}@db/reviews", "postgresql+psycopg://ana:***@db/reviews"),
        (
            f"postgresql+psycopg://ana@db/reviews?password={PW}",
            "postgresql+psycopg://ana@db/reviews?password=***",
        ),
        (
            f"postgresql+psycopg://ana@db/reviews?sslpassword={PW}&sslmode=require",
            "postgresql+psycopg://ana@db/reviews?sslmode=require&sslpassword=***",
        ),
        (
            f"postgresql+psycopg://ana@db/reviews?passfile=/home/ana/.pgpass&PASSWORD={PW}",
            "postgresql+psycopg://ana@db/reviews?PASSWORD=***&passfile=%2Fhome%2Fana%2F.pgpass",
        ),
        (MALFORMED[0], "ana:***@db.example/reviews"),
        (MALFORMED[1], "postgresql+psycopg://ana:***@db.example:port/reviews"),
        (MALFORMED[2], "postgresql+psycopg://ana@[::1/reviews?password=***"),
        (MALFORMED[3], "host=db.example user=ana password=***"),
        (MALFORMED[4], "host=db.example user=ana password=***"),
        (MALFORMED[5], "postgresql://ana:***@db.example:x/reviews?sslpassword=***"),
        ("sqlite:////tmp/a:b@c/q.db", "sqlite:////tmp/a%3Ab%40c/q.db"),  # a path, no secret
    ],
)
def test_mask_url_hides_every_password_and_keeps_the_rest(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert PW not in shown


def test_what_is_stored_holds_no_password() -> None:
    url = make_url(with_password("postgresql+psycopg://ana@db:6543/reviews?sslmode=require"))
    assert query_password(url) == PW
    bare = without_secrets(url)
    assert bare.render_as_string(hide_password=False) == (
        "postgresql+psycopg://ana@db:6543/reviews?sslmode=require"
    )
    assert query_password(bare) is None


def test_the_keyring_is_not_asked_when_the_query_has_the_password(hermetic: object) -> None:
    from reviewdesk.storage.engine import _with_keyring_password

    url = resolve_target(f"postgresql+psycopg://ana@db/reviews?password={PW}").url
    assert _with_keyring_password(url) is url


@pytest.mark.parametrize("url", [UNREACHABLE, *MALFORMED])
def test_every_command_names_a_database_it_cannot_use_without_its_password(
    url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name, argv in database_commands(tmp_path).items():
        code, out, err = run_cli(capsys, *argv, "--db", url)
        assert code == 1, name
        assert err.startswith("reviewdesk: "), (name, err)
        assert PW not in everything_said(out, err, caplog), name
    assert not (tmp_path / "export-out").exists()


def test_errors_and_their_tracebacks_hold_no_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calls = [
        lambda: ReviewDesk.open(UNREACHABLE),
        lambda: ReviewDesk.open(UNREACHABLE, upgrade=True),
        lambda: export_dataset(resolve_target(UNREACHABLE), ExportOptions(out=tmp_path / "x")),
        *[lambda url=url: ReviewDesk.open(url) for url in MALFORMED],
    ]
    for call in calls:
        with pytest.raises(ReviewDeskError) as info:
            call()
        told = "".join(traceback.format_exception(info.value))  # with the chained causes
        assert "127.0.0.1:1/nowhere" in told or "Not a database URL" in told
        assert PW not in everything_said("", "", caplog, str(info.value), told)


@pytest.mark.postgres
def test_every_command_on_a_server_with_a_password_in_the_url_never_shows_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    postgres_base_url()
    caplog.set_level(logging.DEBUG)
    with postgres_schema() as base:
        url = with_password(base)  # the test server trusts its clients: any password opens it
        code, out, err = run_cli(capsys, "db", "upgrade", "--db", url)
        assert code == 0 and "password=***" in out and "sslpassword=***" in out
        clock = ManualClock()
        with ReviewDesk.open(url, clock=clock) as desk:
            assert "root:***@" in desk.target.display and PW not in desk.target.display
            decide_all(desk, [Spec("s-1"), Spec("s-2", verdict="reject", reason="other")], clock)
        said = [out, err]
        for name, argv in database_commands(tmp_path).items():
            code, out, err = run_cli(capsys, *argv, "--db", url)
            said += [out, err]
            assert PW not in everything_said(out, err, caplog), name
        code, out, err = run_cli(capsys, "status", "--json", "--db", url)
        assert code == 0 and '"database": "postgresql+psycopg://root' in out
        said += [out, err]
        card = (tmp_path / "export-out" / "README.md").read_text(encoding="utf-8")
        assert "password=***" in card
        assert PW not in everything_said("\n".join(said), card, caplog)

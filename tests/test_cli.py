"""The command line, as producers and operators use it."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from reviewdesk import ConfigurationError, Lease, ReviewDesk
from reviewdesk.main import main
from tests.helpers.memory_keyring import MemoryKeyring


def write_jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _sqlite_file_exists(sqlite_url: str) -> None:
    """A database file for the commands to open: only `db upgrade` creates a missing one."""
    sqlite3.connect(sqlite_url.removeprefix("sqlite:///")).close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_enqueue_then_resubmit(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "db", "upgrade", "--db", db_url)[0] == 0
    src = write_jsonl(tmp_path / "in.jsonl", {"id": "a", "draft": "x"}, {"id": "b", "draft": "y"})
    code, out, _ = run(capsys, "enqueue", str(src), "--db", db_url)
    assert code == 0 and "2 draft(s) queued, 0 already queued unchanged" in out
    code, out, _ = run(capsys, "enqueue", str(src), "--db", db_url)
    assert code == 0 and "0 draft(s) queued, 2 already queued unchanged" in out


def test_bad_file_is_reported_and_nothing_is_written(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(capsys, "db", "upgrade", "--db", db_url)[0] == 0
    )  # a shared one is not upgraded by itself
    src = tmp_path / "bad.jsonl"
    src.write_bytes(
        b'{"id": "ok", "draft": "fine"}\n'
        b'{"id": "x", "draft": 5}\n'
        b"not json\n"
        b'{"id": "ok", "draft": "again"}\n'
    )
    code, out, err = run(capsys, "enqueue", str(src), "--db", db_url)
    assert code == 1 and out == ""
    assert f"{src}:2: field 'draft': must be a string, not a number" in err
    assert f"{src}:3: is not valid JSON" in err
    assert f"{src}:4: field 'id': 'ok' is repeated (first on line 1)" in err
    assert "nothing was written" in err
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        assert desk.counts().pending == 0


def test_conflicting_resubmission_is_refused(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(capsys, "db", "upgrade", "--db", db_url)[0] == 0
    )  # a shared one is not upgraded by itself
    run(
        capsys,
        "enqueue",
        str(write_jsonl(tmp_path / "a.jsonl", {"id": "a", "draft": "x"})),
        "--db",
        db_url,
    )
    src = write_jsonl(
        tmp_path / "b.jsonl", {"id": "new", "draft": "y"}, {"id": "a", "draft": "changed"}
    )
    code, _, err = run(capsys, "enqueue", str(src), "--db", db_url)
    assert code == 1
    assert f"{src}:2: field 'id': 'a' is already queued with different content" in err
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        assert desk.counts().pending == 1


@pytest.mark.one_engine("a missing input file is refused before any database is opened")
def test_missing_file_is_a_clear_error(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "enqueue", "/no/such/file.jsonl", "--db", sqlite_url)
    assert code == 1 and "/no/such/file.jsonl: no such file" in err


def test_results_print_every_field_and_ack(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        desk.submit(
            [
                {"id": "a", "draft": "Hi", "category": "refund", "model": "m1"},
                {"id": "b", "draft": "Yo"},
            ]
        )
        lease = desk.claim("ana")
        assert lease
        desk.decide(lease, "edit", text="Hello", review_seconds=3.0)
    code, out, _ = run(capsys, "results", "--db", db_url, "--unsettled", "--ack")
    assert code == 0
    (line,) = out.splitlines()
    record = json.loads(line)
    assert set(record) == {
        "id",
        "label",
        "final",
        "draft",
        "reason",
        "note",
        "severity",
        "reviewer",
        "decided_at",
        "review_seconds",
        "category",
        "model",
        "resolution",
        "resolution_note",
        "resolved_by",
        "resolved_at",
        "cursor",
    }
    assert (record["id"], record["label"], record["final"], record["draft"]) == (
        "a",
        "edited",
        "Hello",
        "Hi",
    )
    assert (record["reviewer"], record["review_seconds"], record["category"]) == (
        "ana",
        3.0,
        "refund",
    )
    # Acknowledged: not printed again, unless asked for.
    assert run(capsys, "results", "--db", db_url)[1] == ""
    assert json.loads(run(capsys, "results", "--db", db_url, "--include-delivered")[1])["id"] == "a"


def test_results_hold_back_what_can_still_be_undone(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        desk.submit([{"id": "a", "draft": "Hi"}])
        lease = desk.claim("ana")
        assert lease
        desk.decide(lease, "approve")
    # Inside the undo window: not printed, and stderr says why and how to get it.
    code, out, err = run(capsys, "results", "--db", db_url, "--ack")
    assert (code, out) == (0, "")
    assert "inside the undo window (300 s)" in err and "--unsettled" in err
    code, out, _ = run(capsys, "results", "--db", db_url, "--unsettled")
    assert code == 0 and json.loads(out)["id"] == "a"


class UndoingConsumer(io.StringIO):
    """A slow consumer: while the first result is written, its reviewer undoes it."""

    def __init__(self, desk: ReviewDesk, reviewer: str) -> None:
        super().__init__()
        self.desk, self.reviewer = desk, reviewer
        self.back: Lease | None = None

    def write(self, text: str) -> int:
        if self.back is None:
            self.back = self.desk.undo(self.reviewer)
        return super().write(text)


@pytest.mark.parametrize("ack", [False, True])
def test_unsettled_results_undone_while_printed_are_retracted_in_the_stream(
    db_url: str, capsys: pytest.CaptureFixture[str], ack: bool
) -> None:
    from reviewdesk.cli.entry import build_parser
    from reviewdesk.cli.entry import run as run_command

    with ReviewDesk.open(db_url, upgrade=True) as desk:
        desk.submit([{"id": "a", "draft": "Hi"}, {"id": "b", "draft": "Yo"}])
        for reviewer in ("bob", "ana"):
            lease = desk.claim(reviewer)
            assert lease
            desk.decide(lease, "approve")
        consumer = UndoingConsumer(desk, "bob")
        argv = ["results", "--db", db_url, "--unsettled", *(["--ack"] if ack else [])]
        code = run_command(build_parser().parse_args(argv), consumer)
        lines = [json.loads(line) for line in consumer.getvalue().splitlines()]
        # Both results went out; then, in the same stream, a's retraction.
        assert [line["id"] for line in lines] == ["a", "b", "a"]
        assert lines[2] == {"id": "a", "cursor": lines[0]["cursor"], "retracted": True}
        assert "retracted" not in lines[0] and "retracted" not in lines[1]
        assert code == 3
        assert "1 printed result was undone by its reviewer" in capsys.readouterr().err
        # a is back with bob; his new decision is a new result, with a higher cursor.
        assert consumer.back is not None and consumer.back.draft.id == "a"
        desk.decide(consumer.back, "reject", reason="other")
        again = desk.results(unsettled=True)
        assert [(r.id, r.label.value) for r in again] == [
            *([] if ack else [("b", "approved")]),
            ("a", "rejected"),
        ]
        assert again[-1].cursor > lines[1]["cursor"]


def test_status_and_schema_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "current", "--db", db_url)
    assert code == 0 and "schema none (needs upgrade to" in out
    code, out, _ = run(capsys, "db", "upgrade", "--db", db_url)
    assert "upgraded from empty to" in out
    assert "already at schema" in run(capsys, "db", "upgrade", "--db", db_url)[1]
    code, out, _ = run(capsys, "status", "--db", db_url, "--json")
    assert json.loads(out) == {
        "database": db_url,
        "pending": 0,
        "in_review": 0,
        "decided": 0,
        "undelivered": 0,
        "leased": 0,
    }


def test_status_says_in_review_in_text_and_json_alike(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        desk.submit([{"id": "s1", "draft": "One"}, {"id": "s2", "draft": "Two"}])
        assert desk.claim("ana") is not None
    code, out, _ = run(capsys, "status", "--db", db_url)
    assert code == 0 and "in review:   1" in out and "pending:     1" in out
    code, out, _ = run(capsys, "status", "--db", db_url, "--json")
    document = json.loads(out)
    assert (document["in_review"], document["pending"]) == (1, 1)
    # The name before in_review stays for older readers, with the same number.
    assert document["leased"] == document["in_review"]


@pytest.mark.postgres
@pytest.mark.one_engine("only a shared (PostgreSQL) database waits for an explicit upgrade")
def test_shared_database_needs_an_explicit_upgrade(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "status", "--db", postgres_url)
    assert code == 1 and "run 'reviewdesk db upgrade --db URL'" in err


@pytest.mark.one_engine("needs no database: sqlite_url comes from the module's autouse file only")
def test_password_goes_to_the_keyring_and_is_never_printed(
    hermetic: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "pa55word")
    url = "postgresql+psycopg://ana@db.example:5432/reviews"
    code, out, err = run(capsys, "password", "set", "--db", url)
    assert code == 0 and "pa55word" not in out + err
    assert hermetic.get_password("reviewdesk", "ana@db.example:5432/reviews") == "pa55word"
    assert "Removed" in run(capsys, "password", "delete", "--db", url)[1]


@pytest.mark.one_engine("a missing SQLite file: a PostgreSQL database cannot be missing this way")
def test_a_missing_database_file_is_named_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.sqlite3"
    for argv in (["status"], ["db", "current"], ["reasons", "list"], ["results"]):
        code, out, err = run(capsys, *argv, "--db", f"sqlite:///{missing}")
        assert code == 1 and out == ""
        assert f"No ReviewDesk database at sqlite:///{missing}: there is no file {missing}" in err
        assert "reviewdesk db upgrade --db sqlite:///" in err
    assert not missing.exists()
    assert run(capsys, "db", "upgrade", "--db", f"sqlite:///{missing}")[0] == 0
    assert missing.is_file()


@pytest.mark.parametrize("db_first", [True, False])
@pytest.mark.one_engine("where --db goes on the command line; the engine does not matter")
def test_db_goes_before_or_after_the_command(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], db_first: bool
) -> None:
    argv = ["--db", sqlite_url, "status", "--json"] if db_first else ["status", "--json"]
    argv += [] if db_first else ["--db", sqlite_url]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and json.loads(out)["database"] == sqlite_url


@pytest.mark.parametrize(
    "argv",
    [["limits"], ["limits", "show"], ["escalations"], ["escalations", "list"]],
    ids=" ".join,
)
@pytest.mark.one_engine("where --db goes on the command line; the engine does not matter")
def test_db_before_a_command_with_actions_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    ReviewDesk.open(other, upgrade=True).close()
    with ReviewDesk.open(other) as desk:
        desk.set_session_limits(desk.session_limits().with_changes(reviews_per_session=7))
    # Not the embedded database: the one named before the command.
    code, out, err = run(capsys, "--db", other, *argv, "--json")
    assert code == 0, err
    assert out.startswith("[]") if argv[0] == "escalations" else '"reviews_per_session": 7' in out


def test_reject_reasons_are_listed_set_added_and_removed(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "upgrade", "--db", db_url)
    assert "hallucination" in run(capsys, "reasons", "list", "--db", db_url)[1].split()
    code, out, _ = run(capsys, "reasons", "set", "wrong_price", "rude", "--db", db_url)
    assert code == 0 and out.splitlines()[:3] == [
        "Reject reasons changed (7 before, 2 now):",
        "+ wrong_price",
        "+ rude",
    ]
    assert "- hallucination" in out.splitlines()
    code, out, _ = run(capsys, "reasons", "add", "Tone too casual", "--db", db_url)
    assert out.splitlines() == [
        "Reject reasons changed (2 before, 3 now):",
        "  wrong_price",
        "  rude",
        "+ Tone too casual",
    ]
    code, out, _ = run(capsys, "reasons", "remove", "RUDE", "--db", db_url)
    assert code == 0 and out.splitlines()[-1] == "- rude"
    assert run(capsys, "reasons", "list", "--db", db_url)[1].splitlines() == [
        "wrong_price",
        "Tone too casual",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["set", ""], "reason 1 is empty"),
        (["set", "a", "A"], "reason 2 ('A') is given twice"),
        (["set", "x" * 101], "is 101 characters long; at most 100"),
        (["set", "tab\there"], "has a control character"),
        (["add", "wrong_price"], "is given twice"),
        (["remove", "nosuch"], "'nosuch' is not a reject reason; they are: wrong_price"),
        (["list", "extra"], "unrecognized arguments: extra"),
    ],
)
def test_bad_reject_reasons_are_refused_and_nothing_changes(
    db_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    run(capsys, "db", "upgrade", "--db", db_url)
    run(capsys, "reasons", "set", "wrong_price", "--db", db_url)
    try:
        code, out, err = run(capsys, "reasons", *argv, "--db", db_url)
    except SystemExit as exit_:  # argparse's own refusal
        code, (out, err) = int(exit_.code or 0), capsys.readouterr()
    assert code != 0 and out == "" and message in err and "Traceback" not in err
    assert run(capsys, "reasons", "list", "--db", db_url)[1] == "wrong_price\n"


def test_a_reason_the_decision_table_cannot_hold_is_refused_at_entry(db_url: str) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        with pytest.raises(ConfigurationError, match="at most 100"):
            desk.set_reject_reasons(["x" * 101])
        longest = "y" * 100
        desk.set_reject_reasons([longest])
        desk.submit([{"id": "d", "draft": "text"}])
        lease = desk.claim("ana")
        assert lease is not None
        assert desk.decide(lease, "reject", reason=longest).reason == longest


@pytest.mark.one_engine("the console script's stdin and environment, not the store")
def test_console_script_reads_stdin_and_uses_the_environment(
    tmp_path: Path, sqlite_url: str
) -> None:
    exe = Path(sys.executable).parent / "reviewdesk"
    env = {**os.environ, "REVIEWDESK_DATABASE_URL": sqlite_url, "REVIEWDESK_HOME": str(tmp_path)}
    subprocess.run([exe, "db", "upgrade"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [exe, "enqueue", "-"],
        env=env,
        input=b'{"id": "s1", "draft": "from stdin"}\n',
        capture_output=True,
        check=True,
    )
    assert b"<stdin>: 1 draft(s) queued" in done.stdout
    bad = subprocess.run([exe, "enqueue", "-"], env=env, input=b"{oops\n", capture_output=True)
    assert bad.returncode == 1 and b"<stdin>:1: is not valid JSON" in bad.stderr


def test_limits_are_shown_and_set_by_name(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(capsys, "db", "upgrade", "--db", db_url)[0] == 0
    )  # a shared one is not upgraded by itself
    code, out, _ = run(capsys, "limits", "--db", db_url)
    assert code == 0 and "reviews_per_session      40" in out
    assert run(capsys, "limits", "show", "--db", db_url)[1] == out
    code, out, _ = run(
        capsys,
        "limits",
        "set",
        "--db",
        db_url,
        "reviews_per_session=30",
        "minutes_per_session=off",
        "timezone=Europe/Berlin",
        "--json",
    )
    document = json.loads(out)
    limits = document["limits"]
    assert (limits["reviews_per_session"], limits["minutes_per_session"]) == (30, None)
    assert limits["timezone"] == "Europe/Berlin"
    assert document["changed"] == {
        "reviews_per_session": [40, 30],
        "minutes_per_session": [45.0, None],
        "timezone": [None, "Europe/Berlin"],
    }
    assert json.loads(run(capsys, "limits", "show", "--json", "--db", db_url)[1]) == limits
    code, _, err = run(capsys, "limits", "set", "--db", db_url, "reviews_per_session=2.5")
    assert code == 1 and "takes a whole number" in err
    code, _, err = run(capsys, "limits", "set", "--db", db_url, "naps=3")
    assert code == 1 and "is not NAME=VALUE" in err
    code, _, err = run(capsys, "limits", "set", "--db", db_url, "timezone=Mars/Base")
    assert code == 1 and "not a known IANA time zone" in err


def test_limits_set_prints_each_change_and_a_refused_one_changes_nothing(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(capsys, "db", "upgrade", "--db", db_url)[0] == 0
    )  # a shared one is not upgraded by itself
    code, out, _ = run(
        capsys,
        "limits",
        "set",
        "reviews_per_session=30",
        "sessions_per_day=off",
        "--db",
        db_url,
    )
    assert code == 0
    assert out.splitlines() == [
        "Limits changed (2):",
        "  reviews_per_session      40 -> 30",
        "  sessions_per_day         6 -> off",
    ]
    code, out, _ = run(capsys, "limits", "set", "reviews_per_session=30", "--db", db_url)
    assert (code, out) == (0, "Limits unchanged.\n")
    for changes, says in (
        (["reviews_per_session=20", "lease_ttl_seconds=5"], "lease_ttl_seconds must be"),
        (["reviews_per_session=20", "reviews_per_session=25"], "given twice"),
        (["reviews_per_session=20", "timezone=Nowhere"], "not a known IANA time zone"),
        (["reviews_per_session=20", "break_minutes=off"], "break_minutes cannot be off"),
    ):
        code, out, err = run(capsys, "limits", "set", *changes, "--db", db_url)
        assert code == 1 and says in err and out == "", (changes, err)
        assert len(err.splitlines()) == 1 and err.startswith("reviewdesk: "), err
        assert "Traceback" not in err
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        assert desk.session_limits().reviews_per_session == 30


def test_limits_say_what_no_timezone_means(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        run(capsys, "db", "upgrade", "--db", db_url)[0] == 0
    )  # a shared one is not upgraded by itself
    monkeypatch.setenv("TZ", "America/Chicago")
    code, out, _ = run(capsys, "limits", "--db", db_url)
    assert code == 0
    assert "timezone                 off: each reviewer's local zone (here America/Chicago)" in out
    code, out, _ = run(capsys, "limits", "set", "timezone=Asia/Tokyo", "--db", db_url)
    assert "timezone                 off: each reviewer's local zone (here America/Chicago)" in out
    assert out.rstrip().endswith("-> Asia/Tokyo")


def test_lease_ttl_and_undo_window_are_set_where_the_limits_are(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "db", "upgrade", "--db", db_url)[0] == 0
    code, out, _ = run(capsys, "limits", "--db", db_url)
    assert code == 0 and "lease_ttl_seconds        120.0" in out
    assert "undo_window_seconds      300.0" in out
    code, out, _ = run(
        capsys,
        "limits",
        "set",
        "--db",
        db_url,
        "lease_ttl_seconds=90",
        "undo_window_seconds=0",
        "--json",
    )
    limits = json.loads(out)["limits"]
    assert (code, limits["lease_ttl_seconds"], limits["undo_window_seconds"]) == (0, 90, 0)
    for change, message in (
        ("lease_ttl_seconds=1e9", "lease_ttl_seconds must be a number of seconds from 30 to 3600"),
        ("lease_ttl_seconds=1e12", "lease_ttl_seconds must be a number of seconds from 30 to 3600"),
        ("lease_ttl_seconds=10", "not 10.0"),
        ("lease_ttl_seconds=-5", "not -5.0"),
        ("lease_ttl_seconds=inf", "lease_ttl_seconds=inf is not a finite number"),
        ("lease_ttl_seconds=nan", "lease_ttl_seconds=nan is not a finite number"),
        ("lease_ttl_seconds=2min", "lease_ttl_seconds='2min' is not a number"),
        ("lease_ttl_seconds=off", "lease_ttl_seconds cannot be off"),
        (
            "undo_window_seconds=900",
            "undo_window_seconds must be a number of seconds from 0 to 600",
        ),
        ("minutes_per_session=nan", "minutes_per_session=nan is not a finite number"),
    ):
        code, _, err = run(capsys, "limits", "set", "--db", db_url, "reviews_per_session=7", change)
        assert code == 1 and message in err, (change, err)
        assert "Traceback" not in err
    # Nothing of a refused change was stored; desks read what was.
    with ReviewDesk.open(db_url) as desk:
        assert (desk.lease_ttl, desk.undo_window) == (90.0, 0.0)
        assert desk.session_limits().reviews_per_session == 40


def test_gold_and_session_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        desk.submit([{"id": "g1", "draft": "Wrong"}, {"id": "x", "draft": "Fine"}])
        lease = desk.claim("ana")
        assert lease
        desk.decide(lease, "reject", reason="factual_error", review_seconds=12.0)
    code, out, _ = run(capsys, "gold", "mark", "g1", "--expect", "rejected", "--db", db_url)
    assert code == 0 and "known-answer draft now" in out
    code, _, err = run(capsys, "gold", "mark", "x", "--expect", "approved", "--db", db_url)
    assert code == 1 and "not decided yet" in err
    code, out, _ = run(capsys, "session", "status", "--reviewer", "ana", "--db", db_url)
    assert "in a session" in out and "reviews_per_session    1 of 40" in out
    code, out, _ = run(capsys, "session", "end", "--reviewer", "ana", "--db", db_url)
    assert "1 rejected" in out and "median time per draft: 12 s" in out
    code, out, _ = run(capsys, "session", "status", "--reviewer", "ana", "--db", db_url)
    assert "on break until" in out
    assert run(capsys, "gold", "retire", "g1", "--db", db_url)[0] == 0

"""The command line as a new user meets it: one meaning for each word and option, unknown
names said as such, tables that fit a terminal, and the commands that show one draft and the
team's reviewers."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.main import main
from tests.helpers.export_data import Spec, decide_all


@pytest.fixture(autouse=True)
def _sqlite_file_exists(sqlite_url: str) -> None:
    sqlite3.connect(sqlite_url.removeprefix("sqlite:///")).close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_days(sqlite_url: str) -> str:
    """Two decisions on 30 November 2026 (UTC), one on 1 December."""
    clock = ManualClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    with ReviewDesk.open(sqlite_url, clock=clock, upgrade=True) as desk:
        decide_all(desk, [Spec("nov-1"), Spec("nov-2")], clock)
        clock.advance(24 * 3600)
        decide_all(desk, [Spec("dec-1")], clock)
    return sqlite_url


def _exported(capsys: pytest.CaptureFixture[str], db: str, out: Path, *flags: str) -> list[str]:
    code, _, err = run(capsys, "export", "--db", db, "--out", str(out), *flags)
    assert code == 0, err
    return sorted(
        json.loads(line)["id"] for p in out.glob("*.jsonl") for line in p.read_text().splitlines()
    )


def test_until_a_date_includes_that_day_in_every_command(
    two_days: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "stats", "--db", two_days, "--until", "2026-11-30", "--json")
    assert code == 0, err
    assert json.loads(out)["total"]["decided"] == 2
    code, out, err = run(capsys, "recommend", "--db", two_days, "--until", "2026-11-30", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["period"]["until"] == "2026-11-30"
    assert sum(c["n"] for c in report["categories"]) == 2
    # The same date means the same in export: the 30th is in.
    assert _exported(capsys, two_days, tmp_path / "a", "--until", "2026-11-30") == [
        "nov-1",
        "nov-2",
    ]
    assert _exported(capsys, two_days, tmp_path / "b", "--since", "2026-12-01") == ["dec-1"]
    # A full time is the first instant left out, the same in every command.
    assert _exported(capsys, two_days, tmp_path / "c", "--until", "2026-11-30T12:00:01") == [
        "nov-1"
    ]
    code, out, _ = run(
        capsys, "stats", "--db", two_days, "--until", "2026-12-01T00:00:00Z", "--json"
    )
    assert code == 0 and json.loads(out)["total"]["decided"] == 2
    # Days are what stats counts: a time inside a day is refused, saying what to give.
    code, _, err = run(capsys, "stats", "--db", two_days, "--until", "2026-11-30T12:00")
    assert code == 1 and "stats counts whole UTC days" in err and "--until" in err
    for argv in (["stats"], ["recommend"], ["export", "--out", str(tmp_path / "d")]):
        code, _, err = run(capsys, *argv, "--db", two_days, "--until", "30.11.")
        assert code == 1 and "--until '30.11.': not a date or time" in err, (argv, err)


@pytest.mark.parametrize("command", ["stats", "recommend", "export"])
def test_every_command_taking_until_says_what_it_means(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--until 2026-11-30 counts the 30th" in text, text


@pytest.fixture
def decided(db_url: str) -> str:
    """Three decisions, on SQLite and on PostgreSQL."""
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    with ReviewDesk.open(db_url, clock=clock, upgrade=True) as desk:
        decide_all(
            desk,
            [
                Spec("r-1", category="refund"),
                Spec("r-2", category="refund", verdict="reject", reason="other"),
                Spec("b-1", category="billing", reviewer="Reviewer-Bo-K2", model="drafter-3"),
            ],
            clock,
        )
    return db_url


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["stats", "--category", "refunds"],
            "--category 'refunds': no decision has this category; did you mean 'refund'? "
            "Known: billing, refund.",
        ),
        (
            ["recommend", "--category", "nosuch"],
            "--category 'nosuch': no decision has this category; known: billing, refund.",
        ),
        (
            ["stats", "--model", "drafter-9"],
            "--model 'drafter-9': no decision has this model version; did you mean",
        ),
        (["recommend", "--model", "gpt"], "known: drafter-2, drafter-3."),
        (
            ["stats", "--reviewer", "Ana"],
            "--reviewer 'Ana': no decision has this reviewer; known: Reviewer-Ana-Q7, "
            "Reviewer-Bo-K2.",
        ),
    ],
)
def test_an_unknown_filter_value_is_named_with_the_known_ones(
    decided: str, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = run(capsys, *argv, "--db", decided)
    assert code == 1 and out == "" and len(err.splitlines()) == 1, err
    assert says in err, err


def test_known_filter_values_still_count(decided: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "stats", "--category", "refund", "--model", "drafter-2", "--json", "--db", decided
    )
    assert code == 0, err
    assert json.loads(out)["total"]["decided"] == 2
    # Known, but with nothing in the period: zeros are the figures then.
    code, out, err = run(
        capsys, "stats", "--category", "billing", "--until", "2026-01-01", "--json", "--db", decided
    )
    assert code == 0 and json.loads(out)["total"]["decided"] == 0, err

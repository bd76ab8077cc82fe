"""The command line as a new user meets it: one meaning for each word and option, unknown
names said as such, tables that fit a terminal, and the commands that show one draft and the
team's reviewers."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
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
def two_days(db_url: str) -> str:
    """Two decisions on 30 November 2026 (UTC), one on 1 December."""
    clock = ManualClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    with ReviewDesk.open(db_url, clock=clock, upgrade=True) as desk:
        decide_all(desk, [Spec("nov-1"), Spec("nov-2")], clock)
        clock.advance(24 * 3600)
        decide_all(desk, [Spec("dec-1")], clock)
    return db_url


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
@pytest.mark.one_engine("needs no database: sqlite_url comes from the module's autouse file only")
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
                Spec("b-1", category="billing", reviewer="reviewer-bo-k2", model="drafter-3"),
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
            "--reviewer 'ana': no decision has this reviewer; known: reviewer-ana-q7, "
            "reviewer-bo-k2.",
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


def test_show_prints_one_draft_with_its_decision_and_trail(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    with ReviewDesk.open(db_url, clock=clock, upgrade=True) as desk:
        decide_all(
            desk,
            [
                Spec(
                    "t-1",
                    verdict="edit",
                    draft="Your refund is on its way.",
                    text="Your refund of 20 EUR is on its way.",
                    context={"order": "A-17"},
                ),
            ],
            clock,
        )
        desk.submit([{"id": "t-2", "draft": "Second", "input": "Hi"}, {"id": "t-3", "draft": "3"}])
    # Claimed now, so that the lease still holds when the command looks.
    with ReviewDesk.open(db_url, clock=ManualClock(datetime.now(UTC))) as desk:
        assert desk.claim("reviewer-bo-k2") is not None
    code, out, err = run(capsys, "show", "t-1", "--db", db_url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "draft t-1 (refund, risk medium, model drafter-2, confidence 0.80)"
    assert lines[2].startswith("state: decided: edited by reviewer-ana-q7 on 2026-11-02 09:00 UTC")
    assert "not delivered yet" in lines[2]
    assert "\nDraft:\n  Your refund is on its way.\n" in out
    assert "\nInput:\n  Where is my refund?\n" in out
    assert '\nContext:\n  {\n    "order": "A-17"\n  }\n' in out
    assert "Final text (sent as the result):\n  Your refund of 20 EUR is on its way.\n" in out
    trail = out.split("\nTrail:\n", 1)[1]
    assert [line.split()[2] for line in trail.splitlines()] == ["submitted", "claimed", "decided"]
    # Not decided: its state, and who holds it.
    code, out, _ = run(capsys, "show", "t-2", "--db", db_url)
    assert "state: in review by reviewer-bo-k2" in out and "\nContext:" not in out
    document = json.loads(run(capsys, "show", "t-3", "--db", db_url, "--json")[1])
    assert (document["state"], document["result"], document["draft"]) == ("pending", None, "3")
    document = json.loads(run(capsys, "show", "t-1", "--db", db_url, "--json")[1])
    assert document["result"]["label"] == "edited" and document["context"] == {"order": "A-17"}
    assert [e["kind"] for e in document["trail"]] == ["submitted", "claimed", "decided"]


def test_reviewers_lists_recent_activity_from_the_rollup(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Noon of today (UTC): two and forty days before it are whole days from any clock time.
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    clock = ManualClock(now - timedelta(days=40))
    with ReviewDesk.open(db_url, clock=clock, upgrade=True) as desk:
        decide_all(desk, [Spec("old-1", reviewer="reviewer-old-z1")], clock)
        clock.advance(38 * 24 * 3600)
        decide_all(
            desk,
            [
                Spec("a-1", review_seconds=10),
                Spec("a-2", verdict="reject", reason="other", review_seconds=30),
                Spec("b-1", reviewer="reviewer-bo-k2"),
            ],
            clock,
        )
    two_days_ago = (now - timedelta(days=2)).date().isoformat()
    code, out, err = run(capsys, "reviewers", "--db", db_url)
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:] if line.strip()}
    assert set(rows) >= {"reviewer-ana-q7", "reviewer-bo-k2"} and "reviewer-old-z1" not in out
    assert rows["reviewer-ana-q7"][1:3] == ["2", "50.0%"]
    assert rows["reviewer-ana-q7"][-1] == two_days_ago
    document = json.loads(run(capsys, "reviewers", "--days", "60", "--json", "--db", db_url)[1])
    by_name = {r["reviewer"]: r for r in document["reviewers"]}
    assert set(by_name) == {"reviewer-ana-q7", "reviewer-bo-k2", "reviewer-old-z1"}
    assert (
        by_name["reviewer-old-z1"]["last_active"] == (now - timedelta(days=40)).date().isoformat()
    )
    assert by_name["reviewer-ana-q7"]["decided"] == 2
    assert by_name["reviewer-ana-q7"]["approved"]["rate"] == 0.5
    assert by_name["reviewer-ana-q7"]["median_review_seconds"] is not None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def wide(sqlite_url: str) -> str:
    """Decisions whose every figure is filled in: long names, edits, every verdict."""
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    specs = []
    for i in range(30):
        for category in ("cancellation_fee", "shipping_address_change"):
            verdict = ("approve", "edit", "reject", "escalate", "approve")[i % 5]
            specs.append(
                Spec(
                    f"{category}-{i}",
                    category=category,
                    model="support-drafter-2026.09-long",
                    confidence=0.5 + (i % 10) / 20,
                    verdict=verdict,
                    text="An edited text." if verdict == "edit" else None,
                    reason="policy_violation" if verdict == "reject" else None,
                    severity="medium" if verdict == "escalate" else None,
                    note="The customer disputes this; billing checks it first."
                    if verdict == "escalate"
                    else None,
                )
            )
    with ReviewDesk.open(sqlite_url, clock=clock, upgrade=True) as desk:
        decide_all(desk, specs, clock)
    return sqlite_url


LEAD_TABLES = (
    ["stats", "--by", "category"],
    ["stats", "--by", "category,model,confidence"],
    ["recommend"],
    ["reviewers", "--days", "3660"],
    ["escalations", "list"],
)


@pytest.mark.parametrize("argv", LEAD_TABLES, ids=" ".join)
@pytest.mark.one_engine("table widths: the same rows print the same whatever engine counted them")
def test_lead_tables_fit_100_columns(
    wide: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv, "--db", wide)
    assert code == 0, err
    too_wide = [line for line in out.splitlines() if len(line) > 100]
    assert not too_wide, "\n".join(too_wide)


# Three long grouping keys and one figure are wider than 72 columns: a table is never narrower
# than its keys and one column.
@pytest.mark.parametrize(
    "argv", [a for a in LEAD_TABLES if "category,model,confidence" not in a], ids=" ".join
)
@pytest.mark.one_engine("table widths: the same rows print the same whatever engine counted them")
def test_lead_tables_fit_the_terminal(
    wide: str, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    for columns, shortest_longest in ((72, 60), (160, 101)):
        monkeypatch.setenv("COLUMNS", str(columns))
        terminal = _Terminal()
        monkeypatch.setattr("sys.stdout", terminal)
        assert main([*argv, "--db", wide]) == 0
        lines = terminal.getvalue().splitlines()
        assert max(len(line) for line in lines) <= columns, terminal.getvalue()
        if argv[0] == "recommend":
            # A wide terminal is used: the explanations under each row run longer.
            assert max(len(line) for line in lines) >= shortest_longest


@pytest.mark.one_engine(
    "line wrapping of what show prints; show's read runs on every engine in test_queue.py"
)
def test_show_wraps_long_lines_to_fit(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    words = " ".join(f"word{i}" for i in range(80))
    with ReviewDesk.open(sqlite_url, upgrade=True) as desk:
        desk.submit([{"id": "long", "draft": words, "input": words}])
    code, out, _ = run(capsys, "show", "long", "--db", sqlite_url)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    # Wrapped, not cut: every word is there, once in the draft and once in the input.
    assert out.split().count("word79") == 2

"""``reviewdesk policy``: set, list, show and reset from the command line."""

from __future__ import annotations

import json
import random

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def db(db_url: str) -> str:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        desk.submit([{"id": "a", "draft": "hello", "category": "billing"}])
    return db_url


def test_set_list_show_and_reset(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "policy",
        "set",
        "billing",
        "--aoql",
        "0.02",
        "--fraction",
        "0.1",
        "--note",
        "approval is high",
        "--lead",
        "ana",
        "--json",
        "--db",
        db,
    )
    assert code == 0
    policy = json.loads(out)
    assert (policy["clearance"], policy["fraction"], policy["mode"]) == (54, 0.1, "sampling")
    assert policy["states"] == []  # no draft routed yet
    code, out, _ = run(capsys, "policy", "list", "--db", db)
    assert code == 0 and "i=54, f=0.1, AOQL 2.00%" in out and "no draft routed yet" in out
    with ReviewDesk.open(db) as desk:
        desk.submit([{"id": "b", "draft": "hi", "category": "billing"}])
    code, out, _ = run(capsys, "policy", "list", "--db", db)
    assert "screening 0/54 clear" in out and "reviewed 1 (100.0%)" in out
    code, out, _ = run(capsys, "policy", "show", "billing", "--db", db)
    assert "policy created by ana: approval is high" in out
    code, out, _ = run(
        capsys, "policy", "reset", "--all", "--note", "rollback", "--lead", "bo", "--db", db
    )
    assert code == 0 and "1 policy back to full review" in out
    code, out, _ = run(capsys, "policy", "show", "billing", "--json", "--db", db)
    history = json.loads(out)[0]["history"]
    assert (history[0]["kind"], history[0]["by"], history[0]["note"]) == ("reset", "bo", "rollback")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--aoql", "1", "--fraction", "0.1"], "AOQL must be a share strictly between 0 and 1"),
        (["--aoql", "0.02", "--fraction", "0"], "sampling fraction f must be more than 0"),
        (["--aoql", "0.02"], "either a sampling fraction"),
        (["--fraction", "0.1"], "policy set needs --aoql"),
    ],
)
def test_bad_input_is_one_clear_line(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(
        capsys, "policy", "set", "billing", *argv, "--note", "n", "--lead", "ana", "--db", db
    )
    assert code == 1 and message in err and "Traceback" not in err
    code, _, err = run(
        capsys,
        "policy",
        "set",
        "shipping",
        "--aoql",
        "0.02",
        "--fraction",
        "0.1",
        "--note",
        "n",
        "--lead",
        "ana",
        "--db",
        db,
    )
    assert code == 1 and "Unknown category 'shipping'" in err


def test_show_says_a_draft_was_released(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ReviewDesk.open(db, rng=random.Random(2)) as desk:
        desk.set_session_limits(SessionLimits.off())
        desk.submit([{"id": f"h{i}", "draft": "hi", "category": "billing"} for i in range(5)])
        while (lease := desk.claim("ana")) is not None:
            desk.decide(lease, "approve", review_seconds=10)
        desk.policies.set(
            "billing", aoql=0.05, fraction=0.5, note="n", by="lea", start_from_history=True
        )
        # PostgreSQL draws on the server: none of 40 released has a chance of 1e-12.
        report = desk.submit(
            [{"id": f"r{i}", "draft": "x", "category": "billing"} for i in range(40)]
        )
    released = next(r.id for r in report.routings if r.route.value == "released")
    code, out, _ = run(capsys, "show", released, "--db", db)
    assert code == 0
    assert "state: released unreviewed by review policy #1" in out
    assert "probability of review 0.5" in out.replace("\n  ", " ")


def test_recommend_shows_the_drafts_released_per_cell(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ReviewDesk.open(db, rng=random.Random(3)) as desk:
        desk.set_session_limits(SessionLimits.off())
        desk.submit(
            [
                {"id": f"h{i}", "draft": "hi", "category": "billing", "confidence": 0.97}
                for i in range(5)
            ]
        )
        while (lease := desk.claim("ana")) is not None:
            desk.decide(lease, "approve", review_seconds=10)
        desk.policies.set(
            "billing", aoql=0.05, fraction=0.5, note="n", by="lea", start_from_history=True
        )
        report = desk.submit(
            [
                {"id": f"r{i}", "draft": "x", "category": "billing", "confidence": 0.97}
                for i in range(30)
            ]
        )
    released = report.routings and sum(r.route.value == "released" for r in report.routings)
    assert released
    code, out, _ = run(capsys, "recommend", "--json", "--db", db)
    assert code == 0
    found = json.loads(out)
    assert found["released"] == released
    billing = next(c for c in found["categories"] if c["category"] == "billing")
    # Released drafts are not decisions: the evidence counts only the six decided.
    assert (billing["released"], billing["n"]) == (released, 6)
    band = next(b for b in found["bands"] if b["category"] == "billing")
    assert band["released"] == released
    code, out, _ = run(capsys, "recommend", "--db", db)
    assert code == 0
    assert f"{released} drafts released unreviewed by review policies" in out.replace("\n", " ")
    row = next(line for line in out.splitlines() if line.startswith("billing"))
    assert f" {released} " in row

"""The escalation inbox and its resolution, and the lead's CLI commands (SQLite, PostgreSQL)."""

from __future__ import annotations

import argparse
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from reviewdesk import InvalidDecision, ReviewDesk, UndoRefused
from reviewdesk.cli.leading import LEAD_COMMANDS, add_lead_commands
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Label, Severity
from reviewdesk.services.escalations import EscalationInbox, Resolution, ResolveRefused
from reviewdesk.services.stats import Dimension, StatsService


def escalate(
    desk: ReviewDesk, clock: ManualClock, draft_id: str, severity: str, *, category: str = "refund"
) -> int:
    desk.submit([{"id": draft_id, "draft": f"Draft {draft_id}", "category": category}])
    lease = desk.claim("ana")
    assert lease is not None and lease.draft.id == draft_id
    decision = desk.decide(lease, "escalate", severity=severity, note="Check the refund amount.")
    assert decision.label is Label.ESCALATED
    return next(
        r.cursor for r in desk.results(unsettled=True, include_delivered=True) if r.id == draft_id
    )


def test_inbox_orders_by_due_time_and_flags_overdue(desk: ReviewDesk, clock: ManualClock) -> None:
    start = clock.now()
    low = escalate(desk, clock, "low-1", "low")  # due start + 24 h
    clock.advance(600)
    medium = escalate(desk, clock, "medium-1", "medium")  # due start + 10 min + 4 h
    clock.advance(600)
    critical = escalate(desk, clock, "critical-1", "critical")  # due start + 20 min + 15 min
    inbox = EscalationInbox.for_desk(desk)
    items = inbox.list()
    assert [e.cursor for e in items] == [critical, medium, low]
    first = items[0]
    assert first.severity is Severity.CRITICAL
    assert first.due_at == start + timedelta(minutes=35)
    assert not first.overdue and first.resolution is None
    assert first.note == "Check the refund amount." and first.reviewer == "ana"
    clock.advance(16 * 60)
    items = inbox.list()
    assert [e.overdue for e in items] == [True, False, False]
    assert [e.cursor for e in inbox.list(severities=["medium", "low"])] == [medium, low]


def test_resolution_reaches_the_consumer_again(desk: ReviewDesk, clock: ManualClock) -> None:
    cursor = escalate(desk, clock, "t-1", "high")
    results = desk.results(unsettled=True)
    assert [r.id for r in results] == ["t-1"] and results[0].label is Label.ESCALATED
    desk.ack(results)
    assert desk.results(unsettled=True) == []
    clock.advance(30 * 60)
    inbox = EscalationInbox.for_desk(desk)
    resolved = inbox.resolve(
        cursor, "send_edited", note="Amount fixed.", text="Your refund of 20 EUR is on its way.",
        lead="lea",
    )  # fmt: skip
    assert resolved.resolution is Resolution.SEND_EDITED
    assert resolved.resolution_text == "Your refund of 20 EUR is on its way."
    assert resolved.resolution_note == "Amount fixed." and resolved.resolved_by == "lea"
    assert resolved.resolved_at == clock.now() and not resolved.breached
    # Delivered again: the consumer sees the result once more, until it acknowledges it.
    again = desk.results(unsettled=True)
    assert [r.cursor for r in again] == [cursor]
    assert again[0].final == "Your refund of 20 EUR is on its way."  # core.domain.text_to_send
    desk.ack(again)
    assert desk.results(unsettled=True) == []
    assert inbox.list() == []
    assert [e.cursor for e in inbox.list(include_resolved=True)] == [cursor]


@pytest.mark.parametrize(
    ("outcome", "expected_text"),
    [("send_as_is", "Draft t-1"), ("reject", None), ("dismiss", None)],
)
def test_each_outcome(
    desk: ReviewDesk, clock: ManualClock, outcome: str, expected_text: str | None
) -> None:
    cursor = escalate(desk, clock, "t-1", "medium")
    item = EscalationInbox.for_desk(desk).resolve(cursor, outcome, note="Checked.", lead="lea")
    assert item.resolution is Resolution(outcome)
    assert item.resolution_text == expected_text


def test_resolution_is_validated_and_fenced(desk: ReviewDesk, clock: ManualClock) -> None:
    inbox = EscalationInbox.for_desk(desk)
    cursor = escalate(desk, clock, "t-1", "low")
    with pytest.raises(InvalidDecision, match="note"):
        inbox.resolve(cursor, "reject", note=" ", lead="lea")
    with pytest.raises(InvalidDecision, match="text"):
        inbox.resolve(cursor, "send_edited", note="x", lead="lea")
    with pytest.raises(InvalidDecision, match="no text"):
        inbox.resolve(cursor, "reject", note="x", text="y", lead="lea")
    with pytest.raises(InvalidDecision, match="Unknown resolution"):
        inbox.resolve(cursor, "approve", note="x", lead="lea")
    with pytest.raises(ValueError, match="lead"):
        inbox.resolve(cursor, "reject", note="x", lead="")
    inbox.resolve(cursor, "dismiss", note="Handled by phone.", lead="lea")
    with pytest.raises(ResolveRefused, match="already resolved") as refused:
        inbox.resolve(cursor, "reject", note="x", lead="lea")
    assert refused.value.why == "resolved"
    with pytest.raises(ResolveRefused) as missing:
        inbox.resolve(99999, "reject", note="x", lead="lea")
    assert missing.value.why == "missing"
    desk.submit([{"id": "a-1", "draft": "fine"}])
    lease = desk.claim("bob")
    assert lease is not None
    desk.decide(lease, "approve")
    approved = next(r.cursor for r in desk.results(unsettled=True) if r.id == "a-1")
    with pytest.raises(ResolveRefused) as not_escalated:
        inbox.resolve(approved, "reject", note="x", lead="lea")
    assert not_escalated.value.why == "not_escalated"


def test_undone_escalation_cannot_be_resolved(desk: ReviewDesk, clock: ManualClock) -> None:
    cursor = escalate(desk, clock, "t-1", "high")
    desk.undo("ana")
    with pytest.raises(ResolveRefused) as refused:
        EscalationInbox.for_desk(desk).resolve(cursor, "reject", note="x", lead="lea")
    assert refused.value.why == "undone"
    assert EscalationInbox.for_desk(desk).list() == []


def test_sla_breaches_appear_in_statistics(desk: ReviewDesk, clock: ManualClock) -> None:
    inbox = EscalationInbox.for_desk(desk)
    on_time = escalate(desk, clock, "on-time", "critical", category="refund")
    clock.advance(10 * 60)
    inbox.resolve(on_time, "reject", note="Wrong amount.", lead="lea")
    late = escalate(desk, clock, "late", "critical", category="refund")
    clock.advance(20 * 60)
    resolved_late = inbox.resolve(late, "send_as_is", note="Fine after all.", lead="lea")
    assert resolved_late.breached and not resolved_late.overdue
    escalate(desk, clock, "open", "high", category="billing")
    escalate(desk, clock, "open-late", "low", category="billing")
    clock.advance(2 * 3600)  # "open" (1 h) is now overdue; "open-late" (24 h) is not
    stats = StatsService.for_desk(desk).compute([Dimension.CATEGORY])
    by_cat = {g.key[0]: g for g in stats.groups}
    assert (by_cat["refund"].sla_breaches.count, by_cat["refund"].sla_breaches.total) == (1, 2)
    assert by_cat["refund"].escalations_open == 0
    assert (by_cat["billing"].sla_breaches.count, by_cat["billing"].sla_breaches.total) == (1, 2)
    assert by_cat["billing"].escalations_open == 2
    assert stats.total.sla_breaches.count == 2
    # The inbox (core.escalation_sla) and the statistics (its SQL twin) agree on each one.
    listed = inbox.list(include_resolved=True)
    assert {e.id: (e.breached, e.overdue) for e in listed} == {
        "on-time": (False, False),
        "late": (True, False),
        "open": (True, True),
        "open-late": (False, False),
    }
    assert sum(e.breached for e in listed) == stats.total.sla_breaches.count


def test_reviewer_cannot_undo_an_escalation_once_resolved(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    # Once a lead has acted on an escalation, the reviewer's undo must not pull it back.
    cursor = escalate(desk, clock, "t-1", "critical")
    EscalationInbox.for_desk(desk).resolve(cursor, "reject", note="No.", lead="lea")
    with desk._engines.write.connect() as conn:
        resolved_at = conn.execute(
            text("SELECT resolved_at FROM decision WHERE id = :id"), {"id": cursor}
        ).scalar()
    assert resolved_at is not None
    with pytest.raises(UndoRefused, match="already resolved"):
        desk.undo("ana")


# -- the CLI --------------------------------------------------------------------------------------
def run_cli(*argv: str) -> tuple[int, str]:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db")
    common.add_argument("-v", "--verbose", action="store_true")
    parser = argparse.ArgumentParser(prog="reviewdesk")
    sub = parser.add_subparsers(dest="command", required=True)
    add_lead_commands(sub, common)
    args = parser.parse_args(argv)
    out = io.StringIO()
    code = LEAD_COMMANDS[args.command](args, out)
    return code, out.getvalue()


@pytest.fixture
def cli_desk(make_desk: object, db_url: str) -> tuple[ReviewDesk, str]:
    desk: ReviewDesk = make_desk()  # type: ignore[operator]
    desk.submit(
        [
            {"id": "a", "draft": "Hello there", "category": "refund", "confidence": 0.97},
            {"id": "b", "draft": "Hello again", "category": "refund", "confidence": 0.6},
            {"id": "c", "draft": "Help", "category": "billing"},
        ]
    )
    for verdict, extra in (
        ("approve", {}),
        ("edit", {"text": "Hello again!"}),
        ("escalate", {"severity": "high", "note": "Unclear"}),
    ):
        lease = desk.claim("ana")
        assert lease is not None
        desk.decide(lease, verdict, review_seconds=12.0, **extra)  # type: ignore[arg-type]
    return desk, db_url


def test_cli_stats_table_and_json(cli_desk: tuple[ReviewDesk, str]) -> None:
    _, url = cli_desk
    code, out = run_cli("stats", "--db", url, "--by", "category,confidence")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["category", "confidence", "decided", "approved"]
    assert any(line.startswith("refund") and ">=0.95" in line for line in lines)
    assert any(line.startswith("total") for line in lines)
    assert "Escalations by severity" in out
    code, out = run_cli("stats", "--db", url, "--by", "category", "--json", "--category", "refund")
    data = json.loads(out)
    assert [g["category"] for g in data["groups"]] == ["refund"]
    assert data["groups"][0]["decided"] == 2
    assert data["groups"][0]["approved"]["count"] == 1
    assert data["filter"]["categories"] == ["refund"]


def test_cli_stats_rejects_bad_groupings(cli_desk: tuple[ReviewDesk, str]) -> None:
    _, url = cli_desk
    with pytest.raises(SystemExit):
        run_cli("stats", "--db", url, "--by", "colour")


def test_cli_recommend(cli_desk: tuple[ReviewDesk, str]) -> None:
    _, url = cli_desk
    code, out = run_cli("recommend", "--db", url)
    assert code == 0
    assert "By category:" in out and "not enough evidence" in out
    assert "Confidence threshold" in out
    code, out = run_cli("recommend", "--db", url, "--json", "--edit-adjusted")
    data = json.loads(out)
    assert {c["category"] for c in data["categories"]} == {"refund", "billing"}
    billing = next(c for c in data["categories"] if c["category"] == "billing")
    assert billing["outcome"] == "keep_full_review" and billing["rule"] == "blocking_escalation"
    assert data["settings"]["edit_adjusted"] is True


def test_cli_leaves_out_low_attention_approvals_unless_asked(
    cli_desk: tuple[ReviewDesk, str],
) -> None:
    desk, url = cli_desk
    with desk._engines.write.begin() as conn:
        conn.execute(
            text(
                "UPDATE decision SET low_attention = :t WHERE draft_id = "
                "(SELECT id FROM draft WHERE external_id = 'a')"
            ),
            {"t": True},
        )
    code, out = run_cli("stats", "--db", url, "--by", "category")
    assert code == 0
    header, _rule, *rows = out.splitlines()
    assert header.split()[:3] == ["category", "decided", "left"]
    refund = next(r for r in rows if r.startswith("refund")).split()
    assert refund[1:3] == ["1", "1"]  # b counted; a, a low-attention approval, left out
    assert "1 low-attention approval left out" in out and "--include-low-attention" in out
    code, out = run_cli("stats", "--db", url, "--by", "category", "--include-low-attention")
    refund = next(r for r in out.splitlines() if r.startswith("refund")).split()
    assert refund[1] == "2" and "left out" not in out.splitlines()[0]
    assert "Low-attention approvals counted" in out
    data = json.loads(run_cli("stats", "--db", url, "--json")[1])
    assert data["filter"]["include_low_attention"] is False
    assert (data["total"]["decided"], data["total"]["low_attention_left_out"]) == (2, 1)

    code, out = run_cli("recommend", "--db", url)
    assert code == 0 and "1 low-attention approval left out" in out
    data = json.loads(run_cli("recommend", "--db", url, "--json", "--include-low-attention")[1])
    assert data["low_attention"] == {"included": True, "left_out": 0}
    refund = next(c for c in data["categories"] if c["category"] == "refund")
    assert refund["n"] == 2


def test_cli_resolve_takes_the_draft_id_and_the_list_number_only_marked_as_such(
    cli_desk: tuple[ReviewDesk, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from reviewdesk.main import main

    desk, url = cli_desk
    desk.submit([{"id": "7", "draft": "Numbered"}, {"id": "#1", "draft": "Hashed"}])
    (item,) = json.loads(run_cli("escalations", "list", "--db", url, "--json")[1])
    cursor = item["cursor"]
    resolve = ["escalations", "resolve", "--note", "ok", "--lead", "lea", "--db", url]
    # A bare number is a draft id, never the list's number: refused, saying how to pick by it.
    assert main([*resolve, str(cursor), "dismiss"]) == 1
    err = capsys.readouterr().err
    assert f"no draft with id '{cursor}'; to pick by the list's number, write #{cursor}" in err
    # A draft that is not escalated, and one that is unknown, are named.
    assert main([*resolve, "7", "dismiss"]) == 1
    assert "draft '7' is not escalated" in capsys.readouterr().err
    assert main([*resolve, "#1", "dismiss"]) == 1  # a draft's own id wins over the number
    assert "draft '#1' is not escalated" in capsys.readouterr().err
    assert main([*resolve, "nosuch", "dismiss"]) == 1
    assert "no draft with id 'nosuch'" in capsys.readouterr().err
    # #N is the list's number.
    assert main([*resolve, f"#{cursor}", "dismiss"]) == 0
    assert f"Escalation of c (#{cursor}) resolved" in capsys.readouterr().out
    assert main([*resolve, "c", "dismiss"]) == 1
    assert "it was already resolved" in capsys.readouterr().err


def test_cli_escalations_list_and_resolve(cli_desk: tuple[ReviewDesk, str]) -> None:
    _, url = cli_desk
    code, out = run_cli("escalations", "list", "--db", url)
    assert code == 0 and "high" in out and "billing" in out
    code, out = run_cli("escalations", "list", "--db", url, "--json")
    (item,) = json.loads(out)
    assert item["severity"] == "high" and item["resolution"] is None
    # Resolved by the id its producer gave the draft.
    code, out = run_cli(
        "escalations", "resolve", item["id"], "send_as_is", "--note", "ok", "--lead", "lea",
        "--db", url,
    )  # fmt: skip
    assert code == 0 and "Escalation of c (#" in out and "resolved" in out
    code, out = run_cli("escalations", "list", "--db", url)
    assert "No open escalations." in out
    code, out = run_cli("escalations", "list", "--db", url, "--all", "--json")
    assert json.loads(out)[0]["resolution"] == "send_as_is"

"""The verdict rules (core/verdicts.py), without a database."""

from __future__ import annotations

import pytest

from reviewdesk.core.domain import Label, Severity, Verdict
from reviewdesk.core.errors import InvalidDecision
from reviewdesk.core.sessions import fast_run_after, fast_run_flagged
from reviewdesk.core.verdicts import (
    VerdictContent,
    checked_review_seconds,
    edit_distance,
    verdict_content,
)

REASONS = ("factual_error", "other")
DRAFT = "Your refund is on its way."


def content(
    verdict: str | Verdict,
    *,
    text: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    severity: str | Severity | None = None,
) -> VerdictContent:
    return verdict_content(
        verdict,
        draft=DRAFT,
        text=text,
        reason=reason,
        note=note,
        severity=severity,
        reject_reasons=REASONS,
    )


def test_an_approval_sends_the_draft_as_it_is() -> None:
    got = content("approve", reason="other", note="  ")
    assert got.verdict is Verdict.APPROVE
    assert got.label is Label.APPROVED
    assert got.final_text == DRAFT
    # A reason belongs to a rejection only; a blank note says nothing.
    assert got.reason is None and got.note is None
    assert got.edit_distance is None and got.severity is None


def test_an_edit_sends_its_text_and_records_how_much_it_changed() -> None:
    got = content(Verdict.EDIT, text="Your refund is on the way.")
    assert got.label is Label.EDITED
    assert got.final_text == "Your refund is on the way."
    assert got.edit_distance == pytest.approx(edit_distance(DRAFT, "Your refund is on the way."))
    assert got.edit_distance is not None and 0 < got.edit_distance < 0.2
    assert edit_distance("abc", "abc") == 0.0
    assert edit_distance("abc", "xyz") == 1.0


@pytest.mark.parametrize(
    ("verdict", "given", "message"),
    [
        ("shrug", {}, "Unknown verdict 'shrug'"),
        ("edit", {}, "An edit needs the corrected text"),
        ("edit", {"text": "   "}, "An edit needs the corrected text"),
        ("edit", {"text": DRAFT}, "same as the draft: approve it instead"),
        ("reject", {}, "one of: factual_error, other"),
        ("reject", {"reason": "rude"}, "got 'rude'"),
        ("escalate", {}, "needs a severity"),
        ("escalate", {"severity": "urgent"}, "got 'urgent'"),
        ("escalate", {"severity": "critical"}, "A critical escalation needs a note"),
        ("escalate", {"severity": "high", "note": "  "}, "A high escalation needs a note"),
    ],
)
def test_what_a_verdict_needs(verdict: str, given: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidDecision, match=message):
        content(verdict, **given)


def test_a_rejection_keeps_its_reason_and_sends_nothing() -> None:
    got = content("reject", reason="factual_error", note=" wrong date ")
    assert got.label is Label.REJECTED
    assert got.final_text is None
    assert got.reason == "factual_error"
    assert got.note == "wrong date"


def test_an_escalation_keeps_its_severity_and_low_ones_need_no_note() -> None:
    got = content("escalate", severity="low")
    assert got.label is Label.ESCALATED
    assert got.severity is Severity.LOW
    assert got.final_text is None and got.note is None
    assert content("escalate", severity=Severity.HIGH, note="wrong").note == "wrong"


def test_review_seconds_are_recorded_to_the_millisecond_and_never_negative() -> None:
    assert checked_review_seconds(1.23456) == 1.235
    assert checked_review_seconds(0) == 0
    with pytest.raises(InvalidDecision, match="cannot be negative"):
        checked_review_seconds(-0.001)


def test_a_run_of_fast_approvals_grows_with_each_and_ends_with_any_other_decision() -> None:
    assert fast_run_after(0, fast=True) == 1
    assert fast_run_after(4, fast=True) == 5
    assert fast_run_after(4, fast=False) == 0
    assert fast_run_flagged(fast_run_after(4, fast=True), 5)
    assert not fast_run_flagged(fast_run_after(3, fast=True), 5)

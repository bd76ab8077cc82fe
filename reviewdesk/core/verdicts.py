"""What a verdict needs and what it records: the rules of a decision's content, whatever the
engine or the caller (services/desk.py builds a decision's write from them).

- approve: sends the draft as it is;
- edit: sends the corrected text, which must be there and differ from the draft; its edit
  distance (normalized Levenshtein, 0 to 1) is recorded;
- reject: needs a reason, one of the team's reject reasons; sends nothing;
- escalate: needs a severity, and a note for those that need one (``Severity.needs_note``);
  sends nothing until a lead resolves it (domain.text_to_send).
A note is kept only when it says something; a reason only on a rejection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from reviewdesk.core.domain import LABEL_OF_VERDICT, Label, Severity, Verdict
from reviewdesk.core.errors import InvalidDecision


@dataclass(frozen=True)
class VerdictContent:
    """A verdict's checked content: what the decision records."""

    verdict: Verdict
    label: Label
    final_text: str | None  # what goes out when the result is sent (approve, edit)
    reason: str | None  # a rejection's
    note: str | None
    severity: Severity | None  # an escalation's
    edit_distance: float | None  # an edit's


def parse_verdict(verdict: str | Verdict) -> Verdict:
    try:
        return Verdict(verdict)
    except ValueError:
        raise InvalidDecision(
            f"Unknown verdict {verdict!r}: use approve, edit, reject or escalate."
        ) from None


def edit_distance(draft: str, final: str) -> float:
    """How much an edit changed the draft: normalized Levenshtein distance, 0 (same) to 1."""
    return float(Levenshtein.normalized_distance(draft, final))


def verdict_content(
    verdict: str | Verdict,
    *,
    draft: str,
    text: str | None,
    reason: str | None,
    note: str | None,
    severity: str | Severity | None,
    reject_reasons: Sequence[str],
) -> VerdictContent:
    """Check a verdict on ``draft`` and say what it records. Raises InvalidDecision."""
    verdict = parse_verdict(verdict)
    final: str | None = None
    sev: Severity | None = None
    if verdict is Verdict.APPROVE:
        final = draft
    elif verdict is Verdict.EDIT:
        if text is None or not text.strip():
            raise InvalidDecision("An edit needs the corrected text.")
        if text == draft:
            raise InvalidDecision("The edited text is the same as the draft: approve it instead.")
        final = text
    elif verdict is Verdict.REJECT:
        if reason not in reject_reasons:
            raise InvalidDecision(
                f"A rejection needs a reason, one of: {', '.join(reject_reasons)} (got {reason!r})."
            )
    else:
        try:
            sev = Severity(severity) if severity is not None else None
        except ValueError:
            sev = None
        if sev is None:
            raise InvalidDecision(
                f"An escalation needs a severity: critical, high, medium or low (got {severity!r})."
            )
        if sev.needs_note and not (note and note.strip()):
            raise InvalidDecision(f"A {sev.value} escalation needs a note saying what is wrong.")
    return VerdictContent(
        verdict=verdict,
        label=LABEL_OF_VERDICT[verdict],
        final_text=final,
        reason=reason if verdict is Verdict.REJECT else None,
        note=note.strip() if note and note.strip() else None,
        severity=sev,
        edit_distance=(
            edit_distance(draft, final) if verdict is Verdict.EDIT and final is not None else None
        ),
    )


def checked_review_seconds(review_seconds: float) -> float:
    """A decision's review time as recorded (to the millisecond). Raises InvalidDecision when
    negative."""
    if review_seconds < 0:
        raise InvalidDecision("review_seconds cannot be negative.")
    return round(review_seconds, 3)

"""Which decisions count as defects for a review policy (docs/policies.md).

A defect is a draft that would have gone out bad had nobody reviewed it: rejected, escalated, or
edited beyond the trivial-edit threshold. A comma is not a defect, unless the policy says trivial
edits count too. A known-answer (gold) draft never counts: its answer is about the reviewer.

The count of a decision in the database runs this rule again in SQL (storage/policy_sql.py,
docs/architecture.md "Rules written again in SQL"); tests/test_policy_count_sql.py keeps the two
the same.
"""

from __future__ import annotations

# Edits of at most this normalized edit distance are trivial: the statistics' default
# (services/stats.py DEFAULT_TRIVIAL_EDIT, which the rollup counts as ``trivial``).
TRIVIAL_EDIT_DISTANCE = 0.02

_STOPPED = frozenset({"rejected", "escalated"})


def is_defect(
    label: str,
    edit_distance: float | None,
    *,
    trivial_edits_count: bool = False,
    gold: bool = False,
) -> bool:
    """Whether a decision with ``label`` (and, for an edit, its normalized distance) is a defect."""
    if gold:
        return False
    if label in _STOPPED:
        return True
    if label == "edited":
        if trivial_edits_count or edit_distance is None:
            return True
        return edit_distance > TRIVIAL_EDIT_DISTANCE
    return False

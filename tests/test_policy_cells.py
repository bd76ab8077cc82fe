"""Which policy a draft falls under: the most specific cell that holds it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reviewdesk.core.errors import InvalidArgument
from reviewdesk.core.policy_cells import Cell, Mode, Policy, check_cell, policy_for
from reviewdesk.core.sampling_plan import Plan

AT = datetime(2026, 12, 1, tzinfo=UTC)


def policy(pid: int, cell: Cell, mode: Mode = Mode.SAMPLING) -> Policy:
    return Policy(pid, cell, mode, 0.02, Plan(54, 0.1), False, AT, "lea")


ANY = policy(1, Cell("billing"))
FLOOR = policy(2, Cell("billing", 0.8))
HIGHER = policy(3, Cell("billing", 0.9))
MODEL = policy(4, Cell("billing", None, "v2"))
OFF = policy(5, Cell("refund"), Mode.FULL)
ALL = (ANY, FLOOR, HIGHER, MODEL, OFF)


@pytest.mark.parametrize(
    ("category", "confidence", "model", "expected"),
    [
        ("billing", None, None, ANY),  # no confidence: no floor holds it
        ("billing", 0.5, "v1", ANY),
        ("billing", 0.85, None, FLOOR),
        ("billing", 0.95, "v1", HIGHER),
        ("billing", 0.95, "v2", MODEL),  # naming the model is more specific than a floor
        ("refund", 0.99, None, None),  # its policy is off: full review
        ("other", 0.99, None, None),
    ],
)
def test_the_most_specific_policy_applies(
    category: str, confidence: float | None, model: str | None, expected: Policy | None
) -> None:
    assert policy_for(ALL, category, confidence, model) is expected


def test_cells_have_one_key_each() -> None:
    keys = {p.cell.key() for p in ALL}
    assert len(keys) == len(ALL)
    assert Cell("billing", 0.8).key() == check_cell("billing", 0.8, None).key()


def test_bad_cells_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="needs a category"):
        check_cell(" ", None, None)
    with pytest.raises(InvalidArgument, match="confidence floor"):
        check_cell("billing", 1.5, None)

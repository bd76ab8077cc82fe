"""PostgreSQL routes a submit's drafts in the database (rd_submit), with core's matching rule and
model key written again in SQL (storage/policy_sql.py): random drafts against random policies
must get the policy and model key core gives them."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.policy_cells import PROMPT_VERSION, model_key, policy_for
from reviewdesk.storage.policy_sql import PY_WHITESPACE, alarm_values

FLOORS = (None, None, 0.0, 0.25, 0.5, 0.8, 1.0)
MODELS = (None, None, "v1", "v2", " v1", "v1 ")
PROMPTS: tuple[Any, ...] = (
    "p1", " p2 ", "", "   ", "\u3000", "\u2028q\u00a0", "x" * 300, "0", "None", "True",
    0, 3, -7, 10**12, 2.0, 0.1, -0.0, 1e-05, 0.0001, 1e15, 1.5e15, 1234567890123456.8,
    999999999999999.9, 1e16, 1.2345678901234568e17, 5e-324, 1e300, 100000.0,
    True, False, None, [1, 2], {"a": 1}, [],
)  # fmt: skip


def test_the_whitespace_is_pythons() -> None:
    assert "".join(map(chr, PY_WHITESPACE)) == "".join(
        c for c in map(chr, range(0x110000)) if c.isspace()
    )


def _policies(conn: Any, rng: random.Random, categories: list[str]) -> None:
    """A random set of policies on ``categories``: some sampling, some off (full review)."""
    now = datetime.now(UTC)
    seen = set()
    for _ in range(rng.randrange(1, 9)):
        category = rng.choice(categories)
        floor = rng.choice(FLOORS)
        model = rng.choice((None, None, "v1", "v2"))
        key = (category, floor, model)
        if key in seen:
            continue
        seen.add(key)
        conn.execute(
            text(
                """INSERT INTO policy (cell, category, min_confidence, model, mode, aoql,
                    fraction, clearance, trivial_edits_count, updated_at, updated_by,
                    cusum_defect, cusum_clear, cusum_limit)
                VALUES (:cell, :category, :floor, :model, :mode, 0.02, 0.1, 54, false, :now,
                        'lead', :cusum_defect, :cusum_clear, :cusum_limit)"""
            ),
            {
                "cell": "\x1f".join(map(str, key)),
                "category": category,
                "floor": floor,
                "model": model,
                "mode": rng.choice(("sampling", "sampling", "full")),
                "now": now,
                **alarm_values(0.02),
            },
        )


def _draft(rng: random.Random, categories: list[str], i: int) -> dict[str, Any]:
    record: dict[str, Any] = {"id": f"d{i}", "draft": "text", "category": rng.choice(categories)}
    confidence = rng.choice((None, "floor", "floor", "any"))
    if confidence == "floor":
        record["confidence"] = rng.choice([f for f in FLOORS if f is not None])
    elif confidence == "any":
        record["confidence"] = rng.random()
    model = rng.choice(MODELS)
    if model is not None:
        record["model"] = model
    if rng.random() < 0.7:
        record["metadata"] = {PROMPT_VERSION: rng.choice(PROMPTS), "other": 1}
    return record


@pytest.mark.one_engine("the SQL copy of the rules runs on PostgreSQL only")
def test_sql_picks_the_policy_and_model_key_core_picks(postgres_url: str) -> None:
    rng = random.Random(20261205)
    checked = routed = 0
    with ReviewDesk.open(postgres_url, upgrade=True) as desk:
        store = desk.policies._store
        for round_ in range(12):
            categories = [f"r{round_}c{k}" for k in range(3)]
            with store.engines.write.begin() as conn:
                _policies(conn, rng, categories)
            policies = [p for p in store.policies() if p.cell.category in categories]
            records = [_draft(rng, categories, round_ * 1000 + i) for i in range(400)]
            report = desk.submit(records)
            got = {r.id: (r.policy_id, r.model_key) for r in report.routings}
            for record in records:
                policy = policy_for(
                    policies, record["category"], record.get("confidence"), record.get("model")
                )
                if policy is None:
                    assert record["id"] not in got, record
                    continue
                expected = (policy.id, model_key(record.get("model"), record.get("metadata")))
                assert got.get(record["id"]) == expected, record
                routed += 1
            checked += len(records)
        # The routings as kept agree with the report.
        with store.engines.write.connect() as conn:
            kept = conn.execute(
                text(
                    """SELECT d.external_id, r.policy_id, r.model_key FROM policy_routing r
                    JOIN draft d ON d.id = r.draft_id"""
                )
            ).all()
    assert checked == 4800 and routed > 1000
    assert len(kept) == routed

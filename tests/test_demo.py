"""The shipped demo queue: real rows of the Bitext data, valid drafts, sane threads, and loading."""

from __future__ import annotations

import csv
import gzip
import importlib.util
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.core.intake import parse_jsonl
from reviewdesk.services.demo import (
    DEMO_FILE,
    demo_path,
    demo_records,
    load_demo_if_empty,
    load_demo_queue,
)

REPO = Path(__file__).parents[1]
CSV_PATH = REPO.parent / "shared" / "data" / "bitext_customer_support_gpt3.5_6480.csv.gz"
BUILDER = REPO / "packaging" / "build_demo_queue.py"
CATEGORIES = {
    "account",
    "cancellation_fee",
    "contact",
    "delivery",
    "feedback",
    "invoice",
    "newsletter",
    "order",
    "payment",
    "refund",
    "shipping_address",
}

needs_csv = pytest.mark.skipif(
    not CSV_PATH.is_file(), reason=f"the source dataset is not at {CSV_PATH}"
)


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return demo_records()


@pytest.fixture(scope="module")
def csv_rows() -> list[dict[str, str]]:
    if not CSV_PATH.is_file():
        pytest.skip(f"the source dataset is not at {CSV_PATH}")
    with gzip.open(CSV_PATH, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_demo_queue", BUILDER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_file_passes_validation() -> None:
    with gzip.open(demo_path(), "rb") as handle:
        valid, problems = parse_jsonl(handle, source=DEMO_FILE)
    assert problems == []
    assert len(valid) >= 300


def test_covers_every_category_and_stays_small(records: list[dict[str, Any]]) -> None:
    per_category = Counter(r["category"] for r in records)
    assert set(per_category) == CATEGORIES
    assert max(per_category.values()) - min(per_category.values()) <= 1
    assert demo_path().stat().st_size < 500_000


def test_assigned_fields_follow_the_documented_rules(records: list[dict[str, Any]]) -> None:
    high = {"refund", "payment", "cancellation_fee", "invoice"}
    low = {"contact", "feedback", "newsletter"}
    for r in records:
        expected = "high" if r["category"] in high else "low" if r["category"] in low else "medium"
        assert r["risk"] == expected, r["id"]
        assert 0.55 <= r["confidence"] <= 0.99
        assert r["priority"] == 0 or r["risk"] == "high"
        assert 2 <= len(r["context"]["retrieved"]) <= 3
    assert len({r["model"] for r in records}) == 2


@needs_csv
def test_drafts_and_inputs_are_the_datasets_own_text(
    records: list[dict[str, Any]], csv_rows: list[dict[str, str]]
) -> None:
    for r in records:
        row = csv_rows[r["metadata"]["source_row"]]
        assert r["draft"] == row["response"], r["id"]
        assert r["input"] == row["instruction"], r["id"]
        assert r["category"] == row["category"].lower()
        assert r["context"]["intent"] == r["metadata"]["intent"] == row["intent"]
        for doc in r["context"]["retrieved"]:
            source_row = int(doc["title"].rsplit("#", 1)[1])
            assert doc["text"] == csv_rows[source_row]["response"], r["id"]
    assert len({r["metadata"]["source_row"] for r in records}) == len(records)


def test_threads_run_forward_in_time(records: list[dict[str, Any]]) -> None:
    threads: dict[str, list[datetime]] = defaultdict(list)
    for r in records:
        threads[r["thread"]].append(datetime.fromisoformat(r["created_at"]))
    shared = {key: times for key, times in threads.items() if len(times) > 1}
    assert all(len(times) <= 4 for times in threads.values())
    on_shared = sum(len(times) for times in shared.values())
    assert 0.25 <= on_shared / len(records) <= 0.45
    # File order is created_at order, so each thread's earlier drafts come first in the file too.
    all_times = [datetime.fromisoformat(r["created_at"]) for r in records]
    assert all_times == sorted(all_times)
    assert len(set(all_times)) == len(all_times)


@needs_csv
def test_rebuilding_gives_the_same_records(records: list[dict[str, Any]]) -> None:
    assert _builder().build(CSV_PATH) == records


def test_load_if_empty_loads_once(desk: ReviewDesk, records: list[dict[str, Any]]) -> None:
    first = load_demo_if_empty(desk)
    assert first is not None
    assert (first.submitted, first.duplicates) == (len(records), 0)
    assert desk.counts().pending == len(records)
    assert load_demo_if_empty(desk) is None
    assert desk.counts().pending == len(records)


def test_load_if_empty_leaves_a_used_database_alone(desk: ReviewDesk) -> None:
    desk.submit([{"id": "mine-1", "draft": "Hello"}])
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "approve", review_seconds=1.0)
    assert load_demo_if_empty(desk) is None
    assert desk.counts().decided == 1
    assert desk.counts().pending == 0


def test_loading_twice_writes_nothing_new(desk: ReviewDesk, records: list[dict[str, Any]]) -> None:
    first = load_demo_queue(desk)
    assert first.submitted == len(records)
    second = load_demo_queue(desk)
    assert (second.submitted, second.duplicates) == (0, len(records))
    assert desk.counts().pending == len(records)


def test_history_shows_the_customers_earlier_drafts(
    desk: ReviewDesk, records: list[dict[str, Any]]
) -> None:
    load_demo_queue(desk)
    sizes = Counter(r["thread"] for r in records)
    last = next(r for r in reversed(records) if sizes[r["thread"]] == 4)
    history = desk.history(last["id"])
    assert [e.draft.thread for e in history.thread] == [last["thread"]] * 3
    assert all(e.draft.created_at < history.draft.created_at for e in history.thread)

"""The shipped demo data: real rows of the Bitext data, valid and distinct drafts, the composed
mistakes at their stated shares, sane threads, the same bytes from a fresh build, and loading."""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.config.resources import resource
from reviewdesk.core.intake import parse_jsonl
from reviewdesk.services.demo import (
    DEMO_FILE,
    HISTORY_FILE,
    MISTAKES_FILE,
    answer_key,
    demo_records,
    history_records,
    load_demo_if_empty,
    load_demo_queue,
)

REPO = Path(__file__).parents[1]
CSV_NAME = "bitext_customer_support_gpt3.5_6480.csv.gz"
# Beside the checkout, or beside a folder above it (a worktree); as the builder looks for it.
CSV_PATH = next(
    (p / "shared" / "data" / CSV_NAME for p in REPO.parents if (p / "shared" / "data").is_dir()),
    REPO.parent / "shared" / "data" / CSV_NAME,
)
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
def history() -> list[dict[str, Any]]:
    return history_records()


@pytest.fixture(scope="module")
def csv_rows() -> list[dict[str, str]]:
    if not CSV_PATH.is_file():
        pytest.skip(f"the source dataset is not at {CSV_PATH}")
    with gzip.open(CSV_PATH, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@functools.cache
def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_demo_queue", BUILDER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", [DEMO_FILE, HISTORY_FILE])
def test_shipped_files_pass_validation(name: str) -> None:
    with gzip.open(resource(*name.split("/")), "rb") as handle:
        valid, problems = parse_jsonl(handle, source=name)
    assert problems == []
    assert len(valid) >= 300


def test_covers_every_category_and_stays_small(records: list[dict[str, Any]]) -> None:
    per_category = Counter(r["category"] for r in records)
    assert set(per_category) == CATEGORIES
    assert max(per_category.values()) - min(per_category.values()) <= 1
    for name in (DEMO_FILE, HISTORY_FILE, MISTAKES_FILE):
        assert resource(*name.split("/")).stat().st_size < 300_000, name


def test_every_draft_is_distinct(
    records: list[dict[str, Any]], history: list[dict[str, Any]]
) -> None:
    drafts = [r["draft"] for r in [*records, *history]]
    assert len(set(drafts)) == len(drafts) == len(records) + len(history)
    # Not by a letter: drafts of one intent mostly open differently (after any greeting).
    by_intent: dict[str, list[str]] = defaultdict(list)
    for r in records:
        by_intent[r["metadata"]["intent"]].append(r["draft"])
    for intent, texts in by_intent.items():
        openings = {t.split("\n\n")[-1][:60] for t in texts}
        assert len(openings) >= len(texts) / 2, intent


def test_the_history_is_other_rows_and_enough_for_the_recommendation(
    records: list[dict[str, Any]], history: list[dict[str, Any]]
) -> None:
    rows = [r["metadata"]["source_row"] for r in [*records, *history]]
    assert len(set(rows)) == len(rows)
    per_category = Counter(r["category"] for r in history)
    assert set(per_category) == CATEGORIES
    minimum = {"low": 50, "medium": 200, "high": 500}
    risk = {r["category"]: r["risk"] for r in history}
    ready = [c for c, n in per_category.items() if n >= minimum[risk[c]]]
    short = [c for c, n in per_category.items() if n < minimum[risk[c]]]
    assert len(ready) >= 8 and short  # most can be recommended on; some cannot yet
    assert [r["created_at"] for r in history] == sorted(r["created_at"] for r in history)
    days = {r["created_at"][:10] for r in history}
    assert len(days) == 84 and max(days) == max(r["created_at"] for r in records)[:10]


def test_composed_mistakes_come_at_the_stated_share(
    records: list[dict[str, Any]], history: list[dict[str, Any]]
) -> None:
    builder = _builder()
    key = answer_key()
    for drafts in (records, history):
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for r in drafts:
            groups[(r["category"], r["model"])].append(r)
        for (category, model), members in groups.items():
            share = builder.MISTAKE_SHARE[category][builder.MODELS.index(model)]
            composed = [r for r in members if r["id"] in key and key[r["id"]].origin == "composed"]
            assert len(composed) == round(share * len(members)), (category, model)
        composed_share = sum(
            1 for r in drafts if r["id"] in key and key[r["id"]].origin == "composed"
        ) / len(drafts)
        assert 0.03 <= composed_share <= 0.15
    dataset_own = {m.id for m in key.values() if m.origin == "dataset"}
    assert {r["category"] for r in [*records, *history] if r["id"] in dataset_own} == {"newsletter"}
    kinds = Counter(m.kind for m in key.values() if m.origin == "composed")
    assert set(kinds) == {"wrong_detail", "unsupported_promise", "wrong_intent", "missing_step"}


def test_every_keyed_mistake_is_in_the_draft_and_its_fix_corrects_it(
    records: list[dict[str, Any]], history: list[dict[str, Any]]
) -> None:
    key = answer_key()
    by_id = {r["id"]: r for r in [*records, *history]}
    assert set(key) <= set(by_id)
    for mistake in key.values():
        draft = by_id[mistake.id]["draft"]
        corrected = mistake.corrected(draft)
        assert corrected != draft, mistake.id
        for wrong, right in mistake.fix:
            assert wrong in draft, mistake.id
            assert not right or right not in draft, mistake.id
        if mistake.kind == "wrong_detail":
            # The customer's own number or account type is in the message, the wrong one not.
            message = by_id[mistake.id]["input"].lower()
            wrong, right = mistake.fix[0]
            assert right.lower().lstrip("$").replace(",", "") in message.replace(",", "")
            assert wrong.lower().lstrip("$").replace(",", "") not in message


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
def test_inputs_are_the_datasets_text_and_drafts_carry_its_reply(
    records: list[dict[str, Any]], history: list[dict[str, Any]], csv_rows: list[dict[str, str]]
) -> None:
    text = _builder().demo_text
    key = answer_key()
    written_in = 0
    for r in [*records, *history]:
        row = csv_rows[r["metadata"]["source_row"]]
        assert r["input"] == row["instruction"], r["id"]
        assert r["category"] == row["category"].lower()
        assert r["metadata"]["intent"] == row["intent"]
        mistake = key.get(r["id"])
        if mistake is not None and mistake.origin == "dataset":
            assert row["response"] in r["draft"]  # the dataset's own reply is the mistake
            continue
        # Once a composed mistake is corrected, the dataset's reply is in the draft, changed
        # only where the customer's own number, account type or amount is written into it.
        corrected = mistake.corrected(r["draft"]) if mistake else r["draft"]
        body = row["response"]
        slots, _forms = text.slots_of(row)
        fill = {**slots, "a_account": text._a(slots.get("account", ""))}
        for slot, old, new in text.INSERTIONS.get(row["intent"], ()):
            if slot in slots and old in body:
                body = body.replace(old, new.format(**fill), 1)
        written_in += body != row["response"]
        assert body in corrected, r["id"]
    assert written_in > 100
    for r in records:
        row = csv_rows[r["metadata"]["source_row"]]
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
def test_a_fresh_build_gives_the_shipped_bytes() -> None:
    builder = _builder()
    data = builder.build(CSV_PATH)
    for name, built in (
        (DEMO_FILE, data.queue),
        (HISTORY_FILE, data.history),
        (MISTAKES_FILE, data.mistakes),
    ):
        assert builder.encode(built) == resource(*name.split("/")).read_bytes(), name


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

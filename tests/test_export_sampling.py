"""Balanced sampling, splits, seeds, minimum test-set sizes and the dataset card, on constructed
data: exact where the design promises exactness, reproducible wherever a seed is given."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.export import (
    ExportFilter,
    ExportFormat,
    ExportOptions,
    ExportResult,
    SplitSpec,
    export_dataset,
    sampling,
)
from reviewdesk.services.export.sampling import (
    BALANCE_PURPOSE,
    Splitter,
    keyed_hash,
    plan_balance,
)
from tests.helpers.export_data import Spec, decide_all


def run_export(desk: ReviewDesk, out: Path, **options: Any) -> ExportResult:
    return export_dataset(desk.target, ExportOptions(out=out, **options))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def exported(out: Path) -> list[dict[str, Any]]:
    return [r for p in sorted(out.glob("*.jsonl")) for r in read_jsonl(p)]


# -- split -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("test", "write NAME=FRACTION"),
        ("test=abc", "'abc' is not a number"),
        ("test=1.5", "must be between 0 and 1"),
        ("test=0", "must be between 0 and 1"),
        ("train=0.2", "train is the remainder"),
        ("Test=0.2", "lower-case"),
        ("test=0.6,validation=0.5", "add up to 1.1"),
        ("test=0.1,test=0.2", "given twice"),
    ],
)
def test_bad_split_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SplitSpec.parse(text)


def test_split_is_a_seeded_stable_function_of_the_id() -> None:
    ids = [f"ticket-{i}" for i in range(20_000)]
    spec = SplitSpec.parse("test=0.2,validation=0.1")
    first = [Splitter(spec, seed=7)(i) for i in ids]
    assert first == [Splitter(spec, seed=7)(i) for i in ids]  # reproducible
    assert first != [Splitter(spec, seed=8)(i) for i in ids]  # the seed matters
    shares = Counter(first)
    # Binomial: four standard deviations around 20% and 10% of 20,000.
    assert abs(shares["test"] - 4000) < 4 * (20_000 * 0.2 * 0.8) ** 0.5
    assert abs(shares["validation"] - 2000) < 4 * (20_000 * 0.1 * 0.9) ** 0.5
    # An id's split does not depend on which other ids are exported, nor their order.
    assert [Splitter(spec, seed=7)(i) for i in reversed(ids[:500])] == list(reversed(first[:500]))
    assert Splitter(None, seed=7)("anything") == "data"


def test_split_does_not_depend_on_filters(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = [Spec(f"s-{i}", category=("a", "b")[i % 2]) for i in range(40)]
    decide_all(desk, specs, clock)
    split = SplitSpec.parse("test=0.3")
    run_export(desk, tmp_path / "all", split=split, seed=5)
    run_export(desk, tmp_path / "a", split=split, seed=5, filter=ExportFilter(categories=("a",)))
    where = {r["id"]: "test" for r in read_jsonl(tmp_path / "all" / "test.jsonl")}
    where |= {r["id"]: "train" for r in read_jsonl(tmp_path / "all" / "train.jsonl")}
    for split_name in ("train", "test"):
        for r in read_jsonl(tmp_path / "a" / f"{split_name}.jsonl"):
            assert where[r["id"]] == split_name
    assert set(where.values()) == {"train", "test"}


# -- balance ---------------------------------------------------------------------------------


def key_pages(rows: Sequence[tuple[int, str, str, str]], page: int = 1000) -> Iterator[Any]:
    for start in range(0, len(rows), page):
        yield rows[start : start + page]


def brute_force(rows: Sequence[tuple[int, str, str, str]], k: int, seed: int) -> set[str]:
    """Per stratum, the k ids with the smallest (hash, id): what the plan must keep."""
    strata: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for _c, rid, category, label in rows:
        strata.setdefault((category, label), []).append(
            (keyed_hash(seed, BALANCE_PURPOSE, rid), rid)
        )
    kept: set[str] = set()
    for items in strata.values():
        kept |= {rid for _h, rid in sorted(items)[:k]}
    return kept


def synthetic(sizes: dict[tuple[str, str], int]) -> list[tuple[int, str, str, str]]:
    rows = []
    cursor = 0
    for (category, label), n in sizes.items():
        for i in range(n):
            cursor += 1
            rows.append((cursor, f"{category}-{label}-{i}", category, label))
    # Interleave strata the way decisions arrive.
    return sorted(rows, key=lambda r: keyed_hash(1, b"shuffle", r[1]))


def kept_by(plan: sampling.BalancePlan, rows: Sequence[tuple[int, str, str, str]]) -> set[str]:
    return {rid for _c, rid, category, label in rows if plan.keeps(category, label, rid)}


def test_balance_keeps_exactly_the_k_smallest_hashes_per_stratum() -> None:
    sizes = {("refund", "approved"): 20_000, ("refund", "rejected"): 1_500, ("faq", "edited"): 400}
    rows = synthetic(sizes)
    k = 400
    plan = plan_balance(sizes, k, 11, lambda: key_pages(rows))
    kept = kept_by(plan, rows)
    assert kept == brute_force(rows, k, 11)
    per_stratum = Counter((c, lbl) for _x, rid, c, lbl in rows if rid in kept)
    assert set(per_stratum.values()) == {k}
    # Another seed, another sample of the same sizes.
    other = kept_by(plan_balance(sizes, k, 12, lambda: key_pages(rows)), rows)
    assert other != kept and len(other) == len(kept)


def test_balance_falls_back_to_a_full_pass_when_the_window_misses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = {("a", "approved"): 3_000, ("a", "rejected"): 200}
    rows = synthetic(sizes)
    passes = 0

    def counted() -> Iterator[Any]:
        nonlocal passes
        passes += 1
        return key_pages(rows)

    # A window that cannot hold the cut-off: the first pass misses, the second covers all.
    monkeypatch.setattr(sampling, "_window", lambda k, n: (0, 1))
    plan = plan_balance(sizes, 200, 3, counted)
    assert passes == 2
    assert kept_by(plan, rows) == brute_force(rows, 200, 3)


def test_balance_keeps_a_stratum_whole_when_it_shrank_since_counting() -> None:
    rows = synthetic({("a", "approved"): 50})
    # Counted 80 (some were undone since): 50 left, target 60: all of them stay.
    plan = plan_balance({("a", "approved"): 80}, 60, 3, lambda: key_pages(rows))
    assert kept_by(plan, rows) == {r[1] for r in rows}


def skewed_specs() -> list[Spec]:
    specs = [Spec(f"ra-{i}", category="refund") for i in range(6)]
    specs += [Spec(f"rr-{i}", "reject", category="refund", reason="other") for i in range(2)]
    specs += [Spec(f"be-{i}", "edit", category="billing", text=f"Fixed {i}") for i in range(3)]
    return specs


def test_balanced_export_brings_every_stratum_to_the_smallest(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    decide_all(desk, skewed_specs(), clock)
    result = run_export(desk, tmp_path / "b", balance=True, seed=4)
    rows = exported(tmp_path / "b")
    assert Counter((r["category"], r["label"]) for r in rows) == {
        ("refund", "approved"): 2,
        ("refund", "rejected"): 2,
        ("billing", "edited"): 2,
    }
    assert result.counts == {
        ("refund", "approved"): 2,
        ("refund", "rejected"): 2,
        ("billing", "edited"): 2,
    }
    assert "at most 2 records per (category, label) stratum (smallest stratum)" in result.card

    again = run_export(desk, tmp_path / "again", balance=True, seed=4)
    assert [r["id"] for r in exported(tmp_path / "again")] == [r["id"] for r in rows]
    assert again.counts == result.counts
    other = {r["id"] for r in exported(run_export(desk, tmp_path / "s5", balance=True, seed=5).out)}
    assert other != {r["id"] for r in rows}

    capped = run_export(desk, tmp_path / "cap", balance=True, per_stratum=3, seed=4)
    assert capped.counts == {
        ("refund", "approved"): 3,
        ("refund", "rejected"): 2,
        ("billing", "edited"): 3,
    }


# -- minimum test-set sizes and the card -------------------------------------------------------


def test_minimum_sizes_per_category_and_risk_say_by_how_much(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = [Spec(f"faq-{i}", category="faq", risk="low") for i in range(50)]
    specs += [Spec(f"ref-{i}", category="refund", risk="high") for i in range(7)]
    specs += [Spec(f"refm-{i}", category="refund", risk="medium") for i in range(3)]
    decide_all(desk, specs, clock)

    result = run_export(desk, tmp_path / "whole")
    assert [str(s) for s in result.shortfalls] == [
        "category 'refund', high risk: 7 test record(s), minimum 500: short by 493",
        "category 'refund', medium risk: 3 test record(s), minimum 200: short by 197",
    ]
    assert "| faq | low | 50 | 50 | yes |" in result.card
    assert "| refund | high | 7 | 500 | no: short by 493 |" in result.card
    assert "counted per category and risk level in the whole export" in result.card

    split = run_export(desk, tmp_path / "split", split=SplitSpec.parse("test=0.2"), seed=1)
    test_rows = read_jsonl(tmp_path / "split" / "test.jsonl")
    per = Counter((r["category"], r["risk"]) for r in test_rows)
    # Every (category, risk) of the export is checked, also one with no test record at all.
    assert {(s.category, s.risk): s.test_records for s in split.shortfalls} == {
        ("faq", "low"): per[("faq", "low")],
        ("refund", "high"): per[("refund", "high")],
        ("refund", "medium"): per[("refund", "medium")],
    }
    for s in split.shortfalls:
        assert s.short_by == s.minimum - s.test_records > 0
    assert "counted per category and risk level in the `test` split" in split.card


def parse_counts_table(card: str) -> dict[tuple[str, str], int]:
    section = card.split("## Counts per category and label", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    counts = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "**all**":
            continue
        for label, value in zip(header[1:-1], cells[1:-1], strict=True):
            if int(value):
                counts[(cells[0], label)] = int(value)
    return counts


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "hf"])
def test_the_card_matches_the_data(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path, fmt: str
) -> None:
    specs = [*skewed_specs(), Spec("late", category="legal", model="drafter-3", risk="high")]
    decide_all(desk, specs, clock)
    out = tmp_path / fmt
    result = run_export(
        desk,
        out,
        format=ExportFormat(fmt),
        split=SplitSpec.parse("test=0.25"),
        seed=9,
        filter=ExportFilter(labels=("approved", "edited", "rejected")),
    )
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card == result.card

    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for split_name, rel in result.files.items():
        path = out / rel
        if fmt == "jsonl":
            part = read_jsonl(path)
        elif fmt == "csv":
            import csv

            with path.open(encoding="utf-8", newline="") as fh:
                part = list(csv.DictReader(fh))
        else:
            part = pq.read_table(path).to_pylist()
            for r in part:
                r["decided_at"] = r["decided_at"].isoformat(timespec="microseconds")
        assert f"  - {split_name}: {len(part)} (`{rel}`)" in card
        rows += part

    assert parse_counts_table(card) == Counter((r["category"], r["label"]) for r in rows)
    assert f"- Records: {len(rows)}" in card
    times = sorted(r["decided_at"] for r in rows)
    assert f"- Decided between: {times[0]} and {times[-1]} (UTC)" in card
    models = Counter(r["model"] for r in rows)
    for model, n in models.items():
        assert f"- {model}: {n}" in card
    assert "- Seed: 9" in card and "- Split: test=0.25" in card
    assert "labels approved, edited, rejected" in card
    for name in ("id", "final", "reviewer", "low_attention"):
        assert f"| `{name}` |" in card

    # The YAML front matter names the files and types that `datasets` loads.
    front = yaml.safe_load(card.split("---\n")[1])
    files = {f["split"]: f["path"] for f in front["configs"][0]["data_files"]}
    assert files == result.files
    assert all((out / p).is_file() for p in files.values())
    features = [f["name"] for f in front["dataset_info"]["features"]]
    assert features == list(rows[0].keys())


def test_evaluation_formats_have_no_record_front_matter(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    decide_all(desk, [Spec("x")], clock)
    result = run_export(desk, tmp_path / "o", format=ExportFormat.INSPECT)
    assert not result.card.startswith("---")
    assert re.search(r"^# ReviewDesk labelled feedback", result.card, re.M)

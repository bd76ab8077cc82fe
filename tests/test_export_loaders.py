"""Exports load directly in Hugging Face ``datasets``: the documented columns, types and counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.export import (
    FIELD_NAMES,
    ExportFilter,
    ExportFormat,
    ExportOptions,
    ExportResult,
    SplitSpec,
    export_dataset,
)
from tests.helpers.export_data import (
    Spec,
    decide_all,
    escalation_specs,
    mixed_specs,
    resolve_escalations,
)


@pytest.fixture
def datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The `datasets` library, offline, with every cache under tmp_path."""
    for name in ("HF_HOME", "HF_DATASETS_CACHE"):
        monkeypatch.setenv(name, str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import datasets as hf

    hf.disable_progress_bars()
    return hf


@pytest.fixture
def sqlite_desk(sqlite_url: str, clock: ManualClock) -> Iterator[ReviewDesk]:
    # Loading is the same whichever database the records came from: SQLite only.
    with ReviewDesk.open(sqlite_url, clock=clock, upgrade=True) as desk:
        yield desk


STRING = (
    "id",
    "input",
    "draft",
    "label",
    "final",
    "reason",
    "severity",
    "note",
    "resolution",
    "resolution_note",
    "resolved_by",
    "category",
    "risk",
    "model",
    "reviewer",
)
FLOAT = ("confidence", "edit_distance", "review_seconds")


def export(desk: ReviewDesk, out: Path, fmt: str, **options: Any) -> ExportResult:
    return export_dataset(desk.target, ExportOptions(out=out, format=ExportFormat(fmt), **options))


def dtypes(features: Any) -> dict[str, str]:
    return {
        name: getattr(feature, "dtype", type(feature).__name__)
        for name, feature in features.items()
    }


def make_data(desk: ReviewDesk, clock: ManualClock) -> None:
    specs = mixed_specs() + [Spec(f"extra-{i}", category="faq", risk="low") for i in range(6)]
    decide_all(desk, specs + escalation_specs(), clock)
    resolve_escalations(desk, clock)


@pytest.mark.parametrize(
    ("fmt", "builder", "context_type", "time_type"),
    [
        ("jsonl", "json", "Json", "string"),
        ("csv", "csv", "string", "string"),
        ("parquet", "parquet", "string", "timestamp[us, tz=UTC]"),
    ],
)
@pytest.mark.one_engine("loading an export is the same whichever engine the records came from")
def test_load_dataset_reads_the_files(
    sqlite_desk: ReviewDesk,
    clock: ManualClock,
    tmp_path: Path,
    datasets: Any,
    fmt: str,
    builder: str,
    context_type: str,
    time_type: str,
) -> None:
    # One file in which every column has a value somewhere: type inference alone gets every
    # type right. (A column null in a whole file needs the folder's card: next test.)
    make_data(sqlite_desk, clock)
    out = tmp_path / fmt
    result = export(sqlite_desk, out, fmt)
    loaded = datasets.load_dataset(
        builder,
        data_files={"train": str(out / result.files["data"])},
        cache_dir=str(tmp_path / "c"),
    )

    assert len(loaded["train"]) == result.records == 15
    for split in loaded:
        assert loaded[split].column_names == list(FIELD_NAMES)
    types = dtypes(loaded["train"].features)
    # pandas 3 (which reads CSV for `datasets`) hands Arrow its large_string: text all the same.
    text = ("string", "large_string") if fmt == "csv" else ("string",)
    for name in STRING:
        assert types[name] in text, name
    for name in FLOAT:
        assert types[name] == "float64", name
    assert types["low_attention"] == "bool"
    assert types["context"] in (context_type, *text)
    assert types["decided_at"] in (time_type, *text)
    assert types["resolved_at"] in (time_type, *text)
    row = next(r for split in loaded for r in loaded[split] if r["id"] == "t-escalated")
    assert row["label"] == "escalated" and row["severity"] == "high"
    assert row["input"] is None and row["final"] is None and row["resolution"] is None
    row = next(r for split in loaded for r in loaded[split] if r["id"] == "e-edited")
    assert row["resolution"] == "send_edited" and row["final"].startswith("We are looking")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "hf"])
@pytest.mark.one_engine("loading an export is the same whichever engine the records came from")
def test_load_dataset_on_the_folder_uses_the_card(
    sqlite_desk: ReviewDesk, clock: ManualClock, tmp_path: Path, datasets: Any, fmt: str
) -> None:
    # Approvals only: reason, severity, edit_distance and confidence are null in every record,
    # which type inference alone would get wrong; the card's features keep them typed.
    decide_all(sqlite_desk, [Spec(f"a-{i}", confidence=None) for i in range(8)], clock)
    out = tmp_path / fmt
    result = export(
        sqlite_desk,
        out,
        fmt,
        filter=ExportFilter(labels=("approved",)),
        split=SplitSpec.parse("test=0.5"),
        seed=2,
    )
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "c"))
    assert {name: len(loaded[name]) for name in loaded} == result.splits
    types = dtypes(loaded["train"].features)
    assert list(types) == list(FIELD_NAMES)
    for name in STRING:
        assert types[name] == "string", name
    for name in FLOAT:
        assert types[name] == "float64", name
    assert types["low_attention"] == "bool"
    times = "string" if fmt in ("jsonl", "csv") else "timestamp[us, tz=UTC]"
    assert types["decided_at"] == types["resolved_at"] == times
    assert types["context"] == ("Json" if fmt == "jsonl" else "string")

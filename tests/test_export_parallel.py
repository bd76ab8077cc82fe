"""A parallel export (several processes, one range of decision ids each, the parts joined in
order) writes exactly what a serial export writes, on SQLite and PostgreSQL: the same bytes in
every file, the same counts; progress, cancel and errors work as in a serial export; the worker
processes never touch the keyring or the user's folders."""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import DatabaseUnavailable
from reviewdesk.services.export import (
    CancelToken,
    ExportCancelled,
    ExportError,
    ExportFilter,
    ExportFormat,
    ExportOptions,
    ExportProgress,
    ExportResult,
    RedactionSettings,
    SplitSpec,
    export_dataset,
)
from reviewdesk.services.export import formats as formats_module
from reviewdesk.services.export import parts as parts_module
from reviewdesk.services.export import runner as runner_module
from reviewdesk.services.export.formats import CsvWriter
from reviewdesk.services.export.parts import join_part, part_bounds
from reviewdesk.storage.engine import create_engines
from reviewdesk.storage.export_sql import ExportStore
from tests.helpers.export_data import Spec, decide_all
from tests.helpers.tripwire_keyring import TRIPWIRE_ENV

# Every test here starts worker processes.
pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REVIEWERS = ("reviewer-ana-q7", "reviewer-bo-z3", "reviewer-cy-k1")
CATEGORIES = ("refund", "billing", "legal", "shipping")
COUNT = 90
PAGE = 7  # several pages per part, so that progress and prefetching take turns


def varied_specs(count: int = COUNT) -> list[Spec]:
    """Every label, three reviewers, texts to redact, missing inputs and models, and a category
    ("late") only in the last sixth: the first parts of a parallel export have none of it."""
    specs = []
    for i in range(count):
        verdict = ("approve", "edit", "reject", "escalate", "approve")[i % 5]
        if i % 7 == 3:
            question: str | None = None
        elif i % 4 == 0:
            question = f"Mail me at ana{i}@example.com or call +44 20 7946 0958, order {i}."
        else:
            question = f"Question {i}: where is my parcel? 🙂"
        specs.append(
            Spec(
                f"v-{i:03d}",
                verdict,
                reviewer=REVIEWERS[i % 3],
                category="late" if i >= count - count // 6 else CATEGORIES[i % 4],
                risk=("low", "medium", "high")[i % 3],
                model=None if i % 6 == 0 else f"drafter-{i % 2}",
                input=question,
                context={"order": i, "customer": {"email": f"c{i}@example.org"}}
                if i % 3 == 0
                else {},
                confidence=None if i % 8 == 0 else round(i / count, 3),
                text=f"Corrected answer {i}; card 4111 1111 1111 1111."
                if verdict == "edit"
                else None,
                reason="hallucination" if verdict == "reject" else None,
                note=f"Note {i}: call (415) 555-0132." if i % 5 in (2, 3) else None,
                severity="high" if verdict == "escalate" else None,
                review_seconds=5.0 + i,
            )
        )
    return specs


@pytest.fixture
def filled(desk: ReviewDesk, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> ReviewDesk:
    """A desk with COUNT varied decisions (every eleventh low-attention), read in pages of PAGE,
    exported in equal ranges (no head start: this process would be through these few decisions
    before a worker is ready, and the workers would have nothing to do)."""
    decide_all(desk, varied_specs(), clock)
    engines = create_engines(desk.target)
    with engines.write.begin() as conn:
        conn.execute(text("UPDATE decision SET low_attention = true WHERE id % 11 = 0"))
    engines.dispose()
    monkeypatch.setattr(runner_module, "ExportStore", functools.partial(ExportStore, page=PAGE))
    monkeypatch.setattr(parts_module, "HEAD_START", False)
    return desk


def export(
    desk: ReviewDesk, out: Path, workers: int | None, **options: Any
) -> tuple[ExportResult, list[ExportProgress]]:
    seen: list[ExportProgress] = []
    result = export_dataset(
        desk.target,
        ExportOptions(out=out, workers=workers, **options),
        progress=seen.append,
        now=NOW,
    )
    return result, seen


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def assert_same(serial: ExportResult, parallel: ExportResult, case: str) -> None:
    for name in (
        "format",
        "records",
        "skipped",
        "shortfalls",
        "pseudonym_scope",
        "redactions",
        "first_decided_at",
        "last_decided_at",
        "card",
    ):
        assert getattr(parallel, name) == getattr(serial, name), f"{case}: {name}"
    # Same order too: the card and the YAML list files and tables in the order they were met.
    for name in ("splits", "files", "counts"):
        assert list(getattr(parallel, name).items()) == list(getattr(serial, name).items()), (
            f"{case}: {name}"
        )


CASES: list[tuple[str, dict[str, Any]]] = [
    ("jsonl", {}),
    ("jsonl split redact", {"split": SplitSpec.parse("test=0.3"), "redact": True}),
    (
        "csv split redact",
        {
            "format": ExportFormat.CSV,
            "split": SplitSpec.parse("test=0.3,validation=0.2"),
            "redact": True,
            "redaction": RedactionSettings(phone_regions=("US", "GB")),
        },
    ),
    ("inspect", {"format": ExportFormat.INSPECT, "split": SplitSpec.parse("test=0.3")}),
    (
        # No test split: the config names the first file met.
        "promptfoo",
        {"format": ExportFormat.PROMPTFOO, "split": SplitSpec.parse("validation=0.4")},
    ),
    ("openai-evals", {"format": ExportFormat.OPENAI_EVALS, "seed": 11, "redact": True}),
    (
        "low attention",
        {"filter": ExportFilter(include_low_attention=True), "split": SplitSpec.parse("test=0.5")},
    ),
    (
        # Only the last part has records: its files are the whole export.
        "late category",
        {
            "format": ExportFormat.CSV,
            "filter": ExportFilter(categories=("late",)),
            "split": SplitSpec.parse("test=0.5"),
        },
    ),
    ("nothing", {"filter": ExportFilter(categories=("none such",))}),
]


def test_a_parallel_export_writes_the_bytes_of_a_serial_one(
    filled: ReviewDesk, tmp_path: Path
) -> None:
    for case, options in CASES:
        slug = case.replace(" ", "-")
        serial, _ = export(filled, tmp_path / f"serial-{slug}", 1, **options)
        parallel, progress = export(filled, tmp_path / f"parallel-{slug}", 3, **options)
        assert (serial.workers, parallel.workers) == (1, 3), case
        assert len(parallel.worker_peak_rss_kb) == 2, case
        assert_same(serial, parallel, case)
        files = snapshot(tmp_path / f"serial-{slug}")
        assert snapshot(tmp_path / f"parallel-{slug}") == files, case
        assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name], case
        writing = [p for p in progress if p.phase == "writing"]
        assert [p.done for p in writing] == sorted(p.done for p in writing), case
        assert writing[-1].done == writing[-1].total and writing[-1].written == serial.records
        assert progress[-1] == ExportProgress("finishing", COUNT, COUNT, serial.records), case
    assert multiprocessing.active_children() == []


class SlowStore(ExportStore):
    """Pages read slowly, in this process only (workers run the real store)."""

    def _fetch(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        time.sleep(0.5)
        return super()._fetch(sql, params)


def test_with_a_head_start_the_rest_is_shared_when_the_workers_are_ready(
    filled: ReviewDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts_module, "HEAD_START", True)
    options = {"format": ExportFormat.CSV, "split": SplitSpec.parse("test=0.3")}
    serial, _ = export(filled, tmp_path / "serial", 1, **options)
    # This process is through all of it before a worker is ready: they are stopped unused.
    with monkeypatch.context() as patch:
        patch.setattr(parts_module, "_work", _fault("slow_work"))
        quick, _ = export(filled, tmp_path / "quick", 3, **options)
    assert quick.workers == 1 and quick.worker_peak_rss_kb == ()
    assert_same(serial, quick, "quick")
    assert snapshot(tmp_path / "quick") == snapshot(tmp_path / "serial")
    assert multiprocessing.active_children() == []
    # Slow pages here: the workers are ready long before this process is through, and take
    # their share of what it has not reached (13 pages of 7 at most; 2 or 3 after they are).
    monkeypatch.setattr(
        runner_module, "ExportStore", functools.partial(SlowStore, page=PAGE, prefetch=False)
    )
    shared, progress = export(filled, tmp_path / "shared", 3, **options)
    assert shared.workers == 3 and len(shared.worker_peak_rss_kb) == 2
    assert_same(serial, shared, "shared")
    assert snapshot(tmp_path / "shared") == snapshot(tmp_path / "serial")
    writing = [p for p in progress if p.phase == "writing"]
    assert [p.done for p in writing] == sorted(p.done for p in writing)
    assert writing[-1].done == COUNT


def test_the_cases_cover_what_they_claim(filled: ReviewDesk, tmp_path: Path) -> None:
    # Guards the comparison above against data that would make it trivial.
    result, _ = export(
        filled, tmp_path / "split", 3, split=SplitSpec.parse("test=0.3"), redact=True
    )
    assert result.splits["test"] > 5 and result.splits["train"] > 20
    assert result.redactions["email"] > 5 and result.redactions["phone"] > 5
    assert result.redactions["card"] > 5
    late, _ = export(filled, tmp_path / "late", 3, filter=ExportFilter(categories=("late",)))
    assert late.records > 5
    evals, _ = export(filled, tmp_path / "evals", 3, format=ExportFormat.OPENAI_EVALS)
    assert len(evals.skipped) == 2
    low, _ = export(filled, tmp_path / "low", 3, filter=ExportFilter(include_low_attention=True))
    assert "Low-attention decisions included and flagged" in low.card


def test_automatic_goes_parallel_for_large_line_format_exports_only(
    filled: ReviewDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "usable_cpus", lambda: 2)
    result, _ = export(filled, tmp_path / "small", None)
    assert result.workers == 1  # below PARALLEL_MIN_DECISIONS
    monkeypatch.setattr(runner_module, "PARALLEL_MIN_DECISIONS", 10)
    result, _ = export(filled, tmp_path / "auto", None, format=ExportFormat.CSV)
    assert result.workers == 2
    serial, _ = export(filled, tmp_path / "serial", 1, format=ExportFormat.CSV)
    assert snapshot(tmp_path / "auto") == snapshot(tmp_path / "serial")
    assert_same(serial, result, "auto")
    # Balancing and Parquet run in this process, whatever is asked.
    balanced, _ = export(filled, tmp_path / "balanced", 3, balance=True)
    assert balanced.workers == 1
    pytest.importorskip("pyarrow")
    parquet, _ = export(filled, tmp_path / "parquet", 3, format=ExportFormat.PARQUET)
    assert parquet.workers == 1


def test_without_a_keyring_every_part_uses_the_same_salt(
    filled: ReviewDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reviewdesk.config.secrets.keyring_available", lambda: False)
    result, _ = export(filled, tmp_path / "out", 3, filter=ExportFilter(include_low_attention=True))
    assert result.pseudonym_scope == "export"
    rows = [
        orjson.loads(line) for line in (tmp_path / "out" / "data.jsonl").read_bytes().splitlines()
    ]
    assert len(rows) == COUNT
    by_name: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_name[REVIEWERS[int(row["id"][2:]) % 3]].add(row["reviewer"])
    assert all(len(pseudonyms) == 1 for pseudonyms in by_name.values())
    assert len(set().union(*by_name.values())) == 3


def test_workers_touch_neither_the_keyring_nor_the_users_folders(
    filled: ReviewDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tripwire = tmp_path / "keyring-used.log"
    monkeypatch.setenv(TRIPWIRE_ENV, str(tripwire))
    # What a started process finds as its keyring: the tripwire (this process keeps the memory
    # keyring that conftest installed, which holds the pseudonym key).
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.helpers.tripwire_keyring.TripwireKeyring")
    folders = [tmp_path / "home", tmp_path / "xdg-config", tmp_path / "xdg-data"]
    before = {f: sorted(f.rglob("*")) if f.exists() else None for f in folders}

    _serial, _ = export(filled, tmp_path / "serial", 1, split=SplitSpec.parse("test=0.3"))
    parallel, _ = export(filled, tmp_path / "parallel", 3, split=SplitSpec.parse("test=0.3"))

    assert parallel.workers == 3 and parallel.pseudonym_scope == "installation"
    assert snapshot(tmp_path / "parallel") == snapshot(tmp_path / "serial")
    assert not tripwire.exists(), tripwire.read_text()
    assert {f: sorted(f.rglob("*")) if f.exists() else None for f in folders} == before
    # The tripwire does trip in a process that uses the keyring.
    subprocess.run(
        [sys.executable, "-c", "import keyring; keyring.get_password('reviewdesk', 'x')"],
        check=True,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert tripwire.read_text().split()[1:] == ["get", "reviewdesk", "x"]


def test_cancel_stops_the_workers_and_leaves_nothing(filled: ReviewDesk, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()  # an existing empty folder stays as it was
    token = CancelToken()
    seen: list[ExportProgress] = []

    def progress(p: ExportProgress) -> None:
        seen.append(p)
        if p.phase == "writing" and p.done:
            token.cancel()

    with pytest.raises(ExportCancelled, match="nothing was written"):
        export_dataset(
            filled.target,
            ExportOptions(out=tmp_path / "out", workers=3),
            progress=progress,
            cancel=token,
        )
    assert list((tmp_path / "out").iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert multiprocessing.active_children() == []
    assert seen[-1].phase == "writing" and seen[-1].done < COUNT


def test_a_workers_error_is_reported_as_a_serial_export_reports_it(
    filled: ReviewDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In this process's own part, and then in a worker's part only.
    original = formats_module.JsonlWriter.write

    def failing(self: Any, split: str, record: dict[str, Any]) -> str | None:
        raise OSError("disk full")

    monkeypatch.setattr(formats_module.JsonlWriter, "write", failing)
    with pytest.raises(ExportError) as serial:
        export(filled, tmp_path / "out", 1)
    monkeypatch.setattr(formats_module.JsonlWriter, "write", original)
    monkeypatch.setattr(parts_module, "_work", _fault("failing_work"))
    with pytest.raises(ExportError) as parallel:
        export(filled, tmp_path / "out", 3)
    assert str(parallel.value) == str(serial.value)
    assert str(serial.value).endswith("failed (disk full); nothing was written.")
    # The worker's traceback is chained, for the log.
    assert isinstance(parallel.value.__cause__, OSError)
    assert "failing" in str(parallel.value.__cause__.__cause__)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_fails_the_export(
    filled: ReviewDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts_module, "_work", _fault("dying_work"))
    with pytest.raises(ExportError, match=r"ended without finishing \(exit code 3\); nothing"):
        export(filled, tmp_path / "out", 3)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert multiprocessing.active_children() == []


def _fault(name: str) -> Any:
    from tests.helpers import export_faults

    return getattr(export_faults, name)


@pytest.mark.one_engine("only SQLite can hold broken JSON and text that is not UTF-8")
def test_bad_data_in_a_workers_range_fails_as_it_fails_serially(
    sqlite_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """SQLite keeps JSON as text: a broken context in the last part, and text that is not UTF-8."""
    with ReviewDesk.open(sqlite_url, upgrade=True, clock=clock) as desk:
        decide_all(desk, varied_specs(30), clock)
        engines = create_engines(desk.target)
        with engines.write.begin() as conn:
            conn.execute(text("UPDATE draft SET context = '{broken' WHERE external_id = 'v-027'"))
        engines.dispose()
        errors = []
        for workers in (1, 3):
            with pytest.raises(orjson.JSONDecodeError) as info:
                export(desk, tmp_path / "out", workers, format=ExportFormat.INSPECT)
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1]

        engines = create_engines(desk.target)
        with engines.write.begin() as conn:
            conn.execute(text("UPDATE draft SET context = '{}' WHERE external_id = 'v-027'"))
            conn.execute(
                text("UPDATE draft SET draft = CAST(X'FF00' AS TEXT) WHERE external_id = 'v-028'")
            )
        engines.dispose()
        messages = []
        for workers in (1, 3):
            with pytest.raises(DatabaseUnavailable) as unavailable:
                export(desk, tmp_path / "out", workers)
            messages.append(str(unavailable.value))
        assert messages[0] == messages[1] and "nothing was written" in messages[0]
        assert not (tmp_path / "out").exists()


# -- the pieces ------------------------------------------------------------------------------


def test_part_bounds_cover_every_id_once_in_near_equal_ranges() -> None:
    for low, upto, parts in [(1, 90, 3), (5, 5, 1), (1, 10, 4), (1000, 1_000_999, 4)]:
        bounds = part_bounds(low, upto, parts)
        assert bounds[0] == low - 1 and bounds[-1] == upto and len(bounds) == parts + 1
        sizes = [b - a for a, b in itertools.pairwise(bounds)]
        assert sum(sizes) == upto - low + 1 and max(sizes) - min(sizes) <= 1


def test_keyset_pages_of_a_range(desk: ReviewDesk, clock: ManualClock) -> None:
    decide_all(desk, [Spec(f"r-{i:02d}") for i in range(12)], clock)
    engines = create_engines(desk.target)
    try:
        store = ExportStore(engines, page=4)
        low, _high = store.decision_id_range()
        pages = list(store.stream_records(ExportFilter(), upto=low + 8, after=low + 2))
    finally:
        engines.dispose()
    assert [r[0] for p in pages for r in p] == list(range(low + 3, low + 9))
    assert [len(p) for p in pages] == [4, 2]


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_joining_parts_keeps_the_header_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
) -> None:
    if not kernel_copy:
        # As where copy_file_range is refused (another file system, a sandbox).
        def refused(*_args: Any) -> int:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", refused, raising=False)
    header = CsvWriter.header
    assert header.startswith(b"id,input,context,") and header.endswith(b"low_attention\n")
    folder, part_1, part_2 = tmp_path / "out", tmp_path / "p1", tmp_path / "p2"
    for path in (folder, part_1, part_2):
        path.mkdir()
    (folder / "train.csv").write_bytes(header + b"a\n")
    (part_1 / "test.csv").write_bytes(header + b"b\n")
    (part_1 / "train.csv").write_bytes(header + b"c\n" * 100_000)
    (part_2 / "test.csv").write_bytes(header + b"d\n")
    joined = {"train": "train.csv"}
    join_part(folder, part_1, {"test": "test.csv", "train": "train.csv"}, joined, header)
    join_part(folder, part_2, {"test": "test.csv"}, joined, header)
    assert joined == {"train": "train.csv", "test": "test.csv"}
    assert (folder / "train.csv").read_bytes() == header + b"a\n" + b"c\n" * 100_000
    assert (folder / "test.csv").read_bytes() == header + b"b\nd\n"
    (part_2 / "train.csv").write_bytes(b"no header\n")
    with pytest.raises(ExportError, match="without the format's header"):
        join_part(folder, part_2, {"train": "train.csv"}, joined, header)


@pytest.mark.parametrize("workers", [0, 33])
def test_a_bad_worker_count_is_named(tmp_path: Path, workers: int) -> None:
    with pytest.raises(ExportError, match=f"--workers {workers}: use a number from 1 to 32"):
        runner_module.check_options(ExportOptions(out=tmp_path / "out", workers=workers))

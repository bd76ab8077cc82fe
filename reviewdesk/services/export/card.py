"""What an export holds, counted as it is written, and the dataset card (README.md) that says so.

Everything here is counted per category, label, split, risk and model, never per record, so the
memory it takes does not grow with the export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reviewdesk.core.domain import Label, Risk
from reviewdesk.services.export.records import FIELDS, Record

# Minimum test-set sizes per risk level: below these, an accuracy or hallucination rate measured
# on the test set is too uncertain to act on for that level of risk.
RISK_MINIMUMS: Mapping[str, int] = {
    Risk.LOW.value: 50,
    Risk.MEDIUM.value: 200,
    Risk.HIGH.value: 500,
}
LABELS = tuple(label.value for label in Label)
# How a lead resolves an escalation (reviewdesk/services/escalations.py, Resolution).
RESOLUTIONS = ("send_as_is", "send_edited", "reject", "dismiss")


@dataclass(frozen=True)
class Shortfall:
    """A category whose test records of one risk level fall short of that level's minimum."""

    category: str
    risk: str
    test_records: int
    minimum: int

    @property
    def short_by(self) -> int:
        return self.minimum - self.test_records

    def __str__(self) -> str:
        return (
            f"category {self.category!r}, {self.risk} risk: {self.test_records} test record(s), "
            f"minimum {self.minimum}: short by {self.short_by}"
        )


@dataclass(frozen=True)
class MinimumCheck:
    category: str
    risk: str
    test_records: int
    minimum: int

    @property
    def met(self) -> bool:
        return self.test_records >= self.minimum


class ExportStats:
    """Counts of what was written."""

    def __init__(self, test_split: str | None) -> None:
        # The split held to the minimum sizes; None: the whole export is the test set.
        self.test_split = test_split
        # One counter of (split, category, label, risk, model, low_attention, resolution): one
        # dict update per record on the hot path; the tables are summed from it at the end.
        self.cells: Counter[tuple[Any, ...]] = Counter()
        self.skipped: Counter[str] = Counter()
        self.first: str | None = None
        self.last: str | None = None

    def add(self, split: str, record: Record) -> None:
        """Count one written record (the export's loop inlines this for speed)."""
        self.cells[
            (
                split,
                record["category"],
                record["label"],
                record["risk"],
                record["model"],
                record["low_attention"],
                record["resolution"],
            )
        ] += 1
        self.seen(record["decided_at"])

    def seen(self, at: str) -> None:
        # ISO 8601 UTC strings of one fixed format: text order is time order.
        if self.first is None or at < self.first:
            self.first = at
        if self.last is None or at > self.last:
            self.last = at

    @property
    def written(self) -> int:
        return sum(self.cells.values())

    @property
    def by_category_label(self) -> Counter[tuple[str, str]]:
        out: Counter[tuple[str, str]] = Counter()
        for (_s, category, label, *_), n in self.cells.items():
            out[(category, label)] += n
        return out

    @property
    def by_split(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (split, *_), n in self.cells.items():
            out[split] += n
        return out

    @property
    def test_by_category_risk(self) -> Counter[tuple[str, str]]:
        out: Counter[tuple[str, str]] = Counter()
        for (split, category, _l, risk, *_), n in self.cells.items():
            if self.test_split is None or split == self.test_split:
                out[(category, risk)] += n
        return out

    @property
    def models(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (*_, model, _low, _resolution), n in self.cells.items():
            out[model or "(none)"] += n
        return out

    @property
    def low_attention(self) -> int:
        return sum(n for (*_, low, _resolution), n in self.cells.items() if low)

    @property
    def resolutions(self) -> Counter[str | None]:
        """Escalated records by how a lead resolved them (None: still open)."""
        out: Counter[str | None] = Counter()
        for (_s, _c, label, *_, resolution), n in self.cells.items():
            if label == Label.ESCALATED:
                out[resolution] += n
        return out

    def minimum_checks(self) -> list[MinimumCheck]:
        """Every (category, risk) in the export, with how many of its records are test records
        (none in the test split is a shortfall too)."""
        test = self.test_by_category_risk
        present = {(category, risk) for (_s, category, _l, risk, *_) in self.cells}
        return [
            MinimumCheck(category, risk, test[(category, risk)], RISK_MINIMUMS[risk])
            for category, risk in sorted(present)
            if risk in RISK_MINIMUMS
        ]

    def shortfalls(self) -> list[Shortfall]:
        return [
            Shortfall(c.category, c.risk, c.test_records, c.minimum)
            for c in self.minimum_checks()
            if not c.met
        ]


@dataclass(frozen=True)
class CardFacts:
    """What the card states besides the counts."""

    format: str
    created_at: datetime
    database: str
    filters: Sequence[tuple[str, str]]
    seed: int
    split: str | None
    balance: str | None
    pseudonyms: str  # "installation" | "export"
    redaction: str | None
    redaction_counts: Mapping[str, int]
    files: Mapping[str, str]  # split -> relative path
    hf_context_dtype: str | None  # set for formats `datasets` loads from the folder
    version: str


def _yaml_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def front_matter(facts: CardFacts) -> str:
    """YAML that lets ``datasets.load_dataset(folder)`` find the splits and their types."""
    if facts.hf_context_dtype is None or not facts.files:
        return ""
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split, path in facts.files.items():
        lines += [f"  - split: {split}", f"    path: {_yaml_str(path)}"]
    lines += ["dataset_info:", "  features:"]
    for field in FIELDS:
        dtype = {
            "string": "string",
            "string (JSON)": facts.hf_context_dtype,
            "float64": "float64",
            "bool": "bool",
            "timestamp[us, UTC]": "string"
            if facts.format in ("jsonl", "csv")
            else "timestamp[us, tz=UTC]",
        }[field.arrow_type]
        if field.name == "context":
            dtype = facts.hf_context_dtype
        lines += [f"  - name: {field.name}", f"    dtype: {dtype}"]
    lines += ["---", ""]
    return "\n".join(lines)


def render_card(facts: CardFacts, stats: ExportStats) -> str:
    out: list[str] = [front_matter(facts)]
    add = out.append
    add("# ReviewDesk labelled feedback\n")
    add(
        "Reviewer decisions on AI drafts, exported as a test set: approved drafts are good "
        "answers, edited ones come with the corrected answer (`final`), rejected ones with the "
        "reason, escalated ones with a severity and, once a lead resolved them, the resolution "
        "(`resolution`) and the text the lead chose to send (`final`).\n"
    )
    add("## This export\n")
    add(f"- Records: {stats.written}")
    for split, n in sorted(stats.by_split.items()):
        add(f"  - {split}: {n} (`{facts.files.get(split, '-')}`)")
    add(f"- Format: {facts.format}")
    add(f"- Decided between: {stats.first or '-'} and {stats.last or '-'} (UTC)")
    exported = facts.created_at.isoformat(timespec="seconds")
    add(f"- Exported: {exported} by ReviewDesk {facts.version}")
    add(f"- Database: {facts.database}")
    add(f"- Seed: {facts.seed}")
    add(f"- Split: {facts.split or 'none (one file, `data`)'}")
    add(f"- Balanced: {facts.balance or 'no'}")
    filters = ", ".join(f"{k} {v}" for k, v in facts.filters) or "none"
    add(f"- Filters: {filters}")
    add("- Always left out: undone decisions (history) and gold (known-answer) drafts")
    if stats.low_attention:
        flagged = stats.low_attention
        add(f"- Low-attention decisions included and flagged (`low_attention`): {flagged}")
    resolutions = stats.resolutions
    if resolutions:
        resolved = ", ".join(f"{r.replace('_', ' ')} {resolutions[r]}" for r in RESOLUTIONS)
        add(
            f"- Escalations: {sum(resolutions.values())}; resolved by a lead: {resolved}; "
            f"still open: {resolutions[None]}"
        )
    for why, n in sorted(stats.skipped.items()):
        add(f"- Not written by this format, {why}: {n}")
    add("")
    by_category_label = stats.by_category_label
    add("## Counts per category and label\n")
    add("| category | " + " | ".join(LABELS) + " | total |")
    add("|---|" + "---:|" * (len(LABELS) + 1))
    categories = sorted({c for c, _ in by_category_label})
    for category in categories:
        cells = [by_category_label[(category, label)] for label in LABELS]
        add(f"| {_cell(category)} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    totals = [sum(by_category_label[(c, label)] for c in categories) for label in LABELS]
    add("| **all** | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
    add("")
    add("## Model versions\n")
    for model, n in sorted(stats.models.items(), key=lambda kv: (-kv[1], kv[0])):
        add(f"- {_cell(model)}: {n}")
    add("")
    add("## Minimum test-set sizes\n")
    add(
        f"Minimums per risk level: {', '.join(f'{k} {v}' for k, v in RISK_MINIMUMS.items())} "
        "records, counted per category and risk level in "
        + (f"the `{stats.test_split}` split" if stats.test_split else "the whole export")
        + ".\n"
    )
    checks = stats.minimum_checks()
    if checks:
        add("| category | risk | test records | minimum | met |")
        add("|---|---|---:|---:|---|")
        for c in checks:
            met = "yes" if c.met else f"no: short by {c.minimum - c.test_records}"
            add(f"| {_cell(c.category)} | {c.risk} | {c.test_records} | {c.minimum} | {met} |")
    else:
        add("No test records.")
    add("")
    add("## Privacy\n")
    if facts.pseudonyms == "installation":
        add(
            "- Reviewers are pseudonyms: HMAC-SHA256 of the name, keyed by a secret this "
            "ReviewDesk installation keeps in the OS keyring for this database. The same reviewer "
            "has the same pseudonym in every export made here from this database."
        )
    else:
        add(
            "- Reviewers are pseudonyms: HMAC-SHA256 of the name, keyed by a random salt made for "
            "this export (no OS keyring was available). Pseudonyms are stable within this "
            "export only: they cannot be matched across exports."
        )
    if facts.redaction:
        found = ", ".join(
            f"{k} {facts.redaction_counts.get(k, 0)}"
            for k in sorted(facts.redaction_counts or {"email": 0})
        )
        add(
            "- Redacted in input, context, draft, final, note and resolution_note: "
            f"{facts.redaction}."
        )
        add(f"  Replaced: {found}.")
    else:
        add("- Not redacted: texts are as the producer and the reviewers wrote them.")
    add("")
    add("## Loading\n")
    add(_USAGE.get(facts.format, ""))
    add("")
    add("## Schema\n")
    add("| field | JSON Lines | Parquet / datasets | null | meaning |")
    add("|---|---|---|---|---|")
    for field in FIELDS:
        add(
            f"| `{field.name}` | {field.json_type} | {field.arrow_type} | "
            f"{'yes' if field.nullable else 'no'} | {field.about} |"
        )
    add("")
    return "\n".join(out)


_USAGE: Mapping[str, str] = {
    "jsonl": "One record per line (schema below).\n\n"
    '```python\nfrom datasets import load_dataset\nds = load_dataset("path/to/this/folder")\n```',
    "csv": "A header row, then one record per row (schema below); an empty cell is null and "
    "`context` is JSON text. A text cell that starts with `=`, `+`, `-`, `@`, a tab or a "
    "carriage return (after any `'`) is written with one more `'` in front, so that a "
    "spreadsheet shows it as text instead of running it as a formula (OWASP's advice against "
    "CSV injection). Remove that one `'` to get the exact text; the other formats carry the "
    "text unchanged.\n\n"
    '```python\nfrom datasets import load_dataset\nds = load_dataset("path/to/this/folder")\n```',
    "parquet": "The schema below, in row groups of 10,000 records.\n\n"
    '```python\nfrom datasets import load_dataset\nds = load_dataset("path/to/this/folder")\n```',
    "hf": "A Hugging Face dataset folder (Parquet under `data/`): load it, or push it to the Hub "
    "as it is.\n\n"
    '```python\nfrom datasets import load_dataset\nds = load_dataset("path/to/this/folder")\n```',
    "inspect": "inspect-ai samples: `id`; `input` (the user's message, or chat messages with the "
    "context as a system message); `target` (the reference answer: for approved, edited and "
    "escalations a lead resolved to send; empty otherwise); `metadata` (every other field "
    "below).\n\n"
    "```python\nfrom inspect_ai.dataset import json_dataset\n"
    'dataset = json_dataset("test.jsonl")\n```',
    "promptfoo": "promptfoo test cases: `vars` (`input`, `context` as JSON text), `assert` built "
    "from the label (factuality with the reference answer for approved, edited and escalations "
    "a lead resolved to send; not-equals the rejected draft and an llm-rubric for rejected and "
    "escalations a lead rejected; an llm-rubric asking for a hand-over for the other "
    "escalations), "
    "`metadata`. Edit `promptfooconfig.yaml` (providers, grader), then `npx promptfoo eval`.",
    "openai-evals": "OpenAI evals samples: `input` as chat messages, `ideal` the reference "
    "answer. Only approved and edited records, and escalations a lead resolved to send, have "
    "one; register the file with "
    "`evals.elsuite.basic.fuzzy_match:FuzzyMatch` or a model-graded eval.",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

"""Streaming writers, one per export format. Each writes one file per split as records arrive.

Evaluation-tool formats (inspect, promptfoo, openai-evals) map a record to that tool's sample and
may skip records it cannot use (no input; no reference answer); ``write`` returns why.
"""

from __future__ import annotations

import csv
import io
import os
import shlex
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, ClassVar

import orjson

from reviewdesk.core.domain import Label
from reviewdesk.services.export.records import FIELD_NAMES, ContextMode, Record

# Rows per Parquet row group: big enough for good compression and fast scans, small enough that
# the buffered columns stay small (20,000 took 15 MB more at peak, for files 15% smaller).
PARQUET_ROW_GROUP = 10_000
ARROW_BATCH = 1_000
FILE_BUFFER = 1 << 20


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"
    HF = "hf"
    INSPECT = "inspect"
    PROMPTFOO = "promptfoo"
    OPENAI_EVALS = "openai-evals"

    @property
    def needs_pyarrow(self) -> bool:
        return self in (ExportFormat.PARQUET, ExportFormat.HF)

    @property
    def has_record_schema(self) -> bool:
        """Files hold the documented record (so Hugging Face `datasets` loads the folder)."""
        return self in (ExportFormat.JSONL, ExportFormat.CSV, ExportFormat.PARQUET, ExportFormat.HF)


class FormatWriter(ABC):
    """Writes records to ``folder``, one file per split, opened on first use."""

    context: ContextMode = "text"
    extension = "jsonl"
    subfolder = ""
    # Line formats: the files of writers that each took one consecutive run of the records,
    # concatenated in order (``header`` kept once), are byte for byte what one writer writes.
    joinable: ClassVar[bool] = False
    header: ClassVar[bytes] = b""  # what every file starts with before its first record

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, str] = {}  # split -> path relative to the folder

    def path_for(self, split: str) -> Path:
        relative = f"{self.subfolder}{self.file_name(split)}"
        self.files[split] = relative
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def file_name(self, split: str) -> str:
        return f"{split}.{self.extension}"

    @abstractmethod
    def write(self, split: str, record: Record) -> str | None:
        """Write one record; returns None, or why it was skipped."""

    @abstractmethod
    def close_files(self) -> None:
        """Flush and close every file of the splits."""

    def finish(self) -> None:  # noqa: B027 - most formats have nothing beside their files
        """Write what goes beside the split files, once all of them are complete (``files``)."""

    def close(self) -> None:
        self.close_files()
        self.finish()

    def abort(self) -> None:
        """Close without finishing (the folder is about to be deleted)."""
        self.close_files()


class _JsonLinesFiles:
    def __init__(self, opener: Callable[[str], Path]) -> None:
        self._opener = opener
        self._handles: dict[str, IO[bytes]] = {}

    def write(self, split: str, data: bytes) -> None:
        handle = self._handles.get(split)
        if handle is None:
            handle = self._handles[split] = self._opener(split).open("wb", buffering=FILE_BUFFER)
        handle.write(data)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


class _JsonLinesWriter(FormatWriter):
    """A format of one JSON object per line and split: joinable from parts."""

    joinable = True

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._files = _JsonLinesFiles(self.path_for)

    def _write_line(self, split: str, obj: Any) -> None:
        self._files.write(split, orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))

    def close_files(self) -> None:
        self._files.close()


class JsonlWriter(FormatWriter):
    """The canonical format: one record per line, context as an object."""

    context: ContextMode = "fragment"
    joinable = True

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._handles: dict[str, IO[bytes]] = {}

    def write(self, split: str, record: Record) -> str | None:
        handle = self._handles.get(split)
        if handle is None:
            handle = self._handles[split] = self.path_for(split).open("wb", buffering=FILE_BUFFER)
        handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        return None

    def close_files(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV Injection"):
# such a cell is written with a leading ', which spreadsheets take as "this is text".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# First characters worth a closer look: a trigger, or the ' that may stand before one.
_FORMULA_FIRST = frozenset("".join(FORMULA_TRIGGERS) + "'")


def neutralized(text: str) -> str:
    """``text`` as a CSV cell: text a spreadsheet would run as a formula gets one more leading
    '. Text that already starts with ' before such a character gets one too, so that removing
    one ' from every such cell gives back the exact text."""
    return "'" + text if text.lstrip("'").startswith(FORMULA_TRIGGERS) else text


def _csv_header() -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(FIELD_NAMES)
    return text.getvalue().encode("utf-8")


def _quotes_bare_cr() -> bool:
    """Whether the csv module quotes a cell holding a carriage return when rows end in a line
    feed. CPython before 3.11.9 and 3.12.3 leaves it bare, and readers split the record there."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(["a\rb"])
    return text.getvalue().startswith('"')


class _LineFeedRows:
    """Where a csv writer with CR LF line ends writes, on a Python that leaves a carriage
    return bare otherwise: each row (one write call) goes on ended by a line feed alone."""

    def __init__(self, handle: IO[str]) -> None:
        self._write = handle.write

    def write(self, row: str) -> int:
        return self._write(row[:-2] + "\n")


def _csv_writer(handle: IO[str]) -> Any:
    """A csv writer of rows ended by a line feed that quotes every cell holding a line feed or
    a carriage return (a writer quotes the characters of its own line end)."""
    if _QUOTES_BARE_CR:
        return csv.writer(handle, lineterminator="\n")
    return csv.writer(_LineFeedRows(handle), lineterminator="\r\n")


_QUOTES_BARE_CR = _quotes_bare_cr()


class CsvWriter(FormatWriter):
    """RFC 4180 CSV with a header row; context as JSON text; null as an empty cell; text that
    starts like a formula with a leading '."""

    extension = "csv"
    joinable = True
    header = _csv_header()

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._writers: dict[str, Any] = {}
        self._handles: dict[str, IO[str]] = {}

    def write(self, split: str, record: Record) -> str | None:
        writer = self._writers.get(split)
        if writer is None:
            handle = self.path_for(split).open(
                "w", encoding="utf-8", newline="", buffering=FILE_BUFFER
            )
            self._handles[split] = handle
            writer = self._writers[split] = _csv_writer(handle)
            writer.writerow(FIELD_NAMES)
        row = [
            neutralized(value) if value.__class__ is str and value[:1] in _FORMULA_FIRST else value
            for value in map(record.__getitem__, FIELD_NAMES)
        ]
        row[-1] = "true" if row[-1] else "false"
        writer.writerow(row)
        return None

    def close_files(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        self._writers.clear()


def _require_pyarrow() -> Any:
    try:
        import pyarrow  # type: ignore[import-untyped]
        import pyarrow.parquet  # type: ignore[import-untyped]
    except ImportError:
        raise ImportError(
            f"Parquet and Hugging Face exports need pyarrow: {pyarrow_install_command()}"
        ) from None
    return pyarrow


_TIMES = ("decided_at", "resolved_at")  # ISO 8601 text in records, timestamps in Arrow


def parquet_schema() -> Any:
    pa = _require_pyarrow()
    string_fields = (
        "input",
        "context",
        "final",
        "reason",
        "severity",
        "note",
        "resolution",
        "resolution_note",
        "resolved_by",
        "model",
    )
    fields = []
    for name in FIELD_NAMES:
        if name in ("confidence", "edit_distance", "review_seconds"):
            fields.append(pa.field(name, pa.float64()))
        elif name in _TIMES:
            fields.append(
                pa.field(name, pa.timestamp("us", tz="UTC"), nullable=name != "decided_at")
            )
        elif name == "low_attention":
            fields.append(pa.field(name, pa.bool_(), nullable=False))
        else:
            fields.append(pa.field(name, pa.string(), nullable=name in string_fields))
    return pa.schema(fields)


class ParquetWriter(FormatWriter):
    """Parquet with the fixed schema of records.FIELDS, written in row groups as it goes.

    Records are held as Python objects only ARROW_BATCH at a time, then as compact Arrow
    batches until a row group is full.
    """

    extension = "parquet"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._pa = _require_pyarrow()
        import pyarrow.parquet as pq

        self._pq = pq
        self._schema = parquet_schema()
        self._columns: dict[str, dict[str, list[Any]]] = {}
        self._batches: dict[str, list[Any]] = {}
        self._buffered: dict[str, int] = {}
        self._writers: dict[str, Any] = {}

    def write(self, split: str, record: Record) -> str | None:
        columns = self._columns.get(split)
        if columns is None:
            columns = self._columns[split] = {name: [] for name in FIELD_NAMES}
            self._batches[split] = []
            self._buffered[split] = 0
        for name in FIELD_NAMES:
            columns[name].append(record[name])
        if len(columns["id"]) >= ARROW_BATCH:
            self._to_arrow(split)
        return None

    def _to_arrow(self, split: str) -> None:
        columns = self._columns[split]
        if not columns["id"]:
            return
        pa = self._pa
        arrays = []
        for field in self._schema:
            values = columns[field.name]
            if field.name in _TIMES:
                arrays.append(pa.array(values, pa.string()).cast(field.type))
            else:
                arrays.append(pa.array(values, field.type))
        self._batches[split].append(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        self._buffered[split] += len(columns["id"])
        for values in columns.values():
            values.clear()
        if self._buffered[split] >= PARQUET_ROW_GROUP:
            self._flush(split)

    def _flush(self, split: str) -> None:
        batches = self._batches[split]
        if not batches:
            return
        writer = self._writers.get(split)
        if writer is None:
            writer = self._writers[split] = self._pq.ParquetWriter(
                self.path_for(split), self._schema, compression="zstd"
            )
        table = self._pa.Table.from_batches(batches, schema=self._schema)
        writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)
        batches.clear()
        self._buffered[split] = 0

    def close_files(self) -> None:
        for split in list(self._columns):
            self._to_arrow(split)
            self._flush(split)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


class HuggingFaceWriter(ParquetWriter):
    """The layout of a Hugging Face Hub dataset: data/<split>-00000-of-00001.parquet and a
    README.md whose YAML names the splits, so ``load_dataset(folder)`` needs no arguments."""

    subfolder = "data/"

    def file_name(self, split: str) -> str:
        return f"{split}-00000-of-00001.parquet"


def _chat_input(record: Record) -> list[dict[str, str]]:
    """The input as chat messages: the context (when there is one) as a system message."""
    messages: list[dict[str, str]] = []
    context = record["context"]
    if context:
        text = orjson.dumps(context).decode()
        messages.append({"role": "system", "content": f"Context:\n{text}"})
    messages.append({"role": "user", "content": record["input"]})
    return messages


NO_INPUT = "no input"
NO_REFERENCE = "no reference answer (rejected, or escalated and not sent)"


class InspectWriter(_JsonLinesWriter):
    """inspect-ai samples (``json_dataset``): input, target, id, metadata."""

    context: ContextMode = "object"

    def write(self, split: str, record: Record) -> str | None:
        if not record["input"]:
            return NO_INPUT
        sample = {
            "id": record["id"],
            "input": _chat_input(record) if record["context"] else record["input"],
            "target": record["final"] or "",
            "metadata": {k: v for k, v in record.items() if k not in ("id", "input", "final")},
        }
        self._write_line(split, sample)
        return None


def promptfoo_asserts(record: Record) -> list[dict[str, Any]]:
    """Assertions from the label and, for an escalation, its resolution: the reference answer
    for approved, edited and an escalation a lead resolved to send; for rejected (by the
    reviewer, or by the lead on escalation) not the rejected draft, and not its problem; for an
    escalation still open or dismissed, a hand-over to a person."""
    label, resolution = record["label"], record["resolution"]
    note = f" Reviewer's note: {record['note']}" if record["note"] else ""
    if label in (Label.APPROVED, Label.EDITED) or (
        label == Label.ESCALATED and record["final"] is not None
    ):
        return [{"type": "factuality", "value": record["final"]}]
    if label == Label.REJECTED:
        problem = f"A reviewer rejected this earlier answer as {record['reason']}"
    elif resolution == "reject":
        problem = (
            f"A reviewer escalated this earlier answer (severity {record['severity']}) and a lead "
            "rejected it"
        )
        if record["resolution_note"]:
            note += f" Lead's note: {record['resolution_note']}"
    else:
        return [
            {
                "type": "llm-rubric",
                "value": (
                    "A reviewer escalated an earlier answer to this input to a specialist "
                    f"(severity {record['severity']}).{note} The output must not settle the case "
                    "on its own; it should hand it to a person."
                ),
            }
        ]
    return [
        {"type": "not-equals", "value": record["draft"]},
        {
            "type": "llm-rubric",
            "value": (
                f"{problem}: <<<{record['draft']}>>>.{note} The output must not have that problem."
            ),
        },
    ]


_PROMPTFOO_METADATA = (
    "label",
    "category",
    "risk",
    "model",
    "reason",
    "severity",
    "resolution",
    "reviewer",
)


class PromptfooWriter(_JsonLinesWriter):
    """promptfoo test cases (JSON Lines: vars, assert, metadata) and a promptfooconfig.yaml."""

    context: ContextMode = "text"

    def write(self, split: str, record: Record) -> str | None:
        if not record["input"]:
            return NO_INPUT
        case = {
            "description": record["id"],
            "vars": {"input": record["input"], "context": record["context"]},
            "assert": promptfoo_asserts(record),
            "metadata": {
                "id": record["id"],
                **{k: record[k] for k in _PROMPTFOO_METADATA if record[k] is not None},
            },
        }
        self._write_line(split, case)
        return None

    def finish(self) -> None:
        if not self.files:
            return
        tests = self.files.get("test") or self.files.get("data") or next(iter(self.files.values()))
        config = (
            "# Written by ReviewDesk (reviewdesk export --format promptfoo).\n"
            "# Replace the echo provider with the system under test, set a grading provider\n"
            "# for the factuality and llm-rubric assertions (defaultTest.options.provider),\n"
            "# then run: npx promptfoo@latest eval\n"
            "description: ReviewDesk labelled feedback\n"
            "prompts:\n"
            "  - '{{input}}'\n"
            "providers:\n"
            "  - echo\n"
            f"tests: file://{tests}\n"
        )
        (self.folder / "promptfooconfig.yaml").write_text(config, encoding="utf-8")


class OpenAIEvalsWriter(_JsonLinesWriter):
    """OpenAI evals samples: ``input`` as chat messages, ``ideal`` the reference answer."""

    context: ContextMode = "object"

    def write(self, split: str, record: Record) -> str | None:
        if not record["input"]:
            return NO_INPUT
        if record["final"] is None:
            return NO_REFERENCE
        sample = {"input": _chat_input(record), "ideal": record["final"]}
        self._write_line(split, sample)
        return None


WRITERS: dict[ExportFormat, Callable[[Path], FormatWriter]] = {
    ExportFormat.JSONL: JsonlWriter,
    ExportFormat.CSV: CsvWriter,
    ExportFormat.PARQUET: ParquetWriter,
    ExportFormat.HF: HuggingFaceWriter,
    ExportFormat.INSPECT: InspectWriter,
    ExportFormat.PROMPTFOO: PromptfooWriter,
    ExportFormat.OPENAI_EVALS: OpenAIEvalsWriter,
}


def pyarrow_install_command(prefix: str | None = None, executable: str | None = None) -> str:
    """The command that installs pyarrow into the environment running ReviewDesk (``prefix``,
    default ``sys.prefix``): a bare ``pip`` may be another environment's, e.g. beside the
    checkout's ``.venv`` that ``make run`` made."""
    prefix = sys.prefix if prefix is None else prefix
    executable = sys.executable if executable is None else executable
    folder = Path(prefix)
    pip = folder / ("Scripts/pip.exe" if os.name == "nt" else "bin/pip")
    command = shlex.quote(str(pip)) if pip.is_file() else f"{shlex.quote(executable)} -m pip"
    return f"{command} install 'reviewdesk[parquet]'"


def pyarrow_available() -> bool:
    try:
        _require_pyarrow()
    except ImportError:
        return False
    return True


__all__ = [
    "WRITERS",
    "ExportFormat",
    "FormatWriter",
    "pyarrow_available",
    "pyarrow_install_command",
]

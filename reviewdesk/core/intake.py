"""Validation of submitted drafts: one JSON object per line, checked before anything is written.

Every problem is reported with its line and field; a file with any problem writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from reviewdesk.core.domain import Risk
from reviewdesk.core.errors import InputProblem

# Documented in docs/api.md ("Limits"). Large enough for real drafts, small enough that one bad
# producer cannot fill a reviewer's screen or the database with a single record.
MAX_LINE_BYTES = 1024 * 1024
MAX_ID_CHARS = 200
MAX_DRAFT_CHARS = 100_000
MAX_INPUT_CHARS = 100_000
MAX_CONTEXT_BYTES = 512 * 1024
MAX_METADATA_BYTES = 64 * 1024
MAX_LABEL_CHARS = 200  # category, model, thread
PRIORITY_RANGE = (-(2**31), 2**31 - 1)

KNOWN_FIELDS = frozenset(
    {
        "id",
        "draft",
        "input",
        "context",
        "category",
        "risk",
        "model",
        "confidence",
        "thread",
        "priority",
        "created_at",
        "metadata",
    }
)


@dataclass(frozen=True)
class DraftSubmission:
    """A validated, normalized draft ready to be queued."""

    line: int
    id: str
    draft: str
    input: str | None
    context: dict[str, Any]
    category: str
    risk: Risk
    model: str | None
    confidence: float | None
    thread: str | None
    priority: int
    created_at: datetime | None
    metadata: dict[str, Any]
    content_hash: str


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[InputProblem] = []

    def add(self, line: int, field: str | None, message: str) -> None:
        self.items.append(InputProblem(self.source, line, field, message))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# The content hash's serialization: these exact bytes are stored, so they must never change.
# One encoder for every draft (json.dumps with options builds a new one each call).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON. orjson is several times faster (this runs for
    every draft of a bulk load); json measures what orjson refuses (integers beyond 64 bits)."""
    try:
        return len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except TypeError:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _optional_text(
    obj: Mapping[str, Any], key: str, limit: int, line: int, problems: _Problems
) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(line, key, f"must be a string, not {_json_type(value)}")
        return None
    if len(value) > limit:
        problems.add(line, key, f"is {len(value):,} characters long; the limit is {limit:,}")
        return None
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_record(obj: Mapping[str, Any], line: int, problems: _Problems) -> DraftSubmission | None:
    before = len(problems.items)

    raw_id = obj.get("id")
    draft_id: str | None = None
    if raw_id is None:
        problems.add(line, "id", "is required")
    elif not isinstance(raw_id, str):
        problems.add(line, "id", f"must be a string, not {_json_type(raw_id)}")
    elif not raw_id.strip():
        problems.add(line, "id", "must not be empty")
    elif len(raw_id) > MAX_ID_CHARS:
        problems.add(line, "id", f"is {len(raw_id)} characters long; the limit is {MAX_ID_CHARS}")
    else:
        draft_id = raw_id

    raw_draft = obj.get("draft")
    draft: str | None = None
    if raw_draft is None:
        problems.add(line, "draft", "is required")
    elif not isinstance(raw_draft, str):
        problems.add(line, "draft", f"must be a string, not {_json_type(raw_draft)}")
    elif not raw_draft.strip():
        problems.add(line, "draft", "must not be empty")
    elif len(raw_draft) > MAX_DRAFT_CHARS:
        problems.add(
            line,
            "draft",
            f"is {len(raw_draft):,} characters long; the limit is {MAX_DRAFT_CHARS:,}",
        )
    else:
        draft = raw_draft

    input_text = _optional_text(obj, "input", MAX_INPUT_CHARS, line, problems)
    model = _optional_text(obj, "model", MAX_LABEL_CHARS, line, problems)
    thread = _optional_text(obj, "thread", MAX_LABEL_CHARS, line, problems)
    category = _optional_text(obj, "category", MAX_LABEL_CHARS, line, problems)
    if category is not None and not category.strip():
        problems.add(line, "category", "must not be empty when given")
    category = category or "uncategorized"

    context: dict[str, Any] = {}
    raw_context = obj.get("context")
    if raw_context is not None:
        if not isinstance(raw_context, dict):
            problems.add(line, "context", f"must be an object, not {_json_type(raw_context)}")
        elif (size := _json_size(raw_context)) > MAX_CONTEXT_BYTES:
            problems.add(line, "context", f"is {size:,} bytes; the limit is {MAX_CONTEXT_BYTES:,}")
        else:
            context = raw_context

    risk = Risk.MEDIUM
    raw_risk = obj.get("risk")
    if raw_risk is not None:
        try:
            risk = Risk(raw_risk)
        except ValueError:
            problems.add(line, "risk", f"must be one of low, medium, high, not {raw_risk!r}")

    confidence: float | None = None
    raw_conf = obj.get("confidence")
    if raw_conf is not None:
        if isinstance(raw_conf, bool) or not isinstance(raw_conf, int | float):
            problems.add(line, "confidence", f"must be a number, not {_json_type(raw_conf)}")
        elif not (math.isfinite(raw_conf) and 0.0 <= raw_conf <= 1.0):
            problems.add(line, "confidence", f"must be between 0 and 1, not {raw_conf}")
        else:
            confidence = float(raw_conf)

    priority = 0
    raw_priority = obj.get("priority")
    if raw_priority is not None:
        if isinstance(raw_priority, bool) or not isinstance(raw_priority, int):
            problems.add(line, "priority", f"must be an integer, not {raw_priority!r}")
        elif not PRIORITY_RANGE[0] <= raw_priority <= PRIORITY_RANGE[1]:
            problems.add(line, "priority", f"must fit in 32 bits, not {raw_priority}")
        else:
            priority = raw_priority

    created_at: datetime | None = None
    raw_created = obj.get("created_at")
    if raw_created is not None:
        if not isinstance(raw_created, str):
            problems.add(
                line, "created_at", f"must be an ISO 8601 string, not {_json_type(raw_created)}"
            )
        else:
            try:
                parsed = datetime.fromisoformat(raw_created)
            except ValueError:
                problems.add(
                    line, "created_at", f"is not an ISO 8601 date and time: {raw_created!r}"
                )
            else:
                # A timestamp without an offset is taken as UTC (documented).
                created_at = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
                created_at = created_at.astimezone(UTC)

    metadata: dict[str, Any] = {}
    raw_meta = obj.get("metadata")
    if raw_meta is not None:
        if not isinstance(raw_meta, dict):
            problems.add(line, "metadata", f"must be an object, not {_json_type(raw_meta)}")
        else:
            metadata = dict(raw_meta)
    # Unknown fields are kept, not dropped: they travel in metadata.
    for key, value in obj.items():
        if key not in KNOWN_FIELDS:
            metadata.setdefault(key, value)
    if metadata and (size := _json_size(metadata)) > MAX_METADATA_BYTES:
        problems.add(line, "metadata", f"is {size:,} bytes; the limit is {MAX_METADATA_BYTES:,}")

    if len(problems.items) != before or draft_id is None or draft is None:
        return None
    canonical = {
        "id": draft_id,
        "draft": draft,
        "input": input_text,
        "context": context,
        "category": category,
        "risk": risk.value,
        "model": model,
        "confidence": confidence,
        "thread": thread,
        "priority": priority,
        "created_at": created_at.isoformat() if created_at else None,
        "metadata": metadata,
    }
    digest = hashlib.sha256(_CANONICAL_JSON.encode(canonical).encode()).hexdigest()
    return DraftSubmission(
        line=line,
        id=draft_id,
        draft=draft,
        input=input_text,
        context=context,
        category=category,
        risk=risk,
        model=model,
        confidence=confidence,
        thread=thread,
        priority=priority,
        created_at=created_at,
        metadata=metadata,
        content_hash=digest,
    )


def _check_unique(records: list[DraftSubmission], problems: _Problems) -> None:
    first_line: dict[str, int] = {}
    for rec in records:
        if rec.id in first_line:
            problems.add(
                rec.line, "id", f"'{rec.id}' is repeated (first on line {first_line[rec.id]})"
            )
        else:
            first_line[rec.id] = rec.line


def validate_records(
    records: Iterable[object], *, source: str = "<records>"
) -> tuple[list[DraftSubmission], list[InputProblem]]:
    """Validate dicts with the enqueue fields. Records are numbered from 1 as 'lines'."""
    problems = _Problems(source)
    valid: list[DraftSubmission] = []
    for number, obj in enumerate(records, start=1):
        if not isinstance(obj, Mapping):
            problems.add(number, None, f"must be an object, not {_json_type(obj)}")
            continue
        rec = _check_record(obj, number, problems)
        if rec is not None:
            valid.append(rec)
    _check_unique(valid, problems)
    return valid, problems.items


def parse_jsonl(
    lines: Iterable[bytes], *, source: str
) -> tuple[list[DraftSubmission], list[InputProblem]]:
    """Parse and validate JSON Lines given as raw bytes (one item per line, newline kept or not).

    Blank lines are allowed and skipped; line numbers count them.
    """
    problems = _Problems(source)
    valid: list[DraftSubmission] = []
    number = 0
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE_BYTES:
            problems.add(
                number, None, f"is {len(raw):,} bytes long; the limit is {MAX_LINE_BYTES:,}"
            )
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(number, None, f"is not valid UTF-8 (byte {exc.start + 1}: {exc.reason})")
            continue
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]  # a byte-order mark some editors write
        if not text.strip():
            continue
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            col = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            problems.add(number, None, f"is not valid JSON: {msg}{col}")
            continue
        if not isinstance(obj, dict):
            problems.add(number, None, f"must be a JSON object, not {_json_type(obj)}")
            continue
        rec = _check_record(obj, number, problems)
        if rec is not None:
            valid.append(rec)
    _check_unique(valid, problems)
    return valid, problems.items

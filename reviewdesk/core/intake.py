"""Validation of submitted drafts: one JSON object per line, checked before anything is written.

Every problem is reported with its line and field; a file with any problem writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
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
# Arrays and objects in one record, its own braces counted. Far beyond real contexts, and well
# within what every reader of a stored context handles (orjson writes at most 254 levels).
MAX_NESTING = 100
# Times a draft can plausibly have been made at, with room to show them in any time zone
# (0001-01-01, a common stand-in for "unknown", overflows once a time zone shifts it earlier).
CREATED_AT_RANGE = (datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))

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
# NaN and Infinity are refused (no engine stores them as JSON numbers); no bytes of an accepted
# record change by that.
_CANONICAL_JSON = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
)


def _json_size(value: Any) -> tuple[int, bool]:
    """Bytes of ``value`` as compact UTF-8 JSON, and whether the record's final check must walk
    it: it holds enough brackets to nest too deep, or orjson refused it. orjson is several times
    faster (this runs for every draft of a bulk load); json measures what orjson refuses
    (integers beyond 64 bits, deep nesting, unpaired surrogates, what is not JSON)."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        pass
    else:
        return len(data), data.count(b"[") + data.count(b"{") >= MAX_NESTING
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return 0, True
    return len(text.encode("utf-8", "surrogatepass")), True


def _shown(value: Any) -> str:
    """``value`` for a message: its repr, cut short; an integer too long to print, by size."""
    if isinstance(value, int) and value.bit_length() > 200:
        # log10(2) digits per bit; repr would print thousands of digits, or refuse.
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    try:
        text = repr(value)
    except RecursionError:  # a list nested as deep as json.loads goes
        return _json_type(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored: a NUL (PostgreSQL text cannot hold one, and both engines
    take the same input), or an unpaired surrogate (not Unicode, so it has no UTF-8)."""
    at = text.find("\x00")
    if at >= 0:
        return f"contains a NUL character (\\u0000) at character {at + 1}; text may not hold NUL"
    if found := _UNPAIRED_SURROGATE.search(text):
        return (
            f"contains an unpaired surrogate (\\u{ord(found.group()):04x}) at character "
            f"{found.start() + 1}, which is not Unicode text"
        )
    return None


def _printable(name: object) -> str:
    """A field name or key for a message: control characters and surrogates escaped."""
    text = str(name)
    return text if text.isprintable() else repr(text)[1:-1]


def _at(path: str, message: str) -> str:
    return f"{path} {message}" if path else message


def _value_problem(value: Any, depth: int, path: str, holding: set[int]) -> str | None:
    """The first reason ``value``, ``depth`` levels down the record at ``path`` in its field,
    cannot be stored as JSON; None when it can."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return _at(path, problem) if problem else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            int.__repr__(value)
        except ValueError:
            digits = sys.get_int_max_str_digits()
            return _at(path, f"is an integer of more than {digits:,} digits")
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else _at(path, f"is {value!r}, not a finite number")
    if not isinstance(value, dict | list | tuple):
        return _at(path, f"is a {type(value).__name__}, not a JSON value")
    if depth > MAX_NESTING:
        return f"is nested more than {MAX_NESTING} levels deep"
    if id(value) in holding:
        return _at(path, "contains itself")
    holding.add(id(value))
    try:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str):
                    if problem := _text_problem(key):
                        return _at(path, f"has a key that {problem}")
                elif not (key is None or isinstance(key, int | float)):
                    return _at(path, f"has a key of type {type(key).__name__}, not a string")
                child = f"{path}.{_printable(key)}" if path else _printable(key)
                if problem := _value_problem(item, depth + 1, child, holding):
                    return problem
        else:
            for index, item in enumerate(value):
                if problem := _value_problem(item, depth + 1, f"{path}[{index}]", holding):
                    return problem
    finally:
        holding.discard(id(value))
    return None


def _storage_problems(obj: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """(field, message) for every field of a record that cannot be stored as it is. Run only
    when the record's one encoding hints at such a field, so a clean load never walks."""
    found: list[tuple[str | None, str]] = []
    for key, value in obj.items():
        field = _printable(key)
        if isinstance(key, str) and (problem := _text_problem(key)):
            found.append((field, f"the field's name {problem}"))
        elif problem := _value_problem(value, 2, "", set()):
            found.append((field, problem))
    return found


def _encoding_problems(canonical: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """What the walk of the fields did not name: the fields the canonical JSON cannot encode."""
    found: list[tuple[str | None, str]] = []
    for field, value in canonical.items():
        try:
            _CANONICAL_JSON.encode(value)
        except (TypeError, ValueError, RecursionError) as exc:
            found.append((field, f"cannot be written as JSON: {exc}"))
    return found or [(None, "cannot be written as JSON")]


def _created_at(parsed: datetime) -> datetime | None:
    """``parsed`` as aware UTC (without an offset it is UTC, as documented); None outside
    CREATED_AT_RANGE, including times that overflow on the way to UTC."""
    try:
        when = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        return None
    return when if CREATED_AT_RANGE[0] <= when < CREATED_AT_RANGE[1] else None


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

    # Whether the last check must walk the fields: only context and metadata (unknown fields
    # included) can nest, and measuring them tells.
    walk = False
    context: dict[str, Any] = {}
    raw_context = obj.get("context")
    if raw_context is not None:
        if not isinstance(raw_context, dict):
            problems.add(line, "context", f"must be an object, not {_json_type(raw_context)}")
        else:
            size, walk = _json_size(raw_context)
            if size > MAX_CONTEXT_BYTES:
                problems.add(
                    line, "context", f"is {size:,} bytes; the limit is {MAX_CONTEXT_BYTES:,}"
                )
            else:
                context = raw_context

    risk = Risk.MEDIUM
    raw_risk = obj.get("risk")
    if raw_risk is not None:
        try:
            risk = Risk(raw_risk)
        except ValueError:
            problems.add(line, "risk", f"must be one of low, medium, high, not {_shown(raw_risk)}")

    confidence: float | None = None
    raw_conf = obj.get("confidence")
    if raw_conf is not None:
        if isinstance(raw_conf, bool) or not isinstance(raw_conf, int | float):
            problems.add(line, "confidence", f"must be a number, not {_json_type(raw_conf)}")
        elif not 0.0 <= raw_conf <= 1.0:  # also NaN; compared exactly, even a huge integer
            problems.add(line, "confidence", f"must be between 0 and 1, not {_shown(raw_conf)}")
        else:
            confidence = float(raw_conf)

    priority = 0
    raw_priority = obj.get("priority")
    if raw_priority is not None:
        if isinstance(raw_priority, bool) or not isinstance(raw_priority, int):
            problems.add(line, "priority", f"must be an integer, not {_shown(raw_priority)}")
        elif not PRIORITY_RANGE[0] <= raw_priority <= PRIORITY_RANGE[1]:
            problems.add(line, "priority", f"must fit in 32 bits, not {_shown(raw_priority)}")
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
                    line, "created_at", f"is not an ISO 8601 date and time: {_shown(raw_created)}"
                )
            else:
                created_at = _created_at(parsed)
                if created_at is None:
                    low, high = (f"{t:%Y-%m-%d}" for t in CREATED_AT_RANGE)
                    problems.add(
                        line,
                        "created_at",
                        f"must be from {low} up to {high} (UTC), not {_shown(raw_created)}",
                    )

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
    if metadata:
        size, walk_metadata = _json_size(metadata)
        walk = walk or walk_metadata
        if size > MAX_METADATA_BYTES:
            problems.add(
                line, "metadata", f"is {size:,} bytes; the limit is {MAX_METADATA_BYTES:,}"
            )

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
    try:
        text = _CANONICAL_JSON.encode(canonical)
        encoded = text.encode()
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        text, encoded = "", b""
    # The encoding every record needs anyway tells whether a field may be unstorable: it fails
    # (unpaired surrogate, NaN, a value JSON has no form for) or it spells a NUL as \u0000. Only
    # then, or when measuring context and metadata said so, are the fields walked, to name it.
    if walk or not encoded or "\\u0000" in text:
        unstorable = _storage_problems(obj)
        if not encoded and not unstorable:
            unstorable = _encoding_problems(canonical)
        for field, message in unstorable:
            problems.add(line, field, message)
        if unstorable:
            return None
    digest = hashlib.sha256(encoded).hexdigest()
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
                rec.line,
                "id",
                f"'{_printable(rec.id)}' is repeated (first on line {first_line[rec.id]})",
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


# How much of an over-long line is read at a time, to count it.
_SKIP_CHUNK = 1024 * 1024


def _lines_of(lines: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
    """(line, its size in bytes). From a binary file each line is read with a bound, so a line
    longer than MAX_LINE_BYTES is counted as it is read and never held whole: it comes as
    (b"", size)."""
    if not isinstance(lines, io.IOBase):
        for raw in lines:
            yield raw, len(raw)
        return
    while raw := lines.readline(MAX_LINE_BYTES + 1):
        size = len(raw)
        if size <= MAX_LINE_BYTES:
            yield raw, size
            continue
        while not raw.endswith(b"\n") and (raw := lines.readline(_SKIP_CHUNK)):
            size += len(raw)
        yield b"", size


def _json_problem(exc: ValueError, text: str) -> str:
    """What json.loads refused in ``text``, worded for a person and placed on this line."""
    if not isinstance(exc, json.JSONDecodeError):
        if str(exc).startswith("Exceeds the limit"):
            digits = sys.get_int_max_str_digits()
            return f"holds a number of more than {digits:,} digits"
        return f"is not valid JSON: {exc}"
    if exc.pos == 0 and text.startswith("\ufeff"):
        return "starts with a byte-order mark (U+FEFF); only a file's first line may"
    # The line's own newline is not part of it: parsed without it, an object left open ends at
    # the end of the line, not on the next one, and a string left open is called unterminated.
    line = text.rstrip("\r\n")
    if line != text:
        try:
            json.loads(line, parse_constant=_reject_constant)
        except json.JSONDecodeError as again:
            exc = again
        except ValueError:
            pass
    # Python's messages for a position end in "at" ("Unterminated string starting at").
    msg = exc.msg.removesuffix(" at")
    end = len(line)
    if exc.pos >= end:
        return f"is not valid JSON: {msg} at the end of the line (column {end + 1})"
    return f"is not valid JSON: {msg} at column {exc.pos + 1}"


def parse_jsonl(
    lines: Iterable[bytes], *, source: str
) -> tuple[list[DraftSubmission], list[InputProblem]]:
    """Parse and validate JSON Lines given as raw bytes (one item per line, newline kept or not),
    or as a binary file, which is read one bounded line at a time.

    Blank lines are allowed and skipped; line numbers count them.
    """
    problems = _Problems(source)
    valid: list[DraftSubmission] = []
    reading = _lines_of(lines)
    number = 0
    while True:
        number += 1
        try:
            raw, size = next(reading)
        except StopIteration:
            break
        except (OSError, ValueError) as exc:  # ValueError: a file closed under the reader
            problems.add(number, None, f"cannot be read: {getattr(exc, 'strerror', None) or exc}")
            break
        if size > MAX_LINE_BYTES:
            problems.add(number, None, f"is {size:,} bytes long; the limit is {MAX_LINE_BYTES:,}")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
                problems.add(number, None, "is UTF-16 (a UTF-16 byte-order mark); use UTF-8")
                break  # every line after it would be reported too
            problems.add(number, None, f"is not valid UTF-8 (byte {exc.start + 1}: {exc.reason})")
            continue
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]  # a byte-order mark some editors write
        if not text.strip():
            continue
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            problems.add(number, None, f"is nested more than {MAX_NESTING} levels deep")
            continue
        except ValueError as exc:
            problems.add(number, None, _json_problem(exc, text))
            continue
        if not isinstance(obj, dict):
            problems.add(number, None, f"must be a JSON object, not {_json_type(obj)}")
            continue
        rec = _check_record(obj, number, problems)
        if rec is not None:
            valid.append(rec)
    _check_unique(valid, problems)
    return valid, problems.items

"""The exported record: its fields, and how a database row becomes one.

This is the hot path of an export, so rows arrive as raw driver values and become plain dicts
with as little work as possible; the stored context is passed on as JSON text unless a format or
redaction needs the object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from reviewdesk.services.export.privacy import Pseudonymizer, Redactor


@dataclass(frozen=True)
class Field:
    name: str
    json_type: str  # as in JSON Lines
    arrow_type: str  # as in Parquet and for Hugging Face `datasets`
    nullable: bool
    about: str


FIELDS: tuple[Field, ...] = (
    Field("id", "string", "string", False, "the producer's draft id"),
    Field("input", "string", "string", True, "what the AI answered (the user's message)"),
    Field(
        "context",
        "object",
        "string (JSON)",
        False,
        "what the AI was given (retrieved documents, customer data); an object in JSON Lines, "
        "JSON text in CSV and Parquet",
    ),
    Field("draft", "string", "string", False, "the AI's draft as the reviewer saw it"),
    Field("label", "string", "string", False, "approved, edited, rejected or escalated"),
    Field(
        "final",
        "string",
        "string",
        True,
        "the reference answer, the text to send: the draft if approved, the corrected text if "
        "edited, the lead's choice for an escalation resolved send_as_is (the draft) or "
        "send_edited (the lead's text); null otherwise",
    ),
    Field("reason", "string", "string", True, "why it was rejected (rejected only)"),
    Field("severity", "string", "string", True, "critical, high, medium or low (escalated only)"),
    Field("note", "string", "string", True, "the reviewer's note"),
    Field(
        "resolution",
        "string",
        "string",
        True,
        "how a lead resolved the escalation: send_as_is, send_edited, reject or dismiss; "
        "null while open (escalated only)",
    ),
    Field("resolution_note", "string", "string", True, "the lead's note on the resolution"),
    Field("resolved_by", "string", "string", True, "pseudonym of the lead who resolved it"),
    Field(
        "resolved_at",
        "string",
        "timestamp[us, UTC]",
        True,
        "when it was resolved, as decided_at",
    ),
    Field("category", "string", "string", False, "the producer's category"),
    Field("risk", "string", "string", False, "low, medium or high"),
    Field("model", "string", "string", True, "the model version that wrote the draft"),
    Field("confidence", "number", "float64", True, "the producer's confidence, 0..1"),
    Field(
        "edit_distance",
        "number",
        "float64",
        True,
        "normalized Levenshtein distance draft to final, 0..1 (edited only)",
    ),
    Field("reviewer", "string", "string", False, "pseudonym of the reviewer, r- and 16 hex"),
    Field(
        "decided_at",
        "string",
        "timestamp[us, UTC]",
        False,
        "when it was decided: ISO 8601 UTC with microseconds in JSON Lines and CSV",
    ),
    Field("review_seconds", "number", "float64", True, "time the reviewer spent on it"),
    Field(
        "low_attention",
        "boolean",
        "bool",
        False,
        "flagged low-attention: approved faster than it could be read, in a run of such "
        "approvals (such approvals only with --include-low-attention)",
    ),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)

# How the context reaches a format: "fragment" embeds the stored JSON text in JSON output as is,
# "text" keeps it as a JSON string column, "object" parses it.
ContextMode = Literal["fragment", "text", "object"]
Record = dict[str, Any]


def iso_utc(value: Any) -> str:
    """ISO 8601 in UTC with microseconds: ``2026-01-05T09:00:00.000000+00:00``."""
    if isinstance(value, str):
        # SQLite keeps UTC as fixed-format text ("2026-01-05 09:00:00.000000"): re-punctuate it.
        if len(value) == 26 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}+00:00"
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"decided_at: expected a time, got {value!r}")
    when: datetime = value
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat(timespec="microseconds")


RowConverter = Callable[[Sequence[Any]], Record]


def make_converter(
    *, pseudonym: Pseudonymizer, redactor: Redactor | None, context: ContextMode
) -> RowConverter:
    """A function from a raw row (storage.export_sql.RECORD_COLUMNS order) to a record."""
    names = pseudonym.table  # a dict that fills itself: one C-level lookup per record
    wrap: Callable[[Any], Any] | None = {
        "fragment": orjson.Fragment,
        "object": orjson.loads,
        "text": None,
    }[context]

    if redactor is None:

        def convert(row: Sequence[Any]) -> Record:
            at = row[16]
            return {
                "id": row[1],
                "input": row[2],
                "context": row[3] if wrap is None else wrap(row[3]),
                "draft": row[4],
                "label": row[5],
                "final": row[6],
                "reason": row[7],
                "severity": row[8],
                "note": row[9],
                "resolution": row[19],
                "resolution_note": row[20],
                "resolved_by": None if row[21] is None else names[row[21]],
                "resolved_at": None if row[22] is None else iso_utc(row[22]),
                "category": row[10],
                "risk": row[11],
                "model": row[12],
                "confidence": row[13],
                "edit_distance": row[14],
                "reviewer": names[row[15]],
                # SQLite's fixed-format UTC text, re-punctuated inline: the common case.
                "decided_at": f"{at[:10]}T{at[11:]}+00:00"
                if type(at) is str and len(at) == 26
                else iso_utc(at),
                "review_seconds": row[17],
                "low_attention": bool(row[18]),
            }

        return convert

    red = redactor

    def convert_redacted(row: Sequence[Any]) -> Record:
        ctx: Any = red.value(orjson.loads(row[3]))
        if context != "object":
            ctx = orjson.dumps(ctx).decode()
            if context == "fragment":
                ctx = orjson.Fragment(ctx)
        return {
            "id": row[1],
            "input": _text(red, row[2]),
            "context": ctx,
            "draft": red.text(row[4]),
            "label": row[5],
            "final": _text(red, row[6]),
            "reason": row[7],
            "severity": row[8],
            "note": _text(red, row[9]),
            "resolution": row[19],
            "resolution_note": _text(red, row[20]),
            "resolved_by": None if row[21] is None else names[row[21]],
            "resolved_at": None if row[22] is None else iso_utc(row[22]),
            "category": row[10],
            "risk": row[11],
            "model": row[12],
            "confidence": row[13],
            "edit_distance": row[14],
            "reviewer": names[row[15]],
            "decided_at": iso_utc(row[16]),
            "review_seconds": row[17],
            "low_attention": bool(row[18]),
        }

    return convert_redacted


def _text(redactor: Redactor, value: str | None) -> str | None:
    return None if value is None else redactor.text(value)

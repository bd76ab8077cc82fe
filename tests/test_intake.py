"""Validation of submitted drafts: every problem named with its line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from reviewdesk.core.domain import Risk
from reviewdesk.core.intake import (
    MAX_CONTEXT_BYTES,
    MAX_DRAFT_CHARS,
    MAX_LINE_BYTES,
    parse_jsonl,
    validate_records,
)


def lines(*objs: object) -> list[bytes]:
    return [(o if isinstance(o, bytes) else json.dumps(o).encode()) + b"\n" for o in objs]


OK = {"id": "a", "draft": "hello"}

# (name, file lines, expected problems as "line:field:message fragment")
MALFORMED = [
    ("invalid JSON", [b'{"id": "a", "draft": }\n'], ["1::is not valid JSON"]),
    ("not an object", lines([1, 2]), ["1::must be a JSON object, not an array"]),
    ("a bare string", lines("text"), ["1::must be a JSON object, not a string"]),
    ("missing id", lines({"draft": "x"}), ["1:id:is required"]),
    ("empty id", lines({"id": "  ", "draft": "x"}), ["1:id:must not be empty"]),
    ("numeric id", lines({"id": 7, "draft": "x"}), ["1:id:must be a string, not a number"]),
    ("missing draft", lines({"id": "a"}), ["1:draft:is required"]),
    ("empty draft", lines({"id": "a", "draft": ""}), ["1:draft:must not be empty"]),
    (
        "draft not text",
        lines({"id": "a", "draft": ["x"]}),
        ["1:draft:must be a string, not an array"],
    ),
    (
        "draft too long",
        lines({"id": "a", "draft": "x" * (MAX_DRAFT_CHARS + 1)}),
        ["1:draft:the limit is 100,000"],
    ),
    ("risk unknown", lines({**OK, "risk": "extreme"}), ["1:risk:must be one of low, medium, high"]),
    ("confidence > 1", lines({**OK, "confidence": 1.5}), ["1:confidence:must be between 0 and 1"]),
    ("confidence text", lines({**OK, "confidence": "high"}), ["1:confidence:must be a number"]),
    (
        "confidence bool",
        lines({**OK, "confidence": True}),
        ["1:confidence:must be a number, not a boolean"],
    ),
    ("NaN", [b'{"id": "a", "draft": "x", "confidence": NaN}\n'], ["1::NaN is not valid JSON"]),
    ("priority float", lines({**OK, "priority": 1.5}), ["1:priority:must be an integer"]),
    ("priority huge", lines({**OK, "priority": 2**40}), ["1:priority:must fit in 32 bits"]),
    (
        "context list",
        lines({**OK, "context": ["doc"]}),
        ["1:context:must be an object, not an array"],
    ),
    (
        "context too big",
        lines({**OK, "context": {"doc": "x" * MAX_CONTEXT_BYTES}}),
        ["1:context:the limit is 524,288"],
    ),
    ("metadata list", lines({**OK, "metadata": [1]}), ["1:metadata:must be an object"]),
    (
        "created_at junk",
        lines({**OK, "created_at": "yesterday"}),
        ["1:created_at:is not an ISO 8601"],
    ),
    (
        "created_at number",
        lines({**OK, "created_at": 1700000000}),
        ["1:created_at:must be an ISO 8601 string"],
    ),
    ("category empty", lines({**OK, "category": ""}), ["1:category:must not be empty"]),
    ("thread number", lines({**OK, "thread": 5}), ["1:thread:must be a string"]),
    ("invalid UTF-8", [b'{"id": "a", "draft": "caf\xe9"}\n'], ["1::is not valid UTF-8"]),
    (
        "line too long",
        [b'{"id": "a", "draft": "' + b"x" * MAX_LINE_BYTES + b'"}\n'],
        ["1::the limit is 1,048,576"],
    ),
    (
        "repeated id",
        lines(OK, {"id": "b", "draft": "y"}, {"id": "a", "draft": "z"}),
        ["3:id:'a' is repeated (first on line 1)"],
    ),
    (
        "several problems, several lines",
        lines(OK, {"id": "", "draft": 3}, {"id": "c", "draft": "ok", "risk": 1}),
        ["2:id:must not be empty", "2:draft:must be a string", "3:risk:must be one of"],
    ),
]


@pytest.mark.parametrize(("name", "raw", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_is_reported_by_line_and_field(
    name: str, raw: list[bytes], expected: list[str]
) -> None:
    _, problems = parse_jsonl(raw, source="drafts.jsonl")
    assert len(problems) == len(expected), [str(p) for p in problems]
    for problem, want in zip(problems, expected, strict=True):
        line, field, fragment = want.split(":", 2)
        assert problem.source == "drafts.jsonl"
        assert problem.line == int(line)
        assert problem.field == (field or None)
        assert fragment in problem.message, str(problem)
        assert str(problem).startswith(f"drafts.jsonl:{line}")


def test_line_numbers_count_blank_lines() -> None:
    _, problems = parse_jsonl([b"\n", b"   \n", b'{"id": "a"}\n'], source="f")
    assert [(p.line, p.field) for p in problems] == [(3, "draft")]


def test_defaults_and_unknown_fields_are_kept_in_metadata() -> None:
    records, problems = parse_jsonl(
        lines({"id": "a", "draft": "x", "ticket_url": "https://t/1", "metadata": {"k": 1}}),
        source="f",
    )
    assert problems == []
    (rec,) = records
    assert rec.category == "uncategorized"
    assert rec.risk is Risk.MEDIUM
    assert rec.priority == 0
    assert rec.metadata == {"k": 1, "ticket_url": "https://t/1"}


def test_created_at_without_offset_is_utc_and_offsets_are_converted() -> None:
    records, _ = validate_records(
        [
            {"id": "a", "draft": "x", "created_at": "2026-03-01T10:00:00"},
            {"id": "b", "draft": "x", "created_at": "2026-03-01T10:00:00+02:00"},
            {"id": "c", "draft": "x", "created_at": "2026-03-01T10:00:00Z"},
        ]
    )
    assert [r.created_at for r in records] == [
        datetime(2026, 3, 1, 10, tzinfo=UTC),
        datetime(2026, 3, 1, 8, tzinfo=UTC),
        datetime(2026, 3, 1, 10, tzinfo=UTC),
    ]


def test_content_hash_ignores_spelled_out_defaults_but_not_content() -> None:
    (a,), _ = validate_records([{"id": "a", "draft": "x"}])
    (b,), _ = validate_records([{"id": "a", "draft": "x", "risk": "medium", "priority": 0}])
    (c,), _ = validate_records([{"id": "a", "draft": "x!"}])
    assert a.content_hash == b.content_hash != c.content_hash


def test_content_hash_is_stable_across_versions() -> None:
    """Queued drafts keep the hash they were stored with: a resubmission after an upgrade must
    still be recognised as the same draft, so the serialization behind it never changes."""
    (record,), _ = validate_records(
        [
            {
                "id": "h-1",
                "draft": "Your refund is on its way.",
                "context": {"b": [1.5, 2], "a": "é"},
                "confidence": 0.87,
                "created_at": "2026-01-02T03:04:05Z",
                "metadata": {"k": "v"},
            }
        ]
    )
    assert record.content_hash == (
        "2a57121d1785f49e7fff61e48bb569c2eb01f7c8017bb8df49caab1133fcc67e"
    )


def test_byte_order_mark_on_first_line_is_accepted() -> None:
    records, problems = parse_jsonl([b"\xef\xbb\xbf" + json.dumps(OK).encode()], source="f")
    assert problems == [] and records[0].id == "a"


def test_api_records_that_are_not_dicts_are_reported() -> None:
    _, problems = validate_records([OK, "nope"], source="<records>")  # type: ignore[list-item]
    assert [(p.line, p.message) for p in problems] == [(2, "must be an object, not a string")]

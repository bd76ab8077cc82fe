"""Malformed input, on both engines: every bad line is named with its line and field, nothing is
written, and no command prints a traceback.

Each file holds a valid new draft on line 1, so that a load that wrote anything would show in the
counts, and the bad input on line 2 (or the whole file, where the problem is the file itself).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from reviewdesk import InvalidInput, ReviewDesk
from reviewdesk.core.intake import MAX_LINE_BYTES
from reviewdesk.main import main
from tests.conftest import postgres_schema

GOOD = b'{"id": "fresh-1", "draft": "A new draft."}\n'
NOT_IN = "is not valid JSON"


def record(**fields: Any) -> bytes:
    return json.dumps({"id": "bad-2", "draft": "Hello.", **fields}).encode() + b"\n"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# (name, line 2 as bytes, the message for line 2 after "FILE:2: ")
LINE_CASES: list[tuple[str, bytes, str]] = [
    # Nesting: json's recursion limit, and a depth within it but beyond the documented one.
    (
        "nested 5,000 deep",
        b'{"id": "bad-2", "draft": "x", "context": {"a": ' + nested(5000).encode() + b"}}\n",
        "is nested more than 100 levels deep",
    ),
    (
        "context nested 150 deep",
        b'{"id": "bad-2", "draft": "x", "context": {"a": ' + nested(150).encode() + b"}}\n",
        "field 'context': is nested more than 100 levels deep",
    ),
    (
        "unknown field nested 150 deep",
        b'{"id": "bad-2", "draft": "x", "extra": ' + nested(150).encode() + b"}\n",
        "field 'extra': is nested more than 100 levels deep",
    ),
    # Unpaired surrogates: not Unicode, so no engine can take them.
    (
        "lone high surrogate in draft",
        b'{"id": "bad-2", "draft": "ab\\ud800"}\n',
        "field 'draft': contains an unpaired surrogate (\\ud800) at character 3, "
        "which is not Unicode text",
    ),
    (
        "lone low surrogate in input",
        b'{"id": "bad-2", "draft": "x", "input": "\\udc00"}\n',
        "field 'input': contains an unpaired surrogate (\\udc00) at character 1, "
        "which is not Unicode text",
    ),
    (
        "surrogates in the wrong order",
        b'{"id": "bad-2", "draft": "\\ude00\\ud83d"}\n',
        "field 'draft': contains an unpaired surrogate (\\ude00) at character 1, "
        "which is not Unicode text",
    ),
    (
        "lone surrogate in a context value",
        b'{"id": "bad-2", "draft": "x", "context": {"docs": [{"t": "\\ud800"}]}}\n',
        "field 'context': docs[0].t contains an unpaired surrogate (\\ud800) at character 1, "
        "which is not Unicode text",
    ),
    (
        "lone surrogate in a context key",
        b'{"id": "bad-2", "draft": "x", "context": {"k\\ud800": 1}}\n',
        "field 'context': has a key that contains an unpaired surrogate (\\ud800) at character "
        "2, which is not Unicode text",
    ),
    (
        "lone surrogate in an unknown field's name",
        b'{"id": "bad-2", "draft": "x", "\\udfff": 1}\n',
        "field '\\udfff': the field's name contains an unpaired surrogate (\\udfff) at character "
        "1, which is not Unicode text",
    ),
    (
        "lone surrogate in id",
        b'{"id": "b\\ud800", "draft": "x"}\n',
        "field 'id': contains an unpaired surrogate (\\ud800) at character 2, "
        "which is not Unicode text",
    ),
    # NUL: PostgreSQL text cannot hold it, so neither engine takes it.
    (
        "NUL in draft",
        b'{"id": "bad-2", "draft": "Hi\\u0000there"}\n',
        "field 'draft': contains a NUL character (\\u0000) at character 3; text may not hold NUL",
    ),
    (
        "NUL in id",
        b'{"id": "bad\\u0000", "draft": "x"}\n',
        "field 'id': contains a NUL character (\\u0000) at character 4; text may not hold NUL",
    ),
    (
        "NUL in input",
        b'{"id": "bad-2", "draft": "x", "input": "\\u0000"}\n',
        "field 'input': contains a NUL character (\\u0000) at character 1; text may not hold NUL",
    ),
    (
        "NUL in category",
        b'{"id": "bad-2", "draft": "x", "category": "a\\u0000"}\n',
        "field 'category': contains a NUL character (\\u0000) at character 2; "
        "text may not hold NUL",
    ),
    (
        "NUL in model",
        b'{"id": "bad-2", "draft": "x", "model": "m\\u0000"}\n',
        "field 'model': contains a NUL character (\\u0000) at character 2; text may not hold NUL",
    ),
    (
        "NUL in thread",
        b'{"id": "bad-2", "draft": "x", "thread": "\\u0000t"}\n',
        "field 'thread': contains a NUL character (\\u0000) at character 1; text may not hold NUL",
    ),
    (
        "NUL deep in context",
        b'{"id": "bad-2", "draft": "x", "context": {"retrieved": [{"text": "ok\\u0000"}]}}\n',
        "field 'context': retrieved[0].text contains a NUL character (\\u0000) at character 3; "
        "text may not hold NUL",
    ),
    (
        "NUL in a metadata key",
        b'{"id": "bad-2", "draft": "x", "metadata": {"a\\u0000b": 1}}\n',
        "field 'metadata': has a key that contains a NUL character (\\u0000) at character 2; "
        "text may not hold NUL",
    ),
    (
        "NUL in an unknown field",
        b'{"id": "bad-2", "draft": "x", "note": ["a", "\\u0000"]}\n',
        "field 'note': [1] contains a NUL character (\\u0000) at character 1; "
        "text may not hold NUL",
    ),
    # created_at: out of range, including times that overflow on the way to UTC.
    (
        "created_at year 1 east of UTC",
        record(created_at="0001-01-01T00:00:00+05:00"),
        "field 'created_at': must be from 1900-01-01 up to 9000-01-01 (UTC), "
        "not '0001-01-01T00:00:00+05:00'",
    ),
    (
        "created_at year 9999 west of UTC",
        record(created_at="9999-12-31T23:59:59-05:00"),
        "field 'created_at': must be from 1900-01-01 up to 9000-01-01 (UTC), "
        "not '9999-12-31T23:59:59-05:00'",
    ),
    (
        "created_at year 1 in UTC",
        record(created_at="0001-01-01T00:00:00Z"),
        "field 'created_at': must be from 1900-01-01 up to 9000-01-01 (UTC), "
        "not '0001-01-01T00:00:00Z'",
    ),
    (
        "created_at just before 1900",
        record(created_at="1900-01-01T00:30:00+01:00"),
        "field 'created_at': must be from 1900-01-01 up to 9000-01-01 (UTC), "
        "not '1900-01-01T00:30:00+01:00'",
    ),
    (
        "created_at at 9000",
        record(created_at="9000-01-01T00:00:00"),
        "field 'created_at': must be from 1900-01-01 up to 9000-01-01 (UTC), "
        "not '9000-01-01T00:00:00'",
    ),
    (
        "created_at with NUL",
        b'{"id": "bad-2", "draft": "x", "created_at": "2026-01-05\\u0000"}\n',
        "field 'created_at': is not an ISO 8601 date and time: '2026-01-05\\x00'",
    ),
    # Syntax: where the error is, in plain words.
    (
        "missing closing brace",
        b'{"id": "bad-2", "draft": "x"\n',
        f"{NOT_IN}: Expecting ',' delimiter at the end of the line (column 29)",
    ),
    (
        "missing closing bracket",
        b'{"id": "bad-2", "draft": "x", "context": {"a": [1, 2}}\n',
        f"{NOT_IN}: Expecting ',' delimiter at column 53",
    ),
    (
        "unterminated string",
        b'{"id": "bad-2", "draft": "x\n',
        f"{NOT_IN}: Unterminated string starting at column 26",
    ),
    (
        "raw control character",
        b'{"id": "bad-2", "draft": "x\x01"}\n',
        f"{NOT_IN}: Invalid control character at column 28",
    ),
    (
        "trailing comma",
        b'{"id": "bad-2", "draft": "x",}\n',
        f"{NOT_IN}: Expecting property name enclosed in double quotes at column 30",
    ),
    ("two objects", b'{"id": "bad-2", "draft": "x"}{}\n', f"{NOT_IN}: Extra data at column 30"),
    (
        "bad escape",
        b'{"id": "bad-2", "draft": "\\x"}\n',
        f"{NOT_IN}: Invalid \\escape at column 27",
    ),
    (
        "short unicode escape",
        b'{"id": "bad-2", "draft": "\\u12"}\n',
        f"{NOT_IN}: Invalid \\uXXXX escape at column 28",
    ),
    ("NaN", b'{"id": "bad-2", "draft": "x", "confidence": NaN}\n', f"{NOT_IN}: NaN {NOT_IN}"),
    (
        "-Infinity",
        b'{"id": "bad-2", "draft": "x", "priority": -Infinity}\n',
        f"{NOT_IN}: -Infinity {NOT_IN}",
    ),
    # Numbers: huge, infinite, out of range.
    (
        "confidence overflows to infinity",
        b'{"id": "bad-2", "draft": "x", "confidence": 1e400}\n',
        "field 'confidence': must be between 0 and 1, not inf",
    ),
    (
        "confidence a 400-digit integer",
        record(confidence=10**399),
        "field 'confidence': must be between 0 and 1, not an integer of about 400 digits",
    ),
    (
        "confidence negative",
        record(confidence=-0.5),
        "field 'confidence': must be between 0 and 1, not -0.5",
    ),
    (
        "priority of 5,000 digits",
        b'{"id": "bad-2", "draft": "x", "priority": ' + b"9" * 5000 + b"}\n",
        "holds a number of more than 4,300 digits",
    ),
    (
        "priority of 4,000 digits",
        b'{"id": "bad-2", "draft": "x", "priority": 1' + b"0" * 3999 + b"}\n",
        "field 'priority': must fit in 32 bits, not an integer of about 4,000 digits",
    ),
    (
        "priority a long string",
        record(priority="9" * 500),
        "field 'priority': must be an integer, not '" + "9" * 56 + "...",
    ),
    (
        "infinity in context",
        b'{"id": "bad-2", "draft": "x", "context": {"score": -1e999}}\n',
        "field 'context': score is -inf, not a finite number",
    ),
    (
        "infinity in an unknown field",
        b'{"id": "bad-2", "draft": "x", "score": 1e400}\n',
        "field 'score': is inf, not a finite number",
    ),
    # Not an object, not text.
    ("an array", b"[1, 2]\n", "must be a JSON object, not an array"),
    ("a number", b"42\n", "must be a JSON object, not a number"),
    ("null", b"null\n", "must be a JSON object, not null"),
    (
        "byte-order mark on line 2",
        b'\xef\xbb\xbf{"id": "bad-2", "draft": "x"}\n',
        "starts with a byte-order mark (U+FEFF); only a file's first line may",
    ),
    (
        "invalid UTF-8",
        b'{"id": "bad-2", "draft": "caf\xe9"}\n',
        "is not valid UTF-8 (byte 30: invalid continuation byte)",
    ),
    (
        "a surrogate encoded as UTF-8",
        b'{"id": "bad-2", "draft": "\xed\xa0\x80"}\n',
        "is not valid UTF-8 (byte 27: invalid continuation byte)",
    ),
    # Fields.
    ("empty id", record(id=""), "field 'id': must not be empty"),
    ("blank id", record(id=" \t"), "field 'id': must not be empty"),
    ("id too long", record(id="i" * 201), "field 'id': is 201 characters long; the limit is 200"),
    ("id a number", record(id=7), "field 'id': must be a string, not a number"),
    ("id null", record(id=None), "field 'id': is required"),
    ("draft blank", record(draft="  \n "), "field 'draft': must not be empty"),
    (
        "risk an object",
        record(risk={"level": "high"}),
        "field 'risk': must be one of low, medium, high, not {'level': 'high'}",
    ),
    (
        "metadata an array",
        record(metadata=[1]),
        "field 'metadata': must be an object, not an array",
    ),
    (
        "id repeated",
        b'{"id": "fresh-1", "draft": "Other."}\n',
        "field 'id': 'fresh-1' is repeated (first on line 1)",
    ),
    (
        "line too long",
        b'{"id": "bad-2", "draft": "' + b"x" * MAX_LINE_BYTES + b'"}\n',
        f"is {MAX_LINE_BYTES + 29:,} bytes long; the limit is 1,048,576",
    ),
]


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("draft", "draft_event", "decision", "decision_attempt")
            }
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per engine for this module's many refusals (an upgrade per test would
    take most of their time), with one draft already queued."""
    with pytest.MonkeyPatch.context() as patch, ExitStack() as stack:
        patch.setenv("REVIEWDESK_HOME", str(tmp_path_factory.mktemp("home")))
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'queue.sqlite3'}"
        else:
            url = stack.enter_context(postgres_schema())
        with ReviewDesk.open(url, upgrade=True) as desk:
            desk.submit([{"id": "queued-0", "draft": "Already here."}])
        yield url


@pytest.fixture
def queued(shared_url: str) -> Iterator[str]:
    """The shared database; a test that leaves its tables' counts changed fails."""
    before = table_counts(shared_url)
    assert before["draft"] >= 1 and before["draft_event"] >= 1
    yield shared_url
    assert table_counts(shared_url) == before, "a refused input wrote something"


def enqueue(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["enqueue", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize(
    ("name", "line", "message"), LINE_CASES, ids=[case[0] for case in LINE_CASES]
)
def test_bad_line_is_named_and_nothing_is_written(
    queued: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    line: bytes,
    message: str,
) -> None:
    src = tmp_path / "drafts.jsonl"
    src.write_bytes(GOOD + line)
    code, out, err = enqueue(capsys, str(src), "--db", queued)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"reviewdesk: {src}:2: {message}",
        f"reviewdesk: 1 problem(s) in {src}; nothing was written",
    ]


# (name, the whole file, the one problem printed for it)
FILE_CASES: list[tuple[str, bytes, str]] = [
    (
        "UTF-16",
        ('{"id": "a", "draft": "x"}\n' * 3).encode("utf-16"),
        "1: is UTF-16 (a UTF-16 byte-order mark); use UTF-8",
    ),
    (
        "only a brace",
        b"{\n",
        f"1: {NOT_IN}: Expecting property name enclosed in double quotes "
        "at the end of the line (column 2)",
    ),
    ("a NUL byte", GOOD + b"\x00\n", f"2: {NOT_IN}: Expecting value at column 1"),
]


@pytest.mark.parametrize(("name", "content", "message"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_file_is_named_and_nothing_is_written(
    queued: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    message: str,
) -> None:
    src = tmp_path / "drafts.jsonl"
    src.write_bytes(content)
    code, _, err = enqueue(capsys, str(src), "--db", queued)
    assert code == 1
    assert err.splitlines()[0] == f"reviewdesk: {src}:{message}"


class Unprintable:
    def __repr__(self) -> str:
        return "Unprintable()"


def _circular() -> dict[str, Any]:
    context: dict[str, Any] = {"title": "loop"}
    context["self"] = context
    return context


# Values only Python can hand over: (name, fields of record 2, field, message).
API_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "a datetime in context",
        {"context": {"when": datetime(2026, 1, 5, tzinfo=UTC)}},
        "context",
        "when is a datetime, not a JSON value",
    ),
    (
        "a set in metadata",
        {"metadata": {"tags": {"a"}}},
        "metadata",
        "tags is a set, not a JSON value",
    ),
    (
        "an object in an unknown field",
        {"extra": Unprintable()},
        "extra",
        "is a Unprintable, not a JSON value",
    ),
    ("a context that holds itself", {"context": _circular()}, "context", "self contains itself"),
    (
        "NaN in context",
        {"context": {"x": [float("nan")]}},
        "context",
        "x[0] is nan, not a finite number",
    ),
    (
        "NaN confidence",
        {"confidence": float("nan")},
        "confidence",
        "must be between 0 and 1, not nan",
    ),
    (
        "an integer beyond 4,300 digits",
        {"context": {"n": 10**5000}},
        "context",
        "n is an integer of more than 4,300 digits",
    ),
    (
        "a priority beyond 4,300 digits",
        {"priority": 10**5000},
        "priority",
        "must fit in 32 bits, not an integer of about 5,001 digits",
    ),
    (
        "a tuple key",
        {"context": {("a", 1): "x"}},
        "context",
        "has a key of type tuple, not a string",
    ),
    (
        "a lone surrogate",
        {"draft": "x\udc80"},
        "draft",
        "contains an unpaired surrogate (\\udc80) at character 2, which is not Unicode text",
    ),
    (
        "a NUL",
        {"input": "\x00"},
        "input",
        "contains a NUL character (\\u0000) at character 1; text may not hold NUL",
    ),
]


@pytest.mark.parametrize(
    ("name", "fields", "field", "message"), API_CASES, ids=[c[0] for c in API_CASES]
)
def test_bad_record_from_python_is_named_and_nothing_is_written(
    queued: str, name: str, fields: dict[str, Any], field: str, message: str
) -> None:
    with ReviewDesk.open(queued) as desk, pytest.raises(InvalidInput) as caught:
        desk.submit([{"id": "fresh-1", "draft": "New."}, {"id": "bad-2", "draft": "x", **fields}])
    assert [str(p) for p in caught.value.problems] == [f"<records>:2: field '{field}': {message}"]


def test_text_that_only_looks_suspect_is_queued(db_url: str, tmp_path: Path) -> None:
    """The cheap scan that sends a record to the walk also finds an escaped backslash before
    u0000, valid surrogate pairs and brackets inside strings: those are queued as they are."""
    lines = [
        {"id": "a", "draft": "literally \\u0000, and [[[[{{{{" + "[" * 200},
        {"id": "b", "draft": "x", "context": {"a": json.loads(nested(98))}},
    ]
    src = tmp_path / "ok.jsonl"
    src.write_bytes(
        b"".join(json.dumps(r).encode() + b"\n" for r in lines)
        + b'{"id": "c", "draft": "smile \\ud83d\\ude00"}\n'
    )
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert main(["enqueue", str(src), "--db", db_url]) == 0
    with ReviewDesk.open(db_url) as desk:
        assert desk.history("a").draft.draft == lines[0]["draft"]
        assert desk.history("c").draft.draft == "smile \U0001f600"


def test_a_directory_is_named_as_one(
    queued: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = enqueue(capsys, str(tmp_path), "--db", queued)
    assert code == 1
    assert err == f"reviewdesk: {tmp_path}: is a directory, not a JSON Lines file\n"


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux's /proc")
def test_a_read_error_names_the_line(queued: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Reading a process's own memory from offset 0 fails with EIO: a real file that opens but
    # cannot be read.
    code, _, err = enqueue(capsys, "/proc/self/mem", "--db", queued)
    assert code == 1
    assert err.splitlines() == [
        "reviewdesk: /proc/self/mem:1: cannot be read: Input/output error",
        "reviewdesk: 1 problem(s) in /proc/self/mem; nothing was written",
    ]


def test_closed_standard_input_is_named(
    queued: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # what Python sets when the process has no fd 0
    code, _, err = enqueue(capsys, "-", "--db", queued)
    assert code == 1
    assert err == "reviewdesk: <stdin>: standard input is closed; give a FILE or pipe one in\n"


@pytest.mark.one_engine("a closed stdin is refused before any store call")
def test_console_script_with_closed_stdin(sqlite_url: str, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "reviewdesk"
    env = {**os.environ, "REVIEWDESK_HOME": str(tmp_path)}
    done = subprocess.run(
        [exe, "enqueue", "-", "--db", sqlite_url],
        env=env,
        capture_output=True,
        preexec_fn=lambda: os.close(0),  # `reviewdesk enqueue - <&-`
        check=False,
    )
    assert done.returncode == 1
    assert (
        done.stderr
        == b"reviewdesk: <stdin>: standard input is closed; give a FILE or pipe one in\n"
    )


@pytest.mark.one_engine("intake reads the file before any store call; 64 MiB once is enough")
def test_an_oversized_line_is_counted_not_held(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 64 MiB line is measured as it is read: memory stays near the 1 MiB bound, and the lines
    after it are still checked."""
    size = 64 * 1024 * 1024
    src = tmp_path / "big.jsonl"
    with src.open("wb") as handle:
        handle.write(GOOD)
        handle.write(b'{"id": "big", "draft": "')
        chunk = b"x" * (1024 * 1024)
        for _ in range(size // len(chunk)):
            handle.write(chunk)
        handle.write(b'"}\n')
        handle.write(b'{"id": "after", "draft": 3}\n')
    assert main(["db", "upgrade", "--db", sqlite_url]) == 0
    capsys.readouterr()
    tracemalloc.start()
    try:
        code, _, err = enqueue(capsys, str(src), "--db", sqlite_url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    assert err.splitlines() == [
        f"reviewdesk: {src}:2: is {size + 27:,} bytes long; the limit is 1,048,576",
        f"reviewdesk: {src}:3: field 'draft': must be a string, not a number",
        f"reviewdesk: 2 problem(s) in {src}; nothing was written",
    ]
    assert peak < 16 * 1024 * 1024, f"{peak:,} bytes at peak"

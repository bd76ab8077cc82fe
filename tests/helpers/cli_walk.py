"""Every ``reviewdesk`` command with arguments that take it as far as its database, and the
check that a failure there is told in one line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from reviewdesk.cli.entry import build_parser
from reviewdesk.main import main

# Commands that never open a database: the desk (Qt), and the keyring's password.
NOT_ON_A_DATABASE = {"gui", "password set", "password delete"}


def command_names(parser: argparse.ArgumentParser | None = None) -> set[str]:
    """Every command and sub-command the parser knows, as "db upgrade"."""
    names: set[str] = set()

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        actions = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions:
            names.add(prefix)
        for action in actions:
            for name, child in action.choices.items():
                walk(child, f"{prefix} {name}".strip())

    walk(parser or build_parser(), "")
    return names


def database_commands(folder: Path) -> dict[str, list[str]]:
    """The arguments of every command that works on a database (all but NOT_ON_A_DATABASE)."""
    drafts = folder / "walk.jsonl"
    drafts.write_text(json.dumps({"id": "w1", "draft": "Hello"}) + "\n", encoding="utf-8")
    return {
        "enqueue": ["enqueue", str(drafts)],
        "results": ["results", "--ack"],
        "status": ["status"],
        "history": ["history", "w1"],
        "show": ["show", "w1"],
        "demo": ["demo"],
        "db upgrade": ["db", "upgrade"],
        "db current": ["db", "current"],
        "reasons list": ["reasons", "list"],
        "reasons set": ["reasons", "set", "wrong_price", "rude"],
        "reasons add": ["reasons", "add", "rude"],
        "reasons remove": ["reasons", "remove", "other"],
        "limits show": ["limits", "show"],
        "limits set": ["limits", "set", "reviews_per_session=30"],
        "session status": ["session", "status", "--reviewer", "ana"],
        "session end": ["session", "end", "--reviewer", "ana"],
        "session summary": ["session", "summary", "--reviewer", "ana"],
        "gold mark": ["gold", "mark", "w1", "--expect", "approved", "--by", "lead"],
        "gold retire": ["gold", "retire", "w1"],
        "gold accuracy": ["gold", "accuracy"],
        "export": ["export", "--out", str(folder / "export-out")],
        "stats": ["stats"],
        "recommend": ["recommend"],
        "reviewers": ["reviewers"],
        "escalations list": ["escalations", "list"],
        "escalations resolve": [
            "escalations",
            "resolve",
            "w1",
            "dismiss",
            "--note",
            "n",
            "--lead",
            "l",
        ],
        "policy list": ["policy", "list"],
        "policy show": ["policy", "show", "billing"],
        "policy set": [
            "policy", "set", "billing", "--aoql", "0.02", "--fraction", "0.1",
            "--note", "n", "--lead", "l",
        ],
        "policy reset": ["policy", "reset", "--all", "--note", "n", "--lead", "l"],
        "alerts ack": ["alerts", "ack", "1", "--by", "lea"],
        "metrics": ["metrics"],
        "watch": ["watch", "--once"],
        "team add": ["team", "add", "ana", "--role", "reviewer", "--generate-password"],
        "team list": ["team", "list"],
        "team set-role": ["team", "set-role", "ana", "lead"],
        "team remove": ["team", "remove", "ana"],
    }  # fmt: skip


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, err: str, *, naming: str, hiding: str | None = None) -> str:
    """The command failed (exit 1) with one line on stderr that names ``naming`` (and never
    shows ``hiding``, a password); returns that line."""
    lines = err.splitlines()
    assert code == 1, err
    assert len(lines) == 1 and lines[0].startswith("reviewdesk: "), err
    assert naming in lines[0], err
    if hiding is not None:
        assert hiding not in err
    return lines[0]

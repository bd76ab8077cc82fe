"""The demo data shipped with ReviewDesk, so a fresh install has work to show.

``drafts.jsonl.gz`` is the demo queue; ``history.jsonl.gz`` holds more drafts for a made-up
team's history (services/demo_history.py); ``mistakes.jsonl.gz`` is the answer key: which drafts
of both carry a mistake, and the text changes that correct it. All three are built by
packaging/build_demo_queue.py from the Bitext customer-support data; see resources/demo/README.md
for what is the dataset's text and what was composed, and LICENSE.md for its license.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewdesk.config.resources import resource
from reviewdesk.core.domain import QueueCounts, SubmitReport
from reviewdesk.services.desk import ReviewDesk

DEMO_FILE = "demo/drafts.jsonl.gz"
HISTORY_FILE = "demo/history.jsonl.gz"
MISTAKES_FILE = "demo/mistakes.jsonl.gz"
_EMPTY = QueueCounts(pending=0, leased=0, decided=0, undelivered=0)


def demo_path() -> Path:
    """The shipped demo file. Raises FileNotFoundError if the install lacks it."""
    return resource(*DEMO_FILE.split("/"))


def demo_records() -> list[dict[str, Any]]:
    """The demo drafts as parsed JSON objects, in file order."""
    return _read(DEMO_FILE)


def history_records() -> list[dict[str, Any]]:
    """The team history's drafts (enqueue records, oldest first), as parsed JSON objects."""
    return _read(HISTORY_FILE)


@dataclass(frozen=True)
class Mistake:
    """A demo draft's mistake, from the answer key."""

    id: str
    kind: str  # wrong_detail, unsupported_promise, wrong_intent, missing_step, or
    # dataset_wrong_intent: the dataset's own reply answers another request
    what: str
    fix: tuple[tuple[str, str], ...]  # (wrong text, right text), applied in order
    origin: str  # "composed" (made for the demo) or "dataset" (the dataset's own reply)

    def corrected(self, draft: str) -> str:
        """``draft`` with the mistake corrected."""
        for wrong, right in self.fix:
            draft = draft.replace(wrong, right)
        return draft


def answer_key() -> dict[str, Mistake]:
    """Draft id -> its mistake, for every demo draft (queue and history) that has one."""
    return {
        r["id"]: Mistake(
            id=r["id"],
            kind=r["kind"],
            what=r["what"],
            fix=tuple((wrong, right) for wrong, right in r["fix"]),
            origin=r["origin"],
        )
        for r in _read(MISTAKES_FILE)
    }


def _read(name: str) -> list[dict[str, Any]]:
    with gzip.open(resource(*name.split("/")), "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_demo_queue(desk: ReviewDesk) -> SubmitReport:
    """Queue the demo drafts. Loading again writes nothing and reports them as duplicates."""
    with gzip.open(demo_path(), "rb") as handle:
        return desk.submit_jsonl(handle, source=DEMO_FILE)


def load_demo_if_empty(desk: ReviewDesk) -> SubmitReport | None:
    """Queue the demo drafts only on a database that has never held a draft; else None.

    Drafts are never deleted, so all-zero counts mean a database nobody has used yet: a queue
    that was worked through to the end keeps its decided count and stays as it is.
    """
    if desk.counts() != _EMPTY:
        return None
    return load_demo_queue(desk)

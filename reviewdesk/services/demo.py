"""The demo queue: real AI drafts shipped with ReviewDesk, so a fresh install has work to show.

The data (resources/demo/drafts.jsonl.gz) is built by packaging/build_demo_queue.py; see
resources/demo/LICENSE.md for its source and license.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from reviewdesk.config.resources import resource
from reviewdesk.core.domain import QueueCounts, SubmitReport
from reviewdesk.services.desk import ReviewDesk

DEMO_FILE = "demo/drafts.jsonl.gz"
_EMPTY = QueueCounts(pending=0, leased=0, decided=0, undelivered=0)


def demo_path() -> Path:
    """The shipped demo file. Raises FileNotFoundError if the install lacks it."""
    return resource(*DEMO_FILE.split("/"))


def demo_records() -> list[dict[str, Any]]:
    """The demo drafts as parsed JSON objects, in file order."""
    with gzip.open(demo_path(), "rt", encoding="utf-8") as handle:
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

"""A reviewer in its own process, for the concurrency tests: claims and decides until empty."""

from __future__ import annotations

import os
from typing import Any

from reviewdesk import LeaseLost, ReviewDesk

VERDICTS: list[tuple[str, dict[str, Any]]] = [
    ("approve", {}),
    ("edit", {"text": "edited by a test reviewer"}),
    ("reject", {"reason": "off_topic"}),
    ("escalate", {"severity": "low"}),
]


def review_until_empty(url: str, reviewer: str, start: Any) -> dict[str, Any]:
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    start.wait()
    decided: list[str] = []
    refused = 0
    calls = 0
    with ReviewDesk.open(url) as desk:
        while (lease := desk.claim(reviewer)) is not None:
            verdict, kwargs = VERDICTS[len(decided) % len(VERDICTS)]
            calls += 1
            try:
                desk.decide(lease, verdict, review_seconds=1.0, **kwargs)
            except LeaseLost:
                refused += 1
            else:
                decided.append(lease.draft.id)
    return {"reviewer": reviewer, "decided": decided, "refused": refused, "calls": calls}

"""Stand-ins for a parallel export's worker entry (``parts._work``), which a test puts in place in
the calling process: spawned workers look the entry up by name, so they run these instead."""

from __future__ import annotations

import os
from typing import Any


def failing_work(*args: Any) -> None:
    """The real worker, whose JSON Lines writer fails as a full disk does."""
    from reviewdesk.services.export import formats, parts

    def failing(self: Any, split: str, record: dict[str, Any]) -> str | None:
        raise OSError("disk full")

    formats.JsonlWriter.write = failing  # type: ignore[method-assign]
    parts._work(*args)


def dying_work(*args: Any) -> None:
    """A worker that ends without a word (as one killed by the OOM killer)."""
    os._exit(3)


def slow_work(*args: Any) -> None:
    """The real worker, after a slow start (as on a busy machine)."""
    import time

    from reviewdesk.services.export import parts

    time.sleep(3)
    parts._work(*args)

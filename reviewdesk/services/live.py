"""Following the queue as it changes: results streamed as they become deliverable.

``follow_results`` reads what ``ReviewDesk.results`` gives, then waits on the database's change
feed (storage/change_feed.py) until something changes or the next held-back result settles (its
undo window ends: no write tells of that, so the follower wakes at that moment itself). While
nothing changes and nothing is due, it makes no query.

Results are read by cursor from a floor that trails behind: a decision whose transaction began
earlier can commit after a later one, so the floor passes a result only ``COMMIT_LAG_S`` after it
was decided, and never passes one still held back. Results printed once are remembered until
the floor passes them, so none is given twice, except an escalation that a lead resolves after
it was given: it comes again, with the resolution, as ``results()`` delivers it again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reviewdesk.core.domain import Result
from reviewdesk.storage.change_feed import ChangeFeed, open_feed
from reviewdesk.storage.live_sql import LiveStore

if TYPE_CHECKING:
    from reviewdesk.services.desk import ReviewDesk

COMMIT_LAG_S = 60.0  # how long after its decision a result's cursor may still be overtaken
PAGE = 500
IDLE_WAKE_S = 300.0  # read once in a while even when told of nothing, in case a change was lost
SETTLE_MARGIN_S = 0.01


def follow_results(
    desk: ReviewDesk,
    *,
    after: int = 0,
    include_delivered: bool = False,
    stop: threading.Event | None = None,
    feed: ChangeFeed | None = None,
) -> Iterator[Result]:
    """Yield results as they become deliverable (decided and settled), forever, or until
    ``stop`` is set (checked at least every 0.25 s while waiting). The caller acknowledges what
    it has handed on (``desk.ack``), as with ``results()``."""
    store = LiveStore(desk.engines)
    own_feed = feed is None
    feed = feed or open_feed(desk.engines)
    floor = after
    given: dict[tuple[int, bool], datetime] = {}  # (cursor, resolved) -> decided_at
    try:
        feed.wait(0)  # listening before the first read: no change can fall in between
        while stop is None or not stop.is_set():
            now, window = desk.database_now(), desk.session_limits().undo_window_seconds
            cursor = floor
            while True:
                page = desk.results(after=cursor, limit=PAGE, include_delivered=include_delivered)
                for result in page:
                    key = (result.cursor, result.resolution is not None)
                    if key not in given:
                        given[key] = result.decided_at
                        yield result
                if len(page) < PAGE:
                    break
                cursor = page[-1].cursor
            settled = now - timedelta(seconds=window)
            first_held, oldest_held = store.unsettled(after=floor, settled=settled)
            old = now - timedelta(seconds=COMMIT_LAG_S)
            passable = [c for (c, _), at in given.items() if at < old]
            floor = max([floor, *passable])
            if first_held is not None:
                floor = min(floor, first_held - 1)
            given = {k: at for k, at in given.items() if k[0] > floor}
            wait = IDLE_WAKE_S
            if oldest_held is not None:
                due = oldest_held + timedelta(seconds=window) - now
                wait = min(wait, max(due.total_seconds(), 0) + SETTLE_MARGIN_S)
            _wait(feed, wait, stop)
    finally:
        if own_feed:
            feed.close()


def _wait(feed: ChangeFeed, seconds: float, stop: threading.Event | None) -> None:
    """Until the database changes, ``seconds`` pass, or ``stop`` is set."""
    end = seconds
    while end > 0 and (stop is None or not stop.is_set()):
        step = min(end, 0.25)
        if feed.wait(step) is not None:
            return
        end -= step


def next_lease_expiry(desk: ReviewDesk) -> datetime | None:
    """When the first lease held now runs out: its draft waits again then, with no write to
    tell of it, so a live desk reads the counts again at that moment."""
    return LiveStore(desk.engines).next_lease_expiry(desk.database_now())


def settings_stamp(desk: ReviewDesk) -> tuple[int, datetime | None]:
    """A value that changes whenever a team setting is written (session limits, lease TTL, undo
    window, reject reasons, alert rules): a desk told only that something changed (SQLite)
    compares it with the last one to know whether to read its settings again."""
    return LiveStore(desk.engines).settings_stamp()

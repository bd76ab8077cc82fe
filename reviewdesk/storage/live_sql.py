"""What a follower of the queue reads besides the results: when the next held-back result
settles, when the next lease runs out (the queue changes then without any write), and whether
the team's settings changed (for a feed that cannot say what changed: SQLite's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, column, text

from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.types import UtcDateTime

# Live, undelivered, unresolved decisions after a cursor, decided at or after :settled: the
# ones the undo window still holds back (the complement of queue_common.SETTLED).
_UNSETTLED = (
    text(
        """SELECT min(dec.id) AS first, min(dec.decided_at) AS oldest FROM decision dec
           WHERE dec.id > :after AND dec.undone_at IS NULL AND dec.delivered_at IS NULL
             AND dec.resolved_at IS NULL AND dec.decided_at >= :settled"""
    )
    .bindparams(bindparam("settled", type_=UtcDateTime))
    .columns(column("first"), column("oldest", UtcDateTime))
)
_NEXT_EXPIRY = (
    text(
        "SELECT min(visible_at) AS expiry FROM draft WHERE state = 'pending' AND visible_at > :now"
    )
    .bindparams(bindparam("now", type_=UtcDateTime))
    .columns(column("expiry", UtcDateTime))
)

# Every write of a setting stamps its row (``QueueStore.put_setting``): the number of rows and
# the latest stamp change with any write.
_SETTINGS_STAMP = text("SELECT count(*), max(updated_at) FROM setting").columns(
    column("rows"), column("latest", UtcDateTime)
)


class LiveStore:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def unsettled(self, *, after: int, settled: datetime) -> tuple[int | None, datetime | None]:
        """(first cursor, oldest decision time) of the results after ``after`` still inside
        the undo window (decided at or after ``settled``); (None, None) when there is none."""
        with self._read() as conn:
            row = conn.execute(_UNSETTLED, {"after": after, "settled": settled}).one()
        return row[0], row[1]

    def next_lease_expiry(self, now: datetime) -> datetime | None:
        """When the first lease held at ``now`` runs out (its draft waits again then)."""
        with self._read() as conn:
            value = conn.execute(_NEXT_EXPIRY, {"now": now}).scalar()
        return value if isinstance(value, datetime) else None

    def settings_stamp(self) -> tuple[int, datetime | None]:
        """What changes whenever a team setting is written: (settings, latest write)."""
        with self._read() as conn:
            row = conn.execute(_SETTINGS_STAMP).one()
        return int(row[0]), row[1]

    def _read(self) -> Connection:
        return self.engines.write.connect().execution_options(**{READ_ONLY: True})

"""Opens the queue store of a database's engine (queue_contract.QueueStore)."""

from __future__ import annotations

from reviewdesk.core.clock import Clock
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.queue_contract import QueueStore
from reviewdesk.storage.queue_pg import PostgresQueueStore
from reviewdesk.storage.queue_sqlite import SqliteQueueStore


def open_queue_store(engines: Engines, clock: Clock | None = None) -> QueueStore:
    """The queue store for ``engines``' database. ``clock``: None is the database's clock on
    PostgreSQL, and the system clock on SQLite (one local clock)."""
    if engines.target.dialect == "postgresql":
        return PostgresQueueStore(engines, clock)
    return SqliteQueueStore(engines, clock)

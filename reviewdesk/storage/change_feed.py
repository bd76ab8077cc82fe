"""Being told that the queue's database changed, without asking it over and over.

PostgreSQL: ``reviewdesk.<schema>`` is notified after each committed change that a desk or a
consumer shows (migrations 0011, 0013; storage/announce.py); a feed LISTENs on a connection of
its own. The payload
names a table and row ids only; the receiver reads what changed itself, under its own rights.
After the connection drops, the feed connects again (backing off up to 5 s) and then reports a
change of everything, so that the receiver catches up on what it missed meanwhile.

SQLite: nothing can be told across processes, so a feed watches the database file and its
write-ahead log: every commit appends to the log (a checkpoint rewrites the file). It looks at
their size and modification time every ``SQLITE_POLL_S`` (one ``stat`` per file: no query, no
open file, no lock), and reports a change of everything when they differ. File times are as
fine as the kernel's clock tick, so two commits within one tick could leave the same time and
size behind when the log was just restarted: a change seen within ``_SAME_TICK_NS`` of its file
time is reported once more on the next look, which catches the second.

``wait(0)`` connects a feed that has not connected yet: a reader calls it before its first read,
so that no change falls between that read and the listening. ``wait(timeout)`` blocks the
calling thread (never a GUI thread) until a change or the timeout; ``close()`` from any thread
ends a wait within ``_CLOSE_LATENCY_S``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from reviewdesk.storage.engine import Engines

log = logging.getLogger(__name__)

SQLITE_POLL_S = 0.1  # how often a SQLite feed looks at the files: the latency it adds
RECONNECT_MAX_S = 5.0
_CLOSE_LATENCY_S = 0.25
_SAME_TICK_NS = 50_000_000
CHANNEL_PREFIX = "reviewdesk."
# The schema the queue's tables are in: the channel its triggers notify (migration 0011).
_SCHEMA_SQL = (
    "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.oid = 'draft'::regclass"
)


@dataclass(frozen=True)
class Change:
    """What changed: ``payloads`` as the triggers sent them (``table:id,id``), or
    ``everything`` when the feed cannot tell (SQLite, or after a reconnect)."""

    payloads: tuple[str, ...] = ()
    everything: bool = False

    def touches(self, *tables: str) -> bool:
        """Whether a row of any of ``tables`` may have changed."""
        return self.everything or any(p.split(":", 1)[0] in tables for p in self.payloads)

    def ids(self, table: str) -> tuple[int, ...]:
        """The ids of ``table`` named (a payload may name only the first 50 of a statement)."""
        found: list[int] = []
        for payload in self.payloads:
            name, _, ids = payload.partition(":")
            if name == table:
                found.extend(int(i) for i in ids.split(",") if i.isdigit())
        return tuple(found)


class ChangeFeed(Protocol):
    def wait(self, timeout: float) -> Change | None:
        """The next change, or None when ``timeout`` seconds pass (or the feed is closed)."""

    def close(self) -> None: ...

    @property
    def kind(self) -> str:
        """``notify`` or ``file watch``: how changes reach this feed."""


def open_feed(engines: Engines) -> ChangeFeed:
    """A feed of changes to the database of ``engines``. It connects lazily, on first wait."""
    if engines.target.dialect == "postgresql":
        return PostgresFeed(engines.statement)
    database = engines.target.url.database
    assert database
    return FileFeed(Path(database))


class FileFeed:
    """A SQLite database's changes, from its files' size and time (no query)."""

    kind = "file watch"

    def __init__(self, path: Path, *, interval: float = SQLITE_POLL_S) -> None:
        self._files = (path, path.with_name(path.name + "-wal"))
        self._interval = interval
        self._closed = threading.Event()
        self._last = self._signature()
        self._again = False

    def _signature(self) -> tuple[tuple[int, int, int] | None, ...]:
        marks: list[tuple[int, int, int] | None] = []
        for file in self._files:
            try:
                st = os.stat(file)
            except OSError:
                marks.append(None)
            else:
                marks.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(marks)

    def wait(self, timeout: float) -> Change | None:
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            signature = self._signature()
            if signature != self._last or self._again:
                self._last = signature
                newest = max((m[2] for m in signature if m is not None), default=0)
                self._again = time.time_ns() - newest < _SAME_TICK_NS
                return Change(everything=True)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._closed.wait(min(self._interval, left))
        return None

    def close(self) -> None:
        self._closed.set()


class PostgresFeed:
    """LISTEN on a connection of its own (taken out of ``engine``'s pool for good)."""

    kind = "notify"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Any = None
        self._closed = threading.Event()
        self._lock = threading.Lock()  # one waiter at a time; close() waits for it
        self._connected_before = False
        self._backoff = 0.0
        self.channel: str | None = None

    def _connect(self) -> None:
        proxied = self._engine.raw_connection()
        proxied.detach()  # the feed's own: never handed back to the pool
        conn = proxied.dbapi_connection
        assert conn is not None
        try:
            conn.autocommit = True
            schema = conn.execute(_SCHEMA_SQL).fetchone()[0]
            self.channel = CHANNEL_PREFIX + schema
            # An identifier, quoted: a schema name may hold any character.
            quoted = '"' + self.channel.replace('"', '""') + '"'
            conn.execute(f"LISTEN {quoted}")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to give back
                log.debug("closing a broken listener connection", exc_info=True)

    def wait(self, timeout: float) -> Change | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._closed.is_set():
                left = deadline - time.monotonic()
                if self._conn is None:
                    if self._backoff and self._closed.wait(min(self._backoff, max(left, 0))):
                        break
                    try:
                        self._connect()
                    except Exception as exc:
                        self._backoff = min(max(self._backoff * 2, 0.25), RECONNECT_MAX_S)
                        log.warning("cannot listen for changes (retrying): %s", exc)
                        if deadline - time.monotonic() <= 0:
                            return None
                        continue
                    self._backoff = 0.0
                    caught_up = self._connected_before
                    self._connected_before = True
                    if caught_up:  # changes made while disconnected were not heard
                        return Change(everything=True)
                    left = deadline - time.monotonic()
                if left <= 0:
                    return None
                try:
                    payloads = self._receive(min(left, _CLOSE_LATENCY_S))
                except Exception as exc:  # the connection dropped: connect again
                    log.warning("lost the connection listening for changes: %s", exc)
                    self._drop()
                    continue
                if payloads:
                    return Change(payloads=tuple(payloads))
            self._drop()
        return None

    def _receive(self, timeout: float) -> list[str]:
        conn = self._conn
        payloads = [n.payload for n in conn.notifies(timeout=timeout, stop_after=1)]
        if payloads:  # and whatever else has arrived with it
            payloads += [n.payload for n in conn.notifies(timeout=0.005)]
        return payloads

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._drop()

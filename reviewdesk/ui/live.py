"""The database's change feed, heard off the GUI thread and passed on as a Qt signal.

A plain thread blocks on ``ChangeFeed.wait`` (it connects, listens and reconnects there: never a
database call on the GUI thread) and emits ``changed`` with each ``Change``; Qt queues it to the
receivers' (GUI) thread. Receivers then read what changed through the executor as usual.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from reviewdesk.storage.change_feed import Change, ChangeFeed

log = logging.getLogger(__name__)

WAIT_S = 0.25  # one wait: how soon stop() is heard


class ChangeListener(QObject):
    changed = Signal(object)  # Change

    def __init__(self, feed: ChangeFeed, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reviewdesk-changes", daemon=True)

    @property
    def kind(self) -> str:
        return self.feed.kind

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._listen()
        finally:
            self.feed.close()  # on this thread: closing a connection is a database call

    def _listen(self) -> None:
        try:
            self.feed.wait(0)  # connect and listen
        except Exception:
            log.exception("listening for changes failed")
        # Whatever changed before the listening began was not heard: read everything once.
        if not self._stop.is_set():
            self.changed.emit(Change(everything=True))
        while not self._stop.is_set():
            try:
                change = self.feed.wait(WAIT_S)
            except Exception:  # the feed reconnects by itself; this must never end the thread
                log.exception("listening for changes failed")
                self._stop.wait(1.0)
                continue
            if change is not None and not self._stop.is_set():
                self.changed.emit(change)

    def stop(self) -> None:
        """Stop listening: the thread closes the feed and ends within ``WAIT_S``."""
        self._stop.set()

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the thread to end (tests, and the application on its way out)."""
        if self._thread.is_alive():
            self._thread.join(timeout)

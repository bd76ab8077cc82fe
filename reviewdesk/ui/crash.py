"""The global exception hook: an error in a slot is logged, kept in a crash log, and shown.

The desk keeps running: the message is non-modal, and the review state machine has already put
itself back in a state where nothing is lost (see ``ReviewController``).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from reviewdesk import __version__
from reviewdesk.config import paths

log = logging.getLogger(__name__)
ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


class CrashReporter(QObject):
    def __init__(
        self,
        log_dir: Callable[[], Path],
        parent_window: Callable[[], QWidget | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._log_dir = log_dir
        self._parent_window = parent_window
        self._previous: ExceptHook | None = None
        self.box: QMessageBox | None = None
        self.last_log: Path | None = None

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self.hook

    def uninstall(self) -> None:
        if self._previous is not None and sys.excepthook == self.hook:
            sys.excepthook = self._previous
        self._previous = None

    def report(self, exc: BaseException) -> None:
        """Report an error caught elsewhere (e.g. a background job's)."""
        self.hook(type(exc), exc, exc.__traceback__)

    def hook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            (self._previous or sys.__excepthook__)(kind, value, tb)
            return
        log.error("unexpected error", exc_info=(kind, value, tb))
        self.last_log = self._write(kind, value, tb)
        self._show(value)

    def _write(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> Path | None:
        try:
            folder = self._log_dir()
            path = folder / f"crash-{datetime.now():%Y%m%d-%H%M%S-%f}.log"
            text = "".join(traceback.format_exception(kind, value, tb))
            paths.write_private_text(  # tracebacks may quote what a reviewer was reading
                path,
                f"ReviewDesk {__version__}, Python {sys.version.split()[0]}\n"
                f"{datetime.now().astimezone().isoformat()}\n\n{text}",
            )
            return path
        except OSError as exc:  # a crash log that cannot be written must not crash the hook
            log.error("could not write a crash log: %s", exc)
            return None

    def _show(self, value: BaseException) -> None:
        where = f"\n\nDetails were saved to {self.last_log}." if self.last_log else ""
        text = (
            f"Something went wrong: {value or type(value).__name__}\n\n"
            f"The desk keeps running; nothing you recorded is lost.{where}"
        )
        box = self.box
        if box is None:
            box = QMessageBox(self._parent_window())
            box.setObjectName("crashMessage")
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle("ReviewDesk: unexpected error")
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setStandardButtons(QMessageBox.StandardButton.Close)
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.finished.connect(self._closed)
            self.box = box
        box.setText(text)
        box.show()

    def _closed(self, _result: int) -> None:
        box, self.box = self.box, None
        if box is not None:
            box.deleteLater()

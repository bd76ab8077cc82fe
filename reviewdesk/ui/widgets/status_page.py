"""The page shown instead of a draft: connecting, queue empty, database unreachable, or a break.

On a break it shows a live countdown to the break's end (a one-second QTimer, running only while
the break is on screen) and the summary of the session just done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QHideEvent, QIcon, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from reviewdesk.services.sessions import SessionSummary
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.widgets.session_summary import SessionSummaryView

COUNTDOWN_TICK_MS = 1_000


def countdown_text(seconds: float) -> str:
    """mm:ss (h:mm:ss from an hour on), rounded up so that it reaches 00:00 as it ends."""
    left = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(left, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def day_start_text(until: datetime, now: datetime) -> str:
    """When the next review day starts, in local time, and how far off it is."""
    local = until.astimezone()
    hours, rest = divmod(max(0, int((until - now).total_seconds())), 3600)
    away = f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"
    return f"The next review day starts at {local:%H:%M} on {local:%a %d %b} (in {away})."


class StatusPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPage")
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        self.icon = QLabel(self)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = plain_label(name="pageTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = plain_label(name="muted")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A fixed width lets the wrapped text take the height it needs (a label aligned in its
        # cell would be given one line and clipped).
        self.text.setFixedWidth(self.fontMetrics().horizontalAdvance("M") * 40)
        text_row = QHBoxLayout()
        text_row.addStretch(1)
        text_row.addWidget(self.text)
        text_row.addStretch(1)
        layout.addWidget(self.icon)
        self._icon_gap = self.fontMetrics().height()
        layout.addSpacing(self._icon_gap)
        layout.addWidget(self.title)
        layout.addLayout(text_row)
        # The break: a countdown to its end, and the session just done.
        self.countdown = plain_label(name="countdown")
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.countdown.font()
        font.setPointSizeF(font.pointSizeF() * 3)
        font.setWeight(font.Weight.DemiBold)
        font.setStyleHint(font.StyleHint.Monospace)
        self.countdown.setFont(font)
        self.countdown.setAccessibleName("Time left in the break")
        layout.addWidget(self.countdown)
        self.summary_view = SessionSummaryView(self)
        self.summary_view.setFixedWidth(self.fontMetrics().horizontalAdvance("M") * 52)
        summary_row = QHBoxLayout()
        summary_row.addStretch(1)
        summary_row.addWidget(self.summary_view)
        summary_row.addStretch(1)
        layout.addSpacing(self.fontMetrics().height())
        layout.addLayout(summary_row)
        layout.addSpacing(self.fontMetrics().height())
        row = QHBoxLayout()
        row.addStretch(1)
        self.secondary = QPushButton(self)
        self.primary = QPushButton(self)
        self.primary.setDefault(True)
        row.addWidget(self.secondary)
        row.addWidget(self.primary)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(3)
        self._until: datetime | None = None
        self._daily = False
        self._now: Callable[[], datetime] = lambda: datetime.now().astimezone()
        self._tick = QTimer(self)
        self._tick.setInterval(COUNTDOWN_TICK_MS)
        self._tick.timeout.connect(self._update_countdown)
        self.countdown.hide()
        self.summary_view.hide()

    @property
    def counting_down(self) -> bool:
        return self._tick.isActive()

    def show_status(
        self,
        *,
        icon: QIcon,
        title: str,
        text: str,
        primary: str = "",
        secondary: str = "",
    ) -> None:
        self._stop_break()
        self.icon.show()
        size = self.fontMetrics().height() * 5
        self.icon.setPixmap(icon.pixmap(QSize(size, size), self.devicePixelRatioF()))
        self.title.setText(title)
        self.text.setText(text)
        self.setAccessibleName(title)
        self.setAccessibleDescription(text)
        for button, label in ((self.primary, primary), (self.secondary, secondary)):
            button.setText(label)
            button.setAccessibleName(label.replace("…", ""))
            button.setVisible(bool(label))

    def show_break(
        self,
        *,
        title: str,
        text: str,
        until: datetime | None,
        daily: bool,
        now: Callable[[], datetime],
        summary: SessionSummary | None,
        primary: str = "",
    ) -> None:
        """The break screen: ``until`` counted down each second (for a daily cap, the start of
        the next review day), and the session's summary once it is known."""
        self.icon.hide()
        self.title.setText(title)
        self.text.setText(text)
        self.setAccessibleName(title)
        self.setAccessibleDescription(text)
        for button, label in ((self.primary, primary), (self.secondary, "")):
            button.setText(label)
            button.setAccessibleName(label)
            button.setVisible(bool(label))
        self._until, self._daily, self._now = until, daily, now
        self.countdown.setVisible(until is not None)
        self.summary_view.show_summary(summary)
        self._update_countdown()
        if until is not None and self.isVisible():
            self._tick.start()

    def show_summary(self, summary: SessionSummary | None) -> None:
        self.summary_view.show_summary(summary)

    def _stop_break(self) -> None:
        self._tick.stop()
        self._until = None
        self.countdown.hide()
        self.summary_view.hide()

    def _update_countdown(self) -> None:
        until = self._until
        if until is None:
            self._tick.stop()
            return
        now = self._now()
        left = (until - now).total_seconds()
        if self._daily:
            self.countdown.setText(countdown_text(left) if left < 3600 else "See you tomorrow")
            self.countdown.setToolTip(day_start_text(until, now))
        else:
            self.countdown.setText(countdown_text(left))
        self.countdown.setAccessibleDescription(self.countdown.text())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._until is not None:
            self._update_countdown()
            self._tick.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        self._tick.stop()  # no countdown off screen
        super().hideEvent(event)

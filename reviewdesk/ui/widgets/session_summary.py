"""A reviewer's session at a glance: reviews by verdict, catches, gold accuracy, time, trend.

Shown on the break screen and after ending a session. It says what went well first; a quick
approval is described as something to take time over, never as a fault. Gold misses are not
listed (only right answers and catches).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from reviewdesk.core.domain import Label
from reviewdesk.services.sessions import SessionSummary, SessionTrendPoint
from reviewdesk.ui.widgets.details import plain_label

VERDICT_ORDER = tuple(label.value for label in Label)
_TIME_COLOR = QColor(52, 120, 246)  # blue: median time per draft
_SHARE_COLOR = QColor(46, 160, 67)  # green: approval share


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def verdict_text(by_label: dict[str, int]) -> str:
    parts = [f"{by_label[k]} {k}" for k in VERDICT_ORDER if by_label.get(k)]
    parts += [f"{n} {k}" for k, n in sorted(by_label.items()) if k not in VERDICT_ORDER and n]
    return " · ".join(parts) if parts else "No decisions yet"


def low_attention_text(count: int) -> str:
    if count == 0:
        return "Every approval had time for a full read."
    if count == 1:
        return "One approval came quicker than a full read: worth a second look next time."
    return f"{count} approvals came quicker than a full read: take the time each one needs."


class _Tile(QFrame):
    """One figure with its caption and a line of detail."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("draftCard")
        layout = QVBoxLayout(self)
        margin = self.fontMetrics().height() * 2 // 3
        layout.setContentsMargins(margin, margin // 2, margin, margin // 2)
        layout.setSpacing(2)
        self.caption = plain_label(caption, self, name="sectionTitle")
        self.value = plain_label("", self, name="draftTitle")
        self.detail = plain_label("", self, name="muted")
        self.detail.setWordWrap(True)
        for label in (self.caption, self.value, self.detail):
            layout.addWidget(label)
        layout.addStretch(1)
        self.setAccessibleName(caption)

    def set(self, value: str, detail: str) -> None:
        self.value.setText(value)
        self.detail.setText(detail)
        self.setAccessibleDescription(f"{value}. {detail}")


class TrendChart(QWidget):
    """Two small lines over the last sessions: median time per draft and approval share."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionTrend")
        self.points: tuple[SessionTrendPoint, ...] = ()
        self.setMinimumHeight(self.fontMetrics().height() * 5)
        self.setAccessibleName("Trend over your recent sessions")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(
            self.fontMetrics().horizontalAdvance("M") * 30, self.fontMetrics().height() * 6
        )

    @property
    def has_lines(self) -> bool:
        """Whether there are lines to draw (else a message says the trend comes later)."""
        return len(self.points) >= 2

    def set_points(self, points: Sequence[SessionTrendPoint]) -> None:
        self.points = tuple(points)
        described = "; ".join(
            f"session {n}: {p.reviews} reviews, median {seconds_text(p.median_seconds)}, "
            f"{'—' if p.approval_share is None else f'{p.approval_share:.0%}'} approved"
            for n, p in enumerate(self.points, 1)
        )
        self.setAccessibleDescription(described)
        self.update()

    def _line(
        self, painter: QPainter, area: QRectF, values: list[float | None], label: str
    ) -> None:
        """One series, scaled to its own range (its shape is what matters), with its latest
        value written at its end."""
        known = [v for v in values if v is not None]
        if not known:
            return
        low, high = min(known), max(known)
        span = (high - low) or max(abs(high), 1.0)
        low, high = low - span * 0.2, high + span * 0.2
        step = area.width() / max(len(values) - 1, 1)
        points = [
            QPointF(
                area.left() + i * step, area.bottom() - (v - low) / (high - low) * area.height()
            )
            for i, v in enumerate(values)
            if v is not None
        ]
        if len(points) > 1:
            painter.drawPolyline(QPolygonF(points))
        radius = max(2.0, self.fontMetrics().height() / 6)
        for point in points:
            painter.drawEllipse(point, radius, radius)
        last = points[-1]
        baseline = last.y() + self.fontMetrics().ascent() / 2 - 1
        painter.drawText(QPointF(last.x() + radius * 3, baseline), label)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText)
        pad = self.fontMetrics().height() / 2
        labels = self.fontMetrics().horizontalAdvance("100 %  ")
        area = QRectF(self.rect()).adjusted(pad, pad, -pad - labels, -pad)
        painter.setPen(QPen(muted, 1, Qt.PenStyle.DotLine))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        if not self.has_lines:
            painter.setPen(muted)
            painter.drawText(
                area, Qt.AlignmentFlag.AlignCenter, "The trend appears after a few sessions."
            )
            painter.end()
            return
        times = [p.median_seconds for p in self.points]
        shares = [p.approval_share for p in self.points]
        last_time = next((t for t in reversed(times) if t is not None), None)
        last_share = next((s for s in reversed(shares) if s is not None), None)
        width = max(2.0, self.fontMetrics().height() / 8)
        painter.setPen(QPen(_TIME_COLOR, width))
        painter.setBrush(_TIME_COLOR)
        self._line(painter, area, times, seconds_text(last_time))
        painter.setPen(QPen(_SHARE_COLOR, width, Qt.PenStyle.DashLine))
        painter.setBrush(_SHARE_COLOR)
        self._line(painter, area, shares, "" if last_share is None else f"{last_share:.0%}")
        painter.end()


class _Swatch(QWidget):
    """A small square of a line's colour, for the legend."""

    def __init__(self, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._color = color
        side = self.fontMetrics().height() * 2 // 3
        self.setFixedSize(side, side)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._color)
        painter.end()


def _legend(text: str, color: QColor, parent: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setSpacing(parent.fontMetrics().height() // 3)
    row.addWidget(_Swatch(color, parent))
    row.addWidget(plain_label(text, parent, name="muted"))
    return row


class SessionSummaryView(QWidget):
    """The summary of one session, with the trend over the last ones."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionSummary")
        self.setAccessibleName("Session summary")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = plain_label("Your session", self, name="sectionTitle")
        layout.addWidget(self.heading)
        grid = QGridLayout()
        spacing = self.fontMetrics().height() // 2
        grid.setSpacing(spacing)
        self.reviews = _Tile("Reviewed", self)
        self.catches = _Tile("Catches", self)
        self.gold = _Tile("Known-answer checks", self)
        self.median = _Tile("Time per draft", self)
        self.attention = _Tile("Reading pace", self)
        grid.addWidget(self.reviews, 0, 0, 1, 2)
        grid.addWidget(self.catches, 0, 2)
        grid.addWidget(self.median, 1, 0)
        grid.addWidget(self.attention, 1, 1)
        grid.addWidget(self.gold, 1, 2)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        layout.addLayout(grid)
        layout.addSpacing(spacing)
        trend_title = plain_label("Your recent sessions", self, name="sectionTitle")
        layout.addWidget(trend_title)
        self.trend = TrendChart(self)
        layout.addWidget(self.trend, 1)
        # Shown with the lines only: under the chart's message it would name nothing.
        self.trend_legend = QWidget(self)
        legend = QHBoxLayout(self.trend_legend)
        legend.setContentsMargins(0, 0, 0, 0)
        legend.addLayout(_legend("median time per draft", _TIME_COLOR, self.trend_legend))
        legend.addSpacing(spacing * 2)
        legend.addLayout(_legend("share approved (dashed)", _SHARE_COLOR, self.trend_legend))
        legend.addStretch(1)
        layout.addWidget(self.trend_legend)
        self.summary: SessionSummary | None = None

    def show_summary(self, summary: SessionSummary | None) -> None:
        self.summary = summary
        self.setVisible(summary is not None)
        if summary is None:
            return
        # Known-answer drafts were reviewed like any other; their answers are kept apart.
        total = sum(summary.by_label.values()) + summary.gold_answers
        detail = verdict_text(summary.by_label)
        if summary.gold_answers:
            checks = summary.gold_answers
            detail += f" · {checks} known-answer check{'s' if checks != 1 else ''}"
        self.reviews.set(f"{total} draft{'s' if total != 1 else ''}", detail)
        self.catches.set(
            str(summary.caught),
            "Known-answer drafts you stopped." if summary.caught else "None came your way.",
        )
        if summary.gold_answers > 0:
            self.gold.set(
                f"{summary.gold_correct} of {summary.gold_answers}",
                "answered as a careful reviewer would.",
            )
            self.gold.show()
        else:
            self.gold.hide()
        self.median.set(seconds_text(summary.median_seconds), "median, per draft")
        self.attention.set(
            "Steady" if summary.low_attention == 0 else f"{summary.low_attention} quick",
            low_attention_text(summary.low_attention),
        )
        self.trend.set_points(summary.trend)
        self.trend_legend.setVisible(self.trend.has_lines)

"""A non-blocking message strip above the desk: info fades out, warnings and errors stay.

The strip's place is reserved in the layout (``NoticeSlot``, one line high, empty when there is
no message), and the bar is laid over it: a message that appears, goes or wraps onto more lines
never moves the draft or the buttons under the reviewer's pointer. A long message grows
downwards over the top of the desk, and is gone again when dismissed or resolved.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QMoveEvent, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from reviewdesk.ui.widgets.details import plain_label

INFO_TIMEOUT_MS = 6_000
_ICONS = {
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
}


class NoticeBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setProperty("level", "info")
        self.setAccessibleName("Message")
        self.setAutoFillBackground(True)  # laid over the desk: nothing shows through
        layout = QHBoxLayout(self)
        margin = self.fontMetrics().height() // 2
        layout.setContentsMargins(margin, margin // 2, margin // 2, margin // 2)
        self.icon = QLabel(self)
        self.text = plain_label(parent=self, name="noticeText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setAutoRaise(True)
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss message")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay the desk's
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self._topic = ""
        self.slot: NoticeSlot | None = None
        self.hide()

    @property
    def level(self) -> str:
        return str(self.property("level"))

    @property
    def topic(self) -> str:
        """What the message on screen reports (empty: nothing that gets resolved)."""
        return self._topic if self.isVisible() else ""

    def show_notice(self, level: str, text: str, topic: str = "") -> None:
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        size = self.fontMetrics().height()
        icon = self.style().standardIcon(_ICONS.get(level, _ICONS["info"]))
        self.icon.setPixmap(icon.pixmap(size, size))
        self.text.setText(text)
        self.setAccessibleDescription(text)
        self._topic = topic
        self.show()
        self.raise_()
        if self.slot is not None:
            self.slot.place()
        if level == "info":
            self._timer.start(INFO_TIMEOUT_MS)
        else:
            self._timer.stop()

    def resolve(self, topic: str) -> None:
        """What the message about ``topic`` reported is resolved: it goes, if it is shown."""
        if topic and self.isVisible() and self._topic == topic:
            self.dismiss()

    def dismiss(self) -> None:
        self._timer.stop()
        self._topic = ""
        self.hide()


class NoticeSlot(QWidget):
    """The place the notice bar keeps in the layout: always one message line high, so that the
    layout is the same with a message or without. The bar (a sibling) is laid over it."""

    def __init__(self, bar: NoticeBar, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("noticeSlot")
        self.bar = bar
        bar.slot = self
        bar.setParent(parent)
        bar.hide()
        one_line = bar.fontMetrics().height()
        layout = bar.layout()
        assert layout is not None
        margins = layout.contentsMargins()
        button = bar.close_button.sizeHint().height()
        self.setFixedHeight(max(one_line, button) + margins.top() + margins.bottom() + 2)
        parent.installEventFilter(self)

    def place(self) -> None:
        """Over the slot, as wide as it, as high as the message needs (at least the slot)."""
        width = self.width()
        height = max(self.height(), self.bar.heightForWidth(width))
        self.bar.setGeometry(self.x(), self.y(), width, height)
        self.bar.raise_()

    def moveEvent(self, event: QMoveEvent) -> None:  # noqa: N802 - Qt override
        super().moveEvent(event)
        self.place()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LayoutRequest:
            self.place()
        return False

"""The page shown instead of a draft: connecting, queue empty, or database unreachable."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from reviewdesk.ui.widgets.details import plain_label


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
        layout.addSpacing(self.fontMetrics().height())
        layout.addWidget(self.title)
        layout.addLayout(text_row)
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

    def show_status(
        self,
        *,
        icon: QIcon,
        title: str,
        text: str,
        primary: str = "",
        secondary: str = "",
    ) -> None:
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

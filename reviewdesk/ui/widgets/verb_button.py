"""A push button for one action that shows the action's key beside its title."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from reviewdesk.ui.widgets.details import plain_label


class VerbButton(QPushButton):
    """Mirrors ``action``: its title, key, enabled state; clicking triggers it."""

    def __init__(self, action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._action = action
        self.setObjectName(f"button_{action.objectName().removeprefix('action_')}")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the desk, not the button
        layout = QHBoxLayout(self)
        height = self.fontMetrics().height()
        layout.setContentsMargins(height, height // 3, height * 2 // 3, height // 3)
        layout.setSpacing(height // 2)
        self.title = plain_label(parent=self)
        self.title.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.key = plain_label(parent=self, name="keyCap")
        self.key.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.key.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title)
        layout.addStretch(1)
        layout.addWidget(self.key)
        self.clicked.connect(action.trigger)
        action.changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        action = self._action
        key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.title.setText(action.text())
        self.key.setText(key)
        self.key.setVisible(bool(key))
        self.setEnabled(action.isEnabled())
        self.setAccessibleName(action.text())
        self.setAccessibleDescription(f"Shortcut: {key}" if key else action.statusTip())
        self.setToolTip(f"{action.statusTip()} ({key})" if key else action.statusTip())
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        layout = self.layout()
        assert layout is not None
        return layout.sizeHint().expandedTo(super().sizeHint())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.sizeHint()

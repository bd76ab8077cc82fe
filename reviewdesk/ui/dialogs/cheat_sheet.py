"""The ``?`` cheat sheet: every key of the desk, as currently mapped."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QVBoxLayout, QWidget

from reviewdesk.ui.shortcuts import (
    ACTIONS,
    CANCEL_EDIT_KEY,
    SUBMIT_EDIT_KEYS,
    ShortcutSet,
    native_text,
)
from reviewdesk.ui.widgets.details import plain_label

GROUPS = (("decide", "Deciding"), ("review", "The queue"), ("desk", "The desk"))


class CheatSheet(QDialog):
    def __init__(self, shortcuts: ShortcutSet, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("cheatSheet")
        self._shortcuts = shortcuts
        layout = QVBoxLayout(self)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(self.fontMetrics().height())
        layout.addLayout(self.grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.rebuild()

    def rebuild(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        row = 0
        for group, title in GROUPS:
            row = self._section(title, row)
            for spec in ACTIONS:
                if spec.group != group:
                    continue
                keys = [self._shortcuts.key_text(spec.id), *map(native_text, spec.extra_keys)]
                row = self._line(
                    " / ".join(k for k in keys if k), spec.title, spec.description, row
                )
        row = self._line(
            f"{native_text('PgUp')} / {native_text('PgDown')}",
            "Read on",
            "Scroll the draft a page, wherever the focus is",
            row,
        )
        row = self._section("In the editor", row)
        row = self._line(
            native_text(SUBMIT_EDIT_KEYS[0]), "Submit edit", "Record the corrected text", row
        )
        self._line(
            native_text(CANCEL_EDIT_KEY),
            "Cancel",
            "Leave the editor without deciding; E brings the edit back",
            row,
        )

    def _section(self, title: str, row: int) -> int:
        label = plain_label(title, name="sectionTitle")
        if row:
            label.setContentsMargins(0, self.fontMetrics().height() // 2, 0, 0)
        self.grid.addWidget(label, row, 0, 1, 3)
        return row + 1

    def _line(self, key: str, title: str, description: str, row: int) -> int:
        cap = plain_label(key, name="keyCap")
        cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(cap, row, 0, Qt.AlignmentFlag.AlignLeft)
        self.grid.addWidget(plain_label(title), row, 1)
        self.grid.addWidget(plain_label(description, name="muted"), row, 2)
        return row + 1

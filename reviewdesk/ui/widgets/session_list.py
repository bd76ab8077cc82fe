"""This session's recent decisions, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from reviewdesk.ui.review_controller import SessionEntry
from reviewdesk.ui.text import display_text

SHOWN = 100


class SessionList(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Recent decisions")
        self.setColumnCount(4)
        self.setHeaderLabels(["Time", "Draft", "Decision", "Detail"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.header()
        header.setStretchLastSection(True)
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def show_entries(self, entries: Sequence[SessionEntry]) -> None:
        self.clear()
        items = []
        for entry in entries[:SHOWN]:
            outcome = f"{entry.outcome} (undone)" if entry.undone else entry.outcome
            item = QTreeWidgetItem(
                [f"{entry.at:%H:%M:%S}", display_text(entry.draft_id), outcome, entry.detail]
            )
            if entry.undone:
                font = QFont(item.font(2))
                font.setStrikeOut(True)
                item.setFont(1, font)
            items.append(item)
        self.addTopLevelItems(items)

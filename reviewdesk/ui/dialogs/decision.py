"""The reject and escalate dialogs. Both are window-modal sheets over the desk, opened with
``open()`` (no nested event loop), and say what is missing before they let a decision through.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.core.domain import Severity
from reviewdesk.ui.shortcuts import SUBMIT_EDIT_KEYS
from reviewdesk.ui.text import display_text, one_line, reason_label, response_time
from reviewdesk.ui.widgets.details import plain_label


class DecisionDialog(QDialog):
    """A dialog that decides one leased draft. Ctrl+Enter confirms when the form is complete."""

    def __init__(
        self, *, title: str, verb: str, lease_id: str, draft_id: str, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.lease_id = lease_id
        self.setWindowTitle(f"{title} {display_text(draft_id)}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.layout_ = QVBoxLayout(self)
        heading = plain_label(f"{title} draft {one_line(draft_id, 60)}", name="dialogTitle")
        self.layout_.addWidget(heading)
        self.buttons = QDialogButtonBox(self)
        self.confirm = QPushButton(verb, self)
        self.confirm.setObjectName("confirmButton")
        self.confirm.setDefault(True)
        self.buttons.addButton(self.confirm, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        self.hint = plain_label(name="muted")
        self.hint.setWordWrap(True)
        confirm = QAction(verb, self)
        confirm.setShortcuts([QKeySequence(k) for k in SUBMIT_EDIT_KEYS])
        confirm.triggered.connect(self._try_accept)
        self.addAction(confirm)

    def _finish_layout(self) -> None:
        self.layout_.addWidget(self.hint)
        self.layout_.addWidget(self.buttons)
        self.refresh()

    def problem(self) -> str | None:
        """What still has to be filled in, or None."""
        return None

    def refresh(self, *, insist: bool = False) -> None:
        """Show what is missing, or how to confirm. ``insist``: the reviewer just tried to
        confirm without it, so the hint says so in the error style."""
        problem = self.problem()
        self.confirm.setEnabled(problem is None)
        if problem is None:
            self.hint.setText(self._ready_text())
        else:
            self.hint.setText(self._insist_text(problem) if insist else problem)
        name = "fieldError" if insist and problem is not None else "muted"
        if self.hint.objectName() != name:
            self.hint.setObjectName(name)
            self.hint.style().unpolish(self.hint)
            self.hint.style().polish(self.hint)

    def _insist_text(self, problem: str) -> str:
        return problem

    def _ready_text(self) -> str:
        return "Press Enter or Ctrl+Enter to confirm."

    def _try_accept(self) -> None:
        self.refresh(insist=True)
        if self.problem() is None:
            self.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        # With the form incomplete the default button is disabled and QDialog would ignore
        # Enter silently: say what is missing instead.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.problem() is not None:
            self._try_accept()
            event.accept()
            return
        super().keyPressEvent(event)


def _number_keys(dialog: QDialog, count: int, choose: object) -> None:
    """Keys 1…count pick an option (typing in a text field still types the digit)."""
    for number in range(1, min(count, 9) + 1):
        action = QAction(dialog)
        action.setShortcut(QKeySequence(str(number)))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _=False, n=number - 1: choose(n))  # type: ignore[operator]
        dialog.addAction(action)


def _note_editor(parent: QWidget, placeholder: str, name: str) -> QPlainTextEdit:
    note = QPlainTextEdit(parent)
    note.setObjectName("noteEditor")
    note.setAccessibleName(name)
    note.setPlaceholderText(placeholder)
    note.setTabChangesFocus(True)
    note.setFixedHeight(note.fontMetrics().height() * 4 + 12)
    return note


class RejectDialog(DecisionDialog):
    """Why the draft is wrong: one of the configured reasons, and an optional note."""

    def __init__(
        self, reasons: Sequence[str], *, lease_id: str, draft_id: str, parent: QWidget
    ) -> None:
        super().__init__(
            title="Reject", verb="Reject", lease_id=lease_id, draft_id=draft_id, parent=parent
        )
        self.reasons = tuple(reasons)
        self.layout_.addWidget(plain_label("Why is this draft wrong?", name="sectionTitle"))
        self.list = QListWidget(self)
        self.list.setObjectName("reasonList")
        self.list.setAccessibleName("Reason")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for number, reason in enumerate(self.reasons, start=1):
            prefix = f"{number}   " if number <= 9 else "     "
            item = QListWidgetItem(f"{prefix}{reason_label(reason)}")
            item.setData(Qt.ItemDataRole.UserRole, reason)
            self.list.addItem(item)
        rows = max(1, min(len(self.reasons), 10))  # more than ten scroll
        frame = 2 * self.list.frameWidth() + 4
        self.list.setFixedHeight(self.list.sizeHintForRow(0) * rows + frame)
        self.list.itemActivated.connect(lambda _item: self._try_accept())
        self.list.itemSelectionChanged.connect(self.refresh)
        self.layout_.addWidget(self.list)
        self.layout_.addWidget(plain_label("Note (optional)", name="sectionTitle"))
        self.note = _note_editor(self, "What should the team know?", "Note")
        self.layout_.addWidget(self.note)
        _number_keys(self, len(self.reasons), self.choose)
        # No reason is chosen for the reviewer: a preselected one is what a hurried Enter would
        # reject with. An explicit "no current row" also keeps the list from making the first
        # row current when it gets the focus, so the first arrow key chooses the first reason.
        self.list.setCurrentIndex(QModelIndex())
        self.list.setFocus()
        self._finish_layout()
        width = self.fontMetrics().horizontalAdvance("M") * 32
        self.setMinimumWidth(width)

    def choose(self, index: int) -> None:
        self.list.setCurrentRow(index)

    @property
    def reason(self) -> str | None:
        chosen = self.list.selectedItems()
        return str(chosen[0].data(Qt.ItemDataRole.UserRole)) if chosen else None

    @property
    def note_text(self) -> str | None:
        text = self.note.toPlainText().strip()
        return text or None

    def _keys(self) -> str:
        return f"1–{min(len(self.reasons), 9)}"

    def problem(self) -> str | None:
        if self.reason:
            return None
        return f"Choose a reason: press {self._keys()}, or the arrow keys."

    def _insist_text(self, problem: str) -> str:
        return problem.replace("Choose a reason:", "Choose a reason first:")

    def _ready_text(self) -> str:
        return (
            f"{self._keys()} choose another reason. Enter rejects; Ctrl+Enter rejects from "
            "the note."
        )


class EscalateDialog(DecisionDialog):
    """How urgent: a severity with its response time, and a note (required when urgent)."""

    def __init__(self, *, lease_id: str, draft_id: str, parent: QWidget) -> None:
        super().__init__(
            title="Escalate", verb="Escalate", lease_id=lease_id, draft_id=draft_id, parent=parent
        )
        self.layout_.addWidget(plain_label("How urgent is it?", name="sectionTitle"))
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.options: dict[Severity, QRadioButton] = {}
        self.response_labels: dict[Severity, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(self.fontMetrics().height())
        for number, severity in enumerate(Severity, start=1):
            key = plain_label(str(number), name="keyCap")
            key.setAlignment(Qt.AlignmentFlag.AlignCenter)
            button = QRadioButton(severity.value.capitalize(), self)
            button.setObjectName(f"severity_{severity.value}")
            button.setAccessibleName(f"{severity.value.capitalize()} severity")
            button.setAccessibleDescription(f"Response {response_time(severity)}")
            response = plain_label(f"response {response_time(severity)}")
            response.setBuddy(button)
            required = plain_label("note required" if severity.needs_note else "", name="muted")
            self.group.addButton(button, number - 1)
            self.options[severity] = button
            self.response_labels[severity] = response
            row = number - 1
            grid.addWidget(key, row, 0)
            grid.addWidget(button, row, 1)
            grid.addWidget(response, row, 2)
            grid.addWidget(required, row, 3)
        grid.setColumnStretch(3, 1)
        self.layout_.addLayout(grid)
        self.group.idToggled.connect(lambda _id, _on: self.refresh())
        self.layout_.addSpacing(self.fontMetrics().height() // 2)
        self.note_label = plain_label("Note", name="sectionTitle")
        self.layout_.addWidget(self.note_label)
        self.note = _note_editor(self, "What is wrong, and what should happen?", "Note")
        self.note.textChanged.connect(self.refresh)
        self.layout_.addWidget(self.note)
        severities = list(Severity)
        _number_keys(self, len(severities), lambda i: self.choose(severities[i]))
        self._finish_layout()
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 34)
        self.options[Severity.CRITICAL].setFocus()

    def choose(self, severity: Severity) -> None:
        self.options[severity].setChecked(True)
        self.note.setFocus()

    @property
    def severity(self) -> Severity | None:
        for severity, button in self.options.items():
            if button.isChecked():
                return severity
        return None

    @property
    def note_text(self) -> str | None:
        text = self.note.toPlainText().strip()
        return text or None

    def problem(self) -> str | None:
        severity = self.severity
        if severity is None:
            self.note_label.setText("Note")
            return "Choose a severity (1–4)."
        required = severity.needs_note
        self.note_label.setText("Note (required)" if required else "Note (optional)")
        if required and not self.note_text:
            return f"A {severity.value} escalation needs a note saying what is wrong."
        return None

    def _ready_text(self) -> str:
        severity = self.severity
        assert severity is not None
        return f"Someone must respond {response_time(severity)}. Ctrl+Enter escalates."

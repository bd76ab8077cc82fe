"""The inline editor: the draft's text to correct, and a live diff against the original."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QKeySequence,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from reviewdesk.ui.shortcuts import CANCEL_EDIT_KEY, SUBMIT_EDIT_KEYS
from reviewdesk.ui.text import unified_diff
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.widgets.text_views import DRAFT_FONT_SCALE, PlainView
from reviewdesk.ui.widgets.verb_button import VerbButton

DIFF_DELAY_MS = 120
CAPTION = "Correct the draft. The changes against the original are shown below it."


class DiffHighlighter(QSyntaxHighlighter):
    """Colours the lines of a unified diff; the text itself stays plain."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._added = QTextCharFormat()
        self._added.setBackground(QColor(46, 160, 67, 70))
        self._removed = QTextCharFormat()
        self._removed.setBackground(QColor(218, 54, 51, 70))
        self._hunk = QTextCharFormat()
        self._hunk.setForeground(QColor(110, 118, 129))

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt override
        if text.startswith(("+++", "---")):
            self.setFormat(0, len(text), self._hunk)
        elif text.startswith("+"):
            self.setFormat(0, len(text), self._added)
        elif text.startswith("-"):
            self.setFormat(0, len(text), self._removed)
        elif text.startswith("@@"):
            self.setFormat(0, len(text), self._hunk)


class EditPanel(QWidget):
    """Ctrl+Enter submits the edit; Esc cancels. The diff follows the typing."""

    submitted = Signal(str, str)  # lease id, edited text
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lease_id = ""
        self._original = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.caption = plain_label(name="muted")
        self.caption.setText(CAPTION)
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("draftEditor")
        self.editor.setAccessibleName("Edited draft")
        font = self.editor.font()
        font.setPointSizeF(font.pointSizeF() * DRAFT_FONT_SCALE)
        self.editor.setFont(font)
        self.editor.document().setDocumentMargin(self.editor.fontMetrics().height() * 0.6)
        self.diff = PlainView("Changes against the original", self)
        self.diff.setObjectName("diffView")
        self.diff.setPlaceholderText("No changes yet.")
        self._highlighter = DiffHighlighter(self.diff.document())
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("editSplitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.editor)
        diff_box = QWidget(self)
        diff_layout = QVBoxLayout(diff_box)
        diff_layout.setContentsMargins(0, 0, 0, 0)
        diff_layout.addWidget(plain_label("Changes", name="sectionTitle"))
        diff_layout.addWidget(self.diff)
        splitter.addWidget(diff_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.submit_action = QAction("Submit edit", self)
        self.submit_action.setObjectName("action_submit_edit")
        self.submit_action.setShortcuts([QKeySequence(k) for k in SUBMIT_EDIT_KEYS])
        self.submit_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.submit_action.setAutoRepeat(False)
        self.submit_action.setStatusTip("Record the corrected text as your decision")
        self.submit_action.triggered.connect(self.submit)
        self.cancel_action = QAction("Cancel", self)
        self.cancel_action.setObjectName("action_cancel_edit")
        self.cancel_action.setShortcut(QKeySequence(CANCEL_EDIT_KEY))
        self.cancel_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.cancel_action.setStatusTip("Leave the editor without deciding")
        self.cancel_action.triggered.connect(self.cancelled)
        self.addActions([self.submit_action, self.cancel_action])

        buttons = QHBoxLayout()
        buttons.addWidget(self.caption, 1)
        buttons.addWidget(VerbButton(self.cancel_action, self))
        self.submit_button = VerbButton(self.submit_action, self)
        self.submit_button.setProperty("role", "primary")
        buttons.addWidget(self.submit_button)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        self._diff_timer = QTimer(self)
        self._diff_timer.setSingleShot(True)
        self._diff_timer.setInterval(DIFF_DELAY_MS)
        self._diff_timer.timeout.connect(self.update_diff)
        self.editor.textChanged.connect(self._diff_timer.start)

    @property
    def lease_id(self) -> str:
        return self._lease_id

    def start(self, lease_id: str, original: str, text: str | None = None) -> None:
        """Edit ``original`` (starting from ``text`` when an edit is taken up again)."""
        self._lease_id = lease_id
        self._original = original
        self.caption.setText(CAPTION)
        self.editor.setPlainText(original if text is None else text)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        self.update_diff()
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def stop(self) -> None:
        self._diff_timer.stop()
        self._lease_id = ""

    def changed_text(self) -> str | None:
        """The text as edited, or None when nothing worth keeping was typed."""
        text = self.editor.toPlainText()
        return text if text.strip() and text != self._original else None

    def update_diff(self) -> None:
        self._diff_timer.stop()
        self.diff.show_text(unified_diff(self._original, self.editor.toPlainText()))

    def problem(self) -> str | None:
        """Why the edit cannot be submitted as it is (the desk's own rules), or None."""
        text = self.editor.toPlainText()
        if not text.strip():
            return "The edited draft is empty: write the corrected text, or press Esc."
        if text == self._original:
            return "Nothing is changed yet. To send the draft as it is, press Esc, then approve."
        return None

    def submit(self) -> None:
        if not self._lease_id:
            return
        if self._diff_timer.isActive():
            self.update_diff()  # what is sent is what the diff shows
        problem = self.problem()
        if problem:
            self.caption.setText(problem)
            return
        self.submitted.emit(self._lease_id, self.editor.toPlainText())

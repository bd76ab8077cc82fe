"""The inline editor: the draft's text to correct, and its changes word by word below it."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from reviewdesk.ui.shortcuts import CANCEL_EDIT_KEY, SUBMIT_EDIT_KEYS
from reviewdesk.ui.text import display_text
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.widgets.text_views import DRAFT_FONT_SCALE, PlainView, wrap_for
from reviewdesk.ui.widgets.verb_button import VerbButton
from reviewdesk.ui.word_diff import Piece, changed, word_diff

DIFF_DELAY_MS = 120
CAPTION = "Correct the draft. The changes against the original are shown below it."
RESTORED_CAPTION = (
    "Your edit from before is back. Ctrl+Z in the text goes back to the draft as it was."
)


def _formats() -> dict[str, QTextCharFormat]:
    same = QTextCharFormat()
    # Struck through and underlined as well as coloured: the marks read without colour too.
    deleted = QTextCharFormat()
    deleted.setFontStrikeOut(True)
    deleted.setBackground(QColor(218, 54, 51, 60))
    deleted.setForeground(QColor(200, 40, 40))
    inserted = QTextCharFormat()
    inserted.setFontUnderline(True)
    inserted.setBackground(QColor(46, 160, 67, 70))
    return {"same": same, "deleted": deleted, "inserted": inserted}


class DiffView(PlainView):
    """The edited draft in one flowing text, deleted words struck through in red and inserted
    words underlined in green. The text goes in as plain text, made displayable piece by piece
    (hidden characters as symbols, as in the draft)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Changes against the original", parent)
        self._formats = _formats()
        self.pieces: list[Piece] = []

    def show_pieces(self, pieces: list[Piece]) -> None:
        self.pieces = pieces
        self.clear()
        wrap_for(self, "".join(piece.text for piece in pieces))
        if not changed(pieces):
            return  # the placeholder says there are none
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        for piece in pieces:
            cursor.insertText(display_text(piece.text), self._formats[piece.kind])
        cursor.endEditBlock()


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
        self.diff = DiffView(self)
        self.diff.setObjectName("diffView")
        self.diff.setPlaceholderText("No changes yet.")
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("editSplitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.editor)
        diff_box = QWidget(self)
        diff_layout = QVBoxLayout(diff_box)
        diff_layout.setContentsMargins(0, 0, 0, 0)
        diff_layout.addWidget(
            plain_label(
                "Changes: deleted words struck out, new ones underlined", name="sectionTitle"
            )
        )
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
        self.cancel_action.setStatusTip(
            "Leave the editor without deciding; E on the same draft brings the edit back"
        )
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

    def start(
        self, lease_id: str, original: str, text: str | None = None, *, restored: bool = False
    ) -> None:
        """Edit ``original`` (starting from ``text`` when an edit is taken up again).
        ``restored``: ``text`` is an edit the reviewer put aside with Esc; it goes in as one
        step that Ctrl+Z takes back, to the draft as it was."""
        self._lease_id = lease_id
        self._original = original
        self.caption.setText(RESTORED_CAPTION if restored and text is not None else CAPTION)
        if restored and text is not None:
            self.editor.setPlainText(original)
            cursor = self.editor.textCursor()
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(text)  # an undoable step
        else:
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
        self.diff.show_pieces(word_diff(self._original, self.editor.toPlainText()))

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

"""Read-only views of producer text. Content is always inserted as plain text.

``DraftView`` is a QPlainTextEdit, which has no rich-text path at all. ``SectionsView`` lays out
headings and indented fields with programmatic formats: text goes in through
``QTextCursor.insertText`` only (never HTML), and the view refuses to load any resource.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QPaintEvent,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextOption,
)
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QTextEdit, QWidget

from reviewdesk.ui.text import display_text

DRAFT_FONT_SCALE = 1.3
# Breaking a very long run without spaces at word boundaries first costs Qt seconds (a 100,000
# character token: about 2 s); text with such a run wraps anywhere instead (about 0.1 s).
_LONG_RUN = re.compile(r"\S{500}")


def _read_only(view: QPlainTextEdit | QTextEdit) -> None:
    view.setReadOnly(True)
    view.setUndoRedoEnabled(False)
    view.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)


def set_plain_text(view: QPlainTextEdit, text: str) -> None:
    """Show ``text`` (already made displayable), wrapped so that no line is too long."""
    wrap_for(view, text)
    view.setPlainText(text)


def wrap_for(view: QPlainTextEdit, text: str) -> None:
    """Set the wrap mode that lays ``text`` out quickly in ``view``."""
    mode = (
        QTextOption.WrapMode.WrapAnywhere
        if _LONG_RUN.search(text)
        else QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere
    )
    if view.wordWrapMode() != mode:
        view.clear()  # else the old text is laid out again in the new mode first
        view.setWordWrapMode(mode)


class DraftView(QPlainTextEdit):
    """The draft, large and readable, as plain text."""

    painted = Signal()  # after each paint of the text: the benchmark's "on screen" moment

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _read_only(self)
        self.setObjectName("draftView")
        self.setAccessibleName("Draft")
        self.setFrameShape(QFrame.Shape.NoFrame)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * DRAFT_FONT_SCALE)
        self.setFont(font)
        margin = self.fontMetrics().height()
        self.document().setDocumentMargin(margin)
        self._raw = ""

    @property
    def raw_text(self) -> str:
        """The draft as stored (what approving it sends), before controls were made visible."""
        return self._raw

    def show_text(self, text: str) -> None:
        self._raw = text
        set_plain_text(self, display_text(text))

    def clear_text(self, placeholder: str = "") -> None:
        self._raw = ""
        self.setPlaceholderText(placeholder)
        self.clear()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        self.painted.emit()


class PlainView(QPlainTextEdit):
    """A small read-only plain-text view (the customer's input, the diff)."""

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _read_only(self)
        self.setAccessibleName(accessible_name)

    def show_text(self, text: str) -> None:
        set_plain_text(self, display_text(text))


class SectionsView(QTextEdit):
    """Headings and indented fields, built from plain strings."""

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _read_only(self)
        self.setAcceptRichText(False)
        self.setAccessibleName(accessible_name)
        self.document().setDocumentMargin(self.fontMetrics().height() * 0.6)
        self._cursor = QTextCursor(self.document())
        self._first = True
        indent = self.fontMetrics().horizontalAdvance("M") * 1.6
        self._indent = indent

    def loadResource(self, kind: int, name: QUrl | str) -> Any:  # noqa: N802 - Qt override
        return None  # never fetch anything a producer's text might name

    def begin(self) -> None:
        """Start writing the view afresh; ``end()`` lays it out, once."""
        self.clear()
        self._cursor = QTextCursor(self.document())
        self._cursor.beginEditBlock()
        self._first = True

    def _block(self, *, level: int, top: float = 0.0) -> None:
        fmt = QTextBlockFormat()
        fmt.setLeftMargin(self._indent * level)
        fmt.setTopMargin(top)
        if self._first:
            self._cursor.setBlockFormat(fmt)
            self._first = False
        else:
            self._cursor.insertBlock(fmt)

    def _char(
        self, *, bold: bool = False, muted: bool = False, mono: bool = False
    ) -> QTextCharFormat:
        fmt = QTextCharFormat()
        if bold:
            fmt.setFontWeight(QFont.Weight.Bold)
        if muted:
            fmt.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
        if mono:
            fmt.setFontFamilies(
                [QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()]
            )
        return fmt

    def heading(self, text: str, *, level: int = 0) -> None:
        top = 0.0 if self._first else self.fontMetrics().height() * 0.7
        self._block(level=level, top=top)
        self._cursor.insertText(display_text(text), self._char(bold=True))

    def field(self, key: str, value: str, *, level: int = 1) -> None:
        self._block(level=level)
        self._cursor.insertText(f"{display_text(key)}: ", self._char(muted=True))
        self._cursor.insertText(display_text(value), self._char())

    def paragraph(
        self, text: str, *, level: int = 1, muted: bool = False, mono: bool = False
    ) -> None:
        for line in display_text(text).split("\n"):
            self._block(level=level)
            self._cursor.insertText(line, self._char(muted=muted, mono=mono))

    def end(self) -> None:
        self._cursor.endEditBlock()
        self.moveCursor(QTextCursor.MoveOperation.Start)

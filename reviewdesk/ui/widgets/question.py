"""A yes-or-no question that does not block: window-modal, answered through a callback."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

Yes = QMessageBox.StandardButton.Yes


def open_question(
    parent: QWidget,
    title: str,
    text: str,
    detail: str,
    *,
    yes_text: str,
    default_yes: bool,
    answered: Callable[[QMessageBox, bool], None],
    no_button: QMessageBox.StandardButton = QMessageBox.StandardButton.No,
    no_text: str | None = None,
) -> QMessageBox:
    """Open the question over ``parent`` and return it; ``answered(box, yes)`` runs once it is
    answered or closed (``box.done(...)`` closes it from code), then the box deletes itself."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, Yes | no_button, parent)
    box.setInformativeText(detail)
    box.button(Yes).setText(yes_text)
    if no_text is not None:
        box.button(no_button).setText(no_text)
    box.setDefaultButton(Yes if default_yes else no_button)
    box.setWindowModality(Qt.WindowModality.WindowModal)

    def finished(result: int) -> None:
        box.deleteLater()
        answered(box, result == Yes)

    box.finished.connect(finished)
    box.open()
    return box

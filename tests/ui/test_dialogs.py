"""The decision dialogs, the cheat sheet and the password prompt, on their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from reviewdesk.core.domain import DEFAULT_REJECT_REASONS, Severity
from reviewdesk.ui.dialogs.decision import EscalateDialog, RejectDialog
from reviewdesk.ui.dialogs.password import PasswordDialog

CTRL = Qt.KeyboardModifier.ControlModifier


def show(qtbot: QtBot, dialog: QWidget) -> None:
    """Open the dialog and wait until it has the keyboard, as a user sees it."""
    dialog.open()  # type: ignore[attr-defined]
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)


@pytest.fixture
def parent(qtbot: QtBot) -> Iterator[QWidget]:
    widget = QWidget()
    qtbot.addWidget(widget)
    with qtbot.waitActive(widget):
        widget.show()
    yield widget
    widget.close()
    widget.deleteLater()


def test_escalation_needs_a_severity(qtbot: QtBot, parent: QWidget) -> None:
    dialog = EscalateDialog(lease_id="L", draft_id="d-1", parent=parent)
    show(qtbot, dialog)
    assert dialog.severity is None
    assert not dialog.confirm.isEnabled()
    assert dialog.hint.text() == "Choose a severity (1–4)."
    QTest.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Return, CTRL)
    assert dialog.isVisible()  # not accepted


@pytest.mark.parametrize("severity", [Severity.CRITICAL, Severity.HIGH])
def test_urgent_escalations_need_a_note(qtbot: QtBot, parent: QWidget, severity: Severity) -> None:
    dialog = EscalateDialog(lease_id="L", draft_id="d-1", parent=parent)
    show(qtbot, dialog)
    dialog.choose(severity)
    assert not dialog.confirm.isEnabled()
    assert dialog.hint.text() == f"A {severity.value} escalation needs a note saying what is wrong."
    assert dialog.note_label.text() == "Note (required)"
    QTest.keyClick(dialog.note, Qt.Key.Key_Return, CTRL)
    assert dialog.isVisible()
    QTest.keyClicks(dialog.note, "   ")
    assert not dialog.confirm.isEnabled()  # blank is not a note
    QTest.keyClicks(dialog.note, "Tells the customer to share a password.")
    assert dialog.confirm.isEnabled()
    with qtbot.waitSignal(dialog.accepted):
        QTest.keyClick(dialog.note, Qt.Key.Key_Return, CTRL)
    assert dialog.note_text == "Tells the customer to share a password."


@pytest.mark.parametrize("severity", [Severity.MEDIUM, Severity.LOW])
def test_other_escalations_need_no_note(qtbot: QtBot, parent: QWidget, severity: Severity) -> None:
    dialog = EscalateDialog(lease_id="L", draft_id="d-1", parent=parent)
    show(qtbot, dialog)
    dialog.choose(severity)
    assert dialog.confirm.isEnabled()
    assert dialog.note_label.text() == "Note (optional)"
    assert dialog.note_text is None


def test_escalation_options_state_their_response_times(parent: QWidget) -> None:
    dialog = EscalateDialog(lease_id="L", draft_id="d-1", parent=parent)
    texts = {s: (b.text(), dialog.response_labels[s].text()) for s, b in dialog.options.items()}
    assert texts == {
        Severity.CRITICAL: ("Critical", "response in under 15 minutes"),
        Severity.HIGH: ("High", "response within 1 hour"),
        Severity.MEDIUM: ("Medium", "response within 4 hours"),
        Severity.LOW: ("Low", "response within 24 hours"),
    }
    assert all(b.accessibleName() for b in dialog.options.values())
    dialog.close()


def test_escalation_keys_pick_a_severity(qtbot: QtBot, parent: QWidget) -> None:
    dialog = EscalateDialog(lease_id="L", draft_id="d-1", parent=parent)
    show(qtbot, dialog)
    QTest.keyClick(dialog.options[Severity.CRITICAL], Qt.Key.Key_2)
    assert dialog.severity is Severity.HIGH
    # In the note, digits are text.
    QTest.keyClicks(dialog.note, "3 customers affected")
    assert dialog.severity is Severity.HIGH
    assert dialog.note_text == "3 customers affected"
    dialog.close()


def test_reject_offers_the_configured_reasons(qtbot: QtBot, parent: QWidget) -> None:
    reasons = ("wrong_amount", "rude", "other")
    dialog = RejectDialog(reasons, lease_id="L", draft_id="d-1", parent=parent)
    show(qtbot, dialog)
    assert [dialog.list.item(i).text().split(maxsplit=1)[1] for i in range(3)] == [
        "Wrong amount",
        "Rude",
        "Other",
    ]
    QTest.keyClick(dialog.list, Qt.Key.Key_3)
    assert dialog.reason == "other"
    QTest.keyClicks(dialog.note, "see 2 earlier replies")
    assert dialog.reason == "other"
    with qtbot.waitSignal(dialog.accepted):
        QTest.keyClick(dialog.list, Qt.Key.Key_Return)
    assert dialog.note_text == "see 2 earlier replies"


def test_reject_preselects_no_reason(qtbot: QtBot, parent: QWidget) -> None:
    # A preselected reason would be what a hurried Enter rejects with, and skew the reasons.
    dialog = RejectDialog(DEFAULT_REJECT_REASONS, lease_id="L", draft_id="d-1", parent=parent)
    show(qtbot, dialog)
    assert dialog.list.hasFocus()
    assert dialog.reason is None and not dialog.list.selectedItems()
    assert not dialog.confirm.isEnabled()
    assert dialog.hint.text() == "Choose a reason: press 1–7, or the arrow keys."
    assert dialog.hint.objectName() == "muted"
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        QTest.keyClick(dialog.list, key)
        assert dialog.isVisible() and dialog.result() == 0  # not rejected
    # Asked to confirm without a reason, the hint says what is missing, in the error style.
    assert dialog.hint.text() == "Choose a reason first: press 1–7, or the arrow keys."
    assert dialog.hint.objectName() == "fieldError"
    QTest.keyClick(dialog.note, Qt.Key.Key_Return, CTRL)
    assert dialog.isVisible() and dialog.reason is None
    # The first arrow key chooses the first reason, not the second.
    QTest.keyClick(dialog.list, Qt.Key.Key_Down)
    assert dialog.reason == DEFAULT_REJECT_REASONS[0]
    assert dialog.hint.objectName() == "muted"
    assert dialog.hint.text() == (
        "1–7 choose another reason. Enter rejects; Ctrl+Enter rejects from the note."
    )
    dialog.close()


def test_reject_from_the_note_with_ctrl_enter(qtbot: QtBot, parent: QWidget) -> None:
    dialog = RejectDialog(DEFAULT_REJECT_REASONS, lease_id="L", draft_id="d-1", parent=parent)
    show(qtbot, dialog)
    QTest.keyClick(dialog.list, Qt.Key.Key_2)
    dialog.note.setFocus()
    QTest.keyClicks(dialog.note, "Invents a refund policy.")
    QTest.keyClick(dialog.note, Qt.Key.Key_Return)  # Enter in the note is a new line
    assert dialog.isVisible()
    with qtbot.waitSignal(dialog.accepted):
        QTest.keyClick(dialog.note, Qt.Key.Key_Return, CTRL)
    assert dialog.reason == DEFAULT_REJECT_REASONS[1]
    assert dialog.note_text == "Invents a refund policy."


def test_reject_hint_names_the_number_keys_there_are(qtbot: QtBot, parent: QWidget) -> None:
    few = RejectDialog(("rude", "other"), lease_id="L", draft_id="d-1", parent=parent)
    assert few.hint.text() == "Choose a reason: press 1–2, or the arrow keys."
    few.close()
    many = RejectDialog(
        [f"reason_{i}" for i in range(12)], lease_id="L", draft_id="d", parent=parent
    )
    assert many.hint.text() == "Choose a reason: press 1–9, or the arrow keys."
    many.choose(10)
    assert many.reason == "reason_10"
    assert many.hint.text().startswith("1–9 choose another reason.")
    many.close()


def test_reject_with_default_reasons_fits_them_all(parent: QWidget) -> None:
    dialog = RejectDialog(DEFAULT_REJECT_REASONS, lease_id="L", draft_id="<b>x</b>", parent=parent)
    assert dialog.list.count() == len(DEFAULT_REJECT_REASONS)
    assert dialog.windowTitle() == "Reject <b>x</b>"
    dialog.close()


def test_password_prompt_keeps_the_password_out_of_sight(parent: QWidget) -> None:
    dialog = PasswordDialog("postgresql+psycopg://ana:***@db/q", "ana@db:5432/q", parent)
    QTest.keyClicks(dialog.password, "s3cret")
    assert dialog.value == "s3cret"
    assert dialog.password.echoMode().name == "Password"
    dialog.close()

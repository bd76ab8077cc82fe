"""The reviewer's desk driven by keys, end to end, checked in the database."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reviewdesk.core.domain import Label, Severity
from reviewdesk.ui.dialogs.decision import EscalateDialog, RejectDialog
from reviewdesk.ui.review_controller import ReviewState
from tests.ui.conftest import Harness, HarnessFactory, drafts

Key = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


D = TypeVar("D", RejectDialog, EscalateDialog)


def open_dialog(h: Harness, key: Qt.Key, kind: type[D]) -> D:
    h.press(key)

    def opened() -> bool:
        dialog = h.window.active_dialog
        return isinstance(dialog, kind) and dialog.isActiveWindow()

    h.qtbot.waitUntil(opened)
    dialog = h.window.active_dialog
    assert isinstance(dialog, kind)
    return dialog


def test_review_ten_drafts_with_every_verb(desk_harness: HarnessFactory, db_url: str) -> None:
    h = desk_harness(drafts(12), url=db_url)
    h.wait_for_draft("d-01")
    assert h.window.header.title.text() == "d-01"

    # A: approve.
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")

    # E: edit inline; the diff shows the change before Ctrl+Enter submits it.
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    editor = h.window.editor.editor
    assert h.window.draft_stack.currentWidget() is h.window.editor
    assert editor.toPlainText() == drafts(2)[1]["draft"]
    h.type_text(editor, " We are sorry for the wait.")
    h.window.editor.update_diff()
    assert [(p.kind, p.text) for p in h.window.editor.diff.pieces] == [
        ("same", "Draft number 2: your parcel leaves the warehouse tomorrow."),
        ("inserted", " We are sorry for the wait."),
    ]
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-03")
    assert h.window.draft_stack.currentWidget() is h.window.draft_view

    # R: reject, reason picked with its number key, a note, Ctrl+Enter.
    reject = open_dialog(h, Key.Key_R, RejectDialog)
    h.press(Key.Key_2)
    assert reject.reason == "hallucination"
    h.type_text(reject.note, "Invents a tracking number.")
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-04")

    # X: escalate as critical, which needs a note.
    escalate = open_dialog(h, Key.Key_X, EscalateDialog)
    h.press(Key.Key_1)
    assert escalate.severity is Severity.CRITICAL
    assert not escalate.confirm.isEnabled()
    h.type_text(escalate.note, "Promises a refund we do not offer.")
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-05")

    # S: skip gives the draft back; the next claim passes it over.
    h.press(Key.Key_S)
    h.wait_for_draft("d-06")

    # A, then Ctrl+Z brings d-06 back; reject it instead. No reason is preselected: Enter
    # alone rejects nothing, the first arrow key chooses the first reason.
    h.press(Key.Key_A)
    h.wait_for_draft("d-07")
    h.press(Key.Key_Z, CTRL)
    h.wait_for_draft("d-06")
    reject = open_dialog(h, Key.Key_R, RejectDialog)
    h.press(Key.Key_Return)
    assert reject.isVisible() and reject.reason is None
    h.press(Key.Key_Down)
    h.press(Key.Key_Return)
    h.wait_for_draft("d-07")

    # The rest: approve, escalate low (no note needed), edit, approve.
    h.press(Key.Key_A)
    h.wait_for_draft("d-08")
    open_dialog(h, Key.Key_X, EscalateDialog)
    h.press(Key.Key_4)
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-09")
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    editor = h.window.editor.editor
    editor.selectAll()
    h.type_text(editor, "Rewritten.")
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-10")
    for expected_next in ("d-11", "d-12"):
        h.press(Key.Key_A)
        h.wait_for_draft(expected_next)
    h.press(Key.Key_A)

    # Everything else is decided: the skipped draft is all that is left, and F5 brings it back.
    h.wait_for_state(ReviewState.EMPTY)
    assert h.window.pages.currentWidget() is h.window.status_page
    assert "skipped 1 draft" in h.window.status_page.text.text()
    h.press(Key.Key_F5)
    h.wait_for_draft("d-05")
    h.press(Key.Key_A)
    h.wait_for_state(ReviewState.EMPTY)
    h.wait_idle()

    with h.verify() as check:
        results = {
            r.id: r for r in check.results(unsettled=True, include_delivered=True, limit=100)
        }
        attempts = check.attempts()
        counts = check.counts()
    assert set(results) == {f"d-{n:02d}" for n in range(1, 13)}
    assert results["d-01"].label is Label.APPROVED
    assert results["d-02"].label is Label.EDITED
    assert results["d-02"].final == drafts(2)[1]["draft"] + " We are sorry for the wait."
    assert results["d-03"].label is Label.REJECTED
    assert (results["d-03"].reason, results["d-03"].note) == (
        "hallucination",
        "Invents a tracking number.",
    )
    assert results["d-04"].label is Label.ESCALATED
    assert results["d-04"].severity is Severity.CRITICAL
    assert results["d-04"].note == "Promises a refund we do not offer."
    assert results["d-06"].label is Label.REJECTED  # the undone approval was replaced
    assert results["d-06"].reason == "factual_error"
    assert results["d-08"].severity is Severity.LOW and results["d-08"].note is None
    assert results["d-09"].final == "Rewritten."
    assert results["d-05"].label is Label.APPROVED  # reviewed after the skip
    assert all(r.reviewer == "ana" for r in results.values())
    # One accepted attempt per decision: 12 drafts plus the undone approval; nothing refused.
    outcomes = Counter(a["outcome"] for a in attempts)
    assert outcomes == {"accepted": 13}
    assert (counts.pending, counts.leased, counts.decided) == (0, 0, 12)
    assert h.controller.decided_count == 12
    assert h.window.status_text["session"] == "Session: 12 of 40 reviews · 45 min left"
    assert h.spy.on_gui_thread == []
    assert h.spy.elsewhere > 0


def test_status_bar_shows_database_connection_queue_and_session(
    desk_harness: HarnessFactory,
) -> None:
    h = desk_harness(drafts(3))
    h.wait_idle()
    status = h.window.status_text
    assert status["database"] == h.desk.target.display
    assert status["connection"] == "● Connected"
    assert status["queue"] == "1 waiting · 2 in review"  # the shown draft and the prefetched one
    assert status["session"] == "Session: 0 of 40 reviews · 45 min left"
    assert status["reviewer"] == "Reviewer: ana"


@pytest.mark.parametrize("verb", ["approve", "skip"])
def test_a_held_key_decides_once(desk_harness: HarnessFactory, verb: str) -> None:
    h = desk_harness(drafts(4))
    h.wait_for_draft("d-01")
    h.wait_idle()
    key, text = (Key.Key_A, "a") if verb == "approve" else (Key.Key_S, "s")
    # Down, then the auto-repeats a held key produces, while the decision is being written.
    h.hold(key, text, repeats=5)
    h.wait_for_draft("d-02")
    # Still held after the next draft appeared: more repeats must not decide it.
    h.repeat(key, text, 5)
    h.wait_idle()
    h.release(key, text)
    h.wait_idle()
    assert h.shown_id() == "d-02"
    with h.verify() as check:
        decided = check.results(unsettled=True, include_delivered=True)
        attempts = check.attempts()
    if verb == "approve":
        assert [r.id for r in decided] == ["d-01"]
        assert len(attempts) == 1
    else:
        assert decided == []


def test_repeated_presses_while_writing_decide_once(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(4))
    h.wait_for_draft("d-01")
    h.wait_idle()
    # Three presses before the GUI thread can hear back from the database: WRITING ignores two.
    for _ in range(3):
        h.press(Key.Key_A)
    assert h.controller.state is ReviewState.WRITING
    # The draft stays until the database has recorded the decision; only then the next one.
    assert h.shown_id() == "d-01"
    h.wait_for_draft("d-02")
    assert h.window.draft_view.raw_text == drafts(2)[1]["draft"]
    h.wait_idle()
    with h.verify() as check:
        assert [r.id for r in check.results(unsettled=True, include_delivered=True)] == ["d-01"]
        assert len(check.attempts()) == 1


def test_undo_brings_the_last_decision_back(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.press(Key.Key_Z, CTRL)
    h.wait_for_draft("d-01")
    assert "Undone" in h.window.notice_bar.text.text()
    entries = h.controller.entries
    assert (entries[0].draft_id, entries[0].outcome, entries[0].undone) == (
        "d-01",
        "approved",
        True,
    )
    assert h.controller.decided_count == 0
    # The draft that was on screen comes back right after.
    open_dialog(h, Key.Key_X, EscalateDialog)
    h.press(Key.Key_3)
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-02")
    h.wait_idle()
    with h.verify() as check:
        results = check.results(unsettled=True, include_delivered=True)
    assert [(r.id, r.label, r.severity) for r in results] == [
        ("d-01", Label.ESCALATED, Severity.MEDIUM)
    ]


def test_undo_with_nothing_to_undo_says_so(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(2))
    h.wait_for_draft("d-01")
    h.press(Key.Key_Z, CTRL)
    h.qtbot.waitUntil(lambda: "Nothing undone" in h.window.notice_bar.text.text())
    assert "ana has no decision to undo" in h.window.notice_bar.text.text()
    h.wait_for_draft("d-01")


def test_undo_refused_shows_as_a_refusal(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(2))
    h.wait_for_draft("d-01")
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.wait_idle()
    with h.verify() as consumer:
        consumer.ack(consumer.results(unsettled=True))
    h.press(Key.Key_Z, CTRL)
    bar = h.window.notice_bar
    h.qtbot.waitUntil(lambda: "Nothing undone" in bar.text.text())
    assert "already delivered" in bar.text.text()
    # A refusal, in the warning style that stays, not the fading success style.
    assert bar.level == "warning"
    h.wait_for_draft("d-02")


def test_an_unchanged_or_empty_edit_is_not_sent(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(2))
    h.wait_for_draft("d-01")
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    h.press(Key.Key_Return, CTRL)
    assert h.window.editor.caption.text().startswith("Nothing is changed yet.")
    h.window.editor.editor.clear()
    h.press(Key.Key_Return, CTRL)
    assert h.window.editor.caption.text().startswith("The edited draft is empty")
    assert h.controller.state is ReviewState.EDITING
    h.press(Key.Key_Escape)
    h.wait_for_draft("d-01")
    h.wait_idle()
    with h.verify() as check:
        assert check.attempts() == []


def test_side_tabs_follow_the_draft_when_they_are_shown(desk_harness: HarnessFactory) -> None:
    thread = {"thread": "cust-7"}
    h = desk_harness(drafts(3, **thread))
    h.wait_for_draft("d-01")
    side = h.window.side
    assert "Customer question 1" in h.window.context_view.toPlainText()
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.wait_idle()
    side.setCurrentWidget(h.window.history_view)
    h.qtbot.waitUntil(lambda: "approved by ana" in h.window.history_view.toPlainText())
    history = h.window.history_view.toPlainText()
    assert "Thread cust-7: 1 other draft" in history  # the earlier one
    assert "d-01 · approved by ana" in history  # decided after d-02 was claimed ahead
    side.setCurrentWidget(h.window.metadata)
    assert h.window.metadata.values["id"].text() == "d-02"
    side.setCurrentWidget(h.window.session_list)
    first = h.window.session_list.topLevelItem(0)
    assert first is not None and first.text(1) == "d-01"
    side.setCurrentWidget(h.window.context_view)
    assert "Customer question 2" in h.window.context_view.toPlainText()


def test_a_run_of_hasty_approvals_is_nudged_once(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    real_decide = h.desk.decide

    def nudged(*args: Any, **kwargs: Any) -> Any:
        return dataclasses.replace(real_decide(*args, **kwargs), nudge=True)

    monkeypatch.setattr(h.desk, "decide", nudged)  # the queue decides when; the desk says it
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.qtbot.waitUntil(
        lambda: "faster than the drafts can be read" in h.window.notice_bar.text.text()
    )


def test_reject_reasons_a_lead_changes_reach_an_open_desk(
    desk_harness: HarnessFactory, db_url: str
) -> None:
    h = desk_harness(drafts(4), url=db_url)
    h.wait_for_draft("d-01")
    assert h.controller.info.reject_reasons[:2] == ("factual_error", "hallucination")
    # A lead changes the list while the desk is open (drafts d-02 and d-03 may be claimed).
    with h.verify() as lead:
        lead.set_reject_reasons(["wrong_price", "made_up_policy"])
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.press(Key.Key_A)
    h.wait_for_draft("d-03")
    h.press(Key.Key_A)
    h.wait_for_draft("d-04")  # claimed after the change
    reject = open_dialog(h, Key.Key_R, RejectDialog)
    assert reject.reasons == ("wrong_price", "made_up_policy")
    h.press(Key.Key_2)
    h.press(Key.Key_Return, CTRL)
    h.wait_for_state(ReviewState.EMPTY)
    with h.verify() as check:
        (result,) = [r for r in check.results(unsettled=True) if r.id == "d-04"]
        assert result.reason == "made_up_policy"


def test_a_message_appearing_or_going_moves_nothing_on_the_desk(
    desk_harness: HarnessFactory,
) -> None:
    """A click aimed at a button lands on it whether a message has just appeared or gone."""
    h = desk_harness(drafts(3))
    h.wait_idle()
    window = h.window
    watched = [window.draft_view, window.header, *window.verb_buttons.values(), window.side]

    def places() -> list[tuple[int, int, int, int]]:
        QApplication.processEvents()
        return [
            (*w.mapTo(window, w.rect().topLeft()).toTuple(), w.width(), w.height()) for w in watched
        ]

    before = places()
    long_text = "The database could not be reached while your decision was written. " * 4
    for level, text in (("error", "Not recorded."), ("warning", long_text)):
        window.notice_bar.show_notice(level, text)
        assert window.notice_bar.isVisible()
        assert places() == before
        window.notice_bar.dismiss()
        assert places() == before
    # The long message is shown whole (it grows over the desk), not cut.
    window.notice_bar.show_notice("warning", long_text)
    QApplication.processEvents()
    bar = window.notice_bar
    assert bar.height() >= bar.heightForWidth(bar.width())
    assert bar.height() > window.notice_slot.height()


def _format_at(view: Any, text: str, needle: str) -> Any:
    from PySide6.QtGui import QTextCursor

    cursor = QTextCursor(view.document())
    cursor.setPosition(text.index(needle) + 1)  # the format of the character before
    return cursor.charFormat()


def test_the_edit_shows_a_one_word_change_as_that_word(desk_harness: HarnessFactory) -> None:
    """The changes under the editor are the text in one flow, the old word struck through and
    the new one marked, the rest plain: a one-word change is seen at once."""
    record = drafts(1)[0] | {"draft": "Your refund was issued on 3 May.\nThank you."}
    h = desk_harness([record])
    h.wait_for_draft("d-01")
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    editor = h.window.editor
    editor.editor.setPlainText("Your refund was issued on 5 May.\nThank you.")
    editor.update_diff()
    view = editor.diff
    shown = view.toPlainText()
    assert shown == "Your refund was issued on 35 May.\nThank you."  # one flowing text
    old, new, same = (_format_at(view, shown, s) for s in ("3", "5", "refund"))
    assert old.fontStrikeOut() and not old.fontUnderline()
    assert new.fontUnderline() and not new.fontStrikeOut()
    assert new.background().color() != old.background().color()
    assert not same.fontStrikeOut() and not same.fontUnderline()
    assert same.background().style() == Qt.BrushStyle.NoBrush
    # Hidden characters in an edit show as symbols there too.
    editor.editor.setPlainText("Your refund was issued on 5\u202e May.\nThank you.")
    editor.update_diff()
    assert "\u202e" not in view.toPlainText()
    # Nothing changed: no marks, the placeholder says so.
    editor.editor.setPlainText("Your refund was issued on 3 May.\nThank you.")
    editor.update_diff()
    assert view.toPlainText() == ""
    assert view.placeholderText() == "No changes yet."


def test_an_edit_left_with_esc_comes_back_with_e_on_the_same_draft(
    desk_harness: HarnessFactory,
) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    original = drafts(1)[0]["draft"]
    editor = h.window.editor
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    h.type_text(editor.editor, " Sorry for the wait.")
    h.press(Key.Key_Escape)  # no question, nothing lost
    h.wait_for_state(ReviewState.SHOWING)
    assert h.window.draft_stack.currentWidget() is h.window.draft_view
    assert h.window.notice_bar.isVisible()
    assert "Press E to take it up again" in h.window.notice_bar.text.text()

    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    assert editor.editor.toPlainText() == original + " Sorry for the wait."
    assert "Your edit from before is back" in editor.caption.text()
    assert not h.window.notice_bar.isVisible()  # what it said is done
    h.press(Key.Key_Z, CTRL)  # one step back: the draft as it was
    assert editor.editor.toPlainText() == original
    h.press(Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert editor.editor.toPlainText() == original + " Sorry for the wait."
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-02")

    # Another draft starts from its own text, not from an edit put aside elsewhere.
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    h.type_text(editor.editor, " Elsewhere.")
    h.press(Key.Key_Escape)
    h.wait_for_state(ReviewState.SHOWING)
    h.press(Key.Key_S)
    h.wait_for_draft("d-03")
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    assert editor.editor.toPlainText() == drafts(3)[2]["draft"]
    assert h.window.editor.caption.text().startswith("Correct the draft.")
    h.wait_idle()
    with h.verify() as check:
        finals = {r.id: r.final for r in check.results(unsettled=True, include_delivered=True)}
    assert finals == {"d-01": original + " Sorry for the wait."}


def test_page_down_scrolls_a_long_draft_wherever_the_focus_is(
    desk_harness: HarnessFactory,
) -> None:
    """After a click on a side tab the tab bar may hold the focus (it does on some platforms),
    and before any click nothing in the window may: Page Down still reads the draft on."""
    from PySide6.QtTest import QTest

    long_draft = "\n\n".join(f"Paragraph {n} of a long reply, read to the end." for n in range(80))
    h = desk_harness([drafts(1)[0] | {"draft": long_draft}])
    h.wait_for_draft("d-01")
    bar = h.window.side.tabBar()
    scroll = h.window.draft_view.verticalScrollBar()
    assert scroll.maximum() > 0
    for index in (1, 2, 0):
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
        assert h.window.side.currentIndex() == index
        bar.setFocus(Qt.FocusReason.MouseFocusReason)
        before = scroll.value()
        h.press(Key.Key_PageDown)
        assert scroll.value() > before
    h.window.draft_view.clearFocus()
    assert h.window.focusWidget() is None or h.window.focusWidget() is not h.window.draft_view
    before = scroll.value()
    QTest.keyClick(h.window, Key.Key_PageUp)
    assert scroll.value() < before
    # In the editor the keys are the editor's: the draft behind it does not move.
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    before = scroll.value()
    h.press(Key.Key_PageDown)
    assert scroll.value() == before

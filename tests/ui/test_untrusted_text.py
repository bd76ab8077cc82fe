"""Producer text is shown literally: never as HTML, never fetching anything, never hiding text."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from reviewdesk.ui.text import display_text, has_hidden_characters, unified_diff
from reviewdesk.ui.widgets.text_views import SectionsView
from tests.ui.conftest import HarnessFactory, drafts

HOSTILE = (
    "Hello <img src=http://tracker.invalid/pixel.png width=1> <b>bold</b> "
    "<script>alert('x')</script> <a href=\"http://phish.invalid\">click</a> &amp; done"
)


def _has_images(document: QTextDocument) -> bool:
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            if it.fragment().charFormat().isImageFormat():
                return True
            it += 1
        block = block.next()
    return False


def test_markup_in_a_draft_is_shown_literally(desk_harness: HarnessFactory) -> None:
    record = drafts(1)[0] | {
        "draft": HOSTILE,
        "input": "<i>where</i> is <u>my</u> order?",
        "category": "<b>billing</b>",
        "model": "<font color=red>m</font>",
        "context": {"<b>key</b>": "<img src=http://tracker.invalid/c.png>"},
        "metadata": {"note": "<h1>big</h1>"},
    }
    h = desk_harness([record])
    h.wait_for_draft("d-01")
    view = h.window.draft_view
    assert view.toPlainText() == HOSTILE
    assert not _has_images(view.document())
    assert "&lt;img src=http://tracker.invalid/pixel.png" in view.document().toHtml()
    context = h.window.context_view
    assert "<i>where</i> is <u>my</u> order?" in context.toPlainText()
    assert "<b>key</b>: <img src=http://tracker.invalid/c.png>" in context.toPlainText()
    assert not _has_images(context.document())
    assert h.window.header.category.text() == "<b>billing</b>"
    h.window.side.setCurrentWidget(h.window.metadata)  # side tabs are filled when shown
    assert h.window.metadata.values["model"].text() == "<font color=red>m</font>"
    assert "<h1>big</h1>" in h.window.metadata.extra.toPlainText()
    # Every label of the window shows plain text, whatever it holds.
    labels = h.window.findChildren(QLabel)
    rich = [
        label.objectName() or label.text()
        for label in labels
        if label.textFormat() != Qt.TextFormat.PlainText and label.text()
    ]
    assert rich == []
    # Approving sends exactly the stored text.
    h.press(Qt.Key.Key_A)
    h.wait_idle()
    with h.verify() as check:
        assert check.results(unsettled=True, include_delivered=True)[0].final == HOSTILE


def test_sections_never_load_resources(qtbot: object) -> None:
    view = SectionsView("test")
    try:
        assert view.loadResource(2, QUrl("http://tracker.invalid/pixel.png")) is None
    finally:
        view.deleteLater()


def test_right_to_left_control_characters_and_long_lines_survive(
    desk_harness: HarnessFactory,
) -> None:
    rtl = "مرحبا، طلبك في الطريق. شكرا لصبرك!"
    # A NUL is refused at intake (neither engine stores one); the other controls get through.
    controls = "Total:\x1b[31m 0\x01 EUR\x07 \u202eevil\u202c end\r\nnext line"
    long_line = "x" * 60_000
    records = [
        drafts(1)[0] | {"id": "rtl", "draft": rtl, "created_at": "2026-01-05T08:01:00+00:00"},
        drafts(1)[0] | {"id": "ctl", "draft": controls, "created_at": "2026-01-05T08:02:00+00:00"},
        drafts(1)[0]
        | {"id": "long", "draft": long_line, "created_at": "2026-01-05T08:03:00+00:00"},
    ]
    h = desk_harness(records)
    h.wait_for_draft("rtl")
    assert h.window.draft_view.toPlainText() == rtl
    assert not h.window.header.hidden.isVisibleTo(h.window)
    h.press(Qt.Key.Key_A)
    h.wait_for_draft("ctl")
    shown = h.window.draft_view.toPlainText()
    assert shown == "Total:␛[31m 0␁ EUR␇ ⟦RLO⟧evil⟦PDF⟧ end\nnext line"
    assert h.window.header.hidden.isVisibleTo(h.window)
    h.press(Qt.Key.Key_A)
    h.wait_for_draft("long")
    assert h.window.draft_view.toPlainText() == long_line
    assert h.window.draft_view.horizontalScrollBar().maximum() == 0  # wrapped, not scrolled
    h.press(Qt.Key.Key_A)
    h.wait_idle()
    with h.verify() as check:
        finals = {r.id: r.final for r in check.results(unsettled=True, include_delivered=True)}
    assert finals == {"rtl": rtl, "ctl": controls, "long": long_line}


def test_display_text_makes_hidden_characters_visible() -> None:
    assert display_text("a\tb\nc") == "a\tb\nc"
    assert display_text("a\r\nb") == "a\nb"
    assert display_text("\x00\x1b\x7f") == "␀␛␡"
    assert display_text("\u0085") == "⟦U+0085⟧"
    assert display_text("\u2066x\u2069") == "⟦LRI⟧x⟦PDI⟧"
    assert has_hidden_characters("x\u202e") and not has_hidden_characters("plain\r\ntext")


def test_the_edit_diff_is_a_line_diff() -> None:
    diff = unified_diff("one\ntwo\nthree", "one\n2\nthree")
    assert diff.splitlines()[2:] == ["@@ -1,3 +1,3 @@", " one", "-two", "+2", " three"]
    assert unified_diff("same", "same") == ""

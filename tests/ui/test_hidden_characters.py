"""The desk and the lead's inbox show characters that can hide text, and the desk's warning
chip counts them. (Each class of characters: tests/test_hidden_text.py.)"""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from tests.conftest import DeskFactory
from tests.ui.conftest import HarnessFactory, drafts
from tests.ui.lead_helpers import NO_LIMITS, lead_env, open_view

SMUGGLED = "".join(chr(0xE0000 + ord(c)) for c in "ok")
# One of each kind: a bidi mark, an override and its pop, an isolate pair, zero-width
# characters, a word joiner, a BOM, a soft hyphen and two tag characters.
HIDING = (
    f"Refund\u200b of 20\u00ad EUR\u2060 issued.\u200e \u202eevil\u202c "
    f"\u2066x\u2069 \ufeffa\u200cb\u200dc{SMUGGLED}"
)
SHOWN = (
    "Refund⟦ZWSP⟧ of 20⟦SHY⟧ EUR⟦WJ⟧ issued.⟦LRM⟧ ⟦RLO⟧evil⟦PDF⟧ "
    "⟦LRI⟧x⟦PDI⟧ ⟦BOM⟧a⟦ZWNJ⟧b⟦ZWJ⟧c⟦TAG o⟧⟦TAG k⟧"
)


def test_the_desk_shows_and_counts_characters_that_hide_text(
    desk_harness: HarnessFactory,
) -> None:
    first, second = drafts(2)
    records = [
        first | {"id": "hiding", "draft": HIDING, "created_at": "2026-01-05T08:01:00+00:00"},
        second | {"id": "plain", "draft": "Plain.", "created_at": "2026-01-05T08:02:00+00:00"},
    ]
    h = desk_harness(records)
    h.wait_for_draft("hiding")
    assert h.window.draft_view.toPlainText() == SHOWN
    chip = h.window.header.hidden
    assert chip.isVisibleTo(h.window)
    assert chip.text() == "13 hidden characters shown"
    assert "⟦ZWSP⟧ ×1" in chip.toolTip() and "⟦TAG o⟧ ×1" in chip.toolTip()
    h.press(Qt.Key.Key_A)
    h.wait_for_draft("plain")
    assert not chip.isVisibleTo(h.window)
    h.press(Qt.Key.Key_A)
    h.wait_idle()
    with h.verify() as check:
        finals = {r.id: r.final for r in check.results(unsettled=True, include_delivered=True)}
    assert finals["hiding"] == HIDING  # shown revealed, sent as it is


def test_the_lead_inbox_shows_an_escalated_draft_revealed(
    qtbot: QtBot, make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk: ReviewDesk = make_desk(clock=clock)
    desk.set_session_limits(NO_LIMITS)
    desk.submit([{"id": "hiding", "draft": HIDING, "category": "refund"}])
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "escalate", severity="low", note="Odd\u200b text.")
    with lead_env(qtbot, desk) as env:
        open_view(env)
        inbox = env.view.inbox
        with qtbot.waitSignal(inbox.loaded, timeout=20_000):
            env.view.tabs.setCurrentWidget(inbox)
        qtbot.waitUntil(lambda: inbox.panel.escalation is not None)
        assert inbox.panel.draft.toPlainText() == SHOWN
        assert inbox.panel.reviewer_note.text() == "Odd⟦ZWSP⟧ text."

"""The lead view fits a 1280x800 screen with the window's frame, and below that width it wraps
and shortens (the filters onto a second line, long captions onto two) rather than widen the
window or cut anything off."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.ui.lead.jobs import LeadQuery
from reviewdesk.ui.lead.view import LeadView
from tests.conftest import DeskFactory
from tests.ui.lead_helpers import NO_LIMITS, lead_env, open_view, seed

# A 1280x800 screen less a window frame of up to 8 px a side and a title bar and panel.
SCREEN_WIDTH = 1280 - 2 * 8
NARROW = 800  # below the desk's own least width: the lead view must still fit


@pytest.fixture
def seeded(make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    desk = make_desk(clock=clock)
    seed(desk, clock)
    # A category and a model version with long names, as producers send them.
    desk.set_session_limits(NO_LIMITS)
    desk.submit(
        [{"id": "long-1", "draft": "Hello.", "category": "cancellation_fee_and_refund_requests",
          "model": "support-drafter-2026.11-long-context-preview"}]
    )  # fmt: skip
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "approve", review_seconds=12)
    return desk


def _controls(view: LeadView) -> list[QWidget]:
    bar = view.filters
    return [bar.period, bar.since, bar.until, bar.category, bar.model, bar.low_attention,
            bar.refresh, bar.status]  # fmt: skip


def _shown_whole(view: LeadView) -> None:
    """Every filter inside the view, none on another, none squeezed under its least width;
    every wrapped label as tall as its text."""
    inside = view.rect()
    boxes: list[QRect] = []
    for control in _controls(view):
        assert control.isVisible(), control.objectName()
        box = QRect(control.mapTo(view, control.rect().topLeft()), control.size())
        assert inside.contains(box), (control.objectName(), box, inside)
        assert (
            control.width() >= control.minimumSizeHint().width() or control is view.filters.status
        )
        boxes.append(box)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.intersects(b), (a, b)
    for label in view.findChildren(QLabel):
        if label.isVisible() and label.wordWrap() and label.text():
            assert label.height() >= label.heightForWidth(label.width()), label.text()


def test_the_lead_view_fits_a_laptop_screen_and_wraps_below(
    qtbot: QtBot, seeded: ReviewDesk
) -> None:
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        env.compute(LeadQuery(days=None))
        view = env.view
        # The long names are among the choices.
        assert view.filters.category.findData("cancellation_fee_and_refund_requests") >= 0
        # Far narrower than a 1280-pixel screen: the window is free to be.
        assert view.minimumSizeHint().width() <= NARROW
        for page in range(view.tabs.count()):
            view.tabs.setCurrentIndex(page)
            assert view.minimumSizeHint().width() <= NARROW, view.tabs.tabText(page)
        view.tabs.setCurrentIndex(0)
        # At a laptop's width, the filters take one line.
        view.resize(SCREEN_WIDTH, 700)
        QApplication.processEvents()
        _shown_whole(view)
        one_line = view.filters.height()
        assert one_line < 2 * view.filters.period.height()
        # Busy, the bar shows in room kept for it: the filters do not jump onto two lines.
        with env.worker_held():
            view.refresh()
            QApplication.processEvents()
            assert view.filters.busy_bar.isVisible()
            assert view.filters.height() == one_line
            _shown_whole(view)
        qtbot.waitUntil(lambda: not view.busy, timeout=20_000)
        # Narrow: they wrap onto another line, whole.
        view.resize(NARROW, 700)
        QApplication.processEvents()
        _shown_whole(view)
        assert view.filters.height() > one_line
        assert view.width() == NARROW

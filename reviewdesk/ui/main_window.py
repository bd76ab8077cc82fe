"""The reviewer's desk: the draft, large, with its context beside it and one key per decision.

The window is a view of a ``ReviewController``: it shows what the controller emits and calls its
methods when keys are pressed. It never calls the database; it holds no desk.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QHideEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QSystemTrayIcon,
    QTabBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.core.domain import History, QueueCounts, Verdict
from reviewdesk.storage.change_feed import Change
from reviewdesk.ui import style
from reviewdesk.ui.alerts import DESKTOP_SEVERITIES, concerns_reviewers
from reviewdesk.ui.dialogs.cheat_sheet import CheatSheet
from reviewdesk.ui.dialogs.decision import DecisionDialog, EscalateDialog, RejectDialog
from reviewdesk.ui.dialogs.settings_dialog import SettingsDialog, SettingsResult
from reviewdesk.ui.operations import DecisionRequest, Prepared
from reviewdesk.ui.review_controller import (
    BreakInfo,
    Notice,
    ReviewController,
    ReviewState,
    SessionEntry,
    SessionProgress,
)
from reviewdesk.ui.settings import UiSettings
from reviewdesk.ui.shortcuts import HeldKeyGuard, ShortcutSet, keymap_overrides
from reviewdesk.ui.widgets.details import (
    ContextView,
    DraftHeader,
    ElidedLabel,
    HistoryView,
    MetadataForm,
    plain_label,
)
from reviewdesk.ui.widgets.editor import EditPanel
from reviewdesk.ui.widgets.notice_bar import NoticeBar, NoticeSlot
from reviewdesk.ui.widgets.question import open_question
from reviewdesk.ui.widgets.session_list import SessionList
from reviewdesk.ui.widgets.status_page import StatusPage, day_start_text
from reviewdesk.ui.widgets.text_views import DraftView
from reviewdesk.ui.widgets.verb_button import VerbButton
from reviewdesk.ui.worker import Executor

if TYPE_CHECKING:
    from reviewdesk.services.alerts import Alert
    from reviewdesk.ui.alerts import AlertMonitor
    from reviewdesk.ui.lead.view import LeadView

log = logging.getLogger(__name__)

DECISION_IDS = ("approve", "edit", "reject", "escalate", "skip")
SAVING_HINT_DELAY_MS = 200
_PUT_ASIDE_TOPIC = "edit put aside"
_REVIEW_PAGE, _STATUS_PAGE = 0, 1
# Input that shows the reviewer is at the desk (the review clock counts through it).
_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)
_BREAK_REASONS = {
    "on_break": "Sessions are kept short so that every draft gets a fresh pair of eyes.",
    "daily_sessions": "You have done today's review sessions.",
    "daily_reviews": "You have done today's reviews.",
    "ended": "You ended the session. Your drafts went back to the queue for others.",
}


class ActivityWatch(QObject):
    """Tells the controller about key and mouse input anywhere in the app, for the review clock.

    An application-wide filter sees every event the app handles, paints and timers included
    (about 400 per decision), each one a call into Python that needs the GIL. So after each
    input the watch steps aside for ``rest_ms``: the review clock caps idle stretches of a
    minute, and a second's resolution is all it needs.
    """

    def __init__(self, parent: QObject | None = None, *, rest_ms: int = 1000) -> None:
        super().__init__(parent)
        self.controller: ReviewController | None = None
        self._installed = False
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(rest_ms)
        self._rest.timeout.connect(self._install)

    @property
    def installed(self) -> bool:
        return self._installed

    def start(self, controller: ReviewController) -> None:
        self.controller = controller
        self._install()

    def stop(self) -> None:
        self.controller = None
        self._rest.stop()
        self._remove()

    def _install(self) -> None:
        app = QCoreApplication.instance()
        if app is not None and self.controller is not None and not self._installed:
            app.installEventFilter(self)
            self._installed = True

    def _remove(self) -> None:
        app = QCoreApplication.instance()
        if app is not None and self._installed:
            app.removeEventFilter(self)  # safe from within eventFilter, as Qt documents
            self._installed = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in _INPUT_EVENTS and self.controller is not None:
            self.controller.activity()
            self._remove()
            self._rest.start()
        return False


class MainWindow(QMainWindow):
    """The desk. ``attach`` a controller to review; ``show_connecting``/``show_error`` before."""

    retry_requested = Signal()
    settings_accepted = Signal(object)  # SettingsResult
    side_refreshed = Signal()  # the side tab in view shows the draft on screen

    def __init__(
        self,
        *,
        settings: UiSettings,
        executor: Executor,
        reviewer: str,
        default_reviewer: str,
        embedded_path: str,
        remember_layout: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reviewDesk")
        self.setWindowTitle("ReviewDesk")
        self.setWindowIcon(style.icon("reviewdesk"))
        self._settings = settings
        self._executor = executor
        self._reviewer = reviewer
        self._login: str | None = None
        self._default_reviewer = default_reviewer
        # Whether an OS keyring can hold passwords (None: not known yet); set by the app.
        self.keyring_available: Callable[[], bool | None] = lambda: None
        self._embedded_path = embedded_path
        self._remember_layout = remember_layout
        self.controller: ReviewController | None = None
        self.active_dialog: DecisionDialog | None = None
        self.cheat_sheet: CheatSheet | None = None
        self._editing_draft_id = ""  # the draft the inline editor was opened on
        # (lease id, text) of the last edit left with Esc: E on that draft brings it back.
        self._put_aside_edit: tuple[str, str] | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._connections: list[tuple[SignalInstance, Callable[..., None]]] = []

        self.guard = HeldKeyGuard(self)
        self.shortcuts = ShortcutSet(settings.keymap(), self.guard, self)
        self.shortcuts.install(self)
        self.shortcuts.connect_handlers(self)

        self._build_scroll_keys()
        self._activity = ActivityWatch(self)
        self.end_session_box: QMessageBox | None = None
        self._build()
        self._build_menus()
        self._build_status_bar()
        self._build_lead_mode()
        self._saving_timer = QTimer(self)
        self._saving_timer.setSingleShot(True)
        self._saving_timer.setInterval(SAVING_HINT_DELAY_MS)
        self._saving_timer.timeout.connect(self._show_saving)
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self._restyle)
        style.apply(self)
        self._restore_layout()
        self._apply_state(ReviewState.CONNECTING)

    # -- building -----------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        spacing = self.fontMetrics().height() // 2
        outer.setContentsMargins(spacing, spacing, spacing, 0)
        # The desk and, for a lead, the lead view share the window: one mode each (issue 5).
        self.mode_bar = QTabBar(central)
        self.mode_bar.setObjectName("modeBar")
        self.mode_bar.setDocumentMode(True)
        self.mode_bar.setDrawBase(False)
        self.mode_bar.setExpanding(False)
        self.mode_bar.addTab("Review desk")
        self.mode_bar.addTab("Lead view")
        self.notice_bar = NoticeBar(central)
        self.notice_slot = NoticeSlot(self.notice_bar, central)
        outer.addWidget(self.notice_slot)
        self.modes = QStackedWidget(central)
        outer.addWidget(self.modes, 1)
        self.pages = QStackedWidget(self.modes)
        self.modes.addWidget(self.pages)
        # Built when first shown (lead_view): QtCharts and the lead's models are no part of a
        # reviewer's start-up.
        self._lead_view: LeadView | None = None
        self._alert_monitor: AlertMonitor | None = None
        self._tray: QSystemTrayIcon | None = None
        self.desktop_notices: list[tuple[str, str]] = []  # (title, message), as sent
        self.setCentralWidget(central)

        # The draft, with its header and the decision buttons.
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self.pages)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        left = QWidget(self.splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.header = DraftHeader(left)
        left_layout.addWidget(self.header)
        card = QFrame(left)
        card.setObjectName("draftCard")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(1, 1, 1, 1)
        self.draft_stack = QStackedWidget(card)
        self.draft_view = DraftView(self.draft_stack)
        self.editor = EditPanel(self.draft_stack)
        self.draft_stack.addWidget(self.draft_view)
        self.draft_stack.addWidget(self.editor)
        card_layout.addWidget(self.draft_stack)
        left_layout.addWidget(card, 1)
        self.editor.submitted.connect(self._submit_edit)
        self.editor.cancelled.connect(self._cancel_edit)

        verbs = QHBoxLayout()
        self.verb_buttons: dict[str, VerbButton] = {}
        for action_id in (*DECISION_IDS, "undo"):
            if action_id == "undo":
                verbs.addStretch(1)
            button = VerbButton(self.shortcuts.actions[action_id], left)
            if action_id == "approve":
                button.setProperty("role", "primary")
            self.verb_buttons[action_id] = button
            verbs.addWidget(button)
        left_layout.addLayout(verbs)
        self.splitter.addWidget(left)

        # Beside it: input and context, details, history, this session.
        self.side = QTabWidget(self.splitter)
        self.side.setObjectName("sideTabs")
        self.side.setDocumentMode(True)
        self.context_view = ContextView(self.side)
        self.metadata = MetadataForm(self.side)
        self.history_view = HistoryView(self.side)
        self.session_list = SessionList(self.side)
        self.side.addTab(self.context_view, "Input && context")
        self.side.addTab(self.metadata, "Details")
        self.side.addTab(self.history_view, "History")
        self.side.addTab(self.session_list, "This session")
        self.side.setTabToolTip(3, "Your recent decisions in this session")
        self.splitter.addWidget(self.side)
        self._side_source: Prepared | None = None
        self._side_fresh: set[int] = set()  # side tabs showing the draft on screen
        self.side.currentChanged.connect(self._refresh_side)
        self._side_timer = QTimer(self)
        self._side_timer.setSingleShot(True)
        self._side_timer.setInterval(0)
        self._side_timer.timeout.connect(lambda: self._refresh_side(self.side.currentIndex()))
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.pages.addWidget(self.splitter)

        self.status_page = StatusPage(self.pages)
        self.status_page.primary.clicked.connect(self._status_primary)
        self.status_page.secondary.clicked.connect(self.open_settings)
        self.pages.addWidget(self.status_page)

    def _build_scroll_keys(self) -> None:
        """Page Up and Page Down read the draft wherever the focus is in the window (after a
        click on a tab or a button, or before any click): the keys of the desk belong to the
        draft. A side view the reviewer clicked into is scrolled instead. Fixed keys, like the
        editor's; off while the editor or another page is shown."""
        self.scroll_actions: dict[str, QAction] = {}
        for name, key, step in (
            ("scroll_down", QKeySequence.StandardKey.MoveToNextPage, 1),
            ("scroll_up", QKeySequence.StandardKey.MoveToPreviousPage, -1),
        ):
            action = QAction(name.replace("_", " ").capitalize(), self)
            action.setObjectName(f"action_{name}")
            action.setShortcuts(key)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False, step=step: self._scroll_page(step))
            self.addAction(action)
            self.scroll_actions[name] = action

    def _scroll_page(self, step: int) -> None:
        focus: QWidget | None = self.focusWidget()
        view: QAbstractScrollArea = self.draft_view
        while focus is not None and focus is not self.side:
            if isinstance(focus, QAbstractScrollArea) and self.side.isAncestorOf(focus):
                view = focus
                break
            focus = focus.parentWidget()
        bar = view.verticalScrollBar()
        bar.triggerAction(
            QAbstractSlider.SliderAction.SliderPageStepAdd
            if step > 0
            else QAbstractSlider.SliderAction.SliderPageStepSub
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        desk = QMenu("&Desk", bar)
        desk.addAction(self.shortcuts.actions["settings"])
        desk.addAction(self.shortcuts.actions["export"])
        desk.addSeparator()
        desk.addAction("&Quit", QGuiApplication.quit)
        review = QMenu("&Review", bar)
        for action_id in (*DECISION_IDS, "undo", "refresh"):
            review.addAction(self.shortcuts.actions[action_id])
        review.addSeparator()
        review.addAction(self.shortcuts.actions["end_session"])
        help_menu = QMenu("&Help", bar)
        help_menu.addAction(self.shortcuts.actions["cheat_sheet"])
        for menu in (desk, review, help_menu):
            bar.addMenu(menu)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.database_label = ElidedLabel(name="muted")  # a long URL gives way, not the rest
        self.database_label.setAccessibleName("Database")
        self.connection_label = plain_label(name="statusDot")
        self.connection_label.setAccessibleName("Connection")
        self.saving = plain_label(name="muted")
        self.queue_label = plain_label()
        self.queue_label.setAccessibleName("Queue depth")
        self.session_label = plain_label()
        self.session_label.setAccessibleName("Session progress")
        self.reviewer_label = plain_label(name="muted")
        self.reviewer_label.setAccessibleName("Reviewer")
        bar.addWidget(self.connection_label)
        bar.addWidget(self.database_label, 1)
        bar.addPermanentWidget(self.saving)
        bar.addPermanentWidget(self.queue_label)
        bar.addPermanentWidget(self.session_label)
        bar.addPermanentWidget(self.reviewer_label)
        self._waiting = False
        self._set_online(None)
        self.reviewer_label.setText(f"Reviewer: {self._reviewer}")

    def _restyle(self) -> None:
        style.apply(self)

    # -- layout memory ------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self._settings.layout_state("geometry") if self._remember_layout else None
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            self.resize(min(1280, int(screen.width() * 0.9)), min(820, int(screen.height() * 0.9)))
        for name, splitter in self._splitters().items():
            state = self._settings.layout_state(name) if self._remember_layout else None
            if state is None or not splitter.restoreState(state):
                width = self.width()
                if splitter is self.splitter:
                    splitter.setSizes([int(width * 0.6), int(width * 0.4)])
        if self._remember_layout:
            self.side.setCurrentIndex(self._settings.side_tab)

    def _splitters(self) -> dict[str, QSplitter]:
        edit = self.editor.findChild(QSplitter, "editSplitter")
        assert edit is not None
        return {"mainSplitter": self.splitter, "editSplitter": edit}

    def save_layout(self) -> None:
        if not self._remember_layout:
            return
        self._settings.set_layout_state("geometry", self.saveGeometry())
        for name, splitter in self._splitters().items():
            self._settings.set_layout_state(name, splitter.saveState())
        self._settings.side_tab = self.side.currentIndex()
        self._settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_layout()
        if self._lead_view is not None:
            self._lead_view.stop()
        for dialog in (
            self.active_dialog,
            self.cheat_sheet,
            self.settings_dialog,
            self.end_session_box,
        ):
            if dialog is not None:
                dialog.close()
        super().closeEvent(event)

    # -- the controller -----------------------------------------------------------------------
    def attach(self, controller: ReviewController) -> None:
        """Show ``controller``'s review; the previous one (if any) is detached first."""
        self.detach()
        self.controller = controller
        self.set_reviewer(controller.reviewer)
        self.database_label.setText(controller.info.display)
        self.database_label.setToolTip(controller.info.display)
        self._link(controller.state_changed, self._apply_state)
        self._link(controller.draft_shown, self._show_prepared)
        self._link(controller.history_loaded, self._show_history)
        self._link(controller.counts_changed, self._show_counts)
        self._link(controller.session_changed, self._show_session)
        self._link(controller.notice, self._show_notice)
        self._link(controller.connection_changed, self._set_online)
        self._link(controller.decision_returned, self._decision_returned)
        self._link(controller.edit_not_recorded, self.keep_unrecorded_edit)
        self._link(controller.break_changed, self._show_break)
        self._link(controller.progress_changed, self._show_progress)
        self._link(controller.notice_resolved, self.notice_bar.resolve)
        self._link(controller.waiting_changed, self._show_waiting)
        app = QCoreApplication.instance()
        if isinstance(app, QGuiApplication):
            self._link(app.applicationStateChanged, self._visibility_changed)
            self._activity.start(controller)
        if self._lead_view is not None:
            self._lead_view.set_session(controller.session)
        self._visibility_changed()
        self._set_online(True)
        self._show_session(controller.entries)
        self._show_progress(controller.progress)
        self._apply_state(controller.state)

    def set_reviewer(self, reviewer: str) -> None:
        self._reviewer = reviewer
        self.reviewer_label.setText(f"Reviewer: {reviewer}")
        if self._lead_view is not None:
            self._lead_view.set_lead(reviewer)

    def _link(self, signal: SignalInstance, slot: Callable[..., None]) -> None:
        signal.connect(slot)
        self._connections.append((signal, slot))

    def attach_alerts(self, monitor: AlertMonitor) -> None:
        """Show ``monitor``'s alerts: in the lead view, to reviewers when they concern them,
        and on the desktop for critical and high ones while the window is in the background."""
        self._alert_monitor = monitor
        self._link(monitor.alerts_changed, self._show_alerts)
        self._link(monitor.raised, self._alert_raised)

    def _show_alerts(self, alerts: list[Alert]) -> None:
        if self._lead_view is not None:
            self._lead_view.set_alerts(alerts)

    def _acknowledge_alert(self, alert_id: int) -> None:
        if self._alert_monitor is not None:
            self._alert_monitor.acknowledge(alert_id, self._reviewer)

    def _alert_raised(self, alert: Alert) -> None:
        # A lead reviews too (on the embedded database the one person is both): below high,
        # a lead is told on the desk of what concerns reviewers, like any reviewer.
        if self.lead_role and alert.severity in DESKTOP_SEVERITIES:
            if self.isActiveWindow():
                self.notice_bar.show_notice("warning", f"Alert: {alert.message}")
            else:
                self.notify_desktop(f"ReviewDesk: {alert.severity.value} alert", alert.message)
        elif concerns_reviewers(alert):
            self.notice_bar.show_notice("info", f"For the team: {alert.message}")

    def notify_desktop(self, title: str, message: str) -> None:
        """A desktop notification (system tray); where there is no tray, the window asks for
        attention (its taskbar entry flashes) instead."""
        self.desktop_notices.append((title, message))
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(self.windowIcon(), self)
                self._tray.setToolTip("ReviewDesk")
                self._tray.messageClicked.connect(self._from_tray)
                self._tray.show()
            self._tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Warning, 15_000)
        else:
            QApplication.alert(self)

    def _from_tray(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if self.lead_role:
            self.show_lead()
            self.lead_view.tabs.setCurrentWidget(self.lead_view.alerts)

    def detach(self) -> None:
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections.clear()
        self._alert_monitor = None
        self._activity.stop()
        self._waiting = False
        self.controller = None
        self.set_lead_role(False)  # until the next database says who this is (set_identity)
        # Before the session closes on the worker: the lead view submits nothing more to it.
        if self._lead_view is not None:
            self._lead_view.set_session(None)
        self._close_decision_dialog()
        self._close_end_session_box()

    def show_connecting(self, display: str) -> None:
        self.detach()
        self.database_label.setText(display)
        self._set_online(None)
        self._apply_state(ReviewState.CONNECTING)
        self.status_page.show_status(
            icon=style.icon("connecting"),
            title="Opening the queue…",
            text=f"Connecting to {display}.",
        )

    def show_error(self, title: str, text: str) -> None:
        """A start-up problem (no controller): say it, offer to retry or change settings."""
        self.detach()
        self._set_online(False)
        self._apply_state(ReviewState.ERROR)
        self.status_page.show_status(
            icon=style.icon("database-error"),
            title=title,
            text=text,
            primary="Retry",
            secondary="Settings…",
        )

    # -- what the controller says -------------------------------------------------------------
    def _apply_state(self, state: ReviewState) -> None:
        review_states = (
            ReviewState.LOADING,
            ReviewState.SHOWING,
            ReviewState.EDITING,
            ReviewState.WRITING,
        )
        self._state = state
        # The desk's keys act on the draft on screen: none of them while the lead view is.
        desk = self.desk_in_view
        self.shortcuts.set_enabled(
            DECISION_IDS, desk and state in (ReviewState.SHOWING, ReviewState.WRITING)
        )
        self.shortcuts.set_enabled(
            ["undo"],
            desk
            and state
            in (ReviewState.SHOWING, ReviewState.WRITING, ReviewState.EMPTY, ReviewState.ERROR),
        )
        self.shortcuts.set_enabled(
            ["refresh"], desk and state in (ReviewState.EMPTY, ReviewState.ERROR)
        )
        for action in self.scroll_actions.values():
            action.setEnabled(desk and state in (ReviewState.SHOWING, ReviewState.WRITING))
        self.shortcuts.set_enabled(
            ["end_session"],
            desk and self.controller is not None and self.controller.can_end_session(),
        )
        if state is ReviewState.BREAK:
            self._close_end_session_box()
        if state is ReviewState.WRITING:
            self._saving_timer.start()
        else:
            self._saving_timer.stop()
        self._show_saving()
        if state is not ReviewState.EDITING and self.draft_stack.currentWidget() is self.editor:
            self._keep_edit_of_a_lost_draft(state)
            self.editor.stop()
            self.draft_stack.setCurrentWidget(self.draft_view)
            self.draft_view.setFocus()
        if state not in (ReviewState.SHOWING, ReviewState.WRITING):
            self._close_decision_dialog()
        if state in review_states:
            self.pages.setCurrentIndex(_REVIEW_PAGE)
        else:
            self.pages.setCurrentIndex(_STATUS_PAGE)
        if state is ReviewState.EMPTY:
            self._show_empty()
        elif state is ReviewState.BREAK and self.controller is not None:
            self._show_break(self.controller.on_break)
        elif state is ReviewState.ERROR and self.controller is not None:
            self.status_page.show_status(
                icon=style.icon("database-error"),
                title="The database cannot be reached",
                text="The desk keeps trying every few seconds. Nothing you decided is lost: "
                "every decision shown as recorded is in the database.",
                primary="Retry now",
                secondary="Settings…",
            )

    def _show_empty(self) -> None:
        controller = self.controller
        if controller is not None and controller.refusal:
            self.status_page.show_status(
                icon=style.icon("queue-empty"),
                title="No draft for you right now",
                text=f"{controller.refusal} The desk looks again on its own.",
                primary=f"Try again ({self.shortcuts.key_text('refresh')})",
            )
            return
        skipped = controller.skipped_count if controller else 0
        text = "No draft is waiting for review. New drafts appear here on their own."
        if skipped:
            text += (
                f" You skipped {skipped} draft{'s' if skipped != 1 else ''} in this session: "
                f"press {self.shortcuts.key_text('refresh')} to see them again."
            )
        self.status_page.show_status(
            icon=style.icon("queue-empty"),
            title="All caught up",
            text=text,
            primary=f"Refresh ({self.shortcuts.key_text('refresh')})",
        )

    def _show_break(self, info: BreakInfo | None) -> None:
        """The break screen: why, a countdown to its end, and the session just done."""
        controller = self.controller
        if info is None or controller is None or controller.state is not ReviewState.BREAK:
            return
        now = controller.now()
        if info.reason == "ended" and info.until is None:
            title, primary = "Session ended", "Start the next session"
        elif info.reason == "ended":
            title, primary = "Session ended: time for a break", ""
        elif info.daily:
            title, primary = "That's it for today", ""
        else:
            title, primary = "Time for a break", ""
        text = _BREAK_REASONS.get(info.reason, info.message)
        if info.until is not None:
            if info.daily:
                text += " " + day_start_text(info.until, now)
            else:
                text += (
                    f" Stretch, look away from the screen: new drafts come back on their own at "
                    f"{info.until.astimezone():%H:%M}."
                )
        self.status_page.show_break(
            title=title,
            text=text,
            until=info.until,
            daily=info.daily,
            now=controller.now,
            summary=info.summary,
            primary=primary,
        )

    def _status_primary(self) -> None:
        if self.controller is None:
            self.retry_requested.emit()
        elif self.controller.state is ReviewState.BREAK:
            self.controller.resume()
        else:
            self.controller.refresh()

    def _show_prepared(self, prepared: Prepared | None) -> None:
        """The draft first; beside it only the tab in view (the others when they are chosen),
        so that the next draft reaches the screen within a frame."""
        self._side_source = prepared
        self._side_fresh.clear()
        if prepared is None:
            self.header.show_draft(None)
            self.draft_view.clear_text("Loading the next draft…")
            self._close_decision_dialog()
        else:
            draft = prepared.lease.draft
            self.header.show_draft(draft, now=datetime.now(draft.created_at.tzinfo))
            self.draft_view.show_text(draft.draft)
            dialog = self.active_dialog
            if dialog is not None and dialog.lease_id != prepared.lease.lease_id:
                self._close_decision_dialog()
        # The side tab fills in on the next turn of the event loop, right after the draft is
        # painted: the draft reaches the screen first (within a frame), its context ~5 ms later.
        self._side_timer.start()

    def _refresh_side(self, index: int) -> None:
        """Bring side tab ``index`` up to date with the draft on screen, if it is not."""
        if index in self._side_fresh or index < 0:
            return
        self._side_fresh.add(index)
        prepared = self._side_source
        widget = self.side.widget(index)
        if widget is self.context_view:
            self.context_view.show_draft(prepared.lease.draft if prepared else None)
        elif widget is self.metadata:
            self.metadata.show_lease(prepared.lease if prepared else None)
        elif widget is self.history_view:
            history = prepared.history if prepared else None
            self.history_view.show_history(history, loading=prepared is None)
        elif widget is self.session_list:
            self.session_list.show_entries(self.controller.entries if self.controller else ())
        if index == self.side.currentIndex():
            self.side_refreshed.emit()

    def _show_history(self, history: History) -> None:
        if self._side_source is not None:
            self._side_source = dataclasses.replace(self._side_source, history=history)
        self._side_fresh.discard(self.side.indexOf(self.history_view))
        self._refresh_side(self.side.currentIndex())

    def database_changed(self, change: Change) -> None:
        """The database changed: the lead view reads what it shows again, if it is open."""
        if self._lead_view is not None:
            self._lead_view.database_changed(change)

    def _show_counts(self, counts: QueueCounts) -> None:
        self.queue_label.setText(f"{counts.pending} waiting · {counts.leased} in review")

    def _show_session(self, entries: tuple[SessionEntry, ...]) -> None:
        self._side_fresh.discard(self.side.indexOf(self.session_list))
        self._refresh_side(self.side.currentIndex())

    def _show_progress(self, progress: SessionProgress | None) -> None:
        """The session's reviews of its cap and the time left, as the queue counts them (the
        same figures the limit warnings say), shown from the start of the session."""
        self.session_label.setText(progress.text if progress is not None else "Session: …")

    def _show_notice(self, notice: Notice) -> None:
        self.notice_bar.show_notice(notice.level, notice.text, notice.topic)

    def _set_online(self, online: bool | None) -> None:
        """The dot: the outcome of the last call to the database (None: none made yet)."""
        self._online = online
        self._show_connection()

    def _show_waiting(self, waiting: bool) -> None:
        self._waiting = waiting
        self._show_connection()
        self._show_saving()

    def _show_connection(self) -> None:
        # A database that has not answered for seconds is neither connected nor offline yet:
        # the dot says that it is being waited for, until it answers (or fails).
        if self._waiting:
            text, online = "◐ Waiting for the database", "waiting"
        else:
            text = {None: "○ Connecting", True: "● Connected", False: "● Offline"}[self._online]
            online = "" if self._online is None else str(self._online).lower()
        self.connection_label.setText(text)
        self.connection_label.setProperty("online", online)
        self.connection_label.style().unpolish(self.connection_label)
        self.connection_label.style().polish(self.connection_label)

    def _show_saving(self) -> None:
        if self._state is not ReviewState.WRITING:
            self.saving.setText("")
        elif self._waiting:
            self.saving.setText("Saving… (slow)")
        else:  # said only once a write takes long enough to be noticed
            self.saving.setText("" if self._saving_timer.isActive() else "Saving…")

    # -- handlers of the actions (names from shortcuts.ACTIONS) -------------------------------
    def approve(self) -> None:
        if self.controller is not None:
            self.controller.approve()

    def begin_edit(self, text: str | None = None) -> None:
        """Open the inline editor on the draft (or on ``text``, an edit being taken up again).
        An edit put aside with Esc on this draft comes back, one Ctrl+Z away from the draft."""
        controller = self.controller
        if controller is None or controller.current is None or not controller.begin_edit():
            return
        lease = controller.current.lease
        self._editing_draft_id = lease.draft.id
        self.draft_stack.setCurrentWidget(self.editor)
        put_aside = self._put_aside_edit
        self._put_aside_edit = None
        if text is None and put_aside is not None and put_aside[0] == lease.lease_id:
            self.notice_bar.resolve(_PUT_ASIDE_TOPIC)
            self.editor.start(lease.lease_id, lease.draft.draft, put_aside[1], restored=True)
        else:
            self.editor.start(lease.lease_id, lease.draft.draft, text)

    def _keep_edit_of_a_lost_draft(self, state: ReviewState) -> None:
        """The editor closes without a submit or Esc when its draft was taken away (the lease
        was lost while editing): what was typed goes to the clipboard, and the reviewer is told."""
        controller = self.controller
        current = controller.current if controller is not None else None
        if state is ReviewState.WRITING or (
            current is not None and current.lease.lease_id == self.editor.lease_id
        ):
            return  # submitted, or closed by the reviewer on the same draft
        text = self.editor.changed_text()
        if text is not None:
            self.keep_unrecorded_edit(self._editing_draft_id, text)

    def keep_unrecorded_edit(self, draft_id: str, text: str) -> None:
        """An edit that can no longer be recorded: its text on the clipboard, said plainly."""
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(text)
        self.notice_bar.show_notice(
            "warning",
            f"Your edit of draft {draft_id} was not recorded: the draft's lease was lost. "
            "The text you wrote is on the clipboard.",
        )

    def _decision_returned(self, prepared: Prepared, request: DecisionRequest) -> None:
        """A decision could not be recorded and its draft is back: an edit comes back into the
        editor as typed, so that no work is lost."""
        if request.verdict is Verdict.EDIT and request.text is not None:
            self.begin_edit(text=request.text)

    def _submit_edit(self, lease_id: str, text: str) -> None:
        if self.controller is not None:
            self.controller.submit_edit(lease_id, text)

    def _cancel_edit(self) -> None:
        """Esc: the editor closes without deciding. What was typed is kept for this draft (the
        next E brings it back), and the reviewer is told so."""
        if self.controller is None:
            return
        text = self.editor.changed_text()
        if text is not None:
            self._put_aside_edit = (self.editor.lease_id, text)
        self.controller.cancel_edit()
        if text is not None:
            self.notice_bar.show_notice(
                "info",
                f"Edit put aside. Press {self.shortcuts.key_text('edit')} to take it up again "
                "on this draft.",
                _PUT_ASIDE_TOPIC,
            )

    def open_reject(self) -> None:
        controller = self.controller
        if controller is None or not controller.can_decide() or self.active_dialog is not None:
            return
        assert controller.current is not None
        lease = controller.current.lease
        dialog = RejectDialog(
            controller.info.reject_reasons,
            lease_id=lease.lease_id,
            draft_id=lease.draft.id,
            parent=self,
        )
        dialog.accepted.connect(
            lambda: self._decided_in_dialog(
                lambda c: c.reject(dialog.lease_id, dialog.reason or "", dialog.note_text)
            )
        )
        self._open_decision_dialog(dialog)

    def open_escalate(self) -> None:
        controller = self.controller
        if controller is None or not controller.can_decide() or self.active_dialog is not None:
            return
        assert controller.current is not None
        lease = controller.current.lease
        dialog = EscalateDialog(lease_id=lease.lease_id, draft_id=lease.draft.id, parent=self)
        dialog.accepted.connect(
            lambda: self._decided_in_dialog(
                lambda c: c.escalate(
                    dialog.lease_id,
                    dialog.severity.value if dialog.severity else "",
                    dialog.note_text,
                )
            )
        )
        self._open_decision_dialog(dialog)

    def _open_decision_dialog(self, dialog: DecisionDialog) -> None:
        self.active_dialog = dialog
        dialog.finished.connect(lambda _result: self._dialog_finished(dialog))
        dialog.open()

    def _decided_in_dialog(self, decide: Callable[[ReviewController], bool]) -> None:
        if self.controller is not None:
            decide(self.controller)

    def _dialog_finished(self, dialog: DecisionDialog) -> None:
        if self.active_dialog is dialog:
            self.active_dialog = None
        dialog.deleteLater()
        # The keys are the desk's again (window managers do this; minimal platforms do not).
        self.activateWindow()

    def _close_decision_dialog(self) -> None:
        dialog = self.active_dialog
        if dialog is not None:
            self.active_dialog = None
            dialog.reject()

    def skip(self) -> None:
        if self.controller is not None:
            self.controller.skip()

    def undo(self) -> None:
        if self.controller is not None:
            self.controller.undo()

    def refresh(self) -> None:
        if self.controller is not None:
            self.controller.refresh()
        else:
            self.retry_requested.emit()

    def end_session(self) -> None:
        """Ask, then end the session: the drafts held go back, and the break starts."""
        controller = self.controller
        if controller is None or not controller.can_end_session():
            return
        if self.end_session_box is not None:
            self.end_session_box.raise_()
            return
        self.end_session_box = open_question(
            self,
            "End session",
            "End this session now?",
            "The draft on screen and any claimed ahead go back to the queue, and your break "
            "starts now. Decisions already made stay recorded.",
            yes_text="End session",
            no_button=QMessageBox.StandardButton.Cancel,
            default_yes=True,
            answered=self._end_session_answered,
        )

    def _end_session_answered(self, box: QMessageBox, yes: bool) -> None:
        if self.end_session_box is box:
            self.end_session_box = None
        self.activateWindow()
        if yes and self.controller is not None:
            self.controller.end_session()

    def _close_end_session_box(self) -> None:
        box = self.end_session_box
        if box is not None:
            self.end_session_box = None
            box.done(QMessageBox.StandardButton.Cancel)

    # -- visibility, for the review clock ---------------------------------------------------
    def _visibility_changed(self, *_args: object) -> None:
        controller = self.controller
        if controller is None:
            return
        active = QGuiApplication.applicationState() == Qt.ApplicationState.ApplicationActive
        # Review time counts only while the draft is on screen, not the lead view.
        shown = self.isVisible() and not self.isMinimized() and self.desk_in_view
        controller.set_visible(shown and active)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self._visibility_changed()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._visibility_changed()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._visibility_changed()

    def show_cheat_sheet(self) -> None:
        if self.cheat_sheet is None:
            self.cheat_sheet = CheatSheet(self.shortcuts, self)
        else:
            self.cheat_sheet.rebuild()
        self.cheat_sheet.show()
        self.cheat_sheet.raise_()
        self.cheat_sheet.activateWindow()

    def open_settings(self) -> None:
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return
        available = self.keyring_available()
        dialog = SettingsDialog(
            database_url=self._settings.database_url,
            reviewer=self._settings.reviewer,
            default_reviewer=self._default_reviewer,
            keymap=self.shortcuts.keymap(),
            keyring_available=bool(available),
            embedded_path=self._embedded_path,
            executor=self._executor,
            login=self.login,
            parent=self,
        )
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.settings_dialog = dialog
        dialog.accepted.connect(lambda: self._settings_done(dialog.result_settings()))
        dialog.finished.connect(lambda _result: self._settings_closed(dialog))
        dialog.open()

    def _settings_done(self, result: SettingsResult) -> None:
        self.apply_keymap(result.keymap)
        self.settings_accepted.emit(result)

    def _settings_closed(self, dialog: QDialog) -> None:
        if self.settings_dialog is dialog:
            self.settings_dialog = None
        dialog.deleteLater()

    def open_export(self) -> None:
        """Desk ▸ Export dataset…: non-modal, on the open desk's database, on a thread of its
        own (the desk keeps deciding meanwhile); one at a time."""
        from reviewdesk.ui.dialogs.export_dialog import ExportDialog  # on first use: pyarrow

        shown = [d for d in self.findChildren(ExportDialog) if d.isVisible()]
        if shown:
            shown[0].raise_()
            shown[0].activateWindow()
            return
        target = self.controller.info.target if self.controller is not None else None
        if target is None:
            self.notice_bar.show_notice("info", "Export needs an open database: connect first.")
            return
        dialog = ExportDialog(target, parent=self)
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        dialog.show()

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        self.shortcuts.apply_keymap(keymap)
        self._settings.set_keymap(keymap_overrides(keymap))
        self._settings.sync()
        if self.cheat_sheet is not None:
            self.cheat_sheet.rebuild()

    # -- the lead view (issue 5) --------------------------------------------------------------
    def _build_lead_mode(self) -> None:
        bar = self.menuBar()
        view = QMenu("&View", bar)
        view.addAction(self.shortcuts.actions["desk_view"])
        view.addAction(self.shortcuts.actions["lead_view"])
        help_menu = next((a for a in bar.actions() if a.text() == "&Help"), None)
        if help_menu is not None:
            bar.insertMenu(help_menu, view)
        else:
            bar.addMenu(view)
        # In the menu bar's corner: it takes no height from the draft.
        bar.setCornerWidget(self.mode_bar, Qt.Corner.TopRightCorner)
        self.mode_bar.currentChanged.connect(
            lambda index: self.show_desk() if index == 0 else self.show_lead()
        )
        self.set_lead_role(False)  # until a database says who this is (set_identity)

    @property
    def desk_in_view(self) -> bool:
        """Whether the desk (not the lead view) is on screen."""
        return self.modes.currentWidget() is self.pages

    @property
    def lead_role(self) -> bool:
        return self._lead_role

    @property
    def login(self) -> str | None:
        """The login on a shared database that holds this person to its rules, else None."""
        return self._login

    def set_identity(self, login: str | None, role: str | None, *, installation: bool) -> None:
        """Follow the role the database gives: the lead view for leads (and for the one person
        of an embedded database); a team member's name is their login."""
        self._login = login
        if login is not None:
            self.set_reviewer(login)
            self.set_lead_role(role == "lead")
        else:
            self.set_lead_role(True)
        if installation:
            self.notice_bar.show_notice(
                "warning",
                "Connected as the database's owner (or a superuser): the team's rules do not "
                "bind this login. Review with your own login; see docs/security.md.",
            )

    def set_lead_role(self, enabled: bool) -> None:
        """Offer the lead view (or not: then the desk is shown)."""
        self._lead_role = enabled
        self.mode_bar.setVisible(enabled)
        self.shortcuts.set_enabled(["desk_view", "lead_view"], enabled)
        if not enabled:
            self.show_desk()

    @property
    def lead_view(self) -> LeadView:
        """The lead view, built on first use."""
        if self._lead_view is None:
            from reviewdesk.ui.lead.view import LeadView

            view = LeadView(self._executor, lead=self._reviewer, parent=self.modes)
            self.modes.addWidget(view)
            view.notice.connect(self.notice_bar.show_notice)
            if self.controller is not None:
                view.set_session(self.controller.session)
            monitor = self._alert_monitor
            if monitor is not None:
                view.set_alerts(monitor.alerts)
            view.alerts.acknowledge_requested.connect(self._acknowledge_alert)
            self._lead_view = view
        return self._lead_view

    def show_desk(self) -> None:
        self._set_mode(self.pages)

    def show_lead(self) -> None:
        if self.lead_role:
            self._set_mode(self.lead_view)

    def _set_mode(self, page: QWidget) -> None:
        self.mode_bar.blockSignals(True)
        self.mode_bar.setCurrentIndex(0 if page is self.pages else 1)
        self.mode_bar.blockSignals(False)
        if self.modes.currentWidget() is page:
            return
        self.modes.setCurrentWidget(page)
        self._apply_state(self._state)  # the desk's keys follow the mode
        self._visibility_changed()
        if page is self.pages:
            self.draft_view.setFocus()
        else:
            self.lead_view.setFocus()

    @property
    def status_text(self) -> dict[str, str]:
        """The status bar's texts (what a reviewer reads there), by field."""
        labels: dict[str, QLabel] = {
            "database": self.database_label,
            "connection": self.connection_label,
            "queue": self.queue_label,
            "session": self.session_label,
            "reviewer": self.reviewer_label,
        }
        return {name: label.text() for name, label in labels.items()}

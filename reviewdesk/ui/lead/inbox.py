"""The escalation inbox: escalated drafts by due time, overdue ones highlighted, and the form
with which the lead resolves one (send as is, send edited, reject, dismiss) with a note.

The chosen escalation shows what its reviewer saw: the draft, the customer's input and the
retrieved context, the thread's history, the reviewer's note and severity, and the time left
against the severity's response time, counted down each second from the clock the inbox was
read by (no database read per tick). Its keys are declared as data, as the desk's are, and shown
on the buttons.

Loading, reading a draft's history and resolving run on the desk's executor; a resolution's
result goes back to the consumer (``ReviewDesk.results``), and the inbox reloads.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence, QPalette, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.core.domain import History
from reviewdesk.core.errors import ReviewDeskError
from reviewdesk.services.escalations import Escalation, Resolution
from reviewdesk.storage.change_feed import Change
from reviewdesk.ui.lead import format as fmt
from reviewdesk.ui.lead import theme
from reviewdesk.ui.lead.charts import make_table
from reviewdesk.ui.lead.jobs import (
    InboxData,
    ResolveRequest,
    load_escalation_history,
    load_inbox,
    resolve_escalation,
)
from reviewdesk.ui.lead.models import KEY_ROLE, EscalationModel, InboxRow
from reviewdesk.ui.operations import OpenDesk
from reviewdesk.ui.text import display_text, local_time, one_line
from reviewdesk.ui.widgets.details import ContextView, HistoryView, plain_label
from reviewdesk.ui.widgets.text_views import set_plain_text
from reviewdesk.ui.worker import Executor

log = logging.getLogger(__name__)

# Overdue is a matter of time: while the inbox is on screen it reads itself again this often.
RELOAD_MS = 60_000
CHANGE_COALESCE_MS = 100  # changes told within this long of each other are read once
# The time left of the chosen escalation counts down on screen this often (no database read).
TICK_MS = 1_000


@dataclass(frozen=True)
class ResolveKey:
    """One of the inbox's keys: choose a resolution (``resolution``), or resolve (None)."""

    id: str
    title: str
    key: str  # portable QKeySequence text
    description: str
    resolution: Resolution | None


RESOLVE_KEYS: tuple[ResolveKey, ...] = (
    ResolveKey(
        "send_as_is",
        "Send as is",
        "A",
        "The draft goes to the customer unchanged.",
        Resolution.SEND_AS_IS,
    ),
    ResolveKey(
        "send_edited",
        "Send edited",
        "E",
        "Your corrected text goes out instead.",
        Resolution.SEND_EDITED,
    ),
    ResolveKey(
        "reject", "Reject", "R", "Nothing goes out: the draft must not be sent.", Resolution.REJECT
    ),
    ResolveKey(
        "dismiss",
        "Dismiss",
        "D",
        "Nothing to send, and no judgement (handled elsewhere).",
        Resolution.DISMISS,
    ),
    ResolveKey("resolve", "Resolve", "Ctrl+Return", "Resolve with the note written", None),
)


def key_label(key: str) -> str:
    """A key as the platform writes it, for the buttons."""
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)


def span_text(seconds: float) -> str:
    """A duration to the second: "1 h 04 min 05 s", "4 min 05 s", "9 s"."""
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def response_text(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class ResolvePanel(QFrame):
    """One escalation in full, as its reviewer saw it, and the form that resolves it."""

    resolve_requested = Signal(object)  # ResolveRequest

    def __init__(
        self, parent: QWidget | None = None, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.setObjectName("leadCard")
        self.escalation: Escalation | None = None
        self.monotonic = monotonic
        # The inbox's clock when it was read, and the monotonic time then: the time left ticks
        # on from these, with no database read.
        self._read_at: tuple[datetime, float] | None = None
        layout = QVBoxLayout(self)
        self._layout = layout
        self.title = plain_label(name="cardTitle")
        self.title.setWordWrap(True)
        self.meta = plain_label(name="muted")
        self.meta.setWordWrap(True)
        self.time_left = plain_label(name="sectionTitle")
        self.time_left.setObjectName("timeLeft")
        self.time_left.setAccessibleName("Time left")
        layout.addWidget(self.title)
        layout.addWidget(self.meta)
        layout.addWidget(self.time_left)
        self.note_title = plain_label("Reviewer's note", name="sectionTitle")
        self.reviewer_note = plain_label()
        self.reviewer_note.setWordWrap(True)
        self.reviewer_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_title, 0, Qt.AlignmentFlag.AlignTop)
        note_row.addWidget(self.reviewer_note, 1)
        layout.addLayout(note_row)

        # What the reviewer saw: the draft above, its input, context and history below.
        self.sections = QSplitter(Qt.Orientation.Vertical, self)
        self.sections.setChildrenCollapsible(False)
        draft_box = QWidget(self.sections)
        draft_layout = QVBoxLayout(draft_box)
        draft_layout.setContentsMargins(0, 0, 0, 0)
        draft_layout.setSpacing(2)
        draft_layout.addWidget(plain_label("Draft", name="sectionTitle"))
        self.draft = QPlainTextEdit(draft_box)
        self.draft.setObjectName("escalatedDraft")
        self.draft.setAccessibleName("Escalated draft")
        self.draft.setReadOnly(True)
        self.draft.setTabChangesFocus(True)
        draft_layout.addWidget(self.draft, 1)
        self.seen = QTabWidget(self.sections)
        self.seen.setObjectName("escalationSeen")
        self.seen.setDocumentMode(True)
        self.context = ContextView(self.seen)
        self.context.setObjectName("escalationContext")
        self.history = HistoryView(self.seen)
        self.history.setObjectName("escalationHistory")
        self.seen.addTab(self.context, "Input and context")
        self.seen.addTab(self.history, "History")
        self.sections.addWidget(draft_box)
        self.sections.addWidget(self.seen)
        self.sections.setStretchFactor(0, 1)
        self.sections.setStretchFactor(1, 1)
        layout.addWidget(self.sections, 3)

        # The resolved state: what was done, by whom.
        self.outcome = plain_label()
        self.outcome.setObjectName("resolutionShown")
        self.outcome.setWordWrap(True)
        layout.addWidget(self.outcome)

        self.form = QWidget(self)
        form = QVBoxLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addWidget(plain_label("Resolution", name="sectionTitle"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(self.fontMetrics().height())
        grid.setVerticalSpacing(2)
        self.group = QButtonGroup(self)
        self.options: dict[Resolution, QRadioButton] = {}
        self.key_actions: dict[str, QAction] = {}
        # Two by two, each with its key; what the chosen one does is said under the note.
        for row, spec in enumerate(k for k in RESOLVE_KEYS if k.resolution is not None):
            assert spec.resolution is not None
            button = QRadioButton(f"{spec.title}  ({key_label(spec.key)})", self.form)
            button.setObjectName(f"resolve_{spec.resolution.value}")
            button.setAccessibleName(spec.title)
            button.setAccessibleDescription(spec.description)
            button.setToolTip(f"{spec.description} Key: {key_label(spec.key)}")
            self.group.addButton(button, row)
            self.options[spec.resolution] = button
            grid.addWidget(button, row // 2, row % 2)
        grid.setColumnStretch(2, 1)
        form.addLayout(grid)
        self.edited_title = plain_label("Text to send", name="sectionTitle")
        self.edited = QPlainTextEdit(self.form)
        self.edited.setObjectName("resolutionText")
        self.edited.setAccessibleName("Text to send")
        self.edited.setTabChangesFocus(True)
        form.addWidget(self.edited_title)
        form.addWidget(self.edited, 1)
        form.addWidget(plain_label("Note (required)", name="sectionTitle"))
        self.note = QPlainTextEdit(self.form)
        self.note.setObjectName("resolutionNote")
        self.note.setAccessibleName("Resolution note")
        self.note.setPlaceholderText("Why, for the record and for the reviewer")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.note.fontMetrics().height() * 3 + 12)
        form.addWidget(self.note)
        actions = QHBoxLayout()
        self.hint = plain_label(name="muted")
        self.hint.setWordWrap(True)
        resolve_key = next(k for k in RESOLVE_KEYS if k.resolution is None)
        self.resolve = QPushButton(f"Resolve  ({key_label(resolve_key.key)})", self.form)
        self.resolve.setObjectName("resolveButton")
        self.resolve.setAccessibleName("Resolve")
        self.resolve.setToolTip(f"{resolve_key.description}. Key: {key_label(resolve_key.key)}")
        self.resolve.setDefault(True)
        actions.addWidget(self.hint, 1)
        actions.addWidget(self.resolve)
        form.addLayout(actions)
        layout.addWidget(self.form)
        self.group.idToggled.connect(self._toggled)
        self.note.textChanged.connect(self.refresh)
        self.edited.textChanged.connect(self.refresh)
        self.resolve.clicked.connect(self._request)

        self.ticker = QTimer(self)
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self.tick)
        self.show_escalation(None, None)

    def install_keys(self, on: QWidget) -> None:
        """The inbox's keys, as actions of ``on``: active while the focus is inside it."""
        for spec in RESOLVE_KEYS:
            action = QAction(spec.title, on)
            action.setObjectName(f"inbox_{spec.id}")
            shortcut = QKeySequence(spec.key)
            # Ctrl+Enter on the keypad too, as the desk's editor takes it.
            keys = [shortcut]
            if spec.key == "Ctrl+Return":
                keys.append(QKeySequence("Ctrl+Enter"))
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setAutoRepeat(False)
            resolution = spec.resolution
            if resolution is None:
                action.triggered.connect(self._request)
            else:
                action.triggered.connect(lambda _c=False, r=resolution: self.choose_by_key(r))
            on.addAction(action)
            self.key_actions[spec.id] = action

    def show_escalation(
        self, escalation: Escalation | None, due: str | None, now: datetime | None = None
    ) -> None:
        """Show ``escalation`` (None: nothing chosen); the form starts empty for a new one.
        ``now``: the clock the inbox was read by, from which the time left counts down."""
        same = (
            escalation is not None
            and self.escalation is not None
            and escalation.cursor == self.escalation.cursor
            and escalation.resolution == self.escalation.resolution
        )
        changed = escalation is None or self.escalation is None or not same
        self.escalation = escalation
        self._read_at = (now, self.monotonic()) if now is not None else None
        if escalation is None:
            self.title.setText("No escalation chosen")
            self.meta.setText("Choose one in the list to read it and resolve it.")
            for widget in (
                self.time_left,
                self.note_title,
                self.reviewer_note,
                self.sections,
                self.outcome,
                self.form,
            ):
                widget.hide()
            self.ticker.stop()
            return
        e = escalation
        self.title.setText(
            f"{e.severity.value.capitalize()} escalation of draft {one_line(e.id, 60)}"
        )
        self.meta.setText(
            f"{fmt.key_text(e.category)} · {e.risk.value} risk · "
            f"{fmt.key_text(e.model, none='no model version')} · escalated by "
            f"{fmt.key_text(e.reviewer)} at {local_time(e.decided_at)} · due {due}"
        )
        for widget in (self.time_left, self.note_title, self.reviewer_note, self.sections):
            widget.show()
        set_plain_text(self.draft, display_text(e.draft))
        self.note_title.setText(f"Reviewer's note · {e.severity.value}")
        self.reviewer_note.setText(display_text(e.note) if e.note else "(no note)")
        if changed:
            self.show_history(None, loading=True)
        resolved = e.resolution is not None
        self.form.setVisible(not resolved)
        self.outcome.setVisible(resolved)
        if resolved:
            assert e.resolution is not None
            late = " after its due time" if e.breached else ""
            text = (
                f"Resolved{late}: {e.resolution.value.replace('_', ' ')}, by "
                f"{fmt.key_text(e.resolved_by)}"
                + (f" at {local_time(e.resolved_at)}" if e.resolved_at else "")
                + f". Note: {display_text(e.resolution_note or '')}"
            )
            if e.resolution is Resolution.SEND_EDITED and e.resolution_text:
                text += f"\nSent instead: {display_text(e.resolution_text)}"
            self.outcome.setText(text)
        elif not same:
            self.group.setExclusive(False)
            for button in self.options.values():
                button.setChecked(False)
            self.group.setExclusive(True)
            self.note.clear()
            self.edited.setPlainText(e.draft)
        self.tick()
        self._run_ticker()
        self.refresh()

    def show_history(self, history: History | None, *, loading: bool = False) -> None:
        """The draft's input, context and thread, once read (None: being read, or failed)."""
        self.context.show_draft(history.draft if history is not None else None)
        self.history.show_history(history, loading=loading)
        if history is None and not loading:
            self.context.show_draft(None)

    # -- the time left ------------------------------------------------------------------------
    def now(self) -> datetime | None:
        """The inbox's clock now: as read, plus the time since."""
        if self._read_at is None:
            return None
        read, at = self._read_at
        return read + timedelta(seconds=self.monotonic() - at)

    def tick(self) -> None:
        e, now = self.escalation, self.now()
        if e is None:
            return
        response = response_text(e.severity.response_time)
        self._tint_time_left(overdue=False)
        if e.resolution is not None:
            if e.resolved_at is None:
                self.time_left.setText(f"Response time {response}")
                return
            taken = (e.resolved_at - e.decided_at).total_seconds()
            late = " (late)" if e.breached else ""
            self.time_left.setText(f"Answered in {span_text(taken)}{late} of {response}")
            return
        if now is None:
            self.time_left.setText(f"Response time {response}")
            return
        left = (e.due_at - now).total_seconds()
        if left >= 0:
            self.time_left.setText(f"{span_text(left)} left of {response}")
        else:
            self.time_left.setText(f"Overdue by {span_text(left)} ({response} response time)")
        self._tint_time_left(overdue=left < 0)

    def _tint_time_left(self, *, overdue: bool) -> None:
        # Overdue in the inbox's overdue tone, as its row is tinted.
        palette = self.palette()
        if overdue:
            palette.setColor(
                QPalette.ColorRole.WindowText, theme.tone_colors(palette)["overdue-fg"]
            )
        self.time_left.setPalette(palette)

    def _run_ticker(self) -> None:
        ticking = (
            self.isVisible()
            and self.escalation is not None
            and self.escalation.resolution is None
            and self._read_at is not None
        )
        if ticking and not self.ticker.isActive():
            self.ticker.start()
        elif not ticking:
            self.ticker.stop()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.tick()
        self._run_ticker()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self.ticker.stop()

    def stop(self) -> None:
        self.ticker.stop()

    # -- the form -----------------------------------------------------------------------------
    def _toggled(self, _id: int, on: bool) -> None:
        self.refresh()
        if on and self.resolution is Resolution.SEND_EDITED:
            # Straight into the text, at its end: the usual edit adds or corrects a sentence.
            self.edited.setFocus()
            self.edited.moveCursor(QTextCursor.MoveOperation.End)

    def choose(self, resolution: Resolution) -> None:
        self.options[resolution].setChecked(True)

    def choose_by_key(self, resolution: Resolution) -> None:
        """A resolution's key: choose it, then on to what it needs written (the note, or the
        text to send first)."""
        if not self.form.isVisible() or not self.form.isEnabled():
            return
        self.choose(resolution)
        if resolution is not Resolution.SEND_EDITED:
            self.note.setFocus()

    @property
    def resolution(self) -> Resolution | None:
        for resolution, button in self.options.items():
            if button.isChecked():
                return resolution
        return None

    def problem(self) -> str | None:
        if self.escalation is None or self.escalation.resolution is not None:
            return "Nothing to resolve."
        resolution = self.resolution
        if resolution is None:
            return "Choose what happens to the draft."
        if resolution is Resolution.SEND_EDITED:
            text = self.edited.toPlainText()
            if not text.strip():
                return "Write the text to send."
            if text == self.escalation.draft:
                return "The text is the draft unchanged: choose Send as is, or edit it."
        if not self.note.toPlainText().strip():
            return "A note is required: say why."
        return None

    def refresh(self) -> None:
        editing = self.resolution is Resolution.SEND_EDITED
        self.edited_title.setVisible(editing)
        self.edited.setVisible(editing)
        # The text to send shares the height with the draft while it is shown.
        self._layout.setStretchFactor(self.form, 2 if editing else 0)
        problem = self.problem()
        self.resolve.setEnabled(problem is None)
        does = next(
            (
                k.description
                for k in RESOLVE_KEYS
                if k.resolution is not None and k.resolution is self.resolution
            ),
            "",
        )
        self.hint.setText(problem or f"{does} The result goes back to the consumer.")

    def request(self) -> ResolveRequest | None:
        resolution = self.resolution
        if self.problem() is not None or self.escalation is None or resolution is None:
            return None
        text = self.edited.toPlainText() if resolution is Resolution.SEND_EDITED else None
        return ResolveRequest(
            self.escalation.cursor, resolution, self.note.toPlainText().strip(), text
        )

    def _request(self) -> None:
        request = self.request()
        if request is not None:
            self.resolve_requested.emit(request)

    def set_busy(self, busy: bool) -> None:
        self.form.setEnabled(not busy)
        if busy:
            self.hint.setText("Resolving…")
        else:
            self.refresh()

    def say(self, text: str) -> None:
        self.hint.setText(text)


class EscalationInboxView(QWidget):
    """The inbox page of the lead view."""

    busy_changed = Signal(bool)
    loaded = Signal()  # the inbox was read and is shown
    counts_changed = Signal(int, int)  # open, overdue
    resolved = Signal(object)  # Escalation, as resolved
    notice = Signal(str, str)  # level, text

    def __init__(
        self,
        executor: Executor,
        *,
        lead: str,
        monotonic: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("escalationInbox")
        self._executor = executor
        self._session: OpenDesk | None = None
        self.lead = lead
        self._generation = 0
        self._split = False  # the list and the panel got their first widths
        self._loading = False
        self._resolving = False
        self.data: InboxData | None = None
        self.model = EscalationModel(self)
        self._histories: dict[int, History] = {}  # by cursor: read once per database

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.summary = plain_label(name="cardTitle")
        self.summary.setAccessibleName("Inbox summary")
        self.show_resolved = QCheckBox("Show resolved", self)
        self.show_resolved.setObjectName("showResolved")
        self.reload_button = QPushButton("Reload", self)
        self.reload_button.setObjectName("inboxReload")
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_resolved)
        top.addWidget(self.reload_button)
        layout.addLayout(top)
        # The list and the chosen escalation; or, with nothing to list, one empty state.
        self.body = QStackedWidget(self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self.body)
        self.splitter.setChildrenCollapsible(False)
        self.table: QTableView = make_table(
            self.model, name="Escalations", sortable=False, parent=self.splitter
        )
        self.panel = ResolvePanel(self.splitter, monotonic=monotonic)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.empty = self._empty_state()
        self.body.addWidget(self.splitter)
        self.body.addWidget(self.empty)
        layout.addWidget(self.body, 1)
        self.panel.install_keys(self)

        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        self.show_resolved.toggled.connect(lambda _on: self.reload())
        self.reload_button.clicked.connect(self.reload)
        self.panel.resolve_requested.connect(self.resolve)
        self._timer = QTimer(self)
        self._timer.setInterval(RELOAD_MS)
        self._timer.timeout.connect(self.reload)
        # The list's due times and overdue tints tick as the chosen one's time left does.
        self._monotonic = monotonic
        self._read_mono = monotonic()
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(TICK_MS)
        self._clock_timer.timeout.connect(self._tick_rows)
        self._live = False  # told of changes (database_changed): no minute's poll
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.setInterval(CHANGE_COALESCE_MS)
        self._change_timer.timeout.connect(self.reload)

    def _empty_state(self) -> QWidget:
        page = QWidget(self.body)
        page.setObjectName("inboxEmpty")
        box = QVBoxLayout(page)
        box.addStretch(1)
        self.empty_title = plain_label("No open escalation", page, name="cardTitle")
        self.empty_text = plain_label("", page, name="muted")
        self.empty_text.setWordWrap(True)
        for label in (self.empty_title, self.empty_text):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            # Centred by stretches either side: a layout's alignment flag would size a
            # word-wrapped label by its one-line hint and cut its text.
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(label, 3)
            row.addStretch(1)
            box.addLayout(row)
        box.addStretch(1)
        return page

    # -- the session --------------------------------------------------------------------------
    def set_session(self, session: OpenDesk | None) -> None:
        self._session = session
        self._generation += 1  # answers about the previous database are dropped
        self._histories.clear()
        self._set_loading(False)
        self._resolving = False
        self.panel.set_busy(False)
        if session is None:
            self.model.set_rows([])
            self.data = None
            self._show_rows()
        elif self.isVisible():
            self.reload()

    @property
    def busy(self) -> bool:
        return self._loading or self._resolving

    def _set_loading(self, loading: bool) -> None:
        was = self.busy
        self._loading = loading
        self.reload_button.setEnabled(not loading)
        if was != self.busy:
            self.busy_changed.emit(self.busy)

    def database_changed(self, change: Change) -> None:
        """A decision was made, undone or resolved: read the inbox again (while on screen;
        a burst of changes is read once). Told of changes, the inbox stops its minute's poll."""
        self._live = True
        self._timer.stop()
        if change.touches("decision") and self.isVisible() and not self._change_timer.isActive():
            self._change_timer.start()

    def reload(self) -> None:
        session = self._session
        if session is None:
            self.summary.setText("No database open.")
            return
        self._generation += 1
        generation = self._generation
        include = self.show_resolved.isChecked()
        self._set_loading(True)
        self._executor.submit(
            lambda: load_inbox(session, include_resolved=include),
            on_success=lambda data: self._loaded(generation, data),
            on_failure=lambda exc: self._failed(generation, exc),
            label="escalation inbox",
        )

    def _loaded(self, generation: int, data: InboxData) -> None:
        if generation != self._generation:
            return
        self.data = data
        self._read_mono = self._monotonic()
        chosen = self.current_cursor()
        self.model.set_rows(
            [
                InboxRow(e, fmt.due_text(e.due_at, data.now, resolved=e.resolution is not None))
                for e in data.items
            ]
        )
        self._set_loading(False)
        # The one chosen stays chosen; once resolved (and gone), the next most urgent is.
        listed = {e.cursor for e in data.items}
        self.select(chosen if chosen in listed else self._first_open())
        self._show_rows()
        self.loaded.emit()

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._set_loading(False)
        if not isinstance(exc, ReviewDeskError):
            log.error("could not read the escalation inbox", exc_info=exc)
        self.summary.setText(f"Could not read the inbox: {exc}")

    def _tick_rows(self) -> None:
        """Each second on screen: the due times as of now, and escalations that have just
        passed their response time tinted and counted as overdue, without reading again."""
        data = self.data
        if data is None or not self.model.rows:
            return
        now = data.now + timedelta(seconds=self._monotonic() - self._read_mono)
        rows = []
        for row in self.model.rows:
            e = row.escalation
            overdue = e.resolution is None and now > e.due_at
            if overdue != e.overdue:
                e = dataclasses.replace(e, overdue=overdue)
            rows.append(InboxRow(e, fmt.due_text(e.due_at, now, resolved=e.resolution is not None)))
        if rows != list(self.model.rows):
            self.model.update_rows(rows)
            self._show_rows()

    def _show_rows(self) -> None:
        items = [r.escalation for r in self.model.rows]
        open_ = [e for e in items if e.resolution is None]
        overdue = sum(e.overdue for e in open_)
        if self._session is None:
            text = "No database open."
        elif not open_:
            text = "No open escalation"
        else:
            text = f"{len(open_)} open escalation{'s' if len(open_) != 1 else ''}"
            if overdue:
                text += f", {overdue} overdue"
        self.summary.setText(text)
        if not items:
            self.empty_text.setText(
                "Nothing waits for a lead. An escalation appears here as soon as a reviewer "
                + (
                    "raises one."
                    if self._live
                    else "raises one; the list reads itself again every minute."
                )
                + ("" if self.show_resolved.isChecked() else " Show resolved lists past ones.")
            )
        self.body.setCurrentWidget(self.splitter if items else self.empty)
        self.counts_changed.emit(len(open_), overdue)

    def _first_open(self) -> int | None:
        for row in self.model.rows:
            if row.escalation.resolution is None:
                return row.escalation.cursor
        return None

    # -- choosing and resolving -----------------------------------------------------------------
    def current_cursor(self) -> int | None:
        escalation = self.panel.escalation
        return escalation.cursor if escalation is not None else None

    def select(self, cursor: int | None) -> None:
        """Choose the escalation ``cursor`` (None or gone: none)."""
        for row in range(self.model.rowCount()):
            if self.model.index(row, 0).data(KEY_ROLE) == cursor:
                self.table.selectRow(row)
                self._show(row)
                return
        self.table.clearSelection()
        self.panel.show_escalation(None, None)

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            self._show(indexes[0].row())

    def _show(self, row: int) -> None:
        item = self.model.row(row)
        now = self.data.now if self.data is not None else None
        self.panel.show_escalation(item.escalation, item.due, now)
        self._load_history(item.escalation)

    def _load_history(self, escalation: Escalation) -> None:
        """The draft's input, context and thread: read on the worker once, then kept."""
        cursor = escalation.cursor
        known = self._histories.get(cursor)
        if known is not None:
            self.panel.show_history(known)
            return
        session = self._session
        if session is None:
            return
        generation, draft_id = self._generation, escalation.id
        self._executor.submit(
            lambda: load_escalation_history(session, draft_id),
            on_success=lambda h: self._history_loaded(generation, cursor, h),
            on_failure=lambda exc: self._history_failed(generation, cursor, exc),
            label="escalation history",
        )

    def _history_loaded(self, generation: int, cursor: int, history: History) -> None:
        if generation != self._generation:
            return
        self._histories[cursor] = history
        if self.current_cursor() == cursor:
            self.panel.show_history(history)

    def _history_failed(self, generation: int, cursor: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        if not isinstance(exc, ReviewDeskError):
            log.error("could not read an escalated draft's history", exc_info=exc)
        if self.current_cursor() == cursor:
            self.panel.show_history(None)

    def resolve(self, request: ResolveRequest) -> None:
        session = self._session
        if session is None or self._resolving:
            return
        lead = self.lead
        generation = self._generation
        was = self.busy
        self._resolving = True
        self.panel.set_busy(True)
        if not was:
            self.busy_changed.emit(True)
        self._executor.submit(
            lambda: resolve_escalation(session, request, lead),
            on_success=lambda e: self._resolved(generation, e),
            on_failure=lambda exc: self._resolve_failed(generation, exc),
            label="resolve escalation",
        )

    def _resolve_done(self) -> None:
        was = self.busy
        self._resolving = False
        self.panel.set_busy(False)
        # The form was disabled meanwhile, and the focus left it: back to the list, where the
        # keys choose the next resolution.
        self._focus_inside()
        if was != self.busy:
            self.busy_changed.emit(self.busy)

    def _resolved(self, generation: int, escalation: Escalation) -> None:
        if generation != self._generation:
            return
        self._resolve_done()
        assert escalation.resolution is not None
        self.notice.emit(
            "info",
            f"Escalation of draft {one_line(escalation.id, 60)} resolved: "
            f"{escalation.resolution.value.replace('_', ' ')}. The result goes to the consumer "
            "again.",
        )
        self.resolved.emit(escalation)
        self.reload()

    def _resolve_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._resolve_done()
        if not isinstance(exc, (ReviewDeskError, ValueError)):
            log.error("could not resolve an escalation", exc_info=exc)
        self.notice.emit("error", f"The escalation was not resolved: {exc}")
        self.reload()

    # -- while on screen --------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._clock_timer.start()
        if not self._live:
            self._timer.start()
        if self._session is not None and not self._loading:
            self.reload()
        if not self._split:
            # The chosen escalation gets the larger part: it holds what is read and written.
            self._split = True
            width = max(self.splitter.width(), self.width())
            self.splitter.setSizes([width * 2 // 5, width - width * 2 // 5])
        # The keys work from the start: the focus goes into the inbox, onto the list.
        self._focus_inside()

    def _focus_inside(self) -> None:
        focus = QApplication.focusWidget()
        if self.isVisible() and (focus is None or not self.isAncestorOf(focus)):
            self.table.setFocus()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._timer.stop()
        self._clock_timer.stop()

    def stop(self) -> None:
        self._timer.stop()
        self._change_timer.stop()
        self._clock_timer.stop()
        self.panel.stop()

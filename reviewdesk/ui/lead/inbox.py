"""The escalation inbox: escalated drafts by due time, overdue ones highlighted, and the form
with which the lead resolves one (send as is, send edited, reject, dismiss) with a note.

Loading and resolving run on the desk's executor; a resolution's result goes back to the
consumer (``ReviewDesk.results``), and the inbox reloads.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
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
    QVBoxLayout,
    QWidget,
)

from reviewdesk.core.errors import ReviewDeskError
from reviewdesk.services.escalations import Escalation, Resolution
from reviewdesk.ui.lead import format as fmt
from reviewdesk.ui.lead.charts import make_table
from reviewdesk.ui.lead.jobs import (
    InboxData,
    ResolveRequest,
    load_inbox,
    resolve_escalation,
)
from reviewdesk.ui.lead.models import KEY_ROLE, EscalationModel, InboxRow
from reviewdesk.ui.operations import DeskSession
from reviewdesk.ui.text import display_text, local_time, one_line
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.widgets.text_views import set_plain_text
from reviewdesk.ui.worker import Executor

log = logging.getLogger(__name__)

# Overdue is a matter of time: while the inbox is on screen it reads itself again this often.
RELOAD_MS = 60_000

RESOLUTIONS = (
    (Resolution.SEND_AS_IS, "Send as is", "The draft goes to the customer unchanged."),
    (Resolution.SEND_EDITED, "Send edited", "Your corrected text goes out instead."),
    (Resolution.REJECT, "Reject", "Nothing goes out: the draft must not be sent."),
    (Resolution.DISMISS, "Dismiss", "Nothing to send, and no judgement (handled elsewhere)."),
)


class ResolvePanel(QFrame):
    """One escalation in full, and the form that resolves it."""

    resolve_requested = Signal(object)  # ResolveRequest

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadCard")
        self.escalation: Escalation | None = None
        layout = QVBoxLayout(self)
        self._layout = layout
        self.title = plain_label(name="cardTitle")
        self.title.setWordWrap(True)
        self.meta = plain_label(name="muted")
        self.meta.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.meta)
        layout.addWidget(plain_label("Draft", name="sectionTitle"))
        self.draft = QPlainTextEdit(self)
        self.draft.setObjectName("escalatedDraft")
        self.draft.setAccessibleName("Escalated draft")
        self.draft.setReadOnly(True)
        layout.addWidget(self.draft, 1)
        self.note_title = plain_label("Reviewer's note", name="sectionTitle")
        self.reviewer_note = plain_label()
        self.reviewer_note.setWordWrap(True)
        self.reviewer_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.note_title)
        layout.addWidget(self.reviewer_note)

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
        for row, (resolution, title, description) in enumerate(RESOLUTIONS):
            button = QRadioButton(title, self.form)
            button.setObjectName(f"resolve_{resolution.value}")
            button.setAccessibleDescription(description)
            self.group.addButton(button, row)
            self.options[resolution] = button
            grid.addWidget(button, row, 0)
            grid.addWidget(plain_label(description, name="muted"), row, 1)
        grid.setColumnStretch(1, 1)
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
        self.resolve = QPushButton("Resolve", self.form)
        self.resolve.setObjectName("resolveButton")
        self.resolve.setDefault(True)
        actions.addWidget(self.hint, 1)
        actions.addWidget(self.resolve)
        form.addLayout(actions)
        layout.addWidget(self.form)
        self.group.idToggled.connect(self._toggled)
        self.note.textChanged.connect(self.refresh)
        self.edited.textChanged.connect(self.refresh)
        self.resolve.clicked.connect(self._request)
        self.show_escalation(None, None)

    def show_escalation(self, escalation: Escalation | None, due: str | None) -> None:
        """Show ``escalation`` (None: nothing chosen); the form starts empty for a new one."""
        same = (
            escalation is not None
            and self.escalation is not None
            and escalation.cursor == self.escalation.cursor
            and escalation.resolution == self.escalation.resolution
        )
        self.escalation = escalation
        if escalation is None:
            self.title.setText("No escalation chosen")
            self.meta.setText("Choose one in the list to read it and resolve it.")
            for widget in (
                self.draft,
                self.note_title,
                self.reviewer_note,
                self.outcome,
                self.form,
            ):
                widget.hide()
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
        self.draft.show()
        set_plain_text(self.draft, display_text(e.draft))
        self.note_title.show()
        self.reviewer_note.show()
        self.reviewer_note.setText(display_text(e.note) if e.note else "(no note)")
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
        self.refresh()

    def _toggled(self, _id: int, on: bool) -> None:
        self.refresh()
        if on and self.resolution is Resolution.SEND_EDITED:
            # Straight into the text, at its end: the usual edit adds or corrects a sentence.
            self.edited.setFocus()
            self.edited.moveCursor(QTextCursor.MoveOperation.End)

    def choose(self, resolution: Resolution) -> None:
        self.options[resolution].setChecked(True)

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
        self._layout.setStretchFactor(self.form, 1 if editing else 0)
        problem = self.problem()
        self.resolve.setEnabled(problem is None)
        self.hint.setText(problem or "The result goes back to the consumer.")

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

    def __init__(self, executor: Executor, *, lead: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("escalationInbox")
        self._executor = executor
        self._session: DeskSession | None = None
        self.lead = lead
        self._generation = 0
        self._loading = False
        self._resolving = False
        self.data: InboxData | None = None
        self.model = EscalationModel(self)

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
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.pages = QStackedWidget(self.splitter)
        self.table: QTableView = make_table(
            self.model, name="Escalations", sortable=False, parent=self.pages
        )
        self.empty = plain_label("No open escalation. Nothing waits for a lead.", name="muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)
        self.panel = ResolvePanel(self.splitter)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter, 1)

        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        self.show_resolved.toggled.connect(lambda _on: self.reload())
        self.reload_button.clicked.connect(self.reload)
        self.panel.resolve_requested.connect(self.resolve)
        self._timer = QTimer(self)
        self._timer.setInterval(RELOAD_MS)
        self._timer.timeout.connect(self.reload)

    # -- the session --------------------------------------------------------------------------
    def set_session(self, session: DeskSession | None) -> None:
        self._session = session
        self._generation += 1  # answers about the previous database are dropped
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
        chosen = self.current_cursor()
        self.model.set_rows(
            [
                InboxRow(e, fmt.due_text(e.due_at, data.now, resolved=e.resolution is not None))
                for e in data.items
            ]
        )
        self._set_loading(False)
        self.select(chosen if chosen is not None else self._first_open())
        self._show_rows()
        self.loaded.emit()

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._set_loading(False)
        if not isinstance(exc, ReviewDeskError):
            log.error("could not read the escalation inbox", exc_info=exc)
        self.summary.setText(f"Could not read the inbox: {exc}")

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
        self.pages.setCurrentWidget(self.table if items else self.empty)
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
        self.panel.show_escalation(item.escalation, item.due)

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
        self._timer.start()
        if self._session is not None and not self._loading:
            self.reload()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._timer.stop()

    def stop(self) -> None:
        self._timer.stop()

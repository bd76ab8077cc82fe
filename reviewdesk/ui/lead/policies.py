"""The lead view's Policies tab and its "Start a policy" dialog (docs/policies.md).

Per cell: mode, phase (screening with its progress toward i, sampling, or held after a drift
alarm), drafts released and reviewed, defects found in samples, measured review share, the
estimated share gone out bad with its interval against the promised AOQL, alarms, and the
history of the selected policy. "Back to full review" sends one category, or every one, back to
screening for the next draft submitted. All database work runs on the executor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.core.errors import ReviewDeskError
from reviewdesk.services.policies import CellState, PlanPreview, PolicyView
from reviewdesk.ui.lead.jobs import (
    PoliciesData,
    PolicyRequest,
    load_policies,
    preview_policy,
    reset_policies,
    start_policy,
)
from reviewdesk.ui.operations import OpenDesk
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.worker import Executor

log = logging.getLogger(__name__)

# The model choice of a policy for every model version (its plan is kept per version).
ANY_MODEL = "any model version"

COLUMNS = (
    "Cell",
    "Model",
    "Plan",
    "Phase",
    "Released",
    "Reviewed",
    "Review share",
    "Sample defects",
    "Out bad (est.)",
    "Alarms",
)


def phase_text(view: PolicyView, state: CellState) -> str:
    if view.policy.mode.value == "full":
        return "full review (policy off)"
    if state.phase.value == "screening":
        return f"screening {state.clear_run} of {view.policy.plan.clearance} clear"
    if state.phase.value == "held":
        return "full review: drift alarm"
    return "sampling"


def quality_text(view: PolicyView, state: CellState) -> tuple[str, bool]:
    """The estimated share gone out bad with its interval, and whether it may pass the AOQL."""
    est = state.outgoing_quality()
    if est.value is None:
        return f"– (limit {view.policy.aoql:.1%})", False
    text = f"{est.value:.2%} ({est.low:.2%}–{est.high:.2%}) of {view.policy.aoql:.1%}"
    return text, est.low > view.policy.aoql


class PoliciesView(QWidget):
    """Every policy's cells, their state and history; the way back to full review."""

    notice = Signal(str, str)
    changed = Signal()
    status_changed = Signal()  # the table holds a fresh load

    def __init__(self, executor: Executor, *, lead: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("policiesView")
        self._executor = executor
        self._session: OpenDesk | None = None
        self._generation = 0
        self.lead = lead
        self.data: PoliciesData | None = None
        # Asks the lead why (a note is required); replaced in tests.
        self.ask_note: Callable[[str], str | None] = self._ask_note

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.intro = plain_label(
            "Cells under a continuous sampling plan: every draft is reviewed until i in a row "
            "are clear, then a share f at random; a defect in a sample, a new model version or "
            "a drift alarm brings back full review. Out bad: estimated share of the cell's "
            "drafts that went out bad, with its 95% interval, against the promised limit.",
            name="muted",
        )
        self.intro.setWordWrap(True)
        top.addWidget(self.intro, 1)
        self.back_button = QToolButton(self)
        self.back_button.setObjectName("backToFullReview")
        self.back_button.setText("Back to full review")
        self.back_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.back_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.back_button)
        self.back_selected = menu.addAction("The selected category")
        self.back_all = menu.addAction("Every category")
        self.back_button.setMenu(menu)
        self.back_button.clicked.connect(lambda: self.back_to_full_review(selected=True))
        self.back_selected.triggered.connect(lambda: self.back_to_full_review(selected=True))
        self.back_all.triggered.connect(lambda: self.back_to_full_review(selected=False))
        top.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.table = QTableWidget(0, len(COLUMNS), splitter)
        self.table.setObjectName("Policies")
        self.table.setAccessibleName("Policies")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.history = QPlainTextEdit(splitter)
        self.history.setObjectName("policyHistory")
        self.history.setReadOnly(True)
        self.history.setPlaceholderText("Choose a policy to see its history.")
        splitter.addWidget(self.table)
        splitter.addWidget(self.history)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.empty = plain_label(
            "No policy yet: every draft is reviewed.\n\nOn the Recommendations tab, choose a "
            "category that review can be reduced or removed in, and press \u201cStart a "
            "policy\u2026\u201d: the plan comes pre-filled, with its evidence.",
            name="muted",
        )
        self.empty.setObjectName("policiesEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(splitter)
        self.pages.addWidget(self.empty)
        layout.addWidget(self.pages, 1)
        self.status = plain_label(name="muted")
        layout.addWidget(self.status)
        self.table.itemSelectionChanged.connect(self._show_history)
        self._rows: list[tuple[PolicyView, CellState | None]] = []

    # -- loading --------------------------------------------------------------------------------
    def set_session(self, session: OpenDesk | None) -> None:
        self._session = session
        self._generation += 1
        self.table.setRowCount(0)
        self.history.clear()
        if session is not None and self.isVisible():
            self.reload()

    def reload(self) -> None:
        session = self._session
        if session is None:
            return
        self._generation += 1
        generation = self._generation
        self.status.setText("Loading the policies…")
        self._executor.submit(
            lambda: load_policies(session),
            on_success=lambda data: self._loaded(generation, data),
            on_failure=lambda exc: self._failed(exc, "The policies could not be read"),
            label="policies",
        )

    def _loaded(self, generation: int, data: PoliciesData) -> None:
        if generation != self._generation:
            return
        self.data = data
        selected = self.selected_category()
        self._rows = [(v, c) for v in data.views for c in (v.cells or (None,))]
        self.table.setRowCount(len(self._rows))
        for row, (view, state) in enumerate(self._rows):
            for column, (text, warn) in enumerate(self._cells(view, state)):
                item = QTableWidgetItem(text)
                if warn:
                    item.setForeground(self.palette().brightText())
                    item.setBackground(Qt.GlobalColor.darkRed)
                if column >= 4 and column != 8:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, item)
        if self._rows:
            again = next(
                (n for n, (v, _) in enumerate(self._rows) if v.policy.cell.category == selected),
                0,
            )
            self.table.selectRow(again)
        alarms = sum(v.alarm_count for v in data.views)
        sampling = sum(1 for v, c in self._rows if c is not None and c.phase.value == "sampling")
        self.status.setText(
            f"{len(data.views)} polic{'y' if len(data.views) == 1 else 'ies'}, "
            f"{sampling} cell(s) sampling"
            + (f", {alarms} drift alarm(s)" if alarms else "")
            + f" · updated {data.generated_at.astimezone():%H:%M}"
            if data.views
            else f"Updated {data.generated_at.astimezone():%H:%M}."
        )
        self.back_button.setEnabled(bool(data.views))
        self.pages.setCurrentIndex(0 if data.views else 1)
        self.status_changed.emit()

    def _cells(self, view: PolicyView, state: CellState | None) -> list[tuple[str, bool]]:
        p = view.policy
        cell = p.cell.describe()
        plan = f"i={p.plan.clearance}, f={p.plan.fraction:.3g}, AOQL {p.aoql:.1%}"
        if state is None:
            return [(cell, False), ("–", False), (plan, False)] + [("–", False)] * 7
        share = "–" if state.review_share is None else f"{state.review_share:.1%}"
        quality, over = quality_text(view, state)
        alarms = state.alarms
        return [
            (cell, False),
            (state.model_key or "(none)", False),
            (plan, False),
            (phase_text(view, state), state.phase.value == "held"),
            (f"{state.released:,}", False),
            (f"{state.reviewed:,}", False),
            (share, False),
            (f"{state.sampled_defects} of {state.sampled_decided}", False),
            (quality, over),
            (f"{alarms}" if alarms else "–", bool(alarms)),
        ]

    def _failed(self, exc: Exception, what: str) -> None:
        if not isinstance(exc, ReviewDeskError):
            log.error("%s", what, exc_info=exc)
        self.status.setText(f"{what}.")
        self.notice.emit("error", f"{what}: {exc}")

    # -- selection and history ------------------------------------------------------------------
    def selected_view(self) -> PolicyView | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self._rows):
            return None
        return self._rows[rows[0].row()][0]

    def selected_category(self) -> str | None:
        view = self.selected_view()
        return view.policy.cell.category if view else None

    def _show_history(self) -> None:
        view = self.selected_view()
        if view is None:
            self.history.clear()
            return
        lines = [f"{view.policy.cell.describe()}: history, newest first"]
        for e in view.history:
            lines.append(f"{e.at.astimezone():%Y-%m-%d %H:%M}  {e.text}")
        self.history.setPlainText("\n".join(lines))

    # -- back to full review --------------------------------------------------------------------
    def _ask_note(self, what: str) -> str | None:
        note, ok = QInputDialog.getText(
            self, "Back to full review", f"{what}\nWhy? (kept in the policy's history)"
        )
        return note if ok else None

    def back_to_full_review(self, *, selected: bool) -> None:
        session = self._session
        if session is None:
            return
        category = self.selected_category() if selected else None
        if selected and category is None:
            self.notice.emit("info", "Choose a policy first, or send every category back.")
            return
        what = (
            f"Review every draft of {category} again, from the next one submitted."
            if category
            else "Review every draft of every category again, from the next one submitted."
        )
        note = self.ask_note(what)
        if note is None:
            return
        lead = self.lead
        self._executor.submit(
            lambda: reset_policies(session, category, note, lead),
            on_success=lambda ids: self._reset_done(category, ids),
            on_failure=lambda exc: self._failed(exc, "Could not go back to full review"),
            label="policy reset",
        )

    def _reset_done(self, category: str | None, ids: list[int]) -> None:
        where = category or "every category"
        self.notice.emit("info", f"Back to full review for {where} ({len(ids)} policy/ies).")
        self.changed.emit()
        self.reload()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)  # type: ignore[arg-type]
        if self._session is not None:
            self.reload()


class StartPolicyDialog(QDialog):
    """A plan pre-filled from a recommendation, the evidence beside it, and what the plan would
    do in the cell (computed on the executor as the lead changes it). The lead chooses what
    ``reviewdesk policy set`` takes: the promise (AOQL), either the sampling fraction f or the
    most review the plan may cost at the cell's defect rate, the confidence floor, the model
    version, and whether trivial edits count as defects."""

    def __init__(
        self,
        executor: Executor,
        session: OpenDesk,
        request: PolicyRequest,
        evidence: str,
        parent: QWidget | None = None,
        *,
        models: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("startPolicy")
        self.setWindowTitle(f"Start a policy: {request.category}")
        self._executor = executor
        self._session = session
        self._request = request
        self._generation = 0
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        form = QFormLayout()
        self.aoql = self._percent("policyAoql", request.aoql, top=50.0)
        form.addRow("Promised limit (AOQL)", self.aoql)
        # Either f, or the most review the lead wants to pay for (ReviewDesk chooses f).
        self.by_fraction = QRadioButton("Sampled when sampling (f)", self)
        self.by_fraction.setObjectName("policyByFraction")
        self.by_share = QRadioButton("At most this share reviewed", self)
        self.by_share.setObjectName("policyByShare")
        self.by_share.setToolTip(
            "ReviewDesk chooses the f whose expected review share at the cell's measured defect "
            "rate stays at most this."
        )
        self._how = QButtonGroup(self)
        self._how.addButton(self.by_fraction)
        self._how.addButton(self.by_share)
        self.fraction = self._percent("policyFraction", request.fraction or 0.1)
        self.max_share = self._percent("policyMaxShare", request.max_review_share or 0.25)
        self.max_share.setSingleStep(5.0)
        form.addRow(self.by_fraction, self.fraction)
        form.addRow(self.by_share, self.max_share)
        (self.by_share if request.max_review_share is not None else self.by_fraction).setChecked(
            True
        )
        self.floor = QDoubleSpinBox(self)
        self.floor.setObjectName("policyFloor")
        self.floor.setRange(0.0, 1.0)
        self.floor.setDecimals(2)
        self.floor.setSingleStep(0.05)
        self.floor.setSpecialValueText("any confidence")
        self.floor.setValue(request.min_confidence or 0.0)
        form.addRow("Confidence at least", self.floor)
        self.model = QComboBox(self)
        self.model.setObjectName("policyModel")
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.addItem(ANY_MODEL, None)
        for version in models:
            if version:
                self.model.addItem(version, version)
        self.model.setToolTip(
            "Only drafts of this model version. For any model version the plan is kept per "
            "version: a new version starts in screening."
        )
        if request.model:
            found = self.model.findData(request.model)
            if found < 0:
                self.model.addItem(request.model, request.model)
                found = self.model.count() - 1
            self.model.setCurrentIndex(found)
        form.addRow("Model version", self.model)
        left.addLayout(form)
        self.trivial = QCheckBox("Count trivial edits as defects too", self)
        self.trivial.setObjectName("policyTrivialEdits")
        self.trivial.setChecked(request.trivial_edits_count)
        left.addWidget(self.trivial)
        self.plan = plain_label(name="policyPlan")
        self.plan.setWordWrap(True)
        left.addWidget(self.plan)
        self.from_history = QCheckBox("Start sampling at once if history clears screening", self)
        self.from_history.setObjectName("policyFromHistory")
        left.addWidget(self.from_history)
        self.note = QLineEdit(self)
        self.note.setObjectName("policyNote")
        self.note.setPlaceholderText("Why (required, kept in the history)")
        left.addWidget(self.note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText("Start the policy")
        left.addWidget(self.buttons)
        layout.addLayout(left, 1)
        self.evidence = QLabel(self)
        self.evidence.setObjectName("policyEvidence")
        self.evidence.setTextFormat(Qt.TextFormat.PlainText)
        self.evidence.setWordWrap(True)
        self.evidence.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.evidence.setText(f"The recommendation's evidence\n\n{evidence}")
        layout.addWidget(self.evidence, 1)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for box in (self.aoql, self.fraction, self.max_share, self.floor):
            box.valueChanged.connect(self.update_preview)
        self.by_fraction.toggled.connect(self._choose)
        self.trivial.toggled.connect(self.update_preview)
        self.model.currentIndexChanged.connect(self.update_preview)
        typed = self.model.lineEdit()
        assert typed is not None  # editable
        typed.editingFinished.connect(self.update_preview)
        self.note.textChanged.connect(self._enable)
        self.preview: PlanPreview | None = None
        metrics = self.fontMetrics()
        self.resize(metrics.averageCharWidth() * 130, metrics.height() * 30)
        self._choose()
        self._enable()

    def _percent(self, name: str, share: float, *, top: float = 100.0) -> QDoubleSpinBox:
        """A share edited in percent, from 0.1% to ``top``."""
        box = QDoubleSpinBox(self)
        box.setObjectName(name)
        box.setRange(0.1, top)
        box.setDecimals(1)
        box.setSuffix(" %")
        box.setValue(share * 100)
        return box

    def _choose(self, _checked: bool = True) -> None:
        """f or the maximum review share: only the chosen one is editable."""
        self.fraction.setEnabled(self.by_fraction.isChecked())
        self.max_share.setEnabled(self.by_share.isChecked())
        self.update_preview()

    def chosen_model(self) -> str | None:
        """The model version typed or picked; None for any."""
        typed = self.model.currentText().strip()
        if not typed or typed == ANY_MODEL:
            return None
        found = self.model.findText(typed)
        data = self.model.itemData(found) if found >= 0 else typed
        return None if data is None else str(data)

    def request(self) -> PolicyRequest:
        floor = self.floor.value()
        by_share = self.by_share.isChecked()
        return PolicyRequest(
            category=self._request.category,
            aoql=self.aoql.value() / 100,
            fraction=None if by_share else self.fraction.value() / 100,
            max_review_share=self.max_share.value() / 100 if by_share else None,
            min_confidence=floor if floor > 0 else None,
            model=self.chosen_model(),
            trivial_edits_count=self.trivial.isChecked(),
            start_from_history=self.from_history.isChecked(),
            note=self.note.text().strip(),
        )

    def _enable(self) -> None:
        self.start_button.setEnabled(bool(self.note.text().strip()) and self.preview is not None)

    def update_preview(self) -> None:
        self._generation += 1
        generation = self._generation
        request, session = self.request(), self._session
        self.plan.setText("Computing the plan…")
        self._executor.submit(
            lambda: preview_policy(session, request),
            on_success=lambda preview: self._previewed(generation, preview),
            on_failure=lambda exc: self._preview_failed(generation, exc),
            label="policy preview",
        )

    def _previewed(self, generation: int, preview: PlanPreview) -> None:
        if generation != self._generation:
            return
        self.preview = preview
        plan, p = preview.plan, preview.defect_rate
        lines = []
        if self.by_share.isChecked():
            lines.append(
                f"Sampling fraction f = {plan.fraction:.3g} (1 in {round(1 / plan.fraction)}): "
                f"the most review that costs at most {self.max_share.value():g}% at the cell's "
                "defect rate."
            )
        lines += [
            f"Clearance number i = {plan.clearance}: every draft is reviewed until "
            f"{plan.clearance} in a row are clear, then {plan.fraction:.1%} of them at random.",
            f"Whatever the AI does, at most {preview.aoql:.1%} of the cell's drafts go out bad "
            "in the long run.",
        ]
        if p is None:
            lines.append(
                "No decision in this cell yet: no defect rate to plan with"
                + (" (the share is planned at a rate of 0)." if self.by_share.isChecked() else ".")
            )
        else:
            lines.append(
                f"At the cell's defect rate of {p:.2%} ({preview.defects} of the last "
                f"{preview.decisions} decisions{_of_model(preview.cell.model)}): expected "
                f"review share {plan.afi(p):.0%}, outgoing quality {plan.aoq(p):.2%} out bad."
            )
        lines.append(
            f"Recent history clears screening (the last {plan.clearance} decisions all clear)."
            if preview.clears_screening
            else f"Recent history does not clear screening: the cell starts by reviewing "
            f"{plan.clearance} drafts in a row."
        )
        self.from_history.setEnabled(preview.clears_screening)
        if not preview.clears_screening:
            self.from_history.setChecked(False)
        self.plan.setText("\n".join(lines))
        self._enable()

    def _preview_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self.preview = None
        self.plan.setText(str(exc))
        self.from_history.setChecked(False)
        self.from_history.setEnabled(False)
        self._enable()

    def start(self, lead: str, on_done: Callable[[PolicyView], None]) -> None:
        """Save the policy on the executor; ``on_done`` with its view once it is."""
        request, session = self.request(), self._session
        self._executor.submit(
            lambda: start_policy(session, request, lead),
            on_success=on_done,
            on_failure=lambda exc: self.plan.setText(f"Not started: {exc}"),
            label="start policy",
        )


def _of_model(model: str | None) -> str:
    return f" of model {model}" if model else ""


def request_from(
    category: str,
    *,
    target: float,
    rate: float | None,
    floor: float | None,
    model: str | None = None,
) -> PolicyRequest:
    """The plan a recommendation suggests: its sampling or spot-check rate as f, the share it
    lets be other than approved (1 - target) as the promised limit, the model version the
    recommendation was filtered to."""
    return PolicyRequest(
        category=category,
        aoql=round(max(0.001, 1 - target), 3),
        fraction=rate if rate is not None and 0 < rate <= 1 else 0.1,
        min_confidence=floor,
        model=model or None,
    )


def start_button(parent: QWidget) -> QPushButton:
    button = QPushButton("Start a policy…", parent)
    button.setObjectName("startPolicyButton")
    button.setEnabled(False)
    button.setToolTip(
        "Put the selected category under a sampling plan with a promised limit on what goes "
        "out bad, pre-filled from the recommendation."
    )
    return button

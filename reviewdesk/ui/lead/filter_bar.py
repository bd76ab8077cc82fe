"""The lead view's filters: period, category, model version, low-attention approvals; and its
busy state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from reviewdesk.ui.lead.format import key_text
from reviewdesk.ui.lead.jobs import PRESET_DAYS, LeadQuery, option_labels
from reviewdesk.ui.widgets.details import plain_label

ALL_TIME, CUSTOM = "all", "custom"
# Typing a date steps through several: wait this long after the last change before asking.
DATE_SETTLE_MS = 600
_FIRST = QDate(2000, 1, 1)  # shown as "first decision": a period with no start


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


class FilterBar(QWidget):
    """Emits ``changed`` when the lead changes a filter, ``refresh_requested`` for Refresh."""

    changed = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadFilters")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        gap = self.fontMetrics().height() // 2

        self.period = QComboBox(self)
        self.period.setObjectName("periodFilter")
        self.period.setAccessibleName("Period")
        for days in PRESET_DAYS:
            self.period.addItem(f"Last {days} days", days)
        self.period.addItem("All time", ALL_TIME)
        self.period.addItem("Custom", CUSTOM)
        self.period.setCurrentIndex(PRESET_DAYS.index(30))
        self.since = self._date_edit("sinceFilter", "From")
        self.since.setMinimumDate(_FIRST)
        self.since.setSpecialValueText("First decision")
        self.until = self._date_edit("untilFilter", "To")
        self.until.setMinimumDate(_FIRST.addDays(1))
        self.category = self._combo("categoryFilter", "Category", "All categories")
        self.model = self._combo("modelFilter", "Model version", "All model versions")
        self.low_attention = QCheckBox("Include low attention", self)
        self.low_attention.setObjectName("lowAttentionFilter")
        self.low_attention.setToolTip(
            "Approvals faster than the draft could be read. Left out of every figure unless "
            "ticked, as exports leave them out; the line beside the filters says how many."
        )
        self.refresh = QPushButton("Refresh", self)
        self.refresh.setObjectName("leadRefresh")
        self.refresh.setToolTip("Compute again (F5)")
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setObjectName("leadBusy")
        self.busy_bar.setAccessibleName("Computing")
        self.busy_bar.setRange(0, 0)  # indeterminate: it moves while the worker computes
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedWidth(self.fontMetrics().horizontalAdvance("M") * 6)
        self.busy_bar.setFixedHeight(self.fontMetrics().height() // 2 + 2)
        self.status = plain_label(name="muted")
        self.status.setAccessibleName("Lead view status")
        # It gives way (cut at the right) rather than widen the window.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 8)

        layout.addWidget(plain_label("Period", name="sectionTitle"))
        layout.addWidget(self.period)
        layout.addWidget(self.since)
        layout.addWidget(plain_label("–"))
        layout.addWidget(self.until)
        layout.addSpacing(gap)
        layout.addWidget(plain_label("Category", name="sectionTitle"))
        layout.addWidget(self.category)
        layout.addSpacing(gap)
        layout.addWidget(plain_label("Model", name="sectionTitle"))
        layout.addWidget(self.model)
        layout.addSpacing(gap)
        layout.addWidget(self.low_attention)
        layout.addSpacing(gap)
        layout.addWidget(self.refresh)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.status, 1)
        self.busy_bar.hide()

        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(DATE_SETTLE_MS)
        self._settle.timeout.connect(self.changed)
        self.period.currentIndexChanged.connect(self._period_chosen)
        self.category.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.model.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.low_attention.toggled.connect(lambda _on: self.changed.emit())
        self.since.dateChanged.connect(self._date_edited)
        self.until.dateChanged.connect(self._date_edited)
        self.refresh.clicked.connect(self.refresh_requested)
        self._busy = False

    def _date_edit(self, name: str, accessible: str) -> QDateEdit:
        edit = QDateEdit(self)
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("d MMM yyyy")
        edit.setDate(QDate.currentDate())
        return edit

    def _combo(self, name: str, accessible: str, everything: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        combo.setAccessibleName(accessible)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.setMinimumContentsLength(14)
        combo.addItem(everything, None)
        return combo

    # -- the query ----------------------------------------------------------------------------
    def query(self) -> LeadQuery:
        preset = self.period.currentData()
        category = self.category.currentData()
        model = self.model.currentData()
        low = self.low_attention.isChecked()
        if preset == CUSTOM:
            since = None if self.since.date() == _FIRST else _pydate(self.since.date())
            until = _pydate(self.until.date())
            if since is not None and since > until:
                since, until = until, since
            return LeadQuery(
                days=None,
                since=since,
                until=until,
                category=category,
                model=model,
                include_low_attention=low,
            )
        days = None if preset == ALL_TIME else int(preset)
        return LeadQuery(days=days, category=category, model=model, include_low_attention=low)

    def set_query(self, query: LeadQuery) -> None:
        """Show ``query`` in the controls, without emitting ``changed``."""
        with _Quiet(self):
            if query.days in PRESET_DAYS:
                self.period.setCurrentIndex(PRESET_DAYS.index(query.days))
            elif query.days is None and query.since is None and query.until is None:
                self.period.setCurrentIndex(self.period.findData(ALL_TIME))
            else:
                self.period.setCurrentIndex(self.period.findData(CUSTOM))
                self.since.setDate(_qdate(query.since) if query.since else _FIRST)
                if query.until:
                    self.until.setDate(_qdate(query.until))
            self._choose(self.category, query.category)
            self._choose(self.model, query.model)
            self.low_attention.setChecked(query.include_low_attention)

    def show_period(self, since: date | None, until: date) -> None:
        """The period a query resolved to (a preset counts back from the desk's today)."""
        with _Quiet(self):
            self.since.setDate(_qdate(since) if since else _FIRST)
            self.until.setDate(_qdate(until))

    def set_options(self, categories: Sequence[str], models: Sequence[str]) -> None:
        """Every category and model version there is; the current choice stays chosen."""
        with _Quiet(self):
            for combo, values, labels in (
                (self.category, categories, [(key_text(c), c) for c in categories]),
                (self.model, models, [(key_text(t), v) for t, v in option_labels(models)]),
            ):
                current = combo.currentData()
                while combo.count() > 1:
                    combo.removeItem(1)
                for label, value in labels:
                    combo.addItem(label, value)
                if current is not None and current not in values:
                    # Chosen, but no longer decided anywhere: keep it, so the filter stays put.
                    combo.addItem(key_text(current), current)
                self._choose(combo, current)

    @staticmethod
    def _choose(combo: QComboBox, value: str | None) -> None:
        index = combo.findData(value) if value is not None else 0
        if index < 0:
            combo.addItem(key_text(value), value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def _period_chosen(self, _index: int) -> None:
        custom = self.period.currentData() == CUSTOM
        if not custom:
            self._settle.stop()
        self.changed.emit()

    def _date_edited(self, _day: QDate) -> None:
        if self.period.currentData() != CUSTOM:
            with _Quiet(self):
                self.period.setCurrentIndex(self.period.findData(CUSTOM))
        self._settle.start()

    def say(self, text: str) -> None:
        """The line beside the filters: what is shown, or what went wrong."""
        self.status.setText(text)
        self.status.setToolTip(text)

    # -- busy ---------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """While the worker computes, the filters wait and the bar moves."""
        self._busy = busy
        for widget in (
            self.period,
            self.since,
            self.until,
            self.category,
            self.model,
            self.low_attention,
            self.refresh,
        ):
            widget.setEnabled(not busy)
        self.busy_bar.setVisible(busy)
        if busy:
            self._settle.stop()
            self.say("Computing…")

    def stop(self) -> None:
        self._settle.stop()


class _Quiet:
    """Blocks the filter bar's controls' signals for a programmatic change."""

    def __init__(self, bar: FilterBar) -> None:
        self._widgets = (
            bar.period,
            bar.since,
            bar.until,
            bar.category,
            bar.model,
            bar.low_attention,
        )
        self._was: list[bool] = []

    def __enter__(self) -> None:
        self._was = [w.blockSignals(True) for w in self._widgets]

    def __exit__(self, *exc: object) -> None:
        for widget, was in zip(self._widgets, self._was, strict=True):
            widget.blockSignals(was)

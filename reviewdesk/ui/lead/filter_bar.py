"""The lead view's filters: period, category, model version, low-attention approvals; and its
busy state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
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
COMBO_CHARS = 16  # the category and model boxes' width, in characters


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


class ElidedLabel(QLabel):
    """A plain-text line that ends in "…" when it is cut short (its tooltip has it whole);
    ``text()`` is the whole text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        self.style().drawItemText(
            painter,
            rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            text,
            self.foregroundRole(),
        )
        painter.end()


class FlowLayout(QLayout):
    """Items left to right, on as many lines as the width needs; the last item takes the rest
    of its line. A narrow window wraps the filters instead of growing to fit them."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        shown = self._shown()
        width = sum(i.sizeHint().width() for i in shown) + self._gap * max(0, len(shown) - 1)
        return QSize(width, max((i.sizeHint().height() for i in shown), default=0))

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        return size

    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def _place(self, rect: QRect, *, move: bool) -> int:
        """Lay the items out in ``rect`` (when ``move``); returns the height they take."""
        shown = self._shown()
        lines: list[list[QLayoutItem]] = [[]]
        x = 0
        for n, item in enumerate(shown):
            last = n == len(shown) - 1
            want = item.minimumSize().width() if last else item.sizeHint().width()
            if lines[-1] and x + want > rect.width():
                lines.append([])
                x = 0
            lines[-1].append(item)
            x += item.sizeHint().width() + self._gap
        y = rect.y()
        for line in lines:
            height = max(i.sizeHint().height() for i in line) if line else 0
            x = rect.x()
            for item in line:
                width = item.sizeHint().width()
                if item is shown[-1]:
                    width = max(item.minimumSize().width(), rect.right() + 1 - x)
                width = min(width, rect.width())
                if move:
                    hint = item.sizeHint().height()
                    item.setGeometry(QRect(QPoint(x, y + (height - hint) // 2), QSize(width, hint)))
                x += width + self._gap
            y += height + self._gap
        return y - rect.y() - (self._gap if lines else 0)


class FilterBar(QWidget):
    """Emits ``changed`` when the lead changes a filter, ``refresh_requested`` for Refresh."""

    changed = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadFilters")
        gap = self.fontMetrics().height() // 2
        layout = FlowLayout(self, spacing=gap)

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
        self.status = ElidedLabel(self)
        self.status.setObjectName("muted")
        self.status.setAccessibleName("Lead view status")
        # It gives way (cut at the right) rather than widen the window.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 5)
        # The bar keeps its room while hidden: the filters wrap the same way busy or not.
        policy = self.busy_bar.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.busy_bar.setSizePolicy(policy)

        # Groups that stay together when the bar wraps onto a second line.
        layout.addWidget(
            self._group(plain_label("Period", name="sectionTitle"), self.period, self.since,
                        plain_label("–"), self.until)
        )  # fmt: skip
        layout.addWidget(self._group(plain_label("Category", name="sectionTitle"), self.category))
        layout.addWidget(self._group(plain_label("Model", name="sectionTitle"), self.model))
        layout.addWidget(self._group(self.low_attention, self.refresh))
        layout.addWidget(self._group(self.busy_bar, self.status))
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

    def _group(self, *widgets: QWidget) -> QWidget:
        group = QWidget(self)
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            row.addWidget(widget)
        return group

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
        # A fixed width (a long name is cut short, whole in its list and its tooltip): a
        # producer's long category or model name must not widen the window.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARS)
        combo.addItem(everything, None)
        combo.currentIndexChanged.connect(lambda _i, c=combo: c.setToolTip(c.currentText()))
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
                combo.setToolTip(combo.currentText())
                # The list opens as wide as its longest name.
                metrics = combo.fontMetrics()
                widest = max(
                    metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())
                )
                combo.view().setMinimumWidth(widest + 3 * metrics.height())

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

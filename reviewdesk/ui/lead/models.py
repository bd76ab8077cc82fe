"""Qt item models over the services' results: the one source of both tables and charts.

Each model holds the frozen rows of one report. ``DisplayRole`` gives the raw value (counts,
rates in percent, dates), which the charts' model mappers read and the tables sort by;
``TEXT_ROLE`` gives what a person reads ("82.4% (79.1–85.3)"), which ``TextDelegate`` draws in
the tables and screen readers get as the accessible text. So a chart and its table can never
disagree: both are views of the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from reviewdesk.services.escalations import Escalation
from reviewdesk.services.recommend import Recommendation, RecommendationReport
from reviewdesk.services.stats import BANDS, GroupStats, Rate, StatsReport
from reviewdesk.ui.lead import format as fmt
from reviewdesk.ui.text import one_line, reason_label

TEXT_ROLE = Qt.ItemDataRole.UserRole + 1  # str: the cell as shown
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a key that sorts empty cells first
KEY_ROLE = Qt.ItemDataRole.UserRole + 3  # the row's key (a category, a cursor…)
TONE_ROLE = Qt.ItemDataRole.UserRole + 4  # str: a tone the view colours ("red", "muted"…)

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invisible root: a table's rows have no parent
Row = TypeVar("Row")


@dataclass(frozen=True)
class Column(Generic[Row]):
    title: str
    value: Callable[[Row], Any]  # raw: for charts and sorting
    text: Callable[[Row], str] | None = None  # shown; default: the value as text
    tip: Callable[[Row], str] | None = None
    numeric: bool = True
    header_tip: str = ""


def _rate(attr: str, what: str, title: str, *, interval: bool = True) -> Column[GroupStats]:
    """A column of one ``Rate`` of ``GroupStats``: percent, with its interval as text."""

    def get(g: GroupStats) -> Rate | None:
        return getattr(g, attr)  # type: ignore[no-any-return]

    return Column(
        title,
        lambda g: fmt.rate_value(get(g)),
        lambda g: fmt.rate_text(get(g), interval=interval),
        lambda g: fmt.rate_tip(get(g), what),
        header_tip="With its 95% Wilson interval." if interval else "",
    )


def _count(title: str, value: Callable[[Row], int], tip: str = "") -> Column[Row]:
    return Column(title, value, lambda r: fmt.count_text(value(r)), header_tip=tip)


class RowTableModel(QAbstractTableModel, Generic[Row]):
    """A read-only table of frozen rows, replaced whole when new data arrives."""

    COLUMNS: Sequence[Column[Any]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(self._rows)

    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, index: int) -> Row:
        return self._rows[index]

    def update_rows(self, rows: Sequence[Row]) -> None:
        """The same rows with new values (as many, in the same order): the selection stays."""
        if len(rows) != len(self._rows):
            self.set_rows(rows)
            return
        self._rows = list(rows)
        if rows:
            last = self.index(len(rows) - 1, len(self.COLUMNS) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def column_index(self, title: str) -> int:
        return next(i for i, c in enumerate(self.COLUMNS) if c.title == title)

    def rowCount(self, parent: Index = _ROOT) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        column = self.COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole and column.header_tip:
            return column.header_tip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _qt_value(column.value(row))
        if role in (TEXT_ROLE, Qt.ItemDataRole.AccessibleTextRole):
            return self.text(row, column)
        if role == SORT_ROLE:
            value = column.value(row)
            if value is None:
                return float("-inf") if column.numeric else ""
            return _qt_value(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tip(row) if column.tip else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        if role == KEY_ROLE:
            return self.key(row)
        if role == TONE_ROLE:
            return self.tone(row, index.column())
        return None

    def text(self, row: Row, column: Column[Row]) -> str:
        if column.text is not None:
            return column.text(row)
        value = column.value(row)
        return fmt.DASH if value is None else str(value)

    def key(self, row: Row) -> Any:
        return None

    def tone(self, row: Row, column: int) -> str | None:
        return None


def _alignment(column: Column[Any]) -> int:
    horizontal = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
    return int(horizontal | Qt.AlignmentFlag.AlignVCenter)


def _qt_value(value: Any) -> Any:
    # QtCharts' mappers read dates as QDate (to milliseconds since the epoch).
    if isinstance(value, date):
        return QDate(value.year, value.month, value.day)
    return value


# -- statistics -----------------------------------------------------------------------------------
def _key0(g: GroupStats) -> str | None:
    return g.key[0] if g.key else None


_LEFT_OUT: Column[GroupStats] = _count(
    "Left out",
    lambda g: g.low_attention_left_out,
    "Low-attention approvals left out of this row's figures, as exports leave them out "
    "(Include low-attention approvals counts them)",
)


class CategoryModel(RowTableModel[GroupStats]):
    """One row per category. Columns 2–5 (the outcome counts) feed the stacked bar chart."""

    COLUMNS = (
        Column("Category", _key0, lambda g: fmt.key_text(_key0(g)), numeric=False),
        _count("Decided", lambda g: g.decided, "Live decisions on non-gold drafts"),
        _count("Approved", lambda g: g.approved.count, "Approved unchanged"),
        _count("Edited", lambda g: g.edited.count),
        _count("Rejected", lambda g: g.rejected.count),
        _count("Escalated", lambda g: g.escalated.count),
        _rate("approved", "decisions approved unchanged", "Approval"),
        _rate("edited", "decisions edited", "Edit rate", interval=False),
        _rate("trivial_edits", "decisions with a trivial edit", "Trivial edits", interval=False),
        Column(
            "Edit size",
            lambda g: g.mean_edit_distance,
            lambda g: fmt.DASH if g.mean_edit_distance is None else f"{g.mean_edit_distance:.3f}",
            header_tip="Mean normalized edit distance of the edits",
        ),
        _rate("rejected", "decisions rejected", "Rejection rate", interval=False),
        _rate("escalated", "decisions escalated", "Escalation rate", interval=False),
        Column(
            "SLA breaches",
            lambda g: g.sla_breaches.count,
            lambda g: (
                f"{g.sla_breaches.count} of {g.sla_breaches.total}"
                if g.sla_breaches.total
                else fmt.DASH
            ),
            header_tip="Escalations answered after their due time, or open past it",
        ),
        Column(
            "Median review",
            lambda g: g.median_review_seconds,
            lambda g: fmt.seconds_text(g.median_review_seconds),
            header_tip="Estimated from the review-time histogram",
        ),
        _rate("low_attention", "decisions flagged low-attention", "Low attention", interval=False),
        _LEFT_OUT,
        _rate("gold_accuracy", "known-answer drafts answered right", "Gold accuracy"),
    )
    FIRST_OUTCOME, LAST_OUTCOME = 2, 5

    def set_report(self, report: StatsReport) -> None:
        self.set_rows(report.groups)

    def key(self, row: GroupStats) -> Any:
        return _key0(row)


class ReviewerModel(RowTableModel[GroupStats]):
    COLUMNS = (
        Column("Reviewer", _key0, lambda g: fmt.key_text(_key0(g)), numeric=False),
        _count("Decided", lambda g: g.decided),
        _rate("approved", "decisions approved unchanged", "Approval"),
        _rate("edited", "decisions edited", "Edited", interval=False),
        _rate("rejected", "decisions rejected", "Rejected", interval=False),
        _rate("escalated", "decisions escalated", "Escalated", interval=False),
        Column(
            "Median review",
            lambda g: g.median_review_seconds,
            lambda g: fmt.seconds_text(g.median_review_seconds),
            header_tip="Estimated from the review-time histogram",
        ),
        _rate("low_attention", "decisions flagged low-attention", "Low attention", interval=False),
        _LEFT_OUT,
        _rate("gold_accuracy", "known-answer drafts answered right", "Gold accuracy"),
    )

    def set_report(self, report: StatsReport) -> None:
        self.set_rows(report.groups)

    def key(self, row: GroupStats) -> Any:
        return _key0(row)


@dataclass(frozen=True)
class TimelinePoint:
    period: date
    category: str | None  # None: all selected categories together
    stats: GroupStats


ALL_CATEGORIES = "All categories"


class TimelineModel(RowTableModel[TimelinePoint]):
    """Approval per period, one row per (period, category) with decisions, and rows for all
    categories together (``KEY_ROLE`` None). The approval chart draws one line and band per
    key, from these rows."""

    PERIOD, CATEGORY, DECIDED, APPROVAL, LOW, HIGH = range(6)
    COLUMNS = (
        Column("Period", lambda p: p.period, lambda p: f"{p.period:%d %b %Y}"),
        Column(
            "Category",
            lambda p: p.category or ALL_CATEGORIES,
            lambda p: fmt.key_text(p.category, none=ALL_CATEGORIES),
            numeric=False,
        ),
        _count("Decided", lambda p: p.stats.decided),
        Column(
            "Approval",
            lambda p: fmt.rate_value(p.stats.approved),
            lambda p: fmt.rate_text(p.stats.approved),
            lambda p: fmt.rate_tip(p.stats.approved, "decisions approved unchanged"),
        ),
        Column(
            "Low", lambda p: p.stats.approved.low * 100, lambda p: fmt.percent(p.stats.approved.low)
        ),
        Column(
            "High",
            lambda p: p.stats.approved.high * 100,
            lambda p: fmt.percent(p.stats.approved.high),
        ),
    )

    def set_reports(self, timeline: StatsReport, overall: StatsReport) -> None:
        points = [
            TimelinePoint(date.fromisoformat(str(g.key[1])), g.key[0], g)
            for g in timeline.groups
            if g.decided
        ]
        points += [
            TimelinePoint(date.fromisoformat(str(g.key[0])), None, g)
            for g in overall.groups
            if g.decided
        ]
        points.sort(key=lambda p: (p.category is not None, p.category or "", p.period))
        self.set_rows(points)

    def key(self, row: TimelinePoint) -> Any:
        return row.category

    def keys(self) -> list[str | None]:
        """The series the rows hold, all categories together first."""
        seen: dict[str | None, None] = {}
        for point in self._rows:
            seen.setdefault(point.category, None)
        return list(seen)


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    rate: Rate  # of decided
    rejections: int


class ReasonModel(RowTableModel[ReasonRow]):
    """Rejections by reason, most frequent first; column 1 feeds the reasons bar chart."""

    COUNT = 1
    COLUMNS = (
        Column("Reason", lambda r: r.reason, lambda r: reason_label(r.reason), numeric=False),
        _count("Rejections", lambda r: r.rate.count),
        Column(
            "Of decided",
            lambda r: fmt.rate_value(r.rate),
            lambda r: fmt.rate_text(r.rate),
            lambda r: fmt.rate_tip(r.rate, "decisions rejected for this reason"),
            header_tip="Share of all decisions, with its 95% Wilson interval",
        ),
        Column(
            "Of rejections",
            lambda r: r.rate.count / r.rejections * 100 if r.rejections else None,
            lambda r: fmt.percent(r.rate.count / r.rejections if r.rejections else None),
        ),
    )

    def set_total(self, total: GroupStats) -> None:
        rows = [ReasonRow(k, v, total.rejected.count) for k, v in total.rejected_by_reason.items()]
        rows.sort(key=lambda r: (-r.rate.count, r.reason))
        self.set_rows(rows)

    def key(self, row: ReasonRow) -> Any:
        return row.reason


# -- recommendations ------------------------------------------------------------------------------
_BAND_ORDER = {b.label: i for i, b in enumerate(BANDS)}


class RecommendationModel(RowTableModel[Recommendation]):
    """Each category's recommendation, followed by those of its confidence bands."""

    OUTCOME = 2
    COLUMNS = (
        Column("Category", lambda r: r.category, lambda r: fmt.key_text(r.category), numeric=False),
        Column(
            "Confidence",
            lambda r: r.band or "",
            lambda r: f"band {r.band}" if r.band else "all",
            numeric=False,
        ),
        Column(
            "Recommendation",
            lambda r: r.verdict.outcome.value,
            lambda r: fmt.outcome_text(r.verdict),
            lambda r: r.verdict.explanation,
            numeric=False,
        ),
        _count("Reviews", lambda r: r.verdict.n, "Live decisions counted (n)"),
        Column(
            "Approval",
            lambda r: fmt.rate_value(r.verdict.approval),
            lambda r: fmt.rate_text(r.verdict.approval),
            lambda r: fmt.rate_tip(r.verdict.approval, "decisions approved"),
            header_tip="With its 95% Wilson interval",
        ),
        Column(
            "Bound",
            lambda r: r.verdict.bound * 100,
            lambda r: fmt.percent(r.verdict.bound),
            header_tip="Anytime-valid lower bound of approval: removal needs it to reach the "
            "target (docs/recommendations.md)",
        ),
        Column(
            "Trivial edits",
            lambda r: fmt.rate_value(r.verdict.trivial_edits),
            lambda r: fmt.rate_text(r.verdict.trivial_edits, interval=False),
        ),
        Column(
            "Escalations",
            lambda r: sum(r.verdict.escalations.values()),
            lambda r: fmt.escalations_text(r.verdict.escalations),
        ),
        Column(
            "Trend",
            lambda r: r.verdict.trend.z,
            lambda r: fmt.trend_text(r.verdict),
            header_tip="Approval of the last period against the one before, one-sided test",
        ),
        Column(
            "More reviews",
            lambda r: r.verdict.more_reviews_needed,
            lambda r: (
                fmt.DASH
                if r.verdict.more_reviews_needed is None
                else fmt.count_text(r.verdict.more_reviews_needed)
            ),
            header_tip="Reviews still needed before removal could be shown, at today's rate",
        ),
        Column("Rule", lambda r: r.verdict.rule.value, fmt.rule_text, numeric=False),
    )

    def set_report(self, report: RecommendationReport) -> None:
        rows = [*report.categories, *report.bands]
        rows.sort(key=lambda r: (r.category, r.band is not None, _BAND_ORDER.get(r.band or "", 0)))
        self.set_rows(rows)

    def key(self, row: Recommendation) -> Any:
        return (row.category, row.band)

    def tone(self, row: Recommendation, column: int) -> str | None:
        if column == self.OUTCOME:
            return fmt.OUTCOME_TONES[row.verdict.outcome]
        return "muted" if row.band is not None and column == 0 else None


class CategoryRowsOnly(QSortFilterProxyModel):
    """The recommendations of whole categories, or with their bands too."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._bands = False

    def set_show_bands(self, show: bool) -> None:
        self.beginFilterChange()
        self._bands = show
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:  # noqa: N802 - Qt override
        if self._bands:
            return True
        model = self.sourceModel()
        key = model.index(row, 0, parent).data(KEY_ROLE)
        return key is None or key[1] is None


# -- escalations ----------------------------------------------------------------------------------
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class InboxRow:
    escalation: Escalation
    due: str  # as shown, relative to when the inbox was read


class EscalationModel(RowTableModel[InboxRow]):
    """The inbox: open escalations by due time (overdue ones tinted), then resolved ones."""

    COLUMNS = (
        Column(
            "Severity",
            lambda r: _SEVERITY_ORDER[r.escalation.severity.value],
            lambda r: r.escalation.severity.value.capitalize(),
            numeric=False,
        ),
        Column("Due", lambda r: r.escalation.due_at.timestamp(), lambda r: r.due, numeric=False),
        Column(
            "State", lambda r: _state(r.escalation), lambda r: _state(r.escalation), numeric=False
        ),
        Column(
            "Draft",
            lambda r: r.escalation.id,
            lambda r: one_line(r.escalation.id, 40),
            numeric=False,
        ),
        Column(
            "Category",
            lambda r: r.escalation.category,
            lambda r: fmt.key_text(r.escalation.category),
            numeric=False,
        ),
        Column(
            "Reviewer",
            lambda r: r.escalation.reviewer,
            lambda r: fmt.key_text(r.escalation.reviewer),
            numeric=False,
        ),
        Column(
            "Note",
            lambda r: r.escalation.note or "",
            lambda r: one_line(r.escalation.note or "", 80),
            lambda r: r.escalation.note or "",
            numeric=False,
        ),
    )
    SEVERITY, DUE, STATE = 0, 1, 2

    def key(self, row: InboxRow) -> Any:
        return row.escalation.cursor

    def tone(self, row: InboxRow, column: int) -> str | None:
        e = row.escalation
        if e.overdue:
            return "overdue"
        if e.resolution is not None:
            return "muted"
        if column == self.SEVERITY:
            return f"severity-{e.severity.value}"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and index.isValid():
            e = self._rows[index.row()].escalation
            return "overdue" if e.overdue else ""
        return super().data(index, role)


def _state(e: Escalation) -> str:
    if e.resolution is not None:
        text = e.resolution.value.replace("_", " ")
        return f"{text} (late)" if e.breached else text
    return "overdue" if e.overdue else "open"


# -- the delegate ---------------------------------------------------------------------------------
class TextDelegate(QStyledItemDelegate):
    """Draws a cell's ``TEXT_ROLE`` instead of its raw value, coloured by its tone."""

    def __init__(self, tones: dict[str, QColor], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tones = tones

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        text = index.data(TEXT_ROLE)
        if text is not None:
            option.text = str(text)
            # Also for cells whose raw value is empty, so that they are sized by their text.
            option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
        tone = index.data(TONE_ROLE)
        color = self.tones.get(f"{tone}-fg") if tone else None
        if color is not None:  # a selected row keeps the palette's highlighted text
            option.palette.setColor(option.palette.ColorRole.Text, color)
        background = self.tones.get(f"{tone}-bg") if tone else None
        if background is not None:
            option.backgroundBrush = QBrush(background)

"""The lead view's Alerts tab: the open alerts, most severe first, with the evidence of the one
chosen (what, where, the figures that raised it) and a key to acknowledge it (A)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.services.alerts import Alert
from reviewdesk.ui.lead.charts import make_table
from reviewdesk.ui.lead.models import Column, RowTableModel
from reviewdesk.ui.text import local_time, one_line
from reviewdesk.ui.widgets.details import plain_label

_RULE_TITLES = {
    "defect_rate": "Defect rate",
    "approval_rate": "Approval rate",
    "low_confidence": "Low confidence",
    "escalation_spike": "Escalation spike",
    "escalation_overdue": "Escalation overdue",
    "oldest_waiting": "Oldest waiting",
    "waiting_per_reviewer": "Waiting per reviewer",
}
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def rule_title(rule: str) -> str:
    return _RULE_TITLES.get(rule, rule)


def _state(alert: Alert) -> str:
    if alert.acknowledged_by:
        return f"acknowledged by {alert.acknowledged_by}"
    return "open"


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _figure(key: str, value: object) -> str:
    """A figure as a person reads it: shares as percentages, times local, the rest as is."""
    if isinstance(value, float) and ("rate" in key or key.endswith("_limit")) and 0 <= value <= 1:
        return f"{value:.1%}"
    if isinstance(value, str):
        try:
            return local_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


class AlertModel(RowTableModel[Alert]):
    COLUMNS = (
        Column(
            "Severity",
            lambda a: _SEVERITY_ORDER[a.severity.value],
            lambda a: a.severity.value,
            numeric=False,
        ),
        Column("Alert", lambda a: rule_title(a.rule), numeric=False),
        Column("Where", lambda a: a.subject, lambda a: one_line(a.subject, 60), numeric=False),
        Column("Since", lambda a: a.raised_at.timestamp(), lambda a: local_time(a.raised_at)),
        Column("State", _state, numeric=False),
    )


class AlertsView(QWidget):
    acknowledge_requested = Signal(int)  # alert id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertsView")
        layout = QVBoxLayout(self)
        self.summary = plain_label("No open alert.", self, name="cardTitle")
        layout.addWidget(self.summary)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.model = AlertModel(self)
        self.table = make_table(self.model, name="Open alerts", sortable=False)
        self.splitter.addWidget(self.table)
        detail = QWidget(self.splitter)
        box = QVBoxLayout(detail)
        box.setContentsMargins(0, 0, 0, 0)
        self.title = plain_label("", detail, name="cardTitle")
        self.message = plain_label("", detail)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.evidence = QPlainTextEdit(detail)
        self.evidence.setObjectName("alertEvidence")
        self.evidence.setReadOnly(True)
        self.evidence.setAccessibleName("The figures that raised the alert")
        row = QHBoxLayout()
        self.ack_button = QPushButton("Acknowledge (A)", detail)
        self.ack_button.clicked.connect(self._acknowledge)
        row.addWidget(self.ack_button)
        row.addStretch(1)
        for widget in (self.title, self.message):
            box.addWidget(widget)
        box.addWidget(plain_label("Evidence", detail, name="muted"))
        box.addWidget(self.evidence, 1)
        box.addLayout(row)
        self.splitter.addWidget(detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter, 1)
        # With no alert, a sentence instead of an empty table and an empty evidence box.
        self.empty = plain_label(
            "Nothing needs attention. An alert is raised here when a rule's condition holds "
            "(an escalation past its response time, a category's defects rising above its usual "
            "rate, drafts waiting too long), and cleared when it ends.",
            self,
            name="muted",
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.empty, 1)
        ack = QAction("Acknowledge the alert", self)
        ack.setShortcut(QKeySequence(Qt.Key.Key_A))
        ack.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        ack.triggered.connect(self._acknowledge)
        self.addAction(ack)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.set_alerts([])

    def set_alerts(self, alerts: list[Alert]) -> None:
        chosen = self.current()
        self.model.set_rows(alerts)
        n = len(alerts)
        self.summary.setText(f"{n} open alert{'s' if n != 1 else ''}" if n else "No open alert.")
        ids = [a.id for a in alerts]
        self.splitter.setVisible(bool(ids))
        self.empty.setVisible(not ids)
        if ids:
            index = ids.index(chosen.id) if chosen is not None and chosen.id in ids else 0
            self.table.selectRow(index)
        else:
            self.show_alert(None)

    def current(self) -> Alert | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.row(rows[0].row())

    def _selected(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self.show_alert(self.current())

    def show_alert(self, alert: Alert | None) -> None:
        if alert is None:
            self.title.setText("")
            self.message.setText("")
            self.evidence.setPlainText("")
            self.ack_button.setEnabled(False)
            return
        self.title.setText(
            f"{alert.severity.value.capitalize()}: {rule_title(alert.rule)}, {alert.subject}"
        )
        self.message.setText(alert.message)
        lines = [f"Raised: {local_time(alert.raised_at)}"]
        if alert.acknowledged_at is not None:
            when = local_time(alert.acknowledged_at)
            lines.append(f"Acknowledged: {when} by {alert.acknowledged_by}")
        lines += [f"{_label(key)}: {_figure(key, value)}" for key, value in alert.figures.items()]
        self.evidence.setPlainText("\n".join(lines))
        self.ack_button.setEnabled(alert.acknowledged_at is None)

    def _acknowledge(self) -> None:
        alert = self.current()
        if alert is not None and alert.acknowledged_at is None:
            self.ack_button.setEnabled(False)
            self.acknowledge_requested.emit(alert.id)

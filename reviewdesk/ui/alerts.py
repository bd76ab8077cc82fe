"""Alerts in the app: read (and, for a lead, evaluated) on the worker thread, shown in the lead
view's Alerts tab, told to reviewers when they concern them, and put on the desktop (system
tray) for critical and high ones when the window is in the background.

``AlertMonitor`` reads the open alerts when the database says alerts changed (any change, on
SQLite, which cannot tell), and a lead's monitor evaluates the rules every ``EVALUATE_MS`` too,
since time alone raises some (an escalation past its response time). A reviewer's monitor
never polls: an idle desk still makes no query.
"""

from __future__ import annotations

import logging
import math
import time

from PySide6.QtCore import QObject, QTimer, Signal

from reviewdesk.core.alerts import Rule
from reviewdesk.core.domain import Severity
from reviewdesk.services.alerts import Alert, AlertService
from reviewdesk.storage.change_feed import Change
from reviewdesk.ui.operations import OpenDesk
from reviewdesk.ui.worker import Executor

log = logging.getLogger(__name__)

EVALUATE_MS = 60_000
CHANGE_COALESCE_MS = 200
# A lead's desk evaluates again on the team's work at most this often (each evaluation reads
# the last days' decisions); a change of the alerts themselves is read at once.
EVALUATE_AFTER_CHANGE_MS = 10_000
# What a reviewer is told of: the queue's state and a category's quality, not a lead's work.
REVIEWER_RULES = frozenset(
    {
        Rule.OLDEST_WAITING.value,
        Rule.WAITING_PER_REVIEWER.value,
        Rule.LOW_CONFIDENCE.value,
        Rule.DEFECT_RATE.value,
        Rule.APPROVAL_RATE.value,
    }
)
DESKTOP_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})


def concerns_reviewers(alert: Alert) -> bool:
    return alert.rule in REVIEWER_RULES


class AlertMonitor(QObject):
    alerts_changed = Signal(object)  # list[Alert], open ones, most severe first
    raised = Signal(object)  # Alert: open now, not seen open before by this monitor
    failed = Signal(object)  # Exception

    def __init__(
        self,
        executor: Executor,
        session: OpenDesk,
        *,
        evaluate: bool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self._session = session
        self._service: AlertService | None = None  # built on the worker thread
        self.evaluates = evaluate
        self.alerts: list[Alert] = []
        self._seen: set[int] | None = None  # None: the first read raises nothing
        self._busy = False
        self._again = False
        self._stopped = False
        self._evaluated_at = -math.inf
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.setInterval(CHANGE_COALESCE_MS)
        self._change_timer.timeout.connect(self.refresh)
        self._evaluate_timer = QTimer(self)
        self._evaluate_timer.setInterval(EVALUATE_MS)
        self._evaluate_timer.timeout.connect(self.refresh)

    def start(self) -> None:
        if self.evaluates:
            self._evaluate_timer.start()
        self.refresh()

    def stop(self) -> None:
        self._stopped = True
        self._change_timer.stop()
        self._evaluate_timer.stop()

    def database_changed(self, change: Change) -> None:
        if self._stopped:
            return
        # A lead evaluates again when the work changed; anyone reads when alerts changed.
        if self._change_timer.isActive():
            return
        if change.touches("alert"):
            self._change_timer.start(CHANGE_COALESCE_MS)
        elif self.evaluates and change.touches("draft", "decision"):
            since = (time.monotonic() - self._evaluated_at) * 1000
            self._change_timer.start(int(max(CHANGE_COALESCE_MS, EVALUATE_AFTER_CHANGE_MS - since)))

    def _alerts(self) -> AlertService:
        if self._service is None:
            self._service = AlertService(self._session.desk)
        return self._service

    def refresh(self) -> None:
        """Read the open alerts (a lead's monitor evaluates the rules first)."""
        if self._stopped:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        evaluate = self.evaluates

        if evaluate:
            self._evaluated_at = time.monotonic()

        def job() -> list[Alert]:
            service = self._alerts()
            return service.evaluate().open if evaluate else service.open_alerts()

        self._executor.submit(job, on_success=self._read, on_failure=self._failed, label="alerts")

    def _read(self, alerts: list[Alert]) -> None:
        self._busy = False
        if self._stopped:
            return
        self.alerts = alerts
        open_ids = {a.id for a in alerts}
        if self._seen is not None:
            for alert in alerts:
                if alert.id not in self._seen:
                    self.raised.emit(alert)
        self._seen = open_ids
        self.alerts_changed.emit(alerts)
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        if not self._stopped:
            log.warning("reading the alerts failed: %s", exc)
            self.failed.emit(exc)

    def acknowledge(self, alert_id: int, by: str) -> None:
        def job() -> Alert:
            return self._alerts().acknowledge(alert_id, by=by)

        self._executor.submit(
            job, on_success=lambda _a: self.refresh(), on_failure=self._failed, label="ack alert"
        )

"""``reviewdesk gui --screenshot PATH`` with ``REVIEWDESK_SCREENSHOT_VIEW=lead`` or ``inbox``:
once the desk is open, switch to the lead view, wait for its figures (and for ``inbox``, the
escalation inbox, with a resolution being written), save a PNG of the window and quit.

The database is a throwaway one seeded with the team demo's history
(``services.demo_history.seed_team_history``), shown over its last 90 days as the team demo is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, SignalInstance
from PySide6.QtWidgets import QApplication, QWidget

from reviewdesk.services.escalations import Resolution
from reviewdesk.ui.lead.jobs import LeadData, LeadQuery
from reviewdesk.ui.lead.view import RECOMMENDATIONS

if TYPE_CHECKING:
    from reviewdesk.ui.main_window import MainWindow

TIMEOUT_MS = 90_000
SETTLE_MS = 400  # layouts and the charts' first paint
MODES = ("lead", "inbox", "policies", "start_policy", "alerts")
DAYS = 90  # the team demo's whole history, as ``reviewdesk gui --demo-team`` opens on
ALERT_WAIT_TRIES = 40  # 10 s for the first evaluation of the alert rules


class LeadScreenshot(QObject):
    def __init__(
        self,
        window: MainWindow,
        attached: SignalInstance,
        path: Path,
        mode: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._path = path
        self._mode = mode
        self._shot = False
        self._dialog: QWidget | None = None
        self.exit_code = 1
        window.set_lead_role(True)  # for this run only: the settings file is not written
        attached.connect(self._attached)
        QTimer.singleShot(TIMEOUT_MS, lambda: self._shoot("timeout"))

    def _attached(self, _controller: Any) -> None:
        lead = self._window.lead_view
        lead.computed.connect(self._computed)
        lead.filters.set_query(LeadQuery(days=DAYS))
        self._window.show_lead()

    def _computed(self, _data: LeadData) -> None:
        if self._shot:
            return
        lead = self._window.lead_view
        if self._mode == "start_policy":
            self._shot = True
            lead.tabs.setCurrentIndex(RECOMMENDATIONS)
            rows = lead.recommendation_rows
            for row in range(rows.rowCount()):
                lead.recommendation_table.selectRow(row)
                if lead.start_policy.isEnabled():
                    break
            dialog = lead.open_start_policy()
            if dialog is not None:
                dialog.note.setText("Approval 98% with an anytime bound of 96%")
                self._dialog = dialog
            QTimer.singleShot(SETTLE_MS * 5, lambda: self._shoot("start_policy"))
            return
        if self._mode == "policies":
            self._shot = True
            lead.tabs.setCurrentWidget(lead.policies)
            QTimer.singleShot(SETTLE_MS * 5, lambda: self._shoot("policies"))
            return
        if self._mode == "inbox":
            lead.inbox.loaded.connect(self._inbox_loaded)
            lead.tabs.setCurrentWidget(lead.inbox)
            return
        if self._mode == "alerts":
            self._shot = True
            lead.tabs.setCurrentWidget(lead.alerts)
            self._alerts_shown(ALERT_WAIT_TRIES)
            return
        self._shot = True
        QTimer.singleShot(SETTLE_MS, lambda: self._shoot("lead"))

    def _alerts_shown(self, tries: int) -> None:
        """Shoot once the lead's first evaluation has listed its alerts (or it found none)."""
        if self._window.lead_view.alerts.model.rowCount() or tries <= 0:
            QTimer.singleShot(SETTLE_MS, lambda: self._shoot("alerts"))
        else:
            QTimer.singleShot(250, lambda: self._alerts_shown(tries - 1))

    def _inbox_loaded(self) -> None:
        if self._shot:
            return
        self._shot = True
        inbox = self._window.lead_view.inbox
        critical = [r.escalation for r in inbox.model.rows if r.escalation.severity == "critical"]
        if critical:
            inbox.select(critical[0].cursor)
        panel = inbox.panel
        escalation = panel.escalation
        if escalation is not None and escalation.resolution is None:
            # A lead at work: the corrected text and the note written, not yet sent.
            panel.choose(Resolution.SEND_EDITED)
            panel.edited.setPlainText(
                escalation.draft.rstrip()
                + "\n\nWe have noted that you dispute this charge: a colleague from billing will "
                "call you today to go through it with you."
            )
            panel.note.setPlainText("Billing checked the charge; the customer gets a call-back.")
        QTimer.singleShot(SETTLE_MS, lambda: self._shoot("inbox"))

    def _shoot(self, what: str) -> None:
        if what == "timeout" and self.exit_code == 0:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        widget = self._dialog if self._dialog is not None else self._window
        saved = widget.grab().save(str(self._path), "PNG")
        if saved:
            print(f"reviewdesk: saved {self._path} ({what})", file=sys.stderr)
        else:
            print(f"reviewdesk: could not write {self._path}", file=sys.stderr)
        self.exit_code = 0 if saved and what in MODES else 1
        QApplication.exit(self.exit_code)

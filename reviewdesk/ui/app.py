"""The GUI's composition root: ``reviewdesk gui`` starts here (``run_gui``).

Start-up, in this order: the QApplication (one app id everywhere), the settings file, the crash
hook, the background executor, which starts opening the database at once (the embedded one gets
the demo queue on first use), then the window, built meanwhile; the review starts when the
database is open. Shut-down runs the other way: the controller stops, any decision taken is
sent, the desk gives back every lease it holds and closes on the executor, the executor's
thread ends, the hook is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QRect, QSocketNotifier, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from reviewdesk import __version__
from reviewdesk.config import paths
from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import Severity
from reviewdesk.core.errors import ReviewDeskError, SchemaOutOfDate
from reviewdesk.storage.engine import URL_ENV, resolve_target
from reviewdesk.ui import screenshot_session, style
from reviewdesk.ui.alerts import AlertMonitor
from reviewdesk.ui.crash import CrashReporter
from reviewdesk.ui.dialogs.decision import EscalateDialog
from reviewdesk.ui.dialogs.password import PasswordDialog
from reviewdesk.ui.dialogs.settings_dialog import SettingsResult
from reviewdesk.ui.live import ChangeListener
from reviewdesk.ui.main_window import MainWindow
from reviewdesk.ui.operations import (
    OpenDesk,
    Opener,
    SessionInfo,
    TargetCheck,
    check_target,
    keyring_available,
    store_password,
    with_password,
)
from reviewdesk.ui.review_controller import BreakInfo, ReviewController, ReviewState
from reviewdesk.ui.settings import UiSettings
from reviewdesk.ui.worker import Executor

if TYPE_CHECKING:
    from reviewdesk.ui.lead.screenshot import LeadScreenshot

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1280, 800)
# The team demo's lead view opens on this many days: its whole history.
TEAM_DEMO_DAYS = 90
SCREENSHOT_TIMEOUT_MS = 60_000
# Hidden switches for generating documentation and measuring start-up (see docs/benchmarks.md):
SCREENSHOT_DIALOG_ENV = "REVIEWDESK_SCREENSHOT_DIALOG"  # "escalate": shoot the escalation dialog
# ("export": the export dialog after exporting a throwaway database's sessions, card shown)
# "break": shoot the break screen; "summary": shoot the summary after ending a session. Both on
# a throwaway database seeded with the reviewer's recent sessions (screenshot_session).
SCREENSHOT_SESSION_ENV = "REVIEWDESK_SCREENSHOT_SESSION"
# "lead" or "inbox": the lead view or its escalation inbox, on a throwaway database seeded with
# the team demo's history (services.demo_history); with --demo-team, on the team demo itself
# (the lead view unless this says "inbox").
SCREENSHOT_VIEW_ENV = "REVIEWDESK_SCREENSHOT_VIEW"
STARTUP_PROBE_ENV = "REVIEWDESK_STARTUP_PROBE"  # print when the first draft is painted
COLOR_SCHEME_ENV = "REVIEWDESK_COLOR_SCHEME"  # "dark" or "light": override the system's


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "reviewer"


def create_application(argv: list[str]) -> QApplication:
    """The QApplication, named once for settings, the desktop file and the window manager."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    app.setOrganizationName(paths.APP_NAME)
    app.setOrganizationDomain("reviewdesk.org")
    app.setApplicationName(paths.APP_NAME)
    app.setApplicationDisplayName(paths.APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(paths.APP_ID)
    app.setWindowIcon(style.icon("reviewdesk"))
    scheme = os.environ.get(COLOR_SCHEME_ENV, "").lower()
    if scheme in ("dark", "light"):
        QGuiApplication.styleHints().setColorScheme(
            Qt.ColorScheme.Dark if scheme == "dark" else Qt.ColorScheme.Light
        )
    return app


def _open_unless_password_needed(
    opener: Opener, url: str | None, *, asked: bool
) -> TargetCheck | tuple[OpenDesk, SessionInfo]:
    """On the worker: resolve the URL; open it at once unless a password must be asked for
    (``asked``: the reviewer already answered in this session, perhaps with none)."""
    check = check_target(url)
    if check.needs_password and not asked:
        return check
    return opener(url)


class DeskApp(QObject):
    """Connects the window to a desk: opening, reconnecting after settings, closing."""

    attached = Signal(object)  # ReviewController
    failed = Signal(str)  # why the desk could not be opened

    def __init__(
        self,
        *,
        settings: UiSettings,
        executor: Executor,
        window: MainWindow,
        report_error: Callable[[Exception], None],
        url: str | None,
        reviewer: str,
        opener: Opener = OpenDesk.open,
        password: str | None = None,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        lead_url: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``password``: one already given for this session ("" for none), kept in memory.
        ``lead_url``: a database (the team demo) that opens with the lead view, for this run
        only: the stored lead-role setting stays as it is and applies to other databases."""
        super().__init__(parent)
        self.settings = settings
        self.executor = executor
        self.window = window
        self.report_error = report_error
        self.url = url
        self.reviewer = reviewer
        self.opener = opener
        self.controller: ReviewController | None = None
        self.session: OpenDesk | None = None
        self.listener: ChangeListener | None = None
        self._stopped_listeners: list[ChangeListener] = []
        self.alerts: AlertMonitor | None = None
        self.keyring_ok: bool | None = None
        self._password = password  # only where no keyring exists; in memory only
        self._clock = clock  # the desk's wall clock (None: the system's); tests pass fakes
        self._monotonic = monotonic  # the review clock
        self._generation = 0  # answers for an earlier connection attempt are ignored
        self.lead_url = lead_url
        self._lead_shown = False  # the team demo's lead view was put on screen once
        window.keyring_available = self.keyring_status
        window.retry_requested.connect(self.open_desk)
        window.settings_accepted.connect(self.apply_settings)

    # -- connecting ---------------------------------------------------------------------------
    def open_desk(self) -> None:
        self.close_session()
        self._generation += 1
        generation = self._generation
        self.window.show_connecting(self._display())
        if (login := self._url_login()) is not None:
            # On a shared database the reviewer is the login: say so while connecting too.
            self.window.set_reviewer(login)
        url = with_password(self.url, self._password) if self.url else None
        opener, asked = self.opener, self._password is not None
        self.executor.submit(
            lambda: _open_unless_password_needed(opener, url, asked=asked),
            on_success=lambda result: self._answered(generation, result),
            on_failure=lambda exc: self._failed(generation, exc),
            label="open",
        )

    def _url_login(self) -> str | None:
        if not self.url:
            return None
        try:
            target = resolve_target(self.url)
        except ReviewDeskError:
            return None
        return target.url.username if target.dialect == "postgresql" else None

    def _display(self) -> str:
        if not self.url:
            return "the embedded database"
        try:
            return resolve_target(self.url).display
        except ReviewDeskError:
            return "the database"

    def _answered(
        self, generation: int, result: TargetCheck | tuple[OpenDesk, SessionInfo]
    ) -> None:
        if generation != self._generation:
            if isinstance(result, tuple):
                self.executor.submit(result[0].close, label="close stale")
            return
        if isinstance(result, TargetCheck):
            self.keyring_ok = result.keyring_available
            self._ask_password(result)
            return
        session, info = result
        self.session = session
        controller = ReviewController(
            session,
            info,
            self.executor,
            info.login or self.reviewer,  # on a shared database the reviewer is the login
            report_error=self.report_error,
            clock=self._clock,
            monotonic=self._monotonic,
            parent=self,
        )
        self.controller = controller
        self.window.attach(controller)
        self.window.set_identity(info.login, info.role, installation=info.installation)
        if self._on_lead_database():
            self._show_team_demo()
        if info.demo is not None:
            self.window.notice_bar.show_notice(
                "info",
                f"Welcome! This new embedded database holds the demo queue: {info.demo.submitted} "
                "customer-support drafts built on real AI replies, some with a mistake to catch, "
                "waiting for your review.",
            )
        # Told of changes by the database: no polling, and new drafts show at once.
        listener = ChangeListener(session.desk.changes())
        listener.changed.connect(controller.database_changed)
        listener.changed.connect(self.window.database_changed)
        controller.set_live(True)
        self.listener = listener
        monitor = AlertMonitor(self.executor, session, evaluate=self.window.lead_role, parent=self)
        listener.changed.connect(monitor.database_changed)
        self.window.attach_alerts(monitor)
        self.alerts = monitor
        listener.start()
        controller.start()
        monitor.start()
        self.attached.emit(controller)

    def _on_lead_database(self) -> bool:
        return self.lead_url is not None and self.url == self.lead_url

    def _show_team_demo(self) -> None:
        """The lead view, on for this database only, over the last 90 days (the whole demo);
        said once, and shown first the first time."""
        self.window.set_lead_role(True)
        self.window.setWindowTitle("ReviewDesk — team demo")
        if self._lead_shown:
            return
        self._lead_shown = True
        from reviewdesk.ui.lead.jobs import LeadQuery

        self.window.lead_view.filters.set_query(LeadQuery(days=TEAM_DEMO_DAYS))
        self.window.show_lead()
        self.window.notice_bar.show_notice(
            "info",
            "Team demo: twelve weeks of a made-up team's review of demo drafts, in a database "
            "of its own. The lead view is on for this database only; your own database and "
            "settings are not touched.",
        )

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        if not isinstance(exc, ReviewDeskError):
            self.report_error(exc)
        if isinstance(exc, SchemaOutOfDate):
            title = "The database needs an upgrade"
        else:
            title = "Cannot open the database"
        self.window.show_error(title, str(exc))
        self.failed.emit(str(exc))

    def _ask_password(self, check: TargetCheck) -> None:
        dialog = PasswordDialog(check.display, check.keyring_account, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def done(result: int) -> None:
            dialog.deleteLater()
            if result:
                self._password = dialog.value
                # An empty password is an answer too (a server that needs none): open anyway.
                url = with_password(self.url, self._password) if self.url else None
                generation, opener = self._generation, self.opener
                self.executor.submit(
                    lambda: opener(url),
                    on_success=lambda r: self._answered(generation, r),
                    on_failure=lambda exc: self._failed(generation, exc),
                    label="open",
                )
            else:
                self.window.show_error(
                    "No password given", f"{check.display} needs a password to open."
                )

        dialog.finished.connect(done)
        dialog.open()

    # -- settings -----------------------------------------------------------------------------
    def keyring_status(self) -> bool | None:
        return self.keyring_ok

    def set_keyring_available(self, available: bool) -> None:
        self.keyring_ok = available

    def apply_settings(self, result: SettingsResult) -> None:
        old = (self.url, self.reviewer)
        stored_url = self.settings.database_url
        self.settings.database_url = result.database_url
        self.settings.reviewer = result.reviewer
        self.settings.sync()
        # The dialog shows the stored database: unless another one was chosen there, the team
        # demo stays open (and keeps its lead view) when other settings change.
        if not (self._on_lead_database() and result.database_url == stored_url):
            self.url = result.database_url
        if self._on_lead_database():
            self.window.set_lead_role(True)
        elif self.lead_url is not None:
            self.window.setWindowTitle("ReviewDesk")
        self.reviewer = result.reviewer or default_reviewer()
        self.window.set_reviewer(self.reviewer)
        if result.password and result.keyring_account:
            if self.keyring_ok:
                account, password = result.keyring_account, result.password
                self.executor.submit(
                    lambda: store_password(account, password),
                    on_success=lambda _: None,
                    on_failure=self._password_not_stored,
                    label="store password",
                )
                self._password = None
            else:
                self._password = result.password
        if (self.url, self.reviewer) != old or result.password:
            self.open_desk()

    def _password_not_stored(self, exc: Exception) -> None:
        self.window.notice_bar.show_notice(
            "error", f"The password could not be stored in the OS keyring: {exc}"
        )

    # -- closing ------------------------------------------------------------------------------
    def close_session(self) -> None:
        """Stop reviewing; the worker gives back every lease held and closes the database."""
        listener, self.listener = self.listener, None
        monitor, self.alerts = self.alerts, None
        if monitor is not None:
            monitor.stop()
            monitor.deleteLater()
        if listener is not None:
            # Nothing it hears from now on reaches the objects about to be deleted; its thread
            # closes the feed and ends on its own (``shutdown`` waits for it).
            listener.changed.disconnect()
            listener.stop()
            self._stopped_listeners.append(listener)
        controller, self.controller = self.controller, None
        if controller is not None:
            controller.shutdown()
            self.window.detach()
            controller.deleteLater()
        session, self.session = self.session, None
        if session is not None:
            self.executor.submit(session.close, label="close")

    def shutdown(self) -> None:
        self._generation += 1
        self.close_session()
        for listener in self._stopped_listeners:
            listener.join()
        self._stopped_listeners.clear()


class FirstDraftWatch(QObject):
    """Calls back once, when the first draft has been painted (or the queue turned out empty or
    unreachable): start-up is over."""

    def __init__(self, desk_app: DeskApp, done: Callable[[str], None]) -> None:
        super().__init__(desk_app)
        self._window = desk_app.window
        self._done: Callable[[str], None] | None = done
        self._watching_paint = False
        desk_app.attached.connect(self._attached)
        desk_app.failed.connect(lambda _why: self._finish("error"))

    def _attached(self, controller: ReviewController) -> None:
        controller.state_changed.connect(self._state)
        self._state(controller.state)

    def _state(self, state: ReviewState) -> None:
        if self._done is None:
            return
        if state is ReviewState.SHOWING and not self._watching_paint:
            self._watching_paint = True
            self._window.draft_view.painted.connect(self._painted)
            self._window.draft_view.viewport().update()
        elif state in (ReviewState.EMPTY, ReviewState.ERROR, ReviewState.BREAK):
            self._finish(state.value)

    def _painted(self) -> None:
        self._finish("draft")

    def _finish(self, what: str) -> None:
        if self._watching_paint:
            self._watching_paint = False
            self._window.draft_view.painted.disconnect(self._painted)
        done, self._done = self._done, None
        if done is not None:
            done(what)


def grab_window(window: MainWindow, dialog: QWidget | None = None) -> QPixmap:
    """The window as it looks, with ``dialog`` drawn over it as the window manager would."""
    shot = window.grab()
    if dialog is None:
        return shot
    painter = QPainter(shot)
    painter.fillRect(shot.rect(), QColor(0, 0, 0, 60))
    sheet = dialog.grab()
    ratio = shot.devicePixelRatio() or 1.0
    size = sheet.size() / (sheet.devicePixelRatio() or 1.0)
    area = QRect(QPoint(0, 0), shot.size() / ratio)
    top_left = area.center() - QRect(QPoint(0, 0), size).center()
    painter.drawPixmap(top_left, sheet)
    painter.setPen(QColor(0, 0, 0, 110))  # the edge a window manager would draw
    painter.drawRect(QRect(top_left, size).adjusted(-1, -1, 0, 0))
    painter.end()
    return shot


class ScreenshotMode(QObject):
    """``--screenshot PATH``: wait for the first draft, save a PNG of the window, quit."""

    def __init__(
        self, desk_app: DeskApp, path: Path, dialog: str | None, session: str | None = None
    ) -> None:
        super().__init__(desk_app)
        self._desk_app = desk_app
        self._path = path
        self._dialog = dialog
        self._session = session
        self._shot = False
        self._export_dir: tempfile.TemporaryDirectory[str] | None = None  # the export shot's
        self.exit_code = 1
        FirstDraftWatch(desk_app, self._ready)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: self._ready("timeout"))

    def _ready(self, what: str) -> None:
        window = self._desk_app.window
        controller = self._desk_app.controller
        if self._session and what in ("draft", "break") and controller is not None:
            # The break screen is shot once the session's summary is on it.
            controller.break_changed.connect(lambda info: self._break_shown(info, what))
            if what == "draft" and self._session == "summary":
                controller.end_session()
            elif controller.on_break is not None:
                self._break_shown(controller.on_break, what)
            return
        if what == "draft" and self._dialog == "export":
            self._export_then_shoot(window)
            return
        dialog: QWidget | None = None
        if what == "draft" and self._dialog == "escalate":
            window.open_escalate()
            if isinstance(window.active_dialog, EscalateDialog):
                # High: the note becomes required, and the dialog says so.
                window.active_dialog.choose(Severity.HIGH)
                dialog = window.active_dialog
        # Let layouts settle (a queued LayoutRequest), then shoot.
        QTimer.singleShot(100, lambda: self._shoot(what, dialog))

    def _break_shown(self, info: BreakInfo | None, what: str) -> None:
        if info is None or info.summary is None or self._shot:
            return
        self._shot = True
        what = "summary" if info.reason == "ended" else "break"
        QTimer.singleShot(300, lambda: self._shoot(what, None))

    def _shoot(self, what: str, dialog: QWidget | None) -> None:
        window = self._desk_app.window
        self._path.parent.mkdir(parents=True, exist_ok=True)
        saved = grab_window(window, dialog).save(str(self._path), "PNG")
        if dialog is not None:
            dialog.close()
        if saved:
            print(f"reviewdesk: saved {self._path} ({what})", file=sys.stderr)
        else:
            print(f"reviewdesk: could not write {self._path}", file=sys.stderr)
        shown = ("draft", "empty", "break", "summary", "export")
        self.exit_code = 0 if saved and what in shown else 1
        if self._export_dir is not None:
            self._export_dir.cleanup()
        QApplication.exit(self.exit_code)

    def _export_then_shoot(self, window: MainWindow) -> None:
        """Export the seeded decisions from the dialog, then shoot it showing the card."""
        window.open_export()
        from reviewdesk.ui.dialogs.export_dialog import ExportDialog

        dialog = window.findChild(ExportDialog)
        if dialog is None:
            self._shoot("no export dialog", None)
            return
        self._export_dir = tempfile.TemporaryDirectory(prefix="reviewdesk-export-")
        dialog.out_edit.setText(str(Path(self._export_dir.name) / "feedback-2026-01"))
        dialog.split_edit.setText("test=0.2")
        dialog.seed_edit.setText("7")
        dialog.ended.connect(
            lambda outcome: QTimer.singleShot(
                300, lambda: self._shoot("export" if outcome == "finished" else outcome, dialog)
            )
        )
        if not dialog.start_export():
            self._shoot("export refused", dialog)


class EarlyOpener:
    """Opens the desk on the worker as soon as it exists, before the window is built; the
    first ``DeskApp`` open (a later job on the same worker) takes that result. Any later open
    (after settings changed, say) opens afresh. Worker-thread only, past the constructor."""

    def __init__(self, executor: Executor, url: str | None) -> None:
        self._url = url
        self._early: tuple[OpenDesk, SessionInfo] | Exception | None = None
        executor.submit(self._open_early, on_success=lambda _: None, label="open early")

    def _open_early(self) -> None:
        try:
            if not check_target(self._url).needs_password:
                self._early = OpenDesk.open(self._url)
        except Exception as exc:  # handed to the first open, whose failure path reports it
            self._early = exc

    def __call__(self, url: str | None) -> tuple[OpenDesk, SessionInfo]:
        early, self._early = self._early, None
        if early is None or url != self._url:
            if isinstance(early, tuple):
                early[0].close()
            return OpenDesk.open(url)
        if isinstance(early, Exception):
            raise early
        return early


class QuitOnSignals(QObject):
    """Ctrl+C or a polite kill (SIGTERM) closes the desk the normal way, so that its leases
    are given back. Python runs signal handlers only between bytecodes: a wake-up socket lets
    the signal wake Qt's event loop, which gives Python the chance."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._previous = {
            sig: signal.signal(sig, self._quit) for sig in (signal.SIGINT, signal.SIGTERM)
        }

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            self._reader.recv(64)

    def _quit(self, signum: int, _frame: object) -> None:
        log.info("signal %d: closing the desk", signum)
        QApplication.quit()

    def restore(self) -> None:
        self._notifier.setEnabled(False)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()


def run_gui(args: argparse.Namespace) -> int:
    """``reviewdesk gui``: open the desk; returns the exit code."""
    started = time.monotonic()
    app = create_application(sys.argv[:1])
    settings = UiSettings.open_default()
    window_ref: list[MainWindow] = []
    crash = CrashReporter(paths.log_dir, lambda: window_ref[0] if window_ref else None)
    crash.install()
    executor = Executor(on_unhandled=crash.report)
    screenshot: Path | None = args.screenshot
    url = args.db or os.environ.get(URL_ENV) or settings.database_url or None
    team_demo_url = args.db if getattr(args, "demo_team", False) else None
    reviewer = args.reviewer or settings.reviewer or default_reviewer()
    session_shot = os.environ.get(SCREENSHOT_SESSION_ENV) if screenshot is not None else None
    throwaway: tempfile.TemporaryDirectory[str] | None = None
    # The export dialog's shot needs decisions to export: the summary's sessions are some.
    export_shot = screenshot is not None and os.environ.get(SCREENSHOT_DIALOG_ENV) == "export"
    seed_mode = "summary" if export_shot else session_shot
    if seed_mode in screenshot_session.MODES:
        # A throwaway database with recent sessions, seeded on the worker before the desk opens.
        throwaway = tempfile.TemporaryDirectory(prefix="reviewdesk-shot-")
        url = f"sqlite:///{Path(throwaway.name) / 'sessions.sqlite3'}"
        seed_url, mode = url, seed_mode
        executor.submit(
            lambda: screenshot_session.seed_sessions(seed_url, reviewer, mode),
            on_success=lambda _: None,
            label="seed sessions",
        )
    view_shot = os.environ.get(SCREENSHOT_VIEW_ENV) if screenshot is not None else None
    if team_demo_url is not None and screenshot is not None:
        view_shot = view_shot or "lead"  # the team demo opens on the lead view: shoot that
    if view_shot is not None:
        from reviewdesk.ui.lead.screenshot import MODES  # the lead view's shots only

        view_shot = view_shot if view_shot in MODES else None
    if view_shot is not None and throwaway is None and team_demo_url is None:
        from reviewdesk.services.demo_history import seed_team_history

        throwaway = tempfile.TemporaryDirectory(prefix="reviewdesk-shot-")
        url = f"sqlite:///{Path(throwaway.name) / 'lead.sqlite3'}"
        team_url = url
        executor.submit(
            lambda: seed_team_history(team_url),
            on_success=lambda _: None,
            label="seed lead",
        )
    # The worker starts opening the database now, while this thread builds the window.
    opener = EarlyOpener(executor, url)
    window = MainWindow(
        settings=settings,
        executor=executor,
        reviewer=reviewer,
        default_reviewer=default_reviewer(),
        embedded_path=str(paths.embedded_database_path()),
        remember_layout=screenshot is None,
    )
    window_ref.append(window)
    desk_app = DeskApp(
        settings=settings,
        executor=executor,
        window=window,
        report_error=crash.report,
        url=url,
        reviewer=reviewer,
        opener=opener,
        lead_url=team_demo_url,
    )

    def first_draft(what: str) -> None:
        elapsed = (time.monotonic() - started) * 1000
        log.info("start-up: %s on screen %.0f ms after run_gui", what, elapsed)
        if os.environ.get(STARTUP_PROBE_ENV):
            print(f"startup-probe {what} {time.time():.6f}", file=sys.stderr, flush=True)

    FirstDraftWatch(desk_app, first_draft)
    shooter: ScreenshotMode | LeadScreenshot | None = None
    if screenshot is not None and view_shot is not None:
        from reviewdesk.ui.lead.screenshot import LeadScreenshot

        window.resize(*SCREENSHOT_SIZE)
        shooter = LeadScreenshot(window, desk_app.attached, screenshot, view_shot, desk_app)
    elif screenshot is not None:
        window.resize(*SCREENSHOT_SIZE)
        shooter = ScreenshotMode(
            desk_app, screenshot, os.environ.get(SCREENSHOT_DIALOG_ENV), session_shot
        )
    window.show()
    window.activateWindow()
    desk_app.open_desk()
    # After the desk is open: the settings dialog says whether passwords can be kept.
    executor.submit(
        keyring_available,
        on_success=desk_app.set_keyring_available,
        on_failure=lambda exc: log.info("no keyring: %s", exc),
        label="keyring",
    )
    signals = QuitOnSignals(app)
    code = app.exec()
    signals.restore()
    desk_app.shutdown()
    executor.stop()
    crash.uninstall()
    window.close()
    if throwaway is not None:
        throwaway.cleanup()
    return shooter.exit_code if shooter is not None else code

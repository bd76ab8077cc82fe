"""Fixtures for the desk's GUI tests: the real main window on a real database, driven by keys.

* Every test fails if it leaves a QThread running or a top-level widget alive (napari habit).
* ``desk_harness`` opens a desk on the test database, seeds drafts (on the test's thread, before
  anything is watched), then records which thread runs every SQL statement: the GUI thread must
  run none. It builds the window exactly as ``reviewdesk gui`` does (``DeskApp``) and waits for
  the first draft.
"""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QThread, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import event

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import Clock
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.ui.app import DeskApp
from reviewdesk.ui.main_window import MainWindow
from reviewdesk.ui.operations import OpenDesk, Opener, SessionInfo
from reviewdesk.ui.review_controller import ReviewController, ReviewState
from reviewdesk.ui.settings import UiSettings
from reviewdesk.ui.worker import Executor

UI_DIR = Path(__file__).parent
# The offscreen platform plugin (used by the tests only) warns that it cannot pass a window's
# size limits on or raise a window: it has no window manager. xcb, Wayland, Windows and macOS
# do not say this; nothing of ours emits it. Every other Qt warning fails the test.
OFFSCREEN_ONLY = (
    r"^This plugin does not support propagateSizeHints\(\)$",
    r"^This plugin does not support raise\(\)$",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if UI_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(*OFFSCREEN_ONLY))


def _running_qthreads() -> list[QThread]:
    main = QCoreApplication.instance()
    main_thread = main.thread() if main is not None else None
    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, QThread) and obj is not main_thread and _is_running(obj)
    ]


def _is_running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is already gone
        return False


def _active_qtimers() -> list[QTimer]:
    timers = []
    for obj in gc.get_objects():
        if isinstance(obj, QTimer):
            try:
                if obj.isActive():
                    timers.append(obj)
            except RuntimeError:  # the C++ object is already gone
                pass
    return timers


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a QThread running, a QTimer active or a top-level widget alive."""
    app = QApplication.instance()
    before = {id(w) for w in QApplication.topLevelWidgets()} if app is not None else set()
    yield
    if QApplication.instance() is None:
        return
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    threads = _running_qthreads()
    timers = _active_qtimers()
    widgets = [w for w in QApplication.topLevelWidgets() if id(w) not in before]
    for thread in threads:
        thread.quit()
        thread.wait(5000)
    for timer in timers:
        timer.stop()
    for widget in widgets:
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    problems = []
    if threads:
        problems.append(f"QThread(s) left running: {[t.objectName() for t in threads]}")
    if timers:
        problems.append(f"QTimer(s) left running: {[t.parent() for t in timers]}")
    if widgets:
        problems.append(f"top-level widget(s) left alive: {[type(w).__name__ for w in widgets]}")
    if problems:
        pytest.fail("; ".join(problems))


# -- drafts ----------------------------------------------------------------------------------
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def drafts(count: int, *, prefix: str = "d", **fields: Any) -> list[dict[str, Any]]:
    """``count`` drafts claimed in id order: d-01, d-02, …"""
    return [
        {
            "id": f"{prefix}-{n:02d}",
            "draft": f"Draft number {n}: your parcel leaves the warehouse tomorrow.",
            "input": f"Customer question {n}: where is my parcel?",
            "category": "delivery",
            "risk": "medium",
            "model": "drafter-1",
            "confidence": 0.8,
            "created_at": (T0 + timedelta(minutes=n)).isoformat(),
            "context": {"intent": "track_order", "customer": {"id": f"c-{n}"}},
            **fields,
        }
        for n in range(1, count + 1)
    ]


# -- watching threads ------------------------------------------------------------------------
@dataclass
class SqlThreadSpy:
    """Records, for each SQL statement of a desk, whether it ran on the GUI (main) thread."""

    on_gui_thread: list[str] = field(default_factory=list)
    elsewhere: int = 0

    def attach(self, desk: ReviewDesk) -> None:
        engines = {id(e): e for e in (desk._engines.write, desk._engines.statement)}
        for engine in engines.values():
            event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            self.on_gui_thread.append(statement.strip().split("\n")[0][:80])
        else:
            self.elsewhere += 1


# -- the harness -----------------------------------------------------------------------------
@dataclass
class Harness:
    qtbot: QtBot
    url: str
    desk: ReviewDesk
    spy: SqlThreadSpy
    executor: Executor
    window: MainWindow
    desk_app: DeskApp
    settings: UiSettings
    errors: list[Exception]

    @property
    def controller(self) -> ReviewController:
        controller = self.window.controller
        assert controller is not None
        return controller

    def shown_id(self) -> str | None:
        current = self.controller.current
        return current.lease.draft.id if current is not None else None

    def wait_for_draft(self, draft_id: str, timeout: int = 10_000) -> None:
        def shown() -> None:
            assert self.controller.state is ReviewState.SHOWING
            assert self.shown_id() == draft_id
            assert self.window.draft_view.raw_text == self.controller.current.lease.draft.draft  # type: ignore[union-attr]

        self.qtbot.waitUntil(shown, timeout=timeout)

    def wait_for_state(self, state: ReviewState, timeout: int = 10_000) -> None:
        self.qtbot.waitUntil(lambda: self.controller.state is state, timeout=timeout)

    def wait_idle(self, timeout: int = 10_000) -> None:
        """Until the next draft is prefetched and every background job's callback has run."""

        def idle() -> bool:
            controller = self.window.controller
            busy = controller is not None and controller.prefetching
            return self.executor.pending == 0 and not busy

        self.qtbot.waitUntil(idle, timeout=timeout)

    def focus(self) -> QWidget:
        """Where a key goes: the focused widget of the modal dialog, else of the window."""
        top = QApplication.activeModalWidget() or self.window
        return top.focusWidget() or top

    def press(
        self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
    ) -> None:
        QTest.keyClick(self.focus(), key, modifier)

    def _key(self, kind: QEvent.Type, key: Qt.Key, text: str, *, repeat: bool) -> None:
        event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text, repeat)
        QApplication.sendEvent(self.focus(), event)

    def hold(self, key: Qt.Key, text: str, repeats: int) -> None:
        """Press ``key`` and keep it down: the OS sends auto-repeated presses (not released)."""
        self._key(QEvent.Type.KeyPress, key, text, repeat=False)
        self.repeat(key, text, repeats)

    def repeat(self, key: Qt.Key, text: str, count: int) -> None:
        """``count`` auto-repeats of a held key (X11 sends each as a release and a press)."""
        for _ in range(count):
            self._key(QEvent.Type.KeyRelease, key, text, repeat=True)
            self._key(QEvent.Type.KeyPress, key, text, repeat=True)

    def release(self, key: Qt.Key, text: str) -> None:
        self._key(QEvent.Type.KeyRelease, key, text, repeat=False)

    def type_text(self, widget: QWidget, text: str) -> None:
        QTest.keyClicks(widget, text)

    def verify(self) -> ReviewDesk:
        """A separate desk on the same database, for checking what was written."""
        return ReviewDesk.open(self.url)


HarnessFactory = Callable[..., Harness]


def session_opener(desk: ReviewDesk) -> Opener:
    """Opens nothing: hands the already open ``desk`` to the GUI, reading its info on the
    worker thread like the real opener does."""

    def open_(_url: str | None) -> tuple[OpenDesk, SessionInfo]:
        session = OpenDesk(desk)
        return session, session.info()

    return open_


@pytest.fixture
def desk_harness(qtbot: QtBot, sqlite_url: str, tmp_path: Path) -> Iterator[HarnessFactory]:
    made: list[Harness] = []

    def make(
        records: Sequence[dict[str, Any]] = (),
        *,
        url: str | None = None,
        seed_url: str | None = None,
        clock: Clock | None = None,
        lease_ttl: float | None = None,
        reviewer: str = "ana",
        wait: ReviewState | None = ReviewState.SHOWING,
        opener: Opener | None = None,
        monotonic: Callable[[], float] | None = None,
        limits: SessionLimits | None = None,
        rng: random.Random | None = None,
        seed: Callable[[ReviewDesk], None] | None = None,
        team_demo: bool = False,
    ) -> Harness:
        """``clock``: the desk's clock, also the GUI's for breaks; ``monotonic``: the review
        clock; ``limits``: session limits set before the first claim; ``seed``: more set-up on
        the desk, on this thread, before the GUI opens; ``team_demo``: the database opens as
        ``reviewdesk gui --demo-team`` opens the team demo."""
        url = url or sqlite_url
        desk = ReviewDesk.open(
            seed_url or url, upgrade=True, clock=clock, lease_ttl=lease_ttl, rng=rng
        )
        if records:
            desk.submit(records)
        if limits is not None:
            desk.set_session_limits(limits)
        if seed is not None:
            seed(desk)
        spy = SqlThreadSpy()
        spy.attach(desk)
        errors: list[Exception] = []
        settings = UiSettings(tmp_path / f"ui-{len(made)}.ini")
        executor = Executor(on_unhandled=errors.append)
        window = MainWindow(
            settings=settings,
            executor=executor,
            reviewer=reviewer,
            default_reviewer="os-user",
            embedded_path=str(tmp_path / "embedded.sqlite3"),
        )
        desk_app = DeskApp(
            settings=settings,
            executor=executor,
            window=window,
            report_error=errors.append,
            url=url,
            reviewer=reviewer,
            opener=opener or session_opener(desk),
            clock=clock,
            monotonic=monotonic or time.monotonic,
            lead_url=url if team_demo else None,
        )
        harness = Harness(qtbot, url, desk, spy, executor, window, desk_app, settings, errors)
        made.append(harness)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        desk_app.open_desk()
        if wait is not None:
            qtbot.waitUntil(
                lambda: window.controller is not None and window.controller.state is wait,
                timeout=15_000,
            )
        return harness

    yield make
    for harness in made:
        harness.desk_app.shutdown()
        harness.executor.stop()
        harness.window.close()
        harness.window.deleteLater()
        harness.desk.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    for harness in made:
        assert harness.spy.on_gui_thread == [], "SQL ran on the GUI thread"
        assert harness.errors == [], f"unexpected errors: {harness.errors}"

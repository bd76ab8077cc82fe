"""The composition root: the crash hook, the keys, the start-up password prompt, and the real
``reviewdesk gui --screenshot`` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk
from reviewdesk.core.errors import DatabaseUnavailable
from reviewdesk.ui.crash import CrashReporter
from reviewdesk.ui.dialogs.cheat_sheet import CheatSheet
from reviewdesk.ui.dialogs.password import PasswordDialog
from reviewdesk.ui.operations import OpenDesk, SessionInfo
from reviewdesk.ui.review_controller import ReviewState
from reviewdesk.ui.shortcuts import ACTIONS, keymap_overrides, keymap_problems, resolve_keymap
from reviewdesk.ui.widgets.verb_button import VerbButton
from tests.ui.conftest import HarnessFactory, drafts
from tests.ui.test_settings import refusing_opener

REPO = Path(__file__).parents[2]


def test_an_error_in_a_slot_is_logged_kept_and_shown(qtbot: QtBot, tmp_path: Path) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    crash = CrashReporter(lambda: tmp_path, lambda: parent)
    try:
        raise KeyError("lost key")
    except KeyError as exc:
        crash.report(exc)
    assert crash.last_log is not None and crash.last_log.parent == tmp_path
    text = crash.last_log.read_text()
    assert "KeyError: 'lost key'" in text and "Traceback" in text
    box = crash.box
    assert isinstance(box, QMessageBox)
    assert box.isVisible() and not box.isModal()
    assert "The desk keeps running" in box.text()
    crash.report(RuntimeError("second"))  # the same box, updated: errors never stack up
    assert crash.box is box and "second" in box.text()
    box.close()
    qtbot.waitUntil(lambda: crash.box is None)


def test_the_hook_is_installed_and_removed(tmp_path: Path) -> None:
    crash = CrashReporter(lambda: tmp_path, lambda: None)
    previous = sys.excepthook
    crash.install()
    assert sys.excepthook == crash.hook
    crash.uninstall()
    assert sys.excepthook is previous


def test_keys_are_shown_on_the_buttons_and_in_the_cheat_sheet(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(1))
    keys = {b.objectName(): b.key.text() for b in h.window.findChildren(VerbButton)}
    assert keys["button_approve"] == "A"
    assert keys["button_edit"] == "E"
    assert keys["button_reject"] == "R"
    assert keys["button_escalate"] == "X"
    assert keys["button_skip"] == "S"
    assert keys["button_undo"] == "Ctrl+Z"
    h.press(Qt.Key.Key_F1)
    sheet = h.window.cheat_sheet
    assert isinstance(sheet, CheatSheet) and sheet.isVisible()
    cells = [
        w.text() for w in sheet.findChildren(QWidget) if hasattr(w, "text") and callable(w.text)
    ]
    for spec in ACTIONS:
        assert spec.title in cells
    assert {"A", "E", "R", "X", "S", "Ctrl+Z", "? / F1", "Ctrl+Return"} <= set(cells)
    sheet.close()


def test_every_control_has_an_accessible_name(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(1))
    for button in h.window.findChildren(VerbButton):
        assert button.accessibleName(), button.objectName()
        assert button.accessibleDescription().startswith("Shortcut: ")
    for widget in (
        h.window.draft_view,
        h.window.context_view,
        h.window.history_view,
        h.window.metadata,
        h.window.session_list,
        h.window.editor.editor,
        h.window.editor.diff,
    ):
        assert widget.accessibleName(), type(widget).__name__


def test_keys_can_be_remapped(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    h.window.apply_keymap(resolve_keymap({"approve": "K"}))
    assert h.settings.keymap() == {"approve": "K"}
    assert h.window.verb_buttons["approve"].key.text() == "K"
    h.press(Qt.Key.Key_A)  # no longer a key of the desk
    h.wait_idle()
    assert h.shown_id() == "d-01"
    h.press(Qt.Key.Key_K)
    h.wait_for_draft("d-02")


def test_keymaps_are_checked_and_only_changes_are_stored() -> None:
    keymap = resolve_keymap({"skip": "A", "nonsense": "Q", "edit": "not a key at all+++"})
    assert keymap["skip"] == "A" and "nonsense" not in keymap
    assert keymap_problems(keymap) == ["A is set for both Approve and Skip."]
    assert keymap_problems(resolve_keymap({"approve": "Ctrl+Return"})) == [
        "Ctrl+Return is reserved; choose another key for Approve."
    ]
    assert keymap_overrides(resolve_keymap({})) == {}
    assert keymap_overrides(resolve_keymap({"approve": "Y"})) == {"approve": "Y"}


def test_without_a_keyring_the_password_is_asked_at_start(
    desk_harness: HarnessFactory, sqlite_url: str
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    opened: list[str | None] = []
    seeded = ReviewDesk.open(sqlite_url, upgrade=True)
    seeded.close()

    def opener(url: str | None) -> tuple[OpenDesk, SessionInfo]:
        opened.append(url)
        raise DatabaseUnavailable("Cannot open database: connection refused")

    h = desk_harness(
        drafts(1),
        url="postgresql+psycopg://lee@127.0.0.1:1/reviews",
        seed_url=sqlite_url,
        opener=opener,
        wait=None,
    )
    h.qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), PasswordDialog))
    # Before the server answers, the reviewer shown is the login (the reviewer to be), not the
    # name of the settings.
    assert h.window.status_text["reviewer"] == "Reviewer: lee"
    prompt = QApplication.activeModalWidget()
    assert isinstance(prompt, PasswordDialog)
    prompt.password.setText("s3cret")
    prompt.accept()
    h.qtbot.waitUntil(lambda: bool(opened))
    assert opened == ["postgresql+psycopg://lee:s3cret@127.0.0.1:1/reviews"]
    h.qtbot.waitUntil(lambda: h.window.status_page.title.text() == "Cannot open the database")


@pytest.mark.slow
@pytest.mark.one_engine("a screenshot of the window on the embedded database")
def test_gui_screenshot_opens_the_window_and_saves_a_png(tmp_path: Path, sqlite_url: str) -> None:
    with ReviewDesk.open(sqlite_url, upgrade=True) as desk:
        desk.submit(drafts(3))
    shot = tmp_path / "desk.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REVIEWDESK_STARTUP_PROBE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reviewdesk",
            "gui",
            "--db",
            sqlite_url,
            "--reviewer",
            "ana",
            "--screenshot",
            str(shot),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"reviewdesk: saved {shot} (draft)" in done.stderr
    assert "startup-probe draft " in done.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) >= (1280, 800)
    with ReviewDesk.open(sqlite_url) as desk:  # the screenshot gave its leases back
        counts = desk.counts()
    assert (counts.pending, counts.leased, counts.decided) == (3, 0, 0)
    assert ReviewState.SHOWING  # (the window showed a draft: "(draft)" above)


@pytest.mark.slow
def test_gui_demo_team_opens_the_team_demo_and_touches_nothing_of_the_users(
    tmp_path: Path,
) -> None:
    from reviewdesk.config import paths
    from reviewdesk.services.demo_history import build_team_demo

    demo = build_team_demo(days=2)  # in the test's data folder; the app reuses it
    settings_file = paths.config_dir() / "reviewdesk.ini"
    settings_file.write_text("[General]\nschema_version=1\n\n[review]\nreviewer=ana\n")
    before = settings_file.read_text()
    shot = tmp_path / "lead.png"
    done = subprocess.run(
        [sys.executable, "-m", "reviewdesk", "gui", "--demo-team", "--screenshot", str(shot)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"reviewdesk: saved {shot} (lead)" in done.stderr  # the lead view, without the setting
    assert not paths.embedded_database_path().exists()
    assert settings_file.read_text() == before
    with ReviewDesk.open(demo.url) as desk:  # nothing decided, every lease given back
        counts = desk.counts()
    assert (counts.decided, counts.leased) == (demo.decisions, 0)
    refused = subprocess.run(
        [sys.executable, "-m", "reviewdesk", "gui", "--demo-team", "--db", demo.url],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert refused.returncode == 1
    assert "leave out --db" in refused.stderr


def test_the_team_demo_has_the_lead_view_for_its_database_only(
    desk_harness: HarnessFactory,
) -> None:
    h = desk_harness(drafts(3), team_demo=True)
    h.qtbot.waitUntil(lambda: not h.window.desk_in_view)
    assert h.window.lead_role
    assert h.window.lead_view.query().days == 90  # the demo's whole history
    assert h.window.windowTitle() == "ReviewDesk — team demo"
    # Other settings changed, the database left as it was: the demo stays, lead view and all.
    h.window.open_settings()
    dialog = h.window.settings_dialog
    assert dialog is not None
    QTest.keyClicks(dialog.reviewer, "lea")
    dialog.accept()
    h.qtbot.waitUntil(lambda: h.window.controller is not None and h.desk_app.reviewer == "lea")
    assert h.desk_app.url == h.url
    assert h.window.lead_role
    # Another database chosen: its role is the database's, unknown while it cannot be opened.
    h.window.open_settings()
    dialog = h.window.settings_dialog
    assert dialog is not None
    dialog.postgres.setChecked(True)
    dialog.url.setText("postgresql+psycopg://ana@127.0.0.1:1/reviews")
    opened: list[str | None] = []
    h.desk_app.opener = refusing_opener(opened)
    dialog.accept()
    h.qtbot.waitUntil(lambda: h.window.status_page.title.text() == "Cannot open the database")
    h.wait_idle()
    assert opened == ["postgresql+psycopg://ana@127.0.0.1:1/reviews"]
    assert not h.window.lead_role
    assert h.window.windowTitle() == "ReviewDesk"


def test_the_desk_fits_a_1280_pixel_screen_with_long_texts_everywhere(
    desk_harness: HarnessFactory,
) -> None:
    """The desk's minimum width leaves room on a 1280 px screen (window frame included) with a
    long database name, reviewer, queue, session and a long draft id and category."""
    record = drafts(1)[0] | {
        "id": "ticket-" + "7" * 60,
        "category": "account-recovery-with-identity-verification-and-escalation",
        "confidence": 0.2,
        "priority": 9,
    }
    h = desk_harness([record], reviewer="ana.maria.gonzalez-fernandez")
    h.wait_idle()
    window = h.window
    window.database_label.setText(
        "postgresql+psycopg://ana.maria.gonzalez-fernandez@reviews-db.eu-west.example.com:5432/"
        "customer_support_reviews"
    )
    window.queue_label.setText("123456 waiting · 9999 in review")
    window.session_label.setText("Session: 39 of 40 reviews · 45 min left")
    window.set_lead_role(True)
    window.notice_bar.show_notice("error", "Not recorded: " + "a long reason " * 30)
    window.saving.setText("Saving… (slow)")
    window.connection_label.setText("◐ Waiting for the database")
    assert window.minimumSizeHint().width() <= 1280 - 40
    # The status bar too: every field stays readable, the database's name is shortened (in
    # full in its tooltip).
    assert window.statusBar().minimumSizeHint().width() <= 1280 - 40
    window.resize(1240, 800)
    QApplication.processEvents()
    for label in (
        window.connection_label,
        window.saving,
        window.queue_label,
        window.session_label,
        window.reviewer_label,
    ):
        assert label.width() >= label.sizeHint().width(), label.accessibleName()
    assert window.database_label.toolTip() == window.database_label.text()
    assert window.minimumWidth() <= 1280 - 40


def test_a_low_confidence_is_shown_as_a_warning(desk_harness: HarnessFactory) -> None:
    records = [
        drafts(3)[0] | {"confidence": 0.2},
        drafts(3)[1] | {"confidence": 0.5},  # the threshold itself is not low
        drafts(3)[2] | {"confidence": 0.49},
    ]
    h = desk_harness(records)
    header = h.window.header
    for draft_id, low, text in (
        ("d-01", True, "⚠ low confidence 20%"),
        ("d-02", False, "confidence 50%"),
        ("d-03", True, "⚠ low confidence 49%"),
    ):
        h.wait_for_draft(draft_id)
        shown = header.low_confidence if low else header.confidence
        hidden = header.confidence if low else header.low_confidence
        assert shown.isVisible() and not hidden.isVisible()
        assert shown.text() == text
        assert shown.property("tone") == ("warning" if low else "")
        h.window.side.setCurrentWidget(h.window.metadata)
        h.qtbot.waitUntil(lambda d=draft_id: h.window.metadata.values["id"].text() == d)
        form = h.window.metadata.values["confidence"].text()
        assert form.endswith(", low (below 0.50)") == low
        h.press(Qt.Key.Key_A)

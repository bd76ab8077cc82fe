"""The desk never shows or writes a password given in its database URL: not in the window's
title, status bar or status page, not in the settings file, not in a crash log or log record.
(The commands and the API: tests/test_secrets.py.)"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk, ReviewDeskError
from reviewdesk.ui.crash import CrashReporter
from reviewdesk.ui.main_window import MainWindow
from reviewdesk.ui.operations import OpenDesk
from reviewdesk.ui.settings import UiSettings
from reviewdesk.ui.worker import Executor
from tests.test_secrets import PW, UNREACHABLE, everything_said, with_password
from tests.ui.conftest import HarnessFactory, drafts
from tests.ui.test_settings import settings_dialog


def window_text(window: MainWindow) -> str:
    return "\n".join(
        [
            window.windowTitle(),
            window.database_label.text(),
            window.database_label.toolTip(),
            window.statusBar().currentMessage(),
            window.status_page.title.text(),
            window.status_page.text.text(),
        ]
    )


def test_the_settings_file_never_holds_a_password(tmp_path: Path) -> None:
    settings = UiSettings(tmp_path / "s.ini")
    settings.database_url = with_password(
        "postgresql+psycopg://ana@db:5432/reviews?sslmode=require"
    )
    settings.sync()
    assert settings.database_url == "postgresql+psycopg://ana@db:5432/reviews?sslmode=require"
    assert PW not in (tmp_path / "s.ini").read_text(encoding="utf-8")


def test_a_password_an_older_settings_file_held_is_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.ini"
    old = QSettings(str(path), QSettings.Format.IniFormat)
    old.setValue("schema_version", 1)
    old.setValue("database/url", with_password("postgresql+psycopg://ana@db/reviews"))
    old.sync()
    assert PW in path.read_text(encoding="utf-8")
    settings = UiSettings(path)
    assert settings.database_url == "postgresql+psycopg://ana@db/reviews"
    assert PW not in everything_said(path.read_text(encoding="utf-8"), "", caplog)
    assert "held a password in its database URL" in caplog.text


def test_a_query_password_typed_into_the_url_moves_to_the_password_field(
    qtbot: QtBot, tmp_path: Path
) -> None:
    executor = Executor(on_unhandled=lambda exc: None)
    try:
        dialog = settings_dialog(executor, keyring_available=True)
        qtbot.addWidget(dialog)
        dialog.postgres.setChecked(True)
        dialog.url.setText(f"postgresql+psycopg://ana@127.0.0.1:1/reviews?password={PW}")
        dialog.url.editingFinished.emit()
        assert dialog.url.text() == "postgresql+psycopg://ana@127.0.0.1:1/reviews"
        assert dialog.password.text() == PW
        result = dialog.result_settings()
        assert result.database_url == "postgresql+psycopg://ana@127.0.0.1:1/reviews"
        assert result.password == PW  # to the keyring, never to the file
    finally:
        executor.stop()


def test_a_crash_log_and_its_message_hold_no_password(
    qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    parent = QWidget()
    qtbot.addWidget(parent)
    crash = CrashReporter(lambda: tmp_path, lambda: parent)
    with pytest.raises(ReviewDeskError) as info:
        ReviewDesk.open(UNREACHABLE)
    crash.report(info.value)
    assert crash.last_log is not None and crash.box is not None
    log_text = crash.last_log.read_text(encoding="utf-8")
    assert "127.0.0.1:1/nowhere" in log_text
    assert PW not in everything_said(log_text, crash.box.text(), caplog)
    crash.box.close()
    qtbot.waitUntil(lambda: crash.box is None)


def test_a_database_the_desk_cannot_open_is_named_without_its_password(
    desk_harness: HarnessFactory, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = desk_harness(
        drafts(1), url=UNREACHABLE, seed_url=sqlite_url, opener=OpenDesk.open, wait=None
    )
    h.qtbot.waitUntil(lambda: h.window.status_page.title.text() == "Cannot open the database")
    shown = window_text(h.window)
    assert "127.0.0.1:1/nowhere" in shown
    assert PW not in everything_said(shown, "", caplog)
    assert PW not in h.settings.path.read_text(encoding="utf-8")


@pytest.mark.postgres
def test_the_window_names_a_server_without_its_password(
    desk_harness: HarnessFactory, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = desk_harness(drafts(1), url=with_password(postgres_url))
    shown = window_text(h.window)
    assert "root:***@" in h.window.database_label.text()
    assert "password=***" in h.window.database_label.toolTip()
    h.settings.sync()
    assert PW not in everything_said(shown, h.settings.path.read_text(encoding="utf-8"), caplog)

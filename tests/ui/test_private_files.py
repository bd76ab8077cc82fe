"""With a umask that lets everyone read (022), the desk's settings file and crash logs are 0600
in 0700 folders. (The database and exports: tests/test_file_modes.py.)"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from reviewdesk.config import paths
from reviewdesk.ui.crash import CrashReporter
from reviewdesk.ui.settings import UiSettings
from tests.test_file_modes import mode


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_settings_file_is_0600_in_a_0700_folder() -> None:
    settings = UiSettings.open_default()
    settings.reviewer = "ana"
    settings.sync()
    settings.reviewer = "bea"  # rewritten: the mode stays
    settings.sync()
    assert "reviewer=bea" in settings.path.read_text(encoding="utf-8")
    assert (oct(mode(settings.path.parent)), oct(mode(settings.path))) == ("0o700", "0o600")


def test_a_crash_log_is_0600_in_a_0700_folder(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    crash = CrashReporter(paths.log_dir, lambda: parent)
    crash.report(RuntimeError("boom"))
    assert crash.last_log is not None and crash.box is not None
    assert (oct(mode(crash.last_log.parent)), oct(mode(crash.last_log))) == ("0o700", "0o600")
    crash.box.close()
    qtbot.waitUntil(lambda: crash.box is None)

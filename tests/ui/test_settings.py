"""Settings: the INI file, its version and migrations, the dialog, the keyring, the layout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from reviewdesk.config import paths
from reviewdesk.core.errors import DatabaseUnavailable
from reviewdesk.storage.engine import resolve_target
from reviewdesk.ui.dialogs.settings_dialog import SettingsDialog
from reviewdesk.ui.operations import OpenDesk, Opener, SessionInfo
from reviewdesk.ui.settings import SCHEMA_VERSION, UiSettings, strip_password
from reviewdesk.ui.worker import Executor
from tests.helpers.memory_keyring import MemoryKeyring
from tests.ui.conftest import HarnessFactory, drafts

PG = "postgresql+psycopg://ana@127.0.0.1:1/reviews"


def test_settings_live_in_an_ini_file_under_the_config_dir() -> None:
    settings = UiSettings.open_default()
    settings.reviewer = "ana"
    settings.sync()
    assert settings.path == paths.config_dir() / "reviewdesk.ini"
    text = settings.path.read_text()
    assert f"schema_version={SCHEMA_VERSION}" in text
    assert "reviewer=ana" in text


def test_the_database_url_is_stored_without_its_password(tmp_path: Path) -> None:
    settings = UiSettings(tmp_path / "s.ini")
    settings.database_url = "postgresql+psycopg://ana:s3cret@db.example:5432/reviews"
    settings.sync()
    assert settings.database_url == "postgresql+psycopg://ana@db.example:5432/reviews"
    assert "s3cret" not in (tmp_path / "s.ini").read_text()
    assert strip_password("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    with pytest.raises(ValueError, match="Not a database URL"):
        strip_password("nonsense")


def test_old_settings_are_migrated_step_by_step(tmp_path: Path) -> None:
    path = tmp_path / "old.ini"
    old = QSettings(str(path), QSettings.Format.IniFormat)
    old.setValue("schema_version", 0)
    old.setValue("review/name", "ana")
    old.sync()
    ran: list[int] = []

    def rename_reviewer(qs: QSettings) -> None:
        ran.append(0)
        qs.setValue("review/reviewer", qs.value("review/name"))
        qs.remove("review/name")

    settings = UiSettings(path, migrations={0: rename_reviewer})
    assert ran == [0]
    assert settings.reviewer == "ana"
    assert settings.version == SCHEMA_VERSION
    UiSettings(path, migrations={0: rename_reviewer})  # migrated once only
    assert ran == [0]


def test_settings_from_a_newer_version_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "new.ini"
    newer = QSettings(str(path), QSettings.Format.IniFormat)
    newer.setValue("schema_version", SCHEMA_VERSION + 1)
    newer.sync()
    assert UiSettings(path).version == SCHEMA_VERSION + 1


@pytest.fixture
def executor() -> Iterator[Executor]:
    errors: list[Exception] = []
    executor = Executor(on_unhandled=errors.append)
    yield executor
    executor.stop()
    assert errors == []


def settings_dialog(
    executor: Executor, *, keyring_available: bool, url: str | None = None
) -> SettingsDialog:
    return SettingsDialog(
        database_url=url,
        reviewer=None,
        default_reviewer="os-user",
        keymap={},
        keyring_available=keyring_available,
        embedded_path=str(paths.embedded_database_path()),
        executor=executor,
    )


def test_a_password_typed_into_the_url_moves_to_the_password_field(
    qtbot: QtBot, executor: Executor
) -> None:
    dialog = settings_dialog(executor, keyring_available=True)
    qtbot.addWidget(dialog)
    dialog.postgres.setChecked(True)
    dialog.url.setText("postgresql+psycopg://ana:s3cret@127.0.0.1:1/reviews")
    dialog.url.editingFinished.emit()
    assert dialog.url.text() == PG
    assert dialog.password.text() == "s3cret"
    assert dialog.keyring_note.text() == (
        "The password is kept in the OS keyring (account ana@127.0.0.1:1/reviews)."
    )
    result = dialog.result_settings()
    assert (result.database_url, result.password) == (PG, "s3cret")
    assert result.keyring_account == "ana@127.0.0.1:1/reviews"


def test_without_a_keyring_the_dialog_says_the_password_is_asked_each_start(
    qtbot: QtBot, executor: Executor
) -> None:
    dialog = settings_dialog(executor, keyring_available=False, url=PG)
    qtbot.addWidget(dialog)
    assert "No OS keyring is available" in dialog.keyring_note.text()
    assert "asks for it at each start and never writes it anywhere" in dialog.keyring_note.text()
    assert dialog.password.placeholderText() == "Asked for at each start"


def test_test_connection_runs_off_the_gui_thread_and_reports(
    qtbot: QtBot, executor: Executor
) -> None:
    dialog = settings_dialog(executor, keyring_available=True)
    qtbot.addWidget(dialog)
    dialog.embedded.setChecked(True)
    dialog.test_button.click()
    assert dialog.test_result.text() == "Connecting…"
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✓"), timeout=20_000)
    assert "Connected to sqlite:///" in dialog.test_result.text()
    assert "draft(s) waiting" in dialog.test_result.text()
    dialog.postgres.setChecked(True)
    dialog.url.setText(PG)
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✗"), timeout=20_000)
    assert (
        "Database postgresql+psycopg://ana@127.0.0.1:1/reviews is unavailable"
        in dialog.test_result.text()
    )


def test_bad_urls_and_clashing_keys_keep_the_dialog_open(qtbot: QtBot, executor: Executor) -> None:
    dialog = settings_dialog(executor, keyring_available=True)
    qtbot.addWidget(dialog)
    dialog.postgres.setChecked(True)
    dialog.url.setText("mysql://x@y/z")
    assert "Unsupported database 'mysql'" in (dialog.problem() or "")
    dialog.url.setText(PG)
    assert dialog.problem() is None
    dialog.key_edits["skip"].setKeySequence("A")
    assert dialog.problem() == "A is set for both Approve and Skip."
    dialog.restore_default_keys()
    assert dialog.problem() is None


def refusing_opener(opened: list[str | None]) -> Opener:
    """An opener that records the URL it was given and finds no server there."""

    def open_(url: str | None) -> tuple[OpenDesk, SessionInfo]:
        opened.append(url)
        shown = resolve_target(url).display
        raise DatabaseUnavailable(f"Cannot open database {shown}: connection refused")

    return open_


def test_accepted_settings_store_the_password_in_the_keyring_only(
    desk_harness: HarnessFactory, hermetic: MemoryKeyring
) -> None:
    h = desk_harness(drafts(2))
    h.wait_for_draft("d-01")
    h.desk_app.set_keyring_available(True)
    h.window.open_settings()
    dialog = h.window.settings_dialog
    assert dialog is not None
    dialog.postgres.setChecked(True)
    dialog.url.setText(PG)
    dialog.password.setText("s3cret")
    QTest.keyClicks(dialog.reviewer, "ana.b")
    opened: list[str | None] = []
    h.desk_app.opener = refusing_opener(opened)
    dialog.accept()
    h.qtbot.waitUntil(lambda: h.window.status_page.title.text() == "Cannot open the database")
    h.wait_idle()
    assert hermetic.store == {("reviewdesk", "ana@127.0.0.1:1/reviews"): "s3cret"}
    assert opened == [PG]  # the engine takes the password from the keyring
    assert h.settings.database_url == PG
    assert h.settings.reviewer == "ana.b"
    assert "s3cret" not in h.settings.path.read_text()
    # On a shared database the reviewer is the login, also while it cannot be reached.
    assert h.window.status_text["reviewer"] == "Reviewer: ana"
    # The leases of the desk it left were given back.
    with h.verify() as check:
        assert check.counts().leased == 0


def test_without_a_keyring_the_password_stays_in_memory(
    desk_harness: HarnessFactory, hermetic: MemoryKeyring
) -> None:
    h = desk_harness(drafts(1))
    h.wait_for_draft("d-01")
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    h.desk_app.set_keyring_available(False)
    h.window.open_settings()
    dialog = h.window.settings_dialog
    assert dialog is not None
    dialog.postgres.setChecked(True)
    assert "No OS keyring is available" in dialog.keyring_note.text()
    dialog.url.setText(PG)
    dialog.password.setText("s3cret")
    opened: list[str | None] = []
    h.desk_app.opener = refusing_opener(opened)
    dialog.accept()
    h.qtbot.waitUntil(lambda: h.window.status_page.title.text() == "Cannot open the database")
    h.wait_idle()
    assert opened == ["postgresql+psycopg://ana:s3cret@127.0.0.1:1/reviews"]
    assert hermetic.store == {}
    assert "s3cret" not in h.settings.path.read_text()
    assert "s3cret" not in h.window.status_page.text.text()
    assert "ana:***@127.0.0.1" in h.window.status_page.text.text()


def test_the_window_layout_is_remembered(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(1))
    h.window.resize(1000, 700)
    h.window.splitter.setSizes([300, 650])
    h.window.side.setCurrentIndex(2)
    sizes = h.window.splitter.sizes()
    h.window.close()  # closing saves the layout
    again = UiSettings(h.settings.path)
    assert again.layout_state("mainSplitter") is not None
    assert again.layout_state("geometry") is not None
    h.window.splitter.setSizes([600, 350])
    h.window.side.setCurrentIndex(0)
    h.window._restore_layout()
    assert h.window.splitter.sizes() == sizes
    assert h.window.side.currentIndex() == 2

"""Settings: which database (embedded or a PostgreSQL URL), the reviewer's name, and the keys.

The password never goes into the settings file: it goes to the OS keyring, or, where there is
no keyring, it is kept in memory for this session only (and asked for at the next start).
"Test connection" runs on the desk's background executor like every other database call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from reviewdesk.core.errors import ReviewDeskError
from reviewdesk.storage.engine import resolve_target
from reviewdesk.storage.urls import query_password
from reviewdesk.ui.operations import probe_connection, with_password
from reviewdesk.ui.settings import strip_password
from reviewdesk.ui.shortcuts import ACTIONS, keymap_problems, normalized, resolve_keymap
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.worker import Executor

PG_PLACEHOLDER = "postgresql+psycopg://USER@HOST:5432/DATABASE"


@dataclass(frozen=True)
class SettingsResult:
    database_url: str | None  # None: the embedded database. Never holds a password.
    password: str | None  # typed in the dialog: for the keyring, or for this session only
    keyring_account: str | None
    reviewer: str | None
    keymap: dict[str, str]


class SettingsDialog(QDialog):
    def __init__(
        self,
        *,
        database_url: str | None,
        reviewer: str | None,
        default_reviewer: str,
        keymap: Mapping[str, str],
        keyring_available: bool,
        embedded_path: str,
        executor: Executor,
        login: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self._executor = executor
        self._keyring_available = keyring_available
        self._probe = 0  # answers of earlier "test connection" clicks are ignored
        self._open = True
        self.finished.connect(self._closed)
        layout = QVBoxLayout(self)
        tabs = QTabWidget(self)
        layout.addWidget(tabs)
        tabs.addTab(
            self._connection_tab(database_url, reviewer, default_reviewer, embedded_path),
            "Connection",
        )
        tabs.addTab(self._keys_tab(keymap), "Keys")
        self.problems = plain_label(name="muted")
        self.problems.setWordWrap(True)
        layout.addWidget(self.problems)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 40)
        if login is not None:
            # On a shared database the reviewer is the login: nobody types another name.
            self.reviewer.setText(login)
            self.reviewer.setReadOnly(True)
            self.reviewer.setToolTip("On a shared database your name is your database login.")
            self.reviewer_note.setText(
                "Your name on this shared database is your login; your role there "
                "(reviewer, lead) is the database's."
            )
        self._sync_enabled()

    # -- connection ---------------------------------------------------------------------------
    def _connection_tab(
        self, url: str | None, reviewer: str | None, default_reviewer: str, embedded_path: str
    ) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self._form = form
        self.embedded = QRadioButton("Embedded database, on this computer", page)
        self.embedded.setAccessibleName("Use the embedded database")
        self.postgres = QRadioButton("PostgreSQL server, shared with other reviewers", page)
        self.postgres.setAccessibleName("Use a PostgreSQL server")
        group = QButtonGroup(page)
        group.addButton(self.embedded)
        group.addButton(self.postgres)
        path = plain_label(embedded_path, name="muted")
        path.setWordWrap(True)
        path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(plain_label("Database", name="sectionTitle"))
        form.addRow(self.embedded)
        form.addRow("", path)
        form.addRow(self.postgres)
        self.url = QLineEdit(page)
        self.url.setObjectName("databaseUrl")
        self.url.setAccessibleName("PostgreSQL URL")
        self.url.setPlaceholderText(PG_PLACEHOLDER)
        self.url.setClearButtonEnabled(True)
        self.password = QLineEdit(page)
        self.password.setObjectName("databasePassword")
        self.password.setAccessibleName("Database password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.keyring_note = plain_label(name="muted")
        self.keyring_note.setWordWrap(True)
        if self._keyring_available:
            self.password.setPlaceholderText("Leave empty to keep the one in the keyring")
        else:
            self.password.setPlaceholderText("Asked for at each start")
        form.addRow("URL", self.url)
        form.addRow("Password", self.password)
        form.addRow("", self.keyring_note)
        test_row = QHBoxLayout()
        self.test_button = QPushButton("Test connection", page)
        self.test_button.setObjectName("testConnection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = plain_label(name="muted")
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.test_result, 1)
        form.addRow(test_row)
        form.addRow(plain_label("Reviewer", name="sectionTitle"))
        self.reviewer = QLineEdit(page)
        self.reviewer.setObjectName("reviewerName")
        self.reviewer.setAccessibleName("Reviewer name")
        self.reviewer.setPlaceholderText(default_reviewer)
        self.reviewer.setText(reviewer or "")
        form.addRow("Name", self.reviewer)
        self.reviewer_note = plain_label(name="muted")
        self.reviewer_note.setObjectName("reviewerNote")
        self.reviewer_note.setWordWrap(True)
        form.addRow("", self.reviewer_note)

        self.embedded.setChecked(not url)
        self.postgres.setChecked(bool(url))
        self.url.setText(url or "")
        self.embedded.toggled.connect(self._sync_enabled)
        self.url.editingFinished.connect(self._take_password_from_url)
        self.url.textChanged.connect(self._sync_enabled)
        return page

    def _take_password_from_url(self) -> None:
        """A password typed into the URL (``user:pw@`` or ``?password=``) moves to the password
        field; no secret stays in the URL."""
        try:
            parsed = make_url(self.url.text().strip())
        except (ArgumentError, ValueError):
            return
        password = parsed.password or query_password(parsed)
        if password:
            self.password.setText(str(password))
        stripped = strip_password(self.url.text().strip())
        if stripped != self.url.text().strip():
            self.url.setText(stripped)

    def _sync_enabled(self) -> None:
        shared = self.postgres.isChecked()
        self.url.setEnabled(shared)
        self.password.setEnabled(shared)
        account = self.keyring_account() if shared else None
        if not shared:
            self.keyring_note.setText("")
        elif self._keyring_available:
            where = f" (account {account})" if account else ""
            self.keyring_note.setText(f"The password is kept in the OS keyring{where}.")
        else:
            self.keyring_note.setText(
                "No OS keyring is available on this system, so the password is not stored: "
                "ReviewDesk asks for it at each start and never writes it anywhere."
            )
        self._form.setRowVisible(self.keyring_note, bool(self.keyring_note.text()))

    def database_url(self) -> str | None:
        if not self.postgres.isChecked():
            return None
        text = self.url.text().strip()
        return strip_password(text) if text else ""

    def keyring_account(self) -> str | None:
        url = self.url.text().strip()
        if not url:
            return None
        try:
            return resolve_target(url).keyring_account
        except ReviewDeskError:
            return None

    def _url_problem(self) -> str | None:
        url = self.database_url()
        if url is None:
            return None
        if not url:
            return f"Enter the server's URL, such as {PG_PLACEHOLDER}."
        try:
            target = resolve_target(url)
        except (ReviewDeskError, ValueError) as exc:
            return str(exc)
        if target.dialect != "postgresql":
            return "Enter a postgresql:// URL, or choose the embedded database."
        return None

    def test_connection(self) -> None:
        problem = self._url_problem()
        if problem:
            self.test_result.setText(problem)
            return
        url = self.database_url()
        if url is not None:
            url = with_password(url, self.password.text() or None)
        self._probe += 1
        probe = self._probe
        self.test_result.setText("Connecting…")
        self.test_button.setEnabled(False)

        def answered(text: str) -> None:
            if self._open and probe == self._probe:
                self.test_button.setEnabled(True)
                self.test_result.setText(f"✓ {text}")

        def failed(exc: Exception) -> None:
            if self._open and probe == self._probe:
                self.test_button.setEnabled(True)
                self.test_result.setText(f"✗ {exc}")

        self._executor.submit(
            lambda: probe_connection(url), on_success=answered, on_failure=failed, label="probe"
        )

    # -- keys ---------------------------------------------------------------------------------
    def _keys_tab(self, keymap: Mapping[str, str]) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.addRow(plain_label("Click a key, then press the new key for it.", name="muted"))
        self.key_edits: dict[str, QKeySequenceEdit] = {}
        resolved = resolve_keymap(keymap)
        for spec in ACTIONS:
            edit = QKeySequenceEdit(QKeySequence(resolved[spec.id]), page)
            edit.setObjectName(f"key_{spec.id}")
            edit.setMaximumSequenceLength(1)
            edit.setClearButtonEnabled(True)
            edit.setAccessibleName(f"Key for {spec.title}")
            edit.keySequenceChanged.connect(lambda _seq: self._show_key_problems())
            self.key_edits[spec.id] = edit
            form.addRow(spec.title, edit)
        defaults = QPushButton("Restore default keys", page)
        defaults.clicked.connect(self.restore_default_keys)
        form.addRow("", defaults)
        return page

    def keymap(self) -> dict[str, str]:
        return {
            action_id: normalized(
                edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
            )
            for action_id, edit in self.key_edits.items()
        }

    def restore_default_keys(self) -> None:
        for spec in ACTIONS:
            self.key_edits[spec.id].setKeySequence(QKeySequence(spec.default_key))

    def _show_key_problems(self) -> None:
        self.problems.setText(" ".join(keymap_problems(self.keymap())))

    # -- result -------------------------------------------------------------------------------
    def problem(self) -> str | None:
        url_problem = self._url_problem()
        if url_problem:
            return url_problem
        key_problems = keymap_problems(self.keymap())
        return " ".join(key_problems) if key_problems else None

    def _try_accept(self) -> None:
        problem = self.problem()
        if problem:
            self.problems.setText(problem)
            return
        self.accept()

    def result_settings(self) -> SettingsResult:
        url = self.database_url()
        return SettingsResult(
            database_url=url or None,
            password=(self.password.text() or None) if url else None,
            keyring_account=self.keyring_account() if url else None,
            reviewer=self.reviewer.text().strip() or None,
            keymap=self.keymap(),
        )

    def _closed(self, _result: int) -> None:
        self._open = False

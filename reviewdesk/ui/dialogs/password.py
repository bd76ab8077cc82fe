"""Asks for a database password where no OS keyring can hold it. Kept in memory only."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QVBoxLayout, QWidget

from reviewdesk.ui.widgets.details import plain_label


class PasswordDialog(QDialog):
    def __init__(self, display: str, account: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Database password")
        layout = QVBoxLayout(self)
        title = plain_label(f"Password for {account or display}", name="sectionTitle")
        title.setWordWrap(True)
        layout.addWidget(title)
        note = plain_label(
            "There is no OS keyring on this system, so ReviewDesk does not store the password: "
            "it is kept in memory until you close the desk. Leave it empty if the server needs "
            "none.",
            name="muted",
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.password = QLineEdit(self)
        self.password.setObjectName("databasePassword")
        self.password.setAccessibleName("Database password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        layout.addWidget(self.password)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 32)

    @property
    def value(self) -> str:
        return self.password.text()

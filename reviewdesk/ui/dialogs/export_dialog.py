"""Desk ▸ Export dataset…: the lead's export of labelled feedback, with the CLI's choices.

The export (``reviewdesk.services.export``) can take a minute, so it runs on an executor of its
own, never on the desk's: decisions keep being recorded meanwhile. It opens its own connections
on the desk's database; this dialog runs no database call. Progress comes back by a queued
signal, Cancel sets the export's ``CancelToken`` (the service then deletes its hidden staging
folder, so the chosen folder is left as it was), and the dataset card is shown at the end.

Choices are checked by the service's own ``check_options`` before anything runs; its messages
name command-line flags, so they are put in the dialog's words and shown under the field.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QCoreApplication, QDate, QRegularExpression, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QDesktopServices,
    QFontDatabase,
    QFontMetrics,
    QStandardItemModel,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.core.domain import Label, Risk
from reviewdesk.core.errors import ReviewDeskError
from reviewdesk.services.export import (
    CancelToken,
    ExportCancelled,
    ExportError,
    ExportFilter,
    ExportFormat,
    ExportOptions,
    ExportProgress,
    ExportResult,
    RedactionSettings,
    SplitSpec,
    check_options,
    export_dataset,
    pyarrow_available,
    pyarrow_install_command,
)
from reviewdesk.services.export.runner import ProgressCallback
from reviewdesk.storage.engine import DatabaseTarget
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.widgets.question import open_question
from reviewdesk.ui.worker import Executor

log = logging.getLogger(__name__)

FORMAT_NAMES: dict[ExportFormat, str] = {
    ExportFormat.JSONL: "JSON Lines",
    ExportFormat.CSV: "CSV",
    ExportFormat.PARQUET: "Parquet",
    ExportFormat.HF: "Hugging Face datasets folder",
    ExportFormat.INSPECT: "inspect-ai samples",
    ExportFormat.PROMPTFOO: "promptfoo test cases",
    ExportFormat.OPENAI_EVALS: "OpenAI evals samples",
}
# The pip of the environment running ReviewDesk, not whichever pip comes first on PATH.
NEEDS_PYARROW = f"Needs pyarrow: {pyarrow_install_command()}"
MAX_SHORTFALLS_SHOWN = 4
CARD_COLUMNS, CARD_LINES = 100, 20  # the card view's least size, in characters
_PROGRESS_STEPS = 1000
# Fields whose validation messages the dialog shows (under the field), and "general" below all.
FIELDS = (
    "format",
    "out",
    "since",
    "until",
    "labels",
    "risks",
    "categories",
    "models",
    "per_stratum",
    "split",
    "seed",
    "regions",
    "general",
)
# The service names options as the command line does: which field a flag is, and its words.
_FLAG_FIELDS = {
    "--out": "out",
    "--force": "out",
    "--since": "until",  # "--since X is not before --until Y": the end is what to move
    "--until": "until",
    "--seed": "seed",
    "--per-stratum": "per_stratum",
    "--balance": "per_stratum",
    "--split": "split",
    "--phone-region": "regions",
}
_FLAG_WORDS = (
    ("pass --force", "tick “Replace its contents”"),
    ("--force", "“Replace its contents”"),
    ("--since", "the start date"),
    ("--until", "the end date"),
    ("--per-stratum", "“At most”"),
    ("--balance", "“Balance”"),
    ("--seed", "the seed"),
    ("--out", "the folder"),
)
_CARD_TITLE = QRegularExpression(r"^# ")
_FLAG = re.compile(r"--[a-z][a-z-]*")
_FLAG_PREFIX = re.compile(r"^--[a-z][a-z-]*(?: .*?)?: ")  # "--out /x: " (the field shows /x)


class ExportRunner(Protocol):
    """``export_dataset``'s shape; tests pass a wrapper that can hold the export mid-way."""

    def __call__(
        self,
        target: DatabaseTarget,
        options: ExportOptions,
        *,
        progress: ProgressCallback | None = ...,
        cancel: CancelToken | None = ...,
    ) -> ExportResult: ...


def field_message(message: str) -> tuple[str, str]:
    """The field a service message is about, and the message in the dialog's words."""
    flag = _FLAG.search(message)
    if flag is not None:
        field = _FLAG_FIELDS.get(flag.group(), "general")
    elif "needs pyarrow" in message:
        field = "format"
    else:
        field = "general"
    text = _FLAG_PREFIX.sub("", message, count=1)
    for flag_text, words in _FLAG_WORDS:
        text = text.replace(flag_text, words)
    return field, text[:1].upper() + text[1:]


def _values(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _day_chosen(check: QCheckBox, edit: QDateEdit) -> datetime | None:
    """A ticked date means midnight UTC, as on the command line (docs/export.md)."""
    if not check.isChecked():
        return None
    value = edit.date().toPython()
    assert isinstance(value, date)
    return datetime.combine(value, time(), tzinfo=UTC)


def choose_folder(parent: QWidget, start: str) -> str:
    """The folder chooser (a function of its own, so that tests can stand in for it)."""
    return QFileDialog.getExistingDirectory(parent, "Export to folder", start)


class ExportDialog(QDialog):
    """The choices of ``reviewdesk export``, a progress bar with Cancel, and the card at the end.

    Non-modal: the desk stays usable while an export runs. ``ended`` says how a run ended:
    "finished", "cancelled" or "failed".
    """

    ended = Signal(str)
    _progressed = Signal(object)  # ExportProgress, emitted on the export's thread

    def __init__(
        self,
        target: DatabaseTarget,
        *,
        export: ExportRunner | None = None,
        today: date | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export dataset")
        self._target = target
        self._export = export or export_dataset  # looked up now, so tests can stand in
        self._executor: Executor | None = None  # a thread only while an export runs
        self._token: CancelToken | None = None
        self._running = False
        self._close_when_done = False
        self.export_result: ExportResult | None = None
        self.cancel_question: QMessageBox | None = None
        self._progressed.connect(self._show_progress)
        self.finished.connect(self._stop_worker)
        app = QCoreApplication.instance()
        if app is not None:
            # Quitting with an export running: cancel it and wait, so no thread outlives the app.
            app.aboutToQuit.connect(self.shutdown)

        layout = QVBoxLayout(self)
        self.pages = QStackedWidget(self)
        layout.addWidget(self.pages, 1)
        self.messages: dict[str, QLabel] = {}
        self.form = self._form_page(today or datetime.now(UTC).date())
        self.pages.addWidget(self.form)
        self.pages.addWidget(self._result_page())
        layout.addWidget(self._progress_area())
        layout.addWidget(self._buttons())
        self._sync_enabled()
        self._set_running(False)
        self._show_page(self.form)

    # -- building -----------------------------------------------------------------------------
    def _message(self, field: str) -> QLabel:
        label = plain_label(name="fieldError")
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.hide()
        self.messages[field] = label
        return label

    def _field(self, field: str, control: QWidget | QLayout) -> QWidget:
        """``control`` with its validation message under it (hidden while there is none)."""
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if isinstance(control, QLayout):
            column.addLayout(control)
        else:
            column.addWidget(control)
        column.addWidget(self._message(field))
        return box

    def _form_page(self, today: date) -> QWidget:
        page = QWidget(self)
        columns = QHBoxLayout(page)
        columns.setContentsMargins(0, 0, 0, 0)
        left, right = QFormLayout(), QFormLayout()
        columns.addLayout(left, 3)
        columns.addSpacing(self.fontMetrics().height())
        columns.addLayout(right, 2)

        # Output
        left.addRow(plain_label("Output", name="sectionTitle"))
        self.format_box = QComboBox(page)
        self.format_box.setObjectName("exportFormat")
        self.format_box.setAccessibleName("Format")
        for fmt, name in FORMAT_NAMES.items():
            canonical = " (canonical)" if fmt is ExportFormat.JSONL else ""
            # Qt hands a StrEnum back as a plain str: the value goes in, ExportFormat comes out.
            self.format_box.addItem(name + canonical, fmt.value)
        self.pyarrow_hint = plain_label(f"Parquet and Hugging Face: {NEEDS_PYARROW}", name="muted")
        self.pyarrow_hint.setWordWrap(True)
        self._offer_pyarrow_formats(pyarrow_available())
        format_column = QVBoxLayout()
        format_column.addWidget(self.format_box)
        format_column.addWidget(self.pyarrow_hint)
        left.addRow("Format", self._field("format", format_column))

        self.out_edit = QLineEdit(page)
        self.out_edit.setObjectName("exportFolder")
        self.out_edit.setAccessibleName("Output folder")
        self.out_edit.setPlaceholderText("A new or empty folder")
        self.out_edit.setToolTip("The files and the dataset card (README.md) are written here.")
        self.out_edit.setClearButtonEnabled(True)
        self.choose_button = QPushButton("Choose…", page)
        self.choose_button.setObjectName("chooseFolder")
        self.choose_button.clicked.connect(self.choose_out)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.out_edit, 1)
        folder_row.addWidget(self.choose_button)
        self.force_check = QCheckBox("Replace its contents if it is not empty", page)
        self.force_check.setToolTip("Everything in the folder is deleted first.")
        folder_column = QVBoxLayout()
        folder_column.addLayout(folder_row)
        folder_column.addWidget(self.force_check)
        left.addRow("Folder", self._field("out", folder_column))

        # What goes in
        left.addRow(plain_label("What goes in", name="sectionTitle"))
        self.since_check, self.since_edit = self._date_row(today - timedelta(days=30))
        left.addRow(
            "Decided from", self._field("since", self._pair(self.since_check, self.since_edit))
        )
        self.until_check, self.until_edit = self._date_row(today + timedelta(days=1))
        left.addRow(
            "Decided before", self._field("until", self._pair(self.until_check, self.until_edit))
        )
        self.label_checks = {label.value: QCheckBox(label.value, page) for label in Label}
        left.addRow("Labels", self._field("labels", self._checks(self.label_checks)))
        self.risk_checks = {risk.value: QCheckBox(risk.value, page) for risk in Risk}
        left.addRow("Risk", self._field("risks", self._checks(self.risk_checks)))
        self.categories_edit = self._list_edit("Categories", "any; or e.g. refund, billing")
        left.addRow("Categories", self._field("categories", self.categories_edit))
        self.models_edit = self._list_edit("Model versions", "any; or e.g. drafter-2")
        left.addRow("Models", self._field("models", self.models_edit))
        self.low_attention_check = QCheckBox("Include low-attention approvals, flagged", page)
        self.low_attention_check.setToolTip(
            "Approvals made faster than the text could be read, in a run of such approvals. "
            "Left out unless ticked, as statistics leave them out; kept with low_attention: true."
        )
        left.addRow("", self.low_attention_check)

        # Sampling
        right.addRow(plain_label("Sampling", name="sectionTitle"))
        self.balance_check = QCheckBox("The same number per category and label", page)
        self.balance_check.toggled.connect(self._sync_enabled)
        right.addRow("Balance", self.balance_check)
        self.per_stratum_spin = QSpinBox(page)
        self.per_stratum_spin.setObjectName("perStratum")
        self.per_stratum_spin.setAccessibleName("At most per stratum")
        self.per_stratum_spin.setRange(0, 1_000_000_000)
        self.per_stratum_spin.setSpecialValueText("the smallest stratum's size")
        right.addRow("At most", self._field("per_stratum", self.per_stratum_spin))
        self.split_edit = QLineEdit(page)
        self.split_edit.setObjectName("exportSplit")
        self.split_edit.setAccessibleName("Split")
        self.split_edit.setPlaceholderText("none; or test=0.2 (the rest is train)")
        right.addRow("Split", self._field("split", self.split_edit))
        self.seed_edit = QLineEdit(page)
        self.seed_edit.setObjectName("exportSeed")
        self.seed_edit.setAccessibleName("Seed")
        self.seed_edit.setPlaceholderText("0")
        self.seed_edit.setToolTip("Seed of split and balance: the same seed, the same choice.")
        right.addRow("Seed", self._field("seed", self.seed_edit))

        # Privacy
        right.addRow(plain_label("Privacy", name="sectionTitle"))
        self.redact_check = QCheckBox("Redact e-mails, phones, cards, IBANs", page)
        self.redact_check.setToolTip(
            "Replaces them in input, context, draft, final and note (see docs/export.md for what "
            "is and is not caught). Reviewer names always become pseudonyms."
        )
        self.redact_check.toggled.connect(self._sync_enabled)
        right.addRow("Redact", self.redact_check)
        self.regions_edit = QLineEdit("US", page)
        self.regions_edit.setObjectName("phoneRegions")
        self.regions_edit.setAccessibleName("Phone regions")
        self.regions_edit.setToolTip(
            "Countries whose national phone formats are caught (two-letter codes, comma "
            "separated); numbers written with + and a country code are caught anyway."
        )
        right.addRow("Phone regions", self._field("regions", self.regions_edit))
        always = plain_label(
            "Never exported: gold (known-answer) drafts and undone decisions. Reviewer names "
            "become pseudonyms.",
            name="muted",
        )
        always.setWordWrap(True)
        right.addRow(always)

        for form in (left, right):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._clear_on_edit()
        return page

    def _date_row(self, initial: date) -> tuple[QCheckBox, QDateEdit]:
        check = QCheckBox(self)
        edit = QDateEdit(QDate(initial.year, initial.month, initial.day), self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip("Midnight UTC of that day, as on the command line")
        check.toggled.connect(self._sync_enabled)
        return check, edit

    @staticmethod
    def _pair(check: QCheckBox, edit: QWidget) -> QLayout:
        row = QHBoxLayout()
        row.addWidget(check)
        row.addWidget(edit, 1)
        return row

    @staticmethod
    def _checks(boxes: dict[str, QCheckBox]) -> QLayout:
        row = QHBoxLayout()
        for box in boxes.values():
            box.setChecked(True)  # all ticked: any
            row.addWidget(box)
        row.addStretch(1)
        return row

    def _list_edit(self, name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    def _show_page(self, page: QWidget) -> None:
        """Show ``page``, the dialog sized for it alone (the card page is much the larger)."""
        for other in (self.form, self.result_page):
            policy = QSizePolicy.Policy.Preferred if other is page else QSizePolicy.Policy.Ignored
            other.setSizePolicy(policy, policy)
        self.pages.setCurrentWidget(page)
        layout = self.layout()
        if layout is not None:  # now, not on the next turn of the event loop: then resize
            layout.invalidate()
            layout.activate()
        self.adjustSize()

    def _result_page(self) -> QWidget:
        page = QWidget(self)
        self.result_page = page
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(plain_label("Export finished", name="dialogTitle"))
        self.summary_label = plain_label()
        self.summary_label.setObjectName("exportSummary")
        self.summary_label.setWordWrap(True)
        column.addWidget(self.summary_label)
        path_row = QHBoxLayout()
        self.path_label = plain_label()
        self.path_label.setObjectName("exportPath")
        self.path_label.setAccessibleName("Output folder")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setWordWrap(True)
        self.open_folder_button = QPushButton("Open folder", page)
        self.open_folder_button.setObjectName("openExportFolder")
        self.open_folder_button.clicked.connect(self.open_folder)
        path_row.addWidget(self.path_label, 1)
        path_row.addWidget(self.open_folder_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(path_row)
        self.warnings_label = plain_label(name="muted")
        self.warnings_label.setObjectName("exportWarnings")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.warnings_label)
        column.addWidget(plain_label("Dataset card (README.md in the folder)", name="sectionTitle"))
        self.card_view = QPlainTextEdit(page)
        self.card_view.setObjectName("datasetCard")
        self.card_view.setAccessibleName("Dataset card")
        self.card_view.setReadOnly(True)
        self.card_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.card_view.setFont(mono)
        # Unwrapped, so that the card's tables stay tables; wide enough for most of their rows.
        chars = QFontMetrics(mono)
        self.card_view.setMinimumSize(
            chars.horizontalAdvance("M") * CARD_COLUMNS, chars.lineSpacing() * CARD_LINES
        )
        column.addWidget(self.card_view, 1)
        return page

    def _progress_area(self) -> QWidget:
        area = QWidget(self)
        column = QVBoxLayout(area)
        column.setContentsMargins(0, 0, 0, 0)
        self.progress_label = plain_label(name="muted")
        self.progress_label.setObjectName("exportProgressText")
        self.progress_label.setWordWrap(True)
        self.progress_bar = QProgressBar(area)
        self.progress_bar.setObjectName("exportProgress")
        self.progress_bar.setAccessibleName("Export progress")
        self.progress_bar.setRange(0, _PROGRESS_STEPS)
        self.progress_bar.setTextVisible(False)
        column.addWidget(self.progress_label)
        column.addWidget(self.progress_bar)
        column.addWidget(self._message("general"))
        return area

    def _buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox(self)
        self.export_button = QPushButton("Export", self)
        self.export_button.setObjectName("startExport")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel export", self)
        self.cancel_button.setObjectName("cancelExport")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.close_button = QPushButton("Close", self)
        self.close_button.setObjectName("closeExport")
        self.close_button.clicked.connect(self.reject)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        return buttons

    def _offer_pyarrow_formats(self, available: bool) -> None:
        """Parquet and hf need pyarrow (an optional extra): offered only where it is installed."""
        model = self.format_box.model()
        assert isinstance(model, QStandardItemModel)
        for row in range(self.format_box.count()):
            if ExportFormat(self.format_box.itemData(row)).needs_pyarrow:
                item = model.item(row)
                item.setEnabled(available)
                item.setToolTip("" if available else NEEDS_PYARROW)
        self.pyarrow_hint.setVisible(not available)

    def _clear_on_edit(self) -> None:
        """A field's message goes as soon as the field is changed."""
        for field, edit in (
            ("out", self.out_edit),
            ("categories", self.categories_edit),
            ("models", self.models_edit),
            ("split", self.split_edit),
            ("seed", self.seed_edit),
            ("regions", self.regions_edit),
        ):
            edit.textEdited.connect(lambda _text, f=field: self._set_message(f, ""))
        self.force_check.toggled.connect(lambda _on: self._set_message("out", ""))
        self.format_box.currentIndexChanged.connect(lambda _i: self._set_message("format", ""))
        for boxes, field in ((self.label_checks, "labels"), (self.risk_checks, "risks")):
            for box in boxes.values():
                box.toggled.connect(lambda _on, f=field: self._set_message(f, ""))

    def _sync_enabled(self) -> None:
        self.since_edit.setEnabled(self.since_check.isChecked())
        self.until_edit.setEnabled(self.until_check.isChecked())
        self.per_stratum_spin.setEnabled(self.balance_check.isChecked())
        self.regions_edit.setEnabled(self.redact_check.isChecked())

    # -- choices ------------------------------------------------------------------------------
    @property
    def chosen_format(self) -> ExportFormat:
        return ExportFormat(self.format_box.currentData())

    def choose_out(self) -> None:
        """Pick a folder; a non-empty one gets a new folder inside it, named for today."""
        current = self.out_edit.text().strip()
        start = str(Path(current).parent) if current else str(Path.home())
        chosen = choose_folder(self, start)
        if not chosen:
            return
        folder = Path(chosen)
        if folder.is_dir() and any(folder.iterdir()):
            folder = folder / f"reviewdesk-export-{datetime.now(UTC):%Y-%m-%d}"
        self.out_edit.setText(str(folder))
        self._set_message("out", "")

    def _set_message(self, field: str, text: str) -> None:
        label = self.messages[field]
        label.setText(text)
        label.setVisible(bool(text))

    def message(self, field: str) -> str:
        """The validation message shown under ``field`` ("" when none)."""
        label = self.messages[field]
        return label.text() if not label.isHidden() else ""

    def _checked(self, boxes: dict[str, QCheckBox]) -> tuple[str, ...] | None:
        """The ticked values; () when all are ticked (no filter); None when none is."""
        ticked = tuple(value for value, box in boxes.items() if box.isChecked())
        if not ticked:
            return None
        return () if len(ticked) == len(boxes) else ticked

    def collect_options(self) -> tuple[ExportOptions | None, dict[str, str]]:
        """The options as chosen, or the problems by field. The service's ``check_options``
        has the last word (bad seed, dates out of order, an occupied folder, no pyarrow)."""
        problems: dict[str, str] = {}
        raw_out = self.out_edit.text().strip()
        out = Path(raw_out).expanduser() if raw_out else None
        if out is None:
            problems["out"] = "Choose a folder for the export."
        elif not out.is_absolute():
            problems["out"] = "Give the folder's full path, or choose one."
        labels = self._checked(self.label_checks)
        if labels is None:
            problems["labels"] = "Tick at least one label."
        risks = self._checked(self.risk_checks)
        if risks is None:
            problems["risks"] = "Tick at least one risk level."
        split = None
        if self.split_edit.text().strip():
            try:
                split = SplitSpec.parse(self.split_edit.text())
            except ValueError as exc:
                problems["split"] = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        seed = 0
        if self.seed_edit.text().strip():
            try:
                seed = int(self.seed_edit.text().strip())
            except ValueError:
                problems["seed"] = "The seed is a whole number, such as 7."
        redaction = RedactionSettings()
        if self.redact_check.isChecked():
            regions = tuple(r.upper() for r in _values(self.regions_edit.text()))
            try:
                redaction = RedactionSettings(phone_regions=regions or ("US",))
            except ValueError as exc:
                problems["regions"] = str(exc)
        if problems or out is None or labels is None or risks is None:
            return None, problems
        balance = self.balance_check.isChecked()
        options = ExportOptions(
            out=out,
            format=self.chosen_format,
            filter=ExportFilter(
                since=_day_chosen(self.since_check, self.since_edit),
                until=_day_chosen(self.until_check, self.until_edit),
                categories=_values(self.categories_edit.text()),
                labels=labels,
                models=_values(self.models_edit.text()),
                risks=risks,
                include_low_attention=self.low_attention_check.isChecked(),
            ),
            balance=balance,
            per_stratum=(self.per_stratum_spin.value() or None) if balance else None,
            split=split,
            seed=seed,
            redact=self.redact_check.isChecked(),
            redaction=redaction,
            force=self.force_check.isChecked(),
        )
        try:
            check_options(options)  # reads no database: the folder, the seed, the dates, pyarrow
        except ExportError as exc:
            field, text = field_message(str(exc))
            return None, {field: text}
        return options, {}

    def _show_problems(self, problems: dict[str, str]) -> None:
        for field in FIELDS:
            self._set_message(field, problems.get(field, ""))

    # -- running ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def start_export(self) -> bool:
        """Check the choices and, if they are sound, start the export; False if it did not."""
        if self._running:
            return False
        options, problems = self.collect_options()
        self._show_problems(problems)
        if options is None:
            return False
        if self._executor is None:
            self._executor = Executor(
                on_unhandled=lambda exc: log.error("export job failed: %s", exc),
                name="reviewdesk-export",
                parent=self,
            )
        token = CancelToken()
        self._token = token
        self.export_result = None
        self._close_when_done = False
        self._set_running(True)
        self._show_progress(ExportProgress("starting", 0, 0))
        # Everything the job needs is bound here, on the GUI thread: the job touches no widget.
        export, target, report = self._export, self._target, self._progressed.emit
        self._executor.submit(
            lambda: export(target, options, progress=report, cancel=token),
            on_success=self._finished,
            on_failure=self._failed,
            label="export",
        )
        log.info("export to %s as %s started", options.out, options.format.value)
        return True

    def cancel_export(self, *, close_when_done: bool = False) -> None:
        """Stop the running export at its next page; the service removes what it staged."""
        if not self._running or self._token is None:
            return
        self._close_when_done = self._close_when_done or close_when_done
        self._token.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.progress_label.setText("Cancelling: the export stops at its next page…")

    @Slot(object)
    def _show_progress(self, progress: ExportProgress) -> None:
        if not self._running or (self._token is not None and self._token.cancelled):
            return  # a late report, or the bar says "Cancelling"
        bar = self.progress_bar
        if progress.phase == "starting" or (progress.phase != "finishing" and not progress.total):
            bar.setRange(0, 0)  # busy: counting what the export covers
            self.progress_label.setText("Looking at the decisions…")
            return
        bar.setRange(0, _PROGRESS_STEPS)
        bar.setValue(round(progress.fraction * _PROGRESS_STEPS))
        if progress.phase == "sampling":
            text = f"Choosing the balanced sample: {progress.fraction:.0%} of the decisions"
        elif progress.phase == "writing":
            text = (
                f"Writing: {progress.written:,} record(s) so far, "
                f"{progress.fraction:.0%} of the decisions"
            )
        else:
            bar.setValue(_PROGRESS_STEPS)
            text = f"Writing the dataset card ({progress.written:,} record(s))…"
        self.progress_label.setText(text)

    def _set_running(self, running: bool) -> None:
        self._running = running
        self.form.setEnabled(not running)
        self.export_button.setVisible(self.pages.currentWidget() is self.form)
        self.export_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.cancel_button.setText("Cancel export")
        self.close_button.setEnabled(not running)
        self.progress_bar.setVisible(running)
        if running:
            self.cancel_button.setDefault(True)
        else:
            self.progress_bar.setRange(0, _PROGRESS_STEPS)

    def _finished(self, result: ExportResult) -> None:
        """On the GUI thread: the folder is in place; show what was written and the card."""
        self.export_result = result
        self._end_question()
        self._show_page(self.result_page)
        self._set_running(False)
        self.progress_label.setText("")
        self._show_result(result)
        log.info("export to %s finished: %d record(s)", result.out, result.records)
        self._stop_worker()
        self.ended.emit("finished")
        if self._close_when_done:  # asked to close, but the export had already finished
            self.reject()

    def _failed(self, exc: Exception) -> None:
        self._end_question()
        self._set_running(False)
        if isinstance(exc, ExportCancelled):
            outcome = "cancelled"
            self.progress_label.setText(f"{exc}")  # "Export cancelled; nothing was written."
        else:
            outcome = "failed"
            self.progress_label.setText("")
            if isinstance(exc, ExportError):
                field, text = field_message(str(exc))
            elif isinstance(exc, ReviewDeskError):  # the database is unreachable, say
                field, text = "general", str(exc)
                if "nothing was written" not in text.lower():
                    text = f"{_sentence_end(text)} Nothing was written."
            else:  # a bug: logged with its traceback, and said here
                log.error("the export failed", exc_info=exc)
                field, text = "general", f"The export failed: {exc!r}. Nothing was written."
            self._set_message(field, text)
        log.info("export %s: %s", outcome, exc)
        self._stop_worker()
        self.ended.emit(outcome)
        if self._close_when_done:
            self.reject()

    def _show_result(self, result: ExportResult) -> None:
        splits = ", ".join(f"{name} {n:,}" for name, n in sorted(result.splits.items()))
        took = f"{result.seconds:.1f} s" if result.seconds >= 0.1 else "under 0.1 s"
        self.summary_label.setText(
            f"{result.records:,} record(s) ({splits or 'none'}) exported as "
            f"{FORMAT_NAMES[result.format]} in {took}."
        )
        self.path_label.setText(str(result.out))
        self.path_label.setToolTip(str(result.card_path))
        warnings = [
            f"Not written by {result.format.value}, {why}: {n:,}"
            for why, n in sorted(result.skipped.items())
        ]
        if result.pseudonym_scope == "export":
            warnings.append(
                "No OS keyring here: reviewer pseudonyms are stable within this export only."
            )
        if result.shortfalls:
            shown = [f"• {s}" for s in result.shortfalls[:MAX_SHORTFALLS_SHOWN]]
            more = len(result.shortfalls) - len(shown)
            if more:
                shown.append(f"• and {more} more: see the card's minimum-size table")
            warnings.append("Below the minimum test-set size:\n" + "\n".join(shown))
        self.warnings_label.setText("\n".join(warnings))
        self.warnings_label.setVisible(bool(warnings))
        self.card_view.setPlainText(result.card)
        self._scroll_card_to_body()
        self.close_button.setDefault(True)

    def _scroll_card_to_body(self) -> None:
        """Show the card from its title: the YAML front matter above it is for ``datasets``."""
        title = self.card_view.document().find(_CARD_TITLE)
        if title.isNull():
            return
        self.card_view.moveCursor(QTextCursor.MoveOperation.End)  # the title ends up on top
        self.card_view.setTextCursor(title)
        self.card_view.moveCursor(QTextCursor.MoveOperation.StartOfLine)
        self.card_view.ensureCursorVisible()

    def open_folder(self) -> None:
        if self.export_result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.export_result.out)))

    # -- closing ------------------------------------------------------------------------------
    def reject(self) -> None:  # Esc, Close and the window's close button all come here
        if self._running:
            self._ask_to_cancel()
            return
        super().reject()

    def _ask_to_cancel(self) -> None:
        if self.cancel_question is not None:
            self.cancel_question.raise_()
            return
        if self._close_when_done:  # already cancelling on the way out
            return
        self.cancel_question = open_question(
            self,
            "Export running",
            "An export is running. Cancel it and close?",
            "Nothing of it is kept: the folder is left as it was.",
            yes_text="Cancel export",
            no_text="Keep exporting",
            default_yes=False,
            answered=self._cancel_answered,
        )

    def _cancel_answered(self, box: QMessageBox, yes: bool) -> None:
        if self.cancel_question is box:
            self.cancel_question = None
        if yes:
            self.cancel_export(close_when_done=True)

    def _end_question(self) -> None:
        """The export ended while its question was open: the question is moot."""
        box, self.cancel_question = self.cancel_question, None
        if box is not None:
            box.done(QMessageBox.StandardButton.No)
            box.deleteLater()

    def _stop_worker(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            # Called once the export has ended (its thread is idle and ends at once), or by
            # shutdown after cancelling (then it waits for the export's next page).
            executor.stop()
            executor.deleteLater()

    def shutdown(self) -> None:
        """The desk is closing: cancel a running export, wait for it to stop (a page at most;
        the service removes what it staged), and close without asking."""
        if self._token is not None:
            self._token.cancel()
        self._end_question()
        self._stop_worker()
        self._running = False
        if self.isVisible():
            super().reject()


def _sentence_end(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."

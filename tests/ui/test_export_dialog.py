"""The export dialog (issue 6): the CLI's choices checked by the service's own checks, the export
on a thread of its own with progress and Cancel, the dataset card at the end, and no database
call on the GUI thread. On a real SQLite database with decisions made through the queue API."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import event
from sqlalchemy.pool import Pool

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.export import (
    CancelToken,
    ExportFormat,
    ExportOptions,
    ExportProgress,
    ExportResult,
    export_dataset,
)
from reviewdesk.services.export import runner as export_runner
from reviewdesk.services.export.formats import pyarrow_install_command
from reviewdesk.storage.engine import DatabaseTarget, resolve_target
from reviewdesk.ui.dialogs import export_dialog
from reviewdesk.ui.dialogs.export_dialog import NEEDS_PYARROW, ExportDialog
from tests.helpers.export_data import Spec, decide_all, mixed_specs
from tests.ui.conftest import HarnessFactory, drafts

ProgressCallback = Callable[[ExportProgress], None]


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def decided(sqlite_url: str, clock: ManualClock) -> Iterator[ReviewDesk]:
    """A database with every kind of decision, and enough of them for a test split."""
    desk = ReviewDesk.open(sqlite_url, upgrade=True, clock=clock)
    specs = [*mixed_specs(), *(Spec(f"more-{n:02d}", category="billing") for n in range(12))]
    decide_all(desk, specs, clock)
    yield desk
    desk.close()


@pytest.fixture
def gui_thread_sql(decided: ReviewDesk) -> Iterator[list[str]]:
    """Every connection taken from any pool on the GUI thread, from here on (the seeding above
    ran on this thread, before). The export reads through the driver's own cursors, so pool
    checkouts rather than statements are what can be seen of every read."""
    seen: list[str] = []

    def checkout(*_args: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            seen.append(threading.current_thread().name)

    event.listen(Pool, "checkout", checkout)
    yield seen
    event.remove(Pool, "checkout", checkout)


@pytest.fixture
def parent(qtbot: QtBot) -> Iterator[QWidget]:
    widget = QWidget()
    with qtbot.waitActive(widget):
        widget.show()
    yield widget
    widget.close()
    widget.deleteLater()


def open_dialog(
    qtbot: QtBot, parent: QWidget, target: DatabaseTarget, **kwargs: Any
) -> ExportDialog:
    dialog = ExportDialog(target, parent=parent, **kwargs)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


class HeldExport:
    """The real export, held on its thread at its first page of records until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []

    def __call__(
        self,
        target: DatabaseTarget,
        options: ExportOptions,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ExportResult:
        assert progress is not None
        self.threads.append(threading.current_thread())

        def report(p: ExportProgress) -> None:
            progress(p)
            if p.phase == "writing" and p.done and not self.reached.is_set():
                self.reached.set()
                assert self.release.wait(10), "the test never released the export"

        return export_dataset(target, options, progress=report, cancel=cancel)


def leftovers(folder: Path) -> list[str]:
    """Hidden staging or set-aside folders an export may have left beside its output."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- a whole export ----------------------------------------------------------------------------
@pytest.mark.one_engine(
    "the dialog's threads and states; the export's reads run on every engine in test_export.py"
)
def test_an_export_runs_off_the_gui_thread_and_shows_the_card(
    qtbot: QtBot,
    parent: QWidget,
    decided: ReviewDesk,
    gui_thread_sql: list[str],
    tmp_path: Path,
) -> None:
    held = HeldExport()
    dialog = open_dialog(qtbot, parent, decided.target, export=held)
    out = tmp_path / "feedback"
    dialog.out_edit.setText(str(out))
    dialog.split_edit.setText("test=0.2")
    dialog.seed_edit.setText("7")
    bar_values: list[int] = []
    dialog.progress_bar.valueChanged.connect(bar_values.append)

    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    # Running: the choices are locked, Cancel is offered, and the dialog keeps painting.
    assert dialog.running
    assert not dialog.form.isEnabled()
    assert dialog.cancel_button.isVisible() and not dialog.close_button.isEnabled()
    qtbot.waitUntil(held.reached.is_set)
    qtbot.waitUntil(lambda: dialog.progress_label.text().startswith("Writing"))
    assert dialog.progress_bar.isVisible()
    with qtbot.waitSignal(dialog.ended, timeout=20_000) as ended:
        held.release.set()
    assert ended.args == ["finished"]

    assert held.threads and held.threads[0] is not threading.main_thread()
    assert gui_thread_sql == [], "the database was read on the GUI thread"
    assert bar_values and bar_values[-1] == dialog.progress_bar.maximum()
    result = dialog.export_result
    assert result is not None and result.records == 16
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "test.jsonl", "train.jsonl"]
    # The card shown is the card written, read-only, with the folder beside it.
    assert dialog.pages.currentWidget() is dialog.result_page
    assert dialog.card_view.isReadOnly()
    assert dialog.card_view.toPlainText() == (out / "README.md").read_text(encoding="utf-8")
    assert dialog.path_label.text() == str(out)
    assert "16 record(s)" in dialog.summary_label.text()
    assert "as JSON Lines" in dialog.summary_label.text()
    # The card opens at its title, not at the YAML for `datasets` above it.
    top = dialog.card_view.cursorForPosition(dialog.card_view.viewport().rect().topLeft())
    assert top.block().text() == "# ReviewDesk labelled feedback"
    # Too few test records for the minimums: said, not hidden.
    assert "Below the minimum test-set size" in dialog.warnings_label.text()
    assert not dialog.export_button.isVisible() and dialog.close_button.isEnabled()
    assert not dialog.running
    dialog.close()
    assert not dialog.isVisible()


@pytest.mark.one_engine(
    "the dialog's threads and states; the export's reads run on every engine in test_export.py"
)
def test_every_choice_reaches_the_export(
    qtbot: QtBot, parent: QWidget, decided: ReviewDesk, tmp_path: Path
) -> None:
    chosen: list[ExportOptions] = []

    def record(
        target: DatabaseTarget,
        options: ExportOptions,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ExportResult:
        chosen.append(options)
        return export_dataset(target, options, progress=progress, cancel=cancel)

    dialog = open_dialog(qtbot, parent, decided.target, export=record)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("replaced")
    dialog.out_edit.setText(str(out))
    dialog.force_check.setChecked(True)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("csv"))
    dialog.since_check.setChecked(True)
    dialog.until_check.setChecked(True)
    dialog.label_checks["escalated"].setChecked(False)
    dialog.risk_checks["low"].setChecked(False)
    dialog.categories_edit.setText("refund, billing")
    dialog.models_edit.setText("drafter-2")
    dialog.low_attention_check.setChecked(True)
    dialog.balance_check.setChecked(True)
    dialog.per_stratum_spin.setValue(3)
    dialog.split_edit.setText("test=0.25,validation=0.25")
    dialog.seed_edit.setText("11")
    dialog.redact_check.setChecked(True)
    dialog.regions_edit.setText("de, gb")
    with qtbot.waitSignal(dialog.ended, timeout=20_000) as ended:
        assert dialog.start_export()
    assert ended.args == ["finished"]
    (options,) = chosen
    flt = options.filter
    assert options.out == out and options.force and options.format is ExportFormat.CSV
    assert flt.since is not None and flt.until is not None and flt.since < flt.until
    assert flt.since.utcoffset() is not None and (flt.since.hour, flt.since.minute) == (0, 0)
    assert flt.labels == ("approved", "edited", "rejected")
    assert flt.risks == ("medium", "high")
    assert flt.categories == ("refund", "billing") and flt.models == ("drafter-2",)
    assert flt.include_low_attention
    assert options.balance and options.per_stratum == 3
    assert str(options.split) == "test=0.25,validation=0.25" and options.seed == 11
    assert options.redact and options.redaction.phone_regions == ("DE", "GB")
    assert not (out / "old.txt").exists() and (out / "README.md").exists()
    dialog.close()


def test_defaults_are_the_cli_defaults(qtbot: QtBot, parent: QWidget, tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, parent, resolve_target(f"sqlite:///{tmp_path / 'q.sqlite3'}"))
    dialog.out_edit.setText(str(tmp_path / "out"))
    options, problems = dialog.collect_options()
    assert problems == {}
    assert options == ExportOptions(out=tmp_path / "out")
    dialog.close()


# -- choices checked before anything runs -------------------------------------------------------
def _not_empty(d: ExportDialog, tmp: Path) -> None:
    (tmp / "taken").mkdir()
    (tmp / "taken" / "keep.txt").write_text("mine")
    d.out_edit.setText(str(tmp / "taken"))


def _a_file(d: ExportDialog, tmp: Path) -> None:
    (tmp / "file").write_text("x")
    d.out_edit.setText(str(tmp / "file"))


def _dates_reversed(d: ExportDialog, _tmp: Path) -> None:
    d.since_check.setChecked(True)
    d.until_check.setChecked(True)
    d.until_edit.setDate(d.since_edit.date())


def _no_label(d: ExportDialog, _tmp: Path) -> None:
    for box in d.label_checks.values():
        box.setChecked(False)


def _no_risk(d: ExportDialog, _tmp: Path) -> None:
    for box in d.risk_checks.values():
        box.setChecked(False)


def _region(d: ExportDialog, _tmp: Path) -> None:
    d.redact_check.setChecked(True)
    d.regions_edit.setText("US, XX")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda d, _t: d.out_edit.setText(""), "out", "Choose a folder for the export."),
        (lambda d, _t: d.out_edit.setText("relative/out"), "out", "full path"),
        (_not_empty, "out", "not empty. Choose another, or tick “Replace its contents”"),
        (_a_file, "out", "Exists and is not a folder."),
        (lambda d, t: d.out_edit.setText(str(t / "no" / "out")), "out", "does not exist"),
        (_dates_reversed, "until", "The start date 20"),
        (_no_label, "labels", "Tick at least one label."),
        (_no_risk, "risks", "Tick at least one risk level."),
        (lambda d, _t: d.split_edit.setText("test=1.5"), "split", "between 0 and 1"),
        (lambda d, _t: d.split_edit.setText("train=0.2"), "split", "train is the remainder"),
        (lambda d, _t: d.seed_edit.setText("seven"), "seed", "whole number, such as 7"),
        (lambda d, _t: d.seed_edit.setText("-1"), "seed", "Use a whole number from 0 to"),
        (lambda d, _t: d.seed_edit.setText(str(2**63)), "seed", "Use a whole number from 0 to"),
        (_region, "regions", "Unknown phone region(s) XX"),
    ],
    ids=[
        "no-folder",
        "relative",
        "not-empty",
        "a-file",
        "no-parent",
        "dates",
        "labels",
        "risks",
        "split-share",
        "split-train",
        "seed-text",
        "seed-negative",
        "seed-too-large",
        "phone-region",
    ],
)
def test_problems_are_shown_under_their_field_and_nothing_runs(
    qtbot: QtBot,
    parent: QWidget,
    tmp_path: Path,
    change: Callable[[ExportDialog, Path], None],
    field: str,
    message: str,
) -> None:
    ran: list[ExportOptions] = []

    def never(target: DatabaseTarget, options: ExportOptions, **_kw: Any) -> ExportResult:
        ran.append(options)
        raise AssertionError("the export must not start")

    dialog = open_dialog(
        qtbot, parent, resolve_target(f"sqlite:///{tmp_path / 'q.sqlite3'}"), export=never
    )
    dialog.out_edit.setText(str(tmp_path / "out"))
    change(dialog, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert not dialog.running and ran == []
    assert message in dialog.message(field)
    assert dialog.messages[field].isVisible()
    others = [f for f in export_dialog.FIELDS if f != field and dialog.message(f)]
    assert others == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written or moved
    assert "--" not in dialog.message(field)  # the dialog's words, not the command line's
    dialog.close()


def test_a_message_goes_when_its_field_is_changed(
    qtbot: QtBot, parent: QWidget, tmp_path: Path
) -> None:
    dialog = open_dialog(qtbot, parent, resolve_target(f"sqlite:///{tmp_path / 'q.sqlite3'}"))
    dialog.split_edit.setText("oops")
    assert not dialog.start_export()
    assert dialog.message("out") and dialog.message("split")
    qtbot.keyClicks(dialog.split_edit, "x")
    assert dialog.message("split") == "" and dialog.message("out")
    dialog.close()


def test_parquet_is_offered_only_with_pyarrow(
    qtbot: QtBot, parent: QWidget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = resolve_target(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    with_arrow = open_dialog(qtbot, parent, target)
    model = with_arrow.format_box.model()
    assert isinstance(model, QStandardItemModel)
    assert all(model.item(row).isEnabled() for row in range(model.rowCount()))
    assert with_arrow.pyarrow_hint.isHidden()
    with_arrow.close()

    monkeypatch.setattr(export_dialog, "pyarrow_available", lambda: False)
    monkeypatch.setattr(export_runner, "pyarrow_available", lambda: False)
    dialog = open_dialog(qtbot, parent, target)
    model = dialog.format_box.model()
    assert isinstance(model, QStandardItemModel)
    for fmt in ExportFormat:
        item = model.item(dialog.format_box.findData(fmt.value))
        assert item.isEnabled() is not fmt.needs_pyarrow, fmt
        if fmt.needs_pyarrow:
            assert "pip install 'reviewdesk[parquet]'" in item.toolTip()
    assert dialog.pyarrow_hint.isVisible()
    # Chosen anyway (by a remembered choice, say): the service's own check says why not.
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("parquet"))
    dialog.out_edit.setText(str(tmp_path / "out"))
    assert not dialog.start_export()
    assert "needs pyarrow" in dialog.message("format")
    dialog.close()


def test_choosing_a_folder_that_holds_files_makes_a_new_one_in_it(
    qtbot: QtBot, parent: QWidget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "january").mkdir()
    (tmp_path / "empty").mkdir()
    answers = iter([str(tmp_path / "exports"), str(tmp_path / "empty"), ""])
    monkeypatch.setattr(export_dialog, "choose_folder", lambda _parent, _start: next(answers))
    dialog = open_dialog(qtbot, parent, resolve_target(f"sqlite:///{tmp_path / 'q.sqlite3'}"))
    dialog.choose_button.click()
    chosen = Path(dialog.out_edit.text())
    assert chosen.parent == tmp_path / "exports" and chosen.name.startswith("reviewdesk-export-")
    dialog.choose_button.click()
    assert dialog.out_edit.text() == str(tmp_path / "empty")
    dialog.choose_button.click()  # cancelled: the folder stays
    assert dialog.out_edit.text() == str(tmp_path / "empty")
    dialog.close()


# -- cancel, failure, closing ------------------------------------------------------------------
@pytest.mark.one_engine(
    "the dialog's threads and states; the export's reads run on every engine in test_export.py"
)
def test_cancel_mid_export_leaves_nothing_behind(
    qtbot: QtBot, parent: QWidget, decided: ReviewDesk, tmp_path: Path
) -> None:
    held = HeldExport()
    dialog = open_dialog(qtbot, parent, decided.target, export=held)
    out = tmp_path / "feedback"
    dialog.out_edit.setText(str(out))
    assert dialog.start_export()
    qtbot.waitUntil(held.reached.is_set)  # files are being written in the staging folder
    assert leftovers(tmp_path)[0].startswith(".feedback.partial-")
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.text() == "Cancelling…" and not dialog.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.ended, timeout=20_000) as ended:
        held.release.set()
    assert ended.args == ["cancelled"]
    assert not out.exists()
    assert leftovers(tmp_path) == []
    assert "nothing was written" in dialog.progress_label.text()
    # Back to the choices, ready for another go.
    assert dialog.form.isEnabled() and dialog.export_button.isVisible()
    assert not dialog.running and dialog.export_result is None
    with qtbot.waitSignal(dialog.ended, timeout=20_000) as again:
        assert dialog.start_export()  # not held the second time: it has been released
    assert again.args == ["finished"] and (out / "README.md").exists()
    dialog.close()


@pytest.mark.one_engine(
    "the dialog's threads and states; the export's reads run on every engine in test_export.py"
)
def test_closing_while_exporting_asks_then_cancels_cleanly(
    qtbot: QtBot, parent: QWidget, decided: ReviewDesk, tmp_path: Path
) -> None:
    held = HeldExport()
    dialog = open_dialog(qtbot, parent, decided.target, export=held)
    out = tmp_path / "feedback"
    out.mkdir()  # an empty folder: it is left as it was
    dialog.out_edit.setText(str(out))
    assert dialog.start_export()
    qtbot.waitUntil(held.reached.is_set)

    dialog.close()
    box = dialog.cancel_question
    assert box is not None and box.isVisible()
    assert dialog.isVisible() and dialog.running
    box.button(QMessageBox.StandardButton.No).click()  # keep exporting
    assert dialog.isVisible() and dialog.running and dialog.cancel_question is None

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc asks too
    box = dialog.cancel_question
    assert box is not None
    with qtbot.waitSignal(dialog.ended, timeout=20_000) as ended:
        box.button(QMessageBox.StandardButton.Yes).click()
        assert dialog.isVisible()  # until the export has stopped
        held.release.set()
    assert ended.args == ["cancelled"]
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert list(out.iterdir()) == [] and leftovers(tmp_path) == []


def test_an_unreachable_database_is_said_plainly(
    qtbot: QtBot, parent: QWidget, tmp_path: Path
) -> None:
    missing = resolve_target(f"sqlite:///{tmp_path / 'gone' / 'q.sqlite3'}")
    dialog = open_dialog(qtbot, parent, missing)
    dialog.out_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.ended, timeout=20_000) as ended:
        assert dialog.start_export()
    assert ended.args == ["failed"]
    message = dialog.message("general")
    assert message.startswith("No ReviewDesk database at sqlite:///")  # named, and where
    assert message.lower().endswith("nothing was written.")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []
    assert dialog.form.isEnabled()
    dialog.close()


@pytest.mark.one_engine(
    "the dialog's threads and states; the export's reads run on every engine in test_export.py"
)
def test_shutdown_cancels_a_running_export_and_waits_for_it(
    qtbot: QtBot, parent: QWidget, decided: ReviewDesk, tmp_path: Path
) -> None:
    held = HeldExport()
    dialog = open_dialog(qtbot, parent, decided.target, export=held)
    dialog.out_edit.setText(str(tmp_path / "feedback"))
    assert dialog.start_export()
    qtbot.waitUntil(held.reached.is_set)
    threading.Timer(0.2, held.release.set).start()  # the export thread resumes while we wait
    dialog.shutdown()  # what quitting the app does: no question, no thread left running
    assert not dialog.isVisible() and not dialog.running
    assert not (tmp_path / "feedback").exists() and leftovers(tmp_path) == []


# -- from the desk -----------------------------------------------------------------------------
def test_the_desk_menu_opens_it_and_the_desk_keeps_deciding_meanwhile(
    desk_harness: HarnessFactory, clock: ManualClock, tmp_path: Path
) -> None:
    def seed(desk: ReviewDesk) -> None:
        decide_all(desk, mixed_specs(), clock)
        desk.submit(drafts(3))

    h = desk_harness(seed=seed)
    h.wait_for_draft("d-01")
    action = h.window.shortcuts.actions["export"]
    menus = [a.menu() for a in h.window.menuBar().actions() if a.menu() is not None]
    assert any(action in menu.actions() for menu in menus)
    held = HeldExport()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export_dialog, "export_dataset", held)
        action.trigger()
    (dialog,) = [d for d in h.window.findChildren(ExportDialog) if d.isVisible()]
    action.trigger()  # a second time: the same dialog, raised
    assert [d for d in h.window.findChildren(ExportDialog) if d.isVisible()] == [dialog]
    dialog.out_edit.setText(str(tmp_path / "feedback"))
    assert dialog.start_export()
    qtbot = h.qtbot
    qtbot.waitUntil(held.reached.is_set)

    # The export is stuck mid-way on its own thread; the desk records a decision regardless.
    h.window.activateWindow()
    qtbot.waitUntil(h.window.isActiveWindow)
    h.press(Qt.Key.Key_A)
    h.wait_for_draft("d-02")
    h.wait_idle()
    with qtbot.waitSignal(dialog.ended, timeout=20_000) as ended:
        held.release.set()
    assert ended.args == ["finished"]
    result = dialog.export_result
    # The export covers the decisions that existed when it started (docs/export.md).
    assert result is not None and result.records == 4
    dialog.close()
    verify = h.verify()
    try:
        assert verify.counts().decided == 5
    finally:
        verify.close()


def test_the_pyarrow_hint_names_the_pip_of_this_environment() -> None:
    # A bare `pip install` may install into another Python than the one running ReviewDesk.
    assert NEEDS_PYARROW.endswith(pyarrow_install_command())
    assert sys.prefix in NEEDS_PYARROW or sys.executable in NEEDS_PYARROW

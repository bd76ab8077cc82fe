"""The embedded database is one person's: with a umask that lets everyone read (022), the files
ReviewDesk writes are 0600 in 0700 folders: the database and its -wal and -shm files, and
exports. (Settings and crash logs: tests/ui/test_private_files.py.)"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.config import paths
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.export import ExportFormat, ExportOptions, export_dataset
from reviewdesk.storage.engine import resolve_target
from tests.helpers.cli_walk import run_cli
from tests.helpers.export_data import decide_all, mixed_specs


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes_under(folder: Path) -> dict[str, int]:
    """Every file and folder under ``folder`` (itself too) → its mode."""
    found = {".": mode(folder)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = mode(path)
    return found


def assert_sqlite_files_private(path: Path) -> None:
    wal, shm = (path.with_name(path.name + end) for end in ("-wal", "-shm"))
    assert wal.exists() and shm.exists()  # checked while open, when SQLite has made them
    assert {p.name: oct(mode(p)) for p in (path, wal, shm)} == {
        p.name: "0o600" for p in (path, wal, shm)
    }


def test_the_embedded_database_is_0600_in_a_0700_folder() -> None:
    with ReviewDesk.open(None) as desk:
        desk.submit([{"id": "d1", "draft": "Hello"}])
        path = Path(desk.target.url.database or "")
        assert desk.target.embedded and path.parent == paths.data_dir()
        assert mode(path.parent) == 0o700
        assert_sqlite_files_private(path)


def test_an_embedded_database_an_older_version_left_open_is_closed_up() -> None:
    path = paths.embedded_database_path()
    ReviewDesk.open(None).close()
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o644)
    with ReviewDesk.open(None) as desk:
        desk.submit([{"id": "d1", "draft": "Hello"}])
        assert mode(path.parent) == 0o700
        assert_sqlite_files_private(path)


def test_a_new_sqlite_file_is_0600(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "new" / "queue.sqlite3"
    code, _out, _err = run_cli(capsys, "db", "upgrade", "--db", f"sqlite:///{path}")
    assert code == 0 and mode(path) == 0o600
    with ReviewDesk.open(f"sqlite:///{path}") as desk:
        desk.submit([{"id": "d1", "draft": "Hello"}])
        assert_sqlite_files_private(path)


def test_the_app_folders_are_0700() -> None:
    for folder in (paths.data_dir(), paths.config_dir(), paths.log_dir()):
        assert mode(folder) == 0o700, folder


@pytest.fixture
def decided(sqlite_url: str) -> str:
    clock = ManualClock()
    with ReviewDesk.open(sqlite_url, clock=clock, upgrade=True) as desk:
        decide_all(desk, mixed_specs(), clock)
    return sqlite_url


@pytest.mark.parametrize("fmt", [ExportFormat.JSONL, ExportFormat.HF, ExportFormat.PROMPTFOO])
@pytest.mark.one_engine("the modes of the files written, whatever engine was read")
def test_an_export_is_0600_files_in_0700_folders(
    decided: str, tmp_path: Path, fmt: ExportFormat
) -> None:
    out = tmp_path / "export"
    export_dataset(resolve_target(decided), ExportOptions(out=out, format=fmt))
    found = modes_under(out)
    assert "README.md" in found and len(found) > 2
    expected = {name: 0o700 if (out / name).is_dir() else 0o600 for name in found}
    assert {k: oct(v) for k, v in found.items()} == {k: oct(v) for k, v in expected.items()}


@pytest.mark.one_engine("the modes of the files written, whatever engine was read")
def test_an_export_folder_the_user_made_keeps_its_mode(decided: str, tmp_path: Path) -> None:
    out = tmp_path / "shared-export"
    out.mkdir()
    os.chmod(out, 0o750)
    export_dataset(resolve_target(decided), ExportOptions(out=out))
    assert mode(out) == 0o750
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}

"""The one module that knows where ReviewDesk keeps its files, and who may read them.

``REVIEWDESK_HOME`` redirects everything (data, config, logs) to one folder: tests and throwaway
runs use it so that the user's real folders are never touched.

The embedded database, settings, crash logs and exports are one person's: their folders are
0700 and their files 0600 whatever the umask (docs/security.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "ReviewDesk"
APP_ID = "org.reviewdesk.ReviewDesk"
HOME_ENV = "REVIEWDESK_HOME"


def _base(kind: str) -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override) / kind
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return Path(
        {"data": dirs.user_data_dir, "config": dirs.user_config_dir, "log": dirs.user_log_dir}[kind]
    )


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Make the folder ``path`` (and its parents) and leave it 0700, whatever the umask."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR:
        os.chmod(path, PRIVATE_DIR)
    return path


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 (whatever the umask) if it is not there; an existing
    file is left alone. Returns whether it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)  # the umask may have taken bits off the owner's
    return True


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to a new or replaced file ``path`` with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.chmod(path, PRIVATE_FILE)
        handle.write(text)


def make_private(folder: Path) -> None:
    """Every file under ``folder`` 0600 and every folder under it 0700 (``folder`` itself
    too): for what a library wrote with the umask's modes."""
    os.chmod(folder, PRIVATE_DIR)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), PRIVATE_DIR)
        for name in files:
            os.chmod(os.path.join(root, name), PRIVATE_FILE)


def data_dir() -> Path:
    return private_dir(_base("data"))


def config_dir() -> Path:
    return private_dir(_base("config"))


def log_dir() -> Path:
    return private_dir(_base("log"))


def embedded_database_path() -> Path:
    return data_dir() / "reviewdesk.sqlite3"

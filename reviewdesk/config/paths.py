"""The one module that knows where ReviewDesk keeps its files.

``REVIEWDESK_HOME`` redirects everything (data, config, logs) to one folder: tests and throwaway
runs use it so that the user's real folders are never touched.
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


def data_dir() -> Path:
    path = _base("data")
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    path = _base("config")
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = _base("log")
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_database_path() -> Path:
    return data_dir() / "reviewdesk.sqlite3"

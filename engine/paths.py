"""Where Autochrome finds its shipped resources and keeps the user's files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Autochrome"


def resources_dir() -> Path:
    # A PyInstaller build unpacks data beside the executable (sys._MEIPASS);
    # a checkout or editable install finds resources/ beside engine/.
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def shipped_models_dir() -> Path:
    return resources_dir() / "models"


def user_data_dir() -> Path:
    # Tests and portable setups point this elsewhere without touching the real profile.
    override = os.environ.get("AUTOCHROME_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def data_dir_overridden() -> bool:
    return bool(os.environ.get("AUTOCHROME_DATA_DIR"))


def user_models_dir() -> Path:
    return user_data_dir() / "models"

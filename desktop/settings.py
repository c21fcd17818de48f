"""Persistent preferences: every key named once, stored where the platform expects (QSettings)."""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QSettings

from autochrome.engine import paths


class Key(str, Enum):
    GEOMETRY = "window/geometry"
    STATE = "window/state"
    OPEN_FOLDER = "folders/open"
    SAVE_FOLDER = "folders/save"
    RECENT = "files/recent"
    SATURATION = "colorize/saturation"
    RENDER_SIZE = "colorize/render_size"
    MODEL = "colorize/model"
    DEVICE = "colorize/device"
    JPEG_QUALITY = "save/jpeg_quality"


DEFAULTS = {
    Key.SATURATION: 1.0,
    Key.RENDER_SIZE: 256,
    Key.MODEL: "",
    Key.DEVICE: "auto",
    Key.JPEG_QUALITY: 95,
    Key.RECENT: [],
    Key.OPEN_FOLDER: "",
    Key.SAVE_FOLDER: "",
}
MAX_RECENT = 10
# What the adjust panel offers. A stored value outside it (a hand-edited file, an older
# release) is brought to the nearest offered one here, where settings are read, so that the
# panel and the photo session see one value.
RENDER_SIZE_CHOICES = (192, 256, 384, 512)
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
RANGES = {Key.SATURATION: (0.0, 2.0), Key.JPEG_QUALITY: (1, 100)}


def default_store() -> QSettings:
    """The platform's usual place, or an ini file in AUTOCHROME_DATA_DIR when that is set
    (tests and portable installs), so the user's real settings are never touched."""
    if paths.data_dir_overridden():
        return QSettings(str(paths.user_data_dir() / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("Autochrome", "Autochrome")


class Settings:
    def __init__(self, store: QSettings | None = None):
        self.store = store or default_store()
        self.unreadable: set[Key] = set()  # entries that were damaged and read as their defaults

    @property
    def problem(self) -> str | None:
        """One line for the user when the settings file could not be read as written."""
        if self.store.status() != QSettings.Status.NoError:
            return f"The settings file {self.store.fileName()} could not be read; Autochrome started with default settings"
        if self.unreadable:
            names = ", ".join(sorted(key.value for key in self.unreadable))
            return f"Some settings were damaged and were reset to their defaults ({names})"
        return None

    def get(self, key: Key):
        """The stored value as the default's type, within what the app offers; a damaged or
        hand-edited entry reads as the default (or the nearest offered value), so a broken
        settings file never stops the app."""
        value = self._typed(key)
        bounded = _bounded(key, value)
        if bounded != value:
            self.unreadable.add(key)
        return bounded

    def _typed(self, key: Key):
        default = DEFAULTS.get(key)
        value = self.store.value(key.value, default)
        try:
            if isinstance(default, bool):
                return value in (True, "true", "1", 1)
            if isinstance(default, float):
                number = float(value)
                if number != number or abs(number) == float("inf"):
                    raise ValueError(value)
                return number
            if isinstance(default, int):
                return int(value)
            if isinstance(default, list):
                if value in (None, ""):
                    return []
                return [str(v) for v in ([value] if isinstance(value, str) else list(value))]
            if isinstance(default, str):
                if not isinstance(value, str):
                    raise TypeError(value)
                return value
        except (TypeError, ValueError):
            self.unreadable.add(key)
            return default
        return value

    def set(self, key: Key, value) -> None:
        self.store.setValue(key.value, value)

    def add_recent(self, path: str) -> list[str]:
        recent = [p for p in self.get(Key.RECENT) if p != path]
        recent.insert(0, path)
        recent = recent[:MAX_RECENT]
        self.set(Key.RECENT, recent)
        return recent


def _bounded(key: Key, value):
    if key == Key.RENDER_SIZE:
        return min(RENDER_SIZE_CHOICES, key=lambda choice: (abs(choice - value), choice))
    if key == Key.DEVICE and value not in DEVICE_CHOICES:
        return DEFAULTS[key]
    if key in RANGES:
        low, high = RANGES[key]
        return type(value)(min(max(value, low), high))
    return value


def restore_window(window) -> None:
    """The window's geometry, dock layout and adjust panel as the user left them."""
    settings = window.settings
    for key, restore in ((Key.GEOMETRY, window.restoreGeometry), (Key.STATE, window.restoreState)):
        value = settings.store.value(key.value)
        if value is not None:
            restore(value)
    if settings.store.value(Key.GEOMETRY.value) is None:
        window.resize(1280, 800)
    window.adjust.set_values(settings.get(Key.SATURATION), settings.get(Key.RENDER_SIZE), settings.get(Key.DEVICE),
                             settings.get(Key.JPEG_QUALITY))


def store_window(window) -> None:
    settings = window.settings
    settings.set(Key.GEOMETRY, window.saveGeometry())
    settings.set(Key.STATE, window.saveState())
    values = window.adjust.colorize_settings()
    settings.set(Key.SATURATION, values["saturation"])
    settings.set(Key.RENDER_SIZE, values["render_size"])
    settings.set(Key.DEVICE, window.adjust.device_key())
    settings.set(Key.JPEG_QUALITY, window.adjust.jpeg_quality.value())
    if window.model_name:
        settings.set(Key.MODEL, window.model_name)
    settings.store.sync()

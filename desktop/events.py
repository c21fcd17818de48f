"""Events for the Qt-free objects behind the window (the photo session, its history and hints)."""

from __future__ import annotations


class Event:
    """A list of handlers: what a Qt signal is, for an object that must not need Qt."""

    def __init__(self):
        self._handlers: list = []

    def connect(self, handler) -> None:
        self._handlers.append(handler)

    def emit(self, *args) -> None:
        for handler in list(self._handlers):
            handler(*args)

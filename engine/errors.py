"""Errors the engine raises for things a user can act on; their text is shown as-is."""


class AutochromeError(Exception):
    """Base for errors whose message is meant for the user."""


class ImageReadError(AutochromeError):
    pass


class ImageWriteError(AutochromeError):
    pass


class ModelError(AutochromeError):
    pass


class Cancelled(AutochromeError):
    def __init__(self, message: str = "cancelled"):
        super().__init__(message)

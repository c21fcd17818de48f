"""Autochrome's user-facing layer: the command line and the PySide6 app (the only Qt user)."""

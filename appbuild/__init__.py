"""Building installable Autochrome apps (PyInstaller); not part of the installed package."""

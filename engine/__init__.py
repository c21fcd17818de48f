"""Autochrome's engine: colour maths, generators, weights, image I/O and the colorize pipeline.

No Qt here: the desktop app and the command line both drive this package.
"""

# The one place the version is written; pyproject.toml and builds read it from here.
__version__ = "0.1.0"

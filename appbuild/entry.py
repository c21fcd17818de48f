"""The frozen app's entry point: the same command line as `autochrome` (no arguments opens the window)."""

import multiprocessing
import sys

from autochrome.desktop.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())

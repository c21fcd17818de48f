import sys

from autochrome.desktop.cli import main

sys.exit(main())

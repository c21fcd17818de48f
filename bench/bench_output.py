"""What every bench script does at its end: a Markdown table row, and the whole report as JSON."""

from __future__ import annotations

import json
from pathlib import Path


def row(*cells) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def save_report(path: Path | None, report: dict) -> int:
    """Write the report when a path was given; the exit status of a finished bench (0)."""
    if path is not None:
        Path(path).write_text(json.dumps(report, indent=1))
    return 0

"""Screenshots for the README: the split view with a real photo, and the fine-tune dialog
while it trains. Run under Xvfb (or any display):

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_screenshots.py PHOTO FINETUNE_FOLDER
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main() -> int:
    photo, folder = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ["AUTOCHROME_DATA_DIR"] = tempfile.mkdtemp()
    from PySide6.QtWidgets import QApplication
    from qt_waiting import settle, wait_for, window_with

    from autochrome.desktop.finetune_dialog import FinetuneDialog

    _app = QApplication(sys.argv[:1])  # noqa: F841  must outlive the windows

    window = window_with(photo)
    window.view.set_divider(0.5)
    settle(500)
    window.grab().save(str(HERE / "screenshot.png"))

    dialog = FinetuneDialog(window, window.model_name)
    dialog.resize(760, 820)
    dialog.show()
    dialog.folder.setText(str(folder))
    dialog._scan()
    wait_for(dialog.engine.worker.scanned)
    dialog.name.setText(f"{folder.name} look")
    dialog.start()
    wait_for(dialog.engine.worker.preview)
    for _ in range(60):  # let the curve grow and a second preview arrive
        settle(500)
        if len(dialog.curve.points) > 60:
            break
    dialog.grab().save(str(HERE / "finetune-dialog.png"))
    dialog.cancel()
    wait_for(dialog.engine.worker.stopped, 60_000)
    dialog.close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A screenshot of the hint tool for the README: the colour popover open on a photo (the
before/after of a hint is docs/make_one_click_figure.py's). Run under Xvfb (or any display):

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_hint_screenshots.py PHOTO X,Y,#RRGGBB [X,Y,#RRGGBB ...]

The hints are placed as a user would: hint tool on, a click on the photo, a colour chosen
in the popover (here the given one).
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
    photo = Path(sys.argv[1])
    specs = [(float(x), float(y), colour) for x, y, colour in (arg.split(",") for arg in sys.argv[2:])]
    os.environ["AUTOCHROME_DATA_DIR"] = tempfile.mkdtemp()
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from qt_waiting import settle, wait_for

    from autochrome.desktop.main_window import MainWindow
    from autochrome.engine.hints import Hint

    app = QApplication(sys.argv[:1])

    window = MainWindow(quiet=True)
    window.resize(1360, 860)
    window.move(0, 0)
    window.show()
    wait_for(window.modelReady)
    window.open_paths([photo])
    wait_for(window.resultShown)
    view = window.view
    view.set_divider(0.02)  # the colour side fills the view
    settle()
    window.hint_tool.tool_action.trigger()
    for index, (x, y, colour) in enumerate(specs):
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.image_to_widget(QPointF(x, y)).toPoint())
        settle(1500)
        if index == len(specs) - 1:
            app.primaryScreen().grabWindow(0).copy(0, 0, 1400, 900).save(str(HERE / "hint-popover.png"))
        hint = Hint.from_hex(x, y, colour)
        window.hint_tool.popover._emit(hint.a, hint.b, True)
        wait_for(window.resultShown)
        settle()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

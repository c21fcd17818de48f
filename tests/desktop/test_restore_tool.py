"""Restoration in the real window: the Restore panel, the brush, undo, the overlay, sidecars."""

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from autochrome.engine import sidecar

TIMEOUT = 60000


def scratched_png(path, width=240, height=160):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    grey = 90 + 60 * np.sin(x / 40) * np.cos(y / 30) + rng.normal(0, 3, (height, width))
    grey[10:150, 120] = 252  # a bright one-pixel scratch
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L").save(path)
    return path


@pytest.fixture
def shown(qtbot, window, tmp_path):
    photo = scratched_png(tmp_path / "old-print.png")
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        window.open_paths([photo])
    return window, photo


def _drag(qtbot, window, points):
    view = window.view
    widget = [view.image_to_widget(QPointF(x, y)).toPoint() for x, y in points]
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=widget[0])
    for point in widget[1:]:
        qtbot.mouseMove(view, pos=point)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=widget[-1])


def test_restore_fills_the_scratch_and_the_result_keeps_the_restored_lightness(qtbot, shown):
    window, photo = shown
    before = window.session.shown.reply.rgb[:, 120].mean()
    with qtbot.waitSignal(window.previewShown, timeout=TIMEOUT):
        with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
            window.adjust.restore.enabled.setChecked(True)
    entry = blocker.args[0]
    assert entry.restore.enabled and entry.reply.damage is not None and entry.reply.damage[20:140, 120].mean() > 0.8
    assert entry.reply.rgb[20:140, 120].mean() < before - 0.2  # the bright scratch is gone from the result
    window.adjust.restore.overlay.setChecked(True)
    assert window.view.overlay is not None and window.restore_tool.overlay_action.isChecked()
    assert window.adjust.restore.found.text().startswith("Filled ")
    with qtbot.waitSignal(window.entryShown, timeout=TIMEOUT):
        window.actions_.undo.trigger()
    assert not window.session.restore.enabled and not window.adjust.restore.enabled.isChecked()
    assert window.adjust.restore.found.text() == ""  # the photo as it was: not restored


def test_the_panel_says_when_restoring_found_nothing(qtbot):
    import numpy as np

    from autochrome.desktop.restore_tool import RestorePanel

    panel = RestorePanel()
    qtbot.addWidget(panel)
    panel.show_found(np.zeros((40, 60), bool))
    assert panel.found.text().startswith("No damage found at this strength")
    marked = np.zeros((40, 60), bool)
    marked[0, :6] = True
    panel.show_found(marked)
    assert panel.found.text() == "Filled 0.25 % of the photo"


def test_the_brush_marks_and_unmarks_damage_and_each_stroke_is_undone_like_a_hint(qtbot, shown, tmp_path):
    window, photo = shown
    window.view.set_divider(0.02)  # the scratch lies under the divider's usual place
    window.restore_tool.mark_action.trigger()
    assert window.view.brush_mode == "add" and not window.hint_tool.tool_action.isChecked()
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        _drag(qtbot, window, [(30, 30), (60, 30), (90, 30)])
    entry = blocker.args[0]
    assert entry.restore.enabled and len(entry.restore.strokes) == 1 and entry.restore.strokes[0].add
    assert entry.reply.damage[28:33, 35:85].mean() > 0.9  # the painted pixels are filled
    window.restore_tool.unmark_action.trigger()
    assert window.view.brush_mode == "erase" and not window.restore_tool.mark_action.isChecked()
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        _drag(qtbot, window, [(120, 20), (120, 80), (120, 140)])
    entry = blocker.args[0]
    assert [s.add for s in entry.restore.strokes] == [True, False]
    assert not entry.reply.damage[25:135, 118:123].any()  # the erased column stays as it was
    from autochrome.engine import color

    assert color.rgb_to_lab(entry.reply.rgb[40:120, 120:121])[..., 0].mean() > 80  # ... still the bright line
    with qtbot.waitSignal(window.entryShown, timeout=TIMEOUT):
        window.actions_.undo.trigger()
    assert len(window.session.restore.strokes) == 1 and window.view.overlay is None
    # Saving keeps the restoration beside the photo; opening it again restores the same way.
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.saves.save_to(tmp_path / "out.png")
    kept = json.loads(sidecar.beside(photo).read_text())["restore"]
    assert kept["enabled"] and len(kept["strokes"]) == 1 and kept["strokes"][0]["add"]

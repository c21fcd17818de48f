"""The hint tool in the real window: place, recolour, move, delete, undo, sidecars."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from autochrome.engine import sidecar
from tests.conftest import write_grey_png

TIMEOUT = 30000


@pytest.fixture
def shown(qtbot, window, tmp_path):
    """The window with a photo colorized and the hint tool on."""
    photo = write_grey_png(tmp_path / "street.png", 160, 120)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        window.open_paths([photo])
    window.hint_tool.tool_action.trigger()
    assert window.view.hint_mode
    return window, photo


def _widget_point(window, x, y) -> QPoint:
    return window.view.image_to_widget(QPointF(x, y)).toPoint()


def _place(qtbot, window, x, y, ab):
    """Click the photo, pick a colour in the popover; wait for the full result."""
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=_widget_point(window, x, y))
    popover = window.hint_tool.popover
    assert popover is not None and popover.isVisible()
    with qtbot.waitSignal(window.previewShown, timeout=TIMEOUT) as preview:
        with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
            popover._emit(ab[0], ab[1], True)
    assert preview.args[0].preview and preview.args[0].hints  # the quick pass came first
    return blocker.args[0]


def test_placing_and_recolouring_a_hint_renders_with_it(qtbot, shown):
    window, _ = shown
    entry = _place(qtbot, window, 40, 30, (50.0, -20.0))
    assert len(entry.hints) == 1
    hint = entry.hints[0]
    assert abs(hint.x - 40) <= 1 and abs(hint.y - 30) <= 1 and (hint.a, hint.b) == (50.0, -20.0)
    assert not entry.reply.preview and entry.reply.rgb.shape == (120, 160, 3)
    from autochrome.engine import color

    ab = color.rgb_to_lab(entry.reply.rgb[29:32, 39:42]).reshape(-1, 3)[:, 1:].mean(axis=0)
    assert ab == pytest.approx([50.0, -20.0], abs=10.0)
    assert len(window.view.markers) == 1 and window.history_panel.count() == 2
    assert window.hint_tool.hints.recent_colours[0] == (50.0, -20.0)


def test_moving_and_deleting_a_hint(qtbot, shown):
    window, _ = shown
    _place(qtbot, window, 40, 30, (50.0, -20.0))
    start = _widget_point(window, 40, 30)
    end = _widget_point(window, 100, 80)
    qtbot.mousePress(window.view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(window.view, pos=(start + end) / 2)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        qtbot.mouseMove(window.view, pos=end)
        qtbot.mouseRelease(window.view, Qt.MouseButton.LeftButton, pos=end)
    moved = blocker.args[0].hints[0]
    assert abs(moved.x - 100) <= 1 and abs(moved.y - 80) <= 1
    window.hint_tool.hints.select(0)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.hint_tool.delete_action.trigger()
    assert blocker.args[0].hints == [] and window.view.markers == []


def test_right_click_removes_and_clear_removes_all(qtbot, shown):
    window, _ = shown
    _place(qtbot, window, 40, 30, (50.0, -20.0))
    _place(qtbot, window, 120, 90, (-30.0, 30.0))
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(window.view, Qt.MouseButton.RightButton, pos=_widget_point(window, 40, 30))
    assert [(round(h.x), round(h.y)) for h in blocker.args[0].hints] == [(120, 90)]
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.hint_tool.clear_action.trigger()
    assert blocker.args[0].hints == []


def test_undo_and_redo_walk_hint_edits(qtbot, shown):
    window, _ = shown
    _place(qtbot, window, 40, 30, (50.0, -20.0))
    _place(qtbot, window, 120, 90, (-30.0, 30.0))
    assert len(window.hint_tool.hints) == 2
    window.actions_.undo.trigger()
    assert len(window.hint_tool.hints) == 1 and len(window.view.markers) == 1
    window.actions_.undo.trigger()
    assert len(window.hint_tool.hints) == 0
    window.actions_.redo.trigger()
    window.actions_.redo.trigger()
    assert [(h.a, h.b) for h in window.hint_tool.hints.hints] == [(50.0, -20.0), (-30.0, 30.0)]


def test_compare_without_hints_shows_the_unhinted_result(qtbot, shown):
    window, _ = shown
    first = window.session.history.entry()
    entry = _place(qtbot, window, 40, 30, (50.0, -20.0))
    assert entry.base_display is first.reply.result_display
    window.hint_tool.without_action.trigger()
    assert window.view.result is first.reply.result_display and window.view.markers == []
    window.hint_tool.without_action.trigger()
    assert window.view.result is entry.reply.result_display and len(window.view.markers) == 1


def test_sidecar_written_on_save_and_read_on_open(qtbot, shown, tmp_path):
    window, photo = shown
    _place(qtbot, window, 40, 30, (50.0, -20.0))
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.saves.save_to(tmp_path / "out.png")
    document = json.loads(sidecar.beside(photo).read_text())
    assert document["hints"][0]["x"] == pytest.approx(40, abs=1) and document["hints"][0]["ab"] == [50.0, -20.0]
    assert document["render_size"] == 256 and document["model"]
    # Opening the photo again brings its hints back.
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.open_paths([photo])
    reopened = blocker.args[0]
    assert [(h.a, h.b) for h in reopened.hints] == [(50.0, -20.0)]
    assert len(window.hint_tool.hints) == 1 and len(window.view.markers) == 1


def test_a_read_only_folder_keeps_the_hints_in_the_user_data_folder(qtbot, shown, tmp_path, monkeypatch):
    window, photo = shown
    _place(qtbot, window, 40, 30, (50.0, -20.0))
    monkeypatch.setattr(sidecar.os, "access", lambda path, mode: False)
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.saves.save_to(tmp_path / "elsewhere.png")
    assert not sidecar.beside(photo).exists()
    kept = sidecar.in_user_data(photo)
    assert kept.is_file() and sidecar.read(kept).hints[0].a == 50.0
    assert "read-only" in window.statusBar().currentMessage() and str(kept) in window.statusBar().currentMessage()


def test_a_damaged_sidecar_is_noted_and_the_photo_opens_without_it(qtbot, window, tmp_path):
    photo = write_grey_png(tmp_path / "scan.png", 64, 48)
    sidecar.beside(photo).write_text("{not json")
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.open_paths([photo])
    entry = blocker.args[0]
    assert entry.hints == [] and any("not valid JSON" in note for note in entry.reply.notes)


def test_popover_offers_the_model_colour_and_recent_colours(qtbot, shown):
    window, _ = shown
    _place(qtbot, window, 40, 30, (50.0, -20.0))
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=_widget_point(window, 120, 90))
    popover = window.hint_tool.popover
    assert len(popover.recent_buttons) == 1  # the earlier colour; the new hint's own is not repeated
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        popover.recent_buttons[0].click()
    assert (blocker.args[0].hints[1].a, blocker.args[0].hints[1].b) == (50.0, -20.0)
    qtbot.waitUntil(lambda: window.hint_tool.popover is None)  # a final choice closes it


def test_ab_plane_picks_chroma_at_the_points_lightness():
    from autochrome.desktop.colour_popover import AbPlane

    plane = AbPlane(60.0, (0.0, 0.0), size=100)
    assert plane.ab_at(QPointF(50, 50)) == pytest.approx((0.0, 0.0), abs=2.5)
    a, b = plane.ab_at(QPointF(100, 0))
    assert a > 100 and b > 100  # right is +a (red), up is +b (yellow)
    assert np.allclose(plane.ab_at(plane.point_of((30.0, -40.0))), (30.0, -40.0), atol=0.5)


def test_a_dismissed_popover_pins_the_models_colour(qtbot, shown):
    window, _ = shown
    before = window.history_panel.count()
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=_widget_point(window, 60, 40))
    assert window.history_panel.count() == before  # nothing rendered while the colour is chosen
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.hint_tool.popover.close()
    assert len(blocker.args[0].hints) == 1 and window.history_panel.count() == before + 1


def test_a_hint_placed_while_the_last_edit_renders_survives(qtbot, shown, monkeypatch):
    """Issue 27.1 in the window, with full renders held back until the second hint's popover is open."""
    import threading

    from autochrome.desktop import worker

    window, _ = shown
    gate = threading.Event()
    render = worker.EngineWorker._render

    def slow_render(self, request, rid):
        if request.kind == "full":
            gate.wait(TIMEOUT / 1000)
        return render(self, request, rid)

    monkeypatch.setattr(worker.EngineWorker, "_render", slow_render)
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=_widget_point(window, 40, 30))
    with qtbot.waitSignal(window.previewShown, timeout=TIMEOUT):
        window.hint_tool.popover._emit(50.0, -20.0, True)
    qtbot.waitUntil(lambda: window.session.in_flight is not None and window.session.in_flight.kind == "full")
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=_widget_point(window, 120, 90))
    second = window.hint_tool.popover
    assert second is not None and len(window.hint_tool.hints) == 2
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as landed:
        gate.set()
    assert len(landed.args[0].hints) == 1  # the first edit's result
    assert len(window.hint_tool.hints) == 2 and window.hint_tool.popover is second and len(window.view.markers) == 2
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        second._emit(-30.0, 30.0, True)
    assert [(h.a, h.b) for h in blocker.args[0].hints] == [(50.0, -20.0), (-30.0, 30.0)]

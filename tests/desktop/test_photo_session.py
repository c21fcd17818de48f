"""The photo session without Qt: what is rendered next, and what the history keeps."""

import subprocess
import sys
from types import SimpleNamespace

from autochrome.desktop.photo_session import PhotoSession, scaled_hints
from autochrome.engine.hints import Hint


class FakeEngine:
    """Takes requests and answers them when the test says so."""

    def __init__(self):
        self.requests, self.cancelled, self._next = [], [], 0

    def submit(self, request):
        self._next += 1
        self.requests.append(request)
        return self._next

    def cancel(self, request_id):
        self.cancelled.append(request_id)

    def reply(self, request, settings=None, hints=None):
        image = request.image or SimpleNamespace(lightness=None, size=(40, 30))
        display = SimpleNamespace(thumbnail=lambda: None, nbytes=10)
        return SimpleNamespace(request_id=request.request_id, label=request.label, source=request.source,
                               image=image, rgb=SimpleNamespace(nbytes=10), original_display=display,
                               result_display=display, settings=dict(settings or request.settings),
                               model_name="m", device="cpu", notes=[],
                               hints=list(request.hints if hints is None else hints),
                               preview=request.kind == "preview", ab_small=SimpleNamespace(nbytes=1),
                               reference=request.reference)


def session_with(engine, tmp_path, count=1):
    session = PhotoSession(engine.submit, engine.cancel, {"render_size": 256, "saturation": 1.0,
                                                         "temperature": None})
    session.model_loaded("m", reloaded=False)
    paths = []
    for index in range(count):
        path = tmp_path / f"p{index}.png"
        path.write_bytes(b"")
        paths.append(path)
    session.open_paths(paths)
    return session


def test_the_session_needs_neither_qt_nor_torch():
    code = ("import sys, autochrome.desktop.photo_session; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_photos_open_one_at_a_time_and_each_reply_adds_a_result(tmp_path):
    engine = FakeEngine()
    session = session_with(engine, tmp_path, count=2)
    assert len(engine.requests) == 1 and engine.requests[0].kind == "open"
    session.finished(engine.reply(engine.requests[0]))
    assert len(engine.requests) == 2 and len(session.history.entries) == 1
    session.finished(engine.reply(engine.requests[1]))
    assert [e.title for e in session.history.entries] == ["p0.png", "p1.png"] and session.in_flight is None


def test_a_hint_edit_previews_first_and_then_adds_one_full_result(tmp_path):
    engine = FakeEngine()
    session = session_with(engine, tmp_path)
    session.finished(engine.reply(engine.requests[0]))
    session.hints.add(10, 10, 20, 30)  # final
    preview = engine.requests[-1]
    assert preview.kind == "preview" and preview.then_full and len(preview.hints) == 1
    shown = []
    session.preview_ready.connect(shown.append)
    session.finished(engine.reply(preview))
    full = engine.requests[-1]
    assert shown and full.kind == "full" and len(full.hints) == 1 and len(session.history.entries) == 1
    session.finished(engine.reply(full))
    assert len(session.history.entries) == 2 and session.history.entries[-1].hints == full.hints


def test_a_hint_placed_while_the_last_edit_renders_survives_its_result_and_gets_its_colour(tmp_path):
    """Issue 27.1: a second hint placed (its colour not chosen yet) before the first one's
    full render ends is kept when that result lands, and the colour chosen then is its own."""
    engine = FakeEngine()
    session = session_with(engine, tmp_path)
    session.finished(engine.reply(engine.requests[0]))
    session.hints.add(10, 10, 20, 30)
    session.finished(engine.reply(engine.requests[-1]))  # the preview: the full render starts
    full = engine.requests[-1]
    assert full.kind == "full" and len(full.hints) == 1
    index = session.place_hint(25, 5, 1, 2)  # the popover is open
    session.finished(engine.reply(full))
    assert len(session.history.entries) == 2 and len(session.history.entries[-1].hints) == 1
    assert len(session.hints.hints) == 2 and session.hints.pending == index == 1
    session.hints.recolour(index, 60, -40)
    edit = engine.requests[-1]
    assert edit.kind == "preview" and [(h.a, h.b) for h in edit.hints] == [(20, 30), (60, -40)]
    # Going back in the history is the user's choice: the edit becomes that result's.
    session.place_hint(30, 5, 0, 0)
    session.undo()
    assert session.hints.hints == [] and session.hints.pending == -1
    session.hints.keep_pending()  # the popover closes on the reset: nothing to announce
    assert engine.requests[-1].kind != "preview" or engine.requests[-1] is edit


def test_a_dismissed_colour_choice_pins_the_model_colour_once(tmp_path):
    engine = FakeEngine()
    session = session_with(engine, tmp_path)
    session.finished(engine.reply(engine.requests[0]))
    before = len(engine.requests)
    session.place_hint(5, 5, 3, 4)
    assert len(engine.requests) == before  # the model's own colour: nothing to render yet
    session.hints.keep_pending()
    session.hints.keep_pending()
    assert len(engine.requests) == before + 1 and engine.requests[-1].hints[0].a == 3


def test_a_photo_takes_at_most_the_engines_number_of_hints(tmp_path, monkeypatch):
    from autochrome.desktop import photo_session

    monkeypatch.setattr(photo_session, "MAX_HINTS", 2)
    engine = FakeEngine()
    session = session_with(engine, tmp_path)
    session.finished(engine.reply(engine.requests[0]))
    notices = []
    session.notice.connect(notices.append)
    for x in (1, 2):
        session.hints.recolour(session.place_hint(x, 1, 0, 0), 5, 5)
    assert session.place_hint(3, 1, 0, 0) == -1 and len(session.hints) == 2 and "at most 2" in notices[-1]


def test_dragging_lets_the_preview_in_flight_finish_and_coalesces_the_moves(tmp_path):
    engine = FakeEngine()
    session = session_with(engine, tmp_path)
    session.finished(engine.reply(engine.requests[0]))
    session.hints.add(10, 10, 20, 30, announce=False)
    session.hints.move(0, 11, 10, final=False)
    first = engine.requests[-1]
    for x in (12, 13, 14):
        session.hints.move(0, x, 10, final=False)
    assert engine.requests[-1] is first and not engine.cancelled  # painted before the next one starts
    session.finished(engine.reply(first))
    second = engine.requests[-1]
    assert second.kind == "preview" and second.hints[0].x == 14 and len(engine.requests) == 3


def test_a_newer_edit_replaces_a_full_render_in_flight(tmp_path):
    engine = FakeEngine()
    session = session_with(engine, tmp_path)
    session.finished(engine.reply(engine.requests[0]))
    session.set_settings({"saturation": 0.5})
    superseded = engine.requests[-1]
    session.set_settings({"saturation": 1.5})
    newest = engine.requests[-1]
    assert newest is not superseded and newest.settings["saturation"] == 1.5
    session.finished(engine.reply(superseded))  # stale: dropped
    assert len(session.history.entries) == 1
    session.finished(engine.reply(newest))
    assert [e.settings["saturation"] for e in session.history.entries] == [1.0, 1.5]


def two_results(engine, tmp_path, saturation):
    """A session with one photo rendered twice: as opened, then at another saturation."""
    session = session_with(engine, tmp_path)
    session.finished(engine.reply(engine.requests[0]))
    session.set_settings({"saturation": saturation})
    session.finished(engine.reply(engine.requests[-1]))
    return session


def test_undo_during_a_preview_adds_no_result(tmp_path):
    engine = FakeEngine()
    session = two_results(engine, tmp_path, 2.0)
    session.hints.add(5, 5, 10, 10)
    preview = engine.requests[-1]
    session.undo()
    assert preview.request_id in engine.cancelled
    session.finished(engine.reply(preview))  # arrives late: it belongs to the entry undone from
    assert len(session.history.entries) == 2 and engine.requests[-1] is preview
    assert session.history.current == 0 and session.hints.hints == []


def test_a_sidecars_settings_stay_with_the_photo_after_an_edit(tmp_path):
    engine = FakeEngine()
    session = session_with(engine, tmp_path)
    opened = engine.requests[0]
    session.finished(engine.reply(opened, settings={"render_size": 128, "saturation": 2.0, "temperature": 0.3}))
    session.hints.add(5, 5, 10, 10)
    assert engine.requests[-1].settings.items() >= {"render_size": 128, "saturation": 2.0, "temperature": 0.3}.items()
    assert engine.requests[-1].model == "m"


def test_edits_wait_while_a_batch_runs_and_cancel_drops_the_rest(tmp_path):
    engine = FakeEngine()
    session = session_with(engine, tmp_path, count=3)
    session.finished(engine.reply(engine.requests[0]))
    session.hints.add(5, 5, 10, 10)  # the second photo is rendering: the edit waits
    assert engine.requests[-1].kind == "open" and len(engine.requests) == 2
    session.cancel()
    assert engine.cancelled == [engine.requests[1].request_id]
    assert [item.status for item in session.queue] in (["done", "colorizing", "cancelled"],
                                                       ["colorizing", "cancelled"])
    session.cancelled(engine.requests[1].request_id)
    assert session.in_flight is None and len(engine.requests) == 2


def test_a_released_entry_is_restored_from_its_colour(tmp_path):
    engine = FakeEngine()
    session = two_results(engine, tmp_path, 0.5)
    first = session.history.entries[0]
    first.release()
    session.select(0)
    restore = engine.requests[-1]
    assert restore.kind == "rebuild" and restore.rebuilds is first and restore.ab_small is first.ab_small
    session.finished(engine.reply(restore))
    assert first.available and len(session.history.entries) == 2


def test_a_released_entry_chosen_during_a_batch_is_rebuilt_before_the_next_photo(tmp_path):
    """Issue 27.5: it was reported "let go" and never rebuilt."""
    engine = FakeEngine()
    session = two_results(engine, tmp_path, 0.5)
    first = session.history.entries[0]
    first.release()
    later = [tmp_path / "q1.png", tmp_path / "q2.png"]
    for path in later:
        path.write_bytes(b"")
    notices = []
    session.notice.connect(notices.append)
    session.open_paths(later)
    batch_photo = engine.requests[-1]
    assert batch_photo.kind == "open"
    session.select(0)
    assert engine.requests[-1] is batch_photo and "rebuilt" in notices[-1]
    session.finished(engine.reply(batch_photo))  # the batch result lands and is shown
    restore = engine.requests[-1]
    assert restore.kind == "rebuild" and restore.rebuilds is first
    session.finished(engine.reply(restore))
    assert first.available and engine.requests[-1].kind == "open" and engine.requests[-1].source == later[1]


def test_hints_scale_into_a_preview_by_each_axis_and_stay_inside():
    hints = [Hint(2999, 1758, 1, 1), Hint(0, 0, 1, 1)]
    scaled = scaled_hints(hints, (3000, 1759), (1024, 600))
    assert all(0 <= h.x < 1024 and 0 <= h.y < 600 for h in scaled)
    assert scaled[0].y > 599


import json
import os

import pytest

from autochrome.engine import sidecar
from autochrome.engine.hints import Hint
from autochrome.engine.sidecar import PhotoEdit, SidecarError


def test_round_trip_keeps_hints_and_settings(tmp_path):
    photo = tmp_path / "scan.png"
    photo.write_bytes(b"the photo itself")
    edit = PhotoEdit([Hint(120, 88, 20.5, 35.25), Hint.from_hex(3, 4, "#2050c0")], model="autochrome-default",
                     render_size=384, saturation=1.2, vibrance=0.3)
    written = sidecar.write(photo, edit, lightness_at=lambda x, y: 50.0)
    assert written == tmp_path / "scan.png.autochrome.json"
    assert photo.read_bytes() == b"the photo itself"
    document = json.loads(written.read_text())
    assert document["version"] == sidecar.VERSION and document["hints"][0]["color"].startswith("#")
    again = sidecar.read(written, photo_size=(640, 480))
    assert again.model == "autochrome-default" and again.render_size == 384
    assert again.saturation == 1.2 and again.vibrance == 0.3
    assert [(h.x, h.y) for h in again.hints] == [(120, 88), (3, 4)]
    assert again.hints[0].a == pytest.approx(20.5) and again.hints[0].b == pytest.approx(35.25)
    assert sidecar.find(photo) == written


def test_the_minimal_documented_form_is_read(tmp_path):
    path = tmp_path / "a.jpg.autochrome.json"
    path.write_text('{"hints": [{"x": 120, "y": 88, "color": "#7a5230"}]}')
    edit = sidecar.read(path, photo_size=(200, 100))
    hint = Hint.from_hex(120, 88, "#7a5230")
    assert len(edit.hints) == 1 and edit.hints[0] == hint and edit.model is None


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"hints": {"x": 1}}', "must be a list"),
    ('{"hints": [{"x": 1, "y": 2, "color": "#12345"}]}', "hint 1"),
    ('{"hints": [{"x": 1, "y": 2, "color": "blue"}]}', "hex colour"),
    ('{"hints": [{"x": 1, "y": 2}]}', "has no color"),
    ('{"hints": [{"x": "left", "y": 2, "color": "#ffffff"}]}', "x must be a number"),
    ('{"hints": [{"x": 1, "y": 2, "color": "#ffffff"}, {"x": 900, "y": 2, "color": "#ffffff"}]}', "hint 2 at (900, 2) lies outside the 200x100 photo"),
    ('{"hints": [{"x": 1, "y": 2, "ab": [1], "color": "#ffffff"}]}', "ab must be two numbers"),
    ('{"version": 99, "hints": []}', "newer Autochrome"),
    ('{"version": "1", "hints": []}', "whole number"),
    ('{"render_size": 10, "hints": []}', "render_size"),
    ('{"saturation": "lots", "hints": []}', "saturation"),
    ('{"model": 5, "hints": []}', "model"),
    # Issue 27.6: integers of 309 to 4299 digits overflowed float() and math.isfinite().
    ('{"hints": [{"x": 1%s, "y": 2, "color": "#ffffff"}]}' % ("0" * 400), "x must be a number"),
    ('{"hints": [{"x": 1, "y": 2, "ab": [1%s, 0]}]}' % ("0" * 4000), "ab must be two numbers"),
    ('{"render_size": 1%s, "hints": []}' % ("0" * 309), "render_size"),
    ('{"saturation": -1%s, "hints": []}' % ("0" * 4298), "saturation"),
])
def test_every_malformed_sidecar_is_one_clear_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "photo.png.autochrome.json"
    path.write_text(content)
    with pytest.raises(SidecarError) as caught:
        sidecar.read(path, photo_size=(200, 100))
    message = str(caught.value)
    assert message.startswith("photo.png.autochrome.json: ") and reason in message and "\n" not in message


def test_binary_garbage_is_a_clear_error(tmp_path):
    path = tmp_path / "p.png.autochrome.json"
    path.write_bytes(b"\xff\xfe\x00garbage\x89")
    with pytest.raises(SidecarError, match="p.png.autochrome.json"):
        sidecar.read(path)


@pytest.mark.skipif(os.name == "nt", reason="needs POSIX permissions")
def test_read_only_folder_sends_the_edit_to_the_user_data_folder(tmp_path, read_only):
    folder = tmp_path / "archive"
    folder.mkdir()
    photo = folder / "scan.png"
    photo.write_bytes(b"x")
    read_only(folder)
    try:
        written = sidecar.write(photo, PhotoEdit([Hint(1, 1, 5, 5)]))
    finally:
        folder.chmod(0o755)
    assert not sidecar.beside(photo).exists()
    assert written == sidecar.in_user_data(photo) and sidecar.find(photo) == written


def test_unwritable_beside_path_falls_back_too(tmp_path, monkeypatch):
    """Where permissions are not the obstacle (root, network shares), a refused write still
    ends in the user data folder."""
    photo = tmp_path / "scan.png"
    photo.write_bytes(b"x")
    monkeypatch.setattr(sidecar.os, "access", lambda path, mode: False)
    written = sidecar.write(photo, PhotoEdit([Hint(1, 1, 5, 5)]))
    assert written == sidecar.in_user_data(photo) and not sidecar.beside(photo).exists()
    # Saving again once the folder is writable moves the edit beside the photo.
    monkeypatch.undo()
    assert sidecar.write(photo, PhotoEdit([Hint(2, 2, 5, 5)])) == sidecar.beside(photo)
    assert not sidecar.in_user_data(photo).exists()


def test_the_fallback_name_is_cut_by_bytes_not_characters(tmp_path):
    """Issue 19, 2.10: 90 CJK characters made a 273-byte name (ENAMETOOLONG) and lost the hints."""
    photo = tmp_path / ("写真" * 45 + ".png")
    name = sidecar.in_user_data(photo).name
    assert len(os.fsencode(name)) <= 255
    sidecar.in_user_data(photo).parent.mkdir(parents=True, exist_ok=True)
    sidecar.in_user_data(photo).write_text("{}")  # a name the file system takes


def test_hints_per_photo_are_bounded(tmp_path):
    """Issue 27.7: 100,000 hints in a sidecar needed 10-20 GB in the spreading."""
    from autochrome.engine.hints import MAX_HINTS, Hint, HintError, check_inside

    path = tmp_path / "photo.png.autochrome.json"
    hint = {"x": 1, "y": 2, "color": "#ffffff"}
    path.write_text(json.dumps({"hints": [hint] * MAX_HINTS}))
    assert len(sidecar.read(path, photo_size=(200, 100)).hints) == MAX_HINTS
    path.write_text(json.dumps({"hints": [hint] * 100_000}))
    with pytest.raises(SidecarError, match=f"100000 hints; Autochrome takes at most {MAX_HINTS}"):
        sidecar.read(path)
    with pytest.raises(HintError, match="at most"):
        check_inside([Hint(1, 1, 0, 0)] * (MAX_HINTS + 1), 10, 10)

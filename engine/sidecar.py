"""A photo's edit, kept beside it: `<photo file name>.autochrome.json`.

    {"version": 1, "hints": [{"x": 120, "y": 88, "color": "#7a5230", "ab": [12.5, 30.1]}],
     "model": "autochrome-default", "render_size": 256, "saturation": 1.0, "vibrance": null,
     "reach": 0.25, "reference": "beach-1987.jpg"}

x and y are pixels of the upright photo (EXIF orientation applied). "color" is the hint as
sRGB hex, shown at the photo's own lightness there; only its chroma is used. "ab", when
present, is that chroma exactly (hex rounding and the sRGB gamut can shift it) and wins.
"reference" is a colour photo the photo takes its colours from, relative to the sidecar's
folder or absolute. Every other field is optional. The app writes these files, `autochrome colorize` reads them,
and fine-tuning learns from the photos that have them. Where the photo's folder cannot be
written, the edit goes to the user data folder instead, under a name made from the photo's
full path.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

from . import paths
from .atomic import atomic_path
from .edit import (
    MAX_REACH,
    MAX_RENDER_SIZE,
    MAX_SATURATION,
    MAX_TEMPERATURE,
    MIN_REACH,
    MIN_RENDER_SIZE,
    MIN_SATURATION,
    MIN_TEMPERATURE,
    DEFAULT_STRENGTH,
    MAX_STROKE_POINTS,
    MAX_STROKES,
    MAX_STRENGTH,
    MIN_STRENGTH,
    EditError,
    PhotoEdit,
    RestoreEdit,
    Stroke,
    check_range,
    is_finite_number,
)
from .hints import MAX_HINTS, Hint, HintError

SUFFIX = ".autochrome.json"
VERSION = 1
SETTING_FIELDS = ("model", "render_size", "saturation", "vibrance", "reach", "reference")
LIMITS = {"render_size": (MIN_RENDER_SIZE, MAX_RENDER_SIZE, True), "saturation": (MIN_SATURATION, MAX_SATURATION, False),
          "vibrance": (MIN_TEMPERATURE, MAX_TEMPERATURE, False), "reach": (MIN_REACH, MAX_REACH, False)}


class SidecarError(ValueError):
    """A sidecar that cannot be used; the text is one line that names the file."""


NAME_BYTES = 255  # the longest file name most file systems take, in bytes


def beside(photo: Path) -> Path:
    photo = Path(photo)
    return photo.with_name(photo.name + SUFFIX)


def fits_beside(photo: Path) -> bool:
    """Whether the photo's name leaves room for the sidecar's suffix (a 240-byte name does not)."""
    return len(os.fsencode(beside(photo).name)) <= NAME_BYTES


def in_user_data(photo: Path) -> Path:
    """The fallback place for a photo whose folder is read-only (or whose name is too long
    for a sidecar beside it): one file per photo path, its name cut to whole characters
    within 80 bytes."""
    resolved = str(Path(photo).resolve())
    digest = hashlib.sha1(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = os.fsencode(Path(photo).name)[:80].decode("utf-8", "ignore")
    return paths.user_data_dir() / "edits" / f"{name}.{digest}{SUFFIX}"


def find(photo: Path) -> Path | None:
    """The photo's sidecar: beside it, else in the user data folder; None if it has none."""
    candidates = ([beside(photo)] if fits_beside(photo) else []) + [in_user_data(photo)]
    for candidate in candidates:
        try:
            if candidate.is_file():
                return candidate
        except OSError:  # a name or path the system cannot look up has no sidecar there
            continue
    return None


def read(path: Path, photo_size: tuple[int, int] | None = None) -> PhotoEdit:
    """Parse and check a sidecar; every problem raises SidecarError naming the file."""
    path = Path(path)

    def fail(reason: str):
        raise SidecarError(f"{path.name}: {reason}")

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        fail("not a text file")
    except json.JSONDecodeError as exc:
        fail(f"not valid JSON (line {exc.lineno}: {exc.msg})")
    except RecursionError:
        fail("nested too deeply to be an edit")
    except ValueError as exc:  # e.g. a number of thousands of digits
        fail(f"not a usable edit ({str(exc)[:80]})")
    except OSError as exc:
        fail(exc.strerror or str(exc))
    if not isinstance(raw, dict):
        fail("expected a JSON object with a \"hints\" list")
    version = raw.get("version", VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        fail(f"version must be a whole number, not {version!r}")
    if version > VERSION:
        fail(f"written by a newer Autochrome (version {version})")
    hints_raw = raw.get("hints", [])
    if not isinstance(hints_raw, list):
        fail("\"hints\" must be a list")
    if len(hints_raw) > MAX_HINTS:
        fail(f"it holds {len(hints_raw)} hints; Autochrome takes at most {MAX_HINTS} per photo")
    hints = []
    for number, entry in enumerate(hints_raw, 1):
        try:
            hints.append(_parse_hint(entry))
        except HintError as exc:
            fail(f"hint {number}: {exc}")
    if photo_size is not None:
        width, height = photo_size
        for number, hint in enumerate(hints, 1):
            if not hint.inside(width, height):
                fail(f"hint {number} at ({hint.x:g}, {hint.y:g}) lies outside the {width}x{height} photo")
    edit = PhotoEdit(hints=hints)
    model = raw.get("model")
    if model is not None and not isinstance(model, str):
        fail("\"model\" must be a model name")
    edit.model = model or None
    for key, (low, high, whole) in LIMITS.items():
        value = raw.get(key)
        if value is not None:
            try:
                setattr(edit, key, check_range(f'"{key}"', value, low, high, whole))
            except EditError as exc:
                fail(str(exc))
    reference = raw.get("reference")
    if reference is not None and (not isinstance(reference, str) or not reference.strip() or "\0" in reference):
        fail("\"reference\" must be the path of a photo")
    edit.reference = reference or None
    if raw.get("restore") is not None:
        try:
            edit.restore = _parse_restore(raw["restore"], photo_size)
        except EditError as exc:
            fail(f"\"restore\": {exc}")
    return edit


def _parse_restore(raw, photo_size) -> RestoreEdit:
    """{"enabled": true, "strength": 0.5, "tone": false, "strokes": [{"add": true, "radius": 6,
    "points": [[x, y], ...]}]}: every field optional."""
    if not isinstance(raw, dict):
        raise EditError("expected an object with enabled, strength and strokes")
    enabled, tone = raw.get("enabled", True), raw.get("tone", False)
    if not isinstance(enabled, bool) or not isinstance(tone, bool):
        raise EditError("enabled and tone must be true or false")
    strength = check_range("strength", raw.get("strength", DEFAULT_STRENGTH), MIN_STRENGTH, MAX_STRENGTH)
    strokes_raw = raw.get("strokes", [])
    if not isinstance(strokes_raw, list) or len(strokes_raw) > MAX_STROKES:
        raise EditError(f"strokes must be a list of at most {MAX_STROKES}")
    strokes = []
    for number, entry in enumerate(strokes_raw, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("points"), list):
            raise EditError(f"stroke {number} needs a list of points")
        points = entry["points"]
        if len(points) > MAX_STROKE_POINTS or not all(
                isinstance(point, list) and len(point) == 2 and all(is_finite_number(v) for v in point)
                for point in points):
            raise EditError(f"stroke {number}: points must be [x, y] pairs of numbers")
        add = entry.get("add", True)
        if not isinstance(add, bool):
            raise EditError(f"stroke {number}: add must be true or false")
        try:
            stroke = Stroke(tuple((float(x), float(y)) for x, y in points), float(check_range(
                "radius", entry.get("radius", 6), 0.5, 1000)), add)
        except EditError as exc:
            raise EditError(f"stroke {number}: {exc}") from None
        if photo_size is not None:
            width, height = photo_size
            if not all(-stroke.radius <= x <= width + stroke.radius and -stroke.radius <= y <= height + stroke.radius
                       for x, y in stroke.points):
                raise EditError(f"stroke {number} lies outside the {width}x{height} photo")
        strokes.append(stroke)
    return RestoreEdit(enabled, float(strength), tuple(strokes), tone)


def restore_json(restore: RestoreEdit) -> dict:
    return {"enabled": restore.enabled, "strength": round(restore.strength, 3), "tone": restore.tone,
            "strokes": [{"add": stroke.add, "radius": round(stroke.radius, 2),
                         "points": [[round(x, 2), round(y, 2)] for x, y in stroke.points]}
                        for stroke in restore.strokes]}


def reference_path(edit: PhotoEdit, sidecar_path: Path) -> Path | None:
    """The edit's reference photo: an absolute path, or one relative to the sidecar's folder."""
    if not edit.reference:
        return None
    path = Path(edit.reference).expanduser()
    return path if path.is_absolute() else Path(sidecar_path).parent / path


def portable_reference(reference: Path, sidecar_path: Path) -> str:
    """How a sidecar names its reference photo: relative to its folder when the reference lies
    in or under it (the pair moves together), otherwise absolute."""
    reference, folder = Path(reference).resolve(), Path(sidecar_path).resolve().parent
    try:
        return reference.relative_to(folder).as_posix()
    except ValueError:
        return str(reference)


def _parse_hint(entry) -> Hint:
    if not isinstance(entry, dict):
        raise HintError("expected an object with x, y and color")
    x, y = entry.get("x"), entry.get("y")
    for name, value in (("x", x), ("y", y)):
        if not _is_number(value):
            raise HintError(f"{name} must be a number of pixels, not {value!r}")
    ab = entry.get("ab")
    if ab is not None:
        if not (isinstance(ab, list) and len(ab) == 2 and all(_is_number(v) for v in ab)):
            raise HintError(f"ab must be two numbers, not {ab!r}")
        return Hint(float(x), float(y), float(ab[0]), float(ab[1]))
    if "color" not in entry:
        raise HintError("has no color")
    return Hint.from_hex(float(x), float(y), entry["color"])


def _is_number(value) -> bool:
    return is_finite_number(value)


def to_json(edit: PhotoEdit, lightness_at=None) -> str:
    """`lightness_at(x, y)` gives the photo's L at a hint, so "color" shows what the user sees."""
    hints = []
    for hint in edit.hints:
        lightness = lightness_at(hint.x, hint.y) if lightness_at is not None else 60.0
        hints.append({"x": round(hint.x, 2), "y": round(hint.y, 2), "color": hint.hex_at(lightness),
                      "ab": [round(hint.a, 3), round(hint.b, 3)]})
    document = {"version": VERSION, "hints": hints}
    for key in SETTING_FIELDS:
        value = getattr(edit, key)
        if value is not None:
            document[key] = value
    if edit.restore is not None:
        document["restore"] = restore_json(edit.restore)
    return json.dumps(document, indent=1)


def write(photo: Path, edit: PhotoEdit, lightness_at=None) -> Path:
    """Save the edit beside the photo, or in the user data folder when that folder is not
    writable; returns where it went. The photo itself is never touched. A reference photo
    is named relative to the sidecar where it can be (see `portable_reference`)."""
    target = beside(photo)
    _remember(photo)
    if fits_beside(photo) and os.access(Path(photo).resolve().parent, os.W_OK):
        try:
            with atomic_path(target) as temp:
                temp.write_text(_text_for(edit, target, lightness_at), encoding="utf-8")
            _remove_quietly(in_user_data(photo))  # one edit per photo: the fallback copy is stale now
            return target
        except PermissionError:
            pass
    fallback = in_user_data(photo)
    fallback.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(fallback) as temp:
        temp.write_text(_text_for(edit, fallback, lightness_at), encoding="utf-8")
    return fallback


def _text_for(edit: PhotoEdit, target: Path, lightness_at) -> str:
    if edit.reference and Path(edit.reference).is_absolute():
        edit = replace(edit, reference=portable_reference(Path(edit.reference), target))
    return to_json(edit, lightness_at)


def _registry() -> Path:
    return paths.user_data_dir() / "edits" / "edited-photos.txt"


def _remember(photo: Path) -> None:
    """Note a photo whose edit was saved, so its corrections can be found wherever it lives."""
    resolved = str(Path(photo).resolve())
    registry = _registry()
    try:
        if resolved in edited_photos_raw(registry):
            return
        registry.parent.mkdir(parents=True, exist_ok=True)
        with open(registry, "a", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(resolved + "\n")
    except OSError:
        pass  # the list is a convenience; the sidecar itself is what matters


def edited_photos_raw(registry: Path) -> list[str]:
    if not registry.exists():
        return []
    return [line for line in registry.read_text(encoding="utf-8", errors="surrogateescape").splitlines() if line]


def edited_photos() -> list[Path]:
    """Every photo the app has saved an edit for, oldest first, each once."""
    return [Path(line) for line in dict.fromkeys(edited_photos_raw(_registry()))]


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass

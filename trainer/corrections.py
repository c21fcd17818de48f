"""Learning from the user's corrections: photos colorized with hints become training photos.

Each corrected photo (one with a sidecar holding hints) is rendered once with the base model
and its hints; that hinted result is the colour the user wants, so it is the training target
(L in, the corrected ab out). During training, hints sampled from those colours reach the
model half of the time and never the other half, so the model learns to give the corrected
colours without being asked. The held-out comparison is then exactly "how far the un-hinted
model moved toward the corrected colours" (CIEDE2000 against the hinted results).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from autochrome.engine import sidecar
from autochrome.engine.job_plan import expand_inputs
from autochrome.engine.errors import AutochromeError
from autochrome.engine.image_io import load_image, save_image

from .finetune_options import FinetuneError

MIN_CORRECTED = 5


def find_corrected(folder: Path | None = None) -> list[tuple[Path, sidecar.PhotoEdit]]:
    """Photos that have a sidecar with at least one hint: in `folder` (recursively), or else
    every photo the app has saved hints for. Sidecars that cannot be read are skipped."""
    if folder is not None:
        candidates = [path for path, _ in expand_inputs([Path(folder)], recursive=True)]
    else:
        candidates = sidecar.edited_photos()
    found = []
    for photo in candidates:
        edit_path = sidecar.find(photo) if photo.is_file() else None
        if edit_path is None:
            continue
        try:
            edit = sidecar.read(edit_path)
        except sidecar.SidecarError:
            continue
        if edit.hints:
            found.append((photo, edit))
    return found


def render_targets(corrected: list[tuple[Path, sidecar.PhotoEdit]], base, out_folder: Path, long_side: int = 512,
                   progress=None, colorizer_for=None) -> Path:
    """Write each corrected photo as the user saw it (a colour PNG, at most `long_side` pixels)
    into `out_folder`; returns the folder. Each is rendered with its edit: its hints, its
    settings and its model (`colorizer_for(name)`, None when it cannot be had), else `base`."""
    import cv2

    from autochrome.engine.edit import ColorizeSettings, settings_for
    from autochrome.engine.image_io import LoadedImage

    if len(corrected) < MIN_CORRECTED:
        where = "" if not corrected else f" ({', '.join(p.name for p, _ in corrected[:5])})"
        raise FinetuneError(f"found {len(corrected)} corrected photo{'s' if len(corrected) != 1 else ''}{where}; "
                            f"learning from corrections needs at least {MIN_CORRECTED}. Add hints to more photos "
                            "and save them.")
    out_folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for index, (photo, edit) in enumerate(corrected):
        if progress is not None:
            progress(index, len(corrected))
        try:
            image = load_image(photo)
        except AutochromeError:
            continue
        width, height = image.size
        scale = min(1.0, long_side / max(width, height))
        hints = edit.hints
        if scale < 1.0:
            small = (max(1, round(width * scale)), max(1, round(height * scale)))
            image = LoadedImage(None, cv2.resize(image.lightness, small, interpolation=cv2.INTER_AREA), 8, "PNG")
            hints = [type(h)(h.x * small[0] / width, h.y * small[1] / height, h.a, h.b) for h in hints]
        settings = settings_for(ColorizeSettings(), edit)
        colorizer = (colorizer_for(edit.model) if colorizer_for and edit.model else None) or base
        try:
            result = colorizer.colorize(image, settings, hints=hints)
        except (AutochromeError, ValueError):
            continue  # hints outside a photo that changed since: not a correction of this photo any more
        name = hashlib.sha1(str(photo.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:10]
        save_image(out_folder / f"{photo.stem[:40]}-{name}.png", np.clip(result.rgb, 0, 1), "PNG")
        written += 1
    if written < MIN_CORRECTED:
        raise FinetuneError(f"only {written} of the {len(corrected)} corrected photos could be read; "
                            f"at least {MIN_CORRECTED} are needed")
    return out_folder

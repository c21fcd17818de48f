"""Evaluate a model on a folder of colour photos: grey input from each photo's L, metrics against the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from autochrome.engine import color
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.errors import AutochromeError
from autochrome.engine.image_io import load_colour, load_image

from . import metrics
from .photos import find_photos

METRIC_NAMES = ("psnr", "ssim", "ciede2000", "colourfulness", "colourfulness_truth", "l_error")


@dataclass
class EvalResult:
    name: str
    per_photo: list[dict] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # photos that could not be read

    def mean(self) -> dict[str, float]:
        return metrics.mean_figures([{key: row[key] for key in METRIC_NAMES} for row in self.per_photo])


def truth_rgb(path: Path) -> np.ndarray:
    """A colour photo as float sRGB in [0, 1], upright, read as the engine reads photos."""
    return load_colour(path)


def evaluate(colorizer, folder: str | Path | list, settings: ColorizeSettings | None = None, sheet_rows: int = 0,
             progress=None) -> tuple[EvalResult, EvalResult, list]:
    """(model result, grey baseline result, contact-sheet triples of the first `sheet_rows` photos).

    `folder` is a folder of colour photos or a list of photo paths."""
    ours, grey = EvalResult(colorizer.info.name if colorizer else "model"), EvalResult("grey (a=b=0)")
    triples = []
    files = list(folder) if isinstance(folder, (list, tuple)) else find_photos(folder)
    if not files:
        raise ValueError(f"no photos found in {folder}")
    for index, path in enumerate(files):
        try:
            image = load_image(path)  # a colour photo: the engine keeps only its L (size limits apply)
            truth = truth_rgb(path)
        except (AutochromeError, OSError, ValueError, Image.DecompressionBombError) as exc:
            grey.skipped.append((path, str(exc)))  # one bad photo is named, never ends the evaluation
            ours.skipped.append((path, str(exc)))
            continue
        grey_rgb = color.lightness_to_grey_rgb(image.lightness)
        grey.per_photo.append({"photo": path.name, **metrics.all_metrics(grey_rgb, truth)})
        if colorizer is not None:
            output = colorizer.colorize(image, settings).rgb
            ours.per_photo.append({"photo": path.name, **metrics.all_metrics(output, truth)})
            if index < sheet_rows:
                triples.append((grey_rgb, output, truth))
        if progress:
            progress(index + 1, len(files))
    return ours, grey, triples


def contact_sheet(triples, path: str | Path, height: int = 160) -> None:
    """Rows of grey | ours | truth, each scaled to `height`."""
    rows = []
    for triple in triples:
        tiles = []
        for rgb in triple:
            image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
            width = round(image.width * height / image.height)
            tiles.append(np.asarray(image.resize((width, height), Image.Resampling.LANCZOS)))
        gap = np.full((height, 4, 3), 255, np.uint8)
        rows.append(np.hstack([tiles[0], gap, tiles[1], gap, tiles[2]]))
    width = max(row.shape[1] for row in rows)
    padded = [np.pad(row, ((0, 4), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rows]
    Image.fromarray(np.vstack(padded)).save(path)


def format_table(results: list[EvalResult], title: str) -> str:
    lines = [f"{title}", "| model | PSNR dB | SSIM | CIEDE2000 | colourfulness (truth) | gap | mean abs L error |",
             "|---|---|---|---|---|---|---|"]
    for result in results:
        m = result.mean()
        lines.append(
            f"| {result.name} | {m['psnr']:.2f} | {m['ssim']:.3f} | {m['ciede2000']:.2f} | "
            f"{m['colourfulness']:.1f} ({m['colourfulness_truth']:.1f}) | {m['colourfulness_gap']:.1f} | {m['l_error']:.2f} |"
        )
    return "\n".join(lines)

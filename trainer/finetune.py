"""Fine-tuning a model on a folder of the user's own colour photos.

The base model's decoder is trained further (the encoder stays frozen: faster on a CPU,
and the features stay general) on most of the folder; a held-out share measures the
new model against the base before it is added to the user's models. Nothing is written
to the models folder until the run has finished and been validated, and then atomically.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from autochrome.engine import paths, weights
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.errors import ModelError
from autochrome.engine.weights import ModelInfo, save_generator

from .crop_sampler import CropSampler
from .calibrate import calibrate_strength, colourfulness_share
from .evaluate import evaluate
from .finetune_options import (  # noqa: F401  (re-exported: the options live with their limits)
    DEFAULT_CROP,
    DEFAULT_HOLDOUT,
    MIN_PHOTOS,
    MIN_SIDE,
    PRESETS,
    FinetuneCancelled,
    FinetuneError,
    FinetuneOptions,
    StaleRunError,
    scan_square,
)
from .objective import Objective
from .photos import PhotoScan, find_photos, load_photo_set
from .training import StaleCheckpointError, Trainer, TrainSettings

CALIBRATION_PHOTOS = 40  # about 5 s a side on a 2-core CPU


@dataclass
class FolderScan:
    folder: Path
    scan: PhotoScan
    photos: np.ndarray  # uint8 squares of the usable photos
    train_paths: list[Path] = field(default_factory=list)
    holdout_paths: list[Path] = field(default_factory=list)
    holdout_share: float = DEFAULT_HOLDOUT
    seed: int = 0
    source: str = "folder"  # or "corrections": the photos are the user's hinted results


def validate_name(name: str) -> str:
    """The models' naming rule (engine.weights.check_model_name), as a fine-tuning error."""
    try:
        return weights.check_model_name(name)
    except ModelError as exc:
        raise FinetuneError(str(exc)) from None


def checkpoint_path(name: str) -> Path:
    """Where an unfinished fine-tune of this name keeps its progress."""
    return paths.user_data_dir() / "finetune" / f"{name}.ckpt"


def corrections_folder(name: str) -> Path:
    """Where a fine-tune of this name keeps its rendered corrections (until it finishes)."""
    return checkpoint_path(name).with_suffix(".corrections")


def scan_corrections(name: str, base_model: str | None, device: str, search_folder: Path | None = None,
                     holdout_share: float = DEFAULT_HOLDOUT, seed: int = 0, progress=None) -> FolderScan:
    """The user's corrected photos as a fine-tuning set: their hinted results, rendered once by
    the base model into the fine-tune's working folder (kept for a resume, removed at the end)."""
    from .corrections import MIN_CORRECTED, find_corrected, render_targets

    name = validate_name(name)
    targets = corrections_folder(name)
    resuming = checkpoint_path(name).exists() and targets.is_dir() and any(targets.iterdir())
    if not resuming:  # a fresh run renders the corrections as they are now
        shutil.rmtree(targets, ignore_errors=True)
        corrected = find_corrected(search_folder)
        loaded: dict = {}

        def colorizer_for(model: str):
            if model not in loaded:
                try:
                    loaded[model] = Colorizer(model, device)
                except Exception:  # noqa: BLE001  a model that is gone: the base renders that photo
                    loaded[model] = None
            return loaded[model]

        render_targets(corrected, Colorizer(weights.resolve_model(base_model), device), targets, progress=progress,
                       colorizer_for=colorizer_for)
    return scan_folder(targets, holdout_share=holdout_share, seed=seed, progress=progress, min_photos=MIN_CORRECTED,
                       source="corrections")


def run_fingerprint(folder: FolderScan, base_path: Path, options: FinetuneOptions) -> str:
    """What an unfinished run must match to be continued: the same photos (name, size, time),
    the same base model file and the same options (the device aside)."""
    parts = [folder.source, str(folder.folder.resolve())]
    for path in [*folder.train_paths, *folder.holdout_paths, base_path]:
        try:
            stat = path.stat()
            parts.append(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:missing")
    chosen = {k: v for k, v in asdict(options).items() if k not in ("device", "fresh_start")}
    parts.append(json.dumps(chosen, sort_keys=True))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def check_models_folder() -> Path:
    """The user models folder, created and proven writable, or a FinetuneError saying why not."""
    folder = paths.user_models_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"0")
        probe.unlink()
    except OSError as exc:
        raise FinetuneError(f"cannot write to the models folder {folder}: {exc.strerror or exc}") from None
    return folder


def scan_folder(folder: str | Path, square: int = scan_square(DEFAULT_CROP), holdout_share: float = DEFAULT_HOLDOUT,
                seed: int = 0, progress=None, min_photos: int = MIN_PHOTOS, source: str = "folder") -> FolderScan:
    """Decode every photo once; sort out what cannot be used; split off the held-out photos."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FinetuneError(f"{folder} is not a folder")
    if not find_photos(folder):
        raise FinetuneError(f"{folder} holds no photos (jpg, png, webp, tif, bmp)")
    photos, scan = load_photo_set(folder, square, min_side=MIN_SIDE, progress=progress)
    usable = scan.usable
    if len(usable) < min_photos:
        raise FinetuneError(
            f"{folder} has {len(usable)} usable colour photos; at least {min_photos} are needed ({scan.summary()})"
        )
    order = list(range(len(usable)))
    random.Random(seed).shuffle(order)
    holdout_count = max(2, math.ceil(len(usable) * holdout_share)) if holdout_share > 0 else 0
    holdout = set(order[:holdout_count])
    train_index = [i for i in range(len(usable)) if i not in holdout]
    return FolderScan(
        folder=folder,
        scan=scan,
        photos=photos[train_index],
        train_paths=[usable[i] for i in train_index],
        holdout_paths=[usable[i] for i in sorted(holdout)],
        holdout_share=holdout_share,
        seed=seed,
        source=source,
    )


class PauseGate:
    """Pause/resume between steps, from any thread."""

    def __init__(self):
        self._running = threading.Event()
        self._running.set()

    def pause(self):
        self._running.clear()

    def resume(self):
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._running.wait(timeout)


class Finetune:
    """One fine-tuning run: `steps()` yields progress; `finish()` validates and saves the model."""

    def __init__(self, folder: FolderScan, options: FinetuneOptions):
        options.check()
        if folder.photos.shape[1] < scan_square(options.crop):
            # Scanned for a smaller crop (the dialog scans before the options are chosen): the
            # same photos and the same held-out split, decoded larger.
            folder = scan_folder(folder.folder, scan_square(options.crop), folder.holdout_share, folder.seed,
                                 min_photos=len(folder.train_paths) + len(folder.holdout_paths), source=folder.source)
        self.folder, self.options = folder, options
        self.name = validate_name(options.name)
        self.models_folder = check_models_folder()
        self.output = self.models_folder / f"{self.name}{weights.SUFFIX}"
        self.checkpoint = checkpoint_path(self.name)
        if self.output.exists():
            raise FinetuneError(f"a model named '{self.name}' exists already; choose another name or delete it")
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        if options.fresh_start:
            self.checkpoint.unlink(missing_ok=True)
        base_path = weights.resolve_model(options.base_model)
        self.base = Colorizer(base_path, options.device)
        self.base_info: ModelInfo = self.base.info
        generator = copy.deepcopy(self.base.model)  # the base stays as it is, for comparison
        torch.manual_seed(options.seed)
        settings = TrainSettings(
            stage1_steps=options.total_steps if not options.adversarial else max(options.total_steps // 2, 1),
            stage2_steps=options.total_steps // 2 if options.adversarial else 0,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate,
            warmup_steps=min(20, options.total_steps),
            discriminator_warmup=min(50, options.total_steps // 4),
            checkpoint_every=50,
            channels_last=self.base.choice.device.type != "mps",
        )
        device = self.base.choice.device
        sampler = CropSampler(folder.photos, options.crop, device, seed=options.seed)
        config = self.base_info.config
        centres = generator.ab_centres if config.ab_classes else None
        objective = Objective(config, device, folder.photos, centres, seed=options.seed)
        try:
            self.trainer = Trainer(generator.train(), config, sampler, settings, options.crop, device, objective,
                                   self.checkpoint, freeze_encoder=not options.train_encoder,
                                   run_key=run_fingerprint(folder, base_path, options))
        except StaleCheckpointError:
            raise StaleRunError(
                f"an unfinished fine-tune named '{self.name}' was started with other photos, another base model or "
                f"other options, so it cannot continue with these; start it afresh (its progress in "
                f"{self.checkpoint} is discarded) or choose another name") from None
        self.gate = PauseGate()
        self.began = time.time()

    @property
    def resumed_from(self) -> int:
        return self.trainer.step

    def steps(self, should_stop=lambda: False):
        """Train, yielding progress records; waits while paused (a pause pressed before the
        first step holds that step too); returns when stopped or done."""
        records = self.trainer.run()
        while True:
            while not self.gate.wait(0.1):
                if should_stop():
                    return
            if should_stop():
                return
            record = next(records, None)
            if record is None:
                return
            yield record

    def preview(self, image, settings: ColorizeSettings | None = None):
        """The held-out photo colorized by the model being trained (float RGB)."""
        from autochrome.engine.pipeline import ModelPredictor, colorize

        model = self.trainer.generator
        was_training = model.training
        model.eval()
        try:
            return colorize(image, ModelPredictor(model, self.base.choice), settings).rgb
        finally:
            model.train(was_training)
            if self.trainer.freeze_encoder:
                model.encoder.eval()

    def validate(self, candidate: Colorizer, progress=None) -> dict:
        """Base vs new model on the held-out photos: mean PSNR, CIEDE2000 and colourfulness gap.
        `progress(done, total)` is called before each photo (and may raise FinetuneCancelled)."""
        if not self.folder.holdout_paths:
            return {}
        figures = {}
        for label, colorizer in (("base", self.base), ("new", candidate)):
            result, _, _ = evaluate(colorizer, self.folder.holdout_paths, ColorizeSettings(), progress=progress)
            mean = result.mean()
            figures[label] = {k: round(mean[k], 3) for k in ("psnr", "ciede2000", "colourfulness", "colourfulness_gap")}
        return figures

    def _calibration(self):
        """The new model's config. A calibrated base (output gain) keeps its share of the photos'
        colourfulness, re-measured on this folder: training moves how colourful the raw output
        is, and the base's gain on a fine-tuned decoder made its colours too strong (a Quick
        run on street photos went from 8 under the photos' colourfulness to 5.5 over)."""
        config = self.base_info.config
        if config.ab_gain == 1.0:
            return config
        photos = self.folder.train_paths[:: max(1, len(self.folder.train_paths) // CALIBRATION_PHOTOS)]
        share = colourfulness_share(self.base.model, config, photos, self.base.choice)
        return calibrate_strength(self.trainer.export_model(), config, photos, self.base.choice, share=share).config

    def finish(self, progress=None) -> tuple[Path, dict]:
        """Save the trained model (atomically) and measure it against the base. A cancel
        during validation leaves the checkpoint, so the same name resumes at this point."""
        self.trainer.save_checkpoint()
        # Validated outside the models folder, so the picker never lists an unfinished model.
        temporary = self.checkpoint.with_name(f"{self.name}.unvalidated{weights.SUFFIX}")
        provenance = {
            "description": f"fine-tuned from {self.base_info.name} on "
                           + ("the user's corrected photos" if self.folder.source == "corrections"
                              else self.folder.folder.name),
            "source": self.folder.source,
            "base_model": self.base_info.name,
            "folder": str(self.folder.folder),
            "photos": len(self.folder.train_paths),
            "held_out": len(self.folder.holdout_paths),
            "steps": self.trainer.step,
            "options": {k: v for k, v in asdict(self.options).items() if k not in ("name",)},
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "train_minutes": round((time.time() - self.began) / 60, 1),
        }
        config = self._calibration()
        try:
            save_generator(temporary, self.trainer.export_model(), config, provenance=provenance)
            figures = self.validate(Colorizer(temporary, self.options.device), progress)
            save_generator(self.output, self.trainer.export_model(), config, provenance=provenance,
                           metrics={"holdout": figures})
        except OSError as exc:
            raise FinetuneError(f"could not save the model: {exc.strerror or exc}") from None
        finally:
            temporary.unlink(missing_ok=True)
        self.checkpoint.unlink(missing_ok=True)
        if self.folder.source == "corrections":
            # The rendered targets go with the run. A scan made under another name (renamed before
            # Start) is that name's only while an unfinished run of that name still needs it.
            scanned_as = self.folder.folder.stem
            if self.folder.folder == corrections_folder(self.name) or not checkpoint_path(scanned_as).exists():
                shutil.rmtree(self.folder.folder, ignore_errors=True)
        return self.output, figures

"""What a fine-tune may be asked for: its options and their limits, one owner for the
command line and the dialog alike. Free of torch, so the dialog can use it at once."""

from __future__ import annotations

from dataclasses import dataclass

PRESETS = {"quick": 300, "standard": 1200, "thorough": 4000}
MIN_PHOTOS = 10
MIN_SIDE = 96
MIN_CROP, MAX_CROP, CROP_STEP = 64, 256, 32
MAX_STEPS = 100_000
MAX_LEARNING_RATE = 1e-2
DEFAULT_CROP = 128


def scan_square(crop: int) -> int:
    """Photos are decoded once as squares this size; crops are taken from them."""
    return crop + 16


class FinetuneError(Exception):
    """A problem with the folder, the name or the models folder; the text is for the user."""


class StaleRunError(FinetuneError):
    """An unfinished run of this name was started with other photos, base model or options."""


class FinetuneCancelled(Exception):  # noqa: N818  (not an error: the user asked for it)
    """Raised from a progress callback to stop a scan or a validation the user cancelled."""


# The share of the photos kept out of training to measure the new model: one rule for the
# command line, the dialog and the scan.
DEFAULT_HOLDOUT, MIN_HOLDOUT, MAX_HOLDOUT = 0.15, 0.05, 0.5


@dataclass
class FinetuneOptions:
    name: str
    base_model: str | None = None  # name or path; None for the default
    preset: str = "quick"
    steps: int | None = None  # overrides the preset
    learning_rate: float = 3e-4
    crop: int = DEFAULT_CROP
    batch_size: int = 8
    adversarial: bool = False
    holdout_share: float = DEFAULT_HOLDOUT
    train_encoder: bool = False
    device: str = "auto"
    seed: int = 0
    fresh_start: bool = False  # discard an unfinished run of this name instead of resuming it

    @property
    def total_steps(self) -> int:
        return self.steps if self.steps else PRESETS[self.preset]

    def check(self) -> None:
        """Every option's limits, as one FinetuneError naming the first one out of range."""
        if self.preset not in PRESETS:
            raise FinetuneError(f"unknown preset {self.preset!r}; choose {', '.join(PRESETS)}")
        if self.steps is not None and not 1 <= self.steps <= MAX_STEPS:
            raise FinetuneError(f"steps must be between 1 and {MAX_STEPS}")
        if not MIN_CROP <= self.crop <= MAX_CROP or self.crop % CROP_STEP:
            raise FinetuneError(f"the crop size must be a multiple of {CROP_STEP} from {MIN_CROP} to {MAX_CROP}")
        if not 0 < self.learning_rate <= MAX_LEARNING_RATE:
            raise FinetuneError(f"the learning rate must be above 0 and at most {MAX_LEARNING_RATE:g}")
        if not 1 <= self.batch_size <= 64:
            raise FinetuneError("the batch size must be between 1 and 64")
        if not MIN_HOLDOUT <= self.holdout_share <= MAX_HOLDOUT:
            raise FinetuneError(f"the held-out share must be between {MIN_HOLDOUT:g} and {MAX_HOLDOUT:g}")

"""How the mark filter judges the test suite's plain scratches once the photo carries grain.

    python bench/dark_scratch.py [NET.safetensors ...] [--grain 0 1 2 4] [--seeds 3]

The photo is tests/engine/test_restore.py's `scratched`: a smooth synthetic gradient with a bright
1 px scratch and a dark 2 px one running down it; grain is Gaussian noise of that many L over
the whole photo (each seed its own gradient and grain). For each network (default: the shipped
one), grain and seed, every mark the per-pixel network finds that the filter scores: where it
is, its mean logit at the operating point and the mark filter's logit (0 and above: filled).
A scratch on a sky is what a user restores first; the model card's limits quote this.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autochrome.engine.networks.marks import FEATURE_NAMES, OPERATING_CHANCE, find_marks, mark_features  # noqa: E402
from autochrome.engine.restore import damage_probability  # noqa: E402
from autochrome.engine.weights import load_damage_net, shipped_damage_path  # noqa: E402
from tests.engine.test_restore import scratched  # noqa: E402

MEAN_LOGIT = FEATURE_NAMES.index("mean logit")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("nets", type=Path, nargs="*")
    parser.add_argument("--grain", type=float, nargs="+", default=[0.0, 1.0, 2.0, 4.0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for path in args.nets or [shipped_damage_path()]:
        net = load_damage_net(path)
        for grain in args.grain:
            for seed in range(args.seeds):
                _, damaged, _ = scratched(seed=seed)
                damaged = damaged + np.random.default_rng(seed).normal(0, grain, damaged.shape).astype(np.float32)
                chance = damage_probability(damaged, net, judge_marks=False)
                marks = find_marks(chance, OPERATING_CHANCE, with_stats=True)
                indices = marks.scored()
                features = mark_features(damaged, chance, marks, indices)
                with torch.no_grad():
                    scores = net.marks(torch.from_numpy(features)).numpy() if net.marks is not None else None
                described = []
                for row, index in enumerate(indices):
                    left, top, width, height, _ = marks.stats[index]
                    kind = "bright" if left < 120 else "dark"  # `scratched` draws them at x 60 and 160
                    score = f"{scores[row]:+.2f}" if scores is not None else "no filter"
                    described.append(f"{kind} (x {left}, {width}x{height} px): mean logit "
                                     f"{features[row, MEAN_LOGIT]:.2f}, filter {score}")
                print(f"{Path(path).name} grain {grain:g} L, seed {seed}: " + "; ".join(described or ["no marks"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

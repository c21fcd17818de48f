#!/usr/bin/env bash
# The hint-taking model's ablation under an equal budget, sized for this project's 2-core CPU:
# every variant trains the same decoder (stride-4 output, hints at every stage) for STEPS steps
# of BATCH views, has its output gain calibrated to 0.8 of the training photos' colourfulness
# (so all are compared at one colourfulness), and is scored on both eval sets. The base is the
# chosen recipe ("flat": EfficientNet-Lite2, classification without rebalancing); each other
# variant changes one thing. Frozen-encoder variants train on cached features (built once per
# encoder, degradation and crop size, kept in CACHE_DIR and reused); "e2e" trains the whole
# network end to end for E2E_STEPS steps, chosen so it gets the same CPU time as the cached run.
#
#   bash bench/hint_ablation.sh TRAIN_DIR EVAL_DIR CACHE_DIR OUT_DIR [STEPS]
#
# ONLY="classes l1" runs a subset; DEVICE (default auto), BATCH (default 32), E2E_STEPS (default STEPS/6).
set -euo pipefail
TRAIN=$1; EVAL=$2; CACHE=$3; OUT=$4; STEPS=${5:-1500}
DEVICE=${DEVICE:-auto}; BATCH=${BATCH:-32}; ONLY=${ONLY:-}; E2E_STEPS=${E2E_STEPS:-$((STEPS / 3))}
mkdir -p "$OUT" "$CACHE"
cd "$(dirname "$0")/.."
common=(--batch-size "$BATCH" --lr 5e-4 --device "$DEVICE" --calibrate --calibrate-share 0.8)
variants=(
  "flat|--arch hints-lite2-classes --feature-cache $CACHE/lite2-128 --no-rebalance --stage1-steps $STEPS"
  "classes|--arch hints-lite2-classes --feature-cache $CACHE/lite2-128 --stage1-steps $STEPS"
  "l1|--arch hints-lite2-l1 --feature-cache $CACHE/lite2-128 --stage1-steps $STEPS"
  "lite0|--arch hints-lite0-classes --feature-cache $CACHE/lite0-128 --no-rebalance --stage1-steps $STEPS"
  "colourful|--arch hints-lite2-classes --feature-cache $CACHE/lite2-128 --no-rebalance --min-colourfulness 15 --stage1-steps $STEPS"
  "degrade|--arch hints-lite2-classes --feature-cache $CACHE/lite2-128-degraded --no-rebalance --degrade --stage1-steps $STEPS"
  "crop96|--arch hints-lite2-classes --feature-cache $CACHE/lite2-96 --no-rebalance --crop 96 --stage1-steps $STEPS"
  "e2e|--arch hints-lite2-classes --no-rebalance --stage1-steps $E2E_STEPS --crop 128 --square 160"
)
for variant in "${variants[@]}"; do
  name=${variant%%|*}; args=${variant#*|}
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  if [ -f "$OUT/$name.json" ]; then continue; fi  # done in an earlier call
  start=$(date +%s)
  # shellcheck disable=SC2086
  python -m autochrome.desktop train "$TRAIN" --out "$OUT/$name.safetensors" --checkpoint "$OUT/$name.ckpt" --resume \
      --log "$OUT/$name.csv" "${common[@]}" $args 2> "$OUT/$name.train.log"
  echo "$name: $(( $(date +%s) - start )) s" >> "$OUT/times.txt"
  python bench/eval_model.py "$OUT/$name.safetensors" --json "$OUT/$name.json" --eval "$EVAL" | tee -a "$OUT/ablation.md"
done

#!/usr/bin/env bash
# The trainer's ablation under an equal budget (same steps, batch and crop for every variant):
# throughput per stage, five variants, each evaluated on both eval sets; the weights, loss
# logs, times and tables under OUT_DIR. Prepared as one run for borrowed GPU time.
#
#   bash bench/ablation_run.sh PACK_DIR EVAL_DIR OUT_DIR [STEPS]
#   (PACK_DIR from `autochrome pack ../shared/data/train PACK_DIR`, about 34 MiB)
#
# DEVICE (default cuda), BATCH (default 64), CROP (default 128), COMPILE (default --compile),
# D_WARMUP (stage-2 discriminator-only steps, default 100), THROUGHPUT (default 1) and ONLY
# (names of the variants to run, e.g. ONLY="lite0-l1 pix2pix-gan", to split the run over
# several calls of a time-limited machine) and EXTRA (more `autochrome train` options for every
# variant, e.g. EXTRA=--calibrate for a model to ship) can be set.
# The CPU-scale run in the model card:
#   DEVICE=cpu BATCH=16 COMPILE= D_WARMUP=50 THROUGHPUT=0 bash bench/ablation_run.sh PACK EVAL OUT 600
set -euo pipefail
PACK=$1; EVAL=$2; OUT=$3; STEPS=${4:-3000}
DEVICE=${DEVICE:-cuda}; BATCH=${BATCH:-64}; CROP=${CROP:-128}; COMPILE=${COMPILE---compile}
D_WARMUP=${D_WARMUP:-100}; THROUGHPUT=${THROUGHPUT:-1}; ONLY=${ONLY:-}; EXTRA=${EXTRA:-}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."

if [ "$THROUGHPUT" = 1 ]; then
  python bench/train_throughput.py --device "$DEVICE" --batch-size "$BATCH" --steps 10 ${COMPILE:+--compile} \
      --arch unet-lite0 unet-resnet34 | tee "$OUT/throughput.md"
fi

GAN=$((STEPS / 3)); L1=$((STEPS - GAN))
variants=(
  "lite0-l1|--arch unet-lite0 --encoder-init imagenet --stage1-steps $STEPS"
  "lite0-l1-gan|--arch unet-lite0 --encoder-init imagenet --stage1-steps $L1 --stage2-steps $GAN"
  "resnet34-l1|--arch unet-resnet34 --encoder-init scratch --stage1-steps $STEPS"
  "resnet34-l1-gan|--arch unet-resnet34 --encoder-init scratch --stage1-steps $L1 --stage2-steps $GAN"
  # the seed's first model as the seed trained it: GAN from scratch, G and D at 2e-4, no warm-up
  "pix2pix-gan|--arch pix2pix --stage1-steps 0 --stage2-steps $STEPS --gan-lr 2e-4 --d-warmup 0"
)
for variant in "${variants[@]}"; do
  name=${variant%%|*}; args=${variant#*|}
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  start=$(date +%s)
  # shellcheck disable=SC2086
  python -m autochrome.desktop train "$PACK" --out "$OUT/$name.safetensors" --batch-size "$BATCH" --crop "$CROP" \
      --d-warmup "$D_WARMUP" --device "$DEVICE" $COMPILE --checkpoint "$OUT/$name.ckpt" --log "$OUT/$name.csv" \
      $EXTRA $args 2> "$OUT/$name.train.log"
  echo "$name: $(( $(date +%s) - start )) s" >> "$OUT/times.txt"
  rm -f "$OUT/$name.ckpt"
  for set in kodak24 bsds500-test; do
    python -m autochrome.desktop eval "$OUT/$name.safetensors" "$EVAL/$set" --device "$DEVICE" --no-default --json "$OUT/$name.$set.json" \
        2>/dev/null | tee -a "$OUT/ablation.md"
  done
done

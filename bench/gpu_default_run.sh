#!/usr/bin/env bash
# One prepared training run for borrowed GPU time (the trainer issue): throughput per stage,
# an ablation under an equal step budget, each variant evaluated on both eval sets, and the
# weights and logs under OUT_DIR.
#
#   bash bench/gpu_default_run.sh PACK_DIR EVAL_DIR OUT_DIR [STEPS]
#   (PACK_DIR from `autochrome pack ../shared/data/train PACK_DIR`, about 34 MiB)
#
# DEVICE (default cuda), BATCH (default 64), CROP (default 128) and COMPILE (default --compile)
# can be set; `DEVICE=cpu BATCH=2 CROP=64 COMPILE= bash bench/gpu_default_run.sh ... 4` is a dry run.
set -euo pipefail
PACK=$1; EVAL=$2; OUT=$3; STEPS=${4:-3000}
DEVICE=${DEVICE:-cuda}; BATCH=${BATCH:-64}; CROP=${CROP:-128}; COMPILE=${COMPILE---compile}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."

python bench/train_throughput.py --device "$DEVICE" --batch-size "$BATCH" --steps 10 ${COMPILE:+--compile} \
    --arch unet-lite0 unet-resnet34 | tee "$OUT/throughput.md"

GAN=$((STEPS / 3)); L1=$((STEPS - GAN))
variants=(
  "lite0-l1|--arch unet-lite0 --encoder-init imagenet --stage1-steps $STEPS"
  "lite0-l1-gan|--arch unet-lite0 --encoder-init imagenet --stage1-steps $L1 --stage2-steps $GAN"
  "resnet34-l1|--arch unet-resnet34 --encoder-init scratch --stage1-steps $STEPS"
  "resnet34-l1-gan|--arch unet-resnet34 --encoder-init scratch --stage1-steps $L1 --stage2-steps $GAN"
  "pix2pix-gan|--arch pix2pix --stage1-steps 0 --stage2-steps $STEPS"
)
for variant in "${variants[@]}"; do
  name=${variant%%|*}; args=${variant#*|}
  start=$(date +%s)
  # shellcheck disable=SC2086
  python -m desktop train "$PACK" --out "$OUT/$name.safetensors" $args --batch-size "$BATCH" --crop "$CROP" \
      --device "$DEVICE" $COMPILE --checkpoint "$OUT/$name.ckpt" --log "$OUT/$name.csv" 2> "$OUT/$name.train.log"
  echo "$name: $(( $(date +%s) - start )) s" >> "$OUT/times.txt"
  rm -f "$OUT/$name.ckpt"
  for set in kodak24 bsds500-test; do
    python -m desktop eval "$OUT/$name.safetensors" "$EVAL/$set" --device "$DEVICE" --json "$OUT/$name.$set.json" \
        2>/dev/null | tee -a "$OUT/ablation.md"
  done
done

"""`autochrome train` and `autochrome pack`: train a generator from a folder of photos."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from autochrome.engine.errors import AutochromeError

LOG_FIELDS = ["step", "stage", "images_per_s", "loss_l1", "loss_ce", "loss_d", "loss_gan", "loss_affinity"]


class UsageError(ValueError):
    """An option or a combination of them that cannot be: exit status 2."""


def _run_spec(args):
    """The run the options describe; UsageError when they contradict or cannot be written."""
    from autochrome.trainer.photo_stream import StreamSource
    from autochrome.trainer.session import RunSpec
    from autochrome.trainer.training import TrainSettings

    settings = TrainSettings(
        stage1_steps=args.stage1_steps, stage2_steps=args.stage2_steps, batch_size=args.batch_size,
        learning_rate=args.lr, checkpoint_every=args.checkpoint_every, compile=args.compile,
        lr_schedule=args.lr_schedule, decoder_ema=args.stream or args.ema,
        gan_generator_lr=args.gan_lr, discriminator_warmup=args.d_warmup,
        live_encoder_stages=args.live_encoder_stages, encoder_lr_scale=args.encoder_lr_scale,
        adversarial_weight=args.adversarial,
    )
    if (args.live_encoder_stages or args.adversarial) and not (args.feature_cache or args.stream):
        raise UsageError("--live-encoder-stages and --adversarial train a decoder on the frozen encoder's features: "
                         "add --feature-cache DIR or --stream")
    if args.log_every < 1:
        raise UsageError("--log-every must be at least 1")
    checkpoint = args.checkpoint or args.out.with_suffix(".ckpt")
    for folder in {args.out.parent, checkpoint.parent}:  # before minutes of loading photos, not after
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    if checkpoint.exists() and not args.resume:
        raise UsageError(f"{checkpoint} exists; pass --resume to continue it, or choose another --checkpoint")
    sources = tuple(StreamSource.parse(text) for text in args.data)
    if len(sources) > 1 and not args.stream:
        raise UsageError("several data folders need --stream")
    if (args.affinity_out or args.affinity_only) and not args.stream or args.affinity_only and not args.affinity_out:
        raise UsageError("--affinity-out needs --stream, and --affinity-only needs --affinity-out")
    return RunSpec(data=sources[0].folder, output=args.out, architecture=args.arch, encoder_init=args.encoder_init,
                   settings=settings, crop=args.crop, square=args.square, rebalance=not args.no_rebalance,
                   device=args.device, checkpoint=checkpoint, seed=args.seed, init_model=args.init,
                   calibrate=args.calibrate, calibrate_share=args.calibrate_share, calibrate_knob=args.calibrate_knob,
                   feature_cache=args.feature_cache, degrade=args.degrade, min_colourfulness=args.min_colourfulness,
                   stream=sources if args.stream else None, affinity_output=args.affinity_out,
                   affinity_only=args.affinity_only)


def _train_with_progress(session, log_path: Path | None, log_every: int) -> bool:
    """Run the session with a progress bar and a CSV of losses (on the main process only);
    False when Ctrl+C stopped it."""
    writer = log_file = None
    if log_path is not None:
        fresh = not log_path.exists() or log_path.stat().st_size == 0
        log_file = open(log_path, "a", newline="")
        writer = csv.DictWriter(log_file, fieldnames=LOG_FIELDS, extrasaction="ignore")
        if fresh:
            writer.writeheader()
    bar = tqdm(total=session.spec.settings.total_steps, initial=session.trainer.step, unit="step", file=sys.stderr,
               disable=writer is None, dynamic_ncols=True)
    try:
        for record in session.run():
            bar.update(record.step - bar.n)
            if writer is None:
                continue
            losses = {k: round(v, 5) for k, v in record.losses.items()}
            bar.set_postfix(stage=record.stage, img_s=f"{record.images_per_second:.0f}", **losses, refresh=False)
            if record.step % log_every == 0 or record.step == record.steps:
                writer.writerow({"step": record.step, "stage": record.stage,
                                 "images_per_s": round(record.images_per_second, 1),
                                 **{f"loss_{k}": v for k, v in losses.items()}})
                log_file.flush()
    except KeyboardInterrupt:
        return False
    finally:
        bar.close()
        if log_file:
            log_file.close()
    return True


def run_train(args) -> int:
    import torch.distributed as dist

    from autochrome.trainer.session import TrainingSession, start_distributed
    from autochrome.trainer.distributed import is_main_process, world

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        start_distributed(args.device)
    try:
        spec = _run_spec(args)
        session = TrainingSession(spec)
    except (UsageError, ValueError, RuntimeError, OSError, AutochromeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    main = is_main_process()
    if main:
        print(session.scan.summary(), file=sys.stderr)
    log_path = args.log or args.out.with_suffix(".csv")
    try:
        finished = _train_with_progress(session, log_path if main else None, args.log_every)
    except FloatingPointError as exc:
        print(f"error: training diverged ({exc}); the last checkpoint is {spec.checkpoint}. Try a lower --lr.",
              file=sys.stderr)
        return 1
    if not finished:
        print(f"stopped at step {session.trainer.step}; the last checkpoint is {spec.checkpoint} "
              f"(resume with --resume)", file=sys.stderr)
        return 130
    try:
        path = session.export()
    except (OSError, ValueError, RuntimeError, AutochromeError) as exc:
        print(f"error: training finished but the model could not be written ({exc}); the last checkpoint is "
              f"{spec.checkpoint}: run again with --resume to write it", file=sys.stderr)
        return 1
    if main:
        print(f"wrote {path} ({session.trainer.step} steps); log {log_path}")
        if world() > 1:
            print(f"all {world()} processes ended with the same weights (digest {session.trainer.digest})")
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


def run_pack(args) -> int:
    """Square crops as WebP: a training set that is cheap to move to borrowed hardware."""
    from PIL import Image

    from autochrome.trainer.photos import load_photo_set

    photos, scan = load_photo_set(args.data, args.size, min_side=min(args.size, 64))
    print(scan.summary(), file=sys.stderr)
    if len(photos) == 0:
        print("error: nothing to pack", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for index, (square, source) in enumerate(tqdm(list(zip(photos, scan.usable)), unit="photo", file=sys.stderr)):
        target = args.out / f"{index:05d}.webp"
        Image.fromarray(square).save(target, quality=args.quality, method=4)
        total += target.stat().st_size
    (args.out / "SOURCES.json").write_text(json.dumps([str(p.relative_to(args.data)) for p in scan.usable], indent=0))
    print(f"packed {len(photos)} photos, {total / 2**20:.1f} MiB -> {args.out}")
    return 0


def add_parsers(commands) -> None:
    train = commands.add_parser(
        "train", help="train a model on a folder of colour photos",
        description="Two-stage training: L1, then (with --stage2-steps) the conditional GAN. Ctrl+C stops and "
                    "keeps the last checkpoint; --resume continues it. Runs under torchrun for several GPUs.")
    train.add_argument("data", nargs="+", metavar="DATA_DIR",
                       help="a folder of colour photos; with --stream several, each FOLDER or FOLDER:WEIGHT")
    train.add_argument("--out", type=Path, required=True, metavar="MODEL", help="model file to write (.safetensors)")
    train.add_argument("--arch", default="hints-lite2-classes",
                       help="hints-lite2-classes (default), hints-lite2-l1, hints-lite0-classes, unet-lite0, "
                            "unet-resnet18, unet-resnet34 or pix2pix")
    train.add_argument("--encoder-init", default="imagenet", metavar="imagenet|scratch|PATH",
                       help="ImageNet (EfficientNet-Lite encoders), scratch, an Autochrome model file (its encoder: "
                            "the shipped default's is ImageNet's Lite2), or a torchvision ResNet state dict file")
    train.add_argument("--feature-cache", type=Path, metavar="DIR",
                       help="train the decoder alone on the frozen encoder's features, computed once into DIR "
                            "(reused and resumed when DIR already holds them)")
    train.add_argument("--stream", action="store_true",
                       help="train the decoder alone, the frozen encoder run on the fly on fresh crops of every photo "
                            "(for large sets; mixes several folders by weight; exports an EMA of the weights)")
    train.add_argument("--affinity-out", type=Path, metavar="FILE",
                       help="with --stream: also train the hint spreading's affinity head and write it to FILE")
    train.add_argument("--affinity-only", action="store_true",
                       help="with --affinity-out: train only the affinity head (the model file is not written)")
    train.add_argument("--lr-schedule", default="cosine", choices=["cosine", "constant"],
                       help="cosine decay to a tenth by the last step, or constant after the warm-up (for runs "
                            "extended in chunks)")
    train.add_argument("--degrade", action="store_true",
                       help="with --feature-cache: the encoder sees old-photo defects (grain, blur, fading, JPEG)")
    train.add_argument("--min-colourfulness", type=float, default=0.0, metavar="C",
                       help="with --feature-cache: leave out training views less colourful than C (e.g. 15)")
    train.add_argument("--live-encoder-stages", type=int, default=0, choices=[0, 1, 2], metavar="N",
                       help="with --feature-cache or --stream: the encoder's last N stages learn too (1: stride 32, "
                            "2: strides 16-32), run on the cached features before them")
    train.add_argument("--encoder-lr-scale", type=float, default=0.3, metavar="F",
                       help="the learning rate of those encoder stages, as a share of --lr")
    train.add_argument("--adversarial", type=float, default=0.0, metavar="W",
                       help="with --feature-cache or --stream: a PatchGAN's verdict on the colour beside the colour "
                            "loss, at weight W (the discriminator trains alone for --d-warmup steps first)")
    train.add_argument("--ema", action="store_true",
                       help="export a moving average of the weights (always on with --stream)")
    train.add_argument("--stage1-steps", type=int, default=2000)
    train.add_argument("--stage2-steps", type=int, default=0)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=5e-4)
    train.add_argument("--gan-lr", type=float, default=2e-5, help="generator learning rate in stage 2")
    train.add_argument("--d-warmup", type=int, default=100, help="stage-2 steps that train the discriminator alone")
    train.add_argument("--crop", type=int, default=128)
    train.add_argument("--square", type=int, default=144, help="photos are decoded once as squares of this size")
    train.add_argument("--no-rebalance", action="store_true", help="plain L1 instead of colour-rebalanced L1")
    train.add_argument("--init", type=Path, metavar="MODEL",
                       help="start from this model's weights (a file or a name; same --arch) instead of --encoder-init")
    train.add_argument("--calibrate", action="store_true",
                       help="before export, set the output gain (a classifier's temperature) so the model is as "
                            "colourful as the training photos, times --calibrate-share")
    train.add_argument("--calibrate-share", type=float, default=1.0, metavar="S")
    train.add_argument("--calibrate-knob", default="ab_gain", choices=["ab_gain", "temperature"],
                       help="what --calibrate sets: the output gain (default), or a classifier's temperature")
    _add_run_options(train)

    pack = commands.add_parser("pack", help="pack a photo folder as small square WebP crops",
                               description="Write each usable photo as a square WebP crop (for moving training data).")
    pack.add_argument("data", type=Path, metavar="DATA_DIR")
    pack.add_argument("out", type=Path, metavar="OUT")
    pack.add_argument("--size", type=int, default=144)
    pack.add_argument("--quality", type=int, default=82)


def _add_run_options(train) -> None:
    """Where the run happens and what it keeps: device, checkpoints, log, seed."""
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    train.add_argument("--compile", action="store_true", help="torch.compile the networks (CUDA)")
    train.add_argument("--checkpoint", type=Path, help="default: MODEL with .ckpt")
    train.add_argument("--checkpoint-every", type=int, default=250)
    train.add_argument("--resume", action="store_true")
    train.add_argument("--log", type=Path, help="CSV of losses (default: MODEL with .csv)")
    train.add_argument("--log-every", type=int, default=10)
    train.add_argument("--seed", type=int, default=0)

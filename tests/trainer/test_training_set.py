"""Building a training set from photo repositories: read from git history, rules applied, manifest kept."""

import csv
import subprocess

import numpy as np
import pytest
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.trainer import photo_sources
from autochrome.trainer.photo_sources import NO_IMAGENET_VAL, Source, identify
from autochrome.trainer.training_set import NearDuplicates, build_training_set, perceptual_hash


def colour_photo(seed, width=320, height=240):
    rng = np.random.default_rng(seed)
    base = rng.uniform(40, 215, (6, 8, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC))


def git(folder, *args):
    return subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def tiny_repository(tmp_path, monkeypatch):
    """A repository whose photos exist only in an older commit (as MiniPlaces' do), with one of
    each kind of file the rules must leave out, and an eval folder."""
    repo = tmp_path / "repo"
    photos = repo / "photos" / "class"
    photos.mkdir(parents=True)
    for index in range(3):
        Image.fromarray(colour_photo(index)).save(photos / f"keep{index}.jpg", quality=95)
    Image.fromarray(colour_photo(0)).resize((300, 225)).save(photos / "resized-copy.jpg", quality=80)
    Image.fromarray(colour_photo(3)).save(photos / "ILSVRC2012_val_00000001.JPEG")
    Image.fromarray(colour_photo(4)).convert("L").convert("RGB").save(photos / "grey.jpg")
    Image.fromarray(colour_photo(5, 60, 50)).save(photos / "tiny.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    eval_photo = colour_photo(6)
    Image.fromarray(eval_photo[:, ::-1]).save(photos / "mirrored-eval.png")
    (repo / "README.md").write_text("not a photo")
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "photos")
    commit = git(repo, "rev-parse", "HEAD")
    git(repo, "rm", "-q", "-r", "photos")
    git(repo, "commit", "-q", "-m", "removed")
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    Image.fromarray(eval_photo).save(eval_dir / "e.png")
    source = Source("tiny", "someone/tiny", commit, ("photos",), "tiny terms", NO_IMAGENET_VAL)
    monkeypatch.setitem(photo_sources.SOURCES, "tiny", source)
    return repo, source, eval_dir


def test_a_built_set_follows_the_rules_and_records_where_each_photo_came_from(tiny_repository, tmp_path):
    repo, source, eval_dir = tiny_repository
    assert identify(repo) == source  # recognised by its pinned commit, which only history holds
    out = tmp_path / "set"
    report = build_training_set(out, [(source, repo)], [eval_dir], workers=1)
    with open(out / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert sorted(row["original_path"] for row in rows) == [f"photos/class/keep{i}.jpg" for i in range(3)]
    assert {row["source_repo@commit"] for row in rows} == {f"someone/tiny@{source.commit}"}
    assert {row["license_terms"] for row in rows} == {"tiny terms"}
    skipped = {reason.split(" (")[0]: count for (_, reason), count in report.skipped.items()}
    assert skipped == {"near-duplicate of a photo already taken": 1, "near-duplicate of an evaluation photo": 1,
                       "greyscale or near-monochrome": 1, "too small": 1, "unreadable": 1}
    for row in rows:
        with Image.open(out / row["path"]) as image:
            assert image.format == "JPEG" and min(image.size) == 160  # short side 160, aspect kept
            assert image.size == (int(row["width"]), int(row["height"])) == (213, 160)
    with pytest.raises(FileExistsError):  # a finished set is never written over
        build_training_set(out, [(source, repo)], [eval_dir], workers=1)


def test_photos_already_trained_on_and_caps_are_honoured(tiny_repository, tmp_path):
    repo, source, eval_dir = tiny_repository
    already = tmp_path / "old-set"
    already.mkdir()
    Image.fromarray(colour_photo(1)).save(already / "old.png")
    report = build_training_set(tmp_path / "a", [(source, repo)], [], also=[already], caps={"tiny": 4}, workers=1)
    assert report.kept["tiny"] <= 3 and report.skipped["tiny", "near-duplicate of a photo already taken"] >= 1
    # The same capped choice on every build.
    again = build_training_set(tmp_path / "b", [(source, repo)], [], also=[already], caps={"tiny": 4}, workers=1)
    assert again.kept == report.kept and again.skipped == report.skipped


def test_the_command_reads_a_plain_folder_named_by_its_source(tiny_repository, tmp_path, capsys):
    repo, source, eval_dir = tiny_repository
    plain = tmp_path / "plain"
    (plain / "photos").mkdir(parents=True)
    for index in range(2):
        Image.fromarray(colour_photo(10 + index)).save(plain / "photos" / f"p{index}.jpg")
    assert main(["data", "build", str(tmp_path / "out"), "--from", f"tiny={plain}", "--eval", str(eval_dir)]) == 0
    assert "2 photos kept" in capsys.readouterr().out
    assert main(["data", "build", str(tmp_path / "out2"), "--from", str(plain)]) == 2  # not a clone: name it
    assert "name its source" in capsys.readouterr().err


def test_near_duplicates_are_found_within_the_distance_and_not_beyond():
    index = NearDuplicates(4)
    value = perceptual_hash(colour_photo(0))
    index.add(value)
    assert index.find(value ^ 0b1011) == value  # 3 bits apart
    assert index.find(value ^ (0b11111 << 30)) is None  # 5 bits apart


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` (a decompression bomb by its numbers)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_streamed_training_reads_photos_through_the_safe_decoder_and_passes_over_bad_ones(tmp_path, monkeypatch):
    """Issue 27.13: plain Image.open (EPS by content goes to Ghostscript), a bomb was not caught,
    and a source of nothing but grey photos looped forever."""
    from autochrome.trainer.photo_stream import PhotoStream, StreamSource

    good = tmp_path / "good"
    good.mkdir()
    for index in range(3):
        Image.fromarray(colour_photo(index, 96, 80)).save(good / f"c{index}.jpg")
    (good / "postscript.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    (good / "bomb.png").write_bytes(_png_claiming(20000, 20000))
    opened = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda fp, mode="r", formats=None: opened.append(formats) or real_open(
        fp, mode, formats))
    stream = PhotoStream([StreamSource(good)], crop=32, seed=0)
    batch = stream.batch(8)
    assert batch.shape == (8, 32, 32, 3) and opened and all(formats for formats in opened)
    grey = tmp_path / "grey"
    grey.mkdir()
    for index in range(3):
        Image.fromarray(np.full((64, 64, 3), 90 + index, np.uint8)).save(grey / f"g{index}.png")
    with pytest.raises(ValueError, match="none of the 3 photos"):
        PhotoStream([StreamSource(good), StreamSource(grey, 3.0)], crop=32).batch(16)

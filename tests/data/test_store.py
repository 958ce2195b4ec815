"""Packed frame store: decoding once, packing, reading, CTC length checks, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from signdistill.data.corpora import Sample, read_corpus
from signdistill.data.records import ctc_min_output_length, too_short_reason
from signdistill.data.store import FrameStore, PackedFrames, build_frame_store, pack_split
from signdistill.errors import InputError, MissingInputError

from .conftest import FakeCorpus


def test_ctc_length_rules() -> None:
    assert ctc_min_output_length(["A", "B", "C"]) == 3
    assert ctc_min_output_length(["A", "A", "B", "B", "B"]) == 8  # a blank between repeated labels
    sample = Sample("x", "train", "s", ("A", "B", "B"), Path("."), "A B B")
    assert too_short_reason(sample, 16, 4) is None  # 16 // 4 = 4 >= 4
    reason = too_short_reason(sample, 15, 4)
    assert reason is not None and "15 frames" in reason and "needs 4" in reason
    assert too_short_reason(sample, 28, 4, context=12) is None  # K5-P2-K5-P2: (28 - 12) // 4 = 4
    assert too_short_reason(sample, 27, 4, context=12) is not None


def test_build_read_and_rebuild(phoenix2014: FakeCorpus, tmp_path: Path) -> None:
    index = read_corpus(phoenix2014.root)
    summary, problems = build_frame_store(index.samples, [16, 8], tmp_path / "store", tmp_path / "cache",
                                          workers=1, progress=False)
    store = FrameStore(tmp_path / "store")
    assert store.sizes() == [8, 16]
    for split in ("train", "dev", "test"):
        packed = store.split(16, split)
        good = [s for s in index.split(split) if s.id not in {p.id for p in problems}]
        assert sorted(packed.ids()) == sorted(s.id for s in good)
        for sample in good:
            frames = packed[sample.id]
            assert frames.shape == (sample.num_frames, 16, 16, 3) and frames.dtype == np.uint8
    assert summary["splits"]["train"]["videos"] == len(store.split(8, "train"))
    # the corrupt image in a folder that has its frames counted is found here, named with its file
    assert {p.id for p in problems} == {p["id"] for p in store.problems()}
    cache_files = sorted((tmp_path / "cache").rglob("*.npy"))
    stamps = [f.stat().st_mtime_ns for f in cache_files]
    build_frame_store(index.samples, [16, 8], tmp_path / "store", tmp_path / "cache", workers=1, progress=False)
    assert [f.stat().st_mtime_ns for f in cache_files] == stamps  # nothing decoded twice


def test_a_damaged_store_is_named_and_packed_again(phoenix2014: FakeCorpus, tmp_path: Path) -> None:
    """Reading a missing, cut or garbled store file is one ``InputError`` naming it and saying how to rebuild;
    building over a damaged pack packs it again instead of trusting its index."""
    index = read_corpus(phoenix2014.root)

    def build() -> None:
        build_frame_store(index.samples, [8], tmp_path / "store", tmp_path / "cache", workers=1, progress=False)

    build()
    folder = tmp_path / "store" / "8"
    frames, index_file = folder / "train.frames", folder / "train.index.json"
    whole, text = frames.read_bytes(), index_file.read_text()
    frames.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=f"{frames}: store file is truncated .*preprocess"):
        PackedFrames(folder, "train")
    frames.write_bytes(b"")
    with pytest.raises(InputError, match=f"{frames}: store file is corrupt"):
        PackedFrames(folder, "train")
    frames.write_bytes(whole)
    index_file.write_text(text[:-10])
    with pytest.raises(InputError, match=f"{index_file}: store index is corrupt"):
        PackedFrames(folder, "train")
    build()
    assert index_file.read_text() == text and frames.read_bytes() == whole
    frames.unlink()
    with pytest.raises(MissingInputError, match=f"{frames}: store file is missing"):
        PackedFrames(folder, "train")


def test_corrupt_frame_becomes_a_problem(phoenix2014: FakeCorpus, tmp_path: Path) -> None:
    index = read_corpus(phoenix2014.root)
    victim = index.split("train")[0]
    (sorted(victim.source.iterdir())[1]).write_bytes(b"garbage")
    _, problems = build_frame_store([victim], [8], tmp_path / "s", tmp_path / "c", workers=1, progress=False)
    assert len(problems) == 1 and problems[0].id == victim.id
    assert "corrupt" in problems[0].reason and str(victim.source) in problems[0].reason
    assert victim.id not in FrameStore(tmp_path / "s").split(8, "train")


def test_pixels_survive_packing(tmp_path: Path) -> None:
    """A frame folder of known colours reads back from the store with the same colours (RGB order)."""
    import cv2

    folder = tmp_path / "video"
    folder.mkdir()
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    for t, rgb in enumerate(colours * 2):
        cv2.imwrite(str(folder / f"images{t + 1:04d}.png"), np.full((26, 21, 3), rgb[::-1], np.uint8))
    sample = Sample("v", "train", "s", ("A",), folder, "A", 6)
    build_frame_store([sample], [4], tmp_path / "s", tmp_path / "c", workers=1, progress=False)
    frames = FrameStore(tmp_path / "s").split(4, "train")["v"]
    assert [tuple(f[2, 2]) for f in frames[:3]] == colours


def _rss_file_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("RssFile:"))


def test_reading_every_clip_keeps_the_store_out_of_resident_memory(tmp_path: Path) -> None:
    """An epoch reads every clip of a split: the pages of the store it read must not stay in the process's
    resident memory (they did through a memory map, so memory grew with the corpus)."""
    clips = {f"v{i}": np.random.default_rng(i).integers(0, 255, (40, 64, 64, 3), np.uint8) for i in range(48)}
    for name, frames in clips.items():
        np.save(tmp_path / f"{name}.npy", frames)
    pack_split([(name, str(tmp_path / f"{name}.npy")) for name in clips], tmp_path / "store", "train")
    packed = PackedFrames(tmp_path / "store", "train")
    store_bytes = sum(frames.nbytes for frames in clips.values())
    before = _rss_file_bytes()
    for name, frames in clips.items():
        read = packed[name]
        assert np.array_equal(read, frames) and not read.flags.writeable
    assert _rss_file_bytes() - before < store_bytes / 4

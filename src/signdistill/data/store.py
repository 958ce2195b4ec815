"""The packed frame store: every video decoded once, resized, and packed into one memory-mappable file.

Training reads clips fast (``signdistill bench data-speed loader``) from ``<split>.frames`` (raw uint8 ``[N, H, W, 3]``)
with ``<split>.index.json`` giving each video's offset and length. Decoding is the expensive part, so
it goes through a per-video cache keyed by the source's fingerprint and the target size: an unchanged
video is never decoded twice, a killed run loses at most the videos in flight, and every file appears
under its final name only when complete (write to a temporary name, then ``os.replace``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from signdistill.data.atomic import atomic_json, atomic_write
from signdistill.data.corpora import SPLITS, Problem, Sample, problems_to_records
from signdistill.data.frames import FrameReadError, frames_fingerprint, read_frames
from signdistill.data.parallel import ExecutorSpec, executor_map
from signdistill.errors import InputError, MissingInputError

log = logging.getLogger(__name__)


def _cache_path(cache_dir: Path, sample: Sample, size: int) -> Path:
    key = hashlib.sha1(f"{frames_fingerprint(sample.source)}|{size}".encode()).hexdigest()[:16]
    return cache_dir / str(size) / sample.split / f"{sample.id}.{key}.npy"


def _decode_one(job: tuple[Sample, tuple[int, ...], Path]) -> tuple[str, dict[int, str] | str]:
    """Decode one video once and write it at every requested size (or say why it could not be)."""
    sample, sizes, cache_dir = job
    targets = {size: _cache_path(cache_dir, sample, size) for size in sizes}
    if all(path.exists() for path in targets.values()):
        return sample.id, {size: str(path) for size, path in targets.items()}
    try:
        frames = read_frames(sample.source)
    except FrameReadError as err:
        return sample.id, str(err)
    for size, path in targets.items():
        if path.exists():
            continue
        resized = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])
        atomic_write(path, lambda tmp, a=resized: np.save(tmp, a), ".tmp.npy")
    return sample.id, {size: str(path) for size, path in targets.items()}


def decode_to_cache(samples: Sequence[Sample], sizes: Sequence[int], cache_dir: Path, workers: int = 0,
                    progress: bool = True, executor: ExecutorSpec | None = None,
                    ) -> tuple[dict[str, dict[int, str]], list[Problem]]:
    """Decode every sample (all cores, or ``executor``) into the per-video cache; unreadable videos become
    problems."""
    jobs = [(s, tuple(sizes), Path(cache_dir)) for s in samples]
    by_id = {s.id: s for s in samples}
    cached: dict[str, dict[int, str]] = {}
    problems: list[Problem] = []
    executor = executor or ExecutorSpec(workers=workers)
    for sample_id, result in executor_map(_decode_one, jobs, executor, "decode+resize", progress):
        if isinstance(result, str):
            sample = by_id[sample_id]
            log.warning("%s (%s): %s", sample_id, sample.split, result)
            problems.append(Problem(sample_id, sample.split, str(sample.source), result))
        else:
            cached[sample_id] = {int(k): v for k, v in result.items()}
    return cached, problems


def pack_split(paths: Sequence[tuple[str, str]], out_dir: Path, split: str) -> dict:
    """Concatenate cached videos into ``<split>.frames`` + ``<split>.index.json`` (atomically).

    One video in memory at a time, appended to the file, so memory stays flat however large the split.
    Skipped when the existing pack was made from exactly the same cached videos (their cache file names carry
    the content key, so the pack does not depend on where the cache lives).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1("\n".join(f"{i}:{Path(p).name}" for i, p in paths).encode()).hexdigest()
    index_path = out_dir / f"{split}.index.json"
    if index_path.exists() and (out_dir / f"{split}.frames").exists():
        try:
            existing = open_pack(out_dir, split)[0]
        except InputError as error:
            log.warning("%s: packing it again", error)
        else:
            if existing.get("key") == key:
                return existing
    shapes = [(sample_id, path, npy_shape(Path(path))) for sample_id, path in paths]
    frame_shape = list(shapes[0][2][1:]) if shapes else [0, 0, 3]
    for _, path, shape in shapes:
        if list(shape[1:]) != frame_shape:
            raise ValueError(f"{path}: frames of shape {list(shape[1:])}, the split's others are {frame_shape}")
    total = sum(shape[0] for _, _, shape in shapes)
    offsets, offset = {}, 0
    data_tmp = out_dir / f"{split}.frames.tmp"
    with open(data_tmp, "wb") as out:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                  "shape": (max(total, 1), *frame_shape)}
        np.lib.format.write_array_header_1_0(out, header)
        for sample_id, path, shape in shapes:
            out.write(np.ascontiguousarray(np.load(path), dtype=np.uint8).data)
            offsets[sample_id] = [offset, shape[0]]
            offset += shape[0]
        if total == 0:  # an empty split still holds one (zero) frame, so that it is a valid array file
            out.write(bytes(int(np.prod(frame_shape))))
    os.replace(data_tmp, out_dir / f"{split}.frames")
    index = {"split": split, "frame_shape": frame_shape, "num_frames": total, "videos": offsets, "key": key}
    atomic_json(index_path, index)
    return index


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """A ``.npy`` file's array shape, dtype and the byte offset where its data starts, without reading the data."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(handle)
        return tuple(shape), np.dtype(dtype), handle.tell()


def npy_shape(path: Path) -> tuple[int, ...]:
    """The array shape in a ``.npy`` file's header, without reading its data."""
    return npy_header(path)[0]


STORE_ADVICE = "run the preprocess pipeline again (`kedro run --pipelines preprocess`) to rebuild it"


def open_pack(directory: Path, split: str, advice: str = STORE_ADVICE,
              ) -> tuple[dict, tuple[int, ...], np.dtype, int]:
    """One packed split's index and its data file's shape, dtype and data offset, checked against each other:
    a missing, unreadable or cut file is an ``InputError`` naming it, with ``advice`` on rebuilding it."""
    index_path, data_path = Path(directory) / f"{split}.index.json", Path(directory) / f"{split}.frames"
    for path in (index_path, data_path):
        if not path.exists():
            raise MissingInputError(f"{path}: store file is missing; {advice}")
    try:
        index = json.loads(index_path.read_text())
        frames = int(index["num_frames"])
        if not isinstance(index["videos"], dict):
            raise TypeError("'videos' is not a mapping of video ids to [offset, length]")
    except (ValueError, KeyError, TypeError) as error:  # bad JSON or text, or not this index's fields
        raise InputError(f"{index_path}: store index is corrupt ({error}); {advice}") from error
    try:
        shape, dtype, start = npy_header(data_path)
    except (ValueError, EOFError, OSError) as error:
        raise InputError(f"{data_path}: store file is corrupt ({error}); {advice}") from error
    expected = start + max(frames, 1) * int(np.prod(shape[1:])) * dtype.itemsize
    if (size := data_path.stat().st_size) < expected:
        raise InputError(f"{data_path}: store file is truncated ({size} of {expected} bytes); {advice}")
    return index, shape, dtype, start


class PackedFrames:
    """Read-only access to one packed split: ``store[video_id] -> uint8 [T, H, W, 3]``.

    Each clip is read from the file when asked for, not through a memory map: the pages of a mapped file count in
    the process's resident memory, so an epoch that touches every clip of a mapped store would hold the whole store
    resident (its memory growing with the corpus). A read costs a copy from the page cache, which the clip's
    crop and resize make anyway.
    """

    def __init__(self, directory: Path, split: str, advice: str = STORE_ADVICE) -> None:
        self.directory = Path(directory)
        self.index, shape, self._dtype, self._data_start = open_pack(self.directory, split, advice)
        self.path = self.directory / f"{split}.frames"
        self._frame_shape = shape[1:]
        self._frame_bytes = int(np.prod(self._frame_shape)) * self._dtype.itemsize

    def __len__(self) -> int:
        return len(self.index["videos"])

    def __contains__(self, video_id: object) -> bool:
        return video_id in self.index["videos"]

    def ids(self) -> list[str]:
        return list(self.index["videos"])

    def __getitem__(self, video_id: str) -> np.ndarray:
        offset, length = self.index["videos"][video_id]
        with open(self.path, "rb") as handle:
            handle.seek(self._data_start + offset * self._frame_bytes)
            frames = np.fromfile(handle, dtype=self._dtype, count=length * self._frame_bytes // self._dtype.itemsize)
        frames = frames.reshape(length, *self._frame_shape)
        frames.flags.writeable = False  # one clip, shared by the views a dataset cuts from it
        return frames


class FrameStore:
    """All packed splits at all sizes: ``FrameStore(root).split(size, "train")``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def sizes(self) -> list[int]:
        return sorted(int(p.name) for p in self.root.iterdir() if p.is_dir() and p.name.isdigit())

    def split(self, size: int, split: str) -> PackedFrames:
        return PackedFrames(self.root / str(size), split)

    def problems(self) -> list[dict]:
        """Videos that could not be decoded when the store was built."""
        path = self.root / "problems.json"
        return json.loads(path.read_text()) if path.exists() else []


def build_frame_store(samples: Sequence[Sample], sizes: Sequence[int], store_dir: Path, cache_dir: Path,
                      workers: int = 0, progress: bool = True, executor: ExecutorSpec | None = None,
                      ) -> tuple[dict, list[Problem]]:
    """Decode (cached, on ``executor``: default the process pool of ``workers``) and pack every split at every
    size; returns a summary and the problems found."""
    cached, problems = decode_to_cache(samples, sizes, cache_dir, workers, progress, executor)
    summary: dict = {"sizes": list(sizes), "splits": {}}
    for split in SPLITS:
        members = [s for s in samples if s.split == split and s.id in cached]
        for size in sizes:
            index = pack_split([(s.id, cached[s.id][size]) for s in members], Path(store_dir) / str(size), split)
            summary["splits"].setdefault(split, {"videos": len(members), "frames": index["num_frames"]})
    atomic_json(Path(store_dir) / "problems.json", problems_to_records(problems))
    return summary, problems

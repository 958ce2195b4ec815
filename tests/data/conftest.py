"""Writers for tiny on-disk corpora in every supported layout, shared by the data tests.

Each ``make_*`` function writes a corpus under ``root`` from a list of :class:`FakeVideo` specs per
split (a standard set with deliberately bad rows by default) and returns a :class:`FakeCorpus`.
Frames are 8x6 pixels and pure red unless told otherwise, so every test runs in milliseconds.
The functions are importable (``from .conftest import make_phoenix2014``) and also exposed as fixtures.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

RED_BGR = (0, 0, 255)
FRAME_SIZE = (8, 6)  # width, height
PHOENIX_FRAMES = Path("features") / "fullFrame-210x260px"
CSL_FRAMES = Path("sentence") / "frames_512x512"
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class FakeVideo:
    """One sample to write: ``frames=None`` writes no folder/file, ``0`` an empty folder or zero-frame
    video; ``corrupt`` replaces the last frame image (or the whole video file) with garbage bytes."""

    id: str
    glosses: str
    signer: str = "Signer01"
    frames: int | None = 3
    ext: str = ".png"
    corrupt: bool = False


@dataclass
class FakeCorpus:
    root: Path
    layout: str
    videos: dict[str, list[FakeVideo]]
    extra_lines: dict[str, list[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------- frames and videos


def write_frames(
    folder: Path,
    count: int,
    *,
    ext: str = ".png",
    name: str = "images{:04d}",
    size: tuple[int, int] = FRAME_SIZE,
    colors: Sequence[tuple[int, int, int]] | None = None,
    start: int = 1,
) -> list[Path]:
    """Write ``count`` solid-colour frames (BGR colours, pure red by default) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        image = np.empty((size[1], size[0], 3), dtype=np.uint8)
        image[:] = colors[index] if colors is not None else RED_BGR
        path = folder / f"{name.format(index + start)}{ext}"
        assert cv2.imwrite(str(path), image), path
        paths.append(path)
    return paths


def write_corrupt(path: Path) -> Path:
    """Garbage bytes under an image or video name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an image or a video" * 4)
    return path


@functools.cache
def video_ext() -> str:
    """``.mp4`` when this OpenCV can write mp4v, else ``.avi`` (MJPG is built into OpenCV)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, FRAME_SIZE)
        ok = writer.isOpened()
        if ok:
            writer.write(np.zeros((FRAME_SIZE[1], FRAME_SIZE[0], 3), dtype=np.uint8))
        writer.release()
        ok = ok and cv2.VideoCapture(str(path)).isOpened()
    return ".mp4" if ok else ".avi"


def write_video(
    path: Path, count: int, *, size: tuple[int, int] = FRAME_SIZE, color: tuple[int, int, int] = RED_BGR
) -> Path:
    """Write a ``count``-frame solid-colour video; ``.mp4`` uses mp4v, anything else MJPG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = "mp4v" if path.suffix.lower() == ".mp4" else "MJPG"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, size)
    assert writer.isOpened(), f"cannot write {path} with {fourcc}"
    image = np.empty((size[1], size[0], 3), dtype=np.uint8)
    image[:] = color
    for _ in range(count):
        writer.write(image)
    writer.release()
    return path


def _write_frame_folder(folder: Path, video: FakeVideo, name: str) -> None:
    """Materialise one FakeVideo as a frame folder."""
    if video.frames is None:
        return
    paths = write_frames(folder, video.frames, ext=video.ext, name=name)
    if video.corrupt and paths:
        write_corrupt(paths[-1])
    folder.mkdir(parents=True, exist_ok=True)


def _write_video_file(path: Path, video: FakeVideo) -> None:
    """Materialise one FakeVideo as a video file."""
    if video.frames is None:
        return
    if video.corrupt:
        write_corrupt(path)
    else:
        write_video(path, video.frames)


def write_table(path: Path, header: str, lines: Sequence[str]) -> Path:
    """Write a pipe-separated annotation file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- standard specs


def standard_videos(bad: bool = True) -> dict[str, list[FakeVideo]]:
    """Six good samples (one with .jpg frames, one with unknown dev glosses) plus bad ones."""
    videos = {
        "train": [
            FakeVideo("tr-1", "A B  C", "Signer01", 3),
            FakeVideo("tr-2", "B C", "Signer02", 4, ext=".jpg"),
            FakeVideo("tr-3", "A", "Signer01", 5),
        ],
        "dev": [
            FakeVideo("dv-1", "A D", "Signer03", 2),
            FakeVideo("dv-2", "E E B", "Signer01", 3),
        ],
        "test": [FakeVideo("te-1", "C A", "Signer02", 4)],
    }
    if bad:
        videos["train"] += [
            FakeVideo("tr-missing", "A B", frames=None),
            FakeVideo("tr-noann", "   "),
            FakeVideo("tr-empty", "B", frames=0),
        ]
        videos["dev"].append(FakeVideo("dv-corrupt", "A B", "Signer03", 3, corrupt=True))
    return videos


# line numbers: header is line 1, then one line per FakeVideo, then these
STANDARD_MALFORMED = {"train": ["tr-short|tr-short/1/*.png|Signer01", "justgarbage"]}


# --------------------------------------------------------------------------- layouts


def make_phoenix2014(
    root: Path,
    videos: dict[str, list[FakeVideo]] | None = None,
    *,
    bad: bool = True,
    splits: Sequence[str] = SPLITS,
) -> FakeCorpus:
    """PHOENIX-2014 layout (also SynthSign's): ``<id>/1/`` frame folders, ``id|folder|signer|annotation``."""
    videos = videos if videos is not None else standard_videos(bad)
    extra = STANDARD_MALFORMED if bad else {}
    for split in splits:
        lines = [f"{v.id}|{v.id}/1/*.png|{v.signer}|{v.glosses}" for v in videos.get(split, [])]
        write_table(
            root / "annotations" / "manual" / f"{split}.corpus.csv",
            "id|folder|signer|annotation",
            lines + extra.get(split, []),
        )
        for video in videos.get(split, []):
            _write_frame_folder(root / PHOENIX_FRAMES / split / video.id / "1", video, "images{:04d}")
    (root / "features").mkdir(parents=True, exist_ok=True)
    return FakeCorpus(root, "phoenix2014", videos, dict(extra))


def make_phoenix2014t(
    root: Path, videos: dict[str, list[FakeVideo]] | None = None, *, bad: bool = True, one_dir: bool = False
) -> FakeCorpus:
    """PHOENIX-2014-T layout; frames in ``<name>/`` (as released) or ``<name>/1/`` with ``one_dir``."""
    videos = videos if videos is not None else standard_videos(bad)
    extra = {"train": ["tr-short|tr-short/1/*.png|-1|-1|Signer01"]} if bad else {}
    header = "name|video|start|end|speaker|orth|translation"
    for split in SPLITS:
        lines = [
            f"{v.id}|{v.id}/1/*.png|-1|-1|{v.signer}|{v.glosses}|some words" for v in videos.get(split, [])
        ]
        write_table(
            root / "annotations" / "manual" / f"PHOENIX-2014-T.{split}.corpus.csv",
            header,
            lines + extra.get(split, []),
        )
        for video in videos.get(split, []):
            folder = root / PHOENIX_FRAMES / split / video.id
            _write_frame_folder(folder / "1" if one_dir else folder, video, "images{:04d}")
    return FakeCorpus(root, "phoenix2014t", videos, dict(extra))


def csl_videos(bad: bool = True) -> dict[str, list[FakeVideo]]:
    """CSL-Daily-style names (``S..._P...._T..``) with Chinese glosses."""
    videos = {
        "train": [
            FakeVideo("S000000_P0000_T00", "我 想 买 东西", "P0000", 3, ext=".jpg"),
            FakeVideo("S000001_P0001_T00", "你 想 去", "P0001", 4, ext=".jpg"),
            FakeVideo("custom_name", "我 去", "unknown", 2, ext=".jpg"),
        ],
        "dev": [FakeVideo("S000002_P0003_T00", "你 吃 饭", "P0003", 3, ext=".jpg")],
        "test": [FakeVideo("S000003_P0000_T01", "我 想", "P0000", 2, ext=".jpg")],
    }
    if bad:
        videos["train"].append(FakeVideo("S000004_P0002_T00", "我", "P0002", frames=None, ext=".jpg"))
    return videos


def make_csl_daily(
    root: Path, videos: dict[str, list[FakeVideo]] | None = None, *, bad: bool = True
) -> FakeCorpus:
    """CSL-Daily layout: ``video_map.txt``, ``split_1.txt``, ``sentence/frames_512x512/<name>/%06d.jpg``.

    With ``bad``, ``split_1.txt`` also lists a name absent from the video map and one with split ``val``.
    """
    videos = videos if videos is not None else csl_videos(bad)
    map_lines, split_lines = [], []
    for split in SPLITS:
        for video in videos.get(split, []):
            index = len(map_lines)
            chars = video.glosses.replace(" ", "")
            map_lines.append(f"{index}|{video.id}|{video.frames or 0}|{video.glosses}|{chars}|{chars}|n")
            split_lines.append(f"{video.id}|{split}")
            _write_frame_folder(root / CSL_FRAMES / video.id, video, "{:06d}")
    if bad:
        split_lines += ["S999999_P0009_T00|test", "S000005_P0001_T00|val"]
        map_lines.append(f"{len(map_lines)}|S000005_P0001_T00|2|你|你|你|n")
    write_table(root / "video_map.txt", "index|name|length|gloss|char|word|postag", map_lines)
    write_table(root / "split_1.txt", "name|split", split_lines)
    return FakeCorpus(root, "csl_daily", videos)


def video_csv_videos(bad: bool = True) -> dict[str, list[FakeVideo]]:
    """Video-file samples; zero-frame videos are ``.avi`` because an empty mp4 is not even openable."""
    ext = video_ext()
    videos = {
        "train": [
            FakeVideo("v-tr-1", "A B", "Signer01", 3, ext=ext),
            FakeVideo("v-tr-2", "B C", "Signer02", 4, ext=".avi"),
        ],
        "dev": [FakeVideo("v-dv-1", "A D", "Signer01", 2, ext=ext)],
        "test": [FakeVideo("v-te-1", "C", "Signer02", 3, ext=".avi")],
    }
    if bad:
        videos["train"] += [
            FakeVideo("v-tr-missing", "A", frames=None, ext=ext),
            FakeVideo("v-tr-corrupt", "A", corrupt=True, ext=ext),
            FakeVideo("v-tr-zero", "B", frames=0, ext=".avi"),
        ]
    return videos


def make_video_csv(
    root: Path,
    videos: dict[str, list[FakeVideo]] | None = None,
    *,
    bad: bool = True,
    in_manual: bool = False,
    relative_to: str = "root",
) -> FakeCorpus:
    """Plain-video corpus: ``<split>.corpus.csv`` in ``root`` (or ``annotations/manual``) whose folder
    column names ``videos/<id><ext>`` relative to the root (``relative_to="root"``), to the CSV's
    folder (``"csv"``), or as an absolute path (``"absolute"``)."""
    videos = videos if videos is not None else video_csv_videos(bad)
    csv_folder = root / "annotations" / "manual" if in_manual else root
    video_base = {"root": root, "csv": csv_folder, "absolute": root}[relative_to]
    for split in SPLITS:
        lines = []
        for video in videos.get(split, []):
            path = video_base / "videos" / f"{video.id}{video.ext}"
            named = path.resolve() if relative_to == "absolute" else path.relative_to(video_base)
            lines.append(f"{video.id}|{named.as_posix()}|{video.signer}|{video.glosses}")
            _write_video_file(path, video)
        write_table(csv_folder / f"{split}.corpus.csv", "id|folder|signer|annotation", lines)
    return FakeCorpus(root, "video_csv", videos)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def phoenix2014(tmp_path: Path) -> FakeCorpus:
    return make_phoenix2014(tmp_path / "phoenix2014")


@pytest.fixture
def phoenix2014t(tmp_path: Path) -> FakeCorpus:
    return make_phoenix2014t(tmp_path / "phoenix2014t")


@pytest.fixture
def csl_daily(tmp_path: Path) -> FakeCorpus:
    return make_csl_daily(tmp_path / "csl_daily")


@pytest.fixture
def video_csv(tmp_path: Path) -> FakeCorpus:
    return make_video_csv(tmp_path / "video_csv")

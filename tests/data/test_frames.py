"""Frame folders and video files decode to uint8 [T, H, W, 3] RGB, and every failure names its file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from signdistill.data.frames import (
    FrameReadError,
    count_frames,
    frames_fingerprint,
    list_frame_files,
    read_frames,
)

from .conftest import video_ext, write_corrupt, write_frames, write_video


def test_list_frame_files_uses_natural_order_and_image_extensions(tmp_path: Path) -> None:
    for name in ("10.png", "2.png", "1.png", "9.JPEG", "notes.txt", "3.jpg"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_frame_files(tmp_path)] == ["1.png", "2.png", "3.jpg", "9.JPEG", "10.png"]


def test_list_frame_files_sorts_padded_names(tmp_path: Path) -> None:
    write_frames(tmp_path, 12, name="images{:04d}")
    names = [p.name for p in list_frame_files(tmp_path)]
    assert names[0] == "images0001.png" and names[-1] == "images0012.png" and names == sorted(names)


def test_list_frame_files_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FrameReadError, match="nowhere.*does not exist") as info:
        list_frame_files(tmp_path / "nowhere")
    assert info.value.path == tmp_path / "nowhere"


def test_read_frames_folder_is_rgb_uint8(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)  # pure red (BGR 0,0,255 on disk)
    frames = read_frames(tmp_path)
    assert frames.shape == (3, 6, 8, 3) and frames.dtype == np.uint8
    assert (frames[..., 0] > 250).all() and (frames[..., 1:] < 5).all()


def test_read_frames_accepts_jpg_and_keeps_frame_order(tmp_path: Path) -> None:
    greens = [(0, 20 * i, 0) for i in range(11)]
    write_frames(tmp_path, 11, name="{}", colors=greens)  # 1.png .. 11.png, unpadded
    frames = read_frames(tmp_path)
    assert frames[:, 0, 0, 1].tolist() == [20 * i for i in range(11)]
    jpg = tmp_path / "jpg"
    write_frames(jpg, 2, ext=".jpg", name="{:06d}", start=0)
    assert read_frames(jpg)[..., 0].min() > 200


def test_read_frames_resizes_to_width_height(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    assert read_frames(tmp_path, size=(4, 3)).shape == (2, 3, 4, 3)


def test_read_frames_corrupt_image_names_the_file(tmp_path: Path) -> None:
    paths = write_frames(tmp_path, 3)
    write_corrupt(paths[1])
    with pytest.raises(FrameReadError, match="images0002.png") as info:
        read_frames(tmp_path)
    assert info.value.path == paths[1] and "corrupt" in info.value.problem


def test_read_frames_rejects_missing_empty_and_mismatched_folders(tmp_path: Path) -> None:
    with pytest.raises(FrameReadError, match="missing.*does not exist"):
        read_frames(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FrameReadError, match="empty.*no .png/.jpg/.jpeg frames"):
        read_frames(tmp_path / "empty")
    write_frames(tmp_path / "mixed", 1)
    write_frames(tmp_path / "mixed", 1, size=(4, 4), start=2)
    with pytest.raises(FrameReadError, match="images0002.png.*differs"):
        read_frames(tmp_path / "mixed")
    assert read_frames(tmp_path / "mixed", size=(8, 6)).shape == (2, 6, 8, 3)


@pytest.mark.parametrize("ext", [".avi", "probe"])
def test_read_and_count_video(tmp_path: Path, ext: str) -> None:
    path = write_video(tmp_path / f"clip{video_ext() if ext == 'probe' else ext}", 5)
    assert count_frames(path) == 5
    frames = read_frames(path)
    assert frames.shape == (5, 6, 8, 3) and frames.dtype == np.uint8
    assert (frames[..., 0] > 200).all() and (frames[..., 2] < 50).all()
    assert read_frames(path, size=(4, 2)).shape == (5, 2, 4, 3)


def test_bad_videos_raise_naming_the_file(tmp_path: Path) -> None:
    corrupt = write_corrupt(tmp_path / "corrupt.mp4")
    with pytest.raises(FrameReadError, match="corrupt.mp4.*cannot be opened"):
        read_frames(corrupt)
    with pytest.raises(FrameReadError, match="corrupt.mp4"):
        count_frames(corrupt)
    zero = write_video(tmp_path / "zero.avi", 0)
    assert count_frames(zero) == 0
    with pytest.raises(FrameReadError, match="zero.avi.*no decodable frames"):
        read_frames(zero)
    with pytest.raises(FrameReadError, match="gone.mp4.*video file does not exist"):
        read_frames(tmp_path / "gone.mp4")


def test_a_truncated_video_raises_instead_of_reading_short(tmp_path: Path) -> None:
    """A file cut in half keeps its header's frame count, which the corpus index trusts: reading it must fail,
    naming the file and how many frames were missing, not return the first half."""
    whole = write_video(tmp_path / "whole.avi", 60)
    assert len(read_frames(whole)) == 60
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert count_frames(cut) == 60
    with pytest.raises(FrameReadError, match=r"cut.avi: decoded \d+ of the 60 frames .*truncated or corrupt"):
        read_frames(cut)


def test_count_frames_folder(tmp_path: Path) -> None:
    write_frames(tmp_path / "a", 4, ext=".jpg")
    (tmp_path / "b").mkdir()
    assert count_frames(tmp_path / "a") == 4
    assert count_frames(tmp_path / "b") == 0
    with pytest.raises(FrameReadError, match="does not exist"):
        count_frames(tmp_path / "c")


def test_fingerprint_changes_with_content_only(tmp_path: Path) -> None:
    write_frames(tmp_path / "f", 2)
    first = frames_fingerprint(tmp_path / "f")
    assert first == frames_fingerprint(tmp_path / "f") and len(first) == 40
    write_frames(tmp_path / "f", 1, start=3)
    assert frames_fingerprint(tmp_path / "f") != first

    video = write_video(tmp_path / "v.avi", 2)
    before = frames_fingerprint(video)
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert frames_fingerprint(video) != before
    with pytest.raises(FrameReadError, match="nothing"):
        frames_fingerprint(tmp_path / "nothing")

"""Frame access for every corpus layout: a folder of still images or one video file.

Corpora store a video either as a folder of numbered images (PHOENIX, CSL-Daily, SynthSign) or as a
single video file (user corpora). Everything downstream wants the same thing, a ``uint8 [T, H, W, 3]``
RGB array, so this module hides the difference and turns every kind of bad input into one exception,
:class:`FrameReadError`, whose message names the file and the problem.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")

_DIGITS = re.compile(r"(\d+)")


class FrameReadError(Exception):
    """A frame folder or video cannot be read; ``path`` and ``problem`` say which and why.

    The corpus reader turns ``problem`` into a report line, so it is a short sentence without the path.
    """

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def is_video_file(path: Path) -> bool:
    """True when the name has a video extension (the file need not exist)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def _natural_key(path: Path) -> tuple:
    """Sort key that orders ``images2`` before ``images10`` whatever the zero padding."""
    parts = _DIGITS.split(path.name.lower())
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts)


def list_frame_files(folder: Path) -> list[Path]:
    """Image files of a frame folder in natural order (``.png``, ``.jpg``, ``.jpeg``, any case).

    Natural order matters because some corpora do not zero-pad frame numbers; a plain string sort
    would shuffle the frames of such videos. Raises :class:`FrameReadError` if the folder is missing.
    """
    folder = Path(folder)
    return sorted((folder / name for name in _frame_names(folder)), key=_natural_key)


def _frame_names(folder: Path) -> list[str]:
    """Names of the image files in a folder; ``scandir`` avoids one stat per frame on big corpora."""
    try:
        with os.scandir(folder) as entries:
            return [
                entry.name
                for entry in entries
                if os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS and entry.is_file()
            ]
    except (FileNotFoundError, NotADirectoryError) as error:
        raise FrameReadError(folder, "frame folder does not exist") from error
    except OSError as error:
        raise FrameReadError(folder, f"frame folder cannot be listed ({error.strerror or error})") from error


def has_frame_files(folder: Path) -> bool:
    """True when ``folder`` holds at least one image; stops at the first, so it is cheap on big folders."""
    try:
        with os.scandir(folder) as entries:
            return any(
                os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS and entry.is_file()
                for entry in entries
            )
    except OSError:
        return False


def _open_video(path: Path) -> cv2.VideoCapture:
    """Open a video or raise a :class:`FrameReadError` that says whether it is missing or unreadable."""
    if not path.is_file():
        raise FrameReadError(path, "video file does not exist")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise FrameReadError(path, "video cannot be opened (corrupt or unsupported format)")
    return capture


def _count_video_frames(path: Path) -> int:
    """Frame count from the container header, decoding only when the header has none.

    Checking one decoded frame keeps this cheap while still catching files whose header is intact
    but whose stream is not; the header count may differ slightly from what decoding yields.
    """
    capture = _open_video(path)
    try:
        header_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, _ = capture.read()
        if not ok:
            return 0
        if header_count > 0:
            return header_count
        count = 1
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def count_frames(source: Path) -> int:
    """Number of frames of a frame folder or video file, without decoding every frame.

    Returns 0 for an empty folder or a video without frames (the caller decides whether that is an
    error); raises :class:`FrameReadError` for a missing source or a video that cannot be opened.
    """
    source = Path(source)
    if source.is_dir():
        return len(_frame_names(source))
    if source.is_file() or is_video_file(source):
        return _count_video_frames(source)
    raise FrameReadError(source, "frame folder does not exist")


def _fit(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize to ``size`` = (width, height) with INTER_AREA, the right filter for downscaling."""
    if size is None or (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return cv2.resize(image, tuple(size), interpolation=cv2.INTER_AREA)


def read_image(path: Path) -> np.ndarray:
    """Decode one image as RGB; ``np.fromfile`` + ``imdecode`` also works for non-ASCII paths."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as error:
        raise FrameReadError(path, f"image cannot be read ({error.strerror or error})") from error
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise FrameReadError(path, "image is corrupt or not a supported image format")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _read_folder(folder: Path, size: tuple[int, int] | None) -> np.ndarray:
    """Decode a frame folder into one preallocated array (no list of frames held twice)."""
    files = list_frame_files(folder)
    if not files:
        raise FrameReadError(folder, "frame folder contains no .png/.jpg/.jpeg frames")
    first = _fit(read_image(files[0]), size)
    frames = np.empty((len(files), *first.shape), dtype=np.uint8)
    frames[0] = first
    for index, path in enumerate(files[1:], start=1):
        image = _fit(read_image(path), size)
        if image.shape != first.shape:
            raise FrameReadError(
                path,
                f"frame size {image.shape[1]}x{image.shape[0]} differs from the first frame's "
                f"{first.shape[1]}x{first.shape[0]} (pass size= to resize)",
            )
        frames[index] = image
    return frames


class FrameFolder:
    """A frame folder decoded on demand: ``len`` and slices ``[a:b]`` (uint8 ``[n, H, W, 3]`` RGB) read only
    those frames, so that windowed decoding (``decoding.windows``) never holds a long video whole. Raises
    :class:`FrameReadError` as ``read_frames`` does, for a frame when it is read."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.files = list_frame_files(self.folder)
        if not self.files:
            raise FrameReadError(self.folder, "frame folder contains no .png/.jpg/.jpeg frames")
        self.frame_shape = read_image(self.files[0]).shape

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: slice) -> np.ndarray:
        files = self.files[index]
        frames = np.empty((len(files), *self.frame_shape), dtype=np.uint8)
        for i, path in enumerate(files):
            image = read_image(path)
            if image.shape != self.frame_shape:
                raise FrameReadError(path, f"frame size {image.shape[1]}x{image.shape[0]} differs from the first "
                                           f"frame's {self.frame_shape[1]}x{self.frame_shape[0]}")
            frames[i] = image
        return frames


class VideoFrames:
    """A video file decoded forward on demand: ``len`` (one pass of ``grab``, no colour conversion, when
    opened) and slices ``[a:b]`` (uint8 ``[n, H, W, 3]`` RGB). Only the frames of the latest slice are kept;
    increasing slices (windowed decoding's) decode each frame once, a slice starting earlier reopens the file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        capture = _open_video(self.path)
        try:
            count = 0
            while capture.grab():
                count += 1
        finally:
            capture.release()
        if not count:
            raise FrameReadError(self.path, "video contains no decodable frames")
        self.count = count
        self._capture: cv2.VideoCapture | None = None
        self._next = 0  # index of the frame the capture decodes next
        self._first = 0  # index of self._kept[0]
        self._kept: list[np.ndarray] = []

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: slice) -> np.ndarray:
        start, stop, _ = index.indices(self.count)
        if self._capture is None or start < self._first:
            self._reopen()
        self._kept = self._kept[max(0, start - self._first):]
        self._first = max(self._first, start)
        while self._next < stop:
            ok, image = self._capture.read()
            if not ok:
                raise FrameReadError(self.path, f"frame {self._next} of {self.count} cannot be decoded")
            if self._next >= start:
                self._kept.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            self._next += 1
        self._first = max(self._first, self._next - len(self._kept))
        return np.stack(self._kept[start - self._first:stop - self._first])

    def _reopen(self) -> None:
        if self._capture is not None:
            self._capture.release()
        self._capture, self._next, self._first, self._kept = _open_video(self.path), 0, 0, []


def _truncated(decoded: int, declared: int) -> bool:
    """Whether decoding stopped well short of the header's count: a cut or damaged file. Headers may differ from
    decoding by a frame or two (edit lists, B-frames), so a shortfall up to ``max(2, 5%)`` is not flagged."""
    return declared > 0 and declared - decoded > max(2, declared // 20)


def _read_video(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """Decode every frame of a video file as RGB; a file that ends well before its header's frame count raises
    (the corpus index counts frames from the header, so a silently shorter clip could no longer fit its label)."""
    capture = _open_video(path)
    frames: list[np.ndarray] = []
    try:
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(_fit(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), size))
    finally:
        capture.release()
    if not frames:
        raise FrameReadError(path, "video contains no decodable frames")
    if _truncated(len(frames), declared):
        raise FrameReadError(path, f"decoded {len(frames)} of the {declared} frames its header declares "
                                   "(truncated or corrupt)")
    return np.stack(frames)


def read_frames(source: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """All frames of a frame folder or video file as ``uint8 [T, H, W, 3]`` RGB.

    ``size`` is (width, height), OpenCV's order, and resizes every frame with ``cv2.INTER_AREA``.
    Raises :class:`FrameReadError` for a missing source, no frames, or an unreadable image or video.
    """
    source = Path(source)
    if source.is_dir():
        return _read_folder(source, size)
    if source.is_file() or is_video_file(source):
        return _read_video(source, size)
    raise FrameReadError(source, "frame folder does not exist")


def open_frames(source: Path) -> FrameFolder | VideoFrames:
    """A frame folder or video file read on demand, slice by slice (``read_frames`` reads it all at once)."""
    source = Path(source)
    if source.is_dir():
        return FrameFolder(source)
    if source.is_file() or is_video_file(source):
        return VideoFrames(source)
    raise FrameReadError(source, "frame folder does not exist")


def frame_size(source: Path) -> tuple[int, int]:
    """(height, width) of the first frame of a frame folder or video file, decoding only that frame."""
    source = Path(source)
    if source.is_dir():
        files = list_frame_files(source)
        if not files:
            raise FrameReadError(source, "frame folder contains no .png/.jpg/.jpeg frames")
        return tuple(read_image(files[0]).shape[:2])
    capture = _open_video(source)
    try:
        ok, image = capture.read()
    finally:
        capture.release()
    if not ok:
        raise FrameReadError(source, "video contains no decodable frames")
    return tuple(image.shape[:2])


def frames_fingerprint(source: Path) -> str:
    """Cheap content fingerprint (sha1 hex) of a frame folder or video file, for cache keys.

    Uses names, sizes and modification times rather than pixel data, so checking whether a cached
    decode is still valid costs one directory listing, not a decode.
    """
    source = Path(source)
    digest = hashlib.sha1()
    if source.is_dir():
        digest.update(b"frame-folder\n")
        for path in list_frame_files(source):
            stat = path.stat()
            digest.update(f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    elif source.is_file():
        digest.update(b"video-file\n")
        stat = source.stat()
        digest.update(f"{source.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    else:
        raise FrameReadError(source, "frame folder or video file does not exist")
    return digest.hexdigest()

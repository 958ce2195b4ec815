"""Every ``signdistill`` command answers bad input (missing, empty, truncated, a folder, the wrong kind of file,
too short, zero or negative numbers, a file that is not a model) with one line naming it, and exit status 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from signdistill.console import app

from .test_spans import video_and_model  # noqa: F401 - the fixture: a video folder and a packaged recogniser

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def bad(tmp_path_factory, video_and_model) -> dict[str, Path]:  # noqa: F811
    """One of each kind of bad file, next to good ones (``video``, ``model``, ``a.png``)."""
    root = tmp_path_factory.mktemp("bad")
    folder, model = video_and_model
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    cv2.imwrite(str(root / "a.png"), image)
    cv2.imwrite(str(root / "small.png"), image[:32, :32])
    png = (root / "a.png").read_bytes()
    writer = cv2.VideoWriter(str(root / "v.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 64))
    for _ in range(20):
        writer.write(image)
    writer.release()
    files = {"empty.png": b"", "empty.mp4": b"", "empty.model": b"", "text.png": b"not an image\n",
             "text.mp4": b"not a video\n", "notes.txt": b"A B\n", "trunc.png": png[: len(png) // 2],
             "trunc.mp4": (root / "v.mp4").read_bytes()[:2000], "trunc.model": model.read_bytes()[:100]}
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "folder").mkdir()
    short = root / "short"  # 10 frames: under the 16 the baseline's K5-P2-K5-P2 needs
    short.mkdir()
    for frame in sorted(folder.iterdir())[:10]:
        shutil.copy(frame, short / frame.name)
    return {"root": root, "video": folder, "model": model}


# (command line with {placeholders}, what its one line must say); {root} is the folder of bad files
CASES = [
    ("recognize {video} --model {model} --fps 0", "'--fps': must be > 0"),
    ("recognize {video} --model {model} --fps -25", "'--fps': must be > 0"),
    ("recognize {root}/short --model {model}", "short: 10 frames are too few"),
    ("recognize {video} --model {root}/notes.txt", "notes.txt is not a model package"),
    ("recognize {video} --model {root}/a.png", "a.png is not a model package"),
    ("recognize {video} --model {root}/trunc.model", "trunc.model is not a model package"),
    ("recognize {video} --model {root}/empty.model", "empty.model is empty"),
    ("recognize {video} --model {root}/folder", "folder is a folder, not a file"),
    ("recognize {video} --model {root}/nowhere.model", "nowhere.model: no such file"),
    ("recognize {root}/nowhere.mp4 --model {model}", "nowhere.mp4: video file does not exist"),
    ("recognize {root}/empty.mp4 --model {model}", "empty.mp4: video cannot be opened"),
    ("recognize {root}/trunc.mp4 --model {model}", "trunc.mp4: video cannot be opened"),
    ("recognize {root}/text.mp4 --model {model}", "text.mp4: video cannot be opened"),
    ("recognize {root}/folder --model {model}", "folder: frame folder contains no"),
    ("recognize {video} --model {model} --beam-width 0", "'--beam-width'"),
    ("recognize {video} --model {model} --window -4", "'--window'"),
    ("recognize {video} --model {model} --overlap -1", "'--overlap'"),
    ("recognize {video} --model {model} --decoder nope", "unknown decoder 'nope'"),
    ("flow {root}/a.png {root}/nowhere.png --out {root}/o.npy", "nowhere.png: no such file"),
    ("flow {root}/empty.png {root}/a.png --out {root}/o.npy", "empty.png is empty"),
    ("flow {root}/trunc.png {root}/a.png --out {root}/o.npy", "trunc.png is not an image"),
    ("flow {root}/text.png {root}/a.png --out {root}/o.npy", "text.png is not an image"),
    ("flow {root}/folder {root}/a.png --out {root}/o.npy", "folder is a folder, not a file"),
    ("flow {root}/a.png {root}/small.png --out {root}/o.npy", "frames differ in size"),
    ("flow {root}/a.png {root}/a.png --out {root}/folder", "folder is a folder; give a file name"),
    ("flow {root}/a.png {root}/a.png --out {root}/o.npy --device nope", "unknown device 'nope'"),
    ("pose {root}/nowhere.png", "nowhere.png: image cannot be read"),
    ("pose {root}/empty.png", "empty.png: image is corrupt"),
    ("pose {root}/trunc.png", "trunc.png: image is corrupt"),
    ("pose {root}/folder", "folder: frame folder contains no"),
    ("pose {root}/trunc.mp4", "trunc.mp4: video cannot be opened"),
    ("pose {root}/a.png --out {root}/folder", "folder is a folder; give a file name"),
    ("corpus {root}/nowhere", "corpus root not found"),
    ("corpus {root}/folder", "no known corpus layout"),
    ("corpus {root}/notes.txt", "corpus root is not a directory"),
    ("corpus {root} --layout nope", "unknown corpus layout 'nope'"),
    ("score --ref {root}/nowhere.txt --hyp {root}/notes.txt", "nowhere.txt: no such file"),
    ("score --ref {root}/folder --hyp {root}/notes.txt", "folder is a folder, not a file"),
    ("score --ref {root}/a.png --hyp {root}/notes.txt", "a.png is not a UTF-8 text file"),
    ("score --ref {root}/notes.txt --hyp {root}/empty.png", "empty.png is empty"),
    ("score --ref {root}/notes.txt --hyp {root}/notes.txt --rules nope", "unknown rules 'nope'"),
    ("params --env nowhere", "no configuration environment 'nowhere'"),
    ("params --run nope", "base has no run 'nope'"),
    ("params --conf {root}/folder", "no configuration environment 'base'"),
    ("profile nope", "unknown model 'nope'"),
    ("profile baseline --frames 0", "'--frames'"),
    ("profile baseline --frames -5", "'--frames'"),
    ("profile baseline --frames 10 --resolution 32 --warmup 0 --repeats 0", "baseline cannot run on 10 frames"),
    ("profile baseline --resolution 0", "'--resolution'"),
    ("profile baseline --vocab 0", "'--vocab'"),
    ("profile baseline --repeats -1", "'--repeats'"),
    ("profile baseline --device nope", "unknown device 'nope'"),
    ("synth --out {root}/notes.txt --preset tiny", "notes.txt is a file"),
    ("synth --out {root}/corpus --preset nope", "unknown SynthSign preset 'nope'"),
    ("synth --out {root}/corpus --workers -1", "'--workers'"),
    ("nosuch", "No such command 'nosuch'"),
    ("bench nosuch", "No such command 'nosuch'"),
]


@pytest.mark.parametrize("line,says", CASES, ids=[line.replace("{", "").replace("}", "") for line, _ in CASES])
def test_bad_input_gets_one_line_and_exit_2(bad: dict[str, Path], line: str, says: str) -> None:
    args = [arg.format(**bad) for arg in line.split()]
    result = CliRunner().invoke(app, args)
    lines = [text for text in result.output.splitlines() if text.strip()]
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines


def test_pose_says_when_it_finds_nobody(bad: dict[str, Path]) -> None:
    """Noise has no person in it: the keypoints are still printed (all scores 0), with a line saying so."""
    result = CliRunner().invoke(app, ["pose", str(bad["root"] / "a.png")])
    assert result.exit_code == 0, result.output
    assert f"warning: {bad['root'] / 'a.png'}: no person found in its 1 frame(s)" in result.output

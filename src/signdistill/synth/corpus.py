"""Write a SynthSign corpus in the PHOENIX-2014 layout, with per-frame ground truth.

Layout under ``root``::

    annotations/manual/{train,dev,test}.corpus.csv      id|folder|signer|annotation
    features/fullFrame-210x260px/{split}/<id>/1/images0001.jpg ...
    groundtruth/{split}/<id>.npz                         keypoints [T,133,3] float32, alignment [T] int16
    lexicon.json, signers.json, manifest.json

Every video is generated from (seed, video number) alone, so a corpus is identical whether it is made
in one process or many, and a run that is killed resumes where it stopped: a video folder appears
under its final name only when all its frames are written, and the manifest is written last.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from signdistill.data.atomic import atomic_write
from signdistill.data.corpora import SPLITS
from signdistill.data.parallel import parallel_map
from signdistill.synth.body import pose_keypoints
from signdistill.synth.grammar import SentenceModel
from signdistill.synth.lexicon import Gloss, build_lexicon, rest_glosses
from signdistill.synth.motion import sentence_timeline
from signdistill.synth.render import background_texture, camera_effects, render_frame
from signdistill.synth.signer import Signer, make_signer

log = logging.getLogger(__name__)

GENERATOR_VERSION = "3"
FRAME_DIR = "fullFrame-210x260px"


@dataclass(frozen=True)
class SynthPreset:
    """Size and difficulty of a SynthSign corpus."""

    name: str
    num_glosses: int
    num_signers: int
    num_sentences: int  # distinct sentences in the pool that videos draw from
    videos: dict[str, int] = field(default_factory=dict)  # per split
    mean_length: float = 6.0  # glosses per sentence, 3-12
    signer_independent: bool = False  # if True, the last two signers appear only in dev / test
    repeat_probability: float = 0.3  # chance that a signer signs one of their own sentences again
    on_off_probability: float = 0.85
    family_size: float = 2.0
    image_ext: str = "jpg"
    width: int = 210
    height: int = 260


PRESETS: dict[str, SynthPreset] = {
    "tiny": SynthPreset("tiny", num_glosses=12, num_signers=3, num_sentences=10,
                        videos={"train": 8, "dev": 3, "test": 3}, mean_length=3.5),
    "default": SynthPreset("default", num_glosses=40, num_signers=6, num_sentences=160,
                           videos={"train": 240, "dev": 40, "test": 40}, mean_length=5.0),
    "phoenix_like": SynthPreset("phoenix_like", num_glosses=1200, num_signers=9, num_sentences=5200,
                                videos={"train": 5672, "dev": 540, "test": 629}, mean_length=7.0),
}


def get_preset(name: str, **overrides) -> SynthPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown SynthSign preset {name!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name], **overrides)


@dataclass(frozen=True)
class VideoPlan:
    id: str
    split: str
    signer: int
    glosses: tuple[str, ...]
    number: int


def preset_fingerprint(preset: SynthPreset, seed: int) -> str:
    payload = json.dumps({"preset": asdict(preset), "seed": seed, "version": GENERATOR_VERSION}, sort_keys=True)
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def plan_corpus(preset: SynthPreset, seed: int) -> tuple[list[Gloss], list[Signer], list[VideoPlan]]:
    """Lexicon, signers and the list of videos to render (sentences, signers, splits)."""
    lexicon = build_lexicon(preset.num_glosses, seed, preset.family_size)
    signers = [make_signer(i, seed, preset.width, preset.height) for i in range(preset.num_signers)]
    model = SentenceModel(lexicon, seed, mean_length=preset.mean_length)
    rng = np.random.default_rng([seed, 3])
    pool = [tuple(g.name for g in model.sample(rng)) for _ in range(preset.num_sentences)]
    on, off = rest_glosses()
    split_signers = _split_signers(preset)
    plans: list[VideoPlan] = []
    history: dict[int, list[tuple[str, ...]]] = {}
    for split in SPLITS:
        for _ in range(preset.videos.get(split, 0)):
            signer = int(rng.choice(split_signers[split]))
            own = history.setdefault(signer, [])
            if own and rng.random() < preset.repeat_probability:
                sentence = own[int(rng.integers(len(own)))]
            else:
                sentence = pool[int(rng.integers(len(pool)))]
                own.append(sentence)
            glosses = ((on.name,) if rng.random() < preset.on_off_probability else ()) + sentence
            glosses += (off.name,) if rng.random() < preset.on_off_probability else ()
            number = len(plans)
            plans.append(VideoPlan(f"{signers[signer].name}_{number:05d}", split, signer, glosses, number))
    return lexicon, signers, plans


def _split_signers(preset: SynthPreset) -> dict[str, list[int]]:
    everyone = list(range(preset.num_signers))
    if not preset.signer_independent or preset.num_signers < 3:
        return {split: everyone for split in SPLITS}
    return {"train": everyone[:-2], "dev": [everyone[-2]], "test": [everyone[-1]]}


def render_video(plan: VideoPlan, lexicon: dict[str, Gloss], signer: Signer, seed: int,
                 width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames [T,H,W,3] uint8 RGB, keypoints [T,133,3] float32 and alignment [T] int16 of one video."""
    rng = np.random.default_rng([seed, 5, plan.number])
    glosses = [lexicon[name] for name in plan.glosses]
    poses, alignment = sentence_timeline(glosses, signer.tempo, rng)
    shape = signer.jittered_shape(rng)
    background = background_texture(signer.look, width, height)
    frames = np.empty((len(poses), height, width, 3), np.uint8)
    keypoints = np.empty((len(poses), 133, 3), np.float32)
    previous = None
    for t, pose in enumerate(poses):
        skeleton = pose_keypoints(shape, pose, width, height)
        clean = render_frame(skeleton, signer.look, background, shape.shoulder_px)
        frames[t] = camera_effects(clean, previous, signer.look, rng)
        keypoints[t] = skeleton.keypoints
        previous = clean
    return frames, keypoints, alignment


def _video_dir(root: Path, plan: VideoPlan) -> Path:
    return root / "features" / FRAME_DIR / plan.split / plan.id / "1"


def _gt_path(root: Path, plan: VideoPlan) -> Path:
    return root / "groundtruth" / plan.split / f"{plan.id}.npz"


def _write_video(job: tuple) -> int:
    root, plan, lexicon, signer, seed, preset = job
    if _gt_path(root, plan).exists() and _video_dir(root, plan).exists():
        return 0  # finished by an earlier, interrupted run
    frames, keypoints, alignment = render_video(plan, lexicon, signer, seed, preset.width, preset.height)
    final = _video_dir(root, plan)
    tmp = final.parent.with_name(final.parent.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "1").mkdir(parents=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if preset.image_ext == "jpg" else []
    for t, frame in enumerate(frames):
        cv2.imwrite(str(tmp / "1" / f"images{t + 1:04d}.{preset.image_ext}"), frame[:, :, ::-1], params)
    shutil.rmtree(final.parent, ignore_errors=True)
    os.replace(tmp, final.parent)
    atomic_write(_gt_path(root, plan), lambda tmp: np.savez_compressed(tmp, keypoints=keypoints, alignment=alignment),
                 ".tmp.npz")
    return len(frames)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def read_manifest(root: Path) -> dict | None:
    path = Path(root) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def corpus_is_current(root: Path, preset: SynthPreset, seed: int) -> bool:
    manifest = read_manifest(root)
    return bool(manifest) and manifest.get("fingerprint") == preset_fingerprint(preset, seed)


def generate_corpus(root: Path, preset: SynthPreset, seed: int = 0, workers: int | None = None,
                    force: bool = False, progress: bool = True) -> dict:
    """Generate (or finish, or skip if current) a SynthSign corpus; returns its manifest."""
    root = Path(root)
    if not force and corpus_is_current(root, preset, seed):
        log.info("SynthSign corpus at %s is current (preset %s, seed %d): skipped", root, preset.name, seed)
        return read_manifest(root)
    if read_manifest(root) is not None:  # other parameters: start again rather than mix two corpora
        log.info("SynthSign corpus at %s was made with other parameters: regenerating", root)
        for sub in ("features", "groundtruth", "annotations"):
            shutil.rmtree(root / sub, ignore_errors=True)
        (root / "manifest.json").unlink()
    lexicon, signers, plans = plan_corpus(preset, seed)
    by_name = {g.name: g for g in lexicon + rest_glosses()}
    jobs = [(root, p, by_name, signers[p.signer], seed, preset) for p in plans]
    frames = _run_jobs(jobs, workers, progress)
    _write_annotations(root, plans, preset.image_ext)
    atomic_write_text(root / "lexicon.json", json.dumps([g.to_dict() for g in lexicon], indent=1))
    atomic_write_text(root / "signers.json", json.dumps([_signer_record(s) for s in signers], indent=1))
    manifest = {
        "fingerprint": preset_fingerprint(preset, seed), "preset": asdict(preset), "seed": seed,
        "generator_version": GENERATOR_VERSION, "videos": {s: sum(p.split == s for p in plans) for s in SPLITS},
        "frames_written": frames, "vocabulary": len(lexicon) + 2,
    }
    atomic_write_text(root / "manifest.json", json.dumps(manifest, indent=1))
    return manifest


def _run_jobs(jobs: list[tuple], workers: int | None, progress: bool) -> int:
    return sum(parallel_map(_write_video, jobs, workers or 0, "SynthSign videos", progress))


def _write_annotations(root: Path, plans: Iterable[VideoPlan], image_ext: str) -> None:
    """The PHOENIX-2014 CSVs; the folder column is a glob of the frames as written (PHOENIX itself ships PNG,
    SynthSign JPEG), so that tools which glob it (VAC's preprocessing) find them."""
    for split in SPLITS:
        rows = ["id|folder|signer|annotation"]
        rows += [f"{p.id}|{p.id}/1/*.{image_ext}|Signer{p.signer + 1:02d}|{' '.join(p.glosses)}" for p in plans
                 if p.split == split]
        atomic_write_text(root / "annotations" / "manual" / f"{split}.corpus.csv", "\n".join(rows) + "\n")


def _signer_record(signer: Signer) -> dict:
    return {"name": signer.name, "tempo": signer.tempo, "shape": asdict(signer.shape), "look": asdict(signer.look)}


def load_groundtruth(root: Path, split: str, video_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints [T,133,3] and per-frame gloss positions [T] (-1 in transitions) of one video."""
    with np.load(Path(root) / "groundtruth" / split / f"{video_id}.npz") as data:
        return data["keypoints"], data["alignment"]

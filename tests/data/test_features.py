"""The feature store: flow and MediaPipe keypoints per video, cached, packed, with per-video problems."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from signdistill.data.corpora import Sample
from signdistill.data.features import FeatureConfig, FeatureStore, build_feature_store
from signdistill.data.store import build_frame_store
from signdistill.errors import InputError, MissingInputError
from signdistill.flow.quantise import dequantise_flow
from signdistill.flow.synthetic import Texture
from signdistill.synth.corpus import get_preset, plan_corpus, render_video
from signdistill.synth.lexicon import rest_glosses

FRAMES = 24
SHIFT = 4.0  # px per frame at the 128 px source, so 2 px in the 64 px flow frames


def _write(folder: Path, frames: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames, start=1):
        assert cv2.imwrite(str(folder / f"images{i:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder


def _signer_video() -> np.ndarray:
    preset = get_preset("tiny")
    lexicon, signers, plans = plan_corpus(preset, 0)
    by_name = {g.name: g for g in lexicon + rest_glosses()}
    plan = next(p for p in plans if p.split == "train")
    frames, _, _ = render_video(plan, by_name, signers[plan.signer], 0, preset.width, preset.height)
    return frames[:FRAMES]


def _empty_scene() -> np.ndarray:
    """A textured wall sliding left by SHIFT px per frame: motion, but no person."""
    texture = Texture(seed=3).fit_range(128)
    ys, xs = np.mgrid[:128, :128].astype(np.float64)
    frames = [np.clip(texture(xs + SHIFT * t, ys), 0, 255).astype(np.uint8) for t in range(FRAMES)]
    return np.repeat(np.stack(frames)[..., None], 3, axis=-1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Sample]]:
    root = tmp_path_factory.mktemp("features")
    videos = {"signer": ("train", _signer_video()), "nobody": ("dev", _empty_scene()),
              "still": ("test", _empty_scene()[:1])}
    samples = [Sample(name, split, "Signer01", ("A",), _write(root / "raw" / name, frames), "A", len(frames))
               for name, (split, frames) in videos.items()]
    build_frame_store(samples, [64], root / "store", root / "frame_cache", workers=1, progress=False)
    return root, samples


def _build(root: Path, samples: list[Sample], config: FeatureConfig, name: str = "features") -> dict:
    return build_feature_store(samples, config, root / "store", root / name, root / "feature_cache", workers=1,
                               progress=False)


@pytest.fixture(scope="module")
def built(corpus) -> tuple[Path, dict]:
    root, samples = corpus
    return root, _build(root, samples, FeatureConfig())


def test_flow_is_stored_per_frame_and_measures_the_motion(built) -> None:
    root, _ = built
    store = FeatureStore(root / "features")
    codes = store.flow("dev")["nobody"]
    assert codes.shape == (FRAMES, 64, 64, 2) and codes.dtype == np.uint8
    flow = dequantise_flow(np.asarray(codes))
    inner = flow[:, 8:-8, 8:-8]  # borders see texture entering the frame
    # img1(x) ~ img2(x + flow): the wall slides left, so the flow points left by SHIFT/2 at 64 px
    assert np.median(inner[..., 0]) == pytest.approx(-SHIFT / 2, abs=0.1)
    assert np.median(np.abs(inner[..., 1])) < 0.1
    assert np.array_equal(codes[-1], codes[-2])  # the last frame repeats the last pair's flow


def test_keypoints_follow_twostream_format(built) -> None:
    root, _ = built
    keypoints = FeatureStore(root / "features").keypoints()
    assert set(keypoints) == {"signer", "nobody", "still"}
    entry = keypoints["signer"]
    assert entry["keypoints"].shape == (FRAMES, 133, 3) and entry["keypoints"].dtype == np.float32
    preset = get_preset("tiny")
    assert entry["frame_size"] == (preset.height, preset.width)
    assert (entry["keypoints"][:, 5:7, 2] > 0.5).mean() > 0.9  # shoulders found in almost every frame
    assert not keypoints["nobody"]["keypoints"][..., 2].any()  # nothing found: score 0 everywhere


def test_problems_are_reported_per_video(built) -> None:
    root, summary = built
    reasons = {(p["id"], p["reason"].split(" (")[0]) for p in summary["problems"]}
    assert {p["id"]: p["path"] for p in summary["problems"]} == {
        "nobody": str(root / "raw" / "nobody"), "still": str(root / "raw" / "still")}
    assert ("nobody", "no person found") in reasons
    assert ("still", "too few frames for optical flow") in reasons
    assert not any(video == "signer" for video, _ in reasons)
    assert summary["flow_videos"] == 2 and summary["keypoint_videos"] == 3


def test_rerun_computes_nothing_and_a_new_flow_parameter_recomputes_only_flow(corpus, built) -> None:
    root, samples = corpus
    cache = root / "feature_cache"
    stamps = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    _build(root, samples, FeatureConfig())
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()} == stamps
    _build(root, samples, FeatureConfig(flow={"warps": 3}), name="features_warps3")
    new = {p for p in cache.rglob("*") if p.is_file()} - set(stamps)
    assert new and all("flow" in p.parts for p in new)


def test_supplied_keypoints_replace_mediapipe_and_are_checked(corpus, built, tmp_path) -> None:
    root, samples = corpus
    supplied = tmp_path / "hrnet.pkl"
    good = np.random.default_rng(0).random((FRAMES, 133, 3), dtype=np.float32)
    with open(supplied, "wb") as handle:
        pickle.dump({"signer": {"keypoints": good}, "nobody": {"keypoints": good[:5]}}, handle)
    summary = _build(root, samples, FeatureConfig(keypoints_file=str(supplied)), name="features_hrnet")
    reasons: dict[str, str] = {}
    for problem in summary["problems"]:
        reasons[problem["id"]] = reasons.get(problem["id"], "") + problem["reason"] + "; "
    assert "have 5 frames, the video has 24" in reasons["nobody"]
    assert "too few frames" in reasons["still"] and "no keypoints for this video" in reasons["still"]
    keypoints = FeatureStore(root / "features_hrnet").keypoints()
    assert list(keypoints) == ["signer"] and np.array_equal(keypoints["signer"]["keypoints"], good)


def test_a_damaged_feature_store_is_named_with_how_to_rebuild_it(corpus, built, tmp_path) -> None:
    root, samples = corpus
    store = tmp_path / "features"
    shutil.copytree(root / "features", store)
    keypoints = store / "keypoints.pkl"
    keypoints.write_bytes(keypoints.read_bytes()[:50])
    with pytest.raises(InputError, match=f"{keypoints}: feature store file is corrupt .*pipelines features"):
        FeatureStore(store).keypoints()
    keypoints.unlink()
    with pytest.raises(MissingInputError, match=f"{keypoints}: feature store file is missing"):
        FeatureStore(store).keypoints()
    flow = next((store / "flow").iterdir()) / "dev.frames"
    flow.write_bytes(flow.read_bytes()[:200])
    with pytest.raises(InputError, match=f"{flow}: store file is truncated .*pipelines features"):
        FeatureStore(store).flow("dev")
    shutil.rmtree(store / "flow")
    with pytest.raises(MissingInputError, match=f"{store / 'flow'}: the feature store holds no flow"):
        FeatureStore(store).flow("dev")
    supplied = tmp_path / "hrnet.pkl"
    supplied.write_bytes(b"\x80\x04\x95")
    with pytest.raises(InputError, match=f"{supplied}: keypoints file .* is corrupt"):
        _build(root, samples, FeatureConfig(keypoints_file=str(supplied)), name="features_bad")
    with pytest.raises(MissingInputError, match=f"{tmp_path / 'gone.pkl'}: keypoints file .* is missing"):
        _build(root, samples, FeatureConfig(keypoints_file=str(tmp_path / "gone.pkl")), name="features_gone")


@pytest.mark.parametrize("params,says", [
    ({"keypoint_strides": 4}, "parameters features: unknown key(s) ['keypoint_strides']"),
    ({"keypoint_stride": "4"}, "parameters features.keypoint_stride must be an integer, got '4'"),
    ({"flow_bound": None}, "parameters features.flow_bound must be a number, got None"),
])
def test_a_wrong_features_parameter_is_named(params: dict, says: str) -> None:
    with pytest.raises(InputError) as error:
        FeatureConfig.from_params(params)
    assert str(error.value).startswith(says)

"""SynthSign corpus writer: layout, ground truth, determinism, skipping and resuming."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from signdistill.data.corpora import read_corpus
from signdistill.synth.corpus import (
    corpus_is_current,
    generate_corpus,
    get_preset,
    load_groundtruth,
    plan_corpus,
)
from signdistill.synth.grammar import SentenceModel
from signdistill.synth.lexicon import build_lexicon
from signdistill.synth.words import OFF_GLOSS, ON_GLOSS, WORDS_BY_CATEGORY

SMALL = {"videos": {"train": 4, "dev": 2, "test": 2}}


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthsign")
    generate_corpus(root, get_preset("tiny", **SMALL), seed=3, workers=1, progress=False)
    return root


def test_layout_is_read_as_phoenix2014(tiny_corpus: Path) -> None:
    index = read_corpus(tiny_corpus, "auto")
    assert index.layout == "phoenix2014"
    assert index.problems == []
    assert [len(index.split(s)) for s in ("train", "dev", "test")] == [4, 2, 2]
    frames = sorted((tiny_corpus / "features" / "fullFrame-210x260px" / "train").glob("*/1/images0001.jpg"))
    assert len(frames) == 4
    header, *rows = (tiny_corpus / "annotations" / "manual" / "train.corpus.csv").read_text().splitlines()
    assert header == "id|folder|signer|annotation"
    for row in rows:  # the folder column globs the frames as written, as a tool like VAC's preprocessing does
        video_id, folder = row.split("|")[:2]
        found = sorted((tiny_corpus / "features" / "fullFrame-210x260px" / "train").glob(folder))
        assert found and found[0].name == "images0001.jpg" and found[0].parent.parent.name == video_id


def test_groundtruth_matches_frames(tiny_corpus: Path) -> None:
    index = read_corpus(tiny_corpus)
    for sample in index.samples:
        keypoints, alignment = load_groundtruth(tiny_corpus, sample.split, sample.id)
        assert keypoints.shape == (sample.num_frames, 133, 3)
        assert keypoints.dtype == np.float32 and alignment.shape == (sample.num_frames,)
        positions = sorted(set(alignment.tolist()) - {-1})
        assert positions == list(range(len(sample.glosses)))  # every gloss has frames, in order
        assert (np.diff(alignment[alignment >= 0]) >= 0).all()
        body = keypoints[:, :11]
        assert (body[..., 2] == 1).all()  # upper body always in frame
        assert (body[..., 0] >= 0).all() and (body[..., 0] < 210).all()


def test_glosses_are_real_words_with_rest_poses(tiny_corpus: Path) -> None:
    words = {w for ws in WORDS_BY_CATEGORY.values() for w in ws} | {ON_GLOSS, OFF_GLOSS}
    index = read_corpus(tiny_corpus)
    for sample in index.samples:
        assert set(sample.glosses) <= words
        core = [g for g in sample.glosses if g not in (ON_GLOSS, OFF_GLOSS)]
        assert 3 <= len(core) <= 12


def test_generation_is_deterministic_and_skips_when_current(tiny_corpus: Path, tmp_path: Path) -> None:
    preset = get_preset("tiny", **SMALL)
    assert corpus_is_current(tiny_corpus, preset, 3)
    stamp = (tiny_corpus / "manifest.json").stat().st_mtime_ns
    generate_corpus(tiny_corpus, preset, seed=3, workers=1, progress=False)
    assert (tiny_corpus / "manifest.json").stat().st_mtime_ns == stamp
    other = tmp_path / "again"
    generate_corpus(other, preset, seed=3, workers=2, progress=False)  # parallel gives the same corpus
    for split in ("train", "dev"):
        a = (tiny_corpus / "annotations" / "manual" / f"{split}.corpus.csv").read_text()
        assert a == (other / "annotations" / "manual" / f"{split}.corpus.csv").read_text()
    first = read_corpus(tiny_corpus).samples[0]
    kp_a, _ = load_groundtruth(tiny_corpus, first.split, first.id)
    kp_b, _ = load_groundtruth(other, first.split, first.id)
    np.testing.assert_array_equal(kp_a, kp_b)


def test_killed_run_resumes_without_redoing_finished_videos(tmp_path: Path) -> None:
    preset = get_preset("tiny", **SMALL)
    root = tmp_path / "c"
    generate_corpus(root, preset, seed=1, workers=1, progress=False)
    samples = read_corpus(root).samples
    kept, lost = samples[0], samples[1]
    kept_frame = next((root / "features" / "fullFrame-210x260px" / kept.split / kept.id / "1").iterdir())
    stamp = kept_frame.stat().st_mtime_ns
    # simulate a kill: no manifest yet, one video half-written, one never started
    (root / "manifest.json").unlink()
    shutil.rmtree(root / "features" / "fullFrame-210x260px" / lost.split / lost.id)
    (root / "groundtruth" / lost.split / f"{lost.id}.npz").unlink()
    partial = root / "features" / "fullFrame-210x260px" / lost.split / f"{lost.id}.partial" / "1"
    partial.mkdir(parents=True)
    generate_corpus(root, preset, seed=1, workers=1, progress=False)
    assert kept_frame.stat().st_mtime_ns == stamp
    assert not partial.exists()
    assert read_corpus(root).problems == []
    assert json.loads((root / "manifest.json").read_text())["videos"]["train"] == 4


def test_signer_independent_split_holds_out_signers() -> None:
    preset = get_preset("tiny", num_signers=4, signer_independent=True)
    _, signers, plans = plan_corpus(preset, seed=0)
    by_split = {s: {p.signer for p in plans if p.split == s} for s in ("train", "dev", "test")}
    assert by_split["dev"].isdisjoint(by_split["train"]) and by_split["test"].isdisjoint(by_split["train"])
    assert by_split["dev"].isdisjoint(by_split["test"])


def test_signers_repeat_their_sentences() -> None:
    _, _, plans = plan_corpus(get_preset("default"), seed=0)
    per_signer: dict[int, list[tuple]] = {}
    for plan in plans:
        per_signer.setdefault(plan.signer, []).append(tuple(g for g in plan.glosses if not g.startswith("__")))
    assert all(len(set(s)) < len(s) for s in per_signer.values())


def test_phoenix_like_preset_scale() -> None:
    preset = get_preset("phoenix_like")
    assert sum(preset.videos.values()) > 6500
    lexicon = build_lexicon(preset.num_glosses, 0)
    assert len({g.name for g in lexicon}) == preset.num_glosses >= 1200


def test_sentence_model_uses_context() -> None:
    """Bigram structure: the most likely successor of a gloss is far more likely than chance."""
    lexicon = build_lexicon(40, 0)
    model = SentenceModel(lexicon, seed=0)
    rng = np.random.default_rng(0)
    pairs: dict[str, dict[str, int]] = {}
    for _ in range(2000):
        names = [g.name for g in model.sample(rng)]
        assert 3 <= len(names) <= 12
        for a, b in zip(names, names[1:], strict=False):
            pairs.setdefault(a, {}).setdefault(b, 0)
            pairs[a][b] += 1
    top_share = np.mean([max(c.values()) / sum(c.values()) for c in pairs.values() if sum(c.values()) > 50])
    assert top_share > 3.0 / len(lexicon)

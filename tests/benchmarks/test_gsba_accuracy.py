"""The GSBA benchmark's scoring of pseudo-labels against SynthSign's true frame alignment."""

import numpy as np
import pytest
import torch
from ctc_spikes import spikes

from signdistill.benchmarks.gsba_accuracy import (
    alignment_gloss_ids,
    downsample_alignment,
    gsba_accuracy_by_radius,
    load_frame_alignment,
    output_frame_centres,
    score_pseudo_labels,
)
from signdistill.losses.smkd import IGNORE_INDEX

IGN = IGNORE_INDEX


def test_output_frame_centres():
    np.testing.assert_allclose(output_frame_centres(3), [7.5, 11.5, 15.5])  # 4j + 7.5 for K5-P2-K5-P2
    np.testing.assert_allclose(output_frame_centres(2, "K3"), [1.0, 2.0])
    np.testing.assert_allclose(output_frame_centres(2, "P2"), [0.5, 2.5])


def test_load_frame_alignment_reads_the_synthsign_file(tmp_path):
    path = tmp_path / "groundtruth" / "train"
    path.mkdir(parents=True)
    alignment = np.array([0, 0, -1, 1, 1, 2], np.int16)
    np.savez_compressed(path / "Signer01_00001.npz", keypoints=np.zeros((6, 133, 3), np.float32), alignment=alignment)
    loaded = load_frame_alignment(tmp_path, "train", "Signer01_00001")
    assert loaded.dtype == np.int64 and loaded.tolist() == alignment.tolist()
    assert alignment_gloss_ids(loaded, [7, 8, 9]).tolist() == [7, 7, -1, 8, 8, 9]


def test_score_pseudo_labels_maps_output_frames_to_their_centre():
    frame_ids = np.array([3] * 13 + [-1] * 4 + [5] * 23)  # 40 input frames -> 7 output frames
    assert downsample_alignment(frame_ids, 7).tolist() == [3, 3, -1, 5, 5, 5, 5]  # frames 7, 11, 15, ..., 31
    score = score_pseudo_labels(torch.tensor([3, 5, 3, 5, IGN, 5, IGN]), frame_ids)
    assert (score["sign_frames"], score["assigned"], score["correct"]) == (6, 4, 3)
    assert score["frame_accuracy"] == pytest.approx(0.75)
    assert score["coverage"] == pytest.approx(4 / 6)
    assert score["transition_assigned"] == 1.0


def test_accuracy_by_radius_grows_coverage_on_a_clean_clip():
    vectors = torch.eye(6)
    truth_out = [2, 2, 2, 2, 4, 4, 4, 4]  # per output frame; the input alignment repeats it 4 x around centres
    feats = torch.stack([vectors[c] for c in truth_out])
    log_probs = spikes(8, 6, {1: 2, 6: 4})
    frame_ids = np.repeat(np.array([2, 2, 2, 2, 4, 4, 4, 4]), 4)
    frame_ids = np.concatenate([np.full(6, 2), frame_ids, np.full(10, 4)])  # centres at 4j + 7.5 -> index 4j + 7
    by_d = gsba_accuracy_by_radius(feats, vectors, log_probs, torch.tensor([2, 4]), frame_ids, radii=(0, 1, 2, 3))
    assert [by_d[d]["assigned"] for d in (0, 1, 2, 3)] == [2, 6, 8, 8]
    assert all(by_d[d]["frame_accuracy"] == 1.0 for d in by_d)

"""DDP: two gloo processes on the CPU train what one process trains with the same global batch."""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from signdistill.data.features import FeatureStore
from signdistill.data.store import FrameStore, pack_split
from signdistill.data.vocabulary import Vocabulary
from signdistill.pipelines.nodes import train_recognizer
from signdistill.training.distributed import JOB_FILE, torchrun_command, torchrun_env
from signdistill.training.evaluate import wer_evaluator
from signdistill.training.recipes import recognizer_recipe
from signdistill.training.run import train_run
from signdistill.training.spec import DDPSpec, RunInputs, RunSpec
from signdistill.training.trainer import Trainer

PARAMS = {
    # no crop, flip or time warp: every clip has the same frames (so batch-norm statistics are the same on
    # one rank and on two) but its own label, so the gradients still depend on which rank saw which clip
    "store_size": 20, "crop": 20, "flip": False, "temporal_scale": 0.0, "rules": "none",
    "model": {"width": 4, "hidden": 8, "lstm_hidden": 8, "lstm_layers": 1, "weights": None},
    "train": {"epochs": 1, "batch_size": 2, "lr": 1e-2, "schedule": "constant", "device": "cpu", "seed": 5,
              "optimizer": "sgd", "weight_decay": 0.0, "grad_clip": 0.0, "num_workers": 0},
}


def _corpus(root: Path, size: int = 20, train: int = 6) -> tuple[Path, pd.DataFrame, dict]:
    rng = np.random.default_rng(0)
    rows, paths = [], {"train": [], "dev": []}
    frames = rng.integers(0, 255, (44, size, size, 3), dtype=np.uint8)
    for i in range(train + 2):
        split = "train" if i < train else "dev"
        vid = f"v{i}"
        np.save(root / f"{vid}.npy", frames)
        paths[split].append((vid, str(root / f"{vid}.npy")))
        rows.append({"id": vid, "split": split, "signer": "s1", "annotation": " ".join(rng.choice(list("ABC"), 3)),
                     "num_frames": len(frames), "source": ""})
    for split, members in paths.items():
        pack_split(members, root / "store" / str(size), split)
    pack_split([], root / "store" / str(size), "test")
    index = pd.DataFrame(rows)
    vocabulary = Vocabulary.from_sequences(index[index.split == "train"].annotation.str.split()).to_dict()
    return root / "store", index, vocabulary


def _trainable(state: dict, model: torch.nn.Module) -> torch.Tensor:
    names = [n for n, _ in model.named_parameters()]
    return torch.cat([state[n].flatten().float() for n in names])


def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    store, index, vocabulary = _corpus(tmp_path)
    inputs = RunInputs(store, index.to_dict("records"), vocabulary)
    single = recognizer_recipe(RunSpec.from_params(PARAMS, "one"), inputs)
    start = _trainable(single.model.state_dict(), single.model).clone()
    evaluate = wer_evaluator(single.dev_set, single.vocabulary)
    one = Trainer(single.model, single.train_set, evaluate, single.config, tmp_path / "one").fit()

    ddp_params = json.loads(json.dumps(PARAMS))
    ddp_params["train"]["batch_size"] = 1  # per rank: 2 ranks x 1 = the single process's batch of 2
    ddp_params["ddp"] = {"nproc_per_node": 2}
    two = train_run(RunSpec.from_params(ddp_params, "two", tmp_path), inputs).result  # the one path, via torchrun
    assert (tmp_path / "two" / "ddp" / "result.pt").exists()

    moved_one = _trainable(one.best_state, single.model) - start
    moved_two = _trainable(two.best_state, single.model) - start
    cosine = torch.nn.functional.cosine_similarity(moved_one, moved_two, dim=0)
    assert cosine > 0.999, float(cosine)  # same global batches, gradients averaged over the ranks
    assert abs(moved_two.norm() / moved_one.norm() - 1) < 1e-3
    assert two.best_epoch == 0 and len(two.history) == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_nodes_of_two_gloo_processes_on_loopback_match_one_process(tmp_path: Path) -> None:
    """``nnodes: 2``: the launching machine's torchrun (``train_run``) and the command it logs for the other machine,
    here a second torchrun on the same host, meet at the rendezvous endpoint and train as 4 ranks."""
    store, index, vocabulary = _corpus(tmp_path, train=8)
    inputs = RunInputs(store, index.to_dict("records"), vocabulary)
    params = json.loads(json.dumps(PARAMS))
    params["train"]["batch_size"] = 4
    single = recognizer_recipe(RunSpec.from_params(params, "one"), inputs)
    start = _trainable(single.model.state_dict(), single.model).clone()
    evaluate = wer_evaluator(single.dev_set, single.vocabulary)
    one = Trainer(single.model, single.train_set, evaluate, single.config, tmp_path / "one").fit()

    params["train"]["batch_size"] = 1  # per rank: 2 machines x 2 ranks x 1 = the single process's batch of 4
    params["ddp"] = {"nproc_per_node": 2, "nnodes": 2, "rdzv_endpoint": f"127.0.0.1:{_free_port()}",
                     "rdzv_id": "loopback"}
    spec = RunSpec.from_params(params, "nodes", tmp_path)
    # the other machine starts first and waits at the rendezvous; its ranks read the job once both have joined
    other = subprocess.Popen(torchrun_command(spec.ddp, spec.checkpoint_dir / "ddp" / JOB_FILE), env=torchrun_env())
    try:
        nodes = train_run(spec, inputs).result
        assert other.wait(timeout=300) == 0
    finally:
        other.kill()
    moved_one = _trainable(one.best_state, single.model) - start
    moved_nodes = _trainable(nodes.best_state, single.model) - start
    assert torch.nn.functional.cosine_similarity(moved_one, moved_nodes, dim=0) > 0.999
    assert abs(moved_nodes.norm() / moved_one.norm() - 1) < 1e-3
    assert nodes.best_epoch == 0 and len(nodes.history) == 1


def test_several_machines_need_a_rendezvous_endpoint() -> None:
    with pytest.raises(ValueError, match="nnodes 2 needs rdzv_endpoint"):
        DDPSpec(nproc_per_node=1, nnodes=2)


SIGNKD = {
    "store_size": 32, "crop": 32, "flip": False, "temporal_scale": 0.0, "rules": "none",
    "ddp": {"nproc_per_node": 2, "nnodes": 1}, "streams": ["flow", "keypoints"],
    "train": {"epochs": 1, "batch_size": 1, "lr": 1e-3, "schedule": "constant", "device": "cpu", "seed": 0,
              "optimizer": "adam", "weight_decay": 0.0, "grad_clip": 0.0, "num_workers": 0},
}


def _features(root: Path, store: Path, index: pd.DataFrame) -> FeatureStore:
    """Flow (a 16 px store beside the 32 px RGB one) and keypoints for every video of ``_corpus``."""
    rng = np.random.default_rng(1)
    members: dict[str, list] = {"train": [], "dev": [], "test": []}
    keypoints = {}
    for row in index.itertuples():
        frames = len(np.load(root / f"{row.id}.npy", mmap_mode="r"))
        np.save(root / f"{row.id}_flow.npy", rng.integers(0, 255, (frames, 16, 16, 2), dtype=np.uint8))
        members[row.split].append((row.id, str(root / f"{row.id}_flow.npy")))
        keypoints[row.id] = {"keypoints": (rng.random((frames, 133, 3)) * [32, 32, 1]).astype(np.float32),
                             "frame_size": (32, 32)}
    for split, paths in members.items():
        pack_split(paths, root / "features" / "flow" / "16", split)
    with open(root / "features" / "keypoints.pkl", "wb") as handle:
        pickle.dump(keypoints, handle)
    return FeatureStore(root / "features")


def test_signkd_with_feature_streams_trains_under_two_gloo_processes(tmp_path: Path) -> None:
    """The teacher reads flow and keypoints, the distilled student's frozen teacher does too: both need the
    feature store on every rank (it used to be left out of the job spec)."""
    _, index, vocabulary = _corpus(tmp_path, size=32)
    store = FrameStore(tmp_path / "store")
    features = _features(tmp_path, store.root, index)
    teacher = {**SIGNKD, "kind": "signkd_teacher", "checkpoint_dir": str(tmp_path / "teacher"),
               "model": {"streams": ["rgb", "heatmap", "flow"], "fusion": "mlp", "fusion_stages": [1, 2, 3, 4],
                         "width": 0.125, "spn": True, "self_distillation": True, "heatmap_sigma": 1.0}}
    teacher["train"] = {**SIGNKD["train"], "loss_weights": {"ctc": 1.0, "spn": 0.2, "sd": 1.0}}
    package, history = train_recognizer(store, index, vocabulary, teacher, str(tmp_path), "teacher", features=features)
    assert (tmp_path / "teacher" / "ddp" / "result.pt").exists() and len(history["epochs"]) == 1
    assert {"train_ctc", "train_spn", "train_sd"} <= set(history["epochs"][0])
    student = {**SIGNKD, "kind": "signkd_student", "checkpoint_dir": str(tmp_path / "student"),
               "model": {"width": 0.125}, "distill": {"method": "signkd", "feature_stages": [1, 2, 3, 4],
                                                      "output_loss": True}}
    student["train"] = {**SIGNKD["train"], "loss_weights": {"ctc": 1.0, "kd_feature": 1.0, "kd_output": 1.0}}
    _, history = train_recognizer(store, index, vocabulary, student, str(tmp_path), "student", package, features)
    assert (tmp_path / "student" / "ddp" / "result.pt").exists()
    assert {"train_kd_feature", "train_kd_output"} <= set(history["epochs"][0])

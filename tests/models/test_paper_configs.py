"""The paper-scale environments build their models and take one training step on a tiny clip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from signdistill.config import load_parameters
from signdistill.models.registry import build_recognizer
from signdistill.training.recipes import build_distiller
from signdistill.training.spec import DistillSpec
from signdistill.training.trainer import TrainConfig, make_optimizer, weighted_loss

CONF = Path(__file__).resolve().parents[2] / "conf"
PAPER_ENVS = {"phoenix2014": "phoenix2014", "phoenix2014t": "phoenix2014t", "csl_daily": "csl_daily"}  # env: layout


def _one_distillation_step(distiller: torch.nn.Module, batch: dict, train: dict, terms: set[str]) -> None:
    """One optimiser step with the configured loss weights: the expected terms, a finite loss, a frozen teacher."""
    config = TrainConfig(**train)
    optimizer = make_optimizer(distiller, config)
    losses = distiller(batch)["losses"]
    assert set(losses) == terms
    loss = weighted_loss(losses, config.loss_weights)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert all(p.grad is None for p in distiller.teacher.parameters())


def test_phoenix2014_crkd_builds_and_steps() -> None:
    params = load_parameters("phoenix2014", CONF)
    teacher_params, student_params = params["crkd_teacher"]["recognizer"], params["crkd_distilled"]["recognizer"]
    torch.manual_seed(0)
    teacher = build_recognizer(teacher_params["kind"], 6, teacher_params["model"])
    student = build_recognizer(student_params["kind"], 6, student_params["model"])
    assert teacher.out_channels == student.config.channels == 2048  # ResNet-50 maps, 7x7 at 224 px
    distiller = build_distiller(teacher, student, DistillSpec.from_params(student_params["distill"])).train()
    frames, crop, size = 16, teacher_params["crop"], student_params["resize"]
    batch = {"video_teacher": torch.randint(0, 255, (1, frames, crop, crop, 3), dtype=torch.uint8),
             "video": torch.randint(0, 255, (1, frames, size, size, 3), dtype=torch.uint8),
             "lengths": torch.tensor([frames]), "labels": torch.tensor([1, 2]), "label_lengths": torch.tensor([2])}
    _one_distillation_step(distiller, batch, student_params["train"], {"ctc", "mse", "kld"})


@pytest.mark.parametrize("env", PAPER_ENVS)
def test_paper_env_resolves_the_papers_settings(env: str) -> None:
    """What Kedro loads for ``--env <env>``: base merged with the env, the user sets only the data root."""
    from signdistill.config import loader as config_loader

    loader = config_loader(env, CONF)
    params, catalog = loader["parameters"], loader["catalog"]
    assert catalog["corpus"]["layout"] == PAPER_ENVS[env] and catalog["corpus"]["generate"] is False
    teacher = params["signkd_teacher"]["recognizer"]
    assert (teacher["store_size"], teacher["crop"], teacher["crop_scale"], teacher["temporal_scale"]) == (
        256, 224, [0.7, 1.0], 0.5)
    assert teacher["model"]["heatmap_sigma"] == params["features"]["heatmap_sigma"] == 4.0
    assert params["features"]["flow_size"] * teacher["crop"] // teacher["store_size"] == 112  # flow/heatmaps 112
    assert params["features"]["keypoint_stride"] == 1 and params["features"]["flow_bound"] == 20.0
    train = teacher["train"]
    assert (train["lr"], train["weight_decay"], train["schedule"], train["epochs"]) == (1.0e-3, 1.0e-3, "cosine", 60)
    assert params["evaluation"]["beam_width"] == 5 and "profile_frames" in params["evaluation"]
    assert {256, 128} <= set(params["preprocess"]["resolutions"].values())


@pytest.mark.parametrize("env", PAPER_ENVS)
def test_paper_env_signkd_builds_and_steps(env: str) -> None:
    params = load_parameters(env, CONF)
    teacher_params, student_params = params["signkd_teacher"]["recognizer"], params["signkd_distilled"]["recognizer"]
    assert teacher_params["crop_scale"] == student_params["crop_scale"] == [0.7, 1.0]  # the paper's random crop
    weights = {teacher_params["model"]["weights"], student_params["model"]["weights"]}
    assert weights == {"data/01_raw/weights/s3d-d76dad2f.pth"}  # torchvision's Kinetics-400 S3D, a local file
    with pytest.raises(FileNotFoundError, match="s3d-d76dad2f.pth"):  # not shipped: the message says how to get it
        build_recognizer(teacher_params["kind"], 6, teacher_params["model"])
    torch.manual_seed(0)  # random initialisation stands in for the weights here
    teacher = build_recognizer(teacher_params["kind"], 6, {**teacher_params["model"], "weights": None})
    student = build_recognizer(student_params["kind"], 6, {**student_params["model"], "weights": None})
    distiller = build_distiller(teacher, student, DistillSpec.from_params(student_params["distill"])).train()
    frames, crop = 8, teacher_params["crop"]
    batch = {"video": torch.randint(0, 255, (1, frames, crop, crop, 3), dtype=torch.uint8),
             "flow": torch.randn(1, frames, 2, crop // 2, crop // 2),
             "keypoints": torch.rand(1, frames, 133, 3) * (crop // 2),
             "lengths": torch.tensor([frames]), "labels": torch.tensor([1]), "label_lengths": torch.tensor([1])}
    _one_distillation_step(distiller, batch, student_params["train"], {"ctc", "kd_feature", "kd_output"})


def test_every_signkd_ablation_run_builds_reads_its_streams_and_steps() -> None:
    from signdistill.reporting.papers import report_rows

    params = yaml.safe_load((CONF / "base/parameters_signkd.yml").read_text())
    frames, crop = 8, 32
    batch = {"video": torch.randint(0, 255, (1, frames, crop, crop, 3), dtype=torch.uint8),
             "flow": torch.randn(1, frames, 2, crop // 2, crop // 2),
             "keypoints": torch.rand(1, frames, 133, 3) * (crop // 2),
             "lengths": torch.tensor([frames]), "labels": torch.tensor([1]), "label_lengths": torch.tensor([1])}
    needs = {"heatmap": "keypoints", "flow": "flow"}
    for run in report_rows("signkd_table3"):
        recognizer = params[run]["recognizer"]
        model = build_recognizer(recognizer["kind"], 6, {**recognizer["model"], "width": 0.125})
        assert {needs[s] for s in model.streams if s in needs} == set(recognizer["streams"]), run
        # self-distillation needs two streams to fuse; every row has its SPN
        terms = {"ctc", "spn"} | ({"sd"} if len(recognizer["model"]["streams"]) > 1 else set())
        assert set(model(batch)["losses"]) == terms, run
    teacher_params = params["signkd_teacher"]["recognizer"]
    teacher = build_recognizer("signkd_teacher", 6, {**teacher_params["model"], "width": 0.125})
    for run in report_rows("signkd_table4b"):
        recognizer = params[run]["recognizer"]
        student = build_recognizer(recognizer["kind"], 6, {**recognizer["model"], "width": 0.125})
        model = (build_distiller(teacher, student, DistillSpec.from_params(recognizer["distill"])).train()
                 if "distill" in recognizer else student)
        distill = recognizer.get("distill", {})
        terms = ({"ctc"} | ({"kd_feature"} if distill.get("feature_stages") else set())
                 | ({"kd_output"} if distill and distill.get("output_loss", True) else set()))
        assert terms <= set(recognizer["train"]["loss_weights"]), run  # every term has its weight
        if distill:
            _one_distillation_step(model, batch, recognizer["train"], terms)
        else:
            assert set(model(batch)["losses"]) == terms, run

"""Each method's loss weights, temperatures and schedules, as Kedro loads them (``conf/base`` and every paper
environment), equal the numbers its paper prints (../shared/papers/). Model settings that the configs leave to
the model's defaults are read through the same path a run takes (``recognizer_config``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from signdistill.config import load_parameters
from signdistill.distillation.crkd import CRKDConfig
from signdistill.models.registry import recognizer_config
from signdistill.training.spec import RunSpec

CONF = Path(__file__).resolve().parents[1] / "conf"
PAPER_ENVS = ("phoenix2014", "phoenix2014t", "csl_daily")
ENVS = ("local", *PAPER_ENVS)  # "local" (empty in the repo): conf/base alone


@cache
def parameters(env: str) -> dict:
    return load_parameters(env, CONF)


def recognizer(env: str, run: str) -> dict:
    return parameters(env)[run]["recognizer"]


def spec(env: str, run: str) -> RunSpec:
    """The run as it trains: what its section leaves out at the defaults every run shares (RunSpec, TrainConfig)."""
    return RunSpec.from_params(recognizer(env, run), run)


def runs_of_kind(params: dict, kind: str) -> dict[str, dict]:
    return {run: section["recognizer"] for run, section in params.items()
            if isinstance(section, dict) and section.get("recognizer", {}).get("kind") == kind}


# --------------------------------------------------------------------------- SMKD (Hao et al., ICCV 2021)

@pytest.mark.parametrize("env", ENVS)
def test_smkd_weights_and_temperatures_are_the_papers(env: str) -> None:
    runs = runs_of_kind(parameters(env), "smkd")
    assert {"smkd", "smkd_kd", "smkd_gsba", "smkd_ws"} <= set(runs)
    for run, params in runs.items():
        # eq. 9: CTC_g + alpha CTC_v; eq. 10: CTC_g + alpha CE-LS; eq. 12: CTC_g + CE(Y_g / tau, Y_v / tau); alpha 0.5
        assert params["train"]["loss_weights"] == {"ctc": 1.0, "ctc_visual": 0.5, "seg": 0.5, "kd": 1.0}, run
        model = recognizer_config("smkd", 10, params["model"])
        assert (model.label_smoothing, model.kd_tau, model.radius) == (0.2, 8.0, 1), run  # Sec. 4.1, eq. 12, d
    assert runs["smkd"]["model"]["staged"] and runs["smkd"]["model"]["weight_norm"]


# --------------------------------------------------------------------------- CRKD (cross-resolution KD)

@pytest.mark.parametrize("env", ENVS)
def test_crkd_weights_and_gradient_stopping_are_the_papers(env: str) -> None:
    runs = runs_of_kind(parameters(env), "lrinet")
    assert {"crkd_scratch", "crkd_distilled"} <= set(runs)
    for run, params in runs.items():
        model = recognizer_config("lrinet", 10, params["model"])
        assert model.gradient_stop == 0.75, run  # [14]'s stochastic gradient stopping (its p_detach)
        if "distill" in params:  # alpha = 140 (MSE), beta = 120 (KLD) on PHOENIX, KLD at temperature 1
            weights = params["train"]["loss_weights"]
            assert weights["ctc"] == 1.0 and weights["mse"] == 140.0, run
            assert weights.get("kld", 120.0) == 120.0, run
            assert CRKDConfig(**{k: v for k, v in params["distill"].items() if k != "method"}).temperature == 1.0
    assert recognizer_config("lrinet", 10, runs["crkd_distilled"]["model"]).ctc_levels == 4  # 4-level CTC


@pytest.mark.parametrize("env", PAPER_ENVS)
def test_crkd_paper_envs_train_as_section_iv(env: str) -> None:
    params = parameters(env)
    for run in ("crkd_teacher", "crkd_scratch", "crkd_distilled"):
        run_spec = spec(env, run)
        train = run_spec.train
        assert (train.optimizer, train.lr, train.weight_decay, train.batch_size) == ("adam", 1.0e-4, 1.0e-4, 2), run
        # 85 epochs, "the learning rate decreases by 80% at the 45th and 65th epochs"
        assert (train.epochs, train.schedule, train.milestones, train.gamma) == (85, "multistep", [45, 65], 0.2), run
        assert (run_spec.store_size, run_spec.crop, run_spec.temporal_scale, run_spec.flip) == (
            256, 224, 0.2, True), run
    assert params["crkd_distilled"]["recognizer"]["resize"] == 72  # LRINet at 72 px
    assert spec("local", "crkd_distilled").train.gamma == 0.2  # base: cosine, gamma unused


# --------------------------------------------------------------------------- CTCA (Guo et al., ICCV 2023)

@pytest.mark.parametrize("env", ENVS)
def test_ctca_weights_and_temperature_are_the_papers(env: str) -> None:
    runs = runs_of_kind(parameters(env), "ctca")
    assert {"ctca", "ctca_sdpn", "ctca_d", "ctca_d_no_w"} <= set(runs)
    alpha, alpha1, alpha2, alpha3, beta, gamma = 3.0, 0.2, 1.0, 1.0, 130.0, 1.0  # Sec. 4.4
    for run, params in runs.items():
        # eq. 10 with eq. 7 expanded: alpha (alpha1 L_l2g + alpha2 L_g2l + alpha3 L_rc) + beta L_cmd + gamma L_ctc
        assert params["train"]["loss_weights"] == pytest.approx(
            {"ctc": gamma, "ctc_loc": gamma, "l2g": alpha * alpha1, "g2l": alpha * alpha2, "rc": alpha * alpha3,
             "cmd": beta}), run
        model = recognizer_config("ctca", 10, params["model"])
        assert (model.tau, model.tcn_layers, model.tcn_kernel) == (4.0, 3, 3), run  # eq. 2's tau; K = 3, k3
        assert model.local_aggregation == 0, run  # the BLSTM on the SPM features ("K = 0"), as in Fig. 3
        if env in PAPER_ENVS:
            assert model.frame_stride == 2, run  # "we randomly discard half of video frames"
            assert model.shared_tam == 0, run
        else:  # the embedded deviation conf/base/parameters_ctca.yml documents: a shared TAM, every frame
            assert (model.frame_stride, model.shared_tam) == (1, 256), run


@pytest.mark.parametrize("env", PAPER_ENVS)
def test_best_recipe_runs_are_at_the_environments_scale(env: str) -> None:
    """The seeds pipelines' best-recipe runs train at the paper scale there, never at the embedded one."""
    for best, main in (("crkd_scratch_best", "crkd_scratch"), ("crkd_distilled_best", "crkd_distilled")):
        assert recognizer(env, best) == recognizer(env, main), best  # the paper's schedule is the best known
    for best, main in (("ctca_sdpn_best", "ctca_sdpn"), ("ctca_d_best", "ctca_d"), ("ctca_best", "ctca")):
        assert recognizer(env, best)["model"] == recognizer(env, main)["model"], best
        assert recognizer(env, best)["train"]["epochs"] == 2 * recognizer(env, main)["train"]["epochs"], best


# --------------------------------------------------------------------------- SignKD (paper environments)

@pytest.mark.parametrize("env", ENVS)
def test_signkd_loss_weights_are_the_papers(env: str) -> None:
    # eq. 1: lambda_CTC = 1, lambda_SPN = 0.2, lambda_SD = 1 (Table 4(a)'s best); eq. 5: lambda_F = 0.5,
    # lambda_O = 1, lambda_CTC-VS = 1
    assert recognizer(env, "signkd_teacher")["train"]["loss_weights"] == {"ctc": 1.0, "spn": 0.2, "sd": 1.0}
    assert recognizer(env, "signkd_distilled")["train"]["loss_weights"] == {
        "ctc": 1.0, "kd_feature": 0.5, "kd_output": 1.0}


@pytest.mark.parametrize("env", PAPER_ENVS)
def test_signkd_paper_envs_train_as_section_4_1(env: str) -> None:
    for run in ("signkd_teacher", "signkd_distilled", "signkd_scratch"):
        train = spec(env, run).train
        assert (train.optimizer, train.lr, train.weight_decay, train.schedule, train.epochs) == (
            "adam", 1.0e-3, 1.0e-3, "cosine", 60), run
        assert (train.batch_size, spec(env, run).ddp.nproc_per_node) == (2, 1), run  # one GPU, batches of 2
        assert recognizer(env, run)["temporal_scale"] == 0.5, run  # frame-rate augmentation 0.5-1.5
    # eq. 3's adapters (3x3x3 convolutions), not the embedded default's bottlenecks
    assert recognizer(env, "signkd_distilled")["distill"].get("adapter", "conv3d") == "conv3d"
    assert recognizer("local", "signkd_distilled")["distill"]["adapter"] == "bottleneck"


@pytest.mark.parametrize("env", PAPER_ENVS)
def test_signkd_paper_ablations_run_at_paper_scale(env: str) -> None:
    """Table 3 and 4(b)'s rows (``ablations_signkd``) vary the paper-scale teacher and student, not the embedded
    ones: every ``skd_*`` run trains as its main run does, full-width S3D on 224 crops for 60 epochs."""
    params = parameters(env)
    rows = [run for run in params if run.startswith("skd_")]
    assert len(rows) == 14
    for run in rows:
        main = "signkd_distilled" if "distill" in params[run]["recognizer"] else "signkd_teacher"
        row, reference = spec(env, run), spec(env, main)
        assert (row.crop, row.train, row.model["width"]) == (reference.crop, reference.train, 1.0), run
        assert row.model["weights"] == reference.model["weights"], run

"""Seed summaries and the distillation verdict of the method benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signdistill.benchmarks.method_seeds import apply_overrides, distillation_gains, spread_summary


def _run(name: str, seed: int, test: float) -> dict:
    return {"run": name, "seed": seed, "train_s": 1.0, "dev_wer": test + 1, "test_wer": test, "test_del": 1.0,
            "test_ins": 0.0}


def test_gain_is_judged_by_the_welch_test() -> None:
    runs = [_run("x_scratch", s, w) for s, w in enumerate((50.0, 52.0, 51.0))]
    runs += [_run("x_distilled", s, w) for s, w in enumerate((45.0, 48.0, 46.5))]
    table = spread_summary(runs)
    assert table["x_scratch"]["test_wer"]["mean"] == pytest.approx(51.0)
    assert table["x_distilled"]["test_wer"]["spread"] == pytest.approx(3.0)
    gains = distillation_gains(table)
    assert gains["x_distilled"]["gain"] == pytest.approx(4.5)
    assert gains["x_distilled"]["verdict"] == "beats" and gains["x_distilled"]["welch_p"] < 0.05
    close = spread_summary(runs[:3] + [_run("x_distilled", s, w) for s, w in enumerate((47.0, 51.0, 49.0))])
    assert close["x_distilled"]["test_wer"]["mean"] < close["x_scratch"]["test_wer"]["mean"]
    assert distillation_gains(close)["x_distilled"]["verdict"] == "does not beat"  # p > 0.05


def test_every_run_is_compared_with_a_reference() -> None:
    runs = [_run("baseline", s, w) for s, w in enumerate((34.0, 36.0, 35.0))]
    runs += [_run("smkd", s, w) for s, w in enumerate((30.0, 31.0, 30.5))]
    runs += [_run("ctca", s, w) for s, w in enumerate((36.0, 37.0, 38.0))]
    gains = distillation_gains(spread_summary(runs), reference="baseline")
    assert set(gains) == {"smkd", "ctca"} and gains["smkd"]["against"] == "baseline"
    assert gains["smkd"]["gain"] == pytest.approx(4.5) and gains["smkd"]["beats"]
    assert gains["ctca"]["gain"] == pytest.approx(-2.0) and not gains["ctca"]["beats"]


def test_overrides_parse_numbers_and_reject_unknown_keys() -> None:
    params = {"train": {"lr": 0.001, "epochs": 8}}
    out = apply_overrides(params, ["train.lr=2e-3", "train.epochs=3"])
    assert out == {"train": {"lr": 0.002, "epochs": 3}} and params["train"]["lr"] == 0.001
    with pytest.raises(KeyError, match="no parameter 'train.lrr'"):
        apply_overrides(params, ["train.lrr=1"])


def test_step_times_build_each_run_as_its_recipe_does() -> None:
    """The step-time benchmark's batches carry what each run reads, and one real step runs for each kind."""
    from pathlib import Path

    from signdistill.benchmarks.method_seeds import run_params
    from signdistill.benchmarks.step_times import step_seconds, synthetic_batch
    from signdistill.config import load_parameters
    from signdistill.data.vocabulary import Vocabulary

    conf = Path(__file__).resolve().parents[2] / "conf/base"
    vocab = Vocabulary(("A", "B", "C", "D", "E", "F", "G"))
    crkd = synthetic_batch(run_params(conf / "parameters_crkd.yml", "crkd_distilled"), 2, 12, vocab, teacher_view=True)
    assert crkd["video"].shape[2:4] == (40, 40) and crkd["video_teacher"].shape[2:4] == (112, 112)
    signkd = synthetic_batch(run_params(conf / "parameters_signkd.yml", "signkd_distilled"), 2, 12, vocab,
                             teacher_view=True)
    assert signkd["flow"].shape == (2, 12, 2, 28, 28) and signkd["keypoints"].shape == (2, 12, 133, 3)
    assert set(synthetic_batch(run_params(conf / "parameters_baseline.yml", "student_res"), 2, 12, vocab, False)) == {
        "video", "lengths", "labels", "label_lengths", "ids"}
    config = load_parameters("base", conf.parent)  # the whole environment, as the benchmark reads it
    assert run_params(config, "crkd_distilled") == run_params(conf / "parameters_crkd.yml", "crkd_distilled")
    for method, run, teacher in (("baseline", "student_res", None), ("crkd", "crkd_distilled", "crkd_teacher")):
        row = step_seconds(config, method, run, teacher, vocab, frames=40, device="cpu", repeats=1)
        assert row["step_s"] > 0 and row["batch"] == 2 and row["run"] == run


def test_pipeline_checkpoints_only_for_the_run_the_pipeline_trains() -> None:
    """Only the exact run a pipeline resumes (its seed, no overrides) checkpoints where the pipeline does; other
    seeds go elsewhere (None: the seeds folder), overrides are refused."""
    from pathlib import Path

    from signdistill.benchmarks.method_seeds import pipeline_checkpoints

    params = Path(__file__).resolve().parents[2] / "conf/base/parameters_smkd.yml"
    assert pipeline_checkpoints(params, "smkd_ws", 0, "") == Path("data/06_models/checkpoints/smkd_ws")
    assert pipeline_checkpoints(params, "smkd_ws", 1, "") is None
    with pytest.raises(SystemExit, match="--set or --epochs"):
        pipeline_checkpoints(params, "smkd_ws", 0, "_e8")


def test_a_teacher_is_read_from_the_model_package_the_pipelines_write(tmp_path: Path) -> None:
    """``--teacher data/06_models/<run>.safetensors`` (what ``kedro run`` leaves) and a torch-saved package."""
    from signdistill.benchmarks.method_seeds import job_inputs
    from signdistill.models.registry import build_recognizer, package_model, write_package
    from signdistill.paths import DataPaths
    from signdistill.training.checkpoint import save_atomic

    data = DataPaths(tmp_path / "data")
    data.corpus_index.parent.mkdir(parents=True)
    data.corpus_index.write_text("id,split,signer,annotation\nv1,train,s1,A B\n")
    data.vocabulary.parent.mkdir(parents=True)
    data.vocabulary.write_text(json.dumps({"glosses": ["A", "B"]}))
    model = build_recognizer("baseline", 3, {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1})
    package = package_model("baseline", model, model.state_dict(), {"glosses": ["A", "B"]},
                            {"store_size": 40, "crop": 36})
    write_package(package, tmp_path / "teacher.safetensors")
    save_atomic(package, tmp_path / "teacher.pt")
    for name in ("teacher.safetensors", "teacher.pt"):
        teacher = job_inputs({"data": str(data.root), "params": {}, "teacher": str(tmp_path / name)})[-1]
        assert teacher["kind"] == "baseline" and teacher["state_dict"].keys() == model.state_dict().keys()

"""The Kedro project end to end on the tiny SynthSign preset, in a scratch copy of the project."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from signdistill.data.features import FeatureStore
from signdistill.data.store import FrameStore

REPO = Path(__file__).resolve().parents[2]
TINY = {"preset": "tiny", "seed": 0, "overrides": {"videos": {"train": 6, "dev": 2, "test": 2}}}


@pytest.fixture(autouse=True)
def _one_mlflow_run_per_session():
    """Each test is one ``kedro run``: nothing of an earlier Kedro session's MLflow run may leak into the next one
    (a user's Kedro sessions are separate processes; here they share one)."""
    yield
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    os.environ.pop("MLFLOW_RUN_ID", None)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    # the project's own sqlite store by absolute path: MLflow caches stores by URI within a process, so a relative
    # "sqlite:///mlflow.db" opened by an earlier test's project would be reused here (a user's runs are processes)
    mlflow_yml = (REPO / "conf/base/mlflow.yml").read_text().replace("sqlite:///mlflow.db", f"sqlite:///{root}/mlflow.db")
    (root / "conf/local/mlflow.yml").write_text(mlflow_yml)
    (root / "src").mkdir()  # the package itself is imported from the installed project
    return root


# SignKD at a size a tiny test trains in seconds: 1 epoch, S3D at an eighth of its width
SMALL_SIGNKD = {run: {"recognizer": {"train": {"epochs": 1}, "model": {"width": 0.125}}}
                for run in ("signkd_teacher", "signkd_scratch", "signkd_distilled")}


def _run(project: Path, pipeline: str, monkeypatch) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    params = {"synth": TINY, "evaluation": {"profile_frames": 16, "latency_repeats": 1}, **SMALL_SIGNKD}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=[pipeline])


def test_distill_signkd_chain_builds_corpus_and_store(project: Path, monkeypatch) -> None:
    _run(project, "distill_signkd", monkeypatch)
    data = project / "data"
    assert (data / "01_raw/synthsign/manifest.json").exists()
    report = json.loads((data / "08_reporting/preprocess_report.json").read_text())
    assert report["layout"] == "phoenix2014"
    assert report["samples"] == {"train": 6, "dev": 2, "test": 2}
    assert report["num_classes"] == report["vocabulary_size"] + 1
    vocabulary = json.loads((data / "03_primary/vocabulary.json").read_text())
    assert vocabulary["glosses"] == sorted(vocabulary["glosses"])
    store = FrameStore(data / "03_primary/frame_store")
    assert store.sizes() == [32, 40, 64, 128]
    train = store.split(128, "train")
    assert len(train) == 6 and train[train.ids()[0]].shape[1:] == (128, 128, 3)
    assert (data / "08_reporting/corpus_signers.png").stat().st_size > 10_000
    assert (project / "mlflow.db").exists()  # kedro-mlflow tracked the run in its sqlite store
    features = FeatureStore(data / "04_feature/features")
    flow = features.flow("train")
    assert sorted(flow.ids()) == sorted(train.ids())
    first = flow.ids()[0]
    assert flow[first].shape == (len(train[first]), 32, 32, 2)
    keypoints = features.keypoints()
    assert keypoints[first]["keypoints"].shape == (len(train[first]), 133, 3)
    feature_report = json.loads((data / "08_reporting/features_report.json").read_text())
    assert feature_report["flow_videos"] == 10 and feature_report["mean_person_fraction"] > 0.9
    for preview in ("flow_preview.png", "heatmap_preview.png"):
        assert (data / "08_reporting" / preview).stat().st_size > 10_000
    report = pd.read_csv(data / "08_reporting/signkd_report.csv")
    assert report.run.tolist() == ["signkd_teacher", "signkd_scratch", "signkd_distilled"]
    assert report.test_wer.between(0, 400).all()
    params = report.set_index("run").params_m
    assert params.signkd_teacher > params.signkd_scratch == params.signkd_distilled  # one network
    latency = json.loads((data / "08_reporting/signkd_latency.json").read_text())  # video in, glosses out
    assert {"flow", "keypoints"} <= set(latency["seconds"]["signkd_teacher"]) and latency["ratio"] > 1
    assert report.e2e_latency_s[0] == pytest.approx(latency["seconds"]["signkd_teacher"]["total"])
    # only the teacher and the distilled student are timed end to end
    assert report.e2e_latency_s[1:].isna().tolist() == [True, False]
    distilled = json.loads((data / "08_reporting/signkd_distilled_history.json").read_text())["epochs"][0]
    assert distilled["train_kd_feature"] > 0 and distilled["train_kd_output"] > 0  # the teacher was used
    views = sorted(p.name for p in (data / "05_model_input/teacher_targets").rglob("view*.pt"))
    assert views == [f"view{v}.pt" for v in range(4)]  # the distilled student read the teacher's cached targets
    teacher = json.loads((data / "08_reporting/signkd_teacher_history.json").read_text())["epochs"][0]
    assert {"train_ctc", "train_spn", "train_sd"} <= set(teacher)
    (times,) = _run_times(data)  # where the run's wall time went, one version a run
    assert times["pipeline"] == "distill_signkd" and times["status"] == "finished"
    nodes = {n["node"]: n for n in times["nodes"]}
    assert {"generate_synthsign", "extract_features", "signkd_teacher.train", "signkd_report"} <= set(nodes)
    assert nodes["signkd_teacher.train"]["start_s"] > nodes["extract_features"]["start_s"]
    synth = nodes["generate_synthsign"]  # the corpus is generated as its dataset is saved: in the node's span
    assert synth["seconds"] > synth["run_s"] and synth["run_start_s"] >= synth["start_s"]
    assert sum(n["seconds"] for n in times["nodes"]) <= times["wall_s"]  # one process: nodes never overlap
    assert len(list((data / "08_reporting/run_times/distill_signkd.png").glob("*/distill_signkd.png"))) == 1


def _run_times(data: Path) -> list[dict]:
    """Every run's record of its times (``<pipeline>_run_times``), oldest first."""
    files = sorted((data / "08_reporting/run_times/distill_signkd.json").glob("*/distill_signkd.json"))
    return [json.loads(f.read_text()) for f in files]


def test_rerun_skips_finished_work(project: Path, monkeypatch) -> None:
    data = project / "data"
    frame = next((data / "01_raw/synthsign/features").rglob("images0001.jpg"))
    cache = next((data / "02_intermediate/frame_cache").rglob("*.npy"))
    packed = data / "03_primary/frame_store/128/train.frames"
    flow = next((data / "02_intermediate/feature_cache/flow").rglob("*.npy"))
    keypoints = next((data / "02_intermediate/feature_cache/keypoints").rglob("*.npz"))
    files = (frame, cache, packed, flow, keypoints)
    stamps = [p.stat().st_mtime_ns for p in files]
    _run(project, "distill_signkd", monkeypatch)
    assert [p.stat().st_mtime_ns for p in files] == stamps
    first, rerun = _run_times(data)
    assert [n["node"] for n in rerun["nodes"]] == [n["node"] for n in first["nodes"]]



def test_step_times_split_a_real_epoch_of_both_paths(project: Path, tmp_path: Path) -> None:
    """`signdistill bench step-times --epoch --compare` on the corpus the chain above prepared: one epoch of each
    path, split into where it goes: the reference recipe in batches of 2, the configured one in its own."""
    from signdistill.benchmarks.step_times import main

    rows = main(conf=project / "conf", data=project / "data", runs=["signkd_scratch"], frames=40, repeats=1,
                compare=True, epoch=True, gemm=256, device="cpu", out=tmp_path / "steps.json")
    epochs = rows[0]["epoch"]
    assert set(epochs) == {"reference", "new"}
    assert epochs["reference"]["steps"] == epochs["new"]["steps"] == 3  # 6 clips in batches of 2
    for parts in epochs.values():
        assert parts["train_videos"] == 6 and parts["total_s"] > parts["step_s"] > 0
        assert min(parts["data_wait_s"], parts["eval_s"], parts["checkpoint_s"]) > 0


SMALL_BASELINE = {"recognizer": {"train": {"epochs": 1, "batch_size": 2},
                               "model": {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}}}


def test_baseline_trains_and_is_evaluated(project: Path, monkeypatch) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    params = {"synth": TINY, "teacher_res": SMALL_BASELINE, "evaluation": {"profile_frames": 16}}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["baseline", "evaluation"], namespaces=["teacher_res"])
    data = project / "data"
    history = json.loads((data / "08_reporting/teacher_res_history.json").read_text())
    assert len(history["epochs"]) == 1 and history["epochs"][0]["train_ctc"] > 0
    table = (data / "08_reporting/teacher_res_wer.csv").read_text().splitlines()
    assert table[0].startswith("split,signer,wer") and any(line.startswith("test,all,") for line in table)
    hypotheses = (data / "07_model_output/teacher_res_hypotheses.txt").read_text().splitlines()
    assert len(hypotheses) == 4  # 2 dev + 2 test videos, one line each
    efficiency = (data / "08_reporting/teacher_res_efficiency.csv").read_text()
    assert "baseline@112px" in efficiency
    assert (data / "08_reporting/teacher_res_training_curves.png").stat().st_size > 5_000


CRKD_RUNS = ("crkd_teacher", "crkd_scratch", "crkd_distilled", "crkd_ctc", "crkd_mse", "crkd_r32", "crkd_r48",
             "crkd_r56", "crkd_method1", "crkd_ctc_distilled", "crkd_distilled_best")


def _small_crkd(run: str) -> dict:
    model = ({"width": 4, "hidden": 16, "transformer_layers": 1, "heads": 2} if run in ("crkd_teacher", "crkd_method1")
             else {"channels": 32, "width": 4})
    return {"recognizer": {"train": {"epochs": 1, "batch_size": 2}, "model": model}}


def test_ablations_crkd_write_tables_vii_viii_and_fig1(project: Path, monkeypatch) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    params = {"synth": TINY, "evaluation": {"profile_frames": 16}, **{run: _small_crkd(run) for run in CRKD_RUNS}}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["ablations_crkd"])
    reporting = project / "data/08_reporting"
    table7 = pd.read_csv(reporting / "crkd_table7_report.csv")
    assert table7.row.tolist() == ["CTC", "multi-level CTC", "+ MSE", "+ KLD", "CTC + MSE + KLD"]
    table8 = pd.read_csv(reporting / "crkd_table8_report.csv")
    assert table8.model.tolist() == ["lrinet@32px", "lrinet@40px", "lrinet@48px", "lrinet@56px"]
    assert table8.gmacs.is_monotonic_increasing and table8.paper_gmacs.notna().all()
    assert (reporting / "crkd_table8_report.png").stat().st_size > 5_000
    fig1 = pd.read_csv(reporting / "crkd_fig1_report.csv")  # method 1 runs the teacher's network on 40 px frames
    assert fig1.model.tolist()[1].startswith("mstnet_method1") and fig1.test_wer.between(0, 400).all()


def test_distill_crkd_reports_teacher_scratch_and_distilled(project: Path, monkeypatch) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    params = {"synth": TINY, "evaluation": {"profile_frames": 16},
              **{run: _small_crkd(run) for run in CRKD_RUNS}}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["distill_crkd"])
    data = project / "data"
    report = pd.read_csv(data / "08_reporting/crkd_report.csv")
    assert report.run.tolist() == ["crkd_teacher", "crkd_scratch", "crkd_distilled"]
    assert report.model.tolist() == ["mstnet@112px", "lrinet@40px", "lrinet@40px"]
    assert report.test_wer.between(0, 400).all() and (report.params_m > 0).all()
    assert report.gmacs[1] == report.gmacs[2] < report.gmacs[0]  # the student is the same network either way
    distilled = json.loads((data / "08_reporting/crkd_distilled_history.json").read_text())["epochs"][0]
    assert distilled["train_mse"] > 0 and distilled["train_kld"] > 0  # the teacher was used
    scratch = json.loads((data / "08_reporting/crkd_scratch_history.json").read_text())["epochs"][0]
    assert "train_mse" not in scratch
    assert (data / "08_reporting/crkd_report.png").stat().st_size > 5_000


@pytest.mark.parametrize(("method", "model"), [
    ("smkd", {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}),
    ("ctca", {"width": 4, "tcn_channels": 16, "lstm_hidden": 8, "lstm_layers": 1}),
])
def test_single_network_methods_are_compared_with_the_baseline(project: Path, monkeypatch, method: str,
                                                                model: dict) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    params = {"synth": TINY, "student_res": SMALL_BASELINE, "evaluation": {"profile_frames": 16},
              method: {"recognizer": {"train": {"epochs": 2, "batch_size": 2}, "model": model}}}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=[method])
    data = project / "data"
    report = pd.read_csv(data / f"08_reporting/{method}_report.csv")
    assert report.run.tolist() == ["student_res", method]
    assert report.test_wer.between(0, 400).all() and report.paper_wer.notna().all()
    history = json.loads((data / f"08_reporting/{method}_history.json").read_text())["epochs"]
    if method == "ctca":
        assert all("train_l2g" in epoch for epoch in history)  # the method's own losses were trained
    if method == "smkd":  # two epochs: synchronous stage, then the decoupled stage at a small rate
        assert history[1]["lr"] < history[0]["lr"]
        # eq. 9 (visual CTC) while synchronous; eq. 10's CE-LS on GSBA labels replaces it once segmentation runs
        assert "train_ctc_visual" in history[0] and "train_seg" in history[1]
        from signdistill.benchmarks.gsba_accuracy import gsba_by_radius
        from signdistill.models.registry import read_package
        from signdistill.training.recipes import read_index

        package = read_package(data / "06_models/smkd.safetensors")
        by_d = gsba_by_radius(package, FrameStore(data / "03_primary/frame_store"),
                              read_index(data / "02_intermediate/corpus_index.csv"), data / "01_raw/synthsign")
        coverage = [by_d[d]["coverage"] for d in range(5)]
        assert by_d[0]["sign_frames"] > 0 and coverage == sorted(coverage)  # a wider radius labels more frames
        assert all(0 <= by_d[d]["frame_accuracy"] <= 1 for d in by_d)


# ablations_smkd: the README's quick-mode command, run as typed by tests/test_readme_commands.py
@pytest.mark.parametrize(("pipeline_name", "tables"), [
    ("ablations_ctca", {"ctca_table5": 10}),
])
def test_single_network_ablations_write_their_tables(project: Path, monkeypatch, pipeline_name: str,
                                                      tables: dict) -> None:
    from signdistill.reporting.papers import report_rows

    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    runs = {run for table in tables for run in report_rows(table)} - {"student_res"}
    models = {"smkd": {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1},
              "ctca": {"width": 4, "tcn_channels": 16, "lstm_hidden": 8, "lstm_layers": 1}}
    params = {"synth": TINY, "student_res": SMALL_BASELINE, "evaluation": {"profile_frames": 16},
              **{run: {"recognizer": {"train": {"epochs": 1, "batch_size": 2}, "model": models[run.split("_")[0]]}}
                 for run in runs}}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=[pipeline_name])
    for table, rows in tables.items():
        report = pd.read_csv(project / f"data/08_reporting/{table}_report.csv")
        assert len(report) == rows and report.test_wer.between(0, 400).all() and report.paper_wer.notna().all()


def test_bad_videos_are_reported_and_excluded(project: Path, monkeypatch) -> None:
    raw = project / "data/01_raw/synthsign"
    csv = raw / "annotations/manual/train.corpus.csv"
    rows = csv.read_text().splitlines()
    broken_id, short_id = rows[1].split("|")[0], rows[2].split("|")[0]
    frames = raw / "features/fullFrame-210x260px/train"
    # a corrupt frame, a video cut to 3 frames, a row without annotation and a malformed row
    (frames / broken_id / "1" / "images0002.jpg").write_bytes(b"not a jpeg")
    for extra in sorted((frames / short_id / "1").iterdir())[3:]:
        extra.unlink()
    rows.append("Signer01_99999|Signer01_99999/1/*.png|Signer01|")
    rows.append("only|two")
    csv.write_text("\n".join(rows) + "\n")
    monkeypatch.chdir(project)
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params={"synth": TINY}) as session:
        session.run(pipeline_names=["preprocess"])
    report = json.loads((project / "data/08_reporting/preprocess_report.json").read_text())
    reasons = {p["id"]: p["reason"] for p in report["problems"]}
    assert "images0002.jpg" in reasons[broken_id]
    assert "too short" in reasons[short_id]
    assert reasons["Signer01_99999"] == "empty annotation"
    assert "malformed row" in reasons["only"]
    assert report["samples"]["train"] == 4
    assert broken_id not in FrameStore(project / "data/03_primary/frame_store").split(128, "train")


SMALL_SMKD = {"recognizer": {"train": {"epochs": 1, "batch_size": 2},
                             "model": {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}}}


def test_seeds_pipeline_trains_each_seed_and_judges_the_method(project: Path, monkeypatch) -> None:
    """``seeds_smkd`` at two seeds: one namespace, model and MLflow child run per seed and run, and the verdict."""
    (project / "conf/local/parameters.yml").write_text("seeds: [0, 1]\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    params = {"synth": TINY, "student_res": SMALL_BASELINE, "student_res_best": SMALL_BASELINE, "smkd": SMALL_SMKD,
              "smkd_best": SMALL_SMKD,
              "evaluation": {"profile_frames": 16, "latency_repeats": 1}}
    try:
        with KedroSession.create(project_path=project, runtime_params=params) as session:
            session.run(pipeline_names=["seeds_smkd"])
    finally:
        (project / "conf/local/parameters.yml").unlink()
    data = project / "data"
    for run in ("smkd", "smkd_best", "student_res", "student_res_best"):
        for seed in (0, 1):
            assert (data / f"06_models/{run}_seed{seed}.safetensors").exists()
            history = json.loads((data / f"08_reporting/{run}_seed{seed}_history.json").read_text())
            assert len(history["epochs"]) == 1
    table = pd.read_csv(data / "08_reporting/smkd_seeds.csv")
    assert table.row.tolist() == ["seed 0", "seed 1", "mean", "std", "verdict (test WER)"] * 3
    assert table.comparison.unique().tolist() == ["smkd vs student_res", "smkd vs student_res_best",
                                                  "smkd_best vs student_res_best"]
    assert table.iloc[-1].verdict in ("beats", "does not beat") and 0 <= table.iloc[-1].welch_p <= 1
    assert (data / "08_reporting/smkd_seeds.png").stat().st_size > 10_000
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("signdistill")
    children = client.search_runs([experiment.experiment_id], "tags.run = 'smkd'")
    seeds = sorted(r.data.tags["seed"] for r in children if r.info.run_name.startswith("smkd_seed"))
    assert seeds == ["0", "1"]
    assert all(r.data.tags["method"] == "SMKD" and "mlflow.parentRunId" in r.data.tags for r in children)
    # every seed trains before any is evaluated: a run lasts as long as its own nodes ran, not until the end
    parent = client.get_run(children[0].data.tags["mlflow.parentRunId"]).info
    first = min(children, key=lambda r: r.info.start_time).info
    others = sum(r.info.end_time - r.info.start_time for r in children if r.info.run_id != first.run_id)
    assert first.start_time < first.end_time <= parent.end_time - others

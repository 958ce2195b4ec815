"""One MLflow run per trained recogniser, checked through the REST API of a real ``mlflow server``.

The server runs on a free loopback port with a sqlite store; ``ablations_smkd`` runs on the tiny SynthSign
preset (it builds the corpus itself), then one row is trained again with more epochs, interrupted by a real
SIGINT after its first epoch and resumed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from signdistill.pipelines.ablations_smkd.pipeline import TABLES
from signdistill.reporting.papers import report_rows

REPO = Path(__file__).resolve().parents[2]
TINY = {"preset": "tiny", "seed": 0, "overrides": {"videos": {"train": 6, "dev": 2, "test": 2}}}
SMALL = {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}
RUNS = sorted({run for table in TABLES for run in report_rows(table)})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
         "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], stdout=open(root / "server.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    deadline = time.monotonic() + 600  # a loaded 2-core machine needs minutes to import the server
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            break
        except OSError:
            assert process.poll() is None, (root / "server.log").read_text()
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"mlflow server did not answer: {(root / 'server.log').read_text()[-2000:]}")
    yield url
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def project(tmp_path_factory, server: str) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    mlflow_yml = (REPO / "conf/base/mlflow.yml").read_text().replace("sqlite:///mlflow.db", server)
    (root / "conf/local/mlflow.yml").write_text(mlflow_yml)
    (root / "src").mkdir()
    return root


@pytest.fixture(autouse=True)
def _one_mlflow_run_per_session():
    yield
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    os.environ.pop("MLFLOW_RUN_ID", None)


def _api(server: str, endpoint: str, body: dict | None = None, **query) -> dict:
    url = f"{server}/api/2.0/mlflow/{endpoint}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _runs(server: str, filter_string: str = "") -> list[dict]:
    experiment = _api(server, "experiments/get-by-name", experiment_name="signdistill")["experiment"]
    found = _api(server, "runs/search", {"experiment_ids": [experiment["experiment_id"]], "filter": filter_string,
                                         "max_results": 1000})
    return found.get("runs", [])


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def _steps(server: str, run_id: str, key: str) -> list[int]:
    history = _api(server, "metrics/get-history", run_id=run_id, metric_key=key).get("metrics", [])
    return sorted(int(m.get("step", 0)) for m in history)  # the REST API does not promise an order


def _artifacts(server: str, run_id: str, path: str = "") -> set[str]:
    listing = _api(server, "artifacts/list", run_id=run_id, **({"path": path} if path else {}))
    return {f["path"] for f in listing.get("files", [])}


def _params(runs: dict) -> dict:
    return {"synth": TINY, "evaluation": {"profile_frames": 16, "latency_repeats": 1}, **runs}


def _session(project: Path, monkeypatch, params: dict, **run) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["ablations_smkd"], **run)


def _recognizer(epochs: int) -> dict:
    return {"recognizer": {"train": {"epochs": epochs, "batch_size": 2}, "model": SMALL}}


def test_every_ablation_row_is_a_child_run(server: str, project: Path, monkeypatch) -> None:
    two_epochs = {"smkd_ws", "smkd_ws_nown"}  # enough to see the curves' steps rise
    _session(project, monkeypatch, _params({run: _recognizer(2 if run in two_epochs else 1) for run in RUNS}))
    parent = _runs(server, "attributes.run_name = 'ablations_smkd'")
    assert len(parent) == 1 and parent[0]["info"]["status"] == "FINISHED"
    parent_id = parent[0]["info"]["run_id"]
    children = {r["info"]["run_name"]: r for r in _runs(server, f"tags.mlflow.parentRunId = '{parent_id}'")}
    print("child runs:", len(children), sorted(children))
    assert sorted(children) == RUNS
    ws = children["smkd_ws"]
    tags = _tags(ws)
    assert tags["method"] == "SMKD" and tags["row.smkd_table1"] == "+ WS + WN" and tags["row.smkd_table4"] == "sync"
    assert "smkd_table3" in tags["paper_table"]
    params = {p["key"]: p["value"] for p in ws["data"]["params"]}
    assert params["model.width"] == "4" and params["train.epochs"] == "2" and params["evaluation.decoder"]
    metrics = {m["key"]: m["value"] for m in ws["data"]["metrics"]}
    assert {"test_wer", "test_del", "test_ins", "final_dev_wer_beam10", "params_m", "gmacs", "latency_s"} <= set(
        metrics)  # the final dev WER names its decoder, as the per-epoch one does
    assert not {"dev_wer", "final_dev_wer"} & set(metrics)
    assert metrics["gmacs"] > 0 and 0 <= metrics["test_wer"] <= 400
    for key in ("train_loss", "dev_wer_greedy"):
        assert _steps(server, ws["info"]["run_id"], key) == [1, 2]
    assert _steps(server, children["smkd_kd"]["info"]["run_id"], "train_kd") == [1]  # each row its own curve
    assert {"training_curves.png", "wer.csv", "hypotheses.txt", "efficiency.csv"} <= _artifacts(
        server, ws["info"]["run_id"])
    ws_run = _api(server, "runs/get", run_id=ws["info"]["run_id"])["run"]
    assert ws_run["outputs"]["model_outputs"]  # the pyfunc model (tests/pipelines/test_mlflow_model.py serves one)
    assert all(r["info"]["status"] == "FINISHED" for r in children.values())
    reports = _artifacts(server, parent_id, "reports")
    assert {f"reports/{table}_report.{ext}" for table in TABLES for ext in ("csv", "png")} <= reports
    assert "run_times.json" in _artifacts(server, parent_id)  # where the run's wall time went
    parent_tags = _tags(parent[0])
    assert parent_tags["runner"] == "SequentialRunner" and "object at" not in json.dumps(parent_tags)
    assert parent_tags["kedro_command"].startswith("kedro run --pipelines ablations_smkd")
    assert "--params" in parent_tags["kedro_command"]
    experiment = _api(server, "experiments/get-by-name", experiment_name="signdistill")["experiment"]
    assert {"key": "mlflow.experimentKind", "value": "custom_model_development"} in experiment["tags"]

    # a rerun that trains nothing leaves the children where they are: same parent, same end time. A user's
    # rerun is a new process; here the first kedro run's MLflow run must not carry over into the second
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    os.environ.pop("MLFLOW_RUN_ID", None)
    _session(project, monkeypatch, _params({run: _recognizer(2 if run in two_epochs else 1) for run in RUNS}),
             namespaces=["smkd_ws"])
    again = _api(server, "runs/get", run_id=ws["info"]["run_id"])["run"]
    assert _tags(again)["mlflow.parentRunId"] == parent_id
    assert again["info"]["end_time"] == ws["info"]["end_time"] and again["info"]["status"] == "FINISHED"
    rerun = next(r for r in _runs(server, "attributes.run_name = 'ablations_smkd'") if r["info"]["run_id"] != parent_id)
    assert not _runs(server, f"tags.mlflow.parentRunId = '{rerun['info']['run_id']}'")
    used = _api(server, "artifacts/list", run_id=rerun["info"]["run_id"])["files"]
    assert "recognizer_runs.json" in {f["path"] for f in used}


def _signal_after_first_epoch(server: str, run: str, signum: int) -> threading.Thread:
    """A watcher that sends ``signum`` to this process once ``run``'s MLflow run has logged its first epoch."""
    def watch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            running = _runs(server, f"attributes.run_name = '{run}' and attributes.status = 'RUNNING'")
            if running and _steps(server, running[0]["info"]["run_id"], "dev_wer_greedy"):
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_interrupted_run_is_killed_and_resumes_its_mlflow_run(server: str, project: Path, monkeypatch) -> None:
    params = _params({"smkd_base": _recognizer(3)})

    watcher = _signal_after_first_epoch(server, "smkd_base", signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        _session(project, monkeypatch, params, namespaces=["smkd_base"])
    watcher.join()
    killed = _runs(server, "attributes.run_name = 'smkd_base' and attributes.status = 'KILLED'")
    assert len(killed) == 1
    parent_id = _tags(killed[0])["mlflow.parentRunId"]
    assert _api(server, "runs/get", run_id=parent_id)["run"]["info"]["status"] == "KILLED"
    interrupted_steps = _steps(server, killed[0]["info"]["run_id"], "dev_wer_greedy")
    assert interrupted_steps and interrupted_steps[-1] < 3

    _session(project, monkeypatch, params, namespaces=["smkd_base"])
    resumed = _runs(server, "attributes.run_name = 'smkd_base'")
    assert len(resumed) == 2  # the 1-epoch row of the first test, and this one continued, not a third
    continued = next(r for r in resumed if r["info"]["run_id"] == killed[0]["info"]["run_id"])
    assert continued["info"]["status"] == "FINISHED"
    assert _steps(server, continued["info"]["run_id"], "dev_wer_greedy") == [1, 2, 3]
    assert _tags(continued)["mlflow.parentRunId"] == parent_id  # it stays under its first kedro run


def test_terminated_run_ends_its_mlflow_runs_killed(server: str, project: Path, monkeypatch) -> None:
    """SIGTERM (a scheduler stopping the job) ends the run's MLflow runs KILLED, like Ctrl-C, and exits 143."""
    params = _params({"smkd_kd": _recognizer(3)})

    watcher = _signal_after_first_epoch(server, "smkd_kd", signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_info:
        _session(project, monkeypatch, params, namespaces=["smkd_kd"])
    watcher.join()
    assert exit_info.value.code == 128 + signal.SIGTERM
    killed = _runs(server, "attributes.run_name = 'smkd_kd' and attributes.status = 'KILLED'")
    assert len(killed) == 1
    parent_id = _tags(killed[0])["mlflow.parentRunId"]
    assert _api(server, "runs/get", run_id=parent_id)["run"]["info"]["status"] == "KILLED"


def test_compare_methods_notebook_reads_the_store(server: str, monkeypatch) -> None:
    """``notebooks/compare_methods.ipynb`` executed (nbclient) against the runs of the tests above."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.setenv("SIGNDISTILL_EXPERIMENT", "signdistill")
    notebook = nbformat.read(REPO / "notebooks/compare_methods.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    print(text)
    assert "9 trained recognisers in experiment 'signdistill'" in text
    assert "SMKD" in text and "distilled" in text and "21.0" in text  # smkd, with the paper's number beside
    assert "+ WS + WN" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # the leaderboard and the ablation plots

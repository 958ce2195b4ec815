"""A recogniser logged as an MLflow pyfunc model: served by ``mlflow models serve`` on loopback it answers a clip
with glosses and time spans (the same as the model loaded in process); ``signdistill register-best`` registers the
best run of a ``kedro run``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from mlflow import MlflowClient
from typer.testing import CliRunner

from signdistill.console import app
from signdistill.models.registry import build_recognizer, package_model
from signdistill.pipelines.mlflow_model import RUNS_ARTIFACT, SIGNATURE, log_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")
GLOSSES = ["A", "B", "C", "D"]
SMALL = {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _package(seed: int) -> dict:
    torch.manual_seed(seed)
    model = build_recognizer("baseline", len(GLOSSES) + 1, SMALL)
    return package_model("baseline", model, model.state_dict(), {"glosses": GLOSSES}, {"store_size": 40, "crop": 36})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A sqlite store with one ``kedro run`` run and two recogniser runs, each with its model and final dev WER."""
    root = tmp_path_factory.mktemp("mlflow_models")
    uri = f"sqlite:///{root}/mlflow.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    experiment = client.create_experiment("models", artifact_location=str(root / "artifacts"))
    parent = client.create_run(experiment, run_name="ablations_smkd",
                               tags={"kedro_command": "kedro run --pipelines ablations_smkd"}).info.run_id
    runs = {}
    for seed, (name, wer) in enumerate((("smkd_base", 80.0), ("smkd_ws", 60.0))):
        runs[name] = client.create_run(experiment, run_name=name, tags={"mlflow.parentRunId": parent}).info.run_id
        client.log_metric(runs[name], "final_dev_wer_beam10", wer)
        log_recognizer(runs[name], _package(seed))
    client.log_dict(parent, runs, RUNS_ARTIFACT)
    yield {"uri": uri, "client": client, "parent": parent, "runs": runs, "root": root}
    mlflow.set_tracking_uri(previous)


def _serve(uri: str, model_uri: str, root: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)  # uvicorn, which the server starts, lives beside python
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    log = open(root / "serve.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager",
                                "local", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # imports torch and the model: slow on a loaded 2-core machine
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=2)
            return process, url
        except OSError:
            assert process.poll() is None, (root / "serve.log").read_text()[-3000:]
            time.sleep(0.5)
    process.kill()
    pytest.fail(f"mlflow models serve did not answer: {(root / 'serve.log').read_text()[-3000:]}")


def test_served_model_answers_a_clip_with_glosses_and_spans(store: dict) -> None:
    model_uri = f"runs:/{store['runs']['smkd_ws']}/model"
    assert mlflow.models.get_model_info(model_uri).signature == SIGNATURE
    frames = np.random.default_rng(0).integers(0, 256, (24, 48, 48, 3), dtype=np.uint8)
    params = {"fps": 12.0, "decoder": "greedy"}
    local = mlflow.pyfunc.load_model(model_uri).predict(frames, params=params).to_dict("records")
    process, url = _serve(store["uri"], model_uri, store["root"])
    try:
        body = json.dumps({"inputs": frames.tolist(), "params": params}).encode()
        request = urllib.request.Request(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())["predictions"]
    finally:
        process.terminate()
        process.wait(30)
    print("served answer:", answer)
    assert answer and answer == local  # spans are rounded to the millisecond on both sides
    assert all(span["gloss"] in GLOSSES for span in answer)
    times = [t for span in answer for t in (span["start_s"], span["spike_s"], span["end_s"])]
    assert times == sorted(times) and 0 <= times[0] and times[-1] <= len(frames) / params["fps"]


def test_register_best_registers_the_lowest_dev_wer_run(store: dict) -> None:
    result = CliRunner().invoke(app, ["register-best", "--tracking-uri", store["uri"], "--experiment", "models"])
    assert result.exit_code == 0, result.output
    assert "signdistill_ablations_smkd version 1" in result.output and "smkd_ws" in result.output
    version = store["client"].get_model_version("signdistill_ablations_smkd", "1")
    assert version.run_id == store["runs"]["smkd_ws"] and version.tags["run"] == "smkd_ws"
    served = mlflow.pyfunc.load_model("models:/signdistill_ablations_smkd/1")
    assert served.metadata.signature == SIGNATURE
    missing = CliRunner().invoke(app, ["register-best", "--tracking-uri", store["uri"], "--metric", "nothing"])
    assert missing.exit_code == 2 and "no kedro run in MLflow experiment 'signdistill'" in missing.output

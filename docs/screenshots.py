"""Screenshots of the MLflow compare view of an ablation's rows, of a recogniser's run page (its curves) and its
registered model, and of Kedro-Viz's lineage of a pipeline.

Needs Debian's ``chromium`` (headless) and a store that holds the pipeline's runs, e.g. after
``kedro run --env quick --pipelines ablations_smkd``. Run from the project root::

    uv run python docs/screenshots.py --store sqlite:///mlflow.db --experiment signdistill_quick

It starts ``mlflow ui`` and ``kedro viz run`` on free loopback ports, points headless Chromium at them and
writes ``docs/img/mlflow_compare_<pipeline>.png`` and ``docs/img/kedro_viz_<pipeline>.png``; with a registered
model (``signdistill register-best``), ``docs/img/mlflow_run_<run>.png`` (its model metrics) and
``docs/img/mlflow_model_<name>.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port(start: int | None = None) -> int:
    """A free loopback port: any the system hands out, or the first from ``start`` on (Kedro-Viz refuses
    ports above 49151, where the system's ephemeral range begins)."""
    for port in [0] if start is None else range(start, 49151):
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", port))
            return sock.getsockname()[1]
    sys.exit(f"no free port from {start} to 49151")


def wait_for(url: str, process: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited ({process.returncode}) before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    sys.exit(f"no answer from {url} in {seconds:.0f} s")


def api(base: str, endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{endpoint}", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def screenshot(url: str, out: Path, size: str = "1900,1000", budget_ms: int = 15000) -> None:
    """Headless Chromium after ``budget_ms`` of the page's virtual time (the apps load their data first)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found (apt-get install chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={size}",
            f"--virtual-time-budget={budget_ms}",
            "--run-all-compositor-stages-before-draw",
            f"--screenshot={out}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    print(f"{out}  <- {url}")


@contextlib.contextmanager
def mlflow_ui(store: str) -> Iterator[str]:
    """``mlflow ui`` on the store, on a free loopback port, until the block ends; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            store,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"{base}/health", ui)
        yield base
    finally:
        ui.terminate()
        ui.wait(30)


# MLflow's UI remembers one workflow (GenAI or model training) per browser and a fresh one starts in GenAI,
# so every page asks for the model-training one
MODEL_TRAINING = "workflowType=machine_learning"


def newest_children(base: str, experiment_id: str, pipeline: str, runs: list[str] | None = None) -> list[str]:
    """The child runs of every ``kedro run`` of ``pipeline`` (a seeds pipeline trained in lanes has one parent per
    lane), the newest of each run name, finished ones first: one column per seed of each run; ``runs``: only
    those whose ``run`` tag is one of them (the two runs of one comparison)."""
    search = {"experiment_ids": [experiment_id], "max_results": 1000}
    parents = api(base, "runs/search", {**search, "filter": f"attributes.run_name = '{pipeline}'"}).get("runs", [])
    if not parents:
        sys.exit(f"no run of {pipeline!r} in experiment {experiment_id}")
    children: dict[str, tuple[tuple[bool, int], str]] = {}  # run name -> (rank, run id)
    for parent in parents:
        child = f"tags.mlflow.parentRunId = '{parent['info']['run_id']}'"
        for run in api(base, "runs/search", {**search, "filter": child}).get("runs", []):
            info = run["info"]
            tags = {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}
            if runs and tags.get("run") not in runs:
                continue
            rank = (info["status"] == "FINISHED", info["start_time"])
            if info["run_name"] not in children or rank > children[info["run_name"]][0]:
                children[info["run_name"]] = (rank, info["run_id"])
    return [run_id for _, (_, run_id) in sorted(children.items())]


def mlflow_compare(store: str, experiment: str, pipeline: str, out: Path, runs: list[str] | None = None) -> None:
    with mlflow_ui(store) as base:
        exp = json.loads(
            urllib.request.urlopen(
                f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment}", timeout=30
            ).read()
        )["experiment"]
        ids = json.dumps(newest_children(base, exp["experiment_id"], pipeline, runs))
        query = urllib.parse.urlencode(
            {"runs": ids, "experiments": json.dumps([exp["experiment_id"]]), "workflowType": "machine_learning"}
        )
        screenshot(f"{base}/#/compare-runs?{query}", out, size="3000,2400")


def mlflow_registered(store: str, name: str, out_dir: Path) -> None:
    """The newest version of registered model ``name``: its run's model-metrics page and the version's page."""
    with mlflow_ui(store) as base:
        query = urllib.parse.urlencode({"filter": f"name='{name}'", "order_by": "version_number DESC"})
        versions = json.loads(
            urllib.request.urlopen(f"{base}/api/2.0/mlflow/model-versions/search?{query}", timeout=30).read()
        ).get("model_versions", [])
        if not versions:
            sys.exit(f"no registered model {name!r} in {store} (run `signdistill register-best` first)")
        version = max(versions, key=lambda v: int(v["version"]))
        run = json.loads(
            urllib.request.urlopen(f"{base}/api/2.0/mlflow/runs/get?run_id={version['run_id']}", timeout=30).read()
        )["run"]
        experiment = run["info"]["experiment_id"]
        page = f"#/experiments/{experiment}/runs/{version['run_id']}/model-metrics?{MODEL_TRAINING}"
        screenshot(f"{base}/{page}", out_dir / f"mlflow_run_{run['info']['run_name']}.png")
        screenshot(
            f"{base}/#/models/{name}/versions/{version['version']}?{MODEL_TRAINING}",
            out_dir / f"mlflow_model_{name}.png",
        )


def kedro_viz(pipeline: str, out: Path, size: str = "1800,1100", crop: str | None = None) -> None:
    """Kedro-Viz's flowchart of ``pipeline``, fitted to a window of ``size``; ``crop`` (``left,top,right,bottom``
    in pixels) keeps a part of a large window, where a wide pipeline's labels are legible."""
    port = free_port(start=4141)
    log = out.with_suffix(".log")  # the server's own output, kept for when it stops early
    out.parent.mkdir(parents=True, exist_ok=True)
    viz = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("kedro")),
            "viz",
            "run",
            "--no-browser",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=open(log, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/main", viz, seconds=600)
        screenshot(f"http://127.0.0.1:{port}/?pid={pipeline}", out, size=size)
    finally:  # the server runs in a child of `kedro viz run`: stop the whole process group
        with contextlib.suppress(ProcessLookupError):  # the whole group may be gone already
            os.killpg(viz.pid, signal.SIGTERM)
        viz.wait(30)
    log.unlink()
    if crop:
        from PIL import Image  # matplotlib's dependency; only needed here

        with Image.open(out) as image:
            image.crop(tuple(int(v) for v in crop.split(","))).save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite:///mlflow.db", help="MLflow tracking store")
    parser.add_argument("--experiment", default="signdistill", help="MLflow experiment")
    parser.add_argument("--compare", default="ablations_smkd", help="pipeline whose child runs are compared")
    parser.add_argument("--runs", nargs="+", help="compare only these runs' seeds, e.g. smkd student_res")
    parser.add_argument("--lineage", default="distill_signkd", help="pipeline drawn by Kedro-Viz")
    parser.add_argument("--viz-size", default="1800,1100", help="Kedro-Viz window, width,height")
    parser.add_argument("--viz-crop", help="part of the Kedro-Viz window to keep: left,top,right,bottom")
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="folder for the PNGs")
    parser.add_argument("--model", default="signdistill_ablations_smkd", help="registered model to show")
    parser.add_argument("--only", choices=("mlflow", "model", "viz"), help="take one kind of screenshot")
    args = parser.parse_args()
    if args.only == "model":
        mlflow_registered(args.store, args.model, args.out)
        return
    if args.only != "viz":
        out = args.out / f"mlflow_compare_{args.compare}.png"
        mlflow_compare(args.store, args.experiment, args.compare, out, args.runs)
    if args.only != "mlflow":
        kedro_viz(args.lineage, args.out / f"kedro_viz_{args.lineage}.png", args.viz_size, args.viz_crop)


if __name__ == "__main__":
    main()

"""MLflow runs of the trained recognisers: one child run per run namespace, nested under the ``kedro run``'s run.

The library core knows nothing of MLflow: the training loop takes an ``on_epoch`` callback, and the training
nodes ask ``epoch_callback()`` for the one that ``signdistill.hooks`` installed for the node being run (none
outside a tracked ``kedro run``). Everything that writes to MLflow lives here; the hooks decide when.

A child run's identity is kept next to its checkpoints (``<checkpoint_dir>/mlflow_run.json``): a resumed
training continues the same MLflow run, under the same tracking store and experiment, as long as the run's
parameters are the ones it was created with; changed parameters start a new MLflow run, as they restart the
training itself. A continued run stays under the ``kedro run`` that created it, and keeps its status and end
time unless this ``kedro run`` trains it further.

Metric names say which decoder produced a WER: the trainer scores dev greedily after every epoch
(``dev_wer_greedy`` at steps 1, 2, ...); the evaluation decodes the kept epoch with the configured decoder
(``final_dev_wer_beam10``; test numbers ``test_wer`` with the same decoder, logged as ``evaluation.decoder``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus
from mlflow.exceptions import MlflowException

from signdistill.data.atomic import atomic_write
from signdistill.reporting.papers import PAPER_TABLES

log = logging.getLogger(__name__)

RUN_FILE = "mlflow_run.json"
EPOCH_DECODER = "greedy"  # the trainer's per-epoch dev evaluation (training.evaluate.wer_evaluator)
EpochCallback = Callable[[int, dict], None]
_epoch_callback: EpochCallback | None = None

# the recogniser kinds (models.registry) -> the method whose experiments they serve
METHODS = {"baseline": "baseline", "smkd": "SMKD", "ctca": "CTCA", "lrinet": "CRKD", "mstnet": "CRKD",
           "mstnet_method1": "CRKD", "signkd_teacher": "SignKD", "signkd_student": "SignKD"}


def epoch_callback() -> EpochCallback | None:
    """The per-epoch logger of the run being trained now (set by the hooks), or None when nothing tracks it."""
    return _epoch_callback


def set_epoch_callback(callback: EpochCallback | None) -> None:
    global _epoch_callback  # noqa: PLW0603 - one training node runs at a time (SequentialRunner)
    _epoch_callback = callback


def flatten(params: dict, prefix: str = "") -> dict[str, Any]:
    """``{"model": {"width": 16}}`` -> ``{"model.width": 16}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def recognizer_params(params: dict, run: str) -> dict | None:
    """The run's parameters as its training reads them (``training.spec.RunSpec`` and the model's config: defaults
    filled in, the checkpoint directory under ``checkpoint_root``), or None when the parameters hold no run ``run``."""
    from signdistill.models.registry import recognizer_config  # torch: loaded by the first run's node
    from signdistill.training.seeds import split_seed_run
    from signdistill.training.spec import DEFAULT_CHECKPOINT_ROOT, RunSpec

    base, seed = split_seed_run(run) if run not in params else (run, None)  # <run>_seed<s>: seeds pipelines
    section = params.get(base)
    if not isinstance(section, dict) or not isinstance(section.get("recognizer"), dict):
        return None
    root = params.get("checkpoint_root", DEFAULT_CHECKPOINT_ROOT)
    spec = RunSpec.from_params(section["recognizer"], base, root)
    if seed is not None:
        spec = spec.with_seed(seed)
    config = asdict(recognizer_config(spec.kind, 1, spec.model))
    # every switch of the model, defaults included, so that MLflow's compare view lines ablation rows up
    model = {k: v for k, v in config.items() if k not in ("num_classes", "vocab_size")}
    return {**spec.to_params(), "model": model}


def identity(params: dict) -> str:
    """What must be equal for a resumed training to continue its MLflow run."""
    return hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


# runs whose experiments are not those of their network's method: distill_combined's SignKD students
RUN_METHODS = dict.fromkeys(PAPER_TABLES["combined"], "Combined")


def method_of(params: dict, run: str = "") -> str:
    if run in RUN_METHODS:
        return RUN_METHODS[run]
    kind = params.get("kind", "baseline")
    return METHODS.get(kind, kind)


class ChildRun:
    """One recogniser's MLflow run: created or continued, logged to by id (never through the active-run stack,
    which belongs to kedro-mlflow's parent run)."""

    def __init__(self, client: MlflowClient, run_id: str, name: str, continued: bool = False) -> None:
        self.client, self.run_id, self.name = client, run_id, name
        self.idle = continued  # a continued run this kedro run has not trained (yet): its status is left alone
        self.continued = continued
        self.busy_s = 0.0  # seconds this run's own nodes ran in this kedro run
        self._node_start: float | None = None

    def node_started(self) -> None:
        self._node_start = time.monotonic()

    def node_finished(self) -> None:
        if self._node_start is not None:
            self.busy_s += time.monotonic() - self._node_start
            self._node_start = None

    @classmethod
    def open(cls, client: MlflowClient, experiment_id: str, parent_id: str, name: str, params: dict | None,
             tags: dict[str, str]) -> ChildRun:
        """Continue the run recorded in the checkpoint directory when it matches, else create one."""
        record = Path(params["checkpoint_dir"]) / RUN_FILE if params else None
        key = identity(params) if params else None
        run_id = _recorded_run(client, record, experiment_id, key) if record else None
        all_tags = {**tags, "mlflow.parentRunId": parent_id, "mlflow.runName": name,
                    **({"checkpoint_dir": str(params["checkpoint_dir"])} if params else {})}
        if run_id is None:
            run_id = client.create_run(experiment_id, run_name=name, tags=all_tags).info.run_id
            if record is not None:  # atomic: a half-written record would orphan the run on the next resume
                atomic_write(record, lambda tmp: tmp.write_text(json.dumps(
                    {"run_id": run_id, "experiment_id": experiment_id, "identity": key,
                     "tracking_uri": client.tracking_uri}, indent=1)))
            log.info("MLflow run %r (%s) created under %s", name, run_id, parent_id)
            child = cls(client, run_id, name)
        else:  # it stays under its first kedro run; it is RUNNING again only once it trains (log_epoch)
            log.info("MLflow run %r (%s) continued (this kedro run: %s)", name, run_id, parent_id)
            child = cls(client, run_id, name, continued=True)
        if params:  # where the run lives is a tag, not a parameter: MLflow's compare view shows what differs
            child.log_params(flatten({k: v for k, v in params.items() if k != "checkpoint_dir"}))
        return child

    def log_params(self, params: dict[str, Any]) -> None:
        """Parameters already logged with another value (an evaluation setting changed since) are kept and
        the new value is reported, as MLflow parameters cannot change."""
        logged = self.client.get_run(self.run_id).data.params
        new = {k: _param_text(v) for k, v in params.items()}
        for key in sorted(k for k in new if k in logged and logged[k] != new[k]):
            log.warning("MLflow run %r keeps %s=%s (now %s)", self.name, key, logged[key], new[key])
        fresh = [Param(k, v) for k, v in new.items() if k not in logged]
        for start in range(0, len(fresh), 100):  # MLflow's batch limit
            self.client.log_batch(self.run_id, params=fresh[start:start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for start in range(0, len(batch), 500):
            self.client.log_batch(self.run_id, metrics=batch[start:start + 500])

    def log_epoch(self, epoch: int, metrics: dict) -> None:
        """A training epoch's numbers at step ``epoch + 1`` (the curves' epochs count from 1); the dev scores
        are named for their decoder (``dev_wer`` -> ``dev_wer_greedy``)."""
        if self.idle:
            self.client.update_run(self.run_id, status=RunStatus.to_string(RunStatus.RUNNING))
            self.idle = False
        self.log_metrics({epoch_metric(k): v for k, v in metrics.items()
                          if k != "epoch" and isinstance(v, int | float)}, step=epoch + 1)

    def backfill_epochs(self, history: dict) -> int:
        """Log the epochs of ``history`` that the run lacks (trained by ``torchrun`` workers, or logged by a
        process that died first); returns how many."""
        logged = {m.step for m in self.client.get_metric_history(self.run_id, epoch_metric("dev_wer"))}
        missing = [h for h in history.get("epochs", []) if h["epoch"] + 1 not in logged]
        for epoch in missing:
            self.log_epoch(epoch["epoch"], epoch)
        return len(missing)

    def log_final(self, metrics: dict[str, float]) -> None:
        """Final numbers at step 0, once: a rerun that reproduces them adds no duplicate points."""
        logged = self.client.get_run(self.run_id).data.metrics
        changed = {k: v for k, v in metrics.items() if logged.get(k) != float(v)}
        if changed:
            self.log_metrics(changed, step=0)

    def log_artifact_bytes(self, data: bytes, path: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / Path(path).name
            target.write_bytes(data)
            self.client.log_artifact(self.run_id, str(target), str(Path(path).parent) if "/" in path else None)

    def has_model(self) -> bool:
        """Whether a model (``mlflow_model.log_recognizer``) was logged to the run."""
        outputs = self.client.get_run(self.run_id).outputs
        return bool(outputs and outputs.model_outputs)

    def end(self, status: str) -> None:
        """End the run ``status``; a continued run that this kedro run did not train keeps its own status and
        end time (its duration is that of its training) unless it had not finished. A run created by this kedro
        run lasts as long as its own nodes ran: Kedro runs every seed's training before any evaluation, so the
        clock at its last node would give each run the length of the whole pipeline."""
        self.node_finished()  # a node that failed or was interrupted counts up to now
        info = self.client.get_run(self.run_id).info
        if self.idle and info.status == RunStatus.to_string(RunStatus.FINISHED):
            return
        end_time = None if self.continued else info.start_time + int(self.busy_s * 1000)
        self.client.set_terminated(self.run_id, status, end_time=end_time)


def _recorded_run(client: MlflowClient, record: Path, experiment_id: str, key: str) -> str | None:
    """The run id in ``record`` if it belongs to this store and experiment, still exists and was made with
    the same parameters; its training must also still be there (``last.pt``) to be continued."""
    if not record.exists() or not (record.parent / "last.pt").exists():
        return None
    try:
        saved = json.loads(record.read_text())
    except json.JSONDecodeError:
        return None
    if (saved.get("tracking_uri"), saved.get("experiment_id"), saved.get("identity")) != (
            client.tracking_uri, experiment_id, key):
        return None
    try:
        run = client.get_run(saved["run_id"])
    except MlflowException:
        return None
    return saved["run_id"] if run.info.lifecycle_stage == "active" else None


def _param_text(value: Any) -> str:
    return str(value)[:6000]  # MLflow's limit on a parameter value


def efficiency_metrics(table: pd.DataFrame) -> dict[str, float]:
    row = table.iloc[0]
    return {key: float(row[key]) for key in ("params_m", "gmacs", "latency_s") if key in row and pd.notna(row[key])}


def epoch_metric(key: str) -> str:
    """The MLflow name of a per-epoch history value: dev scores carry their decoder."""
    return f"{key}_{EPOCH_DECODER}" if key.startswith("dev_") else key


def decoder_name(evaluation: dict) -> str:
    """``greedy`` or ``beam<width>``: the evaluation's decoder, as metric names carry it."""
    decoder = str(evaluation.get("decoder", "beam"))
    return f"beam{int(evaluation.get('beam_width', 10))}" if decoder == "beam" else decoder


def wer_metrics(metrics: dict[str, dict], decoder: str) -> dict[str, float]:
    """``wer_tables``' ``{split_key: {value, step}}`` decoded by ``decoder`` (``decoder_name``): test numbers as
    ``test_*``, the dev numbers of the kept epoch as ``final_dev_*_<decoder>`` (the per-epoch curves are
    ``dev_*_greedy``)."""
    return {(f"final_{key}_{decoder}" if key.startswith("dev_") else key): float(value["value"])
            for key, value in metrics.items()}


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=1, default=str).encode()


def kedro_command(run_params: dict, argv: list[str]) -> str:
    """The ``kedro run`` command as typed (``argv`` of a ``kedro`` process), or, for a KedroSession run from
    Python, the command that would run the same: pipelines, namespaces, nodes, tags, ``--env`` and ``--params``."""
    if argv and Path(argv[0]).name in ("kedro", "kedro.exe") and "run" in argv[1:]:
        return shlex.join(["kedro", *argv[1:]])
    options = {"--pipelines": run_params.get("pipeline_names"), "--namespaces": run_params.get("namespaces"),
               "--nodes": run_params.get("node_names"), "--tags": run_params.get("tags"),
               "--from-nodes": run_params.get("from_nodes"), "--to-nodes": run_params.get("to_nodes")}
    words = ["kedro", "run"]
    for option, values in options.items():
        if values:
            words += [option, ",".join(values)]
    if run_params.get("env"):
        words += ["--env", str(run_params["env"])]
    extra = flatten(run_params.get("runtime_params") or run_params.get("extra_params") or {})
    if extra:
        words += ["--params", ",".join(f"{k}={v}" for k, v in extra.items())]
    return shlex.join(words)


def readable_tags(run_params: dict) -> dict[str, str]:
    """``run_params`` as tags a person reads: the runner by its class name, lists comma-joined, dicts as JSON."""
    tags = {}
    for key, value in run_params.items():
        if not value:
            continue
        if key == "runner":  # Kedro records the runner object's repr, "<kedro.runner....Runner object at 0x..>"
            text = value if isinstance(value, str) else type(value).__name__
            text = text.strip("<>").split(" object at ")[0].rsplit(".", 1)[-1]
            text = "SequentialRunner" if text == "None" else text  # none given: Kedro runs its default
        elif isinstance(value, list | tuple | set):
            text = ",".join(map(str, value))
        elif isinstance(value, dict):
            text = json.dumps(value, sort_keys=True, default=str)
        else:
            text = str(value)
        tags[key] = text[:5000]  # MLflow's limit on a tag value is 8000
    return tags


# MLflow's UI opens in its GenAI workflow until a browser is switched; its pages say the model-training one
MODEL_TRAINING_VIEW = "workflowType=machine_learning"


def run_page(experiment_id: str, run_id: str, base: str = "http://127.0.0.1:5000") -> str:
    """The URL of an MLflow run's page in the model-training view of ``mlflow ui`` at ``base``."""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}?{MODEL_TRAINING_VIEW}"

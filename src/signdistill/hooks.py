"""Kedro hooks: one MLflow run per trained recogniser, nested under the run kedro-mlflow opens for ``kedro run``.

A run namespace (``smkd_ws``: every node of ``<run>.*`` whose ``<run>.model`` the pipeline holds) gets its child
run at its first node; the training node logs each epoch through ``tracking.epoch_callback``; the evaluation
nodes' outputs become the child's final metrics and artifacts; the child is FINISHED once all of the
namespace's nodes in this pipeline ran. Report nodes (``<table>_report``) log their CSV and PNG to the parent.
A trained recogniser is logged as an MLflow pyfunc model (``pipelines.mlflow_model``), once per training; the
parent records which child runs it used (``recognizer_runs.json``: a rerun that trains nothing continues the old
children, which stay under their first parent). The parent's tags are readable (the command as typed, the
runner's name) and the experiment opens in MLflow's model-training view.
A failing node or pipeline ends its open runs FAILED; SIGINT (Ctrl-C) or SIGTERM ends them, and the parent,
KILLED before the interrupt goes on, so that MLflow's exit handler cannot mark them FINISHED.

``RunTimesHook`` records where each ``kedro run``'s wall time went (``reporting.run_times``) into the catalog's
``<pipeline>_run_times`` (JSON) and ``<pipeline>_run_times_plot`` (timeline), one version per run, and logs it.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import mlflow
import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException

from signdistill.pipelines import tracking
from signdistill.pipelines.runs import paper_rows
from signdistill.reporting import run_times
from signdistill.training.seeds import split_seed_run

log = logging.getLogger(__name__)

FINISHED, FAILED, KILLED = (RunStatus.to_string(s) for s in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED))
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
# MLflow's UI opens an experiment of this kind in its model-training view (not the GenAI one)
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


class RecognizerRunsHook:
    def __init__(self) -> None:
        self._params: dict = {}
        self._reset()

    def _reset(self) -> None:
        self.client: MlflowClient | None = None
        self.parent_id: str | None = None
        self.experiment_id: str | None = None
        self.children: dict[str, tracking.ChildRun] = {}
        self.run_ids: dict[str, str] = {}  # every child opened in this kedro run, open or ended
        self.pending: Counter[str] = Counter()
        self.rows: dict[str, list[tuple[str, str]]] = {}
        self.decoders: dict[str, str] = {}  # run -> the evaluation's decoder (tracking.decoder_name)
        self.env: str = ""
        self._previous_handlers: dict[int, Any] = {}

    @hook_impl
    def after_context_created(self, context) -> None:
        self._params = context.params
        self.env = context.env or ""

    @hook_impl(trylast=True)  # after kedro-mlflow's, which opens the parent run
    def before_pipeline_run(self, run_params: dict, pipeline: Pipeline, catalog) -> None:
        self._reset_run()
        parent = mlflow.active_run()
        if parent is None:  # tracking switched off for this pipeline
            return
        self.client = MlflowClient()
        self.parent_id, self.experiment_id = parent.info.run_id, parent.info.experiment_id
        self._describe_parent(run_params)
        datasets = pipeline.datasets()
        self.pending = Counter(n.namespace for n in pipeline.nodes
                               if n.namespace and f"{n.namespace}.model" in datasets)
        self.rows = paper_rows(pipeline)
        self._trap_interrupts()

    def _describe_parent(self, run_params: dict) -> None:
        """Readable tags in place of kedro-mlflow's (object reprs, a command without ``--env``); the experiment
        marked for MLflow's model-training view."""
        tags = tracking.readable_tags(run_params)
        tags["kedro_command"] = tracking.kedro_command(run_params, sys.argv)[:5000]  # MLflow keeps 8000
        for key, value in tags.items():
            self.client.set_tag(self.parent_id, key, value)
        experiment = self.client.get_experiment(self.experiment_id)
        if experiment.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:
            self.client.set_experiment_tag(self.experiment_id, *EXPERIMENT_KIND)

    def _reset_run(self) -> None:
        params, env = self._params, self.env
        self._reset()
        self._params, self.env = params, env

    @hook_impl
    def before_node_run(self, node: Node, inputs: dict[str, Any]) -> None:
        child = self._child(node)
        if child is None:
            return
        child.node_started()
        if "params:evaluation" in inputs:
            child.log_params(tracking.flatten({"evaluation": inputs["params:evaluation"]}))
            self.decoders[node.namespace] = tracking.decoder_name(inputs["params:evaluation"])
        if f"{node.namespace}.history" in node.outputs:
            self._epochs_logged = 0

            def on_epoch(epoch: int, metrics: dict) -> None:
                try:
                    child.log_epoch(epoch, metrics)
                    self._epochs_logged += 1
                except (MlflowException, OSError) as error:  # tracking must never stop a training
                    log.warning("epoch %d of %s not logged to MLflow (%s); logged after the node", epoch,
                                node.namespace, error)

            tracking.set_epoch_callback(on_epoch)

    @hook_impl
    def after_node_run(self, node: Node, outputs: dict[str, Any]) -> None:
        tracking.set_epoch_callback(None)
        if self.client is None:
            return
        child = self.children.get(node.namespace) if node.namespace else None
        if child is not None:
            child.node_finished()
            self._log_run_outputs(child, node.namespace, outputs)
            self.pending[node.namespace] -= 1
            if self.pending[node.namespace] == 0:
                child.end(FINISHED)
                del self.children[node.namespace]
        self._log_reports(outputs)

    @hook_impl
    def on_node_error(self, node: Node) -> None:
        tracking.set_epoch_callback(None)
        child = self.children.pop(node.namespace, None) if node.namespace else None
        if child is not None:
            child.end(FAILED)

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._end_children(FINISHED)  # namespaces filtered out of part of their nodes end here
        if self.client is not None and self.run_ids:
            from signdistill.pipelines.mlflow_model import RUNS_ARTIFACT  # torch: imported once a model exists

            self.client.log_dict(self.parent_id, self.run_ids, RUNS_ARTIFACT)
        if self.parent_id:
            log.info("MLflow: `mlflow ui --backend-store-uri %s`, then %s", mlflow.get_tracking_uri(),
                     tracking.run_page(self.experiment_id, self.parent_id))
        self._restore_interrupts()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._end_children(FAILED)
        self._restore_interrupts()

    def _child(self, node: Node) -> tracking.ChildRun | None:
        run = node.namespace
        if self.client is None or not run or run not in self.pending:
            return self.children.get(run) if run else None
        if run not in self.children:
            params = tracking.recognizer_params(self._params, run)
            self.children[run] = tracking.ChildRun.open(self.client, self.experiment_id, self.parent_id, run,
                                                        params, self._tags(run, params))
            self.run_ids[run] = self.children[run].run_id
        return self.children[run]

    def _tags(self, run: str, params: dict | None) -> dict[str, str]:
        rows = self.rows.get(run, [])
        base = split_seed_run(run)[0] if run not in self._params else run
        tags = {"method": tracking.method_of(params or {}, base), "kind": (params or {}).get("kind", "baseline"),
                "run": base, "seed": str((params or {}).get("train", {}).get("seed", "")),
                "kedro_env": self.env, "paper_table": " | ".join(t for t, _ in rows),
                "row_label": " | ".join(label for _, label in rows)}
        tags.update({f"row.{table}": label for table, label in rows})
        return {k: v for k, v in tags.items() if v}

    def _log_run_outputs(self, child: tracking.ChildRun, run: str, outputs: dict[str, Any]) -> None:
        """Final metrics and artifacts from the run's evaluation outputs (before the catalog saves them)."""
        for name, value in outputs.items():
            kind = name.removeprefix(f"{run}.")
            if kind == "history":
                backfilled = child.backfill_epochs(value)
                if backfilled + self._epochs_logged:
                    self._new_model = True
                child.log_artifact_bytes(tracking.json_bytes(value), "history.json")
            elif kind == "wer_metrics":
                evaluation = self.decoders.get(run) or tracking.decoder_name(self._params.get("evaluation", {}))
                child.log_final(tracking.wer_metrics(value, evaluation))
            elif kind == "wer_table":
                child.log_artifact_bytes(value.to_csv(index=False).encode(), "wer.csv")
            elif kind == "efficiency_table":
                child.log_final(tracking.efficiency_metrics(value))
                child.log_artifact_bytes(value.to_csv(index=False).encode(), "efficiency.csv")
            elif kind == "hypotheses_txt":
                child.log_artifact_bytes(value.encode(), "hypotheses.txt")
            elif kind == "training_curves" and isinstance(value, Figure):
                child.log_artifact_bytes(tracking.figure_png(value), "training_curves.png")
        model = outputs.get(f"{run}.model")
        if model is not None and (self._new_model or not child.has_model()):  # once per training, not per rerun
            from signdistill.pipelines.mlflow_model import log_recognizer

            log_recognizer(child.run_id, model, self._params.get("features"))
        self._new_model = False

    def _log_reports(self, outputs: dict[str, Any]) -> None:
        """Report tables and plots of the whole run (``<table>_report``, ``<table>_report_plot``) on the parent."""
        for name, value in outputs.items():
            if name.endswith(("_report", "_seeds")) and isinstance(value, pd.DataFrame):
                self.client.log_text(self.parent_id, value.to_csv(index=False), f"reports/{name}.csv")
            elif name.endswith(("_report_plot", "_seeds_plot")) and isinstance(value, Figure):
                self.client.log_figure(self.parent_id, value, f"reports/{name.removesuffix('_plot')}.png")
            elif name.endswith("_latency") and isinstance(value, dict) and isinstance(value.get("seconds"), dict):
                self.client.log_dict(self.parent_id, value, f"reports/{name}.json")
                for run, stages in value["seconds"].items():  # video in, glosses out: on the runs timed
                    if run in self.run_ids and "total" in stages:
                        self.client.log_metric(self.run_ids[run], "e2e_latency_s", float(stages["total"]))

    def _end_children(self, status: str) -> None:
        tracking.set_epoch_callback(None)
        for child in self.children.values():
            child.end(status)
        self.children.clear()

    def _trap_interrupts(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in INTERRUPTS:
            self._previous_handlers[sig] = signal.signal(sig, self._interrupted)

    def _restore_interrupts(self) -> None:
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers.clear()

    def _interrupted(self, signum: int, frame) -> None:
        """End every open run KILLED, then interrupt as the signal would have (KeyboardInterrupt / exit 143)."""
        log.warning("interrupted (%s): MLflow runs end KILLED", signal.Signals(signum).name)
        self._end_children(KILLED)
        if self.client is not None and self.parent_id is not None:
            while mlflow.active_run() is not None:
                mlflow.end_run(KILLED)
            self.client.set_terminated(self.parent_id, KILLED)
        self._restore_interrupts()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    _epochs_logged = 0
    _new_model = False


class RunTimesHook:
    """Each node's span in this process, from loading its first input to saving its last output (this project's
    stores do their work there: SynthSign is generated, frames packed, flow and keypoints computed as a dataset is
    saved), and the seconds of its function alone. A parallel runner's nodes run in other processes: its record
    holds the wall time alone. Saved when the pipeline ends or fails, before MLflow's parent run closes."""

    def __init__(self) -> None:
        self.catalog = None
        self.record: dict = {}
        self.spans: dict[str, dict] = {}
        self.t0 = 0.0

    @hook_impl
    def before_pipeline_run(self, run_params: dict, catalog) -> None:
        self.catalog, self.spans, self.t0 = catalog, {}, time.perf_counter()
        self.record = {"pipeline": "+".join(run_params.get("pipeline_names") or ["__default__"]),
                       "command": tracking.kedro_command(run_params, sys.argv),
                       "started": datetime.now(UTC).isoformat(timespec="seconds"), "wall_s": 0.0,
                       "status": "running", "nodes": []}

    def _span(self, node: Node) -> dict:
        now = time.perf_counter() - self.t0
        return self.spans.setdefault(node.name, {"start": now, "end": now, "run_start": now, "run_s": 0.0,
                                                 "status": "running"})

    @hook_impl
    def before_dataset_loaded(self, node: Node) -> None:
        self._span(node)

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        self._span(node)["run_start"] = time.perf_counter() - self.t0

    @hook_impl
    def after_node_run(self, node: Node) -> None:
        self._node_ran(node, "finished")

    @hook_impl
    def on_node_error(self, node: Node) -> None:
        self._node_ran(node, "failed")

    def _node_ran(self, node: Node, status: str) -> None:
        span = self._span(node)
        span["end"] = time.perf_counter() - self.t0
        span["run_s"], span["status"] = span["end"] - span["run_start"], status

    @hook_impl
    def after_dataset_saved(self, node: Node) -> None:
        self._span(node)["end"] = time.perf_counter() - self.t0

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        self._save("finished")

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self) -> None:
        self._save("failed")

    def _save(self, status: str) -> None:
        if not self.record or self.catalog is None:
            return
        nodes = [{"node": name, "start_s": round(span["start"], 3), "seconds": round(span["end"] - span["start"], 3),
                  "run_start_s": round(span["run_start"], 3), "run_s": round(span["run_s"], 3),
                  "status": "unfinished" if span["status"] == "running" else span["status"]}
                 for name, span in sorted(self.spans.items(), key=lambda item: item[1]["start"])]
        record, self.record = {**self.record, "status": status, "nodes": nodes,
                               "wall_s": round(time.perf_counter() - self.t0, 3)}, {}
        name = f"{record['pipeline']}_run_times"
        try:
            self.catalog.save(name, record)
            self.catalog.save(f"{name}_plot", run_times.timeline_figure(record))
            if mlflow.active_run() is not None:
                mlflow.log_dict(record, "run_times.json")
        except Exception as error:  # noqa: BLE001 - a report of the run's times must never fail the run
            log.warning("the run's times were not saved (%s)", error)
        for line in run_times.summary_lines(record):
            log.info(line)


HOOKS = (RecognizerRunsHook(), RunTimesHook())

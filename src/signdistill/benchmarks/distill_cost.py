"""What a distilled epoch costs against a scratch epoch: online teacher vs cached teacher targets, side by side.

Builds, from the configuration, the scratch student (``--scratch``), and the distilled student (``--distilled``)
three times around the same frozen teacher package (``--teacher``): online (the teacher runs forward at every
step) and offline (its targets read from ``training.teacher_cache``), both with eq. 3's 3x3x3 adapters
(``distill.adapter: conv3d``) whatever the configuration sets, and offline with bottleneck adapters
(``distill.adapter: bottleneck``, the embedded default). The four take optimiser steps on the same real training
batches, round-robin so that machine noise hits them alike, and the cache's build cost (one teacher forward per
clip and view) is timed on the same clips. Prints seconds per step, each against scratch, and the epoch ratio of offline
distillation with the cache built once and amortised over the run's epochs.

``--epoch-rounds R`` also times what the main job runs: the pipeline's own scratch and distilled recipes (the
configured adapters, the teacher's targets cached for real in a temporary folder, the build timed) train whole
shuffled epochs through ``Trainer.train_epoch``, interleaved (scratch epoch 0, distilled epoch 0, scratch epoch 1,
...) so that drifting machine speed hits both alike. Each epoch's wall time is split into optimiser steps and the
rest (the data loader: clips, streams, cached targets, collation). Prints the per-round ratios, the ratio of the
summed epochs and the epoch ratio with the cache build amortised over the configured epochs.

Run: ``uv run python -m signdistill.benchmarks.distill_cost --teacher data/06_models/signkd_teacher.safetensors
[--env ENV]``. Torch and the core only (no Kedro) with ``--params conf/base/parameters_signkd.yml``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated

import torch
import typer

from signdistill.benchmarks._cli import MultiValueCommand, benchmark_app, summary
from signdistill.benchmarks._conf import (
    PARAMS_HELP,
    ConfOption,
    DataOption,
    EnvOption,
    data_root,
    parameters,
)
from signdistill.benchmarks.method_seeds import run_params
from signdistill.data.atomic import atomic_json
from signdistill.data.clips import collate_clips
from signdistill.data.features import FeatureStore
from signdistill.models.registry import load_recognizer, read_package
from signdistill.paths import DATA, DataPaths
from signdistill.training.recipes import read_index, recognizer_recipe
from signdistill.training.spec import RunInputs, RunSpec
from signdistill.training.teacher_cache import clip_targets
from signdistill.training.trainer import TrainConfig, Trainer

app = benchmark_app(__doc__)

def _trainer(recipe, directory: Path) -> Trainer:
    trainer = Trainer(recipe.model, None, lambda m: {}, recipe.config, directory)
    trainer.model.train()
    return trainer


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(teacher_file: Annotated[Path, typer.Option("--teacher", metavar="PATH", help="The frozen teacher's "
                                                     "package (.safetensors or .pt).")],
         scratch_run: Annotated[str, typer.Option("--scratch", metavar="RUN", help="The scratch student's run.")
                                ] = "signkd_scratch",
         distilled_run: Annotated[str, typer.Option("--distilled", metavar="RUN", help="The distilled student's run.")
                                  ] = "signkd_distilled",
         steps: Annotated[int, typer.Option(metavar="N", help="Timed steps per variant (0: skip the step "
                                            "comparison).")] = 12,
         epoch_rounds: Annotated[int, typer.Option(metavar="R", help="Rounds of whole epochs, scratch and "
                                                   "distilled interleaved (0: skip).")] = 0,
         env: EnvOption = "base",
         conf: ConfOption = Path("conf"),
         params_files: Annotated[list[Path], typer.Option("--params", metavar="FILE ...", help=PARAMS_HELP)] = [],
         data: DataOption = None,
         out: Annotated[Path, typer.Option(metavar="PATH", help="Where the JSON result is written.")
                        ] = DATA.report("distill_cost.json")) -> dict:
    paths = DataPaths(data_root(data, env, conf, params_files))
    index = read_index(paths.corpus_index)
    vocabulary = json.loads(paths.vocabulary.read_text())
    store, features = paths.frame_store, FeatureStore(paths.feature_store)
    teacher = load_recognizer(read_package(teacher_file))
    config = parameters(env, conf, params_files)
    scratch = run_params(config, scratch_run)
    distilled = run_params(config, distilled_run)
    inputs = RunInputs(store, index, vocabulary, features)
    result: dict = {"threads": torch.get_num_threads()}
    print(f"torch threads: {result['threads']}")
    if steps > 0:
        result.update(step_costs(teacher, scratch, distilled, scratch_run, distilled_run, inputs, steps))
    if epoch_rounds > 0:
        result["epochs"] = epoch_costs(teacher, scratch, distilled, scratch_run, distilled_run, inputs, epoch_rounds)
    atomic_json(out, result)
    return result


def step_costs(teacher: torch.nn.Module, scratch: dict, distilled: dict, scratch_run: str, distilled_run: str,
               inputs: RunInputs, steps: int) -> dict:
    """Seconds per optimiser step of scratch, online, offline and offline-bottleneck on the same batches."""
    scratch = {**scratch, "train": {**scratch["train"], "device": "cpu"}}
    # online and offline use eq. 3's adapters whatever the configuration says, the third variant bottleneck ones
    online = {**distilled, "train": {**distilled["train"], "device": "cpu"},
              "distill": {**distilled["distill"], "cache_views": 0, "adapter": "conv3d"}}
    recipes = {"scratch": recognizer_recipe(RunSpec.from_params(scratch, scratch_run), inputs),
               "online": recognizer_recipe(RunSpec.from_params(online, distilled_run), inputs, teacher)}
    views, epochs = int(distilled["distill"].get("cache_views", 4)), int(distilled["train"]["epochs"])
    clips = recipes["online"].train_set
    clips.set_epoch(0)
    items = [clips[i] for i in range(2 * steps)]
    start = time.perf_counter()
    targets = [clip_targets(teacher, item, torch.device("cpu")) for item in items]
    forward_s = (time.perf_counter() - start) / len(items)  # one teacher forward per clip and view
    cached_items = [{**item, **{k: v.float() for k, v in t.items()}} for item, t in zip(items, targets, strict=True)]
    batch_size = TrainConfig(**distilled["train"]).batch_size
    rgb_only = [{k: v for k, v in it.items() if k not in ("flow", "keypoints", "video_teacher")} for it in items]
    batches = {"scratch": [collate_clips(rgb_only[i:i + batch_size]) for i in range(0, len(items), batch_size)],
               "online": [collate_clips(items[i:i + batch_size]) for i in range(0, len(items), batch_size)],
               "offline": [collate_clips(cached_items[i:i + batch_size])
                           for i in range(0, len(items), batch_size)]}
    batches["offline_bottleneck"] = batches["offline"]
    seconds: dict[str, list[float]] = {name: [] for name in batches}
    with tempfile.TemporaryDirectory() as tmp:
        # offline: a second distiller of the same initial weights; batches with cached targets skip its teacher
        recipes["offline"] = recognizer_recipe(RunSpec.from_params(online, distilled_run), inputs, teacher)
        # and a third with bottleneck 3x3x3 adapters (distill.adapter: bottleneck)
        bottleneck = {**online, "distill": {**online["distill"], "adapter": "bottleneck"}}
        recipes["offline_bottleneck"] = recognizer_recipe(RunSpec.from_params(bottleneck, distilled_run), inputs,
                                                         teacher)
        trainers = {name: _trainer(recipes[name], Path(tmp) / name) for name in batches}
        for step in range(len(batches["scratch"])):
            for name, trainer in trainers.items():
                begin = time.perf_counter()
                trainer.train_step(batches[name][step])
                seconds[name].append(time.perf_counter() - begin)
    median = {name: sorted(values[1:])[len(values[1:]) // 2] for name, values in seconds.items()}  # 1st: warm-up
    scales = loss_scales(online, batches["online"][0], teacher, recipes["online"])
    clips_per_epoch = len(clips)
    steps_per_epoch = -(-clips_per_epoch // batch_size)
    cache_per_epoch = views * clips_per_epoch * forward_s / epochs
    result = {"step_s": median, "teacher_forward_s_per_clip": forward_s, "views": views, "epochs": epochs,
              "online_vs_scratch": median["online"] / median["scratch"],
              "offline_vs_scratch": median["offline"] / median["scratch"],
              "offline_with_cache_vs_scratch": (median["offline"] * steps_per_epoch + cache_per_epoch)
              / (median["scratch"] * steps_per_epoch),
              "offline_bottleneck_with_cache_vs_scratch": (median["offline_bottleneck"] * steps_per_epoch
                                                          + cache_per_epoch) / (median["scratch"] * steps_per_epoch),
              "loss_scales": scales,
              "adapter_gmacs": adapter_gmacs(recipes["online"].model, batches["scratch"][0]),
              "bottleneck_adapter_gmacs": adapter_gmacs(recipes["offline_bottleneck"].model, batches["scratch"][0])}
    for name, value in median.items():
        print(f"{name:<8} {value:7.3f} s/step  {value / median['scratch']:5.2f}x scratch")
    print(f"teacher forward {forward_s:.3f} s per clip; cache of {views} views over {epochs} epochs adds "
          f"{cache_per_epoch:.0f} s per epoch: offline epoch = {result['offline_with_cache_vs_scratch']:.2f}x "
          f"a scratch epoch (online {result['online_vs_scratch']:.2f}x)")
    for reduction, terms in scales.items():
        print(f"weighted terms at initialisation, L_F/L_O reduced by {reduction}: "
              + ", ".join(f"{k} {v:.1f}" for k, v in terms.items()))
    print(f"with bottleneck adapters: offline epoch = {result['offline_bottleneck_with_cache_vs_scratch']:.2f}x "
          "a scratch epoch")
    print(f"adapters {result['adapter_gmacs']['adapters']:.3f} GMACs (bottleneck "
          f"{result['bottleneck_adapter_gmacs']['adapters']:.3f}) against the student's "
          f"{result['adapter_gmacs']['student']:.3f} per batch")
    return result


def epoch_costs(teacher: torch.nn.Module, scratch: dict, distilled: dict, scratch_run: str, distilled_run: str,
                inputs: RunInputs, rounds: int) -> dict:
    """Whole training epochs of the pipeline's scratch and distilled recipes, interleaved (module docstring)."""
    epochs = int(distilled["train"]["epochs"])
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        distilled = {**distilled, "distill": {**distilled["distill"], "cache_dir": str(Path(tmp) / "cache")}}
        recipes = {"scratch": recognizer_recipe(RunSpec.from_params(scratch, scratch_run), inputs)}
        start = time.perf_counter()
        recipes["distilled"] = recognizer_recipe(RunSpec.from_params(distilled, distilled_run), inputs, teacher)
        cache_s = time.perf_counter() - start  # the recipe's cost is its teacher-target cache build
        trainers = {name: Trainer(r.model, r.train_set, lambda m: {}, r.config, Path(tmp) / name)
                    for name, r in recipes.items()}
        for epoch in range(rounds):
            for name, trainer in trainers.items():
                rows.append({"round": epoch, "run": name, **timed_epoch(trainer, epoch)})
                print(f"round {epoch} {name:<9} {rows[-1]['epoch_s']:6.1f} s  (steps {rows[-1]['step_s']:6.1f} s, "
                      f"rest {rows[-1]['rest_s']:5.1f} s)  {rows[-1]['clips_per_s']:.2f} clips/s")
    total = {name: sum(r["epoch_s"] for r in rows if r["run"] == name) for name in recipes}
    per_round = [b["epoch_s"] / a["epoch_s"] for a, b in zip(rows[::2], rows[1::2], strict=True)]
    result = {"rows": rows, "cache_build_s": cache_s, "configured_epochs": epochs, "round_ratios": per_round,
              "summed_ratio": total["distilled"] / total["scratch"],
              "summed_ratio_with_cache": (total["distilled"] + rounds * cache_s / epochs) / total["scratch"]}
    print("distilled / scratch epoch, per round: " + ", ".join(f"{r:.2f}" for r in per_round))
    print(f"summed over {rounds} rounds: {result['summed_ratio']:.2f}x; with the cache build ({cache_s:.0f} s) "
          f"amortised over {epochs} epochs: {result['summed_ratio_with_cache']:.2f}x")
    return result


def timed_epoch(trainer: Trainer, epoch: int) -> dict:
    """One ``Trainer.train_epoch``: its wall seconds, the seconds inside optimiser steps, the rest."""
    inner, spent = trainer.train_step, []

    def step(batch: dict) -> dict | None:
        begin = time.perf_counter()
        out = inner(batch)
        spent.append(time.perf_counter() - begin)
        return out

    trainer.train_step = step
    begin = time.perf_counter()
    metrics = trainer.train_epoch(epoch)
    wall = time.perf_counter() - begin
    del trainer.train_step
    return {"epoch_s": wall, "step_s": sum(spent), "rest_s": wall - sum(spent), "steps": len(spent),
            "clips_per_s": metrics["samples_per_s"]}


def loss_scales(params: dict, batch: dict, teacher: torch.nn.Module, recipe) -> dict:
    """Each weighted term of a fresh distiller on ``batch`` for the three L_F / L_O reductions (losses.signkd)."""
    from signdistill.training.recipes import build_model

    weights = params["train"]["loss_weights"]
    out = {}
    for reduction in ("mean", "time", "sum"):
        torch.manual_seed(0)
        options = {**params["distill"], "feature_reduction": reduction,
                   "output_reduction": "time" if reduction == "time" else "mean"}
        spec = RunSpec.from_params({**params, "distill": options}, "loss_scales")
        model = build_model(spec, recipe.vocabulary, teacher).train()
        with torch.no_grad():
            losses = model(batch)["losses"]
        out[reduction] = {k: float(v) * weights.get(k, 1.0) for k, v in losses.items()}
    return out


def adapter_gmacs(distiller: torch.nn.Module, batch: dict) -> dict:
    """Multiply-accumulates of the student's forward and of its stage adapters' (eq. 3), torch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as student:
        features = distiller.student(batch)["stage_features"]
    with torch.no_grad(), FlopCounterMode(display=False) as adapters:
        for name, adapter in distiller.adapters.items():
            adapter(features[int(name[1:]) - 1])
    return {"student": student.get_total_flops() / 2e9, "adapters": adapters.get_total_flops() / 2e9}


if __name__ == "__main__":
    app()

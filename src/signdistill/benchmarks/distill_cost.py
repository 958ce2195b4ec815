"""What a distilled epoch costs against a scratch epoch: online teacher vs cached teacher targets, side by side.

Builds, from the configuration, the scratch student (``--scratch``), and the distilled student (``--distilled``)
three times around the same frozen teacher package (``--teacher``): online (the teacher runs forward at every
step) and offline (its targets read from ``training.teacher_cache``), both with eq. 3's 3x3x3 adapters
(``distill.adapter: conv3d``) whatever the configuration sets, and offline with bottleneck adapters
(``distill.adapter: bottleneck``, the embedded default). The four take optimiser steps on the same real training
batches, round-robin so that machine noise hits them alike, and the cache's build cost (one teacher forward per
clip and view) is timed on the same clips. Prints seconds per step, each against scratch, and the epoch ratio of offline
distillation with the cache built once and amortised over the run's epochs.

Run: ``uv run python -m signdistill.benchmarks.distill_cost --teacher data/06_models/signkd_teacher.pkl
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
                                                     "package (.pkl or .pt).")],
         scratch_run: Annotated[str, typer.Option("--scratch", metavar="RUN", help="The scratch student's run.")
                                ] = "signkd_scratch",
         distilled_run: Annotated[str, typer.Option("--distilled", metavar="RUN", help="The distilled student's run.")
                                  ] = "signkd_distilled",
         steps: Annotated[int, typer.Option(metavar="N", help="Timed steps per variant.")] = 12,
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
    # online and offline use eq. 3's adapters whatever the configuration says, the third variant bottleneck ones
    online = {**distilled, "distill": {**distilled["distill"], "cache_views": 0, "adapter": "conv3d"}}
    for params in (scratch, online):
        params["train"] = {**params["train"], "device": "cpu"}
    inputs = RunInputs(store, index, vocabulary, features)
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
        # and a third with bottleneck 3x3x3 adapters (distill.adapter: bottleneck, issue 17)
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
    result = {"step_s": median, "threads": torch.get_num_threads(), "teacher_forward_s_per_clip": forward_s,
              "views": views, "epochs": epochs,
              "online_vs_scratch": median["online"] / median["scratch"],
              "offline_vs_scratch": median["offline"] / median["scratch"],
              "offline_with_cache_vs_scratch": (median["offline"] * steps_per_epoch + cache_per_epoch)
              / (median["scratch"] * steps_per_epoch),
              "offline_bottleneck_with_cache_vs_scratch": (median["offline_bottleneck"] * steps_per_epoch
                                                          + cache_per_epoch) / (median["scratch"] * steps_per_epoch),
              "loss_scales": scales,
              "adapter_gmacs": adapter_gmacs(recipes["online"].model, batches["scratch"][0]),
              "bottleneck_adapter_gmacs": adapter_gmacs(recipes["offline_bottleneck"].model, batches["scratch"][0])}
    atomic_json(out, result)
    print(f"torch threads: {result['threads']}")
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

"""CTCA's weighted terms and the gradient each sends into the BiLSTM and the shared TAM, on real training batches,
at initialisation or for a trained package: which term pushes the inference path, and how hard, once trained.

Issue 18 used it to find what makes full CTCA worse than its dual path alone: at initialisation L_cmd's gradient
into the BiLSTM is ~0 (its projections are untrained), after 24 epochs it is half of CTC's. Torch and the core only
with ``--params``.

Run: ``uv run python -m signdistill.benchmarks.ctca_terms --params conf/base/parameters_ctca.yml
conf/base/parameters_baseline.yml --set model.shared_tam=256 model.frame_stride=1 [--package RUN.pt]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import torch
import typer
from torch import nn

from signdistill.benchmarks._cli import JSON_HELP, MultiValueCommand, benchmark_app, summary
from signdistill.benchmarks._conf import PARAMS_HELP, ConfOption, DataOption, EnvOption, data_root, parameters
from signdistill.benchmarks.method_seeds import apply_overrides, run_params
from signdistill.data.clips import collate_clips
from signdistill.models.registry import read_package
from signdistill.paths import DataPaths
from signdistill.training.recipes import read_index, recognizer_recipe
from signdistill.training.spec import RunInputs, RunSpec

app = benchmark_app(__doc__)


def grad_norm(module: nn.Module | None) -> float:
    grads = [p.grad.flatten() for p in module.parameters() if p.grad is not None] if module is not None else []
    return float(torch.cat(grads).norm()) if grads else 0.0


def term_scales(model: nn.Module, batches: list[dict], weights: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per term, averaged over ``batches``: its weighted value and the gradient norms it sends into the BiLSTM
    and the shared TAM (0 where it sends none)."""
    sums: dict[str, dict[str, float]] = {}
    for batch in batches:
        losses = model(batch)["losses"]
        for name, value in losses.items():
            weighted = weights.get(name, 1.0) * value
            model.zero_grad()
            weighted.backward(retain_graph=True)
            row = sums.setdefault(name, {"weighted": 0.0, "grad_bilstm": 0.0, "grad_shared_tam": 0.0})
            row["weighted"] += float(weighted.detach()) / len(batches)
            row["grad_bilstm"] += grad_norm(model.lstm) / len(batches)
            row["grad_shared_tam"] += grad_norm(getattr(model, "shared", None)) / len(batches)
    return sums


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(run: Annotated[str, typer.Option(metavar="RUN", help="The CTCA run.")] = "ctca",
         overrides: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE ...",
                                                      help="Parameter overrides, e.g. model.shared_tam=256.")] = [],
         package: Annotated[Path | None, typer.Option(metavar="PATH", help="A trained package (.pt/.pkl) of the "
                                                      "same configuration; default: initialisation.")] = None,
         batches: Annotated[int, typer.Option(metavar="N", help="Training batches averaged.")] = 4,
         env: EnvOption = "base", conf: ConfOption = Path("conf"),
         params_files: Annotated[list[Path], typer.Option("--params", metavar="FILE ...", help=PARAMS_HELP)] = [],
         data: DataOption = None,
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    torch.set_num_threads(1)
    paths = DataPaths(data_root(data, env, conf, params_files))
    params = apply_overrides(run_params(parameters(env, conf, params_files), run), overrides)
    inputs = RunInputs(paths.frame_store, read_index(paths.corpus_index), json.loads(paths.vocabulary.read_text()))
    recipe = recognizer_recipe(RunSpec.from_params(params, run), inputs)
    model = recipe.model
    if package is not None:
        model.load_state_dict(read_package(package)["state_dict"])
    model.train()
    clips = recipe.train_set
    clips.set_epoch(0)
    torch.manual_seed(0)
    data_batches = [collate_clips([clips[2 * i], clips[2 * i + 1]]) for i in range(batches)]
    result = term_scales(model, data_batches, params["train"]["loss_weights"])
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{run} {' '.join(overrides)} ({package or 'initialisation'}), {batches} training batches of 2:")
        for name, row in result.items():
            print(f"{name:8s} weighted {row['weighted']:8.3f}  grad -> BiLSTM {row['grad_bilstm']:8.3f}  "
                  f"grad -> shared TAM {row['grad_shared_tam']:8.3f}")
    return result


if __name__ == "__main__":
    app()

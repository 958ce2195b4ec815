"""SignKD end to end, video in -> glosses out: the multi-modal teacher (flow and keypoints included) against the
RGB-only student, stage by stage, measured side by side in one run.

For one video (default: the first test video of the preprocessed corpus), each model runs its whole input
pipeline (``signdistill.decoding.video``): read, resize and crop, for the teacher TV-L1 flow and MediaPipe
keypoints with the ``features`` parameters, the network, beam search. Prints the median seconds per stage,
the totals and the teacher / student ratio. Trained packages are used when found (``--teacher``/``--student``,
default ``data/06_models/signkd_{teacher,distilled}.safetensors``); otherwise the models of the configuration
(``--env``) are built untrained, which takes the same time (latency does not depend on the weights).

Run: ``uv run python -m signdistill.benchmarks.signkd_latency [--env ENV] [--device cuda]``. Torch and the core only
(no Kedro) with ``--params conf/base/parameters_signkd.yml conf/base/parameters_features.yml
conf/base/parameters_evaluation.yml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import torch
import typer

from signdistill.benchmarks._cli import JSON_HELP, MultiValueCommand, benchmark_app, summary
from signdistill.benchmarks._conf import (
    ConfOption,
    DataOption,
    EnvOption,
    ParamsOption,
    data_root,
    parameters,
    section,
)
from signdistill.data.atomic import atomic_json
from signdistill.data.features import FeatureConfig
from signdistill.data.vocabulary import Vocabulary
from signdistill.decoding.video import end_to_end_latency, packaged_model
from signdistill.models.registry import read_package
from signdistill.paths import DATA, DataPaths
from signdistill.training.recipes import build_model
from signdistill.training.spec import RunSpec

app = benchmark_app(__doc__)
STAGES = ("read", "rgb", "flow", "keypoints", "model", "decode", "total")


def _model(package_path: Path, params: dict, vocabulary: dict) -> tuple[torch.nn.Module, dict, Vocabulary, bool]:
    if package_path.exists():
        return (*packaged_model(read_package(package_path)), True)
    vocab = Vocabulary.from_dict(vocabulary)
    spec = RunSpec.from_params(params, package_path.stem)
    return build_model(spec, vocab).eval(), spec.data_view(), vocab, False


def format_table(result: dict) -> str:
    seconds = result["seconds"]
    names = list(seconds)
    lines = [f"{result['video']} ({result['frames']} frames)", f"{'stage':<10}" + "".join(f"{n:>12}" for n in names)]
    for stage in STAGES:
        lines.append(f"{stage:<10}" + "".join(f"{seconds[n].get(stage, 0.0):>11.3f}s" for n in names))
    lines.append(f"end-to-end ratio {names[0]} / {names[-1]}: {result['ratio']:.2f}x")
    return "\n".join(lines)


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(env: EnvOption = "base",
         conf: ConfOption = Path("conf"),
         params: ParamsOption = [],
         data: DataOption = None,
         teacher: Annotated[Path, typer.Option(metavar="PATH", help="Teacher package.")
                            ] = DATA.model("signkd_teacher"),
         student: Annotated[Path, typer.Option(metavar="PATH", help="Student package.")
                            ] = DATA.model("signkd_distilled"),
         video: Annotated[str | None, typer.Option(metavar="PATH", help="A video file or frame folder (default: the "
                                                   "first test video).")] = None,
         repeats: Annotated[int, typer.Option(metavar="N", help="Timed runs per model; the median is kept.")] = 3,
         device: Annotated[str, typer.Option(metavar="DEVICE", help="cpu | cuda | cuda:N")] = "cpu",
         out: Annotated[Path, typer.Option(metavar="PATH", help="Where the JSON result is written.")
                        ] = DATA.report("signkd_latency.json"),
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    config = parameters(env, conf, params)
    source_name = " ".join(map(str, params)) or f"--env {env}"
    features = FeatureConfig.from_params(section(config, "features", source_name))
    evaluation = section(config, "evaluation", source_name)
    paths = DataPaths(data_root(data, env, conf, params))
    vocabulary = json.loads(paths.vocabulary.read_text())
    if video:
        source = Path(video)
    else:
        index = pd.read_csv(paths.corpus_index)
        source = Path(index[index.split == "test"].source.iloc[0])
    models, trained = {}, {}
    # an untrained student is the scratch run's network: the distilled run's streams are its teacher's
    packages = (("teacher", teacher, "signkd_teacher"), ("student", student, "signkd_scratch"))
    for name, path, run in packages:
        model, view, vocab, trained[name] = _model(path, section(config, run, source_name)["recognizer"], vocabulary)
        models[name] = (model.to(device), view, vocab)
    with torch.inference_mode():
        result = end_to_end_latency(models, source, features, evaluation["decoder"], int(evaluation["beam_width"]),
                                    repeats)
    result.update(trained=trained, device=device, threads=torch.get_num_threads())
    atomic_json(out, result)
    print(json.dumps(result, indent=1) if as_json else format_table(result))
    return result


if __name__ == "__main__":
    app()

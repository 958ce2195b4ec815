"""SignKD end to end, video in -> glosses out: the multi-modal teacher (flow and keypoints included) against the
RGB-only student, stage by stage, measured side by side in one run.

For one video (default: the first test video of the preprocessed corpus), each model runs its whole input
pipeline (``signdistill.decoding.video``): read, resize and crop, for the teacher TV-L1 flow and MediaPipe
keypoints with the ``features`` parameters, the network, beam search. Prints the median seconds per stage,
the totals and the teacher / student ratio. Trained packages are used when found (``--teacher``/``--student``,
default ``data/06_models/signkd_{teacher,distilled}.pkl``); otherwise the models of the parameters file are
built untrained, which takes the same time (latency does not depend on the weights).

Run: ``uv run python -m signdistill.benchmarks.signkd_latency [--device cuda]``. Torch and the core only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import torch
import yaml

from signdistill.data.atomic import atomic_json
from signdistill.data.features import FeatureConfig
from signdistill.data.vocabulary import Vocabulary
from signdistill.decoding.video import end_to_end_latency, packaged_model
from signdistill.models.registry import read_package
from signdistill.training.recipes import build_model
from signdistill.training.spec import RunSpec

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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("conf/base/parameters_signkd.yml"))
    parser.add_argument("--conf", type=Path, default=Path("conf/base"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--teacher", type=Path, default=Path("data/06_models/signkd_teacher.pkl"))
    parser.add_argument("--student", type=Path, default=Path("data/06_models/signkd_distilled.pkl"))
    parser.add_argument("--video", default=None, help="a video file or frame folder (default: first test video)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/signkd_latency.json"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    params = yaml.safe_load(args.params.read_text())
    features = yaml.safe_load((args.conf / "parameters_features.yml").read_text())["features"]
    features = FeatureConfig.from_params(features)
    evaluation = yaml.safe_load((args.conf / "parameters_evaluation.yml").read_text())["evaluation"]
    vocabulary = json.loads((args.data / "03_primary/vocabulary.json").read_text())
    if args.video:
        source = Path(args.video)
    else:
        index = pd.read_csv(args.data / "02_intermediate/corpus_index.csv")
        source = Path(index[index.split == "test"].source.iloc[0])
    models, trained = {}, {}
    # an untrained student is the scratch run's network: the distilled run's streams are its teacher's
    for name, path, run in (("teacher", args.teacher, "signkd_teacher"), ("student", args.student, "signkd_scratch")):
        model, view, vocab, trained[name] = _model(path, params[run]["recognizer"], vocabulary)
        models[name] = (model.to(args.device), view, vocab)
    with torch.inference_mode():
        result = end_to_end_latency(models, source, features, evaluation["decoder"], int(evaluation["beam_width"]),
                                    args.repeats)
    result.update(trained=trained, device=args.device, threads=torch.get_num_threads())
    atomic_json(args.out, result)
    print(json.dumps(result, indent=1) if args.json else format_table(result))
    return result


if __name__ == "__main__":
    main()

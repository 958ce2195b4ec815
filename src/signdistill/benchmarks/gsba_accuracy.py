"""SMKD's Gloss Segment Boundary Assignment against SynthSign's true frame alignment, by radius d.

For each video of a split, a trained SMKD model (a package, e.g. one kept by ``method_seeds`` or
``data/06_models/smkd.pkl``) gives its contextual features and predictions on the evaluation view; GSBA
labels every output frame for each d (d = 0: the CTC spikes alone), and the labels are compared with the
generator's alignment at the centre of each output frame's receptive field (``models.smkd.
score_pseudo_labels``). Prints, per d, frame accuracy (correct / labelled sign frames), coverage (labelled /
sign frames) and the share of transition frames that got a label.

Run: ``uv run python -m signdistill.benchmarks.gsba_accuracy --model data/06_models/smkd.pkl``. Core only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import torch
import typer

from signdistill.benchmarks._cli import MultiValueCommand, benchmark_app, summary
from signdistill.data.atomic import atomic_json
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.models.registry import load_recognizer, read_package
from signdistill.models.smkd import (
    alignment_gloss_ids,
    gsba_accuracy_by_radius,
    load_frame_alignment,
    pseudo_label_ratios,
)
from signdistill.paths import DATA, DataPaths
from signdistill.training.recipes import clip_dataset, read_index

app = benchmark_app(__doc__)

COUNTS = ("sign_frames", "assigned", "correct", "transition_frames", "transition_labelled")


@torch.inference_mode()
def gsba_by_radius(package: dict, store: FrameStore, index: list[dict], alignments: Path, split: str = "dev",
                   radii: tuple[int, ...] = (0, 1, 2, 3, 4)) -> dict[int, dict]:
    """Summed counts and ratios of GSBA's labels per radius over every video of ``split``."""
    if package["kind"] != "smkd":
        raise ValueError(f"GSBA needs an SMKD model (weight-normalised class vectors), got {package['kind']!r}")
    model = load_recognizer(package)
    vocab = Vocabulary.from_dict(package["vocabulary"])
    dataset = clip_dataset(store, index, vocab, split, package["data"], train=False)
    vectors = model.classifier.class_vectors()
    totals = {d: dict.fromkeys(COUNTS, 0) for d in radii}
    for i in range(len(dataset)):
        item = dataset[i]
        positions = load_frame_alignment(alignments, split, item["id"])
        if positions.max() >= len(item["labels"]):  # a gloss outside the vocabulary: positions would shift
            continue
        video = item["video"][None]
        out = model({"video": video, "lengths": torch.tensor([video.shape[1]])})
        n = int(out["out_lengths"][0])
        truth = alignment_gloss_ids(positions, item["labels"].numpy())
        scores = gsba_accuracy_by_radius(out["context_features"][0, :n], vectors, out["log_probs"][0, :n],
                                         item["labels"], truth, radii)
        for d, score in scores.items():
            for key in COUNTS:
                totals[d][key] += score[key]
    return {d: {**counts, **pseudo_label_ratios(counts)} for d, counts in totals.items()}


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(model: Annotated[Path, typer.Option(metavar="PATH", help="An SMKD model package (.pkl or .pt).")],
         split: Annotated[str, typer.Option(metavar="NAME", help="The split whose videos are scored.")] = "dev",
         radii: Annotated[list[int], typer.Option(metavar="D ...", help="GSBA radii d to score.")] = [0, 1, 2, 3, 4],
         data: Annotated[Path, typer.Option(metavar="PATH", help="Data root of the preprocessed corpus.")] = DATA.root,
         corpus: Annotated[Path, typer.Option(metavar="PATH", help="The SynthSign corpus (its frame alignments).")
                           ] = DATA.corpus,
         out: Annotated[Path, typer.Option(metavar="PATH", help="Where the JSON result is written.")
                        ] = DATA.report("gsba_accuracy.json")) -> dict:
    package = read_package(model)
    paths = DataPaths(data)
    result = gsba_by_radius(package, FrameStore(paths.frame_store), read_index(paths.corpus_index), corpus, split,
                            tuple(radii))
    atomic_json(out, {"model": str(model), "split": split, "by_radius": result})
    print(f"GSBA pseudo-labels vs SynthSign's alignment ({split}, {model}):")
    print(f"{'d':>3}{'frame acc':>11}{'coverage':>10}{'transition labelled':>21}")
    for d, row in result.items():
        print(f"{d:>3}{row['frame_accuracy']:>11.3f}{row['coverage']:>10.3f}{row['transition_assigned']:>21.3f}")
    print(json.dumps({d: round(r["frame_accuracy"], 4) for d, r in result.items()}))
    return result


if __name__ == "__main__":
    app()

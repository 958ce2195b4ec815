"""SMKD's Gloss Segment Boundary Assignment against SynthSign's true frame alignment, by radius d.

For each video of a split, a trained SMKD model (a package, e.g. one kept by ``method_seeds`` or
``data/06_models/smkd.safetensors``) gives its contextual features and predictions on the evaluation view; GSBA
labels every output frame for each d (d = 0: the CTC spikes alone), and the labels are compared with the
generator's alignment at the centre of each output frame's receptive field (``score_pseudo_labels``).
Prints, per d, frame accuracy (correct / labelled sign frames), coverage (labelled / sign frames) and the
share of transition frames that got a label.

Run: ``uv run python -m signdistill.benchmarks.gsba_accuracy --model data/06_models/smkd.safetensors``. Core only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

from signdistill.benchmarks._cli import MultiValueCommand, benchmark_app, summary
from signdistill.data.atomic import atomic_json
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.losses.smkd import IGNORE_INDEX
from signdistill.models.gsba import gsba
from signdistill.models.registry import load_recognizer, read_package
from signdistill.paths import DATA, DataPaths
from signdistill.synth.motion import TRANSITION
from signdistill.training.recipes import clip_dataset, read_index

app = benchmark_app(__doc__)

COUNTS = ("sign_frames", "assigned", "correct", "transition_frames", "transition_labelled")


# --------------------------------------------------------------------------- scoring against true alignments


def load_frame_alignment(root: str | Path, split: str, video_id: str) -> np.ndarray:
    """SynthSign's true alignment of one video: [T] int64 gloss position in the annotation per input
    frame (0 = first gloss of the sentence, ``TRANSITION`` = -1 between signs).

    Reads ``<root>/groundtruth/<split>/<id>.npz`` (key ``alignment``; the keypoints beside it are not
    decompressed), as written by ``signdistill.synth.corpus``.
    """
    with np.load(Path(root) / "groundtruth" / split / f"{video_id}.npz") as data:
        return data["alignment"].astype(np.int64)


def alignment_gloss_ids(positions: np.ndarray, labels: np.ndarray | list[int]) -> np.ndarray:
    """Gloss positions [T] -> class ids [T] through the annotation's label ids (all glosses of the
    annotation, in order); transitions stay ``TRANSITION``."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.where(positions >= 0, labels[np.clip(positions, 0, None)], TRANSITION)


def output_frame_centres(num_out: int, layout: str = "K5P2K5P2") -> np.ndarray:
    """Input-frame coordinate of the centre of each output frame's receptive field.

    Walking the layout backwards, a conv of kernel k maps c -> c + (k - 1) / 2 and a pool of size p maps
    c -> p * c + (p - 1) / 2; for K5-P2-K5-P2 output frame j is centred on input frame 4j + 7.5
    (receptive field 4j .. 4j + 15).
    """
    centre = np.arange(num_out, dtype=np.float64)
    for i in range(len(layout) - 2, -1, -2):
        kind, size = layout[i], int(layout[i + 1])
        centre = centre + (size - 1) / 2 if kind == "K" else size * centre + (size - 1) / 2
    return centre


def downsample_alignment(frame_ids: np.ndarray, num_out: int, layout: str = "K5P2K5P2") -> np.ndarray:
    """True per-input-frame ids [T] -> the id at each output frame [num_out]: the input frame at the
    centre of its receptive field (the earlier of the two middle frames, clipped to the clip)."""
    idx = np.clip(np.floor(output_frame_centres(num_out, layout)).astype(np.int64), 0, len(frame_ids) - 1)
    return frame_ids[idx]


def score_pseudo_labels(pseudo: np.ndarray | torch.Tensor, frame_ids: np.ndarray, layout: str = "K5P2K5P2",
                        ignore_index: int = IGNORE_INDEX) -> dict[str, float]:
    """Compare output-rate pseudo-labels [T'] with a true alignment of class ids at the input rate [T].

    Counts (summable over clips) and ratios: ``frame_accuracy`` = correct / assigned among output frames
    whose centre lies in a sign; ``coverage`` = assigned / such frames; ``transition_assigned`` = share
    of transition frames that got a label anyway.
    """
    pseudo = np.asarray(pseudo.cpu() if isinstance(pseudo, torch.Tensor) else pseudo, dtype=np.int64)
    truth = downsample_alignment(np.asarray(frame_ids, dtype=np.int64), len(pseudo), layout)
    assigned, sign = pseudo != ignore_index, truth != TRANSITION
    counts = {
        "sign_frames": int(sign.sum()),
        "assigned": int((assigned & sign).sum()),
        "correct": int((assigned & sign & (pseudo == truth)).sum()),
        "transition_frames": int((~sign).sum()),
        "transition_labelled": int((assigned & ~sign).sum()),
    }
    return {**counts, **pseudo_label_ratios(counts)}


def pseudo_label_ratios(counts: dict[str, int]) -> dict[str, float]:
    """Ratios of (possibly summed) ``score_pseudo_labels`` counts."""
    return {
        "frame_accuracy": counts["correct"] / max(counts["assigned"], 1),
        "coverage": counts["assigned"] / max(counts["sign_frames"], 1),
        "transition_assigned": counts["transition_labelled"] / max(counts["transition_frames"], 1),
    }


def gsba_accuracy_by_radius(context_features: torch.Tensor, class_vectors: torch.Tensor, log_probs: torch.Tensor,
                            labels: torch.Tensor, frame_ids: np.ndarray, radii: tuple[int, ...] = (0, 1, 2, 3, 4),
                            layout: str = "K5P2K5P2") -> dict[int, dict[str, float]]:
    """``score_pseudo_labels`` of one clip's GSBA labels for each d (d = 0: the CTC spikes alone)."""
    return {d: score_pseudo_labels(gsba(context_features, class_vectors, log_probs, labels, d), frame_ids, layout)
            for d in radii}


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
def main(model: Annotated[Path, typer.Option(metavar="PATH", help="An SMKD model package (.safetensors or .pt).")],
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

"""Loss scales at initialisation on a real SynthSign batch: every weighted term of SMKD, CRKD, CTCA, SignKD's
distilled student and the combined one (the same student below its teacher's resolution) next to CTC, with the
gradient each sends into the network's parts (torch and the core only).

The batch is rendered in memory from the ``tiny`` preset (its first training videos, resized to the store size
and centre-cropped as at evaluation), so no corpus has to exist on disk; the tests use the same batch.

Run: ``uv run python -m signdistill.benchmarks.loss_scales [--env ENV] [--json]`` (prints one table per method).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from torch import nn

from signdistill.benchmarks._cli import JSON_HELP, benchmark_app, summary
from signdistill.benchmarks._conf import EnvOption, parameters
from signdistill.data.clips import collate_clips, resize_frames
from signdistill.data.vocabulary import Vocabulary
from signdistill.models.registry import build_recognizer
from signdistill.synth.corpus import get_preset, plan_corpus, render_video
from signdistill.synth.lexicon import rest_glosses

CONF = Path(__file__).resolve().parents[3] / "conf"
app = benchmark_app(__doc__)


def synthsign_batch(videos: int = 2, store_size: int = 40, crop: int = 36, seed: int = 0,
                    teacher_crop: int | None = None) -> tuple[dict, Vocabulary]:
    """The first ``videos`` training videos of SynthSign ``tiny`` (seed ``seed``) as a collated batch: uint8
    ``video`` [B, T, crop, crop, 3] (resized to ``store_size``, centre crop), labels of the tiny vocabulary.
    With ``teacher_crop`` the centre crop is that size (``video_teacher``) and ``video`` is it resized to
    ``crop`` (CRKD's two resolutions of one crop)."""
    preset = get_preset("tiny")
    lexicon, signers, plans = plan_corpus(preset, seed)
    glosses = {g.name: g for g in [*lexicon, *rest_glosses()]}
    vocab = Vocabulary.from_sequences(p.glosses for p in plans)
    items = []
    for plan in [p for p in plans if p.split == "train"][:videos]:
        frames = render_video(plan, glosses, signers[plan.signer], seed, preset.width, preset.height)[0]
        frames = resize_frames(frames, store_size)
        side = teacher_crop or crop
        top = (store_size - side) // 2
        frames = np.ascontiguousarray(frames[:, top:top + side, top:top + side])
        item = {"id": plan.id, "signer": signers[plan.signer].name, "labels": torch.tensor(vocab.encode(plan.glosses))}
        if teacher_crop:
            item["video_teacher"] = torch.from_numpy(frames)
            item["video"] = torch.from_numpy(resize_frames(frames, crop))
        else:
            item["video"] = torch.from_numpy(frames)
        items.append(item)
    return collate_clips(items), vocab


@cache
def _parameters(env: str) -> dict:
    return parameters(env, CONF)


def run_params(run: str, env: str = "base") -> dict:
    """The recogniser section of ``run`` as ``kedro run --env <env>`` loads it (the project's ``conf/``)."""
    return _parameters(env)[run]["recognizer"]


def gradient_norm(loss: torch.Tensor, params: list[nn.Parameter]) -> float:
    """L2 norm of d loss / d params (0 where the loss does not reach them)."""
    if not loss.requires_grad:
        return 0.0
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return float(sum(float((g.float() ** 2).sum()) for g in grads if g is not None) ** 0.5)


def term_scales(model: nn.Module, batch: dict, weights: dict[str, float],
                parts: dict[str, list[nn.Parameter]]) -> dict[str, dict[str, float]]:
    """Per loss term: its weight, weighted value and the gradient norm it sends into each of ``parts``."""
    torch.manual_seed(0)
    losses = model.train()(batch)["losses"]
    out = {}
    for name, value in losses.items():
        weighted = weights.get(name, 1.0) * value
        out[name] = {"weight": weights.get(name, 1.0), "value": float(weighted.detach()),
                     **{f"grad_{part}": gradient_norm(weighted, params) for part, params in parts.items()}}
    return out


def smkd_scales(batch: dict, vocab: Vocabulary, run: str = "smkd", env: str = "base") -> dict:
    """SMKD (``run`` of parameters_smkd.yml) in the synchronous stage with every term of eqs. 9, 10 and 12 on."""
    params = run_params(run, env)
    torch.manual_seed(0)
    model = build_recognizer("smkd", len(vocab), {**params["model"], "staged": False, "visual_ctc": True,
                                                  "shared_classifier": True, "segmentation": True, "kd": True})
    parts = {"bilstm": list(model.lstm.parameters()), "visual": [*model.frames.parameters(),
                                                                 *model.temporal.parameters()]}
    return term_scales(model, batch, params["train"]["loss_weights"], parts)


def crkd_scales(batch: dict, vocab: Vocabulary, env: str = "base") -> dict:
    """CRKD's distilled LRINet (parameters_crkd.yml) against a fresh MSTNet teacher of the configured size."""
    from signdistill.training.recipes import build_distiller
    from signdistill.training.spec import DistillSpec

    teacher_params, params = run_params("crkd_teacher", env), run_params("crkd_distilled", env)
    torch.manual_seed(0)
    teacher = build_recognizer("mstnet", len(vocab), teacher_params["model"]).eval()
    student = build_recognizer("lrinet", len(vocab), {**params["model"], "gradient_stop": 0.0})
    distiller = build_distiller(teacher, student, DistillSpec.from_params(params["distill"]))
    return term_scales(distiller, batch, params["train"]["loss_weights"], {"student": list(student.parameters())})


def signkd_scales(run: str = "signkd_distilled", env: str = "base", teacher_run: str = "signkd_teacher") -> dict:
    """SignKD's distilled RGB student (``run``: ``signkd_distilled``, or ``combined_distilled``, the same student at a
    lower resolution than its teacher's) against a fresh teacher of the configured size, on two SynthSign clips
    cropped as the runs crop them, each network at its own resolution. The teacher is untrained, so its flow and
    keypoint streams are stand-ins (still frames, keypoints spread over the crop)."""
    from signdistill.training.recipes import build_distiller
    from signdistill.training.spec import DistillSpec, input_size

    teacher_params, params = run_params(teacher_run, env), run_params(run, env)
    student_size, teacher_size = input_size(params), input_size(teacher_params)
    batch, vocab = synthsign_batch(store_size=int(params["store_size"]), crop=student_size,
                                   teacher_crop=int(params["crop"]))
    teacher_frames = batch.pop("video_teacher")
    if teacher_size != student_size:
        batch["video_teacher"] = torch.stack([torch.from_numpy(resize_frames(clip.numpy(), teacher_size))
                                              for clip in teacher_frames])
    b, t = batch["video"].shape[:2]
    side = int(teacher_params["model"].get("heatmap_size") or teacher_size // 2)
    generator = torch.Generator().manual_seed(0)
    batch["flow"] = torch.zeros(b, t, 2, side, side)
    batch["keypoints"] = torch.rand(b, t, 133, 3, generator=generator) * torch.tensor([side, side, 1.0])
    torch.manual_seed(0)
    teacher = build_recognizer("signkd_teacher", len(vocab), teacher_params["model"]).eval()
    student = build_recognizer("signkd_student", len(vocab), params["model"])
    distiller = build_distiller(teacher, student, DistillSpec.from_params(params["distill"]))
    return term_scales(distiller, batch, params["train"]["loss_weights"],
                       {"student": list(student.parameters()), "adapters": list(distiller.adapters.parameters())})


def ctca_model(vocab: Vocabulary, run: str = "ctca", env: str = "base", **overrides) -> tuple[nn.Module, dict]:
    """CTCA (``run`` of parameters_ctca.yml, with its gloss embeddings) and its loss weights."""
    from signdistill.training.recipes import model_inputs

    params = run_params(run, env)
    model_params = {**params["model"], **overrides}
    torch.manual_seed(0)
    model = build_recognizer("ctca", len(vocab), model_params, **model_inputs("ctca", model_params, vocab))
    return model, params["train"]["loss_weights"]


def ctca_scales(batch: dict, vocab: Vocabulary, env: str = "base") -> dict:
    model, weights = ctca_model(vocab, env=env)
    parts = {"bilstm": list(model.lstm.parameters()), "spm": list(model.frames.parameters()),
             "tcn": list(model.tcn.parameters())}
    return term_scales(model, batch, weights, parts)


def table(title: str, rows: dict[str, dict[str, float]]) -> str:
    cols = [c for c in next(iter(rows.values())) if c != "weight"]
    lines = [title, f"{'term':<12}{'weight':>8}" + "".join(f"{c:>14}" for c in cols)]
    for name, row in rows.items():
        lines.append(f"{name:<12}{row['weight']:>8.3g}" + "".join(f"{row[c]:>14.4g}" for c in cols))
    return "\n".join(lines)


@app.command(help=summary(__doc__))
def main(env: EnvOption = "base",
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    torch.set_num_threads(1)
    batch, vocab = synthsign_batch()
    crkd_batch, _ = synthsign_batch(store_size=128, crop=40, teacher_crop=112)
    result = {"smkd": smkd_scales(batch, vocab, env=env), "crkd": crkd_scales(crkd_batch, vocab, env),
              "ctca": ctca_scales(batch, vocab, env), "signkd": signkd_scales("signkd_distilled", env),
              "combined": signkd_scales("combined_distilled", env)}
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        for name, rows in result.items():
            print(table(f"{name} (weighted terms at initialisation, 2 tiny SynthSign clips)", rows), "\n")
    return result


if __name__ == "__main__":
    app()

"""CTCA's terms measured on a real SynthSign batch (the review's findings of issue 18), torch and the core only.

- Scales at initialisation: each weighted term against CTC, its gradient into the BiLSTM and the SPM
  (``benchmarks.loss_scales``).
- L_rc: its value, the floor the BiLSTM can reach (V^glo is a tanh output in (-1, 1): the best it can do is
  V^loc clipped to [-1, 1], or V^loc shrunk into the box where only directions count) and the share of V^loc
  outside (-1, 1).
- Eq. 6: the entropy weight w over the frames; eq. 3: the intersection I, at initialisation and after
  overfitting the batch.
- L_cmd: its gradient into the BiLSTM, and whether the text prior could exist on SynthSign: the MiniLM
  cosine of gloss pairs of one sign family (minimal pairs) against pairs of different families.
- The SDPN stall: train CTC of the BiLSTM path after overfitting one fixed batch for ``--steps`` Adam steps,
  for the baseline, the SDPN, the SDPN without the TCN's CTC (the SPM trained by the BiLSTM alone), the SDPN
  with a local aggregation (two k5 convs, no pooling) in front of the BiLSTM, and SDPN D / full CTCA.

Run: ``uv run python -m signdistill.benchmarks.ctca_diagnostics [--steps 150] [--json]``; writes
``data/08_reporting/ctca_diagnostics.json``. The same script measures the losses as they were before issue 18:
``git checkout dc527fe -- src/signdistill/losses/ctca.py src/signdistill/models/ctca.py conf/base/parameters_ctca.yml``,
run it, then ``git checkout HEAD --`` the same three files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from torch import nn

from signdistill.benchmarks._cli import JSON_HELP, benchmark_app, summary
from signdistill.benchmarks._conf import EnvOption
from signdistill.benchmarks.loss_scales import ctca_model, ctca_scales, synthsign_batch
from signdistill.data.vocabulary import Vocabulary
from signdistill.losses.ctc import time_mask
from signdistill.losses.ctca import entropy_weight, intersection, rc_loss
from signdistill.models.ctca import CTCAConfig, encode_global
from signdistill.models.registry import build_recognizer
from signdistill.paths import DATA

app = benchmark_app(__doc__)


def representations(model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    """V^loc, V^glo, the local branch's log-probabilities and the mask of one training forward."""
    torch.manual_seed(0)
    extra = (model.aggregate,) if hasattr(model, "aggregate") else ()  # absent before issue 18's changes
    feats, v_glo, lengths = encode_global(model.frames, model.lstm, batch, model.config.frame_stride, True, *extra)
    v_loc = model.tcn(feats)
    return {"v_loc": v_loc.detach(), "v_glo": v_glo.detach(), "mask": time_mask(lengths, v_glo.shape[1]),
            "loc_log_probs": model.local_classifier(v_loc).log_softmax(-1).detach()}


def stats(x: torch.Tensor) -> dict[str, float]:
    x = x.float()
    return {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}


def rc_report(model: nn.Module, batch: dict, weight: float) -> dict:
    """Weighted L_rc now, at the floor a tanh-bounded V^glo can reach, and how much of V^loc lies outside."""
    r = representations(model, batch)
    kwargs = {"loc_log_probs": r["loc_log_probs"]} if "loc_log_probs" in rc_loss.__code__.co_varnames else {}
    now = weight * float(rc_loss(r["v_glo"], r["v_loc"], r["mask"], **kwargs))
    # the best V^glo in (-1, 1)^D: V^loc clipped (the nearest point, for a raw distance) or V^loc shrunk into the
    # box (the same direction, for a distance of normalised vectors); the lower of the two
    shrunk = r["v_loc"] * 0.999 / r["v_loc"].abs().amax(-1, keepdim=True).clamp_min(1.0)
    floor = weight * min(float(rc_loss(r["v_loc"].clamp(-1, 1), r["v_loc"], r["mask"], **kwargs)),
                         float(rc_loss(shrunk, r["v_loc"], r["mask"], **kwargs)))
    valid = r["v_loc"][r["mask"]]
    return {"weighted": now, "floor_weighted": floor, "v_loc_outside_unit": float((valid.abs() > 1).float().mean())}


def weight_report(model: nn.Module, batch: dict) -> dict:
    """Eq. 6's w and eq. 3's I over the valid frames (channels) of the batch."""
    r = representations(model, batch)
    source = r["loc_log_probs"] if entropy_weight.__code__.co_varnames[0] == "loc_log_probs" else r["v_loc"]
    w = entropy_weight(source)[r["mask"]]
    i = intersection(r["v_loc"], r["v_glo"], r["mask"])[r["mask"]]
    return {"entropy_weight": stats(w), "intersection": stats(i)}


def cmd_prior(glosses: int = 40, seed: int = 0) -> dict:
    """MiniLM cosine of gloss pairs within a SynthSign sign family (minimal pairs: one parameter differs)
    against pairs across families, on the default preset's lexicon."""
    from signdistill.models.text_encoder import embed_glosses
    from signdistill.synth.lexicon import build_lexicon

    lexicon = build_lexicon(glosses, seed)
    emb = torch.nn.functional.normalize(embed_glosses([g.name for g in lexicon]).float(), dim=-1)
    cos = emb @ emb.T
    family = torch.tensor([g.family for g in lexicon])
    same = (family[:, None] == family[None, :]) & ~torch.eye(len(lexicon), dtype=torch.bool)
    other = family[:, None] != family[None, :]
    return {"pairs_same_family": int(same.sum()) // 2, "cosine_same_family": float(cos[same].mean()),
            "cosine_other_family": float(cos[other].mean()), "cosine_other_family_std": float(cos[other].std())}


def overfit(model: nn.Module, batch: dict, weights: dict[str, float], steps: int, every: int = 25) -> list[dict]:
    """Adam (lr 2e-3, clip 5, the configured budget's) on one fixed batch; the unweighted terms every ``every``
    steps."""
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    curve = []
    model.train()
    for step in range(steps + 1):
        torch.manual_seed(step)
        losses = model(batch)["losses"]
        if step % every == 0:
            curve.append({"step": step, **{k: round(float(v), 3) for k, v in losses.items()}})
        if step == steps:
            break
        loss = sum(weights.get(k, 1.0) * v for k, v in losses.items())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    return curve


def stall_experiments(batch: dict, vocab: Vocabulary, steps: int, env: str = "base") -> dict:
    """Train CTC of each variant on one fixed batch (see the module docstring)."""
    out: dict[str, list[dict]] = {}
    torch.manual_seed(0)
    baseline = build_recognizer("baseline", len(vocab), {"width": 16, "hidden": 256, "lstm_hidden": 128,
                                                         "lstm_layers": 2, "weights": None})
    out["baseline"] = overfit(baseline, batch, {"ctc": 1.0}, steps)
    sdpn, weights = ctca_model(vocab, "ctca_sdpn", env=env)
    out["sdpn"] = overfit(sdpn, batch, weights, steps)
    sdpn, weights = ctca_model(vocab, "ctca_sdpn", env=env)
    out["sdpn_without_tcn_ctc"] = overfit(sdpn, batch, {**weights, "ctc_loc": 0.0}, steps)
    if "local_aggregation" in CTCAConfig.__dataclass_fields__:  # absent before issue 18's changes
        sdpn, weights = ctca_model(vocab, "ctca_sdpn", local_aggregation=2, env=env)
        out["sdpn_local_aggregation"] = overfit(sdpn, batch, weights, steps)
    model, weights = ctca_model(vocab, "ctca_d", env=env)
    out["sdpn_d"] = overfit(model, batch, weights, steps)
    model, weights = ctca_model(vocab, "ctca", env=env)
    out["ctca"] = overfit(model, batch, weights, steps)
    out["ctca_after_overfit"] = [weight_report(model, batch) | {"rc": rc_report(model, batch, weights["rc"])}]
    return out


@app.command(help=summary(__doc__))
def main(steps: Annotated[int, typer.Option(metavar="N", help="Adam steps of each stall experiment.")] = 150,
         env: EnvOption = "base",
         out: Annotated[Path, typer.Option(metavar="PATH", help="Where the JSON result is written.")
                        ] = DATA.report("ctca_diagnostics.json"),
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    torch.set_num_threads(1)
    np.random.seed(0)
    batch, vocab = synthsign_batch()
    model, weights = ctca_model(vocab, env=env)
    result = {"scales": ctca_scales(batch, vocab, env), "rc": rc_report(model, batch, weights["rc"]),
              **weight_report(model, batch), "cmd_prior": cmd_prior(),
              "stall": stall_experiments(batch, vocab, steps, env)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        print(json.dumps({k: v for k, v in result.items() if k != "stall"}, indent=1))
        for name, curve in result["stall"].items():
            print(name, curve[-1] if name != "ctca_after_overfit" else curve[0])
            if name != "ctca_after_overfit":
                print("   ctc by step:", [row.get("ctc") for row in curve])
    return result


if __name__ == "__main__":
    app()

"""Glosses with their time spans, from the CTC spikes of a trained model on one video.

CTC emits each gloss at one output step (its spike: the step where the decoded label is most probable in
the best alignment, ``decoding.ctc.Hypothesis.spikes``). An output step covers ``frames / steps`` input
frames (the models shorten time ~4x), so a spike maps to a time in the video. A gloss' span reaches halfway
to its neighbours' spikes; the first and last extend as far before and after their spike as they reach on
the other side, within the video. The spans are the model's guess of where each sign is, not a segmentation
it was trained for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from signdistill.data.features import FeatureConfig
from signdistill.data.vocabulary import Vocabulary
from signdistill.decoding.ctc import beam_search, greedy_decode
from signdistill.decoding.windows import OVERLAP, WINDOW, Frames, windowed_log_probs


@dataclass
class GlossSpan:
    gloss: str
    start_s: float
    end_s: float
    spike_s: float

    def as_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def spike_spans(glosses: list[str], spikes: list[int], steps: int, frames: int, fps: float) -> list[GlossSpan]:
    """Spans of ``glosses`` whose spikes are output steps ``spikes`` of ``steps`` covering ``frames`` frames."""
    if len(glosses) != len(spikes):
        raise ValueError(f"{len(glosses)} glosses but {len(spikes)} spikes")
    if not glosses:
        return []
    per_step = frames / max(steps, 1)
    centres = [(spike + 0.5) * per_step for spike in spikes]  # frame positions of the spikes
    bounds = [(a + b) / 2 for a, b in zip(centres, centres[1:], strict=False)]
    starts = [max(0.0, centres[0] - ((bounds[0] - centres[0]) if bounds else per_step)), *bounds]
    ends = [*bounds, min(float(frames), centres[-1] + ((centres[-1] - bounds[-1]) if bounds else per_step))]
    return [GlossSpan(gloss, start / fps, end / fps, centre / fps)
            for gloss, start, end, centre in zip(glosses, starts, ends, centres, strict=True)]


@torch.inference_mode()
def recognise_spans(model: nn.Module, frames: Frames, view: dict, vocabulary: Vocabulary, fps: float,
                    features: FeatureConfig | None = None, method: str = "beam", beam_width: int = 10,
                    window: int | None = WINDOW, overlap: int = OVERLAP) -> list[GlossSpan]:
    """Glosses of one video (``frames`` at source resolution, ``fps`` frames per second) with their spans; a
    video longer than ``window + 2 * overlap`` frames runs in windows (``decoding.windows``), ``window`` None
    runs it whole."""
    log_probs = windowed_log_probs(model, frames, view, features, window, overlap)[:, None]  # [T', 1, C]
    lengths = torch.tensor([len(log_probs)])
    if method == "greedy":
        hypothesis = greedy_decode(log_probs, lengths)[0]
    elif method == "beam":
        hypothesis = beam_search(log_probs, lengths, beam_width=beam_width)[0]
    else:
        raise ValueError(f"unknown decoder {method!r} (greedy | beam)")
    return spike_spans(vocabulary.decode(hypothesis.ids), hypothesis.spikes, int(lengths[0]), len(frames), fps)

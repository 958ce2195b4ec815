"""SMKD's Gloss Segment Boundary Assignment (Hao, Min and Chen, ICCV 2021, Sec. 3.5): per-frame pseudo gloss
labels for the visual module, grown from the CTC spikes towards the frames whose contextual feature is most
like the gloss's class vector."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from signdistill.losses.ctc import split_labels
from signdistill.losses.smkd import IGNORE_INDEX


def ctc_forced_alignment(log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Most probable CTC path constrained to ``labels`` (Viterbi): per frame, the label position it emits
    or -1 for blank. [T, C] log-probabilities, [L] class ids -> [T] int64.

    These are the "key frames" of GSBA: the frames where CTC's pseudo ground truth (Sec. 3.2) puts a
    gloss, i.e. the spikes; the path gives every gloss of the label at least one. A clip too short for
    its label (T < L + repeats) gets no anchors.
    """
    t_len, n = log_probs.shape[0], len(labels)
    out = np.full(t_len, -1, dtype=np.int64)
    ext = np.zeros(2 * n + 1, dtype=np.int64)
    ext[1::2] = labels
    if n == 0 or t_len < n + int(np.sum(labels[1:] == labels[:-1])):
        return out
    emit = log_probs[:, ext]
    skip_ok = np.zeros(len(ext), dtype=bool)
    skip_ok[3::2] = ext[3::2] != ext[1:-2:2]
    score = np.full(len(ext), -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((t_len, len(ext)), dtype=np.int8)
    for t in range(1, t_len):
        step = np.concatenate(([-np.inf], score[:-1]))
        skip = np.where(skip_ok, np.concatenate(([-np.inf, -np.inf], score[:-2])), -np.inf)
        cand = np.stack([score, step, skip])
        back[t] = cand.argmax(0)
        score = cand.max(0) + emit[t]
    s = len(ext) - 1 if score[-1] >= score[-2] else len(ext) - 2
    for t in range(t_len - 1, -1, -1):
        out[t] = (s - 1) // 2 if s % 2 else -1
        s -= int(back[t, s])
    return out


def most_similar_label_class(features: torch.Tensor, class_vectors: torch.Tensor,
                             labels: torch.Tensor) -> torch.Tensor:
    """Per frame, the class of the label whose vector is most cosine-similar to the frame's feature.

    [T, D] features, [C, D] class vectors, [L] label ids -> [T] class ids. Only the glosses of the
    label compete (not the blank, not the rest of the vocabulary), as in Sec. 3.5.
    """
    sim = F.normalize(features.float(), dim=1) @ F.normalize(class_vectors.float()[labels], dim=1).T
    return labels[sim.argmax(1)]


def expand_anchors(anchors: torch.Tensor, nearest: torch.Tensor, labels: torch.Tensor, radius: int,
                   ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """GSBA's expansion: each run of anchor frames of one label position takes its gloss class, then grows
    frame by frame up to ``radius`` frames to the left and to the right while the frame's ``nearest``
    class is that gloss; the first frame that is not, or that another gloss already holds, stops it.

    [T] anchor label positions (-1 none), [T] nearest label classes, [L] label ids -> [T] class ids,
    ``ignore_index`` where no gloss was assigned. Runs are expanded left to right, so between two
    neighbouring glosses the earlier one claims first; they can only compete for a frame if they are
    the same class, where the result is the same either way.
    """
    positions, near, classes = anchors.tolist(), nearest.tolist(), labels.tolist()
    out = [classes[p] if p >= 0 else ignore_index for p in positions]
    for start, end, position in _runs(positions):
        cls = classes[position]
        left = range(start - 1, max(start - 1 - radius, -1), -1)
        right = range(end + 1, min(end + 1 + radius, len(out)))
        for frames in (left, right):
            for t in frames:
                if out[t] != ignore_index or near[t] != cls:
                    break
                out[t] = cls
    return torch.tensor(out, dtype=torch.long)


def _runs(anchors: list[int]) -> list[tuple[int, int, int]]:
    """(first frame, last frame, label position) of each run of equal non-negative values."""
    runs: list[tuple[int, int, int]] = []
    for t, position in enumerate(anchors):
        if position < 0:
            continue
        if runs and runs[-1][2] == position and runs[-1][1] == t - 1:
            runs[-1] = (runs[-1][0], t, position)
        else:
            runs.append((t, t, position))
    return runs


def gsba(context_features: torch.Tensor, class_vectors: torch.Tensor, log_probs: torch.Tensor,
         labels: torch.Tensor, radius: int, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Gloss Segment Boundary Assignment for one clip (Sec. 3.5): per-frame pseudo gloss labels [T].

    ``context_features`` [T, D] are the GCFs, ``class_vectors`` [C, D] the contextual classifier's
    vectors, ``log_probs`` [T, C] the contextual predictions, ``labels`` [L] the sentence's class ids.
    Anchors are the CTC spikes (``ctc_forced_alignment``); ``expand_anchors`` grows them by up to
    ``radius`` (the paper's d) frames on each side. Unassigned frames get ``ignore_index``.
    """
    labels = labels.long().cpu()
    anchors = torch.from_numpy(ctc_forced_alignment(log_probs.detach().float().cpu().numpy(), labels.numpy()))
    nearest = most_similar_label_class(context_features.detach().cpu(), class_vectors.detach().cpu(), labels)
    return expand_anchors(anchors, nearest, labels, radius, ignore_index)


def gsba_batch(context_features: torch.Tensor, class_vectors: torch.Tensor, log_probs: torch.Tensor,
               lengths: torch.Tensor, labels: torch.Tensor, label_lengths: torch.Tensor, radius: int,
               ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """``gsba`` for each clip of a batch: [B, T, D], [C, D], [B, T, C], [B], concatenated labels, [B]
    -> [B, T] pseudo-labels (on the features' device), ``ignore_index`` on padding."""
    out = torch.full(log_probs.shape[:2], ignore_index, dtype=torch.long)
    for b, lab in enumerate(split_labels(labels.cpu(), label_lengths)):
        n = int(lengths[b])
        out[b, :n] = gsba(context_features[b, :n], class_vectors, log_probs[b, :n], lab, radius, ignore_index)
    return out.to(context_features.device)


def resample_labels(labels: torch.Tensor, length: int) -> torch.Tensor:
    """Nearest-frame resampling of per-frame labels to ``length`` frames: the clip augmentation stretches
    a whole clip uniformly, so a cached pseudo-labelling still lines up after it."""
    if len(labels) == length:
        return labels
    idx = torch.round(torch.linspace(0, len(labels) - 1, length)).long()
    return labels[idx]

"""CTC decoders: greedy (best path) and prefix beam search, both over log-probabilities.

Convention: ``log_probs`` is ``[T, B, C]`` (time first), the layout ``torch.nn.CTCLoss`` takes, so the
same tensor feeds the loss and the decoder; ``lengths`` ``[B]`` gives the valid frames of each sample.
The blank is class 0 by the project's vocabulary contract. Decoding runs on the CPU in float64 numpy:
the per-frame work is a few thousand additions, and float64 keeps the summed path probabilities exact
enough to compare against enumeration in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

_NEG_INF = -np.inf


@dataclass
class Hypothesis:
    """One decoded label sequence.

    ``score`` is a natural-log probability: for greedy decoding the probability of the single best path,
    for beam search the total probability of all alignments of ``ids`` that survived the beam (exact when
    the beam never pruned one). ``spikes[i]`` is the frame of label ``ids[i]``: within the frames that the
    best single alignment of ``ids`` gives the label (greedy: its run in the argmax path; beam search: the
    Viterbi alignment of the decoded sequence), the one where the label is most probable.
    """

    ids: list[int]
    score: float
    spikes: list[int] = field(default_factory=list)


def _to_numpy(log_probs: torch.Tensor, lengths: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate the ``[T, B, C]`` / ``[B]`` pair and bring it to float64 numpy on the CPU."""
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be [T, B, C], got shape {tuple(log_probs.shape)}")
    num_frames, batch, _ = log_probs.shape
    if lengths is None:
        lens = np.full(batch, num_frames, dtype=np.int64)
    else:
        lens = torch.as_tensor(lengths).detach().cpu().numpy().astype(np.int64).reshape(-1)
    if lens.shape[0] != batch:
        raise ValueError(f"lengths has {lens.shape[0]} entries for a batch of {batch}")
    if (lens < 0).any() or (lens > num_frames).any():
        raise ValueError(f"lengths must lie in [0, {num_frames}], got {lens.tolist()}")
    return log_probs.detach().to("cpu", torch.float64).numpy(), lens


def _collapse(path: np.ndarray, best: np.ndarray, blank: int) -> tuple[list[int], list[int]]:
    """Merge runs of the same class and drop blanks; each label's spike is its run's most probable frame."""
    if path.size == 0:
        return [], []
    starts = np.concatenate([[0], np.flatnonzero(np.diff(path)) + 1])
    ends = np.concatenate([starts[1:], [path.size]])
    ids, spikes = [], []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        label = int(path[start])
        if label != blank:
            ids.append(label)
            spikes.append(start + int(np.argmax(best[start:end])))
    return ids, spikes


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor | None = None, blank: int = 0) -> list[Hypothesis]:
    """Best-path decoding: per-frame argmax, then CTC collapse (merge repeats, drop blanks).

    ``log_probs`` is ``[T, B, C]``; ``lengths`` ``[B]`` (``None`` = all ``T`` frames). The score is the
    log probability of that one path, a lower bound on the probability of the label sequence.
    """
    lp, lens = _to_numpy(log_probs, lengths)
    best, path = lp.max(axis=-1), lp.argmax(axis=-1)  # [T, B] each, one pass for the whole batch
    hyps = []
    for b, n in enumerate(lens.tolist()):
        ids, spikes = _collapse(path[:n, b], best[:n, b], blank)
        hyps.append(Hypothesis(ids=ids, score=float(best[:n, b].sum()), spikes=spikes))
    return hyps


@dataclass
class _Beam:
    """Prefixes with their probabilities of ending in blank (``pb``) or in their last label (``pnb``)."""

    prefixes: list[tuple[int, ...]]
    pb: np.ndarray
    pnb: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return np.logaddexp(self.pb, self.pnb)


def _step(beam: _Beam, row: np.ndarray, beam_width: int, blank: int) -> _Beam:
    """Advance every prefix by one frame and keep the ``beam_width`` most probable prefixes.

    Candidates are the K prefixes themselves ("stay": blank, or a repeat of the last label merged by CTC)
    and the K x C one-label extensions, scored as a [K, C] array. A repeated label extends a prefix only
    from its blank-ending mass (``a`` then ``a`` collapses, ``a _ a`` does not). Two extensions never
    coincide (distinct prefixes plus one label stay distinct), so the only merge needed is an extension
    that equals a prefix already in the beam: its mass joins that prefix's ``pnb``.
    """
    total = beam.total
    last = np.array([p[-1] if p else -1 for p in beam.prefixes], dtype=np.int64)
    ends = last >= 0
    stay_pb = total + row[blank]
    stay_pnb = np.full_like(total, _NEG_INF)
    stay_pnb[ends] = beam.pnb[ends] + row[last[ends]]
    ext = total[:, None] + row[None, :]
    ext[ends, last[ends]] = beam.pb[ends] + row[last[ends]]
    ext[:, blank] = _NEG_INF
    index = {p: k for k, p in enumerate(beam.prefixes)}
    for k, prefix in enumerate(beam.prefixes):
        parent = index.get(prefix[:-1]) if prefix else None
        if parent is not None:
            stay_pnb[k] = np.logaddexp(stay_pnb[k], ext[parent, prefix[-1]])
            ext[parent, prefix[-1]] = _NEG_INF
    scores = np.concatenate([np.logaddexp(stay_pb, stay_pnb), ext.ravel()])
    keep = _top_indices(scores, beam_width)
    num, classes = len(beam.prefixes), row.shape[0]
    prefixes, pb, pnb = [], [], []
    for i in keep.tolist():
        if i < num:
            prefixes.append(beam.prefixes[i])
            pb.append(stay_pb[i])
            pnb.append(stay_pnb[i])
        else:
            k, c = divmod(i - num, classes)
            prefixes.append((*beam.prefixes[k], c))
            pb.append(_NEG_INF)
            pnb.append(ext[k, c])
    return _Beam(prefixes, np.array(pb), np.array(pnb))


def _top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest finite scores, best first (argpartition: the array is K x C long)."""
    finite = int(np.isfinite(scores).sum())
    k = min(k, finite)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    return part[np.argsort(-scores[part], kind="stable")]


def _prefix_beam_search(lp: np.ndarray, beam_width: int, blank: int) -> list[Hypothesis]:
    """Prefix beam search over one ``[n, C]`` sequence; returns the final beam, most probable first."""
    beam = _Beam([()], np.array([0.0]), np.array([_NEG_INF]))
    for t in range(lp.shape[0]):
        beam = _step(beam, lp[t], beam_width, blank)
        if not beam.prefixes:  # every path has probability zero
            return [Hypothesis(ids=[], score=_NEG_INF, spikes=[])]
    total = beam.total
    order = np.argsort(-total, kind="stable")
    return [Hypothesis(ids=list(beam.prefixes[i]), score=float(total[i]),
                       spikes=viterbi_spikes(lp, list(beam.prefixes[i]), blank))
            for i in order.tolist()]


def viterbi_spikes(lp: np.ndarray, ids: list[int], blank: int = 0) -> list[int]:
    """Frame of each label of ``ids`` in the best single CTC alignment of ``lp`` (``[n, C]``).

    Beam search sums over alignments and so has no path of its own; the Viterbi alignment (blank-interleaved
    states ``_ l1 _ l2 ... _``, a label may be skipped to only between different labels) assigns every
    label a run of frames, and the spike is the run's most probable frame, the same rule as greedy.
    """
    if not ids:
        return []
    states = np.full(2 * len(ids) + 1, blank, dtype=np.int64)
    states[1::2] = ids
    num_states, frames = states.size, lp.shape[0]
    skip = np.zeros(num_states, dtype=bool)
    skip[3::2] = states[3::2] != states[1:-2:2]  # l_k may follow l_{k-1} directly unless they are equal
    score = np.full(num_states, _NEG_INF)
    score[:2] = lp[0, states[:2]]
    back = np.zeros((frames, num_states), dtype=np.int8)
    for t in range(1, frames):
        moves = np.full((3, num_states), _NEG_INF)
        moves[0] = score
        moves[1, 1:] = score[:-1]
        moves[2, 2:] = np.where(skip[2:], score[:-2], _NEG_INF)
        back[t] = moves.argmax(axis=0)
        score = moves.max(axis=0) + lp[t, states]
    state = num_states - 1 if num_states == 1 or score[-1] >= score[-2] else num_states - 2
    if not np.isfinite(score[state]):
        return []
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = state
        state -= back[t, state]
    spikes = []
    for k, label in enumerate(ids):
        run = np.flatnonzero(path == 2 * k + 1)
        spikes.append(int(run[np.argmax(lp[run, label])]))
    return spikes


def beam_search_nbest(log_probs: torch.Tensor, lengths: torch.Tensor | None = None, beam_width: int = 10,
                      blank: int = 0) -> list[list[Hypothesis]]:
    """CTC prefix beam search; for each sample the whole final beam (up to ``beam_width``), best first.

    Log space throughout; prefixes that differ only in alignment are merged, so a hypothesis' score is
    the summed probability of its alignments (exact when ``beam_width`` never prunes, e.g. at least the
    number of distinct prefixes). ``log_probs`` is ``[T, B, C]``.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    lp, lens = _to_numpy(log_probs, lengths)
    return [_prefix_beam_search(lp[:n, b], beam_width, blank) for b, n in enumerate(lens.tolist())]


def beam_search(log_probs: torch.Tensor, lengths: torch.Tensor | None = None, beam_width: int = 10,
                blank: int = 0) -> list[Hypothesis]:
    """CTC prefix beam search; the most probable label sequence of each sample (see ``beam_search_nbest``)."""
    return [nbest[0] for nbest in beam_search_nbest(log_probs, lengths, beam_width, blank)]


def decode_log_probs(log_probs: torch.Tensor, lengths: torch.Tensor, method: str = "greedy",
                     beam_width: int = 10) -> list[list[int]]:
    """Best label sequence per sample from [B, T, C] log-probabilities (the decoders take [T, B, C])."""
    time_major = log_probs.transpose(0, 1)
    if method == "greedy":
        hyps = greedy_decode(time_major, lengths)
    elif method == "beam":
        hyps = beam_search(time_major, lengths, beam_width=beam_width)
    else:
        raise ValueError(f"unknown decoder {method!r} (greedy | beam)")
    return [h.ids for h in hyps]

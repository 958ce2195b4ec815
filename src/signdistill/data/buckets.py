"""Length-bucketed batches: clips of similar length batched together, so that less of each batch is padding.

A plain shuffle pairs a long clip with a short one and pads the short one to the long one's length; every
padded frame costs a full forward and backward. Bucketing keeps the epoch random at two levels: the shuffled
order is cut into windows of ``window`` batches, each window is sorted by stored length and cut into batches,
and the batches are shuffled.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset


def stored_lengths(dataset: Dataset) -> list[int]:
    """Frames per stored clip of ``dataset`` (a ``SignClipDataset`` or a dataset wrapping one as ``clips``),
    read from the frame store's index without decoding any frame."""
    clips = getattr(dataset, "clips", dataset)
    packed, records = getattr(clips, "packed", None), getattr(clips, "records", None)
    if packed is None or records is None:
        raise TypeError(f"{type(dataset).__name__} has no stored clips to bucket by length")
    return [int(packed[r.id].shape[0]) for r in records]


def length_bucketed(order: Sequence[int], lengths: Sequence[int], batch_size: int, window: int,
                    seed: int) -> list[list[int]]:
    """Batches of ``order``'s indices, each window of ``window`` batches sorted by ``lengths``, batches shuffled
    by ``seed``; every index appears once, the last batch may be short."""
    span = batch_size * max(window, 1)
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffle = torch.randperm(len(batches), generator=torch.Generator().manual_seed(seed + 1)).tolist()
    return [batches[i] for i in shuffle]


def epoch_batches(order: Sequence[int], batch_size: int, seed: int, lengths: Sequence[int] | None = None,
                  window: int = 0, rank: int = 0, world: int = 1) -> list[list[int]]:
    """One rank's batches of an epoch over the shuffled ``order``: the global batches of ``world x batch_size``
    (length-bucketed with ``lengths`` and ``window`` > 0), each dealt out to the ranks in turn. Every rank gets as
    many batches, the ranks of a step hold clips of similar length (no rank waits for a longer one), and with
    ``world`` 1 these are exactly the single-process batches; without buckets they are ``DistributedSampler``'s
    (the order padded with its own first indices to a multiple of ``world``)."""
    order = list(order)
    order += order[:(-len(order)) % world]
    span = batch_size * world
    if lengths is not None and window > 0:
        global_batches = length_bucketed(order, lengths, span, window, seed)
    else:
        global_batches = [order[i:i + span] for i in range(0, len(order), span)]
    return [batch[rank::world] for batch in global_batches]


def padding_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Share of the frames a model processes that are padding, when each batch is padded to its longest clip."""
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    real = sum(lengths[i] for b in batches for i in b)
    return 1.0 - real / padded if padded else 0.0

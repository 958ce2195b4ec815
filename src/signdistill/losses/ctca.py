"""CTCA's cross-context knowledge distillation (Guo et al., "Distilling Cross-Temporal Contexts for CSLR",
ICCV 2023): cross-temporal KD (CTD, eqs. 1-7) and cross-modality KD (CMD, eqs. 8-9).

Shapes: local (1D-TCN) and global (BLSTM) representations ``V^loc``, ``V^glo`` are [B, T, C] with a
[B, T] mask of valid frames; each term is computed per clip over its valid frames and averaged over the
batch. The terms are returned unweighted; the weights of eq. 7 and eq. 10 (alpha * alpha_k, beta, gamma) are the
training config's ``loss_weights`` (conf/base/parameters_ctca.yml; tests/test_paper_numbers.py holds them to
the paper's).

Choices where the paper is open (each noted where it is made):

- The distributions of eq. 2 are softmaxes over the time axis of each channel at temperature tau, as in the
  channel-wise distillation the paper builds on (its ref. [28], CKD); the KL is teacher-first, as in CKD.
  Eq. 3's sigma is the same softmax at temperature 1: eq. 3 writes sigma with no tau. At tau = 4 both
  representations' temporal distributions are nearly flat, so I would be a constant one half: V^loc * I would
  be V^loc / 2, and "A - I" would differ from A only by a temperature.
- Each distillation term trains only its student (the teacher side is detached, as in mutual learning):
  L_l2g trains the BLSTM branch from the TCN, L_g2l the TCN branch from the BLSTM, L_rc makes the BLSTM
  representation reconstruct the local one. Weights I(.,.) and w(.) are not differentiated.
- Eq. 5 is written as ``sqrt(sum_i (V^glo_i - V^loc_i)^2) * sum_i (1 + w_i)``, a product that would not
  weight frames at all; the text says the weight is per frame ("if the estimated V^loc_i is
  well-learned ... a large weight"), so each frame's distance carries its own ``1 + w_i``. Two more
  choices make it a term the BiLSTM can satisfy: V^glo is a tanh output in (-1, 1) while V^loc (BN + ReLU)
  is unbounded, so the raw distance has a floor far above zero; the distance is taken between the frames'
  L2-normalised vectors (what V^glo can match: the direction of V^loc), and averaged over a clip's frames
  rather than summed over them, which keeps it on CTC's scale (``signdistill bench loss-scales``).
  So ``L_rc = mean_i (1 + w_i) ||n(V^glo_i) - n(V^loc_i)||_2``, at most 2 (1 + w) per clip.
- H(V^loc_i) in eq. 6 is the entropy of the local branch's gloss posteriors at frame i (its classifier's
  softmax, temperature 1), the "knowledge uncertainty" of the entropy principle the paper cites ([13, 18]:
  maximum entropy, CTC's entropy regularisation): w is 1 for a certain frame and 1/V for a flat one. The
  softmax over V^loc's channels instead would be nearly flat on any ReLU feature (w near 1/C, so 1 + w ~ 1
  and "SDPN D - w" would be the same network as D).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Bumped when these losses change while their parameters do not, so that a checkpoint trained with the old ones is
# not resumed as if it were the same run (training.spec.run_fingerprint); tests/losses/test_loss_revisions.py
# fails when this module's code changes and says so.
LOSS_REVISION = 2

TAU = 4.0  # eq. 2


def temporal_log_softmax(v: torch.Tensor, mask: torch.Tensor, tau: float) -> torch.Tensor:
    """sigma of eqs. 2-3: per channel, log-softmax over the valid frames of [B, T, C] at temperature tau."""
    return (v.float() / tau).masked_fill(~mask[..., None], -math.inf).log_softmax(dim=1)


def channel_kl(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, tau: float = TAU) -> torch.Tensor:
    """phi of eq. 2: tau^2 / C * sum_c sum_i KL over each channel's temporal distribution, mean over clips;
    the teacher is detached."""
    log_t = temporal_log_softmax(teacher.detach(), mask, tau)
    log_s = temporal_log_softmax(student, mask, tau)
    kl = torch.where(mask[..., None], log_t.exp() * (log_t - log_s), torch.zeros((), device=log_t.device))
    return tau**2 / student.shape[-1] * kl.sum(dim=(1, 2)).mean()


def intersection(v_loc: torch.Tensor, v_glo: torch.Tensor, mask: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """I(V^loc, V^glo) of eq. 3: 1 / (sigma(V^loc) / sigma(V^glo) + 1), element-wise [B, T, C], sigma the
    temporal softmax at temperature 1 (eq. 3 has no tau), not differentiated. Small where the local
    representation puts much more weight on a frame than the global one (their knowledge differs there); 1/2
    where they agree."""
    p_loc = temporal_log_softmax(v_loc.detach(), mask, tau).exp()
    p_glo = temporal_log_softmax(v_glo.detach(), mask, tau).exp()
    return torch.where(mask[..., None], p_glo / (p_loc + p_glo).clamp_min(1e-30), 0.5)


def l2g_loss(v_glo: torch.Tensor, v_loc: torch.Tensor, mask: torch.Tensor, tau: float = TAU,
             use_intersection: bool = True) -> torch.Tensor:
    """L_l2g (eq. 1): the BLSTM branch learns the TCN's sign-wise context, the teacher weighted by I(.,.)
    (``use_intersection=False``: Table 5's "SDPN A - I")."""
    teacher = v_loc.detach() * intersection(v_loc, v_glo, mask) if use_intersection else v_loc
    return channel_kl(v_glo, teacher, mask, tau)


def g2l_loss(v_loc: torch.Tensor, v_glo: torch.Tensor, mask: torch.Tensor, tau: float = TAU) -> torch.Tensor:
    """L_g2l (eq. 4): the TCN branch learns the BLSTM's global context."""
    return channel_kl(v_loc, v_glo, mask, tau)


def entropy_weight(loc_log_probs: torch.Tensor) -> torch.Tensor:
    """w(V^loc_i) = exp(-H_i) of eq. 6, [B, T]: H_i the entropy of the local branch's gloss posteriors
    ``loc_log_probs`` [B, T, V] at frame i; 1 for a certain frame, 1/V for a flat one. Not differentiated."""
    log_p = loc_log_probs.detach().float()
    return torch.exp((log_p.exp() * log_p).sum(-1))


def rc_loss(v_glo: torch.Tensor, v_loc: torch.Tensor, mask: torch.Tensor, loc_log_probs: torch.Tensor | None = None,
            use_entropy_weight: bool = True) -> torch.Tensor:
    """L_rc (eqs. 5-6): per clip, the mean over valid frames of (1 + w_i) ||n(V^glo_i) - n(V^loc_i)||_2 with n
    the L2 normalisation of a frame's vector, mean over clips (see the module docstring for why). The weight
    needs the local branch's ``loc_log_probs``; ``use_entropy_weight=False`` drops it (Table 5's "SDPN D - w").
    Trains V^glo only."""
    diff = F.normalize(v_glo.float(), dim=-1) - F.normalize(v_loc.detach().float(), dim=-1)
    dist = (diff.square().sum(-1) + 1e-12).sqrt() - 1e-6  # finite gradient where the two coincide
    if use_entropy_weight:
        if loc_log_probs is None:
            raise ValueError("the entropy weight of eq. 6 needs the local branch's log-probabilities")
        weight = 1.0 + entropy_weight(loc_log_probs)
    else:
        weight = torch.ones_like(dist)
    per_clip = (weight * dist.clamp_min(0) * mask).sum(1) / mask.sum(1).clamp_min(1)
    return per_clip.mean()


def cmd_loss(cor_visual: torch.Tensor, cor_text: torch.Tensor, gloss_mask: torch.Tensor) -> torch.Tensor:
    """L_cmd (eq. 9): per gloss i, KL(sigma(cor^t^_i) || sigma(cor^t_i)) between the row softmaxes of the
    visual and the text self-correlation matrices [B, L, L], averaged over the clip's L glosses, then over
    clips. The direction (visual first) is the one eq. 9 writes."""
    pair = gloss_mask[:, :, None] & gloss_mask[:, None, :]
    low = torch.finfo(torch.float32).min  # not -inf: a padded gloss's row would be all -inf, NaN in backward
    log_v = cor_visual.float().masked_fill(~pair, low).log_softmax(-1)
    log_t = cor_text.float().masked_fill(~pair, low).log_softmax(-1)
    kl = torch.where(pair, log_v.exp() * (log_v - log_t), torch.zeros((), device=log_v.device)).sum(-1)
    return (kl.sum(-1) / gloss_mask.sum(-1).clamp_min(1)).mean()


class CrossModalityDistillation(nn.Module):
    """CMD (eqs. 8-9): cross-attention from the sentence's gloss embeddings G^gls [B, L, Y] (queries) to the
    BLSTM representation V^glo [B, T, D] (keys, values) gives G^t^ [B, L, Y]; its self-correlation
    G^t^ G^t^T is distilled from the text's cosine self-correlation.

    ``attention_dim`` is eq. 8's C (default: D, the feature channels). f_V maps back to the text width Y,
    as G^t^ has the shape of G^gls in the paper. Used in training only (not part of the inference path).
    """

    def __init__(self, text_dim: int, visual_dim: int, attention_dim: int | None = None) -> None:
        super().__init__()
        self.attention_dim = attention_dim or visual_dim
        self.f_q = nn.Linear(text_dim, self.attention_dim)
        self.f_k = nn.Linear(visual_dim, self.attention_dim)
        self.f_v = nn.Linear(visual_dim, text_dim)

    def relation(self, gloss: torch.Tensor, v_glo: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """G^t^ of eq. 8: [B, L, Y] linguistic-visual relation, attending over the valid frames only."""
        scores = self.f_q(gloss) @ self.f_k(v_glo).transpose(1, 2) / math.sqrt(self.attention_dim)
        attn = scores.float().masked_fill(~mask[:, None, :], -math.inf).softmax(-1)
        return attn @ self.f_v(v_glo).float()

    def forward(self, gloss: torch.Tensor, gloss_mask: torch.Tensor, v_glo: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        g_hat = self.relation(gloss.float(), v_glo, mask)
        cor_visual = g_hat @ g_hat.transpose(1, 2)
        g_norm = F.normalize(gloss.float(), dim=-1)
        cor_text = g_norm @ g_norm.transpose(1, 2)
        return cmd_loss(cor_visual, cor_text, gloss_mask)

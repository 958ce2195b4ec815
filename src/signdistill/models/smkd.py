"""SMKD: self-mutual knowledge distillation (Hao, Min and Chen, ICCV 2021).

The network is the project's baseline (ResNet-18 -> K5-P2-K5-P2 -> 2-layer BiLSTM): the visual module
(ResNet + temporal convs) gives the local visual features (LVFs, ``V``), the contextual module (BiLSTM)
the global contextual features (GCFs, ``G``). What SMKD changes:

- **Weight normalisation** (Sec. 3.1, eq. 3): class vectors have unit norm and no bias, so a logit is
  ``z_t^c = w_c . f_t = ||f_t|| cos(theta)``. The paper uses no extra scale or temperature (the feature
  norm plays that role) and neither do we. ``weight_norm=False`` is the plain linear layer with bias
  (Table 1 ablation).
- **Weight sharing (WS)** (Sec. 3.3, eq. 9): one classifier for V and G, loss
  ``CTC(l, Y_g) + alpha * CTC(l, Y_v)`` with alpha = 0.5. The model returns the terms unweighted
  (``"ctc"``, ``"ctc_visual"``); the weights come from the training config's ``loss_weights``.
  The paper's implementation text says "C5-P2-C5"; the baseline it builds on (VAC) and its own 1/4 rate
  are K5-P2-K5-P2, which is what we reuse.
- **Gloss Segment Boundary Assignment (GSBA)** (Sec. 3.5): pseudo gloss segments for the visual module,
  trained with cross-entropy and label smoothing 0.2 (eq. 10, term ``"seg"``), see ``models.gsba``. Eq. 10 is
  ``CTC(l, Y_g) + alpha * CE-LS(Y_seg, Y_v)``: while gloss segmentation runs, CE-LS *replaces* the visual
  CTC of eq. 9 (``smkd_schedule.smkd_stage`` turns ``visual_ctc`` off for those epochs).
- **Three stages** (Sec. 3.6, 4.1): synchronous (shared classifier) -> + gloss segmentation -> decoupled
  classifiers at a small learning rate, see ``models.smkd_schedule``.
- Table 3's **plain KD** (eq. 12, term ``"kd"``): softened contextual predictions teach the visual module,
  as written: CE of the tau = 8 softened distributions, no tau^2 factor.

How close GSBA's pseudo-labels come to SynthSign's true frame alignment is what
``python -m signdistill.benchmarks.gsba_accuracy`` measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from signdistill.losses.ctc import ctc_loss, split_labels
from signdistill.losses.smkd import IGNORE_INDEX, kd_loss, segmentation_loss
from signdistill.models.baseline import (
    BaselineConfig,
    BaselineRecognizer,
    frame_features,
    normalise_video,
    run_bilstm,
    temporal_length,
)
from signdistill.models.gsba import gsba, resample_labels
from signdistill.models.smkd_schedule import SMKDSchedule, SMKDStage, smkd_stage

LABEL_SMOOTHING = 0.2  # Sec. 4.1
KD_TAU = 8.0  # eq. 12


class WeightNormClassifier(nn.Linear):
    """Linear classifier whose class vectors are renormalised to unit length at every call (eq. 3).

    The normalisation is part of the forward pass, so the vectors stay unit-norm whatever the optimiser
    does to the stored weight. With ``weight_norm=False`` it is an ordinary ``nn.Linear`` with bias.
    """

    def __init__(self, in_features: int, num_classes: int, weight_norm: bool = True) -> None:
        super().__init__(in_features, num_classes, bias=not weight_norm)
        self.weight_norm = weight_norm

    def class_vectors(self) -> torch.Tensor:
        """[C, D] prototypes used for the logits (unit-norm when weight normalisation is on)."""
        return F.normalize(self.weight, dim=1) if self.weight_norm else self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.class_vectors(), self.bias)


# --------------------------------------------------------------------------- the model


@dataclass
class SMKDConfig(BaselineConfig):
    """Baseline sizes plus SMKD's switches; the defaults are the synchronous stage of the paper."""

    weight_norm: bool = True  # Table 1
    shared_classifier: bool = True  # WS (eq. 9); False = independent classifiers from the start
    visual_ctc: bool = True  # the alpha * CTC(visual) term of eq. 9
    segmentation: bool = False  # GSBA pseudo-labels + CE-LS on the visual module (eq. 10)
    kd: bool = False  # Table 3's plain KD (eq. 12)
    radius: int = 1  # GSBA's d
    label_smoothing: float = LABEL_SMOOTHING
    kd_tau: float = KD_TAU
    staged: bool = False  # follow the paper's three stages over the run's epochs (``start_epoch``)
    gloss_segment: bool = True  # Table 4: the gloss segmentation stage (with ``staged``)
    dec_train: bool = True  # Table 4: the decoupled stage (with ``staged``)


class SMKDRecognizer(BaselineRecognizer):
    """The baseline network with a weight-normalised classifier shared by the visual and contextual modules.

    ``classifier`` is the contextual module's (the decoding head, as in the baseline, so a baseline
    checkpoint's trunk loads); ``visual_classifier`` is used by the visual module once the classifiers
    are decoupled (``decouple``), which starts it from the shared vectors. Whether they are decoupled is
    a buffer, so a resumed checkpoint keeps it. ``forward`` adds ``visual_log_probs`` and the features.
    """

    def __init__(self, config: SMKDConfig) -> None:
        if config.hidden != 2 * config.lstm_hidden:
            raise ValueError(f"a shared classifier needs LVFs and GCFs of one width: hidden={config.hidden} "
                             f"but the BiLSTM gives 2 x {config.lstm_hidden}")
        super().__init__(config)
        self.config: SMKDConfig = config
        self.classifier = WeightNormClassifier(config.hidden, config.num_classes, config.weight_norm)
        self.visual_classifier = WeightNormClassifier(config.hidden, config.num_classes, config.weight_norm)
        self.register_buffer("decoupled", torch.tensor(not config.shared_classifier))
        self.visual_ctc, self.segmentation, self.kd = config.visual_ctc, config.segmentation, config.kd
        self.radius = config.radius
        self.pseudo_labels: dict[str, torch.Tensor] = {}  # sample id -> cached GSBA labels

    # -- stages
    def decouple(self) -> None:
        """Give the visual module its own classifier, starting from the shared vectors (stage 3); once only."""
        if not bool(self.decoupled):
            self.visual_classifier.load_state_dict(self.classifier.state_dict())
            self.decoupled.fill_(True)

    def apply_stage(self, stage: SMKDStage) -> None:
        """Switch losses, radius and pseudo-label cache for an epoch (call before each epoch's batches).

        The stage decides when gloss segmentation runs and with which d; a variant configured without the
        visual CTC (``visual_ctc=False``: Table 3's KD and GSBA rows) keeps it off.
        """
        self.visual_ctc = stage.visual_ctc and self.config.visual_ctc
        self.segmentation, self.radius = stage.segmentation, stage.radius
        if stage.decouple:
            self.decouple()
        if stage.refresh_pseudo_labels:
            self.pseudo_labels.clear()

    def start_epoch(self, epoch: int, epochs: int) -> float:
        """The trainer's per-epoch hook: with ``staged``, apply the stage of ``epoch`` in a budget of
        ``epochs`` and return its learning-rate factor (the paper's steps and the small decoupled rate)."""
        if not self.config.staged:
            return 1.0
        stage = smkd_stage(epoch, epochs, SMKDSchedule(gloss_segment=self.config.gloss_segment,
                                                       dec_train=self.config.dec_train))
        self.apply_stage(stage)
        return stage.lr_factor

    # -- forward
    def features(self, video: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """uint8 video -> LVFs [B, T', D], GCFs [B, T', D] and output lengths [B]."""
        feats = frame_features(self.frames, normalise_video(video), lengths)
        lvf = self.temporal(feats.transpose(1, 2)).transpose(1, 2)
        out_lengths = temporal_length(lengths).clamp(min=1)
        return lvf, run_bilstm(self.lstm, lvf, out_lengths), out_lengths

    def visual_head(self) -> WeightNormClassifier:
        return self.visual_classifier if bool(self.decoupled) else self.classifier

    def forward(self, batch: dict) -> dict:
        lvf, gcf, out_lengths = self.features(batch["video"], batch["lengths"])
        log_probs = self.classifier(gcf).log_softmax(-1)
        out = {"log_probs": log_probs, "out_lengths": out_lengths, "visual_features": lvf, "context_features": gcf}
        if "labels" not in batch:
            return out
        labels, label_lengths = batch["labels"], batch["label_lengths"]
        losses = {"ctc": ctc_loss(log_probs, out_lengths, labels, label_lengths)}
        if self.visual_ctc or self.segmentation or self.kd:
            visual_logits = self.visual_head()(lvf)
            out["visual_log_probs"] = visual_logits.log_softmax(-1)
        if self.visual_ctc:
            losses["ctc_visual"] = ctc_loss(out["visual_log_probs"], out_lengths, labels, label_lengths)
        if self.kd:
            losses["kd"] = kd_loss(self.classifier(gcf), visual_logits, out_lengths, self.config.kd_tau)
        if self.segmentation:
            out["pseudo_labels"] = self.segment_labels(batch, gcf, log_probs, out_lengths)
            losses["seg"] = segmentation_loss(visual_logits, out["pseudo_labels"], self.config.label_smoothing)
        out["losses"] = losses
        return out

    def segment_labels(self, batch: dict, gcf: torch.Tensor, log_probs: torch.Tensor,
                       out_lengths: torch.Tensor) -> torch.Tensor:
        """GSBA labels [B, T'] for the batch. In training they are cached per sample id until the next
        refresh (Sec. 4.1 updates the proposals every 10 epochs); a sample not in the cache is labelled
        from the current predictions."""
        out = torch.full(log_probs.shape[:2], IGNORE_INDEX, dtype=torch.long)
        ids = batch.get("ids") if self.training else None
        vectors = self.classifier.class_vectors()
        for b, lab in enumerate(split_labels(batch["labels"].cpu(), batch["label_lengths"])):
            n = int(out_lengths[b])
            key = ids[b] if ids is not None else None
            labels = self.pseudo_labels.get(key) if key is not None else None
            if labels is None:
                labels = gsba(gcf[b, :n], vectors, log_probs[b, :n], lab, self.radius)
                if key is not None:
                    self.pseudo_labels[key] = labels
            out[b, :n] = resample_labels(labels, n)
        return out.to(gcf.device)

    def export(self) -> SMKDInference:
        """The inference network (visual module + contextual module + its classifier), sharing weights."""
        return SMKDInference(self)


class SMKDInference(nn.Module):
    """What runs at test time (Fig. 2, dashed boxes): the baseline path with SMKD's contextual classifier."""

    temporal_stride = 4  # input frames per output step (decoding.windows aligns windows on it)

    def __init__(self, model: SMKDRecognizer) -> None:
        super().__init__()
        self.frames, self.temporal = model.frames, model.temporal
        self.lstm, self.classifier = model.lstm, model.classifier

    def forward(self, batch: dict) -> dict:
        feats = frame_features(self.frames, normalise_video(batch["video"]), batch["lengths"])
        lvf = self.temporal(feats.transpose(1, 2)).transpose(1, 2)
        out_lengths = temporal_length(batch["lengths"]).clamp(min=1)
        log_probs = self.classifier(run_bilstm(self.lstm, lvf, out_lengths)).log_softmax(-1)
        return {"log_probs": log_probs, "out_lengths": out_lengths}


# --------------------------------------------------------------------------- profile


def build_smkd(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int = 64,
               batch: int = 1) -> tuple[nn.Module, tuple]:
    """SMKD's inference network (``channels`` = ResNet base width): the baseline's cost, no bias."""
    model = SMKDRecognizer(SMKDConfig(num_classes=vocab, width=channels))
    video = torch.randint(0, 255, (batch, frames, resolution, resolution, 3), dtype=torch.uint8)
    return model.export(), ({"video": video, "lengths": torch.full((batch,), frames)},)

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
  trained with cross-entropy and label smoothing 0.2 (eq. 10, term ``"seg"``), see ``gsba``. Eq. 10 is
  ``CTC(l, Y_g) + alpha * CE-LS(Y_seg, Y_v)``: while gloss segmentation runs, CE-LS *replaces* the visual
  CTC of eq. 9 (``smkd_stage`` turns ``visual_ctc`` off for those epochs).
- **Three stages** (Sec. 3.6, 4.1): synchronous (shared classifier) -> + gloss segmentation -> decoupled
  classifiers at a small learning rate, see ``smkd_stage``.
- Table 3's **plain KD** (eq. 12, term ``"kd"``): softened contextual predictions teach the visual module,
  as written: CE of the tau = 8 softened distributions, no tau^2 factor.

The GSBA pseudo-labels can be scored against SynthSign's true frame alignment (``score_pseudo_labels``,
``gsba_accuracy_by_radius``, ``load_frame_alignment``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from signdistill.losses.ctc import ctc_loss
from signdistill.losses.smkd import IGNORE_INDEX, kd_loss, segmentation_loss
from signdistill.models.baseline import (
    BaselineConfig,
    BaselineRecognizer,
    frame_features,
    normalise_video,
    run_bilstm,
    temporal_length,
)

LABEL_SMOOTHING = 0.2  # Sec. 4.1
KD_TAU = 8.0  # eq. 12
TRANSITION = -1  # SynthSign alignment value of frames between two signs


# --------------------------------------------------------------------------- shared network pieces


def split_labels(labels: torch.Tensor, label_lengths: torch.Tensor) -> list[torch.Tensor]:
    """Concatenated CTC targets -> one label tensor per sample."""
    return list(torch.split(labels, [int(n) for n in label_lengths]))


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


# --------------------------------------------------------------------------- GSBA (Sec. 3.5)


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


# --------------------------------------------------------------------------- three-stage schedule (Sec. 3.6, 4.1)


@dataclass(frozen=True)
class SMKDSchedule:
    """The paper's schedule in its own epochs (Sec. 4.1, PHOENIX-2014).

    100 epochs at lr 1e-4, halved at 40, 60 and 80; gloss segmentation from epoch 30, proposals updated
    every 10 epochs, d = 1 then +1 every 20 epochs (counted from the start of segmentation: d = 1, 2, 3,
    4 at 30, 50, 70, 90; Fig. 4 shows d = 1..3); then 10 decoupled epochs at lr 4e-6 (factor 0.04 of the
    initial lr). ``gloss_segment``/``dec_train`` drop a stage (Table 4); without ``dec_train`` the paper
    run is 100 epochs long.
    """

    main_epochs: int = 100
    decouple_epochs: int = 10
    segment_start: int = 30
    refresh_every: int = 10
    radius_every: int = 20
    lr_milestones: tuple[int, ...] = (40, 60, 80)
    lr_gamma: float = 0.5
    decouple_lr_factor: float = 4e-6 / 1e-4
    gloss_segment: bool = True
    dec_train: bool = True

    @property
    def paper_epochs(self) -> int:
        return self.main_epochs + (self.decouple_epochs if self.dec_train else 0)


@dataclass(frozen=True)
class SMKDStage:
    """Settings for one epoch of the budget."""

    name: str  # sync | segment | decouple
    paper_epoch: float  # where this epoch falls on the paper's time line
    visual_ctc: bool
    segmentation: bool
    radius: int  # GSBA's d (0 when segmentation is off)
    refresh_pseudo_labels: bool  # recompute GSBA labels during this epoch
    decouple: bool  # visual and contextual classifiers separate
    lr_factor: float  # multiplies the initial learning rate (includes the paper's lr steps)


def scale_epoch(paper_epoch: float, total_epochs: int, schedule: SMKDSchedule) -> int:
    """A paper epoch mapped onto a budget of ``total_epochs`` (proportional, rounded half up)."""
    return math.floor(paper_epoch * total_epochs / schedule.paper_epochs + 0.5)


def stage_bounds(total_epochs: int, schedule: SMKDSchedule) -> tuple[int, int]:
    """First budget epoch of the segmentation stage and of the decoupled stage (``total_epochs`` when a
    stage is off). Each stage that is on keeps at least one epoch when the budget allows."""
    seg = scale_epoch(schedule.segment_start, total_epochs, schedule) if schedule.gloss_segment else total_epochs
    dec = scale_epoch(schedule.main_epochs, total_epochs, schedule) if schedule.dec_train else total_epochs
    if schedule.dec_train:
        dec = min(max(dec, 1), total_epochs - 1) if total_epochs >= 2 else total_epochs
    if schedule.gloss_segment:
        seg = min(max(seg, 1), dec - 1) if dec >= 2 else min(seg, dec)
    return seg, dec


def smkd_stage(epoch: int, total_epochs: int, schedule: SMKDSchedule | None = None) -> SMKDStage:
    """Stage settings of budget epoch ``epoch`` (0-based) when the paper's schedule is squeezed into
    ``total_epochs``: every paper epoch p maps to round(p * total / paper_total), paper_total = 110 (100
    + 10 decoupled). For 8 epochs: sync 0-1, segment 2-6 (d = 1, 1, 2, 3, 3), decouple 7 (d = 4)."""
    s = schedule or SMKDSchedule()
    seg_start, dec_start = stage_bounds(total_epochs, s)
    scaled = [scale_epoch(p, total_epochs, s) for p in range(s.segment_start, s.paper_epochs, s.refresh_every)]
    refresh = {seg_start, *(e for e in scaled if e >= seg_start)}
    growth = [scale_epoch(p, total_epochs, s) for p in range(s.segment_start + s.radius_every, s.paper_epochs,
                                                              s.radius_every)]
    segmentation = seg_start <= epoch
    decouple = dec_start <= epoch
    if decouple:
        lr_factor = s.decouple_lr_factor
    else:
        lr_factor = s.lr_gamma ** sum(scale_epoch(m, total_epochs, s) <= epoch for m in s.lr_milestones)
    return SMKDStage(
        name="decouple" if decouple else "segment" if segmentation else "sync",
        paper_epoch=epoch * s.paper_epochs / total_epochs,
        visual_ctc=not segmentation,  # eq. 10: CE-LS replaces eq. 9's visual CTC
        segmentation=segmentation,
        radius=1 + sum(max(g, seg_start) <= epoch for g in growth) if segmentation else 0,
        refresh_pseudo_labels=segmentation and epoch in refresh,
        decouple=decouple,
        lr_factor=lr_factor,
    )


# --------------------------------------------------------------------------- scoring against true alignments


def load_frame_alignment(root: str | Path, split: str, video_id: str) -> np.ndarray:
    """SynthSign's true alignment of one video: [T] int64 gloss position in the annotation per input
    frame (0 = first gloss of the sentence, ``TRANSITION`` = -1 between signs).

    Reads ``<root>/groundtruth/<split>/<id>.npz`` (key ``alignment``; the keypoints beside it are not
    decompressed), as written by ``signdistill.synth.corpus``.
    """
    with np.load(Path(root) / "groundtruth" / split / f"{video_id}.npz") as data:
        return data["alignment"].astype(np.int64)


def alignment_gloss_ids(positions: np.ndarray, labels: np.ndarray | list[int]) -> np.ndarray:
    """Gloss positions [T] -> class ids [T] through the annotation's label ids (all glosses of the
    annotation, in order); transitions stay ``TRANSITION``."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.where(positions >= 0, labels[np.clip(positions, 0, None)], TRANSITION)


def output_frame_centres(num_out: int, layout: str = "K5P2K5P2") -> np.ndarray:
    """Input-frame coordinate of the centre of each output frame's receptive field.

    Walking the layout backwards, a conv of kernel k maps c -> c + (k - 1) / 2 and a pool of size p maps
    c -> p * c + (p - 1) / 2; for K5-P2-K5-P2 output frame j is centred on input frame 4j + 7.5
    (receptive field 4j .. 4j + 15).
    """
    centre = np.arange(num_out, dtype=np.float64)
    for i in range(len(layout) - 2, -1, -2):
        kind, size = layout[i], int(layout[i + 1])
        centre = centre + (size - 1) / 2 if kind == "K" else size * centre + (size - 1) / 2
    return centre


def downsample_alignment(frame_ids: np.ndarray, num_out: int, layout: str = "K5P2K5P2") -> np.ndarray:
    """True per-input-frame ids [T] -> the id at each output frame [num_out]: the input frame at the
    centre of its receptive field (the earlier of the two middle frames, clipped to the clip)."""
    idx = np.clip(np.floor(output_frame_centres(num_out, layout)).astype(np.int64), 0, len(frame_ids) - 1)
    return frame_ids[idx]


def score_pseudo_labels(pseudo: np.ndarray | torch.Tensor, frame_ids: np.ndarray, layout: str = "K5P2K5P2",
                        ignore_index: int = IGNORE_INDEX) -> dict[str, float]:
    """Compare output-rate pseudo-labels [T'] with a true alignment of class ids at the input rate [T].

    Counts (summable over clips) and ratios: ``frame_accuracy`` = correct / assigned among output frames
    whose centre lies in a sign; ``coverage`` = assigned / such frames; ``transition_assigned`` = share
    of transition frames that got a label anyway.
    """
    pseudo = np.asarray(pseudo.cpu() if isinstance(pseudo, torch.Tensor) else pseudo, dtype=np.int64)
    truth = downsample_alignment(np.asarray(frame_ids, dtype=np.int64), len(pseudo), layout)
    assigned, sign = pseudo != ignore_index, truth != TRANSITION
    counts = {
        "sign_frames": int(sign.sum()),
        "assigned": int((assigned & sign).sum()),
        "correct": int((assigned & sign & (pseudo == truth)).sum()),
        "transition_frames": int((~sign).sum()),
        "transition_labelled": int((assigned & ~sign).sum()),
    }
    return {**counts, **pseudo_label_ratios(counts)}


def pseudo_label_ratios(counts: dict[str, int]) -> dict[str, float]:
    """Ratios of (possibly summed) ``score_pseudo_labels`` counts."""
    return {
        "frame_accuracy": counts["correct"] / max(counts["assigned"], 1),
        "coverage": counts["assigned"] / max(counts["sign_frames"], 1),
        "transition_assigned": counts["transition_labelled"] / max(counts["transition_frames"], 1),
    }


def gsba_accuracy_by_radius(context_features: torch.Tensor, class_vectors: torch.Tensor, log_probs: torch.Tensor,
                            labels: torch.Tensor, frame_ids: np.ndarray, radii: tuple[int, ...] = (0, 1, 2, 3, 4),
                            layout: str = "K5P2K5P2") -> dict[int, dict[str, float]]:
    """``score_pseudo_labels`` of one clip's GSBA labels for each d (d = 0: the CTC spikes alone)."""
    return {d: score_pseudo_labels(gsba(context_features, class_vectors, log_probs, labels, d), frame_ids, layout)
            for d in radii}


# --------------------------------------------------------------------------- profile


def build_smkd(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int = 64,
               batch: int = 1) -> tuple[nn.Module, tuple]:
    """SMKD's inference network (``channels`` = ResNet base width): the baseline's cost, no bias."""
    model = SMKDRecognizer(SMKDConfig(num_classes=vocab, width=channels))
    video = torch.randint(0, 255, (batch, frames, resolution, resolution, 3), dtype=torch.uint8)
    return model.export(), ({"video": video, "lengths": torch.full((batch,), frames)},)

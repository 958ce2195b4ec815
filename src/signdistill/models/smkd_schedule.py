"""SMKD's three training stages (Hao, Min and Chen, ICCV 2021, Sec. 3.6, 4.1) squeezed into a run's epochs:
synchronous (shared classifier) -> + gloss segmentation -> decoupled classifiers at a small learning rate."""

from __future__ import annotations

import math
from dataclasses import dataclass


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

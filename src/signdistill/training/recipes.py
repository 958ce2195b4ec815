"""Recipes: everything a training run needs, built from persisted inputs (paths and parameters).

The same recipe serves a single process and every rank of a ``torchrun`` job, so a distributed run
trains exactly what a single process would, only over more devices.
"""

from __future__ import annotations

import csv
import inspect
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from signdistill.data.clips import AlignedStreams, Augmentation, ClipRecord, SignClipDataset
from signdistill.data.features import FeatureStore
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.distillation.crkd import CRKDConfig, CRKDDistiller
from signdistill.distillation.signkd import SignKDDistiller
from signdistill.models.registry import build_recognizer, package_model
from signdistill.training.spec import DATA_DEFAULTS, DistillSpec, RunInputs, RunSpec, data_view, input_size
from signdistill.training.teacher_cache import TeacherTargetDataset, cache_key
from signdistill.training.trainer import TrainConfig, resolve_device


@dataclass
class Recipe:
    model: nn.Module
    train_set: SignClipDataset
    dev_set: SignClipDataset
    vocabulary: Vocabulary
    config: TrainConfig
    spec: RunSpec

    def package(self, state_dict: dict, vocabulary: dict) -> dict:
        """The trained recogniser's package (for distillers: the student's, which reads RGB alone)."""
        model = getattr(self.model, "student", self.model)
        params = self.spec.to_params()
        view = data_view({**params, "streams": None} if model is not self.model else params)
        return package_model(self.spec.kind, model, {k.removeprefix("student."): v for k, v in state_dict.items()
                                                     if not k.startswith(("teacher.", "adapters."))}, vocabulary, view)


def read_index(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def records(index: list[dict], split: str) -> list[ClipRecord]:
    return [ClipRecord(r["id"], tuple(r["annotation"].split()), r["signer"]) for r in index if r["split"] == split]


def aligned_streams(features: FeatureStore | None, split: str, params: dict) -> AlignedStreams | None:
    """The feature streams ``params["streams"]`` names, for ``split``, aligned with the RGB store's clips."""
    names = params.get("streams") or []
    if not names:
        return None
    if features is None:
        raise ValueError(f"streams {names} need the feature store (run the features pipeline)")
    unknown = set(names) - {"flow", "keypoints"}
    if unknown:
        raise ValueError(f"unknown streams {sorted(unknown)} (flow | keypoints)")
    return AlignedStreams(flow=features.flow(split) if "flow" in names else None,
                          keypoints=features.keypoints() if "keypoints" in names else None,
                          scale=features.flow_size / int(params["store_size"]))


def clip_dataset(store: FrameStore, index: list[dict], vocab: Vocabulary, split: str, params: dict,
                 train: bool, teacher_size: int | None = None, features: FeatureStore | None = None) -> SignClipDataset:
    """Clips of ``split`` as ``params`` (a data view, see ``data_view``) describes them.

    ``crop_scale`` ([lo, hi]): training windows of a random fraction of the frame, resized to ``crop``. With
    ``resize`` the crop is resized for the model (``video``); ``teacher_size`` adds the same crop at a teacher's
    resolution as ``video_teacher`` (one crop, two resolutions: CRKD's teacher reads the crop itself, the
    combined student's SignKD teacher the crop resized as it was trained; ``teacher_view``). With ``features``
    the streams of ``params["streams"]`` come along (SignKD: flow and keypoints).
    """
    packed = store.split(int(params["store_size"]), split)
    resize = params.get("resize")
    crop_key, views = "video", ()
    if resize:
        crop_key, views = None, (("video", int(resize)),)
    if teacher_size and resize and teacher_size == int(params["crop"]):
        crop_key = "video_teacher"
    elif teacher_size:
        views = (*views, ("video_teacher", int(teacher_size)))
    crop_scale = tuple(params["crop_scale"]) if params.get("crop_scale") else None
    aug = Augmentation(crop=int(params["crop"]), train=train, flip=bool(params.get("flip", True)),
                       temporal_scale=float(params.get("temporal_scale", 0.2)),
                       temporal_context=int(params.get("temporal_context", 12)), crop_key=crop_key,
                       resized_views=views, crop_scale=crop_scale)
    streams = aligned_streams(features, split, params)
    kept = [r for r in records(index, split) if r.id in packed and (streams is None or _has_streams(streams, r.id))]
    return SignClipDataset(packed, kept, vocab, aug, seed=int(params.get("train", {}).get("seed", 0)),
                           streams=streams)


def _has_streams(streams: AlignedStreams, video_id: str) -> bool:
    """Videos whose features failed (reported by the features pipeline) are left out, not crashed on."""
    return (streams.flow is None or video_id in streams.flow) and (
        streams.keypoints is None or video_id in streams.keypoints)


def recognizer_recipe(spec: RunSpec, inputs: RunInputs, teacher: nn.Module | None = None) -> Recipe:
    """The recogniser of ``spec`` (``kind``, its ``model`` block) with its data and training config.

    With ``teacher`` the model trained is a distiller (``spec.distill``: the method and its options) around the
    frozen teacher and a fresh student; the dev set feeds the student alone.
    """
    vocab = Vocabulary.from_dict(inputs.vocabulary)
    store = FrameStore(Path(inputs.store_root))
    torch.manual_seed(spec.train.seed)
    model = build_model(spec, vocab, teacher)
    distilling = teacher is not None
    params = spec.data_params()
    teacher_size = teacher_view(spec, inputs.teacher_package) if distilling else None
    train_set = clip_dataset(store, inputs.index, vocab, "train", params, True, teacher_size=teacher_size,
                             features=inputs.features)
    # a distilled student is evaluated on its own input alone: no teacher view, no teacher streams
    dev_set = clip_dataset(store, inputs.index, vocab, "dev", {**params, "streams": None} if distilling else params,
                           False, features=inputs.features)
    config = spec.train_config(inputs.vocabulary)
    views = spec.distill.cache_views if distilling and spec.distill is not None else 0
    if views:
        train_set = cached_teacher_targets(teacher, train_set, spec, views, resolve_device(config.device),
                                           teacher_size)
    return Recipe(model, train_set, dev_set, vocab, config, spec)


def teacher_view(spec: RunSpec, teacher_package: dict | None) -> int | None:
    """The side of the frames a distilled run's teacher reads as ``video_teacher``, from the view its package
    records (``data``): the crop itself (CRKD's high-resolution teacher), the crop resized as the teacher was
    trained when the student's ``resize`` differs (SignKD's teacher for the low-resolution combined student), or
    None when the teacher reads the student's own ``video`` (SignKD's distilled student). A teacher without a
    package (built in memory) reads the crop. Teacher and student must share the store and the crop: one crop,
    two resolutions."""
    view = (teacher_package or {}).get("data")
    if not view:
        return spec.crop if spec.resize else None
    if (int(view["store_size"]), int(view["crop"])) != (spec.store_size, spec.crop):
        raise ValueError(f"run {spec.name!r} crops {spec.crop} px of the {spec.store_size} px store, its teacher "
                         f"{view['crop']} of {view['store_size']}: a distilled run reads the teacher's crop")
    size = input_size(view)
    return None if size == spec.input_size else size


def cached_teacher_targets(teacher: nn.Module, train_set: SignClipDataset, spec: RunSpec, views: int,
                           device: torch.device, teacher_size: int | None = None) -> TeacherTargetDataset:
    """The training clips with the frozen teacher's targets of ``views`` augmentation views, computed once under
    ``distill.cache_dir`` in a folder keyed by the teacher's weights and the view it reads (``teacher_size``, see
    ``teacher_view``; ``training.teacher_cache``): students of one teacher that draw the same clips share the
    targets, whatever resolution each reads."""
    key = cache_key(teacher, teacher_data_view(spec, teacher_size), views, spec.train.seed)
    cached = TeacherTargetDataset(train_set, Path(spec.distill.cache_dir) / key, views)
    cached.build(teacher, device)
    return cached


AUGMENTATION_KEYS = ("flip", "temporal_scale", "temporal_context", "crop_scale")


def teacher_data_view(spec: RunSpec, teacher_size: int | None) -> dict:
    """The clips the teacher's targets are computed on: the run's data view at the teacher's resolution, with the
    augmentation settings that differ from the defaults (they decide which window and crop each view draws)."""
    view = spec.data_view()
    if teacher_size:
        view = {k: v for k, v in view.items() if k != "resize"}
        if teacher_size != spec.crop:
            view["resize"] = teacher_size
    params = spec.data_params()
    return {**view, **{k: params[k] for k in AUGMENTATION_KEYS if params.get(k) != DATA_DEFAULTS[k]}}


def build_model(spec: RunSpec, vocab: Vocabulary, teacher: nn.Module | None = None) -> nn.Module:
    """The recogniser of ``spec`` (``kind``, ``model``) for ``vocab``; with a frozen ``teacher``, the distiller
    of ``spec.distill`` around it and the fresh student."""
    model = build_recognizer(spec.kind, len(vocab), spec.model, **model_inputs(spec.kind, spec.model, vocab))
    return model if teacher is None else build_distiller(teacher, model, spec.distill or DistillSpec())


def model_inputs(kind: str, model: dict, vocab: Vocabulary) -> dict:
    """What a recogniser takes besides its config: CTCA's cross-modality term (``cmd``, on unless switched off)
    needs the vocabulary's gloss embeddings from the frozen text encoder."""
    if kind == "ctca" and model.get("cmd", True):
        from signdistill.models.text_encoder import vocabulary_embeddings

        return {"gloss_embeddings": vocabulary_embeddings(vocab.glosses)}
    return {}


# The distiller's keyword arguments are its options; their defaults are said once, in its signature.
SIGNKD_OPTIONS = set(inspect.signature(SignKDDistiller).parameters) - {"teacher", "student"}


def build_distiller(teacher: nn.Module, student: nn.Module, distill: DistillSpec) -> nn.Module:
    """The distillation wrapper named by ``distill.method`` (crkd | signkd) with its loss options."""
    options = distill.options
    if distill.method == "crkd":
        return CRKDDistiller(teacher, student, CRKDConfig(**options))
    if distill.method == "signkd":
        unknown = set(options) - SIGNKD_OPTIONS
        if unknown:
            raise ValueError(f"unknown SignKD distill option(s) {sorted(unknown)} (known: {sorted(SIGNKD_OPTIONS)})")
        return SignKDDistiller(teacher, student, **options)
    raise ValueError(f"unknown distillation method {distill.method!r} (crkd | signkd)")

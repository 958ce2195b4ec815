"""A run's typed specification: a run's parameters (``<run>.recognizer`` in ``conf/``) parsed and validated once,
where the run starts (``RunSpec.from_params``), and the corpus it reads (``RunInputs``). ``training.run.train_run``
trains a run from these two."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signdistill.data.features import FeatureStore
from signdistill.errors import InputError, check_types, reject_unknown
from signdistill.losses import crkd as crkd_losses
from signdistill.losses import ctc as ctc_losses
from signdistill.losses import ctca as ctca_losses
from signdistill.losses import signkd as signkd_losses
from signdistill.losses import smkd as smkd_losses
from signdistill.models.registry import recognizer_config
from signdistill.paths import DATA
from signdistill.training.seeds import seed_run_name
from signdistill.training.trainer import TrainConfig

DEFAULT_CHECKPOINT_ROOT = DATA.checkpoints


@dataclass(frozen=True)
class DDPSpec:
    """Processes per machine and machines; more than one process: the run is trained by ``torchrun`` (DDP).

    With ``nnodes`` > 1, ``rdzv_endpoint`` (``host:port`` on the launching machine, reachable from the others)
    is where the machines meet, under the job name ``rdzv_id``; every other machine runs the ``torchrun`` command
    that the launch logs (docs/scaling.md).
    """

    nproc_per_node: int = 1
    nnodes: int = 1
    rdzv_endpoint: str = ""
    rdzv_id: str = "signdistill"

    def __post_init__(self) -> None:
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise ValueError(f"ddp: nnodes {self.nnodes} needs rdzv_endpoint (host:port of the launching machine)")

    @property
    def distributed(self) -> bool:
        return self.nproc_per_node * self.nnodes > 1


@dataclass(frozen=True)
class DistillSpec:
    """Distillation from a frozen teacher: the ``method`` (crkd | signkd), its loss ``options`` (validated by the
    distiller that takes them) and offline targets (``cache_views`` augmentation views of the teacher's targets
    computed once under ``cache_dir``; 0 = the teacher runs at every step)."""

    method: str = "crkd"
    cache_views: int = 0
    cache_dir: str = str(DATA.teacher_targets)
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> DistillSpec:
        options = {k: v for k, v in params.items() if k not in ("method", "cache_views", "cache_dir")}
        known = {k: params[k] for k in ("method", "cache_views", "cache_dir") if k in params}
        spec = cls(**known, options=options)
        if spec.method not in ("crkd", "signkd"):
            raise ValueError(f"unknown distillation method {spec.method!r} (crkd | signkd)")
        return spec

    def to_params(self) -> dict[str, Any]:
        """The section as written, defaults left out (so that it fingerprints as the YAML that said it)."""
        params = {"method": self.method, **self.options}
        if self.cache_views:
            params["cache_views"] = self.cache_views
        if self.cache_dir != DistillSpec.cache_dir:
            params["cache_dir"] = self.cache_dir
        return params


# The keys of a run's parameters besides ``store_size``, ``crop``, ``model``, ``train``, ``distill``,
# ``checkpoint_dir`` and ``ddp``; their defaults are RunSpec's fields (DATA_DEFAULTS, below the class).
DATA_KEYS = ("kind", "resize", "flip", "temporal_scale", "temporal_context", "crop_scale", "streams", "rules")


@dataclass(frozen=True)
class RunSpec:
    """What one run trains and how: the recogniser (``kind`` and its ``model`` block, validated by
    ``models.registry.recognizer_config``), the data view (the frame store's ``store_size``, the ``crop``, for
    low-resolution students the ``resize`` of the crop, augmentation, the feature ``streams`` a multi-modal
    model reads), the scoring ``rules``, the training section (``TrainConfig``), the distillation (none: the
    run trains from scratch), where its checkpoints live (default ``<checkpoint root>/<name>``) and how many
    processes train it."""

    name: str
    store_size: int
    crop: int
    model: dict[str, Any]
    train: TrainConfig
    kind: str = "baseline"
    resize: int | None = None
    flip: bool = True
    temporal_scale: float = 0.2
    temporal_context: int = 12
    crop_scale: tuple[float, float] | None = None
    streams: tuple[str, ...] | None = None
    rules: str = "none"
    distill: DistillSpec | None = None
    checkpoint_dir: Path = Path()
    ddp: DDPSpec = DDPSpec()

    @classmethod
    def from_params(cls, params: dict[str, Any], name: str,
                    checkpoint_root: str | Path = DEFAULT_CHECKPOINT_ROOT) -> RunSpec:
        """Parse and validate ``params`` (a run's ``recognizer`` section); every problem names the run."""
        try:
            return cls._parse(dict(params), name, Path(checkpoint_root))
        except (TypeError, ValueError, KeyError) as error:
            raise InputError(f"run {name!r}: {error}") from error

    @classmethod
    def _parse(cls, params: dict[str, Any], name: str, checkpoint_root: Path) -> RunSpec:
        known = set(DATA_DEFAULTS) | {"store_size", "crop", "model", "train", "distill", "checkpoint_dir", "ddp"}
        reject_unknown(params, known, "unknown parameters {unknown}; a run takes {known}")
        missing = sorted({"store_size", "crop", "model", "train"} - set(params))
        if missing:
            raise ValueError(f"missing parameters {missing}")
        data = {k: params.get(k, default) for k, default in DATA_DEFAULTS.items()}
        recognizer_config(data["kind"], 1, params["model"])  # an unknown model key fails here, naming the kind
        streams = tuple(data["streams"]) if data["streams"] else None
        if streams and set(streams) - {"flow", "keypoints"}:
            raise ValueError(f"unknown streams {sorted(set(streams) - {'flow', 'keypoints'})} (flow | keypoints)")
        train_keys = {f.name for f in dataclasses.fields(TrainConfig)} - {"run_fingerprint"}
        reject_unknown(params["train"], train_keys, "unknown train parameters {unknown}; train takes {known}")
        check_types(cls, {k: params[k] for k in ("store_size", "crop")}, "")
        check_types(cls, {k: v for k, v in data.items() if k in params}, "")
        check_types(TrainConfig, params["train"], "train.")
        check_types(DDPSpec, params.get("ddp", {}), "ddp.")
        return cls(name=name, store_size=int(params["store_size"]), crop=int(params["crop"]),
                   model=dict(params["model"]), train=TrainConfig(**params["train"]), kind=str(data["kind"]),
                   resize=int(data["resize"]) if data["resize"] else None, flip=bool(data["flip"]),
                   temporal_scale=float(data["temporal_scale"]), temporal_context=int(data["temporal_context"]),
                   crop_scale=tuple(data["crop_scale"]) if data["crop_scale"] else None, streams=streams,
                   rules=str(data["rules"]),
                   distill=DistillSpec.from_params(params["distill"]) if params.get("distill") else None,
                   checkpoint_dir=Path(params.get("checkpoint_dir") or checkpoint_root / name),
                   ddp=DDPSpec(**params.get("ddp", {})))

    def to_params(self) -> dict[str, Any]:
        """The spec as a parameters section (JSON-able): what ``from_params`` reads back to the same spec."""
        params: dict[str, Any] = {k: getattr(self, k) for k in DATA_DEFAULTS}
        params.update(store_size=self.store_size, crop=self.crop, model=self.model,
                      train={k: v for k, v in dataclasses.asdict(self.train).items() if k != "run_fingerprint"},
                      checkpoint_dir=str(self.checkpoint_dir), ddp=dataclasses.asdict(self.ddp))
        params["crop_scale"] = list(self.crop_scale) if self.crop_scale else None
        params["streams"] = list(self.streams) if self.streams else None
        if self.distill is not None:
            params["distill"] = self.distill.to_params()
        return params

    def train_config(self, vocabulary: dict) -> TrainConfig:
        """The training section, carrying the fingerprint of everything else the run is built from (its
        parameters and ``vocabulary``, ``run_fingerprint``) for its checkpoints."""
        return dataclasses.replace(self.train, run_fingerprint=run_fingerprint(self.to_params(), vocabulary))

    def fingerprint(self, vocabulary: dict) -> str:
        """What a checkpoint of this run must match to be resumed: one hash of the whole spec, defaults included
        as this schema says them (``TrainConfig.fingerprint`` over ``train_config``)."""
        return self.train_config(vocabulary).fingerprint()

    def with_seed(self, seed: int) -> RunSpec:
        """The same run at another seed (``seeds_<method>`` pipelines): named ``<run>_seed<s>``, its checkpoints
        in a folder of their own beside the run's, so that every seed resumes and skips on its own."""
        return dataclasses.replace(self, name=seed_run_name(self.name, seed),
                                   train=dataclasses.replace(self.train, seed=int(seed)),
                                   checkpoint_dir=self.checkpoint_dir.with_name(
                                       seed_run_name(self.checkpoint_dir.name, seed)))

    def data_params(self) -> dict[str, Any]:
        """The data view and augmentation as ``training.recipes.clip_dataset`` reads them."""
        keys = ("store_size", "crop", "resize", "flip", "temporal_scale", "temporal_context", "crop_scale", "streams")
        params = {k: v for k, v in self.to_params().items() if k in keys}
        return {**params, "train": {"seed": self.train.seed}}

    def data_view(self) -> dict[str, Any]:
        """The input a model sees, as its package records it."""
        return data_view(self.to_params())

    @property
    def input_size(self) -> int:
        return self.resize or self.crop


# The defaults of the data-view keys, said once: RunSpec's own field defaults.
DATA_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(RunSpec) if f.name in DATA_KEYS}


# The loss modules a run trains with, by its recogniser's ``kind`` and its ``distill.method``; each module's
# ``LOSS_REVISION`` says which version of its losses a checkpoint was trained with.
KIND_LOSSES = {"smkd": smkd_losses, "ctca": ctca_losses}
DISTILL_LOSSES = {"crkd": crkd_losses, "signkd": signkd_losses}


def loss_revisions(params: dict) -> dict:
    """What the fingerprint records of the run's losses: the revision of its recogniser's own losses under
    ``loss_revision`` (SMKD, CTCA), and any other loss module it uses (CTC, the distiller's) under
    ``loss_revisions`` once that module has been revised past 1, so that fingerprints made before a module had
    revisions stay valid until it is revised."""
    recorded: dict = {}
    if params.get("kind") in KIND_LOSSES:
        recorded["loss_revision"] = KIND_LOSSES[params["kind"]].LOSS_REVISION
    method = params["distill"].get("method") if isinstance(params.get("distill"), dict) else None
    others = {"ctc": ctc_losses, **({method: DISTILL_LOSSES[method]} if method in DISTILL_LOSSES else {})}
    revised = {name: module.LOSS_REVISION for name, module in others.items() if module.LOSS_REVISION > 1}
    if revised:
        recorded["loss_revisions"] = revised
    return recorded


def run_fingerprint(params: dict, vocabulary: dict) -> str:
    """What a checkpoint must have been trained with to be resumed, besides the training section: the model,
    the data view, the distillation options and the vocabulary (changing ``model.frame_stride`` or ``crop``
    must start afresh, not continue someone else's weights). Where the run lives and how many processes train
    it (``checkpoint_dir``, ``ddp``) do not count. A data-view key spelled at its default (``DATA_DEFAULTS``)
    counts as left out, so that saying a default once instead of in every run resumes the same run; the revisions
    of the run's losses count (``loss_revisions``)."""
    kept = {k: v for k, v in params.items()
            if k not in ("train", "checkpoint_dir", "ddp") and (k not in DATA_DEFAULTS or v != DATA_DEFAULTS[k])}
    if isinstance(kept.get("distill"), dict):  # where the teacher's targets are cached does not change them
        kept["distill"] = {k: v for k, v in kept["distill"].items() if k != "cache_dir"}
    kept.update(loss_revisions(params))
    text = json.dumps({"params": kept, "vocabulary": vocabulary}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def data_view(params: dict) -> dict:
    """The input a model sees: store size, crop, for low-resolution models the size the crop is resized to,
    and the aligned feature streams (``["flow", "keypoints"]``) a multi-modal model reads."""
    return {k: params[k] for k in ("store_size", "crop", "resize", "streams") if params.get(k)}


def input_size(view: dict) -> int:
    """The side of the square frames a model reads (of a run's parameters or its package's data view): the crop,
    or for a low-resolution model the size the crop is resized to."""
    return int(view.get("resize") or view["crop"])


@dataclass
class RunInputs:
    """The corpus a run reads: the frame store's root, the index rows, the vocabulary, the feature store (for
    models that read flow and keypoints) and, for a distilled run, the frozen teacher's package."""

    store_root: Path
    index: list[dict]
    vocabulary: dict
    features: FeatureStore | None = None
    teacher_package: dict | None = None



"""The one model registry: every network by name, to build from a config dict, to rebuild a trained one from
its package (``RECOGNIZERS``), and to build at a given size with example inputs for profiling
(``MODEL_BUILDERS``, what ``signdistill profile`` measures with ``metrics.efficiency``).

A *model package* is what training nodes save and evaluation nodes load: ``{"kind", "config",
"state_dict", "vocabulary", "data"}``, where ``data`` holds the input view the model was trained on
(``store_size``, ``crop`` and, for low-resolution students, ``resize``). On disk it is a safetensors file
(``models.package_file``: ``read_package``, ``write_package``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

from torch import nn

from signdistill.errors import check_types, reject_unknown
from signdistill.models.baseline import BaselineConfig, BaselineRecognizer, build_baseline
from signdistill.models.ctca import CTCAConfig, CTCARecognizer, build_ctca
from signdistill.models.lrinet import LRINet, LRINetConfig, build_lrinet
from signdistill.models.mstnet import MSTNet, MSTNetConfig, MSTNetUpsampled, build_mstnet, build_mstnet_method1
from signdistill.models.numerics import flush_denormals
from signdistill.models.package_file import read_package, write_package  # noqa: F401 - the package API
from signdistill.models.resnet import build_resnet18_frames
from signdistill.models.signkd import (
    SignKDStudent,
    SignKDStudentConfig,
    SignKDTeacher,
    SignKDTeacherConfig,
    build_signkd_student,
    build_signkd_teacher,
)
from signdistill.models.smkd import SMKDConfig, SMKDRecognizer, build_smkd

ModelBuilder = Callable[..., tuple[nn.Module, tuple]]

RECOGNIZERS: dict[str, tuple[type, type[nn.Module]]] = {
    "baseline": (BaselineConfig, BaselineRecognizer),
    "lrinet": (LRINetConfig, LRINet),
    "mstnet": (MSTNetConfig, MSTNet),
    "mstnet_method1": (MSTNetConfig, MSTNetUpsampled),
    "smkd": (SMKDConfig, SMKDRecognizer),
    "ctca": (CTCAConfig, CTCARecognizer),
    "signkd_teacher": (SignKDTeacherConfig, SignKDTeacher),
    "signkd_student": (SignKDStudentConfig, SignKDStudent),
}


# ``(resolution, frames, vocab, channels, batch) -> (model, example_inputs)``: a network at the size to
# profile and inputs for one forward pass. Every recogniser above, plus a plain per-frame ResNet-18.
MODEL_BUILDERS: dict[str, ModelBuilder] = {
    "resnet18_frames": build_resnet18_frames,
    "baseline": build_baseline,
    "lrinet": build_lrinet,
    "mstnet": build_mstnet,
    "mstnet_method1": build_mstnet_method1,
    "smkd": build_smkd,
    "ctca": build_ctca,
    "signkd_teacher": build_signkd_teacher,
    "signkd_student": build_signkd_student,
}


def register_model(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a builder ``(resolution, frames, vocab, **kw) -> (model, example_inputs)``."""
    def wrap(builder: ModelBuilder) -> ModelBuilder:
        MODEL_BUILDERS[name] = builder
        return builder
    return wrap


def recognizer_config(kind: str, num_classes: int, config: dict[str, Any]) -> Any:
    """The config dataclass of ``kind``; unknown keys are an error naming the known ones."""
    if kind not in RECOGNIZERS:
        raise ValueError(f"unknown recognizer kind {kind!r}; known: {', '.join(sorted(RECOGNIZERS))}")
    config_type = RECOGNIZERS[kind][0]
    known = {f.name for f in fields(config_type)}
    reject_unknown(config, known - {"num_classes", "vocab_size"}, f"{kind} has no parameters {{unknown}}; "
                   "it takes {known}")
    check_types(config_type, config, "model.")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    classes = "num_classes" if "num_classes" in known else "vocab_size"  # SignKD's configs say vocab_size
    return config_type(**{**values, classes: num_classes})


def build_recognizer(kind: str, num_classes: int, config: dict[str, Any], **inputs: Any) -> nn.Module:
    """``inputs``: what a model takes besides its config (CTCA's ``gloss_embeddings``)."""
    return RECOGNIZERS[kind][1](recognizer_config(kind, num_classes, config), **inputs)


def package_model(kind: str, model: nn.Module, state_dict: dict, vocabulary: dict, data: dict) -> dict:
    """What a training node saves: enough to rebuild, evaluate and deploy the model without its recipe."""
    return {"kind": kind, "config": asdict(model.config), "state_dict": state_dict, "vocabulary": vocabulary,
            "data": data}


def load_recognizer(package: dict) -> nn.Module:
    """Rebuild a trained model (eval mode) from its package."""
    config = dict(package["config"])
    num_classes = int(config.pop("num_classes") if "num_classes" in config else config.pop("vocab_size"))
    state = package["state_dict"]
    inputs = {"gloss_embeddings": state["gloss_embeddings"]} if "gloss_embeddings" in state else {}
    model = build_recognizer(package["kind"], num_classes, config, **inputs)
    model.load_state_dict(package["state_dict"])
    flush_denormals(True)  # inference as trained (TrainConfig.flush_denormal): subnormals are slow on CPUs
    return model.eval()


def inference_network(model: nn.Module) -> nn.Module:
    """What runs at test time: a model with an ``export()`` (CTCA: SPM + BLSTM) without its training-only
    branches, any other model as it is. Cost figures (parameters, MACs, latency) are of this network."""
    return model.export().eval() if hasattr(model, "export") else model


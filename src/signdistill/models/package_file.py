"""Model package files: the weights as safetensors, the rest of the package as JSON in the file's header.

A model package (``models.registry.package_model``) is ``{"kind", "config", "state_dict", "vocabulary",
"data"}``. On disk it is one ``.safetensors`` file: the state dict's tensors, and the other four entries as
a JSON document under the header's metadata key ``signdistill.package``. Reading it parses JSON and copies
tensor bytes, nothing else, so a model file someone shared cannot run code when opened. A package written by
``torch.save`` (``.pt``) is read with ``weights_only=True``, whose unpickler builds only tensors and plain
values; a plain pickle (the older ``.pkl`` packages) can run code when opened and is refused, with the command
that converts a file one trusts.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from signdistill.data.atomic import atomic_write
from signdistill.errors import InputError, MissingInputError

SPEC_KEY = "signdistill.package"
FORMAT_VERSION = 1
SPEC_FIELDS = {"kind", "config"}  # what rebuilding the network needs (``registry.load_recognizer``)
SUFFIX = ".safetensors"
# what a pickle (protocol 2+) and a torch.save zip archive start with
PICKLE_MAGIC, ZIP_MAGIC = b"\x80", b"PK\x03\x04"


class ModelFileError(InputError):
    """A file that is not a model package this project can open safely."""


def write_package(package: dict, path: str | Path) -> None:
    """Write ``package`` to ``path`` atomically (safetensors weights + JSON spec)."""
    spec = {"format": FORMAT_VERSION, **{k: v for k, v in package.items() if k != "state_dict"}}
    tensors = _unshared(package["state_dict"])
    metadata = {SPEC_KEY: json.dumps(spec)}
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_package(path: str | Path) -> dict:
    """The model package in ``path``; anything else (a pickle, a directory, another file) is a ``ModelFileError``
    naming the file. Tensors come back on the CPU."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"no model package at {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model package (data/06_models/<run>{SUFFIX})")
    with open(path, "rb") as handle:
        head = handle.read(9)
    if not _is_safetensors(head, path.stat().st_size):
        if head.startswith(ZIP_MAGIC):
            return _read_torch_package(path)
        if head.startswith(PICKLE_MAGIC):
            raise ModelFileError(f"{path} is a pickled model package, which can run code when opened, so it is not "
                                 f"loaded; if you trust it, convert it: signdistill convert-model {path}")
        raise ModelFileError(f"{path} is not a model package (neither safetensors nor a torch.save file)")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(f"{path} is not a model package ({_first_line(error)})") from error
    if SPEC_KEY not in metadata:
        raise ModelFileError(f"{path} is a safetensors file without a SignDistill model spec")
    try:
        spec = json.loads(metadata[SPEC_KEY])
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path} has an unreadable model spec ({error})") from error
    if not isinstance(spec, dict) or spec.pop("format", None) != FORMAT_VERSION:
        raise ModelFileError(f"{path} is a model package of another format version (this one reads "
                             f"{FORMAT_VERSION})")
    if missing := sorted(SPEC_FIELDS - set(spec)):
        raise ModelFileError(f"{path} has a model spec without {', '.join(missing)}")
    return {**spec, "state_dict": state}


def load_tensors_only(path: Path, error_type: type[Exception], advice: str = "") -> Any:
    """What ``torch.save`` wrote to ``path``, read by the unpickler that builds only tensors and plain values
    (``weights_only=True``); anything else is an ``error_type`` naming the file, the object refused and
    ``advice``."""
    try:
        with open(path, "rb") as handle:  # a handle: torch.load would pick its reader by the file's name
            return torch.load(handle, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # what the weights-only unpickler raises for anything it refuses
        raise error_type(f"{path} holds more than tensors and plain values and could run code when opened, so it "
                         f"is not loaded{advice} ({_culprit(error)})") from error
    except (RuntimeError, EOFError, OSError) as error:  # a cut or damaged zip archive, an empty file
        raise error_type(f"{path} is truncated or corrupt{advice} ({_culprit(error)})") from error


def _culprit(error: Exception) -> str:
    """The line of a torch.load error that says what went wrong (they run to many lines)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return ([line for line in lines if "nsupported" in line] or lines[-1:] or [type(error).__name__])[0][:160]


def _read_torch_package(path: Path) -> dict:
    """A package saved with ``torch.save`` (tensors and plain values only)."""
    package = load_tensors_only(path, ModelFileError)
    if not isinstance(package, dict) or not {"kind", "state_dict"} <= set(package):
        raise ModelFileError(f"{path} does not hold a model package (kind, config, state_dict, ...)")
    return package


def convert_pickled_package(source: str | Path, target: str | Path) -> dict:
    """Rewrite an older pickled package (``.pkl`` from the catalog, ``.pt`` from ``torch.save``) as a package
    file. This unpickles ``source``, which runs whatever code it carries: only for files one trusts."""
    source = Path(source)
    with open(source, "rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        if head.startswith(ZIP_MAGIC):
            package = torch.load(handle, map_location="cpu", weights_only=False)
        else:
            package = pickle.load(handle)  # noqa: S301 - explicitly asked for, on a trusted file
    if not isinstance(package, dict) or "state_dict" not in package or "kind" not in package:
        raise ModelFileError(f"{source} does not hold a model package (kind, config, state_dict, ...)")
    write_package(package, target)
    return package


def _unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors, each with its own memory (safetensors refuses tensors sharing storage, such as a
    classifier shared by two heads; loading copies each into the shared parameter alike)."""
    seen: set[tuple[int, int]] = set()
    tensors = {}
    for name, value in state.items():
        tensor = value.detach().cpu().contiguous()
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        shared = key in seen or tensor.untyped_storage().nbytes() != tensor.nbytes
        seen.add(key)
        tensors[name] = tensor.clone() if shared else tensor
    return tensors


def _is_safetensors(head: bytes, size: int) -> bool:
    """A safetensors file starts with its JSON header's length (8 bytes, little-endian), then the header's ``{``."""
    return len(head) == 9 and head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


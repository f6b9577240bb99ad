"""Safe save/load of a fitted model: state dicts plus JSON metadata.

A model file is a zip archive with two members:

``metadata.json``
    format name and version, package and torch versions, the estimator's
    parameters, its fitted attributes (classes, sampling strategy, history,
    column schema and transformer state for tables, the image layout for
    images), and the SHA-256 of ``weights.pt``.
    Values that JSON cannot hold exactly (tuples, bytes, arrays, dtypes,
    dictionaries with non-string keys) are written as small tagged objects.
``weights.pt``
    the generator's state dict and the generation weights (for
    ``generator="anchored"``, the anchors instead: the encoded training rows
    and their count per class, so such a file holds real rows), written with
    ``torch.save`` and read back with ``torch.load(weights_only=True)`` and a
    ``map_location``, so loading never unpickles arbitrary objects and a
    CUDA-trained model loads on a CPU-only machine.

Files are written atomically (a temporary file in the same folder, then a
rename), and every way a file can be wrong (missing, truncated, corrupted, of
another format or of a newer format version, with invalid parameters or
content) is reported as a ``ValueError`` that names the file and the problem.

A file is not trusted on load: the archive must hold exactly the two members,
each under its size cap (:data:`MAX_METADATA_BYTES`, :data:`MAX_WEIGHTS_BYTES`),
read with a bounded read so that a zip header that understates a member cannot
get more than the cap decompressed;
the parameters pass the estimator's own validation before anything is built;
and the generator is built on torch's ``meta`` device and allocated only once
every tensor of the file has the shape the architecture needs, so metadata
alone never decides how much memory a load takes.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import warnings
import zipfile
import zlib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .device import resolve_device
from .files import atomic_write
from .fitted import FittedModel

__all__ = ["FORMAT_VERSION", "MAX_METADATA_BYTES", "MAX_WEIGHTS_BYTES", "save", "load"]

FORMAT_NAME = "gan-augment"
FORMAT_VERSION = 1
_METADATA, _WEIGHTS = "metadata.json", "weights.pt"

#: Largest ``metadata.json`` a load reads (uncompressed). Real ones are a few
#: kB, plus the category values of a table: 64 MiB holds millions of them.
MAX_METADATA_BYTES = 64 * 2**20
#: Largest ``weights.pt`` a load reads (uncompressed): about a billion float32
#: weights, far above any generator this package builds.
MAX_WEIGHTS_BYTES = 4 * 2**30


# -- a tagged JSON codec --------------------------------------------------------


def _encode(value: Any) -> Any:
    """Turn a value into JSON that :func:`_decode` gives back exactly."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, bytes):
        return {"__bytes__": value.hex()}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return {"__ndarray__": [_encode(v) for v in value.tolist()], "dtype": value.dtype.str}
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, pd.CategoricalDtype):
        return {
            "__category__": _encode(np.asarray(value.categories, dtype=object)),
            "categories_dtype": str(value.categories.dtype),
            "ordered": bool(value.ordered),
        }
    if isinstance(value, (np.dtype, pd.api.extensions.ExtensionDtype)):
        return {"__dtype__": str(value)}
    raise TypeError(f"cannot save a value of type {type(value).__name__}: {value!r}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__bytes__" in value:
        return bytes.fromhex(value["__bytes__"])
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {_decode(k): _decode(v) for k, v in value["__dict__"]}
    if "__ndarray__" in value:
        items = [_decode(v) for v in value["__ndarray__"]]
        dtype = np.dtype(value["dtype"])
        if dtype == object:
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out
        return np.asarray(items, dtype=dtype)
    if "__device__" in value:
        return torch.device(value["__device__"])
    if "__category__" in value:
        categories = pd.Index(_decode(value["__category__"]))
        categories = categories.astype(value["categories_dtype"])
        return pd.CategoricalDtype(categories, ordered=value["ordered"])
    if "__dtype__" in value:
        return pd.api.types.pandas_dtype(value["__dtype__"])
    raise ValueError(f"unknown tagged value {sorted(value)}")


# -- writing --------------------------------------------------------------------


def _saveable_params(params: dict) -> dict:
    params = dict(params)
    if callable(params["sampling_strategy"]):
        warnings.warn(
            "sampling_strategy is a callable, which cannot be saved safely; the "
            "loaded model has sampling_strategy='auto' (its fitted "
            "sampling_strategy_ is kept).",
            UserWarning,
            stacklevel=4,
        )
        params["sampling_strategy"] = "auto"
    if isinstance(params["random_state"], np.random.RandomState):
        warnings.warn(
            "random_state is a RandomState instance, which is not saved; the loaded "
            "model has random_state=None. Pass an int to keep sampling reproducible.",
            UserWarning,
            stacklevel=4,
        )
        params["random_state"] = None
    if not isinstance(params["categorical_features"], str):
        params["categorical_features"] = np.asarray(params["categorical_features"])
    return params


def save(
    path: str | os.PathLike, params: dict, fitted: dict, model: FittedModel
) -> Path:
    """Write a fitted model to ``path`` (see the module docstring).

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params(deep=False)``).
    fitted : dict
        The estimator's fitted attributes besides the model (classes,
        sampling strategy, history, ...), by name.
    model : FittedModel
    """
    from . import __version__

    model_state, weights = model.state()
    fitted = {**fitted, **model_state}
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    weight_bytes = buffer.getvalue()
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gan_augment_version": __version__,
        "torch_version": torch.__version__,
        "weights_sha256": hashlib.sha256(weight_bytes).hexdigest(),
        "params": _encode(_saveable_params(params)),
        "fitted": _encode(fitted),
    }

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_METADATA, json.dumps(metadata))
            archive.writestr(_WEIGHTS, weight_bytes)

    return atomic_write(path, write)


# -- reading --------------------------------------------------------------------


def _problem(path: Path, problem: str) -> ValueError:
    return ValueError(f"Cannot load gan-augment model from '{path}': {problem}")


def _size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:g} GiB"
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


def _read_member(archive: zipfile.ZipFile, name: str, cap: int, path: Path) -> bytes:
    """A member's bytes, refusing more than ``cap`` of them."""
    info = archive.getinfo(name)
    if info.file_size > cap:
        raise _problem(
            path, f"its {name} is {info.file_size:,} bytes, over the {_size(cap)} limit."
        )
    # The declared size can lie: read at most one byte past the cap, so that
    # whatever the header says, no more than that is ever decompressed.
    with archive.open(info) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise _problem(path, f"its {name} is over the {_size(cap)} limit.")
    return data


def _read(path: Path) -> tuple[dict, bytes]:
    if not path.exists():
        raise FileNotFoundError(f"No gan-augment model file at '{path}'.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            missing = {_METADATA, _WEIGHTS} - set(names)
            if missing:
                raise _problem(
                    path, f"it is not a gan-augment model file (missing {sorted(missing)})."
                )
            extra = list(names)
            extra.remove(_METADATA)
            extra.remove(_WEIGHTS)
            if extra:
                raise _problem(
                    path,
                    f"it holds members other than {_METADATA} and {_WEIGHTS} "
                    f"({sorted(extra)[:5]}); a gan-augment model file holds only those two.",
                )
            metadata_bytes = _read_member(archive, _METADATA, MAX_METADATA_BYTES, path)
            weight_bytes = _read_member(archive, _WEIGHTS, MAX_WEIGHTS_BYTES, path)
    except (
        zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
        # An encrypted member, or one compressed with a method zipfile lacks.
        RuntimeError, NotImplementedError,
    ) as exc:
        raise _problem(
            path, f"the file is truncated, corrupted or not a model file ({exc})."
        ) from exc
    try:
        metadata = json.loads(metadata_bytes)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise _problem(path, f"its metadata is corrupted ({exc}).") from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _problem(path, "it is not a gan-augment model file (wrong format name).")
    version = metadata.get("format_version")
    if type(version) is not int or version > FORMAT_VERSION:
        raise _problem(
            path,
            f"it has format version {version!r}, written by gan-augment "
            f"{metadata.get('gan_augment_version')}; this version reads format "
            f"versions up to {FORMAT_VERSION}. Upgrade gan-augment to load it.",
        )
    if not isinstance(metadata.get("weights_sha256"), str):
        raise _problem(path, "its metadata has no weights_sha256 entry.")
    if hashlib.sha256(weight_bytes).hexdigest() != metadata["weights_sha256"]:
        raise _problem(path, "its weights are corrupted (SHA-256 mismatch).")
    return metadata, weight_bytes


def _why(exc: BaseException) -> str:
    """A reason for an error message (a bare KeyError only shows the key)."""
    if isinstance(exc, KeyError):
        return f"the entry {exc.args[0]!r} is missing" if exc.args else "an entry is missing"
    return str(exc) or type(exc).__name__


def load(
    path: str | os.PathLike,
    device: str | torch.device = "auto",
    check_params: Callable[[dict], object] | None = None,
    required: Collection[str] = (),
) -> tuple[dict, dict, FittedModel]:
    """Read a model written by :func:`save` onto ``device``.

    Parameters
    ----------
    path : str or path-like
    device : str or torch.device, default="auto"
    check_params : callable, optional
        Called with the saved parameters before anything is built from them;
        raises (any exception) if they are invalid.
    required : collection of str, default=()
        Fitted attributes the file must hold.

    Returns
    -------
    params : dict
        The estimator's parameters, with ``device`` set to ``device``.
    fitted : dict
        Its fitted attributes by name (``history_`` as a DataFrame).
    model : FittedModel

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        For anything wrong with the file, naming it.
    """
    path = Path(path)
    metadata, weight_bytes = _read(path)
    target = resolve_device(device)
    try:
        params = _decode(metadata["params"])
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise ValueError("the parameters are not a dictionary by name")
        if check_params is not None:
            check_params(params)
    except Exception as exc:
        raise _problem(path, f"its parameters are invalid ({_why(exc)}).") from exc
    # Anything may be wrong in a file that passed the checksum (it is a checksum
    # of the weights only, and anyone can recompute it), so every step that
    # rebuilds from its content reports in the same way.
    try:
        weights = torch.load(
            io.BytesIO(weight_bytes), map_location=target, weights_only=True
        )
        fitted = _decode(metadata["fitted"])
        if not isinstance(fitted, dict):
            raise ValueError("the fitted attributes are not a dictionary")
        for name in ("dp_epsilon_spent_", "dp_delta_", "dp_noise_multiplier_", "dp_history_"):
            fitted.setdefault(name, None)
        missing = sorted(set(required) - set(fitted))
        if missing:
            raise ValueError(f"fitted attributes are missing: {missing}")
        model = FittedModel.from_state(fitted, weights, params, target)
        fitted["history_"] = pd.DataFrame(fitted["history_"]).set_index("epoch")
    except Exception as exc:
        raise _problem(path, f"its content is invalid ({_why(exc)}).") from exc
    params["device"] = device
    return params, fitted, model

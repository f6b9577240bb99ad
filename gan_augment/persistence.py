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
    the generator's state dict and the generation weights, written with
    ``torch.save`` and read back with ``torch.load(weights_only=True)`` and a
    ``map_location``, so loading never unpickles arbitrary objects and a
    CUDA-trained model loads on a CPU-only machine.

Files are written atomically (a temporary file in the same folder, then a
rename), and every way a file can be wrong (missing, truncated, corrupted, of
another format or of a newer format version) is reported as a ``ValueError``
that names the file and the problem.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .device import resolve_device
from .files import atomic_write
from .fitted import FittedModel

__all__ = ["FORMAT_VERSION", "save", "load"]

FORMAT_NAME = "gan-augment"
FORMAT_VERSION = 1
_METADATA, _WEIGHTS = "metadata.json", "weights.pt"


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


def _read(path: Path) -> tuple[dict, bytes]:
    def bad(problem: str) -> ValueError:
        return ValueError(f"Cannot load gan-augment model from '{path}': {problem}")

    if not path.exists():
        raise FileNotFoundError(f"No gan-augment model file at '{path}'.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = {_METADATA, _WEIGHTS} - names
            if missing:
                raise bad(f"it is not a gan-augment model file (missing {sorted(missing)}).")
            metadata_bytes = archive.read(_METADATA)
            weight_bytes = archive.read(_WEIGHTS)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise bad(f"the file is truncated, corrupted or not a model file ({exc}).") from exc
    try:
        metadata = json.loads(metadata_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad(f"its metadata is corrupted ({exc}).") from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise bad("it is not a gan-augment model file (wrong format name).")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise bad(
            f"it has format version {version!r}, written by gan-augment "
            f"{metadata.get('gan_augment_version')}; this version reads format "
            f"versions up to {FORMAT_VERSION}. Upgrade gan-augment to load it."
        )
    if hashlib.sha256(weight_bytes).hexdigest() != metadata.get("weights_sha256"):
        raise bad("its weights are corrupted (SHA-256 mismatch).")
    return metadata, weight_bytes


def load(
    path: str | os.PathLike, device: str | torch.device = "auto"
) -> tuple[dict, dict, FittedModel]:
    """Read a model written by :func:`save` onto ``device``.

    Returns
    -------
    params : dict
        The estimator's parameters, with ``device`` set to ``device``.
    fitted : dict
        Its fitted attributes by name (``history_`` as a DataFrame).
    model : FittedModel
    """
    path = Path(path)
    metadata, weight_bytes = _read(path)
    target = resolve_device(device)
    try:
        weights = torch.load(
            io.BytesIO(weight_bytes), map_location=target, weights_only=True
        )
        params = _decode(metadata["params"])
        fitted = _decode(metadata["fitted"])
    except Exception as exc:
        raise ValueError(
            f"Cannot load gan-augment model from '{path}': its content is invalid ({exc})."
        ) from exc
    params["device"] = device
    model = FittedModel.from_state(fitted, weights, params, target)
    fitted["history_"] = pd.DataFrame(fitted["history_"]).set_index("epoch")
    for name in ("dp_epsilon_spent_", "dp_delta_", "dp_noise_multiplier_", "dp_history_"):
        fitted.setdefault(name, None)
    return params, fitted, model

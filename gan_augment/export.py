"""Fully synthetic data sets from a :class:`~gan_augment.fitted.FittedModel`, streamed chunk by chunk.

:func:`iter_synthetic` yields ``(X, y)`` chunks, so a data set of any size is
generated without holding it in memory; :func:`write_synthetic` streams the
chunks into a CSV or Parquet file, written atomically (a temporary file beside
the target, renamed at the end), so an interrupted run leaves no half file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .files import atomic_write
from .fitted import FittedModel
from .options import check_n_samples

__all__ = [
    "check_table_model", "class_counts", "iter_class_counts", "iter_synthetic",
    "labelled_frame", "write_synthetic",
]

#: Rows generated per chunk.
CHUNK_SIZE = 100_000
FORMATS = (".csv", ".parquet")


def _largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to ``n``, proportional to ``shares``."""
    exact = shares / shares.sum() * n
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def class_counts(model: FittedModel, n_samples: int, class_distribution: Any) -> np.ndarray:
    """Rows of each class in ``model.classes`` for a data set of ``n_samples``.

    Parameters
    ----------
    class_distribution : "original", "balanced" or dict
        ``"original"``: the training data's class shares (under differential
        privacy, their noisy estimate); ``"balanced"``: equal shares; a dict:
        label -> non-negative weight (classes left out get none), normalised.
    """
    n_samples = check_n_samples(n_samples)
    classes = model.classes
    if isinstance(class_distribution, str) and class_distribution == "original":
        if model.class_weights is None:
            raise ValueError(
                "This model was saved by an older gan-augment without its class "
                "shares: pass class_distribution='balanced' or a dict."
            )
        shares = np.asarray(model.class_weights, dtype=np.float64)
    elif isinstance(class_distribution, str) and class_distribution == "balanced":
        shares = np.ones(len(classes))
    elif isinstance(class_distribution, Mapping):
        unknown = [c for c in class_distribution if not np.any(classes == c)]
        if unknown:
            raise ValueError(
                f"class_distribution names {unknown}, which are not classes seen in "
                f"fit; the classes are {classes.tolist()}."
            )
        weights = list(class_distribution.values())
        if not all(
            isinstance(w, Real) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
            for w in weights
        ) or sum(weights) <= 0:
            raise ValueError(
                "class_distribution's weights must be non-negative finite numbers "
                f"with a positive sum; got {dict(class_distribution)!r}."
            )
        shares = np.array(
            [float(class_distribution.get(c.item() if hasattr(c, "item") else c, 0))
             for c in classes]
        )
    else:
        raise ValueError(
            "class_distribution must be 'original', 'balanced' or a dict of class "
            f"label -> weight; got {class_distribution!r}."
        )
    return _largest_remainder(shares, int(n_samples))


def iter_synthetic(
    model: FittedModel,
    n_samples: int,
    class_distribution: Any = "original",
    chunk_size: int = CHUNK_SIZE,
    seed: int = 0,
) -> Iterator[tuple[Any, np.ndarray]]:
    """Yield ``(X, y)`` chunks of a synthetic data set, rows in random class order.

    The same ``seed`` yields the same rows.
    """
    counts = class_counts(model, n_samples, class_distribution)
    return iter_class_counts(model, counts, chunk_size, seed)


def iter_class_counts(
    model: FittedModel, counts: np.ndarray, chunk_size: int = CHUNK_SIZE, seed: int = 0
) -> Iterator[tuple[Any, np.ndarray]]:
    """Yield ``(X, y)`` chunks of ``counts[c]`` rows of each class ``c``, in
    random class order; the same ``seed`` yields the same rows."""
    if not isinstance(chunk_size, Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}.")
    np_rng = np.random.default_rng(seed)
    rng = torch.Generator(device=model.device).manual_seed(int(seed))
    # One small integer per row fixes the class order (10 million rows of
    # fewer than 256 classes: 10 MB); the rows themselves come chunk by chunk.
    order = np.repeat(np.arange(len(counts), dtype=np.min_scalar_type(len(counts))), counts)
    np_rng.shuffle(order)
    for start in range(0, len(order), chunk_size):
        codes = order[start : start + chunk_size]
        parts, positions = [], []
        for code in np.unique(codes):
            where = np.flatnonzero(codes == code)
            parts.append(model.generate(int(code), len(where), rng))
            positions.append(where)
        inverse = np.argsort(np.concatenate(positions), kind="stable")
        if isinstance(parts[0], pd.DataFrame):
            X = pd.concat(parts, ignore_index=True).iloc[inverse].reset_index(drop=True)
        else:
            X = np.concatenate(parts)[inverse]
        yield X, model.classes[codes]


def labelled_frame(X: Any, y: np.ndarray, target: str) -> pd.DataFrame:
    """A table's rows as a DataFrame with the label as its last column, ``target``
    (an array's columns are named ``"0"``, ``"1"``, ...: Parquet names columns with
    strings)."""
    frame = pd.DataFrame(X).reset_index(drop=True)
    if not isinstance(X, pd.DataFrame):
        frame.columns = [str(c) for c in frame.columns]
    if target in frame.columns:
        raise ValueError(f"target={target!r} is already a feature column; pick another name.")
    frame[target] = y
    return frame


def check_table_model(model: FittedModel, what: str) -> None:
    """Refuse an image model where a table is written."""
    if model.columns is None:
        raise ValueError(
            f"{what} makes tables; for an image model use sample_dataset, "
            "which returns the images in the training layout."
        )


def write_synthetic(
    model: FittedModel,
    path: str | os.PathLike,
    n_samples: int,
    class_distribution: Any = "original",
    *,
    target: str = "target",
    chunk_size: int = CHUNK_SIZE,
    progress: bool = False,
    seed: int = 0,
) -> Path:
    """Write a synthetic data set to ``path`` (``.csv`` or ``.parquet``), streamed.

    The label is the last column, named ``target``. Parquet keeps the columns'
    dtypes (categories included); CSV keeps what CSV can.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    check_table_model(model, "write_dataset")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"Cannot write '{path}': the extension must be {' or '.join(FORMATS)}."
        )
    chunks = iter_synthetic(model, n_samples, class_distribution, chunk_size, seed)

    def frames() -> Iterator[pd.DataFrame]:
        with tqdm(total=n_samples, disable=not progress, unit="row", desc="synthesize") as bar:
            for X, y in chunks:
                frame = labelled_frame(X, y, target)
                bar.update(len(frame))
                yield frame

    def write(handle) -> None:
        if suffix == ".csv":
            header = True
            for frame in frames():
                frame.to_csv(handle, index=False, header=header)
                header = False
            if header:  # no rows: still write the header
                pd.DataFrame(columns=list(model.columns) + [target]).to_csv(handle, index=False)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        try:
            for frame in frames():
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(handle, table.schema)
                writer.write_table(table.cast(writer.schema))
            if writer is None:
                empty = pd.DataFrame(columns=list(model.columns) + [target])
                pq.write_table(pa.Table.from_pandas(empty, preserve_index=False), handle)
        finally:
            if writer is not None:
                writer.close()

    return atomic_write(path, write)


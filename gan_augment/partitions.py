"""Synthetic tables of any size as Dask DataFrames: partitions generated on workers.

:func:`to_dask` splits a data set of ``n_samples`` rows into ``npartitions``
partitions. Each class's rows are shared among the partitions in fixed
counts, and partition ``i`` is generated from the ``i``-th seed spawned from one
``numpy.random.SeedSequence``: the rows depend on the seed and the number of
partitions, never on the number of workers or the order in which they run.
The fitted model enters the task graph once (one key every partition depends
on), so it is sent once to each worker, not once per partition; a partition
holds at most its own rows in memory (generated in chunks of
:data:`gan_augment.export.CHUNK_SIZE`). A partition checks that it holds the
rows it was given to make; a worker lost during a partition's generation makes
Dask run the partition again, from the same seed, on another worker.

Writing is Dask's own ``to_parquet``. Dask writes each partition's file as it
is done, so a write that fails leaves the files of the partitions that were
done: :func:`write_parquet` writes into a hidden directory beside the target and
renames it into place only once every partition is written, so the target
directory is complete or absent.
"""

from __future__ import annotations

import os
import shutil
import uuid
from math import ceil
from pathlib import Path
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from .export import CHUNK_SIZE, check_table_model, class_counts, iter_class_counts, labelled_frame
from .fitted import FittedModel
from .threads import limited_threads

__all__ = [
    "PARTITION_ROWS", "partition_counts", "synthetic_partition", "to_dask", "write_parquet",
]

#: Rows per partition when ``npartitions`` is not given.
PARTITION_ROWS = 1_000_000


def partition_counts(counts: np.ndarray, npartitions: int) -> np.ndarray:
    """Each partition's rows of each class: ``(npartitions, n_classes)``, summing
    to ``counts`` per class, partitions' totals within one row of each other
    per class.

    Examples
    --------
    >>> partition_counts(np.array([5, 2]), 3).tolist()
    [[2, 1], [2, 1], [1, 0]]
    """
    counts = np.asarray(counts, dtype=np.int64)
    per = counts[None, :] // npartitions + (
        np.arange(npartitions)[:, None] < counts[None, :] % npartitions
    )
    return per.astype(np.int64)


def partition_seeds(seed: int, npartitions: int) -> list[int]:
    """One seed per partition, spawned from ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(npartitions)
    return [int(child.generate_state(1, np.uint32)[0]) for child in children]


def synthetic_partition(
    model: FittedModel,
    counts: np.ndarray,
    seed: int,
    start: int,
    target: str,
    n_jobs: int | None,
    chunk_size: int = CHUNK_SIZE,
) -> pd.DataFrame:
    """One partition: ``counts[c]`` rows of each class, labelled, indexed from ``start``.

    Raises
    ------
    RuntimeError
        If the rows made are not the rows asked for (the partition is then
        not presented as complete).
    """
    with limited_threads(n_jobs):
        frames = [
            labelled_frame(X, y, target)
            for X, y in iter_class_counts(model, counts, chunk_size, seed)
        ]
    expected = int(np.sum(counts))
    frame = (
        pd.concat(frames, ignore_index=True) if frames
        else labelled_frame(model.empty(), model.classes[:0], target)
    )
    if len(frame) != expected:
        raise RuntimeError(
            f"A synthetic partition holds {len(frame)} rows instead of {expected}."
        )
    frame.index = pd.RangeIndex(start, start + expected)
    return frame


def to_dask(
    model: FittedModel,
    n_samples: int,
    npartitions: int | None = None,
    class_distribution: Any = "original",
    *,
    target: str = "target",
    seed: int = 0,
    n_jobs: int | None = None,
):
    """A Dask DataFrame of ``n_samples`` synthetic rows in ``npartitions`` partitions.

    Parameters
    ----------
    model : FittedModel
        A table model (its CPU copy goes to the workers).
    n_samples : int
    npartitions : int or None
        None: one partition per :data:`PARTITION_ROWS` rows (at least one).
    class_distribution : "original", "balanced" or dict
        As for ``GANOversampler.sample_dataset``.
    target : str
        The label column (the last one).
    seed : int
        Partition ``i`` is made from the ``i``-th seed spawned from it.
    n_jobs : int or None
        Torch threads per partition (None: 1).

    Returns
    -------
    dask.dataframe.DataFrame
        Rows indexed ``0 .. n_samples - 1`` (divisions known when every
        partition has rows), in random class order within each partition.
    """
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ImportError(
            'to_dask needs Dask: pip install "gan-augment[distributed]".'
        ) from exc
    check_table_model(model, "to_dask")
    counts = class_counts(model, n_samples, class_distribution)
    total = int(counts.sum())
    if npartitions is None:
        npartitions = max(1, ceil(total / PARTITION_ROWS))
    if not isinstance(npartitions, Integral) or isinstance(npartitions, bool) or npartitions < 1:
        raise ValueError(f"npartitions must be a positive integer; got {npartitions!r}.")
    if npartitions > max(total, 1):
        raise ValueError(
            f"npartitions={npartitions} is more than the {total} rows to make; every "
            "partition must hold at least one row."
        )
    per = partition_counts(counts, int(npartitions))
    starts = np.concatenate([[0], np.cumsum(per.sum(axis=1))])
    shared = dask.delayed(model.to_cpu(), pure=True, traverse=False)
    make = dask.delayed(synthetic_partition, pure=True)
    parts = [
        make(shared, per[i], seed_i, int(starts[i]), target, n_jobs)
        for i, seed_i in enumerate(partition_seeds(seed, int(npartitions)))
    ]
    meta = labelled_frame(model.empty(), model.classes[:0], target)
    divisions = tuple(int(s) for s in starts[:-1]) + (max(total - 1, 0),) if total else None
    return dd.from_delayed(parts, meta=meta, divisions=divisions, verify_meta=False)


def write_parquet(frame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a Dask DataFrame to the Parquet directory ``path``: complete, or not at all.

    Dask's ``frame.to_parquet`` (``kwargs`` go to it) writes into a hidden
    sibling directory, renamed to ``path`` once every partition is written; on
    any failure the sibling is removed and the error propagates.

    Raises
    ------
    FileExistsError
        If ``path`` exists (a data set is never overwritten in place).
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"Cannot write '{path}': it exists; remove it or pick another path.")
    partial = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        frame.to_parquet(partial, **kwargs)
        os.replace(partial, path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return path

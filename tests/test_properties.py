"""Property-based tests: arbitrary tables through fit_resample, sample, save/load, pickle.

Hypothesis draws the structure of a table (1 to 30 columns of float64, float32,
int64, int32, bool, category and object dtype; 2 to 5 classes with minority
classes from 2 rows; constant columns, one-category columns, huge and tiny
magnitudes) and a seed; NumPy fills in the values from that seed, which keeps
each example fast.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan_augment import GANOversampler

from .conftest import FAST, warns_small_classes

KINDS = ["float64", "float32", "int64", "int32", "bool", "category", "object"]
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def tables(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_classes = draw(st.integers(2, 5))
    counts = [draw(st.integers(12, 40))] + [draw(st.integers(2, 12)) for _ in range(n_classes - 1)]
    n = sum(counts)
    columns = {}
    for j in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(KINDS))
        shape = draw(st.sampled_from(["normal", "constant", "huge", "tiny"]))
        scale = {"normal": 1.0, "constant": 0.0, "huge": 1e12, "tiny": 1e-9}[shape]
        if kind.startswith("float"):
            values = (rng.normal(size=n) * scale + 3 * scale).astype(kind)
        elif kind.startswith("int"):
            high = 1 if shape == "constant" else (10**6 if shape == "huge" else 50)
            values = rng.integers(-high, high + 1, n).astype(kind)
        elif kind == "bool":
            values = np.full(n, True) if shape == "constant" else rng.random(n) < 0.3
        else:
            n_cats = 1 if shape == "constant" else draw(st.integers(2, 6))
            values = rng.choice([f"c{i}" for i in range(n_cats)], n)
            values = pd.Categorical(values) if kind == "category" else values.astype(object)
        columns[f"col{j}_{kind}"] = values
    X = pd.DataFrame(columns)
    labels = np.repeat(np.arange(n_classes), counts)
    y = pd.Series(rng.permutation(labels), name="y")
    return X, y


def _check_table(X: pd.DataFrame, rows: pd.DataFrame) -> None:
    """Schema, dtypes, finiteness, categories and ranges of generated rows."""
    assert list(rows.columns) == list(X.columns)
    assert rows.dtypes.to_dict() == X.dtypes.to_dict()
    assert not rows.isna().any().any()
    if rows.empty:  # balanced classes: nothing to generate
        return
    for name, column in X.items():
        new = rows[name]
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
            column.dtype
        ):
            assert np.isfinite(new.to_numpy(np.float64)).all()
            assert new.min() >= column.min() and new.max() <= column.max(), name
        else:
            assert set(new) <= set(column), name


@SETTINGS
@given(tables())
def test_fit_resample_properties(table):
    X, y = table
    X_before, y_before = X.copy(), y.copy()
    sampler = GANOversampler(random_state=0, **FAST)
    with warns_small_classes(y):
        X_res, y_res = sampler.fit_resample(X, y)

    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_series_equal(y, y_before)
    pd.testing.assert_frame_equal(
        X_res.iloc[: len(X)].reset_index(drop=True), X.reset_index(drop=True)
    )
    np.testing.assert_array_equal(y_res.iloc[: len(y)], y)
    counts = y.value_counts()
    for label, n_new in sampler.sampling_strategy_.items():
        assert (y_res == label).sum() == counts[label] + n_new
    assert len(set(y_res.value_counts())) == 1
    _check_table(X, X_res.iloc[len(X) :])


@SETTINGS
@given(tables())
def test_sample_save_load_and_pickle_properties(table):
    X, y = table
    sampler = GANOversampler(random_state=0, **FAST)
    with warns_small_classes(y):
        sampler.fit_resample(X, y)
    label = y.value_counts().idxmin()
    rows = sampler.sample(25, y=label)
    _check_table(X, rows)

    with tempfile.TemporaryDirectory() as folder:
        path = sampler.save(Path(folder) / "m.gan")
        loaded = GANOversampler.load(path, device="cpu")
    pd.testing.assert_frame_equal(loaded.sample(25, y=label), rows)
    clone = pickle.loads(pickle.dumps(sampler))
    pd.testing.assert_frame_equal(clone.sample(25, y=label), rows)


@SETTINGS
@given(
    n_features=st.integers(1, 12),
    dtype=st.sampled_from([np.float32, np.float64]),
    magnitude=st.sampled_from([1e-9, 1.0, 1e12]),
    seed=st.integers(0, 2**32 - 1),
)
def test_array_properties(n_features, dtype, magnitude, seed):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(60, n_features)) * magnitude).astype(dtype)
    y = np.array([0] * 50 + [1] * 10)
    X_res, y_res = GANOversampler(random_state=0, **FAST).fit_resample(X, y)
    assert X_res.dtype == dtype and X_res.shape == (100, n_features)
    np.testing.assert_array_equal(X_res[:60], X)
    new = X_res[60:]
    assert np.isfinite(new).all()
    assert (new >= X.min(axis=0)).all() and (new <= X.max(axis=0)).all()

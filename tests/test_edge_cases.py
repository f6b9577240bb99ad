"""Edge cases: each either works or fails with a clear message, and says which."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from gan_augment import GANOversampler


def test_ten_thousand_categories_stay_bounded(fast):
    rng = np.random.default_rng(0)
    n = 20_000
    ids = np.array([f"id{i:05d}" for i in range(10_000)], dtype=object)
    X = pd.DataFrame({"id": ids[rng.integers(0, 10_000, n)], "x": rng.normal(size=n)})
    y = (rng.random(n) < 0.1).astype(int)
    sampler = GANOversampler(random_state=0, **fast)
    tracemalloc.start()
    X_res, _ = sampler.fit_resample(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # 99 frequent categories + 1 pooled entry, + the continuous column's 2.
    assert sampler.transformer_.layout_.width == 102
    # A full one-hot would need 20,000 x 10,000 float32 = 800 MB.
    assert peak < 200 * 2**20
    assert set(X_res["id"]) <= set(X["id"])
    assert X_res["id"].iloc[n:].nunique() > 100  # pooled categories come back too


def test_one_feature(fast):
    X = np.linspace(0, 1, 40).reshape(-1, 1)
    y = np.array([0] * 30 + [1] * 10)
    X_res, _ = GANOversampler(random_state=0, **fast).fit_resample(X, y)
    assert X_res.shape == (60, 1)


def test_five_hundred_features(fast):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 500))
    y = np.array([0] * 60 + [1] * 20)
    X_res, _ = GANOversampler(random_state=0, **fast).fit_resample(X, y)
    assert X_res.shape == (120, 500) and np.isfinite(X_res).all()


def test_duplicate_rows(fast):
    X = np.repeat(np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]), 20, axis=0)
    y = np.array([0] * 40 + [1] * 20)
    X_res, y_res = GANOversampler(random_state=0, **fast).fit_resample(X, y)
    assert X_res.shape == (80, 2) and (y_res == 1).sum() == 40


def test_non_default_index_and_int_column_names(fast):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {0: rng.normal(size=50), 1: pd.Categorical(rng.choice(["a", "b"], 50))},
        index=pd.Index(rng.permutation(np.arange(100, 150)), name="row"),
    )
    y = pd.Series([0] * 40 + [1] * 10, index=X.index)
    X_res, y_res = GANOversampler(random_state=0, **fast).fit_resample(X, y)
    assert list(X_res.columns) == [0, 1] and X_res[1].dtype == X[1].dtype
    pd.testing.assert_frame_equal(X_res.iloc[:50].reset_index(drop=True), X.reset_index(drop=True))
    # imbalanced-learn returns a fresh RangeIndex, X and y aligned.
    assert (X_res.index == y_res.index).all()


def test_int_column_names_in_categorical_features_are_indices(fast):
    """With int column names, ints in categorical_features are positions."""
    X = pd.DataFrame({5: np.arange(40.0), 0: np.tile([1.0, 2.0], 20)})
    y = np.array([0] * 30 + [1] * 10)
    sampler = GANOversampler(categorical_features=[1], random_state=0, **fast)
    X_res, _ = sampler.fit_resample(X, y)
    assert set(X_res[0]) <= {1.0, 2.0}
    with pytest.raises(ValueError, match="out of range"):
        GANOversampler(categorical_features=[5], **fast).fit_resample(X, y)

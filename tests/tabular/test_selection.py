"""The neighbour filter and the interpolated share of ``fit_resample``'s rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from gan_augment import GANOversampler
from gan_augment.tabular.selection import NeighbourFilter, interpolate
from tests.test_oversampler import mixed_frame

NO_CATEGORIES = np.empty((0, 0), dtype=object)


def _two_blobs(n_major=80, n_minor=12, seed=0):
    rng = np.random.default_rng(seed)
    continuous = np.vstack([rng.normal(0, 1, (n_major, 2)), rng.normal(6, 1, (n_minor, 2))])
    y = np.repeat([0, 1], [n_major, n_minor])
    return continuous, np.empty((len(y), 0), dtype=object), y


class TestNeighbourFilter:
    def test_agreement_is_the_share_of_neighbours_of_the_class(self):
        continuous, categorical, y = _two_blobs()
        f = NeighbourFilter(continuous, categorical, y, n_neighbors=5)
        rows = np.array([[6.0, 6.0], [0.0, 0.0]])
        assert f.agreement(rows, categorical[:2], 1).tolist() == [1.0, 0.0]
        assert f.agreement(rows, categorical[:2], 0).tolist() == [0.0, 1.0]

    def test_select_keeps_the_best_rows_in_their_order(self):
        continuous, categorical, y = _two_blobs()
        f = NeighbourFilter(continuous, categorical, y)
        rows = np.array([[0.0, 0.0], [6.0, 6.0], [0.1, 0.0], [5.9, 6.1], [6.2, 5.8]])
        keep = f.select(rows, np.empty((5, 0), dtype=object), 1, 3)
        assert keep.tolist() == [1, 3, 4]

    def test_categorical_columns_count_in_the_distance(self):
        continuous = np.zeros((20, 1))
        categorical = np.array([["a"]] * 10 + [["b"]] * 10, dtype=object)
        y = np.repeat([0, 1], 10)
        f = NeighbourFilter(continuous, categorical, y, n_neighbors=3)
        scores = f.agreement(np.zeros((2, 1)), np.array([["b"], ["a"]], dtype=object), 1)
        assert scores.tolist() == [1.0, 0.0]

    def test_large_reference_is_subsampled(self):
        continuous, categorical, y = _two_blobs(n_major=300, n_minor=100)
        f = NeighbourFilter(
            continuous, categorical, y, max_reference=50, rng=np.random.default_rng(0)
        )
        assert f._neighbours.n_samples_fit_ == 50


class TestInterpolate:
    def test_smote_rows_stay_within_the_class(self):
        continuous, categorical, y = _two_blobs()
        new_cont, new_cat = interpolate(continuous, categorical, y, 1, 30, seed=0)
        minority = continuous[y == 1]
        assert new_cont.shape == (30, 2) and new_cat.shape == (30, 0)
        assert (new_cont >= minority.min(axis=0)).all()
        assert (new_cont <= minority.max(axis=0)).all()

    def test_mixed_and_all_categorical_keep_category_values(self):
        rng = np.random.default_rng(0)
        categorical = rng.choice(np.array([1, "x", 2.5], dtype=object), (40, 2))
        y = np.repeat([0, 1], [30, 10])
        for continuous in (rng.normal(size=(40, 1)), np.empty((40, 0))):
            new_cont, new_cat = interpolate(continuous, categorical, y, 1, 7, seed=1)
            assert new_cont.shape == (7, continuous.shape[1])
            assert set(new_cat.ravel().tolist()) <= set(categorical[y == 1].ravel().tolist())

    def test_two_row_class_caps_neighbours(self):
        continuous, categorical, y = _two_blobs(n_minor=2)
        new_cont, _ = interpolate(continuous, categorical, y, 1, 5, seed=0)
        assert new_cont.shape == (5, 2)


class TestOversamplerSelection:
    FAST = dict(
        epochs=2, batch_size=50, embedding_dim=8, generator_dims=(16,),
        discriminator_dims=(16,), pac=5, max_modes=1, device="cpu", random_state=0,
    )

    def _data(self):
        return make_classification(
            n_samples=300, n_features=4, n_informative=3, n_redundant=0,
            weights=[0.85], class_sep=1.0, random_state=0,
        )

    def test_filter_keeps_rows_that_agree_more_with_their_class(self):
        X, y = self._data()
        plain = GANOversampler(**self.FAST, synthetic_filter=None, interpolation=0.0)
        kept = GANOversampler(
            **self.FAST, synthetic_filter="neighbours", filter_candidates=4.0,
            interpolation=0.0,
        )
        X_plain, y_plain = plain.fit_resample(X, y)
        X_kept, y_kept = kept.fit_resample(X, y)
        assert np.bincount(y_kept).tolist() == np.bincount(y_plain).tolist()
        f = NeighbourFilter(X, NO_CATEGORIES.reshape(len(X), 0), y)
        agreement = [
            f.agreement(X_new[len(X):], np.empty((len(X_new) - len(X), 0)), 1).mean()
            for X_new in (X_plain, X_kept)
        ]
        assert agreement[1] > agreement[0]

    def test_interpolation_share_and_dtypes(self):
        X, y = mixed_frame()
        X_before = X.copy()
        sampler = GANOversampler(**self.FAST, interpolation=1.0, synthetic_filter=None)
        X_res, y_res = sampler.fit_resample(X, y)
        pd.testing.assert_frame_equal(X, X_before)
        assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
        new = X_res.iloc[len(X):]
        rare = X[y == "rare"]
        assert len(new) == int((y == "common").sum() - (y == "rare").sum())
        # Every interpolated value lies between the rare class's extremes.
        assert new["f64"].between(rare["f64"].min(), rare["f64"].max()).all()

    @pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
    def test_interpolation_counts_with_filter(self, share):
        X, y = self._data()
        sampler = GANOversampler(**self.FAST, interpolation=share, synthetic_filter="neighbours")
        X_res, y_res = sampler.fit_resample(X, y)
        assert np.bincount(y_res).tolist() == [np.bincount(y)[0]] * 2
        pd.testing.assert_frame_equal(pd.DataFrame(X_res[: len(X)]), pd.DataFrame(X))

    @pytest.mark.parametrize(
        "params, message",
        [
            ({"interpolation": 1.5}, "interpolation"),
            ({"filter_candidates": 0.5}, "filter_candidates"),
            ({"synthetic_filter": "knn"}, "synthetic_filter"),
        ],
    )
    def test_bad_parameters(self, params, message):
        X, y = self._data()
        with pytest.raises(ValueError, match=message):
            GANOversampler(**self.FAST, **params).fit_resample(X, y)


def test_interpolate_pools_rare_categories():
    rng = np.random.default_rng(0)
    categorical = np.array([[f"c{i}"] for i in rng.integers(0, 500, 600)], dtype=object)
    y = np.repeat([0, 1], [100, 500])
    continuous = rng.normal(size=(600, 1))
    _, new_cat = interpolate(continuous, categorical, y, 1, 300, seed=0, max_categories=10)
    assert set(new_cat[:, 0]) <= set(categorical[y == 1, 0])
    assert len(set(new_cat[:, 0])) > 10  # pooled codes decode to rare categories


def test_smoten_sees_every_row_with_its_label(monkeypatch):
    # Its value difference metric needs the classes' category distributions.
    from imblearn.over_sampling import SMOTEN

    seen = {}
    original = SMOTEN.fit_resample

    def spy(self, X, y):
        seen["labels"] = np.bincount(np.asarray(y))
        return original(self, X, y)

    monkeypatch.setattr(SMOTEN, "fit_resample", spy)
    rng = np.random.default_rng(0)
    categorical = rng.choice(["a", "b", "c"], (60, 2)).astype(object)
    y = np.repeat([0, 1, 2], [40, 12, 8])
    _, new = interpolate(np.empty((60, 0)), categorical, y, 2, 5, seed=0)
    assert seen["labels"].tolist() == [40, 12, 8]
    assert new.shape == (5, 2) and set(new.ravel()) <= {"a", "b", "c"}


def test_the_neighbour_filter_keeps_a_rare_class_in_its_reference():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(30_000, int), np.ones(3, int)]
    continuous = rng.normal(size=(len(y), 1)) + 10 * y[:, None]
    f = NeighbourFilter(continuous, np.empty((len(y), 0), dtype=object), y,
                        n_neighbors=5, max_reference=1_000, rng=rng)
    # All three rare rows are in the reference, so a row among them finds them.
    assert f.agreement(np.array([[10.0]]), np.empty((1, 0), dtype=object), 1)[0] == 3 / 5

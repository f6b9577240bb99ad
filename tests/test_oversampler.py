"""GANOversampler's output contract, strategies, pipelines, sampling and pickling."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.pipeline import Pipeline
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

from gan_augment import GANOversampler
from gan_augment.options import IMAGE, TABULAR, resolve


def _imbalanced(n=300, weights=(0.85,), n_classes=2, n_features=5, seed=0):
    return make_classification(
        n_samples=n,
        n_features=n_features,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        weights=list(weights),
        random_state=seed,
    )


def mixed_frame(n=240, seed=0):
    """A DataFrame with every kind of column the sampler must keep."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.2, "rare", "common")
    X = pd.DataFrame(
        {
            "f64": rng.normal(10, 3, n),
            "f32": rng.normal(size=n).astype(np.float32),
            "i64": rng.integers(18, 90, n),
            "i32": rng.integers(-5, 5, n).astype(np.int32),
            "flag": rng.random(n) < 0.3,
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "city": rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], n).astype(object),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )
    return X, pd.Series(y, name="label", index=X.index)


def test_bfloat16_precision_keeps_the_contract_and_changes_the_rows(fast):
    X, y = mixed_frame()
    runs = {
        precision: GANOversampler(random_state=0, precision=precision, **fast).fit_resample(X, y)
        for precision in ("float32", "bfloat16")
    }
    (X32, y32), (X16, y16) = runs["float32"], runs["bfloat16"]
    pd.testing.assert_series_equal(y16, y32)
    assert (X16.dtypes == X.dtypes).all()
    pd.testing.assert_frame_equal(X16.iloc[: len(X)].reset_index(drop=True), X.reset_index(drop=True))
    assert np.isfinite(X16["f64"]).all()
    assert not X16["f64"].iloc[len(X):].equals(X32["f64"].iloc[len(X):])


class TestOutputContract:
    def test_original_rows_first_unchanged_then_exact_counts(self, fast):
        X, y = _imbalanced()
        X_before = X.copy()
        sampler = GANOversampler(random_state=0, **fast)
        X_res, y_res = sampler.fit_resample(X, y)
        np.testing.assert_array_equal(X, X_before)
        np.testing.assert_array_equal(X_res[: len(X)], X)
        np.testing.assert_array_equal(y_res[: len(y)], y)
        expected = Counter(y)
        for label, n_new in sampler.sampling_strategy_.items():
            expected[label] += n_new
        assert Counter(y_res) == expected
        assert Counter(y_res)[0] == Counter(y_res)[1]
        assert np.isfinite(X_res).all()

    def test_synthetic_rows_inside_training_range(self, fast):
        X, y = _imbalanced()
        X_res, _ = GANOversampler(random_state=0, **fast).fit_resample(X, y)
        new = X_res[len(X) :]
        assert (new >= X.min(axis=0)).all() and (new <= X.max(axis=0)).all()

    def test_float32_stays_float32(self, fast):
        X, y = _imbalanced()
        X_res, _ = GANOversampler(random_state=0, **fast).fit_resample(
            X.astype(np.float32), y
        )
        assert X_res.dtype == np.float32

    def test_integer_array_stays_integer(self, fast):
        X, y = _imbalanced()
        X_int = np.rint(X * 10).astype(np.int64)
        X_res, _ = GANOversampler(random_state=0, **fast).fit_resample(X_int, y)
        assert X_res.dtype == np.int64
        assert X_res[len(X) :].min() >= X_int.min()

    def test_mixed_dataframe_keeps_dtypes_categories_ranges(self, fast):
        X, y = mixed_frame()
        X_before = X.copy()
        sampler = GANOversampler(random_state=0, **fast)
        X_res, y_res = sampler.fit_resample(X, y)

        pd.testing.assert_frame_equal(X, X_before)
        assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
        assert list(X_res.columns) == list(X.columns)
        assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
        assert y_res.name == "label"
        pd.testing.assert_frame_equal(
            X_res.iloc[: len(X)].reset_index(drop=True), X.reset_index(drop=True)
        )
        new = X_res.iloc[len(X) :]
        assert len(new) == (y == "common").sum() - (y == "rare").sum()
        assert (y_res.iloc[len(X) :] == "rare").all()
        assert list(new["colour"].cat.categories) == list(X["colour"].cat.categories)
        assert set(new["city"]) <= set(X["city"])
        assert set(new["flag"]) <= {True, False}
        for column in ["f64", "f32", "i64", "i32"]:
            assert new[column].min() >= X[column].min()
            assert new[column].max() <= X[column].max()
        assert not new.isna().any().any()
        np.testing.assert_array_equal(sampler.categorical_features_, [4, 5, 6])
        np.testing.assert_array_equal(sampler.continuous_features_, [0, 1, 2, 3])

    def test_all_categorical_and_all_continuous(self, fast):
        X, y = mixed_frame()
        for columns in (["flag", "colour", "city"], ["f64", "i64"]):
            X_res, y_res = GANOversampler(random_state=0, **fast).fit_resample(
                X[columns], y
            )
            assert X_res.dtypes.to_dict() == X[columns].dtypes.to_dict()
            assert len(X_res) == 2 * (y == "common").sum()

    def test_explicit_categorical_features_forms_agree(self, fast):
        X, y = mixed_frame()
        X = X[["f64", "i32", "city"]]
        results = []
        for spec in ([1, 2], ["i32", "city"], [False, True, True], [-2, -1]):
            sampler = GANOversampler(random_state=0, categorical_features=spec, **fast)
            X_res, _ = sampler.fit_resample(X, y)
            np.testing.assert_array_equal(sampler.categorical_features_, [1, 2])
            results.append(X_res)
        for other in results[1:]:
            pd.testing.assert_frame_equal(results[0], other)
        # i32 is categorical here: only values seen in training come out.
        assert set(results[0]["i32"]) <= set(X["i32"])


class TestStrategies:
    def test_multiclass_dict_and_strings(self, fast):
        X, y = _imbalanced(n=400, weights=(0.6, 0.3, 0.1), n_classes=3)
        counts = Counter(y)
        target = {1: counts[1] + 7, 2: counts[2] + 30}
        _, y_res = GANOversampler(
            sampling_strategy=target, random_state=0, **fast
        ).fit_resample(X, y)
        assert Counter(y_res) == {0: counts[0], **target}

        _, y_res = GANOversampler(
            sampling_strategy="minority", random_state=0, **fast
        ).fit_resample(X, y)
        assert Counter(y_res) == {0: counts[0], 1: counts[1], 2: counts[0]}

        _, y_res = GANOversampler(
            sampling_strategy="not majority", random_state=0, **fast
        ).fit_resample(X, y)
        assert set(Counter(y_res).values()) == {counts[0]}

    def test_binary_float_and_callable(self, fast):
        X, y = _imbalanced()
        n_major = Counter(y)[0]
        _, y_res = GANOversampler(
            sampling_strategy=0.5, random_state=0, **fast
        ).fit_resample(X, y)
        assert Counter(y_res)[1] == int(0.5 * n_major)

        _, y_res = GANOversampler(
            sampling_strategy=lambda y: {1: Counter(y)[1] + 3}, random_state=0, **fast
        ).fit_resample(X, y)
        assert Counter(y_res)[1] == Counter(y)[1] + 3

    def test_string_labels(self, fast):
        X, y = _imbalanced()
        labels = np.array(["no", "yes"], dtype=object)[y]
        _, y_res = GANOversampler(random_state=0, **fast).fit_resample(X, labels)
        assert y_res.dtype == object
        assert Counter(y_res) == {"no": Counter(y)[0], "yes": Counter(y)[0]}


class TestReproducibility:
    @pytest.mark.parametrize("loss", ["wgan-gp", "minimax", "non-saturating", "lsgan", "hinge"])
    def test_same_seed_bit_identical(self, fast, loss):
        X, y = mixed_frame()
        runs = [
            GANOversampler(random_state=3, loss=loss, **fast).fit_resample(X, y)[0]
            for _ in range(2)
        ]
        pd.testing.assert_frame_equal(runs[0], runs[1])

    def test_different_seed_differs(self, fast):
        X, y = _imbalanced()
        a, _ = GANOversampler(random_state=1, **fast).fit_resample(X, y)
        b, _ = GANOversampler(random_state=2, **fast).fit_resample(X, y)
        assert not np.array_equal(a[len(X) :], b[len(X) :])

    def test_global_rng_untouched(self, fast):
        X, y = _imbalanced()
        torch_state = torch.get_rng_state()
        np_state = np.random.get_state()[1].copy()
        GANOversampler(random_state=0, **fast).fit_resample(X, y)
        assert torch.equal(torch_state, torch.get_rng_state())
        np.testing.assert_array_equal(np_state, np.random.get_state()[1])

    def test_history_per_epoch(self, fast):
        X, y = _imbalanced()
        sampler = GANOversampler(random_state=0, **{**fast, "epochs": 3})
        sampler.fit_resample(X, y)
        h = sampler.history_
        assert isinstance(h, pd.DataFrame)
        assert list(h.columns) == ["generator_loss", "discriminator_loss", "d_real", "d_fake"]
        assert list(h.index) == [1, 2, 3]
        assert np.isfinite(h.to_numpy()).all()
        assert sampler.n_epochs_ == 3
        assert sampler.n_steps_ == 3 * (len(y) // fast["batch_size"])

    def test_probabilistic_losses_report_probabilities(self, fast):
        X, y = _imbalanced()
        sampler = GANOversampler(random_state=0, loss="minimax", **fast)
        sampler.fit_resample(X, y)
        values = sampler.history_[["d_real", "d_fake"]].to_numpy()
        assert ((values > 0) & (values < 1)).all()


class TestTrainingBudget:
    @pytest.mark.parametrize(
        "n_rows, epochs, steps",
        [(300, 300, 300), (1500, 100, 300), (5000, 100, 1000), (32561, 47, 3055), (50000, 30, 3000)],
    )
    def test_auto_rule(self, n_rows, epochs, steps):
        options = resolve(GANOversampler().get_params(), TABULAR)
        n_epochs, per_epoch = options.budget(n_rows)
        assert (n_epochs, n_epochs * per_epoch) == (epochs, steps)

    @pytest.mark.parametrize(
        "n_rows, steps", [(300, 504), (1500, 920), (5000, 1092), (50000, 1562)]
    )
    def test_images_budget(self, n_rows, steps):
        # 20 epochs' worth of 32-image steps, within [500, 1000], in whole epochs.
        n_epochs, per_epoch = resolve(GANOversampler().get_params(), IMAGE).budget(n_rows)
        assert n_epochs * per_epoch == steps


class TestPipelines:
    def test_cross_val_score_and_grid_search(self, fast):
        X, y = _imbalanced(n=200)
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("gan", GANOversampler(random_state=0, **fast)),
                ("clf", LogisticRegression()),
            ]
        )
        cv = StratifiedKFold(3, shuffle=True, random_state=0)
        scores = cross_val_score(pipe, X, y, cv=cv, scoring="balanced_accuracy")
        assert scores.shape == (3,) and np.isfinite(scores).all()

        search = GridSearchCV(
            pipe, {"gan__loss": ["wgan-gp", "hinge"]}, cv=cv, scoring="balanced_accuracy"
        )
        search.fit(X, y)
        assert search.best_params_["gan__loss"] in {"wgan-gp", "hinge"}


class TestSample:
    def test_sample_container_dtypes_and_class(self, fast):
        X, y = mixed_frame()
        sampler = GANOversampler(random_state=0, **fast)
        sampler.fit_resample(X, y)
        rows = sampler.sample(17, y="rare")
        assert isinstance(rows, pd.DataFrame) and len(rows) == 17
        assert rows.dtypes.to_dict() == X.dtypes.to_dict()
        pd.testing.assert_frame_equal(rows, sampler.sample(17, y="rare"))
        assert len(sampler.sample(0, y="common")) == 0

    def test_generation_runs_in_eval_mode(self, fast):
        X, y = _imbalanced()
        sampler = GANOversampler(random_state=0, **fast)
        sampler.fit_resample(X, y)
        assert not sampler.generator_.training
        norm = next(m for m in sampler.generator_.modules() if isinstance(m, torch.nn.BatchNorm1d))
        stats = norm.running_mean.clone()
        sampler.sample(200, y=1)
        # In train mode, batch norm would have updated its running statistics.
        assert torch.equal(stats, norm.running_mean)
        assert not sampler.generator_.training

    def test_sample_array(self, fast):
        X, y = _imbalanced()
        sampler = GANOversampler(random_state=0, **fast)
        sampler.fit_resample(X.astype(np.float32), y)
        rows = sampler.sample(5, y=1)
        assert rows.shape == (5, X.shape[1]) and rows.dtype == np.float32

    def test_sample_errors(self, fast):
        from sklearn.exceptions import NotFittedError

        X, y = _imbalanced()
        sampler = GANOversampler(random_state=0, **fast)
        with pytest.raises(NotFittedError):
            sampler.sample(3, y=1)
        sampler.fit_resample(X, y)
        with pytest.raises(ValueError, match="not a class seen in fit"):
            sampler.sample(3, y=7)
        with pytest.raises(ValueError, match="non-negative integer"):
            sampler.sample(-1, y=1)


class TestDeviceAndPickle:
    def test_cuda_without_cuda_is_a_clear_error(self, fast, monkeypatch):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        X, y = _imbalanced()
        with pytest.raises(ValueError, match="CUDA is not available"):
            GANOversampler(**{**fast, "device": "cuda"}).fit_resample(X, y)

    def test_auto_picks_cpu_without_cuda(self, fast, monkeypatch):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        X, y = _imbalanced()
        sampler = GANOversampler(random_state=0, **{**fast, "device": "auto"})
        sampler.fit_resample(X, y)
        assert sampler.device_.type == "cpu"

    def test_pickle_round_trip_samples_identically(self, fast):
        X, y = mixed_frame()
        sampler = GANOversampler(random_state=0, **fast)
        sampler.fit_resample(X, y)
        clone = pickle.loads(pickle.dumps(sampler))
        pd.testing.assert_frame_equal(sampler.sample(20, "rare"), clone.sample(20, "rare"))

    def test_pickled_state_holds_cpu_tensors_only(self, fast):
        X, y = _imbalanced()
        sampler = GANOversampler(random_state=0, **fast)
        sampler.fit_resample(X, y)
        # Pretend it trained on CUDA: the pickled state must still be CPU-only.
        sampler.device_ = torch.device("cuda")
        state = sampler.__getstate__()
        assert state["device_"].type == "cpu"
        assert all(p.device.type == "cpu" for p in state["model_"].generator.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fit_and_cpu_reload(fast):
    X, y = mixed_frame()
    sampler = GANOversampler(random_state=0, **{**fast, "device": "cuda"})
    X_res, _ = sampler.fit_resample(X, y)
    assert next(sampler.generator_.parameters()).is_cuda
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone.device_.type == "cpu"
    assert len(clone.sample(10, "rare")) == 10

"""Bad input gets a clear ValueError/TypeError that names the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError

from gan_augment import GANOversampler
from gan_augment.exceptions import SmallClassWarning

from .test_oversampler import mixed_frame


@pytest.fixture
def data():
    return make_classification(n_samples=120, n_features=4, weights=[0.8], random_state=0)


def test_nan_and_inf_name_the_columns_and_suggest_an_imputer(fast, data):
    X, y = data
    X = X.copy()
    X[3, 1] = np.nan
    X[5, 3] = np.inf
    with pytest.raises(ValueError, match=r"NaN or infinity in column\(s\) \[1, 3\].*imputer"):
        GANOversampler(**fast).fit_resample(X, y)

    frame, labels = mixed_frame()
    frame = frame.astype({"city": object})
    frame.loc[frame.index[2], "city"] = None
    frame.loc[frame.index[4], "f64"] = -np.inf
    with pytest.raises(ValueError, match=r"\['f64', 'city'\]"):
        GANOversampler(**fast).fit_resample(frame, labels)


def test_nan_in_frame_is_refused_by_fit_too(fast):
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1, 2, 3, 4]})
    with pytest.raises(ValueError, match=r"\['a'\]"):
        GANOversampler(**fast).fit(frame, [0, 0, 1, 1])


def test_one_class(fast, data):
    X, _ = data
    with pytest.raises(ValueError, match="class"):
        GANOversampler(**fast).fit_resample(X, np.zeros(len(X)))


def test_continuous_and_multilabel_targets(fast, data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type"):
        GANOversampler(**fast).fit_resample(X, np.linspace(0, 1, len(X)))
    y = np.random.default_rng(0).integers(0, 2, (len(X), 3))
    with pytest.raises(ValueError, match="Multilabel and multioutput"):
        GANOversampler(**fast).fit_resample(X, y)


def test_class_to_oversample_with_one_row(fast, data):
    X, _ = data
    y = np.zeros(len(X), dtype=int)
    y[0] = 1
    with pytest.raises(ValueError, match=r"\{1: 1\}.*at least 2 samples"):
        GANOversampler(**fast).fit_resample(X, y)


def test_two_rows_are_enough(fast, data):
    X, _ = data
    y = np.zeros(len(X), dtype=int)
    y[:2] = 1
    with pytest.warns(SmallClassWarning, match=r"\{1: 2\}.*fewer than 10 samples"):
        _, y_res = GANOversampler(random_state=0, **fast).fit_resample(X, y)
    assert (y_res == 1).sum() == (y == 0).sum()


def test_string_columns_in_array_not_declared(fast):
    X = np.array([[1.0, "a"], [2.0, "b"], [3.0, "a"], [4.0, "b"]] * 5, dtype=object)
    y = np.array([0, 0, 0, 1] * 5)
    with pytest.raises(TypeError, match=r"Column\(s\) \[1\] of X are not numeric.*categorical_features"):
        GANOversampler(**fast).fit_resample(X, y)
    with pytest.raises(TypeError, match=r"\[1\]"):
        GANOversampler(categorical_features=[], **fast).fit_resample(X, y)
    with pytest.warns(SmallClassWarning, match=r"\{1: 5\}"):
        X_res, _ = GANOversampler(categorical_features=[1], random_state=0, **fast).fit_resample(
            X, y
        )
    assert X_res.dtype == object and set(X_res[:, 1]) <= {"a", "b"}


def test_non_numeric_frame_column_declared_continuous(fast):
    X, y = mixed_frame()
    with pytest.raises(TypeError, match=r"\['city'\]"):
        GANOversampler(categorical_features=["colour"], **fast).fit_resample(X, y)


@pytest.mark.parametrize(
    "spec, message",
    [
        ([0, 9], r"indices \[9\] out of range for X with 4 features"),
        ([-5], r"indices \[-5\] out of range"),
        (["nope"], "column names, which only a pandas DataFrame has"),
        ([True, False], "boolean mask of length 2, but X has 4 features"),
        ([[0, 1]], "1-D array-like"),
    ],
)
def test_categorical_features_errors_on_arrays(fast, data, spec, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        GANOversampler(categorical_features=spec, **fast).fit_resample(X, y)


def test_categorical_features_unknown_names(fast):
    X, y = mixed_frame()
    with pytest.raises(ValueError, match=r"\['colour2'\] that are not in X"):
        GANOversampler(categorical_features=["colour2"], **fast).fit_resample(X, y)


@pytest.mark.parametrize(
    "params",
    [
        {"epochs": 0},
        {"epochs": -3},
        {"epochs": "forever"},
        {"batch_size": 0},
        {"loss": "wasserstein"},
        {"device": "gpu"},
        {"learning_rate": 0.0},
        {"n_critic": 0},
        {"pac": 0},
        {"max_modes": 0},
        {"sampling_strategy": "some"},
        {"sampling_strategy": 1.5},
    ],
)
def test_invalid_parameters_use_sklearn_messages(fast, data, params):
    X, y = data
    with pytest.raises(InvalidParameterError, match=f"The '{next(iter(params))}' parameter"):
        GANOversampler(**{**fast, **params}).fit_resample(X, y)


def test_batch_size_not_a_multiple_of_pac(fast, data):
    X, y = data
    with pytest.raises(ValueError, match="batch_size=52 must be a multiple of pac=5"):
        GANOversampler(**{**fast, "batch_size": 52}).fit_resample(X, y)


@pytest.mark.parametrize("dims", [(0,), (16, -1), ("a",), "16"])
def test_bad_network_dims(fast, data, dims):
    X, y = data
    with pytest.raises((ValueError, InvalidParameterError), match="generator_dims"):
        GANOversampler(**{**fast, "generator_dims": dims}).fit_resample(X, y)


def test_scipy_sparse_is_refused(fast, data):
    X, y = data
    with pytest.raises(TypeError, match="dense data is required"):
        GANOversampler(**fast).fit_resample(sparse.csr_matrix(X), y)


def test_x_y_length_mismatch(fast, data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GANOversampler(**fast).fit_resample(X, y[:-1])


def test_frame_of_float_bool_and_string_category(fast):
    """check_array cannot cast this mix to one dtype; the sampler must not need to."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=60),
            "flag": rng.random(60) < 0.5,
            "kind": pd.Categorical(rng.choice(["a", "b"], 60)),
        }
    )
    y = np.array([0] * 45 + [1] * 15)
    X_res, _ = GANOversampler(random_state=0, **fast).fit_resample(X, y)
    assert X_res.dtypes.to_dict() == X.dtypes.to_dict() and len(X_res) == 90


def test_empty_frames(fast):
    with pytest.raises(ValueError, match="0 sample"):
        GANOversampler(**fast).fit_resample(pd.DataFrame({"a": []}), [])
    with pytest.raises(ValueError, match="0 feature"):
        GANOversampler(**fast).fit_resample(pd.DataFrame(index=range(4)), [0, 0, 1, 1])


def test_object_array_keeps_decimals_in_continuous_columns(fast):
    rng = np.random.default_rng(0)
    X = np.empty((60, 2), dtype=object)
    X[:, 0] = rng.normal(size=60) / 10
    X[:, 1] = rng.choice(["a", "b"], 60)
    y = np.array([0] * 45 + [1] * 15)
    X_res, _ = GANOversampler(categorical_features=[1], random_state=0, **fast).fit_resample(X, y)
    synthetic = X_res[60:, 0].astype(float)
    assert not np.allclose(synthetic, np.rint(synthetic))


def test_check_input_raises_what_fit_would_and_trains_nothing(fast, data):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    X, y = data
    sampler = GANOversampler(**{**fast, "batch_size": 52})
    with pytest.raises(ValueError, match="batch_size=52 must be a multiple of pac=5"):
        sampler.check_input(X, y)
    GANOversampler(**fast).check_input(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(sampler)

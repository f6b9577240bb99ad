"""Optional early stopping on a held-out validation signal."""

from __future__ import annotations

import numpy as np
import pytest

from gan_augment import GANOversampler
from gan_augment.exceptions import TrainingWarning
from gan_augment.tabular.domain import validation_split

from .test_oversampler import _imbalanced


def test_stops_early_keeps_the_best_generator_and_records_scores(fast):
    X, y = _imbalanced(n=400)
    sampler = GANOversampler(
        random_state=0, early_stopping=True, n_iter_no_change=1, **{**fast, "epochs": 200}
    )
    with pytest.warns(TrainingWarning, match="Early stopping after epoch"):
        X_res, _ = sampler.fit_resample(X, y)
    assert sampler.n_epochs_ < 200
    scores = sampler.history_["validation"]
    checked = scores.dropna()
    assert len(checked) >= 2 and np.isfinite(checked).all()
    assert sampler.best_epoch_ == checked.idxmin()
    assert np.isfinite(X_res).all()


def test_validation_score_falls_as_training_goes_on(fast):
    X, y = _imbalanced(n=400)
    sampler = GANOversampler(
        random_state=0, early_stopping=True, n_iter_no_change=100, **{**fast, "epochs": 60}
    )
    sampler.fit_resample(X, y)
    scores = sampler.history_["validation"].dropna()
    # Scored every ceil(50 / 7 steps per epoch) = 8 epochs.
    assert list(scores.index) == list(range(8, 61, 8))
    assert scores.min() < 0.5 * scores.iloc[0]


def test_hold_out_never_leaves_fewer_than_two_rows():
    y_codes = np.array([0] * 20 + [1] * 3 + [2] * 2)
    train, val = validation_split(y_codes, 3, 0.5, np.random.default_rng(0))
    assert np.bincount(y_codes[val], minlength=3).tolist() == [10, 1, 0]
    assert np.bincount(y_codes[train], minlength=3).tolist() == [10, 2, 2]
    assert set(train) | set(val) == set(range(25)) and not set(train) & set(val)


def test_off_by_default_uses_every_row_and_draws_nothing():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    train, val = validation_split(np.array([0, 0, 1, 1]), 2, None, rng)
    assert train.tolist() == [0, 1, 2, 3] and val.size == 0
    assert rng.bit_generator.state == state

"""Faults during training: NaN roll-back, interruption, checkpoints and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_augment import GANOversampler
from gan_augment.exceptions import TrainingWarning
from gan_augment.tabular.data import TabularBatches

from .test_oversampler import _imbalanced


def _inject(monkeypatch, at_call, fault, times=1):
    """Make TabularBatches.sample misbehave from its ``at_call``-th call on."""
    original = TabularBatches.sample
    calls = {"n": 0, "faults": 0}

    def sample(self, n, generator):
        calls["n"] += 1
        real, batch = original(self, n, generator)
        if calls["n"] >= at_call and calls["faults"] < times:
            calls["faults"] += 1
            if fault == "nan":
                return torch.full_like(real, float("nan")), batch
            raise KeyboardInterrupt
        return real, batch

    monkeypatch.setattr(TabularBatches, "sample", sample)
    return calls


@pytest.fixture
def data():
    return _imbalanced(n=300)


def test_nan_mid_training_rolls_back_and_finishes(fast, data, monkeypatch):
    X, y = data
    calls = _inject(monkeypatch, at_call=15, fault="nan")
    sampler = GANOversampler(random_state=0, **{**fast, "epochs": 5})
    with pytest.warns(TrainingWarning, match="Non-finite.*rolled back.*halved the learning rate"):
        X_res, _ = sampler.fit_resample(X, y)
    assert calls["faults"] == 1
    assert sampler.n_epochs_ == 5 and np.isfinite(sampler.history_.to_numpy()).all()
    assert np.isfinite(X_res).all()
    assert all(torch.isfinite(p).all() for p in sampler.generator_.parameters())


def test_persistent_nan_stops_with_advice(fast, data, monkeypatch):
    X, y = data
    _inject(monkeypatch, at_call=15, fault="nan", times=10**9)
    sampler = GANOversampler(random_state=0, **{**fast, "epochs": 5})
    with pytest.warns(TrainingWarning):
        with pytest.raises(FloatingPointError, match="smaller learning_rate.*extreme values"):
            sampler.fit_resample(X, y)


def test_keyboard_interrupt_keeps_the_last_good_generator(fast, data, monkeypatch):
    X, y = data
    # 6 steps per epoch, one sample() call per step (the generator step draws
    # conditions only): call 20 is in epoch 4.
    _inject(monkeypatch, at_call=20, fault="interrupt")
    sampler = GANOversampler(random_state=0, **{**fast, "epochs": 10})
    with pytest.warns(TrainingWarning, match="interrupted.*keeping the generator from epoch"):
        X_res, y_res = sampler.fit_resample(X, y)
    assert 1 <= sampler.n_epochs_ < 4 and len(sampler.history_) == sampler.n_epochs_
    assert len(y_res) == 2 * (y == 0).sum() and np.isfinite(X_res).all()


def test_keyboard_interrupt_in_the_first_epoch_propagates(fast, data, monkeypatch):
    X, y = data
    _inject(monkeypatch, at_call=2, fault="interrupt")
    with pytest.raises(KeyboardInterrupt):
        GANOversampler(random_state=0, **fast).fit_resample(X, y)


def test_resume_from_checkpoint_is_identical(fast, data, monkeypatch, tmp_path):
    X, y = data
    params = {**fast, "epochs": 8, "checkpoint_every": 2, "random_state": 0}
    reference, _ = GANOversampler(**params).fit_resample(X, y)

    with monkeypatch.context() as patch:
        _inject(patch, at_call=35, fault="interrupt")  # step 35: in epoch 6
        with pytest.warns(TrainingWarning, match="interrupted"):
            GANOversampler(checkpoint_dir=tmp_path, **params).fit_resample(X, y)
    assert (tmp_path / "checkpoint.pt").exists()

    resumed = GANOversampler(checkpoint_dir=tmp_path, resume=True, **params)
    X_res, _ = resumed.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, reference)
    assert resumed.n_epochs_ == 8 and list(resumed.history_.index) == list(range(1, 9))


def test_resume_refuses_a_checkpoint_of_other_data(fast, data, tmp_path):
    X, y = data
    params = {**fast, "epochs": 2, "checkpoint_every": 1, "random_state": 0}
    GANOversampler(checkpoint_dir=tmp_path, **params).fit_resample(X, y)
    other = X.copy()
    other[0, 0] += 1.0
    with pytest.raises(ValueError, match="written for other data or other parameters"):
        GANOversampler(checkpoint_dir=tmp_path, resume=True, **params).fit_resample(other, y)
    with pytest.raises(ValueError, match="written for other data or other parameters"):
        GANOversampler(
            checkpoint_dir=tmp_path, resume=True, **{**params, "learning_rate": 1e-3}
        ).fit_resample(X, y)
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="truncated or corrupted"):
        GANOversampler(checkpoint_dir=tmp_path, resume=True, **params).fit_resample(X, y)


def test_resume_without_a_checkpoint_starts_afresh(fast, data, tmp_path):
    X, y = data
    params = {**fast, "random_state": 0}
    a, _ = GANOversampler(**params).fit_resample(X, y)
    b, _ = GANOversampler(checkpoint_dir=tmp_path / "new", resume=True, **params).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)

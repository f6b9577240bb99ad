"""Faults during training: NaN roll-back, interruption, checkpoints and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_augment import GANOversampler, oversampler
from gan_augment.exceptions import TrainingWarning
from gan_augment.seeding import Seeds
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


def _inject_at(monkeypatch, faults):
    """Make TabularBatches.sample misbehave at given calls: ``{call: "nan" | "interrupt"}``."""
    original = TabularBatches.sample
    calls = {"n": 0}

    def sample(self, n, generator):
        calls["n"] += 1
        real, batch = original(self, n, generator)
        fault = faults.get(calls["n"])
        if fault == "nan":
            return torch.full_like(real, float("nan")), batch
        if fault == "interrupt":
            raise KeyboardInterrupt
        return real, batch

    monkeypatch.setattr(TabularBatches, "sample", sample)
    return calls


def _weights(sampler):
    return {k: v.clone() for k, v in sampler.generator_.state_dict().items()}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


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


def test_resume_with_random_state_none_works(fast, data, tmp_path):
    # The reported case: 3 epochs with checkpoint_every=1, then the same call
    # with resume=True. With several modes per column the encoding is random
    # (the mode draws), but the checkpoint's seed is taken, so the resumed fit
    # is the one that wrote it.
    X, y = data
    params = {**fast, "epochs": 3, "checkpoint_every": 1, "checkpoint_dir": tmp_path,
              "max_modes": 5}
    first = GANOversampler(**params)
    X_first, _ = first.fit_resample(X, y)
    resumed = GANOversampler(resume=True, **params)
    X_resumed, _ = resumed.fit_resample(X, y)
    assert resumed.n_epochs_ == 3
    assert _same_weights(_weights(first), _weights(resumed))
    np.testing.assert_array_equal(X_resumed, X_first)


def test_resume_with_random_state_none_continues_the_same_fit(fast, data, monkeypatch, tmp_path):
    X, y = data
    params = {**fast, "epochs": 8, "checkpoint_every": 2}
    with monkeypatch.context() as patch:
        _inject(patch, at_call=35, fault="interrupt")  # step 35: in epoch 6
        with pytest.warns(TrainingWarning, match="interrupted"):
            GANOversampler(checkpoint_dir=tmp_path, **params).fit_resample(X, y)
    entropy = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["fit"]["entropy"]

    resumed = GANOversampler(checkpoint_dir=tmp_path, resume=True, **params)
    X_res, _ = resumed.fit_resample(X, y)
    assert list(resumed.history_.index) == list(range(1, 9))

    # The same fit, uninterrupted: random_state=None that drew this entropy.
    with monkeypatch.context() as patch:
        patch.setattr(oversampler, "Seeds", lambda random_state: Seeds.from_entropy(entropy))
        reference = GANOversampler(**params)
        X_ref, _ = reference.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_ref)
    assert _same_weights(_weights(resumed), _weights(reference))


def test_resume_with_more_epochs_equals_one_longer_fit(fast, data, tmp_path):
    X, y = data
    params = {**fast, "checkpoint_every": 2, "random_state": 0}
    reference, _ = GANOversampler(**{**params, "epochs": 8}).fit_resample(X, y)
    GANOversampler(checkpoint_dir=tmp_path, **{**params, "epochs": 4}).fit_resample(X, y)
    longer = GANOversampler(checkpoint_dir=tmp_path, resume=True, **{**params, "epochs": 8})
    X_res, _ = longer.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, reference)
    assert longer.n_epochs_ == 8 and list(longer.history_.index) == list(range(1, 9))


def test_resume_refuses_fewer_epochs_than_the_checkpoint_has(fast, data, tmp_path):
    X, y = data
    params = {**fast, "checkpoint_every": 1, "random_state": 0, "checkpoint_dir": tmp_path}
    GANOversampler(**{**params, "epochs": 2}).fit(X, y)
    with pytest.raises(ValueError, match="has 2 completed epochs, more than epochs=1"):
        GANOversampler(resume=True, **{**params, "epochs": 1}).fit(X, y)


def test_resume_says_what_differs(fast, data, tmp_path):
    X, y = data
    params = {**fast, "epochs": 2, "checkpoint_every": 1, "random_state": 0,
              "checkpoint_dir": tmp_path, "resume": True}
    GANOversampler(**params).fit(X, y)
    other = X.copy()
    other[0, 0] += 1.0
    with pytest.raises(ValueError, match="the data differ"):
        GANOversampler(**params).fit(other, y)
    with pytest.raises(ValueError, match="the data differ"):
        GANOversampler(**params).fit(X, 1 - y)
    with pytest.raises(
        ValueError,
        match=r"parameters differ .*: batch_size 50 -> 100, learning_rate 0.0002 -> 0.001\.",
    ):
        GANOversampler(**{**params, "batch_size": 100, "learning_rate": 1e-3}).fit(X, y)
    with pytest.raises(
        ValueError, match=r"another seed \(random_state=0; this fit's seed is 1\)"
    ):
        GANOversampler(**{**params, "random_state": 1}).fit(X, y)
    # A checkpoint of random_state=0 resumed with None continues as random_state=0.
    assert GANOversampler(**{**params, "random_state": None}).fit(X, y).n_epochs_ == 2

    path = tmp_path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    del state["fit"]
    torch.save(state, path)
    with pytest.raises(ValueError, match="older version of gan-augment"):
        GANOversampler(**params).fit(X, y)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="truncated or corrupted"):
        GANOversampler(**params).fit(X, y)


def test_resume_without_a_checkpoint_starts_afresh(fast, data, tmp_path):
    X, y = data
    params = {**fast, "random_state": 0}
    a, _ = GANOversampler(**params).fit_resample(X, y)
    b, _ = GANOversampler(checkpoint_dir=tmp_path / "new", resume=True, **params).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)

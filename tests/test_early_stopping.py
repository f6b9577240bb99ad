"""Optional early stopping on a held-out validation signal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_augment import GANOversampler
from gan_augment.exceptions import TrainingWarning
from gan_augment.tabular.conditions import GenerationConditions
from gan_augment.tabular.validation import BANDWIDTH_ROWS, MAX_ROWS_PER_CLASS, MMDScore
from gan_augment.tabular.domain import validation_split
from gan_augment.tabular.networks import Generator, initialise
from gan_augment.tabular.transformer import TabularTransformer

from .test_faults import _inject_at, _same_weights, _weights
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
    # Without the auxiliary classifier loss (the default's 0.3 pulls this tiny
    # generator's rows towards the classifier's regions, and the score then
    # fell from 0.245 to 0.198 over 60 epochs instead of halving): the test is
    # of the score, not of that loss.
    sampler = GANOversampler(
        random_state=0, early_stopping=True, n_iter_no_change=100, classifier_weight=0.0,
        **{**fast, "epochs": 60},
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


# 350 rows: 316 train, 6 steps per epoch, so scores every ceil(50 / 6) = 9
# epochs and roll-back snapshots every 5 (30 steps); sample() is called once
# per step, so epoch e makes calls 6e - 5 to 6e.
def _every_9_epochs(fast, **params):
    return dict(random_state=0, early_stopping=True, n_iter_no_change=100,
                **{**fast, **params})


def test_interrupt_keeps_the_best_generator_and_says_so(fast, monkeypatch):
    X, y = _imbalanced(n=350)
    _inject_at(monkeypatch, {116: "interrupt"})  # in epoch 20
    sampler = GANOversampler(**_every_9_epochs(fast, epochs=30))
    with pytest.warns(TrainingWarning, match=r"interrupted.*after epoch 19 of 30.*best validation"):
        sampler.fit(X, y)
    monkeypatch.undo()
    scores = sampler.history_["validation"]
    assert sampler.n_epochs_ == len(sampler.history_) == 19
    assert list(scores.dropna().index) == [9, 18]
    assert sampler.best_epoch_ == scores.idxmin()
    # The generator kept is that of best_epoch_, as an uninterrupted fit to
    # that epoch keeps it.
    reference = GANOversampler(**_every_9_epochs(fast, epochs=sampler.best_epoch_)).fit(X, y)
    assert reference.best_epoch_ == sampler.best_epoch_
    assert _same_weights(_weights(sampler), _weights(reference))


def test_roll_back_discards_the_best_generator_of_discarded_epochs(fast, monkeypatch):
    X, y = _imbalanced(n=350)
    # Epoch 9 is scored (the best so far), then a NaN in epoch 10 rolls back to
    # the snapshot of epoch 5, and an interrupt lands in the re-run epoch 6:
    # neither epoch 9's generator nor its score may survive.
    _inject_at(monkeypatch, {55: "nan", 57: "interrupt"})
    sampler = GANOversampler(**_every_9_epochs(fast, epochs=30))
    with pytest.warns(TrainingWarning) as caught:
        sampler.fit(X, y)
    monkeypatch.undo()
    messages = " ".join(str(w.message) for w in caught)
    assert "rolled back to epoch 5" in messages and "keeping the generator from epoch 5" in messages
    assert sampler.n_epochs_ == len(sampler.history_) == 5
    assert sampler.best_epoch_ is None and sampler.history_["validation"].isna().all()
    reference = GANOversampler(**_every_9_epochs(fast, epochs=5)).fit(X, y)
    assert _same_weights(_weights(sampler), _weights(reference))


def test_resuming_a_fit_that_stopped_early_does_not_train_on(fast, tmp_path):
    X, y = _imbalanced(n=400)
    params = dict(random_state=0, early_stopping=True, n_iter_no_change=1,
                  checkpoint_dir=tmp_path, checkpoint_every=1, **{**fast, "epochs": 200})
    with pytest.warns(TrainingWarning, match="Early stopping after epoch"):
        first = GANOversampler(**params).fit(X, y)
    with pytest.warns(TrainingWarning, match=f"Early stopping after epoch {first.n_epochs_} "):
        resumed = GANOversampler(resume=True, **params).fit(X, y)
    assert resumed.n_epochs_ == first.n_epochs_ and resumed.best_epoch_ == first.best_epoch_
    assert _same_weights(_weights(first), _weights(resumed))


def _score_parts(n_classes, width_rows=200):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(width_rows, 2))
    empty = np.empty((width_rows, 0), object)
    layout = TabularTransformer(max_modes=1).fit(x, empty, rng).layout_
    conditions = GenerationConditions(n_classes, 0, None)
    generator = initialise(
        Generator(4 + n_classes, (8,), layout.width), torch.device("cpu"),
        torch.Generator().manual_seed(0),
    )
    return layout, conditions, generator


def test_validation_score_memory_is_bounded_for_a_large_hold_out(monkeypatch):
    # 150,000 held-out rows: unbounded, the bandwidth alone would be a
    # 150,000 x 150,000 distance matrix (90 GB). The spy refuses any distance
    # matrix over the bound before it is allocated.
    layout, conditions, generator = _score_parts(3)
    y_codes = np.r_[np.zeros(100_000, int), np.ones(49_995, int), np.full(5, 2)]
    encoded = np.random.default_rng(1).random((len(y_codes), layout.width), dtype=np.float32)
    bound = (2 * MAX_ROWS_PER_CLASS) ** 2
    cdist, shapes = torch.cdist, []

    def bounded_cdist(a, b, *args, **kwargs):
        shapes.append((len(a), len(b)))
        assert len(a) * len(b) <= bound, f"a {len(a)} x {len(b)} distance matrix"
        return cdist(a, b, *args, **kwargs)

    monkeypatch.setattr(torch, "cdist", bounded_cdist)
    score = MMDScore(encoded, y_codes, conditions, layout, 4, torch.device("cpu"), seed=0)
    assert {c: len(r) for c, r in score.real.items()} == {
        0: MAX_ROWS_PER_CLASS, 1: MAX_ROWS_PER_CLASS, 2: 5
    }
    assert score.n_fake == {0: 2 * MAX_ROWS_PER_CLASS, 1: 2 * MAX_ROWS_PER_CLASS, 2: 200}
    assert shapes == [(BANDWIDTH_ROWS, BANDWIDTH_ROWS)]
    assert np.isfinite(score(generator))
    assert max(a * b for a, b in shapes) <= bound
    # The kept rows are the class's own, and the same for the same seed.
    kept = score.real[1].numpy()
    assert np.isin(kept[:, 0], encoded[y_codes == 1, 0]).all()
    again = MMDScore(encoded, y_codes, conditions, layout, 4, torch.device("cpu"), seed=0)
    np.testing.assert_array_equal(again.real[1].numpy(), kept)


def test_validation_score_keeps_a_small_hold_out_whole():
    layout, conditions, _ = _score_parts(2)
    y_codes = np.r_[np.zeros(300, int), np.ones(40, int)]
    encoded = np.random.default_rng(1).random((len(y_codes), layout.width), dtype=np.float32)
    score = MMDScore(encoded, y_codes, conditions, layout, 4, torch.device("cpu"), seed=0)
    np.testing.assert_array_equal(score.real[1].numpy(), encoded[300:])
    data = torch.as_tensor(encoded)
    assert score.bandwidth == float(torch.cdist(data, data).median())

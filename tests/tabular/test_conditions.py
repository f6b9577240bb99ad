"""Class conditions and training-by-sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_augment.tabular.conditions import ConditionSampler


@pytest.fixture
def sampler():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [500, 80, 20])
    codes = np.column_stack([rng.integers(0, 3, 600), rng.choice([0, 1], 600, p=[0.95, 0.05])])
    return y, codes, ConditionSampler(y, codes, 3, [3, 2], torch.device("cpu"))


def test_rows_match_their_class_and_category(sampler):
    y, codes, s = sampler
    batch = s.sample_train(5000, torch.Generator().manual_seed(0), pack_size=10)
    assert batch.cond.shape == (5000, 3 + 5)
    classes = batch.cond[:, :3].argmax(1).numpy()
    rows = batch.rows.numpy()
    np.testing.assert_array_equal(y[rows], classes)
    np.testing.assert_array_equal(codes[rows, batch.column.numpy()], batch.category.numpy())
    pair = batch.cond[:, 3:].argmax(1).numpy()
    np.testing.assert_array_equal(pair, np.array([0, 3])[batch.column.numpy()] + batch.category.numpy())
    assert (batch.cond.sum(1) == 2).all()


def test_packs_hold_one_class_and_classes_are_balanced(sampler):
    _, _, s = sampler
    batch = s.sample_train(3000, torch.Generator().manual_seed(1), pack_size=10)
    classes = batch.cond[:, :3].argmax(1).reshape(-1, 10)
    assert (classes == classes[:, :1]).all()
    shares = np.bincount(classes[:, 0].numpy(), minlength=3) / classes.shape[0]
    np.testing.assert_allclose(shares, 1 / 3, atol=0.05)


def test_rare_category_is_drawn_by_log_frequency(sampler):
    y, codes, s = sampler
    batch = s.sample_train(60000, torch.Generator().manual_seed(2))
    in_class0_col1 = (batch.cond[:, 0] == 1) & (batch.column == 1)
    share_rare = batch.category[in_class0_col1].float().mean().item()
    counts = np.bincount(codes[y == 0, 1], minlength=2)
    expected = np.log1p(counts[1]) / np.log1p(counts).sum()
    assert share_rare == pytest.approx(expected, abs=0.02)
    assert share_rare > 5 * counts[1] / counts.sum()


def test_generation_follows_empirical_frequency(sampler):
    y, codes, s = sampler
    cond = s.generation.sample(0, 60000, torch.Generator().manual_seed(3), torch.device("cpu"))
    assert (cond[:, 0] == 1).all() and (cond[:, 1:3] == 0).all()
    column1 = cond[:, 6:8]
    picked = column1.sum(1) == 1
    share_rare = column1[picked, 1].mean().item()
    expected = (codes[y == 0, 1] == 1).mean()
    assert share_rare == pytest.approx(expected, abs=0.01)


def test_without_categorical_columns():
    y = np.array([0] * 30 + [1] * 5)
    s = ConditionSampler(y, np.zeros((35, 0), int), 2, [], torch.device("cpu"))
    batch = s.sample_train(100, torch.Generator().manual_seed(0))
    assert batch.column is None and batch.cond.shape == (100, 2)
    np.testing.assert_array_equal(y[batch.rows.numpy()], batch.cond.argmax(1).numpy())

"""Mode-specific normalisation and one-hot encoding round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_augment.tabular.transformer import OutputLayout, TabularTransformer


def _bimodal(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(-5, 0.5, n // 2), rng.normal(20, 2, n - n // 2)])


def test_bimodal_column_finds_two_modes_and_round_trips():
    rng = np.random.default_rng(0)
    x = _bimodal()[:, None]
    t = TabularTransformer().fit(x, np.empty((len(x), 0), object), rng)
    column = t.columns_[0]
    assert column.n_modes >= 2
    means = np.sort(column.means * column.scale + column.center)
    assert means[0] == pytest.approx(-5, abs=1) and means[-1] == pytest.approx(20, abs=2)
    encoded, codes = t.transform(x, np.empty((len(x), 0), object), rng)
    assert encoded.dtype == np.float32 and codes.shape == (len(x), 0)
    assert np.abs(encoded[:, 0]).max() <= 0.99
    assert np.allclose(encoded[:, 1:].sum(axis=1), 1)
    back, _ = t.inverse_transform(encoded, rng)
    np.testing.assert_allclose(back[:, 0], x[:, 0], atol=1e-3 * np.ptp(x))


def test_columns_fit_alike_on_any_number_of_threads():
    x = np.column_stack([_bimodal(seed=s) for s in range(4)])
    empty = np.empty((len(x), 0), object)
    fits = [
        TabularTransformer().fit(x, empty, np.random.default_rng(0), n_jobs=n_jobs)
        for n_jobs in (None, 2)
    ]
    for one, two in zip(fits[0].columns_, fits[1].columns_, strict=True):
        np.testing.assert_array_equal(one.means, two.means)
        np.testing.assert_array_equal(one.weights, two.weights)


def test_mixture_is_the_full_covariance_one():
    """The "diag" mixture the transformer fits is, in one dimension, the
    "full" one of the CTGAN paper: same weights, means and deviations."""
    import warnings

    from sklearn.mixture import BayesianGaussianMixture

    x = _bimodal()[:, None]
    rng = np.random.default_rng(0)
    column = TabularTransformer().fit(x, np.empty((len(x), 0), object), rng).columns_[0]
    seed = np.random.default_rng(np.random.default_rng(0).integers(2**63 - 1, size=1)[0])
    full = BayesianGaussianMixture(
        n_components=10, weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=1e-3, max_iter=100,
        random_state=int(seed.integers(2**31 - 1)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full.fit((x - x.mean()) / x.std())
    keep = full.weights_ > 0.005
    np.testing.assert_allclose(column.means, full.means_.ravel()[keep], atol=1e-8)
    np.testing.assert_allclose(column.stds, np.sqrt(full.covariances_.ravel()[keep]), atol=1e-8)
    np.testing.assert_allclose(column.weights, full.weights_[keep] / full.weights_[keep].sum(), atol=1e-8)


def test_max_iter_bounds_the_mixtures_iterations_and_is_kept():
    x = np.column_stack([_bimodal(seed=s) for s in range(2)])
    empty = np.empty((len(x), 0), object)
    full = TabularTransformer().fit(x, empty, np.random.default_rng(0))
    short = TabularTransformer(max_iter=2).fit(x, empty, np.random.default_rng(0))
    # Two EM steps from the same start leave the surplus components alive.
    assert sum(c.n_modes for c in short.columns_) > sum(c.n_modes for c in full.columns_)
    state = short.get_state()
    assert state["params"]["max_iter"] == 2
    assert TabularTransformer.from_state(state).max_iter == 2


def test_constant_and_huge_columns():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.full(100, 7.0), rng.normal(1e12, 1e10, 100), rng.normal(0, 1e-9, 100)])
    t = TabularTransformer(max_modes=3).fit(x, np.empty((100, 0), object), rng)
    encoded, _ = t.transform(x, np.empty((100, 0), object), rng)
    assert np.isfinite(encoded).all()
    back, _ = t.inverse_transform(encoded, rng)
    np.testing.assert_allclose(back, x, rtol=1e-4, atol=1e-12)


def test_inverse_clips_to_training_range_and_categories():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (50, 1))
    cats = rng.choice(["a", "b", "c"], (50, 1)).astype(object)
    t = TabularTransformer(max_modes=1).fit(x, cats, rng)
    wild = np.zeros((4, t.layout_.width), np.float32)
    wild[:, 0] = [1.0, -1.0, 0.9, -0.9]
    wild[:, 1] = 1.0
    wild[np.arange(4), 2 + np.array([0, 1, 2, 2])] = 1.0
    cont, cat = t.inverse_transform(wild, rng)
    assert cont.min() >= x.min() and cont.max() <= x.max()
    assert list(cat[:, 0]) == ["a", "b", "c", "c"]


def test_layout_activation_shapes_and_one_hots():
    layout = OutputLayout([0, 3], [(1, 2), (4, 1), (5, 3)], n_categorical=1)
    assert layout.width == 8 and layout.categorical_spans == [(5, 3)]
    raw = torch.randn(6, 8, requires_grad=True)
    rng = torch.Generator().manual_seed(0)
    soft = layout.activate(raw, rng)
    assert torch.isfinite(soft).all()
    assert torch.allclose(soft[:, [1, 2]].sum(1), torch.ones(6))
    assert torch.allclose(soft[:, 5:8].sum(1), torch.ones(6))
    assert (soft[:, [0, 3]].abs() < 1).all()
    soft.sum().backward()
    assert torch.isfinite(raw.grad).all()
    hard = layout.activate(raw.detach(), rng, hard=True)
    assert set(hard[:, 5:8].unique().tolist()) <= {0.0, 1.0}
    assert (hard[:, 5:8].sum(1) == 1).all()


def test_gumbel_sampling_follows_the_logits():
    layout = OutputLayout([], [(0, 2)], n_categorical=1)
    raw = torch.tensor([[0.0, np.log(3.0)]]).repeat(20000, 1)
    hard = layout.activate(raw, torch.Generator().manual_seed(0), hard=True)
    assert hard[:, 1].mean().item() == pytest.approx(0.75, abs=0.02)

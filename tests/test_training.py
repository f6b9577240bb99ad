"""The training loop: history, reproducibility, and divergence handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_augment.exceptions import TrainingWarning
from gan_augment.losses import LOSSES
from gan_augment.tabular.data import TabularBatches
from gan_augment.tabular.networks import Discriminator, Generator, initialise
from gan_augment.tabular.transformer import TabularTransformer
from gan_augment.training import HISTORY_COLUMNS, TrainingConfig, _in_precision, train


def _setup(seed=0):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] > 1).astype(int)
    empty = np.empty((200, 0), object)
    t = TabularTransformer(max_modes=1).fit(x, empty, rng)
    encoded, codes = t.transform(x, empty, rng)
    device = torch.device("cpu")
    source = TabularBatches(encoded, y, codes, 2, [], t.layout_, device, pack_size=2)
    gen = torch.Generator().manual_seed(seed)
    g = initialise(Generator(4 + source.cond_dim, (8,), t.layout_.width), device, gen)
    d = initialise(Discriminator(t.layout_.width + source.cond_dim, (8,), 2, 2), device, gen)
    config = TrainingConfig(
        epochs=3, steps_per_epoch=4, batch_size=20, noise_dim=4, n_critic=2,
        learning_rate=1e-3, pac=2, loss=LOSSES["wgan-gp"],
    )
    return g, d, source, config, gen


def test_history_and_parameters_change():
    g, d, source, config, gen = _setup()
    before = [p.detach().clone() for p in g.parameters()]
    history = train(g, d, source, config, gen).history
    assert history["epoch"] == [1, 2, 3]
    assert all(len(history[k]) == 3 and np.isfinite(history[k]).all() for k in HISTORY_COLUMNS)
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))


def test_same_seed_same_weights():
    runs = []
    for _ in range(2):
        g, d, source, config, gen = _setup()
        train(g, d, source, config, gen)
        runs.append(torch.cat([p.flatten() for p in g.parameters()]))
    assert torch.equal(runs[0], runs[1])


def test_bfloat16_precision_runs_products_in_bf16_and_hands_back_float32():
    linear = torch.nn.Linear(64, 8)
    x = torch.randn(16, 64, generator=torch.Generator().manual_seed(0))
    assert _in_precision(linear, "float32", "cpu") is linear
    low = _in_precision(linear, "bfloat16", "cpu")(x)
    assert low.dtype == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = linear(x).float()
    torch.testing.assert_close(low, expected, rtol=0, atol=0)
    assert not torch.equal(low, linear(x))  # rounded: not the float32 product
    # A bf16 fit trains: float32 weights that move, finite history.
    g, d, source, config, gen = _setup()
    config.precision = "bfloat16"
    before = [p.detach().clone() for p in g.parameters()]
    history = train(g, d, source, config, gen).history
    assert all(np.isfinite(history[k]).all() for k in HISTORY_COLUMNS)
    assert all(p.dtype == torch.float32 for p in g.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))


def test_non_finite_loss_stops_with_a_clear_error():
    g, d, source, config, gen = _setup()
    with torch.no_grad():
        next(d.parameters()).fill_(float("nan"))
    # The weights are bad from the start, so every roll-back lands on bad weights.
    with pytest.warns(TrainingWarning, match="rolled back"):
        with pytest.raises(FloatingPointError, match="diverged.*4 times.*learning_rate"):
            train(g, d, source, config, gen)

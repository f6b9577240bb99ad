"""The GAN objectives have their textbook values and gradient directions."""

from __future__ import annotations

import math

import pytest
import torch

from gan_augment.losses import LOSSES, gradient_penalty
from gan_augment.tabular.networks import Discriminator, initialise


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_generator_loss_falls_as_fakes_look_real(name):
    loss = LOSSES[name]
    low, high = torch.full((8,), -1.0), torch.full((8,), 1.0)
    assert loss.generator(high) < loss.generator(low)
    assert loss.discriminator(high, low) < loss.discriminator(low, high)


def test_values():
    zero = torch.zeros(4)
    assert LOSSES["minimax"].discriminator(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert LOSSES["minimax"].generator(zero).item() == pytest.approx(-math.log(2))
    assert LOSSES["non-saturating"].generator(zero).item() == pytest.approx(math.log(2))
    assert LOSSES["hinge"].discriminator(zero, zero).item() == pytest.approx(2.0)
    assert LOSSES["lsgan"].discriminator(torch.ones(4), zero).item() == pytest.approx(0.0)
    assert LOSSES["wgan-gp"].discriminator(torch.ones(4), zero).item() == pytest.approx(-1.0)
    assert LOSSES["wgan-gp"].gradient_penalty and not LOSSES["hinge"].gradient_penalty


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    class Linear1(torch.nn.Module):
        def forward(self, rows, cond):
            return rows.reshape(-1, 2 * rows.shape[1])[:, 0]

    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    gen = torch.Generator().manual_seed(0)
    assert gradient_penalty(Linear1(), real, fake, torch.zeros(8, 2), 2, gen).item() == pytest.approx(0.0)


def test_gradient_penalty_is_differentiable_through_the_critic():
    gen = torch.Generator().manual_seed(0)
    critic = initialise(Discriminator(5, (8,), pac=2, n_classes=2), torch.device("cpu"), gen)
    cond = torch.nn.functional.one_hot(torch.tensor([0, 0, 1, 1]), 2).float()
    penalty = gradient_penalty(critic, torch.randn(4, 3), torch.randn(4, 3), cond, 2, gen)
    penalty.backward()
    # The output bias does not change input gradients, so only weights get one.
    for weight in (critic.body[0].weight, critic.head.weight, critic.embed.weight):
        assert weight.grad is not None and weight.grad.abs().sum() > 0


def test_feature_matching_is_zero_for_matching_rows_and_moves_only_the_fakes():
    from gan_augment.losses import feature_matching

    d = initialise(Discriminator(4 + 2, (8,), 2, 2), torch.device("cpu"), torch.Generator().manual_seed(0))
    real = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    cond = torch.zeros(8, 2)
    cond[:, 0] = 1
    same = feature_matching(d.features(real, cond), d.features(real.clone(), cond))
    assert same.item() == pytest.approx(0.0, abs=1e-12)
    fake = (real + 1).requires_grad_(True)
    loss = feature_matching(d.features(real, cond), d.features(fake, cond))
    assert loss.item() > 0
    real.requires_grad_(True)
    loss = feature_matching(d.features(real, cond), d.features(fake, cond))
    loss.backward()
    assert real.grad is None and fake.grad is not None


def test_a_fit_with_feature_matching_trains_otherwise(fast):
    import numpy as np
    from sklearn.datasets import make_classification

    from gan_augment import GANOversampler

    X, y = make_classification(n_samples=200, weights=[0.85], random_state=0)
    plain = GANOversampler(**fast, random_state=0, feature_matching=0.0).fit(X, y)
    matched = GANOversampler(**fast, random_state=0, feature_matching=1.0).fit(X, y)
    auto = GANOversampler(**fast, random_state=0).fit(X, y)
    np.testing.assert_array_equal(auto.history_, matched.history_)
    assert not np.allclose(plain.history_["generator_loss"], matched.history_["generator_loss"])


def test_auto_feature_matching_is_off_under_privacy_and_for_images():
    from gan_augment import GANOversampler
    from gan_augment.options import IMAGE, TABULAR, resolve

    params = GANOversampler().get_params()
    assert resolve(params, TABULAR).feature_matching == 1.0
    assert resolve({**params, "dp_epsilon": 1.0, "dp_method": "dp-sgd"}, TABULAR).feature_matching == 0.0
    assert resolve(params, IMAGE).feature_matching == 0.0

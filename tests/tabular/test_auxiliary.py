"""The auxiliary classifier loss: rows generated for a class are pushed into its region."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from gan_augment import GANOversampler
from gan_augment.tabular.auxiliary import MARGIN, fit_auxiliary


def _two_blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.normal(-2, 0.5, (n, 2)), rng.normal(2, 0.5, (n // 10, 2))])
    y = np.r_[np.zeros(n, int), np.ones(n // 10, int)]
    return torch.as_tensor(rows, dtype=torch.float32), y


def test_the_classifier_finds_a_rare_class_and_is_frozen():
    rows, y = _two_blobs()
    clf = fit_auxiliary(rows, y, 2, torch.Generator().manual_seed(0))
    assert (clf(rows).argmax(1).numpy() == y).mean() > 0.99
    assert not any(p.requires_grad for p in clf.parameters())
    assert not clf.training


def test_the_fit_draws_only_from_its_stream():
    rows, y = _two_blobs()
    a = fit_auxiliary(rows, y, 2, torch.Generator().manual_seed(5))
    torch.manual_seed(123)  # the global stream plays no part
    b = fit_auxiliary(rows, y, 2, torch.Generator().manual_seed(5))
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_the_loss_is_clipped_where_rows_are_in_their_class():
    rows, y = _two_blobs()
    clf = fit_auxiliary(rows, y, 2, torch.Generator().manual_seed(0))
    minority = torch.ones(4, dtype=torch.long)
    inside = torch.full((4, 2), 2.0)
    outside = torch.full((4, 2), -2.0, requires_grad=True)
    assert clf.loss(inside, minority).item() == 0.0
    loss = clf.loss(outside, minority)
    assert loss.item() > MARGIN
    loss.backward()
    # Descending the loss moves the rows towards the minority's region.
    assert (outside.grad < 0).all()


def test_the_generator_step_adds_the_term(fast):
    X, y = make_classification(n_samples=200, weights=[0.85], random_state=0)
    plain = GANOversampler(**fast, random_state=0, interpolation=0.0, classifier_weight=0.0)
    helped = GANOversampler(**fast, random_state=0, interpolation=0.0, classifier_weight=5.0)
    plain.fit(X, y)
    helped.fit(X, y)
    assert not np.allclose(plain.history_["generator_loss"], helped.history_["generator_loss"])
    again = GANOversampler(**fast, random_state=0, interpolation=0.0, classifier_weight=5.0)
    np.testing.assert_array_equal(again.fit_resample(X, y)[0], helped.fit_resample(X, y)[0])


def test_auto_weight_is_on_for_tables_in_one_process_without_privacy():
    from gan_augment.options import IMAGE, TABULAR, resolve

    params = GANOversampler().get_params()
    assert params["classifier_weight"] == "auto"
    assert resolve(params, TABULAR).classifier_weight == 0.3
    private = {**params, "dp_epsilon": 1.0}
    assert resolve({**private, "dp_method": "dp-sgd"}, TABULAR).classifier_weight == 0.0
    # The marginals' GAN trains on a table drawn from noisy counts: no real row
    # reaches the classifier.
    assert resolve({**private, "dp_method": "marginals"}, TABULAR).classifier_weight == 0.3
    assert resolve(params, TABULAR, parallel=object()).classifier_weight == 0.0
    assert resolve(params, IMAGE).classifier_weight == 0.0
    # A weight the user gives is kept (and refused where it cannot apply).
    assert resolve({**params, "classifier_weight": 1.5}, TABULAR).classifier_weight == 1.5
    assert resolve({**params, "classifier_weight": 0.0}, TABULAR).classifier_weight == 0.0


def test_the_default_fit_trains_with_the_auto_weight(fast):
    X, y = make_classification(n_samples=200, weights=[0.85], random_state=0)
    auto = GANOversampler(**fast, random_state=0, interpolation=0.0).fit(X, y)
    explicit = GANOversampler(**fast, random_state=0, interpolation=0.0, classifier_weight=0.3)
    off = GANOversampler(**fast, random_state=0, interpolation=0.0, classifier_weight=0.0)
    np.testing.assert_array_equal(auto.history_, explicit.fit(X, y).history_)
    assert not np.allclose(auto.history_["generator_loss"], off.fit(X, y).history_["generator_loss"])


@pytest.mark.parametrize("name", ["classifier_weight", "feature_matching"])
def test_refused_under_differential_privacy(name):
    X, y = make_classification(n_samples=100, weights=[0.8], random_state=0)
    with pytest.raises(ValueError, match=f"dp_epsilon cannot be combined with {name}"):
        GANOversampler(dp_epsilon=5.0, dp_method="dp-sgd", **{name: 1.0}).fit(X, y)


@pytest.mark.parametrize("name", ["classifier_weight", "feature_matching"])
def test_refused_for_images(name):
    X = np.random.default_rng(0).random((40, 8, 8))
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    with pytest.raises(ValueError, match=f"{name} is not available for images"):
        GANOversampler(**{name: 1.0}).fit(X, y)


@pytest.mark.parametrize("name", ["classifier_weight", "feature_matching"])
def test_a_negative_weight_is_refused(name):
    X, y = make_classification(n_samples=100, weights=[0.8], random_state=0)
    with pytest.raises(ValueError, match=name):
        GANOversampler(**{name: -1.0}).fit(X, y)

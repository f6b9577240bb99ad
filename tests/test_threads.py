"""A fit's rows do not depend on the environment's thread count (n_jobs fixes it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from gan_augment import GANOversampler
from gan_augment.threads import limited_threads, resolve_n_jobs


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _fit(ambient: int, **params) -> tuple[np.ndarray, np.ndarray]:
    # Networks wide enough that torch splits their matrix products by thread.
    X, y = make_classification(n_samples=600, n_features=4, weights=[0.85], random_state=0)
    torch.set_num_threads(ambient)
    sampler = GANOversampler(
        random_state=0, epochs=2, batch_size=300, max_modes=1, interpolation=0.0,
        device="cpu", **params,
    )
    X_res, _ = sampler.fit_resample(X, y)
    return X_res, sampler.sample(50, y=1)


def test_rows_are_the_same_on_one_and_two_ambient_threads(restore_threads):
    one, two = _fit(1), _fit(2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_the_ambient_thread_count_is_restored(restore_threads):
    _fit(2, n_jobs=1)
    assert torch.get_num_threads() == 2


def test_limited_threads_sets_and_restores(restore_threads):
    torch.set_num_threads(2)
    with limited_threads(None) as threads:
        assert threads == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    assert resolve_n_jobs(-1) >= 1

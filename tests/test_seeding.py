"""One seeding scheme: a SeedSequence from random_state, a child per consumer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_augment import GANOversampler
from gan_augment.seeding import CONSUMERS, Seeds

from .test_oversampler import _imbalanced


def test_each_consumer_has_its_own_reproducible_stream():
    seeds = [Seeds(7).integer(consumer) for consumer in CONSUMERS]
    assert seeds == [Seeds(7).integer(consumer) for consumer in CONSUMERS]
    assert len(set(seeds)) == len(CONSUMERS)
    a = Seeds(7).numpy("encoding").random(4)
    np.testing.assert_array_equal(a, Seeds(7).numpy("encoding").random(4))
    t = Seeds(7).torch("training", torch.device("cpu"))
    assert torch.equal(torch.rand(3, generator=t),
                       torch.rand(3, generator=Seeds(7).torch("training", torch.device("cpu"))))


def test_a_stream_does_not_depend_on_what_other_consumers_drew():
    seeds = Seeds(3)
    seeds.numpy("encoding").random(1000)
    seeds.integer("validation")
    assert seeds.integer("sample") == Seeds(3).integer("sample")


def test_none_takes_fresh_entropy_and_leaves_numpy_global_state_alone():
    state = np.random.get_state()[1].copy()
    assert Seeds(None).integer("sample") != Seeds(None).integer("sample")
    np.testing.assert_array_equal(state, np.random.get_state()[1])


def test_a_random_state_instance_is_asked_for_one_integer():
    rs = np.random.RandomState(0)
    Seeds(rs)
    expected = np.random.RandomState(0)
    expected.randint(np.iinfo(np.int32).max)
    assert rs.randint(100) == expected.randint(100)


def test_none_fits_differ_and_leave_global_state_alone(fast):
    X, y = _imbalanced()
    state = np.random.get_state()[1].copy()
    a = GANOversampler(**fast).fit(X, y).sample(5, y=1)
    b = GANOversampler(**fast).fit(X, y).sample(5, y=1)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(state, np.random.get_state()[1])


def test_bad_random_state_is_refused():
    with pytest.raises(ValueError, match="random_state"):
        Seeds("seven")


def test_seeds_rebuilt_from_a_recorded_entropy_give_the_same_streams():
    fresh = Seeds(None)
    again = Seeds.from_entropy(fresh.entropy)
    assert fresh.fresh and not again.fresh and not Seeds(0).fresh
    assert [again.integer(c) for c in CONSUMERS] == [fresh.integer(c) for c in CONSUMERS]
    # An integer random_state is its own entropy.
    assert Seeds(5).entropy == 5 and Seeds.from_entropy(5).integer("sample") == Seeds(5).integer("sample")
    with pytest.raises(ValueError, match="entropy"):
        Seeds.from_entropy(-1)

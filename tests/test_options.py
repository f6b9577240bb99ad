"""The sizes: "auto" (each domain's measured default) and "data" (networks and
batch from the data), saved with the model."""

from __future__ import annotations

import dataclasses
import numpy as np
import pytest
from sklearn.datasets import make_classification

from gan_augment import GANOversampler
from gan_augment.options import IMAGE, TABULAR, capacity, resolve

DATA_SIZES = dict(
    batch_size="data", embedding_dim="data", generator_dims="data", discriminator_dims="data"
)


@pytest.mark.parametrize("n_rows", [4, 25, 170, 336, 999, 1000, 5000, 30_000, 10**6])
@pytest.mark.parametrize("pac", [1, 5, 10])
def test_batch_never_exceeds_the_rows_and_packs_evenly(n_rows, pac):
    sizes = capacity(n_rows, pac)
    assert sizes.batch_size % pac == 0
    assert 2 * pac <= sizes.batch_size <= 500
    if n_rows >= 4 * pac:
        assert sizes.batch_size <= n_rows // 2


def test_width_grows_with_the_rows_within_bounds():
    widths = [capacity(n, 10).generator_dims[0] for n in (10, 100, 170, 500, 1000, 5000, 10**6)]
    assert widths == sorted(widths)
    assert widths[0] == 64 and widths[-1] == 256
    sizes = capacity(170, 10)
    assert sizes.generator_dims == sizes.discriminator_dims == (128, 128)
    assert sizes.noise_dim == 64


def test_auto_is_each_domains_default_and_data_follows_the_rows():
    auto = GANOversampler().get_params()
    tables = resolve(auto, TABULAR, n_rows=170)
    assert (tables.batch_size, tables.noise_dim, tables.generator_dims) == (500, 128, (256, 256))
    assert resolve({**auto, "pac": 7}, TABULAR, n_rows=170).batch_size == 497
    images = resolve(auto, IMAGE, n_rows=170)
    assert (images.batch_size, images.noise_dim) == (32, 64)
    params = GANOversampler(**DATA_SIZES).get_params()
    tables = resolve(params, TABULAR, n_rows=170)
    # pac is 1 for tables: the batch is half the 170 rows.
    assert (tables.batch_size, tables.noise_dim, tables.generator_dims) == (85, 64, (128, 128))
    # Images have no rule from the data: "data" is their default.
    images = resolve(params, IMAGE, n_rows=170)
    assert (images.batch_size, images.noise_dim) == (32, 64)
    given = resolve({**params, "generator_dims": (32,), "batch_size": 40}, TABULAR, n_rows=170)
    assert (given.generator_dims, given.batch_size, given.discriminator_dims) == (
        (32,), 40, (128, 128)
    )


def test_auto_pac_is_one_for_tables_and_an_explicit_pac_is_kept():
    # Measured: unpacked critics out-ranked CTGAN's packs of 10 (options.TABULAR).
    auto = GANOversampler().get_params()
    assert resolve(auto, TABULAR, n_rows=170).pac == 1
    assert resolve({**auto, "pac": 10}, TABULAR, n_rows=170).pac == 10
    assert resolve({**auto, "pac": 10}, IMAGE, n_rows=170).pac == 1
    # Under DP "auto" is 1 whatever the domain's default (a pack is not one privacy unit).
    packed = dataclasses.replace(TABULAR, pac=10)
    assert resolve(auto, packed, n_rows=170).pac == 10
    assert resolve({**auto, "dp_epsilon": 1.0, "dp_method": "dp-sgd"}, packed, n_rows=170).pac == 1


def test_an_auto_batch_that_does_not_divide_by_pac_is_impossible():
    params = GANOversampler(batch_size="data", pac=7).get_params()
    assert resolve(params, TABULAR, n_rows=1000).batch_size % 7 == 0
    with pytest.raises(ValueError, match="multiple of pac=7"):
        resolve({**params, "batch_size": 50}, TABULAR, n_rows=1000)


def test_a_fit_with_auto_sizes_builds_them_and_saves_them(tmp_path):
    X, y = make_classification(n_samples=170, weights=[0.9], random_state=0)
    sampler = GANOversampler(epochs=2, max_modes=1, random_state=0, **DATA_SIZES).fit(X, y)
    assert sampler.generator_.hidden == (128, 128)
    assert sampler.n_steps_ == 2 * (170 // 85)
    sampler.save(tmp_path / "model.gan")
    loaded = GANOversampler.load(tmp_path / "model.gan")
    assert loaded.get_params()["generator_dims"] == "data"
    assert loaded.generator_.hidden == (128, 128)
    np.testing.assert_array_equal(loaded.sample(20, 1), sampler.sample(20, 1))

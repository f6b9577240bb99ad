"""GANOversampler on images: layouts, the Pipeline, reproducibility, errors, persistence, learning."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from imblearn.pipeline import make_pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from gan_augment import GANOversampler
from gan_augment.exceptions import SmallClassWarning
from gan_augment.images.layout import ImageLayout
from gan_augment.images.networks import ImageDiscriminator, ImageGenerator, initialise
from gan_augment.losses import gradient_penalty

#: Settings that keep an image fit well under a second.
TINY = dict(epochs=1, batch_size=16, embedding_dim=4, conv_width=4, device="cpu")


def _images(shape: tuple[int, ...], dtype, n: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, (n, *shape)).astype(np.uint8)
    return rng.uniform(-0.5, 2.0, (n, *shape)).astype(dtype)


def _labels(n: int = 40) -> np.ndarray:
    # 12 of class 1: enough not to warn (SmallClassWarning is for under 10).
    return np.array([0] * (n - 12) + [1] * 12)


LAYOUTS = [
    ((8, 8), None, "NHW"),
    ((8, 12), None, "NHW"),
    ((8, 8, 3), None, "NHWC"),
    ((8, 8, 1), None, "NHWC"),
    ((1, 8, 8), None, "NCHW"),
    ((3, 12, 8), None, "NCHW"),
    ((4, 8, 8), None, "NCHW"),
    ((192,), (3, 8, 8), "flat"),
    ((192,), (8, 8, 3), "flat"),
    ((64,), (8, 8), "flat"),
]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("shape, image_shape, order", LAYOUTS)
def test_layout_dtype_and_range_round_trip(shape, image_shape, order, dtype):
    X, y = _images(shape, dtype), _labels()
    sampler = GANOversampler(image_shape=image_shape, random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.image_layout_.order == order
    assert X_res.shape == (2 * 28, *shape) and X_res.dtype == X.dtype
    assert np.array_equal(X_res[: len(X)], X)
    assert X_res.min() >= X.min() and X_res.max() <= X.max()
    assert sampler.sample(3, y=1).shape == (3, *shape)
    assert sampler.n_features_in_ == int(np.prod(shape))


def test_uint8_scaling_is_exact():
    X = _images((8, 8, 3), np.uint8)
    layout = ImageLayout.from_data(X)
    scaled = layout.to_tensor_array(X)
    assert scaled.shape == (40, 3, 8, 8) and scaled.min() >= -1 and scaled.max() <= 1
    assert np.array_equal(layout.restore(scaled), X)


def test_two_dimensional_input_without_image_shape_stays_tabular(fast):
    X, y = _images((64,), np.float64), _labels()
    sampler = GANOversampler(random_state=0, **fast)
    sampler.fit_resample(X, y)
    assert sampler.image_layout_ is None
    assert hasattr(sampler, "transformer_")


def test_pipeline_with_flat_input_and_image_shape():
    X, y = load_digits(return_X_y=True)
    keep = (y != 3) | (np.arange(len(y)) % 10 == 0)
    X, y = X[keep][:400], y[keep][:400]
    pipe = make_pipeline(
        GANOversampler(image_shape=(1, 8, 8), random_state=0, **TINY),
        LogisticRegression(max_iter=2000),
    )
    with pytest.warns(SmallClassWarning, match=r"\{3: 2\}"):
        pipe.fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert pipe[0].image_layout_.order == "flat"


def test_integer_random_state_reproduces_fit_and_samples():
    X, y = _images((8, 8), np.uint8), _labels()
    first = GANOversampler(random_state=7, **TINY)
    second = GANOversampler(random_state=7, **TINY)
    before = torch.random.get_rng_state()
    X1, _ = first.fit_resample(X, y)
    X2, _ = second.fit_resample(X, y)
    assert torch.equal(before, torch.random.get_rng_state())
    assert np.array_equal(X1, X2)
    assert np.array_equal(first.sample(5, y=1), first.sample(5, y=1))


@pytest.mark.parametrize(
    "X, params, message",
    [
        (_images((7, 7), np.uint8), {}, "at least 8x8"),
        (_images((3, 8, 7), np.uint8), {}, "at least 8x8"),
        (_images((5, 8, 8), np.uint8), {}, "channel axis"),
        (_images((8, 8, 8), np.uint8), {}, "channel axis"),
        (_images((3, 8, 8, 8), np.uint8), {}, "axes"),
        (_images((100,), np.float32), {"image_shape": (1, 8, 8)}, "C \\* H \\* W"),
        (_images((64,), np.float32), {"model": "image"}, "needs image_shape"),
        (_images((8, 8), np.uint8), {"image_shape": (1, 9, 9)}, "does not match"),
        (_images((64,), np.float32), {"image_shape": (0, 8, 8)}, "positive"),
        (_images((8, 8), np.uint8), {"early_stopping": True}, "early_stopping"),
        (_images((8, 8), np.uint8), {"generator": "anchored"}, "generator='anchored'"),
        (_images((8, 8), np.uint8), {"model": "tabular"}, "dim 3"),
        (_images((8, 8), np.bool_), {}, "integer or float"),
    ],
)
def test_bad_input_is_a_clear_value_error(X, params, message):
    with pytest.raises(ValueError, match=message):
        GANOversampler(**{**TINY, **params}).fit_resample(X, _labels())


def test_nan_pixels_are_refused():
    X = _images((8, 8), np.float32)
    X[3, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite pixels \\(1 image"):
        GANOversampler(**TINY).fit_resample(X, _labels())


def test_images_of_mixed_shapes_are_refused():
    X = [np.zeros((8, 8)) for _ in range(20)] + [np.zeros((8, 8, 3)) for _ in range(20)]
    with pytest.raises(ValueError, match="same shape and layout"):
        GANOversampler(**TINY).fit_resample(X, _labels())


@pytest.mark.parametrize("shape, image_shape", [((8, 8, 3), None), ((64,), (1, 8, 8))])
def test_save_load_and_pickle(tmp_path, shape, image_shape):
    X, y = _images(shape, np.uint8), _labels()
    sampler = GANOversampler(image_shape=image_shape, random_state=0, **TINY)
    sampler.fit_resample(X, y)
    expected = sampler.sample(6, y=1)
    loaded = GANOversampler.load(sampler.save(tmp_path / "model.gan"), device="cpu")
    assert loaded.image_layout_ == sampler.image_layout_
    assert np.array_equal(loaded.sample(6, y=1), expected)
    assert np.array_equal(pickle.loads(pickle.dumps(sampler)).sample(6, y=1), expected)


@pytest.mark.parametrize("side, spectral_norm, minibatch_std", [
    (8, False, False), (28, True, True), (32, True, False),
])
def test_networks_fit_every_size(side, spectral_norm, minibatch_std):
    rng = torch.Generator().manual_seed(0)
    device = torch.device("cpu")
    g = initialise(ImageGenerator(4, 3, (3, side, side), 4), device, rng)
    d = initialise(ImageDiscriminator((3, side, side), 3, 4, spectral_norm, minibatch_std),
                   device, rng)
    cond = torch.eye(3)[[0, 1, 2, 0]]
    images = g(torch.cat([torch.randn(4, 4, generator=rng), cond], dim=1))
    assert images.shape == (4, 3, side, side)
    assert d(images, cond).shape == (4,)
    penalty = gradient_penalty(d, images.detach(), images.detach() * 0.5, cond, 1, rng)
    assert penalty.ndim == 0 and torch.isfinite(penalty)


def test_generated_digits_are_recognised():
    """After a short fit on 8x8 digits, a classifier of real digits recognises most
    generated digits as their class: a generator of noise would fail."""
    X, y = load_digits(return_X_y=True)
    recogniser = LogisticRegression(max_iter=1000).fit(X, y)
    # learning_rate=1e-3 rather than DCGAN's 2e-4: the same 224 steps then
    # recognise 0.6-0.98 of each digit instead of none of some (about 20 s).
    sampler = GANOversampler(
        epochs=8, batch_size=64, embedding_dim=32, conv_width=16, learning_rate=1e-3,
        random_state=0, device="cpu",
    )
    sampler.fit_resample(X.reshape(-1, 8, 8), y)
    for digit in range(10):
        generated = sampler.sample(50, y=digit).reshape(-1, 64)
        assert (recogniser.predict(generated) == digit).mean() > 0.5, digit


def test_an_empty_synthetic_set_keeps_the_image_layout():
    X = _images((8, 8, 3), np.uint8)
    model = GANOversampler(random_state=0, **TINY).fit(X, _labels())
    images, labels = model.sample_dataset(0)
    assert images.shape == (0, 8, 8, 3) and images.dtype == np.uint8
    assert labels.shape == (0,)

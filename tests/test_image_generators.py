"""Issue 17's image generators: augmentation, the autoencoder start, conditional
batch norm and latent interpolation."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from gan_augment import GANOversampler
from gan_augment.exceptions import SmallClassWarning
from gan_augment.options import IMAGE
from gan_augment.images.augment import (
    ADAPTIVE_IMAGES,
    POLICIES,
    AugmentedDiscriminator,
    augment,
    parse_policy,
)
from gan_augment.images.autoencoder import encode, train_autoencoder
from gan_augment.images.data import ImageBatches
from gan_augment.images.networks import (
    ImageDiscriminator,
    ImageEncoder,
    ImageGenerator,
    initialise,
)

CPU = torch.device("cpu")
TINY = dict(epochs=1, batch_size=16, embedding_dim=4, conv_width=4, device="cpu")
GAN = dict(TINY, generator="conditional")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    keep = np.isin(y, [0, 1, 2])
    X, y = (X[keep] * 15).reshape(-1, 8, 8).astype(np.uint8), y[keep]
    # Class 2 is the rare one: 12 images.
    rare = np.flatnonzero(y == 2)[12:]
    keep = np.setdiff1d(np.arange(len(y)), rare)
    return X[keep], y[keep]


def images(n=6, channels=1, side=8, seed=0):
    return torch.rand(n, channels, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# -- augmentation ----------------------------------------------------------------


@pytest.mark.parametrize("policy", [(name,) for name in POLICIES] + [POLICIES])
def test_each_transform_keeps_shape_changes_images_and_passes_gradients(policy):
    x = images(channels=3).requires_grad_()
    out = augment(x, policy, 1.0, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert not torch.equal(out, x)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_probability_zero_is_the_identity_and_draws_are_reproducible():
    x = images()
    assert torch.equal(augment(x, POLICIES, 0.0, torch.Generator().manual_seed(0)), x)
    a = augment(x, POLICIES, 0.5, torch.Generator().manual_seed(3))
    b = augment(x, POLICIES, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_translation_moves_content_and_fills_the_border_with_background():
    x = -torch.ones(64, 1, 8, 8)
    x[:, :, 3:5, 3:5] = 1.0
    out = augment(x, ("translation",), 1.0, torch.Generator().manual_seed(0))
    # The bright square is kept (shifts of at most 1 pixel on an 8x8 image)...
    assert torch.equal((out == 1).sum(dim=(1, 2, 3)), torch.full((64,), 4))
    # ...and moved in some images; nothing but background and the square appears.
    assert not torch.equal(out, x)
    assert set(out.unique().tolist()) == {-1.0, 1.0}


def test_cutout_blanks_a_square_of_half_the_side():
    x = torch.ones(5, 1, 8, 8)
    out = augment(x, ("cutout",), 1.0, torch.Generator().manual_seed(0))
    assert ((out == 0).sum(dim=(1, 2, 3)) == 16).all()


def test_unknown_transforms_are_refused_by_name():
    assert parse_policy(" cutout ,translation") == ("translation", "cutout")
    with pytest.raises(ValueError, match="among \\['translation', 'cutout', 'colour'\\].*unknown: \\['blur'\\]"):
        parse_policy("translation,blur")
    with pytest.raises(ValueError, match="augment must name transforms"):
        GANOversampler(augment="", **TINY).fit(np.zeros((4, 8, 8)), [0, 0, 1, 1])


def _augmented(strength, batch_size=100):
    rng = torch.Generator().manual_seed(0)
    d = initialise(ImageDiscriminator((1, 8, 8), 2, 4, False, False), CPU, rng)
    return AugmentedDiscriminator(d, POLICIES, strength, rng, batch_size)


def test_adaptive_strength_rises_while_reals_win_falls_otherwise_within_bounds():
    d = _augmented("adaptive")
    assert float(d.p) == 0.0
    apart, mixed = torch.full((100,), 5.0), torch.linspace(-1, 1, 100)
    for _ in range(3):
        d.adapt(apart, torch.zeros(100))
    assert float(d.p) == pytest.approx(3 * 100 / ADAPTIVE_IMAGES)
    for _ in range(10):
        d.adapt(mixed, torch.zeros(100))  # half the reals above the fakes' mean
    assert float(d.p) == 0.0
    for _ in range(ADAPTIVE_IMAGES // 100 + 20):
        d.adapt(apart, torch.zeros(100))
    assert float(d.p) == 1.0
    # The strength is state: checkpoints and roll-backs keep it.
    assert "p" in d.state_dict()


def test_a_fixed_strength_does_not_adapt():
    d = _augmented(0.25)
    d.adapt(torch.full((100,), 5.0), torch.zeros(100))
    assert float(d.p) == 0.25


def test_an_augmented_fit_adapts_and_is_reproducible(digits):
    X, y = digits
    params = dict(GAN, epochs=2, n_critic=1, augment="translation,cutout", random_state=0)
    a = GANOversampler(**params).fit(X, y)
    b = GANOversampler(**params).fit(X, y)
    np.testing.assert_array_equal(a.sample(10, y=2), b.sample(10, y=2))
    plain = GANOversampler(**{**params, "augment": None}).fit(X, y)
    assert not np.array_equal(a.sample(10, y=2), plain.sample(10, y=2))


# -- the autoencoder, its start and conditional batch norm -----------------------------


def test_the_encoder_standardises_codes_and_the_autoencoder_learns(digits):
    X, y = digits
    rng = torch.Generator().manual_seed(0)
    data = X[:, None].astype(np.float32) / 127.5 - 1
    source = ImageBatches(data, y, 3, CPU)
    decoder = initialise(ImageGenerator(8, 3, (1, 8, 8), 8), CPU, rng)
    encoder = initialise(ImageEncoder((1, 8, 8), 8, 8), CPU, rng)
    losses = train_autoencoder(decoder, encoder, source, 80, 32, 2e-3, (0.5, 0.999), rng)
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    codes = encode(encoder, torch.as_tensor(data))
    assert codes.shape == (len(y), 8)
    # On the scale of the generator's N(0, 1) noise (batch norm's running
    # statistics lag the last steps, so not exactly standardised: 0.48 on an
    # AVX2 machine with 2 threads, above 0.5 with 1).
    assert 0.25 < float(codes.std()) < 2 and float(codes.mean().abs()) < 1


def test_pretraining_starts_both_networks_from_the_autoencoder(digits):
    X, y = digits
    params = dict(GAN, n_critic=1, learning_rate=2e-3, random_state=0)
    fresh = GANOversampler(**params).fit(X, y)
    started = GANOversampler(**params, pretrain="autoencoder").fit(X, y)
    # After one short epoch of GAN training, what differs is the start (100
    # autoencoder steps): the pretrained decoder already draws images close
    # to the class.
    real = X[y == 0].astype(np.float32).mean(0)
    err = {
        name: np.abs(model.sample(50, y=0).astype(np.float32).mean(0) - real).mean()
        for name, model in (("fresh", fresh), ("started", started))
    }
    assert err["started"] < err["fresh"]


def test_conditional_batch_norm_makes_the_class_change_the_norm():
    rng = torch.Generator().manual_seed(0)
    g = initialise(ImageGenerator(4, 3, (1, 8, 8), 4, conditional_norm=True), CPU, rng)
    with torch.no_grad():
        for layer in g.conditional:
            layer.gain.weight.normal_(0, 1, generator=rng)
    g.eval()
    noise = torch.randn(5, 4, generator=rng)
    with torch.no_grad():
        g.embed.weight.zero_()  # the class reaches the output only through the norm
        a = g(torch.cat([noise, torch.eye(3)[[0] * 5]], 1))
        b = g(torch.cat([noise, torch.eye(3)[[1] * 5]], 1))
    assert not torch.allclose(a, b)
    assert len(g.conditional) == 2  # the 8x8 generator has two norm layers


@pytest.mark.parametrize("generator", ["conditional", "latent"])
def test_batchnorm_conditioning_fits_saves_and_loads(digits, tmp_path, generator):
    X, y = digits
    sampler = GANOversampler(
        **{**TINY, "generator": generator}, image_conditioning="batchnorm", random_state=0
    ).fit(X, y)
    sampler.save(tmp_path / "m.gan")
    loaded = GANOversampler.load(tmp_path / "m.gan")
    np.testing.assert_array_equal(
        loaded.sample(8, y=2), sampler.sample(8, y=2)
    )


# -- latent interpolation -------------------------------------------------------------


@pytest.fixture(scope="module")
def latent(digits):
    X, y = digits
    return GANOversampler(
        generator="latent", latent_residual=False, latent_transfer=0, epochs=20, batch_size=32,
        embedding_dim=8, conv_width=8, random_state=0, device="cpu",
    ).fit(X, y)


def test_latent_generation_draws_each_class_in_the_inputs_layout(latent, digits):
    X, y = digits
    X_res, y_res = latent.fit_resample(X, y)
    added = X_res[len(y):]
    assert added.dtype == np.uint8 and added.shape[1:] == (8, 8)
    assert set(np.bincount(y_res).tolist()) == {np.bincount(y).max()}
    np.testing.assert_array_equal(X_res[: len(y)], X)
    assert np.isnan(latent.history_["discriminator_loss"]).all()
    assert latent.history_["generator_loss"].iloc[-1] < latent.history_["generator_loss"].iloc[0]


def test_latent_images_lie_between_the_class_and_are_new(latent, digits):
    X, y = digits
    made = latent.sample(200, y=2).reshape(200, -1).astype(float)
    own = X[y == 2].reshape(-1, 64).astype(float)
    others = X[y != 2].reshape(-1, 64).astype(float)
    # Closer to the class's images than to the other classes' (by chance, with
    # nine other classes, about a tenth would be; this small model, 20 epochs,
    # gave 0.74 on an AVX2 machine and above 0.8 on an AVX-512 one)...
    to_own = np.linalg.norm(made[:, None] - own[None], axis=2).min(1)
    to_others = np.linalg.norm(made[:, None] - others[None], axis=2).min(1)
    assert np.mean(to_own < to_others) > 0.6
    # ...and not copies of them.
    assert (to_own > 0).mean() > 0.95
    assert len(np.unique(made, axis=0)) > 150


def test_latent_sampling_is_reproducible_and_survives_save_load_and_pickle(latent, tmp_path):
    a = latent.sample(20, y=2)
    np.testing.assert_array_equal(a, latent.sample(20, y=2))
    latent.save(tmp_path / "latent.gan")
    loaded = GANOversampler.load(tmp_path / "latent.gan")
    np.testing.assert_array_equal(loaded.sample(20, y=2), a)
    clone = pickle.loads(pickle.dumps(latent))
    np.testing.assert_array_equal(clone.sample(20, y=2), a)


def test_latent_state_with_broken_codes_is_refused(latent):
    fitted, tensors = latent.model_.state()
    tensors["codes"] = tensors["codes"][:, :3]
    model = type(latent.model_)
    with pytest.raises(ValueError, match="codes are not finite"):
        model.from_state(
            {**fitted, "classes_": latent.classes_}, tensors, latent.get_params(), CPU
        )
    fitted, tensors = latent.model_.state()
    tensors["code_classes"] = tensors["code_classes"] + 5
    with pytest.raises(ValueError, match="one class index per code"):
        model.from_state(
            {**fitted, "classes_": latent.classes_}, tensors, latent.get_params(), CPU
        )


def test_latent_and_image_options_are_refused_where_they_do_not_apply(digits, tmp_path):
    X, y = digits
    table = np.random.default_rng(0).normal(size=(40, 3))
    labels = np.r_[np.zeros(30), np.ones(10)]
    for params, match in (
        (dict(generator="latent"), "generator='latent' is not available for tables"),
        (dict(augment="cutout"), "augment='cutout' is not available for tables"),
        (dict(pretrain="autoencoder"), "pretrain='autoencoder' is not available for tables"),
        (dict(image_conditioning="batchnorm"), "image_conditioning='batchnorm' is not available"),
        (dict(latent_residual=True), "latent_residual is not available for tables"),
        (dict(latent_transfer=1.0), "latent_transfer is not available for tables"),
    ):
        with pytest.raises(ValueError, match=match):
            GANOversampler(epochs=1, **params).fit(table, labels)
    with pytest.raises(ValueError, match="checkpoint_dir with generator='latent' is not available"):
        GANOversampler(generator="latent", checkpoint_dir=tmp_path, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="latent_residual with this generator is not available"):
        GANOversampler(latent_residual=True, **GAN).fit(X, y)
    with pytest.raises(ValueError, match="latent_transfer with this generator is not available"):
        GANOversampler(latent_transfer=0.5, **GAN).fit(X, y)
    with pytest.raises(ValueError, match="'latent_transfer' parameter"):
        GANOversampler(latent_transfer=-1.0, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="augment with generator='latent' is not available"):
        GANOversampler(augment="cutout", **TINY).fit(X, y)
    with pytest.raises(ValueError, match="pretrain with generator='latent' is not available"):
        GANOversampler(pretrain="autoencoder", **TINY).fit(X, y)
    with pytest.raises(ValueError, match="generator='anchored' is not available for images"):
        GANOversampler(generator="anchored", **TINY).fit(X, y)


def test_latent_residuals_restore_the_training_images_detail(digits, tmp_path):
    X, y = digits
    params = dict(generator="latent", epochs=3, batch_size=32, embedding_dim=8, conv_width=8,
                  random_state=0, device="cpu")
    plain = GANOversampler(**params, latent_residual=False).fit(X, y)
    sharp = GANOversampler(**params).fit(X, y)  # "auto": residuals for latent images
    assert plain.model_.residuals is None
    # Same autoencoder and draws; with residuals, images are nearer the
    # training images they started from (a weight of 0 gives the image itself).
    own = X[y == 2].reshape(-1, 64).astype(float)
    gap = {
        name: np.linalg.norm(
            m.sample(100, y=2).reshape(100, -1).astype(float)[:, None] - own[None], axis=2
        ).min(1).mean()
        for name, m in (("plain", plain), ("sharp", sharp))
    }
    assert gap["sharp"] < gap["plain"]
    residuals = sharp.model_.residuals
    assert residuals.shape == (len(y), 1, 8, 8)
    sharp.save(tmp_path / "sharp.gan")
    loaded = GANOversampler.load(tmp_path / "sharp.gan")
    np.testing.assert_array_equal(loaded.sample(10, y=2), sharp.sample(10, y=2))
    fitted, tensors = sharp.model_.state()
    tensors["residuals"] = tensors["residuals"][:, :, :4]
    with pytest.raises(ValueError, match="residuals are not finite"):
        type(sharp.model_).from_state(
            {**fitted, "classes_": sharp.classes_}, tensors, sharp.get_params(), CPU
        )


def test_images_default_to_latent_interpolation_with_residuals(digits):
    X, y = digits
    sampler = GANOversampler(**TINY, random_state=0).fit(X, y)
    assert type(sampler.model_).__name__ == "LatentImageModel"
    assert sampler.model_.residuals is not None
    assert sampler.model_.transfer == IMAGE.latent_transfer > 0
    # Tables keep the conditional GAN.
    table = np.random.default_rng(0).normal(size=(60, 3))
    tabular = GANOversampler(epochs=1, random_state=0).fit(table, np.r_[np.zeros(45), np.ones(15)])
    assert type(tabular.model_).__name__ == "TabularModel"


# -- latent transfer ---------------------------------------------------------------------


def _transferred(model, transfer):
    """``model`` (a fitted latent model) with another ``latent_transfer``."""
    clone = pickle.loads(pickle.dumps(model.model_))
    clone.transfer, clone._partners = transfer, {}
    return clone


def _nearest(images, reference):
    flat = images.reshape(len(images), -1).astype(float)
    ref = reference.reshape(len(reference), -1).astype(float)
    return np.linalg.norm(flat[:, None] - ref[None], axis=2).min(1)


def test_latent_transfer_gives_a_two_image_class_more_than_their_blends(digits):
    X, y = digits
    cut = np.flatnonzero(y == 2)[2:]
    keep = np.setdiff1d(np.arange(len(y)), cut)
    X, y = X[keep], y[keep]
    params = dict(generator="latent", latent_residual=False, epochs=40, batch_size=32,
                  embedding_dim=8, conv_width=8, random_state=0, device="cpu")
    with pytest.warns(SmallClassWarning, match=r"\{2: 2\}.*latent_transfer carries over"):
        blend = GANOversampler(latent_transfer=0, **params).fit(X, y).sample(200, y=2)
    with pytest.warns(SmallClassWarning):
        made = GANOversampler(latent_transfer=2.0, **params).fit(X, y).sample(200, y=2)
    # Interpolating between two codes draws one curve of images; moves along
    # the other classes' neighbour differences spread them further...
    spread = {name: images.reshape(200, -1).astype(float).std(0).mean()
              for name, images in (("blend", blend), ("made", made))}
    assert spread["made"] > 1.5 * spread["blend"]
    # ...decoded for class 2: most stay nearer the two 2s than any 0 or 1.
    assert np.mean(_nearest(made, X[y == 2]) < _nearest(made, X[y != 2])) > 0.6


def test_latent_transfer_moves_further_with_a_larger_scale(latent):
    def draw(transfer):
        # The draws do not depend on the scale: the same seed, the same moves.
        model = _transferred(latent, transfer)
        return model.generate(2, 200, torch.Generator().manual_seed(0)).astype(float)

    start = draw(1e-9)  # the starting images' decodings
    gaps = [np.abs(draw(t) - start).mean() for t in (0.5, 1.0, 3.0)]
    assert 0 < gaps[0] < gaps[1] < gaps[2]


def test_latent_transfer_is_saved_and_files_without_it_interpolate(latent, tmp_path):
    model = _transferred(latent, 1.5)
    fitted, tensors = model.state()
    assert fitted["latent_transfer"] == 1.5
    params, full = latent.get_params(), {**fitted, "classes_": latent.classes_}
    loaded = type(model).from_state(full, tensors, params, CPU)
    assert loaded.transfer == 1.5
    np.testing.assert_array_equal(
        loaded.generate(2, 10, torch.Generator().manual_seed(1)),
        model.generate(2, 10, torch.Generator().manual_seed(1)),
    )
    del full["latent_transfer"]
    assert type(model).from_state(full, tensors, params, CPU).transfer == 0.0
    full["latent_transfer"] = -1
    with pytest.raises(ValueError, match="latent_transfer is -1, not a number >= 0"):
        type(model).from_state(full, tensors, params, CPU)

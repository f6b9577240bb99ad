"""The "auto" rules, in one place: from the estimator's parameters to resolved options.

:func:`resolve` turns the parameters (``n_critic``, ``pac``, ``loss`` and
``epochs``, and for tables ``batch_size``, ``embedding_dim``,
``generator_dims`` and ``discriminator_dims``, may be ``"auto"``) into
:class:`Options`, given the defaults of the data domain (:data:`TABULAR` or
:data:`IMAGE`), the number of training rows and whether the fit is private.
:func:`capacity` is the rule that sizes the networks and the batch from the
data.
:meth:`Options.budget` is the training budget. The setups of the domains take
an ``Options``, never the estimator.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from .exceptions import SmallClassWarning, warn_user

__all__ = [
    "IMAGE",
    "TABULAR",
    "Capacity",
    "DomainDefaults",
    "Options",
    "PrivacyParams",
    "SIZE_RULES",
    "capacity",
    "check_class_counts",
    "check_n_samples",
    "refuse_unavailable",
    "resolve",
    "resolved_loss",
]

#: The strings a size parameter may take: the domain's default, or the data's rule.
SIZE_RULES = {"auto", "data"}

# Classes to over-sample with fewer rows than this get a SmallClassWarning.
SMALL_CLASS_ROWS = 10


@dataclass(frozen=True)
class Capacity:
    """Sizes of the networks and of the batch.

    Attributes
    ----------
    batch_size : int
    noise_dim : int
    generator_dims, discriminator_dims : tuple of int
    """

    batch_size: int
    noise_dim: int
    generator_dims: tuple[int, ...]
    discriminator_dims: tuple[int, ...]


#: CTGAN's sizes: what ``"auto"`` means for tables (on issue 13's screen they
#: ranked above the sizes from the data once feature matching was on).
CTGAN_CAPACITY = Capacity(500, 128, (256, 256), (256, 256))
#: Images: the batch and noise of the image benchmark (docs/images.md); the
#: image networks are sized by ``conv_width``.
IMAGE_CAPACITY = Capacity(32, 64, (), ())


def capacity(n_rows: int, pac: int) -> Capacity:
    """The sizes ``"auto"`` gives a table of ``n_rows`` training rows.

    The hidden width grows with the square root of the rows, ``8 sqrt(n)``
    rounded to a power of two between 64 and 256 (256 is CTGAN's width, meant
    for tables like Adult's 30,000 rows); the noise is half the width; both
    networks have two hidden layers. The batch is half the rows, rounded down
    to a multiple of ``pac`` and between ``2 pac`` and 500, so it never exceeds
    the data and a small table still gets two steps an epoch. Douzas & Bacao
    (2018) sized their conditional GANs per data set the same way, with tens to
    hundreds of units; the quality benchmark measured this rule against
    CTGAN's sizes and a fixed small network (docs/benchmarks.md).

    Examples
    --------
    >>> capacity(170, pac=10)
    Capacity(batch_size=80, noise_dim=64, generator_dims=(128, 128), discriminator_dims=(128, 128))
    >>> capacity(30_000, pac=10).generator_dims
    (256, 256)
    """
    width = int(2 ** np.clip(np.round(np.log2(8 * np.sqrt(max(n_rows, 1)))), 6, 8))
    batch = int(np.clip(n_rows // 2 // pac * pac, 2 * pac, 500 // pac * pac))
    return Capacity(batch, width // 2, (width, width), (width, width))


@dataclass(frozen=True)
class DomainDefaults:
    """What ``"auto"`` means for one data domain.

    Attributes
    ----------
    n_critic : int
        Discriminator steps per generator step.
    packs_rows : bool
        Whether the discriminator judges packs of ``pac`` rows (PacGAN); if
        not, ``pac`` is 1 whatever the parameter says.
    betas : tuple of float
        Adam's betas for both networks.
    auto_epochs, auto_min_steps, auto_max_steps : int
        ``epochs="auto"``: this many epochs' worth of generator steps, within
        these bounds, rounded up to whole epochs.
    sizes : Capacity
        What ``"auto"`` sizes are (``"data"`` sizes follow :func:`capacity`);
        the batch is rounded down to a multiple of ``pac``.
    feature_matching : float
        ``feature_matching="auto"`` without differential privacy.
    classifier_weight : float
        ``classifier_weight="auto"`` without differential privacy, in one
        process.
    generator : str
        ``generator="auto"``: the kind of generator.
    augment : tuple of str
        ``augment="auto"``: the discriminator's augmentation policy (none: ``()``).
    latent_residual : bool
        ``latent_residual="auto"`` with ``generator="latent"``.
    latent_transfer : float
        ``latent_transfer="auto"`` with ``generator="latent"``.
    pac : int
        ``pac="auto"`` where rows are packed, without differential privacy
        (under it a pack is not one privacy unit, and ``"auto"`` is always 1).
    """

    n_critic: int
    packs_rows: bool
    betas: tuple[float, float]
    auto_epochs: int
    auto_min_steps: int
    auto_max_steps: int
    sizes: Capacity
    feature_matching: float
    classifier_weight: float = 0.0
    generator: str = "conditional"
    augment: tuple[str, ...] = ()
    latent_residual: bool = False
    latent_transfer: float = 0.0
    pac: int = 10


# Tables: 100 epochs' worth of generator steps, kept between these bounds so
# that tiny data sets still get enough updates and large ones do not train for
# hours (a step costs the same whatever the rows). Version 0.1 trained 300
# epochs' worth, at least 1,000 steps: 3x the time. On the model-change study
# the longer budget ranked better for a GAN alone, but the default mix with
# interpolation at 300 steps ranked better than either (docs/benchmarks.md).
# Feature matching on: on issue 13's screen it ranked first of the generator
# changes (G-mean and PR-AUC, generated rows only); CTGAN's sizes stay, as
# the sizes from the data ranked below them once feature matching was on.
# No packing (pac 1, CTGAN's is 10): on the full protocol (13 sets, 3 x 5
# folds, 4 classifiers, 52 cells) the default mix ranked 2.52 on G-mean with
# pac 1 against 3.18 with pac 10 (SMOTE 4.00), the GAN's own rows 2.75
# against 4.56, and a fit took 0.85x the time (docs/benchmarks.md).
# The auxiliary classifier loss at 0.3 (its "auto"; 0 under DP and across
# processes): on the full protocol (23 sets, 3 x 5 folds, 92 cells) against
# the same default without it, PR-AUC +0.0043 (p = 0.0005), minority F1
# +0.012 (p < 1e-6), G-mean -0.001 (p = 0.25), for 1.01-1.05x the fit time.
TABULAR = DomainDefaults(
    n_critic=1, packs_rows=True, betas=(0.5, 0.9),
    auto_epochs=100, auto_min_steps=300, auto_max_steps=3000, sizes=CTGAN_CAPACITY,
    feature_matching=1.0, classifier_weight=0.3, pac=1,
)
# Images: 20 epochs' worth of steps, between 500 and 1,000, so that a default
# fit of 5,000 28x28 images takes under 5 minutes on 2 cores (docs/images.md).
# The generator is latent generation with residual detail, its codes moved
# along other images' neighbour differences (latent_transfer 2), in batches
# of 32: on the image benchmark (3 tasks x 2 classifiers x 3 seeds) the only
# variant ahead of both RandomOverSampler and SMOTE in all 6 cells (mean
# balanced accuracy 0.860; ROS 0.843, SMOTE 0.836, the same with batches of
# 64 0.856, interpolation without transfer 0.838, the best adversarial
# variant 0.846). Transfer 3 or 4 had a higher mean (0.865, 0.867) but fell
# behind ROS on the 60-image task. The budget mattered less (half 0.853,
# double 0.857, at batch 64). n_critic (for
# generator="conditional"): with 1, the DCGAN collapsed to nearly one image
# per class on 8x8 digits (generated pixel spread 0.09 of the real one, 0.12
# with augmentation); with 5, 0.84 (docs/images.md). Adam's betas are DCGAN's
# (Radford et al., 2016); PacGAN packs rows of a table, while each image is
# judged on its own.
IMAGE = DomainDefaults(
    n_critic=5, packs_rows=False, betas=(0.5, 0.999),
    auto_epochs=20, auto_min_steps=500, auto_max_steps=1000, sizes=IMAGE_CAPACITY,
    feature_matching=0.0, generator="latent", latent_residual=True, latent_transfer=2.0,
)


@dataclass(frozen=True)
class PrivacyParams:
    """The differential-privacy parameters of a fit, as the user gave them.

    Attributes
    ----------
    epsilon : float
    delta : float or None
        None: ``1 / (10 * n_rows)``.
    max_grad_norm : float
    domain : dict or None
        ``dp_domain``.
    method : {"pairs", "marginals", "dp-sgd"}
        ``dp_method`` resolved for the number of rows: what the rows are
        learned through (:func:`dp_method`).
    """

    epsilon: float
    delta: float | None
    max_grad_norm: float
    domain: dict | None
    method: str


@dataclass(frozen=True)
class Options:
    """The parameters of one fit, with every ``"auto"`` resolved.

    Attributes mirror the estimator's parameters (``noise_dim`` is
    ``embedding_dim``; ``generator`` is the kind of generator, ``"conditional"``
    or ``"anchored"``); ``loss`` is a name in :data:`gan_augment.losses.LOSSES`;
    ``privacy`` is None without ``dp_epsilon``. ``given`` keeps the user's
    parameters as they were, for the checks that need them (DP refuses some
    options the user set explicitly).
    """

    epochs: int | str
    batch_size: int
    noise_dim: int
    generator: str
    generator_dims: tuple[int, ...]
    discriminator_dims: tuple[int, ...]
    learning_rate: float
    n_critic: int
    pac: int
    loss: str
    betas: tuple[float, float]
    max_modes: int
    max_categories: int | None
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int
    validation_score: str
    checkpoint_dir: Any
    checkpoint_every: int
    resume: bool
    conv_width: int
    spectral_norm: bool
    minibatch_std: bool
    verbose: bool
    interpolation: float
    synthetic_filter: str | None
    filter_candidates: float
    classifier_weight: float
    feature_matching: float
    privacy: PrivacyParams | None
    defaults: DomainDefaults
    given: dict

    augment: tuple[str, ...] = ()
    augment_strength: float | str = "adaptive"
    pretrain: str | None = None
    image_conditioning: str = "embedding"
    latent_residual: bool = False
    latent_transfer: float = 0.0
    #: The process group of data-parallel training (:mod:`gan_augment.parallel`),
    #: or None in one process.
    parallel: Any = None

    def budget(self, n_rows: int) -> tuple[int, int]:
        """``(epochs, steps_per_epoch)`` for ``n_rows`` training rows.

        Examples
        --------
        >>> from gan_augment import GANOversampler
        >>> params = GANOversampler(batch_size=500).get_params()
        >>> resolve(params, TABULAR, n_rows=5000).budget(5000)
        (100, 10)
        """
        steps_per_epoch = max(1, n_rows // self.batch_size)
        if self.epochs != "auto":
            return self.epochs, steps_per_epoch
        d = self.defaults
        steps = min(max(d.auto_epochs * steps_per_epoch, d.auto_min_steps), d.auto_max_steps)
        return -(-steps // steps_per_epoch), steps_per_epoch


#: With ``dp_method="auto"``, tables of fewer rows are fitted with
#: ``"pairs"``, others with ``"marginals"``: on Adult at epsilon 1 the pairs
#: scored higher at 700 to 2,500 rows (and at 2,500 with a rare class of 250),
#: the marginals at 8,000 and 32,561 (docs/privacy.md). The number of rows
#: counts as public, as everywhere under DP here.
PAIRS_BELOW_ROWS = 5_000


def dp_method(params: dict, n_rows: int | None = None) -> str | None:
    """How a private fit learns from the rows (None without ``dp_epsilon``):
    ``"pairs"`` (noisy per-class counts and adaptively chosen per-class pair
    marginals, a generator fitted to them, a table drawn from it for the GAN),
    ``"marginals"`` (only the noisy per-class counts, a table drawn from them
    column by column) or ``"dp-sgd"`` (a discriminator trained with DP-SGD).
    ``"auto"``, the default, is ``"pairs"`` below :data:`PAIRS_BELOW_ROWS`
    rows and ``"marginals"`` from there on; without ``n_rows`` it stays
    ``"auto"`` (neither runs DP-SGD).

    >>> params = {"dp_epsilon": 1.0, "dp_method": "auto"}
    >>> dp_method(params, 2_000), dp_method(params, 30_000), dp_method(params)
    ('pairs', 'marginals', 'auto')
    """
    if params["dp_epsilon"] is None:
        return None
    method = params.get("dp_method", "auto")
    if method == "auto" and n_rows is not None:
        return "pairs" if n_rows < PAIRS_BELOW_ROWS else "marginals"
    return method


def resolved_loss(params: dict) -> str:
    """The loss a fit with these parameters uses: ``"auto"`` is WGAN-GP, or
    the non-saturating loss under DP-SGD (the gradient penalty has no
    per-example gradients to clip)."""
    if params["loss"] != "auto":
        return params["loss"]
    return "non-saturating" if dp_method(params) == "dp-sgd" else "wgan-gp"


def _check_dims(params: dict) -> None:
    for name in ("generator_dims", "discriminator_dims"):
        dims = params[name]
        if isinstance(dims, str) and dims in ("auto", "data"):
            continue
        if isinstance(dims, str) or not all(
            isinstance(d, Integral) and not isinstance(d, bool) and d > 0 for d in dims
        ):
            raise ValueError(f"{name} must be a sequence of positive integers; got {dims!r}.")


def _feature_matching(params: dict, defaults: DomainDefaults, private: bool) -> float:
    """``"auto"``: the domain's weight, and none under differential privacy."""
    if params["feature_matching"] != "auto":
        return params["feature_matching"]
    return 0.0 if private else defaults.feature_matching


def _classifier_weight(
    params: dict, defaults: DomainDefaults, private: bool, parallel: Any
) -> float:
    """``"auto"``: the domain's weight; none under differential privacy (the
    auxiliary classifier reads real rows without noise) or across processes
    (each would fit its own classifier on its shard)."""
    if params["classifier_weight"] != "auto":
        return params["classifier_weight"]
    return 0.0 if private or parallel is not None else defaults.classifier_weight


def _augment(params: dict, defaults: DomainDefaults) -> tuple[str, ...]:
    """The augmentation policy: ``"auto"`` the domain's, None none."""
    from .images.augment import parse_policy

    if params["augment"] is None:
        return ()
    if params["augment"] == "auto":
        return defaults.augment
    return parse_policy(params["augment"])


def _sizes(params: dict, defaults: DomainDefaults, n_rows: int, pac: int) -> Capacity:
    """The sizes: ``"auto"`` the domain's, ``"data"`` :func:`capacity`'s, else as given."""
    auto = defaults.sizes
    auto = Capacity(
        max(pac, auto.batch_size // pac * pac), auto.noise_dim,
        auto.generator_dims, auto.discriminator_dims,
    )
    rules = {"auto": auto, "data": capacity(n_rows, pac) if defaults.packs_rows else auto}
    given = {
        "batch_size": params["batch_size"],
        "noise_dim": params["embedding_dim"],
        "generator_dims": params["generator_dims"],
        "discriminator_dims": params["discriminator_dims"],
    }
    return Capacity(**{
        name: getattr(rules[value], name) if isinstance(value, str)
        else (tuple(value) if name.endswith("dims") else value)
        for name, value in given.items()
    })


def resolve(
    params: dict, defaults: DomainDefaults, n_rows: int = 0, parallel: Any = None
) -> Options:
    """Resolve the estimator's parameters (``get_params()``) for a domain and
    ``n_rows`` training rows; ``parallel`` is the process group of
    data-parallel training, or None in one process.

    Raises
    ------
    ValueError
        For a table: network widths that are not positive integers, or a
        ``batch_size`` that is not a multiple of ``pac``.
    """
    method = dp_method(params, n_rows)
    # Without DP-SGD the GAN never sees a real row (it trains on a table drawn
    # from the released counts), so its training needs none of DP-SGD's limits.
    private = method == "dp-sgd"
    pac = 1
    if defaults.packs_rows:
        _check_dims(params)
        auto_pac = 1 if private else defaults.pac
        pac = auto_pac if params["pac"] == "auto" else params["pac"]
    sizes = _sizes(params, defaults, n_rows, pac)
    generator = defaults.generator if params["generator"] == "auto" else params["generator"]
    if sizes.batch_size % pac:
        raise ValueError(f"batch_size={sizes.batch_size} must be a multiple of pac={pac}.")
    privacy = None
    if method is not None:
        privacy = PrivacyParams(
            params["dp_epsilon"], params["dp_delta"], params["dp_max_grad_norm"],
            params["dp_domain"], method,
        )
    return Options(
        epochs=params["epochs"],
        batch_size=sizes.batch_size,
        noise_dim=sizes.noise_dim,
        generator=generator,
        generator_dims=sizes.generator_dims,
        discriminator_dims=sizes.discriminator_dims,
        learning_rate=params["learning_rate"],
        n_critic=defaults.n_critic if params["n_critic"] == "auto" else params["n_critic"],
        pac=pac,
        loss=resolved_loss(params),
        betas=defaults.betas,
        max_modes=params["max_modes"],
        max_categories=params["max_categories"],
        early_stopping=params["early_stopping"],
        validation_fraction=params["validation_fraction"],
        n_iter_no_change=params["n_iter_no_change"],
        validation_score=params["validation_score"],
        checkpoint_dir=params["checkpoint_dir"],
        checkpoint_every=params["checkpoint_every"],
        resume=params["resume"],
        conv_width=params["conv_width"],
        spectral_norm=params["spectral_norm"],
        minibatch_std=params["minibatch_std"],
        verbose=params["verbose"],
        interpolation=params["interpolation"],
        synthetic_filter=params["synthetic_filter"],
        filter_candidates=params["filter_candidates"],
        classifier_weight=_classifier_weight(params, defaults, private, parallel),
        feature_matching=_feature_matching(params, defaults, private),
        privacy=privacy,
        defaults=defaults,
        given=dict(params),
        augment=_augment(params, defaults),
        augment_strength=params["augment_strength"],
        pretrain=params["pretrain"],
        image_conditioning=params["image_conditioning"],
        latent_residual=(
            generator == "latent" and defaults.latent_residual
            if params["latent_residual"] == "auto" else params["latent_residual"]
        ),
        latent_transfer=(
            (defaults.latent_transfer if generator == "latent" else 0.0)
            if params["latent_transfer"] == "auto" else float(params["latent_transfer"])
        ),
        parallel=parallel,
    )


def refuse_unavailable(domain: str, refusals) -> None:
    """Raise a ValueError for the first option a domain cannot honour.

    ``refusals``: ``(name, on, reason, fix)`` tuples; the message reads
    "{name} is not available for {domain}: {reason}. Fit {domain} {fix}."
    """
    for name, on, reason, fix in refusals:
        if on:
            raise ValueError(f"{name} is not available for {domain}: {reason}. Fit {domain} {fix}.")


def refuse_parallel(options: Options, refusals) -> None:
    """Raise a ValueError for the first option that data-parallel training cannot honour.

    ``refusals``: ``(name, on, reason)`` tuples.
    """
    if options.parallel is None:
        return
    for name, on, reason in refusals:
        if on:
            raise ValueError(
                f"{name} cannot be combined with data-parallel training (a process group "
                f"of {options.parallel.world_size} processes): {reason}. Fit in one "
                "process (distributed=False) for it."
            )


def check_class_counts(y: np.ndarray, sampling_strategy: dict, latent: bool = False) -> None:
    """Refuse classes to over-sample with under 2 rows; warn under 10, with
    advice for ``generator="latent"`` (images) or the other generators."""
    labels, counts = np.unique(y, return_counts=True)
    count = dict(zip(labels.tolist(), counts.tolist()))
    targets = {
        np.asarray(c).tolist(): count[c] for c, n in sampling_strategy.items() if n > 0
    }
    too_small = {c: n for c, n in targets.items() if n < 2}
    if too_small:
        raise ValueError(
            f"Class(es) {too_small} (label: number of samples) have fewer than 2 "
            "samples; GANOversampler needs at least 2 samples of each class it "
            "over-samples."
        )
    small = {c: n for c, n in targets.items() if n < SMALL_CLASS_ROWS}
    if small:
        warn_user(
            f"Class(es) {small} (label: number of samples) have fewer than "
            f"{SMALL_CLASS_ROWS} samples to learn from: "
            + (
                "so few images show little of their class's variation; latent_transfer "
                "carries over what the other classes show (see the images guide)."
                if latent else
                "a GAN learns little from so few rows, and interpolation "
                "(imblearn.over_sampling.SMOTE) is likely the better tool for them."
            ),
            SmallClassWarning,
        )


def check_n_samples(n_samples: Any) -> int:
    """``n_samples`` as an int, or a ValueError if it is not a non-negative integer."""
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative integer; got {n_samples!r}.")
    return int(n_samples)


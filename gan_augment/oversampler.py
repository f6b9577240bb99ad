"""``GANOversampler``: the public estimator. Parameters, validation, delegation."""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution, check_sampling_strategy, check_target_type
from imblearn.utils._docstring import _random_state_docstring
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from . import persistence
from .device import resolve_device
from .exceptions import SmallClassWarning, warn_user
from .images.data import ImageBatches, generate_images
from .images.layout import ImageLayout
from .images.networks import ImageDiscriminator, ImageGenerator
from .images.networks import initialise as initialise_image_network
from .losses import LOSSES
from .schema import TableSchema, check_finite
from .tabular.data import TabularBatches, ValidationScore, generate_encoded
from .tabular.networks import Discriminator, Generator, initialise
from .tabular.selection import NeighbourFilter, interpolate
from .tabular.transformer import TabularTransformer
from .training import CheckpointConfig, EarlyStopping, TrainingConfig, train

__all__ = ["GANOversampler"]

logger = logging.getLogger(__name__)

# Default training budget of tables (epochs="auto"): 100 epochs' worth of
# generator steps, kept between these bounds so that tiny data sets still get
# enough updates and large ones do not train for hours (a step costs the same
# whatever the rows). Version 0.1 trained 300 epochs' worth, at least 1,000
# steps: 3x the time. On the model-change study the longer budget ranked better
# for a GAN alone, but the default mix with interpolation at 300 steps ranked
# better than either (docs/benchmarks.md).
AUTO_EPOCHS = 100
AUTO_MIN_STEPS = 300
AUTO_MAX_STEPS = 3000
# Images keep version 0.1's budget, which docs/images.md measured.
IMAGE_AUTO_EPOCHS = 300
IMAGE_AUTO_MIN_STEPS = 1000
# Classes to over-sample with fewer rows than this get a SmallClassWarning.
SMALL_CLASS_ROWS = 10
# n_critic="auto" for images: with 1, the DCGAN collapsed to nearly one image per
# class on 8x8 digits (generated pixel spread 0.2 of the real one after 1,000
# steps); with 5, 0.85 after 500 steps (docs/images.md).
IMAGE_N_CRITIC = 5
# With early_stopping, the generator is scored about this often (generator steps).
_VALIDATION_STEPS = 50


def _check_frame_shape(X: pd.DataFrame) -> None:
    """The shape checks of ``check_array``, for a DataFrame kept as it is.

    ``check_array`` would convert a mixed-type DataFrame to one NumPy dtype,
    which fails for some mixes (e.g. float, bool and a string category).
    """
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] < 1:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum "
                "of 1 is required."
            )
    complex_columns = [c for c, d in X.dtypes.items() if getattr(d, "kind", "") == "c"]
    if complex_columns:
        raise ValueError(f"Complex data not supported: column(s) {complex_columns}.")


@dataclass
class _Selection:
    """The real rows, split, for the neighbour filter and interpolation."""

    continuous: np.ndarray
    categorical: np.ndarray
    y_codes: np.ndarray
    neighbours: NeighbourFilter | None
    seed: int


@Substitution(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class GANOversampler(BaseOverSampler):
    """Over-sample rare classes with a conditional GAN.

    A conditional GAN in the manner of CTGAN (Xu et al., 2019) is trained on
    all the training rows, with the class label as the condition of both the
    generator and the discriminator; rows of the classes to over-sample are
    then generated, so every row generated for class ``c`` is of class ``c``.
    Continuous columns get mode-specific normalisation, categorical columns a
    one-hot; generated rows come back with the training data's container and
    dtypes.

    Parameters
    ----------
    {sampling_strategy}

    {random_state}

    categorical_features : "auto" or array-like, default="auto"
        Which columns are categorical:

        - ``"auto"``: for a DataFrame, the columns of category, object, string
          or bool dtype; for an array, none (all columns, if its dtype is bool);
        - array of int: column indices;
        - array of str: column names (DataFrame only);
        - array of bool: a mask over the columns.

        All-categorical and all-continuous data are both allowed.

    epochs : int or "auto", default="auto"
        Number of passes over the data; a pass is ``max(1, n_rows //
        batch_size)`` generator steps. ``"auto"`` trains for 100 passes' worth of
        steps, but at least 300 and at most 3,000 steps (then rounded up to
        whole epochs), so data sets up to 1,500 rows get 300 generator updates,
        a 5,000-row one 1,000 and a 50,000-row one 3,000. Version 0.1 trained
        at least 1,000 steps; the benchmarks guide compares the two budgets.

    batch_size : int, default=500
        Rows per step. Must be a multiple of ``pac``.

    embedding_dim : int, default=128
        Size of the generator's noise vector.

    generator_dims : tuple of int, default=(256, 256)
        Widths of the generator's residual layers.

    discriminator_dims : tuple of int, default=(256, 256)
        Widths of the discriminator's hidden layers.

    learning_rate : float, default=2e-4
        Adam learning rate of both networks (betas are (0.5, 0.9) for tables,
        DCGAN's (0.5, 0.999) for images).

    n_critic : int or "auto", default="auto"
        Discriminator steps per generator step (the k of Goodfellow et al.).
        ``"auto"``: 1 for tables; 5 for images, as in the WGAN-GP paper,
        because with 1 the DCGAN drew nearly the same image for every noise
        vector of a class (see the images guide).

    pac : int or "auto", default="auto"
        Rows per pack in the discriminator (PacGAN). ``"auto"`` is 10, or 1
        under differential privacy (a pack is not one privacy unit).

    loss : {{"auto", "wgan-gp", "minimax", "non-saturating", "lsgan", \
            "hinge"}}, default="auto"
        The GAN objective; see :mod:`gan_augment.losses`. ``"auto"`` is
        ``"wgan-gp"``, or ``"non-saturating"`` under differential privacy (the
        gradient penalty has no per-example gradients to clip).

    max_modes : int, default=10
        Most Gaussian modes per continuous column in the mode-specific
        normalisation (modes weighing under 0.005 are dropped).

    max_categories : int or None, default=100
        Most one-hot entries per categorical column: beyond the 99 most
        frequent categories, the rare ones share one entry, and generated rows
        that land on it get one of those rare categories by training frequency.
        Bounds memory for columns with thousands of categories. None keeps
        every category.

    device : {{"auto", "cpu", "cuda", "mps"}} or torch.device, default="auto"
        Where to train. ``"auto"`` picks CUDA when it is available.

    early_stopping : bool, default=False
        Off by default because it cost quality where measured (see the
        reliability guide): it trains 2.3-3x faster but the minority share on
        the two-moons test fell from 0.94-0.98 to 0.69-0.94 and yeast4's
        balanced accuracy from 0.810/0.894 to 0.743/0.877 (with version 0.1's
        defaults). When on: hold out ``validation_fraction`` of the rows of each class (never
        leaving fewer than 2 to train on), score the generator about every 50
        generator steps by the class-conditional maximum mean discrepancy
        between generated and held-out rows, stop when the score has not
        improved for ``n_iter_no_change`` checks, and keep the best generator.
        ``history_`` then has a ``validation`` column.

    validation_fraction : float, default=0.1
        Share of each class held out for early stopping.

    n_iter_no_change : int, default=5
        Checks without improvement before early stopping.

    checkpoint_dir : str, path-like or None, default=None
        Folder for training checkpoints (``checkpoint.pt``), written atomically
        every ``checkpoint_every`` epochs. None writes none.

    checkpoint_every : int, default=10
        Epochs between checkpoints.

    resume : bool, default=False
        Continue training from the checkpoint in ``checkpoint_dir`` when there
        is one. On the CPU, with an integer ``random_state``, the result is
        identical to an uninterrupted fit. A checkpoint written for other data
        or parameters is refused with a ValueError.

    dp_epsilon : float or None, default=None
        Train with differential privacy at this epsilon (needs ``pip install
        "gan-augment[privacy]"``, i.e. Opacus). The discriminator is trained
        with DP-SGD, and everything else learned from the rows (class sizes,
        category sets and frequencies, the continuous columns' bounds and
        modes) comes from noisy counts that spend 10% of the budget; the
        :doc:`privacy guide <privacy>` says how each is covered. The guarantee
        covers the fitted model and what :meth:`sample` and
        :meth:`sample_dataset` generate, not the output of ``fit_resample``,
        which holds the real rows. None trains without DP.

    dp_delta : float or None, default=None
        The delta of the guarantee; None is ``1 / (10 * n_samples)``.

    dp_max_grad_norm : float, default=1.0
        Per-example gradient clipping bound of DP-SGD.

    dp_domain : dict or None, default=None
        Public knowledge of the columns, which then costs no budget: column
        (name, or index for arrays) -> ``(low, high)`` bounds for a continuous
        column (values outside are clipped), or a list of the categories of a
        categorical one. Columns of pandas ``category`` or ``bool`` dtype
        declare their categories by their dtype. Undeclared bounds and
        category sets are read from noisy counts (a category held by too few
        rows to stand out of the noise is then dropped).

    verbose : bool, default=False
        Show a progress bar with live losses.

    model : {{"auto", "tabular", "image"}}, default="auto"
        Which GAN to train. ``"auto"`` trains the conditional DCGAN of
        :mod:`gan_augment.images` when ``X`` has 3 or 4 axes (``(n, H, W)``,
        ``(n, H, W, C)`` or ``(n, C, H, W)``) or when ``image_shape`` is given,
        and the tabular GAN otherwise. See the images guide for the layout
        rule and for which parameters apply to images.

    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` (or ``(H, W, C)``, or ``(H, W)`` for grey) of the images
        in a 2-D ``X`` whose rows are flattened images, e.g. inside an
        imblearn Pipeline. None for tables and for 3-D/4-D ``X``.

    conv_width : int, default=64
        Images only: channels of the discriminator's first and the
        generator's last hidden layer; they double at each layer towards 4x4.

    spectral_norm : bool, default=False
        Images only: spectral normalisation of the discriminator's
        convolutions (Miyato et al., 2018).

    minibatch_std : bool, default=False
        Images only: give the discriminator the batch's feature standard
        deviation (Karras et al., 2018) to penalise generators without variety.

    synthetic_filter : {{"neighbours"}} or None, default=None
        Tables, ``fit_resample`` only. ``"neighbours"``: generate
        ``filter_candidates`` times the rows needed and keep those with the
        largest share of their 5 nearest real rows (standardised continuous
        columns, one-hot categories) in the class they were generated for, so
        that rows landing deep inside another class are dropped. The
        benchmarks guide gives its measured effect.

    filter_candidates : float, default=2.0
        Candidates generated per row kept by ``synthetic_filter``.

    interpolation : float in [0, 1], default=0.5
        Tables, ``fit_resample`` only: the share of each class's added rows
        made by interpolation between real rows of the class (imbalanced-learn's
        SMOTE, SMOTENC or SMOTEN, as the columns require) instead of by the
        GAN; the rest is generated. 1.0 is plain SMOTE(NC/N).

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows to generate.
    classes_ : ndarray
        The class labels seen in fit.
    categorical_features_ : ndarray of int
        Indices of the categorical columns.
    continuous_features_ : ndarray of int
        Indices of the continuous columns.
    transformer_ : TabularTransformer
        The fitted data transformer.
    generator_ : torch.nn.Module
        The trained generator (in eval mode).
    history_ : pandas.DataFrame
        Per epoch: ``generator_loss``, ``discriminator_loss``, ``d_real`` and
        ``d_fake`` (mean discriminator outputs on real and generated rows:
        probabilities for ``minimax``/``non-saturating``, where both approach
        0.5 at equilibrium; raw scores for the other losses).
    n_epochs_ : int
        Epochs trained (fewer than asked when training was interrupted).
    n_steps_ : int
        Generator steps trained.
    best_epoch_ : int or None
        With ``early_stopping``, the epoch whose generator was kept (the best
        validation score); None otherwise.
    device_ : torch.device
        Where the generator lives.
    dp_epsilon_spent_ : float or None
        With ``dp_epsilon``: the epsilon spent, by Opacus's RDP accountant, over
        the statistics' release and the DP-SGD steps actually taken (at most
        ``dp_epsilon``), at delta ``dp_delta_`` (less a tenth of it, set aside
        for discovered category sets when some category set is not declared).
        None without DP.
    dp_delta_ : float or None
        With ``dp_epsilon``: the delta of the guarantee.
    dp_noise_multiplier_ : float or None
        With ``dp_epsilon``: DP-SGD's noise multiplier.
    dp_history_ : list of [noise_multiplier, sample_rate, steps] or None
        With ``dp_epsilon``: the Gaussian mechanisms composed, in the form of
        Opacus's ``RDPAccountant.history`` (the statistics' release, then the
        DP-SGD steps), so the accounting can be checked independently.
    image_layout_ : ImageLayout or None
        For images, their layout, shape, dtype and value range; None for tables.
    n_features_in_ : int
        Number of features seen in fit (``C * H * W`` for images).
    feature_names_in_ : ndarray of str
        Column names seen in fit, when X was a DataFrame with string names.

    See Also
    --------
    imblearn.over_sampling.SMOTE : Interpolation between minority neighbours.
    imblearn.over_sampling.SMOTENC : SMOTE for mixed continuous/categorical data.

    References
    ----------
    .. [1] L. Xu, M. Skoularidou, A. Cuesta-Infante, K. Veeramachaneni,
       "Modeling Tabular data using Conditional GAN", NeurIPS 2019.
    .. [2] I. Gulrajani et al., "Improved Training of Wasserstein GANs", 2017.
    .. [3] Z. Lin et al., "PacGAN: The power of two samples in generative
       adversarial networks", NeurIPS 2018.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from gan_augment import GANOversampler
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> sampler = GANOversampler(epochs=5, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> sorted(Counter(y_res.tolist()).items())
    [(0, 269), (1, 269)]
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "categorical_features": ["array-like", StrOptions({"auto"})],
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "generator_dims": ["array-like"],
        "discriminator_dims": ["array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_critic": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "pac": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "loss": [StrOptions(set(LOSSES) | {"auto"})],
        "max_modes": [Interval(Integral, 1, None, closed="left")],
        "max_categories": [Interval(Integral, 2, None, closed="left"), None],
        "device": [StrOptions({"auto", "cpu", "cuda", "mps"}), torch.device],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "resume": ["boolean"],
        "dp_epsilon": [Interval(Real, 0, None, closed="neither"), None],
        "dp_delta": [Interval(Real, 0, 1, closed="neither"), None],
        "dp_max_grad_norm": [Interval(Real, 0, None, closed="neither")],
        "dp_domain": [dict, None],
        "verbose": ["verbose"],
        "model": [StrOptions({"auto", "tabular", "image"})],
        "image_shape": ["array-like", None],
        "conv_width": [Interval(Integral, 1, None, closed="left")],
        "spectral_norm": ["boolean"],
        "minibatch_std": ["boolean"],
        "synthetic_filter": [StrOptions({"neighbours"}), None],
        "filter_candidates": [Interval(Real, 1, None, closed="left")],
        "interpolation": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        categorical_features="auto",
        epochs="auto",
        batch_size=500,
        embedding_dim=128,
        generator_dims=(256, 256),
        discriminator_dims=(256, 256),
        learning_rate=2e-4,
        n_critic="auto",
        pac="auto",
        loss="auto",
        max_modes=10,
        max_categories=100,
        device="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        checkpoint_dir=None,
        checkpoint_every=10,
        resume=False,
        dp_epsilon=None,
        dp_delta=None,
        dp_max_grad_norm=1.0,
        dp_domain=None,
        verbose=False,
        model="auto",
        image_shape=None,
        conv_width=64,
        spectral_norm=False,
        minibatch_std=False,
        synthetic_filter=None,
        filter_candidates=2.0,
        interpolation=0.5,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.categorical_features = categorical_features
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.generator_dims = generator_dims
        self.discriminator_dims = discriminator_dims
        self.learning_rate = learning_rate
        self.n_critic = n_critic
        self.pac = pac
        self.loss = loss
        self.max_modes = max_modes
        self.max_categories = max_categories
        self.device = device
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_domain = dp_domain
        self.verbose = verbose
        self.model = model
        self.image_shape = image_shape
        self.conv_width = conv_width
        self.spectral_norm = spectral_norm
        self.minibatch_std = minibatch_std
        self.synthetic_filter = synthetic_filter
        self.filter_candidates = filter_candidates
        self.interpolation = interpolation

    # -- validation -----------------------------------------------------------

    def _check_X_y(self, X, y):
        """Validate like imbalanced-learn, but keep DataFrames (and their dtypes)
        intact, accept non-numeric columns, and name columns with NaN/inf."""
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        self.image_layout_ = None
        if self._wants_images(X):
            return self._check_images(X, y), y, binarize_y
        if isinstance(X, pd.DataFrame):
            # Pandas sparse columns are modelled densely; imblearn's output
            # conversion gives them their sparse dtype back.
            sparse = {
                name: dtype.subtype
                for name, dtype in X.dtypes.items()
                if isinstance(dtype, pd.SparseDtype)
            }
            if sparse:
                X = X.astype(sparse)
            _check_frame_shape(X)
        else:
            X = check_array(X, dtype=None, ensure_all_finite=False)
        check_consistent_length(X, y)
        check_finite(X)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        self._schema = TableSchema.from_data(X, self.categorical_features)
        self.categorical_features_ = self._schema.categorical_indices
        self.continuous_features_ = self._schema.continuous_indices
        return X, y, binarize_y

    def _wants_images(self, X) -> bool:
        if self.model != "auto":
            return self.model == "image"
        if self.image_shape is not None:
            return True
        if isinstance(X, (list, tuple)):
            # A list of images may be ragged, which np.ndim refuses.
            return len(X) > 0 and np.ndim(X[0]) >= 2
        return np.ndim(X) >= 3

    def _check_images(self, X, y) -> np.ndarray:
        """Validate images (any layout); record their layout in ``image_layout_``."""
        frame = X if isinstance(X, pd.DataFrame) else None
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                "Images must all have the same shape and layout (one of (n, H, W), "
                "(n, H, W, C), (n, C, H, W) or flat (n, H*W*C) with image_shape); "
                f"got images of different shapes ({exc})."
            ) from exc
        X = check_array(X, dtype=None, allow_nd=True, ensure_all_finite=False)
        check_consistent_length(X, y)
        self.image_layout_ = ImageLayout.from_data(X, self.image_shape)
        if X.ndim == 2:
            validate_data(self, X=X if frame is None else frame, reset=True,
                          skip_check_array=True)
        else:
            self.n_features_in_ = self.image_layout_.n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        return X

    def _check_hyperparameters(self) -> None:
        for name in ("generator_dims", "discriminator_dims"):
            dims = getattr(self, name)
            if isinstance(dims, str) or not all(
                isinstance(d, Integral) and not isinstance(d, bool) and d > 0
                for d in dims
            ):
                raise ValueError(
                    f"{name} must be a sequence of positive integers; got {dims!r}."
                )
        if self.batch_size % self._pac:
            raise ValueError(
                f"batch_size={self.batch_size} must be a multiple of pac={self._pac}."
            )

    @property
    def _private(self) -> bool:
        return self.dp_epsilon is not None

    @property
    def _pac(self) -> int:
        if self.pac == "auto":
            return 1 if self._private else 10
        return self.pac

    @property
    def _n_critic(self) -> int:
        """Discriminator steps per generator step for tables."""
        return 1 if self.n_critic == "auto" else self.n_critic

    @property
    def _loss(self) -> str:
        if self.loss == "auto":
            return "non-saturating" if self._private else "wgan-gp"
        return self.loss

    def _check_class_counts(self, y: np.ndarray) -> None:
        """Refuse classes to over-sample with under 2 rows; warn under SMALL_CLASS_ROWS."""
        labels, counts = np.unique(y, return_counts=True)
        count = dict(zip(labels.tolist(), counts.tolist()))
        targets = {
            np.asarray(c).tolist(): count[c]
            for c, n in self.sampling_strategy_.items()
            if n > 0
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
                f"{SMALL_CLASS_ROWS} samples to learn from: a GAN learns little from so "
                "few rows, and interpolation (imblearn.over_sampling.SMOTE) is likely "
                "the better tool for them.",
                SmallClassWarning,
            )

    def _training_budget(self, n_rows: int, images: bool = False) -> tuple[int, int]:
        """(epochs, steps_per_epoch) for ``n_rows`` training rows."""
        steps_per_epoch = max(1, n_rows // self.batch_size)
        if self.epochs != "auto":
            return self.epochs, steps_per_epoch
        epochs, least = (
            (IMAGE_AUTO_EPOCHS, IMAGE_AUTO_MIN_STEPS) if images
            else (AUTO_EPOCHS, AUTO_MIN_STEPS)
        )
        steps = min(max(epochs * steps_per_epoch, least), AUTO_MAX_STEPS)
        return -(-steps // steps_per_epoch), steps_per_epoch

    # -- fitting --------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the GAN on ``(X, y)`` without generating rows.

        Use it to make synthetic data with :meth:`sample` or
        :meth:`sample_dataset`; to balance a training set, use
        ``fit_resample``, which trains the same way and then adds the rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : GANOversampler
        """
        check_classification_targets(y)
        X, y, _ = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(
            self.sampling_strategy, y, self._sampling_type
        )
        self._fit_model(X, y)
        return self

    def _fit_resample(self, X, y):
        torch_rng = self._fit_model(X, y)
        X_new, y_new = [X], [y]
        selection = None if self.image_layout_ is not None else self._selection(X, y)
        for label, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            if selection is None:
                X_new.append(self._generate(label, n_samples, torch_rng))
            else:
                X_new.append(self._select(selection, label, n_samples, torch_rng))
            y_new.append(np.full(n_samples, label, dtype=y.dtype))
        if isinstance(X, pd.DataFrame):
            X_res = pd.concat(
                [X.reset_index(drop=True)] + X_new[1:], ignore_index=True
            )
        else:
            X_res = np.concatenate(X_new)
        return X_res, np.concatenate(y_new)

    def _fit_model(self, X, y) -> torch.Generator:
        """Encode, train and keep the generator; the torch stream, for generation."""
        self.dp_epsilon_spent_ = self.dp_delta_ = self.dp_noise_multiplier_ = None
        self.dp_history_ = None
        if self.image_layout_ is not None:
            self._check_class_counts(y)
            return self._fit_image_model(X, y)
        self._check_hyperparameters()
        self._check_class_counts(y)
        schema = self._schema

        random_state = check_random_state(self.random_state)
        np_rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
        self.device_ = resolve_device(self.device)
        torch_rng = torch.Generator(device=self.device_).manual_seed(
            int(random_state.randint(np.iinfo(np.int32).max))
        )

        self.classes_, y_codes = np.unique(y, return_inverse=True)
        start = time.perf_counter()
        continuous, categorical = schema.split(X)
        train_rows, val_rows = self._validation_split(y_codes, np_rng)
        epochs, steps_per_epoch = self._training_budget(len(train_rows))
        if self._private:
            try:
                import opacus  # noqa: F401
            except ImportError as exc:
                raise ImportError(
                    "Training with dp_epsilon needs Opacus: "
                    'pip install "gan-augment[privacy]"'
                ) from exc
            from .privacy.preparation import prepare

            private = prepare(
                self, schema, continuous, categorical, y_codes, len(self.classes_),
                epochs * steps_per_epoch * self._n_critic, self.device_, np_rng,
            )
            self.transformer_, source = private.transformer, private.source
            self._conditions = private.conditions
            self._class_weights = private.class_weights
        else:
            private = None
            self.transformer_ = TabularTransformer(
                max_modes=self.max_modes, max_categories=self.max_categories
            ).fit(continuous, categorical, np_rng)
            encoded, category_codes = self.transformer_.transform(
                continuous, categorical, np_rng
            )
            # Without a hold-out, a view: the encoded set is never copied.
            rows = train_rows if val_rows.size else slice(None)
            source = TabularBatches(
                encoded[rows],
                y_codes[rows],
                category_codes[rows],
                len(self.classes_),
                self.transformer_.n_categories,
                self.transformer_.layout_,
                self.device_,
                pack_size=self._pac,
            )
            self._conditions = source.conditions.generation
            self._class_weights = np.bincount(y_codes).astype(np.float64)
        layout = self.transformer_.layout_
        logger.info(
            "Encoded %d rows x %d columns (%d categorical) into %d features in %.1f s.",
            len(y), schema.n_features, len(schema.categorical_indices), layout.width,
            time.perf_counter() - start,
        )

        generator = initialise(
            Generator(
                self.embedding_dim + source.cond_dim,
                tuple(self.generator_dims),
                layout.width,
            ),
            self.device_,
            torch_rng,
        )
        discriminator = initialise(
            Discriminator(
                layout.width + source.cond_dim,
                tuple(self.discriminator_dims),
                self._pac,
                len(self.classes_),
            ),
            self.device_,
            torch_rng,
        )
        early_stopping = None
        if val_rows.size:
            score = ValidationScore(
                encoded[val_rows],
                y_codes[val_rows],
                self._conditions,
                layout,
                self.embedding_dim,
                self.device_,
                seed=int(random_state.randint(np.iinfo(np.int32).max)),
            )
            every = max(1, -(-_VALIDATION_STEPS // steps_per_epoch))
            early_stopping = EarlyStopping(score, every, self.n_iter_no_change)
        config = TrainingConfig(
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=self.batch_size,
            noise_dim=self.embedding_dim,
            n_critic=self._n_critic,
            learning_rate=self.learning_rate,
            pac=self._pac,
            loss=LOSSES[self._loss],
            checkpoint=(
                None if private else self._checkpoint_config(encoded[rows], y_codes[rows])
            ),
            early_stopping=early_stopping,
            privacy=None if private is None else private.dpsgd,
            verbose=self.verbose,
        )
        logger.info(
            "Training on %s: %d epochs x %d steps of %d rows, loss=%s%s.",
            self.device_, epochs, steps_per_epoch, self.batch_size, self._loss,
            "" if private is None else
            f", DP-SGD noise multiplier {private.dpsgd.noise_multiplier:.3g}",
        )
        result = self._train(generator, discriminator, source, config, torch_rng)
        del source
        if private is not None:
            plan = private.plan
            plan.history.append((plan.sgd_noise, plan.sample_rate, result.private_steps))
            self.dp_history_ = [list(entry) for entry in plan.history]
            self.dp_epsilon_spent_ = plan.spent()
            self.dp_delta_ = plan.delta
            self.dp_noise_multiplier_ = plan.sgd_noise
            logger.info(
                "Spent epsilon %.3f of %.3f (delta %.3g).",
                self.dp_epsilon_spent_, plan.epsilon, plan.delta,
            )
        return torch_rng

    def _fit_image_model(self, X: np.ndarray, y: np.ndarray) -> torch.Generator:
        """The image path of ``_fit_model``: a conditional DCGAN on the same loop."""
        for name, reason in (
            ("early_stopping", "its validation score is defined for tables"),
            ("dp_epsilon", "differential privacy is implemented for tables"),
        ):
            if getattr(self, name) not in (False, None):
                raise ValueError(
                    f"{name} is not available for images: {reason}. Fit images "
                    f"without {name}."
                )
        layout = self.image_layout_
        random_state = check_random_state(self.random_state)
        self.device_ = resolve_device(self.device)
        torch_rng = torch.Generator(device=self.device_).manual_seed(
            int(random_state.randint(np.iinfo(np.int32).max))
        )
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        images = layout.to_tensor_array(X)
        source = ImageBatches(images, y_codes, n_classes, self.device_)
        generator = initialise_image_network(
            ImageGenerator(self.embedding_dim, n_classes, layout.shape, self.conv_width),
            self.device_,
            torch_rng,
        )
        discriminator = initialise_image_network(
            ImageDiscriminator(
                layout.shape, n_classes, self.conv_width, self.spectral_norm,
                self.minibatch_std,
            ),
            self.device_,
            torch_rng,
        )
        epochs, steps_per_epoch = self._training_budget(len(y), images=True)
        config = TrainingConfig(
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=self.batch_size,
            noise_dim=self.embedding_dim,
            n_critic=IMAGE_N_CRITIC if self.n_critic == "auto" else self.n_critic,
            learning_rate=self.learning_rate,
            # PacGAN packs rows of a table; each image is judged on its own.
            pac=1,
            loss=LOSSES[self._loss],
            # DCGAN's Adam settings (Radford et al., 2016).
            betas=(0.5, 0.999),
            checkpoint=self._checkpoint_config(images, y_codes),
            verbose=self.verbose,
        )
        logger.info(
            "Training a conditional DCGAN on %s: %d images of %s (C, H, W), %d epochs "
            "x %d steps of %d images, loss=%s.",
            self.device_, len(y), layout.shape, epochs, steps_per_epoch,
            self.batch_size, self._loss,
        )
        self._train(generator, discriminator, source, config, torch_rng)
        del source
        self._class_weights = np.bincount(y_codes).astype(np.float64)
        return torch_rng

    def _train(self, generator, discriminator, source, config, torch_rng):
        """Run the loop and keep what it made: generator, history, epochs, steps."""
        start = time.perf_counter()
        result = train(generator, discriminator, source, config, torch_rng)
        logger.info(
            "Trained %d epochs in %.1f s.", result.epochs_done, time.perf_counter() - start
        )
        self.generator_ = generator
        history = pd.DataFrame(result.history).set_index("epoch")
        self.history_ = (
            history if config.early_stopping else history.drop(columns="validation")
        )
        self.n_epochs_ = result.epochs_done
        self.n_steps_ = result.epochs_done * config.steps_per_epoch
        self.best_epoch_ = result.best_epoch
        return result

    def _validation_split(
        self, y_codes: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row indices to train on and to hold out for early stopping.

        Without early stopping every row trains (and no random number is drawn).
        """
        every_row = np.arange(len(y_codes))
        if not self.early_stopping:
            return every_row, every_row[:0]
        held_out = []
        for c in range(len(self.classes_)):
            rows = rng.permutation(np.flatnonzero(y_codes == c))
            n_val = min(int(self.validation_fraction * len(rows)), len(rows) - 2)
            held_out.append(rows[: max(n_val, 0)])
        val_rows = np.sort(np.concatenate(held_out))
        return np.setdiff1d(every_row, val_rows), val_rows

    def _checkpoint_config(
        self, encoded: np.ndarray, y_codes: np.ndarray
    ) -> CheckpointConfig | None:
        if self.checkpoint_dir is None:
            return None
        # What makes a checkpoint valid for this fit: the encoded data, the labels
        # and every parameter that shapes training (not where or how to report).
        digest = hashlib.sha256(np.ascontiguousarray(encoded).tobytes())
        digest.update(np.ascontiguousarray(y_codes).tobytes())
        ignored = {"checkpoint_dir", "checkpoint_every", "resume", "verbose", "device"}
        params = {k: v for k, v in self.get_params().items() if k not in ignored}
        digest.update(repr(sorted(params.items(), key=str)).encode())
        return CheckpointConfig(
            Path(self.checkpoint_dir), self.checkpoint_every, self.resume, digest.hexdigest()
        )

    # -- generation -----------------------------------------------------------

    def _selection(self, X, y) -> _Selection | None:
        """What ``fit_resample`` needs to filter and interpolate, or None."""
        if self.synthetic_filter is None and self.interpolation == 0:
            return None
        continuous, categorical = self._schema.split(X)
        y_codes = np.searchsorted(self.classes_, y)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        neighbours = None
        if self.synthetic_filter == "neighbours":
            neighbours = NeighbourFilter(
                continuous, categorical, y_codes, max_categories=self.max_categories,
                rng=np.random.default_rng(seed),
            )
        return _Selection(continuous, categorical, y_codes, neighbours, int(seed))

    def _select(self, selection: _Selection, label: Any, n_samples: int, rng):
        """``n_samples`` rows of ``label``: the interpolated share, then the
        generated rows that the neighbour filter keeps."""
        class_index = int(np.flatnonzero(self.classes_ == label)[0])
        n_interpolated = int(round(self.interpolation * n_samples))
        parts = []
        if n_interpolated:
            parts.append(
                interpolate(
                    selection.continuous, selection.categorical, selection.y_codes,
                    class_index, n_interpolated, selection.seed + class_index,
                    max_categories=self.max_categories,
                )
            )
        n_generated = n_samples - n_interpolated
        if n_generated:
            n_candidates = n_generated
            if selection.neighbours is not None:
                n_candidates = int(np.ceil(self.filter_candidates * n_generated))
            continuous, categorical = self._generate_split(class_index, n_candidates, rng)
            if selection.neighbours is not None:
                keep = selection.neighbours.select(
                    continuous, categorical, class_index, n_generated
                )
                continuous, categorical = continuous[keep], categorical[keep]
            parts.append((continuous, categorical))
        return self._schema.restore(
            np.concatenate([c for c, _ in parts]), np.concatenate([c for _, c in parts])
        )

    def _generate(self, label: Any, n_samples: int, rng: torch.Generator):
        class_index = int(np.flatnonzero(self.classes_ == label)[0])
        if self.image_layout_ is not None:
            images = generate_images(
                self.generator_, class_index, n_samples, len(self.classes_),
                self.embedding_dim, rng,
            )
            return self.image_layout_.restore(images)
        return self._schema.restore(*self._generate_split(class_index, n_samples, rng))

    def _generate_split(
        self, class_index: int, n_samples: int, rng: torch.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generated rows of a class, as the schema splits a table."""
        encoded = generate_encoded(
            self.generator_,
            self.transformer_.layout_,
            self._conditions,
            class_index,
            n_samples,
            self.embedding_dim,
            rng,
        )
        # Pooled rare categories are drawn from a NumPy stream seeded by the
        # torch stream, so the whole generation follows one seed.
        seed = int(torch.randint(2**31 - 1, (1,), generator=rng, device=rng.device))
        return self.transformer_.inverse_transform(encoded, np.random.default_rng(seed))

    def sample(self, n_samples: int, y: Any):
        """Generate ``n_samples`` synthetic rows of class ``y``.

        With an integer ``random_state``, each call returns the same rows.

        Parameters
        ----------
        n_samples : int
            Number of rows to generate (0 gives an empty table).
        y : label
            A class seen in fit.

        Returns
        -------
        X : DataFrame or ndarray of shape (n_samples, n_features_in_)
            A DataFrame with the training columns and dtypes when fit saw a
            DataFrame; otherwise an array of the training dtype. For images,
            an array in the training images' layout and dtype.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from gan_augment import GANOversampler
        >>> X, y = make_classification(n_samples=200, weights=[0.9], random_state=0)
        >>> sampler = GANOversampler(epochs=2, random_state=0)
        >>> X_res, y_res = sampler.fit_resample(X, y)
        >>> sampler.sample(5, y=1).shape
        (5, 20)
        """
        check_is_fitted(self, "generator_")
        if (
            not isinstance(n_samples, Integral)
            or isinstance(n_samples, bool)
            or n_samples < 0
        ):
            raise ValueError(
                f"n_samples must be a non-negative integer; got {n_samples!r}."
            )
        if not np.any(self.classes_ == y):
            raise ValueError(
                f"y={y!r} is not a class seen in fit; the classes are "
                f"{self.classes_.tolist()}."
            )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = torch.Generator(device=self.device_).manual_seed(int(seed))
        return self._generate(y, int(n_samples), rng)

    def sample_dataset(self, n_samples: int, class_distribution="original"):
        """A fully synthetic data set of ``n_samples`` rows, labels included.

        Rows are generated in chunks and come in random class order. To write a
        large data set to disk without holding it in memory, use
        :meth:`write_dataset`.

        Parameters
        ----------
        n_samples : int
        class_distribution : "original", "balanced" or dict, default="original"
            ``"original"``: the training data's class shares (their noisy
            estimate under differential privacy); ``"balanced"``: equal shares;
            a dict: class label -> weight, normalised (classes left out get no
            rows). Counts are rounded to sum to ``n_samples``.

        Returns
        -------
        X : DataFrame or ndarray of shape (n_samples, n_features_in_)
            The training columns and dtypes.
        y : ndarray of shape (n_samples,)

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from gan_augment import GANOversampler
        >>> X, y = make_classification(n_samples=200, weights=[0.9], random_state=0)
        >>> model = GANOversampler(epochs=2, random_state=0).fit(X, y)
        >>> X_syn, y_syn = model.sample_dataset(100, class_distribution="balanced")
        >>> X_syn.shape, int((y_syn == 1).sum())
        ((100, 20), 50)
        """
        from .export import iter_synthetic

        chunks = list(iter_synthetic(self, n_samples, class_distribution))
        if not chunks:
            empty = self._schema.restore(
                np.empty((0, len(self.continuous_features_))),
                np.empty((0, len(self.categorical_features_)), dtype=object),
            )
            return empty, self.classes_[:0]
        X = [X for X, _ in chunks]
        X = pd.concat(X, ignore_index=True) if isinstance(X[0], pd.DataFrame) else np.concatenate(X)
        return X, np.concatenate([y for _, y in chunks])

    def write_dataset(
        self,
        path,
        n_samples: int,
        class_distribution="original",
        *,
        target: str = "target",
        progress: bool = False,
    ) -> Path:
        """Stream a synthetic data set of ``n_samples`` rows to CSV or Parquet.

        Rows are generated and written 100,000 at a time, so memory does not
        grow with ``n_samples``; the file appears only when complete (written
        to a temporary file, then renamed).

        Parameters
        ----------
        path : str or path-like
            A ``.csv`` or ``.parquet`` file (Parquet keeps every dtype).
        n_samples : int
        class_distribution : "original", "balanced" or dict, default="original"
            As for :meth:`sample_dataset`.
        target : str, default="target"
            Name of the label column (the last one).
        progress : bool, default=False
            Show a progress bar.

        Returns
        -------
        pathlib.Path
        """
        from .export import write_synthetic

        return write_synthetic(
            self, path, n_samples, class_distribution, target=target, progress=progress
        )

    # -- persistence ----------------------------------------------------------

    def save(self, path) -> Path:
        """Save the fitted model to ``path`` in a safe, portable format.

        The file holds the generator's weights (a state dict, read back with
        ``torch.load(weights_only=True)``) and JSON metadata: parameters, column
        schema, transformer state, classes, history and versions. Loading it
        never unpickles arbitrary objects, and a CUDA-trained model loads on a
        CPU-only machine. The file is written atomically.

        Parameters
        ----------
        path : str or path-like
            Where to write (conventionally ``*.gan``).

        Returns
        -------
        pathlib.Path
            The path written.

        Examples
        --------
        >>> import tempfile, os
        >>> from sklearn.datasets import make_classification
        >>> from gan_augment import GANOversampler
        >>> X, y = make_classification(n_samples=200, weights=[0.9], random_state=0)
        >>> sampler = GANOversampler(epochs=2, random_state=0)
        >>> _ = sampler.fit_resample(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.gan")
        >>> _ = sampler.save(path)
        >>> loaded = GANOversampler.load(path, device="cpu")
        >>> bool((loaded.sample(3, y=1) == sampler.sample(3, y=1)).all())
        True
        """
        check_is_fitted(self, "generator_")
        return persistence.save(self, path)

    @classmethod
    def load(cls, path, device="auto") -> GANOversampler:
        """Load a model written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : {"auto", "cpu", "cuda", "mps"} or torch.device, default="auto"
            Where to put the generator.

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is truncated, corrupted, not a gan-augment model, or
            written in a newer format version; the message names the file.
        """
        return persistence.load(cls, path, device)

    # -- pickling -------------------------------------------------------------

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        generator = state.get("generator_")
        if generator is not None and self.device_.type != "cpu":
            # Pickle the generator's CPU copy so a CUDA-trained model loads on a
            # machine without CUDA (skorch does the same).
            state["generator_"] = copy.deepcopy(generator).cpu()
            state["device_"] = torch.device("cpu")
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

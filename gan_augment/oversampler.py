"""``GANOversampler``: the public estimator. Parameters, validation, delegation.

The work is done elsewhere: :mod:`gan_augment.domains` picks the data domain
and validates its input, :mod:`gan_augment.options` resolves the "auto"
parameters, :func:`gan_augment.fitting.fit_model` trains a
:class:`~gan_augment.fitted.FittedModel`, :mod:`gan_augment.resampling` says
what ``fit_resample`` adds, and :mod:`gan_augment.export` and
:mod:`gan_augment.persistence` work on the fitted model.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution, check_sampling_strategy, check_target_type
from imblearn.utils._docstring import _random_state_docstring
from sklearn.base import _fit_context, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import parallel, persistence
from .device import resolve_device
from .domains import Domain, choose_domain
from .exceptions import PrivacyBudgetWarning, warn_user
from .fitting import fit_model
from .losses import LOSSES
from .options import SIZE_RULES, Options, check_class_counts, check_n_samples, resolve, resolved_loss
from .resampling import append_rows
from .seeding import Seeds
from .threads import limited_threads

__all__ = ["GANOversampler"]

#: Fitted attributes saved with the model, besides the model itself.
_SAVED = (
    "classes_", "sampling_strategy_", "n_features_in_", "feature_names_in_", "n_epochs_",
    "n_steps_", "best_epoch_", "history_", "dp_epsilon_spent_", "dp_delta_",
    "dp_noise_multiplier_", "dp_history_",
)


def _on_own_threads(method):
    """Run ``method`` on ``n_jobs`` threads (see :mod:`gan_augment.threads`)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with limited_threads(self.n_jobs):
            return method(self, *args, **kwargs)

    return wrapper


@dataclass
class _Fit:
    """What ``_fit_resample`` needs from the fit besides the fitted attributes."""

    domain: Domain
    options: Options
    y_codes: np.ndarray
    rng: torch.Generator
    seeds: Seeds


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

    batch_size : int, "auto" or "data", default="auto"
        Rows per step. Must be a multiple of ``pac``. ``"auto"``: 500 for
        tables (CTGAN's, rounded down to a multiple of ``pac``), 32 for images
        (see the images guide). ``"data"`` (tables): half the training rows, a
        multiple of ``pac`` between ``2 pac`` and 500, so the batch never
        exceeds the data (:func:`gan_augment.options.capacity`).

    embedding_dim : int, "auto" or "data", default="auto"
        Size of the generator's noise vector (for ``generator="latent"``, of
        the autoencoder's codes). ``"auto"``: 128 for tables, 64 for images.
        ``"data"`` (tables): half the hidden width that ``"data"`` gives the
        networks.

    generator : {{"auto", "conditional", "anchored", "latent"}}, default="auto"
        Which generator to train. ``"auto"``: ``"conditional"`` for tables,
        ``"latent"`` for images (the best generator on the image benchmark;
        see the images guide). ``"latent"`` (images only): no adversary; an autoencoder is
        trained on all classes (the decoder given the class), and new images of
        a class are decoded from points between the codes of a training image
        and of one of its 5 nearest neighbours in the class (DeepSMOTE, Dablain
        et al., 2022). Like ``"anchored"``, a latent model holds an encoding of
        every training image, so its file is not synthetic data.
        ``"conditional"`` is given
        noise and the class (and, in training, a category), as in CTGAN.
        ``"anchored"`` is also given a real training row of the class, its
        *anchor*: the discriminator compares pairs (anchor, one of the anchor's
        5 nearest rows of its class) with pairs (anchor, generated row), so the
        generator learns to make rows that lie near the anchor and follow the
        class's local shape, a learned form of SMOTE's interpolation (the idea
        of DAGAN, Antoniou et al., 2017). Rows are then generated from anchors
        drawn among the training rows of their class.

        **An anchored model holds real rows.** It keeps its training rows
        (encoded) as anchors, so the file that :meth:`save` writes and a
        pickled estimator contain real data, and must not be shared as
        synthetic data; what :meth:`sample`, :meth:`sample_dataset` and
        :meth:`write_dataset` return are generated rows only. For the same
        reason ``"anchored"`` is refused with ``dp_epsilon``; it is refused for
        images too.

    generator_dims : tuple of int, "auto" or "data", default="auto"
        Widths of the generator's residual layers (tables). ``"auto"``:
        (256, 256), CTGAN's. ``"data"``: two layers of ``8 sqrt(n_rows)``
        units, rounded to a power of two between 64 and 256.

    discriminator_dims : tuple of int, "auto" or "data", default="auto"
        Widths of the discriminator's hidden layers; ``"auto"`` and ``"data"``
        as for the generator.

    learning_rate : float, default=2e-4
        Adam learning rate of both networks (betas are (0.5, 0.9) for tables,
        DCGAN's (0.5, 0.999) for images).

    n_critic : int or "auto", default="auto"
        Discriminator steps per generator step (the k of Goodfellow et al.).
        ``"auto"``: 1 for tables; 5 for images, as in the WGAN-GP paper,
        because with 1 the DCGAN drew nearly the same image for every noise
        vector of a class (see the images guide).

    pac : int or "auto", default="auto"
        Rows per pack in the discriminator (PacGAN). ``"auto"`` is 1 (each
        row judged alone; it out-ranked CTGAN's 10 on the quality benchmark),
        and always 1 under differential privacy (a pack is not one privacy
        unit). Images are never packed.

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

    precision : {{"float32", "bfloat16"}}, default="float32"
        ``"bfloat16"`` runs the networks' forward passes under bf16 autocast
        (weights, optimiser states, activations of the encoded rows and the
        losses stay float32). It pays on GPUs and on CPUs with native bf16
        (AVX-512-BF16 or AMX): 1.10x per step at CTGAN's sizes on such a CPU
        (docs/benchmarks.md); without them it is slower. Rows differ from a
        float32 fit's. Refused with ``dp_epsilon``: per-example gradient norms
        rounded to bf16 could exceed the clipping bound the noise is scaled to.

    early_stopping : bool, default=False
        Off by default because it cost quality where measured (see the
        reliability guide): it trains 2.3-3x faster but the minority share on
        the two-moons test fell from 0.94-0.98 to 0.69-0.94 and yeast4's
        balanced accuracy from 0.810/0.894 to 0.743/0.877 (with version 0.1's
        defaults). When on: hold out ``validation_fraction`` of the rows of each class (never
        leaving fewer than 2 to train on), score the generator about every 50
        generator steps by ``validation_score`` (by default the
        class-conditional maximum mean discrepancy between generated and
        held-out rows), stop when the score has not improved for
        ``n_iter_no_change`` checks, and keep the best generator.
        ``history_`` then has a ``validation`` column.

    validation_fraction : float, default=0.1
        Share of each class held out for early stopping.

    n_iter_no_change : int, default=5
        Checks without improvement before early stopping.

    validation_score : {{"mmd", "c2st", "utility"}}, default="mmd"
        What early stopping scores the generator by (used only with
        ``early_stopping=True``, tables only, refused under differential
        privacy); lower is better. ``"mmd"``: fidelity, the class-conditional
        maximum mean discrepancy between generated and held-out rows.
        ``"c2st"``: a classifier two-sample test, how much better than chance a
        leave-one-out 1-nearest-neighbour classifier tells generated rows of a
        class from its held-out rows (mean over classes). ``"utility"``: one
        minus the balanced accuracy on the held-out rows of a 5-nearest-neighbour
        classifier trained on the rows trained on plus the generated rows
        ``fit_resample`` would add, averaged over 5 sets of generated rows.
        ``"c2st"`` and ``"utility"`` hold out at least 2 rows of every class
        with 4 or more. All compare encoded rows (see the reliability guide).

    checkpoint_dir : str, path-like or None, default=None
        Folder for training checkpoints (``checkpoint.pt``), written atomically
        every ``checkpoint_every`` epochs. None writes none.

    checkpoint_every : int, default=10
        Epochs between checkpoints.

    resume : bool, default=False
        Continue training from the checkpoint in ``checkpoint_dir`` when there
        is one, to ``epochs`` (which may be more than the checkpoint was
        written for: training longer). On the CPU the result is identical to
        an uninterrupted fit. With ``random_state=None`` the fit takes the
        seed the checkpoint was written with. A checkpoint written for other
        data, other parameters, another integer ``random_state`` or more
        epochs than ``epochs`` is refused with a ValueError that says which.

    dp_epsilon : float or None, default=None
        Train with differential privacy at this epsilon (needs ``pip install
        "gan-augment[privacy]"``, i.e. Opacus, whose accountant composes it).
        Everything learned from the rows goes through a Gaussian mechanism,
        composed by Opacus's RDP accountant (``dp_method`` says which); the
        :doc:`privacy guide <privacy>` says how each released quantity is
        covered. The guarantee covers the fitted model and what :meth:`sample`
        and :meth:`sample_dataset` generate, not the output of
        ``fit_resample``, which holds the real rows. None trains without DP.

    dp_delta : float or None, default=None
        The delta of the guarantee; None is ``1 / (10 * n_samples)``.

    dp_max_grad_norm : float, default=1.0
        Per-example gradient clipping bound of DP-SGD.

    dp_domain : dict or None, default=None
        Public knowledge of the columns, which then costs no budget: column
        (name, or index for arrays) -> ``(low, high)`` bounds for a continuous
        column (values outside are clipped), or a list of the categories of a
        categorical one (within the column's categories, for a ``category``
        dtype). ``bool`` columns need no entry; a ``category`` dtype is no
        declaration (``astype("category")`` takes its categories from the
        data). Undeclared bounds (to an octave) and category sets are read from
        noisy counts (a category held by too few rows to stand out of the
        noise is then dropped).

    dp_method : {{"auto", "pairs", "marginals", "dp-sgd"}}, default="auto"
        With ``dp_epsilon``, how the rows are learned. ``"auto"`` is
        ``"pairs"`` for tables of fewer than 5,000 rows and ``"marginals"``
        for larger ones, where the marginals' classifiers scored higher:

        * ``"pairs"``: half of the budget goes to noisy counts (the domains,
          and per class every categorical column's categories and every
          continuous column's histogram), the other half to marginals of
          pairs of columns within each class, chosen one at a time by the
          exponential mechanism where a generator fitted to the counts so
          far is furthest from the data, and measured with the Gaussian
          mechanism (AIM's select-measure loop). That generator (GEM) is
          fitted to every measurement; the GAN is then trained, without DP
          (post-processing), on a table drawn from it.
        * ``"marginals"``: the whole budget goes to noisy counts, per class, of
          every column's categories or histogram bins; the GAN is trained on
          a table drawn from them, its columns independent within a class.
        * ``"dp-sgd"``: the discriminator is trained with DP-SGD, and noisy
          counts (class sizes, category sets and frequencies, the continuous
          columns' bounds and modes) cost it 20% of the budget on a small
          table and down to 5% on a large one.

        On Adult at epsilon 1, classifiers trained on the pairs' rows scored
        higher than on the marginals' from 700 to 2,500 rows and lower at
        8,000 and 32,561 (where the pairs kept the dependences between
        columns better), and the marginals' higher than DP-SGD's at every
        size; the :doc:`privacy guide <privacy>` gives the figures.

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

    conv_width : int, default=32
        Images only: channels of the discriminator's first and the
        generator's last hidden layer; they double at each layer towards 4x4.

    spectral_norm : bool, default=False
        Images only: spectral normalisation of the discriminator's
        convolutions (Miyato et al., 2018).

    minibatch_std : bool, default=False
        Images only: give the discriminator the batch's feature standard
        deviation (Karras et al., 2018) to penalise generators without variety.

    augment : str, "auto" or None, default="auto"
        Images only: differentiable augmentation of every image the
        discriminator scores, real and generated alike (DiffAugment, Zhao et
        al. 2020): transforms among ``"translation"``, ``"cutout"`` and
        ``"colour"``, separated by commas. ``"auto"``: none for tables;
        for images see the images guide. None: no augmentation.

    augment_strength : float in [0, 1] or "adaptive", default="adaptive"
        Images only: the probability of each transform per image.
        ``"adaptive"`` (ADA, Karras et al. 2020): starts at 0 and rises while
        more than 60 % of the real images score above the generated ones' mean,
        falls otherwise.

    pretrain : {{"autoencoder"}} or None, default=None
        Images only: start the GAN from an autoencoder trained on all classes
        (BAGAN, Mariani et al. 2018): the generator is its decoder, and the
        discriminator's convolutions start from its encoder's.

    image_conditioning : {{"embedding", "batchnorm"}}, default="embedding"
        Images only: how the class enters the generator: a class embedding
        beside the noise, or that and class-conditional batch norm (each
        class its own batch-norm scale and shift, as in BigGAN).

    latent_residual : bool or "auto", default="auto"
        Images, ``generator="latent"``: add to each decoded interpolation the
        residual of the training image it started from (that image minus its
        reconstruction), so generated images keep the fine detail the
        autoencoder blurs away; an interpolation weight of 0 then gives the
        training image itself. The model then holds the training images.
        ``"auto"``: see the images guide (ignored by the other generators;
        True is refused with them).

    latent_transfer : float >= 0 or "auto", default="auto"
        Images, ``generator="latent"``: how new codes are drawn. With 0, a new
        image's code lies between a training image of its class and one of
        its 5 nearest neighbours in the class (DeepSMOTE). With ``s > 0``, it
        is the code of a training image of its class moved by ``u * s * (b -
        a)``, ``u`` uniform in [0, 1], where ``a`` is the code of a training
        image of any class and ``b`` that of one of its 5 nearest neighbours
        in its class: the variation between neighbouring images of the common
        classes (stroke, slant, width) is carried over to the rare ones, so a
        class of a few images gets more than their blends. ``"auto"``: see
        the images guide (0 for the other generators; a value above 0 is
        refused with them).

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

    classifier_weight : float or "auto", default="auto"
        Weight of an auxiliary classifier loss in the generator's objective
        (tables only; AC-GAN, Odena et al. 2017; clipped as Engelmann & Lessmann
        2021 advise so that it cannot dominate). Before training, a small
        classifier is fitted on the real rows (class-balanced); the generator is
        then penalised, for each row it makes for class ``c``, by
        ``max(0, cross_entropy - log 2)``: only rows that the classifier does
        not place in ``c`` with probability above one half add to the loss, so
        generated rows are pushed out of other classes' regions but not towards
        a prototype of their own. 0 turns it off. ``"auto"`` is 0.3 for tables,
        or 0 under differential privacy (the classifier reads the real rows
        without noise), in data-parallel training (each process would fit its
        own classifier on its shard) and for images; a weight above 0 is
        refused there. On the quality benchmark's full protocol 0.3 lifted the
        default's PR-AUC without costing G-mean (see the benchmarks guide).

    feature_matching : float or "auto", default="auto"
        Weight of feature matching (Salimans et al., 2016) in the generator's
        objective (tables only): the squared distance between the mean
        discriminator features (its last hidden layer) of the batch's real
        packs and of its generated packs, a remedy for mode collapse. 0 turns it
        off. ``"auto"`` is 1.0, or 0 under differential privacy (it passes real
        rows' features to the generator without noise) and for images; a
        weight above 0 is refused there. On the quality benchmark's screen it
        lifted the generated rows alone from below SMOTE to level with it, for
        1.2x the fit time (see the benchmarks guide).

    n_jobs : int or None, default=None
        Threads that torch and the BLAS libraries use while fitting and
        generating (set for the call, then restored), and that fit the
        continuous columns' mixtures side by side (1.4-1.6x faster on 2 cores;
        the mixtures are the same whatever ``n_jobs``). None is 1, -1 all cores
        (joblib's convention). CPU kernels sum in another order on another
        number of threads, so the rows depend on this number: with it fixed,
        a fit gives the same rows whatever the environment's thread settings
        (inside ``GridSearchCV(n_jobs=...)`` workers too), for the same torch
        build and CPU kind.

    distributed : bool or "auto", default="auto"
        Data-parallel training across the processes of a ``torch.distributed``
        process group (tables only): ``"auto"`` trains one model across the
        group when one of several processes is initialised, or starts one from
        ``torchrun``'s environment; ``True`` requires one; ``False`` fits in
        this process alone (e.g. one model per process). Every process passes
        the same ``X``, ``y`` and parameters; each trains on its shard of the
        rows with ``batch_size / world_size`` rows per step, and all end with
        the same model. See the scaling-out guide.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows to generate. Under DP, from the noisy
        class sizes (the exact ones would give the class sizes away).
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
        0.5 at equilibrium; raw scores for the other losses). Under DP only
        ``generator_loss`` and ``d_fake``: the other two are computed on real
        rows without noise.
    n_epochs_ : int
        Epochs trained (fewer than asked when training was interrupted or
        stopped early); ``history_`` has one row per epoch.
    n_steps_ : int
        Generator steps trained.
    best_epoch_ : int or None
        With ``early_stopping``, the epoch whose generator was kept (the best
        validation score among ``history_``'s, also after an interruption);
        None otherwise, or when training ended before the first score.
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
        With ``dp_epsilon``: DP-SGD's noise multiplier (None with
        ``dp_method="pairs"`` or ``"marginals"``, which run no DP-SGD).
    dp_history_ : list of [noise_multiplier, sample_rate, steps] or None
        With ``dp_epsilon``: the Gaussian mechanisms composed, in the form of
        Opacus's ``RDPAccountant.history`` (the statistics' releases: domains,
        when some are read from the data, and frequencies; then the DP-SGD steps), so the accounting can be checked independently.
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
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions(SIZE_RULES)],
        "embedding_dim": [Interval(Integral, 1, None, closed="left"), StrOptions(SIZE_RULES)],
        "generator": [StrOptions({"auto", "conditional", "anchored", "latent"})],
        "generator_dims": ["array-like", StrOptions(SIZE_RULES)],
        "discriminator_dims": ["array-like", StrOptions(SIZE_RULES)],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_critic": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "pac": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "loss": [StrOptions(set(LOSSES) | {"auto"})],
        "max_modes": [Interval(Integral, 1, None, closed="left")],
        "max_categories": [Interval(Integral, 2, None, closed="left"), None],
        "device": [StrOptions({"auto", "cpu", "cuda", "mps"}), torch.device],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "validation_score": [StrOptions({"mmd", "c2st", "utility"})],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "resume": ["boolean"],
        "dp_epsilon": [Interval(Real, 0, None, closed="neither"), None],
        "dp_delta": [Interval(Real, 0, 1, closed="neither"), None],
        "dp_max_grad_norm": [Interval(Real, 0, None, closed="neither")],
        "dp_domain": [dict, None],
        "dp_method": [StrOptions({"auto", "pairs", "marginals", "dp-sgd"})],
        "verbose": ["verbose"],
        "model": [StrOptions({"auto", "tabular", "image"})],
        "image_shape": ["array-like", None],
        "conv_width": [Interval(Integral, 1, None, closed="left")],
        "spectral_norm": ["boolean"],
        "minibatch_std": ["boolean"],
        "augment": [str, None],
        "augment_strength": [Interval(Real, 0, 1, closed="both"), StrOptions({"adaptive"})],
        "pretrain": [StrOptions({"autoencoder"}), None],
        "image_conditioning": [StrOptions({"embedding", "batchnorm"})],
        "latent_residual": ["boolean", StrOptions({"auto"})],
        "latent_transfer": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "synthetic_filter": [StrOptions({"neighbours"}), None],
        "filter_candidates": [Interval(Real, 1, None, closed="left")],
        "interpolation": [Interval(Real, 0, 1, closed="both")],
        "classifier_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "feature_matching": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "n_jobs": [Integral, None],
        "distributed": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        categorical_features="auto",
        epochs="auto",
        batch_size="auto",
        embedding_dim="auto",
        generator="auto",
        generator_dims="auto",
        discriminator_dims="auto",
        learning_rate=2e-4,
        n_critic="auto",
        pac="auto",
        loss="auto",
        max_modes=10,
        max_categories=100,
        device="auto",
        precision="float32",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        validation_score="mmd",
        checkpoint_dir=None,
        checkpoint_every=10,
        resume=False,
        dp_epsilon=None,
        dp_delta=None,
        dp_max_grad_norm=1.0,
        dp_domain=None,
        dp_method="auto",
        verbose=False,
        model="auto",
        image_shape=None,
        conv_width=32,
        spectral_norm=False,
        minibatch_std=False,
        augment="auto",
        augment_strength="adaptive",
        pretrain=None,
        image_conditioning="embedding",
        latent_residual="auto",
        latent_transfer="auto",
        synthetic_filter=None,
        filter_candidates=2.0,
        interpolation=0.5,
        classifier_weight="auto",
        feature_matching="auto",
        n_jobs=None,
        distributed="auto",
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.categorical_features = categorical_features
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.generator = generator
        self.generator_dims = generator_dims
        self.discriminator_dims = discriminator_dims
        self.learning_rate = learning_rate
        self.n_critic = n_critic
        self.pac = pac
        self.loss = loss
        self.max_modes = max_modes
        self.max_categories = max_categories
        self.device = device
        self.precision = precision
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.validation_score = validation_score
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_domain = dp_domain
        self.dp_method = dp_method
        self.verbose = verbose
        self.model = model
        self.image_shape = image_shape
        self.conv_width = conv_width
        self.spectral_norm = spectral_norm
        self.minibatch_std = minibatch_std
        self.augment = augment
        self.augment_strength = augment_strength
        self.pretrain = pretrain
        self.image_conditioning = image_conditioning
        self.latent_residual = latent_residual
        self.latent_transfer = latent_transfer
        self.synthetic_filter = synthetic_filter
        self.filter_candidates = filter_candidates
        self.interpolation = interpolation
        self.classifier_weight = classifier_weight
        self.feature_matching = feature_matching
        self.n_jobs = n_jobs
        self.distributed = distributed

    # -- validation and fitting --------------------------------------------------

    def _check_X_y(self, X, y):
        """Validate ``y`` like imbalanced-learn and ``X`` as its domain (tables or
        images) requires; the domain is kept for the fit that follows."""
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        domain = choose_domain(X, self.model, self.image_shape)
        X, description = domain.check_input(self, X, y)
        self._input = (domain, description)
        return X, y, binarize_y

    @_fit_context(prefer_skip_nested_validation=True)
    @_on_own_threads
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
        self._fit(X, y)
        return self

    @_on_own_threads
    def _fit_resample(self, X, y):
        fit = self._fit(X, y)
        if fit.options.privacy is not None and fit.options.interpolation > 0:
            warn_user(
                f"With interpolation={fit.options.interpolation}, part of the rows "
                "fit_resample adds are interpolated between real rows (SMOTE): "
                "dp_epsilon does not cover them, only the generated ones (and the "
                "fitted model, and what sample, sample_dataset and write_dataset "
                "return). Use interpolation=0 for added rows that are all covered.",
                PrivacyBudgetWarning,
            )
        # The fit's own seeds: with random_state=None those of a resumed
        # checkpoint, so that a resumed fit_resample adds the same rows.
        source = fit.domain.resampler(self.model_, X, fit.y_codes, fit.options, fit.seeds)
        new, labels = [], [y]
        for label, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            new.append(source.rows(self._class_index(label), n_samples, fit.rng))
            labels.append(np.full(n_samples, label, dtype=y.dtype))
        return append_rows(X, new), np.concatenate(labels)

    def _prepare(self, y) -> tuple[Domain, Any, Options, torch.device]:
        """The checks between validation and training: options, class counts,
        device, and what the domain refuses."""
        domain, description = self.__dict__.pop("_input")
        group = parallel.current(self.distributed)
        options = resolve(self.get_params(), domain.defaults, n_rows=len(y), parallel=group)
        check_class_counts(y, self.sampling_strategy_, options.generator == "latent")
        device = resolve_device(self.device)
        domain.check_options(options, description, len(y))
        return domain, description, options, device

    def check_input(self, X, y) -> None:
        """Make every check that ``fit`` makes before training, and train nothing.

        The estimator is left as it was. Used by the command line to tell the
        user's mistakes (bad parameters or data) from failures in training.

        Raises
        ------
        ValueError, TypeError
            What ``fit`` would raise for these parameters and data before its
            first training step (scikit-learn's ``InvalidParameterError`` is a
            ValueError).
        """
        probe = clone(self)
        probe._validate_params()
        check_classification_targets(y)
        _, y, _ = probe._check_X_y(X, y)
        probe.sampling_strategy_ = check_sampling_strategy(
            probe.sampling_strategy, y, probe._sampling_type
        )
        probe._prepare(y)

    def _fit(self, X, y) -> _Fit:
        """Train the model on validated data and set the fitted attributes."""
        domain, description, options, self.device_ = self._prepare(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        result = fit_model(
            domain, X, y_codes, self.classes_, description, options,
            Seeds(self.random_state), self.device_,
        )
        privacy = result.privacy
        if privacy is not None:
            # The saved strategy must not give away the exact class sizes.
            from .privacy.setup import released_sampling_strategy

            self.sampling_strategy_ = released_sampling_strategy(
                self.sampling_strategy, self.classes_, result.model.class_weights,
                self._sampling_type,
            )
        self._set_fitted(
            result.model,
            history_=result.history,
            n_epochs_=result.n_epochs,
            n_steps_=result.n_steps,
            best_epoch_=result.best_epoch,
            dp_epsilon_spent_=None if privacy is None else privacy.epsilon_spent,
            dp_delta_=None if privacy is None else privacy.delta,
            dp_noise_multiplier_=None if privacy is None else privacy.noise_multiplier,
            dp_history_=None if privacy is None else privacy.history,
        )
        return _Fit(domain, options, y_codes, result.rng, result.seeds)

    def _set_fitted(self, model, **attributes) -> None:
        self.model_ = model
        for name, value in {**model.fitted_attributes(), **attributes}.items():
            setattr(self, name, value)
        # The history names its loss, so that a plot of it alone can tell
        # probabilities from raw scores.
        self.history_.attrs["loss"] = resolved_loss(self.get_params())

    @property
    def generator_(self) -> torch.nn.Module:
        """The trained generator (in eval mode)."""
        return self.model_.generator

    @property
    def transformer_(self):
        """The fitted :class:`~gan_augment.tabular.transformer.TabularTransformer` (tables)."""
        return self.model_.transformer

    def _class_index(self, label: Any) -> int:
        where = np.flatnonzero(self.classes_ == label)
        if not where.size:
            raise ValueError(
                f"y={label!r} is not a class seen in fit; the classes are "
                f"{self.classes_.tolist()}."
            )
        return int(where[0])

    # -- generation -----------------------------------------------------------------

    @_on_own_threads
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
        check_is_fitted(self, "model_")
        n_samples = check_n_samples(n_samples)
        class_index = self._class_index(y)
        rng = Seeds(self.random_state).torch("sample", self.device_)
        return self.model_.generate(class_index, n_samples, rng)

    @_on_own_threads
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

        check_is_fitted(self, "model_")
        seed = Seeds(self.random_state).integer("export")
        chunks = list(iter_synthetic(self.model_, n_samples, class_distribution, seed=seed))
        if not chunks:
            return self.model_.empty(), self.classes_[:0]
        return append_rows(chunks[0][0], [X for X, _ in chunks[1:]]), np.concatenate(
            [y for _, y in chunks]
        )

    @_on_own_threads
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

        check_is_fitted(self, "model_")
        if parallel.is_secondary(self.distributed):
            return Path(path)  # rank 0 writes it
        return write_synthetic(
            self.model_, path, n_samples, class_distribution, target=target,
            progress=progress, seed=Seeds(self.random_state).integer("export"),
        )

    def to_dask(
        self,
        n_samples: int,
        npartitions: int | None = None,
        class_distribution="original",
        *,
        target: str = "target",
    ):
        """A synthetic data set of ``n_samples`` rows as a Dask DataFrame, made on Dask's workers.

        Partition ``i`` is generated from the ``i``-th seed spawned from the
        estimator's export seed, so with an integer ``random_state`` the rows
        are the same whatever the number of workers (for the same
        ``npartitions``); each worker holds at most a partition's rows. Write
        it with Dask's own ``to_parquet``. Needs ``pip install
        "gan-augment[distributed]"``; see the scaling-out guide.

        Parameters
        ----------
        n_samples : int
        npartitions : int or None, default=None
            None: one partition per million rows.
        class_distribution : "original", "balanced" or dict, default="original"
            As for :meth:`sample_dataset`.
        target : str, default="target"
            Name of the label column (the last one).

        Returns
        -------
        dask.dataframe.DataFrame
            Indexed ``0 .. n_samples - 1``; partitions are generated when
            computed (on the CPU, ``n_jobs`` torch threads each).

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from gan_augment import GANOversampler
        >>> X, y = make_classification(n_samples=200, weights=[0.9], random_state=0)
        >>> model = GANOversampler(epochs=2, random_state=0).fit(X, y)
        >>> frame = model.to_dask(1_000, npartitions=4)
        >>> frame.npartitions, len(frame.compute(scheduler="synchronous"))
        (4, 1000)
        """
        from .partitions import to_dask

        check_is_fitted(self, "model_")
        return to_dask(
            self.model_, n_samples, npartitions, class_distribution, target=target,
            seed=Seeds(self.random_state).integer("export"), n_jobs=self.n_jobs,
        )

    # -- persistence ----------------------------------------------------------------

    def save(self, path) -> Path:
        """Save the fitted model to ``path`` in a safe, portable format.

        The file holds the generator's weights (a state dict, read back with
        ``torch.load(weights_only=True)``) and JSON metadata: parameters, column
        schema, transformer state, classes, history and versions. Loading it
        never unpickles arbitrary objects, and a CUDA-trained model loads on a
        CPU-only machine. The file is written atomically. With
        ``generator="anchored"`` it also holds the training rows (encoded)
        that the generator is anchored on: real data.

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
        check_is_fitted(self, "model_")
        if parallel.is_secondary(self.distributed):
            return Path(path)  # rank 0 writes it
        fitted = {name: getattr(self, name, None) for name in _SAVED}
        fitted["sampling_strategy_"] = dict(self.sampling_strategy_)
        fitted["history_"] = {k: list(v) for k, v in self.history_.reset_index().items()}
        return persistence.save(path, self.get_params(deep=False), fitted, self.model_)

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
            If the file is truncated, corrupted, not a gan-augment model,
            written in a newer format version, over the size caps, or holds
            parameters or content that do not pass validation; the message
            names the file.
        """

        def check_params(params: dict) -> None:
            # The same validation fit runs, before the file's parameters
            # decide anything (an unknown name fails in the constructor).
            cls(**params)._validate_params()

        params, fitted, model = persistence.load(path, device, check_params, required=_SAVED)
        if params.get("dp_epsilon") is not None and "dp_method" not in params:
            # Written before dp_method existed: DP-SGD was the only method.
            params = {**params, "dp_method": "dp-sgd"}
        estimator = cls(**params)
        if fitted["feature_names_in_"] is None:
            del fitted["feature_names_in_"]
        estimator._set_fitted(
            model, device_=model.device, **{k: fitted[k] for k in _SAVED if k in fitted}
        )
        return estimator

    # -- pickling -----------------------------------------------------------------

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        model = state.get("model_")
        if model is not None and self.device_.type != "cpu":
            # Pickle the generator's CPU copy so a CUDA-trained model loads on a
            # machine without CUDA (skorch does the same).
            state["model_"] = model.to_cpu()
            state["device_"] = torch.device("cpu")
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

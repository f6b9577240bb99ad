"""The tabular domain: input checks, the training setup and what ``fit_resample`` adds.

See :mod:`gan_augment.domains` for the contract. Tables are described by a
:class:`~gan_augment.schema.TableSchema`, encoded by the
:class:`~gan_augment.tabular.transformer.TabularTransformer` (or, under
differential privacy, by one built from noisy statistics in
:mod:`gan_augment.privacy.setup`) and trained with the residual generator and
the packed projection discriminator.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
import torch
from imblearn.utils import check_sampling_strategy
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

from ..options import TABULAR, Options, refuse_parallel, refuse_unavailable
from ..parallel import shard_rows
from ..resampling import table_rows
from ..schema import TableSchema, check_finite
from ..seeding import Seeds
from ..training import EarlyStopping, TrainingSetup
from .anchors import AnchoredBatches
from .auxiliary import fit_auxiliary
from .conditions import GenerationConditions, generation_conditions
from .data import TabularBatches
from .model import TabularModel
from .networks import Discriminator, Generator, initialise
from .transformer import OutputLayout, TabularTransformer
from .validation import C2STScore, MMDScore, UtilityScore

__all__ = ["TABLES", "TabularDomain", "validation_split"]

logger = logging.getLogger(__name__)

# With early_stopping, the generator is scored about this often (generator steps).
_VALIDATION_STEPS = 50
# Held-out rows per class, at least, for the scores that classify held-out
# rows ("c2st", "utility"): with one row, a class's accuracy is 0 or 1.
_MIN_HELD_OUT = {"mmd": 0, "c2st": 2, "utility": 2}


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


def validation_split(
    y_codes: np.ndarray,
    n_classes: int,
    validation_fraction: float | None,
    rng: np.random.Generator,
    min_held_out: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices to train on and to hold out for early stopping.

    ``validation_fraction`` of each class is held out, and at least
    ``min_held_out`` rows, never leaving fewer than 2 rows to train on. With
    ``validation_fraction=None`` (no early stopping) every row trains, and no
    random number is drawn.

    Examples
    --------
    >>> y_codes = np.array([0] * 20 + [1] * 5)
    >>> _, held_out = validation_split(y_codes, 2, 0.1, np.random.default_rng(0))
    >>> np.bincount(y_codes[held_out]).tolist()
    [2]
    >>> _, held_out = validation_split(y_codes, 2, 0.1, np.random.default_rng(0), 2)
    >>> np.bincount(y_codes[held_out]).tolist()
    [2, 2]
    """
    every_row = np.arange(len(y_codes))
    if validation_fraction is None:
        return every_row, every_row[:0]
    held_out = []
    for c in range(n_classes):
        rows = rng.permutation(np.flatnonzero(y_codes == c))
        n_val = min(
            max(int(validation_fraction * len(rows)), min_held_out), len(rows) - 2
        )
        held_out.append(rows[: max(n_val, 0)])
    val_rows = np.sort(np.concatenate(held_out))
    return np.setdiff1d(every_row, val_rows), val_rows


def _validation_score(
    options: Options,
    classes: np.ndarray,
    y_codes: np.ndarray,
    encoded: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    conditions: GenerationConditions,
    layout: OutputLayout,
    device: torch.device,
    seed: int,
) -> MMDScore | C2STScore | UtilityScore:
    """The early-stopping score that ``options.validation_score`` names."""
    held_out = (encoded[val_rows], y_codes[val_rows])
    shared = (conditions, layout, options.noise_dim, device, seed)
    if options.validation_score == "mmd":
        return MMDScore(*held_out, *shared)
    if options.validation_score == "c2st":
        return C2STScore(*held_out, *shared)
    # The rows fit_resample adds to each class of the whole table (imblearn's
    # rule, as the estimator resolved it), scaled to the class's rows trained on.
    strategy = check_sampling_strategy(
        options.given["sampling_strategy"], classes[y_codes], "over-sampling"
    )
    counts = np.bincount(y_codes, minlength=len(classes))
    trained = np.bincount(y_codes[train_rows], minlength=len(classes))
    n_added = {
        code: int(round(strategy.get(label, 0) * trained[code] / counts[code]))
        for code, label in enumerate(classes)
    }
    return UtilityScore(
        *held_out, encoded[train_rows], y_codes[train_rows], n_added, *shared
    )


def _fit_transformer(
    options: Options, continuous: np.ndarray, categorical: np.ndarray, rng: np.random.Generator
) -> TabularTransformer:
    """The transformer of the table; in data-parallel training fitted by rank 0
    and broadcast, so that every process encodes with the same modes (mixtures
    fitted on machines that round differently could differ)."""
    group = options.parallel
    transformer = None
    if group is None or group.is_main:
        transformer = TabularTransformer(
            max_modes=options.max_modes, max_categories=options.max_categories
        ).fit(continuous, categorical, rng, n_jobs=options.given.get("n_jobs"))
    if group is not None:
        # With rank 0's stream too, every rank then encodes the rows alike.
        transformer, state = group.broadcast_value((transformer, rng.bit_generator.state))
        rng.bit_generator.state = state
    return transformer


class TabularDomain:
    """Tables: arrays and DataFrames of continuous and categorical columns."""

    defaults = TABULAR

    def check_input(self, estimator: Any, X: Any, y: np.ndarray) -> tuple[Any, TableSchema]:
        """Validate like imbalanced-learn, but keep DataFrames (and their dtypes)
        intact, accept non-numeric columns, and name columns with NaN/inf."""
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
        validate_data(estimator, X=X, y=y, reset=True, skip_check_array=True)
        return X, TableSchema.from_data(X, estimator.categorical_features)

    def check_options(self, options: Options, schema: TableSchema, n_rows: int) -> None:
        """Under differential privacy, refuse the options that would break the
        guarantee (``generator="anchored"`` among them), and a bad ``dp_domain``;
        and the options made for images."""
        augment = options.given["augment"]
        refuse_unavailable("tables", (
            ("generator='latent'", options.generator == "latent",
             "latent interpolation decodes images", "with generator='conditional' or 'anchored'"),
            (f"augment={augment!r}", augment not in (None, "auto"),
             "its transforms (translation, cutout, colour) are defined on images",
             "with augment='auto' or None"),
            (f"pretrain={options.pretrain!r}", options.pretrain is not None,
             "the autoencoder start is built for the image networks", "with pretrain=None"),
            ("latent_residual", options.latent_residual,
             "it adds detail to latent image interpolations", "with latent_residual=False"),
            ("latent_transfer", options.latent_transfer > 0,
             "it moves latent image codes", "with latent_transfer=0"),
            (f"image_conditioning={options.image_conditioning!r}",
             options.image_conditioning != "embedding",
             "it conditions the image generator's batch norm",
             "with image_conditioning='embedding'"),
        ))
        refuse_parallel(options, (
            ("dp_epsilon", options.privacy is not None,
             "the DP-SGD accounting here is that of one process (Opacus's "
             "DPDDP would be needed to clip and noise across processes)"),
            ("generator='anchored'", options.generator == "anchored",
             "its anchors and neighbours are rows of one process's shard"),
            (f"classifier_weight={options.classifier_weight}", options.classifier_weight > 0,
             "each process would fit its own auxiliary classifier on its shard"),
        ))
        if options.parallel is not None:
            # Before any work: the same parameters fail alike on every rank.
            options.parallel.per_rank_batch(options.batch_size, options.pac)
        if options.privacy is not None:
            from ..privacy.setup import check_private_options

            check_private_options(options, schema, n_rows)

    def setup(
        self,
        X: Any,
        y_codes: np.ndarray,
        classes: np.ndarray,
        schema: TableSchema,
        options: Options,
        device: torch.device,
        seeds: Seeds,
    ) -> TrainingSetup:
        np_rng = seeds.numpy("encoding")
        rng = seeds.torch("training", device)
        group = options.parallel
        n_classes = len(classes)
        start = time.perf_counter()
        continuous, categorical = schema.split(X)
        train_rows, val_rows = validation_split(
            y_codes, n_classes,
            options.validation_fraction if options.early_stopping else None, np_rng,
            _MIN_HELD_OUT[options.validation_score],
        )
        epochs, steps_per_epoch = options.budget(len(train_rows))
        accounting = None
        # A checkpoint must have been written for the same raw table: not for
        # its encoding, which draws from the seeds (a resumed fit with
        # random_state=None encodes again with the checkpoint's seeds).
        fingerprint = [continuous, categorical, y_codes]
        transformer = source = None
        if options.privacy is not None:
            from ..privacy.setup import setup_private

            private = setup_private(
                schema, continuous, categorical, y_codes, n_classes,
                epochs * steps_per_epoch * options.n_critic, options, device, np_rng,
            )
            transformer, source, schema = private.transformer, private.source, private.schema
            conditions, class_weights = private.conditions, private.class_weights
            accounting = private.accounting
            fingerprint = None  # DP fits do not checkpoint (setup_private says why)
            if private.table is not None:
                # dp_method="pairs" or "marginals": the table drawn from the released
                # counts stands in for the rows (no hold-out: DP refuses one).
                continuous, categorical, y_codes = private.table
                train_rows, val_rows = np.arange(len(y_codes)), np.empty(0, dtype=np.int64)
                epochs, steps_per_epoch = options.budget(len(y_codes))
        if source is None:
            if transformer is None:
                transformer = _fit_transformer(options, continuous, categorical, np_rng)
            encoded, category_codes = transformer.transform(continuous, categorical, np_rng)
            # Without a hold-out, a view: the encoded set is never copied.
            rows = train_rows if val_rows.size else slice(None)
            generation = None
            if group is not None:
                # Generation follows the whole table's categories; each process
                # trains on its own shard of the rows.
                generation = generation_conditions(
                    y_codes[rows], category_codes[rows], n_classes, transformer.n_categories
                )
                rows = train_rows[shard_rows(y_codes[train_rows], group, seeds.integer("training"))]
            auxiliary = None
            if options.classifier_weight > 0:
                auxiliary = fit_auxiliary(
                    torch.as_tensor(encoded[rows], device=device), y_codes[rows],
                    n_classes, rng,
                )
            data = (
                encoded[rows], y_codes[rows], category_codes[rows], n_classes,
                transformer.n_categories, transformer.layout_, device,
            )
            terms = dict(auxiliary=auxiliary, auxiliary_weight=options.classifier_weight)
            if options.generator == "anchored":
                source = AnchoredBatches(
                    *data, continuous[rows], pack_size=options.pac, **terms
                )
            else:
                source = TabularBatches(*data, pack_size=options.pac, **terms)
            conditions = source.generation if generation is None else generation
            class_weights = np.bincount(y_codes, minlength=n_classes).astype(np.float64)
        layout = transformer.layout_
        logger.info(
            "Encoded %d rows x %d columns (%d categorical) into %d features in %.1f s.",
            len(y_codes), schema.n_features, len(schema.categorical_indices), layout.width,
            time.perf_counter() - start,
        )
        generator = initialise(
            Generator(options.noise_dim + source.cond_dim, options.generator_dims, layout.width),
            device,
            rng,
        )
        discriminator = initialise(
            Discriminator(
                layout.width + source.cond_dim, options.discriminator_dims, options.pac,
                n_classes,
            ),
            device,
            rng,
        )
        if group is not None:
            # The networks start from the training stream on every rank (and
            # DistributedDataParallel gives every rank rank 0's weights); each
            # rank draws its batches, noise and Gumbel noise from its own.
            rng = seeds.torch("training", device, rank=group.rank)
        early_stopping = None
        if val_rows.size:
            score = _validation_score(
                options, classes, y_codes, encoded, train_rows, val_rows, conditions,
                layout, device, seeds.integer("validation"),
            )
            every = max(1, -(-_VALIDATION_STEPS // steps_per_epoch))
            early_stopping = EarlyStopping(score, every, options.n_iter_no_change)
        noise = (
            "" if accounting is None
            else f", DP: a table drawn from the released {options.privacy.method}"
            if accounting.dpsgd is None
            else f", DP-SGD noise multiplier {accounting.dpsgd.noise_multiplier:.3g}"
        )
        return TrainingSetup(
            source=source,
            generator=generator,
            discriminator=discriminator,
            model=TabularModel(
                generator, options.noise_dim, classes, class_weights, schema,
                transformer, conditions,
            ),
            rng=rng,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            fingerprint_data=fingerprint,
            early_stopping=early_stopping,
            privacy=accounting,
            description=(
                f"{epochs} epochs x {steps_per_epoch} steps of {options.batch_size} rows, "
                f"{options.generator} generator, loss={options.loss}{noise}"
            ),
        )

    def resampler(
        self, model: TabularModel, X: Any, y_codes: np.ndarray, options: Options, seeds: Seeds
    ):
        return table_rows(model, X, y_codes, options, seeds)


TABLES = TabularDomain()

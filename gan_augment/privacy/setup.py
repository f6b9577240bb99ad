"""The private variant of the tabular setup: everything a DP fit needs before its first step.

From the resolved options (:class:`gan_augment.options.Options`, with its
:class:`~gan_augment.options.PrivacyParams`) and the real rows: the budget
plan, the noisy statistics, the transformer built from them, the Poisson batch
source and the generation conditions. The tabular setup calls
:func:`setup_private` instead of fitting its transformer on the rows, and the
returned :class:`PrivateAccounting` turns the DP-SGD steps taken into the
epsilon spent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
import torch

from ..exceptions import PrivacyBudgetWarning, warn_user
from ..options import Options
from ..schema import TableSchema
from ..tabular.conditions import GenerationConditions
from ..tabular.transformer import TabularTransformer
from .accounting import PrivacyPlan, plan_budget, plan_statistics
from .batches import PoissonBatches
from .dpsgd import DPSGD
from .marginal_fit import MarginalGenerator
from .marginals import marginal_table
from . import measurements
from .measurements import cut_cells, initial_measurements, measure_pairs
from .statistics import MARGINALS_DOMAIN_SHARE, frequency_noise_scale, release_statistics

__all__ = [
    "PrivacyResult",
    "PrivateAccounting",
    "PrivateData",
    "check_private_options",
    "released_sampling_strategy",
    "setup_private",
]


@dataclass
class PrivacyResult:
    """The guarantee of a finished private fit (the estimator's ``dp_*_`` attributes)."""

    epsilon_spent: float
    delta: float
    noise_multiplier: float | None
    history: list


@dataclass
class PrivateAccounting:
    """The DP-SGD settings of the loop (None when only the statistics are
    released) and the budget they spend."""

    plan: PrivacyPlan
    dpsgd: DPSGD | None

    def finish(self, private_steps: int) -> PrivacyResult:
        """Compose the DP-SGD steps actually taken into the guarantee."""
        plan = self.plan
        if self.dpsgd is not None:
            plan.history.append((plan.sgd_noise, plan.sample_rate, private_steps))
        return PrivacyResult(
            epsilon_spent=plan.spent(),
            delta=plan.delta,
            noise_multiplier=plan.sgd_noise,
            history=[list(entry) for entry in plan.history],
        )


@dataclass
class PrivateData:
    """What the private variant gives the tabular setup instead of fitted data.

    Under DP-SGD, the Poisson batch source and the generation conditions;
    with ``dp_method="marginals"``, ``table`` instead: ``(continuous,
    categorical, y_codes)`` drawn from the released counts, on which the
    setup trains as on rows of its own (``source``, ``conditions`` and
    ``class_weights`` are then None).
    """

    transformer: TabularTransformer
    schema: TableSchema
    accounting: PrivateAccounting
    source: PoissonBatches | None = None
    conditions: GenerationConditions | None = None
    class_weights: np.ndarray | None = None
    table: tuple | None = None


def check_private_options(options: Options, schema: TableSchema, n_rows: int) -> None:
    """Refuse options that would break the DP guarantee, and a bad ``dp_domain``."""
    if options.generator == "anchored":
        raise ValueError(
            "dp_epsilon cannot be combined with generator='anchored': an anchored "
            "model keeps real training rows as its anchors, which no privacy "
            "guarantee covers. Use generator='conditional' (the default) under "
            "differential privacy."
        )
    given = options.given
    # What reads real rows without noise, or would need the accountant's
    # state, breaks either method; the rest only DP-SGD's clipping.
    breaking = {
        "early_stopping=True": options.early_stopping,
        f"validation_score={options.validation_score!r}": options.validation_score != "mmd",
        "checkpoint_dir": options.checkpoint_dir is not None,
    }
    dpsgd = options.privacy.method == "dp-sgd"
    if dpsgd:
        if given.get("precision", "float32") != "float32":
            raise ValueError(
                f"dp_epsilon cannot be combined with precision={given['precision']!r}: "
                "per-example gradients and their norms rounded to bfloat16 could exceed "
                "the clipping bound the noise is calibrated to. Use precision='float32'."
            )
        breaking.update({
            f"pac={given['pac']}": given["pac"] not in ("auto", 1),
            f"loss={given['loss']!r} (its gradient penalty has no per-example "
            "gradients to clip)": given["loss"] == "wgan-gp",
            f"classifier_weight={given['classifier_weight']}": options.classifier_weight > 0,
            f"feature_matching={given['feature_matching']}": options.feature_matching > 0,
        })
    bad = [name for name, on in breaking.items() if on]
    if bad:
        why = (
            "early stopping and each of its validation scores read held-out real "
            "rows without noise, and a checkpoint would need the accountant's state"
        )
        if dpsgd:
            why += (
                "; under DP-SGD, packs of rows are not one privacy unit, the gradient "
                "penalty breaks per-example clipping, and the auxiliary classifier and "
                "feature matching pass real rows to the generator without noise. Leave "
                "pac and loss at 'auto' (pac=1, loss='non-saturating' under DP-SGD)"
            )
        raise ValueError(f"dp_epsilon cannot be combined with {', '.join(bad)}: {why}.")
    _check_domain(options, schema, n_rows)


def _check_domain(options: Options, schema: TableSchema, n_rows: int) -> None:
    """Refuse a bad ``dp_domain``; warn about a ``dp_delta`` too large for ``n_rows``."""
    domain = options.privacy.domain
    if domain is None:
        return
    if not isinstance(domain, dict):
        raise TypeError(
            f"dp_domain must be a dict mapping columns to (low, high) bounds or to "
            f"lists of categories; got {type(domain).__name__}."
        )
    names = schema.names
    for key, value in domain.items():
        if key not in names:
            raise ValueError(
                f"dp_domain names column {key!r}, which is not a column of X "
                f"(columns: {names})."
            )
        if schema.categorical[names.index(key)]:
            values = list(value) if not isinstance(value, str) else None
            if not values or len(set(map(repr, values))) != len(values):
                raise ValueError(
                    f"dp_domain[{key!r}]: a categorical column needs a list of distinct "
                    f"categories; got {value!r}."
                )
            dtype = schema.dtypes[names.index(key)]
            outside = [v for v in values if isinstance(dtype, pd.CategoricalDtype)
                       and v not in set(dtype.categories)]
            if outside:
                # Generated rows of those categories could not take X's dtype.
                raise ValueError(
                    f"dp_domain[{key!r}] declares categories {outside} that the "
                    f"column's category dtype lacks: add them to it "
                    f"(X[{key!r}].cat.add_categories) or leave them out."
                )
        else:
            ok = (
                isinstance(value, (tuple, list))
                and len(value) == 2
                and all(isinstance(v, Real) and np.isfinite(v) for v in value)
                and value[0] < value[1]
            )
            if not ok:
                raise ValueError(
                    f"dp_domain[{key!r}]: a continuous column needs finite bounds "
                    f"(low, high) with low < high; got {value!r}."
                )
    delta = options.privacy.delta
    if delta is not None and delta >= 1 / n_rows:
        warn_user(
            f"dp_delta={delta} is not below 1/n_rows={1 / n_rows:.3g}: "
            "a mechanism that publishes one random row in full would meet it. "
            "Use a smaller dp_delta (the default is 1 / (10 * n_rows)).",
            UserWarning,
        )


def _domains(domain: dict | None, schema: TableSchema) -> tuple[list, list]:
    """Declared bounds and category sets, column by column (None: not declared)."""
    domain = domain or {}
    names = schema.names
    continuous = [
        tuple(map(float, domain[names[i]])) if names[i] in domain else None
        for i in schema.continuous_indices
    ]
    categorical = []
    for i in schema.categorical_indices:
        dtype = schema.dtypes[i]
        if names[i] in domain:
            categorical.append(list(domain[names[i]]))
        elif pd.api.types.is_bool_dtype(dtype):
            # Not read from the data: a boolean column can hold nothing else.
            # (A pandas category dtype is no declaration: astype("category")
            # takes its categories from the data.)
            categorical.append([False, True])
        else:
            categorical.append(None)
    return continuous, categorical


def released_sampling_strategy(
    sampling_strategy, classes: np.ndarray, class_counts: np.ndarray, sampling_type: str
) -> dict:
    """The rows to add per class, from the released noisy class sizes.

    ``sampling_strategy_`` is saved with the model, so under DP it is computed
    as imbalanced-learn computes it, but from the noisy sizes (rounded): from
    the exact ones, and ``n_samples`` (public), it would give the class sizes
    away. A class whose noisy size already meets a dict's target gets 0 rows.
    """
    from imblearn.utils import check_sampling_strategy

    sizes = np.rint(np.maximum(class_counts, 1)).astype(int)
    if isinstance(sampling_strategy, dict):
        index = {label: i for i, label in enumerate(classes.tolist())}
        return {
            label: max(0, int(target) - int(sizes[index[label]]))
            for label, target in sampling_strategy.items()
        }
    try:
        return dict(
            check_sampling_strategy(sampling_strategy, np.repeat(classes, sizes), sampling_type)
        )
    except ValueError:
        # A float ratio that the noisy sizes already meet: nothing to add.
        return {label: 0 for label, size in zip(classes, sizes) if size < sizes.max()}


def _released_schema(schema: TableSchema, categories: list) -> TableSchema:
    """The schema with each category dtype holding the released categories only.

    A category dtype's categories may come from the data, and the schema is
    saved with the model; the released ones (declared or discovered) keep the
    dtype's order, and declared ones outside it follow.
    """
    dtypes = list(schema.dtypes)
    for i, released in zip(schema.categorical_indices, categories):
        dtype = dtypes[i]
        if isinstance(dtype, pd.CategoricalDtype):
            released = list(released)
            own = [c for c in dtype.categories if c in set(released)]
            dtypes[i] = pd.CategoricalDtype(
                own + [c for c in released if c not in set(own)], ordered=dtype.ordered
            )
    return dataclasses.replace(schema, dtypes=dtypes)


def _generation_weights(
    transformer: TabularTransformer, pair_counts: list, n_classes: int
) -> np.ndarray | None:
    """Per class, the probability of each (column, one-hot entry), from noisy counts."""
    if not pair_counts:
        return None
    blocks = []
    for (_, code_map, _), counts, size in zip(
        transformer.code_maps_, pair_counts, transformer.n_categories
    ):
        block = np.zeros((n_classes, size))
        np.add.at(block.T, code_map, counts.T)
        totals = block.sum(axis=1, keepdims=True)
        block = np.where(totals > 0, block / np.where(totals > 0, totals, 1), 1.0 / size)
        blocks.append(block / len(pair_counts))
    return np.concatenate(blocks, axis=1)


#: Adam steps of the marginal generator on the one-way counts, before the first round.
FIRST_FIT_STEPS = 300
#: ... on every measurement so far, after each round.
WARM_STEPS = 100
#: ... and on every measurement, after the last round.
FINAL_FIT_STEPS = 1000


def _measured_table(
    counts, continuous, categorical, y_codes, n_classes, rho, device, rng, plan
) -> tuple:
    """``dp_method="pairs"``: measure pair marginals with ``rho`` (zCDP), fit
    the marginal generator to every measurement and draw the table from it."""
    cells = cut_cells(counts)
    measured = initial_measurements(counts, cells)
    model = MarginalGenerator(
        cells, counts.class_counts, device,
        torch.Generator(device).manual_seed(int(rng.integers(2**63))), warm_steps=WARM_STEPS,
    )
    model.fit(measured, FIRST_FIT_STEPS)
    codes = cells.encode(counts, continuous, categorical)
    plan.history.extend(
        measure_pairs(codes, y_codes, n_classes, cells, measured, model, rho, rng)
    )
    model.fit(measured, FINAL_FIT_STEPS)
    sizes = np.maximum(np.rint(counts.class_counts), 1).astype(int)
    drawn = np.concatenate(model.sample(sizes, rng))
    values = cells.decode(counts, drawn, rng)
    return (*values, np.repeat(np.arange(n_classes), sizes))


def setup_private(
    schema: TableSchema,
    continuous: np.ndarray,
    categorical: np.ndarray,
    y_codes: np.ndarray,
    n_classes: int,
    steps: int,
    options: Options,
    device: torch.device,
    rng: np.random.Generator,
) -> PrivateData:
    """Plan the budget, release the statistics and build the private batch
    source (DP-SGD) or draw the table the GAN trains on (pairs, marginals).

    ``steps`` is the number of DP-SGD steps planned (generator steps times
    ``n_critic``).
    """
    try:
        import opacus  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            'Training with dp_epsilon needs Opacus: pip install "gan-augment[privacy]"'
        ) from exc
    # The options were checked by the domain (check_private_options) before.
    n_rows = len(y_codes)
    privacy = options.privacy
    delta = privacy.delta if privacy.delta is not None else 1 / (10 * n_rows)
    continuous_domains, categorical_domains = _domains(privacy.domain, schema)
    sample_rate = min(1.0, options.batch_size / n_rows)
    undeclared = sum(d is None for d in continuous_domains + categorical_domains)
    discovery = any(d is None for d in categorical_domains)
    tables = privacy.method != "dp-sgd"  # the statistics are all that reads the rows
    if tables:
        plan = plan_statistics(privacy.epsilon, delta, discovery)
    else:
        plan = plan_budget(
            privacy.epsilon,
            delta,
            sample_rate,
            steps,
            discovery=discovery,
            n_rows=n_rows,
            frequency_scale=frequency_noise_scale(
                len(continuous_domains), len(categorical_domains), undeclared
            ),
        )
    names = schema.names
    undeclared = [names[i] for i, d in zip(schema.continuous_indices, continuous_domains) if d is None]
    if undeclared:
        warn_user(
            f"No dp_domain bounds for continuous column(s) {undeclared}: their bounds "
            "are read from noisy histograms, within the statistics' share of the "
            "budget, and tails lost in the noise are clipped. Declare public bounds "
            "as dp_domain={column: (low, high)} to avoid both.",
            PrivacyBudgetWarning,
        )
    category_dtypes = [
        names[i] for i, d in zip(schema.categorical_indices, categorical_domains)
        if d is None and isinstance(schema.dtypes[i], pd.CategoricalDtype)
    ]
    if category_dtypes:
        warn_user(
            f"Column(s) {category_dtypes} have a pandas category dtype but no "
            "dp_domain entry: under differential privacy a dtype's categories count "
            "as read from the data (astype('category') takes them from it), so they "
            "are discovered from noisy counts and rare ones are dropped. If the "
            "categories are public, declare them: dp_domain={column: "
            "list(X[column].cat.categories)}.",
            PrivacyBudgetWarning,
        )
    column_names = (
        [names[i] for i in schema.continuous_indices],
        [names[i] for i in schema.categorical_indices],
    )
    # With dp_method="pairs", the statistics get a share of the zCDP budget
    # (rho falls with the square of the noise) and the pair marginals the rest.
    share = measurements.PAIRS_STATISTICS_SHARE if privacy.method == "pairs" else 1.0
    counts = release_statistics(
        continuous,
        categorical,
        y_codes,
        n_classes,
        continuous_domains,
        categorical_domains,
        plan.statistics_noise / np.sqrt(share),
        plan.discovery_delta,
        rng,
        column_names,
        per_class=privacy.method == "marginals",
        domain_share=MARGINALS_DOMAIN_SHARE if tables else None,
    )
    plan.history.extend(counts.history)
    transformer = TabularTransformer.from_statistics(
        counts, max_modes=options.max_modes, max_categories=options.max_categories
    )
    released = _released_schema(schema, counts.categories)
    if privacy.method == "pairs":
        rho = (1.0 - share) / (2.0 * plan.statistics_noise**2)
        table = _measured_table(
            counts, continuous, categorical, y_codes, n_classes, rho, device, rng, plan
        )
        return PrivateData(transformer, released, PrivateAccounting(plan, None), table=table)
    if privacy.method == "marginals":
        return PrivateData(
            transformer, released, PrivateAccounting(plan, None),
            table=marginal_table(counts, rng),
        )
    encoded, codes = transformer.transform(continuous, categorical, rng)
    weights = _generation_weights(transformer, counts.pair_counts, n_classes)
    class_weights = counts.class_counts / counts.class_counts.sum()
    source = PoissonBatches(
        encoded,
        y_codes,
        codes,
        transformer.n_categories,
        transformer.layout_,
        device,
        sample_rate,
        class_weights,
        weights,
    )
    dpsgd = DPSGD(
        noise_multiplier=plan.sgd_noise,
        max_grad_norm=privacy.max_grad_norm,
        sample_rate=sample_rate,
        expected_batch_size=sample_rate * n_rows,
    )
    conditions = GenerationConditions(n_classes, int(sum(transformer.n_categories)), weights)
    return PrivateData(
        transformer, released, PrivateAccounting(plan, dpsgd), source, conditions,
        counts.class_counts,
    )

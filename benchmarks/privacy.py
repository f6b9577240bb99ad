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
    metrics = {
        "setting": name,
        "fit_seconds": round(fit_seconds, 1),
        "steps": int(model.n_steps_),
        "epsilon_spent": model.dp_epsilon_spent_,
        "delta": model.dp_delta_,
        "noise_multiplier": model.dp_noise_multiplier_,
        **result.metrics,
    }
    print(json.dumps(metrics, indent=1), flush=True)
    return metrics


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", default="auto", help="epochs without DP")
    parser.add_argument("--epochs-dp", type=int, default=15, help="epochs with DP")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument(
        "--dp-discriminator-dims", type=int, nargs="+", default=None,
        help="discriminator widths of the DP run (default: the estimator's)",
    )
    args = parser.parse_args()
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)

    X, y = load_adult("train")
    X_test, y_test = load_adult("test")
    train = X.assign(**{TARGET: y})
    # The holdout gets the training data's category dtypes (Adult's category
    # sets are public: they are listed in adult.names).
    test = X_test.astype(X.dtypes.to_dict()).assign(**{TARGET: y_test})

    rows = []
    if not args.skip_plain:
        rows.append(run("no DP", GANOversampler(epochs=epochs, random_state=0), train, test))
    extra = {}
    if args.dp_discriminator_dims:
        extra["discriminator_dims"] = tuple(args.dp_discriminator_dims)
    rows.append(
        run(
            f"DP epsilon={args.epsilon:g}, delta=1e-5, {args.epochs_dp} epochs"
            + (f", D {extra['discriminator_dims']}" if extra else ""),
            GANOversampler(
                dp_epsilon=args.epsilon, dp_delta=1e-5, epochs=args.epochs_dp,
                random_state=0, **extra,
            ),
            train,
            test,
        )
    )
    table = pd.DataFrame(rows).set_index("setting").T
    text = (
        f"Adult: {len(train)} training rows, {len(test)} holdout rows; torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}\n\n"
        + markdown(table)
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "privacy.md").write_text(text + "\n")
    (args.out / "privacy.json").write_text(json.dumps(rows, indent=2))
    print(text)


if __name__ == "__main__":
    main()

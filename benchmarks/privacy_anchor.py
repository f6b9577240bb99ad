"""gan-augment's private export beside AIM and Private-PGM, on the same splits.

Run: ``python benchmarks/privacy_anchor.py --seeds 0 1 2 3 [--rows 2000]
[--epsilon 1] [--out benchmarks/results] [--skip-aim]`` (from the project's
root, in the package's venv; needs ``../shared/data/adult`` or
``$GAN_AUGMENT_DATA``). Resumable: what a seed's JSON in ``--out`` holds is read
back, and only what it lacks is run (AIM's results are kept in a file of
their own, so deleting a seed's JSON reruns the package and Private-PGM only).

Per seed, on ``privacy.small_adult`` (``--rows`` training rows, as many
disjoint holdout rows, nothing declared to gan-augment), with the same
:func:`gan_augment.privacy.report` and within-class dependence error as
``benchmarks/privacy.py``:

* ``pairs``: ``GANOversampler(dp_epsilon=E, dp_method="pairs")``, the rows of
  its fitted GAN; ``pairs, domain declared``: the same with AIM's declared
  domain as ``dp_domain`` (the like-for-like comparison with AIM);
* ``pairs table``: the table its marginal generator drew, which the GAN
  trained on (the generator fitted to the measurements, without the GAN);
* ``PGM table`` and ``PGM + GAN``: Private-PGM (mbi's mirror descent) fitted
  to the *same* measurements, its samples, and the package's GAN trained on
  them without DP (post-processing, as the package trains on its own table);
* ``AIM``: smartnoise-synth 1.0.8's AIMSynthesizer, with the domain declared
  (public bounds for the continuous columns, cut into 10 bins; the category
  lists of ``adult.names``), sampled with mbi's ``method="sample"``.

AIM and Private-PGM run from a venv of their own (smartnoise-synth pins
Opacus 0.14): ``$GAN_AUGMENT_ANCHOR_VENV``, by default ``../anchor-venv``,
built on first use with ``python3 -m venv ../anchor-venv &&
../anchor-venv/bin/pip install torch==2.13.0 smartnoise-synth==1.0.8``; the
script there is ``benchmarks/anchor_side.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datasets import load_adult  # noqa: E402
from privacy import TARGET, dependence_error, small_adult  # noqa: E402

from gan_augment import GANOversampler  # noqa: E402
from gan_augment.privacy import report  # noqa: E402
from gan_augment.privacy import setup as private_setup  # noqa: E402

#: Public bounds of Adult's continuous columns, declared to AIM (prior knowledge).
ADULT_BOUNDS = {
    "age": (17, 90), "fnlwgt": (10_000, 1_500_000), "education-num": (1, 16),
    "capital-gain": (0, 100_000), "capital-loss": (0, 4_500), "hours-per-week": (1, 99),
}


def anchor_python() -> Path:
    venv = Path(os.environ.get("GAN_AUGMENT_ANCHOR_VENV", HERE.parent.parent / "anchor-venv"))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "torch==2.13.0", "smartnoise-synth==1.0.8"],
            check=True,
        )
    return python


def scores(train: pd.DataFrame, test: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    synthetic = synthetic.astype(train.dtypes.to_dict())
    metrics = report(train, test, synthetic, target=TARGET, random_state=0).metrics
    metrics["within_class_dependence_error"] = dependence_error(train, synthetic)
    return metrics


def as_frame(continuous, categorical, y_codes, schema, train: pd.DataFrame) -> pd.DataFrame:
    """A drawn table (the package's split form) as a frame like ``train``."""
    columns = {}
    for values, i in zip(continuous.T, schema.continuous_indices):
        name = schema.names[i]
        is_int = pd.api.types.is_integer_dtype(train[name].dtype)
        columns[name] = np.rint(values).astype(train[name].dtype) if is_int else values
    for values, i in zip(categorical.T, schema.categorical_indices):
        columns[schema.names[i]] = values
    frame = pd.DataFrame(columns)[list(train.columns.drop(TARGET))]
    return frame.assign(**{TARGET: np.asarray(y_codes)})


def declared_domain() -> dict:
    """What AIM is told of Adult, as a ``dp_domain``: the public bounds and
    the category lists of ``adult.names``."""
    X_all, _ = load_adult("train")
    return {
        **{c: b for c, b in ADULT_BOUNDS.items()},
        **{c: list(X_all[c].cat.categories) for c in X_all.columns if c not in ADULT_BOUNDS},
    }


def fit_pairs(train: pd.DataFrame, epsilon: float, seed: int, domain: dict | None = None):
    """The package's pairs fit, keeping its drawn table and its measurements."""
    kept = {}
    setup, initial = private_setup.setup_private, private_setup.initial_measurements

    def keep_setup(*args, **kwargs):
        kept["private"] = result = setup(*args, **kwargs)
        return result

    def keep_measurements(counts, cells):
        kept.update(counts=counts, cells=cells, measured=initial(counts, cells))
        return kept["measured"]  # measure_pairs appends to this very list

    private_setup.setup_private, private_setup.initial_measurements = keep_setup, keep_measurements
    try:
        model = GANOversampler(
            dp_epsilon=epsilon, dp_method="pairs", dp_domain=domain, random_state=seed
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train.drop(columns=TARGET), train[TARGET])
        seconds = time.perf_counter() - start
    finally:
        private_setup.setup_private, private_setup.initial_measurements = setup, initial
    return model, seconds, kept


def run_seed(args, seed: int, python: Path | None, rows: dict) -> dict:
    """The methods ``rows`` (read back from an earlier run) lacks, added to it."""
    train, test = small_adult(n_rows=args.rows, random_state=seed)
    if "pairs, domain declared" not in rows:
        model, seconds, _ = fit_pairs(train, args.epsilon, seed, declared_domain())
        X_syn, y_syn = model.sample_dataset(len(train), class_distribution="original")
        rows["pairs, domain declared"] = {
            **scores(train, test, X_syn.assign(**{TARGET: y_syn})), "fit_seconds": seconds,
        }
    if "pairs" in rows and ("PGM table" in rows or python is None):
        return rows
    model, seconds, kept = fit_pairs(train, args.epsilon, seed)
    X_syn, y_syn = model.sample_dataset(len(train), class_distribution="original")
    rows["pairs"] = {**scores(train, test, X_syn.assign(**{TARGET: y_syn})),
                     "fit_seconds": seconds, "epsilon_spent": model.dp_epsilon_spent_}
    private = kept["private"]
    table = as_frame(*private.table, private.schema, train)
    rows["pairs table"] = scores(train, test, table)
    if python is None:
        return rows
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cells = kept["cells"]
        measured = np.empty(len(kept["measured"]), dtype=object)
        measured[:] = [(m.columns, m.per_class, m.answer, m.std) for m in kept["measured"]]
        np.savez(tmp / "m.npz", sizes=cells.sizes, n_classes=len(kept["counts"].class_counts),
                 measurements=measured, total=kept["counts"].class_counts.sum())
        subprocess.run([str(python), str(HERE / "anchor_side.py"), "pgm", str(tmp / "m.npz"),
                        str(tmp / "pgm.csv"), "--seed", str(seed)], check=True)
        drawn = pd.read_csv(tmp / "pgm.csv").to_numpy()
        values = cells.decode(kept["counts"], drawn[:, 1:], np.random.default_rng(seed))
        pgm = as_frame(*values, drawn[:, 0], private.schema, train)
        rows["PGM table"] = {**scores(train, test, pgm), **json.load(open(tmp / "pgm.csv.json"))}
        gan = GANOversampler(random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gan.fit(pgm.drop(columns=TARGET), pgm[TARGET])
        X_gan, y_gan = gan.sample_dataset(len(train), class_distribution="original")
        rows["PGM + GAN"] = scores(train, test, X_gan.assign(**{TARGET: y_gan}))
        aim_path = args.out / f"privacy_anchor_aim_{args.rows}_eps{args.epsilon:g}_seed{seed}.json"
        if not args.skip_aim and aim_path.exists():
            rows["AIM"] = json.loads(aim_path.read_text())
        elif not args.skip_aim:
            domain = declared_domain()
            spec = {
                "bounds": ADULT_BOUNDS,
                "categories": {
                    **{c: [str(v) for v in d] for c, d in domain.items() if c not in ADULT_BOUNDS},
                    TARGET: ["0", "1"],
                },
            }
            plain = train.astype({c: str for c in spec["categories"]})
            plain.to_csv(tmp / "train.csv", index=False)
            json.dump(spec, open(tmp / "train.csv.json", "w"))
            delta = 1 / (10 * len(train))
            subprocess.run([str(python), str(HERE / "anchor_side.py"), "aim", str(tmp / "train.csv"),
                            str(tmp / "aim.csv"), "--epsilon", str(args.epsilon),
                            "--delta", str(delta), "--seed", str(seed)], check=True,
                           stdout=subprocess.DEVNULL)
            aim = pd.read_csv(tmp / "aim.csv", dtype={c: str for c in spec["categories"]})
            aim[TARGET] = aim[TARGET].astype(int)
            rows["AIM"] = {**scores(train, test, aim), **json.load(open(tmp / "aim.csv.json"))}
            # AIM does not depend on the package: kept apart, so that reruns reuse it.
            aim_path.write_text(json.dumps(rows["AIM"], indent=1))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--skip-aim", action="store_true", help="AIM takes minutes a seed")
    parser.add_argument("--skip-anchor", action="store_true", help="no AIM, no Private-PGM")
    args = parser.parse_args()
    python = None if args.skip_anchor else anchor_python()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for seed in args.seeds:
        path = args.out / f"privacy_anchor_{args.rows}_eps{args.epsilon:g}_seed{seed}.json"
        done = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps(run_seed(args, seed, python, done), indent=1))
        results[seed] = json.loads(path.read_text())
    lines = [
        f"Adult, {args.rows} training rows, epsilon {args.epsilon:g}; torch {torch.__version__} "
        f"({torch.backends.cpu.get_cpu_capability()}). Points behind real rows per seed "
        f"{args.seeds} (mean); negative = ahead.", "",
        "| method | trees | LR | dependence error | distance AUC | fit s |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    methods = dict.fromkeys(m for r in results.values() for m in r)
    for method in methods:
        per = [r[method] for r in results.values() if method in r]

        def behind(learner):
            gaps = [100 * (m[f"utility_real_{learner}"] - m[f"utility_synthetic_{learner}"])
                    for m in per]
            return " / ".join(f"{g:.1f}" for g in gaps) + f" ({np.mean(gaps):.1f})"

        seconds = [m["fit_seconds"] for m in per if "fit_seconds" in m]
        lines.append(
            f"| {method} | {behind('gradient_boosting')} | {behind('logistic_regression')} | "
            f"{np.mean([m['within_class_dependence_error'] for m in per]):.3f} | "
            f"{max(m['mia_distance_auc'] for m in per):.3f} | "
            + (f"{min(seconds):.0f}-{max(seconds):.0f}" if seconds else "") + " |"
        )
    text = "\n".join(lines)
    (args.out / f"privacy_anchor_{args.rows}_eps{args.epsilon:g}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

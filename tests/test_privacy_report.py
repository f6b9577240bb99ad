"""The privacy report: it tells copies from fresh rows, and refuses mismatched tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gan_augment.privacy import report


def population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.uniform(0, 100, n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "label": (x + rng.normal(0, 0.5, n) > 0).astype(int),
        }
    )


@pytest.fixture(scope="module")
def train_holdout():
    return population(600, 0), population(600, 1)


def test_fresh_rows_look_like_the_holdout(train_holdout):
    train, holdout = train_holdout
    result = report(train, holdout, population(600, 2), target="label")
    m = result.metrics
    assert m["exact_copy_rate"] == 0
    assert 0.6 < m["dcr_ratio_p5"] < 1.6
    assert 0.4 < m["mia_distance_auc"] < 0.6
    assert 0.4 < m["mia_density_ratio_auc"] < 0.6
    assert abs(m["utility_synthetic_logistic_regression"] - m["utility_real_logistic_regression"]) < 0.05
    json.dumps(m)  # JSON-able
    assert list(result.table.columns) == ["value", "reading"]


def test_copies_of_the_training_rows_are_caught(train_holdout):
    train, holdout = train_holdout
    m = report(train, holdout, train.sample(frac=1.0, random_state=0)).metrics
    assert m["exact_copy_rate"] == 1.0
    assert m["dcr_synthetic_p5"] == 0 and m["dcr_ratio_p5"] < 0.01
    assert m["mia_distance_auc"] > 0.9
    assert "utility_real_logistic_regression" not in m


def test_to_json_writes_the_metrics(train_holdout, tmp_path):
    train, holdout = train_holdout
    result = report(train, holdout, population(300, 3))
    result.to_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == pytest.approx(result.metrics)


def test_tables_must_share_columns(train_holdout):
    train, holdout = train_holdout
    with pytest.raises(ValueError, match="holdout must have the training data's columns"):
        report(train, holdout.drop(columns="z"), train)
    with pytest.raises(ValueError, match="synthetic must have the training data's columns"):
        report(train, holdout, train[["z", "x", "colour", "label"]])
    with pytest.raises(ValueError, match="target='nope' is not a column"):
        report(train, holdout, train, target="nope")

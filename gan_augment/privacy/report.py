"""The privacy report of a synthetic data set: copies, distances, attacks, utility.

:func:`report` compares three tables with the same columns: the rows a model
was trained on, a *holdout* of rows from the same population that it never
saw, and the synthetic rows. Holdout rows are the yardstick throughout: a
synthetic row that is as far from the training rows as a fresh real row is,
reveals no more about them than a fresh real row does.

Distances are Euclidean after an encoding fitted on the training rows:
continuous columns min-max scaled to [0, 1] (robust to units), categorical
columns one-hot with each category at distance 1 from the others (divided by
sqrt 2 so that a differing category counts as much as a full-range continuous
difference). Nearest neighbours come from
:class:`sklearn.neighbors.NearestNeighbors`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler

from ..categories import CategoryOneHot
from ..schema import is_categorical_dtype

__all__ = ["PrivacyReport", "report"]


@dataclass
class PrivacyReport:
    """What :func:`report` measured.

    Attributes
    ----------
    metrics : dict
        JSON-able: each metric's value (see :func:`report`).
    table : DataFrame
        The same, one row per metric, with a column that says how to read it.
    """

    metrics: dict
    table: pd.DataFrame

    def to_json(self, path: str | os.PathLike) -> None:
        """Write :attr:`metrics` to ``path`` as JSON (atomically)."""
        from ..files import atomic_write

        data = json.dumps(self.metrics, indent=2).encode()
        atomic_write(path, lambda handle: handle.write(data))

    def _repr_html_(self) -> str:
        return self.table._repr_html_()

    def __str__(self) -> str:
        return self.table.to_string()


def _check_tables(train: Any, holdout: Any, synthetic: Any) -> tuple[pd.DataFrame, ...]:
    tables = []
    for name, table in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        if not isinstance(table, pd.DataFrame):
            table = pd.DataFrame(np.asarray(table))
        if len(table) < 2:
            raise ValueError(f"{name} must have at least 2 rows; got {len(table)}.")
        tables.append(table.reset_index(drop=True))
    columns = list(tables[0].columns)
    for name, table in zip(("holdout", "synthetic"), tables[1:]):
        if list(table.columns) != columns:
            raise ValueError(
                f"{name} must have the training data's columns, in order: expected "
                f"{columns}; got {list(table.columns)}."
            )
    return tuple(tables)


def _encoder(train: pd.DataFrame) -> ColumnTransformer:
    categorical = [c for c in train.columns if is_categorical_dtype(train[c].dtype)]
    continuous = [c for c in train.columns if c not in categorical]
    return ColumnTransformer(
        [
            ("continuous", MinMaxScaler(clip=False), continuous),
            (
                "categorical",
                make_pipeline(
                    CategoryOneHot(), FunctionTransformer(lambda X: X / np.sqrt(2))
                ),
                categorical,
            ),
        ],
        sparse_threshold=0.0,
    ).fit(train)


def _row_keys(table: pd.DataFrame) -> pd.Index:
    return pd.Index(pd.util.hash_pandas_object(table.astype(str), index=False))


def _auc(members: np.ndarray, non_members: np.ndarray) -> float:
    y = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    return float(roc_auc_score(y, np.r_[members, non_members]))


def report(
    train: Any,
    holdout: Any,
    synthetic: Any,
    *,
    target: Any = None,
    max_rows: int = 5000,
    random_state: int = 0,
) -> PrivacyReport:
    """Measure how much a synthetic table reveals about its training rows.

    Parameters
    ----------
    train : DataFrame
        The rows the generator was trained on.
    holdout : DataFrame
        Rows of the same population the generator never saw (same columns).
    synthetic : DataFrame
        The generated rows (same columns).
    target : column name, optional
        The class label column; when given, the report adds utility:
        balanced accuracy on the holdout of classifiers trained on synthetic
        rows next to the same classifiers trained on the real rows.
    max_rows : int, default=5000
        Distances are computed for at most this many synthetic, holdout and
        member rows (a random subsample); every training row is a candidate
        neighbour.
    random_state : int, default=0

    Returns
    -------
    PrivacyReport
        ``metrics`` holds:

        - ``exact_copy_rate``: share of synthetic rows equal to a training row
          (``holdout_exact_copy_rate``: the same for holdout rows, the rate
          that duplicates in the population alone would give);
        - ``dcr_synthetic_p5``, ``dcr_holdout_p5``: 5th percentile of the
          distance to the closest training record, and ``dcr_ratio_p5``, their
          ratio (at least 1: synthetic rows are no closer to the training rows
          than fresh real rows are);
        - ``nndr_synthetic_p5``, ``nndr_holdout_p5``: 5th percentile of the
          nearest-neighbour distance ratio (closest / second closest training
          record; near 0 singles out one record);
        - ``mia_distance_auc``: AUC of a membership-inference attack that calls
          a row a member the closer it is to a synthetic row (members: training
          rows; non-members: holdout rows). 0.5 is chance;
        - ``mia_density_ratio_auc``: AUC of a density-ratio attack (DOMIAS,
          van Breugel et al., 2023): a classifier learns to tell synthetic rows
          from reference rows (half the holdout), and rows it finds more
          "synthetic" are called members; members and non-members (the other
          half of the holdout) are scored;
        - with ``target``: ``utility_real_<model>`` and
          ``utility_synthetic_<model>``, balanced accuracy on the holdout of a
          logistic regression and of gradient-boosted trees trained on the
          training rows and on the synthetic rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def table(n):
    ...     return pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 2, n)})
    >>> result = report(table(300), table(300), table(300), target="y")
    >>> round(result.metrics["exact_copy_rate"], 2)
    0.0
    >>> 0.4 < result.metrics["mia_distance_auc"] < 0.6
    True
    """
    train, holdout, synthetic = _check_tables(train, holdout, synthetic)
    if target is not None and target not in train.columns:
        raise ValueError(f"target={target!r} is not a column; the columns are {list(train.columns)}.")
    rng = np.random.default_rng(random_state)

    def subsample(table: pd.DataFrame, n: int = max_rows) -> pd.DataFrame:
        if len(table) <= n:
            return table
        return table.iloc[np.sort(rng.choice(len(table), n, replace=False))]

    metrics: dict[str, float] = {}
    train_keys = set(_row_keys(train))
    metrics["exact_copy_rate"] = float(np.mean([k in train_keys for k in _row_keys(synthetic)]))
    metrics["holdout_exact_copy_rate"] = float(
        np.mean([k in train_keys for k in _row_keys(holdout)])
    )

    encode = _encoder(train)
    to_train = NearestNeighbors(n_neighbors=2).fit(encode.transform(train))
    syn_sample, hold_sample = subsample(synthetic), subsample(holdout)
    d_syn, _ = to_train.kneighbors(encode.transform(syn_sample))
    d_hold, _ = to_train.kneighbors(encode.transform(hold_sample))
    metrics["dcr_synthetic_p5"] = float(np.percentile(d_syn[:, 0], 5))
    metrics["dcr_holdout_p5"] = float(np.percentile(d_hold[:, 0], 5))
    metrics["dcr_ratio_p5"] = (
        metrics["dcr_synthetic_p5"] / metrics["dcr_holdout_p5"]
        if metrics["dcr_holdout_p5"] > 0
        else float("inf") if metrics["dcr_synthetic_p5"] > 0 else 1.0
    )

    def nndr(d: np.ndarray) -> np.ndarray:
        return np.divide(d[:, 0], d[:, 1], out=np.ones(len(d)), where=d[:, 1] > 0)

    metrics["nndr_synthetic_p5"] = float(np.percentile(nndr(d_syn), 5))
    metrics["nndr_holdout_p5"] = float(np.percentile(nndr(d_hold), 5))

    # Membership inference: members are training rows, non-members holdout rows.
    half = len(holdout) // 2
    shuffled = holdout.iloc[rng.permutation(len(holdout))]
    reference, non_members = shuffled.iloc[:half], shuffled.iloc[half:]
    n_targets = min(max_rows, len(non_members), len(train))
    members = train.iloc[rng.choice(len(train), n_targets, replace=False)]
    non_members = non_members.iloc[:n_targets]
    to_synthetic = NearestNeighbors(n_neighbors=1).fit(encode.transform(syn_sample))
    score = lambda t: -to_synthetic.kneighbors(encode.transform(t))[0][:, 0]  # noqa: E731
    metrics["mia_distance_auc"] = _auc(score(members), score(non_members))

    reference = subsample(reference)
    attack = HistGradientBoostingClassifier(random_state=random_state).fit(
        encode.transform(pd.concat([syn_sample, reference])),
        np.r_[np.ones(len(syn_sample)), np.zeros(len(reference))],
    )
    density = lambda t: attack.predict_proba(encode.transform(t))[:, 1]  # noqa: E731
    metrics["mia_density_ratio_auc"] = _auc(density(members), density(non_members))

    if target is not None:
        features = [c for c in train.columns if c != target]
        encode_x = _encoder(train[features])
        models = {
            "logistic_regression": lambda: LogisticRegression(max_iter=1000),
            "gradient_boosting": lambda: HistGradientBoostingClassifier(random_state=random_state),
        }
        for name, make in models.items():
            for source, table in (("real", train), ("synthetic", synthetic)):
                if table[target].nunique() < 2:
                    metrics[f"utility_{source}_{name}"] = float("nan")
                    continue
                model = make().fit(
                    encode_x.transform(table[features]), table[target].astype(str)
                )
                predicted = model.predict(encode_x.transform(holdout[features]))
                metrics[f"utility_{source}_{name}"] = float(
                    balanced_accuracy_score(holdout[target].astype(str), predicted)
                )

    readings = {
        "exact_copy_rate": "share of synthetic rows equal to a training row (0 is best)",
        "holdout_exact_copy_rate": "the same for holdout rows (duplicates in the population)",
        "dcr_synthetic_p5": "5th percentile distance, synthetic row -> closest training row",
        "dcr_holdout_p5": "5th percentile distance, holdout row -> closest training row",
        "dcr_ratio_p5": "synthetic / holdout (>= 1: no closer than fresh real rows)",
        "nndr_synthetic_p5": "5th percentile closest / second closest (synthetic rows)",
        "nndr_holdout_p5": "5th percentile closest / second closest (holdout rows)",
        "mia_distance_auc": "distance attack AUC (0.5 is chance)",
        "mia_density_ratio_auc": "density-ratio attack AUC (0.5 is chance)",
    }
    table = pd.DataFrame(
        {
            "value": pd.Series(metrics),
            "reading": pd.Series(
                {k: readings.get(k, "balanced accuracy on the holdout") for k in metrics}
            ),
        }
    )
    table.index.name = "metric"
    return PrivacyReport(metrics=metrics, table=table)

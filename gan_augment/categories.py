"""The package's one category encoding: what is one category, its code, and pooling.

Every part that needs categories as numbers uses this module: the tabular
transformer's one-hots, SMOTE's interpolation, the neighbour filter, the DP
statistics' category discovery and the privacy report. Its rules:

* **One value, one category.** Values are compared as Python values (``==``
  and ``hash``), as pandas does: ``1``, ``1.0`` and ``True`` are one category,
  ``1`` and ``"1"`` are two. Each category keeps the first value seen.
* **Codes follow the sorted categories** (scikit-learn's ``OrdinalEncoder``
  order); a column mixing types that do not compare (``1`` and ``"a"``) is
  sorted by type name, then value.
* **Pooling beyond ``max_categories``**: when a column has at least
  ``max_categories`` categories, all but the ``max_categories - 1`` most
  frequent share the last code (ties pool the earlier categories, as
  scikit-learn's ``max_categories`` does), and are drawn back by their
  frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = [
    "CategoryColumn",
    "CategoryEncoding",
    "CategoryOneHot",
    "pooled_mask",
    "unique_values",
]


def _sort_order(values: list) -> list[int]:
    """Positions of ``values`` in sorted order (by type name, then value, when the
    types do not compare)."""
    for key in (
        lambda i: values[i],
        lambda i: (type(values[i]).__name__, values[i]),
        lambda i: (type(values[i]).__name__, repr(values[i])),
    ):
        try:
            return sorted(range(len(values)), key=key)
        except TypeError:
            continue
    raise AssertionError("unreachable: repr always sorts")


def unique_values(column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The categories of one column, each row's code, and each category's count.

    Returns
    -------
    values : ndarray of object
        The categories, sorted.
    codes : ndarray of int64, shape (n_rows,)
    counts : ndarray of int64

    Examples
    --------
    >>> import numpy as np
    >>> values, codes, counts = unique_values(np.array(["b", "a", "b", 1, "1"], dtype=object))
    >>> values.tolist(), codes.tolist(), counts.tolist()
    ([1, '1', 'a', 'b'], [3, 2, 3, 0, 1], [1, 1, 1, 2])
    """
    column = np.asarray(column, dtype=object)
    first_codes, seen = pd.factorize(column, use_na_sentinel=False)
    seen = np.asarray(seen, dtype=object)
    order = np.array(_sort_order(seen.tolist()), dtype=np.int64)
    rank = np.empty(len(seen), dtype=np.int64)
    rank[order] = np.arange(len(seen))
    values = seen[order]
    codes = rank[first_codes]
    return values, codes, np.bincount(codes, minlength=len(values)).astype(np.int64)


def pooled_mask(counts: np.ndarray, max_categories: int | None) -> np.ndarray:
    """Which categories share the pooled code (see the module docstring).

    Examples
    --------
    >>> pooled_mask(np.array([5, 1, 3, 1]), 3).tolist()
    [False, True, False, True]
    """
    pooled = np.zeros(len(counts), dtype=bool)
    if max_categories is not None and len(counts) >= max_categories:
        pooled[np.argsort(counts, kind="mergesort")[: -(max_categories - 1)]] = True
    return pooled


@dataclass
class CategoryColumn:
    """One column's encoding.

    Attributes
    ----------
    values : ndarray of object
        The categories with a code of their own, sorted; code ``i`` is
        ``values[i]``.
    pooled : ndarray of object or None
        The rare categories sharing code ``len(values)``, sorted.
    pooled_weights : ndarray of float or None
        Their training frequencies, normalised.
    """

    values: np.ndarray
    pooled: np.ndarray | None = None
    pooled_weights: np.ndarray | None = None

    @property
    def n_codes(self) -> int:
        return len(self.values) + (self.pooled is not None)

    def codes(self, column: np.ndarray) -> np.ndarray:
        """Each value's code; pooled categories get the pooled code, and values
        never seen get the pooled code if there is one, else -1."""
        lookup = {v: i for i, v in enumerate(self.values.tolist())}
        if self.pooled is not None:
            lookup.update((v, len(self.values)) for v in self.pooled.tolist())
        unknown = len(self.values) if self.pooled is not None else -1
        return np.fromiter(
            (lookup.get(v, unknown) for v in np.asarray(column, dtype=object).tolist()),
            dtype=np.int64,
            count=len(column),
        )

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values of ``codes``; the pooled code becomes one of the rare categories,
        drawn with ``rng`` by frequency."""
        out = np.empty(len(codes), dtype=object)
        own = codes < len(self.values)
        out[own] = self.values[codes[own]]
        if (~own).any():
            out[~own] = rng.choice(self.pooled, size=int((~own).sum()), p=self.pooled_weights)
        return out


@dataclass
class CategoryEncoding:
    """The encoding of a table's categorical part, one :class:`CategoryColumn` each.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.array([["a"], ["b"], ["a"], ["c"]], dtype=object)
    >>> encoding = CategoryEncoding.fit(table, max_categories=2)
    >>> encoding.columns[0].values.tolist(), encoding.columns[0].pooled.tolist()
    (['a'], ['b', 'c'])
    >>> encoding.codes(table).ravel().tolist()
    [0, 1, 0, 1]
    """

    columns: list[CategoryColumn]

    @classmethod
    def fit(cls, categorical: np.ndarray, max_categories: int | None = None) -> CategoryEncoding:
        columns = []
        for j in range(categorical.shape[1]):
            values, _, counts = unique_values(categorical[:, j])
            pooled = pooled_mask(counts, max_categories)
            if not pooled.any():
                columns.append(CategoryColumn(values))
                continue
            weights = counts[pooled].astype(np.float64)
            columns.append(
                CategoryColumn(values[~pooled], values[pooled], weights / weights.sum())
            )
        return cls(columns)

    @property
    def n_codes(self) -> list[int]:
        return [column.n_codes for column in self.columns]

    def codes(self, categorical: np.ndarray) -> np.ndarray:
        """Codes of a table's categorical part: int64, shape (n_rows, n_columns)."""
        out = np.empty(categorical.shape, dtype=np.int64)
        for j, column in enumerate(self.columns):
            out[:, j] = column.codes(categorical[:, j])
        return out

    def one_hot(self, categorical: np.ndarray) -> np.ndarray:
        """One-hots of all columns side by side (a code of -1 is all zeros)."""
        codes = self.codes(categorical)
        blocks = []
        for j, size in enumerate(self.n_codes):
            block = np.zeros((len(codes), size))
            known = codes[:, j] >= 0
            block[np.flatnonzero(known), codes[known, j]] = 1.0
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(codes), 0))


class CategoryOneHot(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: one-hots of the package's category encoding.

    Categories never seen in ``fit`` are all zeros (``handle_unknown="ignore"``
    in ``OneHotEncoder``'s words). Unlike ``OneHotEncoder``, columns may mix
    value types (``1`` and ``"1"`` are two categories).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1], ["1"], [1]], dtype=object)
    >>> CategoryOneHot().fit(X).transform(np.array([["1"], [2]], dtype=object)).tolist()
    [[0.0, 1.0], [0.0, 0.0]]
    """

    def fit(self, X, y=None) -> CategoryOneHot:
        self.encoding_ = CategoryEncoding.fit(np.asarray(X, dtype=object))
        return self

    def transform(self, X) -> np.ndarray:
        return self.encoding_.one_hot(np.asarray(X, dtype=object))

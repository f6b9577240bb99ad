"""Which rows ``fit_resample`` adds: the neighbour filter and the interpolated share.

Both work on a table split by :meth:`gan_augment.schema.TableSchema.split`
into its continuous part (float64) and categorical part (object), so they
apply to arrays and DataFrames alike, and the rows they return are restored to
the user's container and dtypes by the schema.

* :class:`NeighbourFilter` scores generated rows by how many of their nearest
  real rows share their class, so that ``fit_resample`` can generate more
  candidates than it needs and keep those that do not land deep inside another
  class (the diagnostic of issue 3: half of the generator's minority rows had a
  majority row as nearest neighbour, against 9 in 10 of SMOTE's).
* :func:`interpolate` makes rows with imbalanced-learn's SMOTE family, for the
  share of the added rows that ``interpolation`` asks for.
"""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from ..categories import CategoryEncoding

__all__ = ["NeighbourFilter", "interpolate"]


class NeighbourFilter:
    """Score rows by the share of their ``n_neighbors`` nearest real rows of a class.

    Distances are Euclidean over the standardised continuous columns and the
    one-hot encoded categorical ones (each category weighs one unit, as a
    standardised column does).

    Parameters
    ----------
    continuous, categorical : ndarray
        The real rows, split by the schema.
    y_codes : ndarray of int
        Class index of each real row.
    n_neighbors : int, default=5
    max_reference : int, default=20000
        Most real rows to search among: beyond it, a random subset (drawn from
        ``rng``) keeps the search's cost bounded on large tables. The subset is
        stratified by class, and every class keeps at least ``n_neighbors`` rows
        (all of them if it has fewer), so a rare class never vanishes from it.
    max_categories : int or None, default=100
        Most one-hot entries per categorical column (rarer categories share
        one, as everywhere in the package: :mod:`gan_augment.categories`), so
        memory stays bounded for columns with thousands of categories.
    rng : numpy.random.Generator or None

    Examples
    --------
    >>> import numpy as np
    >>> continuous = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> categorical = np.empty((6, 0), dtype=object)
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> f = NeighbourFilter(continuous, categorical, y, n_neighbors=3)
    >>> f.agreement(np.array([[0.05], [5.05]]), categorical[:2], 1).tolist()
    [0.0, 1.0]
    """

    def __init__(
        self,
        continuous: np.ndarray,
        categorical: np.ndarray,
        y_codes: np.ndarray,
        n_neighbors: int = 5,
        max_reference: int = 20_000,
        max_categories: int | None = 100,
        rng: np.random.Generator | None = None,
    ) -> None:
        if len(y_codes) > max_reference:
            rng = rng if rng is not None else np.random.default_rng(0)
            rows = _stratified_rows(y_codes, max_reference, n_neighbors, rng)
            continuous, categorical, y_codes = continuous[rows], categorical[rows], y_codes[rows]
        self._scaler = StandardScaler().fit(continuous) if continuous.shape[1] else None
        self._encoding = CategoryEncoding.fit(categorical, max_categories)
        self._y = np.asarray(y_codes)
        k = min(n_neighbors, len(self._y))
        self._neighbours = NearestNeighbors(n_neighbors=k).fit(
            self._embed(continuous, categorical)
        )

    def _embed(self, continuous: np.ndarray, categorical: np.ndarray) -> np.ndarray:
        parts = []
        if self._scaler is not None:
            parts.append(self._scaler.transform(continuous))
        if categorical.shape[1]:
            parts.append(self._encoding.one_hot(categorical))
        return np.hstack(parts)

    def agreement(
        self, continuous: np.ndarray, categorical: np.ndarray, class_index: int
    ) -> np.ndarray:
        """Share of each row's nearest real rows whose class is ``class_index``."""
        _, index = self._neighbours.kneighbors(self._embed(continuous, categorical))
        return (self._y[index] == class_index).mean(axis=1)

    def select(
        self, continuous: np.ndarray, categorical: np.ndarray, class_index: int, n: int
    ) -> np.ndarray:
        """Indices of the ``n`` rows with the highest agreement, in their order.

        Ties keep the earlier row, so with rows in random order the choice among
        equally good rows is random.
        """
        score = self.agreement(continuous, categorical, class_index)
        keep = np.argsort(-score, kind="stable")[:n]
        return np.sort(keep)


def _stratified_rows(
    y_codes: np.ndarray, size: int, floor: int, rng: np.random.Generator
) -> np.ndarray:
    """About ``size`` row indices, each class in its share but with at least
    ``floor`` rows (or all it has), sorted."""
    classes, counts = np.unique(y_codes, return_counts=True)
    keep = np.minimum(counts, np.maximum(floor, np.round(size * counts / counts.sum())))
    rows = [
        rng.choice(np.flatnonzero(y_codes == c), int(k), replace=False)
        for c, k in zip(classes, keep)
    ]
    return np.sort(np.concatenate(rows))


def interpolate(
    continuous: np.ndarray,
    categorical: np.ndarray,
    y_codes: np.ndarray,
    class_index: int,
    n: int,
    seed: int,
    k_neighbors: int = 5,
    max_categories: int | None = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` new rows of class ``class_index`` by SMOTE, SMOTENC or SMOTEN.

    SMOTE for all-continuous tables, SMOTEN for all-categorical ones, SMOTENC
    otherwise (Chawla et al., 2002), through imbalanced-learn. Categorical
    values are coded as integers for it (:mod:`gan_augment.categories`) and
    decoded after, so any hashable category works; beyond ``max_categories``
    per column, the rarest share one code, decoded to one of them drawn by
    frequency (memory stays bounded).
    ``k_neighbors`` is capped at the class's rows minus one.

    Returns
    -------
    continuous, categorical : ndarray
        The new rows, split like the input.

    Examples
    --------
    >>> import numpy as np
    >>> continuous = np.arange(10.0).reshape(-1, 1)
    >>> categorical = np.array([["a"], ["b"]] * 5, dtype=object)
    >>> y = np.array([0] * 7 + [1] * 3)
    >>> new_cont, new_cat = interpolate(continuous, categorical, y, 1, 4, seed=0)
    >>> new_cont.shape, new_cat.shape, bool((new_cont >= 7).all())
    ((4, 1), (4, 1), True)
    """
    n_cont = continuous.shape[1]
    # SMOTE's and SMOTENC's rows of a class depend on that class's rows only:
    # one row of another class keeps imbalanced-learn's two-class contract,
    # and the encoders SMOTENC fits stay as small as the class. SMOTEN's value
    # difference metric compares categories by their class distributions, so
    # it gets every row with its real label (with the class's rows and one
    # other, nearly every value would have P(class | value) = 1).
    if n_cont or not categorical.shape[1]:
        in_class = y_codes == class_index
        keep = np.concatenate([np.flatnonzero(in_class), np.flatnonzero(~in_class)[:1]])
        continuous, categorical, y_codes = continuous[keep], categorical[keep], y_codes[keep]
    rng = np.random.default_rng(seed)
    encoding = CategoryEncoding.fit(categorical, max_categories)
    codes = list(encoding.codes(categorical).T)
    table = np.column_stack([continuous, *codes]) if codes else continuous
    n_class = int(np.sum(y_codes == class_index))
    k = max(1, min(k_neighbors, n_class - 1))
    target = {class_index: n_class + n}
    if not codes:
        sampler = SMOTE(sampling_strategy=target, k_neighbors=k, random_state=seed)
    elif n_cont == 0:
        sampler = SMOTEN(sampling_strategy=target, k_neighbors=k, random_state=seed)
    else:
        sampler = SMOTENC(
            categorical_features=list(range(n_cont, table.shape[1])),
            sampling_strategy=target,
            k_neighbors=k,
            random_state=seed,
        )
    resampled, _ = sampler.fit_resample(table, y_codes)
    new = resampled[len(table):]
    new_categorical = np.empty((n, len(codes)), dtype=object)
    for j, column in enumerate(encoding.columns):
        new_categorical[:, j] = column.decode(new[:, n_cont + j].astype(np.int64), rng)
    return new[:, :n_cont].astype(np.float64), new_categorical

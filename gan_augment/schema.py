"""What the user's table looked like, and how to give rows back that way.

The schema is captured once per fit from the validated ``X`` (a pandas
DataFrame or a 2-D NumPy array). It resolves ``categorical_features`` into
column indices, splits a table into its continuous part (float64) and its
categorical part (object), and restores generated values into the original
container with the original dtypes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TableSchema", "as_frame", "check_finite", "is_categorical_dtype"]


def is_categorical_dtype(dtype: Any) -> bool:
    """Whether ``categorical_features="auto"`` treats a DataFrame column of this
    dtype as categorical: category, object, string and bool dtypes."""
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def as_frame(X: Any, name: str) -> pd.DataFrame:
    """A DataFrame as it is; a 2-D array as a DataFrame with columns 0..n-1."""
    if isinstance(X, pd.DataFrame):
        return X
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got an array of shape {X.shape}.")
    return pd.DataFrame(X)


def _column_names(X: pd.DataFrame | np.ndarray) -> list[Any]:
    if isinstance(X, pd.DataFrame):
        return list(X.columns)
    return list(range(X.shape[1]))


def check_finite(X: pd.DataFrame | np.ndarray) -> None:
    """Raise a ValueError naming the columns of ``X`` that hold NaN or infinity.

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n_samples, n_features)
        The table to check.

    Raises
    ------
    ValueError
        If any column holds a missing value (NaN, None, pd.NA) or an infinity.

    Examples
    --------
    >>> import numpy as np
    >>> check_finite(np.array([[1.0, 2.0]]))
    >>> check_finite(np.array([[1.0, np.nan]]))
    Traceback (most recent call last):
    ...
    ValueError: Input X contains NaN or infinity in column(s) [1]. ...
    """
    names = _column_names(X)
    if isinstance(X, pd.DataFrame):
        bad = X.isna().to_numpy().any(axis=0)
        for i, (_, col) in enumerate(X.items()):
            if not bad[i] and pd.api.types.is_numeric_dtype(col.dtype):
                if not pd.api.types.is_bool_dtype(col.dtype):
                    bad[i] = bool(np.isinf(col.to_numpy(dtype=np.float64)).any())
    elif X.dtype.kind in "fc":
        bad = ~np.isfinite(X).all(axis=0)
    elif X.dtype == object:
        frame = pd.DataFrame(X)
        bad = frame.isna().to_numpy().any(axis=0)
        for i in np.flatnonzero(~bad):
            numeric = pd.to_numeric(frame[i], errors="coerce").to_numpy(np.float64)
            bad[i] = bool(np.isinf(numeric).any())
    else:
        return
    if bad.any():
        columns = [names[i] for i in np.flatnonzero(bad)]
        raise ValueError(
            f"Input X contains NaN or infinity in column(s) {columns}. "
            "GANOversampler does not accept missing or infinite values: add an "
            "imputer (e.g. sklearn.impute.SimpleImputer) before it in the pipeline."
        )


def _resolve_categorical(
    X: pd.DataFrame | np.ndarray, categorical_features: Any
) -> np.ndarray:
    """Turn ``categorical_features`` into a boolean mask over the columns of X."""
    names = _column_names(X)
    n_features = len(names)
    if isinstance(categorical_features, str) and categorical_features == "auto":
        if isinstance(X, pd.DataFrame):
            return np.array([is_categorical_dtype(d) for d in X.dtypes], dtype=bool)
        return np.full(n_features, X.dtype == bool)

    spec = np.asarray(categorical_features)
    if spec.ndim != 1:
        raise ValueError(
            "categorical_features must be 'auto' or a 1-D array-like of column "
            f"indices, column names or booleans; got an array of shape {spec.shape}."
        )
    mask = np.zeros(n_features, dtype=bool)
    if spec.size == 0:
        return mask
    if spec.dtype == bool:
        if spec.size != n_features:
            raise ValueError(
                f"categorical_features is a boolean mask of length {spec.size}, "
                f"but X has {n_features} features."
            )
        return spec.copy()
    if spec.dtype.kind in "iu":
        out_of_range = spec[(spec < -n_features) | (spec >= n_features)]
        if out_of_range.size:
            raise ValueError(
                f"categorical_features has indices {out_of_range.tolist()} out of "
                f"range for X with {n_features} features."
            )
        mask[spec] = True
        return mask
    if not isinstance(X, pd.DataFrame):
        raise ValueError(
            "categorical_features holds column names, which only a pandas DataFrame "
            "has; pass column indices or a boolean mask for an array."
        )
    position = {name: i for i, name in enumerate(names)}
    unknown = [name for name in spec.tolist() if name not in position]
    if unknown:
        raise ValueError(
            f"categorical_features names column(s) {unknown} that are not in X; "
            f"its columns are {names}."
        )
    mask[[position[name] for name in spec.tolist()]] = True
    return mask


@dataclass
class TableSchema:
    """The layout of a training table: container, columns, dtypes, categorical mask.

    Parameters
    ----------
    columns : pandas.Index or None
        The DataFrame's columns, or None for a NumPy array.
    dtypes : list
        One dtype per column (pandas dtypes for a DataFrame; the array's dtype
        repeated for an array).
    categorical : ndarray of bool of shape (n_features,)
        Which columns are modelled as categorical.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1.5, 2.5], "b": pd.Categorical(["x", "y"])})
    >>> schema = TableSchema.from_data(X, "auto")
    >>> schema.categorical.tolist()
    [False, True]
    >>> continuous, categorical = schema.split(X)
    >>> schema.restore(continuous, categorical).dtypes.astype(str).tolist()
    ['float64', 'category']
    """

    columns: pd.Index | None
    dtypes: list[Any]
    categorical: np.ndarray

    @classmethod
    def from_data(
        cls, X: pd.DataFrame | np.ndarray, categorical_features: Any = "auto"
    ) -> TableSchema:
        """Capture the schema of ``X`` and check that its columns can be modelled.

        Raises
        ------
        ValueError
            If ``categorical_features`` does not fit ``X``.
        TypeError
            If a column that is not declared categorical is not numeric.
        """
        categorical = _resolve_categorical(X, categorical_features)
        if isinstance(X, pd.DataFrame):
            schema = cls(X.columns, list(X.dtypes), categorical)
        else:
            schema = cls(None, [X.dtype] * X.shape[1], categorical)
        schema._check_continuous_are_numeric(X)
        return schema

    @property
    def n_features(self) -> int:
        return len(self.dtypes)

    @property
    def names(self) -> list[Any]:
        if self.columns is None:
            return list(range(self.n_features))
        return list(self.columns)

    @property
    def categorical_indices(self) -> np.ndarray:
        return np.flatnonzero(self.categorical)

    @property
    def continuous_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.categorical)

    def _check_continuous_are_numeric(self, X: pd.DataFrame | np.ndarray) -> None:
        bad, reason = [], ""
        for i in self.continuous_indices:
            column = X.iloc[:, i] if isinstance(X, pd.DataFrame) else X[:, i]
            dtype = column.dtype
            if pd.api.types.is_bool_dtype(dtype) or (
                pd.api.types.is_numeric_dtype(dtype)
                and not isinstance(dtype, pd.CategoricalDtype)
            ):
                continue
            try:
                np.asarray(column, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                bad.append(self.names[i])
                reason = reason or f" ({exc})"
        if bad:
            raise TypeError(
                f"Column(s) {bad} of X are not numeric{reason} but are not declared "
                "categorical. Pass them in categorical_features (indices, names or a "
                "boolean mask), or use a DataFrame with category/object/bool dtypes "
                "and categorical_features='auto'."
            )

    def split(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split ``X`` into its continuous part (float64) and categorical part (object)."""
        cont, cat = self.continuous_indices, self.categorical_indices
        if isinstance(X, pd.DataFrame):
            continuous = X.iloc[:, cont].to_numpy(dtype=np.float64)
            categorical = X.iloc[:, cat].to_numpy(dtype=object)
        else:
            continuous = X[:, cont].astype(np.float64)
            categorical = X[:, cat].astype(object)
        return continuous, categorical

    def get_state(self) -> dict:
        """Plain values for JSON metadata (see :meth:`from_state`)."""
        return {
            "columns": None if self.columns is None else list(self.columns),
            "columns_dtype": None if self.columns is None else self.columns.dtype,
            "dtypes": list(self.dtypes),
            "categorical": self.categorical.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict) -> TableSchema:
        """Rebuild a schema from :meth:`get_state`.

        Raises
        ------
        ValueError
            If the dtypes, the categorical mask and the column names do not
            describe one table (the state comes from a file, which may have
            been edited).
        """
        columns, dtypes, categorical = state["columns"], state["dtypes"], state["categorical"]
        if (
            not isinstance(dtypes, list)
            or not all(
                isinstance(d, (np.dtype, pd.api.extensions.ExtensionDtype)) for d in dtypes
            )
            or not isinstance(categorical, list)
            or not all(isinstance(c, bool) for c in categorical)
            or len(categorical) != len(dtypes)
            or not dtypes
            or (
                columns is not None
                and (not isinstance(columns, list) or len(columns) != len(dtypes))
            )
        ):
            raise ValueError("the table schema is invalid")
        return cls(
            None if columns is None else pd.Index(columns, dtype=state["columns_dtype"]),
            dtypes,
            np.asarray(categorical, dtype=bool),
        )

    def restore(
        self, continuous: np.ndarray, categorical: np.ndarray
    ) -> pd.DataFrame | np.ndarray:
        """Rebuild rows in the original container and dtypes.

        Integer (and boolean) columns modelled as continuous are rounded before the
        cast; categorical values are taken as they are.
        """
        n_rows = continuous.shape[0] if continuous.size else categorical.shape[0]
        values: list[np.ndarray] = [np.empty(0)] * self.n_features
        for j, i in enumerate(self.continuous_indices):
            column = continuous[:, j]
            dtype = self.dtypes[i]
            if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                column = np.rint(column)
            values[i] = column
        for j, i in enumerate(self.categorical_indices):
            values[i] = categorical[:, j]

        if self.columns is None:
            dtype = self.dtypes[0] if self.dtypes else np.float64
            out = np.empty((n_rows, self.n_features), dtype=dtype)
            for i, column in enumerate(values):
                out[:, i] = column
            return out
        frame = pd.DataFrame(
            {k: pd.Series(v).astype(d) for k, (v, d) in enumerate(zip(values, self.dtypes))}
        )
        frame.columns = self.columns
        return frame

"""The schema restores the user's container and dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gan_augment.schema import TableSchema


def test_frame_round_trip_with_every_dtype():
    X = pd.DataFrame(
        {
            "f": np.array([1.5, 2.5], np.float32),
            "i": np.array([1, 2], np.int16),
            "n": pd.array([3, 4], dtype="Int64"),
            "b": [True, False],
            "c": pd.Categorical(["x", "y"], categories=["y", "x", "z"]),
            "s": pd.array(["p", "q"], dtype="string"),
            "o": np.array(["u", 1], dtype=object),
        },
        columns=["f", "i", "n", "b", "c", "s", "o"],
    )
    schema = TableSchema.from_data(X, "auto")
    assert schema.categorical.tolist() == [False, False, False, True, True, True, True]
    back = schema.restore(*schema.split(X))
    pd.testing.assert_frame_equal(back, X)


def test_integer_columns_are_rounded_floats_are_not():
    X = pd.DataFrame({"i": [1, 2], "f": [0.5, 1.5]})
    schema = TableSchema.from_data(X, "auto")
    back = schema.restore(np.array([[1.6, 0.25], [2.4, 1.75]]), np.empty((2, 0), object))
    assert back["i"].tolist() == [2, 2] and back["f"].tolist() == [0.25, 1.75]


def test_int_column_names_and_array_layout():
    X = np.array([[1, 0], [2, 1]], dtype=np.int32)
    schema = TableSchema.from_data(X, [1])
    assert schema.names == [0, 1] and schema.categorical_indices.tolist() == [1]
    back = schema.restore(*schema.split(X))
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, X)

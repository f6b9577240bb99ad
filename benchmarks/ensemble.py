"""An ensemble of K GANOversamplers in one fit, for ``quality.py`` (issue 16 item 3, issue 13 item 6).

Each member is fitted on the same training rows with its own seed; every class's
synthetic rows are split into K near-equal parts and part k is drawn from member
k, so the K generators contribute equally. K members cost K fits: batching them
into one computation (``batched_models.py``) was slower on CPU than stepping
them one by one, so they are fitted one after another. This answers whether an
ensemble improves quality; it is not part of the package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gan_augment import GANOversampler


class GANEnsemble:
    """``k`` GANOversamplers with seeds ``random_state * k + i``, rows split evenly between them.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(120, weights=[0.85], random_state=0)
    >>> X_res, y_res = GANEnsemble(2, random_state=0, epochs=1).fit_resample(X, y)
    >>> bool((X_res[: len(X)] == X).all()), len(X_res) == 2 * int((y == 0).sum())
    (True, True)
    """

    def __init__(self, k: int, random_state: int = 0, **params):
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = k
        self.random_state = random_state
        self.params = params

    def fit_resample(self, X, y):
        n = len(X)
        parts_X, parts_y = [], []
        for i in range(self.k):
            member = GANOversampler(random_state=self.random_state * self.k + i, **self.params)
            X_res, y_res = member.fit_resample(X, y)
            added_X, added_y = X_res[n:], np.asarray(y_res)[n:]
            keep = np.zeros(len(added_y), dtype=bool)
            for label in np.unique(added_y):
                where = np.flatnonzero(added_y == label)
                start, stop = (len(where) * i) // self.k, (len(where) * (i + 1)) // self.k
                keep[where[start:stop]] = True
            parts_X.append(added_X.iloc[keep] if isinstance(added_X, pd.DataFrame) else added_X[keep])
            parts_y.append(added_y[keep])
        if isinstance(X, pd.DataFrame):
            X_out = pd.concat([X, *parts_X], ignore_index=True)
        else:
            X_out = np.concatenate([np.asarray(X), *parts_X])
        y_out = np.concatenate([np.asarray(y), *parts_y])
        if isinstance(y, pd.Series):
            y_out = pd.Series(y_out, name=y.name)
        return X_out, y_out

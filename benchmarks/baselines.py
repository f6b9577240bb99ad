"""Over-samplers of other packages wrapped as imbalanced-learn samplers, for ``quality.py``.

- ``SmoteVariantsSampler``: any over-sampler of the ``smote-variants`` package
  (e.g. ``polynom_fit_SMOTE_star``, ``ProWSyn``), numeric data only.
- ``CTGANOversampler``: ``ctgan.CTGAN`` fitted on the training rows with the label
  as a discrete column; rows of each class to over-sample are drawn with its
  conditional sampling and only rows whose generated label is that class are kept
  (re-sampling tops them up). The share of drawn rows that carried the requested
  label is kept in ``label_match_rate_``.

Each sampler returns the original rows followed by the synthetic ones.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.utils.validation import validate_data


class SmoteVariantsSampler(BaseOverSampler):
    """A ``smote-variants`` over-sampler that balances a binary problem.

    Parameters
    ----------
    variant : str
        Name of the class in ``smote_variants``.
    random_state : int or None
        Passed to the variant.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(200, weights=[0.9], random_state=0)
    >>> X_res, y_res = SmoteVariantsSampler("ProWSyn", random_state=0).fit_resample(X, y)  # doctest: +SKIP
    """

    _sampling_type = "over-sampling"

    def __init__(self, variant: str = "ProWSyn", random_state=None):
        super().__init__(sampling_strategy="auto")
        self.variant = variant
        self.random_state = random_state

    def _fit_resample(self, X, y):
        import smote_variants

        # smote-variants logs every call at INFO level.
        logging.getLogger("smote_variants").setLevel(logging.WARNING)
        sampler = getattr(smote_variants, self.variant)(proportion=1.0, random_state=self.random_state)
        X_res, y_res = sampler.sample(np.asarray(X, dtype=float), np.asarray(y))
        if not np.allclose(X_res[: len(X)], X):
            raise RuntimeError(f"{self.variant} did not return the original rows first")
        return X_res, y_res


class CTGANOversampler(BaseOverSampler):
    """Over-sampling with ``ctgan.CTGAN`` and its conditional sampling.

    Parameters
    ----------
    random_state : int or None
        Seeds torch and numpy before fitting (CTGAN has no seed parameter).
    max_rounds : int
        Conditional draws per class; each draws the rows still missing.
    **ctgan_params
        Passed to ``ctgan.CTGAN`` (e.g. ``epochs``).

    Attributes
    ----------
    label_match_rate_ : float
        Rows whose generated label is the requested class / rows drawn.
    n_missing_ : int
        Rows still missing after ``max_rounds`` draws (0 when topped up).

    Examples
    --------
    >>> sampler = CTGANOversampler(epochs=5, random_state=0)  # doctest: +SKIP
    """

    _sampling_type = "over-sampling"

    def __init__(self, random_state=None, max_rounds: int = 20, epochs: int = 300):
        super().__init__(sampling_strategy="auto")
        self.random_state = random_state
        self.max_rounds = max_rounds
        self.epochs = epochs

    def _check_X_y(self, X, y):
        # Keep the DataFrame and its categorical columns as they are.
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, y, binarize_y

    def _fit_resample(self, X, y):
        import torch
        from ctgan import CTGAN

        frame = pd.DataFrame(X).reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
        discrete = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        for column in discrete:
            frame[column] = frame[column].astype(str)
        label = "__label__"
        frame[label] = pd.Series(np.asarray(y)).astype(str).to_numpy()
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
            np.random.seed(self.random_state)
        model = CTGAN(epochs=self.epochs, enable_gpu=False)
        model.fit(frame, discrete_columns=discrete + [label])

        drawn = matched = missing = 0
        new_X, new_y = [], []
        for cls, n_samples in self.sampling_strategy_.items():
            kept = []
            still = n_samples
            for _ in range(self.max_rounds):
                if still <= 0:
                    break
                rows = model.sample(still, condition_column=label, condition_value=str(cls))
                hit = rows[rows[label] == str(cls)]
                drawn += len(rows)
                matched += len(hit)
                kept.append(hit.head(still))
                still -= len(kept[-1])
            missing += max(still, 0)
            rows = pd.concat(kept) if kept else frame.iloc[:0]
            new_X.append(rows.drop(columns=label))
            new_y.append(np.full(len(rows), cls, dtype=np.asarray(y).dtype))
        self.label_match_rate_ = matched / drawn if drawn else float("nan")
        self.n_missing_ = missing

        synthetic = pd.concat(new_X, ignore_index=True)
        original = pd.DataFrame(X).reset_index(drop=True)
        synthetic.columns = original.columns
        for column in original.columns:
            synthetic[column] = synthetic[column].astype(original[column].dtype)
        X_res = pd.concat([original, synthetic], ignore_index=True)
        y_res = np.concatenate([np.asarray(y)] + new_y)
        return X_res, y_res

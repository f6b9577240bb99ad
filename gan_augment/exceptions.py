"""Warnings and errors that gan-augment raises besides the standard ones."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

__all__ = ["PrivacyBudgetWarning", "SmallClassWarning", "TrainingWarning", "warn_user"]


class TrainingWarning(UserWarning):
    """Training recovered from a fault (a NaN rollback, an interruption) or
    stopped early; the message says what happened and what was kept."""


class SmallClassWarning(UserWarning):
    """A class to over-sample has so few rows that a GAN can learn little from
    it; interpolation (SMOTE and its variants) is likely the better tool."""


class PrivacyBudgetWarning(UserWarning):
    """Under differential privacy, part of the budget is spent on something the
    user could have declared for free (bounds of continuous columns): declare
    it in ``dp_domain`` to spend the whole budget on training."""


#: Code whose frames a warning skips to reach the user's call: this package,
#: and the scikit-learn / imbalanced-learn wrappers it is called through.
_LIBRARIES = (
    str(Path(__file__).parent) + os.sep,
    f"{os.sep}sklearn{os.sep}",
    f"{os.sep}imblearn{os.sep}",
)


def warn_user(message: str, category: type[Warning]) -> None:
    """Warn with the location of the user's call, however deep in the library
    (and in scikit-learn's and imbalanced-learn's wrappers) the warning arises."""
    frame, level = sys._getframe(1), 1
    while frame is not None and any(
        part in frame.f_code.co_filename for part in _LIBRARIES
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)

"""imbalanced-learn's and scikit-learn's own estimator checks over GANOversampler."""

from __future__ import annotations

import warnings

import pytest
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)

from gan_augment import GANOversampler
from gan_augment.exceptions import SmallClassWarning

from .conftest import FAST

ESTIMATORS = [GANOversampler(random_state=0, **FAST)]


def _listed(mark):
    """The same parametrisation with its cases in a list: imbalanced-learn passes
    a generator, which pytest deprecates."""
    names, cases = mark.args
    return pytest.mark.parametrize(names, list(cases), **mark.kwargs)


def _run(check, estimator):
    # The checks fit on data sets of their own with classes of a few rows, for
    # which GANOversampler rightly warns; any other warning still fails.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallClassWarning)
        check(estimator)


@_listed(imblearn_parametrize_with_checks(ESTIMATORS))
def test_imblearn_checks(estimator, check):
    _run(check, estimator)


@sklearn_parametrize_with_checks(ESTIMATORS)
def test_sklearn_checks(estimator, check):
    _run(check, estimator)

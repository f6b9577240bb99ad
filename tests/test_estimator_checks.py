"""imbalanced-learn's and scikit-learn's own estimator checks over GANOversampler."""

from __future__ import annotations

from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)

from gan_augment import GANOversampler

from .conftest import FAST

ESTIMATORS = [GANOversampler(random_state=0, **FAST)]


@imblearn_parametrize_with_checks(ESTIMATORS)
def test_imblearn_checks(estimator, check):
    check(estimator)


@sklearn_parametrize_with_checks(ESTIMATORS)
def test_sklearn_checks(estimator, check):
    check(estimator)

"""The library logs through logging.getLogger("gan_augment") and never prints."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from gan_augment import GANOversampler
from gan_augment.exceptions import SmallClassWarning

from .test_oversampler import _imbalanced


def test_logs_to_the_package_logger_and_prints_nothing(fast, caplog, capsys):
    X, y = _imbalanced()
    with caplog.at_level(logging.INFO, logger="gan_augment"):
        GANOversampler(random_state=0, **fast).fit_resample(X, y)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("gan_augment")]
    assert any(m.startswith("Encoded 300 rows x 5 columns") for m in messages)
    assert any(m.startswith("Training on cpu: 2 epochs x 6 steps") for m in messages)
    assert any(m.startswith("Trained 2 epochs") for m in messages)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_shows_a_progress_bar(fast, capsys):
    X, y = _imbalanced()
    GANOversampler(random_state=0, verbose=True, **fast).fit_resample(X, y)
    assert "GANOversampler" in capsys.readouterr().err


def test_small_class_warning(fast):
    X, y = _imbalanced()
    y = np.zeros_like(y)
    y[:5] = 1
    with pytest.warns(SmallClassWarning, match=r"\{1: 5\}.*fewer than 10.*SMOTE"):
        GANOversampler(random_state=0, **fast).fit_resample(X, y)

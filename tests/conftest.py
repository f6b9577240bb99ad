"""Shared fixtures: small, fast GAN settings so the suite runs in minutes on 2 cores."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest
from hypothesis import settings

from gan_augment.exceptions import SmallClassWarning
from gan_augment.options import SMALL_CLASS_ROWS

# CI runs the same examples every time (a failure there is reproducible);
# elsewhere hypothesis explores new ones on every run.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

#: Settings that keep one fit under a second or so: tiny networks, few steps.
FAST = dict(
    epochs=2,
    batch_size=50,
    embedding_dim=8,
    generator_dims=(16,),
    discriminator_dims=(16,),
    pac=5,
    max_modes=1,
    device="cpu",
)


@pytest.fixture
def fast() -> dict:
    return dict(FAST)


def warns_small_classes(y):
    """``pytest.warns(SmallClassWarning)`` if a class that ``sampling_strategy="auto"``
    over-samples (every class smaller than the largest) has fewer than
    ``SMALL_CLASS_ROWS`` rows; otherwise a context that expects no warning."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    small = (counts < counts.max()) & (counts < SMALL_CLASS_ROWS)
    return pytest.warns(SmallClassWarning) if small.any() else contextlib.nullcontext()

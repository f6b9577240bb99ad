"""The one boundary between the estimator and a data domain (tables, images).

A domain is an object with:

* ``defaults``: its :class:`~gan_augment.options.DomainDefaults` (what "auto"
  means for it);
* ``check_input(estimator, X, y) -> (X, description)``: validate ``X`` like
  scikit-learn (setting ``n_features_in_`` and ``feature_names_in_`` through
  ``validate_data``) and describe it (a ``TableSchema``, an ``ImageLayout``);
* ``check_options(options, description, n_rows)``: refuse options the
  domain cannot honour (before anything is trained);
* ``setup(X, y_codes, classes, description, options, device, seeds) ->
  TrainingSetup``: codec, batch source, networks and the fitted model that the
  loop will train;
* ``resampler(model, X, y_codes, options, seeds)``: what ``fit_resample`` adds
  per class (:mod:`gan_augment.resampling`).

The estimator picks a domain with :func:`choose_domain` and never branches on
it; :func:`gan_augment.fitting.fit_model` runs the loop on what ``setup``
returns. A new domain is a new object registered in :data:`DOMAINS`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from .fitted import FittedModel
from .images.domain import IMAGES
from .options import DomainDefaults, Options
from .seeding import Seeds
from .tabular.domain import TABLES
from .training import TrainingSetup

__all__ = ["DOMAINS", "Domain", "choose_domain"]

class Domain(Protocol):
    """See the module docstring."""

    defaults: DomainDefaults

    def check_input(self, estimator: Any, X: Any, y: np.ndarray) -> tuple[Any, Any]: ...

    def check_options(self, options: Options, description: Any, n_rows: int) -> None: ...

    def setup(
        self,
        X: Any,
        y_codes: np.ndarray,
        classes: np.ndarray,
        description: Any,
        options: Options,
        device: torch.device,
        seeds: Seeds,
    ) -> TrainingSetup: ...

    def resampler(
        self, model: FittedModel, X: Any, y_codes: np.ndarray, options: Options, seeds: Seeds
    ) -> Any: ...


def _wants_images(X: Any, model: str, image_shape: Any) -> bool:
    if model != "auto":
        return model == "image"
    if image_shape is not None:
        return True
    if isinstance(X, (list, tuple)):
        # A list of images may be ragged, which np.ndim refuses.
        return len(X) > 0 and np.ndim(X[0]) >= 2
    return np.ndim(X) >= 3


#: The domains by name (the ``model`` parameter's values).
DOMAINS: dict[str, Domain] = {"tabular": TABLES, "image": IMAGES}


def choose_domain(X: Any, model: str, image_shape: Any) -> Domain:
    """The domain of ``X`` for the ``model`` parameter: ``"image"`` for 3-D or
    4-D ``X`` or a given ``image_shape``, ``"tabular"`` otherwise."""
    return DOMAINS["image" if _wants_images(X, model, image_shape) else "tabular"]

"""What a fit produces: :class:`FittedModel`, the trained generator and its codec.

A fitted model generates rows of a class in the user's own container and
dtypes, and turns itself into plain state (JSON-able metadata and tensors) and
back. The estimator holds one as ``model_`` and delegates sampling, export and
persistence to it; each data domain provides its subclass
(:class:`gan_augment.tabular.model.TabularModel`,
:class:`gan_augment.images.model.ImageModel`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["FittedModel"]


class FittedModel:
    """A trained generator with everything needed to turn its output into rows.

    Parameters
    ----------
    generator : torch.nn.Module
        The trained generator (kept in eval mode).
    noise_dim : int
        Size of its noise vector.
    classes : ndarray
        The class labels; ``class_index`` arguments index into it.
    class_weights : ndarray or None
        Training class sizes (noisy under DP), for ``class_distribution="original"``;
        None in files written before synthetic export existed.
    """

    def __init__(
        self,
        generator: nn.Module,
        noise_dim: int,
        classes: np.ndarray,
        class_weights: np.ndarray | None,
    ) -> None:
        self.generator = generator
        self.noise_dim = noise_dim
        self.classes = classes
        self.class_weights = class_weights

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    #: The feature names of a table (None for images); export writes tables only.
    columns: list | None = None

    def generate(self, class_index: int, n: int, rng: torch.Generator) -> Any:
        """``n`` generated rows of class ``classes[class_index]``, in the
        training data's container, layout and dtypes."""
        raise NotImplementedError

    def fitted_attributes(self) -> dict[str, Any]:
        """The estimator's fitted attributes that describe this model's input
        (``image_layout_``, and for tables ``categorical_features_`` and
        ``continuous_features_``)."""
        raise NotImplementedError

    def empty(self) -> Any:
        """No rows, in the training data's container and dtypes."""
        raise NotImplementedError

    def state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        """``(metadata, tensors)``: plain values for JSON, and CPU tensors."""
        fitted, tensors = self._state()
        weights = self.class_weights
        fitted["class_weights"] = (
            None if weights is None else np.asarray(weights, dtype=np.float64).tolist()
        )
        generator = {k: v.detach().cpu() for k, v in self.generator.state_dict().items()}
        return fitted, {"generator": generator, **tensors}

    def _state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        """The domain's own metadata and tensors (besides the generator's)."""
        raise NotImplementedError

    @staticmethod
    def from_state(
        fitted: dict, tensors: dict, params: dict, device: torch.device
    ) -> FittedModel:
        """Rebuild a model from :meth:`state` (and the estimator's saved
        parameters, which give the generator's architecture) on ``device``."""
        from .images.model import ImageModel
        from .tabular.model import TabularModel

        kind = ImageModel if "image_layout" in fitted else TabularModel
        weights = fitted.get("class_weights")
        # Files written before synthetic export and DP existed lack the weights.
        class_weights = None if weights is None else np.asarray(weights)
        return kind._from_state(fitted, tensors, params, device, class_weights)

    @classmethod
    def _from_state(
        cls, fitted: dict, tensors: dict, params: dict, device: torch.device,
        class_weights: np.ndarray | None,
    ) -> FittedModel:
        raise NotImplementedError

    def to_cpu(self) -> FittedModel:
        """A copy whose generator lives on the CPU (for pickling)."""
        clone = copy.copy(self)
        clone.generator = copy.deepcopy(self.generator).cpu()
        return clone

    @staticmethod
    def _load_generator(module: nn.Module, state: dict, device: torch.device) -> nn.Module:
        module = module.to_empty(device=device)
        module.load_state_dict(state)
        return module.eval()

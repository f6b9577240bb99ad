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
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["FittedModel"]


@dataclass(eq=False)
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

    generator: nn.Module
    noise_dim: int
    classes: np.ndarray
    class_weights: np.ndarray | None

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    @property
    def columns(self) -> list | None:
        """The feature names of a table (None for images); export writes tables only."""
        return None

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
        fitted["architecture"] = self.architecture()
        weights = self.class_weights
        fitted["class_weights"] = (
            None if weights is None else np.asarray(weights, dtype=np.float64).tolist()
        )
        generator = {k: v.detach().cpu() for k, v in self.generator.state_dict().items()}
        return fitted, {"generator": generator, **tensors}

    def _state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        """The domain's own metadata and tensors (besides the generator's)."""
        raise NotImplementedError

    def architecture(self) -> dict:
        """The generator's sizes, as estimator parameters with every ``"auto"``
        resolved (saved beside the weights: ``"auto"`` depends on the data)."""
        return {"embedding_dim": self.noise_dim}

    @staticmethod
    def from_state(
        fitted: dict, tensors: dict, params: dict, device: torch.device
    ) -> FittedModel:
        """Rebuild a model from :meth:`state` (and the estimator's saved
        parameters, which give the generator's architecture) on ``device``.

        Raises
        ------
        ValueError, KeyError, TypeError
            If the state is malformed; the caller names the file.
        """
        from .images.model import ImageModel
        from .tabular.model import TabularModel

        if not isinstance(tensors, dict) or not all(isinstance(k, str) for k in tensors):
            raise ValueError("weights.pt does not hold a dictionary of tensors by name")
        classes = fitted["classes_"]
        if not isinstance(classes, np.ndarray) or classes.ndim != 1 or not len(classes):
            raise ValueError(f"classes_ is not a 1-D array of class labels: {classes!r}")
        kind = ImageModel if "image_layout" in fitted else TabularModel
        weights = fitted.get("class_weights")
        # Files written before synthetic export and DP existed lack the weights.
        class_weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        if class_weights is not None and (
            class_weights.shape != classes.shape
            or not np.isfinite(class_weights).all()
            or (class_weights < 0).any()
        ):
            raise ValueError(
                f"class_weights is not one non-negative number per class: {weights!r}"
            )
        # "auto" and "data" sizes were resolved for the training data, and saved; files
        # written before sizes could be "auto" have none.
        architecture = _checked_architecture(fitted.get("architecture", {}))
        params = {
            **params,
            **{k: v for k, v in architecture.items() if _is_auto(params.get(k))},
        }
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
    def _load_generator(
        build: Callable[[], nn.Module], state: Any, device: torch.device
    ) -> nn.Module:
        """Build a generator with ``build``, check that ``state`` fits it, and
        only then allocate it on ``device`` and load ``state`` into it.

        The architecture comes from a file's metadata; building it for real
        would allocate whatever that metadata claims. Built on the ``meta``
        device it costs nothing, and it is allocated only once the tensors
        actually in the file (which the file's size bounds) have its shapes.

        Raises
        ------
        ValueError
            If ``state`` is not a dictionary of tensors with exactly the
            generator's entries and shapes, or holds non-finite weights.
        """
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise ValueError("the generator's weights are not a dictionary of tensors")
        with torch.device("meta"):
            module = build()
        expected = module.state_dict()
        missing = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected))
        if missing or extra:
            raise ValueError(
                "the generator's weights do not fit its architecture (missing "
                f"{_few(missing)}, unexpected {_few(extra)})"
            )
        for name, needed in expected.items():
            tensor = state[name]
            # Shapes must match exactly; dtypes only in kind, as load_state_dict
            # casts (a float64 default dtype when saving or loading is fine).
            if tensor.shape != needed.shape or (
                tensor.is_floating_point() != needed.is_floating_point()
                or tensor.is_complex()
            ):
                raise ValueError(
                    f"the generator's weight {name!r} is {tuple(tensor.shape)} "
                    f"{tensor.dtype}, but its architecture needs {tuple(needed.shape)} "
                    f"{needed.dtype}"
                )
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise ValueError(f"the generator's weight {name!r} is not finite")
        module = module.to_empty(device=device)
        module.load_state_dict(state)
        return module.eval()


def _is_auto(value: Any) -> bool:
    """Whether a size parameter was resolved at fit time ("auto" or "data")."""
    return isinstance(value, str) and value in ("auto", "data")


def _checked_architecture(architecture: Any) -> dict:
    if not isinstance(architecture, dict) or not set(architecture) <= {
        "embedding_dim", "generator_dims"
    }:
        raise ValueError(f"architecture is not a dictionary of sizes: {architecture!r}")

    def size(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    dims = architecture.get("generator_dims", [])
    if not size(architecture.get("embedding_dim", 1)) or not (
        isinstance(dims, list) and all(size(d) for d in dims)
    ):
        raise ValueError(
            f"architecture holds sizes that are not positive integers: {architecture!r}"
        )
    return architecture


def _few(names: list[str], n: int = 5) -> str:
    """At most ``n`` names for a message (a hostile file can have millions)."""
    shown = ", ".join(map(repr, names[:n]))
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return f"[{shown}{more}]"

"""The fitted image model: the conditional DCGAN's generator and the image layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..fitted import FittedModel
from .data import generate_images
from .layout import ImageLayout
from .networks import ImageGenerator

__all__ = ["ImageModel"]


@dataclass(eq=False)
class ImageModel(FittedModel):
    """An image generator and the layout its images go back to.

    Parameters
    ----------
    generator, noise_dim, classes, class_weights
        As for :class:`~gan_augment.fitted.FittedModel`.
    layout : ImageLayout
        The input's layout, dtype and value range.
    """

    layout: ImageLayout

    def fitted_attributes(self) -> dict:
        return {"image_layout_": self.layout}

    def generate(self, class_index: int, n: int, rng: torch.Generator) -> np.ndarray:
        images = generate_images(
            self.generator, class_index, n, self.n_classes, self.noise_dim, rng
        )
        return self.layout.restore(images)

    def empty(self) -> np.ndarray:
        return self.layout.restore(np.empty((0, *self.layout.shape), dtype=np.float32))

    def _state(self) -> tuple[dict, dict]:
        return {"image_layout": self.layout.get_state()}, {}

    @classmethod
    def _from_state(cls, fitted, tensors, params, device, class_weights) -> ImageModel:
        unexpected = sorted(set(tensors) - {"generator"})
        if unexpected:
            raise ValueError(f"weights.pt holds unexpected entries {unexpected}")
        layout = ImageLayout.from_state(fitted["image_layout"])
        classes = fitted["classes_"]
        noise_dim, width = params["embedding_dim"], params["conv_width"]
        generator = cls._load_generator(
            lambda: ImageGenerator(noise_dim, len(classes), layout.shape, width),
            tensors["generator"],
            device,
        )
        return cls(generator, noise_dim, classes, class_weights, layout)

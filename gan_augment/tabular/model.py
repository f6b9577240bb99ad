"""The fitted tabular model: generator, transformer, generation conditions, schema."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..fitted import FittedModel
from ..schema import TableSchema
from .conditions import GenerationConditions
from .data import generate_encoded
from .networks import Generator
from .transformer import TabularTransformer

__all__ = ["TabularModel"]


class TabularModel(FittedModel):
    """A tabular generator and its codec.

    Parameters
    ----------
    generator, noise_dim, classes, class_weights
        As for :class:`~gan_augment.fitted.FittedModel`.
    schema : TableSchema
        The user's table: container, columns, dtypes, categorical mask.
    transformer : TabularTransformer
        Encodes rows for the GAN and decodes generated ones.
    conditions : GenerationConditions
        The condition vectors of generation (categories by their frequency
        within the class).
    """

    def __init__(
        self,
        generator: nn.Module,
        noise_dim: int,
        classes: np.ndarray,
        class_weights: np.ndarray | None,
        schema: TableSchema,
        transformer: TabularTransformer,
        conditions: GenerationConditions,
    ) -> None:
        super().__init__(generator, noise_dim, classes, class_weights)
        self.schema = schema
        self.transformer = transformer
        self.conditions = conditions

    @property
    def columns(self) -> list:
        return self.schema.names

    def fitted_attributes(self) -> dict:
        return {
            "categorical_features_": self.schema.categorical_indices,
            "continuous_features_": self.schema.continuous_indices,
            "image_layout_": None,
        }

    def generate_parts(
        self, class_index: int, n: int, rng: torch.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generated rows of a class, split as :meth:`TableSchema.split` splits a table."""
        encoded = generate_encoded(
            self.generator, self.transformer.layout_, self.conditions, class_index, n,
            self.noise_dim, rng,
        )
        # Pooled rare categories are drawn from a NumPy stream seeded by the
        # torch stream, so the whole generation follows one seed.
        seed = int(torch.randint(2**31 - 1, (1,), generator=rng, device=rng.device))
        return self.transformer.inverse_transform(encoded, np.random.default_rng(seed))

    def generate(self, class_index: int, n: int, rng: torch.Generator):
        return self.schema.restore(*self.generate_parts(class_index, n, rng))

    def empty(self):
        return self.schema.restore(
            np.empty((0, len(self.schema.continuous_indices))),
            np.empty((0, len(self.schema.categorical_indices)), dtype=object),
        )

    def _state(self) -> tuple[dict, dict]:
        tensors = {}
        if self.conditions.weights is not None:
            tensors["generation_weights"] = torch.as_tensor(self.conditions.weights)
        fitted = {
            "schema": self.schema.get_state(),
            "transformer": self.transformer.get_state(),
            "n_classes": self.conditions.n_classes,
            "n_pairs": self.conditions.n_pairs,
        }
        return fitted, tensors

    @classmethod
    def _from_state(cls, fitted, tensors, params, device, class_weights) -> TabularModel:
        transformer = TabularTransformer.from_state(fitted["transformer"])
        generation = tensors.get("generation_weights")
        conditions = GenerationConditions(
            fitted["n_classes"],
            fitted["n_pairs"],
            None if generation is None else generation.cpu().numpy(),
        )
        generator = cls._load_generator(
            Generator(
                params["embedding_dim"] + fitted["n_classes"] + fitted["n_pairs"],
                tuple(params["generator_dims"]),
                transformer.layout_.width,
            ),
            tensors["generator"],
            device,
        )
        return cls(
            generator,
            params["embedding_dim"],
            fitted["classes_"],
            class_weights,
            TableSchema.from_state(fitted["schema"]),
            transformer,
            conditions,
        )


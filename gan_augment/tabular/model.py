"""The fitted tabular model: generator, transformer, generation conditions, schema."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..fitted import FittedModel
from ..schema import TableSchema
from .anchors import AnchoredConditions
from .conditions import GenerationConditions
from .data import generate_encoded
from .networks import Generator
from .transformer import TabularTransformer

__all__ = ["TabularModel"]


@dataclass(eq=False)
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
    conditions : GenerationConditions or AnchoredConditions
        The condition vectors of generation (categories by their frequency
        within the class). For ``generator="anchored"``, they hold the
        encoded training rows the generator is anchored on: such a model
        holds real rows.
    """

    schema: TableSchema
    transformer: TabularTransformer
    conditions: GenerationConditions | AnchoredConditions

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

    def architecture(self) -> dict:
        return {**super().architecture(), "generator_dims": list(self.generator.hidden)}

    def _state(self) -> tuple[dict, dict]:
        tensors = {}
        if isinstance(self.conditions, AnchoredConditions):
            tensors.update(self.conditions.state())
        elif self.conditions.weights is not None:
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
        # Files written before anchored generation existed have no such parameter.
        anchored = params.get("generator", "conditional") == "anchored"
        own = {"anchors", "anchor_counts"} if anchored else {"generation_weights"}
        unexpected = sorted(set(tensors) - {"generator"} - own)
        if unexpected:
            raise ValueError(f"weights.pt holds unexpected entries {unexpected}")
        classes = fitted["classes_"]
        schema = TableSchema.from_state(fitted["schema"])
        transformer = TabularTransformer.from_state(fitted["transformer"])
        n_classes, n_pairs = fitted["n_classes"], fitted["n_pairs"]
        # Each piece is valid on its own; these are the facts that tie them
        # together, which a hand-edited file could break without any error
        # before the first sample.
        if n_classes != len(classes):
            raise ValueError(f"n_classes is {n_classes!r} for {len(classes)} classes")
        if n_pairs != sum(transformer.n_categories):
            raise ValueError(
                f"n_pairs is {n_pairs!r}, but the categorical columns have "
                f"{sum(transformer.n_categories)} one-hot entries"
            )
        if (
            len(schema.continuous_indices) != len(transformer.columns_)
            or len(schema.categorical_indices) != transformer.n_categorical_
        ):
            raise ValueError(
                "the schema's continuous and categorical columns do not match the "
                "transformer's"
            )
        if anchored:
            conditions = AnchoredConditions.from_state(
                tensors, n_classes, n_pairs, transformer.layout_
            )
        else:
            conditions = cls._generation_conditions(tensors, n_classes, n_pairs)
        hidden = tuple(params["generator_dims"])
        state = tensors["generator"]
        # Every hidden layer has tensors in the file: this bounds the layers to
        # build before the architecture is even made.
        if isinstance(state, dict) and len(hidden) > len(state):
            raise ValueError(
                f"generator_dims has {len(hidden)} layers; the file's generator has "
                "fewer tensors"
            )
        embedding_dim = params["embedding_dim"]
        width = transformer.layout_.width
        generator = cls._load_generator(
            lambda: Generator(embedding_dim + conditions.cond_dim, hidden, width),
            state,
            device,
        )
        return cls(
            generator, embedding_dim, classes, class_weights, schema, transformer, conditions
        )

    @staticmethod
    def _generation_conditions(
        tensors: dict, n_classes: int, n_pairs: int
    ) -> GenerationConditions:
        """The conditional generator's conditions, from its category weights."""
        generation = tensors.get("generation_weights")
        if generation is not None:
            generation = generation.cpu().numpy()
            if (
                generation.shape != (n_classes, n_pairs)
                or not np.isfinite(generation).all()
                or (generation < 0).any()
            ):
                raise ValueError(
                    f"generation_weights is {generation.shape}, expected non-negative "
                    f"weights of shape ({n_classes}, {n_pairs})"
                )
        elif n_pairs:
            raise ValueError("the entry 'generation_weights' is missing from weights.pt")
        return GenerationConditions(n_classes, n_pairs, generation)

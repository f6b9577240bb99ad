"""The tabular batch source for the training loop, and generation after fitting."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn.functional import cross_entropy

from .auxiliary import AuxiliaryClassifier
from .conditions import ConditionBatch, ConditionSampler, GenerationConditions
from .transformer import OutputLayout

if TYPE_CHECKING:
    from .anchors import AnchoredConditions

__all__ = ["EncodedRows", "TabularBatches", "generate_encoded"]


class EncodedRows:
    """What every tabular batch source shares: activations and the condition loss.

    Subclasses set ``layout`` and ``_n_categorical``, and may set ``auxiliary``
    (an :class:`~gan_augment.tabular.auxiliary.AuxiliaryClassifier`) with its
    ``auxiliary_weight`` and the ``n_classes`` at the head of a condition.
    """

    layout: OutputLayout
    _n_categorical: int
    auxiliary: AuxiliaryClassifier | None = None
    auxiliary_weight: float = 0.0
    n_classes: int = 0

    def activate(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.layout.activate(raw, generator)

    def condition_loss(
        self, raw: torch.Tensor, fake: torch.Tensor, batch: ConditionBatch
    ) -> torch.Tensor:
        """Cross-entropy between the conditioned column's logits and its
        category, plus the auxiliary classifier's clipped loss on the rows."""
        loss = raw.new_zeros(())
        if batch.column is not None:
            logits = self.layout.span_logits(raw)[:, -self._n_categorical :]
            chosen = logits[torch.arange(len(raw), device=raw.device), batch.column]
            loss = cross_entropy(chosen, batch.category)
        if self.auxiliary is not None:
            classes = batch.cond[:, : self.n_classes].argmax(dim=1)
            loss = loss + self.auxiliary_weight * self.auxiliary.loss(fake, classes)
        return loss


class TabularBatches(EncodedRows):
    """Encoded rows on the device, with their conditions: what the loop trains on.

    Parameters
    ----------
    encoded : ndarray of float32, shape (n_rows, layout.width)
    y_codes : ndarray of int, shape (n_rows,)
    category_codes : ndarray of int, shape (n_rows, n_categorical)
    n_classes : int
    n_categories : list of int
    layout : OutputLayout
    device : torch.device
    pack_size : int, default=1
        Rows per discriminator pack; each pack is drawn from a single class.
    auxiliary : AuxiliaryClassifier or None, default=None
    auxiliary_weight : float, default=0.0
        The auxiliary classifier's loss and its weight in the generator's
        objective (see :mod:`gan_augment.tabular.auxiliary`).
    """

    def __init__(
        self,
        encoded: np.ndarray,
        y_codes: np.ndarray,
        category_codes: np.ndarray,
        n_classes: int,
        n_categories: list[int],
        layout: OutputLayout,
        device: torch.device,
        pack_size: int = 1,
        auxiliary: AuxiliaryClassifier | None = None,
        auxiliary_weight: float = 0.0,
    ) -> None:
        self.pack_size = pack_size
        self.auxiliary, self.auxiliary_weight, self.n_classes = (
            auxiliary, auxiliary_weight, n_classes,
        )
        self.data = torch.as_tensor(encoded, device=device)
        self.conditions = ConditionSampler(
            y_codes, category_codes, n_classes, n_categories, device
        )
        self.layout = layout
        self.cond_dim = self.conditions.cond_dim
        self._n_categorical = len(n_categories)

    @property
    def generation(self) -> GenerationConditions:
        """The conditions of generation after fitting on these rows."""
        return self.conditions.generation

    def sample(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, ConditionBatch]:
        batch = self.conditions.sample_train(n, generator, self.pack_size)
        return self.data[batch.rows], batch

    def sample_conditions(self, n: int, generator: torch.Generator) -> ConditionBatch:
        """Conditions for a generator step, drawn like a training batch's (the
        same random draws) without gathering the real rows it would not use."""
        return self.conditions.sample_train(n, generator, self.pack_size)


@torch.no_grad()
def generate_encoded(
    generator: nn.Module,
    layout: OutputLayout,
    conditions: GenerationConditions | AnchoredConditions,
    class_index: int,
    n_rows: int,
    noise_dim: int,
    rng: torch.Generator,
    chunk_size: int = 50_000,
) -> np.ndarray:
    """Generate ``n_rows`` encoded rows of one class, in eval mode, chunk by chunk.

    Returns
    -------
    ndarray of float32, shape (n_rows, layout.width)
        Scalars after tanh and exact one-hots, ready for ``inverse_transform``.
    """
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    out = np.empty((n_rows, layout.width), dtype=np.float32)
    try:
        for start in range(0, n_rows, chunk_size):
            n = min(chunk_size, n_rows - start)
            cond = conditions.sample(class_index, n, rng, device)
            noise = torch.randn(n, noise_dim, generator=rng, device=device)
            raw = generator(torch.cat([noise, cond], dim=1))
            rows = layout.activate(raw, rng, hard=True)
            out[start : start + n] = rows.cpu().numpy()
    finally:
        generator.train(was_training)
    return out


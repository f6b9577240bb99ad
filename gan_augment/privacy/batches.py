"""The batch source of differentially private training: Poisson sampling.

DP-SGD's accountant assumes that every row enters a batch independently with
probability ``q`` (Poisson sampling), so under DP real rows are not drawn by
training-by-sampling, whose rate would depend on the row's category. Each
sampled row is conditioned on its own class and on its own category in one
categorical column picked at random; the fake rows the discriminator compares
with it are generated from the same conditions, so the pair (real row, fake
row) is one example for per-example clipping and depends on one real row only.

Generator steps draw conditions from the released noisy counts, never from
the real rows.
"""

from __future__ import annotations

import numpy as np
import torch

from ..tabular.conditions import ConditionBatch
from ..tabular.data import EncodedRows
from ..tabular.transformer import OutputLayout

__all__ = ["PoissonBatches"]


class PoissonBatches(EncodedRows):
    """Encoded rows on the device, sampled with probability ``sample_rate`` each.

    Parameters
    ----------
    encoded : ndarray of float32, shape (n_rows, layout.width)
    y_codes : ndarray of int, shape (n_rows,)
    category_codes : ndarray of int, shape (n_rows, n_categorical)
    n_categories : list of int
    layout : OutputLayout
    device : torch.device
    sample_rate : float
    class_weights : ndarray of shape (n_classes,)
        Noisy class sizes, for the generator steps' conditions.
    pair_weights : ndarray of shape (n_classes, n_pairs) or None
        Per class, the probability of conditioning on each (column, category),
        from noisy counts.
    """

    def __init__(
        self,
        encoded: np.ndarray,
        y_codes: np.ndarray,
        category_codes: np.ndarray,
        n_categories: list[int],
        layout: OutputLayout,
        device: torch.device,
        sample_rate: float,
        class_weights: np.ndarray,
        pair_weights: np.ndarray | None,
    ) -> None:
        self.data = torch.as_tensor(encoded, device=device)
        self.y = torch.as_tensor(y_codes, dtype=torch.long, device=device)
        self.codes = torch.as_tensor(category_codes, dtype=torch.long, device=device)
        self.layout = layout
        self.device = device
        self.sample_rate = sample_rate
        self.n_classes = len(class_weights)
        self._n_categorical = len(n_categories)
        offsets = np.concatenate([[0], np.cumsum(n_categories)[:-1]]).astype(np.int64)
        self._offsets = torch.as_tensor(offsets, device=device)
        self.cond_dim = self.n_classes + int(sum(n_categories))
        self._class_w = torch.as_tensor(class_weights, dtype=torch.float32, device=device)
        self._pair_w = (
            None
            if pair_weights is None
            else torch.as_tensor(pair_weights, dtype=torch.float32, device=device)
        )
        pair_column = np.repeat(np.arange(self._n_categorical), n_categories)
        self._pair_column = torch.as_tensor(pair_column, device=device)

    def _batch(
        self, rows: torch.Tensor | None, classes: torch.Tensor, column, category
    ) -> ConditionBatch:
        n = len(classes)
        cond = torch.zeros(n, self.cond_dim, device=self.device)
        arange = torch.arange(n, device=self.device)
        cond[arange, classes] = 1.0
        if column is not None:
            cond[arange, self.n_classes + self._offsets[column] + category] = 1.0
        return ConditionBatch(cond, rows, column, category)

    def sample(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, ConditionBatch]:
        """A Poisson sample of the rows (``n`` is only its expected size)."""
        keep = torch.rand(len(self.y), generator=generator, device=self.device)
        rows = torch.nonzero(keep < self.sample_rate)[:, 0]
        column = category = None
        if self._n_categorical:
            column = torch.randint(
                self._n_categorical, (len(rows),), generator=generator, device=self.device
            )
            category = self.codes[rows, column]
        return self.data[rows], self._batch(rows, self.y[rows], column, category)

    def sample_conditions(self, n: int, generator: torch.Generator) -> ConditionBatch:
        """``n`` conditions drawn from the released noisy counts."""
        classes = torch.multinomial(self._class_w, n, replacement=True, generator=generator)
        column = category = None
        if self._pair_w is not None:
            pair = torch.multinomial(self._pair_w[classes], 1, generator=generator)[:, 0]
            column = self._pair_column[pair]
            category = pair - self._offsets[column]
        return self._batch(None, classes, column, category)

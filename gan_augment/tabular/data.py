"""The tabular batch source for the training loop, and generation after fitting."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn.functional import cross_entropy

from .conditions import ConditionBatch, ConditionSampler, GenerationConditions
from .transformer import OutputLayout

if TYPE_CHECKING:
    from .anchors import AnchoredConditions

__all__ = [
    "BANDWIDTH_ROWS",
    "MAX_ROWS_PER_CLASS",
    "EncodedRows",
    "TabularBatches",
    "ValidationScore",
    "generate_encoded",
]

#: Held-out rows per class that the early-stopping score keeps. Its memory
#: grows with the square of the rows it compares (a class's kernel matrices
#: hold kept x generated distances, and it generates twice the rows it keeps),
#: so this bounds a score at a few tens of MB whatever the data set: 1,000 real
#: and 2,000 generated rows per class.
MAX_ROWS_PER_CLASS = 1_000
#: Held-out rows the kernel's bandwidth (their median pairwise distance) is
#: computed on.
BANDWIDTH_ROWS = 1_000


class EncodedRows:
    """What every tabular batch source shares: activations and the condition loss.

    Subclasses set ``layout`` and ``_n_categorical``.
    """

    layout: OutputLayout
    _n_categorical: int

    def activate(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.layout.activate(raw, generator)

    def condition_loss(self, raw: torch.Tensor, batch: ConditionBatch) -> torch.Tensor:
        """Cross-entropy between the conditioned column's logits and its category."""
        if batch.column is None:
            return raw.new_zeros(())
        logits = self.layout.span_logits(raw)[:, -self._n_categorical :]
        chosen = logits[torch.arange(len(raw), device=raw.device), batch.column]
        return cross_entropy(chosen, batch.category)


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
    ) -> None:
        self.pack_size = pack_size
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


class ValidationScore:
    """Class-conditional MMD between generated rows and held-out real rows.

    For each class with held-out rows, generated rows of that class (in eval
    mode, exact one-hots) are compared with the held-out rows by the squared
    maximum mean discrepancy with a Gaussian kernel, in the encoded space; the
    score is the mean over classes (lower is better). The bandwidth is the
    median pairwise distance between held-out rows. Noise comes from a stream
    of its own, reset at every call, so scores of successive epochs differ only
    through the generator, and the training stream is never touched.

    Memory is bounded whatever the hold-out's size: each class keeps at most
    :data:`MAX_ROWS_PER_CLASS` of its held-out rows (so every class with
    held-out rows keeps some) and is compared with twice as many generated
    rows (at least 200); the bandwidth is computed on at most
    :data:`BANDWIDTH_ROWS` held-out rows drawn from all classes alike. The rows
    are drawn once, with a NumPy stream seeded by ``seed``; below the bounds
    every row is kept.

    Parameters
    ----------
    encoded : ndarray of float32, shape (n_rows, layout.width)
        Held-out rows, encoded.
    y_codes : ndarray of int, shape (n_rows,)
    conditions : GenerationConditions or AnchoredConditions
        How the generated rows are conditioned: as after fitting.
    layout : OutputLayout
    noise_dim : int
    device : torch.device
    seed : int
    """

    def __init__(
        self,
        encoded: np.ndarray,
        y_codes: np.ndarray,
        conditions: GenerationConditions | AnchoredConditions,
        layout: OutputLayout,
        noise_dim: int,
        device: torch.device,
        seed: int,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.real: dict[int, torch.Tensor] = {}
        for c in np.unique(y_codes):
            rows = np.flatnonzero(y_codes == c)
            if len(rows) > MAX_ROWS_PER_CLASS:
                rows = np.sort(rng.choice(rows, MAX_ROWS_PER_CLASS, replace=False))
            # Only the kept rows go to the device.
            self.real[int(c)] = torch.as_tensor(encoded[rows], device=device)
        #: Generated rows each class is compared with.
        self.n_fake = {c: max(200, 2 * len(real)) for c, real in self.real.items()}
        self.conditions, self.layout, self.noise_dim = conditions, layout, noise_dim
        self.device, self.seed = device, seed
        # Drawn from the whole hold-out, not the kept rows: the bandwidth keeps
        # the scale of the data as its classes mix, which capping distorts.
        rows = np.arange(len(y_codes))
        if len(rows) > BANDWIDTH_ROWS:
            rows = np.sort(rng.choice(rows, BANDWIDTH_ROWS, replace=False))
        sample = torch.as_tensor(encoded[rows], device=device)
        self.bandwidth = float(torch.cdist(sample, sample).median().clamp_min(1e-6))

    def _mmd2(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        gamma = 1.0 / (2 * self.bandwidth**2)

        def k(x, y):
            return torch.exp(-gamma * torch.cdist(x, y) ** 2).mean()

        return k(a, a) + k(b, b) - 2 * k(a, b)

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> float:
        rng = torch.Generator(device=self.device).manual_seed(self.seed)
        scores = []
        for class_index, real in self.real.items():
            n = self.n_fake[class_index]
            cond = self.conditions.sample(class_index, n, rng, self.device)
            noise = torch.randn(n, self.noise_dim, generator=rng, device=self.device)
            fake = self.layout.activate(
                generator(torch.cat([noise, cond], dim=1)), rng, hard=True
            )
            scores.append(self._mmd2(real, fake))
        return float(torch.stack(scores).mean())

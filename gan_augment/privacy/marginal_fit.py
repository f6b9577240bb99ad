"""A generator fitted to noisy marginals alone (GEM: Liu, Vietri and Wu, 2021,
"Iterative methods for private synthetic data").

A small conditional network maps noise and a class one-hot to a probability
vector over every column's cells (:class:`~gan_augment.privacy.measurements.Cells`).
Its answer to a marginal is the expectation over a large generated batch of
the product of those vectors, which is differentiable; it is fitted by Adam
to every measurement at once by least squares, each count weighted by the
inverse of its noise variance (what Private-PGM's estimation minimises).
It never sees a row: it reads the measurements, so everything it does is
post-processing. Rows are drawn by sampling each column's cell from the
vector of one noise draw: dependences between columns come from the noise.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .measurements import Cells, Measurement

__all__ = ["MarginalGenerator"]


class MarginalGenerator:
    """Fit to measurements; answer marginals; draw cells.

    Parameters
    ----------
    cells : Cells
    class_sizes : ndarray of float
        The released (noisy) rows per class; the model's counts are its
        probabilities times these.
    device : torch.device
    rng : torch.Generator
        The stream of its weights, noise and draws.
    hidden : int, default=128
    batch_size : int, default=256
        Noise draws per class and step.
    warm_steps : int, default=100
        Steps of each refit between two measurement rounds.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_augment.privacy.measurements import Cells, Measurement
    >>> cells = Cells([2], [np.array([0, 1])], [])
    >>> model = MarginalGenerator(cells, np.array([100.0]), torch.device("cpu"),
    ...                           torch.Generator().manual_seed(0))
    >>> model.fit([Measurement((0,), True, np.array([[80.0, 20.0]]), np.ones(2))], 150)
    >>> shares = np.bincount(model.sample([1000], np.random.default_rng(0))[0][:, 0]) / 1000
    >>> bool(abs(shares[0] - 0.8) < 0.05)
    True
    """

    def __init__(
        self,
        cells: Cells,
        class_sizes: np.ndarray,
        device: torch.device,
        rng: torch.Generator,
        hidden: int = 128,
        batch_size: int = 256,
        warm_steps: int = 100,
    ) -> None:
        self.cells = cells
        self.n_classes = len(class_sizes)
        self.device = device
        self.rng = rng
        self.batch_size = batch_size
        self.warm_steps = warm_steps
        self.noise_dim = 32
        width = int(cells.offsets[-1])
        self.sizes = torch.as_tensor(class_sizes, dtype=torch.float32, device=device)
        with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=rng)))
            self.net = nn.Sequential(
                nn.Linear(self.noise_dim + self.n_classes, hidden), nn.ReLU(),
                nn.Linear(hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, width),
            ).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        # Column of each cell, for a softmax within every column at once.
        columns = np.repeat(np.arange(len(cells.sizes)), cells.sizes)
        self._columns = torch.as_tensor(columns, device=device)
        self._indicator = nn.functional.one_hot(self._columns, len(cells.sizes)).float()

    def _probabilities(self, n: int) -> torch.Tensor:
        """Cell probabilities of ``n`` noise draws per class, shape (n_classes, n, W)."""
        noise = torch.randn(
            self.n_classes * n, self.noise_dim, generator=self.rng, device=self.device
        )
        classes = torch.arange(self.n_classes, device=self.device).repeat_interleave(n)
        cond = nn.functional.one_hot(classes, self.n_classes).float()
        logits = self.net(torch.cat([noise, cond], dim=1))
        # A softmax per column: subtract each column's maximum, normalise by its sum.
        column_max = torch.zeros(
            len(logits), len(self.cells.sizes), device=self.device
        ).scatter_reduce(1, self._columns.expand(len(logits), -1), logits, "amax", include_self=False)
        exp = torch.exp(logits - column_max[:, self._columns])
        probabilities = exp / (exp @ self._indicator)[:, self._columns]
        return probabilities.reshape(self.n_classes, n, -1)

    def _targets(self, measurements: list[Measurement]):
        """Every measurement as positions in the flattened per-class moments
        (``(W + 1) * W`` per class: the co-occurrences, then the means), the
        noisy counts and their weights, split into per-class and pooled ones."""
        offsets, width = self.cells.offsets, int(self.cells.offsets[-1])
        parts = {True: ([], [], []), False: ([], [], [])}
        for m in measurements:
            spans = [np.arange(offsets[j], offsets[j + 1]) for j in m.columns]
            if len(spans) == 1:
                index = width * width + spans[0]
            else:
                index = (spans[0][:, None] * width + spans[1][None, :]).reshape(-1)
            positions, answers, weights = parts[m.per_class]
            positions.append(index)
            answers.append(np.asarray(m.answer, dtype=np.float64).reshape(
                (self.n_classes, -1) if m.per_class else (-1,)))
            weights.append(np.broadcast_to(1.0 / np.asarray(m.std) ** 2, answers[-1].shape))
        out = {}
        for per_class, (positions, answers, weights) in parts.items():
            if positions:
                as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32, device=self.device)  # noqa: E731
                out[per_class] = (
                    torch.as_tensor(np.concatenate(positions), device=self.device),
                    as_tensor(np.concatenate(answers, axis=-1)),
                    as_tensor(np.concatenate(weights, axis=-1)),
                )
        return out

    def _flat_moments(self, p: torch.Tensor) -> torch.Tensor:
        """Per class, counts of every two cells and of every cell, (n_classes, (W + 1) * W)."""
        scale = (self.sizes / p.shape[1])[:, None, None]
        pairs = (p.transpose(1, 2) @ p * scale).reshape(self.n_classes, -1)
        return torch.cat([pairs, p.sum(dim=1) * scale[:, 0]], dim=1)

    def fit(self, measurements: list[Measurement], steps: int) -> None:
        """Take ``steps`` Adam steps on the weighted squared error of every measurement."""
        targets = self._targets(measurements)
        self.net.train()
        for _ in range(steps):
            flat = self._flat_moments(self._probabilities(self.batch_size))
            loss = 0.0
            for per_class, (positions, answer, weight) in targets.items():
                model = flat[:, positions] if per_class else flat[:, positions].sum(dim=0)
                loss = loss + ((model - answer) ** 2 * weight).sum()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()

    @torch.no_grad()
    def moments(self, n: int = 2048) -> np.ndarray:
        """Expected per-class co-occurrence counts of every two cells, (n_classes, W, W)."""
        p = self._probabilities(n)
        moments = p.transpose(1, 2) @ p * (self.sizes / n)[:, None, None]
        return moments.cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def sample(self, sizes, rng: np.random.Generator) -> list[np.ndarray]:
        """Per class, ``sizes[c]`` rows of cells, each column drawn from one noise draw's vector."""
        offsets = self.cells.offsets
        rows = []
        # One pass draws every class's rows (each class gets the largest size).
        every = self._probabilities(max(int(max(sizes)), 1)).cpu().numpy().astype(np.float64)
        for p, size in zip(every, sizes):
            cells = np.empty((int(size), len(self.cells.sizes)), dtype=np.int64)
            for j in range(len(self.cells.sizes)):
                block = p[: int(size), offsets[j]:offsets[j + 1]]
                u = rng.random((len(block), 1))
                cells[:, j] = np.minimum(
                    (np.cumsum(block, axis=1) / block.sum(axis=1, keepdims=True) < u).sum(axis=1),
                    block.shape[1] - 1,
                )
            rows.append(cells)
        return rows

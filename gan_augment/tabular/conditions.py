"""Class-label conditions and training-by-sampling, vectorised on the device.

The condition vector of a row is ``[class one-hot | categorical one-hot]``:

* the **class label** conditions both networks, so a row generated for class
  ``c`` is a row of class ``c`` by construction;
* the **categorical part** is CTGAN's training-by-sampling (Xu et al., 2019,
  section 4.3): one categorical column is picked uniformly, one of its
  categories with probability proportional to ``log(1 + count)`` (its count
  within the class), and the real row is drawn among the rows of that class that hold
  that category. Rare categories are thereby seen often enough to be learned.

Everything a training step needs is precomputed once as tensors on the device:
rows sorted by ``(class, category)`` group with each group's offset and size,
so a batch is drawn with a few tensor operations and no Python loop over rows.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["ConditionBatch", "ConditionSampler", "GenerationConditions", "generation_conditions"]


class ConditionBatch:
    """A batch of conditions and the real rows that match them.

    Attributes
    ----------
    cond : Tensor of shape (batch, cond_dim)
    rows : Tensor of int64, shape (batch,)
        Indices of real rows holding the same class (and category).
    column : Tensor of int64, shape (batch,) or None
        Which categorical column was conditioned on (None without any).
    category : Tensor of int64, shape (batch,) or None
        Which category of that column.
    slots : Tensor of int64, shape (batch,) or None
        Where each row lies in the sampler's group order
        (``ConditionSampler.group_rows[slots] == rows``); None from batch
        sources without a group index.
    """

    __slots__ = ("cond", "rows", "column", "category", "slots")

    def __init__(self, cond, rows, column, category, slots=None) -> None:
        self.cond = cond
        self.rows = rows
        self.column = column
        self.category = category
        self.slots = slots


class GenerationConditions:
    """Condition vectors for generating rows of one class, after fitting.

    Categories are drawn with their empirical frequency within the class, so the
    generated rows follow the class's own category distribution. Holds only
    NumPy arrays: it pickles anywhere, whatever device trained the model.

    Parameters
    ----------
    n_classes : int
    n_pairs : int
        Total number of categories over all categorical columns.
    weights : ndarray of shape (n_classes, n_pairs) or None
        Per class, the probability of conditioning on each (column, category).
    """

    def __init__(self, n_classes: int, n_pairs: int, weights: np.ndarray | None):
        self.n_classes = n_classes
        self.n_pairs = n_pairs
        self.weights = None if weights is None else weights.astype(np.float32)

    @property
    def cond_dim(self) -> int:
        """Width of a condition vector: what the generator takes besides noise."""
        return self.n_classes + self.n_pairs

    def sample(
        self,
        class_index: int,
        n: int,
        generator: torch.Generator,
        device: torch.device,
    ) -> torch.Tensor:
        """``n`` condition vectors for class ``class_index``."""
        cond = torch.zeros(n, self.n_classes + self.n_pairs, device=device)
        cond[:, class_index] = 1.0
        if self.weights is not None:
            w = torch.as_tensor(self.weights[class_index], device=device)
            pair = torch.multinomial(w, n, replacement=True, generator=generator)
            cond[torch.arange(n, device=device), self.n_classes + pair] = 1.0
        return cond


class ConditionSampler:
    """Draw condition vectors for training and generation.

    Parameters
    ----------
    y_codes : ndarray of int, shape (n_rows,)
        Class index of each row, in ``0 .. n_classes - 1``.
    category_codes : ndarray of int, shape (n_rows, n_categorical)
        Category index of each row in each categorical column.
    n_classes : int
    n_categories : list of int
        Number of categories of each categorical column.
    device : torch.device

    Attributes
    ----------
    group_rows : Tensor of int64
        Row indices sorted by group: ``(class, column, category)`` with
        categorical columns (each row once per column), the class without.
    group_start, group_size : Tensor of int64, shape (n_groups,)
        Where each group's rows start in ``group_rows``, and how many there are.
    generation : GenerationConditions
        The conditions of generation after fitting.

    Examples
    --------
    >>> import numpy as np, torch
    >>> y = np.array([0, 0, 0, 1, 1])
    >>> codes = np.array([[0], [1], [1], [0], [1]])
    >>> sampler = ConditionSampler(y, codes, 2, [2], torch.device("cpu"))
    >>> batch = sampler.sample_train(4, torch.Generator().manual_seed(0))
    >>> batch.cond.shape
    torch.Size([4, 4])
    >>> bool((torch.as_tensor(y)[batch.rows] == batch.cond[:, :2].argmax(1)).all())
    True
    """

    def __init__(
        self,
        y_codes: np.ndarray,
        category_codes: np.ndarray,
        n_classes: int,
        n_categories: list[int],
        device: torch.device,
    ) -> None:
        self.n_classes = n_classes
        self.n_categories = list(n_categories)
        self.n_columns = len(self.n_categories)
        self.n_pairs = int(sum(self.n_categories))
        self.cond_dim = n_classes + self.n_pairs
        self.device = device
        n_rows = len(y_codes)
        y_codes = np.asarray(y_codes, dtype=np.int64)

        if self.n_columns:
            keys, counts, offsets, pair_column = _pair_counts(
                y_codes, category_codes, n_classes, self.n_categories
            )
            rows = np.repeat(np.arange(n_rows), self.n_columns)
            train_w = _per_column_normalised(np.log1p(counts), pair_column)
            generate_w = _per_column_normalised(counts.astype(np.float64), pair_column)
            self._pair_column = torch.as_tensor(pair_column, device=device)
            self._pair_offset = torch.as_tensor(offsets[pair_column], device=device)
        else:
            keys, rows = y_codes, np.arange(n_rows)
            n_groups = n_classes
            counts = np.bincount(keys, minlength=n_groups)
            train_w = generate_w = None

        order = np.argsort(keys, kind="stable")
        flat_counts = counts.ravel()
        self.group_rows = torch.as_tensor(rows[order], device=device)
        self.group_start = torch.as_tensor(
            np.cumsum(flat_counts) - flat_counts, device=device
        )
        self.group_size = torch.as_tensor(flat_counts, device=device)
        self._train_w = self._as_tensor(train_w)
        self.generation = GenerationConditions(n_classes, self.n_pairs, generate_w)

    def _as_tensor(self, w: np.ndarray | None) -> torch.Tensor | None:
        if w is None:
            return None
        return torch.as_tensor(w, dtype=torch.float32, device=self.device)

    def _draw(
        self,
        classes: torch.Tensor,
        weights: torch.Tensor | None,
        generator: torch.Generator,
    ) -> ConditionBatch:
        n = len(classes)
        cond = torch.zeros(n, self.cond_dim, device=self.device)
        arange = torch.arange(n, device=self.device)
        cond[arange, classes] = 1.0
        if weights is None:
            group, column, category = classes, None, None
        else:
            pair = torch.multinomial(weights[classes], 1, generator=generator)[:, 0]
            cond[arange, self.n_classes + pair] = 1.0
            group = classes * self.n_pairs + pair
            column = self._pair_column[pair]
            category = pair - self._pair_offset[pair]
        u = torch.rand(n, generator=generator, device=self.device)
        size = self.group_size[group]
        offset = (u * size).long().clamp_max(size - 1)
        slots = self.group_start[group] + offset
        return ConditionBatch(cond, self.group_rows[slots], column, category, slots)

    def sample_train(
        self, n: int, generator: torch.Generator, pack_size: int = 1
    ) -> ConditionBatch:
        """Conditions for a training batch.

        Classes are drawn uniformly, one per pack of ``pack_size`` consecutive
        rows, so that every pack the discriminator scores holds a single class;
        categories are drawn per row by log-frequency.
        """
        classes = torch.randint(
            self.n_classes, (n // pack_size,), generator=generator, device=self.device
        ).repeat_interleave(pack_size)
        return self._draw(classes, self._train_w, generator)


def _pair_counts(
    y_codes: np.ndarray, category_codes: np.ndarray, n_classes: int, n_categories: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row and categorical column its ``(class, column, category)`` key; the
    count of each key as ``(n_classes, n_pairs)``; each column's offset among
    the pairs, and each pair's column."""
    n_pairs = int(sum(n_categories))
    offsets = np.concatenate([[0], np.cumsum(n_categories)[:-1]]).astype(np.int64)
    pair = np.asarray(category_codes, dtype=np.int64) + offsets[None, :]
    keys = (np.asarray(y_codes, dtype=np.int64)[:, None] * n_pairs + pair).ravel()
    counts = np.bincount(keys, minlength=n_classes * n_pairs).reshape(n_classes, n_pairs)
    pair_column = np.repeat(np.arange(len(n_categories)), n_categories)
    return keys, counts, offsets, pair_column


def _per_column_normalised(w: np.ndarray, pair_column: np.ndarray) -> np.ndarray:
    """Weights over (column, category) pairs, per class: each column gets
    ``1 / n_columns`` of the mass, shared among its categories by ``w``."""
    n_columns = int(pair_column.max()) + 1
    totals = np.zeros((w.shape[0], n_columns))
    np.add.at(totals.T, pair_column, w.T)
    return w / totals[:, pair_column] / n_columns


def generation_conditions(
    y_codes: np.ndarray, category_codes: np.ndarray, n_classes: int, n_categories: list[int]
) -> GenerationConditions:
    """The conditions of generation for these rows: each class's categories
    with their frequency in the class (what :attr:`ConditionSampler.generation`
    holds, without the sampler's index of the rows).

    Examples
    --------
    >>> y, codes = np.array([0, 0, 0, 1]), np.array([[0], [1], [1], [0]])
    >>> generation_conditions(y, codes, 2, [2]).weights.astype(float).round(3).tolist()
    [[0.333, 0.667], [1.0, 0.0]]
    """
    n_pairs = int(sum(n_categories))
    if not len(n_categories):
        return GenerationConditions(n_classes, 0, None)
    _, counts, _, pair_column = _pair_counts(y_codes, category_codes, n_classes, n_categories)
    return GenerationConditions(
        n_classes, n_pairs, _per_column_normalised(counts.astype(np.float64), pair_column)
    )

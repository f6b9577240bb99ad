"""Anchor-conditioned generation: the generator is given a real row of the class.

With ``generator="anchored"``, the condition vector of a row is
``[class one-hot | categorical one-hot | anchor]``, where the anchor is a real
training row of the class, encoded. In training, the real row that the
discriminator sees with a condition is a near neighbour of its anchor, so the
discriminator compares (anchor, real neighbour) pairs with (anchor, generated
row) pairs, and the generator learns to make rows where a neighbour of the
anchor would lie: the learned form of SMOTE's interpolation between
neighbours. The idea is DAGAN's (A. Antoniou, A. Storkey, H. Edwards, "Data
Augmentation Generative Adversarial Networks", 2017, arXiv 1711.04340); the
networks and the loop are those of the conditional GAN, unchanged, since both
take the anchor through the condition.

* :func:`neighbour_points` places rows in the space where neighbours are
  sought: standardised continuous columns and one-hot categories, the metric
  of SMOTE and of the neighbour filter. (The encoded space would put two close
  values that fall in different modes of a column far apart.)
* :class:`NeighbourTable` holds, for every slot of the training-by-sampling
  group index, the nearest rows of the same group, computed once on the device.
* :class:`AnchoredBatches` is the batch source: training-by-sampling draws the
  anchor exactly as it draws a conditional batch's real row, and the real row
  is one of the anchor's neighbours.
* :class:`AnchoredConditions` are the conditions of generation after fitting:
  anchors drawn uniformly among the training rows of the class, which the
  fitted model therefore keeps.

Neighbours are taken within the anchor's ``(class, column, category)`` group,
not merely its class: the condition loss makes a generated row hold the
conditioned category, so the real row it is compared with holds it too. The
row alone in its group takes its neighbours in its class; the row alone in
its class is its own neighbour.
"""

from __future__ import annotations

import numpy as np
import torch

from .auxiliary import AuxiliaryClassifier
from .conditions import ConditionBatch, ConditionSampler
from .data import TabularBatches
from .transformer import OutputLayout

__all__ = [
    "N_NEIGHBOURS",
    "AnchoredBatch",
    "AnchoredBatches",
    "AnchoredConditions",
    "NeighbourTable",
    "neighbour_points",
]

#: Neighbours per anchor (SMOTE's default ``k_neighbors``); fewer in smaller groups.
N_NEIGHBOURS = 5
# Distances computed at once while building the table (64 MB of float32), so
# that a large class never needs its full distance matrix in memory.
_CHUNK = 2**24


def neighbour_points(
    continuous: np.ndarray, category_codes: np.ndarray, n_categories: list[int]
) -> np.ndarray:
    """Rows as points for the neighbour search: standardised continuous columns
    and a one-hot per categorical column (each category one unit away, as a
    standardised column's spread).

    Examples
    --------
    >>> import numpy as np
    >>> points = neighbour_points(np.array([[0.0], [2.0]]), np.array([[1], [0]]), [2])
    >>> points.tolist()
    [[-1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    """
    parts = []
    if continuous.shape[1]:
        scale = continuous.std(axis=0)
        parts.append((continuous - continuous.mean(axis=0)) / np.where(scale > 0, scale, 1.0))
    for codes, size in zip(category_codes.T, n_categories):
        parts.append(np.eye(size, dtype=np.float32)[codes])
    return np.hstack(parts).astype(np.float32)


def _nearest(
    points: torch.Tensor, queries: torch.Tensor, candidates: torch.Tensor, k: int
) -> torch.Tensor:
    """For each query row (each one of ``candidates``), its ``min(k, m - 1)``
    nearest other candidates, nearest first; a single candidate is its own."""
    if len(candidates) == 1:
        return candidates.expand(len(queries), 1)
    k = min(k, len(candidates) - 1)
    reference = points[candidates]
    step = max(1, _CHUNK // len(candidates))
    found = []
    for start in range(0, len(queries), step):
        query = queries[start : start + step]
        distance = torch.cdist(points[query], reference)
        distance.masked_fill_(query[:, None] == candidates[None, :], float("inf"))
        found.append(candidates[distance.topk(k, dim=1, largest=False).indices])
    return torch.cat(found)


class NeighbourTable:
    """The nearest rows of each row's group, for every slot of a group index.

    Built once, before training, with a Python loop over the groups (not the
    rows) and chunked distance computations on the device; a training step
    then picks neighbours with two gathers.

    Parameters
    ----------
    points : Tensor of float32, shape (n_rows, d)
        The rows in the neighbour space (:func:`neighbour_points`), on the device.
    y_codes : ndarray of int, shape (n_rows,)
    sampler : ConditionSampler
        Whose group index the table follows: slot ``s`` is row
        ``sampler.group_rows[s]`` in its group.
    k : int, default=N_NEIGHBOURS

    Attributes
    ----------
    rows : Tensor of int64, shape (n_slots, k)
        ``rows[s, :count[s]]``: the nearest rows to slot ``s``'s row in its
        group (in its class for a group of one row), nearest first, never the
        row itself unless it is alone in its class; the rest is -1.
    count : Tensor of int64, shape (n_slots,)

    Examples
    --------
    >>> import numpy as np, torch
    >>> y = np.array([0, 0, 0, 1, 1])
    >>> sampler = ConditionSampler(y, np.zeros((5, 0), int), 2, [], torch.device("cpu"))
    >>> points = torch.tensor([[0.0], [1.0], [5.0], [0.0], [9.0]])
    >>> table = NeighbourTable(points, y, sampler, k=1)
    >>> table.rows[:, 0].tolist(), table.count.tolist()
    ([1, 0, 1, 4, 3], [1, 1, 1, 1, 1])
    """

    def __init__(
        self,
        points: torch.Tensor,
        y_codes: np.ndarray,
        sampler: ConditionSampler,
        k: int = N_NEIGHBOURS,
    ) -> None:
        device = points.device
        group_rows = sampler.group_rows
        self.rows = torch.full((len(group_rows), k), -1, dtype=torch.long, device=device)
        self.count = torch.zeros(len(group_rows), dtype=torch.long, device=device)
        alone = []
        sizes = sampler.group_size.cpu().numpy()
        starts = sampler.group_start.cpu().numpy()
        for group in np.flatnonzero(sizes):
            start, size = int(starts[group]), int(sizes[group])
            if size == 1:
                alone.append(start)
                continue
            members = group_rows[start : start + size]
            self._fill(torch.arange(start, start + size, device=device),
                       _nearest(points, members, members, k))
        if alone:
            slots = torch.as_tensor(alone, device=device)
            y = torch.as_tensor(np.asarray(y_codes, dtype=np.int64), device=device)
            slot_class = y[group_rows[slots]]
            for c in torch.unique(slot_class).tolist():
                these = slots[slot_class == c]
                members = torch.nonzero(y == c)[:, 0]
                self._fill(these, _nearest(points, group_rows[these], members, k))

    def _fill(self, slots: torch.Tensor, neighbours: torch.Tensor) -> None:
        self.rows[slots, : neighbours.shape[1]] = neighbours
        self.count[slots] = neighbours.shape[1]

    def pick(self, slots: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """One neighbour per slot, uniformly among its neighbours (``u`` in [0, 1))."""
        count = self.count[slots]
        return self.rows[slots, (u * count).long().clamp_max(count - 1)]


class AnchoredBatch(ConditionBatch):
    """A :class:`ConditionBatch` whose real rows are neighbours of its anchors.

    Attributes
    ----------
    anchors : Tensor of int64, shape (batch,)
        The anchor rows, whose encoded form ends ``cond``; ``rows`` are their
        neighbours.
    """

    __slots__ = ("anchors",)

    def __init__(self, cond, rows, column, category, slots, anchors) -> None:
        super().__init__(cond, rows, column, category, slots)
        self.anchors = anchors


class AnchoredBatches(TabularBatches):
    """The batch source of anchored training: (anchor, neighbour) pairs.

    The condition of a row is the conditional GAN's (class, and a category
    drawn by training-by-sampling), followed by the encoded anchor, a real row
    drawn among those of that class and category; the real row is one of the
    anchor's :data:`N_NEIGHBOURS` nearest rows in the same group.

    Parameters
    ----------
    encoded, y_codes, category_codes, n_classes, n_categories, layout, device, pack_size
        As for :class:`~gan_augment.tabular.data.TabularBatches`.
    continuous : ndarray of float, shape (n_rows, n_continuous)
        The rows' continuous columns as given, for the neighbour search.
    n_neighbors : int, default=N_NEIGHBOURS

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_augment.tabular.transformer import TabularTransformer
    >>> rng = np.random.default_rng(0)
    >>> continuous, categorical = rng.normal(size=(40, 2)), np.empty((40, 0), object)
    >>> y = np.repeat([0, 1], 20)
    >>> t = TabularTransformer(max_modes=1).fit(continuous, categorical, rng)
    >>> encoded, codes = t.transform(continuous, categorical, rng)
    >>> source = AnchoredBatches(encoded, y, codes, 2, [], t.layout_,
    ...                          torch.device("cpu"), continuous)
    >>> real, batch = source.sample(8, torch.Generator().manual_seed(0))
    >>> real.shape, batch.cond.shape, bool((batch.rows != batch.anchors).all())
    (torch.Size([8, 4]), torch.Size([8, 6]), True)
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
        continuous: np.ndarray,
        pack_size: int = 1,
        n_neighbors: int = N_NEIGHBOURS,
        auxiliary: AuxiliaryClassifier | None = None,
        auxiliary_weight: float = 0.0,
    ) -> None:
        super().__init__(
            encoded, y_codes, category_codes, n_classes, n_categories, layout, device,
            pack_size, auxiliary, auxiliary_weight,
        )
        points = neighbour_points(continuous, category_codes, n_categories)
        self.neighbours = NeighbourTable(
            torch.as_tensor(points, device=device), y_codes, self.conditions, n_neighbors
        )
        self.cond_dim = self.conditions.cond_dim + layout.width
        self._generation = AnchoredConditions.from_rows(encoded, y_codes, n_classes, layout)

    @property
    def generation(self) -> AnchoredConditions:
        """Generation after fitting, from these rows as anchors."""
        return self._generation

    def _draw(self, n: int, generator: torch.Generator) -> AnchoredBatch:
        batch = self.conditions.sample_train(n, generator, self.pack_size)
        u = torch.rand(n, generator=generator, device=self.data.device)
        neighbours = self.neighbours.pick(batch.slots, u)
        cond = torch.cat([batch.cond, self.data[batch.rows]], dim=1)
        return AnchoredBatch(
            cond, neighbours, batch.column, batch.category, batch.slots, anchors=batch.rows
        )

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, AnchoredBatch]:
        batch = self._draw(n, generator)
        return self.data[batch.rows], batch

    def sample_conditions(self, n: int, generator: torch.Generator) -> AnchoredBatch:
        """Conditions for a generator step, drawn like a training batch's."""
        return self._draw(n, generator)


class AnchoredConditions:
    """Condition vectors for generating rows of one class from anchors, after fitting.

    A condition is ``[class one-hot | categorical one-hot | anchor]``. The
    anchor is a training row of the class, drawn uniformly; with categorical
    columns, the condition names one column, drawn uniformly, and the anchor's
    own category in it. Categories thus come with their frequency within the
    class, as :class:`~gan_augment.tabular.conditions.GenerationConditions`
    draws them, and always agree with the anchor.

    The anchors are real rows: a model that holds them is not synthetic data
    (which is why differential privacy refuses anchored generation). Holds
    NumPy arrays, and a copy per device that is not pickled.

    Parameters
    ----------
    n_classes : int
    n_pairs : int
        Total number of categories over all categorical columns.
    anchors : ndarray of float32, shape (n_anchors, width)
        Encoded training rows, sorted by class.
    counts : ndarray of int, shape (n_classes,)
        Anchors of each class, at least one each.
    category_spans : list of (int, int)
        ``(start, size)`` of each categorical column's one-hot in an encoded row.
    """

    def __init__(
        self,
        n_classes: int,
        n_pairs: int,
        anchors: np.ndarray,
        counts: np.ndarray,
        category_spans: list[tuple[int, int]],
    ) -> None:
        self.n_classes = n_classes
        self.n_pairs = n_pairs
        self.anchors = np.ascontiguousarray(anchors, dtype=np.float32)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.starts = np.cumsum(self.counts) - self.counts
        # Each anchor's (column, category) pair, as an index into the
        # condition's categorical part.
        pairs = np.zeros((len(self.anchors), len(category_spans)), dtype=np.int64)
        offset = 0
        for j, (start, size) in enumerate(category_spans):
            pairs[:, j] = offset + self.anchors[:, start : start + size].argmax(axis=1)
            offset += size
        self.pairs = pairs
        self._device_cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_rows(
        cls, encoded: np.ndarray, y_codes: np.ndarray, n_classes: int, layout: OutputLayout
    ) -> AnchoredConditions:
        """Anchors from encoded training rows and their classes."""
        spans = layout.categorical_spans
        order = np.argsort(y_codes, kind="stable")
        return cls(
            n_classes, sum(size for _, size in spans), encoded[order],
            np.bincount(y_codes, minlength=n_classes), spans,
        )

    @property
    def cond_dim(self) -> int:
        """Width of a condition vector: what the generator takes besides noise."""
        return self.n_classes + self.n_pairs + self.anchors.shape[1]

    def _tensors(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._device_cache:
            self._device_cache[key] = (
                torch.as_tensor(self.anchors, device=device),
                torch.as_tensor(self.pairs, device=device),
            )
        return self._device_cache[key]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_device_cache"] = {}
        return state

    def sample(
        self,
        class_index: int,
        n: int,
        generator: torch.Generator,
        device: torch.device,
    ) -> torch.Tensor:
        """``n`` condition vectors for class ``class_index``."""
        anchors, pairs = self._tensors(device)
        start, count = int(self.starts[class_index]), int(self.counts[class_index])
        pick = start + torch.randint(count, (n,), generator=generator, device=device)
        cond = torch.zeros(n, self.n_classes + self.n_pairs, device=device)
        cond[:, class_index] = 1.0
        if pairs.shape[1]:
            column = torch.randint(pairs.shape[1], (n,), generator=generator, device=device)
            cond[torch.arange(n, device=device), self.n_classes + pairs[pick, column]] = 1.0
        return torch.cat([cond, anchors[pick]], dim=1)

    def state(self) -> dict[str, torch.Tensor]:
        """The tensors a model file keeps: the anchors and their count per class."""
        return {
            "anchors": torch.as_tensor(self.anchors),
            "anchor_counts": torch.as_tensor(self.counts),
        }

    @classmethod
    def from_state(
        cls, tensors: dict, n_classes: int, n_pairs: int, layout: OutputLayout
    ) -> AnchoredConditions:
        """Rebuild from :meth:`state`, checking that the anchors fit the model.

        Raises
        ------
        ValueError
            If an entry is missing or the anchors are not encoded rows of this
            layout (exact one-hots, scalars in [-1, 1]) with at least one per class.
        """
        missing = [name for name in ("anchors", "anchor_counts") if name not in tensors]
        if missing:
            raise ValueError(
                f"the entries {missing} of an anchored model are missing from weights.pt"
            )
        anchors, counts = tensors["anchors"], tensors["anchor_counts"]
        if (
            not isinstance(anchors, torch.Tensor)
            or not anchors.is_floating_point()
            or anchors.ndim != 2
            or anchors.shape[1] != layout.width
        ):
            raise ValueError(
                f"anchors must be a float tensor of shape (n_anchors, {layout.width})"
            )
        if (
            not isinstance(counts, torch.Tensor)
            or counts.dtype != torch.int64
            or tuple(counts.shape) != (n_classes,)
            or bool((counts < 1).any())
            or int(counts.sum()) != len(anchors)
        ):
            raise ValueError(
                f"anchor_counts must be {n_classes} positive integers that sum to the "
                f"{len(anchors)} anchors"
            )
        anchors = anchors.detach().cpu().to(torch.float32).numpy()
        if not np.isfinite(anchors).all():
            raise ValueError("the anchors are not finite")
        scalars = anchors[:, layout.scalar_positions]
        if (np.abs(scalars) > 1).any():
            raise ValueError("the anchors' scalar values are not in [-1, 1]")
        for start, size in layout.onehot_spans:
            block = anchors[:, start : start + size]
            if not (((block == 0) | (block == 1)).all() and (block.sum(axis=1) == 1).all()):
                raise ValueError("the anchors' one-hot spans are not exact one-hots")
        return cls(
            n_classes, n_pairs, anchors, counts.cpu().numpy(), layout.categorical_spans
        )

"""The early-stopping scores of a tabular fit: how good is the generator now?

Each score is built once, in :meth:`gan_augment.tabular.domain.TabularDomain.setup`,
from the held-out rows (and, for :class:`UtilityScore`, the rows trained on),
all encoded, and is called by the training loop with the generator in eval
mode: ``score(generator) -> float``, lower is better. A score draws its noise,
conditions and Gumbel noise from a stream of its own, seeded anew at every
call, so scores of successive checks differ only through the generator and the
training stream is never touched.

* :class:`MMDScore` (``validation_score="mmd"``): fidelity, the class-conditional
  maximum mean discrepancy between generated and held-out rows.
* :class:`C2STScore` (``"c2st"``): a classifier two-sample test, how well a
  1-nearest-neighbour classifier tells generated rows of a class from its
  held-out rows.
* :class:`UtilityScore` (``"utility"``): what an over-sampler is for, the
  balanced accuracy on the held-out rows of a k-nearest-neighbour classifier
  trained on the rows trained on plus generated rows that balance the classes
  as ``fit_resample`` would.

All three compare rows in the encoded space, where the discriminator compares
them: ``[scalar, mode one-hot]`` per continuous column (the scalar is the
offset from its mode in units of four of the mode's standard deviations) and a
one-hot per categorical column, so every column weighs about the same and no
decoding (which leaves the device) is needed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from .conditions import GenerationConditions
from .transformer import OutputLayout

__all__ = [
    "BANDWIDTH_ROWS",
    "C2ST_MIN_ROWS",
    "MAX_REFERENCE_ROWS",
    "MAX_ROWS_PER_CLASS",
    "UTILITY_DRAWS",
    "UTILITY_NEIGHBOURS",
    "C2STScore",
    "MMDScore",
    "UtilityScore",
]

#: Held-out rows per class that a score keeps. The memory of the MMD and of
#: the two-sample test grows with the square of the rows they compare (their
#: distance matrices hold kept x generated rows), so this bounds a score at a
#: few tens of MB whatever the data set.
MAX_ROWS_PER_CLASS = 1_000
#: Held-out rows the MMD's kernel bandwidth (their median pairwise distance) is
#: computed on.
BANDWIDTH_ROWS = 1_000
#: Generated rows the two-sample test compares a class with, at least: a class
#: of few held-out rows is tested on several sets of generated rows.
C2ST_MIN_ROWS = 200
#: Reference rows (trained-on and generated) of the utility score's classifier,
#: at most; more are subsampled, every class alike.
MAX_REFERENCE_ROWS = 5_000
#: Neighbours that vote in the utility score's classifier.
UTILITY_NEIGHBOURS = 5
#: Sets of generated rows the utility score averages over.
UTILITY_DRAWS = 5
# Distances one block of a k-NN search computes at most (16 MB of float32).
_BLOCK_ENTRIES = 4_000_000
# Exact distances: with the matrix-product shortcut, identical rows (common
# in one-hot columns) are a rounding error apart, and ties go unseen.
_EXACT = "donot_use_mm_for_euclid_dist"


def _kept_rows(
    y_codes: np.ndarray, limit: int, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """Per class, its rows, at most ``limit`` of them drawn without replacement."""
    kept = {}
    for c in np.unique(y_codes):
        rows = np.flatnonzero(y_codes == c)
        if len(rows) > limit:
            rows = np.sort(rng.choice(rows, limit, replace=False))
        kept[int(c)] = rows
    return kept


class _HeldOutScore:
    """What every score shares: held-out rows per class on the device, and
    generated rows drawn from the score's own stream.

    Parameters
    ----------
    conditions : GenerationConditions
    layout : OutputLayout
    noise_dim : int
    device : torch.device
    seed : int
    """

    def __init__(
        self,
        conditions: GenerationConditions,
        layout: OutputLayout,
        noise_dim: int,
        device: torch.device,
        seed: int,
    ) -> None:
        self.conditions, self.layout, self.noise_dim = conditions, layout, noise_dim
        self.device, self.seed = device, seed

    def _generate(
        self, generator: nn.Module, class_index: int, n: int, rng: torch.Generator
    ) -> torch.Tensor:
        """``n`` encoded rows of a class: scalars after tanh, exact one-hots."""
        cond = self.conditions.sample(class_index, n, rng, self.device)
        noise = torch.randn(n, self.noise_dim, generator=rng, device=self.device)
        return self.layout.activate(generator(torch.cat([noise, cond], dim=1)), rng, hard=True)

    def _score(self, generator: nn.Module, rng: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> float:
        rng = torch.Generator(device=self.device).manual_seed(self.seed)
        return float(self._score(generator, rng))


class MMDScore(_HeldOutScore):
    """Class-conditional MMD between generated rows and held-out real rows.

    For each class with held-out rows, generated rows of that class are
    compared with the held-out rows by the squared maximum mean discrepancy
    with a Gaussian kernel; the score is the mean over classes. The bandwidth
    is the median pairwise distance between held-out rows.

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
    conditions : GenerationConditions
    layout : OutputLayout
    noise_dim : int
    device : torch.device
    seed : int

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_augment.tabular.networks import Generator, initialise
    >>> from gan_augment.tabular.transformer import TabularTransformer
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(60, 2)), np.r_[np.zeros(40, int), np.ones(20, int)]
    >>> transformer = TabularTransformer(max_modes=1).fit(x, np.empty((60, 0)), rng)
    >>> encoded, _ = transformer.transform(x, np.empty((60, 0)), rng)
    >>> layout, cpu = transformer.layout_, torch.device("cpu")
    >>> score = MMDScore(encoded, y, GenerationConditions(2, 0, None), layout, 4, cpu, seed=0)
    >>> generator = initialise(Generator(6, (8,), layout.width), cpu, torch.Generator())
    >>> score(generator) == score(generator) >= 0
    True
    """

    def __init__(
        self,
        encoded: np.ndarray,
        y_codes: np.ndarray,
        conditions: GenerationConditions,
        layout: OutputLayout,
        noise_dim: int,
        device: torch.device,
        seed: int,
    ) -> None:
        super().__init__(conditions, layout, noise_dim, device, seed)
        rng = np.random.default_rng(seed)
        # Only the kept rows go to the device.
        self.real = {
            c: torch.as_tensor(encoded[rows], device=device)
            for c, rows in _kept_rows(y_codes, MAX_ROWS_PER_CLASS, rng).items()
        }
        #: Generated rows each class is compared with.
        self.n_fake = {c: max(200, 2 * len(real)) for c, real in self.real.items()}
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

    def _score(self, generator: nn.Module, rng: torch.Generator) -> torch.Tensor:
        scores = [
            self._mmd2(real, self._generate(generator, c, self.n_fake[c], rng))
            for c, real in self.real.items()
        ]
        return torch.stack(scores).mean()


class C2STScore(_HeldOutScore):
    """Classifier two-sample test: can a 1-NN classifier tell generated rows
    from held-out rows of their class?

    For each class with ``n`` held-out rows, ``n`` generated rows of the class
    are pooled with them and every pooled row is classified (real or
    generated) by its nearest other pooled row, leave-one-out (Lopez-Paz and
    Oquab, "Revisiting Classifier Two-Sample Tests", ICLR 2017, use 1-NN as one
    of their classifiers). A row whose nearest rows are tied counts the share
    of them with its own label. The class's score is the accuracy minus its
    expectation when the two sets come from one distribution,
    ``(n - 1) / (2n - 1)`` (each row has ``n - 1`` others of its label among
    ``2n - 1``); the score is the mean over classes: about 0 for a generator
    that draws from the held-out rows' distribution, up to about 0.5 for rows
    that stand apart.

    Why a 1-NN test: it needs no fitting (deterministic, on the device, a
    distance matrix of a few hundred rows), has no setting to choose, and sees
    any difference of distributions given enough rows, notably mode collapse
    (generated rows that crowd together are each other's nearest neighbours),
    which a linear classifier misses when the rows collapse onto the class
    mean. Accuracy below the expectation is noise, not a virtue, so it is not
    folded back (``|accuracy - 0.5|`` would rank such noise as worse).

    A class keeps at most :data:`MAX_ROWS_PER_CLASS` held-out rows. A class
    with fewer than :data:`C2ST_MIN_ROWS` is tested ``ceil(C2ST_MIN_ROWS /
    n)`` times, each against fresh generated rows, and its accuracies are
    averaged: the tests of a small class then vary less with the noise drawn.

    Parameters
    ----------
    encoded : ndarray of float32, shape (n_rows, layout.width)
        Held-out rows, encoded.
    y_codes : ndarray of int, shape (n_rows,)
    conditions : GenerationConditions
    layout : OutputLayout
    noise_dim : int
    device : torch.device
    seed : int

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_augment.tabular.networks import Generator, initialise
    >>> from gan_augment.tabular.transformer import TabularTransformer
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(60, 2)), np.r_[np.zeros(40, int), np.ones(20, int)]
    >>> transformer = TabularTransformer(max_modes=1).fit(x, np.empty((60, 0)), rng)
    >>> encoded, _ = transformer.transform(x, np.empty((60, 0)), rng)
    >>> layout, cpu = transformer.layout_, torch.device("cpu")
    >>> score = C2STScore(encoded, y, GenerationConditions(2, 0, None), layout, 4, cpu, seed=0)
    >>> score.draws
    {0: 5, 1: 10}
    >>> generator = initialise(Generator(6, (8,), layout.width), cpu, torch.Generator())
    >>> -0.5 <= score(generator) == score(generator) <= 0.5
    True
    """

    def __init__(
        self,
        encoded: np.ndarray,
        y_codes: np.ndarray,
        conditions: GenerationConditions,
        layout: OutputLayout,
        noise_dim: int,
        device: torch.device,
        seed: int,
    ) -> None:
        super().__init__(conditions, layout, noise_dim, device, seed)
        rng = np.random.default_rng(seed)
        self.real = {
            c: torch.as_tensor(encoded[rows], device=device)
            for c, rows in _kept_rows(y_codes, MAX_ROWS_PER_CLASS, rng).items()
        }
        #: Tests per class, each against its own generated rows.
        self.draws = {c: -(-C2ST_MIN_ROWS // len(real)) for c, real in self.real.items()}

    def _score(self, generator: nn.Module, rng: torch.Generator) -> torch.Tensor:
        scores = []
        for c, real in self.real.items():
            n, draws = len(real), self.draws[c]
            fake = self._generate(generator, c, n * draws, rng).view(draws, n, -1)
            pooled = torch.cat([real.expand(draws, -1, -1), fake], dim=1)
            distances = torch.cdist(pooled, pooled, compute_mode=_EXACT)
            distances.diagonal(dim1=1, dim2=2).fill_(float("inf"))
            nearest = distances <= distances.amin(dim=2, keepdim=True)
            is_fake = torch.arange(2 * n, device=self.device) >= n
            same = is_fake[:, None] == is_fake[None, :]
            accuracy = ((nearest & same).sum(2) / nearest.sum(2)).mean()
            scores.append(accuracy - (n - 1) / (2 * n - 1))
        return torch.stack(scores).mean()


def _nearest(
    query: torch.Tensor, reference: torch.Tensor, k: int, exact: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances and indices of each query row's ``k`` nearest reference rows,
    nearest first, computed in blocks of at most :data:`_BLOCK_ENTRIES`."""
    k = min(k, len(reference))
    block = max(1, _BLOCK_ENTRIES // max(1, len(reference)))
    mode = _EXACT if exact else "use_mm_for_euclid_dist_if_necessary"
    parts = [
        torch.cdist(query[i : i + block], reference, compute_mode=mode).topk(k, largest=False)
        for i in range(0, len(query), block)
    ]
    return torch.cat([p.values for p in parts]), torch.cat([p.indices for p in parts])


class UtilityScore(_HeldOutScore):
    """Does over-sampling with the generator help a classifier? One minus the
    balanced accuracy, on the held-out rows, of a k-NN trained on the rows
    trained on plus generated rows.

    The classifier is what ``fit_resample`` would give a user: the real rows
    the GAN trains on, plus, for each class, the generated rows
    ``fit_resample`` would add (``n_added``). Its
    :data:`UTILITY_NEIGHBOURS` nearest rows vote (a tie goes to the class of
    the nearer rows), and the score is one minus the balanced accuracy on the
    held-out rows, averaged over :data:`UTILITY_DRAWS` sets of generated rows
    (a set's accuracy depends on where its few rows near the class border fall;
    the average depends mostly on the generator).

    Why a k-NN: it learns nothing (the score is deterministic, runs on the
    device and has no convergence to check), and it rewards exactly what the
    generated rows must do to help: lie in their own class's region. Rows that
    land in another class's region take its held-out rows' votes; rows far
    from every real row are never a neighbour and help nobody, where a linear
    model's intercept would still shift towards them. Why the balanced
    accuracy: it is the mean recall over the classes with held-out rows, so
    each class counts alike whatever its size, and it stays informative where
    the G-mean is zero whenever one class's recall is (which, with a hold-out of
    two rows, is most of the time early in training).

    Memory and time are bounded: each class keeps at most
    :data:`MAX_ROWS_PER_CLASS` held-out rows, and when the trained-on rows plus
    the generated ones exceed :data:`MAX_REFERENCE_ROWS`, both are subsampled by
    the same factor, every class alike (so the generated rows still balance the
    classes). The held-out rows' neighbours among the real rows are found once;
    a call only searches the generated rows. Rows are kept with a NumPy stream
    seeded by ``seed``.

    Parameters
    ----------
    encoded : ndarray of float32, shape (n_rows, layout.width)
        Held-out rows, encoded.
    y_codes : ndarray of int, shape (n_rows,)
    train_encoded : ndarray of float32, shape (n_train, layout.width)
        The rows trained on, encoded.
    train_y_codes : ndarray of int, shape (n_train,)
    n_added : mapping of int to int
        Per class code, the generated rows to add to the rows trained on.
    conditions : GenerationConditions
    layout : OutputLayout
    noise_dim : int
    device : torch.device
    seed : int

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_augment.tabular.networks import Generator, initialise
    >>> from gan_augment.tabular.transformer import TabularTransformer
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(60, 2)), np.r_[np.zeros(40, int), np.ones(20, int)]
    >>> transformer = TabularTransformer(max_modes=1).fit(x, np.empty((60, 0)), rng)
    >>> encoded, _ = transformer.transform(x, np.empty((60, 0)), rng)
    >>> layout, cpu = transformer.layout_, torch.device("cpu")
    >>> score = UtilityScore(
    ...     encoded[::3], y[::3], encoded, y, {1: 20}, GenerationConditions(2, 0, None),
    ...     layout, 4, cpu, seed=0,
    ... )
    >>> generator = initialise(Generator(6, (8,), layout.width), cpu, torch.Generator())
    >>> 0 <= score(generator) == score(generator) <= 1
    True
    """

    def __init__(
        self,
        encoded: np.ndarray,
        y_codes: np.ndarray,
        train_encoded: np.ndarray,
        train_y_codes: np.ndarray,
        n_added: Mapping[int, int],
        conditions: GenerationConditions,
        layout: OutputLayout,
        noise_dim: int,
        device: torch.device,
        seed: int,
    ) -> None:
        super().__init__(conditions, layout, noise_dim, device, seed)
        rng = np.random.default_rng(seed)
        held_out = _kept_rows(y_codes, MAX_ROWS_PER_CLASS, rng)
        rows = np.concatenate(list(held_out.values()))
        self.query = torch.as_tensor(encoded[rows], device=device)
        self.query_y = torch.as_tensor(y_codes[rows], device=device)
        self.classes = sorted(held_out)
        counts = np.bincount(train_y_codes, minlength=conditions.n_classes)
        added = np.array([n_added.get(c, 0) for c in range(conditions.n_classes)])
        scale = min(1.0, MAX_REFERENCE_ROWS / max(1, int(counts.sum() + added.sum())))
        scaled = {c: int(round(scale * n)) for c, n in enumerate(added)}
        #: Generated rows per class that a call adds to the reference rows.
        self.n_fake = {c: n for c, n in scaled.items() if n}
        kept = (
            np.arange(len(train_y_codes)) if scale == 1.0
            else self._subsample(train_y_codes, counts, scale, rng)
        )
        reference = torch.as_tensor(train_encoded[kept], device=device)
        reference_y = torch.as_tensor(train_y_codes[kept], device=device)
        distances, index = _nearest(self.query, reference, UTILITY_NEIGHBOURS, exact=True)
        # Padded to k columns, so that a call always merges k real candidates.
        pad = UTILITY_NEIGHBOURS - distances.shape[1]
        self.real_distances = torch.nn.functional.pad(distances, (0, pad), value=float("inf"))
        self.real_labels = torch.nn.functional.pad(reference_y[index], (0, pad))
        n = UTILITY_NEIGHBOURS
        # One vote per neighbour, plus a tie-breaker below one vote in all
        # that favours the nearer neighbours.
        self.vote_weights = 1 + torch.arange(n, 0, -1, device=device) / n**2

    @staticmethod
    def _subsample(
        y_codes: np.ndarray, counts: np.ndarray, scale: float, rng: np.random.Generator
    ) -> np.ndarray:
        """``scale`` of each class's rows (at least one), drawn without replacement."""
        kept = [
            rng.choice(np.flatnonzero(y_codes == c), max(1, int(round(scale * n))), replace=False)
            for c, n in enumerate(counts)
            if n
        ]
        return np.sort(np.concatenate(kept))

    def _balanced_accuracy(self, generator: nn.Module, rng: torch.Generator) -> torch.Tensor:
        distances, labels = self.real_distances, self.real_labels
        if self.n_fake:
            parts = self.n_fake.items()
            fake = torch.cat([self._generate(generator, c, n, rng) for c, n in parts])
            fake_y = torch.cat([torch.full((n,), c, device=self.device) for c, n in parts])
            fake_distances, index = _nearest(self.query, fake, UTILITY_NEIGHBOURS)
            distances = torch.cat([distances, fake_distances], dim=1)
            labels = torch.cat([labels, fake_y[index]], dim=1)
        # Stable: a real and a generated row at one distance keep that order.
        order = distances.argsort(dim=1, stable=True)[:, :UTILITY_NEIGHBOURS]
        # Padding (fewer reference rows than neighbours) does not vote.
        weights = self.vote_weights * distances.gather(1, order).isfinite()
        votes = torch.zeros(len(self.query), self.conditions.n_classes, device=self.device)
        votes.scatter_add_(1, labels.gather(1, order), weights)
        correct = (votes.argmax(1) == self.query_y).float()
        return torch.stack([correct[self.query_y == c].mean() for c in self.classes]).mean()

    def _score(self, generator: nn.Module, rng: torch.Generator) -> torch.Tensor:
        accuracies = [self._balanced_accuracy(generator, rng) for _ in range(UTILITY_DRAWS)]
        return 1 - torch.stack(accuracies).mean()

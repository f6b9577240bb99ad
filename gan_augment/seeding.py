"""One seeding scheme: every random stream is spawned from ``random_state``.

:class:`Seeds` turns ``random_state`` into one ``numpy.random.SeedSequence``
and gives each named consumer its own child of it: the encoding
(``"encoding"``), the training loop and the generation that follows it
(``"training"``), the early-stopping score (``"validation"``), the rows that
``fit_resample`` interpolates and filters (``"resample"``), :meth:`sample`
(``"sample"``) and synthetic export (``"export"``). A child depends only on
the root and the consumer's name, so one consumer drawing more or less never
moves another's stream.

Nothing reads or advances NumPy's or torch's global random state: with
``random_state=None`` the root takes fresh entropy from the operating system
(every call differs); a ``RandomState`` instance is asked for one integer, as
scikit-learn's ``check_random_state`` would use it, which advances it.

A checkpoint records the root's entropy (:attr:`Seeds.entropy`), so that a fit
resumed with ``random_state=None`` can go on with the streams it started with
(:meth:`Seeds.from_entropy`) instead of fresh ones.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch

__all__ = ["CONSUMERS", "Seeds"]

#: The consumers, in a fixed order: a consumer's position is its spawn key, so
#: new consumers are added at the end.
CONSUMERS = ("encoding", "training", "validation", "resample", "sample", "export")


class Seeds:
    """The random streams of one fit, or of one sampling call.

    Parameters
    ----------
    random_state : int, RandomState instance or None

    Examples
    --------
    >>> Seeds(0).integer("sample") == Seeds(0).integer("sample")
    True
    >>> Seeds(0).integer("sample") == Seeds(0).integer("export")
    False
    """

    def __init__(self, random_state) -> None:
        #: Whether the root took fresh entropy (``random_state=None``): only
        #: then may a resumed fit replace it with a checkpoint's.
        self.fresh = random_state is None
        if random_state is None:
            entropy = None
        elif isinstance(random_state, Integral) and not isinstance(random_state, bool):
            entropy = int(random_state)
        elif isinstance(random_state, np.random.RandomState):
            entropy = int(random_state.randint(np.iinfo(np.int32).max))
        else:
            raise ValueError(
                "random_state must be an int, a numpy.random.RandomState instance "
                f"or None; got {random_state!r}."
            )
        self._root = np.random.SeedSequence(entropy)

    @classmethod
    def from_entropy(cls, entropy: int) -> Seeds:
        """The streams of the fit whose root had this :attr:`entropy`.

        Parameters
        ----------
        entropy : int
            A recorded :attr:`entropy`: ``random_state`` itself for an integer,
            the operating system's 128-bit draw for ``random_state=None``.

        Examples
        --------
        >>> seeds = Seeds(None)
        >>> Seeds.from_entropy(seeds.entropy).integer("training") == seeds.integer("training")
        True
        """
        if not isinstance(entropy, Integral) or isinstance(entropy, bool) or entropy < 0:
            raise ValueError(f"entropy must be a non-negative int; got {entropy!r}.")
        return cls(entropy)

    @property
    def entropy(self) -> int:
        """The root's entropy: ``random_state`` for an int, else the number drawn."""
        return int(self._root.entropy)

    def _child(self, consumer: str, rank: int | None = None) -> np.random.SeedSequence:
        key = (CONSUMERS.index(consumer),) + (() if rank is None else (rank,))
        return np.random.SeedSequence(self._root.entropy, spawn_key=key)

    def integer(self, consumer: str) -> int:
        """A seed in ``[0, 2**31 - 1)`` for ``consumer``."""
        return int(self._child(consumer).generate_state(1, np.uint32)[0] % (2**31 - 1))

    def numpy(self, consumer: str) -> np.random.Generator:
        """A NumPy stream for ``consumer``."""
        return np.random.default_rng(self._child(consumer))

    def torch(
        self, consumer: str, device: torch.device, rank: int | None = None
    ) -> torch.Generator:
        """A torch stream on ``device`` for ``consumer`` (and, in data-parallel
        training, one of its own for each process ``rank``)."""
        seed = int(self._child(consumer, rank).generate_state(1, np.uint64)[0])
        return torch.Generator(device=device).manual_seed(seed)

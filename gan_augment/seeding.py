"""One seeding scheme: every random stream of a fit is derived from ``random_state``.

:class:`Seeds` turns ``random_state`` into independent streams, one per named
consumer (the encoding, the training loop, the validation score, the rows that
``fit_resample`` interpolates, sampling, export). Nothing reads or advances
NumPy's or torch's global random state, except that ``random_state=None`` or a
``RandomState`` instance is asked for one integer, as scikit-learn's
``check_random_state`` would.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["Seeds"]

_INT32_MAX = np.iinfo(np.int32).max


class Seeds:
    """Seeds for the consumers of one fit (or one sampling call).

    Parameters
    ----------
    random_state : int, RandomState instance or None

    Examples
    --------
    >>> a, b = Seeds(0), Seeds(0)
    >>> a.integer("sample") == b.integer("sample")
    True
    """

    def __init__(self, random_state) -> None:
        self._random_state = check_random_state(random_state)

    def integer(self, consumer: str) -> int:
        """A seed in ``[0, 2**31 - 1)`` for ``consumer``."""
        return int(self._random_state.randint(_INT32_MAX))

    def numpy(self, consumer: str) -> np.random.Generator:
        """A NumPy stream for ``consumer``."""
        return np.random.default_rng(self.integer(consumer))

    def torch(self, consumer: str, device: torch.device) -> torch.Generator:
        """A torch stream on ``device`` for ``consumer``."""
        return torch.Generator(device=device).manual_seed(self.integer(consumer))

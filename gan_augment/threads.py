"""The thread count a fit and its generation run with, whatever the environment.

CPU kernels split their work by thread, and sums in another order round
differently, so the same fit on 1 and on 2 threads gives other rows (on
yeast4, rows differing by up to 0.82). :func:`limited_threads` sets torch's
intra-op threads and the BLAS pools (through threadpoolctl, which scikit-learn
ships) for the duration of a call, then restores them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from joblib import effective_n_jobs
from threadpoolctl import threadpool_limits

__all__ = ["limited_threads", "resolve_n_jobs"]


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None is 1, -1 all cores, -2 all but one (joblib's rule).

    Examples
    --------
    >>> resolve_n_jobs(None), resolve_n_jobs(3)
    (1, 3)
    """
    return 1 if n_jobs is None else int(effective_n_jobs(n_jobs))


@contextmanager
def limited_threads(n_jobs: int | None) -> Iterator[int]:
    """Run the block with torch and the BLAS libraries on ``resolve_n_jobs(n_jobs)`` threads."""
    threads = resolve_n_jobs(n_jobs)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield threads
    finally:
        torch.set_num_threads(previous)

"""Seed handling: one stream per sample, independent of the thread count.

Every stochastic function takes ``seed`` (``None``, an int, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`). It is
normalised once at the Python boundary into one 32-bit integer seed per
independent sample (``SeedSequence.spawn``). A numba kernel seeds its own
random state from that integer at the start of each sample, so sample ``i``
gives the same result whatever thread runs it.
"""

from __future__ import annotations

import numbers

import numpy as np

SeedLike = None | int | np.random.SeedSequence | np.random.Generator


def as_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Normalise ``seed`` to a :class:`numpy.random.SeedSequence`.

    A ``Generator`` is consumed: one 128-bit draw from it seeds the sequence,
    so passing the same generator twice gives two different results.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=2, dtype=np.uint64).tolist())
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer; got {seed}.")
        return np.random.SeedSequence(int(seed))
    raise TypeError(
        "`seed` must be None, a non-negative int, a numpy SeedSequence or a numpy "
        f"Generator; got {type(seed).__name__}."
    )


def sample_seeds(seed: SeedLike, n_samples: int) -> np.ndarray:
    """Return ``n_samples`` independent uint32 seeds derived from ``seed``.

    Sample ``i`` gets the first word of the ``i``-th child of
    ``SeedSequence(seed).spawn(n_samples)``.

    Examples
    --------
    >>> sample_seeds(7, 3).tolist() == sample_seeds(7, 3).tolist()
    True
    >>> sample_seeds(7, 3)[:2].tolist() == sample_seeds(7, 2).tolist()
    True
    """
    children = as_seed_sequence(seed).spawn(n_samples)
    return np.array([c.generate_state(1, np.uint32)[0] for c in children], dtype=np.int64)

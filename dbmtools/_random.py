"""Seed handling: one stream per sample, independent of the thread count.

Every stochastic function takes ``seed`` (``None``, an int, a sequence of
ints such as ``[base, condition, replicate]``, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`). It is
normalised once at the Python boundary into one 32-bit integer seed per
independent sample (``SeedSequence.spawn``). A numba kernel seeds its own
random state from that integer at the start of each sample, so sample ``i``
gives the same result whatever thread runs it: either numba's per-thread
``np.random`` (``np.random.seed(seed)`` inside the kernel) or, where draws are
the hot loop, the xoshiro256** generator below (``rng_seed``, ``rng_uniform``,
``rng_below``), whose state is an explicit array per sample.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ._config import njit

SeedLike = None | int | Sequence[int] | np.random.SeedSequence | np.random.Generator


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
    if (
        isinstance(seed, (list, tuple))
        and seed
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in seed
        )
    ):  # e.g. [base_seed, condition, replicate]: a distinct stream for each combination
        return np.random.SeedSequence([int(s) for s in seed])
    raise TypeError(
        "`seed` must be None, a non-negative int, a sequence of non-negative ints, a numpy "
        f"SeedSequence or a numpy Generator; got {seed!r}."
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


def draw_seeds(rng: np.random.Generator, shape) -> np.ndarray:
    """Integer seeds for numba kernels, drawn from a running generator.

    Inside a loop that already owns a :class:`numpy.random.Generator` (a
    training run), each chain or sample of a kernel call gets one int64 seed,
    uniform in ``[0, 2**63)``, which the kernel feeds to :func:`rng_seed`. Use
    :func:`sample_seeds` instead to derive seeds from a user's ``seed``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draw_seeds(rng, (2, 3)).shape
    (2, 3)
    """
    return rng.integers(0, 2**63, size=shape, dtype=np.int64)


# --------------------------------------------------------------------------
# A small, fast generator for numba kernels: xoshiro256** (Blackman & Vigna).
# numba's np.random.random() costs about 9 ns a draw here; this one about 1 ns,
# which matters in the simulator's hop loop (two or three draws a hop). The
# state is a uint64 array of 4 words, one per independent sample, seeded by
# splitmix64 from the sample's integer seed.
# --------------------------------------------------------------------------

_U = np.uint64
_MASK53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always")
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit
def rng_seed(seed, state):
    """Fill ``state`` (uint64, shape (4,)) from an integer ``seed`` by splitmix64."""
    z = _U(seed)
    for i in range(4):
        z = z + _U(0x9E3779B97F4A7C15)
        x = z
        x = (x ^ (x >> _U(30))) * _U(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U(27))) * _U(0x94D049BB133111EB)
        state[i] = x ^ (x >> _U(31))


@njit(inline="always")
def rng_next(state):
    """Next 64-bit output of xoshiro256** (advances ``state`` in place)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    result = _rotl(s1 * _U(5), 7) * _U(9)
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return result


@njit(inline="always")
def rng_uniform(state):
    """Uniform float in [0, 1) with 53 random bits."""
    return (rng_next(state) >> _U(11)) * _MASK53


@njit(inline="always")
def rng_below(state, n):
    """Uniform integer in [0, n) for 0 < n < 2**53.

    ``int(u * n)`` with a 53-bit uniform ``u``: the product rounds below ``n``
    for every ``u < 1``, and no value is favoured by more than ``n / 2**53``.
    """
    return int(rng_uniform(state) * n)

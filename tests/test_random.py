"""Seeds and the kernels' xoshiro256** generator against independent references."""

import numba
import numpy as np
import pytest
from scipy import stats

from dbmtools._random import (
    as_seed_sequence,
    rng_below,
    rng_next,
    rng_seed,
    rng_uniform,
    sample_seeds,
)

MASK = (1 << 64) - 1


def _xoshiro256ss_reference(state, n):
    """Pure-Python xoshiro256** (Blackman & Vigna, 2018), written from the paper."""
    s = [int(x) for x in state]
    rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & MASK  # noqa: E731
    out = []
    for _ in range(n):
        out.append((rotl((s[1] * 5) & MASK, 7) * 9) & MASK)
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


@numba.njit
def _draw_raw(state, n):
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = rng_next(state)
    return out


@numba.njit
def _draw_below(seed, n, k):
    state = np.empty(4, dtype=np.uint64)
    rng_seed(seed, state)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = rng_below(state, k)
    return out


@numba.njit
def _draw_uniform(seed, n):
    state = np.empty(4, dtype=np.uint64)
    rng_seed(seed, state)
    out = np.empty(n)
    for i in range(n):
        out[i] = rng_uniform(state)
    return out


def test_xoshiro_matches_reference_stream():
    start = np.array([1, 2, 3, 4], dtype=np.uint64)
    got = _draw_raw(start.copy(), 1000).tolist()
    expect = _xoshiro256ss_reference(start, 1000)
    assert got[:3] == [11520, 0, 1509978240]  # the published test vector's first outputs
    assert got == expect


def test_rng_below_is_uniform():
    draws = _draw_below(7, 70_000, 7)
    observed = np.bincount(draws, minlength=7)
    assert draws.min() >= 0 and draws.max() < 7
    assert stats.chisquare(observed).pvalue > 1e-3


def test_rng_uniform_is_uniform():
    u = _draw_uniform(3, 50_000)
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_sample_seeds_do_not_depend_on_sample_count():
    assert sample_seeds(5, 10)[:4].tolist() == sample_seeds(5, 4).tolist()
    assert len(set(sample_seeds(5, 1000).tolist())) == 1000
    assert sample_seeds([5, 1], 3).tolist() != sample_seeds([5, 2], 3).tolist()


def test_generator_seed_is_consumed_and_seed_errors():
    g = np.random.default_rng(0)
    assert sample_seeds(g, 2).tolist() != sample_seeds(g, 2).tolist()
    with pytest.raises(ValueError, match="non-negative"):
        as_seed_sequence(-1)
    with pytest.raises(TypeError, match="`seed`"):
        as_seed_sequence([1, -2])
    with pytest.raises(TypeError, match="`seed`"):
        as_seed_sequence(True)

"""Slow, obviously correct references for the fast kernels (pure NumPy / Python)."""

from __future__ import annotations

import itertools

import numpy as np


def counts(state: np.ndarray, n_species: int) -> np.ndarray:
    return np.array([(state == c).sum() for c in range(1, n_species + 1)])


def pair_counts(state: np.ndarray, n_species: int, periodic: bool) -> np.ndarray:
    """Visit every site and every axis, look one step up; count each bond once."""
    out = np.zeros((n_species, n_species), dtype=np.int64)
    for idx in itertools.product(*(range(n) for n in state.shape)):
        for axis, extent in enumerate(state.shape):
            up = list(idx)
            up[axis] += 1
            if up[axis] == extent:
                if not periodic:
                    continue
                up[axis] = 0
            a, b = state[idx], state[tuple(up)]
            if a and b:
                out[a - 1, b - 1] += 1
                if a != b:
                    out[b - 1, a - 1] += 1
    return out


def chain_moment(state: np.ndarray, k: int, periodic: bool, species: int = 1) -> int:
    v = (state == species).astype(np.int64)
    n = v.size
    starts = range(n) if periodic else range(n - k + 1)
    return int(sum(np.prod([v[(i + j) % n] for j in range(k)]) for i in starts))

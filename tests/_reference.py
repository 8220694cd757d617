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


def open_chain_moments_per_site(b: float, J: float, K: float, n: int, max_order: int = 4):
    """Chain moments per site of the open b/J/K chain (eq. 37), by numpy matrix products.

    Independent of ``dbmtools.ising``'s numba kernel: forward/backward vectors of
    the pair states ``(v_i, v_{i+1})`` with explicit 4 x 4 matrices, the chain of
    ``k`` ones as products of the projector on (1, 1) and the transfer matrix.
    """
    T = np.zeros((4, 4))
    for a, c, d in itertools.product((0, 1), repeat=3):
        T[2 * a + c, 2 * c + d] = np.exp(b * d + J * c * d + K * a * c * d)
    P = np.diag([0.0, 0.0, 0.0, 1.0])
    first = np.array([np.exp(b * (a + c) + J * a * c) for a in (0, 1) for c in (0, 1)])
    fwd = [first / first.max()]
    for _ in range(n - 2):
        x = fwd[-1] @ T
        fwd.append(x / x.max())
    bwd = [np.ones(4)]
    for _ in range(n - 2):
        x = T @ bwd[0]
        bwd.insert(0, x / x.max())
    out = np.zeros(max_order)
    for i in range(n - 1):
        z = fwd[i] @ bwd[i]
        out[0] += fwd[i] @ np.diag([0.0, 0.0, 1.0, 1.0]) @ bwd[i] / z
        if i == n - 2:
            out[0] += fwd[i] @ np.diag([0.0, 1.0, 0.0, 1.0]) @ bwd[i] / z
    for k in range(2, max_order + 1):
        A = P.copy()
        for _ in range(k - 2):
            A = P @ T @ A
        B = np.linalg.matrix_power(T, k - 2)
        for i in range(n - 1 - (k - 2)):
            j = i + k - 2
            out[k - 1] += (fwd[i] @ A @ bwd[j]) / (fwd[i] @ B @ bwd[j])
    return out / n

"""Slow, obviously correct references for the Boltzmann-machine tests (issue 4).

Pure NumPy brute force: every state is listed and weighted by exp(-E) with the
energy written straight from the paper's equations, no transfer matrices and no
conditional independence.
"""

from __future__ import annotations

import itertools

import numpy as np


def gas_energy_terms(v: np.ndarray, periodic: bool) -> tuple[int, int, int]:
    """(sum v_i, sum v_i v_{i+1}, sum v_i v_{i+1} v_{i+2}) of one chain, eq. (37)."""
    n = v.size
    s1 = int(v.sum())
    if periodic:
        s2 = sum(int(v[i] * v[(i + 1) % n]) for i in range(n))
        s3 = sum(int(v[i] * v[(i + 1) % n] * v[(i + 2) % n]) for i in range(n))
    else:
        s2 = sum(int(v[i] * v[i + 1]) for i in range(n - 1))
        s3 = sum(int(v[i] * v[i + 1] * v[i + 2]) for i in range(n - 2))
    return s1, s2, s3


def gas_chain_sums(v: np.ndarray, periodic: bool, max_order: int) -> np.ndarray:
    n = v.size
    out = np.zeros(max_order)
    for k in range(1, max_order + 1):
        starts = range(n) if periodic else range(n - k + 1)
        out[k - 1] = sum(int(all(v[(i + d) % n] for d in range(k))) for i in starts)
    return out


def gas_enumerate(b, J, K, n, periodic):
    """All 2^n chains with their probabilities."""
    states = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int8)
    logw = np.array([np.dot((b, J, K), gas_energy_terms(v, periodic)) for v in states], dtype=float)
    p = np.exp(logw - logw.max())
    return states, p / p.sum()


def gas_exact_chain_moments(b, J, K, n, periodic, max_order=4):
    """Expected raw chain sums (as chain_moments counts them) by enumeration."""
    states, p = gas_enumerate(b, J, K, n, periodic)
    sums = np.array([gas_chain_sums(v, periodic, max_order) for v in states])
    return p @ sums


def layered_enumerate(n_visible, n_hidden, n_species_v, n_species_h, edges, b, bh, W):
    """Joint enumeration of visible and hidden states of eq. (35).

    ``b`` (M,), ``bh`` (M',), ``W`` (M, M') full weight matrix (zeros where not a
    parameter); species codes 1..M. Returns visible states, their marginal
    probabilities, and the expected raw sums: visible counts (M,), hidden counts
    (M',), and edge sums (M, M').
    """
    vs = list(itertools.product(range(n_species_v + 1), repeat=n_visible))
    hs = list(itertools.product(range(n_species_h + 1), repeat=n_hidden))
    pv = np.zeros(len(vs))
    cv = np.zeros(n_species_v)
    ch = np.zeros(n_species_h)
    cw = np.zeros((n_species_v, n_species_h))
    weights = []
    stats = []
    for a, v in enumerate(vs):
        for h in hs:
            e = 0.0
            nv = np.zeros(n_species_v)
            nh = np.zeros(n_species_h)
            nw = np.zeros((n_species_v, n_species_h))
            for x in v:
                if x:
                    e += b[x - 1]
                    nv[x - 1] += 1
            for y in h:
                if y:
                    e += bh[y - 1]
                    nh[y - 1] += 1
            for i, j in edges:
                if v[i] and h[j]:
                    e += W[v[i] - 1, h[j] - 1]
                    nw[v[i] - 1, h[j] - 1] += 1
            weights.append((a, e))
            stats.append((nv, nh, nw))
    logw = np.array([e for _, e in weights])
    p = np.exp(logw - logw.max())
    p /= p.sum()
    for (a, _), q, (nv, nh, nw) in zip(weights, p, stats, strict=True):
        pv[a] += q
        cv += q * nv
        ch += q * nh
        cw += q * nw
    return np.array(vs, dtype=np.int8), pv, cv, ch, cw

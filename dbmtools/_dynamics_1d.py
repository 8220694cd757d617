"""Serial CD-k moment kernels for the 1D models of :mod:`dbmtools.dynamics` (private).

The training loop estimates moments at 6 data times for 10 lattices every
step; :func:`dbmtools.ising.sample` and :func:`dbmtools.rbm.gibbs` run one
parallel kernel per call, whose thread start-up and Python-side seeding cost
more than the work itself at this size (measured: 40 and 94 ms a step on the
shared 2-core machine). These kernels fuse sampling and moments for a whole
window into one serial, allocation-free call (buffers come from the caller).

Randomness: one xoshiro256** stream per (time, lattice), seeded from an
integer drawn by the caller, so results do not depend on threads.
"""

from __future__ import annotations

import numpy as np

from ._config import njit
from ._random import rng_seed, rng_uniform


@njit
def ising_cd_moments(
    data, pick, t_idx, theta, cd_k, periodic, seeds, v, rng, ptab, out, start, chains
):
    """CD-k model moments of the b/J/K chain (eq. 37), averaged over the picked lattices.

    Parameters
    ----------
    data : int8 (n_lattices, n_times, L)
        Lattices of one trajectory.
    pick : int64 (n_s,)
        Lattices of the batch.
    t_idx : int64 (n,)
        Data times; ``theta`` (n, 3) the model parameters ``(b, J, K)`` there.
    cd_k : int
        Heat-bath sweeps from each data lattice, sublattices ``i mod 3 = 0, 1, 2``
        in turn (as :func:`dbmtools.ising.sample`).
    periodic : bool
        Ring or open chain (reflecting).
    seeds : int64 (n, n_s)
    v : int8 (L,), rng : uint64 (4,), ptab : float64 (3, 4)
        Scratch.
    out : float64 (n, 3)
        Output: mean raw sums ``sum v_i``, ``sum v_i v_{i+1}``, ``sum v_i v_{i+1} v_{i+2}``.
    start : int
        Where each chain starts (see :func:`_chain_start`); ``chains`` (n_times,
        n_s, L) int8 holds the persistent chains for ``start == 2``.
    """
    L = v.shape[0]
    n_s = pick.shape[0]
    for n in range(t_idx.shape[0]):
        b = theta[n, 0]
        J = theta[n, 1]
        K = theta[n, 2]
        # p(v_i = 1 | rest) takes 12 values: pairs (a1 + c1) in 0..2, triples in 0..3
        for q in range(3):
            for r in range(4):
                ptab[q, r] = 1.0 / (1.0 + np.exp(-(b + J * q + K * r)))
        m1 = 0.0
        m2 = 0.0
        m3 = 0.0
        for s in range(n_s):
            rng_seed(seeds[n, s], rng)
            _chain_start(v, data, pick[s], t_idx[n], s, start, chains, rng)
            for _ in range(cd_k):
                for r in range(3):
                    for i in range(r, L, 3):
                        # neighbours i-2, i-1, i+1, i+2 (0 outside an open chain)
                        if periodic:
                            a2 = v[(i - 2) % L]
                            a1 = v[(i - 1) % L]
                            c1 = v[(i + 1) % L]
                            c2 = v[(i + 2) % L]
                        else:
                            a2 = v[i - 2] if i >= 2 else 0
                            a1 = v[i - 1] if i >= 1 else 0
                            c1 = v[i + 1] if i + 1 < L else 0
                            c2 = v[i + 2] if i + 2 < L else 0
                        p1 = ptab[a1 + c1, a2 * a1 + a1 * c1 + c1 * c2]
                        v[i] = 1 if rng_uniform(rng) < p1 else 0
            if start == 2:
                chains[t_idx[n], s, :] = v
            n_pair = L if periodic else L - 1
            n_trip = L if periodic else L - 2
            for i in range(L):
                m1 += v[i]
            for i in range(n_pair):
                m2 += v[i] * v[(i + 1) % L]
            for i in range(n_trip):
                m3 += v[i] * v[(i + 1) % L] * v[(i + 2) % L]
        out[n, 0] = m1 / n_s
        out[n, 1] = m2 / n_s
        out[n, 2] = m3 / n_s


@njit
def hidden_cd_moments(
    data, pick, t_idx, theta, cd_k, seeds, v, hid, rng, ptab, awake, asleep, start, chains
):
    """Awake and CD-k asleep moments of the 1D hidden model (eq. 39), hidden units as probabilities.

    ``theta`` (n, 3) is ``(b, W, b')``; hidden unit ``j`` couples to sites ``j``
    and ``j + 1`` (open chain, ``L - 1`` units). Moments per lattice, as
    :func:`dbmtools.rbm.moments`: ``sum_i v_i``, ``sum_j p_j (v_j + v_{j+1})``,
    ``sum_j p_j`` with ``p_j = sigmoid(b' + W (v_j + v_{j+1}))``. One CD step
    samples every ``h_j`` from ``p_j``, then every ``v_i`` from
    ``sigmoid(b + W (h_{i-1} + h_i))`` (as :func:`dbmtools.rbm.gibbs`).
    ``hid`` (L - 1,) int8 and ``ptab`` (2, 3) float scratch; ``awake``/``asleep``
    (n, 3) outputs (batch means). ``start`` and ``chains`` as in
    :func:`ising_cd_moments` (the awake phase always uses the data).
    """
    L = v.shape[0]
    n_s = pick.shape[0]
    for n in range(t_idx.shape[0]):
        b = theta[n, 0]
        W = theta[n, 1]
        bh = theta[n, 2]
        for q in range(3):  # row 0: p(h_j = 1 | v_j + v_{j+1} = q); row 1: p(v_i = 1 | q hidden)
            ptab[0, q] = 1.0 / (1.0 + np.exp(-(bh + W * q)))
            ptab[1, q] = 1.0 / (1.0 + np.exp(-(b + W * q)))
        for q in range(3):
            awake[n, q] = 0.0
            asleep[n, q] = 0.0
        for s in range(n_s):
            for i in range(L):
                v[i] = data[pick[s], t_idx[n], i]
            _hidden_moments(v, ptab, awake, n, 1.0 / n_s)
            rng_seed(seeds[n, s], rng)
            _chain_start(v, data, pick[s], t_idx[n], s, start, chains, rng)
            for _ in range(cd_k):
                for j in range(L - 1):
                    hid[j] = 1 if rng_uniform(rng) < ptab[0, v[j] + v[j + 1]] else 0
                for i in range(L):
                    q = 0
                    if i >= 1:
                        q += hid[i - 1]
                    if i < L - 1:
                        q += hid[i]
                    v[i] = 1 if rng_uniform(rng) < ptab[1, q] else 0
            if start == 2:
                chains[t_idx[n], s, :] = v
            _hidden_moments(v, ptab, asleep, n, 1.0 / n_s)


@njit
def _chain_start(v, data, lattice, time, s, start, chains, rng):
    """Fill ``v`` with a chain's start: 0 the data lattice (CD-k from data), 1 fair
    coin flips (CD-k from a random start), 2 the persistent chain ``s`` at this
    data time (PCD)."""
    L = v.shape[0]
    if start == 0:
        for i in range(L):
            v[i] = data[lattice, time, i]
    elif start == 1:
        for i in range(L):
            v[i] = 1 if rng_uniform(rng) < 0.5 else 0
    else:
        for i in range(L):
            v[i] = chains[time, s, i]


@njit
def _hidden_moments(v, ptab, out, n, scale):
    L = v.shape[0]
    m1 = 0
    c1 = 0  # number of hidden units with v_j + v_{j+1} = 1
    c2 = 0  # ... = 2
    for i in range(L):
        m1 += v[i]
    for j in range(L - 1):
        a = v[j] + v[j + 1]
        if a == 1:
            c1 += 1
        elif a == 2:
            c2 += 1
    c0 = L - 1 - c1 - c2
    mw = ptab[0, 1] * c1 + 2.0 * ptab[0, 2] * c2
    mh = ptab[0, 0] * c0 + ptab[0, 1] * c1 + ptab[0, 2] * c2
    out[n, 0] += scale * m1
    out[n, 1] += scale * mw
    out[n, 2] += scale * mh

"""The 1D lattice gas with b, J, K interactions (paper eq. 37): Gibbs sampler and exact moments.

The distribution of a binary chain ``v_0 .. v_{L-1}`` is

    p(v) = exp(b sum_i v_i + J sum_i v_i v_{i+1} + K sum_i v_i v_{i+1} v_{i+2}) / Z,

the sign convention of the paper (energy ``E = -(...)``). With
``boundary="reflecting"`` (open chain, as in eq. 37) the pair and triple sums
run over the ``L - 1`` bonds and ``L - 2`` triples inside the chain; with
``"periodic"`` they wrap around (``L`` of each).

* :func:`sample` draws lattices by Gibbs sampling, many chains in parallel.
* :func:`exact_moments_per_site` gives the exact chain moments per site by the
  4 x 4 :func:`transfer_matrix`, for the infinite chain or a finite chain of either
  boundary.
* :func:`enumerate_states` lists every lattice of a short chain with its probability.
* :func:`moments` computes the sufficient statistics of eq. (37) of lattices (raw sums).
* :func:`implied_ising` finds the ``(b, J)`` chain whose density and pairs match lattices.
* :func:`short_chain_bias` measures the bias of short Gibbs chains (notebook 03);
  :mod:`dbmtools.plotting` draws the figures.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np

from ._checks import check_finite_array, check_int, check_real
from ._config import njit, pjit
from ._random import SeedLike, rng_seed, rng_uniform, sample_seeds
from .lattice import check_boundary, check_state
from .observables import chain_moments

__all__ = [
    "exact_chain_moments",
    "exact_chain_covariance",
    "sample",
    "exact_moments_per_site",
    "transfer_matrix",
    "enumerate_states",
    "moments",
    "ImpliedIsing",
    "implied_ising",
    "short_chain_bias",
]


def sample(
    b: float,
    J: float,
    K: float,
    *,
    n_sites: int,
    n_chains: int,
    n_sweeps: int,
    seed: SeedLike = None,
    boundary: str = "periodic",
    init: np.ndarray | None = None,
) -> np.ndarray:
    """Sample lattices of the 1D b/J/K gas (eq. 37) by Gibbs sampling.

    Each sample is the end of its own Markov chain: ``n_sweeps`` sweeps of
    heat-bath updates, started from ``init`` or, without it, from independent
    fair coin flips. Chains run in parallel (numba ``prange``); chain ``i`` has
    its own random stream from ``seed``, so the result does not depend on the
    number of threads.

    Parameters
    ----------
    b, J, K : float
        Bias, nearest-neighbour and three-site couplings (finite).
    n_sites : int
        Chain length ``L`` >= 3.
    n_chains : int
        Number of independent chains (and of returned lattices), >= 1.
    n_sweeps : int
        Sweeps per chain, >= 0. Started from data, ``n_sweeps=k`` is the
        asleep phase of CD-k.
    seed : None, int, SeedSequence or Generator
    boundary : {"periodic", "reflecting"}
    init : ndarray of int, shape (n_chains, n_sites) or (n_sites,), optional
        Initial lattices (codes 0 or 1); a single lattice starts every chain.

    Returns
    -------
    ndarray of int8, shape (n_chains, n_sites)

    Raises
    ------
    ValueError
        For non-finite couplings, sizes out of range, or ``init`` of the wrong
        shape or with codes other than 0 and 1.

    Notes
    -----
    The local field on site ``i`` (log-odds of ``v_i = 1`` given the rest) is

        h_i = b + J (v_{i-1} + v_{i+1})
              + K (v_{i-2} v_{i-1} + v_{i-1} v_{i+1} + v_{i+1} v_{i+2}),

    with the terms that leave an open chain dropped. A sweep visits the three
    sublattices ``i mod 3 = 0, 1, 2`` in turn. Sites of one sublattice are at
    least three apart, so with the interaction range of two they are
    conditionally independent given the rest: updating them one after another
    is the same as the exact block update of the whole sublattice. (On a ring
    whose length is not a multiple of 3 the last sites of a sublattice touch the
    first ones; the sweep is then an ordinary systematic-scan Gibbs sweep, which
    is exact as well.)

    Examples
    --------
    >>> v = sample(-0.5, 1.0, 0.0, n_sites=100, n_chains=200, n_sweeps=100, seed=0)
    >>> v.shape, v.dtype
    ((200, 100), dtype('int8'))
    >>> round(float(v.mean()), 2), round(float(exact_moments_per_site(-0.5, 1.0, 0.0)[0]), 2)
    (0.7, 0.69)
    """
    b, J, K, n_sites, n_chains, n_sweeps, periodic, v0, have_init = _check_sample(
        b, J, K, n_sites, n_chains, n_sweeps, boundary, init
    )
    seeds = sample_seeds(seed, n_chains)
    table = _site_table(n_sites, periodic)
    order = np.concatenate([np.arange(r, n_sites, 3) for r in range(3)]).astype(np.int64)
    out = np.empty((n_chains, n_sites), dtype=np.int8)
    _gibbs_chains(v0, have_init, table, order, b, J, K, n_sweeps, seeds, out)
    return out


def _check_couplings(b, J, K) -> tuple[float, float, float]:
    return check_real("b", b), check_real("J", J), check_real("K", K)


def _check_sample(b, J, K, n_sites, n_chains, n_sweeps, boundary, init):
    b, J, K = _check_couplings(b, J, K)
    n_sites = check_int("n_sites", n_sites, 3)
    n_chains = check_int("n_chains", n_chains, 1)
    n_sweeps = check_int("n_sweeps", n_sweeps, 0)
    periodic = check_boundary(boundary) == "periodic"
    if init is None:
        v0 = np.zeros((n_chains, n_sites), dtype=np.int8)
        return b, J, K, n_sites, n_chains, n_sweeps, periodic, v0, False
    arr = check_state(init, 1, name="init")
    if arr.shape == (n_sites,):
        arr = np.broadcast_to(arr, (n_chains, n_sites))
    if arr.shape != (n_chains, n_sites):
        raise ValueError(
            f"`init` must have shape (n_chains, n_sites) = ({n_chains}, {n_sites}) or "
            f"({n_sites},); got {np.shape(init)}."
        )
    v0 = np.ascontiguousarray(arr, dtype=np.int8)
    return b, J, K, n_sites, n_chains, n_sweeps, periodic, v0, True


def _site_table(n_sites: int, periodic: bool) -> np.ndarray:
    """Sites i-2, i-1, i+1, i+2 of every site; ``n_sites`` (a slot that stays 0) past a wall."""
    i = np.arange(n_sites)
    cols = []
    for d in (-2, -1, 1, 2):
        j = i + d
        if periodic:
            j = j % n_sites
        else:
            j = np.where((j < 0) | (j >= n_sites), n_sites, j)
        cols.append(j)
    return np.ascontiguousarray(np.stack(cols, axis=1), dtype=np.int64)


@pjit
def _gibbs_chains(v0, have_init, table, order, b, J, K, n_sweeps, seeds, out):
    """Run one Gibbs chain per row of ``out`` (S, L) int8.

    ``table`` (L, 4) holds sites i-2, i-1, i+1, i+2, with ``L`` for a missing
    site (the work lattice has an extra slot ``L`` that stays 0). ``order`` is
    the visiting order of one sweep. Without ``have_init`` a chain starts from
    fair coin flips drawn from its own stream.
    """
    n = out.shape[1]
    for s in numba.prange(out.shape[0]):
        rng = np.empty(4, dtype=np.uint64)
        rng_seed(seeds[s], rng)
        v = np.zeros(n + 1, dtype=np.int8)
        for i in range(n):
            if have_init:
                v[i] = v0[s, i]
            else:
                v[i] = 1 if rng_uniform(rng) < 0.5 else 0
        for _ in range(n_sweeps):
            for k in range(n):
                i = order[k]
                a2 = v[table[i, 0]]
                a1 = v[table[i, 1]]
                c1 = v[table[i, 2]]
                c2 = v[table[i, 3]]
                h = b + J * (a1 + c1) + K * (a2 * a1 + a1 * c1 + c1 * c2)
                # p(v_i = 1) = 1 / (1 + exp(-h)), written to avoid overflow
                if h >= 0:
                    p1 = 1.0 / (1.0 + np.exp(-h))
                else:
                    e = np.exp(h)
                    p1 = e / (1.0 + e)
                v[i] = 1 if rng_uniform(rng) < p1 else 0
        for i in range(n):
            out[s, i] = v[i]


def exact_moments_per_site(
    b: float,
    J: float,
    K: float,
    *,
    n_sites: int | None = None,
    boundary: str = "periodic",
    max_order: int = 4,
) -> np.ndarray:
    """Exact chain moments per site of the 1D b/J/K gas by the transfer matrix.

    Parameters
    ----------
    b, J, K : float
        Couplings of eq. (37) (finite).
    n_sites : int, optional
        Chain length ``L`` (>= 3 and >= ``max_order``). Omitted: the infinite
        chain.
    boundary : {"periodic", "reflecting"}
        For a finite chain.
    max_order : int
        Highest chain length ``k`` (1 to 10).

    Returns
    -------
    ndarray of float, shape (max_order,)
        Entry ``k - 1`` is the expected order-``k`` chain moment
        ``sum_i v_i ... v_{i+k-1}`` **divided by L**, the sum running over the
        chains that :func:`dbmtools.chain_moments` counts for this boundary
        (``L`` on a ring, ``L - k + 1`` on an open chain). Multiply by ``L`` for
        the raw lattice sums. For the infinite chain, the limit per site:
        ``<v_i>, <v_i v_{i+1}>, ...``.

    Notes
    -----
    The transfer matrix acts on pairs ``s_i = (v_i, v_{i+1})``:
    ``T[(a, c), (c, d)] = exp(b d + J c d + K a c d)`` adds site ``d`` with its
    bond and triple. On a ring of ``L`` sites ``Z = Tr T^L``; the chain of
    ``k >= 2`` ones starting at ``i`` is the event ``s_i = ... = s_{i+k-2} =
    (1, 1)``, so ``<v_i ... v_{i+k-1}> = Tr[(P T)^{k-2} P T^{L-k+2}] / Z`` with
    ``P`` the projector on ``(1, 1)``. For the infinite chain ``T^m`` is
    replaced by its Perron term ``lambda^m r l^T / (l^T r)``. The open chain
    starts from the weight of the first pair and sums every position.

    Examples
    --------
    >>> np.round(exact_moments_per_site(0.0, 0.0, 0.0), 4).tolist()   # independent fair coins
    [0.5, 0.25, 0.125, 0.0625]
    >>> np.round(exact_moments_per_site(-1.0, 2.0, 0.5, n_sites=50), 4).tolist()
    [0.9822, 0.9684, 0.9549, 0.9415]
    """
    b, J, K = _check_couplings(b, J, K)
    max_order = check_int("max_order", max_order, 1, 10)
    check_boundary(boundary)
    if n_sites is not None:
        n_sites = check_int("n_sites", n_sites, max(3, max_order))
    T = _transfer_matrix(b, J, K)
    if n_sites is None:
        return _infinite_moments(T, max_order)
    if boundary == "periodic":
        return _ring_moments(T, n_sites, max_order)
    return exact_chain_moments([b, J, K], n_sites, max_order) / n_sites


#: index of the pair state (a, c) is 2 a + c
_N_FIRST = np.diag([0.0, 0.0, 1.0, 1.0])  # v_i = 1
_P11 = np.diag([0.0, 0.0, 0.0, 1.0])  # v_i = v_{i+1} = 1


def transfer_matrix(b: float, J: float, K: float) -> np.ndarray:
    """The 4 x 4 transfer matrix of the 1D b/J/K gas on pairs of sites (eq. 37).

    ``T[(a, c), (c, d)] = exp(b d + J c d + K a c d)`` adds site ``d`` to a
    chain ending in ``(a, c)``, with its bond and triple; the pair state
    ``(a, c)`` has index ``2 a + c`` (order 00, 01, 10, 11), and entries whose
    shared site disagrees are 0. On a ring of ``L`` sites ``Z = Tr T^L``.
    (:func:`exact_moments_per_site` works with a rescaled copy, so that large
    couplings do not overflow.)

    Examples
    --------
    >>> np.round(transfer_matrix(0.0, 1.0, 0.0), 3).tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.718], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.718]]
    """
    return np.exp(_log_transfer_matrix(*_check_couplings(b, J, K)))


def _log_transfer_matrix(b: float, J: float, K: float) -> np.ndarray:
    logT = np.full((4, 4), -np.inf)
    for a in (0, 1):
        for c in (0, 1):
            for d in (0, 1):
                logT[2 * a + c, 2 * c + d] = b * d + J * c * d + K * a * c * d
    return logT


def _transfer_matrix(b: float, J: float, K: float) -> np.ndarray:
    """:func:`transfer_matrix` scaled so that its largest entry is 1."""
    logT = _log_transfer_matrix(b, J, K)
    return np.exp(logT - logT.max())


def _perron(T: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    w, vr = np.linalg.eig(T)
    k = int(np.argmax(w.real))
    wl, vl = np.linalg.eig(T.T)
    m = int(np.argmax(wl.real))
    r, left = np.abs(vr[:, k].real), np.abs(vl[:, m].real)  # Perron vectors are positive
    return float(w[k].real), r, left


def _chain_operator(T: np.ndarray, k: int) -> np.ndarray:
    """``(P T)^{k-2} P``: the chain of ``k`` ones starting at the first pair (k >= 2)."""
    A = _P11.copy()
    for _ in range(k - 2):
        A = _P11 @ T @ A
    return A


def _infinite_moments(T: np.ndarray, max_order: int) -> np.ndarray:
    lam, r, left = _perron(T)
    norm = left @ r
    out = np.empty(max_order)
    out[0] = left @ _N_FIRST @ r / norm
    for k in range(2, max_order + 1):
        out[k - 1] = left @ _chain_operator(T, k) @ r / (norm * lam ** (k - 2))
    return out


def _matrix_power_scaled(T: np.ndarray, m: int, lam: float) -> np.ndarray:
    return np.linalg.matrix_power(T / lam, m)


def _ring_moments(T: np.ndarray, n: int, max_order: int) -> np.ndarray:
    lam = _perron(T)[0]
    Tn = T / lam
    Z = np.trace(_matrix_power_scaled(T, n, lam))
    out = np.empty(max_order)
    out[0] = np.trace(_N_FIRST @ np.linalg.matrix_power(Tn, n)) / Z
    for k in range(2, max_order + 1):
        A = _chain_operator(Tn, k)
        out[k - 1] = np.trace(A @ np.linalg.matrix_power(Tn, n - k + 2)) / Z
    return out  # translation invariant: per-site moment = raw sum / L


def exact_chain_moments(theta: np.ndarray, n_sites: int, max_order: int = 4) -> np.ndarray:
    """Exact raw chain moments of the b/J/K open chain (eq. 37), by a 4 x 4 transfer matrix.

    Vectorised over many ``theta`` in one numba call (the 1D closure experiment
    evaluates thousands); :func:`exact_moments_per_site` with
    ``boundary="reflecting"`` is this divided by ``n_sites``. Forward and
    backward vectors over the pair states ``s_i = (v_i, v_{i+1})``, rescaled at
    every site so nothing overflows.

    Parameters
    ----------
    theta : array_like, shape (..., 3)
        ``(b, J, K)``.
    n_sites : int
        ``L`` >= max(3, max_order).
    max_order : int
        Highest chain length (1 to 10).

    Returns
    -------
    ndarray, shape (..., max_order)
        ``<sum_i v_i ... v_{i+k-1}>`` over the ``L - k + 1`` chains of length
        ``k`` that fit, k = 1..max_order (raw lattice sums).

    Examples
    --------
    >>> exact_chain_moments([0.0, 0.0, 0.0], 10).round(4).tolist()
    [5.0, 2.25, 1.0, 0.4375]
    """
    th = check_finite_array("theta", theta)
    if th.ndim == 0 or th.shape[-1] != 3:
        raise ValueError(f"`theta` must have shape (..., 3) = (b, J, K); got {th.shape}.")
    max_order = check_int("max_order", max_order, 1, 10)
    n_sites = check_int("n_sites", n_sites, max(3, max_order))
    flat = np.ascontiguousarray(th.reshape(-1, 3))
    out = np.empty((flat.shape[0], max_order))
    _open_chain_kernel(flat, n_sites, max_order, out)
    return out.reshape((*th.shape[:-1], max_order))


def exact_chain_covariance(theta: np.ndarray, n_sites: int, max_order: int = 3) -> np.ndarray:
    """Exact covariances of the chain moments with the statistics of (37), open chain.

    For the exponential family (37), ``d <phi_k> / d theta_j = Cov(phi_k, phi_j)``
    with ``phi_1, phi_2, phi_3`` the raw sums of chains of 1, 2, 3 ones
    (the statistics of ``b, J, K``). The derivative of the exact transfer-matrix
    moments (:func:`exact_chain_moments`) is taken by the complex step,
    ``Im mu(theta + i h e_j) / h`` with ``h = 1e-30``: exact to rounding,
    with no difference quotient.

    Parameters
    ----------
    theta : array_like, shape (..., 3)
        ``(b, J, K)``.
    n_sites : int
        ``L``.
    max_order : int
        Chain orders ``k = 1 .. max_order`` of the rows.

    Returns
    -------
    ndarray, shape (..., max_order, 3)
        ``Cov(phi_k, phi_j)``; the leading 3 x 3 block is the (symmetric,
        positive definite) Fisher matrix of (37).

    Examples
    --------
    >>> c = exact_chain_covariance([0.0, 0.0, 0.0], 10)   # fair independent coins
    >>> float(c[0, 0])   # Var(sum v_i) = L / 4
    2.5
    >>> bool(np.allclose(c, c.T))
    True
    """
    th = check_finite_array("theta", theta)
    if th.ndim == 0 or th.shape[-1] != 3:
        raise ValueError(f"`theta` must have shape (..., 3) = (b, J, K); got {th.shape}.")
    max_order = check_int("max_order", max_order, 1, 10)
    n_sites = check_int("n_sites", n_sites, max(3, max_order))
    flat = th.reshape(-1, 3)
    step = 1e-30
    pert = np.repeat(flat[:, None, :].astype(np.complex128), 3, axis=1)
    pert[:, [0, 1, 2], [0, 1, 2]] += 1j * step
    out = np.empty((flat.shape[0] * 3, max_order), dtype=np.complex128)
    _open_chain_kernel(np.ascontiguousarray(pert.reshape(-1, 3)), n_sites, max_order, out)
    cov = out.imag.reshape(flat.shape[0], 3, max_order).transpose(0, 2, 1) / step
    return cov.reshape((*th.shape[:-1], max_order, 3))


@njit
def _open_chain_kernel(theta, L, max_order, out):
    """Pair states ``s_i = (v_i, v_{i+1})`` (index 2 a + c), i = 0..L-2; ``out`` (n, max_order)."""
    n = L - 1
    alpha = np.empty((n, 4), dtype=theta.dtype)
    beta = np.empty((n, 4), dtype=theta.dtype)
    lb = np.empty(n, dtype=theta.dtype)
    zpos = np.empty(n, dtype=theta.dtype)
    T = np.zeros((4, 4), dtype=theta.dtype)
    for p in range(theta.shape[0]):
        b, J, K = theta[p, 0], theta[p, 1], theta[p, 2]
        for a in range(2):
            for c in range(2):
                for d in range(2):
                    T[2 * a + c, 2 * c + d] = np.exp(b * d + J * c * d + K * a * c * d)
        s = 0.0
        for a in range(2):
            for c in range(2):
                alpha[0, 2 * a + c] = np.exp(b * (a + c) + J * a * c)
                s += alpha[0, 2 * a + c]
        for q in range(4):
            alpha[0, q] /= s
        for i in range(1, n):
            s = 0.0
            for q in range(4):
                acc = 0.0
                for r in range(4):
                    acc += alpha[i - 1, r] * T[r, q]
                alpha[i, q] = acc
                s += acc
            for q in range(4):
                alpha[i, q] /= s
        for q in range(4):
            beta[n - 1, q] = 1.0
        lb[n - 1] = 0.0
        for i in range(n - 2, -1, -1):
            s = 0.0
            for q in range(4):
                acc = 0.0
                for r in range(4):
                    acc += T[q, r] * beta[i + 1, r]
                beta[i, q] = acc
                s += acc
            for q in range(4):
                beta[i, q] /= s
            lb[i] = lb[i + 1] + np.log(s)
        # Z = exp(la_i + lb[i]) * z_i at every position i (la_i: the forward log scale, not
        # needed): marginals need no global log scale, a chain from i to j only lb[j] - lb[i]
        for i in range(n):
            zi = 0.0
            for q in range(4):
                zi += alpha[i, q] * beta[i, q]
            zpos[i] = zi
        # order 1: v_i = 1 is the first element of s_i (i <= L-2), the second of s_{L-2}
        tot = 0.0
        for i in range(n):
            tot += (alpha[i, 2] * beta[i, 2] + alpha[i, 3] * beta[i, 3]) / zpos[i]
        tot += (alpha[n - 1, 1] * beta[n - 1, 1] + alpha[n - 1, 3] * beta[n - 1, 3]) / zpos[n - 1]
        out[p, 0] = tot
        step = np.log(T[3, 3])
        for k in range(2, max_order + 1):
            tot = 0.0
            for i in range(n - k + 2):
                j = i + k - 2
                tot += alpha[i, 3] * beta[j, 3] * np.exp(lb[j] - lb[i] + (k - 2) * step) / zpos[i]
            out[p, k - 1] = tot


def enumerate_states(
    b: float, J: float, K: float, *, n_sites: int, boundary: str = "periodic"
) -> tuple[np.ndarray, np.ndarray]:
    """Every lattice of a short chain with its exact probability (brute force).

    For teaching and for checking: ``2**n_sites`` states, ``n_sites`` from 3 to 20.

    Returns
    -------
    states : ndarray of int8, shape ``(2**n_sites, n_sites)``
        In lexicographic order (site 0 most significant).
    probs : ndarray of float, shape ``(2**n_sites,)``

    Examples
    --------
    >>> s, p = enumerate_states(0.0, 1.0, 0.0, n_sites=3)
    >>> s[[0, -1]].tolist(), round(float(p[-1] / p[0]), 4)   # all full: 3 bonds on the ring
    ([[0, 0, 0], [1, 1, 1]], 20.0855)
    """
    b, J, K = _check_couplings(b, J, K)
    n_sites = check_int("n_sites", n_sites, 3)
    if n_sites > 20:
        raise ValueError(f"`n_sites` must be at most 20 for enumeration; got {n_sites}.")
    check_boundary(boundary)
    codes = np.arange(2**n_sites)
    states = ((codes[:, None] >> np.arange(n_sites - 1, -1, -1)) & 1).astype(np.int8)
    m = chain_moments(states, max_order=3, boundary=boundary).astype(float)
    logw = m @ np.array([b, J, K])
    p = np.exp(logw - logw.max())
    return states, p / p.sum()


def moments(states: np.ndarray, *, boundary: str = "periodic") -> np.ndarray:
    """Sufficient statistics of eq. (37): raw sums ``sum v_i``, ``sum v_i v_{i+1}``, triples.

    A thin wrapper of :func:`dbmtools.chain_moments` (orders 1 to 3), the
    moments that ``b``, ``J`` and ``K`` control.

    Parameters
    ----------
    states : ndarray of int, shape (..., L)
        Codes 0 and 1.
    boundary : {"periodic", "reflecting"}

    Returns
    -------
    ndarray of int64, shape (..., 3)

    Examples
    --------
    >>> moments(np.array([1, 1, 1, 0, 1], dtype=np.int8), boundary="reflecting").tolist()
    [4, 2, 1]
    """
    check_state(states, 1, name="states")
    return chain_moments(states, max_order=3, boundary=boundary)


@dataclass
class ImpliedIsing:
    """Result of :func:`implied_ising`.

    Attributes
    ----------
    params : ndarray, shape (2,)
        ``(b, J)`` of the Ising chain (``K = 0``) whose exact density and pair
        moment per site equal the lattices' means.
    se : ndarray, shape (2,)
        Their standard errors, from the standard errors of the two mean moments
        through the inverse Jacobian of ``(b, J) -> (density, pairs)``.
    moments : ndarray, shape (2,)
        The lattices' mean density and pair moment per site.
    converged : bool
        Whether the root search converged.
    """

    params: np.ndarray
    se: np.ndarray
    moments: np.ndarray
    converged: bool


def implied_ising(lattices: np.ndarray, *, boundary: str = "reflecting") -> ImpliedIsing:
    """The Ising chain (``K = 0``) that the lattices' density and pairs determine.

    Finds ``(b, J)`` whose exact moments per site
    (:func:`exact_moments_per_site` on a chain of the lattices' length, orders
    1 and 2) equal the mean density and pair moment of ``lattices``, by a root
    search (``scipy.optimize.fsolve``, tolerance 1e-10). The standard errors
    follow from those of the two means (the covariance over the independent
    lattices) through the inverse Jacobian of the map, taken by central
    differences with step 1e-5.

    Parameters
    ----------
    lattices : ndarray of int, shape (n_lattices, n_sites)
        Independent lattices, codes 0 and 1; ``n_lattices >= 2``, ``n_sites >= 3``.
    boundary : {"reflecting", "periodic"}
        Of the chain (and of the pair count).

    Returns
    -------
    ImpliedIsing

    Warns
    -----
    RuntimeWarning
        If the root search did not converge.

    Examples
    --------
    >>> v = sample(-0.5, 1.0, 0.0, n_sites=200, n_chains=400, n_sweeps=200,
    ...            boundary="reflecting", seed=1)
    >>> r = implied_ising(v)
    >>> bool(np.all(np.abs(r.params - [-0.5, 1.0]) < 4 * r.se)), r.converged
    (True, True)
    """
    from scipy.optimize import fsolve

    arr = check_state(lattices, 1, name="lattices")
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 3:
        raise ValueError(
            "`lattices` must have shape (n_lattices, n_sites) with n_lattices >= 2 and "
            f"n_sites >= 3; got {arr.shape}."
        )
    n_sites = arr.shape[1]

    def per_site(bj):
        return exact_moments_per_site(*bj, 0.0, n_sites=n_sites, boundary=boundary, max_order=2)

    m = chain_moments(arr, max_order=2, boundary=boundary) / n_sites
    target = m.mean(axis=0)
    bj, _, ier, message = fsolve(
        lambda x: per_site(x) - target, [0.0, 0.0], xtol=1e-10, full_output=True
    )
    if ier != 1:
        warnings.warn(
            f"implied_ising: the root search did not converge ({message}).",
            RuntimeWarning,
            stacklevel=2,
        )
    h = 1e-5
    jac = np.column_stack([(per_site(bj + d) - per_site(bj - d)) / (2 * h) for d in h * np.eye(2)])
    inv = np.linalg.inv(jac)
    se = np.sqrt(np.diag(inv @ np.cov(m.T) @ inv.T / len(m)))
    return ImpliedIsing(params=bj, se=se, moments=target, converged=ier == 1)


def short_chain_bias(
    b: float,
    J: float,
    K: float,
    *,
    n_sweeps,
    n_sites: int = 100,
    n_chains: int = 400,
    seed: SeedLike = 0,
) -> dict:
    """Chain moments after a few Gibbs sweeps, from random states and from model samples.

    The asleep phase of CD-k runs ``k`` sweeps. Started from equilibrium
    samples (data drawn from the model itself) any ``k`` is unbiased; started
    from fair coin flips, short chains have not forgotten their start.

    Parameters
    ----------
    b, J, K : float
    n_sweeps : sequence of int
        The values of ``k`` to try.
    n_sites, n_chains : int
        Ring length and number of independent chains.
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    dict
        ``"n_sweeps"`` (n_k,), ``"random"`` and ``"data"`` mean moments per site
        (n_k, 4), ``"random_se"`` and ``"data_se"`` their standard errors,
        and ``"exact"`` (4,) for the same ring.

    Examples
    --------
    >>> r = short_chain_bias(-1.0, 2.0, 0.0, n_sweeps=[1, 100], n_sites=30, n_chains=200)
    >>> bool(abs(r["random"][0, 1] - r["exact"][1]) > 5 * r["random_se"][0, 1])  # k = 1: biased
    True
    """
    ks = np.asarray(n_sweeps, dtype=np.int64)
    data = sample(b, J, K, n_sites=n_sites, n_chains=n_chains, n_sweeps=500, seed=seed)
    ss = np.random.SeedSequence(int(sample_seeds(seed, 1)[0]))
    out = {"n_sweeps": ks, "exact": exact_moments_per_site(b, J, K, n_sites=n_sites)}
    for name in ("random", "data"):
        mean, se = np.empty((ks.size, 4)), np.empty((ks.size, 4))
        for r, k in enumerate(ks):
            init = None if name == "random" else data
            v = sample(
                b,
                J,
                K,
                n_sites=n_sites,
                n_chains=n_chains,
                n_sweeps=int(k),
                init=init,
                seed=ss.spawn(1)[0],
            )
            m = chain_moments(v, max_order=4) / n_sites
            mean[r], se[r] = m.mean(axis=0), m.std(axis=0, ddof=1) / np.sqrt(n_chains)
        out[name], out[name + "_se"] = mean, se
    return out

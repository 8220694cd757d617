"""Observables of lattice states: counts, nearest-neighbour pairs, 1D chain moments.

Every function takes a single state, a trajectory ``(n_times, *shape)`` or an
ensemble ``(n_samples, n_times, *shape)``: the last ``dim`` axes are the
lattice and the result keeps the leading axes. Moments are raw lattice sums
(not per site), as in the paper.
"""

from __future__ import annotations

import numba
import numpy as np

from ._checks import check_int
from ._config import njit, pjit
from .lattice import bond_table, check_boundary, check_shape, check_state

__all__ = ["counts", "pair_counts", "chain_moments"]


def _split(states: np.ndarray, dim: int, n_species: int) -> tuple[np.ndarray, tuple, tuple]:
    dim = check_int("dim", dim, 1, 3)
    n_species = check_int("n_species", n_species, 1, 127)
    arr = np.asarray(states)
    if arr.ndim < dim:
        raise ValueError(f"`states` has {arr.ndim} axes, fewer than the lattice's `dim`={dim}.")
    lead, shape = arr.shape[: arr.ndim - dim], check_shape(arr.shape[arr.ndim - dim :])
    flat = check_state(arr, n_species, name="states").reshape(-1, int(np.prod(shape)))
    return flat, lead, shape


def counts(states: np.ndarray, *, dim: int, n_species: int) -> np.ndarray:
    """Number of particles of each species.

    Parameters
    ----------
    states : array_like of int, shape ``(..., *lattice_shape)``
    dim : int
        Number of lattice axes (the trailing ones).
    n_species : int
        Species codes are ``1..n_species``.

    Returns
    -------
    ndarray of int64, shape (..., n_species)
        Entry ``k`` counts species code ``k + 1``.

    Examples
    --------
    >>> counts(np.array([[1, 0, 2], [2, 2, 0]], dtype=np.int8), dim=1, n_species=2).tolist()
    [[1, 1], [0, 2]]
    """
    flat, lead, _ = _split(states, dim, n_species)
    out = np.zeros((flat.shape[0], n_species), dtype=np.int64)
    _count_kernel(flat, out)
    return out.reshape((*lead, n_species))


def pair_counts(
    states: np.ndarray, *, dim: int, n_species: int, boundary: str = "periodic"
) -> np.ndarray:
    """Nearest-neighbour pair counts per species pair.

    Each bond of the lattice is counted once; ``boundary="periodic"`` includes
    the bonds that wrap around, ``"reflecting"`` leaves them out.

    Returns
    -------
    ndarray of int64, shape (..., n_species, n_species)
        Symmetric. ``[a, a]`` counts bonds joining two particles of code
        ``a + 1``; ``[a, b]`` (``a != b``) counts bonds joining one of each.

    Examples
    --------
    >>> s = np.array([1, 1, 2, 0, 1], dtype=np.int8)
    >>> pair_counts(s, dim=1, n_species=2).tolist()      # bonds 1-1, 1-2 and the wrap 1-1
    [[2, 1], [1, 0]]
    >>> pair_counts(s, dim=1, n_species=2, boundary="reflecting").tolist()
    [[1, 1], [1, 0]]
    """
    flat, lead, shape = _split(states, dim, n_species)
    bonds = bond_table(shape, check_boundary(boundary))
    out = np.zeros((flat.shape[0], n_species, n_species), dtype=np.int64)
    _pair_kernel(flat, bonds, out)
    return out.reshape((*lead, n_species, n_species))


def chain_moments(
    states: np.ndarray,
    *,
    max_order: int = 4,
    boundary: str = "periodic",
    species: int = 1,
    n_species: int | None = None,
) -> np.ndarray:
    """Chain moments of a 1D lattice, ``sum_i v_i v_{i+1} ... v_{i+k-1}``, k = 1..max_order.

    ``v_i = 1`` where site ``i`` holds species code ``species``. With
    ``boundary="reflecting"`` the sum runs over the ``L - k + 1`` chains inside
    the lattice (as in eq. 37); with ``"periodic"`` over all ``L`` chains,
    wrapping around.

    Parameters
    ----------
    states : array_like of int, shape (..., L)
    max_order : int
        Highest chain length ``k``, 1 to L.
    boundary : {"periodic", "reflecting"}
    species : int
        Code of the species whose occupancy is ``v``.
    n_species : int, optional
        The network's number of species; if given, ``species`` must be one of
        its codes ``1..n_species`` (a code absent from the network is an error,
        not a row of zeros), and so must every code in ``states``.

    Returns
    -------
    ndarray of int64, shape (..., max_order)
        Entry ``k - 1`` is the order-``k`` moment (``k = 1``: the count).

    Examples
    --------
    >>> s = np.array([1, 1, 1, 0, 1, 1], dtype=np.int8)
    >>> chain_moments(s, boundary="reflecting").tolist()
    [5, 3, 1, 0]
    >>> chain_moments(s, boundary="periodic").tolist()
    [5, 4, 3, 2]
    """
    top = 127 if n_species is None else check_int("n_species", n_species, 1, 127)
    species = check_int("species", species, 1, top)
    flat, lead, shape = _split(states, 1, top)
    check_boundary(boundary)
    max_order = check_int("max_order", max_order, 1, shape[0])
    out = np.zeros((flat.shape[0], max_order), dtype=np.int64)
    _chain_kernel(flat, max_order, boundary == "periodic", species, out)
    return out.reshape((*lead, max_order))


@pjit
def _count_kernel(flat, out):
    """``flat`` (R, N) int8 validated codes; ``out`` (R, M) zeros."""
    for r in numba.prange(flat.shape[0]):
        for s in range(flat.shape[1]):
            c = flat[r, s]
            if c > 0:
                out[r, c - 1] += 1


@pjit
def _pair_kernel(flat, bonds, out):
    """``bonds`` (N, dim) up-neighbours with -1 at walls; ``out`` (R, M, M) zeros."""
    for r in numba.prange(flat.shape[0]):
        _pair_one(flat[r], bonds, 1, out[r])


@njit
def _pair_one(lattice, table, stride, out):
    """Add the pair counts of one lattice (N,) to ``out`` (M, M).

    ``table[:, ::stride]`` holds each site's up-neighbours (-1 at a wall): a
    bond table with ``stride=1``, a neighbour table with ``stride=2``.
    """
    for s in range(lattice.size):
        a = lattice[s]
        if a == 0:
            continue
        for d in range(0, table.shape[1], stride):
            t = table[s, d]
            if t < 0:
                continue
            b = lattice[t]
            if b == 0:
                continue
            out[a - 1, b - 1] += 1
            if a != b:
                out[b - 1, a - 1] += 1


@pjit
def _chain_kernel(flat, max_order, periodic, species, out):
    """Chain moments of every row of ``flat`` (R, N); ``out`` (R, max_order) zeros."""
    for r in numba.prange(flat.shape[0]):
        _chain_one(flat[r], max_order, periodic, species, out[r])


@njit
def _chain_one(lattice, max_order, periodic, species, out):
    """Add the chain moments of one 1D lattice (N,) to ``out`` (max_order,).

    Run lengths ending at each site give all orders in one pass: chains of
    length k end at site i iff the run ending at i has length >= k.
    """
    n = lattice.size
    run = 0
    if periodic:  # start the run count from the wrapped-around tail
        i = n - 1
        while i >= 0 and lattice[i] == species and run < max_order:
            run += 1
            i -= 1
    for i in range(n):
        if lattice[i] == species:
            run += 1
            for k in range(min(run, max_order)):
                out[k] += 1
        else:
            run = 0

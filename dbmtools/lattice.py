"""Lattice geometry: shapes, boundaries, neighbour tables and initial states.

Sites of a lattice of shape ``(L0, ..., L_{d-1})`` (``d`` = 1, 2 or 3) are
numbered in C order. A state is an ``int8`` array of that shape: ``0`` is an
empty site, ``1..M`` the species of a :class:`~dbmtools.reactions.Network`.

Boundaries:

* ``"periodic"``: the lattice wraps around in every direction;
* ``"reflecting"``: open walls. A hop towards a wall is rejected and the particle
  stays, so the hop rate towards each *existing* neighbour is the same
  everywhere, 1/(2 d dt), as in the bulk.

Wall rules (:data:`WALL_RULES`, the simulator's ``walls=`` option), what a
particle next to a reflecting wall does when it draws the direction of the wall:

* ``"reject"``: the hop is rejected, the particle stays (the default for uniform
  selection, as above);
* ``"redirect"``: the direction is redrawn among the existing neighbours (the
  authors' code), so a particle at a wall always hops, and more often than the
  bulk's 1/(2 d dt) towards each neighbour it has.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ._random import SeedLike, as_seed_sequence

__all__ = [
    "BOUNDARIES",
    "WALL_RULES",
    "bond_table",
    "check_boundary",
    "check_shape",
    "check_walls",
    "check_state",
    "neighbour_table",
    "random_state",
]

BOUNDARIES = ("periodic", "reflecting")
WALL_RULES = ("reject", "redirect")
"""What a hop towards a reflecting wall does: rejected, or redrawn among the existing neighbours."""


def check_boundary(boundary: str) -> str:
    """Return ``boundary`` if it is ``"periodic"`` or ``"reflecting"``, else raise."""
    if boundary not in BOUNDARIES:
        raise ValueError(f"`boundary` must be 'periodic' or 'reflecting'; got {boundary!r}.")
    return boundary


def check_walls(walls: str) -> str:
    """Return ``walls`` if it is one of :data:`WALL_RULES`, else raise.

    Examples
    --------
    >>> check_walls("redirect")
    'redirect'
    """
    if walls not in WALL_RULES:
        raise ValueError(f"`walls` must be 'reject' or 'redirect'; got {walls!r}.")
    return walls


def check_shape(shape: Sequence[int] | int) -> tuple[int, ...]:
    """Normalise a lattice shape: 1 to 3 extents, each an integer >= 2."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, np.ndarray)):
        raise TypeError(f"`shape` must be an int or a sequence of ints; got {shape!r}.")
    if any(isinstance(x, bool) or not isinstance(x, numbers.Integral) for x in shape):
        raise TypeError(f"`shape` must contain integers; got {tuple(shape)}.")
    dims = tuple(int(x) for x in shape)
    if not 1 <= len(dims) <= 3:
        raise ValueError(f"A lattice has 1, 2 or 3 dimensions; `shape` {dims} has {len(dims)}.")
    if min(dims) < 2:
        raise ValueError(f"Every lattice extent must be >= 2; got shape {dims}.")
    return dims


def neighbour_table(shape: Sequence[int] | int, boundary: str = "periodic") -> np.ndarray:
    """Nearest neighbours of every site.

    Parameters
    ----------
    shape : int or sequence of int
        Lattice shape, 1 to 3 extents >= 2.
    boundary : {"periodic", "reflecting"}

    Returns
    -------
    ndarray of int64, shape (n_sites, 2 * dim)
        Column ``2 * a`` is the neighbour one step up along axis ``a``, column
        ``2 * a + 1`` one step down; ``-1`` where a reflecting wall is.

    Examples
    --------
    >>> neighbour_table(4, "reflecting").tolist()
    [[1, -1], [2, 0], [3, 1], [-1, 2]]
    >>> neighbour_table((2, 3))[0].tolist()
    [3, 3, 1, 2]
    """
    dims = check_shape(shape)
    check_boundary(boundary)
    index = np.arange(int(np.prod(dims))).reshape(dims)
    columns = []
    for axis, extent in enumerate(dims):
        for step in (1, -1):
            shifted = np.roll(index, -step, axis=axis)
            if boundary == "reflecting":
                edge = [slice(None)] * len(dims)
                edge[axis] = extent - 1 if step == 1 else 0
                shifted[tuple(edge)] = -1
            columns.append(shifted.ravel())
    return np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.int64)


def bond_table(shape: Sequence[int] | int, boundary: str = "periodic") -> np.ndarray:
    """Each nearest-neighbour bond once: the up-neighbour of every site.

    Returns
    -------
    ndarray of int64, shape (n_sites, dim)
        Column ``a`` holds the neighbour one step up along axis ``a``, or ``-1``
        at a reflecting wall. Summing over sites and columns visits every bond
        exactly once.
    """
    return np.ascontiguousarray(neighbour_table(shape, boundary)[:, 0::2])


def random_state(
    shape: Sequence[int] | int,
    *,
    counts: Sequence[int] | None = None,
    densities: Sequence[float] | None = None,
    seed: SeedLike = None,
) -> np.ndarray:
    """A random initial lattice state.

    Give exactly one of ``counts`` or ``densities``; entry ``k`` is for the
    species with lattice code ``k + 1``.

    Parameters
    ----------
    shape : int or sequence of int
        Lattice shape.
    counts : sequence of int, optional
        Exact number of particles of each species, placed on distinct sites
        drawn uniformly without replacement.
    densities : sequence of float, optional
        Each site independently holds species ``k + 1`` with probability
        ``densities[k]`` (a Bernoulli / multinomial product state); the sum
        must not exceed 1.
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    ndarray of int8 with the given shape

    Examples
    --------
    >>> s = random_state((10, 10, 10), counts=[200, 200, 200], seed=1)
    >>> s.dtype, [int((s == k).sum()) for k in (1, 2, 3)]
    (dtype('int8'), [200, 200, 200])
    >>> float((random_state(100_000, densities=[0.5], seed=2) == 1).mean())
    0.49871
    """
    dims = check_shape(shape)
    n_sites = int(np.prod(dims))
    if (counts is None) == (densities is None):
        raise ValueError("Give exactly one of `counts` or `densities`.")
    rng = np.random.default_rng(as_seed_sequence(seed))
    state = np.zeros(n_sites, dtype=np.int8)
    if counts is not None:
        n = _check_vector("counts", counts)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError(f"`counts` must be non-negative integers; got {list(counts)}.")
        if n.sum() > n_sites:
            raise ValueError(f"`counts` sum to {int(n.sum())}, more than the {n_sites} sites.")
        sites = rng.permutation(n_sites)[: int(n.sum())]
        state[sites] = np.repeat(np.arange(1, n.size + 1), n.astype(np.int64))
    else:
        rho = _check_vector("densities", densities)
        if np.any(rho < 0) or rho.sum() > 1 + 1e-12:
            raise ValueError(
                f"`densities` must be >= 0 and sum to at most 1; got {list(densities)}."
            )
        cumulative = np.cumsum(rho)
        u = rng.random(n_sites)
        state[:] = np.searchsorted(cumulative, u, side="right") + 1
        state[u >= cumulative[-1]] = 0
    return state.reshape(dims)


def _check_vector(name: str, values: Sequence[float]) -> np.ndarray:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"`{name}` must be a sequence of numbers, one per species; got {values!r}.")
    raw = np.asarray(values)
    if raw.dtype.kind not in "iuf":  # bools, strings, objects: refused, never converted
        raise TypeError(
            f"`{name}` must hold numbers, one per species; got {np.ravel(raw).tolist()!r}."
        )
    arr = raw.astype(np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D sequence, one entry per species.")
    if arr.size > 127:
        raise ValueError(f"`{name}` has {arr.size} entries; at most 127 species fit in int8.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got {list(values)}.")
    return arr


def check_state(state: np.ndarray, n_species: int, *, name: str = "state") -> np.ndarray:
    """Validate a lattice state (or a stack of them) against ``n_species``.

    Returns a C-contiguous ``int8`` copy-free view when possible. Raises
    ``TypeError`` for a non-integer array and ``ValueError`` for codes outside
    ``0..n_species``.
    """
    arr = np.asarray(state)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"`{name}` must be an integer array of species codes (int8); got dtype {arr.dtype}."
        )
    if arr.size and (arr.min() < 0 or arr.max() > n_species):
        raise ValueError(
            f"`{name}` holds codes in [{arr.min()}, {arr.max()}]; allowed are 0 (empty) to "
            f"{n_species} (the network's species)."
        )
    return np.ascontiguousarray(arr, dtype=np.int8)

"""The Rössler oscillator of the paper's section IV B: moments of its RBM for learning.

The RBM of eq. (44) (:func:`dbmtools.rossler_rbm`) has visible sites in
``{empty, A, B, C}`` and hidden units in ``{empty, X, Y, Z}``; hidden unit
``j`` sees the 2 x 2 x 2 cube of visible sites above it (periodic), and only
``W_AX``, ``W_BY``, ``W_CZ`` couple the layers. ``theta`` is
``(b_A, b_B, b_C, W_AX, W_BY, W_CZ, b_X, b_Y, b_Z)``.

:class:`RosslerMoments` is the moment estimator Algorithm 1 needs at every
data time of a window (:func:`dbmtools.dynamics.train`): the awake phase on
simulated lattices and the asleep phase by ``cd_k`` alternating Gibbs steps
from a random visible configuration, hidden units entering as probabilities in
both, as the paper does. Because every coupling is "species times the number
of a partner species among 8 neighbours", each conditional is a lookup in a
table of ``exp(b + W n)``, n = 0..8, built once per data time: no ``exp`` in
the inner loop. Data times are independent and run in parallel.
"""

from __future__ import annotations

import numba
import numpy as np

from ._config import njit, pjit
from ._random import SeedLike, as_seed_sequence, rng_seed, rng_uniform
from .dynamics import window_inputs
from .lattice import check_shape
from .observables import counts, pair_counts
from .rbm import rossler_initial_params, rossler_rbm

__all__ = [
    "MOMENT_NAMES",
    "RosslerMoments",
    "lattice_moments",
    "maxent_biases",
    "neighbour_cubes",
    "sample_rossler",
]


MOMENT_NAMES = ("A", "B", "C", "BB", "CC", "AB")
"""Names of the columns of :func:`lattice_moments`: counts, then nearest-neighbour pairs."""


def lattice_moments(states: np.ndarray, *, boundary: str = "reflecting") -> np.ndarray:
    """Counts of A, B, C and nearest-neighbour pairs (B,B), (C,C), (A,B) of 3D lattices.

    The observables of the paper's Figs. 4 and 8 (:data:`MOMENT_NAMES`).

    Parameters
    ----------
    states : ndarray of int, shape (..., L0, L1, L2)
        Codes 0 (empty), 1-3 (A, B, C).
    boundary : {"reflecting", "periodic"}
        Which bonds count: ``"reflecting"`` only those inside the box (the
        simulations' walls), ``"periodic"`` also those that wrap.

    Returns
    -------
    ndarray of float, shape (..., 6)

    Examples
    --------
    >>> s = np.zeros((3, 3, 3), dtype=np.int8)
    >>> s[0, 0, :] = [1, 2, 2]          # A-B and B-B bonds along z
    >>> lattice_moments(s).tolist()
    [1.0, 2.0, 0.0, 1.0, 0.0, 1.0]
    """
    arr = np.asarray(states)
    if arr.ndim < 3:
        raise ValueError(f"`states` must end in 3 lattice axes; got shape {arr.shape}.")
    c = counts(arr, dim=3, n_species=3)
    p = pair_counts(arr, dim=3, n_species=3, boundary=boundary)
    return np.concatenate(
        [c, p[..., 1, 1, None], p[..., 2, 2, None], p[..., 0, 1, None]], axis=-1
    ).astype(np.float64)


def maxent_biases(mean_counts: np.ndarray, n_sites: int = 1000) -> np.ndarray:
    """The simple MaxEnt biases of eq. (46): ``b_s = ln(mu_s / (N - mu_A - mu_B - mu_C))``.

    The visible-only, weight-free Boltzmann distribution with these biases
    has the given mean counts.

    Examples
    --------
    >>> maxent_biases([200.0, 200.0, 200.0]).round(4).tolist()     # -ln 2 each
    [-0.6931, -0.6931, -0.6931]
    """
    mu = np.asarray(mean_counts, dtype=np.float64)
    empty = n_sites - mu.sum(axis=-1, keepdims=True)
    if mu.shape[-1:] != (3,) or np.any(mu <= 0) or np.any(empty <= 0):
        raise ValueError(
            "`mean_counts` must end in 3 positive counts whose sum is below `n_sites`; "
            f"got shape {mu.shape}."
        )
    return np.log(mu / empty)


def neighbour_cubes(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The 2 x 2 x 2 connectivity of the Rössler RBM as two (N, 8) tables.

    Returns
    -------
    hidden_to_visible : ndarray of int64, shape (N, 8)
        The visible sites of each hidden unit's cube.
    visible_to_hidden : ndarray of int64, shape (N, 8)
        The hidden units whose cubes hold each visible site.

    Examples
    --------
    >>> h2v, v2h = neighbour_cubes((3, 3, 3))
    >>> sorted(h2v[0].tolist())          # hidden unit (0, 0, 0) sees x, y, z in {0, 1}
    [0, 1, 3, 4, 9, 10, 12, 13]
    >>> sorted(v2h[0].tolist())          # site (0, 0, 0) is in the cubes of x, y, z in {0, 2}
    [0, 2, 6, 8, 18, 20, 24, 26]
    """
    model = rossler_rbm(shape)
    edges = model.edges  # rows (visible i, hidden j), 8 per unit
    n = model.n_visible
    by_hidden = edges[np.argsort(edges[:, 1], kind="stable")]
    by_visible = edges[np.argsort(edges[:, 0], kind="stable")]
    return (
        np.ascontiguousarray(by_hidden[:, 0].reshape(n, 8)),
        np.ascontiguousarray(by_visible[:, 1].reshape(n, 8)),
    )


def sample_rossler(
    theta: np.ndarray,
    *,
    shape: tuple[int, int, int] = (10, 10, 10),
    n_samples: int = 100,
    n_steps: int = 25,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Visible samples of the Rössler RBM (eq. 44) at each parameter set, and p(H | V).

    Each sample is ``n_steps`` alternating Gibbs steps ``H | V``, ``V | H``
    from a uniformly random visible configuration (the paper's Fig. 8: 100
    samples, 25 steps). Parameter sets run in parallel.

    Parameters
    ----------
    theta : array_like, shape (n_t, 9) or (9,)
        ``(b_A, b_B, b_C, W_AX, W_BY, W_CZ, b_X, b_Y, b_Z)`` per row.
    shape : tuple of 3 int
    n_samples, n_steps : int
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    visible : ndarray of int8, shape (n_t, n_samples, *shape)
        Codes 0 (empty), 1-3 (A, B, C).
    hidden_prob : ndarray, shape (n_t, n_samples, *shape, 4)
        ``p(h_j = empty, X, Y, Z | V)`` of every hidden unit ``j`` (unit
        ``(x, y, z)`` sees the cube of visible sites ``x..x+1, y..y+1, z..z+1``,
        periodic).

    Examples
    --------
    >>> from dbmtools.rbm import rossler_initial_params
    >>> v, ph = sample_rossler(rossler_initial_params(), n_samples=50, seed=0)
    >>> v.shape, ph.shape
    ((1, 50, 10, 10, 10), (1, 50, 10, 10, 10, 4))
    >>> counts = [(v == s).sum(axis=(2, 3, 4)).mean() for s in (1, 2, 3)]
    >>> bool(np.allclose(counts, 200, atol=8))      # eq. (46): 200 of each species
    True
    """
    th = np.array(theta, dtype=np.float64, ndmin=2)
    if th.ndim != 2 or th.shape[1] != 9 or not np.all(np.isfinite(th)):
        raise ValueError(f"`theta` must be finite with shape (n_t, 9); got {th.shape}.")
    shape = check_shape(shape)
    if len(shape) != 3:
        raise ValueError(f"`shape` must be a 3D lattice shape; got {shape}.")
    for name, value in (("n_samples", n_samples), ("n_steps", n_steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
    _check_overflow(th)
    h2v, v2h = neighbour_cubes(shape)
    rng = np.random.default_rng(as_seed_sequence(seed))
    seeds = rng.integers(0, 2**63, size=(th.shape[0], n_samples), dtype=np.int64)
    n = h2v.shape[0]
    visible = np.empty((th.shape[0], n_samples, n), dtype=np.int8)
    hidden_prob = np.empty((th.shape[0], n_samples, n, 4))
    _sample_kernel(th, int(n_steps), seeds, h2v, v2h, visible, hidden_prob)
    return visible.reshape(th.shape[0], n_samples, *shape), hidden_prob.reshape(
        th.shape[0], n_samples, *shape, 4
    )


def _check_overflow(th: np.ndarray) -> None:
    largest = np.abs(th[:, [0, 1, 2, 6, 7, 8]]).max() + 8 * np.abs(th[:, 3:6]).max()
    if largest > 700:
        raise ValueError(
            f"`theta`: |b| + 8 |W| reaches {largest:.3g}; exp() would overflow (limit 700)."
        )


class RosslerMoments:
    """Sampled moments of the Rössler RBM (eq. 44) for :func:`dbmtools.dynamics.train`.

    One training trajectory (all simulations start from the same initial
    condition): ``initial_theta`` has one row.

    Parameters
    ----------
    data : ndarray of int8, shape (n_sims, n_times, L0, L1, L2)
        Simulated lattices (an :class:`~dbmtools.Ensemble`'s ``states``).
    initial_theta : array_like, shape (9,), optional
        Defaults to :func:`dbmtools.rbm.rossler_initial_params` (eq. 46).
    n_samples : int
        Simulated lattices averaged for the awake phase at each data time, and
        chains for the asleep phase (the paper's batch: its text says 5, its
        code used 1).
    cd_k : int
        Alternating Gibbs steps ``H | V`` then ``V | H`` of the asleep phase.
    start : {"random", "data", "persistent"}
        Start of the asleep chains: a uniformly random visible configuration
        (the paper), the awake lattices (CD-k from data), or where the chains
        of the same data time stopped at the previous call (persistent CD,
        which the paper mentions as an alternative; the chains begin at the
        first ``n_samples`` simulations).

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state((4, 4, 4), counts=[12, 12, 12], seed=0)
    >>> ens = dbm.simulate_ensemble(np.stack([s0] * 3), dbm.rossler(), n_steps=4, dt=0.01,
    ...                             seed=1, progress=False)
    >>> problem = RosslerMoments(ens.states, n_samples=2, cd_k=3)
    >>> theta = np.tile(problem.initial_theta, (2, 1))
    >>> model, data = problem.moments(0, np.array([0, 4]), theta, seed=5)
    >>> model.shape, data[0, :3].tolist()
    ((2, 9), [12.0, 12.0, 12.0])
    """

    def __init__(
        self,
        data: np.ndarray,
        *,
        initial_theta: np.ndarray | None = None,
        n_samples: int = 1,
        cd_k: int = 10,
        start: str = "random",
    ) -> None:
        arr = np.asarray(data)
        if arr.ndim != 5 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                "`data` must be an integer array of shape (n_sims, n_times, L0, L1, L2); "
                f"got {arr.dtype} {arr.shape}."
            )
        shape = check_shape(arr.shape[2:])
        if arr.size and (arr.min() < 0 or arr.max() > 3):
            raise ValueError("`data` must hold species codes 0 (empty) to 3 (A, B, C).")
        theta0 = rossler_initial_params() if initial_theta is None else initial_theta
        th = np.array(theta0, dtype=np.float64).reshape(-1)
        if th.shape != (9,) or not np.all(np.isfinite(th)):
            raise ValueError(f"`initial_theta` must be 9 finite numbers; got {th.shape}.")
        for name, value in (("n_samples", n_samples), ("cd_k", cd_k)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
        if n_samples > arr.shape[0]:
            raise ValueError(f"`n_samples` must be at most n_sims={arr.shape[0]}; got {n_samples}.")
        if start not in ("random", "data", "persistent"):
            raise ValueError(
                f"`start` must be 'random', 'data' or 'persistent'; got {start!r}."
            )
        self.data = np.ascontiguousarray(arr.reshape(arr.shape[0], arr.shape[1], -1), np.int8)
        self.shape = shape
        self.initial_theta = th[None, :]
        self.n_times = arr.shape[1]
        self.n_samples, self.cd_k, self.start = int(n_samples), int(cd_k), start
        self._h2v, self._v2h = neighbour_cubes(shape)
        self._chains = (  # PCD chains, one set per data time
            np.ascontiguousarray(self.data[: self.n_samples].transpose(1, 0, 2))
            if start == "persistent"
            else None
        )

    def moments(
        self, i: int, time_indices: np.ndarray, theta: np.ndarray, seed: SeedLike = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(model, data)`` moments, each (n, 9) raw lattice sums, at ``time_indices``.

        The awake lattices are ``n_samples`` simulations drawn without
        replacement (the same ones at every time of the window).
        """
        if i != 0:
            raise ValueError(f"`i`: the Rössler problem has one trajectory (0); got {i}.")
        t_idx, th = window_inputs(time_indices, theta, self.n_times, 9)
        _check_overflow(th)
        rng = np.random.default_rng(as_seed_sequence(seed))
        pick = np.sort(rng.choice(self.data.shape[0], self.n_samples, replace=False))
        seeds = rng.integers(0, 2**63, size=(t_idx.size, self.n_samples), dtype=np.int64)
        awake = np.ascontiguousarray(self.data[pick][:, t_idx].transpose(1, 0, 2))
        chains = awake.copy() if self._chains is None else self._chains[t_idx]
        model = np.empty((t_idx.size, 9))
        data = np.empty((t_idx.size, 9))
        _window_moments(
            awake, th, self.cd_k, self.start == "random", seeds, self._h2v, self._v2h, data, model,
            chains,
        )
        if self._chains is not None:
            self._chains[t_idx] = chains
        return model, data


# --------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------


@pjit
def _window_moments(awake, theta, cd_k, random_start, seeds, h2v, v2h, out_data, out_model,
                    chains):
    """Awake and asleep moments at each data time of a window, times in parallel.

    ``awake`` (n_t, n_samples, N) int8 codes 0-3; ``theta`` (n_t, 9);
    ``seeds`` (n_t, n_samples); outputs (n_t, 9), means over the samples. The
    asleep chains start from ``chains`` (n_t, n_samples, N) unless
    ``random_start``, and end there.
    """
    n_t, n_s, n = awake.shape
    for t in numba.prange(n_t):
        tables = np.empty((6, 9))
        _fill_tables(theta[t], tables)
        h = np.empty(n, dtype=np.int8)
        rng = np.empty(4, dtype=np.uint64)
        acc = np.zeros(9)
        for c in range(n_s):
            _moments(awake[t, c], tables, h2v, acc)
        for k in range(9):
            out_data[t, k] = acc[k] / n_s
            acc[k] = 0.0
        for c in range(n_s):
            rng_seed(seeds[t, c], rng)
            _run_chain(chains[t, c], h, tables, h2v, v2h, cd_k, random_start, rng)
            _moments(chains[t, c], tables, h2v, acc)
        for k in range(9):
            out_model[t, k] = acc[k] / n_s


@njit
def _run_chain(v, h, tables, h2v, v2h, n_steps, random_start, rng):
    """``n_steps`` alternating Gibbs steps H | V, V | H on ``v`` (in place), from a uniformly
    random visible state if ``random_start``."""
    if random_start:
        for i in range(v.size):
            v[i] = int(rng_uniform(rng) * 4.0)
    for _ in range(n_steps):
        _sample_layer(v, h, tables, h2v, 3, rng)  # H | V
        _sample_layer(h, v, tables, v2h, 0, rng)  # V | H


@njit
def _fill_tables(theta, tables):
    """``tables[s, k] = exp(b_s + W_s k)``, k = 0..8 partners: s = 0..2 visible A, B, C
    (partners X, Y, Z), s = 3..5 hidden X, Y, Z (partners A, B, C)."""
    for s in range(3):
        for k in range(9):
            tables[s, k] = np.exp(theta[s] + theta[3 + s] * k)
            tables[3 + s, k] = np.exp(theta[6 + s] + theta[3 + s] * k)


@pjit
def _sample_kernel(theta, n_steps, seeds, h2v, v2h, visible, hidden_prob):
    """Gibbs chains from random visible states; ``visible`` (n_t, n_s, N), ``hidden_prob``
    (n_t, n_s, N, 4) filled."""
    n_t, n_s, n = visible.shape
    for t in numba.prange(n_t):
        tables = np.empty((6, 9))
        _fill_tables(theta[t], tables)
        h = np.empty(n, dtype=np.int8)
        rng = np.empty(4, dtype=np.uint64)
        for c in range(n_s):
            v = visible[t, c]
            rng_seed(seeds[t, c], rng)
            _run_chain(v, h, tables, h2v, v2h, n_steps, True, rng)
            for j in range(n):
                n1, n2, n3 = _partner_counts(v, h2v, j)
                w1, w2, w3 = tables[3, n1], tables[4, n2], tables[5, n3]
                z = 1.0 + w1 + w2 + w3
                hidden_prob[t, c, j, 0] = 1.0 / z
                hidden_prob[t, c, j, 1] = w1 / z
                hidden_prob[t, c, j, 2] = w2 / z
                hidden_prob[t, c, j, 3] = w3 / z


# species code -> increment of a packed counter with 4 bits per species (8 < 16)
_PACK = np.array([0, 1, 16, 256], dtype=np.int64)


@numba.njit(cache=True, inline="always")
def _partner_counts(layer, nbr, j):
    """Numbers of species 1, 2, 3 among unit ``j``'s 8 neighbours (branch-free)."""
    packed = 0
    for q in range(8):
        packed += _PACK[layer[nbr[j, q]]]
    return packed & 15, (packed >> 4) & 15, packed >> 8


@numba.njit(cache=True)
def _sample_layer(source, target, tables, nbr, offset, rng):
    """Sample every unit of ``target`` given ``source`` (the other layer).

    Unit ``j``'s neighbours in ``source`` are ``nbr[j]``; its weights for
    species 1..3 are ``tables[offset + s, n_s]`` and 1 for empty.
    """
    for j in range(target.size):
        n1, n2, n3 = _partner_counts(source, nbr, j)
        w1 = tables[offset, n1]
        w2 = tables[offset + 1, n2]
        w3 = tables[offset + 2, n3]
        u = rng_uniform(rng) * (1.0 + w1 + w2 + w3)
        if u < w1:
            target[j] = 1
        elif u < w1 + w2:
            target[j] = 2
        elif u < w1 + w2 + w3:
            target[j] = 3
        else:
            target[j] = 0


@numba.njit(cache=True)
def _moments(v, tables, h2v, acc):
    """Add the raw moments of visible state ``v`` (hidden units as probabilities) to ``acc``."""
    for i in range(v.size):
        if v[i] > 0:
            acc[v[i] - 1] += 1.0
    for j in range(h2v.shape[0]):
        n1, n2, n3 = _partner_counts(v, h2v, j)
        w1 = tables[3, n1]
        w2 = tables[4, n2]
        w3 = tables[5, n3]
        z = 1.0 + w1 + w2 + w3
        acc[3] += w1 / z * n1
        acc[4] += w2 / z * n2
        acc[5] += w3 / z * n3
        acc[6] += w1 / z
        acc[7] += w2 / z
        acc[8] += w3 / z

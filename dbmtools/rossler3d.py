"""The Rössler oscillator on a 3D lattice: the paper's section IV B experiment.

The reactions (the lost eq. 42) are the preset :func:`dbmtools.rossler`; the
model is the RBM of eq. (44) (:func:`dbmtools.rossler_rbm`), learned by
Algorithm 1 with :class:`dbmtools.estimators.RosslerMoments`. This module holds
what is particular to the experiment:

* :func:`lattice_moments`: the observables of Figs. 4 and 8, counts of A, B, C
  and the nearest-neighbour pairs (B,B), (C,C), (A,B) (:data:`MOMENT_NAMES`);
* :func:`maxent_biases`: the weight-free MaxEnt biases of eq. (46);
* :func:`sample_rossler`: Fig. 8's sampling of the learned RBM, with ``p(H | V)``;
* :func:`relative_rms_error`: the error measure of the model means against the
  simulation means.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_int
from ._random import SeedLike, as_seed_sequence, draw_seeds
from .estimators import _sample_kernel, check_rossler_theta, neighbour_cubes
from .lattice import check_shape
from .observables import counts, pair_counts

__all__ = [
    "MOMENT_NAMES",
    "lattice_moments",
    "maxent_biases",
    "relative_rms_error",
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


def sample_rossler(
    theta: np.ndarray,
    *,
    shape: tuple[int, int, int] = (10, 10, 10),
    n_chains: int = 100,
    n_sweeps: int = 25,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Visible samples of the Rössler RBM (eq. 44) at each parameter set, and p(H | V).

    Each sample is the end of its own chain of ``n_sweeps`` alternating Gibbs
    steps ``H | V``, ``V | H`` from a uniformly random visible configuration
    (the paper's Fig. 8: 100 samples, 25 steps). Parameter sets run in parallel.

    Parameters
    ----------
    theta : array_like, shape (n_t, 9) or (9,)
        ``(b_A, b_B, b_C, W_AX, W_BY, W_CZ, b_X, b_Y, b_Z)`` per row.
    shape : tuple of 3 int
    n_chains, n_sweeps : int
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    visible : ndarray of int8, shape (n_t, n_chains, *shape)
        Codes 0 (empty), 1-3 (A, B, C).
    hidden_prob : ndarray, shape (n_t, n_chains, *shape, 4)
        ``p(h_j = empty, X, Y, Z | V)`` of every hidden unit ``j`` (unit
        ``(x, y, z)`` sees the cube of visible sites ``x..x+1, y..y+1, z..z+1``,
        periodic).

    Examples
    --------
    >>> from dbmtools.rbm import rossler_initial_params
    >>> v, ph = sample_rossler(rossler_initial_params(), n_chains=50, seed=0)
    >>> v.shape, ph.shape
    ((1, 50, 10, 10, 10), (1, 50, 10, 10, 10, 4))
    >>> counts = [(v == s).sum(axis=(2, 3, 4)).mean() for s in (1, 2, 3)]
    >>> bool(np.allclose(counts, 200, atol=8))      # eq. (46): 200 of each species
    True
    """
    th = check_rossler_theta(theta)
    shape = check_shape(shape)
    if len(shape) != 3:
        raise ValueError(f"`shape` must be a 3D lattice shape; got {shape}.")
    n_chains = check_int("n_chains", n_chains, 1)
    n_sweeps = check_int("n_sweeps", n_sweeps, 1)
    h2v, v2h = neighbour_cubes(shape)
    rng = np.random.default_rng(as_seed_sequence(seed))
    seeds = draw_seeds(rng, (th.shape[0], n_chains))
    n = h2v.shape[0]
    visible = np.empty((th.shape[0], n_chains, n), dtype=np.int8)
    hidden_prob = np.empty((th.shape[0], n_chains, n, 4))
    _sample_kernel(th, n_sweeps, seeds, h2v, v2h, visible, hidden_prob)
    return visible.reshape(th.shape[0], n_chains, *shape), hidden_prob.reshape(
        th.shape[0], n_chains, *shape, 4
    )


def relative_rms_error(model_means: np.ndarray, data_means: np.ndarray) -> np.ndarray:
    """Relative RMS error of model means against data means, per column.

    ``sqrt(mean_t (model - data)^2) / mean_t |data|`` over the time axis 0:
    the error measure of notebook 06's table.

    Parameters
    ----------
    model_means, data_means : array_like, shape (n_times, n_moments)

    Returns
    -------
    ndarray, shape (n_moments,)

    Examples
    --------
    >>> relative_rms_error([[110.0, 2.0], [90.0, 2.0]], [[100.0, 1.0], [100.0, 3.0]]).tolist()
    [0.1, 0.5]
    """
    model = np.asarray(model_means, dtype=np.float64)
    data = np.asarray(data_means, dtype=np.float64)
    if model.shape != data.shape or model.ndim != 2 or model.shape[0] < 1:
        raise ValueError(
            "`model_means` and `data_means` must have the same shape (n_times, n_moments); "
            f"got {model.shape} and {data.shape}."
        )
    return np.sqrt(((model - data) ** 2).mean(0)) / np.abs(data).mean(0)

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
  simulation means;
* :func:`maxent_path` and :func:`fit_rhs_to_path`: a data-driven starting ``F``
  whose trajectory follows the MaxEnt biases of the ensemble means (issue 13);
* :func:`solve_pair_closure`: eq. (43) closed by given pair correlations (e.g. the
  learned model's own).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_int, check_nonnegative, check_positive
from ._random import SeedLike, as_seed_sequence, draw_seeds
from .estimators import _sample_kernel, check_rossler_theta, neighbour_cubes
from .lattice import check_shape
from .observables import counts, pair_counts

__all__ = [
    "MOMENT_NAMES",
    "fit_rhs_to_path",
    "lattice_moments",
    "maxent_biases",
    "maxent_path",
    "path_mismatch",
    "relative_rms_error",
    "sample_rossler",
    "solve_pair_closure",
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


def maxent_path(
    mean_counts: np.ndarray, initial_theta: np.ndarray | None = None, n_sites: int = 1000
) -> np.ndarray:
    """The parameter path of the weight-free MaxEnt model (eq. 46) through given mean counts.

    Row ``t`` is ``initial_theta`` with the biases replaced by
    :func:`maxent_biases` of ``mean_counts[t]`` and the weights set to 0, so the
    model's mean counts are exactly ``mean_counts[t]`` (its pairs are those of
    random mixing). A starting point for :func:`fit_rhs_to_path`.

    Parameters
    ----------
    mean_counts : array_like, shape (n_times, 3)
        Mean counts of A, B, C over time (e.g. of a simulated ensemble).
    initial_theta : array_like, shape (9,), optional
        Supplies the hidden biases; :func:`dbmtools.rbm.rossler_initial_params` by default.
    n_sites : int

    Returns
    -------
    ndarray, shape (n_times, 9)

    Examples
    --------
    >>> path = maxent_path([[200.0, 200.0, 200.0], [100.0, 300.0, 100.0]])
    >>> path.round(3).tolist()[1]
    [-1.609, -0.511, -1.609, 0.0, 0.0, 0.0, -1.946, -1.946, -1.946]
    """
    from .rbm import rossler_initial_params

    theta0 = rossler_initial_params() if initial_theta is None else initial_theta
    th = check_rossler_theta(theta0)
    if th.shape[0] != 1:
        raise ValueError(f"`initial_theta` must be one parameter set of 9; got {th.shape}.")
    b = maxent_biases(np.atleast_2d(mean_counts), n_sites)
    path = np.repeat(th, b.shape[0], axis=0)
    path[:, :3] = b
    path[:, 3:6] = 0.0
    return path


def fit_rhs_to_path(
    ode,
    path: np.ndarray,
    *,
    width: float = 0.03,
    relaxation_time: float = 0.1,
    n_copies: int = 20,
    ridge: float = 1e-6,
    seed: SeedLike = None,
) -> None:
    """Fit every ``F_k`` of a :class:`~dbmtools.ParameterODE` so its trajectory follows ``path``.

    Along the path, ``F`` is the finite-difference velocity ``d path / dt``
    (``numpy.gradient`` with the ODE's ``dt``). A fit on the path alone leaves
    the path unstable (a small error is never corrected), so the samples are
    ``n_copies`` points per time scattered around the path in the argument
    space (normal, standard deviation ``width``), where the target velocity is
    corrected back towards the path: ``F(x) = d path/dt - (x - path[args]) /
    relaxation_time`` in the argument components. Each ``F_k`` is then the
    least-squares Hermite fit (:meth:`dbmtools.HermiteGrid.fit` with ``ridge``)
    of those samples; ``ode`` is changed in place.

    Parameters
    ----------
    ode : ParameterODE
        Its domain must contain the path and the scattered points.
    path : array_like, shape (n_times, K)
        Parameters at data times ``0, dt, 2 dt, ...`` (e.g. :func:`maxent_path`).
    width : float
        Spread of the scattered points (0: the path alone).
    relaxation_time : float
        Time over which a deviation from the path decays (> 0).
    n_copies : int
        Scattered points per time.
    ridge : float
        Tikhonov weight of the fit (the cells the points never reach get ``F = 0``).
    seed : None, int, SeedSequence or Generator

    Examples
    --------
    A quarter circle; a start 0.05 off the path returns to it only with the
    scattered points (``width > 0``):

    >>> from dbmtools import ParameterODE, predict
    >>> t = np.arange(201) * 0.01
    >>> path = np.stack([np.cos(t), np.sin(t)], axis=1)
    >>> for width in (0.0, 0.03):
    ...     ode = ParameterODE(["x", "y"], ["x", "y"], [-1.5, -1.5], [1.5, 1.5], 0.25, dt=0.01)
    ...     fit_rhs_to_path(ode, path, width=width, seed=0)
    ...     end = predict(ode, path[0] + [0.05, 0.0], 200)[-1]
    ...     print(width, round(float(np.abs(end - path[-1]).max()), 2))
    0.0 0.31
    0.03 0.0
    """
    arr = np.asarray(path, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != ode.n_params or arr.shape[0] < 3:
        raise ValueError(f"`path` must have shape (n_times >= 3, {ode.n_params}); got {arr.shape}.")
    width = check_nonnegative("width", width)
    relaxation_time = check_positive("relaxation_time", relaxation_time)
    n_copies = check_int("n_copies", n_copies, 1)
    rng = np.random.default_rng(as_seed_sequence(seed))
    velocity = np.gradient(arr, ode.dt, axis=0)
    x = np.repeat(arr[:, ode.args], n_copies, axis=0)
    y = np.repeat(velocity, n_copies, axis=0)
    if width > 0:
        shift = rng.normal(0.0, width, x.shape)
        x += shift
        y[:, ode.args] -= shift / relaxation_time
    for k in range(ode.n_params):
        grid = ode.grid(k)
        grid.fit(x, y[:, k], ridge=ridge)
        ode.set_grid(k, grid)


def solve_pair_closure(
    network,
    counts0: np.ndarray,
    ratios: np.ndarray,
    *,
    dt: float,
    n_sites: int,
    n_bonds: int,
    dim: int = 3,
    n_substeps: int = 10,
) -> np.ndarray:
    """Integrate eq. (43) closed by given pair correlations ``g(t)``: the closure of a model.

    The pairs are ``Delta_ab = g_ab(t) * Delta^mixed_ab(mu)``: random mixing of the
    current counts (:func:`dbmtools.theory.random_mixing_pairs`) times the ratio
    ``g`` of a model's pair counts to the random mixing of its own counts
    (e.g. sampled from a learned Boltzmann machine at every data time; linearly
    interpolated between them). ``g = 1`` is the mean-field (Willamowski-Rössler)
    ODE. The counts ``mu`` are integrated by explicit Euler with ``n_substeps``
    substeps per ``dt``, and ``d mu / dt`` is :func:`dbmtools.theory.moment_rhs`.
    (Feeding a model's pair *counts* in directly, instead of its correlations,
    leaves eq. 43 open: the unimolecular growth of A then runs away.)

    Parameters
    ----------
    network : Network
    counts0 : array_like, shape (n_species,)
    ratios : array_like, shape (n_times, n_species, n_species)
        ``g(t)`` at times ``0, dt, ...``, laid out as :func:`dbmtools.pair_counts`.
    dt : float
        The simulator's timestep, also the spacing of ``ratios``.
    n_sites, n_bonds : int
        Of the lattice (the bonds inside the box with walls).
    dim, n_substeps : int

    Returns
    -------
    ndarray, shape (n_times, n_species)

    Examples
    --------
    >>> from dbmtools import annihilation
    >>> mu = solve_pair_closure(annihilation(0.01), [500.0], np.ones((101, 1, 1)), dt=0.01,
    ...                         n_sites=1000, n_bonds=1000, dim=1)
    >>> nu = 1 / (2 * 0.01)  # g = 1: the reaction-limited law rho0 / (1 + 4 nu p rho0 t)
    >>> round(float(mu[-1, 0])), round(500 / (1 + 4 * nu * 0.01 * 0.5 * 1.0))
    (250, 250)
    """
    from .theory import moment_rhs, random_mixing_pairs

    g = np.asarray(ratios, dtype=np.float64)
    mu = np.asarray(counts0, dtype=np.float64).copy()
    if g.ndim != 3 or g.shape[1:] != (mu.size, mu.size) or g.shape[0] < 1:
        raise ValueError(
            f"`ratios` must have shape (n_times, {mu.size}, {mu.size}); got {g.shape}."
        )
    n_substeps = check_int("n_substeps", n_substeps, 1)
    h = check_positive("dt", dt) / n_substeps
    out = np.empty((g.shape[0], mu.size))
    out[0] = mu
    for t in range(1, g.shape[0]):
        for j in range(n_substeps):
            w = j / n_substeps
            mixed = random_mixing_pairs(mu, n_sites=n_sites, n_bonds=n_bonds)
            mu = mu + h * moment_rhs(
                network, mu, ((1 - w) * g[t - 1] + w * g[t]) * mixed, dt=dt, dim=dim
            )
        out[t] = mu
    return out


def path_mismatch(
    problem,
    path: np.ndarray,
    starts: np.ndarray,
    window: int,
    *,
    n_repeats: int = 5,
    seed: SeedLike = None,
) -> np.ndarray:
    """The moment mismatch Algorithm 1 would report for a given parameter path, per window.

    For each window start ``tau`` the RMS of ``model - data`` moments from
    ``problem.moments`` at data times ``tau .. tau + window`` with the
    parameters ``path[tau .. tau + window]``, over ``n_repeats`` independent
    calls: what :func:`dbmtools.train` prints as its loss, for a model that
    follows ``path`` exactly. For :func:`maxent_path`, whose means are right, it
    is the noise floor of the training loss.

    Parameters
    ----------
    problem : MomentProblem
        With one trajectory (e.g. :class:`dbmtools.RosslerMoments`).
    path : array_like, shape (n_times, n_params)
    starts : array_like of int
        Window starts ``tau``.
    window : int
    n_repeats : int
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    ndarray, shape (len(starts),)

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state((4, 4, 4), counts=[12, 12, 12], seed=0)
    >>> ens = dbm.simulate_ensemble(np.stack([s0] * 3), dbm.rossler(), n_steps=4, dt=0.01,
    ...                             dim=3, seed=1, progress=False)
    >>> problem = dbm.RosslerMoments(ens.states, n_chains=2, cd_k=3)
    >>> mu = lattice_moments(ens.states).mean(0)[:, :3]
    >>> path_mismatch(problem, maxent_path(mu, n_sites=64), [0, 1], 3, seed=2).shape
    (2,)
    """
    th = np.asarray(path, dtype=np.float64)
    window = check_int("window", window, 1)
    n_repeats = check_int("n_repeats", n_repeats, 1)
    taus = np.asarray(starts, dtype=np.int64).reshape(-1)
    if th.ndim != 2 or taus.size == 0 or taus.min() < 0 or taus.max() + window >= th.shape[0]:
        raise ValueError(
            f"`path` must have shape (n_times, n_params) and every window "
            f"`starts + window` inside it; got {th.shape}, starts up to "
            f"{taus.max() if taus.size else None} and window {window}."
        )
    rng = np.random.default_rng(as_seed_sequence(seed))
    out = np.empty(taus.size)
    for k, tau in enumerate(taus):
        idx = np.arange(tau, tau + window + 1)
        sq = 0.0
        for _ in range(n_repeats):
            model, data = problem.moments(0, idx, th[idx], seed=rng)
            sq += float(np.mean((model - data) ** 2))
        out[k] = np.sqrt(sq / n_repeats)
    return out

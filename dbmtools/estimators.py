"""Moment estimators for Algorithm 1: what the trainer needs from data and model.

:func:`dbmtools.train` and :func:`dbmtools.dynamics.adjoint_gradient` are
model-agnostic: they ask a *moment problem* (the :class:`MomentProblem`
protocol) for the model moments ``mu~ = d ln Z / d theta`` (the asleep phase)
and the data moments ``mu`` (the awake phase) at the data times of a window,
given the parameters ``theta`` there. Every estimator here derives from
:class:`MomentEstimator` and is built the same way,
``Estimator(data, initial_theta, *, options)``:

* :class:`ExactMoments`: data moments given, model moments from a function
  (a transfer matrix, an enumeration);
* :class:`IsingMoments`: the fully visible 1D b/J/K chain of eq. (37);
* :class:`HiddenMoments`: the 1D hidden-layer model of eq. (39);
* :class:`RosslerMoments`: the Rössler RBM of eq. (44);
* :class:`FamilyMoments`: any :class:`~dbmtools.families.LatticeFamily` (the
  generic path; the three above are its fused fast paths for the paper's
  families, and are tested to agree with it within sampling error).

The sampled estimators run ``cd_k`` Gibbs sweeps of ``n_chains`` chains per
data time, started (``start``) from the data lattices (CD-k, the paper), from
random lattices, or where the same chains stopped at the previous call
(``"persistent"``, PCD). The chains live in the estimator's own buffers, never
in the caller's data. Sampling and moments for a whole window run in one fused
numba call: the 1D kernels are serial (thread start-up cost more than the
work at this size, measured: 40 and 94 ms a step through the general
samplers), the Rössler kernel runs the data times in parallel and draws every
conditional from a table of ``exp(b + W n)``, ``n = 0..8`` partners, built
once per data time.

Randomness: one xoshiro256** stream per (data time, chain), seeded from
integers the estimator draws from ``seed``, so results do not depend on threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numba
import numpy as np

from ._checks import check_choice, check_finite_array, check_int, check_occupancies
from ._config import njit, pjit
from ._random import SeedLike, as_seed_sequence, draw_seeds, rng_seed, rng_uniform
from .lattice import check_boundary, check_shape
from .rbm import hidden_model_1d, rossler_initial_params, rossler_rbm

__all__ = [
    "MomentProblem",
    "MomentEstimator",
    "ExactMoments",
    "IsingMoments",
    "HiddenMoments",
    "RosslerMoments",
    "FamilyMoments",
    "check_window",
    "neighbour_cubes",
]

#: Where the asleep chains start, and the code the kernels use for it.
STARTS = {"data": 0, "random": 1, "persistent": 2}


class MomentProblem(Protocol):
    """What :func:`dbmtools.dynamics.adjoint_gradient` and :func:`dbmtools.train` need.

    Attributes
    ----------
    initial_theta : ndarray, shape (n_traj, K)
        Initial condition of each training trajectory.
    n_times : int
        Data times ``0 .. n_times - 1`` (spacing ``ode.dt``).

    Methods
    -------
    moments(i, time_indices, theta, seed) -> (model_moments, data_moments)
        For trajectory ``i``, at the data times ``time_indices`` (int array,
        shape (n,)), where the model has parameters ``theta`` (n, K): the model
        moments ``mu~ = d ln Z / d theta`` and the data moments ``mu``, each
        shape (n, K) (raw lattice sums). May be estimates (sampling).
    """

    initial_theta: np.ndarray
    n_times: int

    def moments(
        self, i: int, time_indices: np.ndarray, theta: np.ndarray, seed: SeedLike
    ) -> tuple[np.ndarray, np.ndarray]: ...


def check_window(time_indices, theta, n_times: int, n_params: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(time_indices, theta)`` of a :meth:`MomentProblem.moments` call.

    Returns contiguous int64 data times (1-D, in ``[0, n_times)``) and float64
    parameters of shape ``(len(time_indices), n_params)``, all finite; raises
    ValueError naming the argument otherwise.

    Examples
    --------
    >>> t, th = check_window([0, 2], np.zeros((2, 3)), 5, 3)
    >>> t.tolist(), th.shape
    ([0, 2], (2, 3))
    """
    t_idx = np.ascontiguousarray(time_indices, dtype=np.int64)
    if t_idx.ndim != 1 or t_idx.size == 0 or t_idx.min() < 0 or t_idx.max() >= n_times:
        raise ValueError(
            f"`time_indices` must be a 1-D array of data times in [0, {n_times - 1}]; "
            f"got {time_indices!r}."
        )
    th = np.ascontiguousarray(theta, dtype=np.float64)
    if th.shape != (t_idx.size, n_params) or not np.all(np.isfinite(th)):
        raise ValueError(
            f"`theta` must be finite with shape ({t_idx.size}, {n_params}); got {th.shape}."
        )
    return t_idx, th


class MomentEstimator:
    """Base of the estimators: initial conditions, data times and the call checks.

    Subclasses set ``initial_theta`` (n_traj, K) and ``n_times`` through
    :meth:`_set_trajectories` and implement :meth:`moments`.

    Attributes
    ----------
    initial_theta : ndarray, shape (n_traj, K)
    n_times : int
    n_params : int
        ``K``.
    n_traj : int
    """

    initial_theta: np.ndarray
    n_times: int

    @property
    def n_params(self) -> int:
        """Number of parameters ``K``."""
        return self.initial_theta.shape[1]

    @property
    def n_traj(self) -> int:
        """Number of training trajectories."""
        return self.initial_theta.shape[0]

    def _set_trajectories(
        self, initial_theta, n_traj: int | None, n_params: int | None, n_times: int
    ) -> None:
        th = check_finite_array("initial_theta", initial_theta, ndim=2)
        want = (
            n_traj if n_traj is not None else th.shape[0],
            n_params if n_params is not None else th.shape[1],
        )
        if th.shape != want or th.shape[0] < 1:
            raise ValueError(
                f"`initial_theta` must be finite with shape (n_traj, K) = {want}; got {th.shape}."
            )
        self.initial_theta = th.copy()
        self.n_times = int(n_times)

    def _check_call(self, i, time_indices, theta) -> tuple[np.ndarray, np.ndarray]:
        check_int("i", i, 0, self.n_traj - 1)
        return check_window(time_indices, theta, self.n_times, self.n_params)

    def moments(
        self, i: int, time_indices: np.ndarray, theta: np.ndarray, seed: SeedLike = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(model, data)`` moments, each (n, K), of trajectory ``i`` at ``time_indices``."""
        raise NotImplementedError


class ExactMoments(MomentEstimator):
    """A problem with exact model moments from a function ``model_moments(theta) -> mu~``.

    Parameters
    ----------
    data_moments : array_like, shape (n_traj, n_times, K)
        Target moments ``mu`` at the data times (finite).
    initial_theta : array_like, shape (n_traj, K)
    model_moments : callable
        ``model_moments(theta)`` with ``theta`` of shape (n, K) returns ``mu~``
        of shape (n, K), e.g. a transfer matrix or an enumeration.

    Examples
    --------
    >>> # independent binary sites: ln Z = L sum_k ln(1 + e^theta_k), mu~ = L sigmoid(theta)
    >>> p = ExactMoments(np.full((1, 3, 2), 40.0), np.zeros((1, 2)),
    ...                  model_moments=lambda th: 100 / (1 + np.exp(-th)))
    >>> p.n_times, p.moments(0, np.array([0, 2]), np.zeros((2, 2)))[0].tolist()
    (3, [[50.0, 50.0], [50.0, 50.0]])
    """

    def __init__(self, data_moments, initial_theta, *, model_moments: Callable) -> None:
        th = check_finite_array("initial_theta", initial_theta, ndim=2)
        mu = check_finite_array("data_moments", data_moments, ndim=3)
        if mu.shape[0] != th.shape[0] or mu.shape[2] != th.shape[1]:
            raise ValueError(
                f"`data_moments` must have shape (n_traj, n_times, K) = ({th.shape[0]}, ., "
                f"{th.shape[1]}) to match `initial_theta`; got {mu.shape}."
            )
        self._set_trajectories(th, mu.shape[0], mu.shape[2], mu.shape[1])
        if not callable(model_moments):
            raise TypeError(f"`model_moments` must be callable; got {type(model_moments)}.")
        self.data_moments, self.model_moments = mu, model_moments

    def moments(self, i, time_indices, theta, seed=None):
        """Exact ``(model_moments(theta), data_moments[i, time_indices])``; ``seed`` is unused."""
        t_idx, th = self._check_call(i, time_indices, theta)
        model = np.asarray(self.model_moments(th), dtype=np.float64)
        if model.shape != th.shape:
            raise ValueError(f"`model_moments` must return shape {th.shape}; got {model.shape}.")
        if not np.all(np.isfinite(model)):
            raise FloatingPointError(
                "`model_moments` returned NaN or inf at theta = "
                f"{th[~np.all(np.isfinite(model), axis=1)][0].tolist()}."
            )
        return model, self.data_moments[i, t_idx]


class _SampledEstimator(MomentEstimator):
    """Options shared by the sampled estimators: chains, CD sweeps and where chains start."""

    def _set_sampling(self, n_chains, cd_k, start, n_lattices: int) -> None:
        self.start = check_choice("start", start, STARTS)
        self.cd_k = check_int("cd_k", cd_k, 1)
        self.n_chains = check_int("n_chains", n_chains, 1, n_lattices)


class _Chains1D(_SampledEstimator):
    """Data, batches and persistent chains of the 1D estimators (one species, 0/1 sites)."""

    def __init__(self, data, initial_theta, n_chains, cd_k, start):
        arr = check_occupancies("data", data, ndim=4, layout="(n_traj, n_lattices, n_times, L)")
        self._set_trajectories(initial_theta, arr.shape[0], 3, arr.shape[2])
        self._set_sampling(n_chains, cd_k, start, arr.shape[1])
        self.data = arr
        self.n_sites = arr.shape[3]
        self._v = np.empty(self.n_sites, dtype=np.int8)
        self._chains: dict[int, np.ndarray] = {}  # PCD chains per trajectory
        self._no_chains = np.zeros((1, 1, self.n_sites), dtype=np.int8)
        self._hid = np.empty(max(self.n_sites - 1, 1), dtype=np.int8)
        self._rng = np.empty(4, dtype=np.uint64)
        self._ptab = np.empty((3, 4))

    def _prepare(self, rng, i, time_indices, theta):
        """Batch of lattices, validated times and parameters, one seed per (time, chain)."""
        pick = np.sort(rng.choice(self.data.shape[1], self.n_chains, replace=False))
        t_idx, th = self._check_call(i, time_indices, theta)
        seeds = draw_seeds(rng, (t_idx.size, self.n_chains))
        return pick.astype(np.int64), t_idx, th, seeds

    def _chains_of(self, i: int) -> np.ndarray:
        """Persistent chains of trajectory ``i``, shape (n_times, n_chains, L): a copy of
        its first ``n_chains`` lattices, then carried on by every call (PCD)."""
        if self.start != "persistent":
            return self._no_chains
        if i not in self._chains:
            self._chains[i] = self.data[i, : self.n_chains].transpose(1, 0, 2).copy()
        return self._chains[i]


class IsingMoments(_Chains1D):
    """Sampled moments of the fully visible 1D model (37): ``theta = (b, J, K)``.

    Data moments are the mean raw sums ``(sum v_i, sum v_i v_{i+1}, sum v_i
    v_{i+1} v_{i+2})`` over a random batch of ``n_chains`` of the simulated
    lattices; model moments are those of ``n_chains`` chains after ``cd_k``
    heat-bath Gibbs sweeps at ``theta`` (the sweep of
    :func:`dbmtools.ising.sample`; from the batch's lattices by default, CD-k:
    the asleep phase of the paper, "a Gibbs sampler for a single step"). A
    whole window runs in one serial numba call, a few hundred microseconds for
    10 lattices of 1000 sites.

    Parameters
    ----------
    data : ndarray of int, shape (n_traj, n_lattices, n_times, L)
        Occupancies 0/1 of the simulated lattices (``Ensemble.states``
        regrouped by initial condition). Never written to.
    initial_theta : array_like, shape (n_traj, 3)
    n_chains : int
        Lattices per estimate and chains of the asleep phase (the paper's batch of 10).
    cd_k : int
        Gibbs sweeps per estimate.
    start : {"data", "random", "persistent"}
        Where the asleep chains start: the batch's data lattices (CD-k, the
        paper), fair coin flips (CD-k from a random start), or where the same
        chain ended at that data time in the previous call (PCD, Tieleman 2008;
        one chain per batch slot and data time, first copied from the data).
    boundary : {"reflecting", "periodic"}
        Of the moments and the sampler (eq. 37: reflecting).

    Examples
    --------
    >>> data = np.zeros((1, 4, 3, 30), dtype=np.int8)       # empty lattices
    >>> p = IsingMoments(data, np.zeros((1, 3)), n_chains=2)
    >>> model, mu = p.moments(0, np.array([0, 2]), np.zeros((2, 3)), seed=0)
    >>> model.shape, mu.tolist()
    ((2, 3), [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    """

    def __init__(
        self,
        data,
        initial_theta,
        *,
        n_chains: int = 10,
        cd_k: int = 1,
        start: str = "data",
        boundary: str = "reflecting",
    ) -> None:
        from .ising import moments as ising_moments

        super().__init__(data, initial_theta, n_chains, cd_k, start)
        self.boundary = check_boundary(boundary)
        # sufficient statistics of every data lattice, computed once
        self._data_mu = ising_moments(self.data, boundary=boundary).astype(np.float64)

    def moments(self, i, time_indices, theta, seed=None):
        """``(model, data)`` moments, each (n, 3), for trajectory ``i`` (see the class)."""
        rng = np.random.default_rng(as_seed_sequence(seed))
        pick, t_idx, th, seeds = self._prepare(rng, i, time_indices, theta)
        data = self._data_mu[i][pick][:, t_idx].mean(axis=0)
        model = np.empty((t_idx.size, 3))
        _ising_cd_moments(
            self.data[i],
            pick,
            t_idx,
            th,
            self.cd_k,
            self.boundary == "periodic",
            seeds,
            self._v,
            self._rng,
            self._ptab,
            model,
            STARTS[self.start],
            self._chains_of(i),
        )
        return model, data


class HiddenMoments(_Chains1D):
    """Sampled moments of the 1D hidden-layer model (39): ``theta = (b, W, b')``.

    Awake: moments of a batch of ``n_chains`` simulated lattices with the
    hidden units as probabilities (as :func:`dbmtools.rbm.moments`). Asleep:
    ``n_chains`` chains after ``cd_k`` block-Gibbs sweeps ``V -> H -> V`` (as
    :func:`dbmtools.rbm.gibbs`), again with hidden probabilities. One serial
    numba call per window. Open boundaries, ``L - 1`` hidden units
    (:func:`dbmtools.hidden_model_1d`).

    Parameters
    ----------
    data : ndarray of int, shape (n_traj, n_lattices, n_times, L)
    initial_theta : array_like, shape (n_traj, 3)
        ``(b, W, b')`` at t = 0 for each trajectory (e.g. from
        :func:`dbmtools.annihilation1d.fit_hidden_initial`).
    n_chains, cd_k, start
        As in :class:`IsingMoments` (the awake phase always uses the data).

    Examples
    --------
    >>> data = np.ones((1, 4, 3, 30), dtype=np.int8)        # full lattices
    >>> p = HiddenMoments(data, np.zeros((1, 3)), n_chains=2)
    >>> model, mu = p.moments(0, np.array([1]), np.zeros((1, 3)), seed=0)
    >>> mu.tolist()                 # 30 particles; 29 hidden units at p = 1/2, each seeing 2
    [[30.0, 29.0, 14.5]]
    """

    def __init__(
        self, data, initial_theta, *, n_chains: int = 10, cd_k: int = 1, start: str = "data"
    ) -> None:
        super().__init__(data, initial_theta, n_chains, cd_k, start)
        self.model = hidden_model_1d(self.n_sites)

    def moments(self, i, time_indices, theta, seed=None):
        """``(model, data)`` moments, each (n, 3), for trajectory ``i`` (see the class)."""
        rng = np.random.default_rng(as_seed_sequence(seed))
        pick, t_idx, th, seeds = self._prepare(rng, i, time_indices, theta)
        model = np.empty((t_idx.size, 3))
        data = np.empty((t_idx.size, 3))
        _hidden_cd_moments(
            self.data[i],
            pick,
            t_idx,
            th,
            self.cd_k,
            seeds,
            self._v,
            self._hid,
            self._rng,
            self._ptab,
            data,
            model,
            STARTS[self.start],
            self._chains_of(i),
        )
        return model, data


def neighbour_cubes(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The 2 x 2 x 2 connectivity of the Rössler RBM (eq. 44) as two (N, 8) tables.

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


def check_rossler_theta(theta) -> np.ndarray:
    """``theta`` as a finite float64 array (n, 9) whose Boltzmann factors cannot overflow.

    Examples
    --------
    >>> check_rossler_theta(rossler_initial_params()).shape
    (1, 9)
    """
    th = np.array(theta, dtype=np.float64, ndmin=2)
    if th.ndim != 2 or th.shape[1] != 9 or not np.all(np.isfinite(th)):
        raise ValueError(f"`theta` must be finite with shape (n_t, 9); got {th.shape}.")
    largest = np.abs(th[:, [0, 1, 2, 6, 7, 8]]).max() + 8 * np.abs(th[:, 3:6]).max()
    if largest > 700:
        raise ValueError(
            f"`theta`: |b| + 8 |W| reaches {largest:.3g}; exp() would overflow (limit 700)."
        )
    return th


class RosslerMoments(_SampledEstimator):
    """Sampled moments of the Rössler RBM (eq. 44) for :func:`dbmtools.train`.

    One training trajectory (all simulations start from the same initial
    condition): ``initial_theta`` has one row. The RBM (:func:`dbmtools.rossler_rbm`)
    has visible sites in ``{empty, A, B, C}`` and hidden units in ``{empty, X,
    Y, Z}``; hidden unit ``j`` sees the 2 x 2 x 2 cube of visible sites above it
    (periodic), and only ``W_AX``, ``W_BY``, ``W_CZ`` couple the layers:
    ``theta = (b_A, b_B, b_C, W_AX, W_BY, W_CZ, b_X, b_Y, b_Z)``. The awake phase
    uses simulated lattices, the asleep phase ``cd_k`` alternating Gibbs steps,
    hidden units entering as probabilities in both, as the paper does; data
    times run in parallel.

    Parameters
    ----------
    data : ndarray of int8, shape (n_sims, n_times, L0, L1, L2)
        Simulated lattices (an :class:`~dbmtools.Ensemble`'s ``states``). Never written to.
    initial_theta : array_like, shape (9,), optional
        Defaults to :func:`dbmtools.rbm.rossler_initial_params` (eq. 46).
    n_chains : int
        Simulated lattices averaged for the awake phase at each data time, and
        chains for the asleep phase (the paper's batch: its text says 5, its
        code used 1).
    cd_k : int
        Alternating Gibbs steps ``H | V`` then ``V | H`` of the asleep phase.
    start : {"random", "data", "persistent"}
        Start of the asleep chains: a uniformly random visible configuration
        (the paper), the awake lattices (CD-k from data), or where the chains
        of the same data time stopped at the previous call (persistent CD,
        which the paper mentions as an alternative; the chains begin as copies
        of the first ``n_chains`` simulations).

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state((4, 4, 4), counts=[12, 12, 12], seed=0)
    >>> ens = dbm.simulate_ensemble(np.stack([s0] * 3), dbm.rossler(), n_steps=4, dt=0.01,
    ...                             dim=3, seed=1, progress=False)
    >>> problem = RosslerMoments(ens.states, n_chains=2, cd_k=3)
    >>> theta = np.tile(problem.initial_theta, (2, 1))
    >>> model, data = problem.moments(0, np.array([0, 4]), theta, seed=5)
    >>> model.shape, data[0, :3].tolist()
    ((2, 9), [12.0, 12.0, 12.0])
    """

    def __init__(
        self,
        data: np.ndarray,
        initial_theta: np.ndarray | None = None,
        *,
        n_chains: int = 1,
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
        if th.shape != (9,):
            raise ValueError(f"`initial_theta` must be 9 finite numbers; got {th.shape}.")
        self._set_trajectories(th[None, :], 1, 9, arr.shape[1])
        self._set_sampling(n_chains, cd_k, start, arr.shape[0])
        self.data = np.ascontiguousarray(arr.reshape(arr.shape[0], arr.shape[1], -1), np.int8)
        self.shape = shape
        self._h2v, self._v2h = neighbour_cubes(shape)
        self._chains = (  # PCD chains, one set per data time: a copy, never the data
            self.data[: self.n_chains].transpose(1, 0, 2).copy() if start == "persistent" else None
        )

    def moments(self, i, time_indices, theta, seed=None):
        """``(model, data)`` moments, each (n, 9) raw lattice sums, at ``time_indices``.

        The awake lattices are ``n_chains`` simulations drawn without
        replacement (the same ones at every time of the window).
        """
        if i != 0:
            raise ValueError(f"`i`: the Rössler problem has one trajectory (0); got {i}.")
        t_idx, th = self._check_call(i, time_indices, theta)
        check_rossler_theta(th)
        rng = np.random.default_rng(as_seed_sequence(seed))
        pick = np.sort(rng.choice(self.data.shape[0], self.n_chains, replace=False))
        seeds = draw_seeds(rng, (t_idx.size, self.n_chains))
        awake = np.ascontiguousarray(self.data[pick][:, t_idx].transpose(1, 0, 2))
        chains = awake.copy() if self._chains is None else self._chains[t_idx]
        model = np.empty((t_idx.size, 9))
        data = np.empty((t_idx.size, 9))
        _window_moments(
            awake,
            th,
            self.cd_k,
            self.start == "random",
            seeds,
            self._h2v,
            self._v2h,
            data,
            model,
            chains,
        )
        if self._chains is not None:
            self._chains[t_idx] = chains
        return model, data


class FamilyMoments(_SampledEstimator):
    """Moments of any lattice family for Algorithm 1: the generic estimator.

    Data moments are the family's statistics
    (:meth:`~dbmtools.families.LatticeFamily.statistics`) averaged over a random
    batch of ``n_chains`` of a trajectory's lattices (the same lattices at every
    time of a window); model moments are exact (``exact=True``, for a family
    that has them) or the statistics of ``n_chains`` chains after ``cd_k`` Gibbs
    sweeps at ``theta`` (:meth:`~dbmtools.families.LatticeFamily.sample`),
    started from the batch's lattices (CD-k), from random lattices, or where the
    same chains stopped at the previous call (PCD). For a family with hidden
    units both phases use ``p(h | v)`` at ``theta``, as the paper does.

    Parameters
    ----------
    family : LatticeFamily
    data : ndarray of int, shape ``(n_traj, n_lattices, n_times, *shape)``, or a sequence of
        Ensemble / MomentEnsemble (one per trajectory, the same number of
        samples and times each). A MomentEnsemble gives statistics only: its
        model moments must be exact or start from random lattices.
    initial_theta : array_like, shape (n_traj, K)
    n_chains : int
        Lattices per estimate and chains of the asleep phase.
    cd_k : int
        Gibbs sweeps per estimate.
    start : {"data", "random", "persistent"}
    exact : bool, optional
        Exact model moments; by default when the family has them.

    Examples
    --------
    >>> from dbmtools.families import ChainFamily
    >>> data = np.zeros((1, 4, 3, 30), dtype=np.int8)       # empty lattices
    >>> p = FamilyMoments(ChainFamily(30), data, np.zeros((1, 3)), n_chains=2)
    >>> model, mu = p.moments(0, np.array([0, 2]), np.zeros((2, 3)), seed=0)
    >>> model.round(3).tolist()[0], mu.tolist()[0]              # exact: fair coins
    ([15.0, 7.25, 3.5], [0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        family,
        data,
        initial_theta,
        *,
        n_chains: int = 10,
        cd_k: int = 1,
        start: str = "data",
        exact: bool | None = None,
    ) -> None:
        from .families import check_family

        self.family = fam = check_family(family)
        self.exact = fam.exact if exact is None else bool(exact)
        if self.exact and not fam.exact:
            raise ValueError(f"`exact`: {type(fam).__name__} has no exact moments here.")
        self.states, self._stats = _family_data(fam, data)
        n_traj, n_lat, n_times = self._stats.shape[:3] if self.states is None else (
            self.states.shape[:3]
        )  # fmt: skip
        self._set_trajectories(initial_theta, n_traj, fam.n_params, n_times)
        self._set_sampling(n_chains, cd_k, start, n_lat)
        if self.states is None and not self.exact and self.start == "data":
            raise ValueError(
                "`start='data'` needs the lattices: these data are recorded moments "
                "(a MomentEnsemble); use start='random' or 'persistent', or exact moments."
            )
        self._chains: dict[int, np.ndarray] = {}

    def moments(self, i, time_indices, theta, seed=None):
        """``(model, data)`` moments, each (n, K), for trajectory ``i`` (see the class)."""
        fam = self.family
        rng = np.random.default_rng(as_seed_sequence(seed))
        n_lat = (self._stats if self.states is None else self.states).shape[1]
        pick = np.sort(rng.choice(n_lat, self.n_chains, replace=False))
        t_idx, th = self._check_call(i, time_indices, theta)
        th = fam.check_theta(th)[0]
        if self._stats is not None:
            data = self._stats[i][pick][:, t_idx].mean(axis=0)
        else:
            batch = self.states[i][pick][:, t_idx]  # (n_chains, n, *shape)
            data = np.stack(
                [fam._statistics(batch[:, n], th[n]).mean(0) for n in range(t_idx.size)]
            )
        if self.exact:
            return fam._exact_moments(th), data
        if self.start == "data":
            init = np.ascontiguousarray(np.swapaxes(self.states[i][pick][:, t_idx], 0, 1))
        elif self.start == "persistent":
            init = self._persistent(i)[t_idx]
        else:
            init = None
        seeds = draw_seeds(rng, (t_idx.size, self.n_chains))
        chains = fam._sample(th, init, self.n_chains, self.cd_k, seeds)
        if self.start == "persistent":
            self._chains[i][t_idx] = chains
        model = np.stack(
            [
                fam._statistics(chains[n], None if fam.visible else th[n]).mean(0)
                for n in range(t_idx.size)
            ]
        )
        return model, data

    def _persistent(self, i: int) -> np.ndarray:
        """Persistent chains of trajectory ``i``, ``(n_times, n_chains, *shape)``: first a copy of
        its first ``n_chains`` lattices (uniformly random lattices for recorded moments)."""
        if i not in self._chains:
            fam = self.family
            if self.states is not None:
                first = self.states[i, : self.n_chains]
                self._chains[i] = np.ascontiguousarray(np.swapaxes(first, 0, 1))
            else:
                rng = np.random.default_rng(i)
                self._chains[i] = rng.integers(
                    0, fam.n_species + 1, (self.n_times, self.n_chains, *fam.shape), np.int8
                )
        return self._chains[i]


def _family_data(fam, data):
    """``(states, statistics)``: lattices ``(n_traj, n_lat, n_times, *shape)`` int8 (None for
    recorded moments) and, for a visible family, their statistics (n_traj, n_lat, n_times, K)."""
    from .trajectory import Ensemble, MomentEnsemble

    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("`data` must hold at least one trajectory's ensemble.")
        if all(isinstance(d, Ensemble) for d in data):
            for d in data:
                fam._check_simulation(d)
            sizes = {d.states.shape[:2] for d in data}
            if len(sizes) != 1:
                raise ValueError(
                    f"Every ensemble in `data` must have the same (n_samples, n_times); got "
                    f"{sorted(sizes)}."
                )
            data = np.stack([d.states for d in data])
        elif all(isinstance(d, MomentEnsemble) for d in data):
            stats = [fam.statistics(d) for d in data]
            if len({s.shape for s in stats}) != 1:
                raise ValueError("Every ensemble in `data` must have the same samples and times.")
            return None, np.ascontiguousarray(np.stack(stats))
        else:
            raise TypeError(
                "`data` must be an array of lattices or a list of Ensembles (or of "
                f"MomentEnsembles); got {[type(d).__name__ for d in data]}."
            )
    arr = np.asarray(data)
    if arr.ndim != 3 + fam.dim or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            "`data` must be integer lattices of shape (n_traj, n_lattices, n_times, "
            f"*{fam.shape}); got {arr.dtype} {arr.shape}."
        )
    flat, _ = fam.check_states(arr, "data")
    states = flat.reshape(arr.shape)
    if not fam.visible:
        return states, None
    stats = fam._statistics(flat, None).reshape(*arr.shape[:3], fam.n_params)
    return states, np.ascontiguousarray(stats)


# --------------------------------------------------------------------------
# numba kernels: the 1D models (serial, one window per call)
# --------------------------------------------------------------------------


@njit
def _ising_cd_moments(
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
def _hidden_cd_moments(
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
    :func:`_ising_cd_moments` (the awake phase always uses the data).
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


# --------------------------------------------------------------------------
# numba kernels: the Rössler RBM (table-driven; data times in parallel)
# --------------------------------------------------------------------------


@pjit
def _window_moments(awake, theta, cd_k, random_start, seeds, h2v, v2h, out_data, out_model, chains):
    """Awake and asleep moments at each data time of a window, times in parallel.

    ``awake`` (n_t, n_chains, N) int8 codes 0-3; ``theta`` (n_t, 9);
    ``seeds`` (n_t, n_chains); outputs (n_t, 9), means over the chains. The
    asleep chains start from ``chains`` (n_t, n_chains, N) unless
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


@njit(inline="always")
def _partner_counts(layer, nbr, j):
    """Numbers of species 1, 2, 3 among unit ``j``'s 8 neighbours (branch-free)."""
    packed = 0
    for q in range(8):
        packed += _PACK[layer[nbr[j, q]]]
    return packed & 15, (packed >> 4) & 15, packed >> 8


@njit
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


@njit
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

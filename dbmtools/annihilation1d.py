"""The 1D A + A -> 0 experiment of the paper's section IV A: data, learning, evaluation.

* :func:`annihilation_data`: training (or test) data, REFERENCE_NOTES section 2:
  lattices drawn from eq. (37) and simulated (:class:`AnnihilationData`).
* :func:`fit_hidden_initial`: static Boltzmann-machine learning of the hidden
  model's ``(b, W, b')`` at t = 0 for each condition.
* :func:`learn_closures`: Algorithm 1 for both models (:class:`ClosureRun`);
  :func:`closure_moments`: their moments on a test set;
  :func:`small_closure_run`: a small, fast run for sliders (:class:`SmallRun`).
* :func:`hierarchy_moments`: the simulated moments of the first two lines of (36).

The classical closures the learned ones are compared with (mean field, the pair
approximation) and the error measure :func:`dbmtools.theory.closure_rmse` are in
:mod:`dbmtools.theory`; the figures in :mod:`dbmtools.plotting`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import ising
from ._checks import check_choice, check_finite_array, check_int, check_occupancies
from ._config import show_progress
from ._io import json_ready, load_npz, save_npz
from ._optim import OPTIMIZERS, Adam
from ._random import SeedLike, as_seed_sequence, draw_seeds
from .closures import (
    JumpClosure,
    fit_flow,
    fit_jump,
    flow_samples,
    integrate_rhs,
    interpolate_flow,
    maxent_closure_rhs,
    maxent_theta,
    maxent_trajectories,
    project_nonneg_coupling,
)
from .dynamics import ParameterODE, TrainResult, train, visited_cells
from .estimators import HiddenMoments, IsingMoments, _hidden_cd_moments
from .ising import exact_chain_moments
from .observables import chain_moments
from .rbm import hidden_chain_moments
from .reactions import annihilation
from .simulate import simulate_ensemble

__all__ = [
    "AnnihilationData",
    "ClosureRun",
    "DataClosureRun",
    "SmallRun",
    "annihilation_data",
    "closure_initial_theta",
    "closure_moments",
    "data_closure_moments",
    "learn_data_closure",
    "maxent_closure_moments",
    "fit_hidden_initial",
    "hierarchy_moments",
    "learn_closures",
    "small_closure_run",
]


@dataclass
class AnnihilationData:
    """Simulated lattices of 1D ``A + A -> 0`` started from Boltzmann distributions (37).

    Attributes
    ----------
    initial_theta : ndarray, shape (n_conditions, 3)
        ``(b, J, K)`` of each initial distribution.
    states : ndarray of int8, shape (n_conditions, n_lattices, n_times, L)
        Occupancies at the data times ``0, dt, ..., n_steps dt``.
    meta : dict
        Settings (JSON-ready): dt, prob, boundary, seed, ...
    """

    initial_theta: np.ndarray
    states: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        th = check_finite_array("initial_theta", self.initial_theta, ndim=2)
        st = check_occupancies(
            "states", self.states, ndim=4, layout="(n_conditions, n_lattices, n_times, L)"
        )
        if th.shape != (st.shape[0], 3):
            raise ValueError(
                f"`initial_theta` must have shape (n_conditions, 3) = ({st.shape[0]}, 3); got "
                f"{th.shape}."
            )
        self.initial_theta = th
        self.states = st
        self.meta = json_ready(self.meta)

    @property
    def n_times(self) -> int:
        """Number of data times."""
        return self.states.shape[2]

    def chain_moments(self, max_order: int = 4) -> np.ndarray:
        """Mean raw chain moments over the lattices, shape (n_conditions, n_times, max_order)."""
        return chain_moments(self.states, max_order=max_order, boundary="reflecting").mean(1)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``path`` (exactly that name), atomically, as ``Trajectory.save`` does."""
        save_npz(
            path,
            type(self).__name__,
            {"initial_theta": self.initial_theta, "states": self.states},
            self.meta,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> AnnihilationData:
        """Read a file written by :meth:`save`, checked as on construction."""
        arrays, meta = load_npz(path, cls.__name__, ["initial_theta", "states"])
        try:
            return cls(arrays["initial_theta"], arrays["states"], meta)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{os.fspath(path)!r} holds an invalid {cls.__name__}: {err}") from err


def annihilation_data(
    n_conditions: int = 50,
    *,
    n_lattices: int = 50,
    n_sites: int = 1000,
    n_steps: int = 200,
    dt: float = 0.01,
    prob: float = 0.01,
    theta_range: float = 1.0,
    n_sweeps: int = 50,
    hop_prob: float = 1.0,
    seed: SeedLike = None,
    progress: bool = True,
) -> AnnihilationData:
    """Data of section IV A: initial ``(b, J, K)`` uniform in ``[-r, r]^3``, lattices, simulations.

    For each condition, ``n_lattices`` lattices of ``n_sites`` sites are drawn
    from eq. (37) (open chain) by ``n_sweeps`` Gibbs sweeps
    (:func:`dbmtools.ising.sample`) and simulated for ``n_steps`` steps of
    ``dt`` with ``A + A -> 0`` at probability ``prob`` per collision and
    reflecting boundaries (:func:`dbmtools.simulate_ensemble`), each particle
    attempting a hop with probability ``hop_prob`` per step. The paper's
    settings are the defaults (REFERENCE_NOTES section 2).

    Examples
    --------
    >>> d = annihilation_data(2, n_lattices=3, n_sites=50, n_steps=4, seed=0, progress=False)
    >>> d.initial_theta.shape, d.states.shape
    ((2, 3), (2, 3, 5, 50))
    """
    ss = as_seed_sequence(seed)
    s_theta, s_init, s_sim = ss.spawn(3)
    rng = np.random.default_rng(s_theta)
    th0 = rng.uniform(-theta_range, theta_range, size=(int(n_conditions), 3))
    init = np.stack(
        [
            ising.sample(
                *th0[i],
                n_sites=n_sites,
                n_chains=n_lattices,
                n_sweeps=n_sweeps,
                boundary="reflecting",
                seed=c,
            )
            for i, c in enumerate(s_init.spawn(int(n_conditions)))
        ]
    )
    ens = simulate_ensemble(
        init.reshape(-1, n_sites),
        annihilation(prob),
        n_steps=n_steps,
        dt=dt,
        dim=1,
        boundary="reflecting",
        hop_prob=hop_prob,
        seed=s_sim,
        progress=progress,
    )
    states = ens.states.reshape(int(n_conditions), n_lattices, n_steps + 1, n_sites)
    meta = {
        "dt": float(dt),
        "prob": float(prob),
        "boundary": "reflecting",
        "n_sweeps": int(n_sweeps),
        "theta_range": float(theta_range),
        "hop_prob": float(hop_prob),
        "seed": int(ss.entropy) if isinstance(ss.entropy, int) else None,
    }
    return AnnihilationData(th0, states, meta)


def fit_hidden_initial(
    states: np.ndarray,
    *,
    n_iter: int = 400,
    lr: float = 0.05,
    cd_k: int = 1,
    batch_size: int | None = None,
    n_average: int = 100,
    optimizer: str = "adam",
    initial_theta=(0.0, 0.0, 0.0),
    seed: SeedLike = None,
    progress: bool = True,
) -> np.ndarray:
    """Static BM learning of ``(b, W, b')`` of the hidden model (39) for each condition.

    Adam ascent of the log-likelihood per site with the CD-k gradient
    ``(awake - asleep) / L`` (hidden units as probabilities) on a random batch
    of ``batch_size`` lattices of the condition per iteration, Polyak-averaged
    over the last ``n_average`` iterations: what :func:`dbmtools.rbm.fit` does
    (with the same optimiser step), on the fused serial kernel of
    :class:`dbmtools.estimators.HiddenMoments` instead of the general parallel
    sampler, so 50 conditions take seconds, not minutes.

    Parameters
    ----------
    states : ndarray of int, shape (n_conditions, n_lattices, L)
        Lattices at t = 0.
    n_iter, lr, cd_k, optimizer
        Iterations, learning rate, Gibbs sweeps per iteration, ``"adam"`` or ``"sgd"``.
    batch_size : int, optional
        Lattices per iteration: 10 by default (all of them if a condition has
        fewer); at most ``n_lattices``.
    n_average : int
        Iterates averaged into the result (at most ``n_iter``).
    initial_theta : sequence of 3 float
        Start of every fit.
    seed, progress
        Random seed and progress bar.

    Returns
    -------
    ndarray, shape (n_conditions, 3)

    Notes
    -----
    The visible marginal of (39) is an Ising chain with bulk bias and coupling
    given by :func:`dbmtools.rbm.effective_ising`; its coupling is never
    negative, so anticorrelated initial lattices (J < 0) are matched only in
    the density. The three parameters are determined by two effective ones:
    the fit picks one point of a one-parameter family, set by ``initial_theta``.
    """
    arr = np.ascontiguousarray(states, dtype=np.int8)
    if arr.ndim != 3:
        raise ValueError(
            f"`states` must have shape (n_conditions, n_lattices, L); got {arr.shape}."
        )
    check_choice("optimizer", optimizer, OPTIMIZERS)
    n_cond, n_lat, L = arr.shape
    batch_size = (
        min(10, n_lat) if batch_size is None else check_int("batch_size", batch_size, 1, n_lat)
    )
    n_iter = check_int("n_iter", n_iter, 1)
    n_average = check_int("n_average", n_average, 1, n_iter)
    cd_k = check_int("cd_k", cd_k, 1)
    data = arr.reshape(n_cond, n_lat, 1, L)
    rng = np.random.default_rng(as_seed_sequence(seed))
    out = np.empty((n_cond, 3))
    v = np.empty(L, np.int8)
    hid = np.empty(L - 1, np.int8)
    state = np.empty(4, np.uint64)
    ptab = np.empty((3, 4))
    t0 = np.zeros(1, dtype=np.int64)
    awake = np.empty((1, 3))
    asleep = np.empty((1, 3))
    from tqdm.auto import tqdm

    no_chains = np.zeros((1, 1, L), dtype=np.int8)  # CD-k from data: no persistent chains
    for c in tqdm(range(n_cond), desc="BM fits", disable=not show_progress(progress)):
        th = np.array(initial_theta, dtype=np.float64).reshape(1, 3)
        adam = Adam(3)
        acc = np.zeros(3)
        for it in range(n_iter):
            pick = np.sort(rng.choice(n_lat, batch_size, replace=False)).astype(np.int64)
            seeds = draw_seeds(rng, (1, batch_size))
            _hidden_cd_moments(
                data[c], pick, t0, th, cd_k, seeds, v, hid, state, ptab, awake, asleep, 0, no_chains
            )
            g = (awake[0] - asleep[0]) / L
            th[0] += lr * (g if optimizer == "sgd" else adam.direction(g))
            if it >= n_iter - n_average:
                acc += th[0]
        out[c] = acc / n_average
    return out


@dataclass
class ClosureRun:
    """Result of :func:`learn_closures`: both learned models of section IV A.

    Attributes
    ----------
    visible, hidden : ParameterODE
        The learned ``F`` of eqs. (38) and (40).
    visible_fit, hidden_fit : TrainResult
    hidden_initial : ndarray, shape (n_conditions, 3)
        ``(b, W, b')`` at t = 0 of the training conditions (static BM learning).
    visible_initial : ndarray, shape (n_conditions, 3)
        ``(b, J, K)`` at t = 0 of the training conditions.
    n_steps : int
        Data timesteps of the training trajectories.
    seconds : dict
        Wall times of the stages.
    """

    visible: ParameterODE
    hidden: ParameterODE
    visible_fit: TrainResult
    hidden_fit: TrainResult
    hidden_initial: np.ndarray
    visible_initial: np.ndarray | None = None
    n_steps: int = 0
    seconds: dict = field(default_factory=dict)


def _domain(points, cell, margin):
    """Box of whole cells (vertices on multiples of ``cell``) around ``points`` +- ``margin``."""
    cell = np.asarray(cell, dtype=np.float64)
    lo = np.floor((points.min(0) - margin) / cell) * cell
    hi = np.ceil((points.max(0) + margin) / cell) * cell
    return lo, hi


def learn_closures(
    data: AnnihilationData,
    *,
    hidden_initial: np.ndarray | None = None,
    n_epochs: int = 190,
    lr: float = 1.0,
    n_chains: int = 10,
    cd_k: int = 1,
    window: int = 5,
    shift_epochs: int = 2,
    visible_cells=(0.5, 0.5, 0.5),
    hidden_cells=(0.5, 0.5, 0.05),
    visible_box=((-4.0, -2.0, -2.0), (2.0, 2.0, 2.0)),
    hidden_margin=(2.0, 1.0, 1.0),
    seed: SeedLike = None,
    progress: bool = True,
) -> ClosureRun:
    """Algorithm 1 for the fully visible (37)-(38) and hidden (39)-(40) models (section IV A).

    One optimisation step uses one condition (a batch of ``n_chains`` of its
    lattices, CD-k) and SGD with learning rate ``lr``; an epoch visits every
    condition once (the paper's "sweep"); the window of ``window`` data
    timesteps moves by one every ``shift_epochs`` epochs, and the adjoint is
    truncated at the window start
    (eq. 41). Defaults are the paper's settings (REFERENCE_NOTES section 2).
    The hidden model's domain is the box of whole cells around its initial
    conditions widened by ``hidden_margin``.
    """
    ss = as_seed_sequence(seed)
    s_fit, s_vis, s_hid = ss.spawn(3)
    dt = float(data.meta.get("dt", 0.01))
    seconds = {}
    t0 = time.perf_counter()
    if hidden_initial is None:
        hidden_initial = fit_hidden_initial(data.states[:, :, 0], seed=s_fit, progress=progress)
    seconds["hidden initial conditions"] = time.perf_counter() - t0
    n_cond = data.initial_theta.shape[0]
    n_iter = check_int("n_epochs", n_epochs, 1) * n_cond
    runs = {}
    lo_h, hi_h = _domain(hidden_initial, hidden_cells, np.asarray(hidden_margin))
    for name, problem_cls, init, names, lo, hi, cells, s in (
        (
            "visible",
            IsingMoments,
            data.initial_theta,
            ("b", "J", "K"),
            visible_box[0],
            visible_box[1],
            visible_cells,
            s_vis,
        ),
        (
            "hidden",
            HiddenMoments,
            hidden_initial,
            ("b", "W", "b'"),
            lo_h,
            hi_h,
            hidden_cells,
            s_hid,
        ),
    ):
        t0 = time.perf_counter()
        problem = problem_cls(data.states, init, n_chains=n_chains, cd_k=cd_k)
        ode = ParameterODE(names, [0, 1, 2], lo, hi, cells, dt=dt)
        fit = train(
            ode,
            problem,
            n_iter=n_iter,
            lr=lr,
            window=window,
            shift_every=check_int("shift_epochs", shift_epochs, 1) * n_cond,
            seed=s,
            progress=progress,
        )
        seconds[f"{name} training"] = time.perf_counter() - t0
        runs[name] = (ode, fit)
    return ClosureRun(
        visible=runs["visible"][0],
        hidden=runs["hidden"][0],
        visible_fit=runs["visible"][1],
        hidden_fit=runs["hidden"][1],
        hidden_initial=hidden_initial,
        visible_initial=data.initial_theta,
        n_steps=data.n_times - 1,
        seconds=seconds,
    )


def closure_moments(
    run: ClosureRun,
    test: AnnihilationData,
    *,
    hidden_initial=None,
    every: int = 10,
    progress: bool = False,
) -> dict:
    """Chain moments (orders 1-4) of both learned models and of the simulations on a test set.

    The learned ODEs are integrated from the test conditions (the hidden
    model's from ``hidden_initial``, fitted by :func:`fit_hidden_initial` when
    omitted); the models' moments are exact (transfer matrices), the
    simulations' are means over their lattices, every ``every`` data steps.

    Returns
    -------
    dict
        ``times`` (n_eval,), and ``simulation``, ``visible``, ``hidden``, each
        (n_conditions, n_eval, 4); ``hidden_initial`` (n_conditions, 3);
        ``visible_covered``, ``hidden_covered`` (n_conditions,) bool: whether the
        test condition starts in a finite-element cell that some training
        trajectory crossed (:func:`visited_cells`). Elsewhere ``F`` keeps its
        initial value 0 and the model does not move.
    """
    from .observables import chain_moments

    if hidden_initial is None:
        hidden_initial = fit_hidden_initial(test.states[:, :, 0], seed=0, progress=progress)
    n_steps = test.n_times - 1
    dt = run.visible.dt
    idx = np.arange(0, n_steps + 1, every)
    vis = run.visible.solve(test.initial_theta, n_steps)[:, idx]
    hid = run.hidden.solve(hidden_initial, n_steps)[:, idx]
    L = test.states.shape[-1]
    sim = chain_moments(test.states[:, :, idx], max_order=4, boundary="reflecting").mean(1)
    covered = {}
    for name, ode, init in (
        ("visible", run.visible, run.visible_initial),
        ("hidden", run.hidden, run.hidden_initial),
    ):
        if init is None:
            covered[name] = np.ones(len(test.initial_theta), dtype=bool)
            continue
        seen = visited_cells(ode, ode.solve(init, run.n_steps, substeps=True))
        start = test.initial_theta if name == "visible" else hidden_initial
        covered[name] = np.array([tuple(c) in seen for c in ode.cell_index(start).tolist()])
    return {
        "visible_covered": covered["visible"],
        "hidden_covered": covered["hidden"],
        "times": idx * dt,
        "simulation": sim,
        "visible": exact_chain_moments(vis, L),
        "hidden": hidden_chain_moments(hid, L),
        "visible_theta": vis,
        "hidden_theta": hid,
        "hidden_initial": hidden_initial,
    }


def hierarchy_moments(states: np.ndarray) -> np.ndarray:
    """Mean raw lattice sums of the moments in the first two lines of (36).

    Parameters
    ----------
    states : ndarray of int, shape (n_conditions, n_lattices, n_times, L)

    Returns
    -------
    ndarray, shape (n_conditions, n_times, 4)
        ``<sum v_i>``, ``<sum v_i v_{i+1}>``, ``<sum v_i v_{i+2}>``,
        ``<sum v_i v_{i+1} v_{i+2}>`` (open chain: sums over the ``L - 1``,
        ``L - 2``, ``L - 2`` chains that fit), averaged over the lattices.

    Examples
    --------
    >>> s = np.array([1, 1, 0, 1, 1, 1], dtype=np.int8).reshape(1, 1, 1, 6)
    >>> hierarchy_moments(s)[0, 0].tolist()
    [5.0, 3.0, 2.0, 1.0]
    """
    s = np.asarray(states)
    if s.ndim != 4:
        raise ValueError(f"`states` must be 4D (conditions, lattices, times, L); got {s.shape}.")
    out = np.empty((s.shape[0], s.shape[2], 4))
    for c in range(s.shape[0]):
        v = s[c].astype(np.int16)
        out[c, :, 0] = v.sum(-1).mean(0)
        out[c, :, 1] = (v[..., :-1] * v[..., 1:]).sum(-1).mean(0)
        out[c, :, 2] = (v[..., :-2] * v[..., 2:]).sum(-1).mean(0)
        out[c, :, 3] = (v[..., :-2] * v[..., 1:-1] * v[..., 2:]).sum(-1).mean(0)
    return out


# --------------------------------------------------------------------------------------
# Figures 3(a), 3(b) and a small training run for sliders


@dataclass
class SmallRun:
    """Result of :func:`small_closure_run` (visible model only).

    Attributes
    ----------
    ode : ParameterODE
    fit : TrainResult
    data : AnnihilationData
    times : ndarray, shape (n_times,)
    simulation, model : ndarray, shape (n_conditions, n_times, 2)
        Raw ``<sum v_i>`` and ``<sum v_i v_{i+1}>``: simulation means and the
        learned model's exact moments.
    seconds : float
    """

    ode: ParameterODE
    fit: TrainResult
    data: AnnihilationData
    times: np.ndarray
    simulation: np.ndarray
    model: np.ndarray
    seconds: float = 0.0


def small_closure_run(
    cell_size: float = 0.5,
    prob: float = 0.01,
    *,
    n_conditions: int = 8,
    n_lattices: int = 10,
    n_sites: int = 200,
    n_steps: int = 100,
    n_epochs: int = 120,
    lr: float = 1.0,
    window: int = 5,
    box=((-4.0, -2.0, -2.0), (2.0, 2.0, 2.0)),
    seed: SeedLike = 0,
) -> SmallRun:
    """A small, fast version of the section IV A visible-model run, for sliders.

    Simulates ``n_conditions`` initial distributions (37) (``n_lattices``
    lattices of ``n_sites``, ``n_steps`` steps, collision probability ``prob``)
    and trains the visible model (38) on cubic cells of side ``cell_size``
    (the ``box`` widened to whole cells) with the paper's Algorithm 1 settings
    (SGD, CD-1, a batch of 10 lattices, or all ``n_lattices`` if fewer,
    window ``window``)
    for ``n_epochs`` epochs, the window moving so that it reaches the end of
    the data. About a second with the defaults.

    Examples
    --------
    >>> r = small_closure_run(0.5, 0.01, n_conditions=2, n_lattices=3, n_sites=40,
    ...                       n_steps=10, n_epochs=4)
    >>> r.simulation.shape == r.model.shape == (2, 11, 2)
    True
    """
    t0 = time.perf_counter()
    s_data, s_fit = as_seed_sequence(seed).spawn(2)
    data = annihilation_data(
        n_conditions,
        n_lattices=n_lattices,
        n_sites=n_sites,
        n_steps=n_steps,
        prob=prob,
        seed=s_data,
        progress=False,
    )
    cells = np.full(3, float(cell_size))
    lo, hi = _domain(np.asarray(box, dtype=np.float64), cells, 0.0)
    ode = ParameterODE(["b", "J", "K"], [0, 1, 2], lo, hi, cells, dt=data.meta["dt"])
    problem = IsingMoments(data.states, data.initial_theta, n_chains=min(10, n_lattices))
    n_iter = check_int("n_epochs", n_epochs, 1) * int(n_conditions)
    shift = max(1, n_iter // max(1, n_steps - window + 1))
    fit = train(
        ode,
        problem,
        n_iter=n_iter,
        lr=lr,
        window=window,
        shift_every=shift,
        seed=s_fit,
        progress=False,
    )
    th = ode.solve(data.initial_theta, n_steps)
    model = exact_chain_moments(th, n_sites, max_order=2)
    sim = data.chain_moments(max_order=2)
    return SmallRun(
        ode, fit, data, np.arange(n_steps + 1) * ode.dt, sim, model, time.perf_counter() - t0
    )


# --------------------------------------------------------------------------------------
# Closures without the adjoint: MaxEnt trajectories, a data-driven flow, the MaxEnt closure


@dataclass
class DataClosureRun:
    """Result of :func:`learn_data_closure`.

    Attributes
    ----------
    closure : JumpClosure
        The learned first-step map (or none) and flow.
    n_params : int
        3 for ``(b, J, K)``, 2 for ``(b, J)`` with ``K = 0``.
    n_sites : int
    roughness : float
        The roughness weight chosen on the validation split.
    validation : dict
        Validation error (mean over orders 1-4 of the time-mean RMSE of the
        chain moments) for every roughness weight tried (``inf``: the
        trajectories left the domain).
    maxent_residual : float
        Largest moment residual of the MaxEnt fits (raw counts).
    refine : TrainResult or None
        Algorithm 1 from the fitted flow, when asked for.
    seconds : float
    nonneg_coupling : bool
        ``(b, J)`` restricted to ``J >= 0`` (the hidden model's family).
    """

    closure: JumpClosure
    n_params: int
    n_sites: int
    roughness: float
    validation: dict
    maxent_residual: float
    refine: TrainResult | None = None
    seconds: float = 0.0
    nonneg_coupling: bool = False


def closure_initial_theta(
    data: AnnihilationData, n_params: int = 3, *, nonneg_coupling: bool = False
) -> np.ndarray:
    """Where a closure of ``data`` starts: ``(b, J, K)`` of eq. (37), or the MaxEnt ``(b, J)``.

    With three parameters the lattices' generating parameters
    (``data.initial_theta``, as in the paper); with two, the ``(b, J)``
    (``K = 0``) whose exact moments match the lattices at t = 0
    (:func:`dbmtools.closures.maxent_theta`), with ``nonneg_coupling``
    projected onto ``J >= 0`` by maximum likelihood
    (:func:`dbmtools.closures.project_nonneg_coupling`).
    """
    if n_params == 3:
        return data.initial_theta.copy()
    m0 = chain_moments(data.states[:, :, 0], max_order=2, boundary="reflecting").mean(1)
    L = data.states.shape[-1]
    th = maxent_theta(m0, L, tol=1e-6).params
    return project_nonneg_coupling(th, m0[:, 0], L) if nonneg_coupling else th


def _readout(theta, n_params, nonneg_coupling):
    """Parameters whose moments a closure predicts: ``(b, J, K)``, ``J`` clipped at 0 if asked."""
    th = _pad(theta, n_params)
    if nonneg_coupling:
        th = th.copy()
        th[..., 1] = np.maximum(th[..., 1], 0.0)
    return th


def _pad(theta, n_params):
    return (
        theta
        if n_params == 3
        else np.concatenate([theta, np.zeros((*theta.shape[:-1], 1))], axis=-1)
    )


def learn_data_closure(
    data: AnnihilationData,
    *,
    n_params: int = 3,
    nonneg_coupling: bool = False,
    jump: bool = True,
    roughness: Sequence[float] = (1e-3, 1e-2, 1e-1),
    validation_fraction: float = 0.2,
    cell_size: float = 0.5,
    jump_cell_size: float = 0.5,
    ridge: float = 1e-6,
    time_indices: np.ndarray | None = None,
    prior: Callable[[np.ndarray], np.ndarray] | None = None,
    maxent: np.ndarray | None = None,
    margin: float = 1.0,
    refine_iter: int = 0,
    refine_lr: float = 1e-3,
    seed: SeedLike = None,
) -> DataClosureRun:
    """The data-driven closure: MaxEnt fits of every ensemble, then ``F`` by least squares.

    1. Every training ensemble at every time of ``time_indices`` (default:
       every step up to 20, then every 5th) is mapped to its exact MaxEnt
       parameters (:func:`dbmtools.closures.maxent_trajectories`).
    2. With ``jump``, the first data step is a map ``theta_1 = theta_0 + G(theta_0)``
       (:func:`dbmtools.closures.fit_jump`, on ``[-r, r]^3`` of the initial
       conditions), and the flow is fitted from the first step on: the
       simulator's first sweep moves every particle at once, a jump no smooth
       flow from fresh lattices describes.
    3. ``F`` is fitted to the Euler differences by penalised least squares on
       Hermite cells of ``cell_size`` over the box of whole cells around the
       fitted parameters (:func:`dbmtools.closures.fit_flow`), optionally as a
       correction to a ``prior`` right-hand side.
    4. The roughness weight is chosen on a validation split of the **training**
       conditions (``validation_fraction`` of them, by the moment error of the
       integrated closure), then everything is refitted on all of them.
    5. ``refine_iter > 0``: Algorithm 1 (Adam, whole horizon, exact moments)
       from the fitted flow, early-stopped on the validation split.

    With ``nonneg_coupling`` (``n_params = 2`` only) every fit is projected
    onto ``J >= 0`` by maximum likelihood
    (:func:`dbmtools.closures.project_nonneg_coupling`): the family of the
    hidden model's (39) visible marginal in the bulk
    (:func:`dbmtools.rbm.effective_ising`), so this is the hidden model trained
    the same way; the integrated closure's ``J`` is clipped at 0 where its
    moments are read (validation, :func:`data_closure_moments`).

    ``maxent`` (n_conditions, len(time_indices), n_params) passes MaxEnt fits
    already made (step 1 is then skipped); ``margin`` widens the flow's domain
    around them.

    Parameters
    ----------
    data : AnnihilationData
    n_params : {3, 2}
        ``(b, J, K)`` or ``(b, J)`` with ``K = 0``.
    nonneg_coupling : bool
        Restrict ``(b, J)`` to ``J >= 0``.
    Other parameters as described above.

    Returns
    -------
    DataClosureRun

    Examples
    --------
    >>> d = annihilation_data(6, n_lattices=4, n_sites=200, n_steps=30, seed=0, progress=False)
    >>> r = learn_data_closure(d, roughness=(1e-2,), seed=0)
    >>> r.closure.solve(d.initial_theta[:2], 30).shape
    (2, 31, 3)
    """
    from .dynamics import validation_loss
    from .estimators import ExactMoments

    t_start = time.perf_counter()
    if n_params not in (2, 3):
        raise ValueError(f"`n_params` must be 2 or 3; got {n_params!r}.")
    if nonneg_coupling and n_params != 2:
        raise ValueError("`nonneg_coupling` needs `n_params` = 2 (the (b, J) family).")
    L = data.states.shape[-1]
    n_steps = data.n_times - 1
    dt = float(data.meta.get("dt", 0.01))
    tidx = (
        np.r_[np.arange(min(20, n_steps)), np.arange(min(20, n_steps), n_steps + 1, 5)]
        if time_indices is None
        else np.asarray(time_indices, dtype=np.int64)
    )
    if tidx[-1] != n_steps:
        tidx = np.r_[tidx, n_steps]
    mom = chain_moments(data.states[:, :, tidx], max_order=4, boundary="reflecting").mean(1)
    th0 = closure_initial_theta(data, n_params, nonneg_coupling=nonneg_coupling)
    if maxent is None:
        fit = maxent_trajectories(mom[..., :n_params], L, th0, tol=1e-4)
        theta, residual = fit.params.copy(), float(fit.residual.max())
    else:
        theta = check_finite_array("maxent", maxent, ndim=3).copy()
        if theta.shape != (len(th0), len(tidx), n_params):
            raise ValueError(
                f"`maxent` must have shape {(len(th0), len(tidx), n_params)}; got {theta.shape}."
            )
        residual = float(
            np.abs(
                exact_chain_moments(_pad(theta, n_params), L, 3)[..., :n_params]
                - mom[..., :n_params]
            ).max()
        )
    if nonneg_coupling:
        theta = project_nonneg_coupling(theta, mom[..., 0], L)
    theta[:, 0] = th0  # the closure starts where the lattices were drawn from
    names = ("b", "J", "K")[:n_params]
    lo, hi = _domain(theta.reshape(-1, n_params), np.full(n_params, cell_size), margin)
    r0 = float(data.meta.get("theta_range", 1.0))
    jlo, jhi = _domain(th0, np.full(n_params, jump_cell_size), 0.0)
    jlo, jhi = np.minimum(jlo, -r0), np.maximum(jhi, r0)
    skip = 1 if jump else 0

    def build(cond, weight):
        ode = ParameterODE(names, list(range(n_params)), lo, hi, cell_size, dt=dt)
        if prior is not None:
            interpolate_flow(ode, prior)
        x, y, _ = flow_samples(theta[cond, skip:], tidx[skip:], dt)
        fit_flow(ode, x, y, ridge=ridge, roughness=weight)
        G = (
            fit_jump(
                th0[cond], theta[cond, 1], jlo, jhi, jump_cell_size, ridge=ridge, roughness=weight
            )
            if jump
            else None
        )
        return JumpClosure(ode, G)

    def score(closure, cond):
        try:
            th = closure.solve(th0[cond], n_steps)[:, tidx]
        except ValueError:
            return np.inf
        model = exact_chain_moments(_readout(th, n_params, nonneg_coupling), L, 4)
        return float(np.sqrt(((model - mom[cond]) ** 2).mean(0)).mean())

    n_cond = len(th0)
    rng = np.random.default_rng(as_seed_sequence(seed))
    order = rng.permutation(n_cond)
    n_val = max(1, int(round(validation_fraction * n_cond)))
    val, trn = np.sort(order[:n_val]), np.sort(order[n_val:])
    weights = [float(w) for w in roughness]
    table = (
        {w: score(build(trn, w), val) for w in weights}
        if len(weights) > 1
        else {weights[0]: np.nan}
    )
    best = min(table, key=lambda w: np.inf if np.isnan(table[w]) else table[w])
    closure = build(np.arange(n_cond), best)
    result = None
    if refine_iter > 0:
        every = chain_moments(data.states, max_order=n_params, boundary="reflecting").mean(1)

        def model_moments(th):
            return exact_chain_moments(_readout(th, n_params, nonneg_coupling), L, 3)[
                ..., :n_params
            ]

        start = closure.solve(th0, 1)[:, -1] if jump else th0
        ode = closure.ode
        problem = ExactMoments(every[trn, skip:], start[trn], model_moments=model_moments)
        check = ExactMoments(every[val, skip:], start[val], model_moments=model_moments)
        before, kept = validation_loss(ode, check), ode.coeffs.copy()
        result = train(
            ode,
            problem,
            n_iter=int(refine_iter),
            lr=refine_lr,
            optimizer="adam",
            batch_size=min(10, len(trn)),
            validation=check,
            validate_every=max(1, int(refine_iter) // 20),
            seed=rng,
            progress=False,
        )
        if result.validation_history.size and result.validation_history.min() > before:
            ode.coeffs = kept  # Algorithm 1 did not improve on the fit: keep the fit
    return DataClosureRun(
        closure,
        n_params,
        L,
        best,
        table,
        residual,
        result,
        time.perf_counter() - t_start,
        nonneg_coupling,
    )


def data_closure_moments(run: DataClosureRun, test: AnnihilationData, *, every: int = 10) -> dict:
    """Exact chain moments (orders 1-4) of a :class:`DataClosureRun` and the simulations.

    Returns
    -------
    dict
        ``times`` (n_eval,), ``simulation`` and ``model`` (n_conditions, n_eval, 4),
        ``theta`` (n_conditions, n_eval, n_params), before any clipping of ``J``.
    """
    n_steps = test.n_times - 1
    idx = np.arange(0, n_steps + 1, every)
    start = closure_initial_theta(test, run.n_params, nonneg_coupling=run.nonneg_coupling)
    th = run.closure.solve(start, n_steps)[:, idx]
    sim = chain_moments(test.states[:, :, idx], max_order=4, boundary="reflecting").mean(1)
    return {
        "times": idx * run.closure.ode.dt,
        "simulation": sim,
        "theta": th,
        "model": exact_chain_moments(
            _readout(th, run.n_params, run.nonneg_coupling), run.n_sites, 4
        ),
    }


def maxent_closure_moments(test: AnnihilationData, *, every: int = 10, n_substeps: int = 4) -> dict:
    """The equation-based MaxEnt closure integrated on a test set, and its exact moments.

    ``dtheta/dt = Cov_theta^-1 dmu/dt`` (:func:`dbmtools.closures.maxent_closure_rhs`)
    with ``k_r = hop_prob prob / dt`` and ``D = hop_prob / (2 dt)``, from the
    test conditions' ``(b, J, K)``.

    Returns
    -------
    dict
        ``times``, ``simulation``, ``model`` (as :func:`data_closure_moments`), ``theta``.
    """
    dt = float(test.meta.get("dt", 0.01))
    hop = float(test.meta.get("hop_prob", 1.0))
    k_r, D = hop * float(test.meta.get("prob", 0.01)) / dt, hop / (2 * dt)
    L = test.states.shape[-1]
    n_steps = test.n_times - 1
    idx = np.arange(0, n_steps + 1, every)
    th = integrate_rhs(
        lambda t: maxent_closure_rhs(t, L, k_r=k_r, D=D),
        test.initial_theta,
        n_steps,
        dt,
        n_substeps=n_substeps,
    )[:, idx]
    sim = chain_moments(test.states[:, :, idx], max_order=4, boundary="reflecting").mean(1)
    return {
        "times": idx * dt,
        "simulation": sim,
        "theta": th,
        "model": exact_chain_moments(th, L, 4),
    }

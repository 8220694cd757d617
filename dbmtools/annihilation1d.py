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
from dataclasses import dataclass, field

import numpy as np

from . import ising
from ._checks import check_choice, check_finite_array, check_int, check_occupancies
from ._config import show_progress
from ._io import json_ready, load_npz, save_npz
from ._optim import OPTIMIZERS, Adam
from ._random import SeedLike, as_seed_sequence, draw_seeds
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
    "SmallRun",
    "annihilation_data",
    "closure_moments",
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
        st = check_occupancies("states", self.states, ndim=4,
                               layout="(n_conditions, n_lattices, n_times, L)")
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
        save_npz(path, type(self).__name__,
                 {"initial_theta": self.initial_theta, "states": self.states}, self.meta)

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
    seed: SeedLike = None,
    progress: bool = True,
) -> AnnihilationData:
    """Data of section IV A: initial ``(b, J, K)`` uniform in ``[-r, r]^3``, lattices, simulations.

    For each condition, ``n_lattices`` lattices of ``n_sites`` sites are drawn
    from eq. (37) (open chain) by ``n_sweeps`` Gibbs sweeps
    (:func:`dbmtools.ising.sample`) and simulated for ``n_steps`` steps of
    ``dt`` with ``A + A -> 0`` at probability ``prob`` per collision and
    reflecting boundaries (:func:`dbmtools.simulate_ensemble`). The paper's
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
    init = np.stack([
        ising.sample(*th0[i], n_sites=n_sites, n_chains=n_lattices, n_sweeps=n_sweeps,
                     boundary="reflecting", seed=c)
        for i, c in enumerate(s_init.spawn(int(n_conditions)))
    ])
    ens = simulate_ensemble(init.reshape(-1, n_sites), annihilation(prob), n_steps=n_steps,
                            dt=dt, dim=1, boundary="reflecting", seed=s_sim, progress=progress)
    states = ens.states.reshape(int(n_conditions), n_lattices, n_steps + 1, n_sites)
    meta = {"dt": float(dt), "prob": float(prob), "boundary": "reflecting",
            "n_sweeps": int(n_sweeps), "theta_range": float(theta_range),
            "seed": int(ss.entropy) if isinstance(ss.entropy, int) else None}
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
    batch_size = min(10, n_lat) if batch_size is None else check_int("batch_size", batch_size, 1,
                                                                     n_lat)
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
            _hidden_cd_moments(data[c], pick, t0, th, cd_k, seeds, v, hid, state, ptab,
                               awake, asleep, 0, no_chains)
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
        ("visible", IsingMoments, data.initial_theta, ("b", "J", "K"), visible_box[0],
         visible_box[1], visible_cells, s_vis),
        ("hidden", HiddenMoments, hidden_initial, ("b", "W", "b'"), lo_h, hi_h, hidden_cells,
         s_hid),
    ):
        t0 = time.perf_counter()
        problem = problem_cls(data.states, init, n_chains=n_chains, cd_k=cd_k)
        ode = ParameterODE(names, [0, 1, 2], lo, hi, cells, dt=dt)
        fit = train(ode, problem, n_iter=n_iter, lr=lr, window=window,
                    shift_every=check_int("shift_epochs", shift_epochs, 1) * n_cond, seed=s,
                    progress=progress)
        seconds[f"{name} training"] = time.perf_counter() - t0
        runs[name] = (ode, fit)
    return ClosureRun(visible=runs["visible"][0], hidden=runs["hidden"][0],
                      visible_fit=runs["visible"][1], hidden_fit=runs["hidden"][1],
                      hidden_initial=hidden_initial, visible_initial=data.initial_theta,
                      n_steps=data.n_times - 1, seconds=seconds)


def closure_moments(run: ClosureRun, test: AnnihilationData, *, hidden_initial=None,
                    every: int = 10, progress: bool = False) -> dict:
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
    for name, ode, init in (("visible", run.visible, run.visible_initial),
                            ("hidden", run.hidden, run.hidden_initial)):
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
    data = annihilation_data(n_conditions, n_lattices=n_lattices, n_sites=n_sites,
                             n_steps=n_steps, prob=prob, seed=s_data, progress=False)
    cells = np.full(3, float(cell_size))
    lo, hi = _domain(np.asarray(box, dtype=np.float64), cells, 0.0)
    ode = ParameterODE(["b", "J", "K"], [0, 1, 2], lo, hi, cells, dt=data.meta["dt"])
    problem = IsingMoments(data.states, data.initial_theta, n_chains=min(10, n_lattices))
    n_iter = check_int("n_epochs", n_epochs, 1) * int(n_conditions)
    shift = max(1, n_iter // max(1, n_steps - window + 1))
    fit = train(ode, problem, n_iter=n_iter, lr=lr, window=window, shift_every=shift,
                seed=s_fit, progress=False)
    th = ode.solve(data.initial_theta, n_steps)
    model = exact_chain_moments(th, n_sites, max_order=2)
    sim = data.chain_moments(max_order=2)
    return SmallRun(ode, fit, data, np.arange(n_steps + 1) * ode.dt, sim, model,
                    time.perf_counter() - t0)



"""The 1D A + A -> 0 experiment of the paper's section IV A (private; re-exported by
:mod:`dbmtools.dynamics`).

* :func:`annihilation_data`: training (or test) data, REFERENCE_NOTES section 2.
* :func:`fit_hidden_initial`: static Boltzmann-machine learning of the hidden
  model's ``(b, W, b')`` at t = 0 for each condition.
* :func:`hidden_chain_moments`: exact chain moments of the hidden model's
  visible marginal on an open chain (transfer matrix).
* :func:`closure_rmse`: RMSE over conditions of chain moments, model vs simulation.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ._config import njit, show_progress
from ._dynamics_1d import hidden_cd_moments
from ._random import SeedLike, as_seed_sequence


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

    @property
    def n_times(self) -> int:
        """Number of data times."""
        return self.states.shape[2]

    def chain_moments(self, max_order: int = 4) -> np.ndarray:
        """Mean raw chain moments over the lattices, shape (n_conditions, n_times, max_order)."""
        from .observables import chain_moments

        return chain_moments(self.states, max_order=max_order, boundary="reflecting").mean(1)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``.npz`` (no pickles)."""
        np.savez(path, initial_theta=self.initial_theta, states=self.states,
                 meta=np.array(json.dumps(self.meta)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> AnnihilationData:
        """Read a file written by :meth:`save` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as d:
            return cls(d["initial_theta"], d["states"], json.loads(str(d["meta"])))


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
    from . import ising
    from .reactions import annihilation
    from .simulate import simulate_ensemble

    ss = as_seed_sequence(seed)
    s_theta, s_init, s_sim = ss.spawn(3)
    rng = np.random.default_rng(s_theta)
    th0 = rng.uniform(-theta_range, theta_range, size=(int(n_conditions), 3))
    init = np.stack([
        ising.sample(*th0[i], n_sites=n_sites, n_samples=n_lattices, n_sweeps=n_sweeps,
                     boundary="reflecting", seed=c)
        for i, c in enumerate(s_init.spawn(int(n_conditions)))
    ])
    ens = simulate_ensemble(init.reshape(-1, n_sites), annihilation(prob), n_steps=n_steps,
                            dt=dt, boundary="reflecting", seed=s_sim, progress=progress)
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
    batch_size: int = 10,
    n_average: int = 100,
    optimizer: str = "adam",
    theta0=(0.0, 0.0, 0.0),
    seed: SeedLike = None,
    progress: bool = True,
) -> np.ndarray:
    """Static BM learning of ``(b, W, b')`` of the hidden model (39) for each condition.

    Adam ascent of the log-likelihood per site with the CD-k gradient
    ``(awake - asleep) / L`` (hidden units as probabilities) on a random batch
    of ``batch_size`` lattices of the condition per iteration, Polyak-averaged
    over the last ``n_average`` iterations: what :func:`dbmtools.rbm.fit` does,
    on the serial kernel of :class:`dbmtools.dynamics.HiddenMoments` (50
    conditions in seconds).

    Parameters
    ----------
    states : ndarray of int, shape (n_conditions, n_lattices, L)
        Lattices at t = 0.

    Returns
    -------
    ndarray, shape (n_conditions, 3)

    Notes
    -----
    The visible marginal of (39) is an Ising chain with bulk bias and coupling
    given by :func:`dbmtools.rbm.effective_ising`; its coupling is never
    negative, so anticorrelated initial lattices (J < 0) are matched only in
    the density. The three parameters are determined by two effective ones:
    the fit picks one point of a one-parameter family, set by ``theta0``.
    """
    arr = np.ascontiguousarray(states, dtype=np.int8)
    if arr.ndim != 3:
        raise ValueError(
            f"`states` must have shape (n_conditions, n_lattices, L); got {arr.shape}."
        )
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"`optimizer` must be 'adam' or 'sgd'; got {optimizer!r}.")
    n_cond, n_lat, L = arr.shape
    data = arr.reshape(n_cond, n_lat, 1, L)
    rng = np.random.default_rng(as_seed_sequence(seed))
    out = np.empty((n_cond, 3))
    v = np.empty(L, np.int8)
    hid = np.empty(L - 1, np.int8)
    state = np.empty(4, np.uint64)
    ptab = np.empty((3, 4))
    batch_size = min(int(batch_size), n_lat)
    t0 = np.zeros(1, dtype=np.int64)
    awake = np.empty((1, 3))
    asleep = np.empty((1, 3))
    from tqdm.auto import tqdm

    no_chains = np.zeros((1, 1, L), dtype=np.int8)  # CD-k from data: no persistent chains
    for c in tqdm(range(n_cond), desc="BM fits", disable=not show_progress(progress)):
        th = np.array(theta0, dtype=np.float64).reshape(1, 3)
        m1 = np.zeros(3)
        m2 = np.zeros(3)
        acc = np.zeros(3)
        for it in range(n_iter):
            pick = np.sort(rng.choice(n_lat, batch_size, replace=False)).astype(np.int64)
            seeds = rng.integers(0, 2**63, size=(1, batch_size), dtype=np.int64)
            hidden_cd_moments(data[c], pick, t0, th, cd_k, seeds, v, hid, state, ptab,
                              awake, asleep, 0, no_chains)
            g = (awake[0] - asleep[0]) / L
            if optimizer == "sgd":
                th[0] += lr * g
            else:
                m1 = 0.9 * m1 + 0.1 * g
                m2 = 0.999 * m2 + 0.001 * g * g
                th[0] += lr * (m1 / (1 - 0.9 ** (it + 1))) / (
                    np.sqrt(m2 / (1 - 0.999 ** (it + 1))) + 1e-8)
            if it >= n_iter - n_average:
                acc += th[0]
        out[c] = acc / n_average
    return out


def hidden_chain_moments(theta: np.ndarray, n_sites: int, max_order: int = 4) -> np.ndarray:
    """Exact raw chain moments of the visible marginal of the hidden model (39), open chain.

    ``p(v) ~ exp(b sum v_i) prod_j (1 + exp(b' + W (v_j + v_{j+1})))`` summed
    by a 2 x 2 transfer matrix with rescaling.

    Parameters
    ----------
    theta : array_like, shape (..., 3)
        ``(b, W, b')``.
    n_sites : int
    max_order : int

    Returns
    -------
    ndarray, shape (..., max_order)
        ``<sum_i v_i ... v_{i+k-1}>`` over the ``L - k + 1`` chains, k = 1..max_order.

    Examples
    --------
    >>> hidden_chain_moments([0.0, 0.0, 0.0], 10).round(4).tolist()
    [5.0, 2.25, 1.0, 0.4375]
    """
    th = np.asarray(theta, dtype=np.float64)
    flat = np.ascontiguousarray(th.reshape(-1, 3))
    out = np.empty((flat.shape[0], max_order))
    _hidden_chain_kernel(flat, int(n_sites), int(max_order), out)
    return out.reshape((*th.shape[:-1], max_order))


@njit
def _hidden_chain_kernel(theta, L, max_order, out):
    """Forward/backward vectors of the open chain; ``out`` (n, max_order)."""
    alpha = np.empty((L, 2))
    beta = np.empty((L, 2))
    la = np.empty(L)  # log scale of alpha_i
    lb = np.empty(L)
    M = np.empty((2, 2))
    for p in range(theta.shape[0]):
        b, W, bh = theta[p, 0], theta[p, 1], theta[p, 2]
        for x in range(2):
            for y in range(2):
                M[x, y] = 1.0 + np.exp(bh + W * (x + y))
        eb = np.exp(b)
        # alpha_i[x]: weight of v_0..v_i with v_i = x (site i's field included)
        alpha[0, 0] = 1.0
        alpha[0, 1] = eb
        la[0] = 0.0
        for i in range(1, L):
            a0 = alpha[i - 1, 0] * M[0, 0] + alpha[i - 1, 1] * M[1, 0]
            a1 = (alpha[i - 1, 0] * M[0, 1] + alpha[i - 1, 1] * M[1, 1]) * eb
            s = a0 + a1
            alpha[i, 0] = a0 / s
            alpha[i, 1] = a1 / s
            la[i] = la[i - 1] + np.log(s)
        # beta_i[x]: weight of v_{i+1}..v_{L-1} given v_i = x
        beta[L - 1, 0] = 1.0
        beta[L - 1, 1] = 1.0
        lb[L - 1] = 0.0
        for i in range(L - 2, -1, -1):
            b0 = M[0, 0] * beta[i + 1, 0] + M[0, 1] * eb * beta[i + 1, 1]
            b1 = M[1, 0] * beta[i + 1, 0] + M[1, 1] * eb * beta[i + 1, 1]
            s = b0 + b1
            beta[i, 0] = b0 / s
            beta[i, 1] = b1 / s
            lb[i] = lb[i + 1] + np.log(s)
        logz = la[0] + lb[0] + np.log(alpha[0, 0] * beta[0, 0] + alpha[0, 1] * beta[0, 1])
        step = np.log(M[1, 1] * eb)
        for k in range(1, max_order + 1):
            tot = 0.0
            for i in range(L - k + 1):
                j = i + k - 1
                tot += alpha[i, 1] * beta[j, 1] * np.exp(la[i] + lb[j] + (k - 1) * step - logz)
            out[p, k - 1] = tot


def ising_chain_moments(theta: np.ndarray, n_sites: int, max_order: int = 4) -> np.ndarray:
    """Exact raw chain moments of the b/J/K open chain (eq. 37), by a 4 x 4 transfer matrix.

    The same quantity as ``dbmtools.ising.exact_moments(..., boundary="reflecting") *
    n_sites``, vectorised over many ``theta`` in one numba call (about 100 times
    faster for L = 1000, which the test-set evaluation needs).

    Parameters
    ----------
    theta : array_like, shape (..., 3)
        ``(b, J, K)``.
    n_sites : int
        ``L`` >= max_order + 1.
    max_order : int

    Returns
    -------
    ndarray, shape (..., max_order)

    Examples
    --------
    >>> ising_chain_moments([0.0, 0.0, 0.0], 10).round(4).tolist()
    [5.0, 2.25, 1.0, 0.4375]
    """
    th = np.asarray(theta, dtype=np.float64)
    flat = np.ascontiguousarray(th.reshape(-1, 3))
    out = np.empty((flat.shape[0], max_order))
    _ising_chain_kernel(flat, int(n_sites), int(max_order), out)
    return out.reshape((*th.shape[:-1], max_order))


@njit
def _ising_chain_kernel(theta, L, max_order, out):
    """Pair states ``s_i = (v_i, v_{i+1})`` (index 2 a + c), i = 0..L-2; ``out`` (n, max_order)."""
    n = L - 1
    alpha = np.empty((n, 4))
    beta = np.empty((n, 4))
    la = np.empty(n)
    lb = np.empty(n)
    T = np.zeros((4, 4))
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
        la[0] = np.log(s)
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
            la[i] = la[i - 1] + np.log(s)
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
        zi = 0.0
        for q in range(4):
            zi += alpha[0, q] * beta[0, q]
        logz = la[0] + lb[0] + np.log(zi)
        # order 1: v_i = 1 is the first element of s_i (i <= L-2), the second of s_{L-2}
        tot = 0.0
        for i in range(n):
            tot += (alpha[i, 2] * beta[i, 2] + alpha[i, 3] * beta[i, 3]) * np.exp(
                la[i] + lb[i] - logz)
        tot += (alpha[n - 1, 1] * beta[n - 1, 1] + alpha[n - 1, 3] * beta[n - 1, 3]) * np.exp(
            la[n - 1] + lb[n - 1] - logz)
        out[p, 0] = tot
        step = np.log(T[3, 3])
        for k in range(2, max_order + 1):
            tot = 0.0
            for i in range(n - k + 2):
                j = i + k - 2
                tot += alpha[i, 3] * beta[j, 3] * np.exp(la[i] + lb[j] + (k - 2) * step - logz)
            out[p, k - 1] = tot


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

    visible: object
    hidden: object
    visible_fit: object
    hidden_fit: object
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
    n_sweeps: int = 190,
    lr: float = 1.0,
    n_samples: int = 10,
    cd_k: int = 1,
    window: int = 5,
    shift_sweeps: int = 2,
    visible_cells=(0.5, 0.5, 0.5),
    hidden_cells=(0.5, 0.5, 0.05),
    visible_box=((-4.0, -2.0, -2.0), (2.0, 2.0, 2.0)),
    hidden_margin=(2.0, 1.0, 1.0),
    seed: SeedLike = None,
    progress: bool = True,
) -> ClosureRun:
    """Algorithm 1 for the fully visible (37)-(38) and hidden (39)-(40) models (section IV A).

    One optimisation step uses one condition (a batch of ``n_samples`` of its
    lattices, CD-k) and SGD with learning rate ``lr``; a sweep visits every
    condition once; the window of ``window`` data timesteps moves by one every
    ``shift_sweeps`` sweeps, and the adjoint is truncated at the window start
    (eq. 41). Defaults are the paper's settings (REFERENCE_NOTES section 2).
    The hidden model's domain is the box of whole cells around its initial
    conditions widened by ``hidden_margin``.
    """
    import time

    from .dynamics import HiddenMoments, IsingMoments, ParameterODE, train

    ss = as_seed_sequence(seed)
    s_fit, s_vis, s_hid = ss.spawn(3)
    dt = float(data.meta.get("dt", 0.01))
    seconds = {}
    t0 = time.perf_counter()
    if hidden_initial is None:
        hidden_initial = fit_hidden_initial(data.states[:, :, 0], seed=s_fit, progress=progress)
    seconds["hidden initial conditions"] = time.perf_counter() - t0
    n_cond = data.initial_theta.shape[0]
    n_iter = n_sweeps * n_cond
    runs = {}
    lo_h, hi_h = _domain(hidden_initial, hidden_cells, np.asarray(hidden_margin))
    for name, problem_cls, init, names, lo, hi, cells, s in (
        ("visible", IsingMoments, data.initial_theta, ("b", "J", "K"), visible_box[0],
         visible_box[1], visible_cells, s_vis),
        ("hidden", HiddenMoments, hidden_initial, ("b", "W", "b'"), lo_h, hi_h, hidden_cells,
         s_hid),
    ):
        t0 = time.perf_counter()
        problem = problem_cls(init, data.states, n_samples=n_samples, cd_k=cd_k)
        ode = ParameterODE(names, [0, 1, 2], lo, hi, cells, dt=dt)
        fit = train(ode, problem, n_iter=n_iter, lr=lr, window=window,
                    shift_every=shift_sweeps * n_cond, seed=s, progress=progress)
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
        covered[name] = np.array([c in seen for c in _cells(ode, start)])
    return {
        "visible_covered": covered["visible"],
        "hidden_covered": covered["hidden"],
        "times": idx * dt,
        "simulation": sim,
        "visible": ising_chain_moments(vis, L),
        "hidden": hidden_chain_moments(hid, L),
        "visible_theta": vis,
        "hidden_theta": hid,
        "hidden_initial": hidden_initial,
    }


def _cells(ode, theta):
    x = np.asarray(theta)[..., ode.args].reshape(-1, ode.dim)
    n = np.array([round(v) for v in (ode.upper - ode.lower) / ode.cell_size])
    c = np.clip(np.floor((x - ode.lower) / ode.cell_size).astype(np.int64), 0, n - 1)
    return [tuple(int(v) for v in r) for r in c]


def visited_cells(ode, trajectories: np.ndarray) -> set:
    """The finite-element cells (index tuples) that points of ``trajectories`` (..., K) lie in.

    A point on an interior cell face counts for the cell above it; the upper
    boundary belongs to the last cell.

    Examples
    --------
    >>> from dbmtools.dynamics import ParameterODE
    >>> ode = ParameterODE(["a"], [0], [0.0], [2.0], 0.5)
    >>> sorted(visited_cells(ode, np.array([[0.1], [0.2], [1.9], [2.0]])))
    [(0,), (3,)]
    """
    return set(_cells(ode, trajectories))


def closure_rmse(
    model_moments: np.ndarray, data_moments: np.ndarray
) -> np.ndarray:
    """Root-mean-square error over conditions, ``sqrt(<(mu - mu~)^2>)`` (Fig. 3c).

    Parameters
    ----------
    model_moments, data_moments : array_like, shape (n_conditions, n_times, ...)

    Returns
    -------
    ndarray, shape (n_times, ...)

    Examples
    --------
    >>> closure_rmse(np.zeros((2, 1)), np.array([[3.0], [4.0]])).round(3).tolist()
    [3.536]
    """
    a = np.asarray(model_moments, dtype=np.float64)
    b = np.asarray(data_moments, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"`model_moments` {a.shape} and `data_moments` {b.shape} differ.")
    return np.sqrt(np.mean((a - b) ** 2, axis=0))


def plot_closure_trajectories(run: ClosureRun, data: AnnihilationData, *, n_steps=None):
    """Fig. 2 (left panels): initial conditions and learned trajectories of both models.

    Projections on the (b, J), (J, K) planes (visible model) and (b, W), (W, b')
    planes (hidden model); initial points in cyan, end points in magenta.
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    n_steps = data.n_times - 1 if n_steps is None else n_steps
    vis = run.visible.solve(data.initial_theta, n_steps)
    hid = run.hidden.solve(run.hidden_initial, n_steps)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), layout="constrained")
    panels = [(vis, 0, 1, "b", "J"), (vis, 1, 2, "J", "K"), (hid, 0, 1, "b", "W"),
              (hid, 1, 2, "W", "b'")]
    for ax, (tr, i, j, xi, yj) in zip(axes, panels, strict=True):
        for traj in tr:
            ax.plot(traj[:, i], traj[:, j], "k", lw=0.6, alpha=0.6)
        ax.plot(tr[:, 0, i], tr[:, 0, j], "o", color="c", ms=4, label="t = 0")
        ax.plot(tr[:, -1, i], tr[:, -1, j], "o", color="m", ms=3, label=f"t = {n_steps} dt")
        ax.set_xlabel(f"${xi}$")
        ax.set_ylabel(f"${yj}$")
    axes[0].set_title("visible model (37)-(38)")
    axes[2].set_title("hidden model (39)-(40)")
    axes[0].legend(fontsize=8)
    return fig


def plot_closure_rmse(res: dict, *, extra: dict | None = None):
    """Fig. 3(c): RMSE over test conditions of the 3rd- and 4th-order chain moments.

    ``res`` is the output of :func:`closure_moments`; ``extra`` maps more names
    to model moments of the same shape (e.g. classical closures). Returns the figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    models = {"visible model": res["visible"], "hidden model": res["hidden"], **(extra or {})}
    for ax, k in zip(axes, (3, 4), strict=True):
        for name, mom in models.items():
            ax.plot(res["times"], closure_rmse(mom, res["simulation"])[:, k - 1], label=name)
        ax.set_xlabel("t")
        ax.set_ylabel("RMSE (raw lattice sum)")
        ax.set_title(f"order-{k} chain moment")
        ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------------------
# Classical closures of the hierarchy (36): mean field and the pair (Kirkwood) approximation


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


def check_pair_line(hm: np.ndarray, dt: float, k_r: float, *, start: int = 1,
                    stop: int = 5) -> dict:
    """Fit the hop rate ``D`` of the second line of (36) to simulated moments, two ways.

    With ``y = d<sum v_i v_{i+1}>/dt + 2 k_r <sum v_i v_{i+1} v_{i+2}>`` (forward
    differences over data steps ``start..stop``, moments at the step start),
    least squares of ``y = 2 D (<sum v_i v_{i+2}> - <sum v_i v_{i+1}>) + s k_r
    <sum v_i v_{i+1}>`` for ``s = +1`` (the paper's ``(k_r - 2D)``) and ``s = -1``
    (``-(k_r + 2D)``: the pair itself reacts at rate ``k_r``).

    Parameters
    ----------
    hm : ndarray, shape (n_conditions, n_times, 4)
        Output of :func:`hierarchy_moments`.

    Returns
    -------
    dict
        ``"paper"`` and ``"derived"``: each ``{"D": fitted D, "residual": RMS
        residual, "rms": RMS of y}`` (same units as ``y``).
    """
    hm = np.asarray(hm, dtype=np.float64)
    dq = (hm[:, start + 1:stop + 1, 1] - hm[:, start:stop, 1]) / dt
    x0 = hm[:, start:stop]
    x = (2 * (x0[..., 2] - x0[..., 1])).ravel()
    out = {}
    for name, sign in (("paper", 1.0), ("derived", -1.0)):
        y = (dq + 2 * k_r * x0[..., 3] - sign * k_r * x0[..., 1]).ravel()
        D = float(x @ y / (x @ x))
        out[name] = {"D": D, "residual": float(np.sqrt(np.mean((y - D * x) ** 2))),
                     "rms": float(np.sqrt(np.mean(y**2)))}
    return out


def pair_approximation(density, pair):
    """Moments of a Markov chain along the lattice with given ``<v_i>`` and ``<v_i v_{i+1}>``.

    The pair (Kirkwood) approximation: with ``P(1) = rho``, ``P(1,1) = q``,
    ``P(1,0) = P(0,1) = rho - q``, ``P(0) = 1 - rho``,

    * ``<v_i v_{i+2}> = sum_m P(1,m) P(m,1) / P(m) = q^2/rho + (rho-q)^2/(1-rho)``,
    * ``<v_i v_{i+1} v_{i+2}> = q^2 / rho``,
    * ``<v_i v_{i+1} v_{i+2} v_{i+3}> = q^3 / rho^2``.

    Exact for a stationary nearest-neighbour chain (eq. 37 with ``K = 0``).

    Returns
    -------
    tuple of ndarray
        ``(<v_i v_{i+2}>, <v_i v_{i+1} v_{i+2}>, <v_i ... v_{i+3}>)`` per site.

    Examples
    --------
    >>> [round(float(m), 4) for m in pair_approximation(0.5, 0.25)]  # independent sites
    [0.25, 0.125, 0.0625]
    """
    rho = np.asarray(density, dtype=np.float64)
    q = np.asarray(pair, dtype=np.float64)
    return q**2 / rho + (rho - q) ** 2 / (1 - rho), q**2 / rho, q**3 / rho**2


def classical_closure(initial_moments, n_sites: int, times, *, k_r: float, D: float,
                      method: str = "pair", pair_sign: float = -1.0,
                      max_step: float = 1e-3) -> np.ndarray:
    """Integrate the first two lines of (36) closed by mean field or the pair approximation.

    Per site, ``rho = <v_i>`` and ``q = <v_i v_{i+1}>``:

    * ``method="mean field"``: uncorrelated sites, ``q = rho^2``, so ``d rho/dt
      = -2 k_r rho^2`` and every chain moment is ``rho^k``;
    * ``method="pair"``: ``d rho/dt = -2 k_r q``, ``dq/dt = 2 D <v_i v_{i+2}> -
      2 k_r <v_i v_{i+1} v_{i+2}> + (pair_sign k_r - 2 D) q`` with the unknown
      moments from :func:`pair_approximation`; order 4 is ``q^3/rho^2``.
      ``pair_sign = +1`` is the paper's (36); ``-1`` (default) is what the
      simulations show (:func:`check_pair_line`).

    Forward Euler with steps of at most ``max_step`` (the pair line relaxes at
    rate about ``2 D + k_r``: keep ``max_step`` well below ``1 / (2 D)``);
    ``times`` must start at 0 and be evenly spaced.

    Parameters
    ----------
    initial_moments : array_like, shape (n, >= 2)
        Raw sums ``<sum v_i>``, ``<sum v_i v_{i+1}>`` at t = 0 (open chain).
    n_sites : int
    times : array_like, shape (n_times,)

    Returns
    -------
    ndarray, shape (n, n_times, 4)
        Raw open-chain sums of orders 1-4, ``(L - k + 1) m_k``.

    Examples
    --------
    >>> m = classical_closure([[50.0, 24.75]], 100, [0.0, 1.0], k_r=0.5, D=0.0,
    ...                       method="mean field", max_step=1e-3)
    >>> round(float(m[0, 1, 0] / 100), 3)  # rho0 / (1 + 2 k_r rho0 t) = 0.5 / 1.5
    0.333
    """
    if method not in ("pair", "mean field"):
        raise ValueError(f"`method` must be 'pair' or 'mean field'; got {method!r}.")
    m0 = np.atleast_2d(np.asarray(initial_moments, dtype=np.float64))
    t = np.asarray(times, dtype=np.float64)
    L = int(n_sites)
    if t[0] != 0 or (len(t) > 1 and not np.allclose(np.diff(t), t[1] - t[0])):
        raise ValueError("`times` must start at 0 and be evenly spaced.")
    rho = m0[:, 0] / L
    q = m0[:, 1] / (L - 1) if method == "pair" else rho**2
    n_substeps = int(np.ceil((t[1] - t[0]) / max_step - 1e-9)) if len(t) > 1 else 0
    h = (t[1] - t[0]) / n_substeps if len(t) > 1 else 0.0
    out = np.empty((m0.shape[0], len(t), 4))
    for n in range(len(t)):
        if n > 0:
            for _ in range(n_substeps):
                if method == "mean field":
                    rho = rho - h * 2 * k_r * rho**2
                    q = rho**2
                else:
                    s2, t3, _ = pair_approximation(rho, q)
                    dq = 2 * D * s2 - 2 * k_r * t3 + (pair_sign * k_r - 2 * D) * q
                    rho, q = rho - h * 2 * k_r * q, q + h * dq
        if method == "mean field":
            per_site = np.stack([rho, rho**2, rho**3, rho**4], axis=-1)
        else:
            _, t3, t4 = pair_approximation(rho, q)
            per_site = np.stack([rho, q, t3, t4], axis=-1)
        out[:, n] = per_site * (L - np.arange(4))
    return out


# --------------------------------------------------------------------------------------
# Figures 3(a), 3(b) and a small training run for sliders


def plot_initial_nn_moment(run: ClosureRun, data: AnnihilationData):
    """Fig. 3(a): the nearest-neighbour moment ``<sum v_i v_{i+1}>`` at t = 0 of both models.

    Scatter projections of the training initial conditions on the (b, J),
    (J, K) planes (visible model) and (b, W), (W, b') planes (hidden model),
    coloured by the model's exact moment (transfer matrices) on the data's
    lattice length; one colour scale. Returns the figure.
    """
    import matplotlib.pyplot as plt

    L = data.states.shape[-1]
    vis = ising_chain_moments(data.initial_theta, L)[:, 1]
    hid = hidden_chain_moments(run.hidden_initial, L)[:, 1]
    lo, hi = min(vis.min(), hid.min()), max(vis.max(), hid.max())
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), layout="constrained")
    panels = [(data.initial_theta, vis, 0, 1, "b", "J"), (data.initial_theta, vis, 1, 2, "J", "K"),
              (run.hidden_initial, hid, 0, 1, "b", "W"), (run.hidden_initial, hid, 1, 2, "W", "b'")]
    for ax, (th, m, i, j, xi, yj) in zip(axes, panels, strict=True):
        sc = ax.scatter(th[:, i], th[:, j], c=m, vmin=lo, vmax=hi, cmap="viridis", s=25,
                        edgecolor="k", lw=0.3)
        ax.set_xlabel(f"${xi}$")
        ax.set_ylabel(f"${yj}$")
    axes[0].set_title("visible model (37)")
    axes[2].set_title("hidden model (39)")
    fig.colorbar(sc, ax=axes, label=r"$\langle\sum_i v_i v_{i+1}\rangle$ at $t = 0$")
    return fig


def plot_hidden_correlation(run: ClosureRun, data: AnnihilationData, *, pair_moments=None):
    """Fig. 3(b): learned ``W(t)`` and ``b'(t)`` of the hidden model next to ``2<v_i v_{i+1}> - 1``.

    One line per training condition, coloured by the simulations' initial
    nearest-neighbour correlation per site ``2 <v_i v_{i+1}> - 1`` (mean over
    the lattices, ``L - 1`` pairs). ``pair_moments`` (n_conditions, n_times):
    the mean raw ``<sum v_i v_{i+1}>`` of ``data`` if already computed (e.g.
    ``hierarchy_moments(data.states)[..., 1]``). Returns the figure.
    """
    import matplotlib.pyplot as plt

    n_steps = data.n_times - 1
    times = np.arange(data.n_times) * run.hidden.dt
    hid = run.hidden.solve(run.hidden_initial, n_steps)
    L = data.states.shape[-1]
    if pair_moments is None:
        pair_moments = data.chain_moments(max_order=2)[..., 1]
    corr = 2 * np.asarray(pair_moments) / (L - 1) - 1
    colours = plt.cm.coolwarm((corr[:, 0] - corr[:, 0].min()) / np.ptp(corr[:, 0]))
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6), layout="constrained")
    for c in range(len(hid)):
        axes[0].plot(times, hid[c, :, 1], color=colours[c], lw=0.8)
        axes[1].plot(times, hid[c, :, 2], color=colours[c], lw=0.8)
        axes[2].plot(times, corr[c], color=colours[c], lw=0.8)
    for ax, lab in zip(axes, ("learned $W$", "learned $b'$",
                              r"simulations: $2\langle v_i v_{i+1}\rangle - 1$"), strict=True):
        ax.set_xlabel("t")
        ax.set_title(lab)
    return fig


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

    ode: object
    fit: object
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
    n_sweeps: int = 120,
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
    (SGD, CD-1, batch of ``min(10, n_lattices)`` lattices, window ``window``)
    for ``n_sweeps`` sweeps, the window moving so that it reaches the end of
    the data. About a second with the defaults.

    Examples
    --------
    >>> r = small_closure_run(0.5, 0.01, n_conditions=2, n_lattices=3, n_sites=40,
    ...                       n_steps=10, n_sweeps=4)
    >>> r.simulation.shape == r.model.shape == (2, 11, 2)
    True
    """
    import time

    from .dynamics import IsingMoments, ParameterODE, train

    t0 = time.perf_counter()
    s_data, s_fit = as_seed_sequence(seed).spawn(2)
    data = annihilation_data(n_conditions, n_lattices=n_lattices, n_sites=n_sites,
                             n_steps=n_steps, prob=prob, seed=s_data, progress=False)
    cells = np.full(3, float(cell_size))
    lo, hi = _domain(np.asarray(box, dtype=np.float64), cells, 0.0)
    ode = ParameterODE(["b", "J", "K"], [0, 1, 2], lo, hi, cells, dt=data.meta["dt"])
    problem = IsingMoments(data.initial_theta, data.states, n_samples=min(10, n_lattices))
    n_iter = int(n_sweeps) * int(n_conditions)
    shift = max(1, n_iter // max(1, n_steps - window + 1))
    fit = train(ode, problem, n_iter=n_iter, lr=lr, window=window, shift_every=shift,
                seed=s_fit, progress=False)
    th = ode.solve(data.initial_theta, n_steps)
    model = ising_chain_moments(th, n_sites, max_order=2)
    sim = data.chain_moments(max_order=2)
    return SmallRun(ode, fit, data, np.arange(n_steps + 1) * ode.dt, sim, model,
                    time.perf_counter() - t0)


def plot_small_closure_run(r: SmallRun):
    """Density and nearest-neighbour moment per site: simulation (dots) vs learned model (lines).

    Returns the figure.
    """
    import matplotlib.pyplot as plt

    L = r.data.states.shape[-1]
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.5), layout="constrained")
    for c in range(len(r.model)):
        col = f"C{c % 10}"
        for k, ax in enumerate(axes[:2]):
            ax.plot(r.times[::5], r.simulation[c, ::5, k] / (L - k), ".", color=col, ms=3)
            ax.plot(r.times, r.model[c, :, k] / (L - k), color=col, lw=1)
    axes[0].set(xlabel="t", ylabel=r"$\langle v_i\rangle$", title="density (dots: simulation)")
    axes[1].set(xlabel="t", ylabel=r"$\langle v_i v_{i+1}\rangle$", title="nearest neighbours")
    n = len(r.model)
    loss = np.convolve(r.fit.loss_history, np.ones(n) / n, mode="valid")
    axes[2].semilogy(np.arange(len(loss)) + n - 1, loss)
    err = closure_rmse(r.model, r.simulation).mean(0)
    axes[2].set(xlabel="step", ylabel="moment mismatch (mean over a sweep)",
                title=f"cell {r.ode.cell_size[0]:g}: time-mean RMSE of the sums "
                      f"{err[0]:.1f}, {err[1]:.1f}")
    return fig

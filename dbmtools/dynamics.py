"""Learned parameter dynamics: ``dtheta/dt = F(theta; u)`` and Algorithm 1 (paper section III).

A dynamic Boltzmann distribution ``p(v; theta(t)) = exp(theta . phi(v)) / Z(theta)``
moves its interaction parameters ``theta`` (one per moment ``phi_k``, raw
lattice sums) along the autonomous ODE system (eqs. 26-27)

    dtheta_k / dt = F_k(theta[args]),   F_k(x) = sum_l U[k, l] f_l(x),

where the ``f_l`` are the Q3 C1 (cubic Hermite) basis functions of one shared
finite-element domain over the chosen arguments ``args`` of ``theta``
(eq. 34, :class:`dbmtools.HermiteGrid`). The coefficients ``U`` (shape
``(K, n_dofs)``) are learned so that the model moments
``mu~_k(t) = d ln Z / d theta_k`` match the moments ``mu_k(t)`` of stochastic
simulations at every data time.

* :class:`ParameterODE` holds the ``F_k``: right-hand side, forward (explicit
  Euler) solves, plotting views (:meth:`ParameterODE.grid`), save and load.
* :func:`adjoint_gradient`: the exact gradient of the discretised objective
  by the discrete adjoint of the Euler scheme (eqs. 30-31, 33, 41), for any
  moment estimator of :mod:`dbmtools.estimators` (the ``MomentProblem`` protocol).
* :func:`train`: Algorithm 1 (SGD or Adam, per-parameter learning rates,
  batches, moving window, checkpoints); :func:`predict` integrates a trained
  model from new initial conditions.
* :func:`visited_cells`, :func:`cell_vertices`: where in the finite-element
  domain trajectories go (``F`` is learned only there).

The experiments of the paper's section IV live in :mod:`dbmtools.annihilation1d`
and :mod:`dbmtools.rossler3d`; this module knows nothing of them.

The discretised objective
-------------------------
With data times ``t_m = m dt`` and a window of data times ``m0 .. m1``::

    S = sum_{m=m0}^{m1} dt [ln Z(theta_m) - theta_m . mu_m]
        + l2 * dt * sum_{m=m0}^{m1} |theta_m - theta_bar|^2,

which is ``sum_m dt KL(p_m || p~_m)`` up to a constant (eq. 28) plus the L2
term of eq. (32). Hence ``dS/dtheta_m = dt (mu~_m - mu_m) + 2 l2 dt (theta_m -
theta_bar)``, the source term of the adjoint equation (31)/(33).
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import (
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
)
from ._config import njit, show_progress
from ._io import check_writable, json_ready, load_npz, save_npz
from ._optim import OPTIMIZERS, Adam
from ._random import SeedLike, as_seed_sequence
from .estimators import MomentProblem
from .hermite import HermiteGrid, cell_tables

__all__ = [
    "ParameterODE",
    "centred_domain",
    "visited_cells",
    "cell_vertices",
    "GradientResult",
    "adjoint_gradient",
    "TrainResult",
    "train",
    "validation_loss",
    "predict",
]


# ---------------------------------------------------------------------------
# The parameter ODE
# ---------------------------------------------------------------------------
class ParameterODE:
    """Right-hand sides ``F_k(theta[args])`` on one shared Hermite domain, k = 1..K.

    Parameters
    ----------
    names : sequence of str, length K
        Names of the parameters ``theta_k`` (one ODE each), e.g. ``("b", "J", "K")``.
    args : sequence of int or str, length d (1 to 3)
        The parameters that every ``F_k`` takes as arguments (indices into
        ``theta`` or names from ``names``), e.g. all three for eq. (38), or
        ``(b_A, b_B, b_C)`` for the Rössler model.
    lower, upper : sequence of float, length d
        Corners of the finite-element domain over ``theta[args]``.
    cell_size : float or sequence of float
        Cell side(s); ``upper - lower`` must be a whole number of cells.
    dt : float
        Time between data points (the data timestep).
    n_substeps : int
        Explicit Euler substeps per data timestep, ``h = dt / n_substeps``.
    coeffs : array_like, shape (K, n_dofs), optional
        Hermite coefficients ``U`` of every ``F_k`` (row ``k`` is
        ``HermiteGrid.coeffs.ravel()`` of ``F_k``); zeros by default.

    Attributes
    ----------
    names : tuple of str
    args : ndarray of int64, shape (d,)
    n_params : int
        ``K``.
    dim : int
        ``d``.
    n_dofs : int
        Coefficients per ``F_k``.
    coeffs : ndarray, shape (K, n_dofs)
        Live coefficients; assignment copies into the buffer.
    dt, n_substeps
    meta : dict
        JSON-ready notes stored by :meth:`save` (checkpoints put the step there).

    Examples
    --------
    >>> ode = ParameterODE(["x", "y"], ["x"], [-1.0], [1.0], 0.5, dt=0.1, n_substeps=10)
    >>> ode.coeffs.shape
    (2, 10)
    >>> g = ode.grid(0)
    >>> _ = g.interpolate(lambda p: -p[:, 0], lambda p: -np.ones((len(p), 1)))
    >>> ode.set_grid(0, g)                      # dx/dt = -x, dy/dt = 0
    >>> th = ode.solve([[0.5, 0.2]], n_steps=10)
    >>> th.shape, round(float(th[0, -1, 0]), 4), round(0.5 * 0.99 ** 100, 4)
    ((1, 11, 2), 0.183, 0.183)
    """

    def __init__(
        self,
        names: Sequence[str],
        args: Sequence[int | str],
        lower: Sequence[float],
        upper: Sequence[float],
        cell_size: float | Sequence[float],
        *,
        dt: float = 0.01,
        n_substeps: int = 1,
        coeffs: np.ndarray | None = None,
    ) -> None:
        self.names, self.args = _check_names_args(names, args)
        self._template = HermiteGrid(lower, upper, cell_size)
        if self._template.dim != self.args.size:
            raise ValueError(
                f"`lower`/`upper` must have one entry per argument ({self.args.size}); got "
                f"{self._template.dim}."
            )
        self.dt = check_positive("dt", dt)
        self.n_substeps = check_int("n_substeps", n_substeps, 1)
        self._coeffs = np.zeros((len(self.names), self._template.n_dofs))
        if coeffs is not None:
            self.coeffs = coeffs
        #: Free-form JSON-ready notes, saved with the model (e.g. training settings).
        self.meta: dict = {}

    # -- geometry and coefficients ---------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of parameters (and of ODEs) ``K``."""
        return len(self.names)

    @property
    def dim(self) -> int:
        """Number of arguments ``d`` of every ``F_k``."""
        return int(self.args.size)

    @property
    def n_dofs(self) -> int:
        """Coefficients of one ``F_k``."""
        return self._template.n_dofs

    @property
    def lower(self) -> np.ndarray:
        """Lower corner of the domain, shape (d,)."""
        return self._template.lower.copy()

    @property
    def upper(self) -> np.ndarray:
        """Upper corner of the domain, shape (d,)."""
        return self._template.upper.copy()

    @property
    def cell_size(self) -> np.ndarray:
        """Cell sides, shape (d,)."""
        return self._template.cell_size.copy()

    @property
    def coeffs(self) -> np.ndarray:
        """Coefficients ``U``, shape (K, n_dofs)."""
        return self._coeffs

    @coeffs.setter
    def coeffs(self, value) -> None:
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != self._coeffs.shape:
            raise ValueError(
                f"`coeffs` must have shape {self._coeffs.shape} (n_params, n_dofs); got "
                f"{arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("`coeffs` must be finite; got NaN or inf.")
        self._coeffs[...] = arr

    @property
    def _geometry(self):
        lo, h, nc, st, _ = self._template.kernel_args
        return lo, h, nc, st

    def grid(self, k: int | str) -> HermiteGrid:
        """A :class:`HermiteGrid` holding a copy of ``F_k`` (for plotting and evaluation).

        Parameters
        ----------
        k : int or str
            Index or name of the parameter.
        """
        k = self._index(k, "k")
        g = HermiteGrid(self._template.lower, self._template.upper, self._template.cell_size)
        g.coeffs = self._coeffs[k].reshape(g.coeffs.shape)
        return g

    def set_grid(self, k: int | str, grid: HermiteGrid) -> None:
        """Copy the coefficients of ``grid`` (same domain) into ``F_k``."""
        k = self._index(k, "k")
        if not isinstance(grid, HermiteGrid):
            raise TypeError(f"`grid` must be a HermiteGrid; got {type(grid).__name__}.")
        t = self._template
        if (
            grid.dim != t.dim
            or not np.allclose(grid.lower, t.lower)
            or not np.allclose(grid.upper, t.upper)
            or not np.allclose(grid.cell_size, t.cell_size)
        ):
            raise ValueError(f"`grid` must have this ODE's domain {t!r}; got {grid!r}.")
        self._coeffs[k] = grid.coeffs.reshape(-1)

    def _index(self, k, name):
        if isinstance(k, str):
            if k not in self.names:
                raise ValueError(f"`{name}` must be one of {self.names}; got {k!r}.")
            return self.names.index(k)
        if (
            isinstance(k, bool)
            or not isinstance(k, numbers.Integral)
            or not (0 <= k < self.n_params)
        ):
            raise ValueError(f"`{name}` must be an index in [0, {self.n_params - 1}]; got {k!r}.")
        return int(k)

    def __repr__(self) -> str:
        return (
            f"ParameterODE(names={self.names}, args={[self.names[a] for a in self.args]}, "
            f"lower={self.lower.tolist()}, upper={self.upper.tolist()}, "
            f"cell_size={self.cell_size.tolist()}, dt={self.dt}, n_substeps={self.n_substeps})"
        )

    # -- evaluation -------------------------------------------------------------
    def rhs(self, theta: np.ndarray) -> np.ndarray:
        """``F(theta)``, shape like ``theta`` (..., K).

        Raises
        ------
        ValueError
            If a point lies outside the domain (naming the parameter and bound).
        """
        th, flat = self._points_inside(theta)
        out = np.empty_like(flat)
        lo, h, nc, st = self._geometry
        _rhs_kernel(flat, self.args, lo, h, nc, st, self._coeffs, out)
        return out.reshape(th.shape)

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """``dF_k / dtheta_j``, shape (..., K, K) (zero outside the ``args`` columns)."""
        th, flat = self._points_inside(theta)
        out = np.zeros((flat.shape[0], self.n_params, self.n_params))
        lo, h, nc, st = self._geometry
        _jacobian_kernel(flat, self.args, lo, h, nc, st, self._coeffs, out)
        return out.reshape((*th.shape, self.n_params))

    def cell_index(self, theta: np.ndarray) -> np.ndarray:
        """Indices of the finite-element cells that hold ``theta[..., args]``.

        Parameters
        ----------
        theta : array_like, shape (..., K)

        Returns
        -------
        ndarray of int64, shape (..., d)
            See :meth:`dbmtools.HermiteGrid.cell_index` (a point on an interior
            face belongs to the cell above it, the upper boundary to the last cell).

        Raises
        ------
        ValueError
            If a point lies outside the domain (naming the parameter and bound).
        """
        th, flat = self._points_inside(theta)
        cells = self._template.cell_index(flat[:, self.args])
        return cells.reshape((*th.shape[:-1], self.dim))

    def _points_inside(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """``theta`` checked (..., K) and as contiguous rows (n, K), all inside the domain."""
        th = _check_theta(theta, self.n_params, "theta")
        flat = np.ascontiguousarray(th.reshape(-1, self.n_params))
        self._check_inside(flat, "theta")
        return th, flat

    def _check_inside(self, flat, name, times=None):
        x = flat[:, self.args]
        lo, hi = self._template.lower, self._template.upper
        tol = 1e-12 * (np.abs(lo) + (hi - lo))
        below = x < lo
        above = x > hi + tol
        bad = below | above
        if np.any(bad):
            p, a = np.argwhere(bad)[0]
            where = f" at t = {times[p]:g}" if times is not None else f" (row {p})"
            side, bound = ("below the lower", lo[a]) if below[p, a] else ("above the upper", hi[a])
            raise ValueError(
                f"`{name}`: parameter {self.names[self.args[a]]!r} = {x[p, a]:.6g}{where} is "
                f"{side} bound {bound:g} of the finite-element domain; enlarge the domain "
                "(`lower`/`upper`) or shorten the trajectory."
            )

    # -- forward solve ------------------------------------------------------------
    def solve(
        self,
        initial_theta: np.ndarray,
        n_steps: int,
        *,
        substeps: bool = False,
    ) -> np.ndarray:
        """Integrate by explicit Euler, ``theta_{n+1} = theta_n + h F(theta_n)``.

        ``h = dt / n_substeps``.

        The trajectory is checked against the domain at every substep.

        Parameters
        ----------
        initial_theta : array_like, shape (n_traj, K) or (K,)
            Initial conditions.
        n_steps : int
            Data timesteps to integrate (>= 0).
        substeps : bool
            Return every Euler substep instead of the data times only.

        Returns
        -------
        ndarray, shape (n_traj, n_steps + 1, K)
            ``theta`` at the data times ``0, dt, ..., n_steps dt`` (or
            ``(n_traj, n_steps * n_substeps + 1, K)`` with ``substeps``); a
            single initial condition of shape (K,) gives (n_steps + 1, K).

        Raises
        ------
        ValueError
            If a trajectory leaves the domain: the message names the
            trajectory, the parameter, the time and the bound.
        """
        th0 = _check_theta(initial_theta, self.n_params, "initial_theta")
        single = th0.ndim == 1
        th0 = np.ascontiguousarray(th0.reshape(-1, self.n_params))
        n_steps = check_int("n_steps", n_steps, 0)
        self._check_inside(th0, "initial_theta")
        n_total = n_steps * self.n_substeps
        out = np.empty((th0.shape[0], n_total + 1, self.n_params))
        for i in range(th0.shape[0]):
            name = "initial_theta" if single else f"initial_theta[{i}]"
            self._forward(th0[i], n_total, out[i], name)
        if not substeps:
            out = out[:, :: self.n_substeps]
        return out[0] if single else out

    def _forward(self, initial_theta, n_total, out, name):
        """Fill ``out`` (n_total + 1, K) from ``initial_theta``; raise if it leaves the domain."""
        lo, h, nc, st = self._geometry
        out[0] = initial_theta
        bad = _forward_kernel(
            self.args, lo, h, nc, st, self._coeffs, self.dt / self.n_substeps, n_total, out
        )
        if bad >= 0:
            times = np.arange(n_total + 1) * (self.dt / self.n_substeps)
            self._check_inside(out[bad : bad + 1], name, times[bad : bad + 1])
            raise ValueError(f"`{name}`: the trajectory is not finite at t = {times[bad]:g}.")

    # -- persistence --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A dict of JSON-ready settings and the coefficient array; :meth:`from_dict` inverts it."""
        return {
            "names": list(self.names),
            "args": [int(a) for a in self.args],
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "cell_size": self.cell_size.tolist(),
            "dt": self.dt,
            "n_substeps": self.n_substeps,
            "coeffs": self._coeffs.copy(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParameterODE:
        """Rebuild from :meth:`to_dict` output."""
        keys = {"names", "args", "lower", "upper", "cell_size", "dt", "n_substeps", "coeffs"}
        missing = keys - set(data)
        if missing:
            raise ValueError(f"`data` lacks the keys {sorted(missing)}.")
        return cls(
            data["names"],
            data["args"],
            data["lower"],
            data["upper"],
            data["cell_size"],
            dt=data["dt"],
            n_substeps=data["n_substeps"],
            coeffs=data["coeffs"],
        )

    def save(self, path: str | os.PathLike, *, meta: dict | None = None) -> None:
        """Write ``path`` (exactly that name), atomically: coefficients + JSON settings.

        ``meta`` is stored beside :attr:`meta`. The file is first written to a
        temporary file in the same folder, then renamed, so an interrupted save
        never leaves a truncated file (training checkpoints rely on it).
        """
        d = self.to_dict()
        coeffs = d.pop("coeffs")
        d["meta"] = json_ready({**self.meta, **(meta or {})})
        save_npz(path, type(self).__name__, {"coeffs": coeffs}, d)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ParameterODE:
        """Read a file written by :meth:`save` (``allow_pickle=False``); ``meta`` in ``.meta``.

        The settings are checked exactly as by the constructor.
        """
        arrays, settings = load_npz(path, cls.__name__, ["coeffs"])
        meta = settings.pop("meta", {})
        settings["coeffs"] = arrays["coeffs"]
        try:
            ode = cls.from_dict(settings)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{os.fspath(path)!r} holds an invalid {cls.__name__}: {err}") from err
        ode.meta = meta
        return ode


def centred_domain(
    centre: Sequence[float], cell_size: float | Sequence[float], half_width: float | Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """A domain ``(lower, upper)`` whose middle cell is centred on ``centre``.

    It covers at least ``centre +- half_width`` with whole cells, an odd number
    per axis (the paper places the Rössler initial condition at a cell centre).

    Examples
    --------
    >>> lo, hi = centred_domain([0.0, 1.0], 0.1, 0.3)
    >>> lo.round(6).tolist(), hi.round(6).tolist()
    ([-0.35, 0.65], [0.35, 1.35])
    """
    c = np.atleast_1d(np.asarray(centre, dtype=np.float64))
    h = np.broadcast_to(np.asarray(cell_size, dtype=np.float64), c.shape)
    w = np.broadcast_to(np.asarray(half_width, dtype=np.float64), c.shape)
    for name, v in (("centre", c), ("cell_size", h), ("half_width", w)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"`{name}` must be finite; got {v.tolist()}.")
    if np.any(h <= 0) or np.any(w < 0):
        raise ValueError(
            f"`cell_size` must be > 0 and `half_width` >= 0; got {h.tolist()} and {w.tolist()}."
        )
    n = np.maximum(0, np.ceil(w / h - 0.5 - 1e-9))
    return c - (n + 0.5) * h, c + (n + 0.5) * h


def visited_cells(ode: ParameterODE, trajectories: np.ndarray) -> set[tuple[int, ...]]:
    """The finite-element cells (index tuples) that points of ``trajectories`` (..., K) lie in.

    A point on an interior cell face counts for the cell above it; the upper
    boundary belongs to the last cell (:meth:`ParameterODE.cell_index`).

    Examples
    --------
    >>> ode = ParameterODE(["a"], [0], [0.0], [2.0], 0.5)
    >>> sorted(visited_cells(ode, np.array([[0.1], [0.2], [1.9], [2.0]])))
    [(0,), (3,)]
    """
    cells = ode.cell_index(trajectories).reshape(-1, ode.dim)
    return {tuple(int(v) for v in c) for c in cells}


def cell_vertices(ode: ParameterODE, cells) -> np.ndarray:
    """Coordinates of the distinct vertices of the given cells, shape (n_vertices, d).

    Parameters
    ----------
    ode : ParameterODE
    cells : iterable of index tuples, or array of shape (n_cells, d)
        E.g. the output of :func:`visited_cells`.

    Examples
    --------
    >>> ode = ParameterODE(["a", "b"], [0, 1], [0.0, 0.0], [1.0, 1.0], 0.5)
    >>> cell_vertices(ode, {(0, 1)}).tolist()
    [[0.0, 0.5], [0.0, 1.0], [0.5, 0.5], [0.5, 1.0]]
    """
    idx = np.array(sorted(tuple(c) for c in cells), dtype=np.int64).reshape(-1, ode.dim)
    corners = np.indices((2,) * ode.dim).reshape(ode.dim, -1).T  # cell units
    vertices = np.unique((idx[:, None, :] + corners).reshape(-1, ode.dim), axis=0)
    return vertices * ode.cell_size + ode.lower


# ---------------------------------------------------------------------------
# The adjoint gradient
# ---------------------------------------------------------------------------
@dataclass
class GradientResult:
    """Result of :func:`adjoint_gradient` for one trajectory.

    Attributes
    ----------
    grad : ndarray, shape (K, n_dofs)
        ``dS/dU``.
    grad_theta : ndarray, shape (K,)
        ``dS/dtheta`` at the start of the adjoint solve: the initial condition
        (full gradient) or ``theta(tau)`` (truncated).
    theta : ndarray, shape (n_window, K)
        The trajectory at the window's data times.
    model_moments, data_moments : ndarray, shape (n_window, K)
    time_indices : ndarray of int, shape (n_window,)
    """

    grad: np.ndarray
    grad_theta: np.ndarray
    theta: np.ndarray
    model_moments: np.ndarray
    data_moments: np.ndarray
    time_indices: np.ndarray


def adjoint_gradient(
    ode: ParameterODE,
    problem: MomentProblem,
    trajectory: int,
    *,
    start: int = 0,
    stop: int | None = None,
    truncated: bool = False,
    l2: float = 0.0,
    theta_bar: np.ndarray | None = None,
    seed: SeedLike = None,
) -> GradientResult:
    """Gradient of the discretised objective over data times ``start..stop`` (discrete adjoint).

    The forward solve is ``theta_{n+1} = theta_n + h F(theta_n; U)`` from the
    trajectory's initial condition up to data time ``stop``. With
    ``g_n = dS/dtheta_n`` (``dt (mu~ - mu) + 2 l2 dt (theta - theta_bar)`` at
    substeps that are data times in the window, 0 elsewhere), the adjoint runs
    backwards

        lambda_N = g_N,   lambda_n = g_n + lambda_{n+1} + h J_n^T lambda_{n+1},

    (``J_n = dF/dtheta`` at ``theta_n``) and accumulates
    ``dS/dU[k, l] += h f_l(theta_n) lambda_{n+1}[k]``. This is the exact
    gradient of the discrete objective: with exact moments it equals finite
    differences to rounding error.

    Parameters
    ----------
    ode : ParameterODE
    problem : MomentProblem
    trajectory : int
        Which trajectory (row of ``problem.initial_theta``).
    start, stop : int
        First and last data time of the window (``0 <= start <= stop < n_times``);
        ``stop`` defaults to the last data time.
    truncated : bool
        ``False``: the full gradient, the adjoint solved back to ``t = 0``.
        ``True``: the paper's moving-window gradient (eq. 41), solved back only to
        ``tau = start * dt``; it is the exact gradient of ``S`` with
        ``theta(tau)`` held fixed.
    l2 : float
        ``lambda_r`` of eq. (32), >= 0.
    theta_bar : array_like, shape (K,), optional
        Centre of the L2 term (zeros by default).
    seed : None, int, SeedSequence or Generator
        For sampled moment estimators.

    Returns
    -------
    GradientResult

    Notes
    -----
    Correspondence with the paper: ``lambda_n`` is the discrete counterpart of
    ``-phi(t_n)`` of eq. (31) (with ``phi(t_f) = 0``): in the continuous limit
    ``-dlambda/dt = dt-density of g + J^T lambda``, i.e. eq. (31) for ``phi = -lambda``
    with the source ``mu~ - mu`` (eq. 33 with the L2 term), and ``dS/dU``
    above is eq. (30) (eq. 41 when truncated) with the integral replaced by
    the Euler sum. The jump ``g_N`` at the last data time is the discrete form
    of the source at ``t_f``.

    Examples
    --------
    >>> ode = ParameterODE(["a"], [0], [-3.0], [3.0], 1.0, dt=0.1)
    >>> from dbmtools.estimators import ExactMoments
    >>> p = ExactMoments(np.full((1, 4, 1), 30.0), [[0.0]],
    ...                  model_moments=lambda t: 100 / (1 + np.exp(-t)))
    >>> r = adjoint_gradient(ode, p, 0)
    >>> r.model_moments[:, 0].tolist(), r.grad.shape
    ([50.0, 50.0, 50.0, 50.0], (1, 14))
    """
    n_traj, n_params = _check_problem(ode, problem)
    if (
        isinstance(trajectory, bool)
        or not isinstance(trajectory, numbers.Integral)
        or not (0 <= trajectory < n_traj)
    ):
        raise ValueError(f"`trajectory` must be an index in [0, {n_traj - 1}]; got {trajectory!r}.")
    stop = problem.n_times - 1 if stop is None else stop
    start = check_int("start", start, 0)
    stop = check_int("stop", stop, 0)
    if not start <= stop < problem.n_times:
        raise ValueError(
            f"`start` and `stop` must satisfy 0 <= start <= stop < n_times={problem.n_times}; "
            f"got {start} and {stop}."
        )
    l2 = check_nonnegative("l2", l2)
    tbar = _check_theta_bar(theta_bar, n_params)
    buffers = _Buffers(ode, stop)
    return _gradient(
        ode,
        problem,
        int(trajectory),
        start,
        stop,
        bool(truncated),
        l2,
        tbar,
        seed,
        buffers,
        np.zeros_like(ode.coeffs),
    )


class _Buffers:
    """Per-call work arrays (allocated once per training run, not per step)."""

    def __init__(self, ode, max_stop, batch_size=1):
        n_sub = max_stop * ode.n_substeps
        self.sub = np.empty((n_sub + 1, ode.n_params))
        self.lam = np.empty(ode.n_params)
        self.g = np.empty((max_stop + 1, ode.n_params))
        # basis indices touched by each substep of each batch member's adjoint, so that
        # an SGD step reads and writes only those coefficients (the Rössler domain has
        # 9 x 262,144 of them and a window touches a few thousand)
        self.visits = np.empty((batch_size, max(n_sub, 1), 1 << (2 * ode.dim)), dtype=np.int64)
        self.n_visits = np.zeros(batch_size, dtype=np.int64)


def _gradient(ode, problem, i, start, stop, truncated, l2, tbar, seed, buf, grad, member=0):
    """One trajectory's forward solve, moments and adjoint; ``dS/dU`` is ADDED to ``grad``.

    The flat coefficient indices it touched are left in ``buf.visits[member]``
    (``buf.n_visits[member]`` substeps).
    """
    ns = ode.n_substeps
    n_total = stop * ns
    sub = buf.sub[: n_total + 1]
    ode._forward(problem.initial_theta[i], n_total, sub, f"initial_theta[{i}]")
    t_idx = np.arange(start, stop + 1)
    theta = sub[t_idx * ns].copy()
    model, data = problem.moments(i, t_idx, theta, seed)
    for name, mom in (("model", model), ("data", data)):
        if not np.all(np.isfinite(mom)):
            bad = int(t_idx[np.argmin(np.all(np.isfinite(mom), axis=1))])
            raise FloatingPointError(
                f"The {name} moments of trajectory {i} are not finite at data time {bad} "
                f"(theta = {sub[bad * ns].tolist()}); the gradient would be NaN."
            )
    g = buf.g[: t_idx.size]
    g[...] = ode.dt * (model - data)
    if l2 > 0:
        g += 2.0 * l2 * ode.dt * (theta - tbar)
    lo, h, nc, st = ode._geometry
    n_stop = start * ns if truncated else 0
    _adjoint_kernel(
        sub,
        ode.args,
        lo,
        h,
        nc,
        st,
        ode.coeffs,
        ode.dt / ns,
        ns,
        g,
        start,
        n_stop,
        grad,
        buf.lam,
        buf.visits[member],
    )
    buf.n_visits[member] = n_total - n_stop
    return GradientResult(
        grad=grad,
        grad_theta=buf.lam.copy(),
        theta=theta,
        model_moments=np.asarray(model),
        data_moments=np.asarray(data),
        time_indices=t_idx,
    )


# ---------------------------------------------------------------------------
# Training (Algorithm 1)
# ---------------------------------------------------------------------------
@dataclass
class TrainResult:
    """Result of :func:`train`.

    Attributes
    ----------
    params : ndarray, shape (K, n_dofs)
        The learned coefficients (also left in ``ode.coeffs``).
    loss_history : ndarray, shape (n_iter,)
        Root-mean-square moment mismatch ``mu~ - mu`` (raw sums) over the
        window, batch and parameters, at every step.
    n_iter : int
        Steps run.
    converged : bool
        With ``tol``: whether the mean of the last tenth of ``loss_history`` is
        below it. Without: whether every step stayed finite.
    tau_history : ndarray of int, shape (n_iter,)
        Window start (data time index) at every step.
    grad_norm_history : ndarray, shape (n_iter,)
        Norm of the batch-mean gradient ``dS/dU``.
    settings : dict
        The training settings (JSON-ready).
    interrupted : bool
        Whether training was stopped early by Ctrl-C (KeyboardInterrupt): the
        histories then hold the ``n_iter`` steps that finished.
    validation_history, validation_steps : ndarray
        Validation losses (:func:`validation_loss`; ``inf`` where a validation
        trajectory left the domain) and the steps after which they were taken.
    best_step : int or None
        The step whose coefficients ``ode`` was left with (with ``validation``).
    stopped_early : bool
        Whether ``patience`` ran out.
    failure : str or None
        Why training stopped before ``n_iter`` steps when a training trajectory
        left the finite-element domain: the steps finished so far are kept.
    """

    params: np.ndarray
    loss_history: np.ndarray
    n_iter: int
    converged: bool
    tau_history: np.ndarray
    grad_norm_history: np.ndarray
    settings: dict = field(default_factory=dict)
    interrupted: bool = False
    validation_history: np.ndarray = field(default_factory=lambda: np.empty(0))
    validation_steps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    best_step: int | None = None
    stopped_early: bool = False
    failure: str | None = None


def validation_loss(
    ode: ParameterODE,
    problem: MomentProblem,
    *,
    time_indices: np.ndarray | None = None,
    seed: SeedLike = None,
) -> float:
    """Root-mean-square moment mismatch of ``ode`` on a held-out problem.

    Every trajectory of ``problem`` is integrated from its initial condition
    over the whole horizon and the model and data moments are compared at
    ``time_indices`` (every data time by default): the quantity
    :func:`train` monitors for early stopping.

    Parameters
    ----------
    ode : ParameterODE
    problem : MomentProblem
        Held-out trajectories (a validation split of the training conditions,
        never the test set).
    time_indices : array_like of int, optional
        Data times compared.
    seed : None, int, SeedSequence or Generator
        For sampled moment estimators.

    Returns
    -------
    float
        ``sqrt(mean((mu~ - mu)^2))`` over trajectories, times and parameters.

    Examples
    --------
    >>> from dbmtools.estimators import ExactMoments
    >>> ode = ParameterODE(["a"], [0], [-3.0], [3.0], 1.0, dt=0.1)      # F = 0
    >>> p = ExactMoments(np.full((2, 4, 1), 30.0), [[0.0], [0.0]],
    ...                  model_moments=lambda t: 100 / (1 + np.exp(-t)))
    >>> validation_loss(ode, p)
    20.0
    """
    n_traj, n_params = _check_problem(ode, problem)
    last = problem.n_times - 1
    t_idx = (
        np.arange(last + 1) if time_indices is None else np.asarray(time_indices, dtype=np.int64)
    )
    if t_idx.ndim != 1 or t_idx.size == 0 or t_idx.min() < 0 or t_idx.max() > last:
        raise ValueError(f"`time_indices` must be data times in [0, {last}]; got {time_indices!r}.")
    rng = np.random.default_rng(as_seed_sequence(seed))
    theta = ode.solve(problem.initial_theta, int(t_idx.max()))
    sq, count = 0.0, 0
    for i in range(n_traj):
        model, data = problem.moments(i, t_idx, theta[i, t_idx], int(rng.integers(2**63)))
        diff = np.asarray(model) - np.asarray(data)
        sq += float(np.sum(diff * diff))
        count += diff.size
    return float(np.sqrt(sq / count))


def train(
    ode: ParameterODE,
    problem: MomentProblem,
    *,
    n_iter: int,
    lr: float | Sequence[float] = 1.0,
    optimizer: str = "sgd",
    batch_size: int = 1,
    window: int | None = None,
    shift_every: int = 1,
    truncated: bool = True,
    l2: float = 0.0,
    theta_bar: np.ndarray | None = None,
    tol: float | None = None,
    checkpoint_every: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    roughness: float = 0.0,
    roughness_order: int = 2,
    validation: MomentProblem | None = None,
    validate_every: int = 100,
    patience: int | None = None,
    seed: SeedLike = None,
    progress: bool = True,
) -> TrainResult:
    """Algorithm 1: learn ``ode.coeffs`` by stochastic gradient descent on the adjoint gradient.

    Each step takes a batch of trajectories (sweeping through the training
    set in a random order), solves each forward from its initial condition
    to the end of the window, estimates the moments in the window
    (``problem.moments``), solves the adjoint and averages ``dS/dU`` over the
    batch; then ``U -= lr * step`` (SGD) or an Adam step. ``ode`` is updated in
    place.

    Parameters
    ----------
    ode : ParameterODE
        Its coefficients are the starting point (zeros: ``F = 0``).
    problem : MomentProblem
    n_iter : int
        Optimisation steps.
    lr : float or sequence of float, length K
        Learning rate, one for all ``F_k`` or one per parameter (e.g. the
        paper's 0.8 for biases and 0.05 for weights).
    optimizer : {"sgd", "adam"}
    batch_size : int
        Trajectories per step (1 .. n_traj).
    window : int, optional
        Moving window (eq. 41) of ``window`` data timesteps: at step ``s`` the
        loss covers data times ``tau .. tau + window`` with
        ``tau = min(s // shift_every, n_times - 1 - window)``. ``None``: the
        whole trajectory every step.
    shift_every : int
        Steps between shifts of ``tau`` by one data timestep (>= 1).
    truncated : bool
        With a window: the paper's gradient (adjoint back to ``tau`` only,
        eq. 41) or, if False, the full gradient back to ``t = 0``.
    l2, theta_bar
        L2 regularisation (eq. 32), as in :func:`adjoint_gradient`.
    tol : float, optional
        Convergence threshold on the moment mismatch (see :class:`TrainResult`).
    checkpoint_every : int, optional
        Save ``ode`` to ``checkpoint_path`` every this many steps (and at the end),
        with the step, tau and last loss in its ``meta``.
    checkpoint_path : path, optional
    roughness : float
        Weight ``w >= 0`` of a smoothness penalty ``w sum_k u_k^T R u_k`` added
        to ``S``, with ``R`` the ``H^roughness_order`` seminorm of the Hermite
        interpolant (:meth:`dbmtools.HermiteGrid.roughness_matrix`): what is
        learned in visited cells spreads into their neighbours. Applied to every
        coefficient at every step (also with SGD, whose data gradient is sparse).
    roughness_order : int
        Order of the seminorm (1: gradients, 2: second derivatives).
    validation : MomentProblem, optional
        Held-out trajectories (e.g. a validation split of the training
        conditions). Every ``validate_every`` steps (and at the end) their
        :func:`validation_loss` is recorded; at the end ``ode`` is left with the
        coefficients of the best evaluation (``best_step``).
    validate_every : int
        Steps between validation evaluations.
    patience : int, optional
        With ``validation``: stop early after this many evaluations without
        improvement (``stopped_early``). ``None``: never stop early.
    seed : None, int, SeedSequence or Generator
    progress : bool
        Progress bar with the current moment mismatch and tau.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        Bad schedule (window longer than the data, ``shift_every < 1``,
        ``batch_size`` out of range), learning rates that are not finite and
        positive, mismatched shapes, or a trajectory leaving the domain at the
        first step (later, leaving the domain ends training with a warning and
        keeps the finished steps: ``failure``).
    FileNotFoundError, PermissionError, IsADirectoryError
        A ``checkpoint_path`` that cannot be written (checked before training).
    FloatingPointError
        A gradient that is not finite (NaN or inf moments, or divergence: the
        message says which it looks like).

    Notes
    -----
    **Interrupting, and failures that keep the work.** Ctrl-C
    (KeyboardInterrupt) between steps, or a training trajectory that leaves the
    finite-element domain after the first step, ends training with a warning
    and returns the steps done so far (``interrupted=True``, or ``failure``
    with the reason). ``ode`` then holds the coefficients of the best
    validation evaluation when ``validation`` is given (as at a normal end),
    and otherwise those of the last finished step; a checkpoint file (written
    atomically, through a temporary file) is never left half-written.

    Examples
    --------
    >>> # data: exact moments of L independent sites whose parameter obeys dtheta/dt = -theta
    >>> L = 100.0
    >>> true = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    >>> g = true.grid(0)
    >>> _ = g.interpolate(lambda x: -x[:, 0], lambda x: -np.ones((len(x), 1)))
    >>> true.set_grid(0, g)
    >>> th0 = np.array([[-1.5], [-0.5], [0.5], [1.5]])
    >>> mu = L / (1 + np.exp(-true.solve(th0, 10)))
    >>> from dbmtools.estimators import ExactMoments
    >>> p = ExactMoments(mu, th0, model_moments=lambda t: L / (1 + np.exp(-t)))
    >>> ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)   # F = 0
    >>> r = train(ode, p, n_iter=1000, lr=0.05, optimizer="adam", batch_size=4,
    ...           seed=0, progress=False)
    >>> bool(r.loss_history[-1] < 0.01 * r.loss_history[0])
    True
    >>> ode.rhs([[1.0], [-0.5]]).round(1).tolist()
    [[-1.0], [0.5]]
    """
    n_traj, n_params = _check_problem(ode, problem)
    n_iter = check_int("n_iter", n_iter, 1)
    lr_arr = _check_lr(lr, n_params)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    batch_size = check_int("batch_size", batch_size, 1)
    if batch_size > n_traj:
        raise ValueError(f"`batch_size` must be in [1, n_traj={n_traj}]; got {batch_size}.")
    last = problem.n_times - 1
    schedule = _Schedule(window, shift_every, truncated, last)
    l2 = check_nonnegative("l2", l2)
    tbar = _check_theta_bar(theta_bar, n_params)
    if tol is not None:
        tol = check_positive("tol", tol)
    checkpoint = _Checkpoint(checkpoint_every, checkpoint_path)
    penalty = _Roughness(ode, roughness, roughness_order)
    monitor = _Validation(ode, validation, validate_every, patience)
    settings = {
        "n_iter": n_iter,
        "lr": lr_arr.tolist(),
        "optimizer": optimizer,
        "batch_size": batch_size,
        "window": schedule.window,
        "shift_every": schedule.shift_every,
        "truncated": bool(truncated),
        "l2": l2,
        "tol": tol,
        "roughness": penalty.weight,
        "roughness_order": int(roughness_order),
        "validate_every": monitor.every,
        "patience": patience,
    }

    rng = np.random.default_rng(as_seed_sequence(seed))
    buf = _Buffers(ode, last, batch_size)
    loss = np.empty(n_iter)
    taus = np.empty(n_iter, dtype=np.int64)
    gnorm = np.empty(n_iter)
    adam = Adam(ode.coeffs.shape) if optimizer == "adam" else None
    total = np.zeros_like(ode.coeffs)
    order = np.empty(0, dtype=np.int64)

    from tqdm.auto import tqdm

    bar = tqdm(range(n_iter), desc="train", disable=not show_progress(progress))
    n_done = 0
    failure = None
    try:
        for step in bar:
            start, stop, trunc = schedule(step)
            if order.size < batch_size:  # next sweep through the trajectories
                order = np.concatenate([order, rng.permutation(n_traj)])
            batch, order = order[:batch_size], order[batch_size:]
            sq = 0.0
            count = 0
            for member, i in enumerate(batch):
                try:
                    r = _gradient(
                        ode,
                        problem,
                        int(i),
                        start,
                        stop,
                        trunc,
                        l2,
                        tbar,
                        int(rng.integers(2**63)),
                        buf,
                        total,
                        member,
                    )
                except ValueError as err:
                    if step == 0 or "finite-element domain" not in str(err):
                        raise
                    failure = (
                        f"{err} (at training step {step}; the largest |coefficient| of F is now "
                        f"{np.abs(ode.coeffs).max():.3g} and the mismatch went from "
                        f"{loss[0]:.3g} to {loss[step - 1]:.3g}: if F grew far beyond the "
                        "data's rates, training diverged: lower `lr`)"
                    )
                    break
                diff = r.model_moments - r.data_moments
                sq += float(np.sum(diff * diff))
                count += diff.size
            if failure is not None:  # a trajectory left the domain: keep the finished steps
                warnings.warn(
                    f"train stopped after {n_done} of {n_iter} steps: {failure}. The result "
                    "holds those steps"
                    + (
                        " and `ode` the coefficients of the best validation."
                        if monitor.problem is not None and monitor.best_coeffs is not None
                        else " and `ode` the coefficients of the last finished step."
                    ),
                    RuntimeWarning,
                    stacklevel=2,
                )
                total[:] = 0.0
                break
            loss[step] = np.sqrt(sq / count)
            taus[step] = start
            pen = penalty.gradient()  # at the coefficients before this step
            if adam is not None and pen is not None:
                total += len(batch) * pen
            gnorm[step] = _optimizer_step(ode, total, lr_arr, adam, buf, len(batch))
            _check_finite_gradient(gnorm[step], step, start, loss[: step + 1])
            if adam is None and pen is not None:
                ode._coeffs -= lr_arr[:, None] * pen  # SGD: the penalty acts on every coefficient
            n_done = step + 1
            if step % 10 == 0 or step == n_iter - 1:
                bar.set_postfix(mismatch=f"{loss[step]:.3g}", tau=start)
            checkpoint.maybe_save(ode, step, n_iter, start, loss[step], settings)
            if monitor.check(step, n_iter, rng):
                break
    except KeyboardInterrupt:
        warnings.warn(
            f"train was interrupted after {n_done} of {n_iter} steps; the result holds those "
            "steps and `ode` "
            + (
                "the coefficients of the best validation."
                if monitor.problem is not None and monitor.best_coeffs is not None
                else "the coefficients of the last finished step."
            ),
            RuntimeWarning,
            stacklevel=2,
        )
    finally:
        bar.close()
    loss, taus, gnorm = loss[:n_done], taus[:n_done], gnorm[:n_done]
    monitor.restore_best()
    converged = _converged(loss, tol, n_done == n_iter or monitor.stopped)
    return TrainResult(
        params=ode.coeffs.copy(),
        loss_history=loss,
        n_iter=n_done,
        converged=converged,
        tau_history=taus,
        grad_norm_history=gnorm,
        settings=settings,
        interrupted=n_done < n_iter and not monitor.stopped and failure is None,
        validation_history=np.array(monitor.history),
        validation_steps=np.array(monitor.steps, dtype=np.int64),
        best_step=monitor.best_step,
        stopped_early=monitor.stopped,
        failure=failure,
    )


class _Roughness:
    """The penalty ``w sum_k u_k^T R u_k`` of :func:`train` (``R`` from the Hermite grid)."""

    def __init__(self, ode, weight, order):
        self.weight = check_nonnegative("roughness", weight)
        self.ode = ode
        self.matrix = None
        if self.weight > 0:
            order = check_int("roughness_order", order, 1, 2)
            grid = ode.grid(0)
            if not hasattr(grid, "roughness_matrix"):
                raise NotImplementedError(
                    "`roughness` needs HermiteGrid.roughness_matrix, which this version of "
                    "dbmtools.hermite does not have."
                )
            import scipy.sparse

            self.matrix = scipy.sparse.csr_matrix(grid.roughness_matrix(order))

    def gradient(self):
        """``d/dU`` of the penalty, shape (K, n_dofs), or None without a penalty."""
        if self.matrix is None:
            return None
        return 2.0 * self.weight * (self.matrix @ self.ode._coeffs.T).T


class _Validation:
    """Validation loss every ``every`` steps, the best coefficients, and early stopping."""

    def __init__(self, ode, problem, every, patience):
        self.ode, self.problem = ode, problem
        self.every = check_int("validate_every", every, 1)
        self.patience = None if patience is None else check_int("patience", patience, 1)
        if problem is not None:
            _check_problem(ode, problem)
        elif patience is not None:
            raise ValueError("`patience` needs a `validation` problem.")
        self.history, self.steps = [], []
        self.best, self.best_step, self.best_coeffs = np.inf, None, None
        self.stopped = False
        self.bad = 0

    def check(self, step, n_iter, rng) -> bool:
        """Evaluate if due; return True to stop training."""
        if self.problem is None or not ((step + 1) % self.every == 0 or step == n_iter - 1):
            return False
        try:
            value = validation_loss(self.ode, self.problem, seed=int(rng.integers(2**63)))
        except ValueError as err:
            if "finite-element domain" not in str(err):
                raise
            value = np.inf  # a validation trajectory left the domain: the worst score
        self.history.append(value)
        self.steps.append(step + 1)
        if value < self.best:
            self.best, self.best_step, self.bad = value, step + 1, 0
            self.best_coeffs = self.ode.coeffs.copy()
        else:
            self.bad += 1
        self.stopped = self.patience is not None and self.bad >= self.patience
        return self.stopped

    def restore_best(self):
        if self.best_coeffs is not None:
            self.ode.coeffs = self.best_coeffs


class _Schedule:
    """The moving window of eq. (41): ``(start, stop, truncated)`` data times of step ``s``."""

    def __init__(self, window, shift_every, truncated, last):
        self.shift_every = check_int("shift_every", shift_every, 1)
        self.window = None if window is None else check_int("window", window, 1)
        if self.window is not None and self.window > last:
            raise ValueError(
                f"`window` must be in [1, n_times - 1 = {last}] data timesteps; got {window}."
            )
        self.truncated, self.last = bool(truncated), last

    def __call__(self, step: int) -> tuple[int, int, bool]:
        if self.window is None:
            return 0, self.last, False
        start = min(step // self.shift_every, self.last - self.window)
        return start, start + self.window, self.truncated


class _Checkpoint:
    """Save the ODE every ``every`` steps (and at the end) to ``path``; checked up front."""

    def __init__(self, every, path):
        self.every = None if every is None else check_int("checkpoint_every", every, 1)
        if self.every is not None and path is None:
            raise ValueError("`checkpoint_path` is required with `checkpoint_every`.")
        self.path = path
        if self.every is not None:
            check_writable(path, name="checkpoint_path")

    def maybe_save(self, ode, step, n_iter, tau, loss, settings):
        if self.every is not None and ((step + 1) % self.every == 0 or step == n_iter - 1):
            ode.save(
                self.path,
                meta={"step": step + 1, "tau": int(tau), "loss": float(loss), "settings": settings},
            )


def _optimizer_step(ode, total, lr, adam, buf, n_batch):
    """Apply the batch's summed gradient ``total`` to ``ode``; return the batch-mean norm.

    SGD updates sparsely, only the coefficients the adjoints touched (and
    re-zeroes them); Adam densely, as its moment estimates decay everywhere.
    A non-finite gradient leaves ``ode`` untouched and returns NaN.
    """
    if adam is None:
        return (
            np.sqrt(
                _sgd_visited(total, ode._coeffs, lr / n_batch, buf.visits, buf.n_visits[:n_batch])
            )
            / n_batch
        )
    # not np.dot: a BLAS call here starts threads and cost ms on a busy machine
    norm = np.sqrt(_sum_squares(total)) / n_batch
    if np.isfinite(norm):
        total /= n_batch
        ode._coeffs -= lr[:, None] * adam.direction(total)
    total[...] = 0.0
    return norm


def _converged(loss, tol, finished):
    if tol is None:
        return bool(finished and np.all(np.isfinite(loss)))
    tail = loss[loss.size - max(1, loss.size // 10) :]
    converged = bool(finished and tail.size and tail.mean() < tol)
    if not converged:
        warnings.warn(
            f"train did not converge: mean moment mismatch over the last {tail.size} steps "
            f"is {tail.mean() if tail.size else float('nan'):.3g} >= tol={tol}. Increase "
            "`n_iter` or `lr`.",
            RuntimeWarning,
            stacklevel=3,
        )
    return converged


def predict(ode: ParameterODE, initial_theta: np.ndarray, n_steps: int) -> np.ndarray:
    """Integrate the learned ODEs from new initial conditions (explicit Euler, as in training).

    Parameters
    ----------
    ode : ParameterODE
    initial_theta : array_like, shape (n, K) or (K,)
    n_steps : int
        Data timesteps.

    Returns
    -------
    ndarray, shape (n, n_steps + 1, K) (or (n_steps + 1, K))
        ``theta`` at the data times; see :meth:`ParameterODE.solve`.

    Examples
    --------
    >>> ode = ParameterODE(["a"], [0], [-1.0], [1.0], 1.0, dt=0.5)
    >>> ode.coeffs[0, ::2] = 1.0                     # F = 1 at every vertex, slopes 0
    >>> predict(ode, [0.0], 2)[:, 0].tolist()
    [0.0, 0.5, 1.0]
    """
    return ode.solve(initial_theta, n_steps)


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------
def _check_finite_gradient(norm, step, tau, loss):
    if not np.isfinite(norm):
        growth = (
            f" The moment mismatch grew from {loss[0]:.3g} to {loss[-2]:.3g} before it: "
            "training diverged, lower `lr`."
            if loss.size > 1 and loss[-2] > loss[0]
            else ""
        )
        raise FloatingPointError(
            f"The gradient is not finite at step {step} (tau = {tau}); the model or data "
            f"moments may be NaN or inf.{growth}"
        )


def _check_names_args(names, args):
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"`names` must be a sequence of strings; got {names!r}.")
    names = tuple(names)
    if len(names) < 1 or len(set(names)) != len(names):
        raise ValueError(f"`names` must be non-empty and unique; got {names}.")
    if isinstance(args, (str, int)):
        args = [args]
    idx = []
    for a in args:
        if isinstance(a, str):
            if a not in names:
                raise ValueError(f"`args`: {a!r} is not one of `names` {names}.")
            idx.append(names.index(a))
        elif isinstance(a, numbers.Integral) and not isinstance(a, bool) and 0 <= a < len(names):
            idx.append(int(a))
        else:
            raise ValueError(
                f"`args` must hold names or indices in [0, {len(names) - 1}]; got {a!r}."
            )
    if not 1 <= len(idx) <= 3 or len(set(idx)) != len(idx):
        raise ValueError(f"`args` must name 1 to 3 distinct parameters; got {list(args)!r}.")
    return names, np.array(idx, dtype=np.int64)


def _check_theta(theta, n_params, name):
    th = np.asarray(theta, dtype=np.float64)
    if th.ndim == 0 or th.shape[-1] != n_params:
        raise ValueError(f"`{name}` must have shape (..., {n_params}); got {th.shape}.")
    if not np.all(np.isfinite(th)):
        raise ValueError(f"`{name}` must be finite; got NaN or inf.")
    return th


def _check_theta_bar(theta_bar, n_params):
    if theta_bar is None:
        return np.zeros(n_params)
    tb = np.asarray(theta_bar, dtype=np.float64)
    if tb.shape != (n_params,) or not np.all(np.isfinite(tb)):
        raise ValueError(f"`theta_bar` must be finite with shape ({n_params},); got {tb.shape}.")
    return tb


def _check_lr(lr, n_params):
    arr = np.asarray(lr, dtype=np.float64) if not isinstance(lr, bool) else None
    if arr is None or arr.ndim > 1:
        raise TypeError(f"`lr` must be a number or a sequence of {n_params} numbers; got {lr!r}.")
    arr = np.broadcast_to(arr, (n_params,)) if arr.ndim == 0 else arr
    if arr.shape != (n_params,):
        raise ValueError(f"`lr` must have one entry per parameter ({n_params}); got {arr.size}.")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"`lr` must be finite and > 0; got {arr.tolist()}.")
    return np.array(arr)


def _check_problem(ode, problem):
    if not isinstance(ode, ParameterODE):
        raise TypeError(f"`ode` must be a ParameterODE; got {type(ode).__name__}.")
    for attr in ("initial_theta", "n_times", "moments"):
        if not hasattr(problem, attr):
            raise TypeError(f"`problem` must have `{attr}` (see MomentProblem).")
    th = np.asarray(problem.initial_theta)
    if th.ndim != 2 or th.shape[1] != ode.n_params:
        raise ValueError(
            f"`problem.initial_theta` must have shape (n_traj, {ode.n_params}) for this ODE; "
            f"got {th.shape}."
        )
    if problem.n_times < 2:
        raise ValueError(f"`problem.n_times` must be >= 2; got {problem.n_times}.")
    return th.shape[0], ode.n_params


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------
@njit
def _basis(x, lower, cell_size, n_cells, strides, work, idx, w, dw):
    """Basis indices ``idx`` (4**d,), values ``w`` (4**d,) and physical gradients
    ``dw`` (d, 4**d) of the Hermite elements at ``x`` (d,); flat indices into one
    ``coeffs.reshape(-1)``. Returns False (``idx``, ``w``, ``dw`` untouched) if ``x`` is outside
    the closed domain or not finite. Same layout as :func:`dbmtools.hermite.evaluate_point`."""
    d = x.shape[0]
    nd = 1 << d
    nb = 1 << (2 * d)
    base = cell_tables(x, lower, cell_size, n_cells, strides, work)
    if base < 0:
        return False
    for j in range(nb):
        off = base
        m = 0
        jj = j
        wj = 1.0
        for a in range(d):
            dw[a, j] = 1.0
        for k in range(d):
            q = jj & 3
            jj >>= 2
            off += (q >> 1) * strides[k]
            m |= (q & 1) << k
            phi = work[0, k, q]
            wj *= phi
            for a in range(d):
                dw[a, j] *= work[1, k, q] if a == k else phi
        idx[j] = off * nd + m
        w[j] = wj
    return True


@njit
def _sum_squares(a):
    """``sum(a**2)`` of a 2-D array, serial and allocation-free."""
    acc = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            acc += a[i, j] * a[i, j]
    return acc


@njit
def _sgd_visited(grad, U, lr, visits, n_visits):
    """``U -= lr[:, None] * grad`` and ``grad = 0`` over the visited coefficients only.

    ``grad`` is zero outside the indices in ``visits[b, :n_visits[b]]`` (the
    adjoint wrote only there), so this equals the dense update. An index seen
    twice is updated once: its gradient is zero the second time. Returns
    ``sum(grad**2)`` before the update, or NaN (and ``U`` untouched) if a
    gradient entry is not finite.
    """
    for b in range(n_visits.size):
        for n in range(n_visits[b]):
            for j in range(visits.shape[2]):
                for k in range(U.shape[0]):
                    if not np.isfinite(grad[k, visits[b, n, j]]):
                        return np.nan
    sq = 0.0
    for b in range(n_visits.size):
        for n in range(n_visits[b]):
            for j in range(visits.shape[2]):
                q = visits[b, n, j]
                for k in range(U.shape[0]):
                    gk = grad[k, q]
                    if gk != 0.0:
                        sq += gk * gk
                        U[k, q] -= lr[k] * gk
                        grad[k, q] = 0.0
    return sq


@njit
def _basis_buffers(d):
    """Scratch of :func:`_basis` for a ``d``-dimensional domain (allocated once per call)."""
    nb = 1 << (2 * d)
    return (
        np.empty((2, d, 4)),
        np.empty(d),
        np.empty(nb, dtype=np.int64),
        np.empty(nb),
        np.empty((d, nb)),
    )


@njit
def _gather(theta, args, x):
    for a in range(args.size):
        x[a] = theta[args[a]]


@njit
def _rhs_kernel(th, args, lower, cell_size, n_cells, strides, U, out):
    """``out[p, k] = F_k(th[p, args])`` for validated points inside the domain."""
    d = args.size
    nb = 1 << (2 * d)
    work, x, idx, w, dw = _basis_buffers(d)
    for p in range(th.shape[0]):
        _gather(th[p], args, x)
        _basis(x, lower, cell_size, n_cells, strides, work, idx, w, dw)
        for k in range(U.shape[0]):
            f = 0.0
            for j in range(nb):
                f += w[j] * U[k, idx[j]]
            out[p, k] = f


@njit
def _jacobian_kernel(th, args, lower, cell_size, n_cells, strides, U, out):
    """``out[p, k, args[a]] = dF_k/dtheta_{args[a]}``; ``out`` zeros (n, K, K)."""
    d = args.size
    nb = 1 << (2 * d)
    work, x, idx, w, dw = _basis_buffers(d)
    for p in range(th.shape[0]):
        _gather(th[p], args, x)
        _basis(x, lower, cell_size, n_cells, strides, work, idx, w, dw)
        for k in range(U.shape[0]):
            for a in range(d):
                s = 0.0
                for j in range(nb):
                    s += dw[a, j] * U[k, idx[j]]
                out[p, k, args[a]] = s


@njit
def _forward_kernel(args, lower, cell_size, n_cells, strides, U, h, n_total, out):
    """Explicit Euler from ``out[0]`` (K,) for ``n_total`` substeps into ``out`` (n_total+1, K).

    Returns -1, or the first substep whose point is outside the domain (or
    not finite); rows after it are left unset.
    """
    d = args.size
    nb = 1 << (2 * d)
    K = U.shape[0]
    work, x, idx, w, dw = _basis_buffers(d)
    for n in range(n_total + 1):
        _gather(out[n], args, x)
        if not _basis(x, lower, cell_size, n_cells, strides, work, idx, w, dw):
            return n
        for k in range(K):
            if not np.isfinite(out[n, k]):
                return n
        if n == n_total:
            break
        for k in range(K):
            f = 0.0
            for j in range(nb):
                f += w[j] * U[k, idx[j]]
            out[n + 1, k] = out[n, k] + h * f
    return -1


@njit
def _adjoint_kernel(
    sub, args, lower, cell_size, n_cells, strides, U, h, ns, g, m0, n_stop, grad, lam, visits
):
    """Discrete adjoint of explicit Euler over the substeps ``sub`` (N+1, K), back to ``n_stop``.

    ``g`` (n_w, K) holds ``dS/dtheta`` at the data times ``m0 .. m0 + n_w - 1``
    (substep ``m * ns``). Accumulates ``dS/dU`` into ``grad`` (K, n_dofs) and
    leaves ``dS/dtheta_{n_stop}`` in ``lam`` (K,); the basis indices of substep
    ``n`` go to ``visits[n - n_stop]``. Points are inside the domain (the forward
    solve checked them).
    """
    d = args.size
    nb = 1 << (2 * d)
    K = U.shape[0]
    N = sub.shape[0] - 1
    work, x, idx, w, dw = _basis_buffers(d)
    nxt = np.empty(K)
    jt = np.empty(d)
    n_w = g.shape[0]
    # lambda_N = g_N
    for k in range(K):
        lam[k] = 0.0
    if N % ns == 0:
        m = N // ns - m0
        if 0 <= m < n_w:
            for k in range(K):
                lam[k] = g[m, k]
    for n in range(N - 1, n_stop - 1, -1):
        for k in range(K):
            nxt[k] = lam[k]  # lambda_{n+1}
        _gather(sub[n], args, x)
        _basis(x, lower, cell_size, n_cells, strides, work, idx, w, dw)
        for j in range(nb):
            visits[n - n_stop, j] = idx[j]
        for a in range(d):
            jt[a] = 0.0
        for k in range(K):
            lk = nxt[k]
            if lk == 0.0:
                continue
            for j in range(nb):
                grad[k, idx[j]] += h * w[j] * lk
                u = U[k, idx[j]]
                for a in range(d):
                    jt[a] += dw[a, j] * u * lk
        for k in range(K):
            lam[k] = nxt[k]
        for a in range(d):
            lam[args[a]] += h * jt[a]
        if n % ns == 0:
            m = n // ns - m0
            if 0 <= m < n_w:
                for k in range(K):
                    lam[k] += g[m, k]

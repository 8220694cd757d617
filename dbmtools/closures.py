"""Moment closures of the 1D b/J/K gas (eq. 37): MaxEnt fits, priors for ``F``, learned flows.

A dynamic Boltzmann distribution closes the moment hierarchy (36) with the
parameter flow ``dtheta/dt = F(theta)``. Algorithm 1 learns ``F`` from ``F = 0``
by the adjoint (:func:`dbmtools.dynamics.train`); this module builds ``F``
without the adjoint, or gives Algorithm 1 a starting point that behaves like a
closure everywhere:

* :func:`maxent_theta`: the exact maximum-entropy (moment-matching) parameters of
  simulated ensembles: the ``(b, J, K)`` whose exact open-chain moments
  (:func:`dbmtools.ising.exact_chain_moments`) are the data's, by Newton's
  method on the exact covariance (:func:`dbmtools.ising.exact_chain_covariance`).
* :func:`flow_samples`, :func:`fit_flow`: the **data-driven prior**: fit ``F``
  by regularised least squares of the observed ``dtheta/dt`` on the Hermite
  basis, with the roughness penalty of
  :meth:`dbmtools.HermiteGrid.roughness_matrix`.
* :func:`fit_jump`, :class:`JumpClosure`: the first sweep of the simulator is a
  jump (every particle hops at once): a map ``theta_1 = theta_0 + G(theta_0)``
  learned on its own, followed by the flow.
* :func:`maxent_closure_rhs`: the **equation-based prior**: close the first
  three lines of (36) with the model's own higher moments and map the moment
  rates to parameter rates, ``F = Cov_theta^-1 dmu/dt`` (for an exponential
  family ``dmu/dt = Cov_theta dtheta/dt``); :func:`pattern_moments` gives the
  model's moments of any pattern of occupied sites (infinite chain).
* :func:`interpolate_flow`: put any ``F(theta)`` onto the Hermite grids of a
  :class:`~dbmtools.dynamics.ParameterODE`.

The experiment that uses these (section IV A, and the diffusion-limited
regime) is :mod:`dbmtools.annihilation1d`; this module knows nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._checks import check_finite_array, check_int, check_nonnegative, check_positive
from .dynamics import ParameterODE
from .families import ChainFamily
from .hermite import HermiteGrid
from .ising import exact_chain_covariance, exact_chain_moments  # noqa: F401 (doctests)
from .maxent import MaxEntFit, fit_maxent  # noqa: F401 (MaxEntFit: its old home)

__all__ = [
    "maxent_theta",
    "maxent_trajectories",
    "project_nonneg_coupling",
    "flow_samples",
    "fit_flow",
    "fit_jump",
    "JumpClosure",
    "pattern_moments",
    "hierarchy_rates",
    "maxent_closure_rhs",
    "integrate_rhs",
    "interpolate_flow",
]


# ---------------------------------------------------------------------------
# Maximum-entropy parameters of simulated ensembles
# ---------------------------------------------------------------------------
def maxent_theta(
    moments: np.ndarray,
    n_sites: int,
    *,
    initial_theta: np.ndarray | None = None,
    tol: float = 1e-6,
    max_iter: int = 30,
    jacobian_sites: int | None = None,
) -> MaxEntFit:
    """The ``(b, J, K)`` of eq. (37) whose exact open-chain moments are ``moments``.

    With two moments (density and pairs) the family is the Ising chain
    ``(b, J)`` with ``K = 0``.

    Maximum entropy subject to the three moments is the exponential family
    (37) with the moment-matching parameters, so this inverts
    :func:`dbmtools.ising.exact_chain_moments` (orders 1-3): the exact Newton
    fit of :func:`dbmtools.maxent.fit_maxent` on the
    :class:`~dbmtools.families.ChainFamily`, ``theta += s Cov^-1 (mu -
    mu~(theta))``, the step ``s`` halved until the residual falls. ``Cov`` is
    the exact covariance (:func:`dbmtools.ising.exact_chain_covariance`); with
    ``jacobian_sites`` that of a shorter chain scaled to ``n_sites``, cheaper
    but slower to converge (it only sets the step; the residual is always exact).

    Parameters
    ----------
    moments : array_like, shape (..., 3) or (..., 2)
        Raw sums ``<sum v_i>, <sum v_i v_{i+1}>, <sum v_i v_{i+1} v_{i+2}>``
        over the open chain (``chain_moments(..., boundary="reflecting")``),
        all positive.
    n_sites : int
    initial_theta : array_like, shape (..., 3), optional
        Starting points (zeros by default).
    tol : float
        Target largest residual, in raw counts.
    max_iter : int
    jacobian_sites : int, optional

    Returns
    -------
    MaxEntFit

    Examples
    --------
    >>> mu = exact_chain_moments([0.3, -0.5, 0.4], 1000, max_order=3)
    >>> fit = maxent_theta(mu, 1000)
    >>> fit.params.round(6).tolist(), fit.all_converged
    ([0.3, -0.5, 0.4], True)
    """
    m = check_finite_array("moments", moments)
    if m.ndim == 0 or m.shape[-1] not in (2, 3):
        raise ValueError(f"`moments` must have shape (..., 3) or (..., 2); got {m.shape}.")
    n_par = m.shape[-1]
    L = check_int("n_sites", n_sites, 3)
    lj = L if jacobian_sites is None else min(L, check_int("jacobian_sites", jacobian_sites, 3))
    target = m.reshape(-1, n_par)
    if np.any(target[:, 0] <= 0) or np.any(target[:, 0] >= L) or np.any(target[:, 1:] <= 0):
        raise ValueError(
            "`moments`: the density must lie strictly between 0 and 1 and the "
            "higher moments be positive (a zero moment needs an infinite parameter)."
        )
    family = ChainFamily(L, order=n_par)
    jacobian = None
    if lj != L:
        short = ChainFamily(lj, order=n_par)

        def jacobian(th):
            return short._exact_covariance(th) * (L / lj)

    return fit_maxent(
        family, m, initial_theta=initial_theta, tol=tol, max_iter=max_iter, jacobian=jacobian
    )


def maxent_trajectories(
    moments: np.ndarray,
    n_sites: int,
    initial_theta: np.ndarray,
    *,
    tol: float = 1e-6,
    jacobian_sites: int | None = 100,
) -> MaxEntFit:
    """:func:`maxent_theta` along trajectories, each time warm-started from the previous one.

    Parameters
    ----------
    moments : array_like, shape (n_conditions, n_times, 3 or 2)
    n_sites : int
    initial_theta : array_like, shape (n_conditions, 3 or 2)
        Start of the fit at the first time (e.g. the parameters the lattices
        were drawn from).
    tol : float
    jacobian_sites : int, optional
        As in :func:`maxent_theta`; the warm starts are close, so the cheap
        covariance of a 100-site chain converges as fast as the exact one.

    Returns
    -------
    MaxEntFit
        ``params`` of shape (n_conditions, n_times, 3); ``n_iter`` the Newton
        iterations of every point.

    Examples
    --------
    >>> th = np.array([[[0.1, 0.2, 0.0], [0.0, 0.1, 0.1]]])
    >>> fit = maxent_trajectories(exact_chain_moments(th, 200, 3), 200, th[:, 0])
    >>> bool(np.allclose(fit.params, th, atol=1e-6)), fit.all_converged
    (True, True)
    """
    m = check_finite_array("moments", moments, ndim=3)
    start = check_finite_array("initial_theta", initial_theta, ndim=2)
    fits = []
    for t in range(m.shape[1]):
        fit = maxent_theta(
            m[:, t], n_sites, initial_theta=start, tol=tol, jacobian_sites=jacobian_sites
        )
        fits.append(fit)
        start = fit.params
    return MaxEntFit(
        *(
            np.stack([getattr(f, name) for f in fits], axis=1)
            for name in (
                "params", "residual", "z", "n_iter", "converged", "covariance", "model_moments"
            )
        ),
        method=fits[0].method,
    )  # fmt: skip


def project_nonneg_coupling(params: np.ndarray, density: np.ndarray, n_sites: int) -> np.ndarray:
    """Maximum-likelihood ``(b, J)`` with ``J >= 0`` from unconstrained MaxEnt fits.

    The family of the hidden model's visible marginal in the bulk (an Ising
    chain with ``J_eff >= 0``, :func:`dbmtools.rbm.effective_ising`). The
    log-likelihood ``theta . mu - log Z(theta)`` of an exponential family is
    strictly concave, so when the unconstrained maximiser (the moment-matching
    ``(b, J)`` of :func:`maxent_theta`) has ``J < 0`` the constrained one lies
    on ``J = 0``, where the sites are independent and the likelihood is
    maximised by matching the density alone: ``b = log(rho / (1 - rho))``,
    ``rho = mu_1 / L``. Fits with ``J >= 0`` are returned unchanged.

    Parameters
    ----------
    params : array_like, shape (..., 2)
        Moment-matching ``(b, J)`` (``K = 0``).
    density : array_like, shape (...)
        The raw sums ``<sum v_i>`` they were fitted to.
    n_sites : int

    Returns
    -------
    ndarray, shape (..., 2)

    Examples
    --------
    >>> mu = exact_chain_moments([0.2, -0.8, 0.0], 500, max_order=2)
    >>> th = maxent_theta(mu, 500).params
    >>> project_nonneg_coupling(th, mu[0], 500).round(4).tolist()
    [-0.4044, 0.0]
    >>> project_nonneg_coupling([0.3, 0.5], 250.0, 500).tolist()
    [0.3, 0.5]
    """
    th = check_finite_array("params", params)
    if th.ndim == 0 or th.shape[-1] != 2:
        raise ValueError(f"`params` must have shape (..., 2) = (b, J); got {th.shape}.")
    L = check_int("n_sites", n_sites, 1)
    rho = check_finite_array("density", density) / L
    if rho.shape != th.shape[:-1]:
        raise ValueError(f"`density` must have shape {th.shape[:-1]}; got {rho.shape}.")
    neg = th[..., 1] < 0
    if np.any((rho[neg] <= 0) | (rho[neg] >= 1)):
        raise ValueError("`density`: the density must lie strictly between 0 and 1.")
    out = th.copy()
    out[neg, 0] = np.log(rho[neg] / (1 - rho[neg]))
    out[neg, 1] = 0.0
    return out


# ---------------------------------------------------------------------------
# Data-driven flows: least squares of dtheta/dt on the Hermite basis
# ---------------------------------------------------------------------------
def flow_samples(
    theta: np.ndarray, time_indices: Sequence[int], dt: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(theta_n, (theta_{n+1} - theta_n) / (t_{n+1} - t_n))`` from parameter trajectories.

    The forward (Euler) difference, so that an Euler solve with one step per
    data step reproduces the samples exactly.

    Parameters
    ----------
    theta : array_like, shape (n_conditions, n_times, K)
        Parameters at the data times ``time_indices`` (e.g. :func:`maxent_theta`
        of simulated ensembles).
    time_indices : sequence of int, length n_times
        Increasing data-time indices of the columns of ``theta``.
    dt : float
        Data timestep.

    Returns
    -------
    x, y : ndarray, shape (n, K)
        Start points and rates.
    groups : ndarray of int, shape (n,)
        The condition of each sample (for splits by condition).

    Examples
    --------
    >>> th = np.array([[[0.0], [0.1], [0.3]]])
    >>> x, y, g = flow_samples(th, [0, 1, 3], 0.1)
    >>> x.ravel().tolist(), y.ravel().round(3).tolist(), g.tolist()
    ([0.0, 0.1], [1.0, 1.0], [0, 0])
    """
    th = check_finite_array("theta", theta, ndim=3)
    t = np.asarray(time_indices, dtype=np.float64)
    if t.shape != (th.shape[1],) or np.any(np.diff(t) <= 0):
        raise ValueError(f"`time_indices` must be increasing, length {th.shape[1]}; got {t}.")
    dt = check_positive("dt", dt)
    rate = np.diff(th, axis=1) / (np.diff(t)[None, :, None] * dt)
    x = th[:, :-1].reshape(-1, th.shape[2])
    groups = np.repeat(np.arange(th.shape[0]), th.shape[1] - 1)
    return x, rate.reshape(-1, th.shape[2]), groups


def fit_flow(
    ode: ParameterODE,
    x: np.ndarray,
    y: np.ndarray,
    *,
    ridge: float = 1e-8,
    roughness: float = 0.0,
    order: int = 2,
    weights: np.ndarray | None = None,
) -> ParameterODE:
    """Fit the right-hand sides of ``ode`` to rate samples by penalised least squares.

    For every ``F_k``, minimises ``sum_i w_i (F_k(x_i) - y_ik)^2 + ridge |u_k|^2
    + roughness u_k^T R u_k`` (as :meth:`dbmtools.HermiteGrid.fit` does, with
    ``R`` from :meth:`~dbmtools.HermiteGrid.roughness_matrix`, but with one
    sparse factorisation for all ``K`` right-hand sides), where ``u_k``
    is the **change** from the coefficients ``ode`` holds on entry: a prior
    ``F`` (e.g. :func:`maxent_closure_rhs` interpolated by
    :func:`interpolate_flow`) is corrected where the samples say so and kept
    elsewhere; with zeros on entry this is the plain fit.

    Parameters
    ----------
    ode : ParameterODE
        Updated in place.
    x : array_like, shape (n, K)
        Full parameter vectors (the ``args`` of ``ode`` are taken from them).
    y : array_like, shape (n, K)
        Rates ``dtheta/dt`` (:func:`flow_samples`).
    ridge, roughness, order, weights
        As in :meth:`dbmtools.HermiteGrid.fit`.

    Returns
    -------
    ParameterODE
        ``ode``.

    Examples
    --------
    >>> ode = ParameterODE(["a"], [0], [-1.0], [1.0], 0.5, dt=0.1)
    >>> x = np.linspace(-0.9, 0.9, 20)[:, None]
    >>> _ = fit_flow(ode, x, -x)                      # F(a) = -a
    >>> ode.rhs([[0.5]]).round(6).tolist()
    [[-0.5]]
    """
    from .flows import AdditiveFlow

    if not isinstance(ode, ParameterODE):
        raise TypeError(f"`ode` must be a ParameterODE; got {type(ode).__name__}.")
    AdditiveFlow([ode]).fit(x, y, ridge=ridge, roughness=roughness, order=order, weights=weights)
    return ode


def fit_jump(
    theta0: np.ndarray,
    theta1: np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
    cell_size: float | Sequence[float],
    *,
    ridge: float = 1e-8,
    roughness: float = 0.0,
    order: int = 2,
) -> list[HermiteGrid]:
    """A map ``theta_1 = theta_0 + G(theta_0)`` fitted on Hermite grids, one per parameter.

    Parameters
    ----------
    theta0, theta1 : array_like, shape (n, K)
        Parameters before and after the jump (e.g. the initial conditions and
        :func:`maxent_theta` of the ensembles after the first data step).
    lower, upper, cell_size
        The grid over ``theta0`` (:class:`dbmtools.HermiteGrid`).
    ridge, roughness, order
        As in :meth:`dbmtools.HermiteGrid.fit`.

    Returns
    -------
    list of HermiteGrid
        ``G_k`` for every parameter.

    Examples
    --------
    >>> x = np.random.default_rng(0).uniform(-1, 1, (40, 2))
    >>> G = fit_jump(x, 0.5 * x, [-1, -1], [1, 1], 1.0)
    >>> round(float(G[0]([0.4, 0.2])), 4)
    -0.2
    """
    a = check_finite_array("theta0", theta0, ndim=2)
    b = check_finite_array("theta1", theta1, ndim=2)
    if a.shape != b.shape:
        raise ValueError(f"`theta0` {a.shape} and `theta1` {b.shape} must have the same shape.")
    out = []
    for k in range(a.shape[1]):
        g = HermiteGrid(lower, upper, cell_size)
        out.append(g.fit(a, b[:, k] - a[:, k], ridge=ridge, roughness=roughness, order=order))
    return out


@dataclass
class JumpClosure:
    """A learned closure with its first data step modelled on its own.

    ``theta_1 = theta_0 + G(theta_0)`` (:func:`fit_jump`), then the flow
    ``dtheta/dt = F(theta)`` of ``ode`` from ``theta_1`` on. With ``jump=None``
    the flow runs from ``theta_0``.

    Attributes
    ----------
    ode : ParameterODE
    jump : list of HermiteGrid, optional

    Examples
    --------
    >>> ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)   # F = 0
    >>> G = fit_jump(np.linspace(-1, 1, 9)[:, None], np.zeros((9, 1)), [-1], [1], 0.5)
    >>> JumpClosure(ode, G).solve([[0.5]], 2)[0, :, 0].round(6).tolist()
    [0.5, 0.0, 0.0]
    """

    ode: ParameterODE
    jump: list[HermiteGrid] | None = None

    def solve(self, initial_theta: np.ndarray, n_steps: int) -> np.ndarray:
        """``theta`` at the data times ``0 .. n_steps``, shape (n, n_steps + 1, K)."""
        th0 = np.atleast_2d(check_finite_array("initial_theta", initial_theta))
        n_steps = check_int("n_steps", n_steps, 0)
        if self.jump is None or n_steps == 0:
            return self.ode.solve(th0, n_steps)
        th1 = th0 + np.stack([g(th0) for g in self.jump], axis=-1).reshape(th0.shape)
        rest = self.ode.solve(th1, n_steps - 1)
        return np.concatenate([th0[:, None], rest], axis=1)


# ---------------------------------------------------------------------------
# The equation-based (MaxEnt) closure of (36)
# ---------------------------------------------------------------------------
def _perron_batch(T):
    """Perron value and left/right vectors of a stack of positive-ish 4 x 4 matrices."""
    w, vr = np.linalg.eig(T)
    k = np.argmax(w.real, axis=-1)
    lam = np.take_along_axis(w.real, k[:, None], -1)[:, 0]
    r = np.abs(np.take_along_axis(vr.real, k[:, None, None], -1)[..., 0])
    wl, vl = np.linalg.eig(np.swapaxes(T, -1, -2))
    kl = np.argmax(wl.real, axis=-1)
    left = np.abs(np.take_along_axis(vl.real, kl[:, None, None], -1)[..., 0])
    return lam, r, left


def pattern_moments(theta: np.ndarray, patterns: Sequence[Sequence[int]]) -> np.ndarray:
    """Per-site probabilities of patterns of occupied sites, infinite chain of eq. (37).

    A pattern is a tuple of site offsets that must all be occupied, e.g.
    ``(0, 1, 2)`` for ``<v_i v_{i+1} v_{i+2}>`` or ``(0, 2)`` for
    ``<v_i v_{i+2}>``. Computed with the Perron vectors of the pair transfer
    matrix (:func:`dbmtools.ising.transfer_matrix`), vectorised over ``theta``.

    Parameters
    ----------
    theta : array_like, shape (..., 3)
    patterns : sequence of sequences of int
        Offsets (>= 0, containing 0), each pattern at least two sites wide or
        the single site ``(0,)``.

    Returns
    -------
    ndarray, shape (..., n_patterns)

    Examples
    --------
    >>> pattern_moments([0.0, 0.0, 0.0], [(0,), (0, 1), (0, 2, 3)]).round(6).tolist()
    [0.5, 0.25, 0.125]
    """
    th = check_finite_array("theta", theta)
    if th.ndim == 0 or th.shape[-1] != 3:
        raise ValueError(f"`theta` must have shape (..., 3) = (b, J, K); got {th.shape}.")
    flat = th.reshape(-1, 3)
    b, J, K = flat[:, 0], flat[:, 1], flat[:, 2]
    logT = np.full((len(flat), 4, 4), -np.inf)
    for a in (0, 1):
        for c in (0, 1):
            for d in (0, 1):
                logT[:, 2 * a + c, 2 * c + d] = b * d + J * c * d + K * a * c * d
    shift = logT.max(axis=(1, 2))
    T = np.exp(logT - shift[:, None, None])
    lam, r, left = _perron_batch(T)
    norm = np.einsum("ni,ni->n", left, r)
    out = np.empty((len(flat), len(patterns)))
    for j, pat in enumerate(patterns):
        sites = sorted({int(s) for s in pat})
        if sites[0] != 0:
            raise ValueError(f"`patterns`: each pattern must contain offset 0; got {pat}.")
        width = max(sites[-1], 1)  # pair states s_0 .. s_{width-1} cover sites 0 .. width
        vec = left.copy()
        for i in range(width):
            # pair state q = 2 a + c holds sites i (a) and i + 1 (c)
            proj = np.array(
                [
                    float((i not in sites or q >> 1) and (i + 1 not in sites or q & 1))
                    for q in range(4)
                ]
            )
            vec = vec * proj
            if i < width - 1:
                vec = np.einsum("ni,nij->nj", vec, T) / lam[:, None]
        out[:, j] = np.einsum("ni,ni->n", vec, r) / norm
    return out.reshape((*th.shape[:-1], len(patterns)))


def hierarchy_rates(theta: np.ndarray, *, k_r: float, D: float) -> np.ndarray:
    """Per-site rates of the first three lines of (36), closed with the model's own moments.

    With ``rho = <v_i>``, ``q = <v_i v_{i+1}>``, ``t3 = <v_i v_{i+1} v_{i+2}>``,
    ``t4`` the four-chain, ``g2 = <v_i v_{i+2}>`` and ``g3 = <v_i v_{i+2} v_{i+3}>``,
    all evaluated on the infinite chain (37) with parameters ``theta``
    (:func:`pattern_moments`):

    * ``d rho/dt = -2 k_r q``,
    * ``dq/dt = 2 D g2 - 2 k_r t3 - (k_r + 2 D) q`` (notebook 05, section 1),
    * ``dt3/dt = 2 D (g3 - t3) - 2 k_r t3 - 2 k_r t4``: a triple is made when a
      particle hops into the empty end of ``1 0 1 1`` or ``1 1 0 1``, broken when
      an end particle hops out, and destroyed when one of its two bonds or one
      of the two bonds to its outer neighbours reacts.

    Returns
    -------
    ndarray, shape (..., 3)

    Examples
    --------
    >>> hierarchy_rates([0.0, 0.0, 0.0], k_r=1.0, D=0.0).round(6).tolist()
    [-0.5, -0.5, -0.375]
    """
    k_r = check_nonnegative("k_r", k_r)
    D = check_nonnegative("D", D)
    rho, q, t3, t4, g2, g3 = np.moveaxis(
        pattern_moments(theta, [(0,), (0, 1), (0, 1, 2), (0, 1, 2, 3), (0, 2), (0, 2, 3)]), -1, 0
    )
    return np.stack(
        [
            -2 * k_r * q,
            2 * D * g2 - 2 * k_r * t3 - (k_r + 2 * D) * q,
            2 * D * (g3 - t3) - 2 * k_r * t3 - 2 * k_r * t4,
        ],
        axis=-1,
    )


def maxent_closure_rhs(theta: np.ndarray, n_sites: int, *, k_r: float, D: float) -> np.ndarray:
    """The MaxEnt closure's parameter flow ``F = Cov_theta^-1 dmu/dt``.

    For the exponential family (37), ``dmu/dt = Cov_theta dtheta/dt``; closing
    the moment rates by the model's own higher moments (:func:`hierarchy_rates`)
    makes ``F`` a function of ``theta`` alone: a classical closure in its own
    right, and a prior for the learned one. ``Cov`` is the exact covariance of
    the open chain of ``n_sites`` (:func:`dbmtools.ising.exact_chain_covariance`),
    the rates are the bulk ones times the chain counts ``L - k + 1``.

    Parameters
    ----------
    theta : array_like, shape (..., 3)
    n_sites : int
    k_r, D : float
        Reaction rate per neighbouring pair and hop rate to one side.

    Returns
    -------
    ndarray, shape (..., 3)

    Examples
    --------
    >>> f = maxent_closure_rhs([0.0, 0.0, 0.0], 1000, k_r=1.0, D=50.0)
    >>> f.shape
    (3,)
    """
    th = check_finite_array("theta", theta)
    L = check_int("n_sites", n_sites, 4)
    rates = hierarchy_rates(th, k_r=k_r, D=D) * (L - np.arange(3))
    cov = exact_chain_covariance(th, L)
    return np.linalg.solve(cov, rates[..., None])[..., 0]


def integrate_rhs(
    rhs: Callable[[np.ndarray], np.ndarray],
    initial_theta: np.ndarray,
    n_steps: int,
    dt: float,
    *,
    n_substeps: int = 4,
) -> np.ndarray:
    """Explicit Euler solve of ``dtheta/dt = rhs(theta)`` for many initial conditions at once.

    For a right-hand side given as a function, not on Hermite grids (e.g.
    :func:`maxent_closure_rhs`, integrated as a closure of its own).

    Parameters
    ----------
    rhs : callable
        ``rhs(theta)`` for ``theta`` of shape (n, K) returns (n, K).
    initial_theta : array_like, shape (n, K)
    n_steps : int
        Data steps of ``dt``.
    dt : float
    n_substeps : int
        Euler substeps per data step.

    Returns
    -------
    ndarray, shape (n, n_steps + 1, K)

    Examples
    --------
    >>> th = integrate_rhs(lambda t: -t, [[1.0]], 10, 0.1, n_substeps=10)
    >>> round(float(th[0, -1, 0]), 4), round(0.99 ** 100, 4)
    (0.366, 0.366)
    """
    th = np.atleast_2d(check_finite_array("initial_theta", initial_theta)).copy()
    n_steps = check_int("n_steps", n_steps, 0)
    h = check_positive("dt", dt) / check_int("n_substeps", n_substeps, 1)
    out = np.empty((th.shape[0], n_steps + 1, th.shape[1]))
    out[:, 0] = th
    for n in range(n_steps):
        for _ in range(n_substeps):
            th = th + h * np.asarray(rhs(th), dtype=np.float64).reshape(th.shape)
        out[:, n + 1] = th
    return out


def interpolate_flow(
    ode: ParameterODE, rhs: Callable[[np.ndarray], np.ndarray], *, step: float = 1e-3
) -> ParameterODE:
    """Set the coefficients of ``ode`` so that its ``F`` interpolates ``rhs``.

    ``rhs(theta)`` maps points of shape (n, K) (``ode.args`` are the free
    coordinates; the other parameters, if any, are 0) to rates (n, K). Values
    and derivatives at the vertices (derivatives by central differences of
    relative ``step``, :meth:`dbmtools.HermiteGrid.interpolate`); each point of
    the stencil is evaluated once for all ``K`` right-hand sides.

    Returns
    -------
    ParameterODE
        ``ode``.

    Examples
    --------
    >>> ode = ParameterODE(["a"], [0], [-1.0], [1.0], 0.5, dt=0.1)
    >>> _ = interpolate_flow(ode, lambda th: -th)
    >>> ode.rhs([[0.3]]).round(6).tolist()
    [[-0.3]]
    """
    cache: dict[bytes, np.ndarray] = {}

    def full(pts):
        key = pts.tobytes()
        if key not in cache:
            th = np.zeros((len(pts), ode.n_params))
            th[:, ode.args] = pts
            cache[key] = np.asarray(rhs(th), dtype=np.float64).reshape(len(pts), ode.n_params)
        return cache[key]

    for k in range(ode.n_params):
        g = ode.grid(k)
        g.interpolate(lambda p, k=k: full(np.ascontiguousarray(p))[:, k], "central", step=step)
        ode.set_grid(k, g)
    return ode

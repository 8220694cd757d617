"""Maximum-entropy fits of any lattice family to measured moments (the paper's eq. 46, generalised).

Among all distributions of lattices whose mean statistics are ``mu``, the one
of largest entropy is the exponential family ``p(v) ~ exp(theta . phi(v))``
with the ``theta`` that matches them, ``<phi>_theta = mu``. Finding that
``theta`` is a convex problem (``ln Z(theta) - theta . mu`` is strictly convex,
its Hessian the covariance ``Cov_theta(phi)``), solved here by Newton's method,
``theta <- theta + Cov_theta^-1 (mu - <phi>_theta)``:

* with exact moments and covariance (a family that has them, e.g. the 1D
  chains), damped by halving the step until the residual falls, to ``tol`` in
  raw counts;
* with sampled ones (2D and 3D), each step from persistent Gibbs chains that
  carry over from step to step and from one time to the next, until every
  residual is within ``z_tol`` standard errors (the data's and the sampler's
  combined), the step limited to ``max_step`` in any parameter;
* for a family with hidden units, whose statistics depend on ``theta``
  through ``p(h | v)``, the same steps are Fisher scoring of the likelihood of
  the data lattices (the data moments are recomputed at every step), damped.

:func:`fit_maxent` fits independent points; :func:`maxent_path` follows
ensembles through time, warm-starting each time from the previous one (the
path ``theta(t)`` the data-driven closure learns). Both report, per point,
whether the fit converged; a point that did not is flagged (e.g. when the
lattices of one ensemble are at different phases of an oscillation, a single
homogeneous family can mimic their spread only by couplings near an ordered
phase) and :func:`dbmtools.closures.learn_closure` leaves it out of the flow
fit rather than train on it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._checks import check_finite_array, check_int, check_nonnegative, check_positive
from ._config import show_progress
from ._random import SeedLike, as_seed_sequence
from .families import LatticeFamily, MomentEstimate, check_family

__all__ = ["MaxEntFit", "fit_maxent", "maxent_path", "data_moments"]


@dataclass
class MaxEntFit:
    """Result of :func:`fit_maxent` and :func:`maxent_path`.

    Attributes
    ----------
    params : ndarray, shape (..., K)
        The fitted parameters (for a point that did not converge, the best
        iterate: the smallest ``z``, or residual when exact).
    residual : ndarray, shape (...)
        Largest ``|<phi>_theta - mu|`` left, in raw counts.
    z : ndarray, shape (...)
        Largest residual in standard errors (data and sampler combined); NaN
        for exact fits without data standard errors.
    n_iter : ndarray of int, shape (...)
        Newton steps run at each point.
    converged : ndarray of bool, shape (...)
        Whether the point reached ``tol`` (exact) or ``z_tol`` (sampled).
    covariance : ndarray, shape (..., K, K)
        ``Cov_theta(phi)`` at ``params`` (exact or sampled): the local map from
        parameter errors to moment errors.
    model_moments : ndarray, shape (..., K)
        ``<phi>_theta`` at ``params``.
    method : str
        ``"exact newton"``, ``"sampled newton"`` or ``"fisher scoring"``.
    chains : ndarray of int8 or None
        Sampled fits: the chains' final lattices, shape ``(..., n_chains, *shape)``
        (to continue from; :func:`maxent_path` carries them from time to time).
    """

    params: np.ndarray
    residual: np.ndarray
    z: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    covariance: np.ndarray
    model_moments: np.ndarray
    method: str
    chains: np.ndarray | None = None

    @property
    def all_converged(self) -> bool:
        """Whether every point converged."""
        return bool(np.all(self.converged))

    def summary(self) -> str:
        """One line: how many points converged, and the worst residuals.

        Examples
        --------
        >>> from dbmtools.families import ChainFamily
        >>> fam = ChainFamily(100)
        >>> fit = fit_maxent(fam, fam.moments([[0.1, 0.2, 0.0], [0.0, -0.3, 0.2]]))
        >>> fit.summary().split(";")[0]
        '2 of 2 MaxEnt fits converged (exact newton)'
        """
        n = int(self.converged.size)
        ok = int(np.sum(self.converged))
        worst = float(np.max(self.residual)) if n else 0.0
        text = f"{ok} of {n} MaxEnt fits converged ({self.method}); largest residual {worst:.3g}"
        text += " counts"
        if np.any(np.isfinite(self.z)):
            text += f", largest z {float(np.nanmax(self.z)):.3g}"
        return text


def data_moments(family: LatticeFamily, data, theta=None) -> tuple[np.ndarray, np.ndarray]:
    """Mean statistics of an ensemble of lattices and their standard errors.

    Parameters
    ----------
    family : LatticeFamily
    data : Ensemble, MomentEnsemble or ndarray of lattices, shape ``(n_samples, ..., *shape)``
        The first axis holds the independent lattices (simulations) to average.
    theta : array_like, optional
        For a family with hidden units.

    Returns
    -------
    mean, sem : ndarray, shape (..., K)

    Examples
    --------
    >>> from dbmtools.families import ChainFamily
    >>> lattices = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=np.int8)
    >>> mean, sem = data_moments(ChainFamily(4), lattices)
    >>> mean.tolist(), sem.tolist()
    ([2.0, 0.5, 0.0], [0.0, 0.5, 0.0])
    """
    stats = check_family(family).statistics(data, theta)
    if stats.ndim < 2 or stats.shape[0] < 2:
        raise ValueError(
            f"`data` must hold at least 2 independent lattices along its first axis; got "
            f"statistics of shape {stats.shape}."
        )
    return stats.mean(0), stats.std(0, ddof=1) / np.sqrt(stats.shape[0])


def fit_maxent(
    family: LatticeFamily,
    moments=None,
    *,
    lattices=None,
    initial_theta=None,
    sem=None,
    tol: float = 1e-6,
    z_tol: float = 2.5,
    max_iter: int | None = None,
    n_chains: int = 32,
    n_sweeps: int = 20,
    max_step: float = 1.0,
    damping: float | None = None,
    ridge: float = 1e-10,
    jacobian=None,
    init=None,
    seed: SeedLike = None,
) -> MaxEntFit:
    """The parameters of ``family`` whose mean statistics are ``moments``: a MaxEnt fit.

    Parameters
    ----------
    family : LatticeFamily
    moments : array_like, shape (..., K), optional
        Target mean statistics (raw lattice sums), e.g. ensemble means. A
        visible family takes these or ``lattices``.
    lattices : ndarray of int, shape ``(..., n_lattices, *shape)``, optional
        The data lattices themselves (required for a family with hidden units,
        whose statistics depend on ``theta``); ``moments`` and ``sem`` are then
        their means and standard errors.
    initial_theta : array_like, shape (..., K), optional
        Starting points (zeros by default).
    sem : array_like, shape (..., K), optional
        Standard errors of ``moments``: residuals are judged against them as
        well as against the sampler's error.
    tol : float
        Exact fits: target largest residual in raw counts.
    z_tol : float
        Sampled fits: target largest residual in standard errors.
    max_iter : int, optional
        Newton steps (30 exact, 12 sampled, 40 Fisher scoring by default).
    n_chains, n_sweeps : int
        Sampled fits: chains per point and recorded sweeps per step
        (:meth:`~dbmtools.families.LatticeFamily.estimate`).
    max_step : float
        Largest change of any parameter in one step.
    damping : float, optional
        Fraction of the Newton step taken (1 by default; 0.5 for Fisher scoring).
    ridge : float
        Added to the covariance's diagonal, times its trace.
    jacobian : callable, optional
        ``jacobian(theta (n, K)) -> (n, K, K)``: a cheaper matrix for the exact
        Newton step (e.g. the covariance of a shorter chain); the residual is
        always exact.
    init : ndarray of int, shape ``(..., n_chains, *shape)``, optional
        Where the chains of a sampled fit start (e.g. the previous time's).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    MaxEntFit

    Examples
    --------
    >>> from dbmtools.families import ChainFamily
    >>> fam = ChainFamily(1000)
    >>> fit = fit_maxent(fam, fam.moments([0.3, -0.5, 0.4]))
    >>> fit.params.round(6).tolist(), bool(fit.converged)
    ([0.3, -0.5, 0.4], True)
    """
    fam = check_family(family)
    target, sem_arr, lead, lattice_arr = _targets(fam, moments, lattices, sem)
    n, K = target.shape
    theta = np.zeros((n, K)) if initial_theta is None else _start(fam, initial_theta, lead)
    rng = np.random.default_rng(as_seed_sequence(seed))
    tol = check_positive("tol", tol)
    z_tol = check_positive("z_tol", z_tol)
    max_step = check_positive("max_step", max_step)
    ridge = check_nonnegative("ridge", ridge)
    if fam.exact and lattice_arr is None:
        max_iter = check_int("max_iter", 30 if max_iter is None else max_iter, 1)
        out = _exact_newton(fam, target, theta, sem_arr, tol, max_iter, max_step, ridge, jacobian)
        chains = None
    else:
        default = 12 if fam.visible else 40
        max_iter = check_int("max_iter", default if max_iter is None else max_iter, 1)
        damp = (
            (1.0 if fam.visible else 0.5) if damping is None else check_positive("damping", damping)
        )
        start = None if init is None else fam._check_init(init, n_chains, n)[0]
        out, chains = _sampled_newton(
            fam, target, theta, sem_arr, lattice_arr, z_tol, max_iter, max_step, damp, ridge,
            check_int("n_chains", n_chains, 2), check_int("n_sweeps", n_sweeps, 1), start, rng,
        )  # fmt: skip
    fit = MaxEntFit(
        params=out["params"].reshape(*lead, K),
        residual=out["residual"].reshape(lead),
        z=out["z"].reshape(lead),
        n_iter=out["n_iter"].reshape(lead),
        converged=out["converged"].reshape(lead),
        covariance=out["covariance"].reshape(*lead, K, K),
        model_moments=out["model"].reshape(*lead, K),
        method=out["method"],
        chains=None if chains is None else chains.reshape(*lead, *chains.shape[1:]),
    )
    return fit


def _targets(fam, moments, lattices, sem):
    """Validated targets (n, K), standard errors (n, K) or None, leading shape, lattices."""
    K = fam.n_params
    if (moments is None) == (lattices is None):
        raise ValueError("Give exactly one of `moments` and `lattices`.")
    lattice_arr = None
    if lattices is not None:
        flat, lead_all = fam.check_states(lattices, "lattices")
        if len(lead_all) < 1 or lead_all[-1] < 2:
            raise ValueError(
                "`lattices` must have shape (..., n_lattices, *shape) with n_lattices >= 2; got "
                f"{np.shape(lattices)}."
            )
        lead = lead_all[:-1]
        lattice_arr = flat.reshape(-1, lead_all[-1], *fam.shape)
        if fam.visible:
            stats = fam._statistics(lattice_arr.reshape(-1, *fam.shape), None).reshape(
                lattice_arr.shape[0], lattice_arr.shape[1], K
            )
            target = stats.mean(1)
            sem_arr = stats.std(1, ddof=1) / np.sqrt(stats.shape[1])
            return target, sem_arr, lead, None
        return np.zeros((lattice_arr.shape[0], K)), None, lead, lattice_arr
    if not fam.visible:
        raise ValueError(
            f"{type(fam).__name__} has hidden units: its data moments depend on theta, so "
            "pass the data `lattices`, not `moments`."
        )
    m = check_finite_array("moments", moments)
    if m.ndim == 0 or m.shape[-1] != K:
        raise ValueError(f"`moments` must have shape (..., {K}) = {fam.names}; got {m.shape}.")
    lead = m.shape[:-1]
    sem_arr = None
    if sem is not None:
        s = check_finite_array("sem", sem)
        if s.shape != m.shape or np.any(s < 0):
            raise ValueError(
                f"`sem` must be non-negative with the shape of `moments` {m.shape}; got {s.shape}."
            )
        sem_arr = s.reshape(-1, K)
    return m.reshape(-1, K), sem_arr, lead, None


def _start(fam, initial_theta, lead):
    th, th_lead = fam.check_theta(initial_theta, "initial_theta")
    if th_lead != tuple(lead):
        raise ValueError(
            f"`initial_theta` must have shape {(*lead, fam.n_params)}; got "
            f"{np.shape(initial_theta)}."
        )
    return th.copy()


def _solve(cov, r, ridge):
    k = cov.shape[-1]
    cov = cov + ridge * np.trace(cov, axis1=-2, axis2=-1)[:, None, None] * np.eye(k)
    try:
        return np.linalg.solve(cov, r[..., None])[..., 0]
    except np.linalg.LinAlgError:
        # A statistic that never varies (a species absent from every chain): no
        # direction to move it in. The least-norm step leaves it where it is.
        return (np.linalg.pinv(cov, hermitian=True) @ r[..., None])[..., 0]


def _limit(step, max_step):
    norm = np.abs(step).max(-1)
    return step * np.minimum(1.0, max_step / np.maximum(norm, 1e-300))[:, None]


def _exact_newton(fam, target, theta, sem, tol, max_iter, max_step, ridge, jacobian):
    """Damped Newton with exact moments: halve the step until the residual falls."""
    n, K = target.shape
    n_iter = np.zeros(n, dtype=np.int64)
    res = target - fam._exact_moments(theta)
    err = np.abs(res).max(-1)
    active = err > tol
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        n_iter[idx] += 1
        th, r = theta[idx], res[idx]
        cov = fam._exact_covariance(th) if jacobian is None else np.asarray(jacobian(th))
        step = _limit(_solve(cov, r, ridge), max_step)
        best_th, best_r, best_e = th.copy(), r.copy(), err[idx].copy()
        scale = np.ones(len(idx))
        pending = np.ones(len(idx), dtype=bool)
        for _ in range(12):
            p = np.flatnonzero(pending)
            trial = th[p] + scale[p, None] * step[p]
            tr = target[idx[p]] - fam._exact_moments(trial)
            te = np.abs(tr).max(-1)
            ok = np.isfinite(te) & (te < best_e[p])
            where = p[ok]
            best_th[where], best_r[where], best_e[where] = trial[ok], tr[ok], te[ok]
            pending[where] = False
            if not pending.any():
                break
            scale[pending] *= 0.5
        theta[idx], res[idx], err[idx] = best_th, best_r, best_e
        stalled = np.zeros(n, dtype=bool)
        stalled[idx[pending]] = True  # no decrease: the rounding floor is reached
        active &= (err > tol) & ~stalled
    z = np.full(n, np.nan) if sem is None else np.max(np.abs(res) / np.maximum(sem, 1e-300), -1)
    return {
        "params": theta,
        "residual": err,
        "z": z,
        "n_iter": n_iter,
        "converged": err <= tol,
        "covariance": fam._exact_covariance(theta),
        "model": target - res,
        "method": "exact newton",
    }


def _sampled_newton(
    fam, target, theta, sem, lattices, z_tol, max_iter, max_step, damping, ridge, n_chains,
    n_sweeps, chains, rng,
):  # fmt: skip
    """Newton (or Fisher scoring) steps from sampled moments, chains carried over."""
    n, K = target.shape
    best = {
        "params": theta.copy(),
        "residual": np.full(n, np.inf),
        "z": np.full(n, np.inf),
        "covariance": np.zeros((n, K, K)),
        "model": np.zeros((n, K)),
    }
    n_iter = np.zeros(n, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    states = chains
    for _ in range(max_iter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        est: MomentEstimate = fam.estimate(
            theta[idx], n_chains=n_chains, n_sweeps=n_sweeps,
            init=None if states is None else states[idx], seed=rng,
        )  # fmt: skip
        if states is None:
            states = np.empty((n, n_chains, *fam.shape), dtype=np.int8)
        states[idx] = est.states
        if lattices is None:
            goal, goal_sem = target[idx], (0.0 if sem is None else sem[idx])
        else:  # hidden units: the data statistics at the current theta
            goal, goal_sem = _hidden_targets(fam, lattices[idx], theta[idx])
        r = goal - est.mean
        sigma = np.sqrt(goal_sem**2 + est.sem**2)
        z = np.max(np.abs(r) / np.maximum(sigma, 1e-12), -1)
        better = z < best["z"][idx]
        b = idx[better]
        best["params"][b] = theta[b]
        best["residual"][b] = np.abs(r[better]).max(-1)
        best["z"][b] = z[better]
        best["covariance"][b] = est.covariance[better]
        best["model"][b] = est.mean[better]
        done = z < z_tol
        converged[idx[done]] = True
        active[idx[done]] = False
        go = ~done & (n_iter[idx] < max_iter)
        active[idx[~go]] = False
        g = idx[go]
        if g.size:
            step = _limit(_solve(est.covariance[go], r[go], ridge), max_step)
            theta[g] = theta[g] + damping * step
            n_iter[g] += 1
    best.update(
        n_iter=n_iter,
        converged=converged,
        method="sampled newton" if fam.visible else "fisher scoring",
    )
    return best, states


def _hidden_targets(fam, lattices, theta):
    """Mean statistics of the data lattices ``(n, n_lattices, *shape)`` at each theta, and sem."""
    goal = np.empty((len(theta), fam.n_params))
    goal_sem = np.empty_like(goal)
    for r in range(len(theta)):
        s = fam._statistics(lattices[r], theta[r])
        goal[r] = s.mean(0)
        goal_sem[r] = s.std(0, ddof=1) / np.sqrt(len(s))
    return goal, goal_sem


def maxent_path(
    family: LatticeFamily,
    moments=None,
    *,
    lattices=None,
    initial_theta=None,
    sem=None,
    progress: bool = True,
    **options,
) -> MaxEntFit:
    """MaxEnt fits along trajectories, each time warm-started from the previous one.

    Parameters
    ----------
    family : LatticeFamily
    moments : array_like, shape (n_conditions, n_times, K), optional
        Ensemble-mean statistics of each condition at each recorded time.
    lattices : ndarray of int, shape ``(n_conditions, n_times, n_lattices, *shape)``, optional
        The lattices themselves (required with hidden units).
    initial_theta : array_like, shape (n_conditions, K), optional
        Start of the fit at the first time (e.g. the parameters the lattices
        were drawn from); zeros by default.
    sem : array_like, shape (n_conditions, n_times, K), optional
    progress : bool
        A progress bar over the times.
    **options
        As :func:`fit_maxent` (``tol``, ``z_tol``, ``max_iter``, ``n_chains``,
        ``n_sweeps``, ``max_step``, ``damping``, ``jacobian``, ``seed``). Sampled fits keep
        their chains from one time to the next.

    Returns
    -------
    MaxEntFit
        Arrays of shape (n_conditions, n_times, ...). A warning names the
        points that did not converge.

    Examples
    --------
    >>> from dbmtools.families import ChainFamily
    >>> fam = ChainFamily(200)
    >>> th = np.array([[[0.1, 0.2, 0.0], [0.0, 0.1, 0.1]]])
    >>> fit = maxent_path(fam, fam.moments(th), initial_theta=th[:, 0], progress=False)
    >>> bool(np.allclose(fit.params, th, atol=1e-6)), fit.all_converged
    (True, True)
    """
    from tqdm.auto import tqdm

    fam = check_family(family)
    K = fam.n_params
    if lattices is not None:
        arr = np.asarray(lattices)
        if arr.ndim < 3 + fam.dim:
            raise ValueError(
                "`lattices` must have shape (n_conditions, n_times, n_lattices, *shape); got "
                f"{arr.shape}."
            )
        n_cond, n_times = arr.shape[:2]
    else:
        m = check_finite_array("moments", moments)
        if m.ndim != 3 or m.shape[-1] != K:
            raise ValueError(
                f"`moments` must have shape (n_conditions, n_times, {K}); got {m.shape}."
            )
        n_cond, n_times = m.shape[:2]
        if sem is not None:
            s = check_finite_array("sem", sem)
            if s.shape != m.shape:
                raise ValueError(
                    f"`sem` must have the shape of `moments` {m.shape}; got {s.shape}."
                )
    start = None if initial_theta is None else _start(fam, initial_theta, (n_cond,))
    rng = np.random.default_rng(as_seed_sequence(options.pop("seed", None)))
    fields = {}
    chains = None
    for t in tqdm(range(n_times), desc="MaxEnt fits", disable=not show_progress(progress)):
        fit = fit_maxent(
            fam,
            None if lattices is not None else m[:, t],
            lattices=None if lattices is None else arr[:, t],
            initial_theta=start,
            sem=None if sem is None or lattices is not None else s[:, t],
            init=chains,
            seed=rng,
            **options,
        )
        chains = fit.chains
        start = fit.params
        for name in ("params", "residual", "z", "n_iter", "converged", "covariance"):
            fields.setdefault(name, []).append(getattr(fit, name))
        fields.setdefault("model_moments", []).append(fit.model_moments)
        method = fit.method
    out = MaxEntFit(**{k: np.stack(v, axis=1) for k, v in fields.items()}, method=method)
    if not out.all_converged:
        bad = np.argwhere(~out.converged)
        shown = ", ".join(f"(condition {c}, time {t})" for c, t in bad[:5])
        warnings.warn(
            f"{len(bad)} of {out.converged.size} MaxEnt fits did not converge: {shown}"
            f"{' ...' if len(bad) > 5 else ''}. {out.summary()}.",
            RuntimeWarning,
            stacklevel=2,
        )
    return out

"""Tests of dbmtools.dynamics (issue 5) against independent truths.

Truths: central finite differences of the discretised objective
``S = sum_m dt [ln Z(theta_m) - theta_m . mu_m]`` computed here from closed-form
``ln Z`` (independent binary sites; the 1D b/J/K ring by a transfer matrix
written here with numpy); a closed-form Euler gradient for ``dy/dt = c y``;
recovery of a known right-hand side from synthetic exact moments; the
stationarity of Gibbs sampling (CD-k from samples of the model itself has
zero expected moment mismatch).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dbmtools import HermiteGrid, dynamics, ising, rbm
from dbmtools.dynamics import (
    ExactMoments,
    HiddenMoments,
    IsingMoments,
    ParameterODE,
    adjoint_gradient,
    centred_domain,
    predict,
    train,
)

L_SITES = 10.0


# ---------------------------------------------------------------------------
# exact models with closed-form ln Z
# ---------------------------------------------------------------------------
def _lnz_sites(theta):
    """Independent binary sites: ln Z = L sum_k ln(1 + e^theta_k)."""
    return L_SITES * np.sum(np.logaddexp(0.0, theta), axis=-1)


def _mu_sites(theta):
    return L_SITES / (1.0 + np.exp(-np.asarray(theta)))


RING = 12


def _lnz_ring(theta):
    """ln Tr T^L for the b/J/K ring, with a transfer matrix on pairs (written from scratch)."""
    out = []
    for b, J, K in np.atleast_2d(theta):
        T = np.zeros((4, 4))
        for a, c, d in itertools.product((0, 1), repeat=3):
            T[2 * a + c, 2 * c + d] = np.exp(b * d + J * c * d + K * a * c * d)
        out.append(np.log(np.trace(np.linalg.matrix_power(T, RING))))
    return np.array(out)


def _mu_ring(theta):
    th = np.atleast_2d(theta)
    return np.array(
        [ising.exact_moments(*t, n_sites=RING, boundary="periodic", max_order=3) * RING
         for t in th]
    )


def _objective(ode, theta0, data_mu, lnz, start, stop, l2=0.0, tbar=None):
    """S over data times start..stop of the trajectory from theta0 (as the module defines it)."""
    th = ode.solve(theta0, stop)[start : stop + 1]
    s = ode.dt * np.sum(lnz(th) - np.sum(th * data_mu[start : stop + 1], axis=1))
    if l2:
        s += l2 * ode.dt * np.sum((th - tbar) ** 2)
    return s


def _fd(fun, x, idx, eps):
    out = np.empty(len(idx))
    for n, i in enumerate(idx):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += eps
        xm.flat[i] -= eps
        out[n] = (fun(xp) - fun(xm)) / (2 * eps)
    return out


def _random_ode(names, args, lower, upper, cell, dt, ns, scale, seed):
    ode = ParameterODE(names, args, lower, upper, cell, dt=dt, n_substeps=ns)
    rng = np.random.default_rng(seed)
    ode.coeffs = scale * rng.standard_normal(ode.coeffs.shape)
    return ode


def _check_fd(ode, problem, lnz, start, stop, truncated, l2=0.0, tbar=None, n_check=60, seed=0):
    tbar = np.zeros(ode.n_params) if tbar is None else tbar
    r = adjoint_gradient(ode, problem, 0, start=start, stop=stop, truncated=truncated, l2=l2,
                         theta_bar=tbar)
    theta0 = problem.initial_theta[0]
    mu = problem.data_moments[0]
    U0 = ode.coeffs.copy()
    if truncated:  # theta(tau) held fixed: solve from it over the window only
        th_tau = ode.solve(theta0, start)[-1]

        def fun(U):
            ode.coeffs = U
            return _objective(ode, th_tau, mu[start:], lnz, 0, stop - start, l2, tbar)
    else:
        def fun(U):
            ode.coeffs = U
            return _objective(ode, theta0, mu, lnz, start, stop, l2, tbar)

    rng = np.random.default_rng(seed)
    nz = np.flatnonzero(r.grad)
    assert nz.size > 10
    idx = rng.choice(nz, min(n_check, nz.size), replace=False)
    zero = rng.choice(np.flatnonzero(r.grad == 0), 10, replace=False)
    fd = _fd(fun, U0, np.concatenate([idx, zero]), 1e-5)
    ode.coeffs = U0
    got = np.concatenate([r.grad.flat[idx], r.grad.flat[zero]])
    rel = np.linalg.norm(got - fd) / np.linalg.norm(fd)
    return r, rel


# ---------------------------------------------------------------------------
# (a) gradient = finite differences
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gradient_matches_finite_differences_independent_sites(l2):
    ode = _random_ode(["a", "b"], ["a", "b"], [-3, -3], [3, 3], 0.5, 0.1, 3, 0.3, 1)
    th0 = np.array([[0.4, -0.7]])
    mu = np.random.default_rng(2).uniform(2, 8, size=(1, 12, 2))
    p = ExactMoments(th0, mu, _mu_sites)
    tbar = np.array([0.1, -0.2])
    r, rel = _check_fd(ode, p, _lnz_sites, 2, 9, False, l2=l2, tbar=tbar)
    assert rel < 1e-5, rel
    # the gradient with respect to the initial condition
    U = ode.coeffs.copy()

    def s_of_theta0(t0):
        ode.coeffs = U
        return _objective(ode, t0, mu[0], _lnz_sites, 2, 9, l2, tbar)

    fd0 = _fd(s_of_theta0, th0[0], [0, 1], 1e-6)
    np.testing.assert_allclose(r.grad_theta, fd0, rtol=1e-6)


def test_truncated_gradient_is_gradient_with_theta_tau_fixed():
    ode = _random_ode(["a", "b"], ["a", "b"], [-3, -3], [3, 3], 0.5, 0.1, 2, 0.3, 3)
    th0 = np.array([[-0.4, 0.9]])
    mu = np.random.default_rng(4).uniform(2, 8, size=(1, 15, 2))
    p = ExactMoments(th0, mu, _mu_sites)
    r_trunc, rel = _check_fd(ode, p, _lnz_sites, 6, 11, True)
    assert rel < 1e-5, rel
    r_full = adjoint_gradient(ode, p, 0, start=6, stop=11, truncated=False)
    # the two differ (the full one sees how U moves theta(tau)) ...
    assert np.linalg.norm(r_full.grad - r_trunc.grad) > 1e-3 * np.linalg.norm(r_full.grad)
    # ... and coincide for a window starting at t = 0
    a = adjoint_gradient(ode, p, 0, start=0, stop=5, truncated=True)
    b = adjoint_gradient(ode, p, 0, start=0, stop=5, truncated=False)
    np.testing.assert_array_equal(a.grad, b.grad)


def test_gradient_matches_finite_differences_bjk_ring_transfer_matrix():
    # F_b, F_J, F_K on a 3D grid over (b, J, K); exact moments of a ring of 12 sites
    ode = _random_ode(["b", "J", "K"], [0, 1, 2], [-1.5] * 3, [1.5] * 3, 0.75, 0.05, 2, 0.4, 5)
    th0 = np.array([[0.2, -0.3, 0.5]])
    mu = np.random.default_rng(6).uniform(1, 5, size=(1, 9, 3))
    p = ExactMoments(th0, mu, _mu_ring)
    # the moments are d ln Z / d theta: check the two independent computations agree
    t = np.array([0.3, -0.5, 0.7])
    fd_mu = _fd(lambda x: _lnz_ring(x)[0], t, [0, 1, 2], 1e-6)
    np.testing.assert_allclose(_mu_ring(t)[0], fd_mu, rtol=1e-8)
    _, rel = _check_fd(ode, p, _lnz_ring, 0, 8, False, n_check=40)
    assert rel < 1e-5, rel


def test_gradient_with_fewer_args_than_params():
    # K = 3 parameters, F depends on two of them only (the Rossler layout: F(b_A, b_B, b_C))
    ode = _random_ode(["a", "b", "c"], ["c", "a"], [-3, -3], [3, 3], 1.0, 0.1, 2, 0.3, 7)
    th0 = np.array([[0.2, 0.1, -0.5]])
    mu = np.random.default_rng(8).uniform(2, 8, size=(1, 8, 3))
    p = ExactMoments(th0, mu, _mu_sites)
    _, rel = _check_fd(ode, p, _lnz_sites, 0, 7, False)
    assert rel < 1e-5, rel


# ---------------------------------------------------------------------------
# (b) closed form: dy/dt = c y, quadratic loss
# ---------------------------------------------------------------------------
def test_closed_form_linear_ode_quadratic_loss():
    # Gaussian "model": ln Z = y^2 / 2, mu~ = y, so S = sum_m dt/2 (y_m - mu_m)^2 + const.
    # F(y) = c y is exactly a Hermite function: values c y_v, slopes c at the vertices.
    dt, ns, c, y0, n_steps = 0.1, 4, -0.7, 1.3, 10
    ode = ParameterODE(["y"], [0], [0.0], [2.0], 0.5, dt=dt, n_substeps=ns)
    g = ode.grid(0)
    g.interpolate(lambda x: c * x[:, 0], lambda x: np.full((len(x), 1), c))
    ode.set_grid(0, g)
    dudc = ode.coeffs[0] / c  # F is linear in c
    mu = np.random.default_rng(0).uniform(0, 1, size=(1, n_steps + 1, 1))
    p = ExactMoments([[y0]], mu, lambda y: np.array(y, dtype=float))
    r = adjoint_gradient(ode, p, 0)
    h = dt / ns
    m = np.arange(n_steps + 1)
    y = y0 * (1 + h * c) ** (m * ns)
    dy_dc = y0 * m * ns * h * (1 + h * c) ** (m * ns - 1)
    exact = np.sum(dt * (y - mu[0, :, 0]) * dy_dc)
    assert abs(r.grad[0] @ dudc - exact) < 1e-12 * abs(exact)
    exact_y0 = np.sum(dt * (y - mu[0, :, 0]) * (1 + h * c) ** (m * ns))
    assert abs(r.grad_theta[0] - exact_y0) < 1e-12 * abs(exact_y0)
    np.testing.assert_allclose(r.theta[:, 0], y, rtol=1e-13)


# ---------------------------------------------------------------------------
# (c) synthetic recovery
# ---------------------------------------------------------------------------
def _true_ode():
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1,
                       n_substeps=2)
    f = [lambda x: -0.8 * x[:, 0] + 0.4 * x[:, 1] ** 2 - 0.2,
         lambda x: -0.5 * x[:, 1] + 0.3 * x[:, 0] * x[:, 1]]
    d = [lambda x: np.stack([-0.8 + 0 * x[:, 0], 0.8 * x[:, 1], 0 * x[:, 0]], 1),
         lambda x: np.stack([0.3 * x[:, 1], -0.5 + 0.3 * x[:, 0], 0.3 + 0 * x[:, 0]], 1)]
    for k in range(2):
        g = ode.grid(k)
        g.interpolate(f[k], d[k])
        ode.set_grid(k, g)
    return ode


def test_training_recovers_known_rhs_from_exact_moments():
    true = _true_ode()
    rng = np.random.default_rng(11)
    th0 = rng.uniform(-1, 1, size=(30, 2))
    traj = true.solve(th0, 12)
    p = ExactMoments(th0, _mu_sites(traj), _mu_sites)
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1,
                       n_substeps=2)
    r = train(ode, p, n_iter=1000, lr=0.02, optimizer="adam", batch_size=30, seed=0,
              progress=False, tol=0.01)
    assert r.converged
    # the moment mismatch falls by two orders of magnitude (measured: 0.51 -> 0.0033)
    assert r.loss_history[-20:].mean() < 1e-2 * r.loss_history[0]
    # F recovered where the data constrain it: along the true trajectories (F at the last
    # data time does not enter the Euler solve and is not identifiable)
    pts = traj[:, :-1].reshape(-1, 2)
    err = np.abs(ode.rhs(pts) - true.rhs(pts))
    assert err.mean() < 0.05 * np.abs(true.rhs(pts)).mean(), err.mean()
    # and the learned model predicts held-out initial conditions
    test0 = rng.uniform(-0.8, 0.8, size=(10, 2))
    dev = np.abs(predict(ode, test0, 12) - true.solve(test0, 12)).max()
    assert dev < 0.02, dev


def _full_mismatch(ode, p):
    d = [adjoint_gradient(ode, p, i) for i in range(p.initial_theta.shape[0])]
    return np.sqrt(np.mean([np.mean((r.model_moments - r.data_moments) ** 2) for r in d]))


def test_moving_window_schedule_and_sgd_per_parameter_lr(tmp_path):
    true = _true_ode()
    th0 = np.random.default_rng(12).uniform(-1, 1, size=(20, 2))
    p = ExactMoments(th0, _mu_sites(true.solve(th0, 12)), _mu_sites)
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1,
                       n_substeps=2)
    ck = tmp_path / "ck.npz"
    r = train(ode, p, n_iter=60, lr=[10.0, 5.0], batch_size=4, window=5, shift_every=7,
              checkpoint_every=25, checkpoint_path=ck, seed=1, progress=False)
    assert r.tau_history.tolist() == [min(s // 7, 12 - 5) for s in range(60)]
    # the mismatch over whole trajectories fell (the window's own loss grows as it moves on)
    assert _full_mismatch(ode, p) < 0.2 * _full_mismatch(ParameterODE(
        ["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2), p)
    back = ParameterODE.load(ck)
    np.testing.assert_array_equal(back.coeffs, ode.coeffs)
    assert back.meta["step"] == 60
    # same seed, same result
    ode2 = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1,
                        n_substeps=2)
    r2 = train(ode2, p, n_iter=60, lr=[10.0, 5.0], batch_size=4, window=5, shift_every=7,
               seed=1, progress=False)
    np.testing.assert_array_equal(r2.params, r.params)
    # SGD with per-parameter rates: one step is exactly -lr_k * mean gradient
    ode3 = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1,
                        n_substeps=2)
    train(ode3, p, n_iter=1, lr=[0.5, 2.0], batch_size=20, seed=0, progress=False)
    mean = np.mean([adjoint_gradient(ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5],
                                                  [2.5, 2.5], 0.5, dt=0.1, n_substeps=2),
                                     p, i).grad for i in range(20)], axis=0)
    np.testing.assert_allclose(ode3.coeffs, -np.array([[0.5], [2.0]]) * mean, rtol=1e-12,
                               atol=1e-15)


def test_sparse_sgd_steps_equal_dense_updates():
    """SGD updates only the coefficients the adjoints touched and re-zeroes them; three
    windowed steps from a non-zero F equal the dense rule U -= lr * mean gradient."""
    true = _true_ode()
    th0 = np.random.default_rng(13).uniform(-1, 1, size=(3, 2))
    p = ExactMoments(th0, _mu_sites(true.solve(th0, 12)), _mu_sites)

    def fresh():
        return _random_ode(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, 0.1, 2,
                           0.3, seed=4)

    ode, ref = fresh(), fresh()
    lr = np.array([[0.7], [1.3]])
    for step in range(3):
        train(ode, p, n_iter=1, lr=lr[:, 0], batch_size=3, window=4, seed=step, progress=False)
        mean = np.mean([adjoint_gradient(ref, p, i, start=0, stop=4, truncated=True).grad
                        for i in range(3)], axis=0)
        assert np.count_nonzero(mean) < 0.5 * mean.size  # the update really is sparse
        ref.coeffs = ref.coeffs - lr * mean
        np.testing.assert_allclose(ode.coeffs, ref.coeffs, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# ParameterODE basics
# ---------------------------------------------------------------------------
def test_rhs_and_jacobian_match_hermite_grid():
    ode = _random_ode(["a", "b", "c"], ["c", "a", "b"], [-1, -1, -1], [1, 1, 1], 0.5, 0.1, 1,
                      1.0, 9)
    pts = np.random.default_rng(1).uniform(-1, 1, size=(20, 3))
    f = ode.rhs(pts)
    jac = ode.jacobian(pts)
    x = pts[:, [2, 0, 1]]
    for k in range(3):
        val, grad = ode.grid(k).value_and_gradient(x)
        np.testing.assert_allclose(f[:, k], val, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(jac[:, k, [2, 0, 1]], grad, rtol=1e-12, atol=1e-12)


def test_solve_substeps_and_save_load(tmp_path):
    ode = _random_ode(["a", "b"], [0, 1], [-2, -2], [2, 2], 0.5, 0.1, 5, 0.1, 2)
    th = ode.solve([[0.1, 0.2], [0.3, -0.1]], 4, substeps=True)
    assert th.shape == (2, 21, 2)
    # one Euler substep by hand
    np.testing.assert_allclose(th[:, 1], th[:, 0] + 0.02 * ode.rhs(th[:, 0]), rtol=1e-14)
    np.testing.assert_array_equal(ode.solve([[0.1, 0.2], [0.3, -0.1]], 4), th[:, ::5])
    ode.save(tmp_path / "ode.npz", meta={"note": "x"})
    back = ParameterODE.load(tmp_path / "ode.npz")
    assert back.names == ode.names and back.n_substeps == 5 and back.meta == {"note": "x"}
    np.testing.assert_array_equal(back.coeffs, ode.coeffs)
    np.testing.assert_array_equal(back.args, ode.args)
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="does not hold"):
        ParameterODE.load(tmp_path / "other.npz")


def test_centred_domain_puts_centre_in_a_cell_centre():
    c = np.array([-np.log(2)] * 3)
    lo, hi = centred_domain(c, 0.1, 0.5)
    ode = ParameterODE(["x", "y", "z"], [0, 1, 2], lo, hi, 0.1)
    n = (c - ode.lower) / ode.cell_size
    np.testing.assert_allclose(n - np.floor(n), 0.5, atol=1e-9)
    assert np.all(lo <= c - 0.5) and np.all(hi >= c + 0.5)


# ---------------------------------------------------------------------------
# (d) errors
# ---------------------------------------------------------------------------
def test_out_of_domain_trajectory_names_parameter_time_and_bound():
    ode = ParameterODE(["b", "J"], ["b", "J"], [-1, -1], [1, 1], 0.5, dt=0.1)
    ode.coeffs[0, ::4] = -2.0  # F_b = -2 everywhere (values only)
    with pytest.raises(ValueError, match=r"'b' = -1\.2 at t = 0\.6 is below the lower bound -1"):
        ode.solve([0.0, 0.0], 10)
    with pytest.raises(ValueError, match=r"`theta0`: parameter 'J' = 3 .*above the upper bound 1"):
        ode.solve([0.0, 3.0], 1)
    p = ExactMoments([[0.0, 0.0]], np.zeros((1, 11, 2)), _mu_sites)
    with pytest.raises(ValueError, match=r"initial_theta\[0\].*'b'.*lower bound"):
        adjoint_gradient(ode, p, 0)
    with pytest.raises(ValueError, match="below the lower bound"):
        ode.rhs([[-1.5, 0.0]])


def test_bad_schedules_rates_and_shapes():
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2, -2], [2, 2], 0.5, dt=0.1)
    p = ExactMoments(np.zeros((3, 2)), np.ones((3, 6, 2)), _mu_sites)
    bad = [
        (dict(window=6), r"`window` must be in \[1, n_times - 1 = 5\]"),
        (dict(window=0), r"`window` must be an integer >= 1"),
        (dict(shift_every=0), r"`shift_every` must be an integer >= 1"),
        (dict(batch_size=4), r"`batch_size` must be in \[1, n_traj=3\]"),
        (dict(lr=-1.0), r"`lr` must be finite and > 0"),
        (dict(lr=[1.0, np.nan]), r"`lr` must be finite and > 0"),
        (dict(lr=[1.0, 1.0, 1.0]), r"`lr` must have one entry per parameter \(2\)"),
        (dict(optimizer="lbfgs"), r"`optimizer` must be 'sgd' or 'adam'"),
        (dict(l2=-0.1), r"`l2` must be a finite number >= 0"),
        (dict(checkpoint_every=5), r"`checkpoint_path` is required"),
        (dict(theta_bar=[0.0]), r"`theta_bar` must be finite with shape \(2,\)"),
    ]
    for kw, msg in bad:
        with pytest.raises(ValueError, match=msg):
            train(ode, p, n_iter=2, progress=False, **kw)
    with pytest.raises(TypeError, match="`n_iter` must be an integer"):
        train(ode, p, n_iter=2.5, progress=False)
    with pytest.raises(ValueError, match=r"shape \(n_traj, 3\)"):
        train(ParameterODE(["a", "b", "c"], [0], [-1], [1], 0.5), p, n_iter=1, progress=False)
    with pytest.raises(TypeError, match="`ode` must be a ParameterODE"):
        train("ode", p, n_iter=1)
    with pytest.raises(ValueError, match=r"0 <= start <= stop < n_times=6"):
        adjoint_gradient(ode, p, 0, start=3, stop=2)
    with pytest.raises(ValueError, match=r"`trajectory` must be an index in \[0, 2\]"):
        adjoint_gradient(ode, p, 3)
    with pytest.raises(ValueError, match=r"`data_moments` must have shape"):
        ExactMoments(np.zeros((3, 2)), np.ones((3, 6, 3)), _mu_sites)
    with pytest.raises(ValueError, match=r"`model_moments` must return shape"):
        adjoint_gradient(ode, ExactMoments(np.zeros((3, 2)), np.ones((3, 6, 2)),
                                           lambda t: t[:, :1]), 0)
    with pytest.raises(ValueError, match=r"`coeffs` must have shape \(2, 324\)"):
        ode.coeffs = np.zeros((2, 10))
    with pytest.raises(ValueError, match="`args`"):
        ParameterODE(["a"], ["z"], [-1], [1], 0.5)
    with pytest.raises(ValueError, match="`args` must name 1 to 3"):
        ParameterODE(list("abcd"), [0, 1, 2, 3], [-1] * 4, [1] * 4, 0.5)
    with pytest.raises(ValueError, match="one entry per argument"):
        ParameterODE(["a", "b"], [0], [-1, -1], [1, 1], 0.5)
    with pytest.raises(ValueError, match="`dt` must be a finite number > 0"):
        ParameterODE(["a"], [0], [-1], [1], 0.5, dt=0.0)
    with pytest.raises(ValueError, match="`n_substeps` must be an integer >= 1"):
        ParameterODE(["a"], [0], [-1], [1], 0.5, n_substeps=0)
    with pytest.raises(ValueError, match=r"`theta0` must have shape \(\.\.\., 2\)"):
        ode.solve([0.0], 3)


def test_training_warns_when_not_converged():
    ode = ParameterODE(["a"], [0], [-2], [2], 0.5, dt=0.1)
    p = ExactMoments(np.zeros((2, 1)), np.full((2, 5, 1), 8.0), _mu_sites)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = train(ode, p, n_iter=3, lr=1e-6, tol=1e-3, progress=False)
    assert not r.converged


# ---------------------------------------------------------------------------
# sampled estimators: CD-k from samples of the model has zero expected mismatch
# ---------------------------------------------------------------------------
def _mismatch_stats(problem, theta, n_rep, n_times):
    diffs = []
    for rep in range(n_rep):
        th = np.tile(theta, (n_times, 1))
        model, data = problem.moments(0, np.arange(n_times), th, rep)
        diffs.append(model - data)
    d = np.concatenate(diffs)
    return d.mean(0), d.std(0, ddof=1) / np.sqrt(d.shape[0])


def test_ising_moments_unbiased_at_the_data_distribution():
    theta = np.array([-0.4, 0.6, -0.3])
    n_lat, n_times, L = 40, 3, 200
    data = np.stack([ising.sample(*theta, n_sites=L, n_samples=n_lat, n_sweeps=200,
                                  boundary="reflecting", seed=t) for t in range(n_times)], 1)
    p = IsingMoments(theta[None], data[None], n_samples=10, cd_k=1)
    mean, se = _mismatch_stats(p, theta, 60, n_times)
    assert np.all(np.abs(mean) < 4 * se + 1e-12), (mean, se)
    # data moments are batch means of raw sums; check one against chain_moments directly
    m, d = p.moments(0, np.array([1]), theta[None], 5)
    assert m.shape == d.shape == (1, 3)
    pick = np.sort(np.random.default_rng(5).choice(n_lat, 10, replace=False))
    np.testing.assert_allclose(d[0], ising.moments(data[pick, 1], boundary="reflecting")
                               .mean(0))
    # a wrong theta gives a mismatch of the right sign: larger b -> more particles
    m_hi, d_hi = p.moments(0, np.arange(3), np.tile(theta + [1.0, 0, 0], (3, 1)), 0)
    assert np.all(m_hi[:, 0] > d_hi[:, 0])


def test_hidden_moments_unbiased_at_the_data_distribution():
    theta = np.array([-0.5, 1.0, -1.0])
    L, n_lat, n_times = 100, 40, 2
    model = rbm.hidden_model_1d(L)
    data = np.stack([rbm.gibbs(model, theta, n_steps=100, n_chains=n_lat, seed=t)[0]
                     for t in range(n_times)], 1)
    p = HiddenMoments(theta[None], data[None], n_samples=10, cd_k=1)
    mean, se = _mismatch_stats(p, theta, 60, n_times)
    assert np.all(np.abs(mean) < 4 * se + 1e-12), (mean, se)


def test_sampled_problem_errors():
    data = np.zeros((2, 5, 3, 20), dtype=np.int8)
    with pytest.raises(ValueError, match=r"`n_samples` must be in \[1, n_lattices=5\]"):
        IsingMoments(np.zeros((2, 3)), data, n_samples=6)
    with pytest.raises(ValueError, match=r"`initial_theta` must be finite with shape"):
        IsingMoments(np.zeros((3, 3)), data)
    with pytest.raises(ValueError, match="occupancies 0 and 1"):
        HiddenMoments(np.zeros((2, 3)), data + 2)
    with pytest.raises(ValueError, match=r"shape \(n_traj, n_lattices, n_times, L\)"):
        IsingMoments(np.zeros((2, 3)), data[0])


def test_hermite_template_is_shared_geometry():
    ode = ParameterODE(["a", "b"], [1], [-1.0], [1.0], 0.25)
    g = ode.grid("b")
    assert isinstance(g, HermiteGrid) and g.n_cells == (8,)
    assert ode.n_dofs == g.n_dofs == 18


def test_sampled_kernels_against_ising_and_rbm_references():
    # visible: many CD sweeps from empty lattices reach the exact (transfer-matrix) moments
    theta = np.array([-0.3, 0.8, -0.6])
    L, n_lat = 300, 40
    data = np.zeros((1, n_lat, 1, L), dtype=np.int8)
    p = IsingMoments(theta[None], data, n_samples=n_lat, cd_k=60)
    runs = np.array([p.moments(0, np.array([0]), theta[None], s)[0][0] for s in range(8)])
    exact = ising.exact_moments(*theta, n_sites=L, boundary="reflecting", max_order=3) * L
    # per-lattice standard error from the runs (each run averages n_lat lattices)
    se = runs.std(0, ddof=1) / np.sqrt(runs.shape[0])
    assert np.all(np.abs(runs.mean(0) - exact) < 4 * se + 1e-9), (runs.mean(0), exact, se)
    # hidden: the awake moments are deterministic and equal rbm.moments
    rng = np.random.default_rng(3)
    data = (rng.random((1, 12, 2, 50)) < 0.4).astype(np.int8)
    th = np.array([[0.2, -0.7, 0.4], [-0.1, 0.5, -1.2]])
    hp = HiddenMoments(th[:1], data, n_samples=12)
    _, awake = hp.moments(0, np.array([0, 1]), th, 0)
    ref = [rbm.moments(hp.model, th[n], data[0, :, n]).mean(0) for n in range(2)]
    np.testing.assert_allclose(awake, ref, rtol=1e-12)


# ---------------------------------------------------------------------------
# section IV A helpers
# ---------------------------------------------------------------------------
def _enumerated_chain_moments(logp_of_states, L):
    states = np.array(list(itertools.product((0, 1), repeat=L)), dtype=np.int8)
    logp = logp_of_states(states)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    from dbmtools import chain_moments

    return p @ chain_moments(states, max_order=4, boundary="reflecting")


@pytest.mark.parametrize("theta", [(0.3, -0.8, 0.5), (-1.0, 1.2, -0.4), (0.0, 0.0, 0.0)])
def test_exact_chain_moments_against_enumeration(theta):
    from dbmtools.dynamics import hidden_chain_moments, ising_chain_moments

    L = 9
    b, J, K = theta

    def logp_bjk(s):
        return (b * s.sum(1) + J * (s[:, :-1] * s[:, 1:]).sum(1)
                + K * (s[:, :-2] * s[:, 1:-1] * s[:, 2:]).sum(1))

    np.testing.assert_allclose(ising_chain_moments(theta, L),
                               _enumerated_chain_moments(logp_bjk, L), rtol=1e-10)
    bb, W, bh = theta  # the same numbers as (b, W, b')

    def logp_hidden(s):
        a = s[:, :-1] + s[:, 1:]
        return bb * s.sum(1) + np.log1p(np.exp(bh + W * a)).sum(1)

    np.testing.assert_allclose(hidden_chain_moments(theta, L),
                               _enumerated_chain_moments(logp_hidden, L), rtol=1e-10)
    # L = 1000 (the paper's size): the package's own transfer matrix, an independent code
    np.testing.assert_allclose(
        ising_chain_moments(theta, 1000),
        ising.exact_moments(b, J, K, n_sites=1000, boundary="reflecting") * 1000, rtol=1e-9)


def test_fit_hidden_initial_matches_density_and_pairs_of_correlated_lattices():
    from dbmtools.dynamics import fit_hidden_initial, hidden_chain_moments

    # data from the hidden model itself: the fit must reproduce its first two moments
    theta = np.array([-0.6, 1.5, -1.5])
    L, n_lat = 300, 30
    model = rbm.hidden_model_1d(L)
    states = rbm.gibbs(model, theta, n_steps=200, n_chains=n_lat, seed=4)[0][None]
    fit = fit_hidden_initial(states, n_iter=600, lr=0.05, seed=0, progress=False)[0]
    got = hidden_chain_moments(fit, L)[:2] / L
    want = states[0].astype(float)
    emp = np.array([want.mean(), (want[:, :-1] * want[:, 1:]).sum(1).mean() / L])
    # per-site standard errors over 30 lattices of 300 sites are about 0.005
    np.testing.assert_allclose(got, emp, atol=0.02)


def test_annihilation_pipeline_end_to_end_small():
    from dbmtools.dynamics import (
        annihilation_data,
        closure_moments,
        closure_rmse,
        learn_closures,
    )

    data = annihilation_data(4, n_lattices=6, n_sites=60, n_steps=12, seed=0, progress=False)
    assert data.states.shape == (4, 6, 13, 60) and data.states.dtype == np.int8
    # the simulator conserves nothing but can only remove particles: counts never grow
    counts = data.states.sum(-1)
    assert np.all(np.diff(counts, axis=2) <= 0)
    run = learn_closures(data, n_sweeps=3, n_samples=3, window=4, shift_sweeps=1, seed=1,
                         progress=False)
    assert run.visible_fit.n_iter == 12 and run.hidden_fit.n_iter == 12
    assert run.visible_fit.tau_history.max() == 2
    res = closure_moments(run, data, hidden_initial=run.hidden_initial, every=4)
    assert res["times"].tolist() == [0.0, 0.04, 0.08, 0.12]
    for name in ("visible", "hidden"):
        assert res[name].shape == res["simulation"].shape == (4, 4, 4)
        assert np.all(np.isfinite(closure_rmse(res[name], res["simulation"])))


# --- classical closures of (36) -----------------------------------------------------------


@pytest.mark.parametrize("b, J", [(-0.7, 0.9), (0.3, -1.2), (0.0, 0.0), (1.1, 0.4)])
def test_pair_approximation_is_exact_for_nearest_neighbour_chain(b, J):
    from dbmtools.dynamics import pair_approximation
    from dbmtools.ising import exact_moments

    rho, q, t3, t4 = exact_moments(b, J, 0.0, max_order=4)  # infinite chain, K = 0
    s2, t3_pa, t4_pa = pair_approximation(rho, q)
    np.testing.assert_allclose([t3_pa, t4_pa], [t3, t4], rtol=1e-10)
    # <v_i v_{i+2}> from the symmetric 2 x 2 transfer matrix of the same chain
    T = np.array([[1.0, np.exp(b / 2)], [np.exp(b / 2), np.exp(b + J)]])
    lam, vec = np.linalg.eigh(T)
    psi = vec[:, -1]
    np.testing.assert_allclose(psi[1] ** 2, rho, rtol=1e-10)
    np.testing.assert_allclose(psi[1] * T[1, 1] * psi[1] / lam[-1], q, rtol=1e-10)
    np.testing.assert_allclose(s2, psi[1] * (T @ T)[1, 1] * psi[1] / lam[-1] ** 2, rtol=1e-10)


def test_classical_closure_mean_field_and_pair():
    from dbmtools.dynamics import classical_closure

    L, t = 1000, np.linspace(0, 2, 21)
    m0 = np.array([[400.0, 160.0 * 999 / 1000], [200.0, 10.0]])
    mf = classical_closure(m0, L, t, k_r=1.0, D=50.0, method="mean field", max_step=5e-5)
    rho = 0.4 / (1 + 2 * 0.4 * t)
    np.testing.assert_allclose(mf[0, :, 0] / L, rho, rtol=1e-3)
    np.testing.assert_allclose(mf[0, :, 2], (L - 2) * mf[0, :, 0] ** 3 / L**3, rtol=1e-12)
    # without hopping nor reaction nothing moves; without reaction the density is conserved
    still = classical_closure(m0, L, t, k_r=0.0, D=0.0, method="pair")
    np.testing.assert_allclose(still, still[:, :1].repeat(len(t), 1))
    hop = classical_closure(m0, L, t, k_r=0.0, D=50.0, method="pair")
    np.testing.assert_allclose(hop[:, :, 0], m0[:, :1].repeat(len(t), 1))
    # hopping alone relaxes the pair moment to the uncorrelated value rho^2
    np.testing.assert_allclose(hop[:, -1, 1] / (L - 1), (m0[:, 0] / L) ** 2, rtol=1e-6)
    with pytest.raises(ValueError, match="method"):
        classical_closure(m0, L, t, k_r=1.0, D=1.0, method="kirkwood")


def test_hierarchy_moments_and_pair_line_fit():
    from dbmtools.dynamics import check_pair_line, hierarchy_moments

    rng = np.random.default_rng(0)
    s = (rng.random((2, 3, 4, 30)) < 0.4).astype(np.int8)
    hm = hierarchy_moments(s)
    v = s.astype(float)
    np.testing.assert_allclose(hm[..., 2], (v[..., :-2] * v[..., 2:]).sum(-1).mean(1))
    # synthetic moments that obey the 'derived' line exactly with D = 7: recovered
    x = rng.uniform(1, 2, (5, 8, 4))
    dt, kr, D = 0.01, 1.0, 7.0
    for n in range(7):
        x[:, n + 1, 1] = x[:, n, 1] + dt * (2 * D * (x[:, n, 2] - x[:, n, 1])
                                          - 2 * kr * x[:, n, 3] - kr * x[:, n, 1])
    fit = check_pair_line(x, dt, kr, start=0, stop=7)
    assert abs(fit["derived"]["D"] - D) < 1e-8 and fit["derived"]["residual"] < 1e-8
    assert fit["paper"]["residual"] > 1e-3


def test_small_closure_run_learns_and_respects_settings():
    from dbmtools.dynamics import closure_rmse, ising_chain_moments, small_closure_run

    r = small_closure_run(0.5, 0.05, n_conditions=3, n_lattices=4, n_sites=60, n_steps=20,
                          n_sweeps=30, seed=3)
    assert r.data.meta["prob"] == 0.05
    assert np.allclose(r.ode.cell_size, 0.5) and r.fit.n_iter == 90
    assert r.simulation.shape == r.model.shape == (3, 21, 2)
    # at t = 0 the model moments are exact transfer-matrix values of the initial (b, J, K)
    np.testing.assert_allclose(r.model[:, 0],
                               ising_chain_moments(r.data.initial_theta, 60, max_order=2))
    assert np.all(np.isfinite(closure_rmse(r.model, r.simulation)))
    # whole cells around the box for any cell size
    r2 = small_closure_run(0.75, 0.01, n_conditions=2, n_lattices=3, n_sites=40, n_steps=10,
                           n_sweeps=2, seed=0)
    assert np.allclose((r2.ode.upper - r2.ode.lower) / 0.75 % 1, 0)


# --- asleep-phase starts of the 1D estimators: data (CD-k), random, persistent (PCD) ---


@pytest.mark.parametrize("cls", ["ising", "hidden"])
@pytest.mark.parametrize("start", ["random", "persistent"])
def test_1d_estimators_random_and_persistent_starts_reach_the_model(cls, start):
    """Whatever the start, long enough chains sample the model itself: for a model whose
    exact moments we know, the asleep moments agree within 4 standard errors (spread over
    repeated calls). With start="persistent" and cd_k = 1, it is the carried-on chains
    that must get there."""
    from dbmtools import ising, rbm

    L, n_lat, n_calls = 12, 40, 60
    theta = np.array([-0.4, 0.6, 0.3])
    data = np.zeros((1, n_lat, 2, L), dtype=np.int8)  # all-empty data: far from the model
    if cls == "ising":
        problem = dynamics.IsingMoments(theta[None], data, n_samples=n_lat, start=start,
                                        cd_k=30 if start == "random" else 1)
        exact = ising.exact_moments(*theta, n_sites=L, boundary="reflecting", max_order=3) * L
    else:
        problem = dynamics.HiddenMoments(theta[None], data, n_samples=n_lat, start=start,
                                         cd_k=30 if start == "random" else 1)
        exact = rbm.exact_moments(rbm.hidden_model_1d(L), theta)
    calls = [problem.moments(0, np.array([1]), theta[None], seed=[3, c])[0][0]
             for c in range(n_calls)]
    est = np.array(calls[n_calls // 2 :])  # PCD: the second half, after burn-in
    z = np.abs(est.mean(0) - exact) / (est.std(0, ddof=1) / np.sqrt(len(est)))
    assert np.all(z < 4), z


def test_persistent_chains_carry_on_and_data_start_is_unchanged():
    L = 10
    data = np.zeros((1, 3, 2, L), dtype=np.int8)
    p = dynamics.IsingMoments(np.zeros((1, 3)), data, n_samples=3, start="persistent")
    p.moments(0, np.array([0]), np.array([[2.0, 0.0, 0.0]]), seed=1)
    after_one = p._chains_of(0).copy()
    assert after_one[0].sum() > 0 and after_one[1].sum() == 0  # only time 0 moved on
    p.moments(0, np.array([0]), np.array([[2.0, 0.0, 0.0]]), seed=2)
    assert not np.array_equal(p._chains_of(0), after_one)
    with pytest.raises(ValueError, match="`start` must be"):
        dynamics.IsingMoments(np.zeros((1, 3)), data, start="pcd")

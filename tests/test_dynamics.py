"""Tests of dbmtools.dynamics (issue 5; layout of issue 11) against independent truths.

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

from dbmtools import HermiteGrid, ising
from dbmtools.dynamics import (
    ParameterODE,
    adjoint_gradient,
    cell_vertices,
    centred_domain,
    predict,
    train,
    validation_loss,
    visited_cells,
)
from dbmtools.estimators import ExactMoments

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
        [
            ising.exact_moments_per_site(*t, n_sites=RING, boundary="periodic", max_order=3) * RING
            for t in th
        ]
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
    r = adjoint_gradient(
        ode, problem, 0, start=start, stop=stop, truncated=truncated, l2=l2, theta_bar=tbar
    )
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
    p = ExactMoments(mu, th0, model_moments=_mu_sites)
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
    p = ExactMoments(mu, th0, model_moments=_mu_sites)
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
    p = ExactMoments(mu, th0, model_moments=_mu_ring)
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
    p = ExactMoments(mu, th0, model_moments=_mu_sites)
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
    p = ExactMoments(mu, [[y0]], model_moments=lambda y: np.array(y, dtype=float))
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
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2)
    f = [
        lambda x: -0.8 * x[:, 0] + 0.4 * x[:, 1] ** 2 - 0.2,
        lambda x: -0.5 * x[:, 1] + 0.3 * x[:, 0] * x[:, 1],
    ]
    d = [
        lambda x: np.stack([-0.8 + 0 * x[:, 0], 0.8 * x[:, 1], 0 * x[:, 0]], 1),
        lambda x: np.stack([0.3 * x[:, 1], -0.5 + 0.3 * x[:, 0], 0.3 + 0 * x[:, 0]], 1),
    ]
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
    p = ExactMoments(_mu_sites(traj), th0, model_moments=_mu_sites)
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2)
    r = train(
        ode,
        p,
        n_iter=1000,
        lr=0.02,
        optimizer="adam",
        batch_size=30,
        seed=0,
        progress=False,
        tol=0.01,
    )
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


def test_validation_loss_early_stopping_and_best_coefficients():
    true = _true_ode()
    rng = np.random.default_rng(12)
    th0 = rng.uniform(-1, 1, size=(20, 2))
    traj = true.solve(th0, 12)
    p_train = ExactMoments(_mu_sites(traj[:15]), th0[:15], model_moments=_mu_sites)
    p_val = ExactMoments(_mu_sites(traj[15:]), th0[15:], model_moments=_mu_sites)
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2)
    # F = 0: the validation loss is the RMS of mu(theta_0) - mu(t) (independent computation)
    direct = np.sqrt(np.mean((_mu_sites(th0[15:, None]) - _mu_sites(traj[15:])) ** 2))
    assert np.isclose(validation_loss(ode, p_val), direct, rtol=1e-12)
    r = train(
        ode,
        p_train,
        n_iter=300,
        lr=0.02,
        optimizer="adam",
        batch_size=15,
        seed=0,
        progress=False,
        validation=p_val,
        validate_every=20,
    )
    assert r.validation_steps.tolist() == list(range(20, 301, 20))
    # the held-out loss falls (training generalises) and ode holds the best evaluation
    assert r.validation_history.min() < 0.25 * direct  # measured: 0.56 -> 0.11
    best = int(np.argmin(r.validation_history))
    assert r.best_step == r.validation_steps[best]
    assert np.isclose(validation_loss(ode, p_val), r.validation_history[best], rtol=1e-12)
    # held-out data that never move (F = 0 is best for them): every step of training makes
    # the validation loss worse, so training stops after `patience` evaluations
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2)
    still = ExactMoments(
        np.repeat(_mu_sites(th0[15:, None]), 13, axis=1), th0[15:], model_moments=_mu_sites
    )
    r = train(
        ode,
        p_train,
        n_iter=300,
        lr=0.02,
        optimizer="adam",
        batch_size=15,
        seed=0,
        progress=False,
        validation=still,
        validate_every=10,
        patience=3,
    )
    assert r.stopped_early and r.n_iter == 40 and r.best_step == 10
    assert not r.interrupted
    with pytest.raises(ValueError, match="patience"):
        train(ode, p_train, n_iter=3, progress=False, patience=2)


def test_roughness_penalty_step_is_the_gradient_of_the_quadratic_form():
    true = _true_ode()
    th0 = np.random.default_rng(13).uniform(-1, 1, size=(6, 2))
    p = ExactMoments(_mu_sites(true.solve(th0, 8)), th0, model_moments=_mu_sites)

    def fresh():
        return _random_ode(
            ["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, 0.1, 2, 0.05, seed=5
        )

    ode, ref = fresh(), fresh()
    lr, w = 0.3, 0.02
    train(ode, p, n_iter=1, lr=lr, batch_size=6, roughness=w, seed=0, progress=False)
    data = np.mean([adjoint_gradient(ref, p, i).grad for i in range(6)], axis=0)
    R = ref.grid(0).roughness_matrix(2).toarray()
    # d/du (w u^T R u) = 2 w R u, by the definition of the quadratic form; check it too by
    # central differences of the penalty itself
    u = ref.coeffs[0]
    e = np.zeros_like(u)
    e[7] = 1e-6
    fd = (w * (u + e) @ R @ (u + e) - w * (u - e) @ R @ (u - e)) / 2e-6
    assert np.isclose(fd, 2 * w * (R @ u)[7], rtol=1e-6)
    want = ref.coeffs - lr * data - lr * 2 * w * (R @ ref.coeffs.T).T
    np.testing.assert_allclose(ode.coeffs, want, rtol=1e-10, atol=1e-13)


def _full_mismatch(ode, p):
    d = [adjoint_gradient(ode, p, i) for i in range(p.initial_theta.shape[0])]
    return np.sqrt(np.mean([np.mean((r.model_moments - r.data_moments) ** 2) for r in d]))


def test_moving_window_schedule_and_sgd_per_parameter_lr(tmp_path):
    true = _true_ode()
    th0 = np.random.default_rng(12).uniform(-1, 1, size=(20, 2))
    p = ExactMoments(_mu_sites(true.solve(th0, 12)), th0, model_moments=_mu_sites)
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2)
    ck = tmp_path / "ck.npz"
    r = train(
        ode,
        p,
        n_iter=60,
        lr=[10.0, 5.0],
        batch_size=4,
        window=5,
        shift_every=7,
        checkpoint_every=25,
        checkpoint_path=ck,
        seed=1,
        progress=False,
    )
    assert r.tau_history.tolist() == [min(s // 7, 12 - 5) for s in range(60)]
    # the mismatch over whole trajectories fell (the window's own loss grows as it moves on)
    assert _full_mismatch(ode, p) < 0.2 * _full_mismatch(
        ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2), p
    )
    back = ParameterODE.load(ck)
    np.testing.assert_array_equal(back.coeffs, ode.coeffs)
    assert back.meta["step"] == 60
    # same seed, same result
    ode2 = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2)
    r2 = train(
        ode2,
        p,
        n_iter=60,
        lr=[10.0, 5.0],
        batch_size=4,
        window=5,
        shift_every=7,
        seed=1,
        progress=False,
    )
    np.testing.assert_array_equal(r2.params, r.params)
    # SGD with per-parameter rates: one step is exactly -lr_k * mean gradient
    ode3 = ParameterODE(["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2)
    train(ode3, p, n_iter=1, lr=[0.5, 2.0], batch_size=20, seed=0, progress=False)
    mean = np.mean(
        [
            adjoint_gradient(
                ParameterODE(
                    ["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, dt=0.1, n_substeps=2
                ),
                p,
                i,
            ).grad
            for i in range(20)
        ],
        axis=0,
    )
    np.testing.assert_allclose(
        ode3.coeffs, -np.array([[0.5], [2.0]]) * mean, rtol=1e-12, atol=1e-15
    )


def test_sparse_sgd_steps_equal_dense_updates():
    """SGD updates only the coefficients the adjoints touched and re-zeroes them; three
    windowed steps from a non-zero F equal the dense rule U -= lr * mean gradient."""
    true = _true_ode()
    th0 = np.random.default_rng(13).uniform(-1, 1, size=(3, 2))
    p = ExactMoments(_mu_sites(true.solve(th0, 12)), th0, model_moments=_mu_sites)

    def fresh():
        return _random_ode(
            ["a", "b"], ["a", "b"], [-2.5, -2.5], [2.5, 2.5], 0.5, 0.1, 2, 0.3, seed=4
        )

    ode, ref = fresh(), fresh()
    lr = np.array([[0.7], [1.3]])
    for step in range(3):
        train(ode, p, n_iter=1, lr=lr[:, 0], batch_size=3, window=4, seed=step, progress=False)
        mean = np.mean(
            [adjoint_gradient(ref, p, i, start=0, stop=4, truncated=True).grad for i in range(3)],
            axis=0,
        )
        assert np.count_nonzero(mean) < 0.5 * mean.size  # the update really is sparse
        ref.coeffs = ref.coeffs - lr * mean
        np.testing.assert_allclose(ode.coeffs, ref.coeffs, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# ParameterODE basics
# ---------------------------------------------------------------------------
def test_rhs_and_jacobian_match_hermite_grid():
    ode = _random_ode(
        ["a", "b", "c"], ["c", "a", "b"], [-1, -1, -1], [1, 1, 1], 0.5, 0.1, 1, 1.0, 9
    )
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
    with pytest.raises(ValueError, match="other.npz.* is not a dbmtools file"):
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
    with pytest.raises(
        ValueError, match=r"`initial_theta`: parameter 'J' = 3 .*above the upper bound 1"
    ):
        ode.solve([0.0, 3.0], 1)
    p = ExactMoments(np.zeros((1, 11, 2)), [[0.0, 0.0]], model_moments=_mu_sites)
    with pytest.raises(ValueError, match=r"initial_theta\[0\].*'b'.*lower bound"):
        adjoint_gradient(ode, p, 0)
    with pytest.raises(ValueError, match="below the lower bound"):
        ode.rhs([[-1.5, 0.0]])


def test_bad_schedules_rates_and_shapes():
    ode = ParameterODE(["a", "b"], ["a", "b"], [-2, -2], [2, 2], 0.5, dt=0.1)
    p = ExactMoments(np.ones((3, 6, 2)), np.zeros((3, 2)), model_moments=_mu_sites)
    bad = [
        (dict(window=6), r"`window` must be in \[1, n_times - 1 = 5\]"),
        (dict(window=0), r"`window` must be an integer >= 1"),
        (dict(shift_every=0), r"`shift_every` must be an integer >= 1"),
        (dict(batch_size=4), r"`batch_size` must be in \[1, n_traj=3\]"),
        (dict(lr=-1.0), r"`lr` must be finite and > 0"),
        (dict(lr=[1.0, np.nan]), r"`lr` must be finite and > 0"),
        (dict(lr=[1.0, 1.0, 1.0]), r"`lr` must have one entry per parameter \(2\)"),
        (dict(optimizer="lbfgs"), r"`optimizer` must be one of 'sgd', 'adam'"),
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
        ExactMoments(np.ones((3, 6, 3)), np.zeros((3, 2)), model_moments=_mu_sites)
    with pytest.raises(ValueError, match=r"`model_moments` must return shape"):
        adjoint_gradient(
            ode,
            ExactMoments(np.ones((3, 6, 2)), np.zeros((3, 2)), model_moments=lambda t: t[:, :1]),
            0,
        )
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
    with pytest.raises(ValueError, match=r"`initial_theta` must have shape \(\.\.\., 2\)"):
        ode.solve([0.0], 3)


def test_training_warns_when_not_converged():
    ode = ParameterODE(["a"], [0], [-2], [2], 0.5, dt=0.1)
    p = ExactMoments(np.full((2, 5, 1), 8.0), np.zeros((2, 1)), model_moments=_mu_sites)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = train(ode, p, n_iter=3, lr=1e-6, tol=1e-3, progress=False)
    assert not r.converged


def test_hermite_template_is_shared_geometry():
    ode = ParameterODE(["a", "b"], [1], [-1.0], [1.0], 0.25)
    g = ode.grid("b")
    assert isinstance(g, HermiteGrid) and g.n_cells == (8,)
    assert ode.n_dofs == g.n_dofs == 18


def test_cell_index_visited_cells_and_vertices():
    ode = ParameterODE(["a", "b"], [0, 1], [0.0, -1.0], [1.0, 1.0], 0.5)
    theta = np.array([[0.1, -1.0], [0.5, 0.99], [1.0, 1.0]])
    # interior faces belong to the cell above; the upper boundary to the last cell
    assert ode.cell_index(theta).tolist() == [[0, 0], [1, 3], [1, 3]]
    assert visited_cells(ode, theta[None]) == {(0, 0), (1, 3)}
    assert cell_vertices(ode, {(0, 0)}).tolist() == [
        [0.0, -1.0],
        [0.0, -0.5],
        [0.5, -1.0],
        [0.5, -0.5],
    ]
    with pytest.raises(ValueError, match=r"'a' = 1\.5 \(row 0\) is above the upper bound 1"):
        ode.cell_index([[1.5, 0.0]])


# ---------------------------------------------------------------------------
# nothing silent, nothing lost (issue 16: training errors, interrupts, files)
# ---------------------------------------------------------------------------
def test_non_finite_moments_are_refused_where_they_enter():
    with pytest.raises(ValueError, match="`data_moments` must be finite"):
        ExactMoments(np.full((1, 4, 1), np.nan), [[0.0]], model_moments=_mu_sites)
    ode = ParameterODE(["a"], [0], [-3.0], [3.0], 1.0, dt=0.1)
    p = ExactMoments(np.ones((1, 4, 1)), [[0.0]], model_moments=lambda t: t * np.nan)
    with pytest.raises(FloatingPointError, match="model_moments` returned NaN or inf"):
        adjoint_gradient(ode, p, 0)

    class NaNData:  # a user's own estimator whose data moments are NaN
        initial_theta = np.zeros((1, 1))
        n_times = 4

        def moments(self, i, time_indices, theta, seed=None):
            return np.ones_like(theta), np.full_like(theta, np.nan)

    with pytest.raises(FloatingPointError, match=r"data moments of trajectory 0 are not finite"):
        adjoint_gradient(ode, NaNData(), 0)


def test_divergence_is_reported_as_divergence():
    true = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    th0 = np.array([[-1.5], [1.5]])
    p = ExactMoments(_mu_sites(true.solve(th0, 10)) + 3.0, th0, model_moments=_mu_sites)
    ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    # issue 20: leaving the domain keeps the finished steps and says why it stopped
    with pytest.warns(RuntimeWarning, match=r"train stopped after 2 of 5 steps.*lower `lr`"):
        r = train(ode, p, n_iter=5, lr=1e6, progress=False)
    assert r.failure is not None and "training diverged" in r.failure
    assert r.n_iter == 2 and r.loss_history.shape == (2,) and not r.interrupted
    np.testing.assert_array_equal(r.params, ode.coeffs)  # the last finished step's
    # with a validation set, the coefficients of the best validation are kept
    tv = np.array([[-1.5]])  # validation trajectories far from where F blows up
    v = ExactMoments(_mu_sites(true.solve(tv, 10)), tv, model_moments=_mu_sites)
    p1 = ExactMoments(_mu_sites(true.solve(th0[1:], 10)) + 3.0, th0[1:], model_moments=_mu_sites)
    ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    with pytest.warns(RuntimeWarning, match="stopped after 1 of 20 steps.*best validation"):
        r = train(ode, p1, n_iter=20, lr=1e3, validation=v, validate_every=1, progress=False)
    assert r.failure is not None and r.best_step == 1 and r.validation_history.tolist() == [0.0]
    np.testing.assert_array_equal(r.params, ode.coeffs)


def test_interrupted_training_keeps_its_history():
    th0 = np.zeros((1, 1))
    mu = np.full((1, 6, 1), 6.0)

    class StopAfter(ExactMoments):
        calls = 0

        def moments(self, i, time_indices, theta, seed=None):
            StopAfter.calls += 1
            if StopAfter.calls == 4:
                raise KeyboardInterrupt
            return super().moments(i, time_indices, theta, seed)

    ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    with pytest.warns(RuntimeWarning, match="interrupted after 3 of 10 steps"):
        r = train(
            ode, StopAfter(mu, th0, model_moments=_mu_sites), n_iter=10, lr=0.1, progress=False
        )
    assert r.interrupted and r.n_iter == 3 and r.loss_history.shape == (3,)
    assert np.all(np.isfinite(r.loss_history)) and not r.converged
    np.testing.assert_array_equal(r.params, ode.coeffs)


def test_checkpoints_are_checked_up_front_written_atomically_and_load_back(tmp_path):
    ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    p = ExactMoments(np.full((1, 6, 1), 6.0), np.zeros((1, 1)), model_moments=_mu_sites)
    with pytest.raises(FileNotFoundError, match="checkpoint_path"):
        train(
            ode,
            p,
            n_iter=2,
            checkpoint_every=1,
            checkpoint_path=tmp_path / "no" / "x.npz",
            progress=False,
        )
    target = tmp_path / "ckpt.dat"  # any name: written and read exactly as given
    train(ode, p, n_iter=4, lr=0.1, checkpoint_every=2, checkpoint_path=target, progress=False)
    back = ParameterODE.load(target)
    np.testing.assert_array_equal(back.coeffs, ode.coeffs)
    assert back.meta["step"] == 4 and sorted(x.name for x in tmp_path.iterdir()) == ["ckpt.dat"]
    target.write_bytes(target.read_bytes()[:40])  # truncated
    with pytest.raises(ValueError, match="ckpt.dat"):
        ParameterODE.load(target)


def test_load_validates_settings_as_construction_does(tmp_path):
    from dbmtools._io import save_npz

    ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    settings = ode.to_dict()
    coeffs = settings.pop("coeffs")
    for key, bad in (("n_substeps", 1.7), ("args", [0.9]), ("dt", -0.5)):
        save_npz(tmp_path / "bad.npz", "ParameterODE", {"coeffs": coeffs}, {**settings, key: bad})
        with pytest.raises(ValueError, match="bad.npz.*invalid ParameterODE"):
            ParameterODE.load(tmp_path / "bad.npz")

"""Tests of dbmtools.closures against independent truths.

* the exact covariance against brute-force enumeration and finite differences of
  the exact moments;
* MaxEnt fits against the moments they invert;
* the pattern moments of the infinite chain against enumeration of a long ring;
* the closed hierarchy rates (three lines of (36)) against the continuous-time
  master equation of hopping and annihilation applied to the Boltzmann
  distribution of a ring, enumerated state by state;
* the least-squares flow against a known right-hand side.
"""

from __future__ import annotations

import numpy as np
import pytest

from dbmtools import closures, ising
from dbmtools.dynamics import ParameterODE
from dbmtools.observables import chain_moments

THETAS = [(0.3, -0.5, 0.4), (-0.8, 0.6, -0.7), (0.0, 0.0, 0.0), (1.2, -1.1, 0.9)]


@pytest.mark.parametrize("theta", THETAS)
def test_covariance_matches_enumeration_and_finite_differences(theta):
    L = 10
    states, p = ising.enumerate_states(*theta, n_sites=L, boundary="reflecting")
    phi = chain_moments(states, max_order=4, boundary="reflecting").astype(float)
    mean = p @ phi
    brute = (phi - mean).T @ ((phi - mean) * p[:, None])  # (4, 4)
    cov = ising.exact_chain_covariance(theta, L, max_order=4)
    np.testing.assert_allclose(cov, brute[:, :3], rtol=1e-10, atol=1e-12)
    h = 1e-5
    fd = np.stack(
        [
            (
                ising.exact_chain_moments(np.add(theta, h * e), L, 4)
                - ising.exact_chain_moments(np.subtract(theta, h * e), L, 4)
            )
            / (2 * h)
            for e in np.eye(3)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(cov, fd, rtol=1e-7, atol=1e-8)  # O(h^2) truncation


@pytest.mark.parametrize("n_params", [3, 2])
def test_maxent_theta_inverts_exact_moments(n_params):
    rng = np.random.default_rng(3)
    th = rng.uniform(-1.5, 1.5, size=(40, 3))
    if n_params == 2:
        th[:, 2] = 0.0
    mu = ising.exact_chain_moments(th, 500, 3)[:, :n_params]
    fit = closures.maxent_theta(mu, 500, tol=1e-6)  # raw counts: far below sampling error
    assert fit.all_converged
    np.testing.assert_allclose(fit.params, th[:, :n_params], atol=1e-7)
    traj = closures.maxent_trajectories(
        mu.reshape(8, 5, n_params), 500, np.zeros((8, n_params)), tol=1e-6, jacobian_sites=None
    )  # unrelated points: exact Newton
    np.testing.assert_allclose(traj.params, th[:, :n_params].reshape(8, 5, n_params), atol=1e-7)
    with pytest.raises(ValueError, match="positive"):
        closures.maxent_theta([10.0, 0.0, 0.0], 500)


def _ring(theta, L):
    states, p = ising.enumerate_states(*theta, n_sites=L, boundary="periodic")
    return states.astype(np.int64), p


@pytest.mark.parametrize("theta", THETAS[:3])
def test_pattern_moments_match_a_long_ring(theta):
    L = 16  # correlations decay within a few sites: the ring is the infinite chain to ~1e-9
    s, p = _ring(theta, L)
    pats = [(0,), (0, 1), (0, 2), (0, 1, 2), (0, 2, 3), (0, 1, 3), (0, 1, 2, 3), (0, 3)]
    want = [p @ np.prod(s[:, list(pat)], axis=1) for pat in pats]
    np.testing.assert_allclose(closures.pattern_moments(theta, pats), want, atol=1e-8)
    # and the chain ones agree with the transfer-matrix moments of dbmtools.ising
    np.testing.assert_allclose(
        closures.pattern_moments(theta, pats[:2] + [pats[3], pats[6]]),
        ising.exact_moments_per_site(*theta),
        atol=1e-10,
    )


def _master_equation_drift(theta, L, D, prob):
    """d<phi_k>/dt per site under continuous-time hopping (rate D per side) and annihilation.

    A particle hops to a neighbour at rate D: onto an empty site it moves, onto an
    occupied one both particles vanish with probability ``prob``. Applied to the
    Boltzmann distribution (37) of a ring, enumerated state by state.
    """
    s, p = _ring(theta, L)
    phi = chain_moments(s, max_order=3, boundary="periodic").astype(float)
    drift = np.zeros(3)
    for i in range(L):
        for d in (-1, 1):
            j = (i + d) % L
            occ_i = s[:, i] == 1
            new = s.copy()
            move = occ_i & (s[:, j] == 0)
            react = occ_i & (s[:, j] == 1)
            new[move, i], new[move, j] = 0, 1
            new[react, i], new[react, j] = 0, 0
            dphi = (
                chain_moments(new.astype(np.int8), max_order=3, boundary="periodic").astype(float)
                - phi
            )
            rate = np.where(move, D, 0.0) + np.where(react, D * prob, 0.0)
            drift += (p * rate) @ dphi
    return drift / L


@pytest.mark.parametrize("theta", THETAS[:3])
def test_closed_hierarchy_matches_the_master_equation(theta):
    D, prob = 1.3, 0.4
    want = _master_equation_drift(theta, 14, D, prob)
    got = closures.hierarchy_rates(theta, k_r=2 * D * prob, D=D)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_maxent_closure_first_line_is_eq_36():
    th = np.array([[0.3, -0.5, 0.4], [-1.0, 0.5, 0.2]])
    L, k_r, D = 1000, 1.0, 50.0
    F = closures.maxent_closure_rhs(th, L, k_r=k_r, D=D)
    dmu = np.einsum("nij,nj->ni", ising.exact_chain_covariance(th, L), F)
    pairs = ising.exact_chain_moments(th, L, 2)[:, 1]  # raw sum over the L - 1 bonds
    # d<sum v_i>/dt = -2 k_r <sum v_i v_{i+1}> (the bulk rate: open-chain ends are O(1/L))
    np.testing.assert_allclose(dmu[:, 0], -2 * k_r * pairs, rtol=2e-3)


def test_fit_flow_recovers_a_known_rhs_and_keeps_a_prior():
    rng = np.random.default_rng(0)
    ode = ParameterODE(["a", "b"], [0, 1], [-1, -1], [1, 1], 0.5, dt=0.1)
    x = rng.uniform(-1, 1, (400, 2))
    fresh = ParameterODE(["a", "b"], [0, 1], [-1, -1], [1, 1], 0.5, dt=0.1)

    def true(t):
        return np.stack([-t[:, 0] + 0.3 * t[:, 1] ** 2, 0.5 * t[:, 0] * t[:, 1]], axis=1)

    closures.fit_flow(ode, x, true(x), ridge=1e-10)
    pts = rng.uniform(-0.9, 0.9, (50, 2))
    np.testing.assert_allclose(ode.rhs(pts), true(pts), atol=1e-6)  # cubic: exact
    # with a penalty: the same as HermiteGrid.fit component by component
    y = true(x) + 0.1 * rng.standard_normal(x.shape)
    closures.fit_flow(fresh, x, y, ridge=1e-6, roughness=1e-2)
    ode = fresh
    for k in range(2):
        g = ode.grid(k)
        g.coeffs = np.zeros_like(g.coeffs)
        g.fit(x, y[:, k], ridge=1e-6, roughness=1e-2)
        np.testing.assert_allclose(ode.coeffs[k], g.coeffs.ravel(), rtol=1e-7, atol=1e-9)
    # a prior that already explains the samples is kept: the fitted correction is 0
    prior = ParameterODE(["a", "b"], [0, 1], [-1, -1], [1, 1], 0.5, dt=0.1)
    closures.interpolate_flow(prior, true)
    before = prior.coeffs.copy()
    closures.fit_flow(prior, x[:20], true(x[:20]), ridge=1e-6, roughness=1e-3)
    np.testing.assert_allclose(prior.coeffs, before, atol=1e-6)


def test_flow_samples_reproduce_trajectories_by_euler():
    ode = ParameterODE(
        ["a"],
        [0],
        [
            -2,
        ],
        [2],
        0.5,
        dt=0.1,
    )
    closures.interpolate_flow(ode, lambda t: -0.5 * t)
    th = ode.solve([[1.0], [-1.5]], 10)
    x, y, g = closures.flow_samples(th, np.arange(11), 0.1)
    np.testing.assert_allclose(y, ode.rhs(x), atol=1e-12)
    assert g.tolist() == [0] * 10 + [1] * 10


def test_jump_closure_starts_with_the_map():
    th0 = np.random.default_rng(1).uniform(-1, 1, (30, 3))
    G = closures.fit_jump(th0, 0.5 * th0, [-1] * 3, [1] * 3, 1.0, ridge=1e-12)
    ode = ParameterODE(["b", "J", "K"], [0, 1, 2], [-2] * 3, [2] * 3, 1.0, dt=0.1)
    th = closures.JumpClosure(ode, G).solve(th0[:3], 3)
    np.testing.assert_allclose(th[:, 1], 0.5 * th0[:3], atol=1e-8)
    np.testing.assert_allclose(th[:, 3], th[:, 1])  # F = 0 after the jump


def test_closure_figures_of_this_module():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dbmtools import plotting

    t = np.arange(5) * 0.1
    fig = plotting.plot_maxent_trajectories(t, np.random.default_rng(0).normal(size=(3, 5, 3)))
    assert len(fig.axes) == 3 and fig.axes[1].get_ylabel() == "$J$"
    fig2 = plotting.plot_closure_density(
        t, {"mean field": 0.5 / (1 + t)}, simulation=0.5 - t, exact=0.5 / (1 + t)
    )
    assert fig2.axes[0].get_xscale() == "log" and len(fig2.axes[0].lines) == 3
    plt.close("all")


@pytest.mark.parametrize("theta", [(0.2, -0.8), (-0.5, -1.5), (0.4, 0.7)])
def test_nonneg_coupling_projection_is_the_constrained_likelihood_maximum(theta):
    """Against L-BFGS-B on the log-likelihood of a brute-force enumerated chain."""
    from scipy.optimize import minimize

    L = 9
    states, _ = ising.enumerate_states(0.0, 0.0, 0.0, n_sites=L, boundary="reflecting")
    phi = chain_moments(states, max_order=2, boundary="reflecting").astype(float)
    mu = ising.exact_chain_moments((*theta, 0.0), L, max_order=2)

    def nll(th):  # -(theta . mu - log Z), and its gradient (model moments - data moments)
        e = phi @ th
        logz = np.logaddexp.reduce(e)
        p = np.exp(e - logz)
        return logz - th @ mu, p @ phi - mu

    ref = minimize(
        nll,
        np.zeros(2),
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None), (0.0, None)],
        options={"ftol": 1e-14, "gtol": 1e-10},
    )
    fit = closures.maxent_theta(mu, L, tol=1e-10)
    got = closures.project_nonneg_coupling(fit.params, mu[0], L)
    np.testing.assert_allclose(got, ref.x, atol=1e-5)
    assert got[1] >= 0
    if theta[1] >= 0:
        np.testing.assert_allclose(got, theta, atol=1e-8)

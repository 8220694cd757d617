"""The 1D annihilation experiment (section IV A) and the classical closures of (36).

Truths: exact enumeration of short chains for the transfer-matrix chain moments of
both models; the pair approximation is exact for a stationary nearest-neighbour
chain; the mean-field closure's closed-form density; the fitted second line of (36)
on synthetic moments.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dbmtools import annihilation1d, ising, rbm
from dbmtools.annihilation1d import (
    annihilation_data,
    closure_moments,
    fit_hidden_initial,
    hierarchy_moments,
    learn_closures,
    small_closure_run,
)
from dbmtools.ising import exact_chain_moments
from dbmtools.rbm import hidden_chain_moments
from dbmtools.theory import check_pair_line, classical_closure, closure_rmse, pair_approximation

from ._reference import open_chain_moments_per_site


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
    L = 9
    b, J, K = theta

    def logp_bjk(s):
        return (
            b * s.sum(1)
            + J * (s[:, :-1] * s[:, 1:]).sum(1)
            + K * (s[:, :-2] * s[:, 1:-1] * s[:, 2:]).sum(1)
        )

    np.testing.assert_allclose(
        exact_chain_moments(theta, L), _enumerated_chain_moments(logp_bjk, L), rtol=1e-10
    )
    bb, W, bh = theta  # the same numbers as (b, W, b')

    def logp_hidden(s):
        a = s[:, :-1] + s[:, 1:]
        return bb * s.sum(1) + np.log1p(np.exp(bh + W * a)).sum(1)

    np.testing.assert_allclose(
        hidden_chain_moments(theta, L), _enumerated_chain_moments(logp_hidden, L), rtol=1e-10
    )
    # L = 1000 (the paper's size): an independent numpy transfer matrix (tests/_reference.py)
    np.testing.assert_allclose(
        exact_chain_moments(theta, 1000),
        open_chain_moments_per_site(b, J, K, 1000) * 1000,
        rtol=1e-9,
    )
    np.testing.assert_allclose(  # the per-site function is the same numbers divided by L
        ising.exact_moments_per_site(b, J, K, n_sites=1000, boundary="reflecting") * 1000,
        exact_chain_moments(theta, 1000),
        rtol=1e-12,
    )


def test_fit_hidden_initial_matches_density_and_pairs_of_correlated_lattices():
    # data from the hidden model itself: the fit must reproduce its first two moments
    theta = np.array([-0.6, 1.5, -1.5])
    L, n_lat = 300, 30
    model = rbm.hidden_model_1d(L)
    states = rbm.gibbs(model, theta, n_sweeps=200, n_chains=n_lat, seed=4)[0][None]
    fit = fit_hidden_initial(states, n_iter=600, lr=0.05, seed=0, progress=False)[0]
    got = hidden_chain_moments(fit, L)[:2] / L
    want = states[0].astype(float)
    emp = np.array([want.mean(), (want[:, :-1] * want[:, 1:]).sum(1).mean() / L])
    # per-site standard errors over 30 lattices of 300 sites are about 0.005
    np.testing.assert_allclose(got, emp, atol=0.02)


def test_annihilation_pipeline_end_to_end_small():
    data = annihilation_data(4, n_lattices=6, n_sites=60, n_steps=12, seed=0, progress=False)
    assert data.states.shape == (4, 6, 13, 60) and data.states.dtype == np.int8
    # the simulator conserves nothing but can only remove particles: counts never grow
    counts = data.states.sum(-1)
    assert np.all(np.diff(counts, axis=2) <= 0)
    run = learn_closures(
        data, n_epochs=3, n_chains=3, window=4, shift_epochs=1, seed=1, progress=False
    )
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
    rho, q, t3, t4 = ising.exact_moments_per_site(b, J, 0.0, max_order=4)  # infinite chain, K = 0
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
    rng = np.random.default_rng(0)
    s = (rng.random((2, 3, 4, 30)) < 0.4).astype(np.int8)
    hm = hierarchy_moments(s)
    v = s.astype(float)
    np.testing.assert_allclose(hm[..., 2], (v[..., :-2] * v[..., 2:]).sum(-1).mean(1))
    # synthetic moments that obey the 'derived' line exactly with D = 7: recovered
    x = rng.uniform(1, 2, (5, 8, 4))
    dt, kr, D = 0.01, 1.0, 7.0
    for n in range(7):
        x[:, n + 1, 1] = x[:, n, 1] + dt * (
            2 * D * (x[:, n, 2] - x[:, n, 1]) - 2 * kr * x[:, n, 3] - kr * x[:, n, 1]
        )
    fit = check_pair_line(x, dt, kr, start=0, stop=7)
    assert abs(fit["derived"]["D"] - D) < 1e-8 and fit["derived"]["residual"] < 1e-8
    assert fit["paper"]["residual"] > 1e-3


def test_small_closure_run_learns_and_respects_settings():
    r = small_closure_run(
        0.5, 0.05, n_conditions=3, n_lattices=4, n_sites=60, n_steps=20, n_epochs=30, seed=3
    )
    assert r.data.meta["prob"] == 0.05
    assert np.allclose(r.ode.cell_size, 0.5) and r.fit.n_iter == 90
    assert r.simulation.shape == r.model.shape == (3, 21, 2)
    # at t = 0 the model moments are exact transfer-matrix values of the initial (b, J, K)
    np.testing.assert_allclose(
        r.model[:, 0], exact_chain_moments(r.data.initial_theta, 60, max_order=2)
    )
    assert np.all(np.isfinite(closure_rmse(r.model, r.simulation)))
    # whole cells around the box for any cell size
    r2 = small_closure_run(
        0.75, 0.01, n_conditions=2, n_lattices=3, n_sites=40, n_steps=10, n_epochs=2, seed=0
    )
    assert np.allclose((r2.ode.upper - r2.ode.lower) / 0.75 % 1, 0)


def test_data_closure_on_a_small_set_reuses_maxent_fits_and_checks_them():
    d = annihilation1d.annihilation_data(
        6, n_lattices=4, n_sites=200, n_steps=30, seed=3, hop_prob=0.5, progress=False
    )
    assert d.meta["hop_prob"] == 0.5
    tidx = np.arange(0, 31, 3)
    mom = d.chain_moments(3)[:, tidx]
    from dbmtools.closures import maxent_trajectories

    fit = maxent_trajectories(mom, 200, d.initial_theta, tol=1e-6)
    r = annihilation1d.learn_data_closure(
        d, roughness=(1e-2,), time_indices=tidx, maxent=fit.params, seed=0
    )
    assert r.maxent_residual < 1e-5  # the given fits match the data's moments
    out = annihilation1d.data_closure_moments(r, d, every=3)
    assert out["model"].shape == out["simulation"].shape == (6, 11, 4)
    # the closure starts where the lattices were drawn from: exact moments of eq. (37)
    np.testing.assert_allclose(out["model"][:, 0], exact_chain_moments(d.initial_theta, 200))
    with pytest.raises(ValueError, match="maxent"):
        annihilation1d.learn_data_closure(d, time_indices=tidx, maxent=fit.params[:, :-1])
    # two parameters: (b, J) with K = 0, started from the MaxEnt fit of the t = 0 lattices
    th2 = annihilation1d.closure_initial_theta(d, 2)
    m0 = d.chain_moments(2)[:, 0]
    np.testing.assert_allclose(exact_chain_moments(np.c_[th2, np.zeros(6)], 200, 2), m0, atol=1e-5)

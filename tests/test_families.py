"""Families as plug-ins, the generic estimator and the generic MaxEnt fit (issue 20).

Truths: the transfer matrix (exact chain moments, open and ring), brute-force
enumeration of tiny layered models, and the paper's fused estimators
(``IsingMoments``, ``HiddenMoments``, ``RosslerMoments``), which the generic path
must agree with in distribution (same batches, independent random streams).
"""

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools import ising, rbm
from dbmtools.estimators import FamilyMoments, HiddenMoments, IsingMoments, RosslerMoments
from dbmtools.families import ChainFamily, LayeredFamily, hidden_chain_family, rossler_family
from dbmtools.maxent import data_moments, fit_maxent, maxent_path


def _agree(a: np.ndarray, b: np.ndarray, n_sigma: float = 4.5) -> None:
    """Means of two independent samples (rows) agree within ``n_sigma`` standard errors.

    With about 10 components compared, 4.5 sigma keeps the chance of a false
    alarm per test below 1e-4 (two-sided normal tail 7e-6 per component).
    """
    diff = a.mean(0) - b.mean(0)
    se = np.sqrt(a.var(0, ddof=1) / len(a) + b.var(0, ddof=1) / len(b))
    assert np.all(np.abs(diff) <= n_sigma * se + 1e-12), (diff, se)


def _repeat(problem, theta, t_idx, n_rep, seed):
    rng = np.random.default_rng(seed)
    out = [problem.moments(0, t_idx, theta, seed=rng) for _ in range(n_rep)]
    return np.array([m for m, _ in out]).reshape(n_rep, -1), np.array([d for _, d in out])


def _chain_data(seed=0, L=60, n_lat=12, n_times=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, (1, n_lat, n_times, L)).astype(np.int8)


def test_chain_family_is_the_transfer_matrix_on_an_open_chain_and_sampled_on_a_ring():
    th = np.array([[0.3, -0.4, 0.2], [-0.2, 0.5, -0.1]])
    fam = ChainFamily(80)
    np.testing.assert_allclose(fam.moments(th), ising.exact_chain_moments(th, 80, 3))
    np.testing.assert_allclose(fam.covariance(th), ising.exact_chain_covariance(th, 80))
    ring = ChainFamily(40, boundary="periodic")
    est = ring.estimate(th, n_chains=64, n_sweeps=40, seed=1)
    exact = np.stack([40 * ising.exact_moments_per_site(*t, n_sites=40, max_order=3) for t in th])
    assert np.all(np.abs(est.mean - exact) <= 4.5 * est.sem), (est.mean - exact) / est.sem
    # the (b, J) family with K = 0
    two = ChainFamily(80, order=2)
    np.testing.assert_allclose(
        two.moments([0.3, -0.4]), ising.exact_chain_moments([0.3, -0.4, 0.0], 80, 2)
    )


def test_statistics_of_an_ensemble_and_of_recorded_chain_moments_agree():
    s0 = np.stack([dbm.random_state(50, densities=[0.5], seed=i) for i in range(3)])
    kw = dict(n_steps=5, dt=0.01, dim=1, boundary="reflecting", seed=2, progress=False)
    ens = dbm.simulate_ensemble(s0, dbm.annihilation(0.5), **kw)
    rec = dbm.simulate_ensemble(s0, dbm.annihilation(0.5), record=["chain_moments"], **kw)
    fam = ChainFamily(50)
    np.testing.assert_array_equal(fam.statistics(ens), fam.statistics(rec))
    assert fam.statistics(ens).shape == (3, 6, 3)
    with pytest.raises(ValueError, match="boundary 'reflecting'"):
        ChainFamily(50, boundary="periodic").statistics(ens)
    with pytest.raises(ValueError, match="lattice"):
        ChainFamily(40).statistics(ens)


def test_family_moments_agrees_with_the_fused_ising_estimator():
    data = _chain_data()
    th0 = np.zeros((1, 3))
    theta = np.array([[0.2, -0.3, 0.1], [-0.4, 0.6, 0.0]])
    t_idx = np.array([0, 2])
    fam = ChainFamily(60)
    fused = IsingMoments(data, th0, n_chains=6, cd_k=1)
    generic = FamilyMoments(fam, data, th0, n_chains=6, cd_k=1, exact=False)
    mf, df = _repeat(fused, theta, t_idx, 300, 0)
    mg, dg = _repeat(generic, theta, t_idx, 300, 0)
    np.testing.assert_allclose(dg, df)  # same seed, same batches: identical data moments
    _agree(mf, mg)
    exact = FamilyMoments(fam, data, th0, n_chains=6)
    model, _ = exact.moments(0, t_idx, theta, seed=0)
    np.testing.assert_allclose(model, ising.exact_chain_moments(theta, 60, 3))


def test_family_moments_agrees_with_the_fused_hidden_estimator():
    data = _chain_data(seed=1, L=40)
    th0 = np.zeros((1, 3))
    theta = np.array([[0.1, 0.8, -0.5], [-0.3, -0.6, 0.4]])
    t_idx = np.array([1, 2])
    fused = HiddenMoments(data, th0, n_chains=5, cd_k=2)
    generic = FamilyMoments(hidden_chain_family(40), data, th0, n_chains=5, cd_k=2)
    mf, df = _repeat(fused, theta, t_idx, 300, 3)
    mg, dg = _repeat(generic, theta, t_idx, 300, 3)
    np.testing.assert_allclose(dg, df, rtol=1e-12)
    _agree(mf, mg)


def test_family_moments_agrees_with_the_fused_rossler_estimator():
    shape = (4, 4, 4)
    s0 = dbm.random_state(shape, counts=[12, 12, 12], seed=0)
    ens = dbm.simulate_ensemble(
        np.stack([s0] * 6), dbm.rossler(), n_steps=3, dt=0.01, dim=3, seed=1, progress=False
    )
    th = np.tile(rbm.rossler_initial_params(), (2, 1))
    th[:, 3:6] = [0.3, -0.2, 0.1]
    t_idx = np.array([0, 3])
    fused = RosslerMoments(ens.states, n_chains=3, cd_k=2, start="random")
    generic = FamilyMoments(
        rossler_family(shape), ens.states[None], fused.initial_theta, n_chains=3, cd_k=2,
        start="random",
    )  # fmt: skip
    mf, df = _repeat(fused, th, t_idx, 150, 4)
    mg, dg = _repeat(generic, th, t_idx, 150, 4)
    np.testing.assert_allclose(dg, df, rtol=1e-12)
    _agree(mf, mg)


def test_layered_family_estimate_matches_enumeration():
    model = rbm.hidden_model_1d(6)
    fam = LayeredFamily(model, boundary="reflecting")
    theta = np.array([0.2, -0.7, 0.4])
    est = fam.estimate(theta, n_chains=200, n_sweeps=30, seed=5)
    exact = rbm.exact_moments(model, theta)
    assert np.all(np.abs(est.mean[0] - exact) <= 4.0 * est.sem[0]), (est.mean[0] - exact, est.sem)


def test_exact_maxent_fit_recovers_the_parameters_and_the_path():
    fam = ChainFamily(300)
    th = np.random.default_rng(4).uniform(-1, 1, (2, 5, 3))
    fit = maxent_path(fam, fam.moments(th), initial_theta=th[:, 0] + 0.2, tol=1e-9, progress=False)
    assert fit.all_converged and fit.method == "exact newton"
    np.testing.assert_allclose(fit.params, th, atol=1e-7)
    assert fit.params.shape == (2, 5, 3) and fit.n_iter.shape == (2, 5)
    np.testing.assert_allclose(fit.covariance, ising.exact_chain_covariance(fit.params, 300))


def test_sampled_maxent_fit_matches_the_exact_ring_moments():
    fam = ChainFamily(60, boundary="periodic")
    true = np.array([0.3, -0.6, 0.4])
    target = 60 * ising.exact_moments_per_site(*true, n_sites=60, max_order=3)
    fit = fit_maxent(fam, target, n_chains=64, n_sweeps=20, seed=0)
    assert fit.converged and fit.method == "sampled newton"
    exact_at_fit = 60 * ising.exact_moments_per_site(*fit.params, n_sites=60, max_order=3)
    sem = fam.estimate(fit.params, n_chains=64, n_sweeps=20, seed=1).sem[0]
    # converged to within z_tol = 2.5 sampler errors; allow that plus the noise of one estimate
    assert np.all(np.abs(exact_at_fit - target) <= 4.0 * sem), (exact_at_fit - target) / sem
    assert fit.chains.shape == (64, 60)


def test_fisher_scoring_fits_a_hidden_family_to_its_likelihood_maximum():
    model = rbm.hidden_model_1d(6)
    fam = LayeredFamily(model, boundary="reflecting")
    states, p = rbm.enumerate_visible(model, [0.3, 0.9, -0.8])
    rng = np.random.default_rng(2)
    lattices = states[rng.choice(len(p), 4000, p=p)]
    fit = fit_maxent(
        fam, lattices=lattices, initial_theta=[0.0, 0.5, -0.5], n_chains=64, n_sweeps=20,
        max_iter=60, seed=3,
    )  # fmt: skip
    assert fit.method == "fisher scoring"
    assert fit.converged
    # at a maximum of the likelihood, the model's exact moments equal the data's at that theta;
    # the fit stopped within z_tol = 2.5 combined errors of a sampled estimate, itself within
    # about 2 sampler errors of the exact value: 4.5 combined errors bound both
    data_mean, data_sem = data_moments(fam, lattices, fit.params)
    sampler_sem = fam.estimate(fit.params, n_chains=64, n_sweeps=20, seed=4).sem[0]
    exact = rbm.exact_moments(model, fit.params)
    sigma = np.sqrt(data_sem**2 + sampler_sem**2)
    assert np.all(np.abs(exact - data_mean) <= 4.5 * sigma), (exact - data_mean) / sigma


def test_bad_inputs_name_the_argument():
    fam = ChainFamily(20)
    with pytest.raises(ValueError, match=r"`theta` must have shape \(\.\.\., 3\)"):
        fam.moments([0.0, 0.0])
    with pytest.raises(ValueError, match="`theta` must be finite"):
        fam.moments([0.0, np.nan, 0.0])
    with pytest.raises(ValueError, match="`moments` must be finite"):
        fit_maxent(fam, [1.0, np.inf, 0.0])
    with pytest.raises(ValueError, match=r"`moments` must have shape \(\.\.\., 3\)"):
        fit_maxent(fam, np.ones((4, 2)))
    with pytest.raises(ValueError, match="exactly one"):
        fit_maxent(fam)
    with pytest.raises(ValueError, match="hidden units"):
        fit_maxent(hidden_chain_family(20), [5.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="lattice shape"):
        fam.statistics(np.zeros((3, 21), dtype=np.int8))
    with pytest.raises(ValueError, match="codes"):
        fam.statistics(np.full((2, 20), 2, dtype=np.int8))
    with pytest.raises(TypeError, match="n_chains"):
        fam.sample([0.0, 0.0, 0.0], n_chains=2.0)
    with pytest.raises(TypeError, match="LatticeFamily"):
        FamilyMoments("ising", _chain_data(), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="`initial_theta`"):
        FamilyMoments(ChainFamily(60), _chain_data(), np.zeros((2, 3)))
    net = dbm.Network([("A + B -> 0", 0.5)])
    ens = dbm.simulate_ensemble(
        np.zeros((2, 20), dtype=np.int8), net, n_steps=1, dt=0.01, dim=1,
        boundary="reflecting", progress=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match="2 species"):
        fam.statistics(ens)

"""Tests of dbmtools.rbm (issue 4) against independent truths.

* Exact enumeration (rbm.exact_moments / enumerate_visible, which sum hidden
  units out analytically) is checked against a brute-force joint enumeration of
  visible *and* hidden states with the energy of eq. (35) written directly
  (tests/_reference_bm.py).
* The block Gibbs sampler is checked against that enumeration: a chi-square
  test on the visible-state frequencies of independent chains, and z-scores of
  every moment (standard error = std over independent chains / sqrt(n)),
  |z| < 4.5.
* Static learning is checked by recovering the parameters the data were drawn
  with (see test_fit_recovers_parameters for its tolerance).
"""

import numba
import numpy as np
import pytest
from scipy import stats

from dbmtools import chain_moments, rbm

from ._reference_bm import layered_enumerate

RNG = np.random.default_rng(20240404)


def _multinomial_model():
    edges = np.array([[0, 0], [1, 0], [1, 1], [2, 1], [2, 0], [0, 1]])
    return rbm.LayeredModel(
        n_visible=3, n_hidden=2, n_species_v=2, n_species_h=2, edges=edges,
        weight_mask=np.array([[True, False], [True, True]]),
    )  # fmt: skip


CASES = [
    (rbm.hidden_model_1d(4), np.array([-0.3, 1.2, -0.7])),
    (rbm.hidden_model_1d(5), np.array([0.8, -2.0, 1.5])),
    (_multinomial_model(), np.array([0.2, -0.5, 1.0, -0.8, 0.6, -0.3, 0.4])),
    (_multinomial_model(), np.array([-1.0, 0.5, 2.5, 1.5, -2.0, 0.7, -1.2])),
]


def _reference(model, theta):
    bv, bh, W = model.unpack(theta)
    return layered_enumerate(
        model.n_visible,
        model.n_hidden,
        model.n_species_v,
        model.n_species_h,
        model.edges,
        bv[1:],
        bh[1:],
        W[1:, 1:],
    )


def _ref_moment_vector(model, cv, ch, cw):
    return np.concatenate([cv, cw[model.weight_mask], ch])


@pytest.mark.parametrize("model,theta", CASES)
def test_exact_enumeration_matches_joint_brute_force(model, theta):
    states, pv, cv, ch, cw = _reference(model, theta)
    s, p = rbm.enumerate_visible(model, theta)
    assert (s == states).all()
    np.testing.assert_allclose(p, pv, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        rbm.exact_moments(model, theta), _ref_moment_vector(model, cv, ch, cw), rtol=1e-10
    )


@pytest.mark.parametrize("model,theta", CASES)
def test_conditionals_by_direct_formula(model, theta):
    bv, bh, W = model.unpack(theta)
    v = RNG.integers(0, model.n_species_v + 1, size=(3, model.n_visible)).astype(np.int8)
    h = RNG.integers(0, model.n_species_h + 1, size=(3, model.n_hidden)).astype(np.int8)
    ph = rbm.hidden_probabilities(model, theta, v)
    pv = rbm.visible_probabilities(model, theta, h)
    for s in range(3):
        for j in range(model.n_hidden):
            logit = bh.copy()
            for i, jj in model.edges:
                if jj == j:
                    logit += W[v[s, i]]
            np.testing.assert_allclose(ph[s, j], np.exp(logit) / np.exp(logit).sum())
        for i in range(model.n_visible):
            logit = bv.copy()
            for ii, j in model.edges:
                if ii == i:
                    logit += W[:, h[s, j]]
            np.testing.assert_allclose(pv[s, i], np.exp(logit) / np.exp(logit).sum())


@pytest.mark.parametrize("model,theta", CASES)
def test_gibbs_matches_enumeration(model, theta):
    states, pv, cv, ch, cw = _reference(model, theta)
    n_chains = 20_000
    v, h = rbm.gibbs(model, theta, n_sweeps=30, n_chains=n_chains, seed=3)
    base = model.n_species_v + 1
    codes = v.astype(np.int64) @ (base ** np.arange(model.n_visible - 1, -1, -1))
    observed = np.bincount(codes, minlength=states.shape[0])
    expected = n_chains * pv
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, df=states.shape[0] - 1) > 1e-4, chi2
    # asleep moments (hidden as probabilities) and hidden samples, each within 4.5 SE
    m = rbm.moments(model, theta, v)
    exact = _ref_moment_vector(model, cv, ch, cw)
    z = (m.mean(0) - exact) / (m.std(0, ddof=1) / np.sqrt(n_chains))
    assert np.all(np.abs(z) < 4.5), z
    hc = np.stack([(h == c).sum(1) for c in range(1, model.n_species_h + 1)], 1)
    z = (hc.mean(0) - ch) / (hc.std(0, ddof=1) / np.sqrt(n_chains))
    assert np.all(np.abs(z) < 4.5), z


def test_moments_by_direct_formula():
    model, theta = CASES[2]
    v = RNG.integers(0, 3, size=(4, 3)).astype(np.int8)
    ph = rbm.hidden_probabilities(model, theta, v)
    m = rbm.moments(model, theta, v)
    for s in range(4):
        cv = [(v[s] == a).sum() for a in (1, 2)]
        cw = np.zeros((3, 3))
        for i, j in model.edges:
            cw[v[s, i]] += ph[s, j]
        expect = np.concatenate([cv, cw[1:, 1:][model.weight_mask], ph[s, :, 1:].sum(0)])
        np.testing.assert_allclose(m[s], expect)


def test_hidden_model_marginal_is_effective_ising():
    # summing out the hidden units gives the b/J gas in the bulk (effective_ising)
    theta = np.array([-0.4, 1.3, -1.1])
    b_eff, J_eff = rbm.effective_ising(theta)
    L = 6
    states, p = rbm.enumerate_visible(rbm.hidden_model_1d(L), theta)
    # end sites see one hidden unit: their bias lacks one f(b'+W) - f(b') term
    f = np.logaddexp
    half = f(0, theta[2] + theta[1]) - f(0, theta[2])
    bias = np.full(L, b_eff)
    bias[[0, -1]] -= half
    logw = states @ bias + J_eff * (states[:, 1:] * states[:, :-1]).sum(1)
    q = np.exp(logw - logw.max())
    np.testing.assert_allclose(p, q / q.sum(), rtol=1e-10)


def test_rossler_rbm_structure_and_zero_weight_densities():
    model = rbm.rossler_rbm((4, 4, 4))
    assert model.n_params == 9 and model.weight_mask.sum() == 3
    for ptr, idx in ((model._h_ptr, model._h_idx), (model._v_ptr, model._v_idx)):
        assert (np.diff(ptr) == 8).all()
        assert all(len(set(idx[ptr[k] : ptr[k + 1]])) == 8 for k in range(64))
    # hidden unit (0,0,0) sees the cube (0..1)^3; unit (3,3,3) wraps to (3 or 0)^3
    assert sorted(model._h_idx[:8]) == [0, 1, 4, 5, 16, 17, 20, 21]
    assert sorted(model._h_idx[-8:]) == sorted(
        16 * x + 4 * y + z for x in (3, 0) for y in (3, 0) for z in (3, 0)
    )
    # eq. (46): with zero weights each species fills e^b / (1 + 3 e^b) = 1/5 of the sites
    theta = rbm.rossler_initial_params()
    v, h = rbm.gibbs(rbm.rossler_rbm(), theta, n_sweeps=2, n_chains=50, seed=0)
    counts = np.stack([(v == a).sum(axis=(1, 2, 3)) for a in (1, 2, 3)], 1)
    se = np.sqrt(1000 * 0.2 * 0.8 / 50)
    assert np.all(np.abs(counts.mean(0) - 200) < 4.5 * se)
    hc = np.stack([(h == c).sum(1) for c in (1, 2, 3)], 1)
    assert np.all(np.abs(hc.mean(0) - 100) < 4.5 * np.sqrt(1000 * 0.1 * 0.9 / 50))


def test_pcd_chains_continue_and_cd_from_data():
    model, theta = CASES[0]
    v1, _ = rbm.gibbs(model, theta, n_sweeps=3, n_chains=5, seed=1)
    same, _ = rbm.gibbs(model, theta, n_sweeps=0, init=v1, seed=9)
    assert (same == v1).all()
    data = np.zeros((4, 4), dtype=np.int8)
    v, h = rbm.gibbs(model, theta, n_sweeps=1, init=data, seed=2)
    assert v.shape == (4, 4) and h.shape == (4, 3)


def test_cd1_from_random_states_is_biased_and_long_chains_are_not():
    # the bias of short chains: CD-1 from uniform random states misses the strongly coupled
    # model's moments; 100 steps do not
    model = rbm.hidden_model_1d(5)
    theta = np.array([-2.0, 2.0, -1.0])
    exact = rbm.exact_moments(model, theta)
    for k, biased in ((1, True), (100, False)):
        v, _ = rbm.gibbs(model, theta, n_sweeps=k, n_chains=20_000, seed=4)
        m = rbm.moments(model, theta, v)
        z = (m.mean(0) - exact) / (m.std(0, ddof=1) / np.sqrt(m.shape[0]))
        assert np.any(np.abs(z) > 10) == biased, (k, z)


def test_same_seed_same_result_at_any_thread_count():
    model, theta = rbm.rossler_rbm((4, 4, 4)), rbm.rossler_initial_params()
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = rbm.gibbs(model, theta, n_sweeps=3, n_chains=5, seed=7)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = rbm.gibbs(model, theta, n_sweeps=3, n_chains=5, seed=7)
    finally:
        numba.set_num_threads(before)
    assert (one[0] == two[0]).all() and (one[1] == two[1]).all()


def _mahalanobis(data, got, want):
    """n d^T C d: for the maximum-likelihood estimate, ~ chi-square with 2 degrees of freedom.

    C is the covariance of the sufficient statistics (sum v, sum v v') of one lattice,
    estimated from the data: its inverse over n is the asymptotic covariance of the
    maximum-likelihood (b, J).
    """
    stat = chain_moments(data, max_order=2, boundary="reflecting").astype(float)
    d = np.asarray(got) - np.asarray(want)
    return data.shape[0] * d @ np.cov(stat.T) @ d


def test_fit_recovers_parameters():
    """Learn (b, W, b') of the hidden model from data drawn at known parameters.

    The visible marginal identifies only the bulk (b_eff, J_eff) of
    :func:`rbm.effective_ising` (three parameters, two identifiable
    combinations), so those are compared, by the Mahalanobis distance of the
    estimate from the truth under the asymptotic covariance of the
    maximum-likelihood estimate (chi-square, 2 dof). We allow the 1e-4 quantile
    times 2, for the extra noise of the stochastic gradient.
    """
    truth = np.array([-0.8, 1.5, -1.0])
    L, n = 100, 400
    model = rbm.hidden_model_1d(L)
    data, _ = rbm.gibbs(model, truth, n_sweeps=200, n_chains=n, seed=10)
    r = rbm.fit(
        model,
        data,
        n_iter=800,
        lr=0.05,
        cd_k=1,
        start="persistent",
        batch_size=100,
        n_chains=100,
        n_average=300,
        seed=11,
        progress=False,
    )
    assert r.converged and r.n_iter == 800 and r.loss_history.shape == (800,)
    assert r.param_history.shape == (801, 3) and r.names == ("b", "W", "b'")
    d2 = _mahalanobis(data, rbm.effective_ising(r.params), rbm.effective_ising(truth))
    assert d2 < 2 * stats.chi2.isf(1e-4, 2), d2
    # a wrong answer is far outside: the data's own (b, J) shifted by 0.1 in b
    shifted = np.array(rbm.effective_ising(truth)) + [0.1, 0.0]
    assert _mahalanobis(data, shifted, rbm.effective_ising(truth)) > 4 * stats.chi2.isf(1e-4, 2)


def test_fit_sgd_cd_from_data_and_adam_cd_from_random_states():
    # independent sites (J = 0): the hidden model needs only b_eff = logit(rho)
    rho, L, n = 0.3, 60, 400
    data = (np.random.default_rng(0).random((n, L)) < rho).astype(np.int8)
    model = rbm.hidden_model_1d(L)
    want = [np.log(rho / (1 - rho)), 0.0]
    for kw in (
        dict(optimizer="sgd", lr=1.0, start="data", cd_k=1),
        dict(optimizer="adam", lr=0.05, start="random", cd_k=1),
    ):
        r = rbm.fit(
            model, data, n_iter=400, batch_size=100, n_average=200, seed=3, progress=False, **kw
        )
        d2 = _mahalanobis(data, rbm.effective_ising(r.params), want)
        assert d2 < 2 * stats.chi2.isf(1e-4, 2), (kw, d2, rbm.effective_ising(r.params))


def test_fit_warns_when_not_converged():
    data = np.ones((4, 10), dtype=np.int8)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = rbm.fit(rbm.hidden_model_1d(10), data, n_iter=3, lr=1e-3, seed=0, progress=False)
    assert not r.converged


@pytest.mark.parametrize(
    "call,error,match",
    [
        (
            lambda m: rbm.gibbs(m, [0.0, np.nan, 0.0], n_sweeps=1, n_chains=1),
            ValueError,
            "`theta` must be finite",
        ),
        (
            lambda m: rbm.gibbs(m, [0.0, 0.0], n_sweeps=1, n_chains=1),
            ValueError,
            r"`theta` must have shape \(3,\)",
        ),
        (
            lambda m: rbm.gibbs(m, [0.0] * 3, n_sweeps=-1, n_chains=1),
            ValueError,
            "`n_sweeps` must be an integer >= 0",
        ),
        (
            lambda m: rbm.gibbs(m, [0.0] * 3, n_sweeps=1),
            ValueError,
            "`n_chains` must be given when `init` is omitted",
        ),
        (
            lambda m: rbm.gibbs(m, [0.0] * 3, n_sweeps=1, n_chains=0),
            ValueError,
            "`n_chains` must be an integer >= 1",
        ),
        (
            lambda m: rbm.gibbs(m, [0.0] * 3, n_sweeps=1, init=np.zeros((2, 5), np.int8)),
            ValueError,
            r"`init` must have shape \(\.\.\., 6\)",
        ),
        (
            lambda m: rbm.gibbs(m, [0.0] * 3, n_sweeps=1, init=np.full((2, 6), 2, np.int8)),
            ValueError,
            r"`init` holds codes in \[2, 2\]",
        ),
        (
            lambda m: rbm.moments(m, [0.0] * 3, np.full(6, -1, np.int8)),
            ValueError,
            "`states` holds codes",
        ),
        (
            lambda m: rbm.moments(m, [0.0] * 3, np.zeros(6)),
            TypeError,
            "`states` must be an integer array",
        ),
        (
            lambda m: rbm.visible_probabilities(m, [0.0] * 3, np.zeros(4, np.int8)),
            ValueError,
            r"`hidden` must have shape \(\.\.\., 5\)",
        ),
        (
            lambda m: rbm.fit(m, np.zeros((3, 6), np.int8), lr=-1),
            ValueError,
            "`lr` must be a finite number > 0",
        ),
        (
            lambda m: rbm.fit(m, np.zeros((3, 6), np.int8), optimizer="rmsprop"),
            ValueError,
            "`optimizer` must be one of 'sgd', 'adam'",
        ),
        (
            lambda m: rbm.fit(m, np.zeros((3, 6), np.int8), batch_size=5),
            ValueError,
            r"`batch_size` must be an integer in \[1, 3\]",
        ),
        (
            lambda m: rbm.fit(m, np.zeros((3, 6), np.int8), start="noise"),
            ValueError,
            "`start` must be one of 'persistent', 'data', 'random'",
        ),
        (
            lambda m: rbm.fit(m, np.zeros((3, 6), np.int8), start="data", n_chains=2),
            ValueError,
            r"`n_chains` \(2\) must equal `batch_size` \(3\)",
        ),
        (
            lambda m: rbm.fit("m", np.zeros((3, 6), np.int8)),
            TypeError,
            "`model` must be a LayeredModel",
        ),
        (
            lambda m: rbm.enumerate_visible(rbm.rossler_rbm((4, 4, 4)), np.zeros(9)),
            ValueError,
            "exact enumeration allows at most",
        ),
    ],
)
def test_bad_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call(rbm.hidden_model_1d(6))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(edges=np.array([[0, 5]])), r"`edges\[:, 1\]` must be hidden units in \[0, 1\]"),
        (dict(edges=np.array([[3, 0]])), r"`edges\[:, 0\]` must be visible sites in \[0, 2\]"),
        (dict(edges=np.zeros((2, 3), int)), "`edges` must be a non-empty integer array"),
        (dict(weight_mask=np.ones((2, 2), bool)), "`weight_mask` must be a bool array"),
        (dict(n_species_v=0), "`n_species_v` must be an integer >= 1"),
    ],
)
def test_layered_model_rejects_bad_input(kwargs, match):
    args = dict(
        n_visible=3,
        n_hidden=2,
        n_species_v=1,
        n_species_h=1,
        edges=np.array([[0, 0], [1, 1]]),
        weight_mask=np.ones((1, 1), bool),
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        rbm.LayeredModel(**args)


def test_gibbs_with_huge_couplings_falls_back_to_log_domain():
    # exp(400) overflows: the sampler must switch to the log-domain softmax, not produce junk
    model = rbm.hidden_model_1d(4)
    theta = np.array([1.0, 0.3, 800.0])  # hidden units always on, visible sites independent
    exact = rbm.exact_moments(model, theta)
    n = 4000
    v, h = rbm.gibbs(model, theta, n_sweeps=5, n_chains=n, seed=1)
    assert (h == 1).all()
    m = rbm.moments(model, theta, v)
    z = (m.mean(0) - exact) / np.maximum(m.std(0, ddof=1) / np.sqrt(n), 1e-12)
    assert np.all(np.abs(z) < 4.5), z


def test_rossler_rbm_sampler_matches_enumeration_with_weights():
    # 2 x 2 x 2 lattice: 4^8 visible states, every unit multinomial in 4 states, nonzero weights.
    # (rbm.exact_moments is itself checked against joint brute force on smaller models above.)
    model = rbm.rossler_rbm((2, 2, 2))
    theta = np.array([-0.5, -0.9, -0.7, 0.6, -0.4, 0.3, -1.5, -1.0, -2.0])
    exact = rbm.exact_moments(model, theta)
    n = 20_000
    v, _ = rbm.gibbs(model, theta, n_sweeps=30, n_chains=n, seed=8)
    m = rbm.moments(model, theta, v)
    z = (m.mean(0) - exact) / (m.std(0, ddof=1) / np.sqrt(n))
    assert np.all(np.abs(z) < 4.5), z


def test_builders_reject_bad_sizes():
    with pytest.raises(ValueError, match="`n_sites` must be an integer >= 2"):
        rbm.hidden_model_1d(1)
    with pytest.raises(TypeError, match="`n_sites` must be an integer"):
        rbm.hidden_model_1d(10.0)
    with pytest.raises(ValueError, match="Every lattice extent must be >= 2"):
        rbm.rossler_rbm((1, 4, 4))


def test_fit_same_seed_same_result_at_any_thread_count():
    data = (np.random.default_rng(1).random((20, 30)) < 0.4).astype(np.int8)
    model = rbm.hidden_model_1d(30)
    kw = dict(n_iter=20, batch_size=10, n_chains=8, seed=5, progress=False, tol=10.0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = rbm.fit(model, data, **kw)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = rbm.fit(model, data, **kw)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.param_history, two.param_history)


def test_fit_two_stage_is_two_fits_joined():
    # the definition: travel (large steps, tol 1) then settle from travel's averaged end point,
    # each with its own stream spawned from the seed
    data = (np.random.default_rng(2).random((20, 30)) < 0.4).astype(np.int8)
    model = rbm.hidden_model_1d(30)
    kw = dict(batch_size=10, n_chains=8, progress=False, tol=10.0)
    r = rbm.fit_two_stage(model, data, n_iter=(30, 20), lr=(0.2, 0.02), seed=7, **kw)
    s_travel, s_settle = np.random.SeedSequence(7).spawn(2)
    travel = rbm.fit(model, data, n_iter=30, lr=0.2, seed=s_travel, **{**kw, "tol": 1.0})
    settle = rbm.fit(
        model, data, initial_theta=travel.params, n_iter=20, lr=0.02, seed=s_settle, **kw
    )
    assert r.n_iter == 50 and r.param_history.shape == (51, 3)
    np.testing.assert_array_equal(r.params, settle.params)
    np.testing.assert_array_equal(r.param_history[:31], travel.param_history)
    np.testing.assert_array_equal(r.param_history[31:], settle.param_history[1:])
    np.testing.assert_array_equal(r.loss_history[30:], settle.loss_history)


# --- nothing silent, nothing lost (issue 16): divergence and interrupts of fit --------------
def test_fit_reports_divergence_as_divergence():
    data = np.ones((6, 8), dtype=np.int8)
    with pytest.raises(FloatingPointError, match="fit diverged at iteration 0.*lower `lr`"):
        rbm.fit(
            rbm.hidden_model_1d(8),
            data,
            n_iter=5,
            lr=1e300,
            optimizer="sgd",
            seed=0,
            progress=False,
        )


def test_fit_interrupted_keeps_its_iterations(monkeypatch):
    model = rbm.hidden_model_1d(8)
    data = np.ones((6, 8), dtype=np.int8)
    real = rbm._run_moments
    calls = {"n": 0}

    def stop_on_the_seventh(*args):
        calls["n"] += 1
        if calls["n"] == 7:  # two calls an iteration: the fourth iteration is cut short
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(rbm, "_run_moments", stop_on_the_seventh)
    with pytest.warns(RuntimeWarning, match="interrupted after 3 of 50 iterations"):
        r = rbm.fit(model, data, n_iter=50, seed=0, progress=False)
    assert r.interrupted and r.n_iter == 3 and r.loss_history.shape == (3,)
    assert r.param_history.shape == (4, 3) and not r.converged
    np.testing.assert_allclose(r.params, r.param_history[1:].mean(0))

"""Tests of dbmtools.ising (issue 4) against independent truths.

* The transfer matrix is checked against brute-force enumeration of all 2^L
  chains (tests/_reference_bm.py), on rings and open chains.
* The Gibbs sampler is checked against the transfer matrix: every returned
  lattice is the end of an independent chain, so the standard error of a mean
  moment is the sample standard deviation over chains / sqrt(n_chains). We
  require |z| < 4.5 for every moment; with the ~100 comparisons below, a correct
  sampler fails with probability about 100 * 7e-6 < 1e-3.
* The full distribution of a 5-site ring is checked by a chi-square test.
"""

import numba
import numpy as np
import pytest
from scipy import stats

from dbmtools import chain_moments, ising

from ._reference_bm import gas_enumerate, gas_exact_chain_moments

COUPLINGS = [
    (0.0, 0.0, 0.0),
    (0.3, -1.2, 2.0),
    (-1.0, 2.5, -3.0),
    (-1.5, 3.0, 0.0),
    (0.5, -3.0, 3.0),
    (1.0, -2.0, -2.5),
    (-2.0, 1.0, 3.0),
]


@pytest.mark.parametrize("b,J,K", COUPLINGS)
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
@pytest.mark.parametrize("n", [3, 4, 5, 8])
def test_transfer_matrix_matches_enumeration(b, J, K, boundary, n):
    max_order = min(4, n)
    ref = gas_exact_chain_moments(b, J, K, n, boundary == "periodic", max_order)
    got = (
        ising.exact_moments_per_site(b, J, K, n_sites=n, boundary=boundary, max_order=max_order) * n
    )
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("b,J,K", COUPLINGS)
def test_infinite_chain_is_the_limit_of_rings_and_open_chains(b, J, K):
    inf = ising.exact_moments_per_site(b, J, K, max_order=6)
    ring = ising.exact_moments_per_site(b, J, K, n_sites=2000, max_order=6)
    np.testing.assert_allclose(ring, inf, atol=1e-12)
    # open chains: boundary corrections are O(1/L)
    err = [
        np.abs(
            ising.exact_moments_per_site(b, J, K, n_sites=n, boundary="reflecting", max_order=6)
            - inf
        )
        for n in (500, 1000)
    ]
    assert np.all(err[1] <= 0.55 * err[0] + 1e-12)
    assert np.all(err[1] < 10.0 / 1000)


def test_exact_moments_of_independent_sites():
    # b only: independent sites with p = sigmoid(b); chain of k ones has prob p^k
    p = 1 / (1 + np.exp(0.7))
    np.testing.assert_allclose(
        ising.exact_moments_per_site(-0.7, 0, 0), p ** np.arange(1, 5), rtol=1e-12
    )
    np.testing.assert_allclose(
        ising.exact_moments_per_site(-0.7, 0, 0, n_sites=9, boundary="reflecting") * 9,
        [(9 - k + 1) * p**k for k in range(1, 5)],
        rtol=1e-12,
    )


@pytest.mark.parametrize("b,J,K", COUPLINGS)
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_sampled_moments_match_transfer_matrix(b, J, K, boundary):
    n_sites, n_chains = 40, 4000
    v = ising.sample(
        b, J, K, n_sites=n_sites, n_chains=n_chains, n_sweeps=300, seed=11, boundary=boundary
    )
    m = chain_moments(v, max_order=4, boundary=boundary).astype(float)
    exact = ising.exact_moments_per_site(b, J, K, n_sites=n_sites, boundary=boundary) * n_sites
    se = m.std(axis=0, ddof=1) / np.sqrt(n_chains)
    z = (m.mean(axis=0) - exact) / np.maximum(se, 1e-12)
    assert np.all(np.abs(z) < 4.5), (z, m.mean(axis=0), exact)


@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_sampled_distribution_chi_square(boundary):
    b, J, K, n = 0.4, -1.5, 2.0, 5
    states, p = gas_enumerate(b, J, K, n, boundary == "periodic")
    n_chains = 40_000
    v = ising.sample(b, J, K, n_sites=n, n_chains=n_chains, n_sweeps=50, seed=5, boundary=boundary)
    codes = v.astype(np.int64) @ (2 ** np.arange(n - 1, -1, -1))  # lexicographic, as states
    observed = np.bincount(codes, minlength=2**n)
    chi2 = ((observed - n_chains * p) ** 2 / (n_chains * p)).sum()
    assert stats.chi2.sf(chi2, df=2**n - 1) > 1e-4, chi2


def test_cd_from_stationary_data_keeps_moments():
    # data drawn from the model is stationary under the Gibbs kernel: CD-1 from it is unbiased
    b, J, K, n = -0.5, 1.5, -1.0, 50
    data = ising.sample(b, J, K, n_sites=n, n_chains=3000, n_sweeps=300, seed=1)
    after = ising.sample(b, J, K, n_sites=n, n_chains=3000, n_sweeps=1, init=data, seed=2)
    m = chain_moments(after, max_order=3).astype(float)
    exact = ising.exact_moments_per_site(b, J, K, n_sites=n, max_order=3) * n
    se = m.std(axis=0, ddof=1) / np.sqrt(m.shape[0])
    assert np.all(np.abs(m.mean(axis=0) - exact) < 4.5 * se)


def test_init_and_zero_sweeps_and_moments():
    init = np.array([1, 0, 1, 1, 0, 1], dtype=np.int8)
    v = ising.sample(0.0, 0.0, 0.0, n_sites=6, n_chains=3, n_sweeps=0, init=init, seed=0)
    assert (v == init).all()
    assert ising.moments(v, boundary="periodic")[0].tolist() == [4, 2, 0]
    assert ising.moments(v, boundary="reflecting")[0].tolist() == [4, 1, 0]


def test_same_seed_same_result_at_any_thread_count():
    kw = dict(n_sites=30, n_chains=7, n_sweeps=20, seed=123)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = ising.sample(0.2, 1.0, -0.5, **kw)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = ising.sample(0.2, 1.0, -0.5, **kw)
    finally:
        numba.set_num_threads(before)
    assert (one == two).all()
    assert not (one == ising.sample(0.2, 1.0, -0.5, **{**kw, "seed": 124})).all()
    # chain i does not depend on how many chains run
    assert (ising.sample(0.2, 1.0, -0.5, **{**kw, "n_chains": 3}) == one[:3]).all()


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(b=np.nan), ValueError, "`b` must be finite"),
        (dict(J=np.inf), ValueError, "`J` must be finite"),
        (dict(K="1"), TypeError, "`K` must be a real number"),
        (dict(n_sites=2), ValueError, "`n_sites` must be an integer >= 3"),
        (dict(n_sites=10.0), TypeError, "`n_sites` must be an integer"),
        (dict(n_chains=0), ValueError, "`n_chains` must be an integer >= 1"),
        (dict(n_sweeps=-1), ValueError, "`n_sweeps` must be an integer >= 0"),
        (dict(boundary="open"), ValueError, "`boundary` must be 'periodic' or 'reflecting'"),
        (dict(init=np.zeros((2, 9), dtype=np.int8)), ValueError, r"`init` must have shape"),
        (dict(init=np.full(10, 2, dtype=np.int8)), ValueError, r"`init` holds codes in \[2, 2\]"),
        (dict(init=np.zeros(10)), TypeError, "`init` must be an integer array"),
    ],
)
def test_sample_rejects_bad_input(kwargs, error, match):
    args = dict(b=0.0, J=0.0, K=0.0, n_sites=10, n_chains=2, n_sweeps=1, seed=0)
    args.update(kwargs)
    b, J, K = args.pop("b"), args.pop("J"), args.pop("K")
    with pytest.raises(error, match=match):
        ising.sample(b, J, K, **args)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(max_order=0), r"`max_order` must be an integer in \[1, 10\]"),
        (dict(max_order=11), r"`max_order` must be an integer in \[1, 10\]"),
        (dict(n_sites=3, max_order=4), "`n_sites` must be an integer >= 4"),
        (dict(boundary="x"), "`boundary` must be"),
    ],
)
def test_exact_moments_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ising.exact_moments_per_site(0.0, 0.0, 0.0, **kwargs)
    with pytest.raises(ValueError, match="`K` must be finite"):
        ising.exact_moments_per_site(0.0, 0.0, np.nan)


@pytest.mark.parametrize("b,J,K", COUPLINGS[:4])
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
@pytest.mark.parametrize("n", [3, 4, 7])
def test_enumerate_states_matches_reference(b, J, K, boundary, n):
    states, p = gas_enumerate(b, J, K, n, boundary == "periodic")
    s, q = ising.enumerate_states(b, J, K, n_sites=n, boundary=boundary)
    assert (s == states).all()
    np.testing.assert_allclose(q, p, rtol=1e-12)


def test_enumerate_states_rejects_long_chains():
    with pytest.raises(ValueError, match="`n_sites` must be at most 20"):
        ising.enumerate_states(0.0, 0.0, 0.0, n_sites=21)


@pytest.mark.parametrize("b,J", [(-0.5, 1.0), (0.4, -0.8)])
def test_implied_ising_recovers_the_generating_chain(b, J):
    # truth: the (b, J) the lattices were drawn with (K = 0, open chain); the estimate's
    # standard errors come from the spread over the independent lattices, so |z| < 4.5
    v = ising.sample(
        b, J, 0.0, n_sites=300, n_chains=600, n_sweeps=300, boundary="reflecting", seed=21
    )
    r = ising.implied_ising(v)
    assert r.converged
    assert np.all(np.abs(r.params - [b, J]) < 4.5 * r.se), (r.params, r.se)
    assert np.all(r.se < 0.1)
    # the root: the chain's exact moments are the lattices' mean moments
    np.testing.assert_allclose(
        ising.exact_moments_per_site(
            *r.params, 0.0, n_sites=300, boundary="reflecting", max_order=2
        ),
        r.moments,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        r.moments, chain_moments(v, max_order=2, boundary="reflecting").mean(0) / 300
    )


def test_implied_ising_rejects_bad_input():
    with pytest.raises(ValueError, match="`lattices` must have shape"):
        ising.implied_ising(np.zeros(10, dtype=np.int8))
    with pytest.raises(ValueError, match="`lattices` holds codes"):
        ising.implied_ising(np.full((3, 10), 2, dtype=np.int8))

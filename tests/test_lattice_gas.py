"""The visible multi-species lattice gas against brute force and high-precision references.

Truths: every lattice of a tiny lattice enumerated (:func:`_reference.lattice_gas_enumerate`),
``ln Z`` of the 1D chain in 60-digit decimal arithmetic, the statistics written out site by
site, and finite differences of the exact mean (the covariance is its derivative). The
sampler is checked with z-scores against the enumerated moments: with ``K`` statistics and
independent chains, ``max |z| < 5`` fails by chance with probability below ``K * 6e-7``.
"""

import numba
import numpy as np
import pytest

from dbmtools import lattice_gas as lg
from dbmtools.lattice import random_state

from ._reference import lattice_gas_chain_log_z, lattice_gas_enumerate, lattice_gas_phi

Z_MAX = 5.0


def _theta(rng, M, dim=1, per_axis=False, scale=0.8):
    return rng.normal(0.0, scale, lg._n_params(M, dim, per_axis))


@pytest.mark.parametrize("shape", [(9,), (4, 5), (3, 2, 4)])
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
@pytest.mark.parametrize("per_axis", [False, True])
def test_statistics_match_the_written_out_sums(shape, boundary, per_axis):
    rng = np.random.default_rng(len(shape))
    M = 3
    states = rng.integers(0, M + 1, size=(2, 3, *shape)).astype(np.int8)
    phi = lg.lattice_gas_statistics(
        states, n_species=M, dim=len(shape), boundary=boundary, per_axis=per_axis
    )
    ref = np.array(
        [[lattice_gas_phi(s, M, boundary == "periodic", per_axis) for s in row] for row in states]
    )
    assert phi.shape == (2, 3, lg._n_params(M, len(shape), per_axis))
    np.testing.assert_array_equal(phi, ref)
    names = lg.parameter_names(M, dim=len(shape), per_axis=per_axis)
    assert len(names) == phi.shape[-1] and len(set(names)) == len(names)


def test_statistics_from_recorded_agree_with_lattices():
    from dbmtools import counts, pair_counts

    rng = np.random.default_rng(3)
    states = rng.integers(0, 3, size=(5, 6, 7)).astype(np.int8)
    phi = lg.lattice_gas_statistics(states, n_species=2, dim=2)
    rec = lg.statistics_from_recorded(
        counts(states, dim=2, n_species=2),
        pair_counts(states, dim=2, n_species=2, boundary="periodic"),
    )
    np.testing.assert_array_equal(phi, rec)


@pytest.mark.parametrize("M, L", [(1, 9), (2, 7), (3, 5)])
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_exact_1d_moments_and_covariance_equal_enumeration(M, L, boundary):
    rng = np.random.default_rng(10 * M + L)
    theta = _theta(rng, M)
    _, _, _, mean, cov = lattice_gas_enumerate(theta, (L,), M, boundary == "periodic")
    np.testing.assert_allclose(lg.exact_moments_1d(theta, L, M, boundary=boundary), mean,
                               rtol=1e-12, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(lg.exact_covariance_1d(theta, L, M, boundary=boundary), cov,
                               rtol=1e-10, atol=1e-11)  # fmt: skip


@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_exact_mean_is_the_derivative_of_a_60_digit_log_z(boundary):
    rng = np.random.default_rng(7)
    M, L = 2, 300
    theta = _theta(rng, M, scale=1.5)
    periodic = boundary == "periodic"
    mean = lg.exact_moments_1d(theta, L, M, boundary=boundary)
    cov = lg.exact_covariance_1d(theta, L, M, boundary=boundary)
    h = 1e-6
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        dlogz = float(
            lattice_gas_chain_log_z(theta + e, L, M, periodic)
            - lattice_gas_chain_log_z(theta - e, L, M, periodic)
        ) / (2 * h)
        assert abs(dlogz - mean[k]) < 1e-6 * max(1.0, abs(mean[k]))
        dmean = (
            lg.exact_moments_1d(theta + e, L, M, boundary=boundary)
            - lg.exact_moments_1d(theta - e, L, M, boundary=boundary)
        ) / (2 * h)
        np.testing.assert_allclose(dmean, cov[k], rtol=1e-5, atol=1e-5)


def test_one_species_is_the_b_J_chain():
    from dbmtools import ising

    b, J, L = 0.3, -0.7, 200
    m = lg.exact_moments_1d([b, J], L, 1, boundary="reflecting")
    ref = ising.exact_chain_moments([b, J, 0.0], L, max_order=2)  # sum v_i, sum v_i v_i+1
    np.testing.assert_allclose(m, np.asarray(ref)[:2], rtol=1e-12)


def test_exact_rows_are_vectorised():
    rng = np.random.default_rng(2)
    thetas = rng.normal(0, 1, (2, 3, 5))
    out = lg.exact_moments_1d(thetas, 50, 2)
    assert out.shape == (2, 3, 5)
    np.testing.assert_allclose(out[1, 2], lg.exact_moments_1d(thetas[1, 2], 50, 2))


@pytest.mark.parametrize(
    "shape, M, boundary, per_axis",
    [
        ((10,), 2, "reflecting", False),
        ((3, 3), 2, "periodic", False),
        ((2, 4), 1, "reflecting", True),
        ((2, 2, 2), 2, "reflecting", False),
        ((2, 2), 8, "reflecting", False),  # many species: the product route
    ],
)
def test_sampler_matches_enumeration(shape, M, boundary, per_axis):
    use_table = lg._update_tables(np.zeros((1, lg._n_params(M, len(shape), per_axis))), M,
                                  len(shape), per_axis)[0]  # fmt: skip
    assert use_table == (M < 8)
    rng = np.random.default_rng(int(np.prod(shape)) + M)
    theta = _theta(rng, M, len(shape), per_axis)
    periodic = boundary == "periodic"
    _, _, _, mean, _ = lattice_gas_enumerate(theta, shape, M, periodic, per_axis)
    r = lg.sampled_moments(theta, shape, M, n_chains=32, n_sweeps=1500, boundary=boundary,
                           per_axis=per_axis, seed=5)  # fmt: skip
    z = (r.mean[0] - mean) / r.sem[0]
    assert np.all(np.abs(z) < Z_MAX), z


def test_sampled_covariance_matches_exact_1d():
    theta = np.array([0.4, -0.3, 0.5, -1.0, 0.8])
    r = lg.sampled_moments(theta, (60,), 2, n_chains=32, n_sweeps=2000,
                           boundary="reflecting", seed=1)  # fmt: skip
    cov = lg.exact_covariance_1d(theta, 60, 2)
    # relative error of a variance from n effective samples ~ sqrt(2 / n); 32 x 2000 sweeps
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.max(np.abs(r.covariance[0] - cov) / scale) < 0.08


def test_sampler_is_seed_stable_and_thread_independent():
    theta = [0.5, -0.5, 0.3, -1.0, 0.2]
    kw = dict(n_chains=6, n_sweeps=20, seed=11)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = lg.sample_lattice_gas(theta, (8, 8), 2, **kw)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = lg.sample_lattice_gas(theta, (8, 8), 2, **kw)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a, b)
    c = lg.sample_lattice_gas(theta, (8, 8), 2, n_chains=3, n_sweeps=20, seed=11)
    np.testing.assert_array_equal(a[:, :3], c)  # chain c does not depend on n_chains


def test_persistent_chains_continue_from_init():
    theta = np.array([0.2, 0.1, 0.3, -0.4, 0.0])
    init = np.stack([random_state((8, 8), counts=[20, 20], seed=s) for s in (0, 1)])
    v = lg.sample_lattice_gas(theta, (8, 8), 2, n_chains=2, n_sweeps=0, init=init, seed=0)
    np.testing.assert_array_equal(v[0], init)
    r = lg.sampled_moments(theta, (8, 8), 2, n_chains=2, n_sweeps=3, init=init, seed=0)
    assert r.n_burn == 5  # a warm start needs a short burn-in only


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: lg.exact_moments_1d([0.0, np.nan], 10, 1), "theta"),
        (lambda: lg.exact_moments_1d([0.0, 0.0, 0.0], 10, 1), "theta"),
        (lambda: lg.exact_moments_1d([0.0, 0.0], 1, 1), "n_sites"),
        (lambda: lg.exact_moments_1d([0.0, 0.0], 10, 0), "n_species"),
        (lambda: lg.exact_moments_1d([0.0, 0.0], 10, 1, boundary="open"), "boundary"),
        (lambda: lg.sample_lattice_gas([0.0, 0.0], (4, 4), 1, n_chains=0, n_sweeps=1), "n_chains"),
        (
            lambda: lg.sample_lattice_gas([0.0, 0.0], (4, 4), 1, n_chains=1, n_sweeps=1.5),
            "n_sweeps",
        ),
        (
            lambda: lg.lattice_gas_statistics(np.full((4,), 3, np.int8), n_species=2, dim=1),
            "states",
        ),
        (lambda: lg.statistics_from_recorded([1, 2], [[1, 0], [1, 0]]), "symmetric"),
        (lambda: lg.statistics_from_recorded([1, 2], [[1, 0, 0]]), "pair_counts"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()

"""The generic data-driven closure: flows over argument groups, closure data, learning.

Truths: a cubic Hermite grid represents a linear function exactly, so data made by the
Euler map of a linear flow, ``theta_{n+1} = theta_n + dt (A theta_n + c)``, observed
through a family's exact moments, must be learned back to the solver's precision, on
starts the fit never saw; the same holds for a sum of grids over pairs of parameters
(a linear function is a sum of functions of one parameter each). Sampled observables
are checked against the exact ones with z-scores.
"""

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools.closures import fit_flow, flow_samples
from dbmtools.data_closure import ClosureData, closure_data, learn_closure
from dbmtools.families import ChainFamily, LatticeFamily, LatticeGas
from dbmtools.flows import AdditiveFlow, domain_around, flow_groups


def test_flow_groups():
    assert flow_groups(3, "all") == [(0, 1, 2)]
    assert flow_groups(4, "pairs") == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert len(flow_groups(5, "triples")) == 10
    assert flow_groups(5, [0, 2]) == [(0, 2)]
    assert flow_groups(5, [[0, 1], [2, 3, 4]]) == [(0, 1), (2, 3, 4)]
    with pytest.raises(ValueError, match="groups"):
        flow_groups(5, "all")  # more than three arguments on one grid
    with pytest.raises(ValueError, match="groups"):
        flow_groups(3, [0, 7])


def test_domain_around_is_whole_cells():
    lo, hi = domain_around(np.array([[0.12, -0.3], [0.9, 0.4]]), 0.25, 0.1)
    np.testing.assert_allclose(lo, [0.0, -0.5])
    np.testing.assert_allclose(hi, [1.0, 0.5])


def _linear_map_data(theta0, A, c, dt, n_steps):
    th = [np.asarray(theta0, dtype=np.float64)]
    for _ in range(n_steps):
        th.append(th[-1] + dt * (th[-1] @ A.T + c))
    return np.stack(th, axis=1)  # (n, n_steps + 1, K)


def test_one_group_flow_is_fit_flow():
    rng = np.random.default_rng(0)
    A = np.array([[-0.5, 0.2, 0.0], [0.1, -0.3, 0.1], [0.0, 0.2, -0.4]])
    th = _linear_map_data(rng.uniform(-0.5, 0.5, (6, 3)), A, np.zeros(3), 0.1, 10)
    x, y, _ = flow_samples(th, np.arange(11), 0.1)

    def grid():
        return dbm.ParameterODE(("a", "b", "c"), [0, 1, 2], [-1.0] * 3, [1.0] * 3, 0.5, dt=0.1)

    ode, flow = grid(), AdditiveFlow([grid()])
    fit_flow(ode, x, y, ridge=1e-8, roughness=1e-3)
    flow.fit(x, y, ridge=1e-8, roughness=1e-3)
    np.testing.assert_array_equal(flow.odes[0].coeffs, ode.coeffs)


@pytest.mark.parametrize("groups", ["all", "pairs", [[0], [1], [2]]])
def test_additive_flow_learns_a_linear_map_exactly(groups):
    rng = np.random.default_rng(1)
    A = np.array([[-0.5, 0.2, 0.0], [0.1, -0.3, 0.1], [0.0, 0.2, -0.4]])
    c = np.array([0.05, -0.02, 0.01])
    dt = 0.1
    th = _linear_map_data(rng.uniform(-0.6, 0.6, (8, 3)), A, c, dt, 12)
    x, y, _ = flow_samples(th, np.arange(13), dt)
    flow = AdditiveFlow.around(("a", "b", "c"), groups, x, 0.5, margin=0.5, dt=dt)
    flow.fit(x, y, ridge=0.0, roughness=1e-6)  # roughness: the affine fit
    new = _linear_map_data(rng.uniform(-0.4, 0.4, (3, 3)), A, c, dt, 12)
    np.testing.assert_allclose(flow.solve(new[:, 0], 12), new, atol=1e-7)


def _chain_data(thetas, fam, dt):
    """ClosureData whose moments are the family's exact moments along ``thetas``."""
    n, T, K = thetas.shape
    m = fam.moments(thetas)
    return ClosureData(
        np.arange(T) * dt, m, np.full_like(m, 1e-3), m[..., :1], np.full((n, T, 1), 1e-3),
        m[..., 1:2, None], np.full((n, T, 1, 1), 1e-3), 8,
        {"shape": fam.shape, "boundary": fam.boundary, "dt": 0.01, "network": None},
    )  # fmt: skip


@pytest.mark.parametrize("groups", ["all", [[0], [1]]])
def test_learn_closure_recovers_a_known_parameter_flow(groups):
    """MaxEnt paths from exact moments, a fit, and prediction on unseen starts: exact."""
    fam = ChainFamily(200, order=2)
    A = np.array([[-0.4, 0.1], [0.2, -0.3]])
    c = np.array([-0.05, 0.02])
    rng = np.random.default_rng(2)
    train = _linear_map_data(rng.uniform(-0.8, 0.8, (10, 2)), A, c, 0.2, 15)
    closure = learn_closure(fam, _chain_data(train, fam, 0.2), groups=groups, cell_size=0.5,
                            roughness=(1e-6, 10.0), ridge=0.0, seed=0,
                            progress=False)  # fmt: skip
    np.testing.assert_allclose(closure.maxent.params, train, atol=1e-8)
    # an affine flow has no roughness: both weights learn it; the choice is the smaller error
    assert set(closure.validation) == {1e-6, 10.0}
    assert closure.roughness == min(closure.validation, key=closure.validation.get)
    assert max(closure.validation.values()) < 1e-5
    test = _linear_map_data(rng.uniform(-0.5, 0.5, (4, 2)), A, c, 0.2, 15)
    pred = closure.predict(_chain_data(test, fam, 0.2))
    np.testing.assert_allclose(pred, test, atol=1e-6)


def test_jump_map_is_learned_separately():
    fam = ChainFamily(200, order=2)
    A = np.array([[-0.4, 0.1], [0.2, -0.3]])
    rng = np.random.default_rng(3)
    starts = rng.uniform(-0.5, 0.5, (12, 2))
    after = starts + np.array([0.3, -0.2]) + 0.2 * starts  # a first step no flow makes
    rest = _linear_map_data(after, A, np.zeros(2), 0.2, 10)
    th = np.concatenate([starts[:, None], rest], axis=1)
    closure = learn_closure(fam, _chain_data(th, fam, 0.2), jump=True, cell_size=0.5,
                            roughness=(1e-6,), ridge=0.0, seed=0,
                            progress=False)  # fmt: skip
    s2 = rng.uniform(-0.4, 0.4, (3, 2))
    a2 = s2 + np.array([0.3, -0.2]) + 0.2 * s2
    want = np.concatenate([s2[:, None], _linear_map_data(a2, A, np.zeros(2), 0.2, 10)], 1)
    np.testing.assert_allclose(closure.solve(s2, 11), want, atol=1e-6)
    far = np.vstack([s2, [[5.0, 5.0]]])  # a start outside the first-step map's grid
    with pytest.raises(ValueError, match="initial_theta"):
        closure.solve(far, 11)
    lost = closure.solve(far, 11, outside="nan")
    assert np.isnan(lost[3, 1:]).all()
    np.testing.assert_allclose(lost[:3], want, atol=1e-6)


def test_closure_data_from_simulations_and_errors():
    net = dbm.annihilation(0.5)
    ens = [
        dbm.simulate_ensemble(
            np.stack([dbm.random_state(30, densities=[d], seed=s) for s in range(4)]),
            net,
            n_steps=3,
            dt=0.01,
            dim=1,
            boundary="reflecting",
            seed=k,
            progress=False,
        )  # fmt: skip
        for k, d in enumerate((0.4, 0.6))
    ]
    fam = ChainFamily(30, order=2)
    data = closure_data(fam, ens)
    direct = fam.statistics(ens[1]).mean(axis=0)
    np.testing.assert_allclose(data.moments[1], direct)
    np.testing.assert_allclose(data.counts[1, :, 0], direct[:, 0])
    np.testing.assert_allclose(data.pairs[1, :, 0, 0], direct[:, 1])
    assert data.subset([1]).n_conditions == 1
    with pytest.raises(ValueError, match="lattice"):
        closure_data(ChainFamily(40, order=2), ens)
    with pytest.raises(TypeError, match="ensembles"):
        closure_data(fam, [np.zeros(3)])
    with pytest.raises(ValueError, match="conditions"):
        data.subset([2])
    with pytest.raises(ValueError, match="2 statistics|statistics"):
        learn_closure(ChainFamily(30, order=3), data, progress=False)
    with pytest.raises(ValueError, match="time_indices"):
        learn_closure(fam, data, time_indices=[0, 2, 1], progress=False)
    with pytest.raises(ValueError, match="time_indices"):
        learn_closure(fam, data, time_indices=[0, 0.5], progress=False)


def test_lattice_gas_observables_exact_and_sampled_agree():
    gas = LatticeGas(["X", "Y"], (40,), boundary="periodic")
    theta = np.array([[0.2, -0.4, 0.3, -0.8, 0.1]])
    counts, pairs = gas.observables(theta)
    m = gas.moments(theta)[0]
    np.testing.assert_allclose(counts[0], m[:2])
    np.testing.assert_allclose(pairs[0], [[m[2], m[3]], [m[3], m[4]]])
    # the generic route: sampled lattices, counted by dbmtools.counts / pair_counts
    sc, sp = LatticeFamily._observables(gas, theta, 64, 200, 0)
    est = gas.estimate(theta, n_chains=64, n_sweeps=200, seed=1)  # for the spread only
    assert est.exact
    sam = dbm.lattice_gas.sampled_moments(theta, (40,), 2, n_chains=64, n_sweeps=200,
                                          boundary="periodic", seed=2)  # fmt: skip
    sem = sam.sem[0]
    got = np.array([sc[0, 0], sc[0, 1], sp[0, 0, 0], sp[0, 0, 1], sp[0, 1, 1]])
    # two independent runs of the same length: their difference has sqrt(2) sem
    assert np.all(np.abs(got - m) < 5 * np.sqrt(2) * sem)
    nan_counts, _ = gas.observables(np.array([[np.nan] * 5, list(theta[0])]))
    assert np.isnan(nan_counts[0]).all() and np.isfinite(nan_counts[1]).all()

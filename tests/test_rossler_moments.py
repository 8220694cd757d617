"""The Rössler RBM estimator against the general RBM code and exact enumeration."""

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools.rossler_moments import (
    RosslerMoments,
    lattice_moments,
    neighbour_cubes,
    sample_rossler,
)

THETA = np.array([-0.3, 0.2, -0.5, 0.8, -0.6, 0.5, -1.0, 0.3, -0.2])
# On a 2 x 2 x 2 ring every hidden unit sees every visible site, so strong weights
# make the model bimodal (all A and X, or all C and Z) and no 25-step Gibbs chain
# mixes between the modes (dbm.rbm.gibbs shows the same); the check against
# enumeration therefore uses weaker couplings.
THETA_WEAK = np.array([-0.3, 0.2, -0.5, 0.3, -0.25, 0.2, -1.0, 0.3, -0.2])


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 4, 5)])
def test_neighbour_cubes_match_the_model_edges(shape):
    h2v, v2h = neighbour_cubes(shape)
    model = dbm.rossler_rbm(shape)
    edges = {(int(i), int(j)) for i, j in model.edges}
    assert {(int(i), j) for j in range(h2v.shape[0]) for i in h2v[j]} == edges
    assert {(i, int(j)) for i in range(v2h.shape[0]) for j in v2h[i]} == edges


def test_awake_moments_equal_general_rbm_moments():
    shape = (4, 4, 4)
    data = np.stack(
        [
            np.stack([dbm.random_state(shape, counts=[10, 14, 8], seed=[s, t]) for t in range(3)])
            for s in range(5)
        ]
    )
    problem = RosslerMoments(data, n_samples=5, cd_k=1)
    theta = np.tile(THETA, (2, 1))
    _, awake = problem.moments(0, np.array([0, 2]), theta, seed=0)
    model = dbm.rossler_rbm(shape)
    for row, t in enumerate((0, 2)):
        expect = dbm.rbm.moments(model, THETA, data[:, t]).mean(axis=0)
        assert np.allclose(awake[row], expect, rtol=1e-12)


@pytest.mark.parametrize("start", ["random", "data", "persistent"])
def test_asleep_moments_match_exact_enumeration(start):
    """2 x 2 x 2 lattice (4^8 visible states): the mean of 30 independent estimates,
    each over 400 chains of 25 Gibbs steps, is within 4 standard errors (from the
    spread of the 30 estimates) of the exact moments for every parameter."""
    shape = (2, 2, 2)
    data = np.stack([dbm.random_state(shape, counts=[2, 2, 2], seed=s)[None] for s in range(400)])
    problem = RosslerMoments(data, n_samples=400, cd_k=25, start=start)
    estimates = np.array(
        [problem.moments(0, np.array([0]), THETA_WEAK[None], seed=[7, r])[0][0] for r in range(30)]
    )
    exact = dbm.rbm.exact_moments(dbm.rossler_rbm(shape), THETA_WEAK)
    z = np.abs(estimates.mean(0) - exact) / (estimates.std(0, ddof=1) / np.sqrt(30))
    assert np.all(z < 4), z


def test_persistent_chains_carry_on_only_at_the_times_asked():
    data = np.stack([dbm.random_state((3, 3, 3), counts=[5, 5, 5], seed=s) for s in range(3)])
    data = np.stack([data] * 4, axis=1)  # 3 simulations x 4 data times
    problem = RosslerMoments(data, n_samples=2, cd_k=1, start="persistent")
    before = problem._chains.copy()
    np.testing.assert_array_equal(before, data[:2].reshape(2, 4, -1).transpose(1, 0, 2))
    problem.moments(0, np.array([1, 2]), np.tile(THETA, (2, 1)), seed=0)
    after = problem._chains.copy()
    assert not np.array_equal(after[1:3], before[1:3])
    np.testing.assert_array_equal(after[[0, 3]], before[[0, 3]])
    problem.moments(0, np.array([1, 2]), np.tile(THETA, (2, 1)), seed=0)
    assert not np.array_equal(problem._chains[1:3], after[1:3])  # carried on, not restarted


def test_same_seed_same_result_and_default_initial_theta():
    data = np.stack([dbm.random_state((3, 3, 3), counts=[5, 5, 5], seed=s)[None] for s in range(4)])
    problem = RosslerMoments(data, n_samples=2, cd_k=2)
    assert np.allclose(problem.initial_theta[0], dbm.rbm.rossler_initial_params())
    a = problem.moments(0, np.array([0]), THETA[None], seed=3)
    b = problem.moments(0, np.array([0]), THETA[None], seed=3)
    c = problem.moments(0, np.array([0]), THETA[None], seed=4)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


def test_errors():
    good = np.zeros((2, 3, 2, 2, 2), dtype=np.int8)
    with pytest.raises(ValueError, match="shape \\(n_sims, n_times, L0, L1, L2\\)"):
        RosslerMoments(good[0])
    with pytest.raises(ValueError, match="codes 0"):
        RosslerMoments(good + 4)
    with pytest.raises(ValueError, match="`n_samples` must be at most"):
        RosslerMoments(good, n_samples=3)
    with pytest.raises(ValueError, match="`cd_k`"):
        RosslerMoments(good, cd_k=0)
    with pytest.raises(ValueError, match="`start`"):
        RosslerMoments(good, start="pcd")
    problem = RosslerMoments(good)
    with pytest.raises(ValueError, match="`time_indices`"):
        problem.moments(0, np.array([3]), THETA[None])
    with pytest.raises(ValueError, match="`theta` must be finite"):
        problem.moments(0, np.array([0]), THETA[None, :8])
    with pytest.raises(ValueError, match="overflow"):
        problem.moments(0, np.array([0]), (THETA * 200)[None])
    with pytest.raises(ValueError, match="one trajectory"):
        problem.moments(1, np.array([0]), THETA[None])


def test_short_training_lowers_the_moment_error():
    """Algorithm 1 with the paper's rates on its 10^3 lattice, 800 steps on a fixed window of
    the first 8 timesteps. (1) The window's moment mismatch falls: the mean of the last 100
    steps is below the first 100 by more than 4 standard errors (from the steps' spread).
    (2) The learned model, sampled like Fig. 8, is closer to the simulations' counts and
    pairs than the untrained model (F = 0): relative RMS error measured 0.24 against 0.41."""
    starts = np.stack([dbm.random_state((10, 10, 10), counts=[200] * 3, seed=[1, k])
                       for k in range(30)])
    ens = dbm.simulate_ensemble(starts, dbm.rossler(), n_steps=8, dt=0.01, seed=2,
                                boundary="reflecting", progress=False)
    theta0 = dbm.rbm.rossler_initial_params()
    problem = RosslerMoments(ens.states, n_samples=2, cd_k=10)
    lower, upper = dbm.dynamics.centred_domain(theta0[:3], 0.1, 1.5)
    ode = dbm.ParameterODE([f"p{k}" for k in range(9)], [0, 1, 2], lower, upper, 0.1, dt=0.01,
                           n_substeps=10)
    fit = dbm.train(ode, problem, n_iter=800, lr=[0.8] * 3 + [0.05] * 3 + [0.8] * 3, window=8,
                    seed=3, progress=False)
    first, last = fit.loss_history[:100], fit.loss_history[-100:]
    se = np.sqrt(first.var(ddof=1) / 100 + last.var(ddof=1) / 100)
    assert (first.mean() - last.mean()) / se > 4, (first.mean(), last.mean(), se)

    sim = lattice_moments(ens.states).mean(0)

    def error(theta):
        v = sample_rossler(theta, n_samples=100, n_steps=25, seed=4)[0]
        return np.sqrt(((lattice_moments(v).mean(1) - sim) ** 2).mean()) / np.abs(sim).mean()

    learned, untrained = error(dbm.predict(ode, theta0, 8)), error(np.tile(theta0, (9, 1)))
    assert learned < 0.7 * untrained, (learned, untrained)

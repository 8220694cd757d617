"""The Rössler RBM estimator against the general RBM code and exact enumeration."""

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools.rossler_moments import RosslerMoments, neighbour_cubes

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


@pytest.mark.parametrize("start", ["random", "data"])
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

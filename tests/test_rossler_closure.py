"""Issue 13: the data-driven start of the Rössler model and the pair closure of eq. (43),
against independent truths (closed-form MaxEnt means, exact ODE solutions)."""

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools.rossler3d import fit_rhs_to_path, maxent_path, solve_pair_closure


def test_maxent_path_has_the_given_means_and_no_weights():
    """With W = 0 the sites are independent: mu_s = N e^{b_s} / (1 + sum e^{b})."""
    mu = np.array([[200.0, 200.0, 200.0], [120.0, 500.0, 90.0], [300.0, 10.0, 400.0]])
    path = maxent_path(mu)
    e = np.exp(path[:, :3])
    assert np.allclose(1000 * e / (1 + e.sum(1, keepdims=True)), mu)
    assert np.all(path[:, 3:6] == 0)
    assert np.allclose(path[:, 6:], dbm.rbm.rossler_initial_params()[6:])
    with pytest.raises(ValueError, match="one parameter set of 9"):
        maxent_path(mu, np.zeros((2, 9)))


def test_fit_rhs_to_path_follows_a_3d_spiral_and_pulls_back():
    """A decaying spiral in 3 arguments (a relaxing oscillation, like the ensemble
    means), radius 0.6 to 0.13: from its own start the fitted ODE stays on it to
    within a few per cent of the radius; a start 0.04 off the path decays back onto
    it (relaxation time 0.1) only with the scattered points, and stays off without."""
    t = np.arange(301) * 0.01
    r = 0.6 * np.exp(-0.5 * t)
    path = np.stack([r * np.cos(4 * t), r * np.sin(4 * t), 0.3 * np.exp(-t)], axis=1)
    end = {}
    for width in (0.0, 0.03):
        ode = dbm.ParameterODE(
            ["x", "y", "z"], ["x", "y", "z"], [-1.0] * 3, [1.0] * 3, 0.1, dt=0.01, n_substeps=5
        )
        fit_rhs_to_path(ode, path, width=width, seed=1)
        assert np.abs(dbm.predict(ode, path[0], 300) - path).max() < 0.03
        off = dbm.predict(ode, path[0] + [0.04, -0.04, 0.0], 300)
        end[width] = np.abs(off[-1] - path[-1]).max()
    assert end[0.03] < 0.01 < 0.04 < end[0.0]


def test_fit_rhs_to_path_checks_its_arguments():
    ode = dbm.ParameterODE(["x"], ["x"], [-1.0], [1.0], 0.5, dt=0.1)
    with pytest.raises(ValueError, match="`path` must have shape"):
        fit_rhs_to_path(ode, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="relaxation_time"):
        fit_rhs_to_path(ode, np.zeros((10, 1)), relaxation_time=0.0)


def test_solve_pair_closure_against_exact_solutions():
    """Only unimolecular reactions (the pairs do not enter): B -> 0 at k2 gives
    mu_B = mu_B(0) e^{-k2 t}, to Euler's O(h) error. With g = 1 the closure is the
    mean-field ODE, which dbm.theory.solve_mean_field integrates with SciPy; with
    g = 1/2 on A-A bonds only, A + A -> 0 runs at half the rate."""
    net = dbm.Network([("B -> 0", 10.0)], species=["A", "B", "C"])
    times = np.arange(51) * 0.01
    kw = dict(dt=0.01, n_sites=1000, n_bonds=2700)
    mu = solve_pair_closure(net, [1.0, 100.0, 2.0], np.ones((51, 3, 3)), n_substeps=200, **kw)
    assert np.allclose(mu[:, 1], 100 * np.exp(-10 * times), rtol=2e-3)
    assert np.all(mu[:, [0, 2]] == [1.0, 2.0])
    ross = dbm.rossler()
    mu = solve_pair_closure(ross, [200.0] * 3, np.ones((51, 3, 3)), n_substeps=200, **kw)
    mf = dbm.theory.solve_mean_field(
        ross, [200, 200, 200], times, dt=0.01, shape=(10, 10, 10), boundary="reflecting"
    )
    assert np.allclose(mu, mf, rtol=5e-3)
    ann = dbm.annihilation(0.01)
    kw = dict(dt=0.01, n_sites=1000, n_bonds=1000, dim=1)
    half = solve_pair_closure(ann, [500.0], np.full((101, 1, 1), 0.5), n_substeps=50, **kw)
    nu = 1 / (2 * 0.01)  # reaction-limited law at half the rate: rho0 / (1 + 2 nu p rho0 t)
    assert np.allclose(
        half[:, 0], 500 / (1 + 2 * nu * 0.01 * 0.5 * np.arange(101) * 0.01), rtol=1e-3
    )
    with pytest.raises(ValueError, match="`ratios` must have shape"):
        solve_pair_closure(ann, [500.0], np.ones((5, 2, 2)), **kw)


def test_window_loss_and_reference_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss = np.concatenate([np.linspace(10, 5, 20), np.linspace(8, 4, 20)])
    taus = np.repeat([0, 1], 20)
    fig = dbm.plotting.plot_window_loss(loss, taus, dt=0.01, floor=[4.0, 3.0])
    ax = fig.axes[0]
    first, last = ax.lines[0].get_ydata(), ax.lines[1].get_ydata()
    assert np.allclose(first, [(10 + 9.7368421) / 2, (8 + 7.7894737) / 2])
    assert np.all(last < first) and ax.get_xlabel()
    with pytest.raises(ValueError, match="one length"):
        dbm.plotting.plot_window_loss(loss, taus[:-1], dt=0.01)
    times = np.arange(11) * 0.1
    moments = np.random.default_rng(0).uniform(50, 150, (4, 11, 6))
    fig = dbm.plotting.plot_rossler_moments(
        times,
        moments,
        times[::5],
        moments[:, ::5].transpose(1, 0, 2),
        names="ABCDEF",
        horizon_time=0.5,
        reference=np.full((11, 6), 100.0),
    )
    assert any(line.get_label() == "mean field" for line in fig.axes[0].lines)
    plt.close("all")

"""compare_closures: its error measure, its paired bootstrap, its baselines, its refusals.

Truths: the relative RMS by hand; a constant paired difference has a zero-width interval;
for normal differences the percentile interval's half-width is 1.96 s / sqrt(n) to within
the bootstrap's own quantile noise; the baselines are theory.classical_moments run on the
test starts; a closure evaluated on its own training data and on other data.
"""

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools.comparison import _bootstrap_difference, column_names, relative_rms


def test_relative_rms_by_hand():
    data = np.array([[[1.0, 2.0], [3.0, 2.0]]])  # (1 condition, 2 times, 2 columns)
    model = np.array([[[2.0, 2.0], [3.0, 4.0]]])
    want = [np.sqrt(0.5) / 2.0, np.sqrt(2.0) / 2.0]
    np.testing.assert_allclose(relative_rms(model, data)[0], want)
    model[0, 1, 0] = np.nan
    assert np.isnan(relative_rms(model, data)[0, 0])
    assert relative_rms(np.zeros((2, 1)), np.zeros((2, 1)))[0] == 0.0
    assert relative_rms(np.ones((2, 1)), np.zeros((2, 1)))[0] == np.inf


def test_column_names():
    assert column_names(["X", "Y"]) == ["X", "Y", "(X,X)", "(X,Y)", "(Y,Y)"]


def test_bootstrap_of_a_constant_difference_has_no_width():
    a = np.full((7, 3), 0.3)
    d = _bootstrap_difference(a, a - 0.1, 500, 0.95, np.random.default_rng(0))
    np.testing.assert_allclose(d, 0.1, rtol=1e-12)


def test_bootstrap_interval_has_the_normal_width():
    n, s = 400, 0.2
    rng = np.random.default_rng(1)
    diff = rng.normal(0.05, s, (n, 1))
    d = _bootstrap_difference(diff, np.zeros((n, 1)), 4000, 0.95, rng)
    half = (d[2, 0] - d[1, 0]) / 2
    want = 1.96 * diff.std(ddof=0) / np.sqrt(n)
    # the 2.5% and 97.5% quantiles of 4000 resamples scatter by about 4% of the half-width
    assert abs(half / want - 1) < 0.12
    assert d[1, 0] < diff.mean() < d[2, 0]


def _sis(n_s, n_i, seed, n_samples=8, net=None, dt=0.01):
    net = net or dbm.Network([("S + I -> I + I", 0.2), ("I -> S", 1.0)], species=["S", "I"])
    starts = np.stack([dbm.random_state(60, counts=[n_s, n_i], seed=(seed, k))
                       for k in range(n_samples)])  # fmt: skip
    return dbm.simulate_ensemble(starts, net, n_steps=40, dt=dt, dim=1, boundary="periodic",
                                 record=["counts", "pair_counts"], record_every=4, seed=seed,
                                 progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def sis():
    gas = dbm.LatticeGas(["S", "I"], (60,), boundary="periodic")
    comps = [(20, 10), (25, 15), (15, 20), (30, 8), (18, 18), (22, 12)]
    train = dbm.closure_data(gas, [_sis(a, b, k) for k, (a, b) in enumerate(comps[:4])])
    test = dbm.closure_data(gas, [_sis(a, b, 10 + k) for k, (a, b) in enumerate(comps[4:])])
    closure = dbm.learn_closure(gas, train, groups="pairs", roughness=(0.1, 1.0), seed=0,
                                progress=False)  # fmt: skip
    return gas, closure, train, test


def test_baselines_are_the_classical_moments_of_the_test_starts(sis):
    gas, closure, _, test = sis
    res = dbm.compare_closures(closure, test, seed=0, n_boot=200)
    assert np.isfinite(res.errors["learned"]).all()  # it stays in its domain on these starts
    for method in ("mean field", "pair"):
        cm = dbm.theory.classical_moments(
            dbm.Network.from_dict(test.meta["network"]),
            test.counts[:, 0], test.times, initial_pairs=test.pairs[:, 0], dt=0.01,
            shape=(60,), boundary="periodic", method=method,
        )  # fmt: skip
        np.testing.assert_array_equal(res.predictions[method][0], cm.counts)
        iu = np.triu_indices(2)
        model = np.concatenate([cm.counts, cm.pairs[..., iu[0], iu[1]]], -1)[:, 1:]
        data = np.concatenate([test.counts, test.pairs[..., iu[0], iu[1]]], -1)[:, 1:]
        np.testing.assert_allclose(res.errors[method], relative_rms(model, data), rtol=1e-12)
    # the learned closure's counts are its family's exact observables along its path
    theta = closure.predict(test, outside="nan")
    counts, _ = gas.observables(theta)
    np.testing.assert_allclose(res.predictions["learned"][0][:, 1:], counts[:, 1:], rtol=1e-10)
    again = dbm.compare_closures(closure, test, seed=0, n_boot=200)
    assert again.table() == res.table()  # seeded: reproducible


def test_refuses_data_of_another_system(sis):
    gas, closure, _, test = sis
    other = dbm.Network([("S + I -> I + I", 0.5), ("I -> S", 2.0)], species=["S", "I"])
    wrong = dbm.closure_data(gas, [_sis(18, 18, 20, net=other), _sis(22, 12, 21, net=other)])
    with pytest.raises(ValueError, match="network"):
        dbm.compare_closures(closure, wrong)
    slow = dbm.closure_data(gas, [_sis(18, 18, 22, dt=0.02), _sis(22, 12, 23, dt=0.02)])
    with pytest.raises(ValueError, match="dt|recorded every"):
        dbm.compare_closures(closure, slow)
    with pytest.raises(TypeError, match="closure"):
        dbm.compare_closures("closure", test)
    with pytest.raises(TypeError, match="test"):
        dbm.compare_closures(closure, test.counts)
    with pytest.raises(ValueError, match="baselines"):
        dbm.compare_closures(closure, test, baselines=["moment"])
    with pytest.raises(ValueError, match="level"):
        dbm.compare_closures(closure, test, level=1.0)


def test_figures_of_a_comparison(sis):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dbmtools import plotting

    _, closure, _, test = sis
    res = dbm.compare_closures(closure, test, seed=0, n_boot=200)
    fig = plotting.plot_heldout_condition(res, test, condition=1)
    axes = fig.axes
    assert [a.get_title() for a in axes] == res.columns
    # per panel: one line per closure, drawing its prediction of that condition
    learned = axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(learned, res.predictions["learned"][0][1, :, 0])
    assert len(axes[2].lines) == 3
    with pytest.raises(ValueError, match="condition"):
        plotting.plot_heldout_condition(res, test, condition=2)
    fig2 = plotting.plot_closure_errors(res)
    dots = [ln for ln in fig2.axes[0].lines if ln.get_marker() == "o"]
    assert len(dots) == 3
    np.testing.assert_allclose(dots[0].get_ydata(), res.errors["learned"].mean(axis=0))
    plt.close("all")

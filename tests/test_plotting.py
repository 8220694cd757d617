"""Smoke tests of dbmtools.plotting: every figure function draws, labels its axes and
returns a Figure, with a new figure (``ax=None``) and into Axes it is given.

The figures compute nothing worth checking numerically (the numbers they show are
tested where they are computed); these tests catch a broken call, a missing label or a
wrong return type. Also: ``import dbmtools`` imports neither matplotlib nor ipywidgets,
and no figure module imports :mod:`dbmtools.widgets`.
"""

import ast
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import dbmtools as dbm  # noqa: E402
from dbmtools import plotting  # noqa: E402

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(fig) -> Figure:
    """``fig`` is a Figure whose every panel (colour bars aside) has a label or a title."""
    assert isinstance(fig, Figure)
    panels = [a for a in fig.axes if not hasattr(a, "_colorbar")]
    assert panels
    for a in panels:
        labels = [a.get_xlabel(), a.get_ylabel(), a.get_title(), a.get_title(loc="left")]
        assert any(labels), f"an unlabelled panel in {fig}"
    return fig


def _grid3():
    g = dbm.HermiteGrid([-1.0] * 3, [1.0] * 3, 0.5)
    g.coeffs = RNG.normal(size=g.coeffs.shape)
    return g


def _ensemble(n_sites=60, n_samples=3, n_steps=5):
    starts = np.stack(
        [dbm.random_state(n_sites, densities=[0.5], seed=k) for k in range(n_samples)]
    )
    return dbm.simulate_ensemble(
        starts, dbm.annihilation(0.5), n_steps=n_steps, dt=0.01, dim=1, seed=0, progress=False
    )


# ---- lattice ---------------------------------------------------------------------------
def test_lattice_figures():
    traj = dbm.simulate(
        dbm.random_state(40, densities=[0.5], seed=1),
        dbm.annihilation(1.0),
        n_steps=5,
        dt=0.01,
        dim=1,
        seed=1,
    )
    _labelled(plotting.plot_kymograph(traj, max_sites=30))
    fig, ax = plt.subplots()
    assert plotting.plot_kymograph(traj, ax=ax) is fig
    with pytest.raises(ValueError, match="1D trajectory"):
        plotting.plot_kymograph(
            dbm.simulate(
                dbm.random_state((4, 4), densities=[0.5], seed=1),
                dbm.annihilation(1.0),
                n_steps=1,
                dt=0.01,
                dim=2,
                seed=1,
            )
        )
    state2d = dbm.random_state((16, 16), densities=[0.3, 0.3], seed=2)
    _labelled(plotting.plot_lattice_image(state2d, 2, species=["A", "B"], title="t = 0"))
    _labelled(plotting.plot_species_excess(state2d, 4, title="A - B"))
    fig, axes = plt.subplots(1, 2)  # one colour scale for two panels, no bar of their own
    for a in axes:
        plotting.plot_species_excess(state2d, 4, ax=a, vmax=7, colorbar=False)
        assert a.images[0].get_clim() == (-7, 7) and a.get_xlabel()
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="divisible by `block`"):
        plotting.plot_species_excess(state2d, 5)
    state3d = dbm.random_state((4, 4, 4), counts=[5, 5, 5], seed=3)
    _labelled(plotting.plot_lattice_3d(state3d, 3, species=["A", "B", "C"], title="t = 0"))


def test_band_and_decay_figures():
    ens = _ensemble()
    fig = plotting.plot_density_band(ens, skip_first=True, label="p = 0.5")
    fig.axes[0].set_xlabel("time")
    _labelled(fig)
    fig, ax = plt.subplots()
    ax.set_xlabel("t")
    assert plotting.plot_mean_band(ens.times, RNG.random((4, ens.times.size)), ax=ax) is fig
    plotting.plot_mean_band(ens.times, RNG.random((1, ens.times.size)), ax=ax)  # one sample
    _labelled(plotting.plot_annihilation_decay(ens, prob=0.5, hop_rate=dbm.hop_rate(0.01, 1)))


# ---- hermite ---------------------------------------------------------------------------
def test_hermite_figures():
    _labelled(plotting.plot_hermite_cubics())
    fig = _labelled(plotting.plot_cell_basis(0.5, n=11))
    assert len(fig.axes) == 17  # 16 panels on one scale and its one colour bar
    assert {a.images[0].get_clim() for a in fig.axes[:16]} == {(-1.0, 1.0)}
    fig, axes = plt.subplots(4, 4)
    assert plotting.plot_cell_basis(0.5, n=11, ax=axes) is fig
    _labelled(plotting.plot_c0_vs_c1(np.sin, np.cos))
    x = np.linspace(-1, 1, 40)
    result = dbm.hermite.interpolate_1d(np.sin, np.cos, 0.3, samples=(x, np.sin(x)))
    _labelled(plotting.plot_interpolation_1d(np.sin, result, samples=(x, np.sin(x))))
    fig, ax = plt.subplots()
    assert plotting.plot_convergence([0.5, 0.25], [1e-2, 6.25e-4], ax=ax) is fig
    _labelled(fig)
    _labelled(plotting.plot_hermite_slice(_grid3(), lambda p: p[:, 0], axis=1, value=0.6))
    _labelled(plotting.plot_hermite_slice(_grid3(), labels=["$b$", "$J$", "$K$"]))
    with pytest.raises(ValueError, match="`grid` must be 3D"):
        plotting.plot_hermite_slice(dbm.HermiteGrid([0.0], [1.0], 0.5))
    with pytest.raises(ValueError, match="`ax` must be a sequence of 3 Axes"):
        plotting.plot_hermite_slice(_grid3(), lambda p: p[:, 0], ax=plt.subplots(1, 2)[1])


# ---- Boltzmann machines ----------------------------------------------------------------
def test_boltzmann_figures():
    v = dbm.ising.sample(-0.5, 1.0, 0.0, n_sites=30, n_chains=20, n_sweeps=10, seed=0)
    exact = dbm.ising.exact_moments_per_site(-0.5, 1.0, 0.0, n_sites=30)
    _labelled(plotting.plot_ising_samples(v, exact, title="b=-0.50"))
    bias = dbm.ising.short_chain_bias(
        -1.0, 2.0, 0.0, n_sweeps=[1, 3], n_sites=20, n_chains=20, seed=0
    )
    _labelled(plotting.plot_short_chain_bias(bias))
    model = dbm.hidden_model_1d(20)
    fits = {
        (0.0, 0.0, 0.0): dbm.rbm.fit(model, v[:, :20], n_iter=5, tol=10.0, seed=0, progress=False)
    }
    _labelled(plotting.plot_rbm_fits(fits))
    fig, axes = plt.subplots(1, 3)
    assert plotting.plot_rbm_fits(fits, ax=axes) is fig  # the projections, no mismatch panel
    assert all(a.get_xlabel() and a.get_ylabel() for a in axes)
    with pytest.raises(ValueError, match="3 or 4 Axes"):
        plotting.plot_rbm_fits(fits, ax=axes[:2])
    _labelled(plotting.plot_hidden_1d([-2.0, 4.0, -6.0], v[0, :20], n_show=15))


# ---- Rössler ---------------------------------------------------------------------------
def test_rossler_figures():
    n_times, n_sims = 21, 4
    times = np.arange(n_times) * 0.01
    states = RNG.integers(0, 4, size=(n_times, 4, 4, 4)).astype(np.int8)
    moments = RNG.random((n_sims, n_times, 6)) * 100
    mean_field = RNG.random((n_times, 3)) * 100
    _labelled(plotting.plot_attractor(moments[0, :, :3]))
    with pytest.raises(ValueError, match=r"shape \(n_times, 3\)"):
        plotting.plot_attractor(moments[0])
    _labelled(
        plotting.plot_rossler_simulation(states, moments, times, mean_field, steps=(0, 5, 10, 20))
    )
    _labelled(plotting.plot_rossler_snapshot(states, moments[0], times, 5))
    _labelled(plotting.plot_rossler_ensemble(times, moments[..., :3], mean_field))
    theta = RNG.normal(size=(n_times, 9)) * 0.1
    vertices = RNG.random((8, 3))
    _labelled(
        plotting.plot_rossler_trajectory(
            times, mean_field, theta[:, :3], theta, vertices, n_cells=1, horizon_time=0.2
        )
    )
    tex = ["b_A", "b_B", "b_C", "W_{AX}", "W_{BY}", "W_{CZ}", "b_X", "b_Y", "b_Z"]
    _labelled(plotting.plot_rossler_rhs(times, theta, labels=tex, horizon_time=0.1))
    _labelled(plotting.plot_rossler_rhs_slice(_grid3(), theta[:, :3] * 0.5, value=0.1, label="b_B"))
    every = np.arange(0, n_times, 5)
    model_moments = RNG.random((every.size, 3, 6)) * 100
    _labelled(
        plotting.plot_rossler_moments(
            times,
            moments,
            times[every],
            model_moments,
            names=["A", "B", "C", "BB", "CC", "AB"],
            horizon_time=0.1,
        )
    )
    hidden = RNG.dirichlet(np.ones(4), size=(4, 4))
    _labelled(plotting.plot_rossler_coarse_graining(states[0, :, :, 0], hidden))


def test_every_plot_function_is_exported_and_tested():
    names = [n for n in plotting.__all__ if n.startswith("plot_")]
    assert len(names) == len(set(names))
    # figures of one notebook may be smoke-tested in a file of their own (test_adjoint_figures)
    source = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    missing = [n for n in names if f"plotting.{n}(" not in source]
    assert not missing, f"no smoke test for {missing}"


# ---- closure (notebook 05) ---------------------------------------------------------------
def test_closure_figures():
    from dbmtools import annihilation1d

    data = annihilation1d.annihilation_data(
        3, n_lattices=4, n_sites=40, n_steps=8, seed=0, progress=False
    )
    run = annihilation1d.learn_closures(
        data, n_epochs=2, n_chains=2, window=4, seed=1, progress=False
    )
    _labelled(plotting.plot_closure_trajectories(run, data))
    _labelled(plotting.plot_initial_nn_moment(run, data))
    fig = _labelled(plotting.plot_hidden_correlation(run, data))
    assert any(hasattr(a, "_colorbar") for a in fig.axes)  # the line colours are keyed
    res = annihilation1d.closure_moments(run, data, hidden_initial=run.hidden_initial, every=4)
    noise = np.full((res["times"].size, 4), 0.5)
    fig = _labelled(
        plotting.plot_closure_rmse(res, extra={"copy": res["visible"]}, sampling_error=noise)
    )
    assert "sampling error of the data" in [t.get_text() for t in fig.axes[0].get_legend().texts]
    _, axes = plt.subplots(1, 2)
    assert plotting.plot_closure_rmse(res, ax=axes) is axes[0].figure
    small = annihilation1d.small_closure_run(
        0.5, 0.05, n_conditions=2, n_lattices=3, n_sites=40, n_steps=10, n_epochs=2, seed=0
    )
    _labelled(plotting.plot_small_closure_run(small))


# ---- views (dbmtools.widgets) ----------------------------------------------------------
def test_views_compute_then_draw():
    from dbmtools import widgets

    _labelled(widgets.annihilation_decay_view(0.5, 1.0, 60, n_samples=2, n_steps=5))
    _labelled(widgets.ising_samples_view(-0.5, 1.0, 0.0, n_sites=20, n_chains=10, n_sweeps=5))


# ---- imports ---------------------------------------------------------------------------
def test_import_dbmtools_needs_neither_matplotlib_nor_ipywidgets():
    code = (
        "import sys, dbmtools; "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_figures_do_not_import_widgets():
    for path in Path(plotting.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any("widgets" in n for n in names), f"{path.name} imports widgets"

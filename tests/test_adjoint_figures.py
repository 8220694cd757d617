"""Smoke tests of the figures and slider views of notebook 04 (the adjoint method).

As in ``tests/test_plotting.py``: every figure function draws, labels its axes and returns a
Figure, with a new figure and into Axes it is given; bad input raises ``ValueError``. The
numbers the figures show are tested where they are computed (``tests/test_dynamics.py``
checks the adjoint gradient against finite differences).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import dbmtools as dbm  # noqa: E402
from dbmtools import plotting, widgets  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(fig) -> Figure:
    """``fig`` is a Figure whose every panel has a label or a title."""
    assert isinstance(fig, Figure)
    assert fig.axes
    for a in fig.axes:
        assert any([a.get_xlabel(), a.get_ylabel(), a.get_title()]), "an unlabelled panel"
    return fig


def _toy(n_cells=8):
    """Notebook 04's small model: 100 independent sites, dtheta/dt = -theta on [-2, 2]."""
    truth = dbm.dynamics.ParameterODE(
        ["a"], ["a"], [-2.0], [2.0], 4.0 / n_cells, dt=0.1, n_substeps=2
    )
    g = truth.grid("a")
    g.interpolate(lambda x: -x[:, 0], lambda x: -np.ones((len(x), 1)))
    truth.set_grid("a", g)
    theta0 = np.array([[-1.5], [-0.5], [0.5], [1.5]])

    def mu(t):
        return 100.0 / (1 + np.exp(-t))

    return truth, dbm.ExactMoments(mu(truth.solve(theta0, 10)), theta0, model_moments=mu)


def test_gradient_consistency_figure():
    ns = [1, 2, 4, 8]
    errors = {"discrete": [1e-9, 2e-9, 1e-9, 3e-9], "continuous": [2e-2, 1e-2, 5e-3, 2.5e-3]}
    fig = _labelled(plotting.plot_gradient_consistency(ns, errors))
    assert len(fig.axes[0].get_lines()) == 3  # two series and the O(h) guide
    _, ax = plt.subplots()
    assert plotting.plot_gradient_consistency(ns, errors, ax=ax) is ax.figure
    with pytest.raises(ValueError, match="one entry per n_substeps"):
        plotting.plot_gradient_consistency(ns, {"short": [1.0, 2.0]})


def test_window_gradient_figure_and_view():
    truth, toy = _toy()
    ode = dbm.dynamics.ParameterODE(["a"], ["a"], [-2.0], [2.0], 0.5, dt=0.1, n_substeps=2)
    ode.coeffs = 0.3 * np.random.default_rng(1).standard_normal(ode.coeffs.shape)
    fig = _labelled(widgets.window_gradient_view(ode, toy, 3, start=4, window=4))
    assert len(fig.axes) == 2
    # a window that starts at t = 0 has nothing to truncate: the two bar sets coincide
    fig = widgets.window_gradient_view(ode, toy, 3, start=0, window=4)
    heights = [[p.get_height() for p in c] for c in fig.axes[1].containers]
    np.testing.assert_allclose(heights[0], heights[1], rtol=1e-12, atol=1e-15)
    r = {
        "times": np.arange(6) * 0.1,
        "theta": np.linspace(1, 0.5, 6),
        "start": 1,
        "stop": 3,
        "vertices": np.linspace(-2, 2, 9),
        "full": np.ones(9),
        "truncated": np.zeros(9),
    }
    _, axes = plt.subplots(1, 2)
    assert plotting.plot_window_gradient(r, ax=axes) is axes[0].figure
    with pytest.raises(ValueError, match="sequence of 2 Axes"):
        plotting.plot_window_gradient(r, ax=axes[:1])


def test_training_figure_and_view():
    truth, toy = _toy()
    fig = _labelled(widgets.adjoint_training_view(toy, truth, 1.0, 4, n_iter=20))
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 20
    _, axes = plt.subplots(1, 2)
    assert (
        plotting.plot_training_1d([3.0, 2.0], truth, truth=truth, x=np.linspace(-1, 1, 5), ax=axes)
        is axes[0].figure
    )
    two = dbm.dynamics.ParameterODE(["a", "b"], ["a"], [-1.0], [1.0], 0.5)
    with pytest.raises(ValueError, match="one parameter on a 1D domain"):
        plotting.plot_training_1d([1.0], two)
    with pytest.raises(ValueError, match="one parameter on a 1D domain"):
        widgets.window_gradient_view(two, toy, start=0, window=2)

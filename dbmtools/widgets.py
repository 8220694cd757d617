"""Sliders for the notebooks (ipywidgets) and the views they drive.

The published book has no kernel, so every slider view in a notebook is
followed by the same plot at the default values as a static figure
(DESIGN.md section 3); :func:`slider_view` keeps the defaults in one place so
that the two always agree.

A *view* computes (simulates, samples) and then draws with a function of
:mod:`dbmtools.plotting`, so that a slider can rerun both: figures compute
nothing heavy, views do. ``ipywidgets`` is imported only when a slider is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import plotting
from .dynamics import ParameterODE, adjoint_gradient, train
from .estimators import MomentProblem
from .ising import exact_moments_per_site, sample
from .lattice import random_state
from .reactions import annihilation
from .simulate import hop_rate, simulate_ensemble
from .trajectory import Ensemble

__all__ = [
    "slider_view",
    "float_slider",
    "int_slider",
    "defaults",
    "simulate_annihilation_decay",
    "annihilation_decay_view",
    "ising_samples_view",
    "window_gradient_view",
    "adjoint_training_view",
]


def float_slider(value: float, min: float, max: float, step: float, description: str = ""):
    """A continuous-update-off ``FloatSlider`` (recomputes only on release)."""
    return _slider("FloatSlider", value, min, max, step, description, readout_format=".3g")


def int_slider(value: int, min: int, max: int, step: int = 1, description: str = ""):
    """A continuous-update-off ``IntSlider``."""
    return _slider("IntSlider", value, min, max, step, description)


def _slider(kind: str, value, min, max, step, description: str, **options):
    import ipywidgets as w

    return getattr(w, kind)(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
        **options,
    )


def slider_view(plot: Callable[..., Any], **sliders: Any):
    """Show ``plot(**values)`` under a set of sliders and redraw when one moves.

    Parameters
    ----------
    plot : callable
        Draws a figure from keyword arguments (it should call ``plt.show()``
        or return a Matplotlib figure).
    **sliders : ipywidgets.Widget
        One widget per keyword argument of ``plot``, e.g. from
        :func:`float_slider`.

    Returns
    -------
    ipywidgets.interactive
        The widget box, already displayed by the notebook when it is the
        cell's last expression.

    Notes
    -----
    Call ``plot(**defaults(sliders))`` in the next cell for the static figure
    that the book and nbval see.
    """
    import ipywidgets as w

    return w.interactive(plot, **sliders)


def defaults(sliders: dict[str, Any]) -> dict[str, Any]:
    """The current (default) value of each slider, for the static figure."""
    return {name: widget.value for name, widget in sliders.items()}


# --------------------------------------------------------------------------
# views: compute, then draw
# --------------------------------------------------------------------------


def simulate_annihilation_decay(
    prob: float = 0.01,
    hop_prob: float = 1.0,
    n_sites: int = 1000,
    *,
    n_samples: int = 20,
    n_steps: int = 200,
    dt: float = 0.01,
    seed: int = 0,
) -> Ensemble:
    """Simulate 1D ``A + A -> 0`` from half-filled periodic lattices (no progress bar).

    Lattice ``k`` starts from ``random_state(n_sites, densities=[0.5],
    seed=seed + k)``; the ensemble runs with ``seed``.

    Examples
    --------
    >>> ens = simulate_annihilation_decay(0.5, n_sites=100, n_samples=2, n_steps=10)
    >>> ens.states.shape
    (2, 11, 100)
    """
    states = np.stack(
        [random_state(n_sites, densities=[0.5], seed=seed + k) for k in range(n_samples)]
    )
    return simulate_ensemble(
        states,
        annihilation(prob),
        n_steps=n_steps,
        dt=dt,
        dim=1,
        hop_prob=hop_prob,
        seed=seed,
        boundary="periodic",
        progress=False,
    )


def annihilation_decay_view(
    prob: float = 0.01,
    hop_prob: float = 1.0,
    n_sites: int = 1000,
    *,
    dt: float = 0.01,
    **options,
):
    """The slider view of notebook 01: simulate (:func:`simulate_annihilation_decay`, which
    takes ``options``: ``n_samples``, ``n_steps``, ``seed``) and draw the density against the
    exact ``p = 1`` curve and the reaction-limited law
    (:func:`dbmtools.plotting.plot_annihilation_decay`). Returns the figure.
    """
    ens = simulate_annihilation_decay(prob, hop_prob, n_sites, dt=dt, **options)
    return plotting.plot_annihilation_decay(ens, prob=prob, hop_rate=hop_rate(dt, 1, hop_prob))


def ising_samples_view(
    b: float,
    J: float,
    K: float,
    *,
    n_sites: int = 100,
    n_chains: int = 400,
    n_sweeps: int = 200,
    seed=0,
    boundary: str = "periodic",
    n_show: int = 30,
):
    """The slider view of notebook 03: Gibbs samples of the 1D gas and their moments.

    Samples ``n_chains`` lattices (:func:`dbmtools.ising.sample`), computes the
    exact moments per site of the same chain
    (:func:`dbmtools.ising.exact_moments_per_site`) and draws both
    (:func:`dbmtools.plotting.plot_ising_samples`). Returns the figure.
    """
    v = sample(
        b, J, K, n_sites=n_sites, n_chains=n_chains, n_sweeps=n_sweeps, seed=seed, boundary=boundary
    )
    exact = exact_moments_per_site(b, J, K, n_sites=n_sites, boundary=boundary)
    return plotting.plot_ising_samples(
        v, exact, boundary=boundary, n_show=n_show, title=f"b={b:.2f}, J={J:.2f}, K={K:.2f}"
    )


def window_gradient_view(
    ode: ParameterODE, problem: MomentProblem, trajectory: int = 0, *, start: int, window: int
):
    """The window slider view of notebook 04: full and truncated gradients over one window.

    Solves ``trajectory`` of ``problem`` with ``ode`` (one parameter on a 1D
    domain), computes the adjoint gradient over the data times ``start ..
    start + window`` twice with :func:`dbmtools.dynamics.adjoint_gradient`, back
    to ``t = 0`` and truncated at ``tau = start`` (eq. 41), and draws their value
    components (:func:`dbmtools.plotting.plot_window_gradient`). Returns the figure.

    Examples
    --------
    >>> from dbmtools.estimators import ExactMoments
    >>> ode = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    >>> ode.coeffs[0, ::2] = -0.5
    >>> p = ExactMoments(np.full((1, 6, 1), 30.0), [[1.0]],
    ...                  model_moments=lambda t: 100 / (1 + np.exp(-t)))
    >>> len(window_gradient_view(ode, p, start=2, window=3).axes)
    2
    """
    if ode.n_params != 1 or ode.dim != 1:
        raise ValueError(
            f"`ode` must have one parameter on a 1D domain; got {ode.n_params} parameter(s) "
            f"on a {ode.dim}D domain."
        )
    stop = start + window
    grads = {
        name: adjoint_gradient(
            ode, problem, trajectory, start=start, stop=stop, truncated=trunc
        ).grad[0, ::2]
        for name, trunc in (("full", False), ("truncated", True))
    }
    n_steps = problem.n_times - 1
    result = {
        "times": np.arange(n_steps + 1) * ode.dt,
        "theta": ode.solve(problem.initial_theta[trajectory], n_steps)[:, 0],
        "start": start,
        "stop": stop,
        "vertices": ode.grid(0).vertices[:, 0],
        **grads,
    }
    return plotting.plot_window_gradient(result)


def adjoint_training_view(
    problem: MomentProblem,
    truth: ParameterODE,
    lr: float = 1.0,
    n_cells: int = 8,
    *,
    n_iter: int = 300,
    seed: int = 0,
):
    """The training slider view of notebook 04: Algorithm 1 (plain SGD), learning rate, cells.

    Builds an ODE like ``truth`` (same parameter, domain, ``dt`` and substeps)
    with ``F = 0`` on ``n_cells`` cells, trains it on ``problem`` with
    :func:`dbmtools.dynamics.train` (SGD, the whole training set as one batch,
    no window) and draws the loss and the learned ``F`` against ``truth``
    (:func:`dbmtools.plotting.plot_training_1d`). A learning rate too large for
    the cell size diverges: ``train`` then raises ``ValueError`` (a trajectory
    left the domain) or ``FloatingPointError``. Returns the figure.

    Examples
    --------
    >>> from dbmtools.estimators import ExactMoments
    >>> truth = ParameterODE(["a"], [0], [-2.0], [2.0], 0.5, dt=0.1)
    >>> truth.coeffs[0, ::2] = -0.5                       # F = -1/2 everywhere
    >>> mu = lambda t: 100 / (1 + np.exp(-t))
    >>> p = ExactMoments(mu(truth.solve([[1.0], [-1.0]], 5)), [[1.0], [-1.0]],
    ...                  model_moments=mu)
    >>> len(adjoint_training_view(p, truth, 0.5, 4, n_iter=5).axes)
    2
    """
    cell_size = (truth.upper[0] - truth.lower[0]) / n_cells
    ode = ParameterODE(
        truth.names,
        truth.args,
        truth.lower,
        truth.upper,
        cell_size,
        dt=truth.dt,
        n_substeps=truth.n_substeps,
    )
    fit = train(
        ode,
        problem,
        n_iter=n_iter,
        lr=lr,
        batch_size=problem.initial_theta.shape[0],
        seed=seed,
        progress=False,
    )
    return plotting.plot_training_1d(fit.loss_history, ode, truth=truth)

"""Figures of the adjoint method and Algorithm 1 (notebook 04).

They draw gradient errors, adjoint gradients over a window and training runs
computed elsewhere (:mod:`dbmtools.dynamics`, the views of
:mod:`dbmtools.widgets`, or the notebook's own plain-NumPy Algorithm 1);
evaluating a learned right-hand side on a plotting mesh is the only work they do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..dynamics import ParameterODE
from .style import new_axes, new_panels

__all__ = [
    "plot_gradient_consistency",
    "plot_training_1d",
    "plot_window_gradient",
]


def plot_gradient_consistency(
    n_substeps: Sequence[int], errors: Mapping[str, Sequence[float]], *, ax=None
) -> Figure:
    """Relative gradient errors against the number of Euler substeps (log-log).

    Parameters
    ----------
    n_substeps : sequence of int, length n
        Euler substeps per data timestep of each run (the step is ``h = dt / n_substeps``).
    errors : mapping of str to sequence of float, length n
        For each way of computing the gradient (e.g. ``"discrete adjoint"``,
        ``"continuous adjoint (31), discretised"``), its relative error against
        finite differences of the same discrete objective, one per entry of
        ``n_substeps``.
    ax : Axes, optional

    Returns
    -------
    Figure
        With a dashed guide ``proportional to h`` through the first point of the
        series with the largest first error.

    Examples
    --------
    >>> fig = plot_gradient_consistency([1, 2, 4], {"a": [1e-2, 5e-3, 2.5e-3],
    ...                                             "b": [1e-9, 2e-9, 1e-9]})
    >>> fig.axes[0].get_xscale()
    'log'
    """
    fig, ax = new_axes(ax, figsize=(5, 3.6))
    ns = np.asarray(n_substeps, dtype=float)
    first = []
    for name, err in errors.items():
        err = np.asarray(err, dtype=float)
        if err.shape != ns.shape:
            raise ValueError(
                f"`errors[{name!r}]` must have one entry per n_substeps ({ns.size}); "
                f"got shape {err.shape}."
            )
        ax.loglog(ns, err, "o-", label=name)
        first.append(err[0])
    if first:
        ax.loglog(ns, max(first) * ns[0] / ns, "k--", lw=0.8, label=r"$\propto h$")
    ax.set_xlabel(r"Euler substeps per data step ($h = \Delta t / n_\mathrm{sub}$)")
    ax.set_ylabel("relative error vs finite differences")
    ax.set_title("gradient of the discretised objective")
    ax.legend(fontsize=8)
    return fig


def plot_window_gradient(result: Mapping, *, ax=None) -> Figure:
    """Full and truncated (eq. 41) adjoint gradients of one trajectory over one window.

    Left: the trajectory ``theta(t)`` with the window ``[tau, tau + dtau]``
    shaded. Right: the components of ``dS/du`` that multiply the *values* of
    ``F`` at the vertices (the slope components are left out), full gradient
    against truncated gradient.

    Parameters
    ----------
    result : mapping
        ``"times"``, ``"theta"`` (n_times,): the trajectory at the data times;
        ``"start"``, ``"stop"``: the window's first and last data time index;
        ``"vertices"`` (n_vertices,): vertex positions; ``"full"``,
        ``"truncated"`` (n_vertices,): the value components of the two
        gradients (e.g. from :func:`dbmtools.widgets.window_gradient_view`).
    ax : sequence of two Axes, optional

    Returns
    -------
    Figure

    Examples
    --------
    >>> r = {"times": np.arange(5) * 0.1, "theta": np.linspace(1, 0.5, 5), "start": 2,
    ...      "stop": 4, "vertices": np.linspace(-1, 1, 5), "full": np.ones(5),
    ...      "truncated": np.zeros(5)}
    >>> len(plot_window_gradient(r).axes)
    2
    """
    fig, axes = new_panels(ax, 2, figsize=(10, 3.6), layout="constrained")
    times, theta = np.asarray(result["times"]), np.asarray(result["theta"])
    start, stop = int(result["start"]), int(result["stop"])
    a = axes[0]
    a.plot(times, theta, "k.-", lw=1)
    a.axvspan(
        times[start],
        times[stop],
        color="C1",
        alpha=0.25,
        label=r"window $[\tau, \tau + \Delta\tau]$",
    )
    a.set(xlabel="t", ylabel=r"$\theta(t)$", title="trajectory and window")
    a.legend(fontsize=8)
    b = axes[1]
    x = np.asarray(result["vertices"])
    width = 0.35 * (x[1] - x[0]) if x.size > 1 else 0.1
    b.bar(x - width / 2, result["full"], width, color="C0", label="full gradient")
    b.bar(x + width / 2, result["truncated"], width, color="C1", label=r"truncated at $\tau$ (41)")
    b.axhline(0, color="k", lw=0.5)
    lo, hi = min(theta[: stop + 1]), max(theta[: stop + 1])
    b.axvspan(lo, hi, color="0.85", zorder=0, label=r"range of $\theta$ up to $\tau + \Delta\tau$")
    b.set(
        xlabel=r"vertex $\theta$",
        ylabel=r"$dS/du$ (value coefficients)",
        title="where the gradient changes F",
    )
    b.legend(fontsize=8)
    return fig


def plot_training_1d(
    loss_history: Sequence[float],
    ode: ParameterODE,
    *,
    truth: ParameterODE | None = None,
    x: np.ndarray | None = None,
    ax=None,
) -> Figure:
    """A training run of a one-parameter ODE: loss per step, and the learned ``F`` against ``x``.

    Parameters
    ----------
    loss_history : sequence of float
        E.g. ``loss_history`` of :class:`dbmtools.dynamics.TrainResult`.
    ode : ParameterODE
        The learned ODE; one parameter on a 1D domain.
    truth : ParameterODE, optional
        The right-hand side the data came from, drawn for comparison.
    x : array_like, shape (n,), optional
        Where to draw ``F`` (default: the whole domain); the cell faces are marked.
    ax : sequence of two Axes, optional

    Returns
    -------
    Figure

    Examples
    --------
    >>> ode = ParameterODE(["a"], [0], [-1.0], [1.0], 0.5)
    >>> len(plot_training_1d([3.0, 2.0, 1.0], ode).axes)
    2
    """
    if ode.n_params != 1 or ode.dim != 1:
        raise ValueError(
            f"`ode` must have one parameter on a 1D domain; got {ode.n_params} parameter(s) "
            f"on a {ode.dim}D domain."
        )
    fig, axes = new_panels(ax, 2, figsize=(10, 3.4), layout="constrained")
    loss = np.asarray(loss_history, dtype=float)
    axes[0].semilogy(np.arange(1, loss.size + 1), loss)
    axes[0].set(xlabel="optimisation step", ylabel="RMS moment mismatch", title="training")
    lo, hi = float(ode.lower[0]), float(ode.upper[0])
    x = np.linspace(lo, hi, 201) if x is None else np.asarray(x, dtype=float).ravel()
    for face in np.arange(lo, hi + 1e-9, float(ode.cell_size[0])):
        if x.min() <= face <= x.max():
            axes[1].axvline(face, color="0.85", lw=0.8, zorder=0)
    if truth is not None:
        axes[1].plot(x, truth.rhs(x[:, None])[:, 0], "k", lw=3, alpha=0.3, label="true $F$")
    axes[1].plot(x, ode.rhs(x[:, None])[:, 0], "C0", label="learned $F$")
    axes[1].set(
        xlabel=rf"${ode.names[0]}$" if len(ode.names[0]) == 1 else ode.names[0],
        ylabel="$F$",
        title="right-hand side (grey lines: cell faces)",
    )
    axes[1].legend(fontsize=8)
    return fig

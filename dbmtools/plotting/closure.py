"""Figures of the 1D closure experiment (section IV A, notebook 05).

They draw the results of :mod:`dbmtools.annihilation1d` (a :class:`ClosureRun`,
its data, :func:`closure_moments` output, a :class:`SmallRun`); integrating a
learned ODE or evaluating a transfer matrix for the lines is the only work
they do (milliseconds).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..annihilation1d import AnnihilationData, ClosureRun, SmallRun
from ..ising import exact_chain_moments
from ..rbm import hidden_chain_moments
from ..theory import closure_rmse
from .style import panels as _panels

__all__ = [
    "plot_closure_density",
    "plot_closure_rmse",
    "plot_closure_trajectories",
    "plot_hidden_correlation",
    "plot_initial_nn_moment",
    "plot_maxent_trajectories",
    "plot_small_closure_run",
]


def _four_panels(ax):
    if ax is None:
        fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), layout="constrained")
        return fig, axes
    axes = _panels(ax, 4)
    return axes[0].figure, axes


def plot_closure_trajectories(
    run: ClosureRun, data: AnnihilationData, *, n_steps: int | None = None, ax=None
) -> Figure:
    """Fig. 2 (left panels): initial conditions and learned trajectories of both models.

    Projections on the (b, J), (J, K) planes (visible model) and (b, W), (W, b')
    planes (hidden model); initial points in cyan, end points in magenta.
    Returns the figure.
    """
    n_steps = data.n_times - 1 if n_steps is None else n_steps
    vis = run.visible.solve(data.initial_theta, n_steps)
    hid = run.hidden.solve(run.hidden_initial, n_steps)
    fig, axes = _four_panels(ax)
    panels = [
        (vis, 0, 1, "b", "J"),
        (vis, 1, 2, "J", "K"),
        (hid, 0, 1, "b", "W"),
        (hid, 1, 2, "W", "b'"),
    ]
    for ax, (tr, i, j, xi, yj) in zip(axes, panels, strict=True):
        for traj in tr:
            ax.plot(traj[:, i], traj[:, j], "k", lw=0.6, alpha=0.6)
        ax.plot(tr[:, 0, i], tr[:, 0, j], "o", color="c", ms=4, label="t = 0")
        ax.plot(tr[:, -1, i], tr[:, -1, j], "o", color="m", ms=3, label=f"t = {n_steps} dt")
        ax.set_xlabel(f"${xi}$")
        ax.set_ylabel(f"${yj}$")
    axes[0].set_title("visible model (37)-(38)")
    axes[2].set_title("hidden model (39)-(40)")
    axes[0].legend(fontsize=8)
    return fig


def plot_closure_rmse(
    res: dict, *, extra: dict | None = None, sampling_error=None, ax=None
) -> Figure:
    """Fig. 3(c): RMSE over test conditions of the 3rd- and 4th-order chain moments.

    ``res`` is the output of :func:`closure_moments`; ``extra`` maps more names
    to model moments of the same shape (e.g. classical closures).
    ``sampling_error`` (n_times, >= 4), optional: the RMS over conditions of the
    standard error of the simulation means, drawn as a dotted black line: an
    RMSE near it is as good as these data can show. Returns the figure.
    """
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    else:
        axes = _panels(ax, 2)
        fig = axes[0].figure
    models = {"visible model": res["visible"], "hidden model": res["hidden"], **(extra or {})}
    for ax, k in zip(axes, (3, 4), strict=True):
        for name, mom in models.items():
            ax.plot(res["times"], closure_rmse(mom, res["simulation"])[:, k - 1], label=name)
        if sampling_error is not None:
            ax.plot(
                res["times"],
                np.asarray(sampling_error)[:, k - 1],
                ":",
                color="k",
                label="sampling error of the data",
            )
        ax.set_xlabel("t")
        ax.set_ylabel("RMSE (raw lattice sum)")
        ax.set_title(f"order-{k} chain moment")
        ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    return fig


def plot_initial_nn_moment(run: ClosureRun, data: AnnihilationData, *, ax=None) -> Figure:
    """Fig. 3(a): the nearest-neighbour moment ``<sum v_i v_{i+1}>`` at t = 0 of both models.

    Scatter projections of the training initial conditions on the (b, J),
    (J, K) planes (visible model) and (b, W), (W, b') planes (hidden model),
    coloured by the model's exact moment (transfer matrices) on the data's
    lattice length; one colour scale. Returns the figure.
    """
    L = data.states.shape[-1]
    vis = exact_chain_moments(data.initial_theta, L)[:, 1]
    hid = hidden_chain_moments(run.hidden_initial, L)[:, 1]
    lo, hi = min(vis.min(), hid.min()), max(vis.max(), hid.max())
    fig, axes = _four_panels(ax)
    panels = [
        (data.initial_theta, vis, 0, 1, "b", "J"),
        (data.initial_theta, vis, 1, 2, "J", "K"),
        (run.hidden_initial, hid, 0, 1, "b", "W"),
        (run.hidden_initial, hid, 1, 2, "W", "b'"),
    ]
    for ax, (th, m, i, j, xi, yj) in zip(axes, panels, strict=True):
        sc = ax.scatter(
            th[:, i], th[:, j], c=m, vmin=lo, vmax=hi, cmap="viridis", s=25, edgecolor="k", lw=0.3
        )
        ax.set_xlabel(f"${xi}$")
        ax.set_ylabel(f"${yj}$")
    axes[0].set_title("visible model (37)")
    axes[2].set_title("hidden model (39)")
    fig.colorbar(sc, ax=axes, label=r"$\langle\sum_i v_i v_{i+1}\rangle$ at $t = 0$")
    return fig


def plot_hidden_correlation(
    run: ClosureRun, data: AnnihilationData, *, pair_moments=None, ax=None
) -> Figure:
    """Fig. 3(b): learned ``W(t)`` and ``b'(t)`` of the hidden model next to ``2<v_i v_{i+1}> - 1``.

    One line per training condition, coloured by the simulations' initial
    nearest-neighbour correlation per site ``2 <v_i v_{i+1}> - 1`` (mean over
    the lattices, ``L - 1`` pairs). ``pair_moments`` (n_conditions, n_times):
    the mean raw ``<sum v_i v_{i+1}>`` of ``data`` if already computed (e.g.
    ``hierarchy_moments(data.states)[..., 1]``). Returns the figure.
    """
    n_steps = data.n_times - 1
    times = np.arange(data.n_times) * run.hidden.dt
    hid = run.hidden.solve(run.hidden_initial, n_steps)
    L = data.states.shape[-1]
    if pair_moments is None:
        pair_moments = data.chain_moments(max_order=2)[..., 1]
    corr = 2 * np.asarray(pair_moments) / (L - 1) - 1
    norm = Normalize(corr[:, 0].min(), corr[:, 0].max())
    colours = plt.cm.coolwarm(norm(corr[:, 0]))
    if ax is None:
        fig, axes = plt.subplots(1, 3, figsize=(15, 3.6), layout="constrained")
    else:
        axes = _panels(ax, 3)
        fig = axes[0].figure
    for c in range(len(hid)):
        axes[0].plot(times, hid[c, :, 1], color=colours[c], lw=0.8)
        axes[1].plot(times, hid[c, :, 2], color=colours[c], lw=0.8)
        axes[2].plot(times, corr[c], color=colours[c], lw=0.8)
    for ax, lab in zip(
        axes,
        ("learned $W$", "learned $b'$", r"simulations: $2\langle v_i v_{i+1}\rangle - 1$"),
        strict=True,
    ):
        ax.set_xlabel("t")
        ax.set_title(lab)
    fig.colorbar(
        ScalarMappable(norm, "coolwarm"),
        ax=list(axes),
        label=r"line colour: $2\langle v_i v_{i+1}\rangle - 1$ at $t = 0$",
    )
    return fig


def plot_small_closure_run(r: SmallRun, *, ax=None) -> Figure:
    """Density and nearest-neighbour moment per site: simulation (dots) vs learned model (lines).

    Returns the figure.
    """
    L = r.data.states.shape[-1]
    if ax is None:
        fig, axes = plt.subplots(1, 3, figsize=(15, 3.5), layout="constrained")
    else:
        axes = _panels(ax, 3)
        fig = axes[0].figure
    for c in range(len(r.model)):
        col = f"C{c % 10}"
        for k, ax in enumerate(axes[:2]):
            ax.plot(r.times[::5], r.simulation[c, ::5, k] / (L - k), ".", color=col, ms=3)
            ax.plot(r.times, r.model[c, :, k] / (L - k), color=col, lw=1)
    axes[0].set(xlabel="t", ylabel=r"$\langle v_i\rangle$", title="density (dots: simulation)")
    axes[1].set(xlabel="t", ylabel=r"$\langle v_i v_{i+1}\rangle$", title="nearest neighbours")
    n = len(r.model)
    loss = np.convolve(r.fit.loss_history, np.ones(n) / n, mode="valid")
    axes[2].semilogy(np.arange(len(loss)) + n - 1, loss)
    err = closure_rmse(r.model, r.simulation).mean(0)
    axes[2].set(
        xlabel="step",
        ylabel="moment mismatch (mean over a sweep)",
        title=f"cell {r.ode.cell_size[0]:g}: time-mean RMSE of the sums {err[0]:.1f}, {err[1]:.1f}",
    )
    return fig


def plot_maxent_trajectories(
    times: np.ndarray, theta: np.ndarray, *, names=("b", "J", "K"), n_show: int = 12, ax=None
) -> Figure:
    """The MaxEnt parameters of simulated ensembles over time, one panel per parameter.

    ``theta`` (n_conditions, n_times, K) from
    :func:`dbmtools.closures.maxent_trajectories`; the first ``n_show``
    conditions are drawn, with the first data step marked (a jump in the
    paper's regime, where every particle hops in the first sweep).
    """
    th = np.asarray(theta)
    k = th.shape[-1]
    if ax is None:
        fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 3.3), layout="constrained")
    else:
        axes = _panels(ax, k)
        fig = axes[0].figure
    for j, a in enumerate(np.atleast_1d(axes)):
        for c in range(min(n_show, th.shape[0])):
            a.plot(times, th[c, :, j], lw=0.9)
        a.axvline(times[1], color="k", lw=0.6, ls=":")
        a.set(
            xlabel="t (linear up to the first step, logarithmic after)",
            ylabel=f"${names[j]}$",
            title=f"MaxEnt ${names[j]}$ of the ensembles",
        )
        a.set_xscale("symlog", linthresh=times[1])
        a.set_xlim(0, times[-1])
    return fig


def plot_closure_density(
    times: np.ndarray, models: dict, *, simulation=None, exact=None, ax=None
) -> Figure:
    """Density over time of closures (``models``: name -> density), simulation and truth.

    Log-log axes; ``simulation`` is drawn as dots, ``exact`` as a thick grey
    line. Returns the figure.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    else:
        fig = ax.figure
    t = np.asarray(times)
    keep = t > 0
    if exact is not None:
        ax.plot(t[keep], np.asarray(exact)[keep], color="0.6", lw=4, alpha=0.6, label="exact")
    if simulation is not None:
        ax.plot(t[keep], np.asarray(simulation)[keep], "k.", label="simulation")
    for name, rho in models.items():
        ax.plot(t[keep], np.asarray(rho)[keep], label=name)
    ax.set(xscale="log", yscale="log", xlabel="t", ylabel=r"density $\rho$")
    ax.legend(fontsize=8)
    return fig

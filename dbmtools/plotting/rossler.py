"""Figures of the Rössler experiment (notebook 06, the paper's Figs. 4, 6, 7 and 8).

Every function takes arrays the notebook computed (simulated moments, learned
parameters, sampled lattices) and draws them; none simulates, trains or samples.
Species are drawn in the colours of :data:`SPECIES_COLORS` (A pink, B orange, C cyan).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..hermite import HermiteGrid
from .hermite import plot_hermite_slice
from .lattice import plot_lattice_3d, plot_lattice_image, plot_mean_band
from .style import SPECIES_COLORS, new_axes, new_panels, panels

__all__ = [
    "plot_attractor",
    "plot_rossler_coarse_graining",
    "plot_rossler_ensemble",
    "plot_rossler_moments",
    "plot_rossler_rhs",
    "plot_rossler_rhs_slice",
    "plot_rossler_simulation",
    "plot_rossler_snapshot",
    "plot_rossler_trajectory",
    "plot_window_loss",
]

_SPECIES = ("A", "B", "C")
_COLORS = SPECIES_COLORS[1:4]


def plot_attractor(
    counts: np.ndarray, *, ax=None, label: str | None = None, **line_kwargs
) -> Figure:
    """A trajectory of three numbers as a curve in 3D, its start marked with a dot.

    ``counts`` has shape (n_times, 3) (counts of A, B, C, or three parameters);
    ``ax`` must be a 3D axes (a new figure is made when it is None). Returns the figure.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != 3:
        raise ValueError(f"`counts` must have shape (n_times, 3); got {counts.shape}.")
    fig, ax = new_axes(ax, figsize=(4, 4), projection="3d")
    (line,) = ax.plot(*counts.T, lw=0.8, label=label, **line_kwargs)
    ax.scatter(*counts[0], color=line.get_color(), s=25, marker="o", depthshade=False)
    ax.set_xlabel("A")
    ax.set_ylabel("B")
    ax.set_zlabel("C")
    return fig


def _figure_3d(ax, n: int, layout: list, figsize) -> list:
    """The ``n`` Axes given as ``ax``, or new ones: ``layout`` lists (nrows, ncols, index, 3d)."""
    if ax is not None:
        return panels(ax, n)
    fig = plt.figure(figsize=figsize, layout="constrained")
    return [
        fig.add_subplot(r, c, i, projection="3d" if three_d else None)
        for r, c, i, three_d in layout
    ]


def plot_rossler_simulation(
    states: np.ndarray,
    moments: np.ndarray,
    times: np.ndarray,
    mean_field: np.ndarray,
    *,
    steps: Sequence[int] = (0, 20, 60, 200),
    plane: int | None = None,
    ax=None,
) -> Figure:
    """Fig. 4: snapshots of one simulation, its attractor and pairs, the ensemble means.

    The snapshots (a) show one plane ``z = plane`` of the lattice as an image
    (a 3D scatter of 600 particles hides most of them behind each other).

    Parameters
    ----------
    states : ndarray of int8, shape (n_times, nx, ny, nz)
        One simulation.
    moments : ndarray, shape (n_sims, n_times, 6)
        Counts of A, B, C and pairs BB, CC, AB of every simulation; simulation
        0 is ``states``.
    times : ndarray, shape (n_times,)
    mean_field : ndarray, shape (n_times, 3)
        The mean-field ODE, drawn dashed.
    steps : four ints
        Time indices of the snapshots (a).
    plane : int, optional
        The ``z`` index of the plane shown in (a); the middle one by default.
    ax : seven Axes, optional
        Four 2D snapshots, two 3D attractors and one 2D panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    layout = [(2, 4, k + 1, False) for k in range(len(steps))]
    layout += [(2, 3, 4, True), (2, 3, 5, True), (2, 3, 6, False)]
    axes = _figure_3d(ax, len(steps) + 3, layout, (12, 8.2))
    fig = axes[0].figure
    z = states.shape[-1] // 2 if plane is None else int(plane)
    for col, step in enumerate(steps):
        plot_lattice_image(
            states[step][:, :, z],
            3,
            ax=axes[col],
            title=f"(a) t = {times[step]:.1f}, plane z = {z}",
            species=list(_SPECIES) if col == 0 else None,
        )
    a = axes[len(steps)]
    plot_attractor(moments[0, :, :3], ax=a, color="k")
    a.set_title("(b) one simulation")
    a = axes[len(steps) + 1]
    plot_attractor(moments[0, :, 3:], ax=a, color="0.3")
    a.set(xlabel="BB", ylabel="CC", zlabel="AB", title="(c) its neighbour pairs")
    a = axes[-1]
    for k, name in enumerate(_SPECIES):
        plot_mean_band(times, moments[:, :, k], ax=a, label=name, color=_COLORS[k])
        a.plot(times, mean_field[:, k], "--", color=_COLORS[k], lw=0.8)
    a.plot([], [], "--", color="0.4", lw=0.8, label="mean field")
    a.set(
        xlabel="t",
        ylabel="mean count",
        ylim=(0, 1000),
        title=f"(d) means of {moments.shape[0]} simulations",
    )
    a.legend(fontsize="small")
    for a in axes[len(steps) : -1]:
        a.set_box_aspect(None, zoom=0.85)  # room for the axis labels
    return fig


def plot_rossler_snapshot(
    states: np.ndarray, counts: np.ndarray, times: np.ndarray, step: int, *, ax=None
) -> Figure:
    """One lattice of a simulation beside its counts, the time of the lattice marked.

    ``states`` (n_times, nx, ny, nz) and ``counts`` (n_times, >= 3) of one
    simulation. ``ax``: a 3D Axes and a 2D Axes. Returns the figure.
    """
    if ax is None:
        fig = plt.figure(figsize=(10, 4), layout="constrained")
        a3 = fig.add_subplot(1, 2, 1, projection="3d")
        a2 = fig.add_subplot(1, 2, 2)
    else:
        a3, a2 = panels(ax, 2)
        fig = a3.figure
    plot_lattice_3d(
        states[step], 3, ax=a3, size=6, species=list(_SPECIES), title=f"t = {times[step]:.2f}"
    )
    for k, name in enumerate(_SPECIES):
        a2.plot(times, counts[:, k], color=_COLORS[k], label=name)
        a2.plot(times[step], counts[step, k], "o", color=_COLORS[k])
    a2.set(xlabel="t", ylabel="count")
    a2.legend()
    return fig


def plot_rossler_ensemble(
    times: np.ndarray, counts: np.ndarray, mean_field: np.ndarray, *, ax=None
) -> Figure:
    """Mean counts of an ensemble (±2 SE) with the mean-field ODE, and one simulation.

    ``counts`` (n_sims, n_times, 3), ``mean_field`` (n_times, 3). ``ax``: two
    Axes. Returns the figure.
    """
    fig, (a0, a1) = new_panels(ax, 2, figsize=(10, 3.6), layout="constrained")
    for k, name in enumerate(_SPECIES):
        plot_mean_band(times, counts[:, :, k], ax=a0, label=name, color=_COLORS[k])
        a0.plot(times, mean_field[:, k], "--", color=_COLORS[k], lw=0.8)
        a1.plot(times, counts[0, :, k], color=_COLORS[k])
    a0.set(
        xlabel="t",
        ylabel="count",
        ylim=(0, 1000),
        title=f"{counts.shape[0]} simulations; mean field --",
    )
    a1.set(xlabel="t", ylim=(0, 1000), title="one simulation")
    a0.legend()
    return fig


def plot_rossler_trajectory(
    times: np.ndarray,
    mean_counts: np.ndarray,
    maxent_biases: np.ndarray,
    learned: np.ndarray,
    vertices: np.ndarray,
    *,
    n_cells: int,
    horizon_time: float,
    ax=None,
) -> Figure:
    """Fig. 6: mean counts, their MaxEnt biases, the learned biases, the cells visited.

    Parameters
    ----------
    times : ndarray, shape (n,)
    mean_counts : ndarray, shape (n, 3)
        Mean counts of A, B, C over the simulations, panel (a).
    maxent_biases : ndarray, shape (n, 3)
        The biases of the weight-free model (46) with those counts, panel (b).
    learned : ndarray, shape (m, >= 3)
        The learned parameters over the trained horizon; ``(b_A, b_B, b_C)``
        drawn, panel (c).
    vertices : ndarray, shape (n_vertices, 3)
        Vertices of the finite-element cells the learned trajectory visits, panel (d).
    n_cells : int
        How many cells those are (for the title).
    horizon_time : float
        End of the trained horizon (for the title of (c)).
    ax : four Axes, optional
        One 2D Axes and three 3D Axes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    layout = [(1, 4, 1, False), (1, 4, 2, True), (1, 4, 3, True), (1, 4, 4, True)]
    a0, a1, a2, a3 = _figure_3d(ax, 4, layout, (13, 3.6))
    fig = a0.figure
    for k, name in enumerate(_SPECIES):
        a0.plot(times, mean_counts[:, k], color=_COLORS[k], label=name)
    a0.set(xlabel="t", ylabel="mean count", title="(a) simulations")
    a0.legend()
    biases = {"xlabel": "$b_A$", "ylabel": "$b_B$", "zlabel": "$b_C$"}
    plot_attractor(maxent_biases, ax=a1, color="tab:purple")
    a1.set(**biases, title="(b) MaxEnt biases (46)")
    plot_attractor(np.asarray(learned)[:, :3], ax=a2, color="k")
    a2.set(**biases, title=f"(c) learned, t ≤ {horizon_time:g}")
    a3.scatter(*np.asarray(vertices).T, s=4, color="tab:blue", depthshade=False)
    a3.set(**biases, title=f"(d) {len(vertices)} vertices of {n_cells} cells")
    for a in (a1, a2, a3):
        a.set_box_aspect(None, zoom=0.8)  # room for the z labels
    return fig


def plot_rossler_rhs(
    times: np.ndarray,
    rhs: np.ndarray,
    *,
    labels: Sequence[str],
    horizon_time: float,
    ax=None,
) -> Figure:
    """Fig. 7: the nine learned right-hand sides along the learned trajectory.

    ``rhs`` (n_times, 9) holds ``F_gamma(theta(t))`` in the order of
    ``labels`` (TeX names: three visible biases, three weights, three hidden
    biases), one panel a group. ``ax``: three Axes. Returns the figure.
    """
    fig, axes = new_panels(ax, 3, figsize=(12, 3.2), layout="constrained", sharex=True)
    titles = ("visible biases", "weights", "hidden biases")
    for group, (a, title) in enumerate(zip(axes, titles, strict=True)):
        for k in range(3 * group, 3 * group + 3):
            a.plot(times, rhs[:, k], label=f"$F_{{{labels[k]}}}$", color=_COLORS[k % 3])
        a.axvline(horizon_time, color="k", lw=0.5, ls=":")
        a.set(xlabel="t", title=f"{title} (dotted: trained horizon)")
        a.legend(fontsize="small")
    axes[0].set_ylabel("$F_\\gamma(\\theta(t))$")
    return fig


def plot_rossler_rhs_slice(
    grid: HermiteGrid, trajectory: np.ndarray, *, value: float, label: str, ax=None
) -> Figure:
    """One learned ``F`` on the plane ``b_C = value``, with the learned trajectory projected.

    ``grid`` is ``ode.grid(k)`` (a 3D grid over ``(b_A, b_B, b_C)``);
    ``trajectory`` (n, >= 2) the learned ``(b_A, b_B, ...)``; ``label`` the
    TeX name of the parameter. Returns the figure.
    """
    fig = plot_hermite_slice(grid, axis=2, value=value, labels=["$b_A$", "$b_B$", "$b_C$"], ax=ax)
    fig.axes[0].plot(*np.asarray(trajectory)[:, :2].T, color="k", lw=0.8)
    fig.suptitle(f"$F_{{{label}}}$ (learned trajectory projected in black)")
    return fig


def plot_rossler_moments(
    times: np.ndarray,
    moments: np.ndarray,
    model_times: np.ndarray,
    model_moments: np.ndarray,
    *,
    names: Sequence[str],
    horizon_time: float,
    reference: np.ndarray | None = None,
    reference_label: str = "mean field",
    ax=None,
) -> Figure:
    """Fig. 8: means (±2 SE) of the simulations and of samples of the learned model.

    Parameters
    ----------
    times : ndarray, shape (n_times,)
    moments : ndarray, shape (n_sims, n_times, 6)
        Counts A, B, C and pairs of the simulations.
    model_times : ndarray, shape (n_model,)
    model_moments : ndarray, shape (n_model, n_samples, 6)
        The same moments of samples of the learned model.
    names : six str
        Panel titles.
    horizon_time : float
        End of the trained horizon (shaded).
    reference : ndarray, shape (n_times, 6), optional
        A deterministic prediction at ``times`` (e.g. the mean-field ODE with
        random-mixing pairs), drawn dashed; panels keep the simulations' scale.
    reference_label : str
    ax : six Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_panels(ax, 6, nrows=2, figsize=(12, 6), layout="constrained", sharex=True)
    axes = np.array(axes, dtype=object).reshape(2, 3)
    for k, a in enumerate(axes.ravel()):
        plot_mean_band(times, moments[:, :, k], ax=a, label="simulations", color="k")
        plot_mean_band(
            model_times, model_moments[:, :, k].T, ax=a, label="learned model", color="tab:red"
        )
        if reference is not None:
            top = 1.3 * max(moments[:, :, k].mean(0).max(), model_moments[:, :, k].mean(1).max())
            a.plot(times, reference[:, k], "--", color="tab:blue", lw=1, label=reference_label)
            a.set_ylim(0, top)
        a.axvspan(0, horizon_time, color="0.92", zorder=-1)
        a.set(title=names[k], xlabel="t" if k >= 3 else None)
    axes[0, 0].set_ylabel("mean count")
    axes[1, 0].set_ylabel("mean number of pairs")
    axes[0, 0].legend()
    return fig


def plot_rossler_coarse_graining(visible: np.ndarray, hidden: np.ndarray, *, ax=None) -> Figure:
    """Fig. 8(b): a plane of a sampled lattice and the hidden probabilities above it.

    ``visible`` (nx, ny): the plane ``z = 0`` of a sample; ``hidden`` (nx, ny,
    4): ``p(h = empty, X, Y, Z | V)`` of the units whose cubes start in that
    plane, each drawn at its cube's centre, half a site from the sites.
    ``ax``: four Axes. Returns the figure.
    """
    fig, axes = new_panels(ax, 4, figsize=(12, 3.2), layout="constrained")
    n0, n1 = np.shape(visible)
    plot_lattice_image(visible, 3, ax=axes[0], title="sampled V, z = 0 (A pink, B orange, C cyan)")
    for s, a in enumerate(axes[1:]):
        im = a.imshow(
            hidden[:, :, s + 1], vmin=0, vmax=1, cmap="viridis", extent=(0, n1, n0, 0)
        )  # unit (x, y) at the centre of sites x..x+1, y..y+1
        a.set(
            xlim=(-0.5, n1), ylim=(n0, -0.5), xticks=[], yticks=[], title=f"p(h = {'XYZ'[s]} | V)"
        )
    fig.colorbar(im, ax=list(axes[1:]), shrink=0.8)
    return fig


def plot_window_loss(
    loss_history: np.ndarray,
    tau_history: np.ndarray,
    *,
    dt: float,
    floor: np.ndarray | None = None,
    ax=None,
) -> Figure:
    """Algorithm 1's moment mismatch per window: its first and last tenth of steps, and a floor.

    For each window start ``tau`` (eq. 41) the mean loss over the first and
    the last tenth of the steps spent at that window: where the second lies
    below the first, the steps at that window reduced the mismatch. The level
    itself is set by sampling noise (one simulation against one chain at batch
    1), so ``floor`` (e.g. the mismatch of a model whose means are right, per
    window) shows what no training can go below.

    Parameters
    ----------
    loss_history, tau_history : ndarray, shape (n_iter,)
        From :class:`dbmtools.dynamics.TrainResult`.
    dt : float
        Data timestep (the x axis is the window's start time ``tau * dt``).
    floor : ndarray, shape (n_windows,), optional
        One value per distinct ``tau``, in increasing order of ``tau``.
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    loss = np.asarray(loss_history, dtype=np.float64)
    taus = np.asarray(tau_history)
    if loss.shape != taus.shape or loss.ndim != 1:
        raise ValueError(
            f"`loss_history` and `tau_history` must be 1D of one length; got {loss.shape} "
            f"and {taus.shape}."
        )
    fig, ax = new_axes(ax, figsize=(7, 3.4))
    starts = np.unique(taus)
    first = np.empty(starts.size)
    last = np.empty(starts.size)
    for k, tau in enumerate(starts):
        at = loss[taus == tau]
        n = max(1, at.size // 10)
        first[k], last[k] = at[:n].mean(), at[-n:].mean()
    ax.plot(starts * dt, first, color="0.6", lw=1, label="first tenth of the window's steps")
    ax.plot(starts * dt, last, color="k", lw=1, label="last tenth")
    if floor is not None:
        ax.plot(
            starts * dt,
            np.asarray(floor),
            "--",
            color="tab:blue",
            lw=1,
            label="floor: model with the right means",
        )
    ax.set(xlabel="window start τ Δt", ylabel="RMS moment mismatch", yscale="log")
    ax.legend(fontsize="small")
    return fig

"""Figures of lattice states, trajectories and ensemble means (notebooks 01 and 05)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from .. import theory
from ..trajectory import Ensemble, Trajectory
from .style import SPECIES_COLORS, new_axes, species_cmap

__all__ = [
    "plot_annihilation_decay",
    "plot_density_band",
    "plot_kymograph",
    "plot_lattice_3d",
    "plot_lattice_image",
    "plot_mean_band",
    "plot_species_excess",
]


def plot_kymograph(traj: Trajectory, *, ax=None, max_sites: int | None = None) -> Figure:
    """Space-time picture of a 1D trajectory: site across, time down, with a colour key.

    Parameters
    ----------
    traj : Trajectory
        A 1D trajectory.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    max_sites : int, optional
        Show only the first ``max_sites`` sites.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if traj.dim != 1:
        raise ValueError(f"A kymograph needs a 1D trajectory; this one is {traj.dim}D.")
    fig, ax = new_axes(ax, figsize=(8, 4))
    states = traj.states[:, :max_sites]
    m = traj.network.n_species
    ax.imshow(
        states,
        aspect="auto",
        interpolation="nearest",
        cmap=species_cmap(m),
        vmin=-0.5,
        vmax=m + 0.5,
        extent=(-0.5, states.shape[1] - 0.5, traj.times[-1], traj.times[0]),
    )
    ax.set_xlabel("site $i$")
    ax.set_ylabel("time $t$")
    cmap = species_cmap(m)
    key = [
        plt.Rectangle((0, 0), 1, 1, facecolor=cmap(code), edgecolor="0.5") for code in range(m + 1)
    ]
    ax.legend(
        key,
        ["empty", *traj.network.species],
        loc="lower right",
        ncol=m + 1,
        fontsize="small",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        borderaxespad=0.1,
    )
    return fig


def plot_lattice_image(
    state: np.ndarray,
    n_species: int,
    *,
    ax=None,
    species: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """A 2D lattice state as an image, one colour a species (empty light grey).

    ``species`` (names) adds a key. Returns the figure.
    """
    state = np.asarray(state)
    if state.ndim != 2:
        raise ValueError(f"`state` must be a 2D lattice; got shape {state.shape}.")
    fig, ax = new_axes(ax, figsize=(4, 4))
    ax.imshow(
        state,
        interpolation="nearest",
        cmap=species_cmap(n_species),
        vmin=-0.5,
        vmax=n_species + 0.5,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("site $x$")
    ax.set_ylabel("site $y$")
    if title:
        ax.set_title(title)
    if species:
        handles = [
            plt.Rectangle((0, 0), 1, 1, color=species_cmap(n_species)(k + 1))
            for k in range(len(species))
        ]
        ax.legend(handles, species, loc="upper right", fontsize="small", framealpha=0.9)
    return fig


def plot_density_band(
    ens: Ensemble,
    *,
    ax=None,
    species: int = 1,
    label: str | None = None,
    skip_first: bool = False,
    **line_kwargs,
) -> Figure:
    """Mean density of one species over an ensemble, with a ±2 SE band.

    ``skip_first`` drops ``t = 0`` (for log axes). Returns the figure.
    """
    n_sites = int(np.prod(ens.shape))
    rho = ens.counts()[..., species - 1] / n_sites
    start = 1 if skip_first else 0
    return plot_mean_band(ens.times[start:], rho[:, start:], ax=ax, label=label, **line_kwargs)


def plot_mean_band(
    times: np.ndarray,
    samples: np.ndarray,
    *,
    ax=None,
    label: str | None = None,
    **line_kwargs,
) -> Figure:
    """Mean over samples (axis 0 of ``samples``, shape (n, n_times)) with a ±2 SE band.

    One sample draws the line alone. Returns the figure.
    """
    fig, ax = new_axes(ax, figsize=(6, 4))
    samples = np.asarray(samples, dtype=np.float64)
    if samples.shape[0] > 1:
        mean, sem = theory.mean_and_sem(samples)
    else:
        mean, sem = samples[0], np.zeros(samples.shape[1:])
    (line,) = ax.plot(times, mean, label=label, **line_kwargs)
    ax.fill_between(times, mean - 2 * sem, mean + 2 * sem, color=line.get_color(), alpha=0.25, lw=0)
    return fig


def plot_annihilation_decay(ens: Ensemble, *, prob: float, hop_rate: float, ax=None) -> Figure:
    """Density of 1D ``A + A -> 0`` against the exact ``p = 1`` curve and the reaction-limited law.

    Parameters
    ----------
    ens : Ensemble
        A 1D ensemble started from half-filled lattices (e.g. from
        :func:`dbmtools.widgets.simulate_annihilation_decay`).
    prob : float
        The collision probability ``p`` it was simulated with.
    hop_rate : float
        The hop rate per neighbour ``nu`` (:func:`dbmtools.hop_rate`).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    n_sites = int(np.prod(ens.shape))
    fig, ax = new_axes(ax, figsize=(6, 4))
    plot_density_band(ens, ax=ax, label=f"simulation, p = {prob:.3g}", skip_first=True, color="k")
    t = ens.times[1:]
    ax.plot(t, theory.annihilation_density_exact(t, hop_rate), "--", label="exact, p = 1")
    rho0 = ens.counts()[:, 0, 0].mean() / n_sites
    ax.plot(
        t,
        theory.annihilation_density_reaction_limited(t, hop_rate, prob, rho0),
        ":",
        label="reaction-limited law",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time $t$")
    ax.set_ylabel(r"density $\rho(t)$")
    ax.set_title(f"L = {n_sites}, hop rate ν = {hop_rate:.3g} per neighbour")
    ax.legend(fontsize="small")
    return fig


def plot_lattice_3d(
    state: np.ndarray,
    n_species: int,
    *,
    ax=None,
    species: Sequence[str] | None = None,
    title: str | None = None,
    size: float = 18.0,
) -> Figure:
    """A 3D lattice state as a scatter of particles, one colour a species.

    ``ax`` must be a 3D axes (``fig.add_subplot(projection="3d")``); a new
    figure is made when it is None. Returns the figure.
    """
    state = np.asarray(state)
    if state.ndim != 3:
        raise ValueError(f"`state` must be a 3D lattice; got shape {state.shape}.")
    fig, ax = new_axes(ax, figsize=(4, 4), projection="3d")
    cmap = species_cmap(n_species)
    for code in range(1, n_species + 1):
        x, y, z = np.nonzero(state == code)
        label = species[code - 1] if species else None
        ax.scatter(x, y, z, s=size, color=cmap(code), depthshade=False, label=label)
    for setter, extent in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), state.shape, strict=True):
        setter(-0.5, extent - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    if title:
        ax.set_title(title)
    if species:
        ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_species_excess(
    state: np.ndarray,
    block: int,
    *,
    ax=None,
    title: str | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
) -> Figure:
    """Excess of species 1 over species 2 in ``block x block`` tiles of a 2D state.

    Coloured from species 2's colour (more of species 2) through white to
    species 1's colour, symmetric about zero.

    Parameters
    ----------
    state : ndarray of int, shape (n0, n1)
        A 2D lattice whose sides are multiples of ``block``.
    block : int
        Side of the tiles.
    ax : matplotlib Axes, optional
    title : str, optional
    vmax : float, optional
        The colour scale runs from ``-vmax`` to ``vmax``; the largest absolute
        excess of this state when None. Pass one value to several panels to
        draw them on one scale.
    colorbar : bool
        Draw a colour bar (leave it off to add one bar for several panels,
        from ``ax.images[0]``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    state = np.asarray(state)
    if state.ndim != 2 or state.shape[0] % block or state.shape[1] % block:
        raise ValueError(
            f"`state` must be 2D with sides divisible by `block`={block}; got {state.shape}."
        )
    fig, ax = new_axes(ax, figsize=(4, 4))
    n0, n1 = state.shape[0] // block, state.shape[1] // block
    diff = (state == 1).astype(np.int64) - (state == 2)
    excess = diff.reshape(n0, block, n1, block).sum(axis=(1, 3))
    if vmax is None:
        vmax = max(1, int(np.abs(excess).max()))
    cmap = LinearSegmentedColormap.from_list(
        "excess", [SPECIES_COLORS[2], "#ffffff", SPECIES_COLORS[1]]
    )
    image = ax.imshow(excess, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    if colorbar:
        fig.colorbar(image, ax=ax, shrink=0.8, label="excess of species 1 over 2 per block")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"block $x$ ({block} sites)")
    ax.set_ylabel(f"block $y$ ({block} sites)")
    if title:
        ax.set_title(title)
    return fig

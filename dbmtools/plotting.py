"""Figures used across the notebooks (Matplotlib).

Functions take an optional ``ax`` and return it, so notebooks can compose
panels; computation stays in the other modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap

from . import theory
from .lattice import random_state
from .reactions import annihilation
from .simulate import hop_rate, simulate_ensemble
from .trajectory import Ensemble, Trajectory

__all__ = [
    "SPECIES_COLORS",
    "species_cmap",
    "kymograph",
    "lattice_image",
    "density_band",
    "mean_band",
    "attractor",
    "annihilation_decay",
    "lattice_3d",
    "species_excess",
    "glue_figure",
]

#: Empty site, then species 1, 2, 3, ... (the paper's Fig. 4 uses pink, orange, cyan).
SPECIES_COLORS = ["#f4f4f4", "#e7298a", "#ff9f1c", "#1fb5c9", "#6a3d9a", "#33a02c", "#1f3b73"]


def species_cmap(n_species: int) -> ListedColormap:
    """A categorical colour map: code 0 (empty) light grey, then one colour a species."""
    if n_species + 1 > len(SPECIES_COLORS):
        colors = plt.get_cmap("tab20")(np.linspace(0, 1, n_species))
        return ListedColormap([SPECIES_COLORS[0], *colors])
    return ListedColormap(SPECIES_COLORS[: n_species + 1])


def kymograph(traj: Trajectory, ax: plt.Axes | None = None, *, max_sites: int | None = None):
    """Space-time picture of a 1D trajectory: site across, time down.

    Parameters
    ----------
    traj : Trajectory
        A 1D trajectory.
    ax : matplotlib Axes, optional
    max_sites : int, optional
        Show only the first ``max_sites`` sites.
    """
    if traj.dim != 1:
        raise ValueError(f"A kymograph needs a 1D trajectory; this one is {traj.dim}D.")
    ax = ax or plt.gca()
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
    return ax


def lattice_image(
    state: np.ndarray,
    n_species: int,
    ax: plt.Axes | None = None,
    *,
    species: Sequence[str] | None = None,
    title: str | None = None,
):
    """A 2D lattice state as an image, one colour a species (empty light grey)."""
    state = np.asarray(state)
    if state.ndim != 2:
        raise ValueError(f"`state` must be a 2D lattice; got shape {state.shape}.")
    ax = ax or plt.gca()
    ax.imshow(
        state,
        interpolation="nearest",
        cmap=species_cmap(n_species),
        vmin=-0.5,
        vmax=n_species + 0.5,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    if species:
        handles = [
            plt.Rectangle((0, 0), 1, 1, color=species_cmap(n_species)(k + 1))
            for k in range(len(species))
        ]
        ax.legend(handles, species, loc="upper right", fontsize="small", framealpha=0.9)
    return ax


def density_band(
    ens: Ensemble,
    ax: plt.Axes | None = None,
    *,
    species: int = 1,
    label: str | None = None,
    skip_first: bool = False,
    **line_kwargs,
):
    """Mean density of one species over an ensemble, with a ±2 SE band.

    ``skip_first`` drops ``t = 0`` (for log axes).
    """
    n_sites = int(np.prod(ens.shape))
    rho = ens.counts()[..., species - 1] / n_sites
    start = 1 if skip_first else 0
    return mean_band(ens.times[start:], rho[:, start:], ax, label=label, **line_kwargs)


def mean_band(
    times: np.ndarray,
    samples: np.ndarray,
    ax: plt.Axes | None = None,
    *,
    label: str | None = None,
    **line_kwargs,
):
    """Mean over samples (axis 0 of ``samples``, shape (n, n_times)) with a ±2 SE band.

    One sample draws the line alone.
    """
    ax = ax or plt.gca()
    samples = np.asarray(samples, dtype=np.float64)
    if samples.shape[0] > 1:
        mean, sem = theory.mean_and_sem(samples)
    else:
        mean, sem = samples[0], np.zeros(samples.shape[1:])
    (line,) = ax.plot(times, mean, label=label, **line_kwargs)
    ax.fill_between(times, mean - 2 * sem, mean + 2 * sem, color=line.get_color(), alpha=0.25,
                    lw=0)
    return ax


def attractor(counts: np.ndarray, ax=None, *, label: str | None = None, **line_kwargs):
    """A trajectory of three counts as a curve in (A, B, C) space, its start marked.

    ``counts`` has shape (n_times, 3); ``ax`` must be a 3D axes (a new figure
    is made when it is None).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != 3:
        raise ValueError(f"`counts` must have shape (n_times, 3); got {counts.shape}.")
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot(projection="3d")
    (line,) = ax.plot(*counts.T, lw=0.8, label=label, **line_kwargs)
    ax.scatter(*counts[0], color=line.get_color(), s=25, marker="o", depthshade=False)
    ax.set_xlabel("A")
    ax.set_ylabel("B")
    ax.set_zlabel("C")
    return ax


def annihilation_decay(
    prob: float = 0.01,
    hop_prob: float = 1.0,
    length: int = 1000,
    *,
    n_samples: int = 20,
    n_steps: int = 200,
    dt: float = 0.01,
    seed: int = 0,
    ax: plt.Axes | None = None,
):
    """Simulate 1D ``A + A -> 0`` from half-filled lattices and plot the density
    against the exact ``p = 1`` curve and the reaction-limited law.

    The slider view of notebook 01: every argument is a slider.
    """
    states = np.stack(
        [random_state(length, densities=[0.5], seed=seed + k) for k in range(n_samples)]
    )
    ens = simulate_ensemble(
        states,
        annihilation(prob),
        n_steps=n_steps,
        dt=dt,
        hop_prob=hop_prob,
        seed=seed,
        boundary="periodic",
        progress=False,
    )
    nu = hop_rate(dt, 1, hop_prob)
    ax = ax or plt.figure(figsize=(6, 4)).gca()
    density_band(ens, ax, label=f"simulation, p = {prob:.3g}", skip_first=True, color="k")
    t = ens.times[1:]
    ax.plot(t, theory.annihilation_density_exact(t, nu), "--", label="exact, p = 1")
    rho0 = ens.counts()[:, 0, 0].mean() / length
    ax.plot(
        t,
        theory.annihilation_density_reaction_limited(t, nu, prob, rho0),
        ":",
        label="reaction-limited law",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time $t$")
    ax.set_ylabel(r"density $\rho(t)$")
    ax.set_title(f"L = {length}, hop rate ν = {nu:.3g} per neighbour")
    ax.legend(fontsize="small")
    return ax


def lattice_3d(
    state: np.ndarray,
    n_species: int,
    ax=None,
    *,
    species: Sequence[str] | None = None,
    title: str | None = None,
    size: float = 18.0,
):
    """A 3D lattice state as a scatter of particles, one colour a species.

    ``ax`` must be a 3D axes (``fig.add_subplot(projection="3d")``); a new
    figure is made when it is None.
    """
    state = np.asarray(state)
    if state.ndim != 3:
        raise ValueError(f"`state` must be a 3D lattice; got shape {state.shape}.")
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot(projection="3d")
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
    return ax


def species_excess(
    state: np.ndarray, block: int, ax: plt.Axes | None = None, *, title: str | None = None
):
    """Excess of species 1 over species 2 in ``block x block`` tiles of a 2D state.

    Coloured from species 2's colour (more of species 2) through white to
    species 1's colour, symmetric about zero, with a colour bar.
    """
    state = np.asarray(state)
    if state.ndim != 2 or state.shape[0] % block or state.shape[1] % block:
        raise ValueError(
            f"`state` must be 2D with sides divisible by `block`={block}; got {state.shape}."
        )
    ax = ax or plt.gca()
    n0, n1 = state.shape[0] // block, state.shape[1] // block
    diff = (state == 1).astype(np.int64) - (state == 2)
    excess = diff.reshape(n0, block, n1, block).sum(axis=(1, 3))
    vmax = max(1, int(np.abs(excess).max()))
    cmap = LinearSegmentedColormap.from_list(
        "excess", [SPECIES_COLORS[2], "#ffffff", SPECIES_COLORS[1]]
    )
    image = ax.imshow(excess, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def glue_figure(key: str, fig=None) -> None:
    """Store a figure under ``key`` for the book's intro page, without showing it again.

    Uses MyST-NB's ``glue`` with ``display=False``: in the book, another page
    pastes it with ``{glue:figure}`` and the ``:doc:`` option. Where MyST-NB
    is not installed (a plain JupyterLab or Colab session) it does nothing.
    ``fig`` defaults to the current figure.
    """
    try:
        from myst_nb import glue
    except ImportError:
        return
    glue(key, plt.gcf() if fig is None else fig, display=False)

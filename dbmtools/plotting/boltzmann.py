"""Figures of Boltzmann machines on lattices (notebook 03): samples, chains and fits.

They draw what :mod:`dbmtools.ising` and :mod:`dbmtools.rbm` computed; the
only work done here is counting chains in given lattices and the hidden
units' conditional probabilities (a closed form).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..observables import chain_moments
from ..rbm import FitResult, hidden_model_1d, hidden_probabilities
from .style import SPECIES_COLORS, new_panels, species_cmap

__all__ = [
    "plot_hidden_1d",
    "plot_ising_samples",
    "plot_rbm_fits",
    "plot_short_chain_bias",
]


def plot_ising_samples(
    samples: np.ndarray,
    exact: np.ndarray,
    *,
    boundary: str = "periodic",
    title: str | None = None,
    n_show: int = 30,
    ax=None,
) -> Figure:
    """Sampled lattices of the 1D gas beside their chain moments and the exact ones.

    Left: ``n_show`` sampled lattices as rows, particles in the species colour
    (pink, as in the lattice figures of notebook 01) on light grey, with a key.
    Right: the sampled chain moments per site (orders 1 to 4, with error bars of
    two standard errors over the independent chains) and the exact values.

    Parameters
    ----------
    samples : ndarray of int, shape (n_chains, n_sites)
        Independent lattices (:func:`dbmtools.ising.sample`).
    exact : ndarray, shape (4,)
        Exact chain moments per site (:func:`dbmtools.ising.exact_moments_per_site`
        for the same ring or open chain).
    boundary : {"periodic", "reflecting"}
        How the chains in ``samples`` are counted.
    title : str, optional
        Title of the left panel (e.g. the couplings).
    n_show : int
        Lattices drawn.
    ax : two Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    v = np.asarray(samples)
    n_chains, n_sites = v.shape
    m = chain_moments(v, max_order=4, boundary=boundary) / n_sites
    mean, se = m.mean(axis=0), m.std(axis=0, ddof=1) / np.sqrt(n_chains)
    fig, (ax0, ax1) = new_panels(ax, 2, figsize=(10, 3.2), width_ratios=[2, 1])
    cmap = species_cmap(1)
    ax0.imshow(v[:n_show], cmap=cmap, aspect="auto", interpolation="nearest", vmin=-0.5, vmax=1.5)
    ax0.set(xlabel="site i", ylabel="sample")
    if title:
        ax0.set_title(title, loc="left")
    key = [plt.Rectangle((0, 0), 1, 1, facecolor=cmap(k), edgecolor="0.5") for k in (1, 0)]
    ax0.legend(
        key,
        ["particle ($v_i = 1$)", "empty"],
        loc="lower right",
        ncol=2,
        fontsize=8,
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        borderaxespad=0.1,
    )
    order = np.arange(1, 5)
    ax1.errorbar(order, mean, yerr=2 * se, fmt="o", label="Gibbs samples (±2 SE)")
    ax1.plot(order, exact, "kx", ms=9, label="transfer matrix")
    ax1.set(
        xticks=order,
        xlabel="chain length k",
        ylabel="moment per site",
        ylim=(0, 1),
        title="$\\langle\\,\\Sigma_i\\, v_i \\cdots v_{i+k-1} \\rangle / L$",
    )
    ax1.legend(fontsize=8)
    if ax is None:
        fig.tight_layout()
    return fig


def plot_short_chain_bias(result: dict, *, ax=None) -> Figure:
    """Plot :func:`dbmtools.ising.short_chain_bias`: moments per site against ``k``.

    One panel per chain order (1 to 4), from coin flips and from model
    samples, with the exact values. ``ax``: four Axes. Returns the figure.
    """
    fig, axes = new_panels(ax, 4, figsize=(12, 3), sharex=True)
    ks = result["n_sweeps"]
    for order, a in enumerate(axes):
        for name, style, start in (
            ("random", "o-", "coin flips"),
            ("data", "s--", "model samples"),
        ):
            a.errorbar(
                ks,
                result[name][:, order],
                yerr=2 * result[name + "_se"][:, order],
                fmt=style,
                ms=4,
                label=f"start: {start}",
            )
        a.axhline(result["exact"][order], color="k", lw=1, label="exact")
        a.set(xscale="log", xlabel="Gibbs sweeps k", title=f"chain moment, order {order + 1}")
    axes[0].set_ylabel("per site (±2 SE)")
    axes[0].legend(fontsize=8)
    if ax is None:
        fig.tight_layout()
    return fig


def plot_rbm_fits(results: Mapping[object, FitResult], *, ax=None) -> Figure:
    """Plot learned ``(b, W, b')`` of the hidden model for several ``(b, J, K)`` (Fig. 2).

    Three projections of the parameter space, ``(b, W)``, ``(b, b')`` and
    ``(W, b')``: in each, the path of the iterates from the initial parameters
    (a cross) as a thin line, and the fitted parameters ``FitResult.params``
    (the averaged last iterates) as a large dot, one colour per ``(b, J, K)``.
    A fourth panel shows the wake - sleep mismatch per iteration.

    Parameters
    ----------
    results : dict
        Maps a label such as ``(b, J, K)`` to a :class:`dbmtools.FitResult` of
        :func:`dbmtools.hidden_model_1d`.
    ax : three or four Axes, optional
        With three, the mismatch panel is left out; a new figure of four
        panels when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        fig, axes = new_panels(None, 4, figsize=(14, 3.6), layout="constrained")
    else:
        flat = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(flat) not in (3, 4):
            raise ValueError(f"`ax` must be a sequence of 3 or 4 Axes; got {len(flat)}.")
        fig, axes = flat[0].figure, flat
    names = ["b", "W", "b'"]
    pairs = [(0, 1), (0, 2), (1, 2)]
    for n, (label, r) in enumerate(results.items()):
        color = f"C{n % 10}"
        path = r.param_history
        for a, (i, j) in zip(axes[:3], pairs, strict=True):
            a.plot(path[:, i], path[:, j], color=color, lw=0.7, alpha=0.6)
            a.plot(path[0, i], path[0, j], "kx", ms=6)
            a.plot(
                r.params[i],
                r.params[j],
                "o",
                color=color,
                ms=8,
                mec="k",
                mew=0.6,
                label=str(label) if i == 0 and j == 1 else None,
            )
        if len(axes) == 4:
            axes[3].semilogy(r.loss_history, color=color, lw=0.8)
    for a, (i, j) in zip(axes[:3], pairs, strict=True):
        a.set(xlabel=names[i], ylabel=names[j], title=f"learned ({names[i]}, {names[j]})")
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [
        Line2D([], [], color="0.4", lw=0.7),
        Line2D([], [], color="k", marker="x", ls=""),
    ]
    labels += ["path of the iterates", "start"]
    axes[0].legend(handles, labels, fontsize=7, title="data (b, J, K): fitted", title_fontsize=7)
    if len(axes) == 4:
        axes[3].set(
            xlabel="iteration", ylabel="moment mismatch per site", title="wake - sleep mismatch"
        )
    return fig


def plot_hidden_1d(theta, visible, *, n_show: int = 60, colorbar: bool = True, ax=None) -> Figure:
    """What the hidden units of the 1D model (eq. 39) see: Fig. 1(c) of the paper.

    Top row: a visible lattice (particles filled in the species colour of
    every lattice figure, :data:`SPECIES_COLORS`). Below it, at the positions
    between neighbouring sites, ``p(h_j = 1 | v)`` of each hidden unit (white
    to black, keyed by a colour bar).

    Parameters
    ----------
    theta : array_like, shape (3,)
        ``(b, W, b')``.
    visible : ndarray of int, shape (L,)
    n_show : int
        Sites drawn.
    colorbar : bool
        Draw a colour bar for ``p(h_j = 1 | v)``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    v = np.asarray(visible)
    model = hidden_model_1d(v.size)
    p = hidden_probabilities(model, theta, v)[:, 1]
    n = min(n_show, v.size)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 1.9))
    else:
        fig = ax.figure
    x = np.arange(n)
    particle = SPECIES_COLORS[1]
    ax.scatter(x, np.ones(n), s=120, c=np.where(v[:n] == 1, particle, "white"), edgecolors=particle)
    xh = x[:-1] + 0.5
    hid = ax.scatter(
        xh,
        np.zeros(n - 1),
        s=120,
        c=p[: n - 1],
        cmap="Greys",
        vmin=0.0,
        vmax=1.0,
        edgecolors="0.3",
    )
    for j in range(n - 1):
        ax.plot([j, xh[j], j + 1], [1, 0, 1], color="0.8", lw=0.6, zorder=0)
    ax.set(
        yticks=[0, 1],
        yticklabels=["hidden p(h=1|v)", "visible v (filled = 1)"],
        xlabel="site",
        ylim=(-0.5, 1.5),
        title=f"b={theta[0]:.2f}, W={theta[1]:.2f}, b'={theta[2]:.2f}",
    )
    if colorbar:
        fig.colorbar(hid, ax=ax, label="$p(h_j = 1 \\mid \\mathbf{v})$", pad=0.01, aspect=8)
    fig.tight_layout()
    return fig

"""Figures of Q3 C1 (cubic Hermite) elements (notebooks 02, 04 and 05).

They draw :class:`dbmtools.HermiteGrid` objects and results of
:mod:`dbmtools.hermite`; evaluating a grid on a plotting mesh is the only work
they do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..hermite import HermiteGrid, Interpolation1D, convergence_order, hermite_cubics
from .style import new_axes, new_panels

__all__ = [
    "plot_c0_vs_c1",
    "plot_cell_basis",
    "plot_convergence",
    "plot_hermite_cubics",
    "plot_hermite_slice",
    "plot_interpolation_1d",
]


def plot_hermite_cubics(*, ax=None) -> Figure:
    """Recreate Fig. 1(d): the four 1D Hermite cubics on the reference cell.

    Returns the figure.
    """
    fig, ax = new_axes(ax, figsize=(5, 3.2))
    t = np.linspace(0, 1, 201)
    labels = [
        r"$h_{00}$: value at 0",
        r"$h_{10}$: slope at 0",
        r"$h_{01}$: value at 1",
        r"$h_{11}$: slope at 1",
    ]
    for curve, label, style in zip(hermite_cubics(t), labels, ["-", "--", "-", "--"], strict=True):
        ax.plot(t, curve, style, lw=2, label=label)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xlabel("$s = (x - x_i)/h$ (cell-local coordinate)")
    ax.set_ylabel("basis function")
    ax.set_title("Q3 C1 Hermite cubics on one cell")
    ax.legend(fontsize=8, loc="center right")
    return fig


def plot_cell_basis(
    cell_size: float = 1.0, n: int = 61, *, labels=("$x$", "$y$"), ax=None
) -> Figure:
    """Heat maps of the 16 basis functions of one 2D cell ``[0, h]^2``.

    Panel ``(r, c)`` is the product of 1D function ``r`` along y and ``c``
    along x, in the order ``h00, h h10, h01, h h11`` (slope functions scaled
    by the cell size, as in the physical-derivative layout). Each panel shows
    its function divided by its largest absolute value (given in its title),
    so that all 16 share one colour scale, from -1 (blue) to 1 (red), keyed
    by one colour bar; the title also gives the degree of freedom and its
    vertex in cell-local coordinates. ``labels`` names the horizontal and vertical axes
    (e.g. ``("$u$", "$v$")``); they label the outer panels. ``ax``: 16 Axes
    (e.g. a 4 x 4 array), row-major; a new figure when None.
    Returns the figure.
    """
    t = np.linspace(0, 1, n)
    one = hermite_cubics(t) * np.array([1, cell_size, 1, cell_size])[:, None]
    where = ["0", "0", "1", "1"]
    fig, axes = new_panels(
        ax, 16, nrows=4, figsize=(9, 8.6), sharex=True, sharey=True, layout="constrained"
    )
    axes = np.array(axes, dtype=object).reshape(4, 4)
    for r in range(4):
        for c in range(4):
            img = np.outer(one[r], one[c])  # rows: y, columns: x
            vmax = np.abs(img).max()
            a = axes[r, c]
            image = a.imshow(
                img / vmax,
                origin="lower",
                extent=(0, cell_size, 0, cell_size),
                cmap="RdBu_r",
                vmin=-1.0,
                vmax=1.0,
            )
            dx = "x" if c % 2 else ""
            dy = "y" if r % 2 else ""
            deriv = f"$F_{{{dx}{dy}}}$" if dx or dy else "$F$"
            a.set_title(f"{deriv} at ({where[c]},{where[r]})\nmax {vmax:.3g}", fontsize=9)
            a.set_xticks([0, cell_size])
            a.set_yticks([0, cell_size])
            if r == 3:
                a.set_xlabel(labels[0])
            if c == 0:
                a.set_ylabel(labels[1])
    fig.suptitle(
        "The 16 basis functions of one 2D cell (degree of freedom at vertex (x, y)),\n"
        "each divided by its largest absolute value (max in the panel's title)"
    )
    fig.colorbar(image, ax=list(axes.ravel()), shrink=0.6, label="basis function / its max")
    return fig


def plot_convergence(
    cell_sizes,
    errors,
    order: float | None = None,
    *,
    ax=None,
    label: str = "max error",
    guide: bool = True,
    **style,
) -> Figure:
    """Log-log plot of interpolation error against cell size, with an h^4 guide line.

    ``order`` (the fitted slope, for the legend) is computed by
    :func:`dbmtools.hermite.convergence_order` when omitted. ``style`` goes to
    ``ax.loglog`` for the data (e.g. ``marker="s"``). Returns the figure.
    """
    h = np.asarray(cell_sizes, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    fig, ax = new_axes(ax, figsize=(5, 3.5))
    if order is None:
        order = convergence_order(h, e)
    style = {"marker": "o", **style}
    ax.loglog(h, e, label=f"{label} (slope {order:.2f})", **style)
    if guide:
        ax.loglog(h, e[0] * (h / h[0]) ** 4, "k--", lw=1, label=r"$\propto h^4$")
    ax.set_xticks(h, labels=[f"{v:g}" for v in h])
    ax.minorticks_off()
    ax.set_xlabel("cell size $h$")
    ax.set_ylabel("max interpolation error")
    ax.legend(fontsize=8)
    return fig


def plot_c0_vs_c1(
    f: Callable,
    derivative: Callable,
    cell_size: float = 0.5,
    lower: float = 0.0,
    upper: float = 3.0,
    *,
    ax=None,
) -> Figure:
    """Derivative of a piecewise-linear (C0) and a Hermite (C1) interpolant of ``f``.

    ``f`` and ``derivative`` act on 1-D arrays (a closed form, evaluated at
    the vertices of a small grid). The C0 derivative jumps at every vertex;
    the C1 one is continuous. ``ax``: two Axes. Returns the figure.
    """
    grid = HermiteGrid([lower], [upper], cell_size)
    grid.interpolate(lambda p: f(p[:, 0]), lambda p: derivative(p[:, 0])[:, None])
    xv = grid.vertices[:, 0]
    x = np.linspace(lower, upper, 1201)
    slopes = np.diff(f(xv)) / np.diff(xv)
    cell = np.minimum(((x - lower) / grid.cell_size[0]).astype(int), xv.size - 2)
    fig, (a0, a1) = new_panels(ax, 2, figsize=(10, 3.5))
    a0.plot(x, f(x), "k", lw=3, alpha=0.3, label="$F$")
    a0.plot(x, np.interp(x, xv, f(xv)), label="C0: piecewise linear")
    a0.plot(x, grid(x[:, None]), "--", label="C1: Hermite cubic")
    a1.plot(x, derivative(x), "k", lw=3, alpha=0.3, label="$dF/d\\theta$")
    a1.plot(x, slopes[cell], label="C0 derivative (jumps)")
    a1.plot(x, grid.gradient(x[:, None])[:, 0], "--", label="C1 derivative")
    for a, title in ((a0, "interpolant"), (a1, "its derivative, as eq. (31) needs it")):
        a.plot(xv, np.zeros_like(xv) + a.get_ylim()[0], "|", color="0.4", ms=12)
        a.set_xlabel(r"$\theta$")
        a.set_title(title)
        a.legend(fontsize=8)
    return fig


def plot_interpolation_1d(f: Callable, result: Interpolation1D, samples=None, *, ax=None) -> Figure:
    """Draw :func:`dbmtools.hermite.interpolate_1d`: the interpolant, the fit and their errors.

    Parameters
    ----------
    f : callable
        The interpolated function (1-D arrays in and out), drawn for reference.
    result : Interpolation1D
        The grids; ``result.fitted`` (if any) is drawn with ``samples``.
    samples : tuple of two 1-D arrays, optional
        The noisy samples ``(x, y)`` the fit was made from.
    ax : two Axes, optional
        Left: the curves; right: the errors on a log scale.

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid, lower, upper = result.grid, result.lower, result.upper
    x = np.linspace(lower, upper, 801)
    fig, (a0, a1) = new_panels(ax, 2, figsize=(10, 3.6))
    a0.plot(x, f(x), "k", lw=4, alpha=0.25, label="$f$")
    a0.plot(x, grid(x[:, None]), label="interpolant (values + slopes)")
    a1.semilogy(x, np.abs(grid(x[:, None]) - f(x)) + 1e-17, label="interpolation")
    if result.fitted is not None:
        if samples is not None:
            a0.plot(samples[0], samples[1], ".", color="0.5", ms=4, label="noisy samples")
        a0.plot(x, result.fitted(x[:, None]), "--", label="least-squares fit")
        a1.semilogy(x, np.abs(result.fitted(x[:, None]) - f(x)) + 1e-17, "--", label="fit")
    xv = grid.vertices[:, 0]
    a0.plot(xv[xv <= upper], grid(xv[xv <= upper, None]), "o", color="C3", ms=4, label="vertices")
    a0.set_title(f"cell size h = {grid.cell_size[0]:g} ({grid.n_cells[0]} cells)")
    a1.set_title("error $|F(x) - f(x)|$")
    a1.set_ylim(1e-8, 1)
    for a in (a0, a1):
        a.set_xlabel("$x$")
        a.legend(fontsize=8)
    return fig


def plot_hermite_slice(
    grid: HermiteGrid,
    func: Callable | None = None,
    *,
    axis: int = 2,
    value: float = 0.0,
    labels: Sequence[str] | None = None,
    ax=None,
) -> Figure:
    """Heat map of a 3D grid on the plane ``x[axis] == value``, with cell faces drawn.

    If ``func`` (points (n, 3) -> values (n,), a closed form) is given, two
    more panels show it and the difference ``grid - func``. ``ax``: one Axes
    (three with ``func``). Returns the figure.
    """
    if grid.dim != 3:
        raise ValueError(f"`grid` must be 3D for a slice; got {grid.dim}D.")
    labels = labels or ["$x_0$", "$x_1$", "$x_2$"]
    a, b = [k for k in range(3) if k != axis]
    u = np.linspace(grid.lower[a], grid.upper[a], 121)
    v = np.linspace(grid.lower[b], grid.upper[b], 121)
    uu, vv = np.meshgrid(u, v, indexing="xy")
    pts = np.empty((uu.size, 3))
    pts[:, a], pts[:, b], pts[:, axis] = uu.ravel(), vv.ravel(), value
    slices = [("Hermite grid $F$", grid(pts))]
    if func is not None:
        target = np.asarray(func(pts), dtype=np.float64)
        slices += [("target", target), ("difference $F$ - target", slices[0][1] - target)]
    fig, axes = new_panels(ax, len(slices), figsize=(4.3 * len(slices), 3.8), layout="constrained")
    vmax = max(np.abs(p[1]).max() for p in slices[:2])
    for n, (panel, (title, z)) in enumerate(zip(axes, slices, strict=True)):
        scale = vmax if n < 2 else np.abs(z).max()
        im = panel.pcolormesh(u, v, z.reshape(uu.shape), cmap="RdBu_r", vmin=-scale, vmax=scale)
        for edge in np.unique(grid.vertices[..., a]):
            panel.axvline(edge, color="k", lw=0.5, alpha=0.5)
        for edge in np.unique(grid.vertices[..., b]):
            panel.axhline(edge, color="k", lw=0.5, alpha=0.5)
        panel.set_xlabel(labels[a])
        panel.set_ylabel(labels[b])
        panel.set_title(f"{title}, {labels[axis]} = {value:g}", fontsize=10)
        if n != 0:
            fig.colorbar(im, ax=panel, shrink=0.9)
    if len(slices) == 1:
        fig.colorbar(im, ax=axes[0], shrink=0.9)
    return fig

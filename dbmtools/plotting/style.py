"""Colours, colour maps and figure helpers shared by every figure module."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

__all__ = ["SPECIES_COLORS", "glue_figure", "glue_value", "species_cmap"]

#: Empty site, then species 1, 2, 3, ... (the paper's Fig. 4 uses pink, orange, cyan).
SPECIES_COLORS = ["#f4f4f4", "#e7298a", "#ff9f1c", "#1fb5c9", "#6a3d9a", "#33a02c", "#1f3b73"]


def species_cmap(n_species: int) -> ListedColormap:
    """A categorical colour map: code 0 (empty) light grey, then one colour a species.

    Examples
    --------
    >>> species_cmap(2).N
    3
    """
    if n_species + 1 > len(SPECIES_COLORS):
        colors = plt.get_cmap("tab20")(np.linspace(0, 1, n_species))
        return ListedColormap([SPECIES_COLORS[0], *colors])
    return ListedColormap(SPECIES_COLORS[: n_species + 1])


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


def glue_value(key: str, value: float) -> float:
    """Store a number under ``key`` for other pages of the book (MyST-NB ``glue``), silently.

    The book's overview page pastes it with ``{glue:text}``; where MyST-NB is
    not installed (a plain JupyterLab or Colab session) nothing is stored.
    ``value`` is converted to a plain Python float, which is also returned.

    Examples
    --------
    >>> glue_value("key-example", np.float64(0.25))
    0.25
    """
    value = float(value)
    try:
        from myst_nb import glue
    except ImportError:
        return value
    glue(key, value, display=False)
    return value


def new_axes(ax, *, figsize: tuple[float, float], projection: str | None = None):
    """``(figure, ax)``: the figure of ``ax``, or a new figure with one Axes when it is None."""
    if ax is None:
        fig = plt.figure(figsize=figsize)
        return fig, fig.add_subplot(projection=projection)
    return ax.figure, ax


def panels(ax, n: int, name: str = "ax") -> list:
    """The ``n`` Axes of a multi-panel figure passed as ``ax`` (any nesting), as a flat list.

    Raises ``ValueError`` when ``ax`` does not hold exactly ``n`` Axes.
    """
    flat = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(flat) != n:
        raise ValueError(f"`{name}` must be a sequence of {n} Axes; got {len(flat)}.")
    return flat


def new_panels(ax, n: int, *, nrows: int = 1, ncols: int | None = None, **subplots_kw):
    """``(figure, axes)`` for a figure of ``n`` panels: the Axes given as ``ax``, or new ones.

    A new figure is ``plt.subplots(nrows, ncols, **subplots_kw)`` (``ncols``
    defaults to ``n // nrows``); ``axes`` is a flat list either way.
    """
    if ax is None:
        fig, axes = plt.subplots(nrows, ncols or n // nrows, squeeze=False, **subplots_kw)
        return fig, list(axes.ravel())
    axes = panels(ax, n)
    return axes[0].figure, axes

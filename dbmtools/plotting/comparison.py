"""Figures of a learned closure on held-out conditions (:func:`dbmtools.compare_closures`).

They draw a :class:`dbmtools.ClosureComparison` and the :class:`dbmtools.ClosureData`
it was scored on (notebook 07, or any system of your own).
"""

from __future__ import annotations

import warnings

import numpy as np
from matplotlib.figure import Figure

from ..comparison import ClosureComparison
from ..data_closure import ClosureData
from .style import new_axes, new_panels

__all__ = ["plot_closure_errors", "plot_heldout_condition"]

_STYLES = {
    "learned": dict(color="C3", lw=2.0),
    "mean field": dict(color="0.25", ls="--", lw=1.3),
    "pair": dict(color="C0", ls=":", lw=1.8),
}


def _columns(counts, pairs):
    iu = np.triu_indices(counts.shape[-1])
    return np.concatenate([counts, pairs[..., iu[0], iu[1]]], axis=-1)


def plot_heldout_condition(
    result: ClosureComparison, test: ClosureData, condition: int = 0, *, ax=None
) -> Figure:
    """Every column of one test condition: data (±2 SE band) and each closure's prediction.

    One panel per column of ``result`` (species means, then pair counts).
    Returns the figure.
    """
    n = len(result.columns)
    if not 0 <= condition < test.n_conditions:
        raise ValueError(f"`condition` must be in [0, {test.n_conditions - 1}]; got {condition!r}.")
    fig, axes = new_panels(ax, n, nrows=1, figsize=(3.0 * n, 3.0), layout="constrained")
    data = _columns(test.counts, test.pairs)[condition]
    sem = _columns(test.counts_sem, test.pairs_sem)[condition]
    t = test.times
    for k, a in enumerate(axes):
        a.fill_between(t, data[:, k] - 2 * sem[:, k], data[:, k] + 2 * sem[:, k],
                       color="0.6", alpha=0.5, lw=0, label="simulations ±2 SE")  # fmt: skip
        for name, (c, p) in result.predictions.items():
            a.plot(t, _columns(c, p)[condition, :, k], label=name, **_STYLES.get(name, {}))
        a.set_title(result.columns[k])
        a.set_xlabel("t")
    axes[0].set_ylabel("mean number")
    axes[0].legend(fontsize=8, loc="best")
    return fig


def plot_closure_errors(result: ClosureComparison, *, ax=None) -> Figure:
    """Relative RMS error per column: each closure's mean over test conditions, the noise floor.

    Dots are the condition means, bars the range over test conditions; the grey
    band is the data's own sampling error. Log scale. Returns the figure.
    """
    fig, ax = new_axes(ax, figsize=(7, 3.6))
    cols = np.arange(len(result.columns))
    names = list(result.errors)
    width = 0.8 / len(names)
    floor = result.noise_floor.mean(axis=0)
    ax.bar(cols, floor, width=0.9, color="0.85", label="noise floor", zorder=0)
    for i, name in enumerate(names):
        err = result.errors[name]
        x = cols - 0.4 + width * (i + 0.5)
        color = _STYLES.get(name, {}).get("color", f"C{i}")
        with warnings.catch_warnings():  # a closure that failed on every condition: no dot
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi, mean = np.nanmin(err, 0), np.nanmax(err, 0), np.nanmean(err, 0)
        ax.vlines(x, lo, hi, color=color, lw=1)
        ax.plot(x, mean, "o", color=color, label=name)
    ax.set_xticks(cols, result.columns)
    ax.set_yscale("log")
    ax.set_ylabel("relative RMS error")
    ax.legend(fontsize=8)
    return fig

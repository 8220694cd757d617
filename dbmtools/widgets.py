"""Sliders for the notebooks (ipywidgets).

The published book has no kernel, so every slider view in a notebook is
followed by the same plot at the default values as a static figure
(DESIGN.md section 3); :func:`slider_view` keeps the defaults in one place so
that the two always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["slider_view", "float_slider", "int_slider", "defaults"]


def float_slider(value: float, min: float, max: float, step: float, description: str = ""):
    """A continuous-update-off ``FloatSlider`` (recomputes only on release)."""
    import ipywidgets as w

    return w.FloatSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=False,
        readout_format=".3g",
        style={"description_width": "initial"},
    )


def int_slider(value: int, min: int, max: int, step: int = 1, description: str = ""):
    """A continuous-update-off ``IntSlider``."""
    import ipywidgets as w

    return w.IntSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
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

"""Exact and approximate results to check simulations against.

For one-dimensional annihilation ``A + A -> 0`` with hop rate ``nu`` per
neighbour (:func:`~dbmtools.hop_rate`) and reaction probability ``p`` per
collision, started from a random (Bernoulli) lattice of density ``rho0``:

* ``p = 1`` and ``rho0 = 1/2`` (diffusion-limited): the exact density
  ``rho(t) = 1/2 e^{-4 nu t} [I0(4 nu t) + I1(4 nu t)]`` (Lushnikov 1987;
  ben-Avraham & Havlin 2000), tending to ``1 / sqrt(8 pi nu t)``;
* small ``p`` (reaction-limited): mean-field kinetics. A particle hops onto an
  occupied site at rate ``2 nu rho``, reacts with probability ``p`` and removes
  two particles, so ``d rho/dt = -4 nu p rho^2`` and
  ``rho(t) = rho0 / (1 + 4 nu p rho0 t)``.

The two regimes cross over near ``t* = pi / (2 nu p^2)``, where the
reaction-limited ``1 / (4 nu p t)`` meets the diffusion-limited
``1 / sqrt(8 pi nu t)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ive

__all__ = [
    "annihilation_density_exact",
    "annihilation_density_reaction_limited",
    "annihilation_density_asymptotic",
    "annihilation_crossover_time",
    "mean_and_sem",
]


def annihilation_density_exact(t: np.ndarray, nu: float) -> np.ndarray:
    """Exact density of 1D ``A + A -> 0`` with ``p = 1`` from a half-filled random lattice.

    Parameters
    ----------
    t : array_like
        Times (>= 0).
    nu : float
        Hop rate per neighbour.

    Examples
    --------
    >>> round(float(annihilation_density_exact(2.0, 50.0)), 5)
    0.01994
    """
    x = 4.0 * nu * np.asarray(t, dtype=np.float64)
    return 0.5 * (ive(0, x) + ive(1, x))  # ive(n, x) = e^{-x} I_n(x), stable for large x


def annihilation_density_reaction_limited(
    t: np.ndarray, nu: float, prob: float, rho0: float = 0.5
) -> np.ndarray:
    """Mean-field (reaction-limited) density ``rho0 / (1 + 4 nu p rho0 t)``.

    Examples
    --------
    >>> float(annihilation_density_reaction_limited(1.0, 50.0, 0.01))
    0.25
    """
    return rho0 / (1.0 + 4.0 * nu * prob * rho0 * np.asarray(t, dtype=np.float64))


def annihilation_density_asymptotic(t: np.ndarray, nu: float) -> np.ndarray:
    """Late-time diffusion-limited density ``1 / sqrt(8 pi nu t)``."""
    return 1.0 / np.sqrt(8.0 * np.pi * nu * np.asarray(t, dtype=np.float64))


def annihilation_crossover_time(nu: float, prob: float) -> float:
    """Time ``pi / (2 nu p^2)`` where the reaction- and diffusion-limited laws meet.

    Examples
    --------
    >>> round(annihilation_crossover_time(50.0, 0.01), 1)
    314.2
    """
    return float(np.pi / (2.0 * nu * prob**2))


def mean_and_sem(samples: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and its standard error ``std(ddof=1) / sqrt(n)`` along ``axis``.

    Examples
    --------
    >>> m, se = mean_and_sem(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> float(m), round(float(se), 4)
    (2.5, 0.6455)
    """
    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"`samples` needs at least 2 entries along axis {axis}; got {n}.")
    return x.mean(axis=axis), x.std(axis=axis, ddof=1) / np.sqrt(n)

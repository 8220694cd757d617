"""Argument checks shared by every module (DESIGN.md section 2).

Each helper validates one argument at the Python boundary, before any kernel
sees it, and returns the normalised value. Errors name the argument in
backticks, state the rule and show what was received: ``TypeError`` for the
wrong kind (a string where a number belongs, a float where an integer
belongs, a bool anywhere), ``ValueError`` for a value out of range. Nothing is
clipped.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int("n_steps", np.int64(5), 0)
    5
    >>> check_int("n_steps", 2.0, 0)
    Traceback (most recent call last):
    ...
    TypeError: `n_steps` must be an integer; got 2.0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer; got {value!r}.")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            rule = f">= {minimum}"
        elif minimum is None:
            rule = f"<= {maximum}"
        else:
            rule = f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be an integer {rule}; got {value}.")
    return value


def check_real(name: str, value) -> float:
    """Return ``value`` as a finite ``float``; strings, bools and NaN/inf are refused.

    Examples
    --------
    >>> check_real("b", -0.5)
    -0.5
    >>> check_real("dt", "0.01")
    Traceback (most recent call last):
    ...
    TypeError: `dt` must be a real number; got '0.01'.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {value!r}.")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    return x


def check_positive(name: str, value) -> float:
    """Return ``value`` as a finite ``float > 0``.

    Examples
    --------
    >>> check_positive("dt", 0.01)
    0.01
    """
    x = check_real(name, value)
    if x <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0; got {value!r}.")
    return x


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as a finite ``float >= 0``.

    Examples
    --------
    >>> check_nonnegative("l2", 0)
    0.0
    """
    x = check_real(name, value)
    if x < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0; got {value!r}.")
    return x


def check_probability(name: str, value) -> float:
    """Return ``value`` as a ``float`` in ``[0, 1]``.

    Examples
    --------
    >>> check_probability("hop_prob", 1)
    1.0
    """
    x = check_real(name, value)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"`{name}` must be a probability in [0, 1]; got {value!r}.")
    return x


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("optimizer", "adam", ("sgd", "adam"))
    'adam'
    """
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {allowed}; got {value!r}.")
    return value


def check_finite_array(name: str, value, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array whose entries are all finite.

    Examples
    --------
    >>> check_finite_array("theta", [[0.0, 1.0]], ndim=2).shape
    (1, 2)
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers; got {value!r}.") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-D; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got NaN or inf.")
    return arr


def check_occupancies(name: str, value, *, ndim: int, layout: str) -> np.ndarray:
    """Return ``value`` as C-contiguous int8 0/1 lattices of ``ndim`` axes (one species).

    ``layout`` names the axes for the error message, e.g.
    ``"(n_traj, n_lattices, n_times, L)"``.

    Examples
    --------
    >>> check_occupancies("states", [[0, 1, 1]], ndim=2, layout="(n, L)").dtype
    dtype('int8')
    """
    arr = np.asarray(value)
    if arr.ndim != ndim or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be an integer array of shape {layout}; got {arr.dtype} {arr.shape}."
        )
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"`{name}` must hold occupancies 0 and 1 (one species).")
    return np.ascontiguousarray(arr, dtype=np.int8)

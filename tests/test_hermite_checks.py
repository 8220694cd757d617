"""Hermite grid checks of issue 16, item 7: the numba kernel exposed to users checks
its buffers and the grid's dimension; a numpy float step is a valid step."""

import numba
import numpy as np
import pytest

from dbmtools.hermite import HermiteGrid, evaluate_point


@numba.njit
def _call(x, lower, h, n, strides, cf, work, grad, idx, w):
    return evaluate_point(x, lower, h, n, strides, cf, work, grad, idx, w)


def _buffers(d):
    return np.empty((2, d, 4)), np.empty(d), np.empty(4**d, dtype=np.int64), np.empty(4**d)


def _grid(d):
    g = HermiteGrid([0.0] * d, [1.0] * d, 0.5)
    g.coeffs = np.random.default_rng(d).normal(size=g.coeffs.shape)
    return g


@pytest.mark.parametrize("d", [1, 2, 3])
def test_right_buffers_give_the_grid_value(d):
    g = _grid(d)
    x = np.full(d, 0.3)
    assert _call(x, *g.kernel_args, *_buffers(d)) == pytest.approx(float(g(x)), rel=1e-14)
    # larger buffers are fine too
    big = (np.empty((2, 3, 4)), np.empty(3), np.empty(64, dtype=np.int64), np.empty(64))
    assert _call(x, *g.kernel_args, *big) == pytest.approx(float(g(x)), rel=1e-14)


@pytest.mark.parametrize(
    ("which", "match"),
    [
        (0, r"`work` must have shape \(2, d, 4\)"),
        (1, "`grad` must have d"),
        (2, "`idx` and `w` must have 4\\*\\*d"),
        (3, "`idx` and `w` must have 4\\*\\*d"),
    ],
)
def test_too_small_buffers_raise_instead_of_corrupting_memory(which, match):
    """Issue 16: buffers that were too small corrupted memory (the interpreter aborted)."""
    g = _grid(3)
    bufs = list(_buffers(3))
    bufs[which] = bufs[which][..., :1] if which == 0 else bufs[which][:1]
    with pytest.raises(ValueError, match=match):
        _call(np.full(3, 0.3), *g.kernel_args, *bufs)


def test_a_point_of_the_wrong_dimension_raises():
    """Issue 16: a grid of the wrong dimension read out of bounds."""
    g = _grid(2)
    with pytest.raises(ValueError, match="`x` has not the grid's dimension"):
        _call(np.full(3, 0.3), *g.kernel_args, *_buffers(3))
    lower, h, n, strides, cf = g.kernel_args
    with pytest.raises(ValueError, match="`coeffs_flat` is smaller"):
        _call(np.full(2, 0.3), lower, h, n, strides, cf[:10], *_buffers(2))


def test_interpolate_accepts_numpy_float_steps():
    """Issue 16: interpolate(step=np.float32(1e-3)) was refused."""

    def f(x):
        return x[:, 0] ** 2 + x[:, 1]

    a = HermiteGrid([0, 0], [1, 1], 0.25).interpolate(f, "central", step=np.float32(1e-3))
    b = HermiteGrid([0, 0], [1, 1], 0.25).interpolate(f, "central", step=float(np.float32(1e-3)))
    assert np.array_equal(a.coeffs, b.coeffs)
    for bad in ("0.001", True, 0.5, np.nan):
        with pytest.raises(ValueError, match="`step` must be in"):
            HermiteGrid([0, 0], [1, 1], 0.25).interpolate(f, "central", step=bad)

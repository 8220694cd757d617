"""Throughput of 3D Hermite grid evaluation (issue 3).

Prints evaluations per second for value, gradient, value + gradient and
basis on a 3D grid like the paper's (cells 0.5 over [-1, 1]^3), for a batch
of points and for single points through the Python API, and for the
kernel-level :func:`dbmtools.hermite.evaluate_point` called from numba (what the
learning loop can use).

Run: ``python benchmarks/hermite.py`` (a warm numba cache makes the first
figures meaningful; the script warms every path up once before timing).
"""

from __future__ import annotations

import time

import numba
import numpy as np

from dbmtools import HermiteGrid
from dbmtools.hermite import evaluate_point


def _rate(func, n_evals, min_time=0.5):
    """Evaluations per second of ``func`` (which performs ``n_evals``), best of repeats."""
    func()
    best = np.inf
    total, reps = 0.0, 0
    while total < min_time or reps < 3:
        t0 = time.perf_counter()
        func()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        total += dt
        reps += 1
    return n_evals / best


@numba.njit(cache=True)
def _kernel_loop(pts, lower, h, n, strides, cf):
    d = pts.shape[1]
    work = np.empty((2, d, 4))
    grad = np.empty(d)
    idx = np.empty(4**d, dtype=np.int64)
    w = np.empty(4**d)
    acc = 0.0
    for p in range(pts.shape[0]):
        acc += evaluate_point(pts[p], lower, h, n, strides, cf, work, grad, idx, w)
    return acc


def main() -> None:
    rng = np.random.default_rng(0)
    grid = HermiteGrid([-1.0] * 3, [1.0] * 3, 0.5)
    grid.coeffs = rng.normal(size=grid.coeffs.shape)
    batch = rng.uniform(-1, 1, size=(100_000, 3))
    one = batch[0].copy()
    few = batch[:5].copy()
    print(f"3D grid: {grid}")
    print(f"{'what':<44}{'evaluations / s':>18}{'us / point':>12}{'us / call':>12}")
    rows = [
        ("batch of 1e5: value", lambda: grid(batch), batch.shape[0]),
        ("batch of 1e5: gradient", lambda: grid.gradient(batch), batch.shape[0]),
        ("batch of 1e5: value + gradient", lambda: grid.value_and_gradient(batch), 1e5),
        ("batch of 1e5: basis (64 indices + weights)", lambda: grid.basis(batch), 1e5),
        ("single point: value", lambda: grid(one), 1),
        ("single point: value + gradient", lambda: grid.value_and_gradient(one), 1),
        ("single point: basis", lambda: grid.basis(one), 1),
        ("5 points: value + gradient", lambda: grid.value_and_gradient(few), 5),
        ("5 points: basis", lambda: grid.basis(few), 5),
        (
            "numba kernel evaluate_point (all three)",
            lambda: _kernel_loop(batch, *grid.kernel_args),
            batch.shape[0],
        ),
    ]
    for name, func, n in rows:
        rate = _rate(func, n)
        print(f"{name:<44}{rate:>18,.0f}{1e6 / rate:>12.3f}{n / rate * 1e6:>12.1f}")


if __name__ == "__main__":
    main()

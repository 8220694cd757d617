"""Throughput of the visible multi-species lattice-gas Gibbs sampler.

Prints site updates per second per core of :func:`dbmtools.lattice_gas.sampled_moments`
(heat-bath sweeps with the statistics tracked on the fly) and of
:func:`dbmtools.lattice_gas.sample_lattice_gas` (no tracking), on one thread, for the
table route (few species: the conditional read from a precomputed table) and the
product route (many species), in 1D, 2D and 3D. Budget: >= 5e7 site updates per second
per core on the 2D two-species lattice of the Lotka-Volterra example.

Run: ``python benchmarks/lattice_gas.py`` (every path is warmed up before timing).
"""

from __future__ import annotations

import time
from functools import partial

import numba
import numpy as np

from dbmtools import lattice_gas as lg


def _best(func, min_time=0.5):
    """Best wall time of ``func()`` over repeats lasting at least ``min_time`` s."""
    func()
    best, total, reps = np.inf, 0.0, 0
    while total < min_time or reps < 3:
        t0 = time.perf_counter()
        func()
        dt = time.perf_counter() - t0
        best, total, reps = min(best, dt), total + dt, reps + 1
    return best


CASES = [  # (label, shape, n_species)
    ("1D L=1000, M=2", (1000,), 2),
    ("2D 40x40, M=2 (Lotka-Volterra)", (40, 40), 2),
    ("3D 10^3, M=3 (Rossler)", (10, 10, 10), 3),
    ("2D 40x40, M=8 (product route)", (40, 40), 8),
]


def main() -> None:
    numba.set_num_threads(1)
    n_chains, n_sweeps = 2, 200
    print("one thread; n_chains = 2, 200 sweeps a call\n")
    print(f"{'lattice':34s} {'route':8s} {'tracked (sites/s)':>18s} {'untracked (sites/s)':>20s}")
    rng = np.random.default_rng(0)
    for label, shape, M in CASES:
        theta = rng.normal(0.0, 0.3, lg._n_params(M, len(shape), False))
        n_updates = n_chains * n_sweeps * int(np.prod(shape))
        route = "table" if lg._update_tables(theta[None], M, len(shape), False)[0] else "product"
        kw = dict(n_chains=n_chains, n_sweeps=n_sweeps, seed=1)
        tracked = _best(partial(lg.sampled_moments, theta, shape, M, n_burn=0, **kw))
        plain = _best(partial(lg.sample_lattice_gas, theta, shape, M, **kw))
        print(f"{label:34s} {route:8s} {n_updates / tracked:18.3g} {n_updates / plain:20.3g}")


if __name__ == "__main__":
    main()

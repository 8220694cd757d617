"""Throughput of the Boltzmann-machine samplers (issue 4).

Prints:

* site updates per second of the 1D b/J/K lattice-gas Gibbs sampler
  (:func:`dbmtools.ising.sample`, L = 1000), on one thread and on all threads;
* the cost of one block-Gibbs step ``V -> H -> V`` of the 3D Rössler RBM
  (:func:`dbmtools.rbm.gibbs`, 10^3 visible + 10^3 hidden units, 2 x 2 x 2
  connectivity), the inner loop of training: unit updates per second and the
  time per step, beside a floor: a bare numba loop that only reads the 16,000
  neighbour codes of one step (8 per unit, 2,000 units) and sums them.

Run: ``python benchmarks/samplers.py`` (every path is warmed up before timing).
"""

from __future__ import annotations

import time

import numba
import numpy as np

from dbmtools import ising, rbm


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


@numba.njit(cache=True)
def _neighbour_reads(v, h, v_ptr, v_idx, h_ptr, h_idx, n_steps):
    """The floor: read every neighbour code of a V -> H -> V step, nothing else."""
    acc = 0
    for _ in range(n_steps):
        for j in range(h_ptr.size - 1):
            s = 0
            for e in range(h_ptr[j], h_ptr[j + 1]):
                s += v[h_idx[e]]
            h[j] = s & 3
        for i in range(v_ptr.size - 1):
            s = 0
            for e in range(v_ptr[i], v_ptr[i + 1]):
                s += h[v_idx[e]]
            v[i] = s & 3
        acc += v[0]
    return acc


def main() -> None:
    n_threads = numba.get_num_threads()
    print(f"numba threads available: {n_threads}\n")

    # --- 1D lattice gas ---------------------------------------------------------------
    L, sweeps = 1000, 200
    print(f"1D b/J/K gas, L = {L}, {sweeps} sweeps per chain")
    print(f"{'threads':>8}{'chains':>8}{'site updates / s':>20}{'ns / update':>14}")
    for threads, chains in ((1, 1), (n_threads, 8 * n_threads)):
        numba.set_num_threads(threads)
        t = _best(
            lambda c=chains: ising.sample(
                0.2, 1.0, -0.5, n_sites=L, n_chains=c, n_sweeps=sweeps, seed=0
            )
        )
        rate = L * sweeps * chains / t
        print(f"{threads:>8}{chains:>8}{rate:>20.3g}{1e9 / rate * threads:>14.2f}")
    numba.set_num_threads(n_threads)

    # --- Rössler RBM ------------------------------------------------------------------
    model = rbm.rossler_rbm((10, 10, 10))
    theta = rbm.rossler_initial_params()
    theta[3:6] = [0.5, 0.5, 0.5]
    n_steps = 100
    units = model.n_visible + model.n_hidden
    reads = 2 * model.edges.shape[0]
    print(
        f"\nRössler RBM: {model.n_visible} visible + {model.n_hidden} hidden units, "
        f"{reads} neighbour reads per V -> H -> V step, {n_steps} steps per chain"
    )
    print(f"{'threads':>8}{'chains':>8}{'unit updates / s':>20}{'us / step':>12}{'reads / s':>14}")
    init = rbm.gibbs(model, theta, n_sweeps=5, n_chains=8 * n_threads, seed=1)[0]
    for threads, chains in ((1, 1), (n_threads, 8 * n_threads)):
        numba.set_num_threads(threads)
        t = _best(lambda c=chains: rbm.gibbs(model, theta, n_sweeps=n_steps, init=init[:c], seed=2))
        per_step = t / (n_steps * chains) * threads
        print(
            f"{threads:>8}{chains:>8}{units / per_step * threads:>20.3g}"
            f"{per_step * 1e6:>12.1f}{reads / per_step * threads:>14.3g}"
        )
    numba.set_num_threads(n_threads)
    v = init[0].reshape(-1).copy()
    h = np.zeros(model.n_hidden, dtype=np.int8)
    t = _best(
        lambda: _neighbour_reads(
            v, h, model._v_ptr, model._v_idx, model._h_ptr, model._h_idx, n_steps
        )
    )
    floor = t / n_steps
    print(
        f"{'floor':>8}{1:>8}{'':>20}{floor * 1e6:>12.1f}{reads / floor:>14.3g}"
        "   (neighbour reads only, one thread)"
    )
    print(
        f"\none Gibbs step costs {per_step / floor:.1f}x the bare neighbour reads "
        f"(the rest: 4 species weights and one random draw per unit); "
        f"CD-10 on one chain: {10 * per_step * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()

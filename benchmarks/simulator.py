"""Throughput of the lattice simulator (DESIGN.md section 4; issue 2).

Prints hop attempts per second and milliseconds per trajectory for

* the paper's 1D workload: L = 1000, half filled, A + A -> 0 with p = 0.01,
  dt = 0.01, 200 steps, reflecting boundaries (REFERENCE_NOTES section 2);
* the Rössler 10^3 lattice: 200 each of A, B, C, 500 steps (section 3);
* the paper's 1D ensemble, 2,500 trajectories on all cores.

Run: ``python benchmarks/simulator.py`` (the first run compiles and caches
the kernels; timings are taken after a warm-up call).
"""

from __future__ import annotations

import time

import numba
import numpy as np

import dbmtools as dbm


def _hop_attempts(ens: dbm.Ensemble) -> int:
    # every particle present at the start of a step makes one hop attempt;
    # the count after the unimolecular phase is not recorded, so use the
    # recorded counts before each step (exact when there are no
    # unimolecular reactions, a close estimate otherwise)
    n = ens.counts().sum(axis=-1)  # (n_samples, n_times)
    return int(n[:, :-1].sum())


def _time(fn, repeat: int = 5) -> tuple[float, object]:
    fn()  # warm-up: compile or load the cache
    best, result = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def one_trajectory(
    name: str, state, network, n_steps: int, boundary: str, selection: str = "uniform"
) -> None:
    numba.set_num_threads(1)

    def run():
        return dbm.simulate_ensemble(
            state[None],
            network,
            n_steps=n_steps,
            dt=0.01,
            seed=1,
            boundary=boundary,
            selection=selection,
            progress=False,
        )

    seconds, ens = _time(run)
    hops = _hop_attempts(ens)
    print(
        f"{name:<34} {seconds * 1e3:8.2f} ms/trajectory  "
        f"{hops / seconds:10.3g} hop attempts/s (1 thread, {hops} attempts)"
    )


def main() -> None:
    threads = numba.config.NUMBA_NUM_THREADS
    state_1d = dbm.random_state(1000, densities=[0.5], seed=0)
    one_trajectory(
        "1D A+A->0, L=1000, 200 steps", state_1d, dbm.annihilation(0.01), 200, "reflecting"
    )
    state_3d = dbm.random_state((10, 10, 10), counts=[200, 200, 200], seed=0)
    one_trajectory("Rossler 10^3, 500 steps", state_3d, dbm.rossler(), 500, "reflecting")
    one_trajectory(
        "Rossler, selection='authors'", state_3d, dbm.rossler(), 500, "reflecting", "authors"
    )

    numba.set_num_threads(threads)
    states = np.stack([dbm.random_state(1000, densities=[0.5], seed=s) for s in range(2500)])

    def ensemble():
        return dbm.simulate_ensemble(
            states,
            dbm.annihilation(0.01),
            n_steps=200,
            dt=0.01,
            seed=2,
            boundary="reflecting",
            progress=False,
        )

    seconds, ens = _time(ensemble, repeat=2)
    print(
        f"{'paper ensemble, 2500 x 1D':<34} {seconds:8.2f} s on {threads} threads  "
        f"{_hop_attempts(ens) / seconds:10.3g} hop attempts/s"
    )


if __name__ == "__main__":
    main()

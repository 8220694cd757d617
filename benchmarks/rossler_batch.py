"""Rössler training (issue 6) at batch 1 and batch 5: cost and accuracy of the learned model.

The notebook trains at batch 1 (its time budget). This script runs the same
pipeline (300 simulations of 500 steps, Algorithm 1 with the paper's settings)
at both batch sizes, then samples the learned models (100 samples, 25 Gibbs
steps from random starts, every 5th timestep) and prints the relative RMS
error of the means and pair moments against the simulations, over the
trained horizon (t <= 1.1) and beyond. Takes about 6 minutes on 2 cores.

Run: ``python benchmarks/rossler_batch.py``
"""

from __future__ import annotations

import time

import numpy as np

import dbmtools as dbm
from dbmtools.rossler3d import MOMENT_NAMES, lattice_moments

SEED, SHAPE, DT, N_STEPS, N_TRAIN = 2019, (10, 10, 10), 0.01, 500, 111


def main() -> None:
    starts = np.stack(
        [dbm.random_state(SHAPE, counts=[200, 200, 200], seed=[SEED, 0, k]) for k in range(300)]
    )
    ens = dbm.simulate_ensemble(
        starts,
        dbm.rossler(),
        n_steps=N_STEPS,
        dt=DT,
        dim=3,
        seed=[SEED, 1],
        boundary="reflecting",
        progress=False,
    )
    every = np.arange(0, N_STEPS + 1, 5)
    sim_mean = lattice_moments(ens.states[:, every]).mean(0)
    trained = every <= N_TRAIN - 1
    theta0 = dbm.rbm.rossler_initial_params()
    lower, upper = dbm.dynamics.centred_domain(theta0[:3], 0.1, 1.5)
    print(" " * 28 + "".join(f"{n:>7s}" for n in MOMENT_NAMES))
    for batch in (1, 5):
        problem = dbm.RosslerMoments(ens.states[:, :N_TRAIN], n_chains=batch, cd_k=10)
        ode = dbm.ParameterODE(
            [f"p{k}" for k in range(9)], [0, 1, 2], lower, upper, 0.1, dt=DT, n_substeps=10
        )
        t0 = time.perf_counter()
        dbm.train(
            ode,
            problem,
            n_iter=10_000,
            lr=[0.8] * 3 + [0.05] * 3 + [0.8] * 3,
            window=10,
            shift_every=100,
            seed=[SEED, 4],
            progress=False,
        )
        seconds = time.perf_counter() - t0
        theta = dbm.predict(ode, theta0, N_STEPS)
        visible = dbm.sample_rossler(theta[every], n_chains=100, seed=[SEED, 6])[0]
        err = lattice_moments(visible).mean(1) - sim_mean
        for name, rows in (("t <= 1.1", trained), ("t > 1.1", ~trained)):
            rel = np.sqrt((err[rows] ** 2).mean(0)) / np.abs(sim_mean[rows]).mean(0)
            row = "".join(f"{x:7.2f}" for x in rel)
            print(f"batch {batch}, {name:9s} ({seconds:5.0f} s) {row}")


if __name__ == "__main__":
    main()

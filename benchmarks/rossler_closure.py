"""Rössler closure (issue 13): every model variant against the simulations, in one table.

300 simulations of 500 steps (uniform selection, reflecting walls that reject,
as in notebook 06), then for each variant the relative RMS error
(:func:`dbmtools.rossler3d.relative_rms_error`) of the means of A, B, C and of
the pair moments (B,B), (C,C), (A,B) against the simulation means, over
t <= 1.1 (the paper's trained horizon), t > 1.1 and the whole run. Model
moments come from 100 samples of 25 Gibbs sweeps from random starts at every
5th step (the paper's Fig. 8 protocol). Variants:

* ``mean field``: the Willamowski-Rössler ODE (random mixing), pairs by random
  mixing of its counts;
* ``untrained``: F = 0 (the parameters stay at eq. 46);
* ``paper``: Algorithm 1 with the paper's settings from F = 0 (SGD 0.8 / 0.05,
  batch 1, window 10, 10,000 steps, t <= 1.1);
* ``maxent, t<=1.1`` and ``maxent, all``: the data-driven F
  (:func:`dbmtools.rossler3d.fit_rhs_to_path` on :func:`dbmtools.rossler3d.maxent_path`
  of the simulation means) fitted over t <= 1.1 or the whole run;
* ``maxent + alg. 1``: that F refined by Algorithm 1 over the whole run (SGD at
  the paper's rates, batch 1, window 10 shifted every 20 steps, 9,800 steps);
* ``eq. 43 + model's g``: eq. (43) closed by the pair correlations ``g`` of the
  ``maxent, all`` model (:func:`dbmtools.rossler3d.solve_pair_closure`, kappa =
  2 nu p); ``g = 1`` would be the mean field;
* ``periodic: maxent, all``: the same start on periodic simulations (the RBM's
  own geometry), errors against those simulations with pairs counted periodically.

The last row, ``sampling error``, is the relative standard error of the
simulation means, the floor no model can beat. Takes 5-15 minutes on 2 cores
(``--no-training`` skips the two Algorithm 1 runs).

``--ceiling`` adds a static experiment: can the RBM of eq. (44) hold the
simulations' pairs at all? At every 20th step it starts from the MaxEnt biases
and ``W = 0.05`` and raises the three weights in small steps towards the
simulations' like pairs (A,A), (B,B), (C,C) while the biases keep the means
(a damped fixed-point iteration on 50 samples of 25 sweeps), printing the errors
every 4 iterations, until the sampled model condenses.

Run: ``NUMBA_NUM_THREADS=1 python benchmarks/rossler_closure.py``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import dbmtools as dbm
from dbmtools.rossler3d import (
    MOMENT_NAMES,
    fit_rhs_to_path,
    lattice_moments,
    maxent_path,
    relative_rms_error,
    solve_pair_closure,
)

SEED, SHAPE, DT, N_STEPS, N_SIMS, HORIZON = 2019, (10, 10, 10), 0.01, 500, 300, 110
NAMES = ["b_A", "b_B", "b_C", "W_AX", "W_BY", "W_CZ", "b_X", "b_Y", "b_Z"]
PAPER_LR = [0.8] * 3 + [0.05] * 3 + [0.8] * 3
EVERY = np.arange(0, N_STEPS + 1, 5)
N_BONDS = 2700  # inside the 10 x 10 x 10 box with walls
SPANS = {"t<=1.1": EVERY <= HORIZON, "t>1.1": EVERY > HORIZON, "all": EVERY >= 0}


def simulate(boundary: str) -> np.ndarray:
    starts = np.stack(
        [dbm.random_state(SHAPE, counts=[200] * 3, seed=[SEED, 0, k]) for k in range(N_SIMS)]
    )
    ens = dbm.simulate_ensemble(
        starts,
        dbm.rossler(),
        n_steps=N_STEPS,
        dt=DT,
        dim=3,
        seed=[SEED, 1],
        boundary=boundary,
        progress=False,
    )
    return ens.states


def maxent_ode(mean_counts: np.ndarray, n_fit: int) -> dbm.ParameterODE:
    """The data-driven start: cells of 0.2 around the MaxEnt path of the first ``n_fit`` times."""
    path = maxent_path(mean_counts[:n_fit, :3])
    theta0 = dbm.rbm.rossler_initial_params()
    half = np.abs(path[:, :3] - theta0[:3]).max(0) + 0.5
    lower, upper = dbm.dynamics.centred_domain(theta0[:3], 0.2, half)
    ode = dbm.ParameterODE(NAMES, NAMES[:3], lower, upper, 0.2, dt=DT, n_substeps=10)
    fit_rhs_to_path(ode, path, width=0.03, relaxation_time=0.1, seed=[SEED, 9])
    return ode


def sampled(theta: np.ndarray, boundary: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean moments (6) of the model at EVERY, and its pair correlations g (3 x 3)."""
    visible = dbm.sample_rossler(theta[EVERY], n_chains=100, n_sweeps=25, seed=[SEED, 6])[0]
    pairs = dbm.pair_counts(visible, dim=3, n_species=3, boundary=boundary).mean(1)
    counts = dbm.counts(visible, dim=3, n_species=3)
    n_bonds = 3000 if boundary == "periodic" else N_BONDS
    mixed = dbm.theory.random_mixing_pairs(counts, n_sites=1000, n_bonds=n_bonds).mean(1)
    return lattice_moments(visible, boundary=boundary).mean(1), pairs / mixed


def model_ratios(g: np.ndarray, ratios_at: np.ndarray) -> np.ndarray:
    """The correlations g at EVERY, linearly interpolated to every data time."""
    t = ratios_at[EVERY]
    return np.stack(
        [np.stack([np.interp(ratios_at, t, g[:, a, b]) for b in range(3)], -1) for a in range(3)],
        -2,
    )


def row(label: str, model: np.ndarray, data: np.ndarray) -> None:
    for span, rows in SPANS.items():
        err = relative_rms_error(model[rows], data[rows])
        cells = "".join("      -" if np.isnan(x) else f"{x:7.3f}" for x in err)
        print(f"{label:28s} {span:7s}{cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-training", action="store_true", help="skip Algorithm 1 runs")
    parser.add_argument("--ceiling", action="store_true", help="also the static pair match")
    args = parser.parse_args()
    net = dbm.rossler()
    theta0 = dbm.rbm.rossler_initial_params()
    states = simulate("reflecting")
    moments = lattice_moments(states)
    mu = moments.mean(0)
    data = mu[EVERY]
    se = moments[:, EVERY].std(0, ddof=1) / np.sqrt(N_SIMS)
    print(" " * 36 + "".join(f"{n:>7s}" for n in MOMENT_NAMES))

    times = np.arange(N_STEPS + 1) * DT
    mf = dbm.theory.solve_mean_field(
        net, [200, 200, 200], times, dt=DT, shape=SHAPE, boundary="reflecting"
    )[EVERY]
    n_bonds = int((dbm.bond_table(SHAPE, "reflecting") >= 0).sum())
    mixed = dbm.theory.random_mixing_pairs(mf, n_sites=1000, n_bonds=n_bonds)
    row("mean field", np.column_stack([mf, mixed[:, 1, 1], mixed[:, 2, 2], mixed[:, 0, 1]]), data)

    row("untrained (F = 0)", sampled(np.tile(theta0, (N_STEPS + 1, 1)), "reflecting")[0], data)

    if not args.no_training:
        lower, upper = dbm.dynamics.centred_domain(theta0[:3], 0.1, 1.5)
        ode = dbm.ParameterODE(NAMES, NAMES[:3], lower, upper, 0.1, dt=DT, n_substeps=10)
        problem = dbm.RosslerMoments(states[:, : HORIZON + 1], n_chains=1, cd_k=10)
        t0 = time.perf_counter()
        dbm.train(
            ode,
            problem,
            n_iter=10_000,
            lr=PAPER_LR,
            window=10,
            shift_every=100,
            seed=[SEED, 4],
            progress=False,
        )
        label = f"paper ({time.perf_counter() - t0:.0f} s)"
        row(label, sampled(dbm.predict(ode, theta0, N_STEPS), "reflecting")[0], data)

    ode = maxent_ode(mu, HORIZON + 1)
    row("maxent, t<=1.1", sampled(dbm.predict(ode, theta0, N_STEPS), "reflecting")[0], data)

    t0 = time.perf_counter()
    ode = maxent_ode(mu, N_STEPS + 1)
    label = f"maxent, all ({time.perf_counter() - t0:.1f} s)"
    theta = dbm.predict(ode, theta0, N_STEPS)
    learned, pairs = sampled(theta, "reflecting")  # pairs: the model's correlations g
    row(label, learned, data)

    if not args.no_training:
        problem = dbm.RosslerMoments(states, n_chains=1, cd_k=10)
        t0 = time.perf_counter()
        dbm.train(
            ode,
            problem,
            n_iter=9_800,
            lr=PAPER_LR,
            window=10,
            shift_every=20,
            seed=[SEED, 4],
            progress=False,
        )
        label = f"maxent + alg. 1 ({time.perf_counter() - t0:.0f} s)"
        row(label, sampled(dbm.predict(ode, theta0, N_STEPS), "reflecting")[0], data)

    closed = solve_pair_closure(
        net,
        [200.0] * 3,
        model_ratios(pairs, ratios_at=times),
        dt=DT,
        n_sites=1000,
        n_bonds=N_BONDS,
    )[EVERY]
    row("eq. 43 + model's g", np.column_stack([closed, np.full((EVERY.size, 3), np.nan)]), data)

    periodic = simulate("periodic")
    pm = lattice_moments(periodic, boundary="periodic")
    ode = maxent_ode(pm.mean(0), N_STEPS + 1)
    model = sampled(dbm.predict(ode, theta0, N_STEPS), "periodic")[0]
    row("periodic: maxent, all", model, pm.mean(0)[EVERY])

    for span, rows in SPANS.items():
        rel = np.sqrt((se[rows] ** 2).mean(0)) / np.abs(data[rows]).mean(0)
        print(f"{'sampling error (300 sims)':28s} {span:7s}" + "".join(f"{x:7.3f}" for x in rel))
    if args.ceiling:
        pair_ceiling(states, mu)


def pair_ceiling(states: np.ndarray, mu: np.ndarray, n_iter: int = 40) -> None:
    """Static fits at every 20th step: weights raised towards the like pairs, means held."""
    at = np.arange(0, N_STEPS + 1, 20)
    pairs = dbm.pair_counts(states[:, at], dim=3, n_species=3, boundary="reflecting").mean(0)
    like = np.stack([pairs[:, k, k] for k in range(3)], 1)
    theta = maxent_path(mu[at, :3])
    theta[:, 3:6] = 0.05
    print("\nstatic pair match at every 20th step (relative RMS error over those times)")
    print(
        f"{'iteration, largest W':28s} {'':7s}"
        + "".join(f"{n:>7s}" for n in MOMENT_NAMES)
        + "     AA"
    )
    for it in range(n_iter):
        visible = dbm.sample_rossler(theta, n_chains=50, n_sweeps=25, seed=[SEED, 11, it])[0]
        model = lattice_moments(visible).mean(1)
        p = dbm.pair_counts(visible, dim=3, n_species=3, boundary="reflecting").mean(1)
        model_like = np.stack([p[:, k, k] for k in range(3)], 1)
        if it % 4 == 0:
            err = relative_rms_error(model, mu[at])
            aa = relative_rms_error(model_like[:, :1], like[:, :1])[0]
            label = f"{it:3d}, W <= {theta[:, 3:6].max():.2f}"
            print(
                f"{label:28s} {'':7s}" + "".join(f"{x:7.3f}" for x in err) + f"{aa:7.3f}",
                flush=True,
            )
        theta[:, :3] += np.clip(0.8 * np.log(mu[at, :3] / model[:, :3]), -0.3, 0.3)
        theta[:, 3:6] += np.clip(0.05 * np.log(like / model_like), -0.015, 0.015)


if __name__ == "__main__":
    main()

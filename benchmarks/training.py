"""Cost of Algorithm 1 for the 1D annihilation models, and the whole section IV A (issue 5).

Prints:

* milliseconds per optimisation step of the fully visible (b, J, K) model and
  of the hidden (b, W, b') model: window 5, one condition with a batch of 10
  lattices (L = 1000), CD-1, SGD, Hermite cells 0.5^3 and 0.5 x 0.5 x 0.05;
* the wall time of every stage of the paper-scale section IV A run (50
  training conditions x 50 lattices x 200 steps, 190 sweeps = 9,500 steps per
  model, a test set of 20 conditions) and the test RMSE of the 3rd- and
  4th-order chain moments. The authors' code: 0.09 s and 0.07 s per step,
  15 and 11 minutes per training. Budget (DESIGN.md section 4 / issue 5): a
  few ms per step; the whole section under 3 minutes on 2 cores.

* milliseconds per Rössler optimisation step (issue 6: window 10, CD-10 from
  random starts, 10 substeps, cells 0.1, 9 x 262,144 coefficients) at batch 1
  and batch 5, over the first 2,000 steps of the paper's schedule (tau 0..19),
  and the cost of one Gibbs sweep of the 10^3 + 10^3 units per neighbour read
  (16,000 reads a sweep). The authors' code: 0.14 s per step at batch 1.
  Budget: < 10 ms per step at batch 1.

Run: ``python benchmarks/training.py`` (``--steps-only`` skips the full run).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import dbmtools as dbm
from dbmtools.annihilation1d import (
    annihilation_data,
    closure_moments,
    fit_hidden_initial,
    learn_closures,
)
from dbmtools.dynamics import ParameterODE, centred_domain, train
from dbmtools.estimators import HiddenMoments, IsingMoments, RosslerMoments
from dbmtools.rossler3d import sample_rossler
from dbmtools.theory import closure_rmse


def step_cost(n_steps: int = 400) -> dict:
    """ms per Algorithm 1 step on synthetic lattices (the cost does not depend on the data)."""
    rng = np.random.default_rng(0)
    n_traj, n_lat, n_times, L = 4, 20, 201, 1000
    data = (rng.random((n_traj, n_lat, n_times, L)) < 0.3).astype(np.int8)
    th0 = rng.uniform(-0.5, 0.5, (n_traj, 3))
    out = {}
    for name, cls, names, lo, hi, cell in (
        ("visible (b, J, K)", IsingMoments, ("b", "J", "K"), [-4, -2, -2], [2, 2, 2], 0.5),
        (
            "hidden (b, W, b')",
            HiddenMoments,
            ("b", "W", "b'"),
            [-4, -3, -5],
            [2, 4, 2],
            [0.5, 0.5, 0.05],
        ),
    ):
        problem = cls(data, th0, n_chains=10, cd_k=1)
        ode = ParameterODE(names, [0, 1, 2], lo, hi, cell, dt=0.01)
        kw = dict(lr=1e-9, window=5, seed=0, progress=False)
        train(ode, problem, n_iter=5, **kw)  # warm-up (compilation)
        best = np.inf
        for shift in (1, 2, 4):  # windows late in the data: forward solves up to 200 steps
            t0 = time.perf_counter()
            train(ode, problem, n_iter=n_steps, shift_every=shift, **kw)
            best = min(best, (time.perf_counter() - t0) / n_steps)
        out[name] = (best * 1e3, ode.n_dofs)
    return out


def rossler_step_cost(n_steps: int = 2000) -> dict:
    """ms per Rössler step at batch 1 and 5 (the paper's schedule, tau 0..n_steps/100)."""
    s0 = np.stack(
        [dbm.random_state((10, 10, 10), counts=[200, 200, 200], seed=k) for k in range(20)]
    )
    ens = dbm.simulate_ensemble(
        s0,
        dbm.rossler(),
        n_steps=n_steps // 100 + 11,
        dt=0.01,
        dim=3,
        seed=1,
        boundary="reflecting",
        progress=False,
    )
    out = {}
    for batch in (1, 5):
        problem = RosslerMoments(ens.states, n_chains=batch, cd_k=10)
        lo, hi = centred_domain(problem.initial_theta[0, :3], 0.1, 1.5)
        ode = ParameterODE(
            [f"p{k}" for k in range(9)], [0, 1, 2], lo, hi, 0.1, dt=0.01, n_substeps=10
        )
        kw = dict(
            lr=[0.8] * 3 + [0.05] * 3 + [0.8] * 3,
            window=10,
            shift_every=100,
            seed=0,
            progress=False,
        )
        train(ode, problem, n_iter=5, **kw)  # compilation
        ode.coeffs = np.zeros_like(ode.coeffs)
        t0 = time.perf_counter()
        train(ode, problem, n_iter=n_steps, **kw)
        out[batch] = (time.perf_counter() - t0) / n_steps * 1e3
    return out


def gibbs_sweep_cost(n_sweeps: int = 2000) -> float:
    """ns per neighbour read of one Gibbs sweep (H | V then V | H: 16,000 reads)."""
    theta = dbm.rbm.rossler_initial_params()
    sample_rossler(theta, n_chains=1, n_sweeps=2)  # compilation
    t0 = time.perf_counter()
    sample_rossler(theta, n_chains=1, n_sweeps=n_sweeps)
    return (time.perf_counter() - t0) / n_sweeps / 16_000 * 1e9


def full_run(seed: int = 2019) -> None:
    stages = {}
    t0 = time.perf_counter()
    train_set = annihilation_data(50, seed=[seed, 0], progress=False)
    stages["training data (2,500 simulations)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    test_set = annihilation_data(20, seed=[seed, 1], progress=False)
    stages["test data (1,000 simulations)"] = time.perf_counter() - t0
    run = learn_closures(train_set, seed=[seed, 2], progress=False)
    stages.update(run.seconds)
    t0 = time.perf_counter()
    h_test = fit_hidden_initial(test_set.states[:, :, 0], seed=[seed, 3], progress=False)
    res = closure_moments(run, test_set, hidden_initial=h_test)
    stages["test evaluation"] = time.perf_counter() - t0
    total = sum(stages.values())
    print("\nsection IV A at the paper's scale (wall seconds):")
    for k, v in stages.items():
        print(f"  {k:40s} {v:7.1f}")
    print(f"  {'total':40s} {total:7.1f}   (budget 180 s)")
    for name in ("visible", "hidden"):
        fit = getattr(run, f"{name}_fit")
        n = fit.n_iter
        print(
            f"  {name}: {n} steps, {run.seconds[f'{name} training'] / n * 1e3:.2f} ms/step, "
            f"moment mismatch first/last 5%: {fit.loss_history[: n // 20].mean():.1f} / "
            f"{fit.loss_history[-(n // 20) :].mean():.1f}"
        )
    print("\ntest RMSE of the chain moments (raw sums, L = 1000), mean over time:")
    for name in ("visible", "hidden"):
        e = closure_rmse(res[name], res["simulation"])
        print(
            f"  {name:8s} order 3: {e[:, 2].mean():7.2f}   order 4: {e[:, 3].mean():7.2f}"
            f"   (t = 0: {e[0, 2]:.2f}, {e[0, 3]:.2f}; t = 2: {e[-1, 2]:.2f}, {e[-1, 3]:.2f})"
        )


if __name__ == "__main__":
    print("ms per Algorithm 1 step (window 5, batch 10 lattices of L = 1000, CD-1, SGD):")
    for name, (ms, n_dofs) in step_cost().items():
        print(f"  {name:20s} {ms:6.2f} ms   ({n_dofs} Hermite coefficients per F)")
    print("ms per Rössler step (window 10, CD-10 from random starts, 9 x 262,144 coefficients):")
    for batch, ms in rossler_step_cost().items():
        note = "authors: 140 ms; budget 10 ms" if batch == 1 else "both cores over the window"
        print(f"  batch {batch}: {ms:6.2f} ms   ({note})")
    ns = gibbs_sweep_cost()
    print(
        f"  one Gibbs sweep of 10^3 + 10^3 units: {ns * 16:.1f} us = {ns:.2f} ns per "
        "neighbour read (16,000 reads)"
    )
    if "--steps-only" not in sys.argv:
        full_run()

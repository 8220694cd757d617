"""Ablation of the learned 1D closures (issue 12): where the error comes from, what helps.

Every row is evaluated on the same held-out test set (20 conditions x 50 lattices,
seed [2019, 2], notebook 05): time-mean RMSE of the 3rd- and 4th-order chain
moments over t = 0, 0.1, ..., 2, the order-3 RMSE at single times, and its means
over t <= 1 (the paper's training horizon) and t > 1.

Rows (paper's regime, p = 0.01, every particle hops every step):

* the classical closures of (36) (mean field, pair approximation), the MaxEnt
  closure (the model's own moments close the first three lines of (36), ``F =
  Cov^-1 dmu/dt``) and the sampling error of the test means;
* the paper-faithful Algorithm 1 run (50 x 50 training lattices, F = 0 start,
  paper schedule), visible and hidden, with the error split by covered /
  uncovered start cells;
* the data-driven closure (MaxEnt fits of every training ensemble, F by
  penalised least squares, roughness weight chosen on a validation split of the
  training conditions) on the paper's 50 training conditions, without and with
  the first-step map; on 200 conditions; refined by Algorithm 1; with the MaxEnt
  closure as prior;
* hidden against visible with the same improved training (200 conditions,
  first-step map, roughness chosen on the same validation split): the visible
  ``(b, J, K)`` row above, the ``(b, J)`` family with ``K = 0`` (no three-site
  term), and ``(b, J)`` with ``J >= 0``, the family of the hidden model's (39)
  visible marginal (``dbm.rbm.effective_ising``: bulk bias ``b_eff``, coupling
  ``J_eff >= 0``, no three-site term; its open-chain moments depend on
  ``(b, W, b')`` only through these two up to its two end sites, an O(1)
  correction to raw sums of L = 1000 sites). Every MaxEnt ``(b, J)`` fit with
  ``J < 0`` is projected onto ``J = 0`` by maximum likelihood (the density
  matched alone, ``dbm.closures.project_nonneg_coupling``), and the integrated
  ``J`` is clipped at 0 where the moments are read. The first and last of
  these three rows separate "no K" from "J >= 0". Each is split by the sign of
  the test starts' MaxEnt ``J`` at t = 0, and followed by the family's own fit
  of the test ensembles at every time (what it can represent, no dynamics).

Then the diffusion-limited regime (p = 1, hop probability 0.1): the density of
the half-filled random start against the exact result, and the moments of a
random test set, for mean field, the pair approximation, the MaxEnt closure and
the learned (b, J) closure.

Run from the repository root (several minutes on 2 cores)::

    NUMBA_NUM_THREADS=1 python benchmarks/closures.py          # the full table
    NUMBA_NUM_THREADS=1 python benchmarks/closures.py --quick  # smaller, for development
    NUMBA_NUM_THREADS=1 python benchmarks/closures.py --hidden # classical + hidden-vs-visible rows
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import dbmtools as dbm
from dbmtools import annihilation1d as a1d

SEED = 2019


def _row(name, model, sim, seconds=None):
    e = dbm.theory.closure_rmse(model, sim)
    times = np.arange(e.shape[0]) * 0.1
    early, late = times <= 1.0 + 1e-9, times > 1.0 + 1e-9
    row = {
        "name": name,
        "o3": e[:, 2].mean(),
        "o4": e[:, 3].mean(),
        "t0": e[0, 2],
        "t0.1": e[1, 2],
        "t1": e[10, 2],
        "t2": e[-1, 2],
        "t<=1": e[early, 2].mean(),
        "t>1": e[late, 2].mean(),
        "s": seconds,
    }
    print("row:", _format(row), flush=True)  # progress, in case the run is stopped early
    return row


def _format(r):
    s = "" if r["s"] is None else f"{r['s']:.0f}"
    return (
        f"| {r['name']} | {r['o3']:.2f} | {r['o4']:.2f} | {r['t0']:.2f} | {r['t0.1']:.2f} | "
        f"{r['t1']:.2f} | {r['t2']:.2f} | {r['t<=1']:.2f} | {r['t>1']:.2f} | {s} |"
    )


def _print(rows, title):
    print(f"\n{title}\n")
    head = "| closure | order 3 | order 4 | t=0 | t=0.1 | t=1 | t=2 | t<=1 | t>1 | seconds |"
    print(head)
    print("|" + "---|" * 10)
    for r in rows:
        print(_format(r))


def _families(big, test, sim, rows, visible=True) -> None:
    """The hidden-vs-visible rows: (b, J, K) (if ``visible``), (b, J) with K = 0, J >= 0."""
    n = big.initial_theta.shape[0]
    anti = a1d.closure_initial_theta(test, 2)[:, 1] < 0  # starts the J >= 0 family cannot match
    for n_params, nonneg, label in (
        (3, False, "visible (b, J, K)"),
        (2, False, "(b, J), K = 0"),
        (2, True, "(b, J >= 0), K = 0: hidden model's family"),
    )[(0 if visible else 1) :]:
        run = a1d.learn_data_closure(big, n_params=n_params, nonneg_coupling=nonneg, seed=[SEED, 3])
        r = a1d.data_closure_moments(run, test)
        rows.append(
            _row(
                f"data-driven F, {n} x 20 conditions, first-step map, {label} "
                f"(roughness {run.roughness:g})",
                r["model"],
                sim,
                run.seconds,
            )
        )
        for flag, what in ((anti, "J < 0"), (~anti, "J >= 0")):
            rows.append(
                _row(
                    f"  {flag.sum()} test starts with MaxEnt (b, J) at t = 0 having {what}",
                    r["model"][flag],
                    sim[flag],
                )
            )
        # the family's own fit of the test ensembles at every evaluation time: what it can
        # represent, with no dynamics (orders 1 to n_params exact, except where J is projected)
        every = np.arange(0, test.n_times, 10)
        m = dbm.chain_moments(
            test.states[:, :, every], max_order=n_params, boundary="reflecting"
        ).mean(1)
        fit = dbm.closures.maxent_trajectories(
            m, run.n_sites, a1d.closure_initial_theta(test, n_params), tol=1e-4
        ).params
        if nonneg:
            fit = dbm.closures.project_nonneg_coupling(fit, m[..., 0], run.n_sites)
        if n_params == 2:
            fit = np.concatenate([fit, np.zeros((*fit.shape[:-1], 1))], -1)
        rows.append(
            _row(
                "  its fit of the test ensembles themselves (no dynamics)",
                dbm.ising.exact_chain_moments(fit, run.n_sites, 4),
                sim,
            )
        )
        if n_params == 2:
            th0 = a1d.closure_initial_theta(test, 2, nonneg_coupling=nonneg)
            print(
                f"  {label}: {int((th0[:, 1] < 0).sum())} of {len(th0)} test starts with "
                f"J < 0; min J along the test trajectories {r['theta'][..., 1].min():.4f}; "
                f"validation errors { ({k: round(v, 3) for k, v in run.validation.items()}) }",
                flush=True,
            )
            if nonneg:
                raw = dbm.ising.exact_chain_moments(
                    np.concatenate([r["theta"], np.zeros((*r["theta"].shape[:-1], 1))], -1),
                    run.n_sites,
                    4,
                )
                e = dbm.theory.closure_rmse(raw, sim).mean(0)
                print(f"  without clipping J at 0: order 3 {e[2]:.2f}, order 4 {e[3]:.2f}")


def paper_regime(quick: bool, hidden_only: bool = False) -> None:
    test = a1d.annihilation_data(20, seed=[SEED, 2], progress=False)
    L, dt, p = test.states.shape[-1], test.meta["dt"], test.meta["prob"]
    idx = np.arange(0, test.n_times, 10)
    sim = dbm.chain_moments(test.states[:, :, idx], max_order=4, boundary="reflecting").mean(1)
    per_lattice = dbm.chain_moments(test.states[:, :, idx], max_order=4, boundary="reflecting")
    se = dbm.theory.mean_and_sem(per_lattice, axis=1)[1]
    noise = np.sqrt((se**2).mean(0)).mean(0)
    rows = []
    for m in ("mean field", "pair"):
        c = dbm.theory.classical_closure(
            sim[:, 0, :2], L, idx * dt, k_r=p / dt, D=1 / (2 * dt), method=m
        )
        rows.append(_row(m, c, sim))
    t0 = time.perf_counter()
    me = a1d.maxent_closure_moments(test)
    rows.append(
        _row("MaxEnt closure (equations, no data)", me["model"], sim, time.perf_counter() - t0)
    )

    if hidden_only:
        big = a1d.annihilation_data(
            60 if quick else 200, n_lattices=20, seed=[SEED, 10], progress=False
        )
        _families(big, test, sim, rows)
        _print(rows, "Paper's regime, hidden against visible (test set 20 x 50, seed [2019, 2])")
        print(
            f"\nsampling error of the test means (time-mean RMS standard error): order 3 "
            f"{noise[2]:.2f}, order 4 {noise[3]:.2f}"
        )
        return
    paper = a1d.annihilation_data(50, seed=[SEED, 0], progress=False)
    if not quick:
        t0 = time.perf_counter()
        run = a1d.learn_closures(paper, seed=[SEED, 1], progress=False)
        res = a1d.closure_moments(run, test)
        secs = time.perf_counter() - t0
        for m in ("visible", "hidden"):
            rows.append(_row(f"paper-faithful {m} (baseline)", res[m], sim, secs))
            cov = res[f"{m}_covered"]
            for flag, label in ((cov, "covered"), (~cov, "uncovered")):
                if flag.any():
                    rows.append(
                        _row(f"  {m}, {flag.sum()} {label} starts", res[m][flag], sim[flag])
                    )
    for jump in (False, True):
        run = a1d.learn_data_closure(paper, jump=jump, seed=[SEED, 3])
        r = a1d.data_closure_moments(run, test)
        label = "first-step map" if jump else "no map"
        rows.append(
            _row(
                f"data-driven F, 50 x 50 paper data, {label} (roughness {run.roughness:g})",
                r["model"],
                sim,
                run.seconds,
            )
        )
    big = a1d.annihilation_data(
        60 if quick else 200, n_lattices=20, seed=[SEED, 10], progress=False
    )
    run = a1d.learn_data_closure(big, seed=[SEED, 3])
    r = a1d.data_closure_moments(run, test)
    n = big.initial_theta.shape[0]
    rows.append(
        _row(
            f"data-driven F, {n} x 20 conditions, first-step map (roughness {run.roughness:g})",
            r["model"],
            sim,
            run.seconds,
        )
    )
    print(
        "validation errors by roughness weight:",
        {k: round(v, 3) for k, v in run.validation.items()},
    )
    refine = a1d.learn_data_closure(big, seed=[SEED, 3], refine_iter=200 if quick else 1000)
    r = a1d.data_closure_moments(refine, test)
    res_h = refine.refine
    rows.append(
        _row(
            f"  + Algorithm 1 (Adam, whole horizon, early stopping at step {res_h.best_step})",
            r["model"],
            sim,
            refine.seconds,
        )
    )
    k_r, D = p / dt, 1 / (2 * dt)
    prior = a1d.learn_data_closure(
        big, seed=[SEED, 3], prior=lambda th: dbm.closures.maxent_closure_rhs(th, L, k_r=k_r, D=D)
    )
    r = a1d.data_closure_moments(prior, test)
    rows.append(
        _row(
            f"  MaxEnt closure as prior + data correction (roughness {prior.roughness:g})",
            r["model"],
            sim,
            prior.seconds,
        )
    )
    _families(big, test, sim, rows, visible=False)  # its (b, J, K) row is the 200 x 20 one above
    _print(
        rows,
        "Paper's regime (p = 0.01, hop every step), test set 20 x 50, seed [2019, 2]. "
        "Time-mean RMSE of raw chain moments; t = ... columns: order 3.",
    )
    print(
        f"\nsampling error of the test means (time-mean RMS standard error): order 3 "
        f"{noise[2]:.2f}, order 4 {noise[3]:.2f}"
    )


def diffusion_limited(quick: bool) -> None:
    kw = {"prob": 1.0, "hop_prob": 0.1}
    dt = 0.01
    nu = dbm.hop_rate(dt, 1, hop_prob=kw["hop_prob"])
    k_r, D = 2 * nu * kw["prob"], nu
    train = a1d.annihilation_data(
        60 if quick else 200, n_lattices=20, seed=[SEED, 20], progress=False, **kw
    )
    test = a1d.annihilation_data(20, seed=[SEED, 21], progress=False, **kw)
    half = a1d.annihilation_data(
        1, n_lattices=100, theta_range=0.0, seed=[SEED, 22], progress=False, **kw
    )
    L = test.states.shape[-1]
    run = a1d.learn_data_closure(train, n_params=2, jump=False, seed=[SEED, 23])
    print(
        "\nDiffusion-limited regime (p = 1, hop probability 0.1, nu = 5): learned (b, J) "
        f"closure, roughness {run.roughness:g}, {run.seconds:.0f} s"
    )
    models = {}
    for name, data in (("test", test), ("half", half)):
        r = a1d.data_closure_moments(run, data)
        sim, times = r["simulation"], r["times"]
        m0 = sim[:, 0, :2]
        out = {"learned (b, J)": r["model"]}
        for m in ("mean field", "pair"):
            out[m] = dbm.theory.classical_closure(m0, L, times, k_r=k_r, D=D, method=m)
        try:
            out["MaxEnt closure"] = a1d.maxent_closure_moments(data)["model"]
        except (ValueError, np.linalg.LinAlgError) as err:
            print(f"MaxEnt closure failed on {name}: {err}")
        models[name] = (out, sim, times)
    out, sim, times = models["half"]
    exact = dbm.theory.annihilation_density_exact(times, nu)
    window = times >= 0.1
    print(
        "\n| closure | density rel. error, t in [0.1, 2] (half-filled start) | at t = 2 |"
        " order 1 | order 2 | order 3 | order 4 (random test set, time-mean RMSE) |"
    )
    print("|---|---|---|---|---|---|---|")
    per_lattice = half.states[0, :, ::10].sum(-1) / L
    sem = per_lattice.std(0, ddof=1) / np.sqrt(per_lattice.shape[0])
    sim_err = np.abs(sim[0, :, 0] / L - exact) / exact
    for m, mom in out.items():
        rho = mom[0, :, 0] / L
        rel = np.abs(rho - exact) / exact
        et = (
            dbm.theory.closure_rmse(models["test"][0][m], models["test"][1]).mean(0)
            if m in models["test"][0]
            else np.full(4, np.nan)
        )
        print(
            f"| {m} | {rel[window].mean():.3f} | {rel[-1]:.3f} | {et[0]:.2f} | {et[1]:.2f} | "
            f"{et[2]:.3f} | {et[3]:.4f} |"
        )
    print(
        f"| simulation (100 lattices) | {sim_err[window].mean():.3f} | {sim_err[-1]:.3f} | | | | |"
    )
    print(
        f"relative standard error of the simulated density, time mean over t in [0.1, 2]: "
        f"{(sem / exact)[window].mean():.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller training sets")
    ap.add_argument(
        "--hidden",
        action="store_true",
        help="only the classical rows and the hidden-vs-visible rows",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    paper_regime(args.quick, hidden_only=args.hidden)
    if not args.hidden:
        diffusion_limited(args.quick)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

"""Throughput of the lattice simulator (DESIGN.md section 4; issues 2 and 16).

Prints hop attempts per second and milliseconds per trajectory for

* the paper's 1D workload: L = 1000, half filled, A + A -> 0 with p = 0.01,
  dt = 0.01, 200 steps, reflecting boundaries (REFERENCE_NOTES section 2);
* the Rössler 10^3 lattice: 200 each of A, B, C, 500 steps (section 3);
* the paper's 1D ensemble, 2,500 trajectories on all cores;
* ``simulate`` of one 1D paper trajectory at 1 and 2 numba threads, on an idle
  machine and with both cores taken by busy loops (issue 16, item 8);
* a 10^6-site 3D lattice (100^3, the Rössler network at the paper's densities)
  with counts and pair counts recorded on the fly every step, in bounded memory
  (issue 16, item 3). By default it runs ``--big-steps 200`` steps and
  extrapolates to 10^4; ``--big-steps 10000`` runs them all.

Run: ``python benchmarks/simulator.py [--big-steps N] [--skip-big]`` (the first
run compiles and caches the kernels; timings are taken after a warm-up call).

``python benchmarks/simulator.py --cost --big-steps 100`` prints only the cost
of a hop attempt, one thread, at both lattice sizes, with and without counts
and pairs recorded every step (medians), then where a step's time goes. On the
2-core development machine, quiet, "before" the kernels of commit 7866f07,
"after" the packed kernels of ``dbmtools/_ssa.py`` (same random stream, same
results bit for bit):

======================  ======  ===================  ==========  ==========
workload (1 thread)     steps   recording            before, ns  after, ns
                                                     per hop     per hop
======================  ======  ===================  ==========  ==========
1D A+A->0, L=1000       200     first/last lattice   20.5        18.8
1D A+A->0, L=1000       200     counts+pairs/step    30.8        25.0
Rossler 10^3            500     first/last lattice   44.0        40.6
Rossler 10^3            500     counts+pairs/step    79.4        49.5
Rossler 100^3           100     first/last lattice   193.1       91.3
Rossler 100^3           100     counts+pairs/step    203.9       83.7
======================  ======  ===================  ==========  ==========

(Rossler 10^3, first/last lattice: 14.97 ms before, 13.79 ms after; Rossler
100^3 recorded: 4.9e6 hop attempts/s before, 1.19e7 after.) Where the time of
a recorded step goes after (ns per hop attempt): 10^3: unimolecular clock 12.7,
sweep with its shuffle 21.9, pair count 5.6; 100^3: 21-38, 33-40 and 6.5 over
repeated runs. On the big lattice both phases wait for memory: the sweep
prefetches its movers' data 32 movers ahead, but a unimolecular event's random
particle is known only when its draw is made.

Figures measured on the 2-core development machine for issue 16 (medians of 200
calls of ``simulate``, one 1D paper trajectory; "before" is commit 638e836, run
side by side with "after" while other jobs kept the machine at a load of 2-4, so
single figures vary by about +-50%):

=========================================  ================  ===============
``simulate``, one 1D paper trajectory      before            after
=========================================  ================  ===============
1 thread, quiet machine (load < 0.5)       1.00 ms           1.0 ms
2 threads, quiet machine                   0.99 ms           1.0 ms
1 thread, other jobs running               1.1 - 1.5 ms      1.1 - 1.5 ms
2 threads, other jobs running              7.8 - 16 ms       1.1 - 1.6 ms
1 thread, plus 2 busy loops                1.6 - 1.9 ms      1.3 - 3.1 ms
2 threads, plus 2 busy loops               8.0 - 16 ms       1.3 - 6.0 ms
=========================================  ================  ===============

"Before" ran a single sample inside numba's parallel region, whose second
thread only waits (and whose threads wait for each other when the cores are
busy); "after" runs it in the calling thread, with the same kernel and the same
numbers. The 10^6-site lattice (Rössler at the paper's densities, 100^3,
reflecting, counts and pairs every step) took 177 ms a step over 1,000 steps
(3.5e6 hop attempts/s), so 10^4 steps take about 30 min (extrapolated, not
run), with a peak RSS of 315 MiB for the whole process; recording the lattice
every step instead would need 9.3 GiB.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
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
            dim=state.ndim,
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


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def single_simulate(busy: int) -> None:
    """Median time of ``simulate`` (one 1D paper trajectory) at 1 and 2 threads,
    with ``busy`` processes spinning on the other cores meanwhile."""
    state = dbm.random_state(1000, densities=[0.5], seed=0)
    net = dbm.annihilation(0.01)
    kw = dict(n_steps=200, dt=0.01, seed=1, boundary="reflecting")
    dbm.simulate(state, net, **kw)
    stop = mp.Event()
    spinners = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(busy)]
    for p in spinners:
        p.start()
    try:
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            times = []
            for _ in range(200):
                t0 = time.perf_counter()
                dbm.simulate(state, net, **kw)
                times.append(time.perf_counter() - t0)
            print(
                f"{'simulate, 1D paper trajectory':<34} {np.median(times) * 1e3:8.2f} ms median "
                f"({threads} thread{'s' if threads > 1 else ''}, {busy} busy loops)"
            )
    finally:
        stop.set()
        for p in spinners:
            p.join()


def big_lattice(n_steps: int, target: int = 10_000) -> None:
    """A 100^3 Rössler lattice, counts and pair counts recorded every step."""
    state = dbm.random_state((100, 100, 100), counts=[200_000] * 3, seed=0)
    net = dbm.rossler()
    kw = dict(dt=0.01, dim=3, seed=1, boundary="reflecting", record=["counts", "pair_counts"])
    dbm.simulate(state, net, n_steps=1, **kw)  # warm-up
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    t0 = time.perf_counter()
    m = dbm.simulate(state, net, n_steps=n_steps, **kw)
    seconds = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    hops = int(m.counts()[:-1].sum())
    stored = (target + 1) * state.size / 2**30
    kept = sum(v.nbytes for v in m.moments.values()) * (target + 1) / (n_steps + 1) / 2**20
    note = "" if n_steps == target else f", extrapolated from {n_steps} steps"
    print(
        f"{'Rossler 100^3 (10^6 sites), moments':<34} {seconds / n_steps * 1e3:8.1f} ms/step  "
        f"{hops / seconds:10.3g} hop attempts/s; {target} steps: "
        f"{seconds / n_steps * target / 60:.1f} min{note}\n"
        f"{'':<34} peak RSS {rss1:.0f} MiB (before the run {rss0:.0f} MiB); the {target + 1} "
        f"records of counts and pairs take {kept:.1f} MiB, the lattices would take "
        f"{stored:.1f} GiB"
    )


COST_WORKLOADS = {
    # name: (state, network, steps at 1 thread, repeats)
    "1D A+A->0, L=1000": (
        lambda: dbm.random_state(1000, densities=[0.5], seed=0),
        lambda: dbm.annihilation(0.01),
        200,
        7,
    ),
    "Rossler 10^3": (
        lambda: dbm.random_state((10, 10, 10), counts=[200] * 3, seed=0),
        dbm.rossler,
        500,
        7,
    ),
    "Rossler 100^3": (
        lambda: dbm.random_state((100, 100, 100), counts=[200_000] * 3, seed=0),
        dbm.rossler,
        None,
        3,
    ),
}


def _cost_row(name: str, state, net, n_steps: int, repeat: int) -> None:
    """Median time of a run that keeps only its first and last lattice
    (``record_every = n_steps``) and of one that records counts and pair
    counts every step. Both follow the same random stream, so they make the
    same hop attempts, counted from the recorded run."""
    kw = dict(n_steps=n_steps, dt=0.01, dim=state.ndim, seed=1, boundary="reflecting")
    runs = {
        "first/last lattice": dict(record_every=n_steps),
        "counts+pairs/step": dict(record=["counts", "pair_counts"]),
    }
    hops = int(dbm.simulate(state, net, record=["counts"], **kw).counts()[:-1].sum())
    for label, extra in runs.items():
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            dbm.simulate(state, net, **kw, **extra)
            times.append(time.perf_counter() - t0)
        seconds = float(np.median(times))
        print(
            f"{name:<20} {n_steps:>6} {label:<19} {seconds * 1e3:10.2f} "
            f"{hops / seconds:15.3g} {seconds / hops * 1e9:15.1f}"
        )


def cost_table(big_steps: int) -> None:
    """Nanoseconds per hop attempt, one thread, with and without on-the-fly moments."""
    numba.set_num_threads(1)
    print(
        f"{'workload (1 thread)':<20} {'steps':>6} {'recording':<19} {'ms/run':>10} "
        f"{'hop attempts/s':>15} {'ns/hop attempt':>15}"
    )
    for name, (state, net, n_steps, repeat) in COST_WORKLOADS.items():
        state, net = state(), net()
        dbm.simulate(state, net, n_steps=2, dt=0.01, dim=state.ndim, seed=1)  # compile
        _cost_row(name, state, net, n_steps or big_steps, repeat)


def phase_profile(big_steps: int) -> None:
    """Where a step's time goes: the unimolecular clock, the sweep (shuffle and
    hops) and the pair count, timed inside the kernel loop (a monotonic clock
    called from numba through ctypes, a few tens of ns a call, twice a step)."""
    import ctypes

    from dbmtools import _ssa
    from dbmtools.simulate import _prepare

    clock = ctypes.CDLL(None).clock_gettime
    clock.argtypes, clock.restype = [ctypes.c_int, ctypes.c_void_p], ctypes.c_int

    @numba.njit
    def now(buf):
        clock(1, buf.ctypes.data)  # CLOCK_MONOTONIC
        return buf[0] * 1_000_000_000 + buf[1]

    @numba.njit
    def run(w, tables, grid, rules, pairs, acc, buf):
        hops = 0
        for step in range(rules.n_steps):
            t0 = now(buf)
            _ssa._unimolecular_step(w, tables, grid, rules.dt)
            t1 = now(buf)
            for c in range(1, w.count.size):
                hops += w.count[c]
            _ssa._uniform_sweep(w, tables, grid, rules, step)
            t2 = now(buf)
            _ssa._pair_counts(w.lattice, grid, w.pair_hist, pairs)
            t3 = now(buf)
            acc[0] += t1 - t0
            acc[1] += t2 - t1
            acc[2] += t3 - t2
        return hops

    numba.set_num_threads(1)
    print(f"{'phase, ns per hop attempt':<26} {'unimolecular':>13} {'sweep':>8} {'pair count':>11}")
    for name in ("Rossler 10^3", "Rossler 100^3"):
        make_state, make_net, n_steps, _ = COST_WORKLOADS[name]
        state = make_state()
        n_steps = n_steps or big_steps
        initial, job = _prepare(
            state[None],
            make_net(),
            3,
            n_steps,
            0.01,
            "reflecting",
            1.0,
            1,
            "uniform",
            ["counts"],
            1,
        )
        pairs = np.zeros((3, 3), dtype=np.int64)
        for _ in range(2):  # the first run compiles
            acc, buf = np.zeros(3, dtype=np.int64), np.zeros(2, dtype=np.int64)
            w = _ssa.new_work(initial[0].copy(), job["tables"], job["grid"], 1)
            hops = run(w, job["tables"], job["grid"], job["rules"], pairs, acc, buf)
        uni, sweep, pair = acc / hops
        print(f"{name + f', {n_steps} steps':<26} {uni:13.1f} {sweep:8.1f} {pair:11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-steps", type=int, default=200)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument(
        "--cost", action="store_true", help="only the cost table and the phase profile"
    )
    args = parser.parse_args()
    if args.cost:
        cost_table(args.big_steps)
        phase_profile(args.big_steps)
        return

    threads = numba.config.NUMBA_NUM_THREADS
    if not args.skip_big:  # first, so that the peak RSS is this run's
        big_lattice(args.big_steps)
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
            dim=1,
            seed=2,
            boundary="reflecting",
            progress=False,
        )

    seconds, ens = _time(ensemble, repeat=2)
    print(
        f"{'paper ensemble, 2500 x 1D':<34} {seconds:8.2f} s on {threads} threads  "
        f"{_hop_attempts(ens) / seconds:10.3g} hop attempts/s"
    )
    del ens

    for busy in (0, 2):
        single_simulate(busy)
    numba.set_num_threads(threads)


if __name__ == "__main__":
    main()

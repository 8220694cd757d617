"""A learned closure of the 2D lattice Lotka-Volterra model, on held-out starting compositions.

The system of arXiv:1905.12122 (Ernst, Bartol, Sejnowski, Mjolsness, 2019;
their setup: smrfeld/ReducedLotkaVolterra, ``stoch_sims/src/main.cpp``): a
periodic 40 x 40 lattice, prey X and predators Y, ``0 -> X`` at 0.025,
``Y -> 0`` at 0.06, ``X + Y -> Y + Y`` with probability 0.4 per encounter,
dt = 1, 500 steps. Their runs all start from 100 X and 100 Y; here the starting
compositions vary, so that a closure can be learned on some and scored on
others it never saw.

Creation follows this package's default rule (``selection="uniform"``): a rate
per *empty site*, which is what mean field and the pair approximation
(:func:`dbmtools.theory.classical_moments`) integrate. The authors' tag-2.0
simulator gives ``0 -> X`` the propensity ``0.025 * max(n_X, 1)`` instead (a
birth whose child lands anywhere), which makes their oscillations; no
classical closure here models that rule, so it is not used for the comparison.

Conditions: ``--train`` starting compositions (n_X, n_Y) drawn uniformly from
[50, 250]^2 with one seed, the test compositions from the same box with another
seed; every condition is an ensemble of ``--samples`` simulations (random
placements). The family is the visible two-species lattice gas
(:class:`dbmtools.LatticeGas`, biases and the three nearest-neighbour
couplings): the maximum-entropy family of exactly the recorded counts and pair
counts. :func:`dbmtools.learn_closure` chooses its roughness on a validation
split of the training conditions; the test conditions are used only by
:func:`dbmtools.compare_closures`, which prints the table.

Measured (``python benchmarks/lotka_volterra.py``, 2 cores shared with other work;
about 4.5 minutes, most of it the ablation's 31,608-coefficient triples)::

    groups        jump    dofs  validation error per roughness
    singletons   False      74  0.001: 0.0362  0.01: 0.0321  0.1: 0.0363  1: 0.0383  10: 0.0445
    singletons    True      74  0.001: 0.0526  0.01: 0.0487  0.1: 0.0409  1: 0.0384  10: 0.0399
    pairs        False    2172  0.001: 0.0300  0.01: 0.0278  0.1: 0.0287  1: 0.0343  10: 0.0426
    pairs         True    2172  0.001: 0.0365  0.01: 0.0475  0.1: 0.0486  1: 0.0384  10: 0.0394
    triples      False   31608  0.001: 0.0303  0.01: 0.0294  0.1: 0.0284  1: 0.0334  10: 0.0432
    triples       True   31608  0.001: 0.0331  0.01: 0.0437  0.1: 0.0506  1: 0.0387  10: 0.0392
    chosen: 10 group(s) of 2, jump=False, roughness 0.01

    closure                              X         Y     (X,X)     (X,Y)     (Y,Y)
    learned                         0.0302    0.0101    0.1102    0.0231    0.0184
    mean field                      0.2253    0.0405    0.7326    0.1444    0.1370
    pair                            0.1292    0.0345    0.5101    0.1216    0.1037
    noise floor                     0.0190    0.0091    0.0496    0.0208    0.0178
    learned - mean field (95%)  [-0.227,-0.164][-0.041,-0.020][-0.725,-0.524]
                                [-0.133,-0.109][-0.123,-0.114]   (the last two columns)
    learned - pair (95%)        [-0.133,-0.067][-0.032,-0.018][-0.508,-0.302]
                                [-0.107,-0.091][-0.090,-0.081]

On the eight held-out compositions the learned closure is below both classical
closures on every column (every interval below zero), and its means are within
twice their sampling error (0.030 against 2 x 0.019; 0.010 against 2 x 0.009).
The first-step map does not help here (the lattices start random and the
MaxEnt start is the exact one of random placement, up to sampling).

Run from the repository root::

    python benchmarks/lotka_volterra.py            # the table (several minutes on 2 cores)
    python benchmarks/lotka_volterra.py --quick    # smaller, for development
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _heldout import learn_by_validation, print_ablation

import dbmtools as dbm

SHAPE = (40, 40)
NETWORK = [("0 -> X", 0.025), ("Y -> 0", 0.06), ("X + Y -> Y + Y", 0.4)]


def compositions(n: int, seed: int) -> np.ndarray:
    """``n`` starting compositions (n_X, n_Y), uniform on [50, 250]^2."""
    return np.random.default_rng(seed).integers(50, 251, size=(n, 2))


def ensembles(comps, n_samples, n_steps, record_every, seed):
    """One ensemble of ``n_samples`` random placements per composition."""
    net = dbm.Network(NETWORK, species=["X", "Y"])
    out = []
    for k, (nx, ny) in enumerate(comps):
        seeds = np.random.SeedSequence([seed, k]).spawn(n_samples + 1)
        starts = np.stack([dbm.random_state(SHAPE, counts=[nx, ny], seed=s) for s in seeds[1:]])
        out.append(
            dbm.simulate_ensemble(
                starts,
                net,
                n_steps=n_steps,
                dt=1.0,
                dim=2,
                boundary="periodic",
                record=["counts", "pair_counts"],
                record_every=record_every,
                seed=seeds[0],
                progress=False,
            )  # fmt: skip
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--train", type=int, default=16)
    parser.add_argument("--test", type=int, default=8)
    parser.add_argument("--samples", type=int, default=32)
    args = parser.parse_args()
    n_steps, every = (100, 5) if args.quick else (500, 5)
    if args.quick:
        args.train, args.test, args.samples = 8, 4, 16
    t0 = time.perf_counter()
    train_ens = ensembles(compositions(args.train, 1), args.samples, n_steps, every, 10)
    test_ens = ensembles(compositions(args.test, 2), args.samples, n_steps, every, 20)
    t1 = time.perf_counter()
    gas = dbm.LatticeGas(["X", "Y"], SHAPE, boundary="periodic")
    train = dbm.closure_data(gas, train_ens)
    test = dbm.closure_data(gas, test_ens)
    closure, rows = learn_by_validation(gas, train)
    t2 = time.perf_counter()
    result = dbm.compare_closures(closure, test, seed=0)
    t3 = time.perf_counter()
    print(f"simulated {args.train} + {args.test} conditions x {args.samples} in {t1 - t0:.1f} s;")
    print(f"learned {len(rows)} settings in {t2 - t1:.1f} s; compared in {t3 - t2:.1f} s")
    print_ablation(closure, rows)
    print(f"\nHeld-out test compositions (n_X, n_Y): {compositions(args.test, 2).tolist()}")
    print(result.table())


if __name__ == "__main__":
    main()

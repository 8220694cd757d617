"""Shared by the held-out benchmarks: closure settings chosen on validation data only."""

from __future__ import annotations

import dbmtools as dbm

ROUGHNESS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def learn_by_validation(
    family, train, groups=("singletons", "pairs", "triples"), maxent_options=None
):
    """Learn every (argument groups, first-step map) setting; keep the least validation error.

    The MaxEnt paths are fitted once and shared. Only the training conditions'
    validation split decides; the test conditions play no part. Returns the
    chosen closure and the ablation rows (groups, jump, dofs, validation dict).
    """
    rows, best, maxent = [], None, None
    for name in groups:
        g = [[k] for k in range(family.n_params)] if name == "singletons" else name
        for jump in (False, True):
            c = dbm.learn_closure(
                family, train, groups=g, roughness=ROUGHNESS, jump=jump, maxent=maxent,
                maxent_options=maxent_options, seed=0, progress=False,
            )  # fmt: skip
            maxent = c.maxent
            rows.append((name, jump, c.flow.n_dofs, c.validation))
            if best is None or c.validation[c.roughness] < best.validation[best.roughness]:
                best = c
    return best, rows


def print_ablation(closure, rows) -> None:
    """The validation errors of every setting, and the one chosen."""
    print("\nAblation (validation split of the training conditions):")
    print(f"{'groups':12s}{'jump':>6s}{'dofs':>8s}  validation error per roughness")
    for groups, jump, dofs, val in rows:
        errs = "  ".join(f"{r:g}: {v:.4f}" for r, v in val.items())
        print(f"{groups:12s}{jump!s:>6s}{dofs:>8d}  {errs}")
    g = closure.flow.groups
    print(
        f"chosen: {len(g)} group(s) of {len(g[0])}, jump={closure.jump is not None}, "
        f"roughness {closure.roughness:g}"
    )

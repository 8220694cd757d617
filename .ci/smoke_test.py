"""Smoke test of an installed dbmtools (the wheel, not the source tree).

``.ci/run`` builds the wheel, installs it into a fresh virtual environment and runs this
script with that environment's Python from outside the repository::

    /tmp/venv/bin/python .ci/smoke_test.py

It imports the package, simulates 1D annihilation A + A -> 0 on a small lattice, and runs a
few steps of Algorithm 1 (``dbmtools.train``) that fit a one-parameter model (independent
sites with bias b, mean count L sigmoid(b)) to the simulated particle counts.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

import dbmtools as dbm

SOURCE = Path(__file__).resolve().parents[1]
installed = Path(dbm.__file__).resolve()
if installed.is_relative_to(SOURCE):
    sys.exit(f"dbmtools was imported from the source tree ({installed}), not from the wheel")
for data in ("py.typed",):
    if not (installed.parent / data).is_file():
        sys.exit(f"the wheel lacks dbmtools/{data}")
# every module of the source tree is in the wheel
for path in sorted((SOURCE / "dbmtools").rglob("*.py")):
    parts = path.relative_to(SOURCE).with_suffix("").parts
    importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
print(f"dbmtools {dbm.__version__} from {installed.parent}: every module imports")

# a tiny simulation: 1D A + A -> 0, p = 1, half-filled lattice of L sites
L, N_STEPS, DT = 1000, 20, 0.01
starts = np.stack([dbm.random_state(L, densities=[0.5], seed=k) for k in range(4)])
runs = [
    dbm.simulate(s, dbm.annihilation(1.0), n_steps=N_STEPS, dt=DT, seed=10 + k)
    for k, s in enumerate(starts)
]
counts = np.stack([r.counts()[:, 0] for r in runs]).astype(float)  # (4, N_STEPS + 1)
assert counts.shape == (4, N_STEPS + 1), counts.shape
assert np.all(np.diff(counts, axis=1) <= 0), "particles appeared in A + A -> 0"
assert np.all((counts[:, :1] - counts) % 2 == 0), "particles vanished other than in pairs"
assert counts[:, -1].mean() < 0.9 * counts[:, 0].mean(), "no annihilation happened"
print(f"simulated: mean count {counts[:, 0].mean():.0f} -> {counts[:, -1].mean():.0f}")

# a training step: dtheta/dt = F(theta) for the bias theta = b of independent sites
initial = np.log(counts[:, :1] / (L - counts[:, :1]))  # (4, 1): L sigmoid(b) = count
problem = dbm.ExactMoments(
    data_moments=counts[:, :, None],
    initial_theta=initial,
    model_moments=lambda theta: L / (1 + np.exp(-theta)),
)
ode = dbm.ParameterODE(["b"], ["b"], [-5.0], [1.0], 0.5, dt=DT)  # F = 0 to start
result = dbm.train(ode, problem, n_iter=30, lr=0.1, optimizer="adam", seed=0, progress=False)
loss = np.asarray(result.loss_history)
assert loss.shape == (30,) and np.all(np.isfinite(loss)), loss
assert np.any(ode.coeffs != 0), "training did not change the model"
assert loss[-5:].mean() < loss[:5].mean(), f"training did not reduce the loss: {loss}"
print(f"trained: moment mismatch {loss[:5].mean():.1f} -> {loss[-5:].mean():.1f}")
print("smoke test passed")

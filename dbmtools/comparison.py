"""Score a learned closure against mean field and the pair approximation on held-out starts.

Every closure starts from each test condition's measured t = 0 state and runs to its
horizon; it is scored on the quantities every closure predicts, the mean species counts
and the mean nearest-neighbour pair counts, at every recorded time after the start:

* per condition and column (a species' count, or the pair count of a species pair), the
  relative RMS error ``sqrt(mean_t (model - data)^2) / mean_t |data|``;
* beside it the **noise floor**, the same quantity for the data's own standard error
  ``sqrt(mean_t sem^2) / mean_t |data|``: a closure cannot be scored more finely;
* for each baseline, the difference learned minus baseline of the condition-averaged
  errors, with a percentile **bootstrap interval over the test conditions** (paired: the
  same resampled conditions for both). "Learned beats baseline" on a column means the
  whole interval is below 0.

Mean field and the pair approximation come from :func:`dbmtools.theory.classical_moments`
with the simulator's own rates (network, lattice, timestep and hop probability of the
data), started from the measured counts and (for the pair approximation) pair counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_int, check_probability
from ._random import SeedLike, as_seed_sequence

__all__ = ["ClosureComparison", "compare_closures", "relative_rms", "column_names"]


def relative_rms(model: np.ndarray, data: np.ndarray) -> np.ndarray:
    """``sqrt(mean_t (model - data)^2) / mean_t |data|`` over the time axis ``-2``.

    Parameters
    ----------
    model, data : ndarray, shape (..., n_times, n_columns)

    Returns
    -------
    ndarray, shape (..., n_columns)
        NaN where the model is NaN at some time (it left its domain).

    Examples
    --------
    >>> relative_rms(np.array([[1.1], [2.2]]), np.array([[1.0], [2.0]])).round(4).tolist()
    [0.1054]
    """
    scale = np.abs(data).mean(axis=-2)
    err = np.sqrt(np.mean((model - data) ** 2, axis=-2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, err / scale, np.where(err > 0, np.inf, 0.0))


def column_names(species) -> list[str]:
    """Names of the compared columns: each species' mean, then every unordered pair.

    Examples
    --------
    >>> column_names(["X", "Y"])
    ['X', 'Y', '(X,X)', '(X,Y)', '(Y,Y)']
    """
    sp = list(species)
    M = len(sp)
    return sp + [f"({sp[a]},{sp[b]})" for a in range(M) for b in range(a, M)]


def _columns(counts: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    M = counts.shape[-1]
    iu = np.triu_indices(M)
    return np.concatenate([counts, pairs[..., iu[0], iu[1]]], axis=-1)


@dataclass
class ClosureComparison:
    """Result of :func:`compare_closures`.

    Attributes
    ----------
    columns : list of str
        Species means, then the pair counts of every unordered species pair.
    errors : dict of str to ndarray, shape (n_conditions, n_columns)
        Relative RMS error per test condition, for ``"learned"`` and each baseline.
    noise_floor : ndarray, shape (n_conditions, n_columns)
        The data's own standard error on the same scale.
    difference : dict of str to ndarray, shape (3, n_columns)
        For each baseline: learned minus baseline of the condition-mean error,
        and the low and high ends of its bootstrap interval.
    level : float
        Coverage of the intervals.
    times : ndarray
        The recorded times scored (after the start).
    predictions : dict of str to (counts, pairs)
        Every closure's predicted counts (n_conditions, n_times, M) and pairs
        (n_conditions, n_times, M, M) at all recorded times.
    """

    columns: list
    errors: dict
    noise_floor: np.ndarray
    difference: dict
    level: float
    times: np.ndarray
    predictions: dict = field(default_factory=dict)

    def mean_errors(self) -> dict:
        """Condition-mean relative RMS error per closure (NaN if a closure failed somewhere)."""
        return {k: v.mean(axis=0) for k, v in self.errors.items()}

    def beats(self, baseline: str) -> np.ndarray:
        """Per column: whether the learned closure's whole interval is below ``baseline``'s."""
        return self.difference[baseline][2] < 0

    def table(self) -> str:
        """A plain-text table: errors, noise floor, and learned-minus-baseline intervals."""
        w = max(10, *(len(c) + 2 for c in self.columns))
        head = f"{'closure':28s}" + "".join(f"{c:>{w}s}" for c in self.columns)
        lines = [head, "-" * len(head)]
        for name, err in self.mean_errors().items():
            lines.append(f"{name:28s}" + "".join(f"{e:>{w}.4f}" for e in err))
        floor = self.noise_floor.mean(axis=0)
        lines.append(f"{'noise floor':28s}" + "".join(f"{e:>{w}.4f}" for e in floor))
        pct = round(100 * self.level)
        for name, d in self.difference.items():
            label = f"learned - {name} ({pct}%)"
            spans = [f"[{lo:+.3f},{hi:+.3f}]" for lo, hi in zip(d[1], d[2], strict=True)]
            cells = "".join(f"{c:>{w}s}" for c in spans)
            lines.append(f"{label:28s}" + cells)
        return "\n".join(lines)


def _bootstrap_difference(a, b, n_boot, level, rng):
    """Mean of a - b over conditions and a paired percentile interval, per column."""
    n = a.shape[0]
    diff = a - b
    idx = rng.integers(0, n, size=(n_boot, n))
    boot = diff[idx].mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return np.stack([diff.mean(axis=0), lo, hi])


def compare_closures(
    closure,
    test,
    *,
    baselines=("mean field", "pair"),
    n_chains: int = 32,
    n_sweeps: int = 20,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: SeedLike = None,
) -> ClosureComparison:
    """Score ``closure`` and classical closures on held-out conditions.

    Parameters
    ----------
    closure : LearnedClosure
        From :func:`dbmtools.learn_closure`, fitted on other conditions.
    test : ClosureData
        The held-out conditions (:func:`dbmtools.closure_data`), with pair
        counts (their family's statistics do not matter here).
    baselines : sequence of {"mean field", "pair"}
        Classical closures to run beside it.
    n_chains, n_sweeps : int
        Sampling of the learned closure's counts and pairs where its family is
        not exact (:meth:`dbmtools.families.LatticeFamily.observables`).
    n_boot : int
        Bootstrap resamples of the test conditions.
    level : float
        Coverage of the intervals, in (0, 1).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    ClosureComparison
        ``table()`` prints it.

    Raises
    ------
    TypeError, ValueError
        For a ``test`` that is not ClosureData, lacks pair counts, or was
        simulated with another network, lattice or timestep than the closure's
        training data.
    """
    from .data_closure import ClosureData, LearnedClosure
    from .reactions import Network
    from .theory import classical_moments

    if not isinstance(closure, LearnedClosure):
        raise TypeError(f"`closure` must be a LearnedClosure; got {type(closure).__name__}.")
    if not isinstance(test, ClosureData):
        raise TypeError(f"`test` must be a ClosureData; got {type(test).__name__}.")
    if test.pairs is None:
        raise ValueError("`test` has no pair counts: simulate with pairs recorded or states.")
    for b in baselines:
        if b not in ("mean field", "pair"):
            raise ValueError(f"`baselines` entries must be 'mean field' or 'pair'; got {b!r}.")
    n_boot = check_int("n_boot", n_boot, 100)
    level = check_probability("level", level)
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1); got {level!r}.")
    if abs(test.dt - closure.dt) > 1e-9 * closure.dt:
        raise ValueError(
            f"`test` is recorded every {test.dt}; the closure was learned at {closure.dt}."
        )
    meta = test.meta
    fam = closure.family
    for key in ("network", "boundary", "dt"):
        trained = closure.data_meta.get(key)
        if trained is not None and meta.get(key) != trained:
            raise ValueError(
                f"`test` was simulated with {key} {meta.get(key)!r}; the closure was learned "
                f"on {trained!r}."
            )
    if tuple(meta["shape"]) != fam.shape:
        raise ValueError(f"`test` lattice {tuple(meta['shape'])} is not the family's {fam.shape}.")
    rng = np.random.default_rng(as_seed_sequence(seed))

    n_steps = int(round((test.times[-1] - test.times[0]) / closure.dt))
    theta = closure.predict(test, n_steps, seed=rng, outside="nan")
    step = np.rint((test.times - test.times[0]) / closure.dt).astype(np.int64)
    learned = fam.observables(theta[:, step], n_chains=n_chains, n_sweeps=n_sweeps, seed=rng)
    learned[0][:, 0], learned[1][:, 0] = test.counts[:, 0], test.pairs[:, 0]
    predictions = {"learned": learned}
    network = Network.from_dict(meta["network"])
    for b in baselines:
        cm = classical_moments(
            network, test.counts[:, 0], test.times, initial_pairs=test.pairs[:, 0],
            dt=meta["dt"], shape=tuple(meta["shape"]), boundary=meta["boundary"],
            hop_prob=meta.get("hop_prob", 1.0), method=b,
        )  # fmt: skip
        predictions[b] = (cm.counts, cm.pairs)

    data = _columns(test.counts, test.pairs)[:, 1:]
    sem = _columns(test.counts_sem, test.pairs_sem)[:, 1:]
    errors = {k: relative_rms(_columns(c, p)[:, 1:], data) for k, (c, p) in predictions.items()}
    floor = np.sqrt(np.mean(sem**2, axis=-2)) / np.abs(data).mean(axis=-2)
    difference = {
        b: _bootstrap_difference(errors["learned"], errors[b], n_boot, level, rng)
        for b in baselines
    }
    species = fam.species or [str(k) for k in range(1, fam.n_species + 1)]
    return ClosureComparison(
        column_names(species), errors, floor, difference, level, test.times[1:], predictions
    )

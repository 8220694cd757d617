"""The data-driven closure for any reaction network and any lattice family.

Bring a family (:mod:`dbmtools.families`) and simulations of several starting
conditions; get a learned moment closure ``dtheta/dt = F(theta)``:

0. :func:`simulate_conditions`: an ensemble per starting composition (or
   bring your own ensembles);
1. :func:`closure_data`: the family's statistics of every condition's ensemble,
   means and standard errors over its simulations, at every recorded time
   (:class:`ClosureData`; Ensembles or MomentEnsembles alike);
2. the maximum-entropy path ``theta(t)`` of every condition
   (:func:`dbmtools.maxent.maxent_path`): the family's parameters whose moments
   are the data's at each time, so the closure only has to learn how they move;
3. ``F`` fitted to the Euler differences of those paths by penalised least
   squares on Hermite elements (:func:`dbmtools.closures.fit_flow`; for more
   than three parameters a sum of low-dimensional grids,
   :class:`dbmtools.flows.AdditiveFlow`), optionally with the first data step
   as a map of its own (the simulator's first sweep moves every particle, a jump
   from freshly drawn lattices that no smooth flow describes);
4. the roughness weight chosen on a validation split of the **training**
   conditions (never the test set), then everything refitted on all of them;
5. optionally Algorithm 1 from the fitted flow (``refine_iter``).

The result, :class:`LearnedClosure`, integrates from the MaxEnt fit of new
starting lattices (:meth:`LearnedClosure.predict`) and gives the family's
moments and observables along the way (:meth:`LearnedClosure.observables`);
:func:`dbmtools.comparison.compare_closures` scores it against mean field and
the pair approximation on held-out conditions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_int, check_nonnegative, check_positive
from ._random import SeedLike, as_seed_sequence
from .closures import fit_jump, flow_samples
from .families import LatticeFamily, check_family
from .flows import AdditiveFlow, domain_around, flow_groups
from .maxent import MaxEntFit, fit_maxent, maxent_path

__all__ = [
    "ClosureData",
    "closure_data",
    "LearnedClosure",
    "learn_closure",
    "simulate_conditions",
]


def simulate_conditions(
    network,
    shape: int | Sequence[int],
    compositions,
    *,
    n_samples: int,
    n_steps: int,
    dt: float,
    seed: SeedLike = None,
    record=("counts", "pair_counts"),
    progress: bool = True,
    **simulate_options,
) -> list:
    """One ensemble per starting composition: ``n_samples`` random placements of each.

    Parameters
    ----------
    network : Network
    shape : int or tuple of int
        The lattice (its length gives ``dim``).
    compositions : array_like of int, shape (n_conditions, n_species)
        The molecules of each species at the start of each condition.
    n_samples : int
        Simulations per condition (``>= 2``: a condition's standard errors need two).
    n_steps : int
    dt : float
    seed : None, int, SeedSequence or Generator
        Condition ``k`` gets the ``k``-th spawned child (placements and
        simulations), so a condition's ensemble does not depend on the others.
    record : "states" or sequence of str
        As :func:`dbmtools.simulate_ensemble`; counts and pair counts by default
        (what :class:`dbmtools.LatticeGas` needs, without storing lattices).
    progress : bool
        One progress bar over the conditions.
    **simulate_options
        Passed to :func:`dbmtools.simulate_ensemble` (``boundary``, ``record_every``,
        ``hop_prob``, ``selection``, ...).

    Returns
    -------
    list of Ensemble or MomentEnsemble
        For :func:`closure_data`.

    Raises
    ------
    ValueError
        For compositions that are not non-negative integers, one per species, that fit
        the lattice.

    Examples
    --------
    >>> import dbmtools as dbm
    >>> net = dbm.Network([("A + B -> B + B", 0.5), ("B -> A", 0.5)], species=["A", "B"])
    >>> ens = simulate_conditions(net, (8, 8), [[10, 5], [20, 3]], n_samples=4, n_steps=5,
    ...                           dt=0.1, seed=0, progress=False)
    >>> len(ens), ens[0].counts().shape
    (2, (4, 6, 2))
    """
    from tqdm.auto import tqdm

    from .lattice import random_state
    from .simulate import simulate_ensemble

    dims = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    comps = np.asarray(compositions)
    n_species = len(network.species)
    if comps.ndim != 2 or comps.shape[1] != n_species or comps.shape[0] < 1:
        raise ValueError(
            f"`compositions` must have shape (n_conditions, {n_species}) (one count per "
            f"species of the network); got shape {comps.shape}."
        )
    if not np.issubdtype(comps.dtype, np.number) or not np.all(np.isfinite(comps)):
        raise ValueError("`compositions` must be finite non-negative integers.")
    if np.any(comps < 0) or np.any(comps != np.round(comps)):
        raise ValueError(f"`compositions` must be non-negative integers; got {comps.tolist()}.")
    n_sites = int(np.prod(dims))
    full = comps.sum(axis=1) > n_sites
    if full.any():
        k = int(np.flatnonzero(full)[0])
        raise ValueError(
            f"`compositions[{k}]` = {comps[k].tolist()} holds more molecules than the "
            f"{n_sites} sites of the lattice."
        )
    n_samples = check_int("n_samples", n_samples, 2)
    children = as_seed_sequence(seed).spawn(comps.shape[0])
    out = []
    bar = tqdm(comps, desc="conditions", disable=not progress)
    for comp, child in zip(bar, children, strict=True):
        place, run = child.spawn(2)
        starts = np.stack(
            [random_state(dims, counts=comp.astype(int).tolist(), seed=s)
             for s in place.spawn(n_samples)]
        )  # fmt: skip
        out.append(
            simulate_ensemble(
                starts,
                network,
                n_steps=n_steps,
                dt=dt,
                dim=len(dims),
                seed=run,
                record=record if isinstance(record, str) else list(record),
                progress=False,
                **simulate_options,
            )  # fmt: skip
        )
    return out


@dataclass
class ClosureData:
    """Ensemble statistics of several starting conditions, for learning or testing a closure.

    Attributes
    ----------
    times : ndarray, shape (n_times,)
        Recorded times, evenly spaced from 0.
    moments, sem : ndarray, shape (n_conditions, n_times, K)
        Mean family statistics over each condition's simulations, and their
        standard errors.
    counts, counts_sem : ndarray, shape (n_conditions, n_times, M)
        Mean species counts and their standard errors.
    pairs, pairs_sem : ndarray, shape (n_conditions, n_times, M, M) or None
        Mean nearest-neighbour pair counts (:func:`dbmtools.pair_counts` layout).
    n_samples : int
        Simulations per condition.
    meta : dict
        ``network`` (dict), ``shape``, ``boundary``, ``dt`` (of the simulator),
        ``hop_prob``, ``names`` (the family's parameter names).
    lattices : ndarray of int8, shape ``(n_conditions, n_samples, n_times, *shape)`` or None
        Kept for a family with hidden units (whose statistics need ``theta``).
    """

    times: np.ndarray
    moments: np.ndarray
    sem: np.ndarray
    counts: np.ndarray
    counts_sem: np.ndarray
    pairs: np.ndarray | None
    pairs_sem: np.ndarray | None
    n_samples: int
    meta: dict = field(default_factory=dict)
    lattices: np.ndarray | None = None

    @property
    def n_conditions(self) -> int:
        return self.moments.shape[0]

    @property
    def n_times(self) -> int:
        return self.times.size

    @property
    def dt(self) -> float:
        """Spacing of the recorded times."""
        return float(self.times[1] - self.times[0]) if self.times.size > 1 else 1.0

    def subset(self, conditions) -> ClosureData:
        """The same data for some of the conditions (e.g. a validation split)."""
        idx = np.asarray(conditions, dtype=np.int64).reshape(-1)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= self.n_conditions:
            raise ValueError(
                f"`conditions` must be indices in [0, {self.n_conditions - 1}]; got {idx}."
            )

        def take(a):
            return None if a is None else a[idx]

        return ClosureData(
            self.times, self.moments[idx], self.sem[idx], self.counts[idx],
            self.counts_sem[idx], take(self.pairs), take(self.pairs_sem), self.n_samples,
            dict(self.meta), take(self.lattices),
        )  # fmt: skip


def closure_data(family: LatticeFamily, ensembles, *, keep_lattices: bool | None = None):
    """The statistics of several conditions' ensembles, for :func:`learn_closure`.

    Parameters
    ----------
    family : LatticeFamily
    ensembles : sequence of Ensemble or MomentEnsemble
        One per starting condition, each with at least 2 simulations; the same
        network, lattice, boundary and recorded times in all.
    keep_lattices : bool, optional
        Keep the lattices (needed, and the default, for a family with hidden units).

    Returns
    -------
    ClosureData

    Examples
    --------
    >>> import dbmtools as dbm
    >>> net = dbm.annihilation(0.5)
    >>> ens = [dbm.simulate_ensemble(np.stack([dbm.random_state(30, densities=[0.5], seed=s)] * 4),
    ...        net, n_steps=3, dt=0.01, dim=1, boundary="reflecting", seed=s, progress=False)
    ...        for s in range(2)]
    >>> data = closure_data(dbm.ChainFamily(30, order=2), ens)
    >>> data.moments.shape, data.counts.shape, data.n_samples
    ((2, 4, 2), (2, 4, 1), 4)
    """
    from .trajectory import Ensemble, MomentEnsemble

    fam = check_family(family)
    if isinstance(ensembles, (Ensemble, MomentEnsemble)):
        ensembles = [ensembles]
    ens = list(ensembles)
    if not ens or not all(isinstance(e, (Ensemble, MomentEnsemble)) for e in ens):
        raise TypeError(
            "`ensembles` must be a non-empty sequence of Ensemble or MomentEnsemble, one per "
            "starting condition."
        )
    first = ens[0]
    for k, e in enumerate(ens):
        if e.times.shape != first.times.shape or not np.allclose(e.times, first.times):
            raise ValueError(f"`ensembles[{k}]` has other recorded times than `ensembles[0]`.")
        for key in ("network", "shape", "boundary", "dt", "hop_prob"):
            if e.meta.get(key) != first.meta.get(key):
                raise ValueError(
                    f"`ensembles[{k}]` differs from `ensembles[0]` in {key!r}: "
                    f"{e.meta.get(key)!r} against {first.meta.get(key)!r}."
                )
        if e.n_samples < 2:
            raise ValueError(
                f"`ensembles[{k}]` has {e.n_samples} simulation; at least 2 give a standard error."
            )
    keep = (not fam.visible) if keep_lattices is None else bool(keep_lattices)
    if keep and not all(isinstance(e, Ensemble) for e in ens):
        raise ValueError("Keeping the lattices needs Ensembles (record='states').")

    def mean_sem(arrays):
        m = np.stack([a.mean(0) for a in arrays])
        s = np.stack([a.std(0, ddof=1) / np.sqrt(a.shape[0]) for a in arrays])
        return m, s

    theta0 = None
    if not fam.visible:  # statistics of a hidden family need theta; use the family's zero
        theta0 = np.zeros(fam.n_params)
    moments, sem = mean_sem([fam.statistics(e, theta0) for e in ens])
    counts, counts_sem = mean_sem([e.counts().astype(np.float64) for e in ens])
    try:
        pairs, pairs_sem = mean_sem([e.pair_counts().astype(np.float64) for e in ens])
    except (ValueError, KeyError):
        pairs = pairs_sem = None
    meta = {k: first.meta.get(k) for k in ("network", "shape", "boundary", "dt", "hop_prob")}
    meta["names"] = list(fam.names)
    lattices = np.stack([e.states for e in ens]) if keep else None
    return ClosureData(
        first.times.copy(), moments, sem, counts, counts_sem, pairs, pairs_sem,
        int(min(e.n_samples for e in ens)), meta, lattices,
    )  # fmt: skip


@dataclass
class LearnedClosure:
    """A learned closure: a MaxEnt start, an optional first-step map, and a flow ``F``.

    Attributes
    ----------
    family : LatticeFamily
    flow : AdditiveFlow
        ``dtheta/dt = F(theta)`` (one group: a plain ParameterODE in ``flow.odes[0]``).
    jump : list of HermiteGrid, AdditiveFlow or None
        The first-step map ``theta_1 = theta_0 + G(theta_0)``
        (``G`` per parameter on grids over ``theta_0``; or an AdditiveFlow whose
        rate times ``jump_steps * dt`` is the increment).
    jump_steps : int
        Data steps the map covers.
    dt : float
        Data timestep of the flow.
    roughness : float
        The weight chosen on the validation split.
    validation : dict
        Validation error for every roughness weight tried (``inf``: left the domain).
    maxent : MaxEntFit
        The training conditions' MaxEnt paths.
    time_indices : ndarray of int
        The recorded times the paths were fitted at.
    n_excluded : int
        Flow samples left out because a MaxEnt fit at one of their ends did not converge.
    refine : TrainResult or None
    seconds : dict
        Wall times of the stages.
    maxent_options : dict
        The MaxEnt fit settings, reused for new conditions' starts.
    data_meta : dict
        The training data's network, lattice, boundary and timestep.
    """

    family: LatticeFamily
    flow: AdditiveFlow
    jump: object
    jump_steps: int
    dt: float
    roughness: float
    validation: dict
    maxent: MaxEntFit
    time_indices: np.ndarray
    n_excluded: int = 0
    refine: object = None
    seconds: dict = field(default_factory=dict)
    maxent_options: dict = field(default_factory=dict)
    data_meta: dict = field(default_factory=dict)

    def solve(self, initial_theta, n_steps: int, *, outside: str = "raise") -> np.ndarray:
        """``theta`` (n, n_steps + 1, K) at data steps ``0 .. n_steps`` from ``initial_theta``.

        ``outside="nan"`` continues a trajectory that leaves the domain as NaN.
        """
        fam = self.family
        th0, _ = fam.check_theta(initial_theta, "initial_theta")
        n_steps = check_int("n_steps", n_steps, 0)
        if self.jump is None or n_steps < self.jump_steps:
            return self.flow.solve(th0, n_steps, outside=outside)
        th1 = self._jump(th0, outside)
        landed = np.isfinite(th1).all(axis=1)  # False only with outside="nan"
        rest = np.full((th0.shape[0], n_steps - self.jump_steps + 1, fam.n_params), np.nan)
        if landed.any():
            rest[landed] = self.flow.solve(
                th1[landed], n_steps - self.jump_steps, outside=outside
            ).reshape(-1, n_steps - self.jump_steps + 1, fam.n_params)
        head = np.full((th0.shape[0], self.jump_steps, fam.n_params), np.nan)
        head[:, 0] = th0  # the map gives no values between its two ends
        if self.jump_steps == 1:
            return np.concatenate([th0[:, None], rest], axis=1)
        return np.concatenate([head, rest], axis=1)

    def _jump(self, th0, outside):
        if isinstance(self.jump, AdditiveFlow):
            ok = self.jump.inside(th0)
            if not ok.all():
                if outside == "raise":
                    for o in self.jump.odes:
                        o._check_inside(th0, "initial_theta")
                th = th0.copy()
                th[~ok] = np.nan
                th[ok] = th0[ok] + self.jump_steps * self.dt * self.jump.rhs(th0[ok])
                return th
            return th0 + self.jump_steps * self.dt * self.jump.rhs(th0)
        inc = np.stack([g(th0, outside="nan") for g in self.jump], -1).reshape(th0.shape)
        lost = ~np.isfinite(inc).all(axis=1)
        if outside == "raise" and lost.any():
            i = int(np.flatnonzero(lost)[0])
            g = self.jump[0]
            raise ValueError(
                f"`initial_theta[{i}]` = {th0[i].tolist()} is outside the first-step map's "
                f"domain [{g.lower.tolist()}, {g.upper.tolist()}] (pass outside='nan' for NaN)."
            )
        return th0 + inc

    def initial_theta(self, data: ClosureData, *, seed: SeedLike = None, **options) -> np.ndarray:
        """Where the closure starts for new conditions: MaxEnt fits of their t = 0 moments.

        ``options`` override the training fits' settings (:func:`dbmtools.maxent.fit_maxent`);
        ``seed`` fixes a sampled fit (a family without exact moments).
        """
        if not isinstance(data, ClosureData):
            raise TypeError(f"`data` must be a ClosureData; got {type(data).__name__}.")
        opts = {**self.maxent_options, **options, "seed": seed}
        if data.lattices is not None and not self.family.visible:
            fit = fit_maxent(self.family, lattices=data.lattices[:, :, 0], **opts)
        else:
            fit = fit_maxent(self.family, data.moments[:, 0], sem=data.sem[:, 0], **opts)
        return fit.params

    def predict(
        self,
        data: ClosureData | np.ndarray,
        n_steps: int | None = None,
        *,
        seed: SeedLike = None,
        **options,
    ) -> np.ndarray:
        """``theta`` of new conditions at data steps ``0 .. n_steps`` (n, n_steps + 1, K).

        ``data`` is a :class:`ClosureData` (started from the MaxEnt fits of its
        t = 0 moments, sampled with ``seed`` where the family is not exact;
        ``n_steps`` defaults to its horizon) or initial parameters. ``options``:
        ``outside`` (:meth:`solve`) and ``maxent``, a dict of fit settings.
        """
        if isinstance(data, ClosureData):
            th0 = self.initial_theta(data, seed=seed, **options.pop("maxent", {}))
            if n_steps is None:
                n_steps = int(round((data.times[-1] - data.times[0]) / self.dt))
        else:
            th0 = data
            if n_steps is None:
                raise ValueError("`n_steps` is needed when `data` is initial parameters.")
        return self.solve(th0, n_steps, **options)

    def observables(self, theta, *, seed: SeedLike = None, **sampling):
        """Counts (..., M) and pair counts (..., M, M) the family predicts at ``theta`` (..., K).

        Exact where the family is; otherwise sampled (``sampling``: ``n_chains``,
        ``n_sweeps``, ``n_burn``) with chains carried along the leading axis of
        time (``theta`` of shape (n_conditions, n_times, K)). NaN parameters
        (a trajectory that left the domain) give NaN.
        """
        return self.family.observables(theta, seed=seed, **sampling)


def _time_indices(time_indices, n_times):
    if time_indices is None:
        return np.arange(n_times)
    raw = np.asarray(time_indices)
    if raw.ndim != 1 or raw.size < 2 or not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(
            f"`time_indices` must be at least 2 integer indices of recorded times; got {raw!r}."
        )
    t = raw.astype(np.int64)
    if t[0] != 0 or np.any(np.diff(t) <= 0) or t[-1] >= n_times:
        raise ValueError(
            f"`time_indices` must start at 0 and increase strictly inside [0, {n_times - 1}]; "
            f"got {t.tolist()}."
        )
    return t


def _relative_error(model, data):
    """Mean over statistics of sqrt(mean_t (model - data)^2) / mean_t |data|, per condition."""
    scale = np.maximum(np.abs(data).mean(-2), 1e-12)
    return (np.sqrt(np.mean((model - data) ** 2, axis=-2)) / scale).mean(-1)


def default_score(closure: LearnedClosure, data: ClosureData, theta_fit, theta_pred, ok):
    """Validation error of predicted parameter paths against the conditions' MaxEnt paths.

    Exact families: the relative RMS error of the exact moments against the
    data's (:func:`_relative_error`, averaged over conditions). Sampled
    families: the same, with the moment error linearised,
    ``Cov(theta_fit) (theta_pred - theta_fit)`` (the MaxEnt fit matched the data
    within its noise, and ``d<phi>/dtheta = Cov``), so no sampling is needed.
    A path that left the domain scores ``inf``.
    """
    if not np.all(np.isfinite(theta_pred)):
        return np.inf
    fam = closure.family
    tidx = closure.time_indices
    target = data.moments[:, tidx]
    if fam.exact:
        model = fam._exact_moments(theta_pred.reshape(-1, fam.n_params)).reshape(target.shape)
    else:
        cov = theta_fit.covariance
        dmu = np.einsum("ntij,ntj->nti", cov, theta_pred - theta_fit.params)
        model = target + np.where(ok[..., None], dmu, 0.0)
    return float(_relative_error(model, target).mean())


def learn_closure(
    family: LatticeFamily,
    data,
    *,
    groups="all",
    cell_size: float | Sequence[float] = 0.5,
    margin: float = 0.5,
    roughness: Sequence[float] = (1e-3, 1e-2, 1e-1),
    order: int = 2,
    ridge: float = 1e-6,
    validation_fraction: float = 0.25,
    jump: bool = False,
    jump_cell_size: float | None = None,
    jump_box: tuple | None = None,
    time_indices=None,
    initial_theta=None,
    maxent: MaxEntFit | None = None,
    maxent_options: dict | None = None,
    score: Callable | None = None,
    n_substeps: int = 1,
    refine_iter: int = 0,
    refine_lr: float = 1e-3,
    seed: SeedLike = None,
    progress: bool = True,
) -> LearnedClosure:
    """Learn a moment closure ``dtheta/dt = F(theta)`` of ``family`` from simulations.

    See the module docstring for the steps.

    Parameters
    ----------
    family : LatticeFamily
    data : ClosureData or sequence of Ensemble / MomentEnsemble
        The training conditions (one ensemble each).
    groups : "all", "pairs", "triples", a subset, or a list of subsets
        The arguments of ``F`` (:func:`dbmtools.flows.flow_groups`): ``"all"``
        (every parameter; at most three) or, for larger families, a sum of
        grids over groups of at most three, or one chosen subset. Every ``F_k``
        takes the same groups.
    cell_size : float or sequence
        Hermite cell side(s) in parameter units.
    margin : float
        How far the grids reach beyond the fitted paths.
    roughness : sequence of float
        Roughness weights tried (:meth:`dbmtools.HermiteGrid.roughness_matrix`
        of ``order``); the best on the validation split is kept.
    order : int
    ridge : float
    validation_fraction : float
        Share of the training conditions held out to choose the roughness.
    jump : bool
        Model the first fitted step as a map of its own.
    jump_cell_size, jump_box : optional
        The map's cells (``cell_size`` by default) and box ``(lower, upper)``
        over ``theta_0`` (the whole cells around the starts by default).
    time_indices : sequence of int, optional
        Recorded times to fit (all by default); must start at 0.
    initial_theta : array_like, shape (n_conditions, K), optional
        Parameters at t = 0 (e.g. those the starting lattices were drawn from),
        instead of the MaxEnt fit of the t = 0 moments.
    maxent : MaxEntFit, optional
        Paths already fitted, shape (n_conditions, len(time_indices), ...).
    maxent_options : dict, optional
        For :func:`dbmtools.maxent.maxent_path` (``n_chains``, ``n_sweeps``, ``z_tol``, ...).
    score : callable, optional
        ``score(closure, data, maxent_fit, theta_pred, ok) -> float``, the
        validation error (default :func:`default_score`); ``data`` and the
        arrays are those of the validation conditions.
    n_substeps : int
        Euler substeps per data step.
    refine_iter, refine_lr : int, float
        Algorithm 1 (Adam, whole horizon) from the fitted flow, early-stopped
        on the validation split (one group and no jump only).
    seed : None, int, SeedSequence or Generator
    progress : bool

    Returns
    -------
    LearnedClosure

    Examples
    --------
    >>> import dbmtools as dbm
    >>> fam = dbm.ChainFamily(100, order=2)
    >>> net = dbm.annihilation(0.2)
    >>> starts = [dbm.random_state(100, densities=[d], seed=k) for k, d in
    ...           enumerate([0.3, 0.4, 0.5, 0.6, 0.7])]
    >>> ens = [dbm.simulate_ensemble(np.stack([s] * 8), net, n_steps=20, dt=0.01, dim=1,
    ...        boundary="reflecting", seed=k, progress=False) for k, s in enumerate(starts)]
    >>> closure = learn_closure(fam, ens, roughness=(1e-2,), seed=0, progress=False)
    >>> closure.solve(closure.maxent.params[:2, 0], 20).shape
    (2, 21, 2)
    """
    t_start = time.perf_counter()
    fam = check_family(family)
    if not isinstance(data, ClosureData):
        data = closure_data(fam, data)
    K = fam.n_params
    if data.moments.shape[-1] != K:
        raise ValueError(
            f"`data` holds {data.moments.shape[-1]} statistics; the family has {K} {fam.names}."
        )
    tidx = _time_indices(time_indices, data.n_times)
    group_list = flow_groups(K, groups)
    cell = check_positive("cell_size", cell_size) if np.ndim(cell_size) == 0 else cell_size
    margin = check_nonnegative("margin", margin)
    weights = [check_nonnegative("roughness", w) for w in roughness]
    if not weights:
        raise ValueError("`roughness` must list at least one weight.")
    n_substeps = check_int("n_substeps", n_substeps, 1)
    refine_iter = check_int("refine_iter", refine_iter, 0)
    if not 0 < float(validation_fraction) < 1:
        raise ValueError(f"`validation_fraction` must be in (0, 1); got {validation_fraction!r}.")
    if refine_iter and (len(group_list) > 1 or jump):
        raise ValueError("`refine_iter` needs one group of arguments and no `jump`.")
    n_cond = data.n_conditions
    if n_cond < 2:
        raise ValueError(f"`data` has {n_cond} condition; a validation split needs at least 2.")
    dt = data.dt
    seconds = {}
    opts = dict(maxent_options or {})

    # 1. MaxEnt paths
    t0 = time.perf_counter()
    th_init = None if initial_theta is None else fam.check_theta(initial_theta, "initial_theta")[0]
    if th_init is not None and th_init.shape[0] != n_cond:
        raise ValueError(f"`initial_theta` must have {n_cond} rows (one per condition).")
    if maxent is None:
        if data.lattices is not None and not fam.visible:
            lat = np.swapaxes(data.lattices[:, :, tidx], 1, 2)
            maxent = maxent_path(fam, lattices=lat, initial_theta=th_init, progress=progress,
                                 seed=seed, **opts)  # fmt: skip
        else:
            maxent = maxent_path(
                fam, data.moments[:, tidx], sem=data.sem[:, tidx], initial_theta=th_init,
                progress=progress, seed=seed, **opts,
            )  # fmt: skip
    elif not isinstance(maxent, MaxEntFit) or maxent.params.shape != (n_cond, tidx.size, K):
        raise ValueError(
            f"`maxent` must be a MaxEntFit of shape {(n_cond, tidx.size, K)}; got "
            f"{getattr(getattr(maxent, 'params', None), 'shape', type(maxent).__name__)}."
        )
    seconds["maxent"] = time.perf_counter() - t0
    theta = maxent.params.copy()
    ok = maxent.converged.copy()
    if th_init is not None:
        theta[:, 0], ok[:, 0] = th_init, True
    skip = 1 if jump else 0

    # 2. flow samples (a sample needs converged fits at both ends)
    x, y, _ = flow_samples(theta[:, skip:], tidx[skip:], dt)
    pair_ok = (ok[:, skip:-1] & ok[:, skip + 1 :]).reshape(-1)
    n_excluded = int(np.sum(~pair_ok))
    if not pair_ok.any():
        raise ValueError("No MaxEnt fit converged at two consecutive times: nothing to fit.")
    row_cond = np.repeat(np.arange(n_cond), tidx.size - 1 - skip)
    points = theta[ok]
    jcell = cell if jump_cell_size is None else jump_cell_size
    if jump:
        if jump_box is None:
            jlo, jhi = domain_around(theta[:, 0], jcell, 0.0)
        else:
            jlo, jhi = (np.asarray(b, dtype=np.float64) for b in jump_box)
        jump_steps = int(tidx[1])

    def build(cond, weight):
        flow = _zero_flow(fam.names, group_list, points, cell, margin, dt, n_substeps)
        keep = np.isin(row_cond, cond) & pair_ok  # unconverged ends may lie off the grids
        flow.fit(x[keep], y[keep], ridge=ridge, roughness=weight, order=order)
        G = None
        if jump:
            j_ok = np.asarray(cond)[ok[cond, 1]]
            G = _fit_jump(theta[j_ok, 0], theta[j_ok, 1], jlo, jhi, jcell, group_list,
                          ridge, weight, order, jump_steps * dt, fam.names)  # fmt: skip
        return LearnedClosure(
            fam, flow, G, jump_steps if jump else 0, dt, weight, {}, maxent, tidx,
            n_excluded, maxent_options=opts, data_meta=dict(data.meta),
        )  # fmt: skip

    scorer = default_score if score is None else score

    def evaluate(closure, cond):
        th = closure.solve(theta[cond, 0], int(tidx[-1]), outside="nan")[:, tidx]
        sub = _take_fit(maxent, cond)
        return float(scorer(closure, data.subset(cond), sub, th, ok[cond]))

    # 3. roughness on a validation split of the training conditions
    t0 = time.perf_counter()
    rng = np.random.default_rng(as_seed_sequence(seed))
    order_ = rng.permutation(n_cond)
    n_val = max(1, int(round(validation_fraction * n_cond)))
    val, trn = np.sort(order_[:n_val]), np.sort(order_[n_val:])
    if trn.size == 0:
        raise ValueError("The validation split leaves no training condition.")
    table = {w: evaluate(build(trn, w), val) for w in weights} if len(weights) > 1 else {
        weights[0]: np.nan
    }  # fmt: skip
    best = min(table, key=lambda w: np.inf if np.isnan(table[w]) else table[w])
    seconds["validation"] = time.perf_counter() - t0
    closure = build(np.arange(n_cond), best)
    closure.validation = table
    if refine_iter:
        t0 = time.perf_counter()
        closure.refine = _refine(closure, data, theta, trn, val, refine_iter, refine_lr, rng)
        seconds["refine"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_start
    closure.seconds = seconds
    return closure


def _take_fit(fit: MaxEntFit, cond) -> MaxEntFit:
    """The MaxEnt fits of some conditions (leading axis)."""
    return MaxEntFit(
        fit.params[cond], fit.residual[cond], fit.z[cond], fit.n_iter[cond],
        fit.converged[cond], fit.covariance[cond], fit.model_moments[cond], fit.method,
    )  # fmt: skip


def _zero_flow(names, groups, points, cell, margin, dt, n_substeps):
    from .dynamics import ParameterODE

    odes = []
    for g in groups:
        c = np.broadcast_to(np.asarray(cell, dtype=np.float64), (len(names),))[list(g)]
        lo, hi = domain_around(points[:, list(g)], c, margin)
        odes.append(ParameterODE(names, list(g), lo, hi, c, dt=dt, n_substeps=n_substeps))
    return AdditiveFlow(odes)


def _fit_jump(th0, th1, lo, hi, cell, groups, ridge, weight, order, span, names):
    """The first-step map: per-parameter grids over ``theta_0`` (one group), or an AdditiveFlow."""
    if len(groups) == 1 and len(groups[0]) == len(names):
        return fit_jump(th0, th1, lo, hi, cell, ridge=ridge, roughness=weight, order=order)
    pts = np.concatenate([th0, np.asarray(lo)[None] if np.ndim(lo) else th0[:1]], 0)
    flow = _zero_flow(names, groups, pts if np.ndim(lo) else th0, cell, 0.0, 1.0, 1)
    flow.fit(th0, (th1 - th0) / span, ridge=ridge, roughness=weight, order=order)
    return flow


def _refine(closure, data, theta, trn, val, n_iter, lr, rng):
    """Algorithm 1 from the fitted flow, early-stopped on the validation conditions."""
    from .dynamics import train, validation_loss
    from .estimators import ExactMoments

    fam = closure.family
    if not fam.exact:
        raise ValueError("`refine_iter` needs a family with exact moments.")
    ode = closure.flow.odes[0]
    every = data.moments
    problem = ExactMoments(every[trn], theta[trn, 0], model_moments=fam._exact_moments)
    check = ExactMoments(every[val], theta[val, 0], model_moments=fam._exact_moments)
    before, kept = validation_loss(ode, check), ode.coeffs.copy()
    result = train(
        ode, problem, n_iter=n_iter, lr=lr, optimizer="adam", batch_size=min(10, len(trn)),
        validation=check, validate_every=max(1, n_iter // 20), seed=rng, progress=False,
    )  # fmt: skip
    if result.validation_history.size and result.validation_history.min() > before:
        ode.coeffs = kept
    return result

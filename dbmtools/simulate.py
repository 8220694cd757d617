"""The lattice reaction-diffusion simulator of the paper's section IV.

One timestep ``dt`` of :func:`simulate` does, in order:

1. **Unimolecular reactions** by an exact Gillespie clock. The total propensity
   is ``a0 = sum_r k_r * count(reactant_r)`` (kept current after every event);
   events are executed while the next event time falls inside the step. By the
   memorylessness of the exponential clock, redrawing it at each step start is
   exact. ``X -> 0`` removes a uniformly random ``X``; ``X -> Y`` converts one in
   place; ``X -> X + X`` puts a child on a uniformly random *empty* nearest
   neighbour of a parent chosen uniformly among the ``X`` that have one (the
   propensity stays ``k * count(X)``). When no ``X`` has an empty neighbour the
   event is dropped. A creation ``0 -> X`` at rate ``c`` per empty site has
   propensity ``c * n_empty`` and puts an ``X`` on a uniformly random empty
   site: every empty site fills at rate ``c``, independently, so on its own it
   leaves a fraction ``exp(-c t)`` of an empty lattice empty at time ``t``.
   (The authors' code counts creations differently; see ``selection`` in
   :func:`simulate`.)
2. **Diffusion and collisions.** Every particle present at the start of the
   sweep makes one hop attempt, in uniformly random order: with probability
   ``hop_prob`` it picks one of the ``2 d`` directions uniformly (a wall, with
   reflecting boundaries, rejects the hop). An empty target: the particle
   moves. An occupied target: a collision; the bimolecular reactions of that
   species pair are tried in network order, each with its probability (first
   success wins). Both reactants are consumed; the first product goes on the
   target site, the second on the mover's old site. No reaction: the mover
   stays. A particle consumed, or placed as a product, during the sweep makes no
   further move in it.
3. Time advances by ``dt``.

The hop rate per neighbour is ``hop_prob / (2 d dt)`` and the diffusion
constant ``D = hop_prob * a**2 / (2 d dt)`` for lattice spacing ``a``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from concurrent.futures import Executor

import numba
import numpy as np

from ._checks import check_choice, check_int, check_positive, check_probability
from ._config import show_progress
from ._memory import check_memory
from ._random import SeedLike, as_seed_sequence, sample_seeds
from ._ssa import Rules, make_grid, make_tables
from ._ssa import run_serial as _run_serial
from ._ssa import simulate_samples as _simulate_samples
from .lattice import check_boundary, check_shape, check_state, check_walls
from .reactions import Network
from .trajectory import Ensemble, MomentEnsemble, MomentTrajectory, Trajectory

__all__ = [
    "SimulationInterrupted",
    "simulate",
    "simulate_ensemble",
    "hop_rate",
    "diffusion_constant",
]

SELECTIONS = ("uniform", "authors")


def hop_rate(dt: float, dim: int, hop_prob: float = 1.0) -> float:
    """Hop rate per neighbour of the lattice sweep, ``hop_prob / (2 dim dt)``.

    Examples
    --------
    >>> hop_rate(0.01, 1)
    50.0
    """
    dt, dim = check_positive("dt", dt), check_int("dim", dim, 1, 3)
    return check_probability("hop_prob", hop_prob) / (2 * dim * dt)


def diffusion_constant(dt: float, dim: int, hop_prob: float = 1.0, spacing: float = 1.0) -> float:
    """Diffusion constant ``D = hop_prob * spacing**2 / (2 dim dt)`` of the sweep.

    Examples
    --------
    >>> diffusion_constant(0.01, 3)
    16.666666666666668
    """
    return hop_rate(dt, dim, hop_prob) * check_positive("spacing", spacing) ** 2


RECORDABLE = ("counts", "pair_counts", "chain_moments")


class SimulationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`simulate_ensemble`, carrying the samples that finished.

    A subclass of :class:`KeyboardInterrupt`, so a script still stops and
    ``except KeyboardInterrupt`` still catches it.

    Attributes
    ----------
    result : Ensemble, MomentEnsemble or None
        The first ``n_done`` samples (every chunk that had finished), with
        ``meta["interrupted"] = True`` and ``meta["n_requested"]``; ``None``
        if no chunk had finished. In IPython or Jupyter, after the traceback,
        ``sys.last_value.result`` holds it.
    n_done, n_requested : int
        Samples finished and samples asked for.
    """

    def __init__(self, result, n_done: int, n_requested: int) -> None:
        super().__init__(
            f"simulate_ensemble was interrupted after {n_done} of {n_requested} samples; "
            "the finished samples are in `.result` (in IPython: `sys.last_value.result`)."
        )
        self.result = result
        self.n_done = n_done
        self.n_requested = n_requested


def simulate(
    state: np.ndarray,
    network: Network,
    *,
    n_steps: int,
    dt: float,
    dim: int | None = None,
    seed: SeedLike = None,
    boundary: str = "periodic",
    hop_prob: float = 1.0,
    record_every: int = 1,
    selection: str = "uniform",
    record: str | Sequence[str] = "states",
    max_order: int = 4,
    walls: str | None = None,
) -> Trajectory | MomentTrajectory:
    """Simulate one lattice trajectory.

    Parameters
    ----------
    state : ndarray of int, shape (L,), (L0, L1) or (L0, L1, L2)
        Initial lattice: 0 empty, ``1..M`` the network's species.
    network : Network
        Species and reactions, e.g. :func:`~dbmtools.annihilation`.
    n_steps : int
        Number of timesteps.
    dt : float
        Timestep; the hop rate per neighbour is ``hop_prob / (2 d dt)``.
    dim : {1, 2, 3}, optional
        Lattice dimension, ``state.ndim``. Required when ``state`` has more
        than one axis, so that a stack of 1D chains is never run as one 2D
        lattice by mistake (for many chains use :func:`simulate_ensemble`).
    seed : None, int, SeedSequence or Generator
        Same seed, same trajectory.
    boundary : {"periodic", "reflecting"}
    hop_prob : float
        Probability in [0, 1] that a particle attempts its hop in a step.
    record_every : int
        Record every this many steps; must divide ``n_steps``.
    selection : {"uniform", "authors"}
        How "a random molecule" is chosen. ``"uniform"`` (default) is what the
        paper's text describes. ``"authors"`` reproduces the authors' C++ code
        to show where the paper's Rössler figures
        came from: the next mover of the sweep, and the reactant of a
        unimolecular event, is the first suitable particle of a nested x-y-z
        scan over independently shuffled x, y and z orders (uniform in 1D,
        biased towards sparsely filled planes and rows in 2D and 3D); the
        Gillespie clock keeps each event's reaction and time as scheduled, even
        past the end of a step; ``X -> X + X`` retries up to 20 such picks for a
        parent with an empty neighbour, then drops the event; and a particle
        next to a reflecting wall hops to one of its existing neighbours
        instead of having its hop rejected (so walls are visited less often than
        the bulk, a random walk whose equilibrium is proportional to the number
        of neighbours; this last rule is ``walls="redirect"``, which ``walls``
        can switch off or turn on alone). A creation ``0 -> X`` at rate ``c``
        follows the authors' tag 2.0 (physics-based-ml/LatticeGillespieCpp,
        ``src/lattice_gillespie.cpp``, ``_schedule_uni`` and ``do_uni_rxn``,
        the version arXiv:1905.12122's Lotka-Volterra lattice was run with): its
        propensity is ``c * max(count(X), 1)``, not ``c * n_empty``, so it acts
        like a birth whose child lands anywhere (the first empty site of the
        shuffled scan) and the rate means something else than under
        ``"uniform"``; on a full lattice the event is dropped. It costs
        O(particles x sites) per step, like the original.
    record : "states" or sequence of {"counts", "pair_counts", "chain_moments"}
        What is kept every ``record_every`` steps. ``"states"`` (default): the
        whole lattice, ``n_rec * n_sites`` bytes. A sequence of observable
        names: those observables, computed on the fly without storing any
        lattice, so memory is bounded by the observables (the way to run big
        lattices for many steps). ``"chain_moments"`` needs a 1D lattice.
    max_order : int
        Highest chain length recorded with ``"chain_moments"``.
    walls : {"reject", "redirect"}, optional
        The wall rule of a ``"reflecting"`` boundary, separate from the
        selection rule (:data:`dbmtools.lattice.WALL_RULES`): a hop towards a
        wall is rejected, or redrawn among the particle's existing neighbours
        (the authors' code). By default ``"reject"`` with
        ``selection="uniform"`` and ``"redirect"`` with ``"authors"``, so
        ``selection="uniform", walls="redirect"`` isolates the effect of the
        authors' walls. Ignored with a periodic boundary (there are no walls).

    Returns
    -------
    Trajectory or MomentTrajectory
        With ``record="states"``: ``times`` shape (n_rec,), ``states`` shape
        ``(n_rec, *state.shape)`` int8, with ``n_rec = n_steps // record_every + 1``;
        time 0 is the first record. Otherwise a :class:`MomentTrajectory` whose
        ``counts()``, ``pair_counts()`` and ``chain_moments()`` return what a
        Trajectory's would (pairs and chains with the simulation's boundary).

    Raises
    ------
    ValueError, TypeError
        For a bad argument; the message names it and the allowed range.
    MemoryError
        Before allocating, if the records would not fit in the available
        memory; the message names ``n_steps``, ``record_every``, the lattice
        size and the GiB needed.
    KeyboardInterrupt
        On Ctrl-C, which numba's kernel sees only when the trajectory is done;
        nothing partial is returned (for that, use :func:`simulate_ensemble`).

    Notes
    -----
    A single trajectory runs in the calling thread, outside numba's parallel
    region (whose threads would only wait for each other).

    A birth ``X -> X + X`` with no ``X`` next to an empty site is a no-op; while
    that lasts within a step, such births are left out of the Gillespie clock
    (thinning: the same process without the no-op events), so a huge birth rate
    on a full lattice does not stall the clock.

    See Also
    --------
    simulate_ensemble : many trajectories in parallel.

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state(1000, densities=[0.5], seed=0)
    >>> traj = dbm.simulate(s0, dbm.annihilation(1.0), n_steps=100, dt=0.01, seed=1)
    >>> traj.states.shape, float(traj.times[-1])
    ((101, 1000), 1.0)
    >>> int(traj.counts()[-1, 0])
    25
    >>> s2 = dbm.random_state((20, 20), counts=[100], seed=0)
    >>> dbm.simulate(s2, dbm.annihilation(1.0), n_steps=10, dt=0.01, dim=2).states.shape
    (11, 20, 20)
    >>> small = dbm.simulate(s0, dbm.annihilation(1.0), n_steps=100, dt=0.01, seed=1,
    ...                      record=["counts"])
    >>> int(small.counts()[-1, 0])      # the same run, no lattice stored
    25
    """
    arr = np.asarray(state)
    dim = _single_dim(arr.shape, dim)
    initial, job = _prepare(
        arr[None],
        network,
        dim,
        n_steps,
        dt,
        boundary,
        hop_prob,
        record_every,
        selection,
        record,
        max_order,
        walls,
    )
    _check_memory(job, 1, 1)
    outs = _allocate(job, 1)
    _run_chunk(job, initial, sample_seeds(seed, 1), outs)
    return _result(job, outs, _meta(job, network, seed), single=True)


def simulate_ensemble(
    states: np.ndarray,
    network: Network,
    *,
    n_steps: int,
    dt: float,
    dim: int | None = None,
    seed: SeedLike = None,
    boundary: str = "periodic",
    hop_prob: float = 1.0,
    record_every: int = 1,
    selection: str = "uniform",
    record: str | Sequence[str] = "states",
    max_order: int = 4,
    walls: str | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    chunk_size: int | None = None,
) -> Ensemble | MomentEnsemble:
    """Simulate many independent trajectories in parallel.

    Samples run in a numba ``prange`` on all cores. Sample ``i`` uses its own
    random stream, the ``i``-th child of ``SeedSequence(seed)``, so results do
    not depend on the number of threads, the chunking, or the executor.

    Parameters
    ----------
    states : ndarray of int, shape ``(n_samples, *shape)``
        One initial lattice per sample.
    network : Network
        As in :func:`simulate`.
    n_steps, dt : int, float
        As in :func:`simulate`.
    dim : {1, 2, 3}
        Lattice dimension; required, and ``states.ndim`` must be ``dim + 1``
        (a ``(4, 20)`` array is 4 chains of 20 sites with ``dim=1``; one
        ``4 x 20`` lattice is ``simulate(state, ..., dim=2)``).
    seed, boundary, hop_prob, record_every, selection, record, max_order, walls
        As in :func:`simulate`.
    progress : bool
        Show a progress bar (always off under CI).
    executor : concurrent.futures.Executor, optional
        Any object with ``submit(fn, *args)`` returning futures, e.g.
        ``dask.distributed.Client(...).get_executor()``. Chunks of samples are
        submitted to it instead of running here: the way to scale past one
        machine.
    chunk_size : int, optional
        Samples per chunk (progress update, executor task, and what an
        interrupt keeps). By default about 1/20 of the samples, at least
        ``numba.get_num_threads()``.

    Returns
    -------
    Ensemble or MomentEnsemble
        ``states`` shape ``(n_samples, n_rec, *shape)`` int8, or with ``record``
        a sequence of observables, a :class:`MomentEnsemble` of them.

    Raises
    ------
    SimulationInterrupted
        On Ctrl-C (a :class:`KeyboardInterrupt`). Numba kernels see the
        interrupt only between chunks, so it takes effect when the running
        chunk ends; the chunks finished by then are kept: the exception's
        ``result`` is an Ensemble of the first ``n_done`` samples with
        ``meta["interrupted"] = True`` (its arrays are views of the full-size
        buffer). Sample ``i`` of it equals sample ``i`` of an uninterrupted run.
    MemoryError
        Before allocating, as in :func:`simulate`.

    Notes
    -----
    Memory: the records take ``n_samples * n_rec * n_sites`` bytes (int8
    lattices), written straight into the returned array (no second copy), plus
    per running thread a work set of about ``(8 M + 25) * n_sites`` bytes for
    ``M`` species. Chunks smaller than the thread count run outside numba's
    parallel region.

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state((8, 8), counts=[20], seed=0)
    >>> ens = dbm.simulate_ensemble(np.stack([s0] * 4), dbm.Network([("A -> 0", 1.0)]),
    ...                             n_steps=10, dt=0.1, dim=2, seed=3, progress=False)
    >>> ens.states.shape
    (4, 11, 8, 8)
    """
    arr = np.asarray(states)
    dim = _ensemble_dim(arr.shape, dim)
    initial, job = _prepare(
        arr,
        network,
        dim,
        n_steps,
        dt,
        boundary,
        hop_prob,
        record_every,
        selection,
        record,
        max_order,
        walls,
    )
    n_samples = initial.shape[0]
    if chunk_size is None:
        chunk_size = max(numba.get_num_threads(), -(-n_samples // 20))
    chunk_size = check_int("chunk_size", chunk_size, 1)
    _check_memory(job, n_samples, min(chunk_size, numba.get_num_threads()))
    seeds = sample_seeds(seed, n_samples)
    outs = _allocate(job, n_samples)
    bounds = [(a, min(a + chunk_size, n_samples)) for a in range(0, n_samples, chunk_size)]

    from tqdm.auto import tqdm

    bar = tqdm(total=n_samples, desc="simulate", unit="traj", disable=not show_progress(progress))
    done = 0
    try:
        if executor is None:
            for a, b in bounds:
                _run_chunk(job, initial[a:b], seeds[a:b], tuple(o[a:b] for o in outs))
                done = b
                bar.update(b - a)
        else:
            futures = [
                (a, b, executor.submit(_run_chunk, job, initial[a:b], seeds[a:b]))
                for a, b in bounds
            ]
            try:
                for a, b, fut in futures:
                    for o, part in zip(outs, fut.result(), strict=True):
                        o[a:b] = part
                    done = b
                    bar.update(b - a)
            except KeyboardInterrupt:
                for _, _, fut in futures:
                    fut.cancel()
                for a, b, fut in futures:  # keep chunks that finished meanwhile, in order
                    if a < done:
                        continue
                    if not _finished(fut):
                        break
                    for o, part in zip(outs, fut.result(), strict=True):
                        o[a:b] = part
                    done = b
                raise
    except KeyboardInterrupt:
        meta = _meta(job, network, seed, interrupted=True, n_requested=n_samples)
        partial = _result(job, tuple(o[:done] for o in outs), meta) if done else None
        raise SimulationInterrupted(partial, done, n_samples) from None
    finally:
        bar.close()
    return _result(job, outs, _meta(job, network, seed))


def _finished(fut) -> bool:
    """Whether an executor future holds a result (done, not cancelled, no error)."""
    try:
        return bool(fut.done()) and not fut.cancelled() and fut.exception(timeout=0) is None
    except BaseException:  # a cancelled, failed or odd future: not a finished chunk
        return False


def _meta(job: dict, network: Network, seed: SeedLike, **extra) -> dict:
    meta = {
        "network": network.to_dict(),
        "shape": list(job["shape"]),
        "boundary": job["boundary"],
        "dt": job["dt"],
        "hop_prob": job["hop_prob"],
        "selection": "authors" if job["authors"] else "uniform",
        "walls": "redirect" if job["redirect_walls"] else "reject",
        "n_steps": job["n_steps"],
        "record_every": job["record_every"],
        "seed": _seed_record(seed),
    }
    if job["record"] != ("states",):
        meta["record"] = list(job["record"])
        if "chain_moments" in job["record"]:
            meta["max_order"] = job["max_order"]
    return {**meta, **extra}


def _result(job: dict, outs: tuple, meta: dict, single: bool = False):
    """Wrap the filled output buffers (no copies) in the result class: an
    Ensemble or MomentEnsemble, or for ``single`` its one sample as a
    Trajectory or MomentTrajectory."""
    n_samples = outs[0].shape[0]
    times = np.arange(job["n_rec"]) * (job["record_every"] * job["dt"])
    if job["record"] == ("states",):
        states = outs[0].reshape((n_samples, job["n_rec"], *job["shape"]))
        if single:
            return Trajectory(times=times, states=states[0], meta=meta)
        return Ensemble(times=times, states=states, meta=meta)
    moments = {name: outs[k] for k, name in enumerate(RECORDABLE, 1) if name in job["record"]}
    if single:
        return MomentTrajectory(
            times=times, moments={k: v[0] for k, v in moments.items()}, meta=meta
        )
    return MomentEnsemble(times=times, moments=moments, meta=meta)


def _stack(shape: tuple[int, ...]) -> str:
    """``shape`` read as a stack of lattices: '4 chains of 20 sites', '3 lattices of 4 x 5'."""
    s = "" if shape[0] == 1 else "s"
    if len(shape) == 2:
        return f"{shape[0]} chain{s} of {shape[1]} sites"
    return f"{shape[0]} lattice{s} of {' x '.join(map(str, shape[1:]))} sites"


def _one(shape: tuple[int, ...]) -> str:
    return f"one {' x '.join(map(str, shape))} lattice"


def _hints(hints: list[str]) -> str:
    """' For x ...; for y ....' from a list of readings of a shape (empty: '')."""
    text = "; ".join(hints)
    return f" {text[:1].upper()}{text[1:]}." if hints else ""


def _single_dim(shape: tuple[int, ...], dim) -> int:
    """The lattice dimension of one state; ``dim`` is required unless it has one axis."""
    if dim is None:
        if len(shape) == 1:
            return 1
        if len(shape) in (2, 3):
            raise ValueError(
                f"`dim` is required for a `state` with {len(shape)} axes; got shape {shape}. "
                f"Pass dim={len(shape)} for {_one(shape)}, or use "
                f"simulate_ensemble(states, ..., dim={len(shape) - 1}) for {_stack(shape)}."
            )
        raise ValueError(
            f"`state` must be one 1-3D lattice; got shape {shape}. For many lattices use "
            "simulate_ensemble(states, ..., dim=...)."
        )
    dim = check_int("dim", dim, 1, 3)
    if len(shape) != dim:
        hints = []
        if len(shape) == dim + 1:
            hints.append(f"for {_stack(shape)} use simulate_ensemble(states, ..., dim={dim})")
        if 1 <= len(shape) <= 3:
            hints.append(f"for {_one(shape)} pass dim={len(shape)}")
        raise ValueError(
            f"`state` must be one {dim}D lattice ({dim} axes) for dim={dim}; got shape "
            f"{shape}.{_hints(hints)}"
        )
    return dim


def _ensemble_dim(shape: tuple[int, ...], dim) -> int:
    """The lattice dimension of a stack of states; ``dim`` is always required."""
    if dim is None:
        if len(shape) < 2 or len(shape) > 4:
            raise ValueError(
                "`states` must have shape (n_samples, *lattice_shape) with a 1-3D lattice, and "
                f"`dim` is required; got shape {shape}."
            )
        readings = f"Pass dim={len(shape) - 1} for {_stack(shape)}"
        if len(shape) <= 3:
            readings += f", or use simulate(state, ..., dim={len(shape)}) for {_one(shape)}"
        raise ValueError(
            f"`dim` is required by simulate_ensemble; got `states` of shape {shape}. {readings}."
        )
    dim = check_int("dim", dim, 1, 3)
    if len(shape) != dim + 1:
        hints = []
        if len(shape) >= 2:
            hints.append(f"for {_stack(shape)} pass dim={len(shape) - 1}")
        if len(shape) == dim:
            hints.append(f"for {_one(shape)} use simulate(state, ..., dim={dim}) or states[None]")
        raise ValueError(
            f"`states` must have shape (n_samples, *lattice_shape) with dim + 1 = {dim + 1} "
            f"axes for dim={dim}; got shape {shape}.{_hints(hints)}"
        )
    return dim


def _seed_record(seed: SeedLike) -> dict | int | None:
    """What to store in ``meta`` so a run can be repeated."""
    if seed is None or isinstance(seed, np.random.Generator):
        return None  # not reproducible from the metadata alone
    ss = as_seed_sequence(seed)
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": json.dumps(ss.entropy), "spawn_key": list(ss.spawn_key)}
    if isinstance(seed, (list, tuple)):
        return [int(s) for s in seed]
    return int(seed)


def _check_record(record, dim: int, shape: tuple[int, ...], max_order) -> tuple[tuple, int]:
    if isinstance(record, str):
        if record != "states":
            raise ValueError(
                "`record` must be 'states' or a sequence of observables from "
                f"{RECORDABLE}; got {record!r} (for one observable write [{record!r}])."
            )
        return ("states",), 1
    try:
        names = tuple(record)
    except TypeError:
        raise TypeError(
            f"`record` must be 'states' or a sequence of observable names; got {record!r}."
        ) from None
    if not names:
        raise ValueError(f"`record` names no observable; choose from {RECORDABLE}.")
    for name in names:
        check_choice("record", name, RECORDABLE)
    if len(set(names)) != len(names):
        raise ValueError(f"`record` repeats an observable: {list(names)}.")
    order = 1
    if "chain_moments" in names:
        if dim != 1:
            raise ValueError(
                f"`record` asks for 'chain_moments', which are defined on 1D lattices; this "
                f"lattice is {dim}D (shape {shape})."
            )
        order = check_int("max_order", max_order, 1, shape[0])
    return tuple(n for n in RECORDABLE if n in names), order


def _prepare(
    arr,
    network,
    dim,
    n_steps,
    dt,
    boundary,
    hop_prob,
    record_every,
    selection,
    record,
    max_order,
    walls=None,
) -> tuple[np.ndarray, dict]:
    """Validate every argument and pack what the kernel needs (picklable)."""
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a dbmtools Network; got {type(network).__name__}.")
    if arr.shape[0] == 0:
        raise ValueError("`states` holds no samples.")
    shape = check_shape(arr.shape[1:])
    initial = check_state(arr, network.n_species, name="states").reshape(arr.shape[0], -1)
    check_boundary(boundary)
    n_steps = check_int("n_steps", n_steps, 0)
    record_every = check_int("record_every", record_every, 1)
    if n_steps % record_every:
        raise ValueError(
            f"`record_every` ({record_every}) must divide `n_steps` ({n_steps}) so that the "
            "last step is recorded."
        )
    dt = check_positive("dt", dt)
    hop_prob = check_probability("hop_prob", hop_prob)
    check_choice("selection", selection, SELECTIONS)
    if walls is None:
        walls = "redirect" if selection == "authors" else "reject"
    check_walls(walls)
    record, max_order = _check_record(record, dim, shape, max_order)
    tables = network.tables()
    n_sites = int(np.prod(shape))
    if not math.isfinite(float(tables.uni_rate.sum()) * n_sites):  # Python floats: no warning
        raise ValueError(
            f"The unimolecular rates {tables.uni_rate.tolist()} times the {n_sites} sites "
            "overflow a float64 total propensity; use rates below about "
            f"{np.finfo(np.float64).max / (n_sites * max(1, tables.uni_rate.size)):.3g}."
        )
    return initial, {
        "shape": shape,
        "boundary": boundary,
        "tables": make_tables(tables),
        "grid": make_grid(shape, boundary == "periodic"),
        "rules": Rules(
            n_steps, record_every, dt, hop_prob, walls == "redirect", selection == "authors"
        ),
        "n_steps": n_steps,
        "record_every": record_every,
        "n_rec": n_steps // record_every + 1,
        "dt": dt,
        "hop_prob": hop_prob,
        "authors": selection == "authors",
        "redirect_walls": walls == "redirect",
        "record": record,
        "max_order": max_order,
    }


def _buffer_shapes(job: dict, n_samples: int) -> list[tuple[tuple[int, ...], type]]:
    """Shapes and dtypes of the four output buffers; unrecorded ones have 0 records."""
    n_rec, m, rec = job["n_rec"], job["tables"].n_species, job["record"]
    n_sites = int(np.prod(job["shape"]))

    def n(name):
        return n_rec if name in rec else 0

    return [
        ((n_samples, n("states"), n_sites), np.int8),
        ((n_samples, n("counts"), m), np.int64),
        ((n_samples, n("pair_counts"), m, m), np.int64),
        ((n_samples, n("chain_moments"), m, job["max_order"]), np.int64),
    ]


def _allocate(job: dict, n_samples: int) -> tuple[np.ndarray, ...]:
    return tuple(np.empty(s, dtype=t) for s, t in _buffer_shapes(job, n_samples))


def _check_memory(job: dict, n_samples: int, n_running: int) -> None:
    """Raise ``MemoryError`` naming the arguments if the run cannot fit in memory."""
    n_sites = int(np.prod(job["shape"]))
    m = job["tables"].n_species
    records = sum(
        float(np.prod(s, dtype=np.float64)) * np.dtype(t).itemsize
        for s, t in _buffer_shapes(job, n_samples)
    )
    work = n_running * (8.0 * (m + 1) + 25) * n_sites
    what = (
        f"{n_samples} x {job['n_rec']} lattices of {n_sites} sites (shape {job['shape']})"
        if job["record"] == ("states",)
        else f"{n_samples} x {job['n_rec']} records of {list(job['record'])}"
    )
    check_memory(
        records + work,
        f"{what}, with n_rec = `n_steps` // `record_every` + 1 = "
        f"{job['n_steps']} // {job['record_every']} + 1",
        "Record less often (a larger `record_every`), simulate fewer samples at a time, or "
        "keep observables instead of lattices: record=['counts', 'pair_counts'].",
    )


def _run_chunk(
    job: dict, initial: np.ndarray, seeds: np.ndarray, outs: tuple | None = None
) -> tuple[np.ndarray, ...]:
    """Run the samples of one chunk into ``outs`` (allocated if None: executor tasks).

    Module-level so that executors can pickle it. A chunk with fewer samples
    than numba threads runs in the serial kernel: the parallel region would
    only make threads wait for each other.
    """
    if outs is None:
        outs = _allocate(job, seeds.size)
    kernel = _simulate_samples if seeds.size >= max(2, numba.get_num_threads()) else _run_serial
    kernel(initial, job["tables"], job["grid"], job["rules"], seeds, tuple(outs))
    return outs

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
import os
from collections.abc import Sequence
from concurrent.futures import Executor

import numba
import numpy as np

from ._checks import check_choice, check_int, check_positive, check_probability
from ._config import njit, pjit, show_progress
from ._random import SeedLike, as_seed_sequence, rng_below, rng_seed, rng_uniform, sample_seeds
from .lattice import check_boundary, check_shape, check_state, check_walls, neighbour_table
from .observables import _chain_one, _pair_one
from .reactions import Network, NetworkTables
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
        "neighbours": neighbour_table(shape, boundary),
        "tables": tables,
        "n_steps": n_steps,
        "record_every": record_every,
        "n_rec": n_steps // record_every + 1,
        "dt": dt,
        "hop_prob": hop_prob,
        "authors": selection == "authors",
        "redirect_walls": walls == "redirect",
        "dims": np.array([*shape, 1, 1][:3], dtype=np.int64),
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


#: Bytes below which a run is not checked against the available memory.
_CHECK_ABOVE = 2**28


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(job: dict, n_samples: int, n_running: int) -> None:
    """Raise ``MemoryError`` naming the arguments if the run cannot fit in memory."""
    n_sites = int(np.prod(job["shape"]))
    m = job["tables"].n_species
    records = sum(
        int(np.prod(s, dtype=np.float64)) * np.dtype(t).itemsize
        for s, t in _buffer_shapes(job, n_samples)
    )
    work = n_running * (8 * (m + 1) + 25) * n_sites + job["neighbours"].nbytes
    if records + work < _CHECK_ABOVE:
        return  # not worth reading the system's figures
    available = _available_memory()
    if available is None or records + work <= available:
        return
    gib = 2.0**30
    what = (
        f"{n_samples} x {job['n_rec']} lattices of {n_sites} sites (shape {job['shape']})"
        if job["record"] == ("states",)
        else f"{n_samples} x {job['n_rec']} records of {list(job['record'])}"
    )
    raise MemoryError(
        f"This run needs about {(records + work) / gib:.3g} GiB but {available / gib:.3g} GiB "
        f"are available: it records {what}, with n_rec = `n_steps` // `record_every` + 1 = "
        f"{job['n_steps']} // {job['record_every']} + 1. Record less often (a larger "
        "`record_every`), simulate fewer samples at a time, or keep observables instead of "
        "lattices: record=['counts', 'pair_counts']."
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
    t: NetworkTables = job["tables"]
    kernel = _simulate_samples if seeds.size >= max(2, numba.get_num_threads()) else _run_serial
    kernel(
        initial,
        job["neighbours"],
        t.n_species,
        t.uni_reactant,
        t.uni_kind,
        t.uni_product,
        t.uni_rate,
        t.pair_start,
        t.pair_prob,
        t.pair_product_target,
        t.pair_product_mover,
        job["n_steps"],
        job["record_every"],
        job["dt"],
        job["hop_prob"],
        job["authors"],
        job["redirect_walls"],
        job["dims"],
        job["boundary"] == "periodic",
        seeds,
        *outs,
    )
    return outs


# --------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------


@pjit
def _simulate_samples(
    initial,
    nbr,
    n_species,
    uni_reactant,
    uni_kind,
    uni_product,
    uni_rate,
    pair_start,
    pair_prob,
    pair_tgt,
    pair_mov,
    n_steps,
    record_every,
    dt,
    hop_prob,
    authors,
    redirect_walls,
    dims,
    periodic,
    seeds,
    out,
    counts_out,
    pairs_out,
    chains_out,
):
    """Run ``initial.shape[0]`` independent trajectories in a ``prange``; sample
    ``i`` fills ``out[i]``, ``counts_out[i]``, ``pairs_out[i]`` and ``chains_out[i]``.

    Assumes validated input: ``initial`` (S, N) int8 codes in 0..n_species,
    ``nbr`` (N, 2d) int64 with -1 at walls; each output has S rows and either
    ``n_rec`` records or none (not recorded): ``out`` (S, ., N) int8,
    ``counts_out`` (S, ., M), ``pairs_out`` (S, ., M, M), ``chains_out``
    (S, ., M, K) int64.
    """
    for i in numba.prange(initial.shape[0]):
        _simulate_one(
            initial[i].copy(),
            nbr,
            n_species,
            uni_reactant,
            uni_kind,
            uni_product,
            uni_rate,
            pair_start,
            pair_prob,
            pair_tgt,
            pair_mov,
            n_steps,
            record_every,
            dt,
            hop_prob,
            authors,
            redirect_walls,
            dims,
            periodic,
            seeds[i],
            out[i],
            counts_out[i],
            pairs_out[i],
            chains_out[i],
        )


def _run_serial(initial, *args):
    """:func:`_simulate_samples` without the parallel region, one sample at a time
    in the calling thread (the call costs microseconds, a trajectory milliseconds)."""
    *shared, seeds, out, counts_out, pairs_out, chains_out = args
    for i in range(initial.shape[0]):
        _simulate_one(
            initial[i].copy(), *shared, seeds[i], out[i], counts_out[i], pairs_out[i], chains_out[i]
        )


@njit
def _record(lattice, nbr, count, periodic, rec, out, counts_out, pairs_out, chains_out):
    """Write record ``rec`` of every recorded output (those with records)."""
    if out.shape[0] > 0:
        out[rec, :] = lattice
    if counts_out.shape[0] > 0:
        for c in range(counts_out.shape[1]):
            counts_out[rec, c] = count[c + 1]
    if pairs_out.shape[0] > 0:
        pairs_out[rec] = 0
        _pair_one(lattice, nbr, 2, pairs_out[rec])  # columns 0, 2, 4: the up-neighbours
    if chains_out.shape[0] > 0:
        chains_out[rec] = 0
        for c in range(chains_out.shape[1]):
            _chain_one(lattice, chains_out.shape[2], periodic, c + 1, chains_out[rec, c])


@njit
def _add(lattice, members, count, slot, site, species):
    lattice[site] = species
    k = count[species]
    members[species, k] = site
    slot[site] = k
    count[species] = k + 1


@njit
def _remove(lattice, members, count, slot, site):
    species = lattice[site]
    k = slot[site]
    last = members[species, count[species] - 1]
    members[species, k] = last
    slot[last] = k
    count[species] -= 1
    lattice[site] = 0
    slot[site] = -1


@njit
def _n_empty_neighbours(lattice, nbr, site):
    n = 0
    for d in range(nbr.shape[1]):
        t = nbr[site, d]
        if t >= 0 and lattice[t] == 0:
            n += 1
    return n


@njit
def _cand_add(cand, cand_n, cand_of, cand_slot, site, species):
    """Add ``site`` to the birth-candidate list of ``species`` if that list is active."""
    if cand_n[species] >= 0 and cand_of[site] == 0:
        k = cand_n[species]
        cand[species, k] = site
        cand_slot[site] = k
        cand_n[species] = k + 1
        cand_of[site] = species


@njit
def _cand_drop(cand, cand_n, cand_of, cand_slot, site):
    """Remove ``site`` from whichever candidate list holds it."""
    c = cand_of[site]
    if c > 0:
        k = cand_slot[site]
        last = cand[c, cand_n[c] - 1]
        cand[c, k] = last
        cand_slot[last] = k
        cand_n[c] -= 1
        cand_of[site] = 0


@njit
def _pick_parent(rng, lattice, nbr, members, count, species, cand, cand_n, cand_of, cand_slot):
    """A uniformly random site of ``species`` with an empty neighbour, or -1.

    First by rejection from all sites of the species (exactly uniform over the
    eligible ones). If that keeps failing, the lattice is crowded: one scan
    builds the list of eligible parents, which is then kept as a *superset* of
    the eligible set for the rest of the unimolecular phase (every event that
    can make a site eligible adds it) and thinned lazily, so a draw from it
    followed by rejection is again exactly uniform.
    """
    if cand_n[species] < 0:
        n = count[species]
        for _ in range(32):
            site = members[species, rng_below(rng, n)]
            if _n_empty_neighbours(lattice, nbr, site) > 0:
                return site
        cand_n[species] = 0
        for k in range(n):
            site = members[species, k]
            if _n_empty_neighbours(lattice, nbr, site) > 0:
                _cand_add(cand, cand_n, cand_of, cand_slot, site, species)
    while cand_n[species] > 0:
        site = cand[species, rng_below(rng, cand_n[species])]
        if _n_empty_neighbours(lattice, nbr, site) > 0:
            return site
        _cand_drop(cand, cand_n, cand_of, cand_slot, site)
    return -1


@njit
def _random_empty_site(rng, lattice, n_empty):
    """A uniformly random empty site of ``lattice``, which has ``n_empty > 0`` of them.

    By rejection from all sites (exactly uniform); after 64 misses, on a
    nearly full lattice, the ``k``-th empty site of a scan for a uniform ``k``
    (also exactly uniform, so the mixture is)."""
    n = lattice.size
    for _ in range(64):
        site = rng_below(rng, n)
        if lattice[site] == 0:
            return site
    k = rng_below(rng, n_empty)
    for site in range(n):
        if lattice[site] == 0:
            if k == 0:
                return site
            k -= 1
    return -1


#: Dropped births per step and sample after which no-op births leave the clock
#: (:func:`_unimolecular_step`); about a millisecond of draws, far more than real runs drop.
_MAX_DROPS = 10_000


@njit
def _unimolecular_step(
    rng,
    lattice,
    nbr,
    members,
    count,
    slot,
    uni_reactant,
    uni_kind,
    uni_product,
    uni_rate,
    dt,
    cand,
    cand_n,
    cand_of,
    cand_slot,
    prop,
):
    """Gillespie events inside one step of length ``dt``.

    ``prop`` (n_uni,) is a work buffer for the propensities. A creation
    ``0 -> X`` has propensity ``rate * n_empty`` and fills a uniformly random
    empty site (:func:`_random_empty_site`); every other reaction has
    ``rate * count(reactant)``.

    A birth with no room (no particle of its species next to an empty site)
    is dropped. After ``_MAX_DROPS`` dropped births in one step, births of a
    species whose candidate list is active and empty (``cand_n == 0``: no room
    anywhere) are left out of ``a0`` for the rest of the step, until an event
    adds a candidate: thinning no-op events away is exact, and a huge birth
    rate on a full lattice no longer spins the clock. Below that many drops,
    nothing changes, draw for draw (the results of earlier versions).
    """
    n_uni = uni_rate.size
    n_empty = lattice.size
    for c in range(1, count.size):
        n_empty -= count[c]
    t = 0.0
    n_dropped = 0
    while True:
        thin = n_dropped >= _MAX_DROPS
        a0 = 0.0
        for r in range(n_uni):
            if uni_kind[r] == 3:  # 0 -> X, per empty site
                w = uni_rate[r] * n_empty
            elif thin and uni_kind[r] == 2 and cand_n[uni_reactant[r]] == 0:
                w = 0.0  # a birth with no room anywhere: a no-op, left out
            else:
                w = uni_rate[r] * count[uni_reactant[r]]
            prop[r] = w
            a0 += w
        if a0 <= 0.0:
            break
        t += -np.log(1.0 - rng_uniform(rng)) / a0
        if t >= dt:
            break
        # the steps below are written out rather than called (_choose_reaction, _place_child,
        # _remove): in this hot loop the calls cost about a third of a Rössler run (measured)
        u = rng_uniform(rng) * a0  # the reaction, with probability propensity / a0
        r = 0
        while r < n_uni - 1:
            u -= prop[r]
            if u < 0.0:
                break
            r += 1
        while prop[r] == 0.0:  # guard rounding at the end
            r -= 1
        species = uni_reactant[r]
        kind = uni_kind[r]
        if kind == 3:  # 0 -> X on a uniformly random empty site
            site = _random_empty_site(rng, lattice, n_empty)
            _add(lattice, members, count, slot, site, species)
            n_empty -= 1
            if cand_n[species] >= 0:
                _cand_add(cand, cand_n, cand_of, cand_slot, site, species)
        elif kind == 2:  # X -> X + X
            parent = -1
            n_free = 0
            if cand_n[species] < 0:  # rejection among all X (exactly uniform over eligible)
                n = count[species]
                for _ in range(32):
                    site = members[species, rng_below(rng, n)]
                    for d in range(nbr.shape[1]):
                        q = nbr[site, d]
                        if q >= 0 and lattice[q] == 0:
                            n_free += 1
                    if n_free > 0:
                        parent = site
                        break
            if parent < 0:  # crowded: the candidate lists of _pick_parent
                parent = _pick_parent(
                    rng, lattice, nbr, members, count, species, cand, cand_n, cand_of, cand_slot
                )
                if parent < 0:
                    n_dropped += 1
                    continue  # no X has an empty neighbour: the event is dropped
                n_free = _n_empty_neighbours(lattice, nbr, parent)
            k = rng_below(rng, n_free)  # the child: a uniformly random empty neighbour
            for d in range(nbr.shape[1]):
                child = nbr[parent, d]
                if child >= 0 and lattice[child] == 0:
                    if k == 0:
                        break
                    k -= 1
            lattice[child] = species
            j = count[species]
            members[species, j] = child
            slot[child] = j
            count[species] = j + 1
            n_empty -= 1
            if cand_n[species] >= 0:
                _cand_add(cand, cand_n, cand_of, cand_slot, child, species)
        else:
            k = rng_below(rng, count[species])  # a uniformly random X, removed
            site = members[species, k]
            if cand_of[site] > 0:
                _cand_drop(cand, cand_n, cand_of, cand_slot, site)
            last = members[species, count[species] - 1]
            members[species, k] = last
            slot[last] = k
            count[species] -= 1
            lattice[site] = 0
            slot[site] = -1
            if kind == 1:  # X -> Y
                _add(lattice, members, count, slot, site, uni_product[r])
                _cand_add(cand, cand_n, cand_of, cand_slot, site, uni_product[r])
            else:  # X -> 0 frees a site: its occupied neighbours may become parents
                n_empty += 1
                for d in range(nbr.shape[1]):
                    u = nbr[site, d]
                    if u >= 0 and lattice[u] > 0 and cand_n[lattice[u]] >= 0:
                        _cand_add(cand, cand_n, cand_of, cand_slot, u, lattice[u])
    for c in range(cand_n.size):  # candidate lists live for one phase only
        if cand_n[c] >= 0:
            for k in range(cand_n[c]):
                cand_of[cand[c, k]] = 0
            cand_n[c] = -1


@njit
def _shuffled_range(rng, order, n):
    """``order[:n]`` = a uniformly random permutation of 0..n-1."""
    for k in range(n):
        j = rng_below(rng, k + 1)
        order[k] = order[j]
        order[j] = k


@njit
def _authors_pick(rng, lattice, dims, xo, yo, zo, species, moved, step):
    """The authors' "random molecule": the first site of a nested x-y-z scan over
    independently shuffled x, y and z orders that holds ``species`` (0: any
    particle) and, if ``step >= 0``, has not had its turn (``moved != step``).
    Returns -1 if there is none."""
    nx, ny, nz = dims[0], dims[1], dims[2]
    _shuffled_range(rng, xo, nx)
    _shuffled_range(rng, yo, ny)
    _shuffled_range(rng, zo, nz)
    for a in range(nx):
        for b in range(ny):
            base = (xo[a] * ny + yo[b]) * nz
            for c in range(nz):
                site = base + zo[c]
                v = lattice[site]
                if v == 0 or (species > 0 and v != species):
                    continue
                if step >= 0 and moved[site] == step:
                    continue
                return site
    return -1


@njit
def _authors_pick_empty(rng, lattice, dims, xo, yo, zo):
    """The authors' "random empty site": the first empty site of the same shuffled
    nested x-y-z scan as :func:`_authors_pick`, or -1 if the lattice is full."""
    nx, ny, nz = dims[0], dims[1], dims[2]
    _shuffled_range(rng, xo, nx)
    _shuffled_range(rng, yo, ny)
    _shuffled_range(rng, zo, nz)
    for a in range(nx):
        for b in range(ny):
            base = (xo[a] * ny + yo[b]) * nz
            for c in range(nz):
                site = base + zo[c]
                if lattice[site] == 0:
                    return site
    return -1


@njit
def _authors_weight(r, uni_rate, uni_reactant, uni_kind, count, blocked):
    """Propensity of reaction ``r`` in the authors' clock: ``rate * count``, 0 for
    births of ``blocked`` species; a creation ``0 -> X`` has ``rate * max(count(X), 1)``
    (0 while ``blocked[0]``: the lattice was found full)."""
    kind = uni_kind[r]
    if kind == 3:
        if blocked[0]:
            return 0.0
        return uni_rate[r] * max(count[uni_reactant[r]], 1)
    if kind == 2 and blocked[uni_reactant[r]]:
        return 0.0
    return uni_rate[r] * count[uni_reactant[r]]


@njit
def _authors_propensity(uni_rate, uni_reactant, uni_kind, count, blocked):
    """Total propensity, leaving out births of ``blocked`` species (no room)."""
    a0 = 0.0
    for r in range(uni_rate.size):
        a0 += _authors_weight(r, uni_rate, uni_reactant, uni_kind, count, blocked)
    return a0


@njit
def _choose_reaction(rng, a0, uni_rate, uni_reactant, uni_kind, count, blocked):
    """Index of a unimolecular reaction drawn with probability propensity / a0
    (births of ``blocked`` species have propensity 0)."""
    n_uni = uni_rate.size
    u = rng_uniform(rng) * a0
    r = 0
    while r < n_uni - 1:
        u -= _authors_weight(r, uni_rate, uni_reactant, uni_kind, count, blocked)
        if u < 0.0:
            break
        r += 1
    while _authors_weight(r, uni_rate, uni_reactant, uni_kind, count, blocked) == 0.0:
        r -= 1  # guard rounding at the end
    return r


@njit
def _place_child(rng, lattice, nbr, members, count, slot, parent, species):
    """Put a ``species`` child on a uniformly random empty neighbour of ``parent``."""
    k = rng_below(rng, _n_empty_neighbours(lattice, nbr, parent))
    for d in range(nbr.shape[1]):
        child = nbr[parent, d]
        if child >= 0 and lattice[child] == 0:
            if k == 0:
                _add(lattice, members, count, slot, child, species)
                return child
            k -= 1
    return -1


@njit
def _unimolecular_authors(
    rng,
    lattice,
    nbr,
    members,
    count,
    slot,
    uni_reactant,
    uni_kind,
    uni_product,
    uni_rate,
    t0,
    t1,
    clock,
    blocked,
    dims,
    xo,
    yo,
    zo,
):
    """The authors' Gillespie clock: ``clock = [t_next, r_next]`` persists across
    steps; each event keeps the reaction chosen when it was scheduled.

    A birth that fails its 20 picks is dropped, as in the authors' code. From
    the ``_MAX_DROPS``-th drop of a step on, a drop after which no particle of
    the species has an empty neighbour at all marks the species ``blocked``:
    its births leave the clock until this step ends or a particle is removed
    or converted (so a huge birth rate on a full lattice cannot spin it).
    Below that many drops nothing changes, draw for draw.
    """
    blocked[:] = False  # the sweep may have made room
    n_dropped = 0
    if clock[1] < 0:  # nothing scheduled: start the clock at this step
        a0 = _authors_propensity(uni_rate, uni_reactant, uni_kind, count, blocked)
        if a0 <= 0.0:
            return
        clock[0] = t0 - np.log(1.0 - rng_uniform(rng)) / a0
        clock[1] = _choose_reaction(rng, a0, uni_rate, uni_reactant, uni_kind, count, blocked)
    while clock[0] < t1:
        r = int(clock[1])
        species = uni_reactant[r]
        if uni_kind[r] == 3:  # 0 -> X on the first empty site of the scan
            site = _authors_pick_empty(rng, lattice, dims, xo, yo, zo)
            if site >= 0:
                _add(lattice, members, count, slot, site, species)
                blocked[species] = False  # the new particle may have room
            else:
                n_dropped += 1
                blocked[0] = n_dropped >= _MAX_DROPS  # full: creations leave the clock
        elif count[species] > 0:
            if uni_kind[r] == 2:
                born = False
                for _ in range(20):
                    # step = -1: no "already moved" check (``slot`` stands in for it)
                    parent = _authors_pick(rng, lattice, dims, xo, yo, zo, species, slot, -1)
                    if _n_empty_neighbours(lattice, nbr, parent) > 0:
                        _place_child(rng, lattice, nbr, members, count, slot, parent, species)
                        born = True
                        break
                n_dropped += not born
                if not born and n_dropped >= _MAX_DROPS:
                    blocked[species] = True
                    for k in range(count[species]):
                        if _n_empty_neighbours(lattice, nbr, members[species, k]) > 0:
                            blocked[species] = False
                            break
            else:
                site = _authors_pick(rng, lattice, dims, xo, yo, zo, species, slot, -1)
                _remove(lattice, members, count, slot, site)
                if uni_kind[r] == 1:
                    _add(lattice, members, count, slot, site, uni_product[r])
                blocked[:] = False  # a freed site, or a new particle, may have room
        a0 = _authors_propensity(uni_rate, uni_reactant, uni_kind, count, blocked)
        if a0 <= 0.0:
            clock[1] = -1.0
            return
        clock[0] += -np.log(1.0 - rng_uniform(rng)) / a0
        clock[1] = _choose_reaction(rng, a0, uni_rate, uni_reactant, uni_kind, count, blocked)


@njit
def _collide(lattice, members, count, slot, moved, step, s, t, r, pair_tgt, pair_mov):
    """Reaction ``r`` between the mover on ``s`` and the target on ``t``: both are
    consumed; the first product goes on ``t``, the second on ``s``."""
    _remove(lattice, members, count, slot, s)
    _remove(lattice, members, count, slot, t)
    if pair_tgt[r] > 0:
        _add(lattice, members, count, slot, t, pair_tgt[r])
        moved[t] = step
    if pair_mov[r] > 0:
        _add(lattice, members, count, slot, s, pair_mov[r])
        moved[s] = step


@njit
def _hop(
    redirect_walls,
    rng,
    lattice,
    nbr,
    members,
    count,
    slot,
    moved,
    step,
    s,
    hop_prob,
    pair_start,
    pair_prob,
    pair_tgt,
    pair_mov,
    stride,
):
    """One hop attempt of the particle on site ``s`` (section 2 of the module docstring).

    Used by the authors' sweep; the uniform sweep in :func:`_simulate_one` has
    the same steps written out, since the call costs more than the sweep.

    ``redirect_walls``: a hop towards a reflecting wall is redrawn among the
    existing neighbours (the authors' code) instead of rejected.
    """
    a = lattice[s]
    if hop_prob < 1.0 and rng_uniform(rng) >= hop_prob:
        return
    t = nbr[s, rng_below(rng, nbr.shape[1])]
    while t < 0:
        if not redirect_walls:
            return  # reflecting wall: the hop is rejected
        t = nbr[s, rng_below(rng, nbr.shape[1])]  # the authors: only existing neighbours
    b = lattice[t]
    if b == 0:
        lattice[t] = a
        lattice[s] = 0
        j = slot[s]
        members[a, j] = t
        slot[t] = j
        slot[s] = -1
        moved[t] = step
        return
    pair = a * stride + b
    for r in range(pair_start[pair], pair_start[pair + 1]):
        if rng_uniform(rng) < pair_prob[r]:
            _collide(lattice, members, count, slot, moved, step, s, t, r, pair_tgt, pair_mov)
            return


@njit
def _authors_sweep(
    rng,
    lattice,
    nbr,
    members,
    count,
    slot,
    moved,
    step,
    hop_prob,
    pair_start,
    pair_prob,
    pair_tgt,
    pair_mov,
    stride,
    dims,
    xo,
    yo,
    zo,
    redirect_walls,
):
    """The authors' diffusion sweep: the next mover by the biased scan, until all moved."""
    while True:
        s = _authors_pick(rng, lattice, dims, xo, yo, zo, 0, moved, step)
        if s < 0:
            return
        moved[s] = step
        _hop(
            redirect_walls,
            rng,
            lattice,
            nbr,
            members,
            count,
            slot,
            moved,
            step,
            s,
            hop_prob,
            pair_start,
            pair_prob,
            pair_tgt,
            pair_mov,
            stride,
        )


@njit
def _simulate_one(
    lattice,
    nbr,
    n_species,
    uni_reactant,
    uni_kind,
    uni_product,
    uni_rate,
    pair_start,
    pair_prob,
    pair_tgt,
    pair_mov,
    n_steps,
    record_every,
    dt,
    hop_prob,
    authors,
    redirect_walls,
    dims,
    periodic,
    seed,
    out,
    counts_out,
    pairs_out,
    chains_out,
):
    """One trajectory; ``lattice`` (N,) is modified in place and every output
    with records (``out`` (n_rec, N), ``counts_out``, ``pairs_out``,
    ``chains_out``; see :func:`_record`) is filled at steps 0, record_every, ...

    Work buffers are allocated here, once per trajectory, never per step.
    ``members[c, :count[c]]`` lists the sites of species ``c``; ``slot[s]`` is
    the position of site ``s`` in its species' list; ``moved[s] == step`` marks
    a site whose particle already moved or was created in this step; ``cand*``
    hold the birth-candidate lists of :func:`_pick_parent`.
    """
    n_sites = lattice.size
    rng = np.empty(4, dtype=np.uint64)
    rng_seed(seed, rng)
    members = np.empty((n_species + 1, n_sites), dtype=np.int32)
    count = np.zeros(n_species + 1, dtype=np.int64)
    slot = np.empty(n_sites, dtype=np.int32)
    order = np.empty(n_sites, dtype=np.int32)
    moved = np.empty(n_sites, dtype=np.int32)
    cand = np.empty((n_species + 1, n_sites), dtype=np.int32)
    cand_n = np.full(n_species + 1, -1, dtype=np.int64)
    cand_of = np.zeros(n_sites, dtype=np.int8)
    cand_slot = np.empty(n_sites, dtype=np.int32)
    xo = np.empty(dims[0], dtype=np.int64)  # the authors' shuffled axis orders
    yo = np.empty(dims[1], dtype=np.int64)
    zo = np.empty(dims[2], dtype=np.int64)
    clock = np.array([0.0, -1.0])  # the authors' persistent Gillespie clock
    blocked = np.zeros(n_species + 1, dtype=np.bool_)  # the authors' births with no room
    prop = np.empty(uni_rate.size)  # propensities of the uniform clock
    stride = n_species + 1
    for s in range(n_sites):
        slot[s] = -1
        moved[s] = -1
        if lattice[s] > 0:
            _add(lattice, members, count, slot, s, lattice[s])
    _record(lattice, nbr, count, periodic, 0, out, counts_out, pairs_out, chains_out)
    rec = 1
    for step in range(n_steps):
        if uni_rate.size > 0 and authors:
            _unimolecular_authors(
                rng,
                lattice,
                nbr,
                members,
                count,
                slot,
                uni_reactant,
                uni_kind,
                uni_product,
                uni_rate,
                step * dt,
                (step + 1) * dt,
                clock,
                blocked,
                dims,
                xo,
                yo,
                zo,
            )
        elif uni_rate.size > 0:
            _unimolecular_step(
                rng,
                lattice,
                nbr,
                members,
                count,
                slot,
                uni_reactant,
                uni_kind,
                uni_product,
                uni_rate,
                dt,
                cand,
                cand_n,
                cand_of,
                cand_slot,
                prop,
            )
        if authors:
            _authors_sweep(
                rng,
                lattice,
                nbr,
                members,
                count,
                slot,
                moved,
                step,
                hop_prob,
                pair_start,
                pair_prob,
                pair_tgt,
                pair_mov,
                stride,
                dims,
                xo,
                yo,
                zo,
                redirect_walls,
            )
        else:
            n = 0  # uniformly random order of all particles ("inside-out" Fisher-Yates)
            for c in range(1, n_species + 1):
                for k in range(count[c]):
                    j = rng_below(rng, n + 1)
                    order[n] = order[j]
                    order[j] = members[c, k]
                    n += 1
            for k in range(n):
                s = order[k]
                if lattice[s] == 0 or moved[s] == step:
                    continue  # consumed, or already moved / created in this step
                # _hop written out: a call here costs 3x the whole sweep (measured)
                a = lattice[s]
                if hop_prob < 1.0 and rng_uniform(rng) >= hop_prob:
                    continue
                t = nbr[s, rng_below(rng, nbr.shape[1])]
                if t < 0:
                    if not redirect_walls:
                        continue  # reflecting wall: the hop is rejected
                    while t < 0:  # the authors' walls: only existing neighbours
                        t = nbr[s, rng_below(rng, nbr.shape[1])]
                b = lattice[t]
                if b == 0:
                    lattice[t] = a
                    lattice[s] = 0
                    j = slot[s]
                    members[a, j] = t
                    slot[t] = j
                    slot[s] = -1
                    moved[t] = step
                    continue
                pair = a * stride + b
                for r in range(pair_start[pair], pair_start[pair + 1]):
                    if rng_uniform(rng) < pair_prob[r]:
                        _collide(
                            lattice, members, count, slot, moved, step, s, t, r, pair_tgt, pair_mov
                        )
                        break
        if (step + 1) % record_every == 0:
            _record(lattice, nbr, count, periodic, rec, out, counts_out, pairs_out, chains_out)
            rec += 1

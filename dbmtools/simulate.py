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
   event is dropped.
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
from concurrent.futures import Executor

import numba
import numpy as np

from ._config import njit, pjit, show_progress
from ._random import SeedLike, as_seed_sequence, rng_below, rng_seed, rng_uniform, sample_seeds
from .lattice import check_boundary, check_shape, check_state, neighbour_table
from .reactions import Network, NetworkTables
from .trajectory import Ensemble, Trajectory

__all__ = ["simulate", "simulate_ensemble", "hop_rate", "diffusion_constant"]

SELECTIONS = ("uniform", "authors")


def hop_rate(dt: float, dim: int, hop_prob: float = 1.0) -> float:
    """Hop rate per neighbour of the lattice sweep, ``hop_prob / (2 dim dt)``.

    Examples
    --------
    >>> hop_rate(0.01, 1)
    50.0
    """
    return hop_prob / (2 * dim * dt)


def diffusion_constant(dt: float, dim: int, hop_prob: float = 1.0, spacing: float = 1.0) -> float:
    """Diffusion constant ``D = hop_prob * spacing**2 / (2 dim dt)`` of the sweep.

    Examples
    --------
    >>> diffusion_constant(0.01, 3)
    16.666666666666668
    """
    return hop_prob * spacing**2 / (2 * dim * dt)


def simulate(
    state: np.ndarray,
    network: Network,
    *,
    n_steps: int,
    dt: float,
    seed: SeedLike = None,
    boundary: str = "periodic",
    hop_prob: float = 1.0,
    record_every: int = 1,
    selection: str = "uniform",
) -> Trajectory:
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
    seed : None, int, SeedSequence or Generator
        Same seed, same trajectory.
    boundary : {"periodic", "reflecting"}
    hop_prob : float
        Probability in [0, 1] that a particle attempts its hop in a step.
    record_every : int
        Record the lattice every this many steps; must divide ``n_steps``.
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
        of neighbours). It costs O(particles x sites) per step, like the
        original.

    Returns
    -------
    Trajectory
        ``times`` shape (n_rec,), ``states`` shape ``(n_rec, *state.shape)`` int8,
        with ``n_rec = n_steps // record_every + 1``; time 0 is the first record.

    Raises
    ------
    ValueError, TypeError
        For a bad argument; the message names it and the allowed range.

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
    """
    ens = simulate_ensemble(
        np.asarray(state)[None],
        network,
        n_steps=n_steps,
        dt=dt,
        seed=seed,
        boundary=boundary,
        hop_prob=hop_prob,
        record_every=record_every,
        selection=selection,
        progress=False,
    )
    return ens[0]


def simulate_ensemble(
    states: np.ndarray,
    network: Network,
    *,
    n_steps: int,
    dt: float,
    seed: SeedLike = None,
    boundary: str = "periodic",
    hop_prob: float = 1.0,
    record_every: int = 1,
    selection: str = "uniform",
    progress: bool = True,
    executor: Executor | None = None,
    chunk_size: int | None = None,
) -> Ensemble:
    """Simulate many independent trajectories in parallel.

    Samples run in a numba ``prange`` on all cores. Sample ``i`` uses its own
    random stream, the ``i``-th child of ``SeedSequence(seed)``, so results do
    not depend on the number of threads, the chunking, or the executor.

    Parameters
    ----------
    states : ndarray of int, shape ``(n_samples, *shape)``
        One initial lattice per sample.
    network, n_steps, dt, seed, boundary, hop_prob, record_every, selection
        As in :func:`simulate`.
    progress : bool
        Show a progress bar (always off under CI).
    executor : concurrent.futures.Executor, optional
        Any object with ``submit(fn, *args)`` returning futures, e.g.
        ``dask.distributed.Client(...).get_executor()``. Chunks of samples are
        submitted to it instead of running here: the way to scale past one
        machine.
    chunk_size : int, optional
        Samples per chunk (progress update or executor task). By default about
        1/20 of the samples, at least ``numba.get_num_threads()``.

    Returns
    -------
    Ensemble
        ``states`` shape ``(n_samples, n_rec, *shape)`` int8.

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state((8, 8), counts=[20], seed=0)
    >>> ens = dbm.simulate_ensemble(np.stack([s0] * 4), dbm.Network([("A -> 0", 1.0)]),
    ...                             n_steps=10, dt=0.1, seed=3, progress=False)
    >>> ens.states.shape
    (4, 11, 8, 8)
    """
    initial, job = _prepare(
        states, network, n_steps, dt, boundary, hop_prob, record_every, selection
    )
    n_samples = initial.shape[0]
    seeds = sample_seeds(seed, n_samples)
    if chunk_size is None:
        chunk_size = max(numba.get_num_threads(), -(-n_samples // 20))
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"`chunk_size` must be a positive integer; got {chunk_size!r}.")
    shape = job["shape"]
    n_rec = n_steps // record_every + 1
    out = np.empty((n_samples, n_rec, int(np.prod(shape))), dtype=np.int8)
    bounds = [(a, min(a + chunk_size, n_samples)) for a in range(0, n_samples, chunk_size)]

    from tqdm.auto import tqdm

    bar = tqdm(total=n_samples, desc="simulate", unit="traj", disable=not show_progress(progress))
    try:
        if executor is None:
            for a, b in bounds:
                out[a:b] = _run_chunk(job, initial[a:b], seeds[a:b])
                bar.update(b - a)
        else:
            futures = [
                (a, b, executor.submit(_run_chunk, job, initial[a:b], seeds[a:b]))
                for a, b in bounds
            ]
            for a, b, fut in futures:
                out[a:b] = fut.result()
                bar.update(b - a)
    finally:
        bar.close()

    meta = {
        "network": network.to_dict(),
        "shape": list(shape),
        "boundary": boundary,
        "dt": float(dt),
        "hop_prob": float(hop_prob),
        "selection": selection,
        "n_steps": int(n_steps),
        "record_every": int(record_every),
        "seed": _seed_record(seed),
    }
    times = np.arange(n_rec) * (record_every * dt)
    return Ensemble(times=times, states=out.reshape((n_samples, n_rec, *shape)), meta=meta)


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


def _prepare(
    states, network, n_steps, dt, boundary, hop_prob, record_every, selection
) -> tuple[np.ndarray, dict]:
    """Validate every argument and pack what the kernel needs (picklable)."""
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a dbmtools Network; got {type(network).__name__}.")
    arr = np.asarray(states)
    if arr.ndim < 2 or arr.ndim > 4:
        raise ValueError(
            "`states` must have shape (n_samples, *lattice_shape) with a 1-3D lattice; "
            f"got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError("`states` holds no samples.")
    shape = check_shape(arr.shape[1:])
    initial = check_state(arr, network.n_species, name="states").reshape(arr.shape[0], -1)
    check_boundary(boundary)
    _check_int("n_steps", n_steps, minimum=0)
    _check_int("record_every", record_every, minimum=1)
    if n_steps % record_every:
        raise ValueError(
            f"`record_every` ({record_every}) must divide `n_steps` ({n_steps}) so that the "
            "last step is recorded."
        )
    if isinstance(dt, bool) or not np.isscalar(dt) or not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"`dt` must be a finite number > 0; got {dt!r}.")
    if (
        isinstance(hop_prob, bool)
        or not np.isscalar(hop_prob)
        or not np.isfinite(hop_prob)
        or not 0 <= hop_prob <= 1
    ):
        raise ValueError(f"`hop_prob` must be a probability in [0, 1]; got {hop_prob!r}.")
    if selection not in SELECTIONS:
        raise ValueError(f"`selection` must be 'uniform' or 'authors'; got {selection!r}.")
    return initial, {
        "shape": shape,
        "neighbours": neighbour_table(shape, boundary),
        "tables": network.tables(),
        "n_steps": int(n_steps),
        "record_every": int(record_every),
        "dt": float(dt),
        "hop_prob": float(hop_prob),
        "authors": selection == "authors",
        "dims": np.array([*shape, 1, 1][:3], dtype=np.int64),
    }


def _check_int(name: str, value, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value}.")


def _run_chunk(job: dict, initial: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Run the samples of one chunk; module-level so that executors can pickle it."""
    t: NetworkTables = job["tables"]
    n_rec = job["n_steps"] // job["record_every"] + 1
    out = np.empty((seeds.size, n_rec, initial.shape[1]), dtype=np.int8)
    _simulate_samples(
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
        job["dims"],
        seeds,
        out,
    )
    return out


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
    dims,
    seeds,
    out,
):
    """Run ``initial.shape[0]`` independent trajectories; ``out[i]`` gets sample ``i``.

    Assumes validated input: ``initial`` (S, N) int8 codes in 0..n_species,
    ``nbr`` (N, 2d) int64 with -1 at walls, ``out`` (S, n_rec, N) int8.
    """
    for i in numba.prange(initial.shape[0]):
        lattice = initial[i].copy()
        _simulate_one(
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
            dims,
            seeds[i],
            out[i],
        )


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
):
    """Gillespie events inside one step of length ``dt``."""
    n_uni = uni_rate.size
    t = 0.0
    while True:
        a0 = 0.0
        for r in range(n_uni):
            a0 += uni_rate[r] * count[uni_reactant[r]]
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
            u -= uni_rate[r] * count[uni_reactant[r]]
            if u < 0.0:
                break
            r += 1
        while count[uni_reactant[r]] == 0 or uni_rate[r] == 0.0:  # guard rounding at the end
            r -= 1
        species = uni_reactant[r]
        kind = uni_kind[r]
        if kind == 2:  # X -> X + X
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
def _choose_reaction(rng, a0, uni_rate, uni_reactant, count):
    """Index of a unimolecular reaction drawn with probability propensity / a0."""
    n_uni = uni_rate.size
    u = rng_uniform(rng) * a0
    r = 0
    while r < n_uni - 1:
        u -= uni_rate[r] * count[uni_reactant[r]]
        if u < 0.0:
            break
        r += 1
    while count[uni_reactant[r]] == 0 or uni_rate[r] == 0.0:  # guard rounding at the end
        r -= 1
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
    dims,
    xo,
    yo,
    zo,
):
    """The authors' Gillespie clock: ``clock = [t_next, r_next]`` persists across
    steps; each event keeps the reaction chosen when it was scheduled."""
    n_uni = uni_rate.size
    if clock[1] < 0:  # nothing scheduled: start the clock at this step
        a0 = 0.0
        for r in range(n_uni):
            a0 += uni_rate[r] * count[uni_reactant[r]]
        if a0 <= 0.0:
            return
        clock[0] = t0 - np.log(1.0 - rng_uniform(rng)) / a0
        clock[1] = _choose_reaction(rng, a0, uni_rate, uni_reactant, count)
    while clock[0] < t1:
        r = int(clock[1])
        species = uni_reactant[r]
        if count[species] > 0:
            if uni_kind[r] == 2:
                for _ in range(20):
                    # step = -1: no "already moved" check (``slot`` stands in for it)
                    parent = _authors_pick(rng, lattice, dims, xo, yo, zo, species, slot, -1)
                    if _n_empty_neighbours(lattice, nbr, parent) > 0:
                        _place_child(rng, lattice, nbr, members, count, slot, parent, species)
                        break
            else:
                site = _authors_pick(rng, lattice, dims, xo, yo, zo, species, slot, -1)
                _remove(lattice, members, count, slot, site)
                if uni_kind[r] == 1:
                    _add(lattice, members, count, slot, site, uni_product[r])
        a0 = 0.0
        for k in range(n_uni):
            a0 += uni_rate[k] * count[uni_reactant[k]]
        if a0 <= 0.0:
            clock[1] = -1.0
            return
        clock[0] += -np.log(1.0 - rng_uniform(rng)) / a0
        clock[1] = _choose_reaction(rng, a0, uni_rate, uni_reactant, count)


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
):
    """The authors' diffusion sweep: the next mover by the biased scan, until all moved."""
    while True:
        s = _authors_pick(rng, lattice, dims, xo, yo, zo, 0, moved, step)
        if s < 0:
            return
        moved[s] = step
        _hop(
            True,
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
    dims,
    seed,
    out,
):
    """One trajectory; ``lattice`` (N,) is modified in place, ``out`` (n_rec, N) filled.

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
    stride = n_species + 1
    for s in range(n_sites):
        slot[s] = -1
        moved[s] = -1
        if lattice[s] > 0:
            _add(lattice, members, count, slot, s, lattice[s])
    out[0, :] = lattice
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
                    continue  # reflecting wall: the hop is rejected
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
            out[rec, :] = lattice
            rec += 1

"""The numba kernels of :mod:`dbmtools.simulate` (the lattice SSA).

What a kernel needs is packed into four named tuples, so that a new table or
buffer is added in one place and no argument list is written out twice:

* :class:`Tables`: the network as flat arrays (:class:`~dbmtools.reactions.NetworkTables`);
* :class:`Grid`: the lattice geometry. A neighbour is the site's index plus
  an offset (:func:`neighbour`), chosen by one byte per site that marks the
  directions crossing an edge. A table of ``2 d`` int64 neighbours per site
  (48 MB on a 10^6-site lattice, larger than the cache) cost a cache miss per
  hop attempt, and coordinates by integer division made a Rössler 10^3 run
  1.2x slower (both measured);
* :class:`Rules`: steps, recording interval, ``dt``, ``hop_prob``, the wall rule;
* :class:`Work`: the per-trajectory buffers (see :func:`new_work`).

The uniform rule and the authors' rule are two trajectory loops
(:func:`_run_uniform`, :func:`_run_authors`) chosen once per trajectory.
A function that loops unpacks the tuples' arrays once, at its top, and its
helpers take arrays: reading a field of a tuple inside a loop costs numba a
reference-count update each time, which made a Rössler 10^3 run 1.45x slower
(measured). The small helpers are inlined (``inline="always"``).
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._config import njit, pjit
from ._random import rng_below, rng_seed, rng_uniform
from .observables import _chain_one

inline = njit(inline="always")

#: Iterations of the sweep between prefetching a mover's site data and using it,
#: on lattices of more than ``PREFETCH_ABOVE`` sites (which outgrow the cache):
#: 32 took a 100^3 sweep from 85 to 41 ns a hop attempt (8: 44, 64: 50); on a
#: 1D lattice of 1000 sites the prefetches only cost time.
PREFETCH_AHEAD = 32
PREFETCH_ABOVE = 2**16

#: The network's tables (codes 1..M; see :class:`~dbmtools.reactions.NetworkTables`).
Tables = namedtuple(
    "Tables",
    "n_species uni_reactant uni_kind uni_product uni_rate pair_start pair_prob pair_tgt pair_mov",
)
#: Lattice geometry: ``shape`` and ``stride`` (int64, length 3, padded with
#: extent 1), ``periodic``; per site the bit mask ``edge`` (uint8, bit ``d``: a
#: hop in direction ``d`` crosses an edge) and ``offset`` (2**n_dirs, n_dirs)
#: int64: ``offset[mask, d]`` is the index offset of direction ``d`` from a site
#: whose mask is ``mask``, across the edge where its bit ``d`` is set
#: (:data:`WALL` at a reflecting wall). Direction ``2 a`` is up along axis
#: ``a``, ``2 a + 1`` down: the columns of :func:`~dbmtools.lattice.neighbour_table`.
Grid = namedtuple("Grid", "shape stride periodic edge offset")

#: Offset across a reflecting wall: any site plus it is negative, "no neighbour".
WALL = -(2**62)
#: What a trajectory does: ``n_steps``, ``record_every``, ``dt``, ``hop_prob``,
#: ``redirect_walls`` (the authors' walls) and ``authors`` (their selection rule).
Rules = namedtuple("Rules", "n_steps record_every dt hop_prob redirect_walls authors")
#: Per-trajectory buffers, allocated once per trajectory by :func:`new_work`.
Work = namedtuple(
    "Work",
    "rng lattice members count slot moved order cand cand_n cand_of cand_slot "
    "xo yo zo clock blocked prop pair_hist free",
)


def make_tables(t) -> Tables:
    """:class:`Tables` of a :class:`~dbmtools.reactions.NetworkTables`."""
    return Tables(
        int(t.n_species),
        t.uni_reactant,
        t.uni_kind,
        t.uni_product,
        t.uni_rate,
        t.pair_start,
        t.pair_prob,
        t.pair_product_target,
        t.pair_product_mover,
    )


def make_grid(shape: tuple[int, ...], periodic: bool) -> Grid:
    """:class:`Grid` of a C-ordered lattice ``shape`` (1 to 3 axes)."""
    dims = np.array([*shape, 1, 1][:3], dtype=np.int64)
    stride = np.array([dims[1] * dims[2], dims[2], 1], dtype=np.int64)
    n_dirs = 2 * len(shape)
    inside, across = np.empty(n_dirs, dtype=np.int64), np.empty(n_dirs, dtype=np.int64)
    edge = np.zeros(shape, dtype=np.uint8)
    for axis, n in enumerate(shape):
        st = stride[axis]
        inside[2 * axis : 2 * axis + 2] = st, -st
        across[2 * axis : 2 * axis + 2] = (-(n - 1) * st, (n - 1) * st) if periodic else WALL
        top = [slice(None)] * len(shape)
        bottom = list(top)
        top[axis], bottom[axis] = n - 1, 0
        edge[tuple(top)] |= 1 << (2 * axis)
        edge[tuple(bottom)] |= 1 << (2 * axis + 1)
    masks = np.arange(2**n_dirs)[:, None]
    crosses = (masks >> np.arange(n_dirs)) & 1 == 1
    offset = np.where(crosses, across, inside)
    return Grid(dims, stride, bool(periodic), edge.ravel(), offset)


# --------------------------------------------------------------------------
# samples and trajectories
# --------------------------------------------------------------------------


@pjit
def simulate_samples(initial, tables, grid, rules, seeds, outs):
    """Run ``initial.shape[0]`` independent trajectories in a ``prange``.

    Assumes validated input: ``initial`` (S, N) int8 codes in 0..n_species;
    ``outs`` = (states (S, ., N) int8, counts (S, ., M), pairs (S, ., M, M),
    chains (S, ., M, K) int64), each with ``n_rec`` records or none (not
    recorded). Sample ``i`` fills row ``i`` of each.
    """
    for i in numba.prange(initial.shape[0]):
        simulate_one(
            initial[i].copy(),
            tables,
            grid,
            rules,
            seeds[i],
            (outs[0][i], outs[1][i], outs[2][i], outs[3][i]),
        )


def run_serial(initial, tables, grid, rules, seeds, outs):
    """:func:`simulate_samples` without the parallel region, one sample at a time
    in the calling thread (the call costs microseconds, a trajectory milliseconds)."""
    for i in range(initial.shape[0]):
        simulate_one(initial[i].copy(), tables, grid, rules, seeds[i], tuple(o[i] for o in outs))


@njit
def simulate_one(lattice, tables, grid, rules, seed, outs):
    """One trajectory; ``lattice`` (N,) is modified in place and every output
    with records is filled at steps 0, record_every, ... (:func:`_record`)."""
    w = new_work(lattice, tables, grid, seed)
    _record(w, grid, 0, outs)
    if rules.authors:
        _run_authors(w, tables, grid, rules, outs)
    else:
        _run_uniform(w, tables, grid, rules, outs)


@njit
def new_work(lattice, tables, grid, seed):
    """The buffers of one trajectory, its particles entered in site order.

    ``members[c, :count[c]]`` lists the sites of species ``c``; ``slot[s]`` is
    the position of site ``s`` in its species' list; ``moved[s] == step`` marks
    a site whose particle already moved or was created in this step; ``order``
    is the sweep's order; ``cand*`` hold the birth-candidate lists of
    :func:`_pick_parent`; ``xo``, ``yo``, ``zo`` the authors' shuffled axis
    orders; ``clock`` the authors' persistent Gillespie clock; ``blocked`` their
    births with no room; ``prop`` the propensities of the uniform clock;
    ``pair_hist`` the ``(M + 1)^2`` bond histogram of :func:`_record`; ``free``
    the empty neighbours of a birth's parent.
    """
    n_sites = lattice.size
    m1 = tables.n_species + 1
    rng = np.empty(4, dtype=np.uint64)
    rng_seed(seed, rng)
    w = Work(
        rng,
        lattice,
        np.empty((m1, n_sites), dtype=np.int32),
        np.zeros(m1, dtype=np.int64),
        np.full(n_sites, -1, dtype=np.int32),
        np.full(n_sites, -1, dtype=np.int32),
        np.empty(n_sites, dtype=np.int32),
        np.empty((m1, n_sites), dtype=np.int32),
        np.full(m1, -1, dtype=np.int64),
        np.zeros(n_sites, dtype=np.int8),
        np.empty(n_sites, dtype=np.int32),
        np.empty(grid.shape[0], dtype=np.int64),
        np.empty(grid.shape[1], dtype=np.int64),
        np.empty(grid.shape[2], dtype=np.int64),
        np.array([0.0, -1.0]),
        np.zeros(m1, dtype=np.bool_),
        np.empty(tables.uni_rate.size),
        np.zeros(m1 * m1, dtype=np.int64),
        np.empty(6, dtype=np.int64),
    )
    members, count, slot = w.members, w.count, w.slot
    for s in range(n_sites):
        if lattice[s] > 0:
            _add(lattice, members, count, slot, s, lattice[s])
    return w


@njit
def _run_uniform(w, tables, grid, rules, outs):
    """The steps of the uniform rule (module docstring of :mod:`dbmtools.simulate`)."""
    rec = 1
    for step in range(rules.n_steps):
        if tables.uni_rate.size > 0:
            _unimolecular_step(w, tables, grid, rules.dt)
        _uniform_sweep(w, tables, grid, rules, step)
        if (step + 1) % rules.record_every == 0:
            _record(w, grid, rec, outs)
            rec += 1


@njit
def _run_authors(w, tables, grid, rules, outs):
    """The steps of the authors' rule: their clock, then their biased sweep."""
    rec = 1
    for step in range(rules.n_steps):
        if tables.uni_rate.size > 0:
            _unimolecular_authors(w, tables, grid, step * rules.dt, (step + 1) * rules.dt)
        _authors_sweep(w, tables, grid, rules, step)
        if (step + 1) % rules.record_every == 0:
            _record(w, grid, rec, outs)
            rec += 1


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the CPU to load ``arr[idx]`` into the cache (LLVM ``llvm.prefetch``);
    it changes no value."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        aryty, _ = sig.args
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


# --------------------------------------------------------------------------
# geometry and observables
# --------------------------------------------------------------------------


@inline
def neighbour(edge, offset, s, d):
    """Neighbour of site ``s`` in direction ``d``, negative at a reflecting wall
    (``edge`` and ``offset`` of a :class:`Grid`)."""
    return s + offset[edge[s], d]


@njit
def _record(w, grid, rec, outs):
    """Write record ``rec`` of every recorded output (those with records)."""
    states, counts, pairs, chains = outs
    if states.shape[0] > 0:
        states[rec, :] = w.lattice
    if counts.shape[0] > 0:
        for c in range(counts.shape[1]):
            counts[rec, c] = w.count[c + 1]
    if pairs.shape[0] > 0:
        _pair_counts(w.lattice, grid, w.pair_hist, pairs[rec])
    if chains.shape[0] > 0:
        chains[rec] = 0
        for c in range(chains.shape[1]):
            _chain_one(w.lattice, chains.shape[2], grid.periodic, c + 1, chains[rec, c])


@njit
def _pair_counts(lattice, grid, hist, out):
    """Pair counts (M, M) of ``lattice`` into ``out``, as
    :func:`~dbmtools.observables.pair_counts`.

    A histogram of ``(code, up-neighbour code)`` over all bonds, axis by axis
    in memory order, with no branch per bond; then folded into the symmetric
    table. On a 100^3 lattice this takes 1.5 ns a bond; the site-by-site count
    through a neighbour table, with a branch per site and bond, took 34 ns a
    site (measured).
    """
    m1 = out.shape[0] + 1
    hist[:] = 0
    n_sites = lattice.size
    for axis in range(grid.offset.shape[1] // 2):
        st = grid.stride[axis]
        block = grid.shape[axis] * st
        for base in range(0, n_sites, block):
            for s in range(base, base + block - st):
                hist[lattice[s] * m1 + lattice[s + st]] += 1
            if grid.periodic:
                top = base + block - st
                for s in range(top, top + st):
                    hist[lattice[s] * m1 + lattice[s - top + base]] += 1
    for a in range(1, m1):
        out[a - 1, a - 1] = hist[a * m1 + a]
        for b in range(a + 1, m1):
            out[a - 1, b - 1] = out[b - 1, a - 1] = hist[a * m1 + b] + hist[b * m1 + a]


@inline
def _n_empty_neighbours(lattice, edge, offset, site):
    n = 0
    for d in range(offset.shape[1]):  # branch-free: a wall reads site 0 and is masked
        t = neighbour(edge, offset, site, d)
        n += (t >= 0) & (lattice[max(t, 0)] == 0)
    return n


@inline
def _empty_neighbours(lattice, edge, offset, site, free):
    """Write the empty neighbours of ``site`` into ``free``, in direction order,
    and return how many there are (branch-free, as :func:`_n_empty_neighbours`)."""
    n = 0
    for d in range(offset.shape[1]):
        t = neighbour(edge, offset, site, d)
        free[n] = t
        n += (t >= 0) & (lattice[max(t, 0)] == 0)
    return n


# --------------------------------------------------------------------------
# particle lists
# --------------------------------------------------------------------------


@inline
def _add(lattice, members, count, slot, site, species):
    lattice[site] = species
    k = count[species]
    members[species, k] = site
    slot[site] = k
    count[species] = k + 1


@inline
def _remove(lattice, members, count, slot, site):
    species = lattice[site]
    k = slot[site]
    last = members[species, count[species] - 1]
    members[species, k] = last
    slot[last] = k
    count[species] -= 1
    lattice[site] = 0
    slot[site] = -1


@inline
def _cand_add(cand, cand_n, cand_of, cand_slot, site, species):
    """Add ``site`` to the birth-candidate list of ``species`` if that list is active."""
    if cand_n[species] >= 0 and cand_of[site] == 0:
        k = cand_n[species]
        cand[species, k] = site
        cand_slot[site] = k
        cand_n[species] = k + 1
        cand_of[site] = species


@inline
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
def _collide(lattice, members, count, slot, moved, step, s, t, on_target, on_mover):
    """A reaction between the mover on ``s`` and the target on ``t``: both are
    consumed; product ``on_target`` goes on ``t``, ``on_mover`` on ``s`` (0: none)."""
    _remove(lattice, members, count, slot, s)
    _remove(lattice, members, count, slot, t)
    if on_target > 0:
        _add(lattice, members, count, slot, t, on_target)
        moved[t] = step
    if on_mover > 0:
        _add(lattice, members, count, slot, s, on_mover)
        moved[s] = step


# --------------------------------------------------------------------------
# the uniform rule
# --------------------------------------------------------------------------


@inline
def _pick_parent(w, grid, species):
    """A uniformly random site of ``species`` with an empty neighbour, or -1.

    First by rejection from all sites of the species (exactly uniform over the
    eligible ones). If that keeps failing, the lattice is crowded: one scan
    builds the list of eligible parents, which is then kept as a *superset* of
    the eligible set for the rest of the unimolecular phase (every event that
    can make a site eligible adds it) and thinned lazily, so a draw from it
    followed by rejection is again exactly uniform.
    """
    rng, lattice, members, edge, offset = w.rng, w.lattice, w.members, grid.edge, grid.offset
    cand, cand_n, cand_of, cand_slot = w.cand, w.cand_n, w.cand_of, w.cand_slot
    if cand_n[species] < 0:
        n = w.count[species]
        for _ in range(32):
            site = members[species, rng_below(rng, n)]
            if _n_empty_neighbours(lattice, edge, offset, site) > 0:
                return site
        cand_n[species] = 0
        for k in range(n):
            site = members[species, k]
            if _n_empty_neighbours(lattice, edge, offset, site) > 0:
                _cand_add(cand, cand_n, cand_of, cand_slot, site, species)
    while cand_n[species] > 0:
        site = cand[species, rng_below(rng, cand_n[species])]
        if _n_empty_neighbours(lattice, edge, offset, site) > 0:
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
MAX_DROPS = 10_000


@njit
def _unimolecular_step(w, tables, grid, dt):
    """Gillespie events inside one step of length ``dt``.

    ``w.prop`` holds the propensities. A creation ``0 -> X`` has propensity
    ``rate * n_empty`` and fills a uniformly random empty site
    (:func:`_random_empty_site`); every other reaction has
    ``rate * count(reactant)``.

    A birth with no room (no particle of its species next to an empty site)
    is dropped. After ``MAX_DROPS`` dropped births in one step, births of a
    species whose candidate list is active and empty (``cand_n == 0``: no room
    anywhere) are left out of ``a0`` for the rest of the step, until an event
    adds a candidate: thinning no-op events away is exact, and a huge birth
    rate on a full lattice no longer spins the clock. Below that many drops,
    nothing changes, draw for draw (the results of earlier versions).
    """
    rng, lattice, members, count, slot, prop = w.rng, w.lattice, w.members, w.count, w.slot, w.prop
    cand, cand_n, cand_of, cand_slot = w.cand, w.cand_n, w.cand_of, w.cand_slot
    edge, offset, free = grid.edge, grid.offset, w.free
    uni_kind, uni_rate, uni_reactant = tables.uni_kind, tables.uni_rate, tables.uni_reactant
    n_uni = uni_rate.size
    n_empty = lattice.size
    for c in range(1, count.size):
        n_empty -= count[c]
    t = 0.0
    n_dropped = 0
    listed = False  # has a candidate list been built in this phase?
    while True:
        thin = n_dropped >= MAX_DROPS
        a0 = 0.0
        for r in range(n_uni):
            if uni_kind[r] == 3:  # 0 -> X, per empty site
                p = uni_rate[r] * n_empty
            elif thin and uni_kind[r] == 2 and cand_n[uni_reactant[r]] == 0:
                p = 0.0  # a birth with no room anywhere: a no-op, left out
            else:
                p = uni_rate[r] * count[uni_reactant[r]]
            prop[r] = p
            a0 += p
        if a0 <= 0.0:
            break
        t += -np.log(1.0 - rng_uniform(rng)) / a0
        if t >= dt:
            break
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
            _cand_add(cand, cand_n, cand_of, cand_slot, site, species)
        elif kind == 2:  # X -> X + X
            parent = -1
            n_free = 0
            if cand_n[species] < 0:  # rejection among all X (exactly uniform over eligible)
                n = count[species]
                for _ in range(32):
                    site = members[species, rng_below(rng, n)]
                    n_free = _empty_neighbours(lattice, edge, offset, site, free)
                    if n_free > 0:
                        parent = site
                        break
            if parent < 0:  # crowded: the candidate lists of _pick_parent
                listed = True
                parent = _pick_parent(w, grid, species)
                if parent < 0:
                    n_dropped += 1
                    continue  # no X has an empty neighbour: the event is dropped
                n_free = _empty_neighbours(lattice, edge, offset, parent, free)
            child = free[rng_below(rng, n_free)]  # a uniformly random empty neighbour
            _add(lattice, members, count, slot, child, species)
            n_empty -= 1
            _cand_add(cand, cand_n, cand_of, cand_slot, child, species)
        else:
            site = members[species, rng_below(rng, count[species])]  # a uniformly random X
            if listed:
                _cand_drop(cand, cand_n, cand_of, cand_slot, site)
            _remove(lattice, members, count, slot, site)
            if kind == 1:  # X -> Y
                y = tables.uni_product[r]
                _add(lattice, members, count, slot, site, y)
                _cand_add(cand, cand_n, cand_of, cand_slot, site, y)
            else:  # X -> 0 frees a site: its occupied neighbours may become parents
                n_empty += 1
                for d in range(offset.shape[1] if listed else 0):
                    q = neighbour(edge, offset, site, d)
                    if q >= 0 and lattice[q] > 0:
                        _cand_add(cand, cand_n, cand_of, cand_slot, q, lattice[q])
    for c in range(cand_n.size):  # candidate lists live for one phase only
        if cand_n[c] >= 0:
            for k in range(cand_n[c]):
                cand_of[cand[c, k]] = 0
            cand_n[c] = -1


@njit
def _uniform_sweep(w, tables, grid, rules, step):
    """Every particle present makes one hop attempt, in uniformly random order.

    The hop is written out here rather than called (:func:`_hop` is the
    authors' sweep's copy): in this loop a call cost 3x the whole sweep
    (measured when it was split out).
    """
    rng, lattice, members, count, slot = w.rng, w.lattice, w.members, w.count, w.slot
    moved, order, edge, offset = w.moved, w.order, grid.edge, grid.offset
    pair_start, pair_prob = tables.pair_start, tables.pair_prob
    pair_tgt, pair_mov = tables.pair_tgt, tables.pair_mov
    hop_prob, redirect_walls = rules.hop_prob, rules.redirect_walls
    n_dirs, stride = offset.shape[1], tables.n_species + 1
    n = 0  # uniformly random order of all particles ("inside-out" Fisher-Yates)
    for c in range(1, stride):
        for k in range(count[c]):
            j = rng_below(rng, n + 1)
            order[n] = order[j]
            order[j] = members[c, k]
            n += 1
    far = lattice.size > PREFETCH_ABOVE
    for k in range(n):
        if far and k + PREFETCH_AHEAD < n:
            ahead = order[k + PREFETCH_AHEAD]
            prefetch(lattice, ahead)
            prefetch(moved, ahead)
            prefetch(edge, ahead)
            prefetch(slot, ahead)
        s = order[k]
        a = lattice[s]
        if a == 0 or moved[s] == step:
            continue  # consumed, or already moved / created in this step
        if hop_prob < 1.0 and rng_uniform(rng) >= hop_prob:
            continue
        t = neighbour(edge, offset, s, rng_below(rng, n_dirs))
        if t < 0:
            if not redirect_walls:
                continue  # reflecting wall: the hop is rejected
            while t < 0:  # the authors' walls: only existing neighbours
                t = neighbour(edge, offset, s, rng_below(rng, n_dirs))
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
                _collide(lattice, members, count, slot, moved, step, s, t, pair_tgt[r], pair_mov[r])
                break


# --------------------------------------------------------------------------
# the authors' rule
# --------------------------------------------------------------------------


@inline
def _shuffled_range(rng, order):
    """``order`` = a uniformly random permutation of 0..order.size-1."""
    for k in range(order.size):
        j = rng_below(rng, k + 1)
        order[k] = order[j]
        order[j] = k


@njit
def _authors_scan(w, species, step, empty):
    """The first site of a nested x-y-z scan over independently shuffled x, y
    and z orders that is empty (``empty``) or holds ``species`` (0: any
    particle) and, if ``step >= 0``, has not had its turn (``moved != step``).
    Returns -1 if there is none: the authors' "random molecule" and "random
    empty site"."""
    rng, lattice, moved, xo, yo, zo = w.rng, w.lattice, w.moved, w.xo, w.yo, w.zo
    _shuffled_range(rng, xo)
    _shuffled_range(rng, yo)
    _shuffled_range(rng, zo)
    ny, nz = yo.size, zo.size
    for a in range(xo.size):
        for b in range(ny):
            base = (xo[a] * ny + yo[b]) * nz
            for c in range(nz):
                site = base + zo[c]
                v = lattice[site]
                if empty:
                    if v == 0:
                        return site
                    continue
                if v == 0 or (species > 0 and v != species):
                    continue
                if step >= 0 and moved[site] == step:
                    continue
                return site
    return -1


@inline
def _authors_weight(tables, r, count, blocked):
    """Propensity of reaction ``r`` in the authors' clock: ``rate * count``, 0 for
    births of ``blocked`` species; a creation ``0 -> X`` has ``rate * max(count(X), 1)``
    (0 while ``blocked[0]``: the lattice was found full)."""
    kind = tables.uni_kind[r]
    x = tables.uni_reactant[r]
    if kind == 3:
        if blocked[0]:
            return 0.0
        return tables.uni_rate[r] * max(count[x], 1)
    if kind == 2 and blocked[x]:
        return 0.0
    return tables.uni_rate[r] * count[x]


@njit
def _authors_propensity(w, tables):
    """Total propensity, leaving out births of ``blocked`` species (no room)."""
    a0 = 0.0
    for r in range(tables.uni_rate.size):
        a0 += _authors_weight(tables, r, w.count, w.blocked)
    return a0


@njit
def _choose_reaction(w, tables, a0):
    """Index of a unimolecular reaction drawn with probability propensity / a0
    (births of ``blocked`` species have propensity 0)."""
    n_uni = tables.uni_rate.size
    u = rng_uniform(w.rng) * a0
    r = 0
    while r < n_uni - 1:
        u -= _authors_weight(tables, r, w.count, w.blocked)
        if u < 0.0:
            break
        r += 1
    while _authors_weight(tables, r, w.count, w.blocked) == 0.0:
        r -= 1  # guard rounding at the end
    return r


@njit
def _unimolecular_authors(w, tables, grid, t0, t1):
    """The authors' Gillespie clock: ``clock = [t_next, r_next]`` persists across
    steps; each event keeps the reaction chosen when it was scheduled.

    A birth that fails its 20 picks is dropped, as in the authors' code. From
    the ``MAX_DROPS``-th drop of a step on, a drop after which no particle of
    the species has an empty neighbour at all marks the species ``blocked``:
    its births leave the clock until this step ends or a particle is removed
    or converted (so a huge birth rate on a full lattice cannot spin it).
    Below that many drops nothing changes, draw for draw.
    """
    rng, lattice, members, count, slot = w.rng, w.lattice, w.members, w.count, w.slot
    clock, blocked, edge, offset = w.clock, w.blocked, grid.edge, grid.offset
    blocked[:] = False  # the sweep may have made room
    n_dropped = 0
    if clock[1] < 0:  # nothing scheduled: start the clock at this step
        a0 = _authors_propensity(w, tables)
        if a0 <= 0.0:
            return
        clock[0] = t0 - np.log(1.0 - rng_uniform(rng)) / a0
        clock[1] = _choose_reaction(w, tables, a0)
    while clock[0] < t1:
        r = int(clock[1])
        species = tables.uni_reactant[r]
        kind = tables.uni_kind[r]
        if kind == 3:  # 0 -> X on the first empty site of the scan
            site = _authors_scan(w, 0, -1, True)
            if site >= 0:
                _add(lattice, members, count, slot, site, species)
                blocked[species] = False  # the new particle may have room
            else:
                n_dropped += 1
                blocked[0] = n_dropped >= MAX_DROPS  # full: creations leave the clock
        elif count[species] > 0:
            if kind == 2:
                born = False
                for _ in range(20):
                    parent = _authors_scan(w, species, -1, False)  # -1: no "moved" check
                    n_free = _empty_neighbours(lattice, edge, offset, parent, w.free)
                    if n_free > 0:
                        child = w.free[rng_below(rng, n_free)]
                        _add(lattice, members, count, slot, child, species)
                        born = True
                        break
                n_dropped += not born
                if not born and n_dropped >= MAX_DROPS:
                    blocked[species] = True
                    for k in range(count[species]):
                        if _n_empty_neighbours(lattice, edge, offset, members[species, k]) > 0:
                            blocked[species] = False
                            break
            else:
                site = _authors_scan(w, species, -1, False)
                _remove(lattice, members, count, slot, site)
                if kind == 1:
                    _add(lattice, members, count, slot, site, tables.uni_product[r])
                blocked[:] = False  # a freed site, or a new particle, may have room
        a0 = _authors_propensity(w, tables)
        if a0 <= 0.0:
            clock[1] = -1.0
            return
        clock[0] += -np.log(1.0 - rng_uniform(rng)) / a0
        clock[1] = _choose_reaction(w, tables, a0)


@njit
def _authors_sweep(w, tables, grid, rules, step):
    """The authors' diffusion sweep: the next mover by the biased scan, until all moved."""
    while True:
        s = _authors_scan(w, 0, step, False)
        if s < 0:
            return
        w.moved[s] = step
        _hop(w, tables, grid, rules, step, s)


@njit
def _hop(w, tables, grid, rules, step, s):
    """One hop attempt of the particle on site ``s`` (section 2 of the module
    docstring of :mod:`dbmtools.simulate`), with the wall rule of ``rules``: a
    hop towards a reflecting wall is rejected, or redrawn among the existing
    neighbours (``redirect_walls``: the authors' code)."""
    rng, lattice, edge, offset = w.rng, w.lattice, grid.edge, grid.offset
    n_dirs = offset.shape[1]
    a = lattice[s]
    if rules.hop_prob < 1.0 and rng_uniform(rng) >= rules.hop_prob:
        return
    t = neighbour(edge, offset, s, rng_below(rng, n_dirs))
    while t < 0:
        if not rules.redirect_walls:
            return  # reflecting wall: the hop is rejected
        t = neighbour(edge, offset, s, rng_below(rng, n_dirs))
    b = lattice[t]
    if b == 0:
        lattice[t] = a
        lattice[s] = 0
        j = w.slot[s]
        w.members[a, j] = t
        w.slot[t] = j
        w.slot[s] = -1
        w.moved[t] = step
        return
    pair = a * (tables.n_species + 1) + b
    for r in range(tables.pair_start[pair], tables.pair_start[pair + 1]):
        if rng_uniform(rng) < tables.pair_prob[r]:
            _collide(
                lattice,
                w.members,
                w.count,
                w.slot,
                w.moved,
                step,
                s,
                t,
                tables.pair_tgt[r],
                tables.pair_mov[r],
            )
            return

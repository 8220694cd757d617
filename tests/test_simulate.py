"""The lattice simulator against independent truths (DESIGN.md section 5).

Statistical tolerances: every comparison is a z-score of a sample mean against
its exact expectation, with the standard error taken from the sample (or the
exact binomial variance). With a few dozen comparisons, |z| < 4 fails by
chance with probability about 1e-3; the seeds are fixed, so the suite is
deterministic.
"""

import importlib
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from scipy.special import ive

import dbmtools as dbm

Z = 4.0
sim = importlib.import_module("dbmtools.simulate")  # the module: dbm.simulate is the function


def _z(sample_mean, expected, standard_error):
    return np.abs(np.asarray(sample_mean) - expected) / standard_error


def _exact_annihilation_density(t, nu):
    """rho(t) of 1D A + A -> 0, annihilation on every collision, hop rate nu per
    neighbour, random half-filled start: 1/2 e^{-4 nu t} [I0(4 nu t) + I1(4 nu t)]
    (ben-Avraham & Havlin 2000, ch. 13; the half-filled annihilation maps onto
    coalescence from a full lattice, Krebs et al. 1995)."""
    x = 4 * nu * t
    return 0.5 * (ive(0, x) + ive(1, x))


def test_exact_density_of_diffusion_limited_annihilation():
    length, n_samples, dt = 10_000, 100, 0.01
    states = np.stack([dbm.random_state(length, densities=[0.5], seed=s) for s in range(n_samples)])
    ens = dbm.simulate_ensemble(
        states,
        dbm.annihilation(1.0),
        n_steps=200,
        dt=dt,
        dim=1,
        seed=11,
        record_every=10,
        progress=False,
    )
    rho = ens.counts()[..., 0] / length
    late = ens.times >= 50 * dt  # the discrete sweep differs from continuous time early on
    mean, se = rho.mean(0)[late], rho.std(0, ddof=1)[late] / np.sqrt(n_samples)
    exact = _exact_annihilation_density(ens.times[late], dbm.hop_rate(dt, 1))
    assert np.all(_z(mean, exact, se) < Z), _z(mean, exact, se)


def test_reaction_limited_law_at_small_probability():
    length, n_samples, dt, p = 10_000, 50, 0.01, 0.01
    states = np.stack([dbm.random_state(length, densities=[0.5], seed=s) for s in range(n_samples)])
    ens = dbm.simulate_ensemble(
        states,
        dbm.annihilation(p),
        n_steps=50,
        dt=dt,
        dim=1,
        seed=12,
        record_every=5,
        progress=False,
    )
    rho = ens.counts()[..., 0] / length
    rho0 = rho[:, 0].mean()
    law = rho0 / (1 + 4 * dbm.hop_rate(dt, 1) * p * rho0 * ens.times)  # mean-field, small p
    se = rho.std(0, ddof=1)[1:] / np.sqrt(n_samples)
    assert np.all(_z(rho.mean(0)[1:], law[1:], se) < Z)


def test_decay_is_exponential_and_binomial():
    n0, k, dt = 400, 2.0, 0.05
    s0 = dbm.random_state((20, 20, 20), counts=[n0], seed=0)
    ens = dbm.simulate_ensemble(
        np.stack([s0] * 50),
        dbm.Network([("A -> 0", k)]),
        n_steps=20,
        dt=dt,
        dim=3,
        seed=1,
        progress=False,
    )
    survive = np.exp(-k * ens.times)
    n = ens.counts()[..., 0]
    se = np.sqrt(n0 * survive * (1 - survive) / ens.n_samples)
    assert np.all(_z(n.mean(0)[1:], n0 * survive[1:], se[1:]) < Z)


def test_conversion_conserves_total_and_decays_exponentially():
    net = dbm.Network([("A -> B", 1.5), ("A + B -> A + B", 0.0)])
    s0 = dbm.random_state((30, 30), counts=[300, 50], seed=2)
    ens = dbm.simulate_ensemble(
        np.stack([s0] * 40), net, n_steps=10, dt=0.1, dim=2, seed=3, progress=False
    )
    c = ens.counts()
    assert np.all(c.sum(-1) == 350)
    p = np.exp(-1.5 * ens.times)
    se = np.sqrt(300 * p * (1 - p) / 40)
    assert np.all(_z(c[..., 0].mean(0)[1:], 300 * p[1:], se[1:]) < Z)


@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_diffusion_conserves_every_species(boundary):
    net = dbm.Network([("A + B -> A + B", 0.0)], species=["A", "B", "C"])
    s0 = dbm.random_state((6, 7, 8), counts=[100, 100, 100], seed=4)
    traj = dbm.simulate(s0, net, n_steps=50, dt=0.01, dim=3, seed=5, boundary=boundary)
    assert np.all(traj.counts() == 100)
    assert not np.array_equal(traj.states[0], traj.states[-1])


@pytest.mark.parametrize(("dim", "hop_prob"), [(1, 1.0), (2, 0.5), (3, 1.0)])
def test_mean_squared_displacement(dim, hop_prob):
    """One particle, periodic lattice: each step it moves one site with
    probability hop_prob, so E|x_n - x_0|^2 = hop_prob * n (D = hop_prob/(2 d dt))."""
    n_steps, n_samples = 20, 2000
    shape = (2 * n_steps + 1,) * dim  # large enough that no walk wraps around
    s0 = np.zeros(shape, dtype=np.int8)
    s0[(n_steps,) * dim] = 1
    ens = dbm.simulate_ensemble(
        np.broadcast_to(s0, (n_samples, *shape)),
        dbm.Network([], species=["A"]),
        n_steps=n_steps,
        dt=0.01,
        dim=dim,
        seed=6,
        hop_prob=hop_prob,
        record_every=n_steps,
        progress=False,
    )
    final = ens.states[:, -1].reshape(n_samples, -1).argmax(axis=1)
    pos = np.stack(np.unravel_index(final, shape), axis=1) - n_steps
    sq = (pos**2).sum(axis=1)
    assert _z(sq.mean(), hop_prob * n_steps, sq.std(ddof=1) / np.sqrt(n_samples)) < Z


def test_reflecting_wall_rejects_the_hop():
    """A particle at the end of a reflecting 1D lattice stays with probability 1/2."""
    s0 = np.array([1, 0, 0, 0], dtype=np.int8)
    ens = dbm.simulate_ensemble(
        np.stack([s0] * 4000),
        dbm.Network([], species=["A"]),
        n_steps=1,
        dt=0.01,
        dim=1,
        seed=7,
        boundary="reflecting",
        progress=False,
    )
    stayed = (ens.states[:, 1, 0] == 1).mean()
    assert _z(stayed, 0.5, np.sqrt(0.25 / 4000)) < Z
    assert np.all(ens.states[:, 1].sum(axis=1) == 1)


def _one_step(state, network, n=4000, seed=0, **kwargs):
    state = np.asarray(state, dtype=np.int8)
    ens = dbm.simulate_ensemble(
        np.stack([state] * n),
        network,
        n_steps=1,
        dt=kwargs.pop("dt", 0.01),
        dim=state.ndim,
        seed=seed,
        progress=False,
        **kwargs,
    )
    return ens.states[:, 1]


def test_collision_products_are_placed_target_first():
    """X + Y -> P + Q: P on the target's site, Q on the mover's old site; products
    do not move again in the step. On a 2-site ring each particle is the mover
    with probability 1/2."""
    net = dbm.Network([("A + B -> C + D", 1.0)])
    after = _one_step([1, 2], net)
    a_moved = np.all(after == [4, 3], axis=1)  # A (site 0) hopped onto B: C on 1, D on 0
    b_moved = np.all(after == [3, 4], axis=1)  # B hopped onto A: C on 0, D on 1
    assert np.all(a_moved | b_moved)
    assert _z(a_moved.mean(), 0.5, np.sqrt(0.25 / after.shape[0])) < Z


@pytest.mark.parametrize(
    ("equation", "start", "outcomes"),
    [
        ("A + B -> B + B", [1, 2], [[2, 2]]),
        ("A + A -> A", [1, 1], [[1, 0], [0, 1]]),
        ("A + B -> 0", [1, 2], [[0, 0]]),
    ],
)
def test_collision_reactions_on_two_sites(equation, start, outcomes):
    after = _one_step(start, dbm.Network([(equation, 1.0)]))
    assert np.all(np.any([np.all(after == o, axis=1) for o in outcomes], axis=0))


def test_collision_probability_and_rejected_move():
    p = 0.3
    after = _one_step([1, 1], dbm.Network([("A + A -> 0", p)]), n=8000)
    reacted = np.all(after == 0, axis=1)
    assert np.all(reacted | np.all(after == 1, axis=1))  # no reaction: both stay
    # two collisions per step (each particle tries once unless consumed):
    # P(react) = p + (1 - p) p
    expect = p + (1 - p) * p
    assert _z(reacted.mean(), expect, np.sqrt(expect * (1 - expect) / 8000)) < Z


def test_first_successful_reaction_wins():
    net = dbm.Network([("A + B -> B + B", 1.0), ("A + B -> 0", 1.0)])
    after = _one_step([1, 2], net, n=500)
    assert np.all(after == 2)


def test_birth_uses_only_parents_with_room_and_count_propensity():
    """[A, A, A, 0, 0, 0], reflecting, no hops: only site 2 has an empty
    neighbour. The event rate is still k * count(A) = 3k, so P(no birth in dt)
    = exp(-3 k dt), and every birth puts the child on site 3."""
    k, dt = 0.2, 1.0
    after = _one_step(
        [1, 1, 1, 0, 0, 0],
        dbm.Network([("A -> A + A", k)]),
        n=6000,
        dt=dt,
        hop_prob=0.0,
        boundary="reflecting",
    )
    unchanged = np.all(after == [1, 1, 1, 0, 0, 0], axis=1)
    p0 = np.exp(-3 * k * dt)
    assert _z(unchanged.mean(), p0, np.sqrt(p0 * (1 - p0) / 6000)) < Z
    assert np.all(after[~unchanged, 3] == 1)


def test_birth_parent_uniform_among_eligible_then_child_uniform():
    """[0, A, 0, A, A, 0, 0], reflecting, no hops, rare births. Eligible parents:
    sites 1 (two empty neighbours), 3 and 4 (one each), each with probability
    1/3; the child then goes to a uniform empty neighbour. First-birth child
    site: 0 w.p. 1/6, 2 w.p. 1/6 + 1/3, 5 w.p. 1/3. (Choosing uniformly among
    parent-site pairs instead would give 1/4, 1/2, 1/4.)"""
    start = np.array([0, 1, 0, 1, 1, 0, 0], dtype=np.int8)
    after = _one_step(
        start,
        dbm.Network([("A -> A + A", 0.05)]),
        n=40_000,
        dt=1.0,
        hop_prob=0.0,
        boundary="reflecting",
        seed=8,
    )
    one_birth = after.sum(axis=1) == 4
    child = np.argmax(after[one_birth] != start, axis=1)
    n = child.size
    for site, prob in ((0, 1 / 6), (2, 1 / 2), (5, 1 / 3)):
        assert _z((child == site).mean(), prob, np.sqrt(prob * (1 - prob) / n)) < Z


def test_birth_is_dropped_when_lattice_is_full():
    net = dbm.Network([("A -> A + A", 50.0)])
    full = np.ones((4, 4), dtype=np.int8)
    traj = dbm.simulate(full, net, n_steps=20, dt=0.1, dim=2, seed=9)
    assert np.all(traj.states == 1)


def test_birth_fills_a_crowded_lattice_exactly():
    """Births in a nearly full lattice (the crowded path of the parent choice)
    never overfill it and always place children next to a parent."""
    net = dbm.Network([("A -> A + A", 40.0)])
    s0 = dbm.random_state((6, 6, 6), counts=[200], seed=10)
    traj = dbm.simulate(s0, net, n_steps=30, dt=0.05, dim=3, seed=10, hop_prob=0.0)
    c = traj.counts()[:, 0]
    assert np.all(np.diff(c) >= 0) and c[-1] == 216
    for before, after in zip(traj.states[:-1], traj.states[1:], strict=True):
        born = np.argwhere((after == 1) & (before == 0))
        for site in born:
            lo = np.maximum(site - 1, 0)
            assert after[tuple(slice(a, b + 2) for a, b in zip(lo, site, strict=True))].sum() > 1


def test_same_seed_same_result_any_threads_chunks_executor():
    s0 = dbm.random_state((10, 10, 10), counts=[200, 200, 200], seed=0)
    states = np.stack([s0] * 6)
    kwargs = dict(n_steps=30, dt=0.01, dim=3, seed=123, progress=False)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = dbm.simulate_ensemble(states, dbm.rossler(), **kwargs).states
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = dbm.simulate_ensemble(states, dbm.rossler(), chunk_size=4, **kwargs).states
    finally:
        numba.set_num_threads(threads)
    with ThreadPoolExecutor(2) as pool:
        ex = dbm.simulate_ensemble(
            states, dbm.rossler(), executor=pool, chunk_size=1, **kwargs
        ).states
    assert np.array_equal(one, two) and np.array_equal(one, ex)
    assert not np.array_equal(one[0], one[1])  # samples get different streams
    other = dbm.simulate_ensemble(states, dbm.rossler(), **{**kwargs, "seed": 124}).states
    assert not np.array_equal(one, other)


def test_dask_distributed_executor_matches_local():
    distributed = pytest.importorskip("distributed")
    s0 = dbm.random_state(200, densities=[0.5], seed=0)
    states = np.stack([s0] * 8)
    kwargs = dict(n_steps=20, dt=0.01, dim=1, seed=5, progress=False)
    local = dbm.simulate_ensemble(states, dbm.annihilation(0.5), **kwargs)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = dbm.simulate_ensemble(
            states, dbm.annihilation(0.5), chunk_size=3, executor=client.get_executor(), **kwargs
        )
    assert np.array_equal(local.states, remote.states)


def test_simulate_records_and_metadata():
    s0 = dbm.random_state((5, 6), counts=[10], seed=0)
    traj = dbm.simulate(
        s0,
        dbm.annihilation(0.5),
        n_steps=12,
        dt=0.5,
        dim=2,
        seed=1,
        record_every=4,
        boundary="reflecting",
    )
    assert traj.times.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert traj.states.shape == (4, 5, 6) and traj.states.dtype == np.int8
    assert np.array_equal(traj.states[0], s0)
    assert traj.meta["boundary"] == "reflecting" and traj.meta["seed"] == 1
    assert traj.network == dbm.annihilation(0.5)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_steps": -1}, ValueError, "`n_steps` must be an integer >= 0; got -1"),
        ({"n_steps": 2.5}, TypeError, "`n_steps` must be an integer"),
        ({"n_steps": "10"}, TypeError, "`n_steps` must be an integer; got '10'"),
        ({"dt": 0.0}, ValueError, "`dt` must be a finite number > 0"),
        ({"dt": np.nan}, ValueError, "`dt`"),
        ({"dt": "0.01"}, TypeError, "`dt` must be a real number; got '0.01'"),
        ({"hop_prob": 1.2}, ValueError, r"`hop_prob`.*\[0, 1\]"),
        ({"hop_prob": -0.1}, ValueError, "`hop_prob`"),
        ({"hop_prob": "0.5"}, TypeError, "`hop_prob` must be a real number"),
        ({"record_every": 0}, ValueError, "`record_every` must be an integer >= 1"),
        ({"record_every": 3}, ValueError, "must divide `n_steps`"),
        ({"boundary": "open"}, ValueError, "'periodic' or 'reflecting'"),
        ({"seed": 1.5}, TypeError, "`seed`"),
        ({"dim": 2}, ValueError, r"one 2D lattice.*got shape \(10,\)"),
        ({"dim": 4}, ValueError, r"`dim` must be an integer in \[1, 3\]; got 4"),
        ({"dim": "1"}, TypeError, "`dim` must be an integer"),
        ({"record": "counts"}, ValueError, r"`record` must be 'states' or a.*\['counts'\]"),
        ({"record": ["count"]}, ValueError, "`record` must be one of"),
        ({"record": []}, ValueError, "`record` names no observable"),
        ({"record": ["counts", "counts"]}, ValueError, "repeats"),
        ({"record": ["chain_moments"], "max_order": 11}, ValueError, r"`max_order`.*\[1, 10\]"),
    ],
)
def test_simulate_argument_errors(kwargs, exc, match):
    args = {"n_steps": 10, "dt": 0.01, "seed": 0, **kwargs}
    with pytest.raises(exc, match=match):
        dbm.simulate(np.zeros(10, dtype=np.int8), dbm.annihilation(0.1), **args)


def test_simulate_state_errors():
    net = dbm.annihilation(0.1)
    with pytest.raises(ValueError, match="allowed are 0"):
        dbm.simulate(np.full(10, 2, dtype=np.int8), net, n_steps=1, dt=0.1)
    with pytest.raises(TypeError, match="integer array"):
        dbm.simulate(np.zeros(10), net, n_steps=1, dt=0.1)
    with pytest.raises(ValueError, match="one 1-3D lattice"):
        dbm.simulate(np.zeros((2, 2, 2, 2), dtype=np.int8), net, n_steps=1, dt=0.1)
    with pytest.raises(ValueError, match=">= 2"):
        dbm.simulate(np.zeros((1, 5), dtype=np.int8), net, n_steps=1, dt=0.1, dim=2)
    with pytest.raises(TypeError, match="`network`"):
        dbm.simulate(np.zeros(5, dtype=np.int8), "A + A -> 0", n_steps=1, dt=0.1)
    with pytest.raises(ValueError, match="no samples"):
        dbm.simulate_ensemble(np.zeros((0, 5), dtype=np.int8), net, n_steps=1, dt=0.1, dim=1)
    with pytest.raises(ValueError, match="`chunk_size` must be an integer >= 1; got 0"):
        dbm.simulate_ensemble(
            np.zeros((2, 5), dtype=np.int8), net, n_steps=1, dt=0.1, dim=1, chunk_size=0
        )
    with pytest.raises(ValueError, match="'chain_moments', which are defined on 1D lattices"):
        dbm.simulate(
            np.zeros((4, 5), dtype=np.int8), net, n_steps=1, dt=0.1, dim=2, record=["chain_moments"]
        )


# --- issue 16, item 1: the lattice dimension is stated, never guessed ---


def test_simulate_refuses_a_stack_of_chains_without_dim():
    """Issue 16: simulate(np.stack([s] * 4)) ran one 4 x 20 lattice. Now it says both readings."""
    s = dbm.random_state(20, densities=[0.5], seed=0)
    net = dbm.annihilation(0.5)
    with pytest.raises(ValueError) as err:
        dbm.simulate(np.stack([s] * 4), net, n_steps=2, dt=0.01)
    msg = str(err.value)
    assert "shape (4, 20)" in msg and "pass dim=2 for one 4 x 20 lattice" in msg.lower()
    assert "simulate_ensemble(states, ..., dim=1) for 4 chains of 20 sites" in msg
    with pytest.raises(ValueError, match=r"For 4 chains of 20 sites use simulate_ensemble"):
        dbm.simulate(np.stack([s] * 4), net, n_steps=2, dt=0.01, dim=1)
    # stated explicitly, both readings run
    assert dbm.simulate(np.stack([s] * 4), net, n_steps=2, dt=0.01, dim=2).shape == (4, 20)
    ens = dbm.simulate_ensemble(np.stack([s] * 4), net, n_steps=2, dt=0.01, dim=1, progress=False)
    assert ens.n_samples == 4 and ens.shape == (20,)


def test_simulate_ensemble_requires_dim():
    """Issue 16: simulate_ensemble(one 6 x 6 lattice) ran six 6-site chains."""
    lattice = dbm.random_state((6, 6), counts=[10], seed=0)
    net = dbm.annihilation(0.5)
    with pytest.raises(ValueError) as err:
        dbm.simulate_ensemble(lattice, net, n_steps=2, dt=0.01, progress=False)
    msg = str(err.value)
    assert "`dim` is required" in msg and "shape (6, 6)" in msg
    assert "dim=1 for 6 chains of 6 sites" in msg
    assert "simulate(state, ..., dim=2) for one 6 x 6 lattice" in msg
    with pytest.raises(ValueError, match=r"dim \+ 1 = 3 axes for dim=2; got shape \(6, 6\)"):
        dbm.simulate_ensemble(lattice, net, n_steps=2, dt=0.01, dim=2, progress=False)
    with pytest.raises(ValueError, match=r"dim=2 for 3 lattices of 4 x 5 sites"):
        dbm.simulate_ensemble(np.zeros((3, 4, 5), np.int8), net, n_steps=1, dt=0.1)
    ens = dbm.simulate_ensemble(lattice[None], net, n_steps=2, dt=0.01, dim=2, progress=False)
    assert ens.shape == (6, 6)


# --- issue 16, item 3: memory is estimated first; observables on the fly ---


def test_memory_estimate_names_the_arguments(monkeypatch):
    """Issue 16: a typo in n_steps went straight to 'Unable to allocate 182 TiB'."""
    s0 = dbm.random_state((100, 100, 100), counts=[10], seed=0)
    with pytest.raises(MemoryError) as err:
        dbm.simulate(s0, dbm.annihilation(0.5), n_steps=10**11, dt=0.01, dim=3)
    msg = str(err.value)
    for word in ("`n_steps`", "`record_every`", "1000000 sites", "GiB", "record=["):
        assert word in msg, (word, msg)
    memory = importlib.import_module("dbmtools._memory")
    monkeypatch.setattr(memory, "memory_limit", lambda: (10 * 2**20, "available memory"))
    monkeypatch.setattr(memory, "CHECK_ABOVE", 0)
    with pytest.raises(MemoryError, match=r"10 x 101 lattices of 10000 sites"):
        dbm.simulate_ensemble(
            np.zeros((10, 100, 100), np.int8), dbm.annihilation(0.5), n_steps=100, dt=0.01, dim=2
        )
    # the same run keeping counts only fits
    m = dbm.simulate_ensemble(
        np.zeros((10, 100, 100), np.int8),
        dbm.annihilation(0.5),
        n_steps=100,
        dt=0.01,
        dim=2,
        record=["counts"],
        progress=False,
    )
    assert m.counts().shape == (10, 101, 1)


@pytest.mark.parametrize(
    ("shape", "network", "boundary", "record", "selection"),
    [
        (
            (300,),
            dbm.annihilation(0.3),
            "reflecting",
            ["counts", "pair_counts", "chain_moments"],
            "uniform",
        ),
        ((300,), dbm.rossler(), "periodic", ["chain_moments", "counts"], "uniform"),
        (
            (12, 11),
            dbm.Network([("A + B -> B + B", 0.4), ("B -> 0", 2.0)]),
            "periodic",
            ["pair_counts"],
            "uniform",
        ),
        ((8, 8, 8), dbm.rossler(), "reflecting", ["counts", "pair_counts"], "uniform"),
        ((6, 6, 6), dbm.rossler(), "reflecting", ["counts", "pair_counts"], "authors"),
    ],
)
def test_observables_on_the_fly_equal_the_stored_lattice_path(
    shape, network, boundary, record, selection
):
    """Same seeds, same run: the moments recorded during the run equal those of the
    stored lattices, computed by dbmtools.observables (tested against brute force)."""
    m = network.n_species
    starts = np.stack(
        [dbm.random_state(shape, counts=[int(0.15 * np.prod(shape))] * m, seed=k) for k in range(3)]
    )
    kw = dict(
        n_steps=20,
        dt=0.01,
        dim=len(shape),
        seed=4,
        boundary=boundary,
        record_every=5,
        selection=selection,
        progress=False,
    )
    full = dbm.simulate_ensemble(starts, network, **kw)
    light = dbm.simulate_ensemble(starts, network, record=record, max_order=5, **kw)
    assert isinstance(light, dbm.MomentEnsemble) and light.recorded == tuple(
        n for n in ("counts", "pair_counts", "chain_moments") if n in record
    )
    assert np.array_equal(light.times, full.times)
    if "counts" in record:
        assert np.array_equal(light.counts(), full.counts())
    if "pair_counts" in record:
        assert np.array_equal(light.pair_counts(), full.pair_counts())
    if "chain_moments" in record:
        for species in range(1, m + 1):
            assert np.array_equal(
                light.chain_moments(species=species),
                full.chain_moments(max_order=5, species=species),
            )
        assert np.array_equal(light[1].chain_moments(3), full[1].chain_moments(3))
    del kw["progress"]
    one = dbm.simulate(starts[0], network, record=record, max_order=5, **kw)  # = sample 0
    assert isinstance(one, dbm.MomentTrajectory)
    for name in one.recorded:
        assert np.array_equal(one.moments[name], light[0].moments[name])


def test_moment_results_say_what_was_not_recorded(tmp_path):
    s0 = dbm.random_state(40, densities=[0.5], seed=0)
    m = dbm.simulate(s0, dbm.annihilation(0.5), n_steps=4, dt=0.01, seed=1, record=["counts"])
    with pytest.raises(ValueError, match=r"pair_counts were not recorded.*record=\["):
        m.pair_counts()
    with pytest.raises(ValueError, match="boundary 'periodic'"):
        dbm.simulate(
            s0, dbm.annihilation(0.5), n_steps=4, dt=0.01, record=["pair_counts"]
        ).pair_counts(boundary="reflecting")
    m.save(tmp_path / "m.npz")
    back = dbm.MomentTrajectory.load(tmp_path / "m.npz")
    assert np.array_equal(back.counts(), m.counts()) and back.meta == m.meta


def test_birth_rate_1e300_on_a_full_lattice_does_not_spin_the_clock():
    """Issue 16: every birth is dropped on a full lattice; dropped events used to be
    drawn one by one at rate 1e300 * 16, forever. Now the clock leaves them out,
    and a decay still happens at its own rate."""
    net = dbm.Network([("A -> A + A", 1e300), ("A -> 0", 1.0)])
    full = np.ones((4, 4), dtype=np.int8)
    for selection in ("uniform", "authors"):
        traj = dbm.simulate(full, net, n_steps=50, dt=0.01, dim=2, seed=9, selection=selection)
        c = traj.counts()[:, 0]
        assert c.min() >= 15 and c[-1] == 16  # a decayed site is refilled at once


def test_overflowing_total_rate_is_refused():
    net = dbm.Network([("A -> A + A", 1e306)])
    with pytest.raises(ValueError, match="overflow a float64 total propensity"):
        dbm.simulate(np.ones(1000, np.int8), net, n_steps=1, dt=0.01)


# --- issue 16, item 4: Ctrl-C keeps the finished chunks ---


def test_interrupt_keeps_finished_chunks(monkeypatch):
    """KeyboardInterrupt raised from the third chunk: the exception carries an Ensemble
    of the first two chunks, equal to the same samples of an uninterrupted run."""
    states = np.stack([dbm.random_state(50, densities=[0.5], seed=k) for k in range(10)])
    kw = dict(n_steps=10, dt=0.01, dim=1, seed=3, chunk_size=3, progress=False)
    whole = dbm.simulate_ensemble(states, dbm.annihilation(0.5), **kw)
    real, calls = sim._run_chunk, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "_run_chunk", flaky)
    with pytest.raises(KeyboardInterrupt) as err:
        dbm.simulate_ensemble(states, dbm.annihilation(0.5), **kw)
    assert isinstance(err.value, dbm.SimulationInterrupted)
    part = err.value.result
    assert err.value.n_done == 6 and err.value.n_requested == 10
    assert part.n_samples == 6 and part.meta["interrupted"] and part.meta["n_requested"] == 10
    assert np.array_equal(part.states, whole.states[:6])
    calls.clear()
    with pytest.raises(dbm.SimulationInterrupted) as err:
        dbm.simulate_ensemble(states, dbm.annihilation(0.5), record=["counts"], **kw)
    light = err.value.result
    assert np.array_equal(light.counts(), whole.counts()[:6])
    # interrupted in the first chunk: nothing to keep
    calls[:] = [1, 1]
    with pytest.raises(dbm.SimulationInterrupted) as err:
        dbm.simulate_ensemble(states, dbm.annihilation(0.5), **kw)
    assert err.value.result is None and err.value.n_done == 0


def test_interrupt_with_an_executor_keeps_the_finished_prefix(monkeypatch):
    states = np.stack([dbm.random_state(50, densities=[0.5], seed=k) for k in range(8)])
    kw = dict(n_steps=10, dt=0.01, dim=1, seed=3, chunk_size=2, progress=False)
    whole = dbm.simulate_ensemble(states, dbm.annihilation(0.5), **kw)

    class Done:
        def __init__(self, value):
            self.value = value

        def result(self):
            if self.value is None:
                raise KeyboardInterrupt
            return self.value

        def cancel(self):
            return True

        def done(self):
            return self.value is not None

        def cancelled(self):
            return False

        def exception(self, timeout=None):
            return None

    class Pool:
        n = 0

        def submit(self, fn, *args):
            Pool.n += 1
            return Done(None if Pool.n == 3 else fn(*args))

    with pytest.raises(dbm.SimulationInterrupted) as err:
        dbm.simulate_ensemble(states, dbm.annihilation(0.5), executor=Pool(), **kw)
    assert np.array_equal(err.value.result.states, whole.states[:4])

    class Stuck(Pool):  # the third chunk is still running: the fourth, done, is not kept
        def submit(self, fn, *args):
            Pool.n += 1
            return Done(None if Pool.n % 4 == 3 else fn(*args))

    Pool.n = 0
    with pytest.raises(dbm.SimulationInterrupted) as err:
        dbm.simulate_ensemble(states, dbm.annihilation(0.5), executor=Stuck(), **kw)
    assert err.value.n_done == 4

    class Late(Done):  # Ctrl-C while waiting for chunk 2, which then finishes
        def result(self):
            if not getattr(self, "asked", False):
                self.asked = True
                raise KeyboardInterrupt
            return self.value

    class Waiting(Pool):
        def submit(self, fn, *args):
            Pool.n += 1
            return (Late if Pool.n == 2 else Done)(fn(*args))

    Pool.n = 0
    with pytest.raises(dbm.SimulationInterrupted) as err:
        dbm.simulate_ensemble(states, dbm.annihilation(0.5), executor=Waiting(), **kw)
    assert err.value.n_done == 8 and np.array_equal(err.value.result.states, whole.states)


# --- issue 16, item 8: single samples run outside the parallel region ---


def test_single_samples_and_small_chunks_use_the_serial_path(monkeypatch):
    used = []
    real_serial, real_parallel = sim._run_serial, sim._simulate_samples
    monkeypatch.setattr(sim, "_run_serial", lambda *a: used.append("serial") or real_serial(*a))
    monkeypatch.setattr(
        sim, "_simulate_samples", lambda *a: used.append("parallel") or real_parallel(*a)
    )
    s0 = dbm.random_state(100, densities=[0.5], seed=0)
    one = dbm.simulate(s0, dbm.annihilation(0.5), n_steps=20, dt=0.01, seed=5)
    assert used == ["serial"]
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        used.clear()
        ens = dbm.simulate_ensemble(
            np.stack([s0] * 3),
            dbm.annihilation(0.5),
            n_steps=20,
            dt=0.01,
            dim=1,
            seed=5,
            chunk_size=2,
            progress=False,
        )
    finally:
        numba.set_num_threads(threads)
    expect = "parallel" if numba.config.NUMBA_NUM_THREADS >= 2 else "serial"
    assert used == [expect, "serial"]
    # the same numbers either way: sample 0 of the ensemble is the single run
    assert np.array_equal(ens.states[0], one.states)


# --- selection="authors": the reference code's choice of "a random molecule" ---


def test_authors_selection_is_uniform_in_1d():
    """In 1D the authors' scan over one shuffled order is a uniform choice, so the
    two rules give the same ensemble statistics (two-sample z-test on counts)."""
    net = dbm.rossler()
    s0 = np.stack([dbm.random_state(60, counts=[15, 15, 15], seed=k) for k in range(300)])
    kw = dict(n_steps=20, dt=0.01, dim=1, record_every=5, boundary="reflecting", progress=False)
    uni = dbm.simulate_ensemble(s0, net, seed=1, **kw).counts()
    aut = dbm.simulate_ensemble(s0, net, seed=2, selection="authors", **kw).counts()
    se = np.sqrt(uni.var(0, ddof=1) / 300 + aut.var(0, ddof=1) / 300)
    z = np.abs(uni.mean(0) - aut.mean(0))[1:] / se[1:]
    assert np.all(z < Z), z


@pytest.mark.parametrize(("selection", "expect"), [("uniform", 1 / 17), ("authors", 1 / 2)])
def test_authors_selection_favours_sparse_planes(selection, expect):
    """4x4x4 lattice, one A alone in the plane x = 0 and 16 A filling x = 1. A decay
    picks the lone particle with probability 1/17 uniformly; by the authors' scan
    with probability 1/2 (x = 0 comes before x = 1 in the shuffled x order)."""
    s0 = np.zeros((4, 4, 4), dtype=np.int8)
    s0[0, 0, 0] = 1
    s0[1] = 1
    n = 6000
    after = _one_step(
        s0,
        dbm.Network([("A -> 0", 0.5)]),
        n=n,
        dt=0.1,
        hop_prob=0.0,
        boundary="reflecting",
        seed=3,
        selection=selection,
    )
    one_decay = after.reshape(n, -1).sum(axis=1) == 16
    lone = after[one_decay, 0, 0, 0] == 0
    assert _z(lone.mean(), expect, np.sqrt(expect * (1 - expect) / lone.size)) < Z


@pytest.mark.parametrize(("selection", "success"), [("uniform", 1.0), ("authors", None)])
def test_authors_birth_retries_twenty_picks(selection, success):
    """Sites 0..198 of a reflecting 1D lattice hold A, site 199 is empty: only site
    198 can be a parent. Birth events come at rate 199 k. Uniformly every event
    succeeds; by the authors' rule an event succeeds only if one of 20 random picks
    hits site 198, q = 1 - (198/199)^20. So P(no birth in dt) = exp(-199 k dt q)."""
    if success is None:
        success = 1 - (198 / 199) ** 20
    k, dt, n = 1 / 199, 1.0, 6000
    s0 = np.ones(200, dtype=np.int8)
    s0[-1] = 0
    after = _one_step(
        s0,
        dbm.Network([("A -> A + A", k)]),
        n=n,
        dt=dt,
        hop_prob=0.0,
        boundary="reflecting",
        seed=4,
        selection=selection,
    )
    p0 = np.exp(-199 * k * dt * success)
    none = (after[:, -1] == 0).mean()
    assert _z(none, p0, np.sqrt(p0 * (1 - p0) / n)) < Z


def test_authors_selection_is_recorded_and_validated():
    s0 = dbm.random_state((4, 4), counts=[3], seed=0)
    traj = dbm.simulate(s0, dbm.annihilation(0.5), n_steps=2, dt=0.1, dim=2, selection="authors")
    assert traj.meta["selection"] == "authors"
    with pytest.raises(ValueError, match="`selection` must be one of 'uniform', 'authors'; got"):
        dbm.simulate(s0, dbm.annihilation(0.5), n_steps=2, dt=0.1, dim=2, selection="biased")


def test_authors_walls_redirect_the_hop():
    """With the authors' rule a particle at a reflecting end always hops inwards
    (its one existing neighbour); with ours it stays with probability 1/2
    (test_reflecting_wall_rejects_the_hop)."""
    after = _one_step(
        [1, 0, 0, 0],
        dbm.Network([], species=["A"]),
        n=500,
        boundary="reflecting",
        selection="authors",
    )
    assert np.all(after == [0, 1, 0, 0])


@pytest.mark.parametrize("selection", ["uniform", "authors"])
def test_wall_rule_is_its_own_option(selection):
    """Issue 13: ``walls`` sets the wall rule whatever the selection rule. With
    ``"redirect"`` a particle at a reflecting end always hops inwards; with
    ``"reject"`` it stays with probability 1/2 (one of its 2 directions is the wall)."""
    net = dbm.Network([], species=["A"])
    kw = dict(n=4000, boundary="reflecting", selection=selection)
    after = _one_step([1, 0, 0, 0], net, walls="redirect", **kw)
    assert np.all(after == [0, 1, 0, 0])
    after = _one_step([1, 0, 0, 0], net, walls="reject", **kw)
    stayed = (after[:, 0] == 1).mean()
    assert _z(stayed, 0.5, np.sqrt(0.25 / 4000)) < Z
    assert np.all(after.sum(axis=1) == 1)


def test_wall_rule_defaults_follow_the_selection_and_are_recorded():
    s0 = dbm.random_state((4, 4), counts=[5], seed=0)
    net = dbm.annihilation(0.5)
    kw = dict(n_steps=3, dt=0.1, dim=2, boundary="reflecting", seed=3)
    for selection, default in (("uniform", "reject"), ("authors", "redirect")):
        same = dbm.simulate(s0, net, selection=selection, walls=default, **kw)
        traj = dbm.simulate(s0, net, selection=selection, **kw)
        assert traj.meta["walls"] == default and np.array_equal(traj.states, same.states)
    with pytest.raises(ValueError, match="`walls` must be 'reject' or 'redirect'; got 'bounce'"):
        dbm.simulate(s0, net, walls="bounce", **kw)


def test_results_are_bit_identical_to_earlier_versions():
    """Issue 16 changed the simulator's code paths (dimension, recording, serial runs,
    dropped births) but not one draw: these SHA-1 digests of the int8 states were
    recorded with commit 638e836, before the change (crowded births drop events)."""
    import hashlib

    def digest(ens):
        return hashlib.sha1(np.ascontiguousarray(ens.states).tobytes()).hexdigest()[:12]

    s3 = np.stack([dbm.random_state((10, 10, 10), counts=[200] * 3, seed=s) for s in range(12)])
    kw = dict(dt=0.01, dim=3, progress=False)
    ross = dbm.simulate_ensemble(
        s3, dbm.rossler(), n_steps=500, seed=[1, 2], boundary="reflecting", **kw
    )
    assert digest(ross) == "445dec8fb6c1"
    crowd = np.stack([dbm.random_state((6, 6, 6), counts=[200], seed=s) for s in range(8)])
    net = dbm.Network([("A -> A + A", 40.0), ("A -> 0", 1.0)])
    kw["dt"] = 0.05
    assert digest(dbm.simulate_ensemble(crowd, net, n_steps=30, seed=11, **kw)) == "94758d7a63e2"
    assert (
        digest(dbm.simulate_ensemble(crowd, net, n_steps=30, seed=12, selection="authors", **kw))
        == "230ba070f9c6"
    )


_NETWORKS = {
    "ann": lambda: dbm.annihilation(0.3),
    "ross": dbm.rossler,
    "birth": lambda: dbm.Network([("A -> A + A", 4.0), ("A -> 0", 1.0), ("A + A -> 0", 0.2)]),
    "ab": lambda: dbm.Network([("A + B -> 0", 0.5), ("A -> B", 0.3)]),
    "create": lambda: dbm.Network([("0 -> A", 2.0), ("A + A -> A", 0.4)]),
}


@pytest.mark.parametrize(
    ("net", "dim", "boundary", "selection", "walls", "hop_prob", "expected"),
    [
        ("ann", 1, "reflecting", "uniform", None, 1.0, "87e720dd442c"),
        ("ross", 1, "periodic", "uniform", "redirect", 0.6, "eed7e45b818a"),
        ("ab", 2, "periodic", "authors", "redirect", 0.6, "4af44aeec8b4"),
        ("create", 2, "reflecting", "uniform", None, 1.0, "5fef7cdae915"),
        ("ross", 2, "reflecting", "authors", "reject", 1.0, "3cb298a0b39a"),
        ("birth", 3, "reflecting", "authors", None, 0.6, "5a408b16bc18"),
        ("birth", 3, "periodic", "uniform", "reject", 1.0, "32036bcb1085"),
    ],
)
def test_states_and_moments_are_bit_identical_to_the_kernel_before_issue_24(
    net, dim, boundary, selection, walls, hop_prob, expected
):
    """Issue 24 rewrote the kernels (packed tables, neighbours by index
    arithmetic, histogram pair counts) without changing one draw: SHA-1 digests
    of states and of counts, pairs and chains recorded on the fly, recorded with
    commit 7866f07 (360 such configurations agreed; these are a sample)."""
    import hashlib

    network = _NETWORKS[net]()
    m = network.n_species
    shape = {1: (40,), 2: (9, 7), 3: (5, 4, 6)}[dim]
    s0 = np.stack([dbm.random_state(shape, densities=[0.5 / m] * m, seed=s) for s in range(3)])
    kw = dict(
        n_steps=12,
        dt=0.05,
        dim=dim,
        seed=7,
        boundary=boundary,
        selection=selection,
        walls=walls,
        hop_prob=hop_prob,
        progress=False,
    )
    rec = ["counts", "pair_counts"] + (["chain_moments"] if dim == 1 else [])
    states = dbm.simulate_ensemble(s0, network, **kw).states
    extra = {"max_order": 3} if dim == 1 else {}
    moments = dbm.simulate_ensemble(s0, network, record=rec, **kw, **extra).moments
    digest = hashlib.sha1()
    for a in [states, *(moments[r] for r in rec)]:
        digest.update(np.ascontiguousarray(a).tobytes())
    assert digest.hexdigest()[:12] == expected


@pytest.mark.parametrize(
    ("boundary", "expected"), [("reflecting", "d7d795a9f22b"), ("periodic", "6340c1d12a9b")]
)
def test_a_lattice_large_enough_to_prefetch_is_bit_identical_too(boundary, expected):
    """Above ``_ssa.PREFETCH_ABOVE`` sites the sweep prefetches its movers' data,
    which must change no value (digests recorded with commit 7866f07)."""
    import hashlib

    from dbmtools import _ssa

    s0 = dbm.random_state((41, 41, 41), counts=[20000] * 3, seed=5)
    assert s0.size > _ssa.PREFETCH_ABOVE
    traj = dbm.simulate(
        s0, dbm.rossler(), n_steps=6, dt=0.01, seed=9, boundary=boundary, record_every=6, dim=3
    )
    assert hashlib.sha1(np.ascontiguousarray(traj.states).tobytes()).hexdigest()[:12] == expected


@pytest.mark.parametrize("shape", [(7,), (2,), (5, 2), (2, 3), (4, 3, 5), (2, 2, 3)])
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_kernel_neighbours_and_pair_counts_match_the_tables(shape, boundary):
    """The kernel's index arithmetic gives the neighbour table's columns (walls
    negative), and its histogram pair count equals :func:`dbm.pair_counts`."""
    from dbmtools import _ssa

    grid = _ssa.make_grid(shape, boundary == "periodic")
    table = dbm.neighbour_table(shape, boundary)
    n_sites, n_dirs = table.shape
    got = np.empty_like(table)
    for s in range(n_sites):
        for d in range(n_dirs):
            got[s, d] = s + grid.offset[grid.edge[s], d]
    assert np.array_equal(np.where(got < 0, -1, got), table)
    states = np.random.default_rng(3).integers(0, 4, size=(20, *shape)).astype(np.int8)
    hist, out = np.zeros(16, dtype=np.int64), np.zeros((3, 3), dtype=np.int64)
    expected = dbm.pair_counts(states, dim=len(shape), n_species=3, boundary=boundary)
    for state, want in zip(states, expected, strict=True):
        _ssa._pair_counts(state.ravel(), grid, hist, out)
        assert np.array_equal(out, want)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (("0.01", 1), TypeError, "`dt` must be a real number; got '0.01'"),
        ((0.0, 1), ValueError, "`dt` must be a finite number > 0"),
        ((0.01, 4), ValueError, r"`dim` must be an integer in \[1, 3\]"),
        ((0.01, 1, 1.5), ValueError, r"`hop_prob` must be a probability in \[0, 1\]"),
    ],
)
def test_hop_rate_and_diffusion_constant_check_their_arguments(args, exc, match):
    for f in (dbm.hop_rate, dbm.diffusion_constant):
        with pytest.raises(exc, match=match):
            f(*args)
    with pytest.raises(ValueError, match="`spacing`"):
        dbm.diffusion_constant(0.01, 1, spacing=-1.0)

"""The lattice simulator against independent truths (DESIGN.md section 5).

Statistical tolerances: every comparison is a z-score of a sample mean against
its exact expectation, with the standard error taken from the sample (or the
exact binomial variance). With a few dozen comparisons, |z| < 4 fails by
chance with probability about 1e-3; the seeds are fixed, so the suite is
deterministic.
"""

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from scipy.special import ive

import dbmtools as dbm

Z = 4.0


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
        states, dbm.annihilation(1.0), n_steps=200, dt=dt, seed=11, record_every=10, progress=False
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
        states, dbm.annihilation(p), n_steps=50, dt=dt, seed=12, record_every=5, progress=False
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
        np.stack([s0] * 40), net, n_steps=10, dt=0.1, seed=3, progress=False
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
    traj = dbm.simulate(s0, net, n_steps=50, dt=0.01, seed=5, boundary=boundary)
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
    traj = dbm.simulate(full, net, n_steps=20, dt=0.1, seed=9)
    assert np.all(traj.states == 1)


def test_birth_fills_a_crowded_lattice_exactly():
    """Births in a nearly full lattice (the crowded path of the parent choice)
    never overfill it and always place children next to a parent."""
    net = dbm.Network([("A -> A + A", 40.0)])
    s0 = dbm.random_state((6, 6, 6), counts=[200], seed=10)
    traj = dbm.simulate(s0, net, n_steps=30, dt=0.05, seed=10, hop_prob=0.0)
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
    kwargs = dict(n_steps=30, dt=0.01, seed=123, progress=False)
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
    kwargs = dict(n_steps=20, dt=0.01, seed=5, progress=False)
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
        s0, dbm.annihilation(0.5), n_steps=12, dt=0.5, seed=1, record_every=4, boundary="reflecting"
    )
    assert traj.times.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert traj.states.shape == (4, 5, 6) and traj.states.dtype == np.int8
    assert np.array_equal(traj.states[0], s0)
    assert traj.meta["boundary"] == "reflecting" and traj.meta["seed"] == 1
    assert traj.network == dbm.annihilation(0.5)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_steps": -1}, ValueError, "`n_steps` must be >= 0"),
        ({"n_steps": 2.5}, TypeError, "`n_steps` must be an integer"),
        ({"dt": 0.0}, ValueError, "`dt` must be a finite number > 0"),
        ({"dt": np.nan}, ValueError, "`dt`"),
        ({"hop_prob": 1.2}, ValueError, r"`hop_prob`.*\[0, 1\]"),
        ({"hop_prob": -0.1}, ValueError, "`hop_prob`"),
        ({"record_every": 0}, ValueError, "`record_every` must be >= 1"),
        ({"record_every": 3}, ValueError, "must divide `n_steps`"),
        ({"boundary": "open"}, ValueError, "'periodic' or 'reflecting'"),
        ({"seed": 1.5}, TypeError, "`seed`"),
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
    with pytest.raises(ValueError, match="1-3D lattice"):
        dbm.simulate(np.zeros((2, 2, 2, 2), dtype=np.int8), net, n_steps=1, dt=0.1)
    with pytest.raises(ValueError, match=">= 2"):
        dbm.simulate(np.zeros((1, 5), dtype=np.int8), net, n_steps=1, dt=0.1)
    with pytest.raises(TypeError, match="`network`"):
        dbm.simulate(np.zeros(5, dtype=np.int8), "A + A -> 0", n_steps=1, dt=0.1)
    with pytest.raises(ValueError, match="no samples"):
        dbm.simulate_ensemble(np.zeros((0, 5), dtype=np.int8), net, n_steps=1, dt=0.1)
    with pytest.raises(ValueError, match="chunk_size"):
        dbm.simulate_ensemble(np.zeros((2, 5), dtype=np.int8), net, n_steps=1, dt=0.1, chunk_size=0)


# --- selection="authors": the reference code's choice of "a random molecule" ---


def test_authors_selection_is_uniform_in_1d():
    """In 1D the authors' scan over one shuffled order is a uniform choice, so the
    two rules give the same ensemble statistics (two-sample z-test on counts)."""
    net = dbm.rossler()
    s0 = np.stack([dbm.random_state(60, counts=[15, 15, 15], seed=k) for k in range(300)])
    kw = dict(n_steps=20, dt=0.01, record_every=5, boundary="reflecting", progress=False)
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
    traj = dbm.simulate(s0, dbm.annihilation(0.5), n_steps=2, dt=0.1, selection="authors")
    assert traj.meta["selection"] == "authors"
    with pytest.raises(ValueError, match="`selection` must be 'uniform' or 'authors'"):
        dbm.simulate(s0, dbm.annihilation(0.5), n_steps=2, dt=0.1, selection="biased")


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

"""Zero-order creation ``0 -> X`` in the simulator, against exact laws.

Two rules (see :func:`dbmtools.simulate`):

* ``selection="uniform"``: propensity ``c * n_empty``, a uniformly random empty
  site. The count is then the birth-death chain of independent two-state sites,
  so with decay ``X -> 0`` at rate ``k`` a site empty at time 0 is occupied at
  time ``t`` with probability ``p0(t) = rho (1 - e^{-(c + k) t})`` and an occupied
  one with ``p1(t) = rho + (1 - rho) e^{-(c + k) t}``, ``rho = c / (c + k)``;
  hops conserve the count, so these hold whatever the particles do between
  events.
* ``selection="authors"`` (physics-based-ml/LatticeGillespieCpp, tag 2.0,
  ``src/lattice_gillespie.cpp``): propensity ``c * max(n_X, 1)``, the first
  empty site of the shuffled scan. The count is the birth-death chain with birth
  rate ``c max(n, 1)`` and death rate ``k n`` (while the lattice has room); from
  ``n0`` with ``k = 0`` it is a Yule process, negative binomial with mean
  ``n0 e^{ct}`` and variance ``n0 e^{ct} (e^{ct} - 1)``.

Every comparison is a z-score of an ensemble mean against the exact
expectation, with the exact standard error; ``Z = 5``.
"""

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import chi2

import dbmtools as dbm

Z = 5.0


def _ensemble(start, net, n_samples, selection, **kw):
    kw = {"dt": 0.05, "seed": 7, "progress": False, "record": ["counts"], **kw}
    return dbm.simulate_ensemble(
        np.stack([start] * n_samples), net, dim=start.ndim, selection=selection, **kw
    )


def _birth_death_law(n_sites, n0, birth, death, t):
    """Distribution of the count at time ``t`` of the birth-death chain on
    ``0..n_sites`` with rates ``birth(n)``, ``death(n)`` (the master equation,
    by the matrix exponential)."""
    n = np.arange(n_sites + 1)
    q = np.zeros((n_sites + 1, n_sites + 1))
    up, down = birth(n[:-1]), death(n[1:])
    q[n[:-1], n[1:]] = up
    q[n[1:], n[:-1]] = down
    q[n, n] = -q.sum(axis=1)
    p0 = np.zeros(n_sites + 1)
    p0[n0] = 1.0
    return p0 @ expm(q * t)


def test_uniform_creation_fills_an_empty_lattice_as_exp_minus_ct():
    """Pure creation at c per empty site from an empty lattice: each site is still
    empty at time t with probability exp(-c t), independently (binomial count)."""
    c, n_samples = 0.8, 200
    start = np.zeros((12, 10), dtype=np.int8)
    ens = _ensemble(start, dbm.Network([("0 -> X", c)]), n_samples, "uniform", n_steps=40)
    n_sites = start.size
    empty = n_sites - ens.counts()[..., 0]  # (n_samples, n_times)
    q = np.exp(-c * ens.times)  # exact empty fraction
    se = np.sqrt(n_sites * q * (1 - q) / n_samples)
    k = slice(1, None)
    assert np.all(np.abs(empty.mean(axis=0)[k] - n_sites * q[k]) < Z * se[k])
    # the variance is binomial too (independent sites), within its sampling error
    var = empty[:, -1].var(ddof=1)
    exact = n_sites * q[-1] * (1 - q[-1])
    assert abs(var / exact - 1) < Z * np.sqrt(2 / (n_samples - 1))


def test_uniform_creation_and_decay_relax_to_the_two_state_law():
    """0 -> X at c per empty site, X -> 0 at k, from a half-filled lattice: mean and
    steady state of independent two-state sites (rho = c / (c + k))."""
    c, k, n_samples = 1.5, 0.5, 200
    start = dbm.random_state((10, 10), counts=[50], seed=3)
    net = dbm.Network([("0 -> X", c), ("X -> 0", k)])
    for hop_prob in (1.0, 0.0):
        ens = _ensemble(start, net, n_samples, "uniform", n_steps=100, hop_prob=hop_prob)
        n = ens.counts()[..., 0]
        rho, decay = c / (c + k), np.exp(-(c + k) * ens.times)
        p0, p1 = rho * (1 - decay), rho + (1 - rho) * decay
        mean = 50 * p1 + 50 * p0
        var = 50 * p1 * (1 - p1) + 50 * p0 * (1 - p0)
        se = np.sqrt(var / n_samples)
        assert np.all(np.abs(n.mean(axis=0)[1:] - mean[1:]) < Z * se[1:])
        assert abs(mean[-1] - 100 * rho) < 0.01  # relaxed: the steady state, 75 of 100
    # the authors' rule is another law: births c n outpace deaths k n, the lattice fills
    ens = _ensemble(start, net, n_samples, "authors", n_steps=100)
    assert ens.counts()[:, -1, 0].mean() > 95


@pytest.mark.parametrize("dim", [1, 2])
def test_authors_creation_is_a_yule_process(dim):
    """The authors' 0 -> X has propensity c * max(n_X, 1): from n0 molecules with no
    other reaction the count is a Yule process (negative binomial), while the
    lattice has room."""
    c, n0, n_samples = 1.0, 10, 300
    shape = (400,) if dim == 1 else (20, 20)
    start = dbm.random_state(shape, counts=[n0], seed=1)
    ens = _ensemble(start, dbm.Network([("0 -> X", c)]), n_samples, "authors", n_steps=20)
    n = ens.counts()[..., 0]
    g = np.exp(c * ens.times)
    mean, var = n0 * g, n0 * g * (g - 1)
    se = np.sqrt(var[1:] / n_samples)
    assert np.all(np.abs(n.mean(axis=0)[1:] - mean[1:]) < Z * se)
    assert n.max() < start.size  # never near full: the law above holds


def test_authors_creation_and_decay_follow_their_master_equation():
    """Authors' rule with decay: birth c max(n, 1), death k n. The floor keeps the
    species alive; the count law at time t comes from the master equation."""
    c, k, n_samples = 0.5, 1.0, 300
    start = dbm.random_state((8, 8), counts=[20], seed=2)
    net = dbm.Network([("0 -> X", c), ("X -> 0", k)])
    ens = _ensemble(start, net, n_samples, "authors", n_steps=60)
    n = ens.counts()[..., 0]
    for step in (10, 30, 60):
        law = _birth_death_law(
            64, 20, lambda m: c * np.maximum(m, 1), lambda m: k * m, ens.times[step]
        )
        m = np.arange(65)
        mean, var = law @ m, law @ m**2 - (law @ m) ** 2
        assert abs(n[:, step].mean() - mean) < Z * np.sqrt(var / n_samples)


def _site_frequencies(selection, shape, n_blockers, n_samples, t):
    """Where creation puts molecules: blockers (species B, no reactions, no hops)
    fill most sites; one step of 0 -> X."""
    rng = np.random.default_rng(0)
    start = np.zeros(int(np.prod(shape)), dtype=np.int8)
    start[rng.choice(start.size, n_blockers, replace=False)] = 2
    start = start.reshape(shape)
    net = dbm.Network([("0 -> X", 1.0)], species=["X", "B"])
    ens = dbm.simulate_ensemble(
        np.stack([start] * n_samples),
        net,
        n_steps=1,
        dt=t,
        dim=len(shape),
        seed=5,
        hop_prob=0.0,
        selection=selection,
        progress=False,
    )
    final = ens.states[:, -1]
    assert np.all(final[:, start == 2] == 2)  # blockers stay; nothing lands on them
    return (final == 1).sum(axis=0)[start == 0]


def test_uniform_creation_site_is_uniform_among_empty_sites():
    """On a 99% full lattice (10 empty of 1000, so the rejection sampler often falls
    back to its scan) each empty site is filled with the same probability
    1 - exp(-t): a chi-square test of the per-site frequencies."""
    n_samples, t = 2000, 0.1
    freq = _site_frequencies("uniform", (10, 10, 10), 990, n_samples, t)
    p = 1 - np.exp(-t)
    stat = np.sum((freq - n_samples * p) ** 2 / (n_samples * p * (1 - p)))
    assert chi2.sf(stat, freq.size) > 1e-4


def test_authors_creation_site_is_uniform_in_1d():
    """The authors' first-empty-site scan is uniform in 1D: one creation event fills
    each of the empty sites equally often (chi-square)."""
    n_samples, t = 3000, 0.02
    freq = _site_frequencies("authors", (200,), 180, n_samples, t)
    expected = freq.sum() / freq.size
    stat = np.sum((freq - expected) ** 2 / expected)
    assert chi2.sf(stat, freq.size - 1) > 1e-4


def _lotka_volterra():
    """arXiv:1905.12122's lattice (smrfeld/ReducedLotkaVolterra, stoch_sims/src/main.cpp)."""
    return dbm.Network(
        [("0 -> X", 0.025), ("Y -> 0", 0.06), ("X + Y -> Y + Y", 0.4)], species=["X", "Y"]
    )


@pytest.mark.parametrize("selection", ["uniform", "authors"])
def test_recorded_counts_and_pairs_equal_recounting_the_lattices(selection):
    starts = np.stack([dbm.random_state((12, 12), counts=[20, 20], seed=s) for s in range(3)])
    kw = dict(n_steps=30, dt=1.0, dim=2, seed=4, record_every=3, selection=selection)
    full = dbm.simulate_ensemble(starts, _lotka_volterra(), progress=False, **kw)
    light = dbm.simulate_ensemble(
        starts, _lotka_volterra(), record=["counts", "pair_counts"], progress=False, **kw
    )
    assert np.array_equal(light.counts(), full.counts())
    assert np.array_equal(light.pair_counts(), full.pair_counts())
    assert full.counts()[:, -1].sum() != starts.astype(bool).sum()  # something happened


@pytest.mark.parametrize("selection", ["uniform", "authors"])
def test_same_seed_same_result_on_one_and_two_threads(selection):
    starts = np.stack([dbm.random_state((16, 16), counts=[20, 20], seed=s) for s in range(6)])
    kw = dict(n_steps=40, dt=1.0, dim=2, seed=123, selection=selection, progress=False)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = dbm.simulate_ensemble(starts, _lotka_volterra(), **kw).states
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = dbm.simulate_ensemble(starts, _lotka_volterra(), chunk_size=4, **kw).states
    finally:
        numba.set_num_threads(threads)
    with ThreadPoolExecutor(2) as pool:
        ex = dbm.simulate_ensemble(starts, _lotka_volterra(), executor=pool, chunk_size=1, **kw)
    assert np.array_equal(one, two) and np.array_equal(one, ex.states)
    assert not np.array_equal(one[0], one[1])
    del kw["progress"]
    assert np.array_equal(dbm.simulate(starts[0], _lotka_volterra(), **kw).states, one[0])


def test_creation_on_a_full_lattice_does_not_spin_the_clock():
    """A huge creation rate with no empty site: the uniform propensity is 0; the
    authors' (c * max(n, 1)) drops its events and, after many drops, leaves the
    clock until a site is freed."""
    net = dbm.Network([("0 -> X", 1e12), ("X -> 0", 1.0)])
    full = np.ones((4, 4), dtype=np.int8)
    for selection in ("uniform", "authors"):
        traj = dbm.simulate(full, net, n_steps=40, dt=0.01, dim=2, seed=9, selection=selection)
        c = traj.counts()[:, 0]
        assert c.min() >= 15 and c[-1] == 16  # a decayed site is refilled at once


def test_creation_tables_and_bad_inputs():
    net = dbm.Network([("X -> 0", 1.0), ("0 -> Y", 0.25)], species=["X", "Y"])
    t = net.tables()
    assert t.uni_kind.tolist() == [0, 3] and t.uni_reactant.tolist() == [1, 2]
    assert t.uni_rate.tolist() == [1.0, 0.25]
    with pytest.raises(ValueError, match="overflow a float64 total propensity"):
        dbm.simulate(np.zeros(1000, np.int8), dbm.Network([("0 -> X", 1e306)]), n_steps=1, dt=0.01)
    with pytest.raises(ValueError, match=r"`rate` must be finite and >= 0"):
        dbm.Network([("0 -> X", float("nan"))])
    with pytest.raises(ValueError, match="one molecule"):
        dbm.Network([("0 -> X + Y", 1.0)])

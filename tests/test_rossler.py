"""The Rössler network and its RBM against independent truths.

* Each reaction of :func:`dbm.rossler` (paper section IV B, the authors' values)
  runs on a tiny lattice where it is the only one that can fire, for one step:
  its products must be the table's, and its frequency must be the one derived
  from the simulator's documented algorithm (module docstring of
  ``dbmtools.simulate``): an exact Gillespie clock for unimolecular reactions
  (per particle, P(no event in dt) = exp(-k dt)); one hop attempt per particle
  and sweep, a hop onto an occupied site reacting with probability p.
* :func:`dbmtools.rossler3d.sample_rossler` against exact enumeration of
  the 2 x 2 x 2 RBM (:func:`dbm.rbm.exact_moments`), its ``p(H | V)`` against
  :func:`dbm.rbm.hidden_probabilities` and a softmax written from lattice
  coordinates.
* The RBM's 2 x 2 x 2 cubes against a connectivity built from coordinates.

Statistical tolerances as in tests/test_simulate.py: z-scores of sample
frequencies against exact probabilities, binomial standard errors (or sample
standard errors for counts), |z| < 4; seeds are fixed.
"""

import itertools

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools.estimators import neighbour_cubes
from dbmtools.rossler3d import sample_rossler

from .test_simulate import Z, _one_step, _z

DEFAULTS = {"k1": 30.0, "k2": 10.0, "k3": 16.5, "p1": 0.1, "p2": 0.4, "p3": 0.24, "p4": 0.36}
A, B, C = 1, 2, 3


def _only(name):
    """The Rössler network with every rate and probability but ``name`` set to 0."""
    return dbm.rossler(**{k: (v if k == name else 0.0) for k, v in DEFAULTS.items()})


def _binomial_z(hits, prob):
    hits = np.asarray(hits, dtype=bool)
    return _z(hits.mean(), prob, np.sqrt(prob * (1 - prob) / hits.size))


def _species_counts(states):
    flat = states.reshape(states.shape[0], -1)
    return np.stack([(flat == s).sum(axis=1) for s in (A, B, C)], axis=1)


# --------------------------------------------------------------------------
# 1. the reactions of the table, one at a time
# --------------------------------------------------------------------------


def test_rossler_table_values():
    got = {r.equation: (r.rate, r.prob) for r in dbm.rossler().reactions}
    assert got == {
        "A -> A + A": (30.0, None),
        "B -> 0": (10.0, None),
        "C -> C + C": (16.5, None),
        "A + A -> A": (None, 0.1),
        "A + B -> B + B": (None, 0.4),
        "A + C -> 0": (None, 0.24),
        "C + C -> C": (None, 0.36),
    }
    assert dbm.rossler().species == ("A", "B", "C")  # codes 1, 2, 3
    for name in DEFAULTS:  # _only really silences the other six
        values = [r.rate if r.rate is not None else r.prob for r in _only(name).reactions]
        assert values == [DEFAULTS[name] if k == name else 0.0 for k in DEFAULTS]


@pytest.mark.parametrize(("name", "species"), [("k1", A), ("k3", C)])
def test_birth_puts_a_child_on_an_empty_neighbour_at_rate_k(name, species):
    """X -> X + X from one X on a ring of 8, no hops. Until the ring is full the
    count is a Yule process: P(N = n) = e^{-x} (1 - e^{-x})^{n-1}, x = k dt. The
    first child sits on either neighbour with probability 1/2; the X always form
    one arc through the parent's site."""
    k, n = DEFAULTS[name], 8000
    dt = 0.6 / k
    start = np.zeros(8, dtype=np.int8)
    start[4] = species
    after = _one_step(start, _only(name), n=n, dt=dt, hop_prob=0.0, seed=20 + species)
    assert np.all((after == 0) | (after == species))  # only X is made
    occupied = after == species
    assert np.all(occupied[:, 4])  # the parent stays
    count = occupied.sum(axis=1)
    # the X form one arc: one occupied -> empty boundary going round the ring
    boundaries = (occupied & ~np.roll(occupied, -1, axis=1)).sum(axis=1)
    assert np.all((boundaries == 1) | (count == 8))
    e = np.exp(-k * dt)
    for m in (1, 2, 3):
        assert _binomial_z(count == m, e * (1 - e) ** (m - 1)) < Z, m
    two = occupied[count == 2]
    assert np.all(two[:, 3] ^ two[:, 5])  # the child is a neighbour of the parent
    assert _binomial_z(two[:, 5], 0.5) < Z


def test_decay_of_b_removes_each_particle_at_rate_k2():
    """B -> 0, four B on a 2 x 2 x 2 lattice, no hops: each B is gone after dt
    independently with probability 1 - e^{-k2 dt}, and nothing else changes."""
    k, dt, n = DEFAULTS["k2"], 0.05, 8000
    start = np.zeros((2, 2, 2), dtype=np.int8)
    sites = [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]
    for s in sites:
        start[s] = B
    after = _one_step(start, _only("k2"), n=n, dt=dt, hop_prob=0.0, seed=22)
    assert np.all(after[:, start == 0] == 0)  # nothing appears, nothing moves
    assert np.all((after[:, start == B] == B) | (after[:, start == B] == 0))
    survive = np.exp(-k * dt)
    for s in sites:
        assert _binomial_z(after[(slice(None), *s)] == B, survive) < Z, s
    count = (after == B).reshape(n, -1).sum(axis=1)
    se = np.sqrt(4 * survive * (1 - survive) / n)
    assert _z(count.mean(), 4 * survive, se) < Z
    # independence: P(all four gone) = (1 - e^{-k dt})^4
    assert _binomial_z(count == 0, (1 - survive) ** 4) < Z


# (reaction parameter, the two reactants, the species left on the two sites when it fires)
COLLISIONS = [
    ("p1", (A, A), "one A"),
    ("p2", (A, B), "B B"),
    ("p3", (A, C), "empty"),
    ("p4", (C, C), "one C"),
]


def _collision_outcome(after, pair_sites, reactants, products, n):
    """Split samples into reacted / not reacted and check the products of the reacted."""
    flat = after.reshape(n, -1)
    counts = _species_counts(after)
    before = np.bincount(reactants, minlength=4)[1:]
    unchanged = np.all(counts == before, axis=1)
    reacted = ~unchanged
    on_pair = flat[reacted][:, pair_sites]
    others = np.delete(flat[reacted], pair_sites, axis=1)
    assert np.all(others == 0)  # the products lie on the two reactants' sites
    if products == "B B":
        assert np.all(on_pair == B)
    elif products == "empty":
        assert np.all(on_pair == 0)
    else:  # one X on the target site: either site, by the symmetry of the mover's choice
        x = A if products == "one A" else C
        assert np.all(np.sort(on_pair, axis=1) == [0, x])
        assert _binomial_z(on_pair[:, 0] == x, 0.5) < Z
    return reacted


@pytest.mark.parametrize(("name", "reactants", "products"), COLLISIONS)
def test_collision_on_a_two_site_ring(name, reactants, products):
    """Two particles on a periodic 2-site ring: both neighbours of a site are the
    other site, so each hop attempt (probability h) is a collision, and the second
    particle tries if the first did not react: P(react) = 1 - (1 - h p)^2."""
    p, h, n = DEFAULTS[name], 0.6, 8000
    after = _one_step(list(reactants), _only(name), n=n, hop_prob=h, seed=230 + int(name[1]))
    reacted = _collision_outcome(after, [0, 1], reactants, products, n)
    assert np.all(after[~reacted] == reactants)  # no reaction: the mover stays
    expect = 1 - (1 - h * p) ** 2
    assert _binomial_z(reacted, expect) < Z


@pytest.mark.parametrize(("name", "reactants", "products"), COLLISIONS)
def test_collision_on_a_periodic_cube(name, reactants, products):
    """Neighbours on a periodic 2 x 2 x 2 lattice, (0,0,0) and (1,0,0). Of the 6
    directions, 2 (+x and -x) hit the partner. The first mover collides with
    probability 1/3 and reacts with probability p; if it collided without
    reacting it stays and the partner collides with probability 1/3; if it
    hopped away (2/3) it is no longer a neighbour of the partner. Hence
    P(react) = p / 3 + (1 - p) p / 9."""
    p, n = DEFAULTS[name], 12_000
    start = np.zeros((2, 2, 2), dtype=np.int8)
    start[0, 0, 0], start[1, 0, 0] = reactants
    after = _one_step(start, _only(name), n=n, hop_prob=1.0, seed=240 + int(name[1]))
    reacted = _collision_outcome(after, [0, 4], reactants, products, n)
    expect = p / 3 + (1 - p) * p / 9
    assert _binomial_z(reacted, expect) < Z


def test_full_network_unimolecular_clocks_run_together():
    """The default network (no overrides), no hops, one A, one B and one C far apart
    on a ring of 30: the three unimolecular reactions run as independent
    exponential clocks with the table's rates (collisions need hops)."""
    dt, n = 0.03, 8000
    start = np.zeros(30, dtype=np.int8)
    start[[0, 10, 20]] = [A, B, C]
    after = _one_step(start, dbm.rossler(), n=n, dt=dt, hop_prob=0.0, seed=25)
    counts = _species_counts(after)
    assert np.all(counts[:, 1] <= 1) and np.all(after[:, 0] == A) and np.all(after[:, 20] == C)
    no_a = counts[:, 0] == 1
    b_left = after[:, 10] == B
    no_c = counts[:, 2] == 1
    k1, k2, k3 = DEFAULTS["k1"], DEFAULTS["k2"], DEFAULTS["k3"]
    assert _binomial_z(no_a, np.exp(-k1 * dt)) < Z
    assert _binomial_z(b_left, np.exp(-k2 * dt)) < Z
    assert _binomial_z(no_c, np.exp(-k3 * dt)) < Z
    assert _binomial_z(no_a & b_left & no_c, np.exp(-(k1 + k2 + k3) * dt)) < Z


def test_full_network_on_a_two_site_ring_of_a_and_b():
    """The default network, [A, B] on a periodic 2-site ring. The unimolecular phase
    comes first: B decays at rate k2, and A cannot give birth while B fills its only
    neighbour site (the event is dropped). If B survives (e^{-k2 dt}), the sweep
    turns the pair into B + B with probability 1 - (1 - h p2)^2, else leaves it."""
    dt, h, n = 0.01, 0.6, 20_000
    after = _one_step([A, B], dbm.rossler(), n=n, dt=dt, hop_prob=h, seed=26)
    survive = np.exp(-DEFAULTS["k2"] * dt)
    react = 1 - (1 - h * DEFAULTS["p2"]) ** 2
    assert _binomial_z(np.all(after == [B, B], axis=1), survive * react) < Z
    assert _binomial_z(np.all(after == [A, B], axis=1), survive * (1 - react)) < Z
    assert not np.any(np.all(after == [B, A], axis=1))  # B does not hop onto A's site
    assert not np.any(after == C)


# --------------------------------------------------------------------------
# 2. sample_rossler
# --------------------------------------------------------------------------

# nonzero weights, weak enough for 25-step chains on the 2 x 2 x 2 ring to mix
# (tests/test_estimators.py explains why strong weights do not)
THETA_WEAK = np.array([-0.3, 0.2, -0.5, 0.3, -0.25, 0.2, -1.0, 0.3, -0.2])
THETA = np.array([-0.3, 0.2, -0.5, 0.8, -0.6, 0.5, -1.0, 0.3, -0.2])


def _cube_counts(visible, species):
    """Number of ``species`` in the cube x..x+1, y..y+1, z..z+1 (periodic) of each
    hidden unit (x, y, z); ``visible`` (..., L0, L1, L2)."""
    hit = (visible == species).astype(np.int64)
    total = np.zeros_like(hit)
    for d in itertools.product((0, 1), repeat=3):
        total += np.roll(hit, shift=(-d[0], -d[1], -d[2]), axis=(-3, -2, -1))
    return total


def _hidden_softmax(theta, visible):
    """p(h = empty, X, Y, Z | V) from the energy of eq. (44), written from coordinates."""
    logits = [np.zeros(visible.shape)]
    for s in range(3):  # X sees A, Y sees B, Z sees C
        logits.append(theta[6 + s] + theta[3 + s] * _cube_counts(visible, s + 1))
    w = np.exp(np.stack(logits, axis=-1))
    return w / w.sum(axis=-1, keepdims=True)


def test_sample_rossler_matches_exact_enumeration():
    """2 x 2 x 2 lattice: the mean over independent chains of every moment (visible
    counts; hidden counts and edge counts from the returned p(H | V)) is within 4
    standard errors of the exact moments."""
    n = 20_000
    visible, hidden_prob = sample_rossler(THETA_WEAK, shape=(2, 2, 2), n_chains=n, seed=31)
    assert visible.shape == (1, n, 2, 2, 2) and visible.dtype == np.int8
    assert hidden_prob.shape == (1, n, 2, 2, 2, 4)
    v, ph = visible[0], hidden_prob[0]
    per_chain = np.empty((n, 9))
    for s in range(3):
        per_chain[:, s] = (v == s + 1).sum(axis=(1, 2, 3))
        per_chain[:, 3 + s] = (ph[..., s + 1] * _cube_counts(v, s + 1)).sum(axis=(1, 2, 3))
        per_chain[:, 6 + s] = ph[..., s + 1].sum(axis=(1, 2, 3))
    exact = dbm.rbm.exact_moments(dbm.rossler_rbm((2, 2, 2)), THETA_WEAK)
    z = _z(per_chain.mean(0), exact, per_chain.std(0, ddof=1) / np.sqrt(n))
    assert np.all(z < Z), z
    # the weights matter: with W = 0 the exact visible counts differ by many SE
    free = dbm.rbm.exact_moments(
        dbm.rossler_rbm((2, 2, 2)), np.r_[THETA_WEAK[:3], 0, 0, 0, 0, 0, 0]
    )
    assert np.any(
        _z(per_chain.mean(0)[:3], free[:3], per_chain.std(0, ddof=1)[:3] / np.sqrt(n)) > 10
    )


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 4, 5)])
def test_sample_rossler_hidden_prob_is_p_h_given_v(shape):
    """The returned p(H | V) equals dbm.rbm.hidden_probabilities on the returned
    visible states (hidden unit j = C-order index of (x, y, z)) and the softmax
    written from coordinates, for two parameter sets at once."""
    theta = np.stack([THETA, THETA_WEAK])
    visible, hidden_prob = sample_rossler(theta, shape=shape, n_chains=6, n_sweeps=3, seed=32)
    model = dbm.rossler_rbm(shape)
    for t in range(2):
        general = dbm.rbm.hidden_probabilities(model, theta[t], visible[t])
        got = hidden_prob[t]
        np.testing.assert_allclose(got.reshape(general.shape), general, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got, _hidden_softmax(theta[t], visible[t]), rtol=0, atol=1e-12)
    assert set(np.unique(visible)) <= {0, 1, 2, 3}


def test_sample_rossler_seed_and_errors():
    a = sample_rossler(THETA, shape=(3, 3, 3), n_chains=4, n_sweeps=2, seed=5)
    b = sample_rossler(THETA, shape=(3, 3, 3), n_chains=4, n_sweeps=2, seed=5)
    c = sample_rossler(THETA, shape=(3, 3, 3), n_chains=4, n_sweeps=2, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    bad = [
        ({"theta": THETA[:8]}, "`theta` must be finite with shape"),
        ({"theta": np.zeros((2, 10))}, "`theta` must be finite with shape"),
        ({"theta": np.zeros((2, 3, 9))}, "`theta` must be finite with shape"),
        ({"theta": np.r_[THETA[:8], np.nan]}, "`theta` must be finite"),
        ({"shape": (4, 4)}, "3D lattice shape"),
        ({"shape": (4, 4, 4, 4)}, "1, 2 or 3 dimensions"),
        ({"n_chains": 0}, "`n_chains` must be an integer >= 1"),
        ({"n_sweeps": 0}, "`n_sweeps` must be an integer >= 1"),
        ({"theta": THETA * 200}, "overflow"),
        ({"theta": np.r_[701.0, np.zeros(8)]}, "overflow"),
    ]
    for kwargs, match in bad:
        args = {"theta": THETA, "shape": (3, 3, 3), "n_chains": 2, "n_sweeps": 1, "seed": 0}
        args.update(kwargs)
        theta = args.pop("theta")
        with pytest.raises(ValueError, match=match):
            sample_rossler(theta, **args)
    with pytest.raises(TypeError, match="`n_chains` must be an integer; got True"):
        sample_rossler(THETA, n_chains=True)


# --------------------------------------------------------------------------
# 3. RBM connectivity
# --------------------------------------------------------------------------


def test_rossler_rbm_cubes_on_10x10x10_from_coordinates():
    """Hidden unit (x, y, z) connects exactly to the 8 visible sites
    {x, x+1} x {y, y+1} x {z, z+1} (mod 10), and each visible site lies in exactly 8
    cubes, those of {x-1, x} x {y-1, y} x {z-1, z}; indices are C-order."""
    L = 10
    shape = (L, L, L)
    model = dbm.rossler_rbm(shape)
    assert model.n_visible == model.n_hidden == L**3
    edges = model.edges
    assert edges.shape == (8 * L**3, 2)
    expect = set()
    for x, y, z in itertools.product(range(L), repeat=3):
        j = (x * L + y) * L + z
        for dx, dy, dz in itertools.product((0, 1), repeat=3):
            expect.add((((x + dx) % L * L + (y + dy) % L) * L + (z + dz) % L, j))
    got = {(int(i), int(j)) for i, j in edges}
    assert len(got) == edges.shape[0]  # no duplicate edge
    assert got == expect
    assert np.all(np.bincount(edges[:, 1], minlength=L**3) == 8)
    assert np.all(np.bincount(edges[:, 0], minlength=L**3) == 8)
    # the cubes of a visible site, with numpy from coordinates
    coords = np.stack(np.unravel_index(np.arange(L**3), shape), axis=1)
    for i in (0, 9, 99, 555, 999):
        cubes = {
            int(np.ravel_multi_index(tuple((coords[i] - d) % L), shape))
            for d in itertools.product((0, 1), repeat=3)
        }
        assert {int(j) for v, j in edges if v == i} == cubes
    # the tables of the fast Rössler kernels agree
    h2v, v2h = neighbour_cubes(shape)
    assert {(int(i), j) for j in range(L**3) for i in h2v[j]} == expect
    assert {(i, int(j)) for i in range(L**3) for j in v2h[i]} == expect

"""Observables against slow pure-Python references (tests/_reference.py)."""

import numpy as np
import pytest

import dbmtools as dbm

from . import _reference as ref


@pytest.mark.parametrize("shape", [(9,), (4, 5), (3, 4, 5)])
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_counts_and_pairs_match_reference(shape, boundary):
    rng = np.random.default_rng(0)
    states = rng.integers(0, 4, size=(3, *shape)).astype(np.int8)
    c = dbm.counts(states, dim=len(shape), n_species=3)
    p = dbm.pair_counts(states, dim=len(shape), n_species=3, boundary=boundary)
    assert c.shape == (3, 3) and p.shape == (3, 3, 3)
    for i, s in enumerate(states):
        assert np.array_equal(c[i], ref.counts(s, 3))
        assert np.array_equal(p[i], ref.pair_counts(s, 3, boundary == "periodic"))


@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_chain_moments_match_reference(boundary):
    rng = np.random.default_rng(1)
    states = (rng.random((20, 12)) < 0.7).astype(np.int8)
    states[0] = 1  # a full ring: every window is a chain
    states[1] = 0
    m = dbm.chain_moments(states, max_order=5, boundary=boundary)
    for i, s in enumerate(states):
        expect = [ref.chain_moment(s, k, boundary == "periodic") for k in range(1, 6)]
        assert m[i].tolist() == expect


def test_chain_moments_of_one_species():
    s = np.array([1, 2, 2, 2, 0, 2], dtype=np.int8)
    assert dbm.chain_moments(s, species=2, boundary="reflecting").tolist() == [4, 2, 1, 0]


def test_observable_errors():
    s = np.zeros((3, 4), dtype=np.int8)
    with pytest.raises(ValueError, match=r"`dim` must be an integer in \[1, 3\]; got 4"):
        dbm.counts(s, dim=4, n_species=1)
    with pytest.raises(ValueError, match="allowed are 0"):
        dbm.counts(s + 2, dim=2, n_species=1)
    with pytest.raises(TypeError, match="integer array"):
        dbm.counts(s.astype(float), dim=2, n_species=1)
    with pytest.raises(ValueError, match="max_order"):
        dbm.chain_moments(np.zeros(3, dtype=np.int8), max_order=4)
    with pytest.raises(ValueError, match="species"):
        dbm.chain_moments(np.zeros(5, dtype=np.int8), species=0)
    with pytest.raises(ValueError, match="'periodic' or 'reflecting'"):
        dbm.pair_counts(s, dim=2, n_species=1, boundary="wrap")


# --- issue 16, item 7 ---


def test_species_code_absent_from_the_network_is_an_error():
    """Issue 16: a species code absent from the network gave zero moments."""
    s = np.array([1, 1, 0, 1], dtype=np.int8)
    with pytest.raises(ValueError, match=r"`species` must be an integer in \[1, 1\]; got 2"):
        dbm.chain_moments(s, species=2, n_species=1)
    assert dbm.chain_moments(s, species=1, n_species=1, boundary="reflecting").tolist() == [
        3,
        1,
        0,
        0,
    ]
    traj = dbm.simulate(s, dbm.annihilation(0.5), n_steps=1, dt=0.01, seed=0)
    with pytest.raises(ValueError, match=r"`species` must be an integer in \[1, 1\]; got 2"):
        traj.chain_moments(species=2)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda s: dbm.counts(s, dim="1", n_species=1), TypeError, "`dim` must be an integer"),
        (lambda s: dbm.counts(s, dim=1, n_species=1.0), TypeError, "`n_species` must be an int"),
        (lambda s: dbm.chain_moments(s, max_order="2"), TypeError, "`max_order` must be an int"),
        (lambda s: dbm.chain_moments(s, species=True), TypeError, "`species` must be an int"),
    ],
)
def test_numbers_as_strings_or_bools_are_refused(call, exc, match):
    with pytest.raises(exc, match=match):
        call(np.zeros(6, dtype=np.int8))

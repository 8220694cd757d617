"""Lattice geometry and initial states."""

import numpy as np
import pytest

import dbmtools as dbm


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
def test_neighbour_table_matches_index_arithmetic(shape, boundary):
    nbr = dbm.neighbour_table(shape, boundary)
    assert nbr.shape == (int(np.prod(shape)), 2 * len(shape))
    for site in range(nbr.shape[0]):
        idx = np.unravel_index(site, shape)
        for axis in range(len(shape)):
            for col, step in ((2 * axis, 1), (2 * axis + 1, -1)):
                j = list(idx)
                j[axis] += step
                if 0 <= j[axis] < shape[axis]:
                    expect = np.ravel_multi_index(j, shape)
                elif boundary == "periodic":
                    j[axis] %= shape[axis]
                    expect = np.ravel_multi_index(j, shape)
                else:
                    expect = -1
                assert nbr[site, col] == expect


def test_bad_shapes_and_boundaries():
    with pytest.raises(ValueError, match="1, 2 or 3 dimensions"):
        dbm.neighbour_table((2, 2, 2, 2))
    with pytest.raises(ValueError, match=">= 2"):
        dbm.neighbour_table((1, 5))
    with pytest.raises(ValueError, match="'periodic' or 'reflecting'"):
        dbm.neighbour_table(5, "open")
    with pytest.raises(TypeError, match="integers"):
        dbm.neighbour_table((2.5, 3))


def test_random_state_counts_exact_and_seeded():
    s = dbm.random_state((6, 7), counts=[5, 10, 0], seed=3)
    assert s.dtype == np.int8 and s.shape == (6, 7)
    assert [(s == c).sum() for c in (1, 2, 3)] == [5, 10, 0]
    assert np.array_equal(s, dbm.random_state((6, 7), counts=[5, 10, 0], seed=3))
    assert not np.array_equal(s, dbm.random_state((6, 7), counts=[5, 10, 0], seed=4))


def test_random_state_densities_binomial():
    n = 200_000
    s = dbm.random_state(n, densities=[0.2, 0.3], seed=5)
    for code, rho in ((1, 0.2), (2, 0.3)):
        frac = (s == code).mean()
        se = np.sqrt(rho * (1 - rho) / n)
        assert abs(frac - rho) < 4 * se


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({}, ValueError, "exactly one"),
        ({"counts": [1], "densities": [0.1]}, ValueError, "exactly one"),
        ({"counts": [30]}, ValueError, "more than the 25 sites"),
        ({"counts": [-1]}, ValueError, "non-negative integers"),
        ({"counts": [1.5]}, ValueError, "non-negative integers"),
        ({"densities": [0.6, 0.6]}, ValueError, "sum to at most 1"),
        ({"densities": [np.nan]}, ValueError, "finite"),
        ({"densities": []}, ValueError, "non-empty"),
        ({"counts": [1], "seed": -3}, ValueError, "non-negative"),
        ({"counts": [1], "seed": "x"}, TypeError, "seed"),
    ],
)
def test_random_state_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dbm.random_state((5, 5), **kwargs)


# --- issue 16, item 7: no silent conversions ---


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"counts": [True]}, r"`counts` must hold numbers, one per species; got \[True\]"),
        ({"counts": ["3"]}, r"`counts` must hold numbers.*'3'"),
        ({"densities": ["0.5"]}, "`densities` must hold numbers"),
        ({"densities": [True, False]}, "`densities` must hold numbers"),
        ({"counts": "3"}, "`counts` must be a sequence of numbers"),
    ],
)
def test_random_state_refuses_bools_and_strings(kwargs, match):
    """Issue 16: random_state(counts=[True]) placed one particle."""
    with pytest.raises(TypeError, match=match):
        dbm.random_state(10, **kwargs)


@pytest.mark.parametrize("shape", ["10", (True, 4), (4.0, 4), None])
def test_shapes_must_be_integers(shape):
    with pytest.raises(TypeError, match="`shape`"):
        dbm.random_state(shape, counts=[1])


def test_numpy_integer_shapes_are_accepted():
    assert dbm.random_state(np.int64(6), counts=[2], seed=0).shape == (6,)
    assert dbm.neighbour_table((np.int32(3), 4)).shape == (12, 4)

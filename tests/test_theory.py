"""Closed-form results of dbmtools.theory against independent evaluations."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.special import iv

import dbmtools as dbm


def test_exact_density_matches_unscaled_bessel_formula():
    t, nu = np.array([0.0, 0.01, 0.3, 1.0]), 50.0
    x = 4 * nu * t
    direct = 0.5 * np.exp(-x) * (iv(0, x) + iv(1, x))
    assert np.allclose(dbm.theory.annihilation_density_exact(t, nu), direct, rtol=1e-12)


def test_exact_density_tends_to_asymptote():
    t = np.array([1e3, 1e4])
    ratio = dbm.theory.annihilation_density_exact(t, 50.0) / (
        dbm.theory.annihilation_density_asymptotic(t, 50.0)
    )
    assert np.allclose(ratio, 1, atol=1e-4)


def test_reaction_limited_law_solves_its_ode():
    nu, p, rho0 = 50.0, 0.01, 0.4
    sol = solve_ivp(
        lambda t, r: -4 * nu * p * r**2, (0, 3), [rho0], rtol=1e-10, atol=1e-12, dense_output=True
    )
    t = np.linspace(0, 3, 7)
    law = dbm.theory.annihilation_density_reaction_limited(t, nu, p, rho0)
    assert np.allclose(sol.sol(t)[0], law, rtol=1e-7)


def test_crossover_is_where_the_laws_meet():
    nu, p = 50.0, 0.05
    t_star = dbm.theory.annihilation_crossover_time(nu, p)
    assert np.isclose(
        1 / (4 * nu * p * t_star), dbm.theory.annihilation_density_asymptotic(t_star, nu)
    )


def test_mean_and_sem():
    x = np.random.default_rng(0).normal(size=(5, 3))
    m, se = dbm.theory.mean_and_sem(x)
    assert np.allclose(m, x.mean(0)) and np.allclose(se, x.std(0, ddof=1) / np.sqrt(5))
    with pytest.raises(ValueError, match="at least 2"):
        dbm.theory.mean_and_sem(np.ones((1, 3)))

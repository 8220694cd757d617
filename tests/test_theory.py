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


def test_mean_field_rossler_is_equation_43_with_random_mixing():
    """Eq. (43) written out by hand, with kappa_i = 2 nu p_i and pair counts closed
    by random mixing (Delta_XX = B x^2, Delta_XY = 2 B x y for B bonds)."""
    dt, n_sites, n_bonds = 0.01, 1000, 2700
    f = dbm.theory.mean_field_rhs(dbm.rossler(), dt=dt, dim=3, n_sites=n_sites, n_bonds=n_bonds)
    mu = np.array([150.0, 320.0, 210.0])
    a, b, c = mu / n_sites
    nu = 1 / (6 * dt)
    k1, k2, k3 = 30.0, 10.0, 16.5
    kap = 2 * nu * np.array([0.1, 0.4, 0.24, 0.36])
    d_aa, d_ab, d_ac, d_cc = (
        n_bonds * a * a,
        2 * n_bonds * a * b,
        2 * n_bonds * a * c,
        n_bonds * c * c,
    )
    expect = [
        k1 * mu[0] - kap[0] * d_aa - kap[1] * d_ab - kap[2] * d_ac,
        kap[1] * d_ab - k2 * mu[1],
        -kap[2] * d_ac + k3 * mu[2] - kap[3] * d_cc,
    ]
    assert np.allclose(f(0.0, mu), expect, rtol=1e-12)


def test_mean_field_first_success_probabilities():
    net = dbm.Network([("A + B -> B + B", 0.4), ("A + B -> 0", 0.5)])
    rates, stoich = dbm.theory.mean_field_rates(net, dt=0.1, dim=2)
    nu = 1 / (4 * 0.1)
    assert np.allclose(rates, [2 * nu * 0.4, 2 * nu * 0.6 * 0.5])
    assert stoich.tolist() == [[-1, 1], [-1, -1]]


def test_mean_field_matches_simulation_when_reaction_limited():
    """A + B -> B + B with p = 0.01 on a 20^3 ring: collisions far outnumber
    reactions, the lattice stays mixed, and the mean field holds at early times
    within a few standard errors of the ensemble mean."""
    net = dbm.Network([("A + B -> B + B", 0.01)])
    shape, n = (20, 20, 20), 40
    starts = np.stack([dbm.random_state(shape, counts=[2000, 500], seed=[3, k]) for k in range(n)])
    ens = dbm.simulate_ensemble(
        starts, net, n_steps=30, dt=0.01, dim=3, record_every=10, seed=4, progress=False
    )
    mean, se = dbm.theory.mean_and_sem(ens.counts()[..., 1])
    mf = dbm.theory.solve_mean_field(net, [2000, 500], ens.times, dt=0.01, shape=shape)
    z = np.abs(mean - mf[:, 1])[1:] / se[1:]
    assert np.all(z < 4), z


def test_fit_pair_rates_recovers_the_rates_of_equation_43():
    """Counts integrated from eq. (43) with known kappa and given (made-up, smooth) pair
    counts: the least-squares fit returns those kappa (central differences: O(dt^2))."""
    from scipy.integrate import solve_ivp

    net = dbm.rossler(k1=3.0, k2=2.0, k3=1.5)  # slow births: the counts stay O(100)
    kappa = np.array([2.0, 11.0, 7.5, 9.0])
    t = np.arange(0, 1.0 + 1e-9, 0.001)

    def pairs_at(s):
        base = np.array([[40, 60, 30], [60, 80, 0], [30, 0, 50]], dtype=float)
        wave = 1 + 0.5 * np.sin(2 * np.pi * s * np.array([[1, 2, 3], [2, 1, 1], [3, 1, 4]]))
        return base * wave

    def rhs(s, mu):
        rates, stoich = dbm.theory.mean_field_rates(net, dt=0.01, dim=3)
        rates = rates.copy()
        rates[3:] = kappa
        p = pairs_at(s)
        base = np.array([mu[0], mu[1], mu[2], p[0, 0], p[0, 1], p[0, 2], p[2, 2]])
        return (rates * base) @ stoich

    mu = solve_ivp(rhs, (0, 1), [1000.0, 1200.0, 800.0], t_eval=t, rtol=1e-10, atol=1e-10).y.T
    pairs = np.stack([pairs_at(s) for s in t])
    fit, theory, residual = dbm.theory.fit_pair_rates(net, mu, pairs, dt=0.001, dim=3)
    np.testing.assert_allclose(fit, kappa, rtol=1e-4)
    assert residual[1] < 1e-4 < residual[0]
    np.testing.assert_allclose(theory, 2 / (6 * 0.001) * np.array([0.1, 0.4, 0.24, 0.36]))
    with pytest.raises(ValueError, match="n_times >= 3"):
        dbm.theory.fit_pair_rates(net, mu[:2], pairs[:2], dt=0.001, dim=3)
    with pytest.raises(ValueError, match="same leading"):
        dbm.theory.moment_rhs(net, mu, pairs[:5], dt=0.001, dim=3)


# --- issue 16, item 7: bad times and parameters are refused, p = 0 is fine ---


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: dbm.theory.annihilation_density_exact(-1.0, 50.0),
            ValueError,
            r"`t` must be times >= 0; got -1.0",
        ),
        (
            lambda: dbm.theory.annihilation_density_exact([0.0, np.nan], 50.0),
            ValueError,
            "`t` must be finite",
        ),
        (
            lambda: dbm.theory.annihilation_density_exact("1.0", 50.0),
            TypeError,
            "`t` must be real numbers",
        ),
        (lambda: dbm.theory.annihilation_density_exact(1.0, 0.0), ValueError, "`nu` must be"),
        (
            lambda: dbm.theory.annihilation_density_reaction_limited(-2.0, 50.0, 0.01),
            ValueError,
            "`t` must be times >= 0",
        ),
        (
            lambda: dbm.theory.annihilation_density_reaction_limited(1.0, 50.0, 1.5),
            ValueError,
            r"`prob` must be a probability in \[0, 1\]",
        ),
        (
            lambda: dbm.theory.annihilation_density_asymptotic(0.0, 50.0),
            ValueError,
            "`t` must be times > 0",
        ),
        (
            lambda: dbm.theory.annihilation_crossover_time(50.0, "0.01"),
            TypeError,
            "`prob` must be a real number",
        ),
        (
            lambda: dbm.theory.mean_field_rates(dbm.annihilation(0.1), dt=0.0, dim=1),
            ValueError,
            "`dt` must be a finite number > 0; got 0.0",
        ),
        (
            lambda: dbm.theory.mean_field_rates(dbm.annihilation(0.1), dt=-0.01, dim=1),
            ValueError,
            "`dt` must be a finite number > 0",
        ),
        (
            lambda: dbm.theory.mean_field_rates(dbm.annihilation(0.1), dt="0.01", dim=1),
            TypeError,
            "`dt` must be a real number",
        ),
        (
            lambda: dbm.theory.mean_field_rates(dbm.annihilation(0.1), dt=0.01, dim=4),
            ValueError,
            "`dim` must be an integer in",
        ),
        (
            lambda: dbm.theory.solve_mean_field(
                dbm.annihilation(0.1), [5.0], [0.0, -1.0], dt=0.01, shape=(10,)
            ),
            ValueError,
            "`times` must be times",
        ),
        (
            lambda: dbm.theory.random_mixing_pairs([1.0], n_sites=0, n_bonds=1),
            ValueError,
            "`n_sites` must be an integer >= 1",
        ),
    ],
)
def test_bad_times_and_parameters_are_refused(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_crossover_time_at_zero_probability_is_infinite():
    """Issue 16: p = 0 raised ZeroDivisionError; with no reactions t* is infinite."""
    assert dbm.theory.annihilation_crossover_time(50.0, 0.0) == np.inf
    assert dbm.theory.annihilation_crossover_time(np.float32(50.0), np.int64(1)) == pytest.approx(
        np.pi / 100
    )

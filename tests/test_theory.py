"""Closed-form results of dbmtools.theory against independent evaluations."""

import math

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


# --- creation 0 -> X and births that need room, in the eq. (43) tools and the mean field ---


def test_creation_in_the_moment_equations_counts_empty_sites():
    """A creation fires at c per empty site: its propensity base is n_sites - sum(mu)."""
    net = dbm.Network([("0 -> A", 0.5), ("A -> B", 2.0), ("A + B -> 0", 0.3)])
    rates, stoich = dbm.theory.mean_field_rates(net, dt=0.01, dim=2)
    assert np.allclose(rates, [0.5, 2.0, 2 * 25 * 0.3]) and stoich.tolist() == [
        [1, 0],
        [-1, 1],
        [-1, -1],
    ]
    mu, pairs = np.array([120.0, 30.0]), np.array([[10.0, 8.0], [8.0, 1.0]])
    expect = [0.5 * (400 - 150) - 2 * 120 - 15 * 8, 2 * 120 - 15 * 8]
    got = dbm.theory.moment_rhs(net, mu, pairs, dt=0.01, dim=2, n_sites=400)
    assert np.allclose(got, expect, rtol=1e-12)
    with pytest.raises(ValueError, match=r"creation `0 -> X`.*give `n_sites`.*got None"):
        dbm.theory.moment_rhs(net, mu, pairs, dt=0.01, dim=2)
    with pytest.raises(TypeError, match="`n_sites` must be an integer; got 400.0"):
        dbm.theory.moment_rhs(net, mu, pairs, dt=0.01, dim=2, n_sites=400.0)


def test_fit_pair_rates_with_a_creation():
    """Counts integrated from eq. (43) with a creation and a known kappa: the fit returns
    kappa once it is told the number of sites (the creation term is subtracted)."""
    net = dbm.Network([("0 -> A", 0.2), ("A + A -> 0", 0.1)])
    n_sites, kappa, t = 1000, 3.0, np.arange(0, 1.0 + 1e-9, 0.001)

    def pairs_at(s):
        return np.array([[40.0 * (1 + 0.5 * np.sin(2 * np.pi * s))]])

    def rhs(s, mu):
        return [0.2 * (n_sites - mu[0]) - 2 * kappa * pairs_at(s)[0, 0]]

    mu = solve_ivp(rhs, (0, 1), [300.0], t_eval=t, rtol=1e-10, atol=1e-10).y.T
    pairs = np.stack([pairs_at(s) for s in t])
    fit, _, residual = dbm.theory.fit_pair_rates(net, mu, pairs, dt=0.001, dim=1, n_sites=n_sites)
    np.testing.assert_allclose(fit, [kappa], rtol=1e-4)
    assert residual[1] < 1e-4
    with pytest.raises(ValueError, match="give `n_sites`"):
        dbm.theory.fit_pair_rates(net, mu, pairs, dt=0.001, dim=1)


def test_mean_field_births_need_an_empty_neighbour():
    """Birth rate k mu (1 - (1 - P0)^(z mu)), written out by hand (z = 2 n_bonds / n_sites),
    and creation c (n_sites - sum mu); it is k mu while the lattice has room."""
    net = dbm.Network([("A -> A + A", 2.0), ("0 -> B", 0.7), ("B -> 0", 1.0)])
    n_sites, n_bonds = 100, 180
    f = dbm.theory.mean_field_rhs(net, dt=0.1, dim=2, n_sites=n_sites, n_bonds=n_bonds)
    z = 2 * n_bonds / n_sites
    for a, b in ((10.0, 20.0), (60.0, 39.0), (70.0, 29.95), (99.5, 0.5)):
        p0 = 1 - (a + b) / n_sites
        births = 2.0 * a * (1 - (1 - p0) ** (z * a))
        expect = [births, 0.7 * (n_sites - a - b) - b]
        assert np.allclose(f(0.0, np.array([a, b])), expect, rtol=1e-12, atol=1e-12)
    assert np.isclose(f(0.0, np.array([10.0, 20.0]))[0], 20.0, rtol=1e-12)  # room: k mu
    assert f(0.0, np.array([100.0, 0.0]))[0] == 0.0  # full: no births


def _birth_ensemble(net, n0, *, n_steps, hop_prob, n_samples=40, record_every=None):
    shape = (30, 30)
    starts = np.stack(
        [dbm.random_state(shape, counts=[n0], seed=[11, k]) for k in range(n_samples)]
    )
    return dbm.simulate_ensemble(
        starts,
        net,
        n_steps=n_steps,
        dt=0.01,
        dim=2,
        hop_prob=hop_prob,
        record_every=record_every or n_steps // 10,
        seed=12,
        progress=False,
        record=["counts", "pair_counts"],
    )


def _logistic(n0, k, kd, n_sites, t):
    """The textbook birth rule k N P(0): dN/dt = (k - kd) N - k N^2 / n_sites, solved."""
    r = k - kd
    return r * n0 * np.exp(r * t) / (r + k * n0 / n_sites * (np.exp(r * t) - 1))


def test_birth_network_fills_the_lattice_as_the_simulator_rule_says():
    """X -> X + X on 30 x 30: the simulations grow as 20 e^{3t} until every site is
    full (the simulator's birth rule: k N_X while any X has room) and stay at 900. The
    mean field now saturates at the 900 sites (before this rule it ran away to
    20 e^{3t}); the textbook k N P(0) (logistic) lags by many standard errors."""
    net = dbm.Network([("X -> X + X", 3.0)])
    ens = _birth_ensemble(net, 20, n_steps=300, hop_prob=1.0)
    mean, se = dbm.theory.mean_and_sem(ens.counts()[..., 0])
    mf = dbm.theory.solve_mean_field(net, [20.0], ens.times, dt=0.01, shape=(30, 30))[:, 0]
    growing = ens.times <= 1.2  # below 85% filling
    z = (mf - mean)[1:][growing[1:]] / se[1:][growing[1:]]
    assert np.all(np.abs(z) < 4), z
    full = ens.times >= 1.8
    assert np.all(mean[full] == 900) and np.allclose(mf[full], 900, atol=0.5)
    assert mf.max() <= 900
    textbook = _logistic(20.0, 3.0, 0.0, 900, ens.times)
    z_textbook = (textbook - mean)[1:][growing[1:]] / se[1:][growing[1:]]
    assert z_textbook[-1] < -10  # at t = 1.2: logistic 409 against 734 +- 18 simulated


def test_birth_and_death_below_the_contact_process_threshold_grows():
    """X -> X + X (k = 1), X -> 0 (0.8) with slow hops: k / kd = 1.25 is below the 2D
    contact process's critical ratio (about 1.65), yet the simulator's births keep the
    rate k N_X, so the mean grows as e^{(k - kd) t}, as the mean field says; the
    textbook rule would stop it at 900 (1 - kd / k) = 180."""
    net = dbm.Network([("X -> X + X", 1.0), ("X -> 0", 0.8)])
    ens = _birth_ensemble(net, 100, n_steps=500, hop_prob=0.05, n_samples=60)
    mean, se = dbm.theory.mean_and_sem(ens.counts()[..., 0])
    mf = dbm.theory.solve_mean_field(
        net, [100.0], ens.times, dt=0.01, shape=(30, 30), hop_prob=0.05
    )[:, 0]
    assert np.allclose(mf, 100 * np.exp(0.2 * ens.times), rtol=1e-5)
    assert np.all(np.abs(mf - mean)[1:] / se[1:] < 4)
    textbook = _logistic(100.0, 1.0, 0.8, 900, ens.times)
    assert (mean[-1] - textbook[-1]) / se[-1] > 8  # 139 against 289 +- 10 simulated at t = 5


@pytest.mark.parametrize(
    ("counts0", "exc", "match"),
    [
        ([-1.0], ValueError, "`counts0` must be counts >= 0; got -1"),
        ([11.0], ValueError, "`counts0` must sum to at most the 10 sites.*got 11"),
        ([np.nan], ValueError, "`counts0` must be finite"),
        ([1.0, 2.0], ValueError, r"`counts0` must have shape \(..., 1\).*got shape \(2,\)"),
        ([[1.0], [2.0]], ValueError, r"`counts0` must have shape \(1,\), one start"),
        (["5"], TypeError, "`counts0` must hold real numbers"),
    ],
)
def test_solve_mean_field_refuses_bad_counts(counts0, exc, match):
    with pytest.raises(exc, match=match):
        dbm.theory.solve_mean_field(dbm.annihilation(0.1), counts0, [0.0, 1.0], dt=0.01, shape=10)


def test_solve_mean_field_refuses_a_non_network_and_bad_times():
    with pytest.raises(TypeError, match="`network` must be a dbmtools Network; got str"):
        dbm.theory.solve_mean_field("A + A -> 0", [5.0], [0.0, 1.0], dt=0.01, shape=10)
    with pytest.raises(ValueError, match=r"strictly increasing; got times\[1\] = 1 followed by 1"):
        dbm.theory.solve_mean_field(dbm.annihilation(0.1), [5.0], [0, 1, 1], dt=0.01, shape=10)


# --- classical_moments: mean field and the pair approximation of any network in 1-3D ---

cm = dbm.theory.classical_moments


def _chain_closure_reference(rho0, q0, n_sites, times, *, dt, prob):
    """theory.classical_closure (the paper's 1D chain moments, forward Euler), with
    the (36) line the simulations show (pair_sign = -1), k_r = 2 nu p and D = nu,
    Richardson-extrapolated from steps h and h / 2 to O(h^2)."""
    nu = 1 / (2 * dt)
    init = np.stack([rho0 * n_sites, q0 * (n_sites - 1)], 1)  # open-chain raw sums
    coarse, fine = (
        dbm.theory.classical_closure(
            init, n_sites, times, k_r=2 * nu * prob, D=nu, method="pair", max_step=h
        )
        for h in (1e-4, 5e-5)
    )
    return 2 * fine - coarse


def test_pair_approximation_is_the_1d_chain_closure_of_annihilation():
    """1D A + A -> 0, three starts (two correlated) at once: counts and pairs equal
    classical_closure's per-site rho and q (rings of L bonds; the chain sums run over
    L - 1). Measured: max relative difference 1e-7 (counts), 7e-7 (pairs), well inside
    the Euler reference's O(h^2) error (its O(h) error alone is 1e-4 relative)."""
    n_sites, dt, prob = 200, 0.01, 0.1
    rho0, q0 = np.array([0.5, 0.3, 0.1]), np.array([0.25, 0.05, 0.02])
    times = np.linspace(0, 0.5, 11)
    res = cm(
        dbm.annihilation(prob),
        (rho0 * n_sites)[:, None],
        times,
        initial_pairs=(q0 * n_sites)[:, None, None],
        dt=dt,
        shape=n_sites,
    )
    ref = _chain_closure_reference(rho0, q0, n_sites, times, dt=dt, prob=prob)
    np.testing.assert_allclose(res.counts[..., 0], ref[..., 0], rtol=1e-6)
    np.testing.assert_allclose(
        res.pairs[..., 0, 0] / n_sites, ref[..., 1] / (n_sites - 1), rtol=5e-6
    )
    assert res.method == "pair" and res.coordination == 2 and res.n_bonds == n_sites


def test_mean_field_is_solve_mean_field_for_any_network():
    """Many starts of mean field at once equal solve_mean_field start by start: 1D
    annihilation, and in 3D the Rössler network (births, collisions) with a creation
    and a decay added; pairs are random mixing of the counts."""
    rossler = dbm.rossler(k1=3.0, k2=1.0, k3=1.5)
    extra = dbm.Network([*rossler.reactions, ("0 -> B", 0.2), ("C -> A", 0.5)])
    cases = [
        (dbm.annihilation(0.1), 200, [[100.0], [60.0], [20.0]]),
        (extra, (6, 6, 6), [[50.0, 30.0, 20.0], [100.0, 10.0, 90.0]]),
    ]
    times = np.linspace(0, 1.0, 6)
    for net, shape, starts in cases:
        res = cm(net, starts, times, dt=0.01, shape=shape, method="mean field")
        n_sites, n_bonds = (200, 200) if shape == 200 else (216, 648)
        for i, start in enumerate(starts):
            want = dbm.theory.solve_mean_field(net, start, times, dt=0.01, shape=shape)
            np.testing.assert_allclose(res.counts[i], want, rtol=1e-6, atol=1e-6)
            mixed = dbm.theory.random_mixing_pairs(want, n_sites=n_sites, n_bonds=n_bonds)
            np.testing.assert_allclose(res.pairs[i], mixed, rtol=1e-5, atol=1e-6)


def _bond_events(net, nu):
    """Per ordered bond state (x, y): [((x', y'), rate)] of its constant-rate events, the
    mover on either end: hops into an empty site and collisions, the pair's reactions
    tried in network order (first success wins), the first product on the target."""
    events = {}
    k = net.n_species + 1
    for mover in range(1, k):
        for target in range(k):
            found = [((0, mover), nu)] if target == 0 else []
            left = 1.0
            for r in net.reactions:
                codes = sorted(net.code(s) for s in r.reactants)
                if r.kind != "collision" or target == 0 or codes != sorted((mover, target)):
                    continue
                made = [net.code(s) for s in r.products] + [0, 0]
                found.append(((made[1], made[0]), nu * left * r.prob))
                left *= 1 - r.prob
            for (x2, y2), rate in found:  # mover on the first site, then on the second
                if (x2, y2) != (mover, target):
                    events.setdefault((mover, target), []).append(((x2, y2), rate))
                    events.setdefault((target, mover), []).append(((y2, x2), rate))
    return events


def _reference_pair_rhs(net, table, *, nu, z, n_sites):
    """dP(a, b)/dt of the pair approximation written out event by event (loops over
    states), with triplets P(c, a, b) = P(c, a) P(a, b) / P(a) on the z - 1 other bonds
    of each end. A birth on an ordered (X, 0) bond: the simulator's rate k N_X / N_elig
    per eligible X times E[1/e] for its e empty neighbours, summed over the binomial,
    times Pr(some X has room) (integer z only)."""
    k = net.n_species + 1
    single = table.sum(1)
    site = [(0, net.code(r.products[0]), r.rate) for r in net.reactions if r.kind == "creation"]
    site += [(net.code(r.reactants[0]), 0, r.rate) for r in net.reactions if r.kind == "decay"]
    site += [
        (net.code(r.reactants[0]), net.code(r.products[0]), r.rate)
        for r in net.reactions
        if r.kind == "conversion"
    ]
    bond = _bond_events(net, nu)
    for r in net.reactions:
        x = net.code(r.reactants[0]) if r.kind == "birth" else None
        if x is None or single[x] <= 0:
            continue
        p = table[x, 0] / single[x]
        inv_e = sum(math.comb(z - 1, m) * p**m * (1 - p) ** (z - 1 - m) / (1 + m) for m in range(z))
        room = 1 - (1 - p) ** z
        some = 1 - (1 - p) ** (z * max(n_sites * single[x], 1.0))
        rate = r.rate * inv_e / room * some
        bond.setdefault((x, 0), []).append(((x, x), rate))
        bond.setdefault((0, x), []).append(((x, x), rate))
    d = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            pab = table[a, b]
            for (a2, b2), rate in bond.get((a, b), []):
                d[a, b] -= rate * pab
                d[a2, b2] += rate * pab
            for x, y, rate in site:
                if a == x:
                    d[a, b] -= rate * pab
                    d[y, b] += rate * pab
                if b == x:
                    d[a, b] -= rate * pab
                    d[a, y] += rate * pab
            for c in range(k):
                if single[a] > 0:  # (c)-(a)-(b): an event on bond (a, c) changes a
                    for (a2, _), rate in bond.get((a, c), []):
                        flow = (z - 1) * rate * table[a, c] * pab / single[a]
                        d[a, b] -= flow
                        d[a2, b] += flow
                if single[b] > 0:  # (a)-(b)-(c)
                    for (b2, _), rate in bond.get((b, c), []):
                        flow = (z - 1) * rate * pab * table[b, c] / single[b]
                        d[a, b] -= flow
                        d[a, b2] += flow
    return d


def _table(counts, pairs, n_sites, n_bonds):
    """The (K, K) table P(x, y) of an ordered bond from counts and pair_counts' layout."""
    m = len(counts)
    table = np.zeros((m + 1, m + 1))
    table[1:, 1:] = np.asarray(pairs) / (n_bonds * (2 - np.eye(m)))
    table[1:, 0] = table[0, 1:] = np.asarray(counts) / n_sites - table[1:, 1:].sum(1)
    table[0, 0] = 1 - table[1:].sum() - table[0, 1:].sum()
    return table


@pytest.mark.parametrize("shape", [(30,), (6, 6), (4, 4, 4)])
def test_pair_approximation_matches_an_event_by_event_reference(shape):
    """Every reaction kind at once (creation, decay, conversion, birth, collisions that
    annihilate, convert, swap and place two products) from a correlated start, against
    the reference equations integrated by solve_ivp. Measured: max difference 5e-8
    counts in 2D (rtol 1e-8)."""
    net = dbm.Network(
        [
            ("0 -> A", 0.3),
            ("A -> B", 0.7),
            ("B -> 0", 0.4),
            ("A -> A + A", 2.0),
            ("A + B -> B + B", 0.3),
            ("B + B -> 0", 0.2),
            ("A + B -> B", 0.5),
            ("B + A -> A + B", 0.4),
            ("A + A -> B + A", 0.1),
        ],
        species=("A", "B"),
    )
    dt, dim = 0.05, len(shape)
    n_sites = int(np.prod(shape))
    n_bonds = dim * n_sites
    counts0 = np.array([0.32, 0.22]) * n_sites
    pairs0 = np.array([[0.12, 2 * 0.08], [2 * 0.08, 0.1]]) * n_bonds
    times = np.linspace(0, 2, 9)
    res = cm(net, counts0, times, initial_pairs=pairs0, dt=dt, shape=shape)
    k = 3
    sol = solve_ivp(
        lambda t, y: _reference_pair_rhs(
            net, y.reshape(k, k), nu=1 / (2 * dim * dt), z=2 * dim, n_sites=n_sites
        ).ravel(),
        (0, 2),
        _table(counts0, pairs0, n_sites, n_bonds).ravel(),
        t_eval=times,
        rtol=1e-10,
        atol=1e-13,
    )
    ref = sol.y.T.reshape(-1, k, k)
    np.testing.assert_allclose(ref.sum((1, 2)), 1, atol=1e-9)
    np.testing.assert_allclose(res.counts, ref.sum(2)[:, 1:] * n_sites, rtol=1e-6, atol=1e-6)
    want = ref[:, 1:, 1:] * n_bonds * (2 - np.eye(2))
    np.testing.assert_allclose(res.pairs, want, rtol=1e-6, atol=1e-6)


METHODS = ("pair", "mean field")
SHAPES = [(40,), (8, 8), (5, 5, 5)]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", SHAPES)
def test_pure_diffusion_keeps_counts_and_random_mixing(method, shape):
    """No reactions: hops conserve every count, and random mixing (a product measure)
    is stationary under exclusion hops."""
    net = dbm.Network([], species=("A", "B", "C"))
    n_sites = int(np.prod(shape))
    counts0 = np.array([0.2, 0.3, 0.1]) * n_sites
    res = cm(net, counts0, [0.0, 0.5, 2.0], dt=0.01, shape=shape, method=method)
    np.testing.assert_allclose(res.counts, np.broadcast_to(counts0, (3, 3)), rtol=1e-9)
    mixed = dbm.theory.random_mixing_pairs(counts0, n_sites=n_sites, n_bonds=len(shape) * n_sites)
    np.testing.assert_allclose(res.pairs, np.broadcast_to(mixed, (3, 3, 3)), rtol=1e-7)


def test_pure_diffusion_relaxes_correlated_pairs_to_random_mixing():
    """From clustered pairs, hops alone bring the pair approximation to random mixing
    at fixed counts (the exclusion process's stationary product measure)."""
    net = dbm.Network([], species=("A", "B"))
    counts0, clustered = np.array([20.0, 10.0]), np.array([[15.0, 0.0], [0.0, 8.0]])
    res = cm(net, counts0, [0.0, 5.0], initial_pairs=clustered, dt=0.01, shape=(10, 10))
    mixed = dbm.theory.random_mixing_pairs(counts0, n_sites=100, n_bonds=200)
    np.testing.assert_allclose(res.counts[-1], counts0, rtol=1e-9)
    np.testing.assert_allclose(res.pairs[-1], mixed, rtol=1e-5)
    assert not np.allclose(res.pairs[0], mixed)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", SHAPES)
def test_pure_decay_is_exponential(method, shape):
    """X -> 0 at k_X with hops: counts N0 e^{-k t} and, from random mixing, pairs
    n_bonds rho_a rho_b e^{-(k_a + k_b) t} (x 2 off the diagonal), exactly."""
    net = dbm.Network([("A -> 0", 1.5), ("B -> 0", 0.4)])
    n_sites = int(np.prod(shape))
    n_bonds = len(shape) * n_sites
    counts0, t = np.array([0.3, 0.5]) * n_sites, np.linspace(0, 2, 5)
    res = cm(net, counts0, t, dt=0.01, shape=shape, method=method)
    decay = np.exp(-np.outer(t, [1.5, 0.4]))
    np.testing.assert_allclose(res.counts, counts0 * decay, rtol=1e-6)
    rho = counts0 / n_sites * decay
    want = n_bonds * rho[:, :, None] * rho[:, None, :] * (2 - np.eye(2))
    np.testing.assert_allclose(res.pairs, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", SHAPES)
def test_creation_on_an_empty_lattice_has_the_closed_form(method, shape):
    """0 -> A at c_A, 0 -> B at c_B per empty site, from empty: N c_X / c (1 - e^{-c t})
    with c = c_A + c_B; sites fill independently, so pairs are products."""
    net = dbm.Network([("0 -> A", 0.6), ("0 -> B", 0.2)])
    n_sites = int(np.prod(shape))
    t = np.linspace(0, 4, 5)
    res = cm(net, [0.0, 0.0], t, dt=0.01, shape=shape, method=method)
    rho = np.array([0.6, 0.2]) / 0.8 * (1 - np.exp(-0.8 * t))[:, None]
    np.testing.assert_allclose(res.counts, n_sites * rho, rtol=1e-6, atol=1e-9)
    want = len(shape) * n_sites * rho[:, :, None] * rho[:, None, :] * (2 - np.eye(2))
    np.testing.assert_allclose(res.pairs, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_conversion_conserves_the_total(method):
    """A -> B, B -> A and A + B -> B + B move particles between species only: the total
    stays; with the conversions alone A decays as A0 e^{-k t} towards the balance."""
    t = np.linspace(0, 3, 7)
    starts = np.array([[60.0, 10.0], [5.0, 80.0]])
    net = dbm.Network([("A -> B", 0.7), ("B -> A", 0.3), ("A + B -> B + B", 0.2)])
    res = cm(net, starts, t, dt=0.01, shape=(10, 10), method=method)
    np.testing.assert_allclose(res.counts.sum(-1), np.repeat(starts.sum(-1)[:, None], 7, 1))
    only = cm(
        dbm.Network([("A -> B", 0.7)]), [60.0, 10.0], t, dt=0.01, shape=(5, 5, 5), method=method
    )
    np.testing.assert_allclose(only.counts[:, 0], 60 * np.exp(-0.7 * t), rtol=1e-6)
    np.testing.assert_allclose(only.counts.sum(-1), 70.0, rtol=1e-9)


def _simulated_and_closed(net, shape, counts0, *, n_steps, n_samples, seed):
    """Ensemble means and standard errors of counts and pairs (10 records), and the
    z-scores (closure - mean) / sem after the start for both closures, the pair
    approximation started from the ensemble's mean initial pairs."""
    starts = np.stack(
        [dbm.random_state(shape, counts=counts0, seed=[seed, k]) for k in range(n_samples)]
    )
    ens = dbm.simulate_ensemble(
        starts,
        net,
        n_steps=n_steps,
        dt=0.01,
        dim=len(shape),
        record_every=n_steps // 10,
        seed=seed + 1,
        progress=False,
        record=["counts", "pair_counts"],
    )
    counts, pairs = ens.counts().astype(float), ens.pair_counts().astype(float)
    (mc, sc), (mp, sp) = dbm.theory.mean_and_sem(counts), dbm.theory.mean_and_sem(pairs)
    z = {}
    for method in METHODS:
        res = cm(
            net,
            np.asarray(counts0, dtype=float),
            ens.times,
            initial_pairs=pairs[:, 0].mean(0) if method == "pair" else None,
            dt=0.01,
            shape=shape,
            method=method,
        )
        z[method] = ((res.counts - mc)[1:] / sc[1:], (res.pairs - mp)[1:] / sp[1:])
    return z


@pytest.mark.parametrize(
    ("net", "shape", "counts0", "n_steps"),
    [
        (dbm.Network([("A + B -> 0", 0.02)]), (20, 20), [120, 80], 200),
        (dbm.Network([("A + B -> 0", 0.05)]), (10, 10, 10), [300, 200], 100),
        (
            dbm.Network([("A -> A + A", 1.0), ("A -> 0", 0.5), ("A + A -> A", 0.02)]),
            (12, 12, 12),
            [50],
            300,
        ),
    ],
    ids=["A+B->0 2D", "A+B->0 3D", "birth-death-competition 3D"],
)
def test_closures_match_simulations_with_fast_hops_and_slow_reactions(net, shape, counts0, n_steps):
    """hop_prob = 1 and reactions slow against hops (2 nu p of order 1, nu = 25 or
    16.7): the lattice stays near random mixing and both closures follow the ensemble
    mean (200 lattices) within 4 standard errors at every record, the pair
    approximation in counts and pairs. Measured max |z|: pair 1.4 / 2.0 / 1.3 (counts),
    2.1 / 2.3 / 1.2 (pairs); mean field 1.9 / 3.2 / 1.8 (counts)."""
    z = _simulated_and_closed(net, shape, counts0, n_steps=n_steps, n_samples=200, seed=1)
    z_counts, z_pairs = z["pair"]
    assert np.all(np.abs(z_counts) < 4), z_counts
    finite = np.isfinite(z_pairs)  # pair types that never occur have sem 0
    assert np.all(np.abs(z_pairs[finite]) < 4), z_pairs
    assert np.all(np.abs(z["mean field"][0]) < 4), z["mean field"][0]


_AB = dbm.Network([("A + B -> 0", 0.1)])


def _cm_ab(counts=(10.0, 5.0), times=(0.0, 1.0), **kw):
    return cm(_AB, counts, times, **{"dt": 0.01, "shape": (10, 10), **kw})


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: _cm_ab(initial_pairs=np.zeros(2)),
            ValueError,
            r"`initial_pairs` must have shape \(2, 2\).*got \(2,\)",
        ),
        (
            lambda: _cm_ab(counts=[[10.0, 5.0]] * 3, initial_pairs=np.zeros((2, 2))),
            ValueError,
            r"`initial_pairs` must have shape \(3, 2, 2\) \(the leading shape of "
            r"`initial_counts`.*got \(2, 2\)",
        ),
        (
            lambda: _cm_ab(counts=[60.0, 50.0]),
            ValueError,
            "`initial_counts` must sum to at most the 100 sites.*got 110",
        ),
        (lambda: _cm_ab(counts=[np.nan, 5.0]), ValueError, "`initial_counts` must be finite"),
        (lambda: _cm_ab(counts=[np.inf, 5.0]), ValueError, "`initial_counts` must be finite"),
        (lambda: _cm_ab(counts=[-1.0, 5.0]), ValueError, "`initial_counts` must be counts >= 0"),
        (
            lambda: _cm_ab(counts=[1.0, 2.0, 3.0]),
            ValueError,
            r"`initial_counts` must have shape \(..., 2\).*got shape \(3,\)",
        ),
        (lambda: _cm_ab(counts=["1", 5.0]), TypeError, "`initial_counts` must hold real numbers"),
        (
            lambda: _cm_ab(initial_pairs=[[np.nan, 0.0], [0.0, 0.0]]),
            ValueError,
            "`initial_pairs` must be finite",
        ),
        (
            lambda: _cm_ab(initial_pairs=[[-1.0, 0.0], [0.0, 0.0]]),
            ValueError,
            "`initial_pairs` must be pair counts >= 0; got -1",
        ),
        (
            lambda: _cm_ab(initial_pairs=[[1.0, 2.0], [0.0, 0.0]]),
            ValueError,
            "`initial_pairs` must be symmetric.*differ by 2",
        ),
        (
            lambda: _cm_ab(initial_pairs=[[300.0, 0.0], [0.0, 0.0]]),
            ValueError,
            "`initial_pairs` must count at most the 200 bonds.*got 300",
        ),
        (
            lambda: _cm_ab(initial_pairs=[[30.0, 0.0], [0.0, 0.0]]),
            ValueError,
            r"`initial_pairs` and `initial_counts` disagree.*species code 1.*P\(1, empty\)",
        ),
        (
            lambda: _cm_ab(counts=[60.0, 10.0], initial_pairs=np.zeros((2, 2))),
            ValueError,
            r"`initial_pairs` and `initial_counts` disagree.*the empty sites",
        ),
        (
            lambda: _cm_ab(method="kirkwood"),
            ValueError,
            "`method` must be one of 'pair', 'mean field'; got 'kirkwood'",
        ),
        (lambda: _cm_ab(solver="RK45"), ValueError, "`solver` must be one of 'LSODA'.*'RK45'"),
        (lambda: _cm_ab(times=[0.0, np.nan]), ValueError, "`times` must be finite"),
        (lambda: _cm_ab(times=[1.0, 0.0]), ValueError, "`times` must be strictly increasing"),
        (lambda: _cm_ab(times=[]), ValueError, "`times` must be a non-empty 1-D array"),
        (lambda: _cm_ab(dt=0.0), ValueError, "`dt` must be a finite number > 0"),
        (lambda: _cm_ab(hop_prob=2.0), ValueError, r"`hop_prob` must be a probability in \[0, 1\]"),
        (lambda: _cm_ab(rtol=-1.0), ValueError, "`rtol` must be a finite number > 0"),
        (lambda: _cm_ab(boundary="open"), ValueError, "`boundary` must be 'periodic' or"),
        (lambda: _cm_ab(shape=(4, 4, 4, 4)), ValueError, "1, 2 or 3 dimensions"),
        (
            lambda: cm("A + B -> 0", [1.0, 2.0], [0.0, 1.0], dt=0.01, shape=10),
            TypeError,
            "`network` must be a dbmtools Network; got str",
        ),
    ],
)
def test_classical_moments_refuses_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_classical_moments_solvers_and_layout():
    """Leading axes of starts come back in front of (n_times, ...); each start equals its
    own run (the block Jacobian keeps them apart); LSODA, BDF and Radau agree to their
    tolerances; one output time returns the start, with random mixing by default."""
    net = dbm.Network(
        [("0 -> A", 0.3), ("A -> B", 0.7), ("B -> 0", 0.4), ("A -> A + A", 2.0)]
        + [("A + B -> B + B", 0.3), ("B + B -> 0", 0.2)]
    )
    starts = np.array([[[10.0, 5.0], [0.0, 0.0], [30.0, 40.0]], [[50, 10], [1, 1], [70, 29]]])
    t = np.linspace(0, 3, 4)
    for method in METHODS:
        runs = [
            cm(net, starts, t, dt=0.01, shape=(10, 10), method=method, solver=s)
            for s in dbm.theory.SOLVERS
        ]
        assert runs[0].counts.shape == (2, 3, 4, 2) and runs[0].pairs.shape == (2, 3, 4, 2, 2)
        for other in runs[1:]:
            np.testing.assert_allclose(other.counts, runs[0].counts, atol=1e-5)
            np.testing.assert_allclose(other.pairs, runs[0].pairs, atol=1e-5)
        one = cm(net, starts[1, 2], t, dt=0.01, shape=(10, 10), method=method)
        np.testing.assert_allclose(one.counts, runs[0].counts[1, 2], atol=1e-5)
    first = cm(net, [3.0, 4.0], [1.0], dt=0.01, shape=(10, 10))
    assert first.times.tolist() == [1.0] and first.counts.tolist() == [[3.0, 4.0]]
    mixed = dbm.theory.random_mixing_pairs([3.0, 4.0], n_sites=100, n_bonds=200)
    np.testing.assert_allclose(first.pairs[0], mixed)


def test_pair_approximation_fills_the_lattice_and_stops_there():
    """X -> X + X on 30 x 30 (the simulations of the mean-field test above): the pair
    approximation follows the ensemble while it grows (measured |z| <= 1.0 up to
    t = 1.2, 40 lattices) and, with every solver and tolerance, ends on the full
    lattice, 900 particles and 1800 X-X bonds, never above it. Regression: the
    pair equations' Kirkwood ratios P(0, c) / P(0) at P(0) -> 0 once sent Radau to
    1e11 rates or to a lattice 19% overfull."""
    net = dbm.Network([("X -> X + X", 3.0)])
    ens = _birth_ensemble(net, 20, n_steps=300, hop_prob=1.0)
    mean, se = dbm.theory.mean_and_sem(ens.counts()[..., 0])
    res = cm(
        net,
        [20.0],
        ens.times,
        initial_pairs=ens.pair_counts()[:, 0].mean(0),
        dt=0.01,
        shape=(30, 30),
    )
    growing = (ens.times > 0) & (ens.times <= 1.2)
    z = (res.counts[growing, 0] - mean[growing]) / se[growing]
    assert np.all(np.abs(z) < 4), z
    t = np.linspace(0, 6, 9)
    for solver in dbm.theory.SOLVERS:
        for rtol in (1e-4, 1e-6, 1e-10):
            full = cm(net, [20.0], t, dt=0.01, shape=(30, 30), solver=solver, rtol=rtol)
            assert np.all(full.counts <= 900 + 1e-6), (solver, rtol, full.counts.max())
            np.testing.assert_allclose(full.counts[-3:, 0], 900, atol=1e-6)
            np.testing.assert_allclose(full.pairs[-3:, 0, 0], 1800, atol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_reflecting_walls_count_their_bonds(method):
    """Reflecting 8 x 8: 112 bonds, z = 3.5; creation from empty keeps pairs at
    112 rho^2 (the layout of pair_counts(boundary="reflecting"))."""
    t = np.linspace(0, 2, 3)
    res = cm(
        dbm.Network([("0 -> A", 0.5)]),
        [0.0],
        t,
        dt=0.01,
        shape=(8, 8),
        boundary="reflecting",
        method=method,
    )
    rho = 1 - np.exp(-0.5 * t)
    assert (res.n_sites, res.n_bonds, res.coordination) == (64, 112, 3.5)
    np.testing.assert_allclose(res.counts[:, 0], 64 * rho, rtol=1e-6)
    np.testing.assert_allclose(res.pairs[:, 0, 0], 112 * rho**2, rtol=1e-6, atol=1e-9)


def test_a_failed_integration_raises_naming_the_solver(monkeypatch):
    from types import SimpleNamespace

    import scipy.integrate

    def failing(fun, t_span, y0, **kw):
        return SimpleNamespace(success=False, message="boom.", t=np.array([0.0, 0.3]), y=None)

    monkeypatch.setattr(scipy.integrate, "solve_ivp", failing)
    with pytest.raises(
        RuntimeError,
        match=r"solver='BDF' \(reached t = 0.3 of 1\): boom. Try "
        r"solver='LSODA' or 'Radau'",
    ):
        _cm_ab(solver="BDF")


@pytest.mark.parametrize("boundary", ["periodic", "reflecting"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4)])
def test_pairs_measured_on_real_lattices_are_accepted_and_returned(shape, boundary):
    """Counts and pairs measured on random lattices, from sparse to full, pass the
    checks and come back unchanged at times[0]. Regression: the bond count summed
    both triangles of pair_counts' layout, so a lattice with many unlike pairs was
    refused as having more pairs than bonds."""
    net = dbm.rossler()
    n_sites = int(np.prod(shape))
    rng = np.random.default_rng(5)
    for fill in (0.3, 0.8, 1.0):
        mix = rng.multinomial(round(fill * n_sites), [1 / 3] * 3)
        states = np.stack([dbm.random_state(shape, counts=mix, seed=[5, k]) for k in range(4)])
        counts = np.stack(
            [(states == c).sum(axis=tuple(range(1, states.ndim))) for c in (1, 2, 3)], -1
        )
        pairs = dbm.pair_counts(states, dim=len(shape), n_species=3, boundary=boundary)
        res = cm(net, counts, [0.0], initial_pairs=pairs, dt=0.01, shape=shape, boundary=boundary)
        np.testing.assert_allclose(res.counts[:, 0], counts, rtol=1e-12)
        np.testing.assert_allclose(res.pairs[:, 0], pairs, rtol=1e-12, atol=1e-12)

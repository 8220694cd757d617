"""Exact and approximate results to check simulations against.

For one-dimensional annihilation ``A + A -> 0`` with hop rate ``nu`` per
neighbour (:func:`~dbmtools.hop_rate`) and reaction probability ``p`` per
collision, started from a random (Bernoulli) lattice of density ``rho0``:

* ``p = 1`` and ``rho0 = 1/2`` (diffusion-limited): the exact density
  ``rho(t) = 1/2 e^{-4 nu t} [I0(4 nu t) + I1(4 nu t)]`` (Lushnikov 1987;
  ben-Avraham & Havlin 2000), tending to ``1 / sqrt(8 pi nu t)``;
* small ``p`` (reaction-limited): mean-field kinetics. A particle hops onto an
  occupied site at rate ``2 nu rho``, reacts with probability ``p`` and removes
  two particles, so ``d rho/dt = -4 nu p rho^2`` and
  ``rho(t) = rho0 / (1 + 4 nu p rho0 t)``.

The two regimes cross over near ``t* = pi / (2 nu p^2)``, where the
reaction-limited ``1 / (4 nu p t)`` meets the diffusion-limited
``1 / sqrt(8 pi nu t)``.

Beyond 1D annihilation:

* the mean-field (well-mixed) ODE of any lattice network, with volume
  exclusion in its births and creations, and eq. (43) with measured pair
  counts (:func:`solve_mean_field`, :func:`moment_rhs`, :func:`fit_pair_rates`);
* the classical closures of any network of the supported reaction kinds in
  1-3D, mean field and the pair approximation, for many starts at once
  (:func:`classical_moments`);
* the classical closures of the 1D moment hierarchy (36), mean field and the
  pair (Kirkwood) approximation (:func:`classical_closure`,
  :func:`pair_approximation`), the check of its second line on simulations
  (:func:`check_pair_line`), and the error measure of Fig. 3(c)
  (:func:`closure_rmse`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ive

from ._checks import check_choice, check_int, check_positive, check_probability
from .reactions import Network

__all__ = [
    "annihilation_density_exact",
    "annihilation_density_reaction_limited",
    "annihilation_density_asymptotic",
    "annihilation_crossover_time",
    "mean_and_sem",
    "mean_field_rates",
    "mean_field_rhs",
    "moment_rhs",
    "random_mixing_pairs",
    "fit_pair_rates",
    "solve_mean_field",
    "closure_rmse",
    "check_pair_line",
    "pair_approximation",
    "classical_closure",
    "CLOSURES",
    "SOLVERS",
    "ClassicalMoments",
    "classical_moments",
]


def annihilation_density_exact(t: np.ndarray, nu: float) -> np.ndarray:
    """Exact density of 1D ``A + A -> 0`` with ``p = 1`` from a half-filled random lattice.

    Parameters
    ----------
    t : array_like
        Times (>= 0).
    nu : float
        Hop rate per neighbour.

    Examples
    --------
    >>> round(float(annihilation_density_exact(2.0, 50.0)), 5)
    0.01994
    """
    x = 4.0 * check_positive("nu", nu) * _check_times(t)
    return 0.5 * (ive(0, x) + ive(1, x))  # ive(n, x) = e^{-x} I_n(x), stable for large x


def annihilation_density_reaction_limited(
    t: np.ndarray, nu: float, prob: float, rho0: float = 0.5
) -> np.ndarray:
    """Mean-field (reaction-limited) density ``rho0 / (1 + 4 nu p rho0 t)``.

    Examples
    --------
    >>> float(annihilation_density_reaction_limited(1.0, 50.0, 0.01))
    0.25
    """
    nu, prob = check_positive("nu", nu), check_probability("prob", prob)
    rho0 = check_probability("rho0", rho0)
    return rho0 / (1.0 + 4.0 * nu * prob * rho0 * _check_times(t))


def annihilation_density_asymptotic(t: np.ndarray, nu: float) -> np.ndarray:
    """Late-time diffusion-limited density ``1 / sqrt(8 pi nu t)``, for times ``t > 0``.

    Examples
    --------
    >>> round(float(annihilation_density_asymptotic(2.0, 50.0)), 5)
    0.01995
    """
    return 1.0 / np.sqrt(8.0 * np.pi * check_positive("nu", nu) * _check_times(t, positive=True))


def annihilation_crossover_time(nu: float, prob: float) -> float:
    """Time ``pi / (2 nu p^2)`` where the reaction- and diffusion-limited laws meet.

    Examples
    --------
    >>> round(annihilation_crossover_time(50.0, 0.01), 1)
    314.2
    >>> annihilation_crossover_time(50.0, 0.0)   # no reactions: the crossover never comes
    inf
    """
    nu, prob = check_positive("nu", nu), check_probability("prob", prob)
    if prob == 0.0:
        return math.inf  # the reaction-limited decay never starts: t* -> inf as p -> 0
    return float(np.pi / (2.0 * nu * prob**2))


def _check_times(t, name: str = "t", *, positive: bool = False) -> np.ndarray:
    """``t`` as float64, refusing strings, bools, NaN/inf and negative (or zero) times."""
    raw = np.asarray(t)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"`{name}` must be real numbers; got {t!r}.")
    arr = raw.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got {t!r}.")
    if arr.size and (arr.min() <= 0 if positive else arr.min() < 0):
        rule = "> 0" if positive else ">= 0"
        raise ValueError(f"`{name}` must be times {rule}; got {arr.min()}.")
    return arr


def _check_output_times(times) -> np.ndarray:
    """``times`` as float64: 1-D, non-empty, finite, >= 0 and strictly increasing."""
    t = _check_times(times, "times")
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"`times` must be a non-empty 1-D array; got shape {t.shape}.")
    if np.any(np.diff(t) <= 0):
        i = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise ValueError(
            f"`times` must be strictly increasing; got times[{i}] = {t[i]:g} followed by "
            f"{t[i + 1]:g}."
        )
    return t


def _real_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 array of real numbers (bools, strings, objects refused)."""
    raw = np.asarray(value)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"`{name}` must hold real numbers; got dtype {raw.dtype} ({value!r}).")
    arr = raw.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got NaN or inf in {arr.tolist()!r}.")
    return arr


def _check_counts(name: str, value, n_species: int, n_sites: int) -> np.ndarray:
    """Mean counts (..., n_species): finite, >= 0, at most ``n_sites`` in all."""
    arr = _real_array(name, value)
    if arr.ndim < 1 or arr.shape[-1] != n_species:
        raise ValueError(
            f"`{name}` must have shape (..., {n_species}), one count per species of the "
            f"network; got shape {arr.shape}."
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"`{name}` must be counts >= 0; got {arr.min():g}.")
    total = arr.sum(-1)
    if total.size and total.max() > n_sites * (1 + 1e-12):
        raise ValueError(
            f"`{name}` must sum to at most the {n_sites} sites of the lattice (one particle a "
            f"site); got {total.max():g}."
        )
    return arr


def mean_and_sem(samples: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and its standard error ``std(ddof=1) / sqrt(n)`` along ``axis``.

    Examples
    --------
    >>> m, se = mean_and_sem(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> float(m), round(float(se), 4)
    (2.5, 0.6455)
    """
    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"`samples` needs at least 2 entries along axis {axis}; got {n}.")
    return x.mean(axis=axis), x.std(axis=axis, ddof=1) / np.sqrt(n)


# --------------------------------------------------------------------------
# Mean-field (well-mixed) kinetics of a lattice network
# --------------------------------------------------------------------------


def mean_field_rates(
    network: Network, *, dt: float, dim: int, hop_prob: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Rate constants of the mean-field ODE of a lattice network.

    A particle hops towards each neighbour at rate ``nu = hop_prob / (2 dim dt)``,
    so a bond holding an ``X`` and a ``Y`` collides at rate ``2 nu`` (either
    particle can hop onto the other) and reacts through reaction ``r`` with the
    probability that ``r`` is the first success among the pair's reactions,
    ``p_r prod_{r' < r} (1 - p_r')`` (the simulator's rule). Hence the
    bimolecular rate per bond, the paper's ``kappa`` of eq. (43), is
    ``kappa_r = 2 nu p_r prod (1 - p_r')``. A creation ``0 -> X`` keeps its
    rate ``c`` per empty site.

    Returns
    -------
    rates : ndarray, shape (n_reactions,)
        ``k_r`` for unimolecular reactions (per molecule), ``c_r`` for
        creations (per empty site), ``kappa_r`` for bimolecular ones (per
        bond), in network order.
    stoichiometry : ndarray of int, shape (n_reactions, n_species)
        Net change of each species' count per event.

    Examples
    --------
    >>> from dbmtools import annihilation
    >>> rates, stoich = mean_field_rates(annihilation(0.01), dt=0.01, dim=1)
    >>> float(rates[0]), stoich.tolist()
    (1.0, [[-2]])
    """
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a dbmtools Network; got {type(network).__name__}.")
    dt, dim = check_positive("dt", dt), check_int("dim", dim, 1, 3)
    nu = check_probability("hop_prob", hop_prob) / (2.0 * dim * dt)
    n_r = len(network.reactions)
    rates = np.empty(n_r)
    stoich = np.zeros((n_r, network.n_species), dtype=np.int64)
    fail = {}  # per unordered reactant pair: product of (1 - p) of earlier reactions
    for r, reaction in enumerate(network.reactions):
        for s in reaction.reactants:
            stoich[r, network.code(s) - 1] -= 1
        for s in reaction.products:
            stoich[r, network.code(s) - 1] += 1
        if reaction.rate is not None:
            rates[r] = reaction.rate
        else:
            key = tuple(sorted(reaction.reactants))
            before = fail.get(key, 1.0)
            rates[r] = 2.0 * nu * reaction.prob * before
            fail[key] = before * (1.0 - reaction.prob)
    return rates, stoich


def _eligible(empty, n_parents, z):
    """``1 - (1 - p)^(z max(n, 1))``: the chance that some of ``n`` parents has one
    of its ``z`` neighbours empty, each empty with probability ``p`` (broadcasts)."""
    # p > 1 only when an integrator overshoots to negative counts: read as an empty
    # lattice (every parent has room). p < 0 (overfull) continues smoothly to a
    # negative factor that pushes the lattice back; no clamp there.
    p = np.minimum(empty, 1.0)
    safe = np.where(p == 1.0, 0.5, p)
    return np.where(p == 1.0, 1.0, -np.expm1(z * np.maximum(n_parents, 1.0) * np.log1p(-safe)))


def mean_field_rhs(
    network: Network, *, dt: float, dim: int, n_sites: int, n_bonds: int, hop_prob: float = 1.0
):
    """The well-mixed ODE ``d mu / dt = f(mu)`` for the mean counts ``mu`` of a network.

    Each decay or conversion fires at ``k mu_X``, each creation at ``c`` times
    the number of empty sites ``n_sites - sum(mu)``, and each bimolecular
    reaction at ``kappa Delta_XY``, with the pair counts closed at mean field:
    particles placed independently at densities ``mu / n_sites`` give
    ``Delta_XX = n_bonds (mu_X / n_sites)^2`` and
    ``Delta_XY = 2 n_bonds (mu_X / n_sites)(mu_Y / n_sites)`` for ``X != Y``.
    For the Rössler network this is eq. (43) with that closure: the
    Willamowski–Rössler ODE, with volume exclusion in the births.

    A birth ``X -> X + X`` fires at ``k mu_X (1 - (1 - P(0))^(z max(mu_X, 1)))``,
    the simulator's rule in a well-mixed lattice (Notes), with
    ``P(0) = 1 - sum(mu) / n_sites`` and the coordination ``z = 2 n_bonds / n_sites``.

    Returns
    -------
    callable
        ``rhs(t, mu)`` for :func:`scipy.integrate.solve_ivp`; ``mu`` of shape
        ``(..., n_species)``.

    Notes
    -----
    The simulator (:mod:`dbmtools.simulate`) draws births with propensity
    ``k N_X`` and gives each to a parent chosen uniformly among the ``X`` that
    have an empty neighbour; the event is dropped only when no ``X`` has one.
    So the birth rate is ``k N_X Pr(some X has an empty neighbour)``. In a
    well-mixed lattice each of the ``z N_X`` neighbour slots of the ``X`` is
    empty independently with probability ``P(0)``, so
    ``Pr(no X has an empty neighbour) = (1 - P(0))^(z N_X)`` and the birth rate
    is ``k N_X [1 - (1 - P(0))^(z N_X)]``: ``k N_X`` until the lattice is all
    but full (fewer than about ``1 / z`` empty sites), then it stops. The
    exponent uses ``max(N_X, 1)``: a mean count below one stands for a single
    ``X`` present in that fraction of the lattices. The textbook rule, where
    each ``X`` picks one neighbour and the birth fails if it is occupied
    (the contact process), would give ``k N_X P(0)``, the logistic law; it is
    not the simulator's (``tests/test_theory.py`` measures the difference).

    Examples
    --------
    >>> from dbmtools import annihilation
    >>> f = mean_field_rhs(annihilation(0.01), dt=0.01, dim=1, n_sites=1000, n_bonds=1000)
    >>> float(f(0.0, np.array([500.0]))[0])   # -4 nu p rho^2 L with nu = 50, rho = 1/2
    -500.0
    >>> from dbmtools import Network
    >>> g = mean_field_rhs(Network([("X -> X + X", 1.0)]), dt=0.01, dim=2, n_sites=100,
    ...                    n_bonds=200)
    >>> [round(float(g(0.0, np.array([n]))[0]), 3) for n in (50.0, 99.0, 99.9, 100.0)]
    [50.0, 97.15, 32.922, 0.0]
    """
    rates, stoich = mean_field_rates(network, dt=dt, dim=dim, hop_prob=hop_prob)
    n_sites, n_bonds = check_int("n_sites", n_sites, 1), check_int("n_bonds", n_bonds, 0)
    z = 2.0 * n_bonds / n_sites
    births = [r for r, reaction in enumerate(network.reactions) if reaction.kind == "birth"]
    parents = [network.code(network.reactions[r].reactants[0]) - 1 for r in births]

    def rhs(t: float, mu: np.ndarray) -> np.ndarray:
        mu = np.asarray(mu, dtype=np.float64)
        pairs = random_mixing_pairs(mu, n_sites=n_sites, n_bonds=n_bonds)
        base = _propensity_bases(network, mu, pairs, n_sites=n_sites)
        if births:
            empty = 1.0 - mu.sum(-1, keepdims=True) / n_sites
            base[..., births] *= _eligible(empty, mu[..., parents], z)
        return (rates * base) @ stoich

    return rhs


def random_mixing_pairs(counts: np.ndarray, *, n_sites: int, n_bonds: int) -> np.ndarray:
    """Pair counts of particles placed independently at densities ``counts / n_sites``.

    ``Delta_XX = n_bonds rho_X^2`` and ``Delta_XY = 2 n_bonds rho_X rho_Y``
    (X != Y), in the layout of :func:`dbmtools.pair_counts`: the closure of
    eq. (43) that gives the mean-field ODE.

    Parameters
    ----------
    counts : array_like, shape (..., n_species)
    n_sites, n_bonds : int
        Sites and nearest-neighbour bonds of the lattice (see
        :func:`dbmtools.bond_table`).

    Returns
    -------
    ndarray, shape (..., n_species, n_species)

    Examples
    --------
    >>> random_mixing_pairs([500.0, 250.0], n_sites=1000, n_bonds=1000).tolist()
    [[250.0, 250.0], [250.0, 62.5]]
    """
    n_sites, n_bonds = check_int("n_sites", n_sites, 1), check_int("n_bonds", n_bonds, 0)
    rho = np.asarray(counts, dtype=np.float64) / n_sites
    n = rho.shape[-1]
    return n_bonds * rho[..., :, None] * rho[..., None, :] * (2 - np.eye(n))


def moment_rhs(
    network: Network,
    counts: np.ndarray,
    pairs: np.ndarray,
    *,
    dt: float,
    dim: int,
    hop_prob: float = 1.0,
    n_sites: int | None = None,
) -> np.ndarray:
    """The right-hand side of eq. (43): ``d mu / dt`` from counts and nearest-neighbour pairs.

    Unimolecular reaction ``r`` fires at ``k_r mu_X``, a creation at ``c_r``
    times the number of empty sites ``n_sites - sum(mu)``, a bimolecular one at
    ``kappa_r Delta_XY`` (:func:`mean_field_rates`). With the *measured* pair
    counts this is the first line of the moment hierarchy, no closure made;
    :func:`mean_field_rhs` closes it by random mixing. A birth fires at
    ``k mu_X``, exactly the simulator's rate as long as some ``X`` has an empty
    neighbour (:func:`mean_field_rhs` adds the factor for a full lattice).

    Parameters
    ----------
    network : Network
    counts : array_like, shape (..., n_species)
        Mean counts ``mu``.
    pairs : array_like, shape (..., n_species, n_species)
        Mean pair counts as :func:`dbmtools.pair_counts` returns them:
        ``[a, a]`` bonds joining two of species ``a + 1``, ``[a, b]`` bonds
        joining one of each.
    dt, dim, hop_prob
        As in :func:`mean_field_rates`.
    n_sites : int, optional
        Sites of the lattice; required when the network has a creation.

    Returns
    -------
    ndarray, shape (..., n_species)

    Examples
    --------
    >>> from dbmtools import Network, annihilation
    >>> float(moment_rhs(annihilation(0.01), [500.0], [[120.0]], dt=0.01, dim=1)[0])
    -240.0
    >>> net = Network([("0 -> A", 0.5), ("A + A -> 0", 0.01)])
    >>> float(moment_rhs(net, [500.0], [[120.0]], dt=0.01, dim=1, n_sites=1000)[0])
    10.0
    """
    rates, stoich = mean_field_rates(network, dt=dt, dim=dim, hop_prob=hop_prob)
    return (rates * _propensity_bases(network, counts, pairs, n_sites=n_sites)) @ stoich


def _propensity_bases(network: Network, counts, pairs, *, n_sites: int | None = None) -> np.ndarray:
    """Per reaction: the number of empty sites (creation), the count of its reactant
    (unimolecular) or its pair count (bimolecular)."""
    if any(r.kind == "creation" for r in network.reactions):
        if n_sites is None:
            raise ValueError(
                "This network has a creation `0 -> X`, whose rate is per empty site: give "
                "`n_sites` (the number of lattice sites); got None."
            )
        n_sites = check_int("n_sites", n_sites, 1)
    c = np.asarray(counts, dtype=np.float64)
    p = np.asarray(pairs, dtype=np.float64)
    n = network.n_species
    if c.shape[-1:] != (n,) or p.shape[-2:] != (n, n) or p.shape[:-2] != c.shape[:-1]:
        raise ValueError(
            f"`counts` must end in {n} species and `pairs` in ({n}, {n}) with the same leading "
            f"shape; got {c.shape} and {p.shape}."
        )
    base = np.empty((*c.shape[:-1], len(network.reactions)))
    for r, reaction in enumerate(network.reactions):
        if reaction.kind == "creation":
            base[..., r] = n_sites - c.sum(-1)
            continue
        a = network.code(reaction.reactants[0]) - 1
        if len(reaction.reactants) == 1:
            base[..., r] = c[..., a]
        else:
            base[..., r] = p[..., a, network.code(reaction.reactants[1]) - 1]
    return base


def fit_pair_rates(
    network: Network,
    counts: np.ndarray,
    pairs: np.ndarray,
    *,
    dt: float,
    dim: int,
    hop_prob: float = 1.0,
    n_sites: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares ``kappa_r`` of eq. (43) from measured mean counts and pairs over time.

    Regresses ``d mu / dt`` (central differences of ``counts`` recorded every
    ``dt``) minus the unimolecular and creation terms on the measured pair counts: one
    unknown rate per bimolecular reaction, all species' equations at once.
    A test of how well eq. (43) with ``kappa = 2 nu p`` (:func:`mean_field_rates`)
    describes a simulation, given its real pair counts.

    Parameters
    ----------
    network : Network
    counts : array_like, shape (n_times, n_species)
    pairs : array_like, shape (n_times, n_species, n_species)
        As :func:`dbmtools.pair_counts` returns them (ensemble means).
    dt, dim, hop_prob
        As in :func:`mean_field_rates`.
    n_sites : int, optional
        Sites of the lattice; required when the network has a creation.

    Returns
    -------
    kappa_fit, kappa_theory : ndarray, shape (n_bimolecular,)
        Fitted and :func:`mean_field_rates` rates, bimolecular reactions in
        network order.
    residual : ndarray, shape (2,)
        Relative RMS residual ``|d mu/dt - rhs| / |d mu/dt|`` with the theory
        rates and with the fitted ones.

    Examples
    --------
    >>> from dbmtools import Network
    >>> net = Network([("A -> A + A", 2.0), ("A + A -> A", 0.3)])
    >>> t = np.linspace(0, 1, 201)
    >>> mu = 50 * np.exp(t)[:, None]                 # d mu/dt = 2 mu - kappa * pairs
    >>> pairs = (mu / 4)[:, :, None]                  # so kappa = 4 fits exactly
    >>> fit, theory, res = fit_pair_rates(net, mu, pairs, dt=0.005, dim=1)
    >>> round(float(fit[0]), 3), bool(res[1] < 1e-3)
    (4.0, True)
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] < 3:
        raise ValueError(f"`counts` must have shape (n_times >= 3, n_species); got {c.shape}.")
    rates, stoich = mean_field_rates(network, dt=dt, dim=dim, hop_prob=hop_prob)
    base = _propensity_bases(network, c, pairs, n_sites=n_sites)[1:-1]
    bi = np.array([len(r.reactants) == 2 for r in network.reactions])
    dmu = (c[2:] - c[:-2]) / (2 * dt)
    target = (dmu - (np.where(bi, 0.0, rates) * base) @ stoich).ravel()
    design = np.stack([np.outer(base[:, r], stoich[r]).ravel() for r in np.flatnonzero(bi)], 1)
    fit = np.linalg.lstsq(design, target, rcond=None)[0]
    norm = np.sqrt(np.mean(dmu**2)) or 1.0
    residual = np.array([np.sqrt(np.mean((target - design @ k) ** 2)) for k in (rates[bi], fit)])
    return fit, rates[bi], residual / norm


def solve_mean_field(
    network: Network,
    counts0: np.ndarray,
    times: np.ndarray,
    *,
    dt: float,
    shape: tuple[int, ...],
    boundary: str = "periodic",
    hop_prob: float = 1.0,
) -> np.ndarray:
    """Integrate :func:`mean_field_rhs` for a lattice of the given shape and boundary.

    Births need an empty neighbour (the simulator's rule, :func:`mean_field_rhs`),
    so the total count stays below the number of sites. For many starts at once,
    and for the pair approximation, see :func:`classical_moments`.

    Parameters
    ----------
    network : Network
    counts0 : array_like, shape (n_species,)
        Initial counts: finite, >= 0, summing to at most the number of sites.
    times : array_like, shape (n_times,)
        Increasing output times, starting at 0.
    dt, hop_prob : float
        The simulator's timestep and hop probability (they set the collision rate).
    shape : tuple of int
        Lattice shape (sets the numbers of sites and bonds).
    boundary : {"periodic", "reflecting"}

    Returns
    -------
    ndarray, shape (n_times, n_species)

    Examples
    --------
    >>> from dbmtools import annihilation
    >>> t = np.array([0.0, 1.0, 2.0])
    >>> mu = solve_mean_field(annihilation(0.01), [500.0], t, dt=0.01, shape=(1000,))
    >>> (mu[:, 0] / 1000).round(4).tolist()   # rho0 / (1 + 4 nu p rho0 t)
    [0.5, 0.25, 0.1667]
    >>> from dbmtools import Network
    >>> births = solve_mean_field(Network([("X -> X + X", 3.0)]), [20.0], [0.0, 1.0, 3.0],
    ...                           dt=0.01, shape=(30, 30))
    >>> births[:, 0].round(1).tolist()   # 20 e^{3t}, until all but a fraction of a site is full
    [20.0, 401.7, 900.0]
    """
    from scipy.integrate import solve_ivp

    from .lattice import bond_table, check_shape

    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a dbmtools Network; got {type(network).__name__}.")
    shape = check_shape(shape)
    n_sites = int(np.prod(shape))
    n_bonds = int((bond_table(shape, boundary) >= 0).sum())
    counts0 = _check_counts("counts0", counts0, network.n_species, n_sites)
    if counts0.ndim != 1:
        raise ValueError(
            f"`counts0` must have shape ({network.n_species},), one start (for many, use "
            f"classical_moments); got {counts0.shape}."
        )
    rhs = mean_field_rhs(
        network, dt=dt, dim=len(shape), n_sites=n_sites, n_bonds=n_bonds, hop_prob=hop_prob
    )
    times = _check_output_times(times)
    sol = solve_ivp(
        rhs,
        (times[0], times[-1]),
        counts0,
        t_eval=times,
        method="LSODA",
        rtol=1e-8,
        atol=1e-8,
    )
    if not sol.success:
        raise RuntimeError(f"The mean-field ODE did not integrate: {sol.message}")
    return sol.y.T


# --------------------------------------------------------------------------
# Closures of the 1D moment hierarchy (36): mean field and the pair (Kirkwood)
# approximation, the check of its second line, and the error measure of Fig. 3(c)
# --------------------------------------------------------------------------


def closure_rmse(model_moments: np.ndarray, data_moments: np.ndarray) -> np.ndarray:
    """Root-mean-square error over conditions, ``sqrt(<(mu - mu~)^2>)`` (Fig. 3c).

    Parameters
    ----------
    model_moments, data_moments : array_like, shape (n_conditions, n_times, ...)

    Returns
    -------
    ndarray, shape (n_times, ...)

    Examples
    --------
    >>> closure_rmse(np.zeros((2, 1)), np.array([[3.0], [4.0]])).round(3).tolist()
    [3.536]
    """
    a = np.asarray(model_moments, dtype=np.float64)
    b = np.asarray(data_moments, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"`model_moments` {a.shape} and `data_moments` {b.shape} differ.")
    return np.sqrt(np.mean((a - b) ** 2, axis=0))


def check_pair_line(
    hm: np.ndarray, dt: float, k_r: float, *, start: int = 1, stop: int = 5
) -> dict:
    """Fit the hop rate ``D`` of the second line of (36) to simulated moments, two ways.

    With ``y = d<sum v_i v_{i+1}>/dt + 2 k_r <sum v_i v_{i+1} v_{i+2}>`` (forward
    differences over data steps ``start..stop``, moments at the step start),
    least squares of ``y = 2 D (<sum v_i v_{i+2}> - <sum v_i v_{i+1}>) + s k_r
    <sum v_i v_{i+1}>`` for ``s = +1`` (the paper's ``(k_r - 2D)``) and ``s = -1``
    (``-(k_r + 2D)``: the pair itself reacts at rate ``k_r``).

    Parameters
    ----------
    hm : ndarray, shape (n_conditions, n_times, 4)
        Output of :func:`dbmtools.annihilation1d.hierarchy_moments`.

    Returns
    -------
    dict
        ``"paper"`` and ``"derived"``: each ``{"D": fitted D, "residual": RMS
        residual, "rms": RMS of y}`` (same units as ``y``).
    """
    hm = np.asarray(hm, dtype=np.float64)
    dq = (hm[:, start + 1 : stop + 1, 1] - hm[:, start:stop, 1]) / dt
    x0 = hm[:, start:stop]
    x = (2 * (x0[..., 2] - x0[..., 1])).ravel()
    out = {}
    for name, sign in (("paper", 1.0), ("derived", -1.0)):
        y = (dq + 2 * k_r * x0[..., 3] - sign * k_r * x0[..., 1]).ravel()
        D = float(x @ y / (x @ x))
        out[name] = {
            "D": D,
            "residual": float(np.sqrt(np.mean((y - D * x) ** 2))),
            "rms": float(np.sqrt(np.mean(y**2))),
        }
    return out


def pair_approximation(density, pair):
    """Moments of a Markov chain along the lattice with given ``<v_i>`` and ``<v_i v_{i+1}>``.

    The pair (Kirkwood) approximation: with ``P(1) = rho``, ``P(1,1) = q``,
    ``P(1,0) = P(0,1) = rho - q``, ``P(0) = 1 - rho``,

    * ``<v_i v_{i+2}> = sum_m P(1,m) P(m,1) / P(m) = q^2/rho + (rho-q)^2/(1-rho)``,
    * ``<v_i v_{i+1} v_{i+2}> = q^2 / rho``,
    * ``<v_i v_{i+1} v_{i+2} v_{i+3}> = q^3 / rho^2``.

    Exact for a stationary nearest-neighbour chain (eq. 37 with ``K = 0``).

    Returns
    -------
    tuple of ndarray
        ``(<v_i v_{i+2}>, <v_i v_{i+1} v_{i+2}>, <v_i ... v_{i+3}>)`` per site.

    Examples
    --------
    >>> [round(float(m), 4) for m in pair_approximation(0.5, 0.25)]  # independent sites
    [0.25, 0.125, 0.0625]
    """
    rho = np.asarray(density, dtype=np.float64)
    q = np.asarray(pair, dtype=np.float64)
    return q**2 / rho + (rho - q) ** 2 / (1 - rho), q**2 / rho, q**3 / rho**2


def classical_closure(
    initial_moments,
    n_sites: int,
    times,
    *,
    k_r: float,
    D: float,
    method: str = "pair",
    pair_sign: float = -1.0,
    max_step: float = 1e-3,
) -> np.ndarray:
    """Integrate the first two lines of (36) closed by mean field or the pair approximation.

    Per site, ``rho = <v_i>`` and ``q = <v_i v_{i+1}>``:

    * ``method="mean field"``: uncorrelated sites, ``q = rho^2``, so ``d rho/dt
      = -2 k_r rho^2`` and every chain moment is ``rho^k``;
    * ``method="pair"``: ``d rho/dt = -2 k_r q``, ``dq/dt = 2 D <v_i v_{i+2}> -
      2 k_r <v_i v_{i+1} v_{i+2}> + (pair_sign k_r - 2 D) q`` with the unknown
      moments from :func:`pair_approximation`; order 4 is ``q^3/rho^2``.
      ``pair_sign = +1`` is the paper's (36); ``-1`` (default) is what the
      simulations show (:func:`check_pair_line`).

    Forward Euler with steps of at most ``max_step`` (the pair line relaxes at
    rate about ``2 D + k_r``: keep ``max_step`` well below ``1 / (2 D)``);
    ``times`` must start at 0 and be evenly spaced.

    Parameters
    ----------
    initial_moments : array_like, shape (n, >= 2)
        Raw sums ``<sum v_i>``, ``<sum v_i v_{i+1}>`` at t = 0 (open chain).
    n_sites : int
    times : array_like, shape (n_times,)

    Returns
    -------
    ndarray, shape (n, n_times, 4)
        Raw open-chain sums of orders 1-4, ``(L - k + 1) m_k``.

    Examples
    --------
    >>> m = classical_closure([[50.0, 24.75]], 100, [0.0, 1.0], k_r=0.5, D=0.0,
    ...                       method="mean field", max_step=1e-3)
    >>> round(float(m[0, 1, 0] / 100), 3)  # rho0 / (1 + 2 k_r rho0 t) = 0.5 / 1.5
    0.333
    """
    if method not in ("pair", "mean field"):
        raise ValueError(f"`method` must be 'pair' or 'mean field'; got {method!r}.")
    m0 = np.atleast_2d(np.asarray(initial_moments, dtype=np.float64))
    t = np.asarray(times, dtype=np.float64)
    L = int(n_sites)
    if t[0] != 0 or (len(t) > 1 and not np.allclose(np.diff(t), t[1] - t[0])):
        raise ValueError("`times` must start at 0 and be evenly spaced.")
    rho = m0[:, 0] / L
    q = m0[:, 1] / (L - 1) if method == "pair" else rho**2
    n_substeps = int(np.ceil((t[1] - t[0]) / max_step - 1e-9)) if len(t) > 1 else 0
    h = (t[1] - t[0]) / n_substeps if len(t) > 1 else 0.0
    out = np.empty((m0.shape[0], len(t), 4))
    for n in range(len(t)):
        if n > 0:
            for _ in range(n_substeps):
                if method == "mean field":
                    rho = rho - h * 2 * k_r * rho**2
                    q = rho**2
                else:
                    s2, t3, _ = pair_approximation(rho, q)
                    dq = 2 * D * s2 - 2 * k_r * t3 + (pair_sign * k_r - 2 * D) * q
                    rho, q = rho - h * 2 * k_r * q, q + h * dq
        if method == "mean field":
            per_site = np.stack([rho, rho**2, rho**3, rho**4], axis=-1)
        else:
            _, t3, t4 = pair_approximation(rho, q)
            per_site = np.stack([rho, q, t3, t4], axis=-1)
        out[:, n] = per_site * (L - np.arange(4))
    return out


# --------------------------------------------------------------------------
# Classical closures of any network in 1-3D: mean field with volume exclusion
# and the pair approximation, as tensor contractions over many starts at once
# --------------------------------------------------------------------------


def _eligible_over_p(p, n_parents, z):
    """``(1 - (1 - p)^m) / p`` with ``m = z max(n, 1)``: :func:`_eligible` over ``p``.

    ``m`` at ``p = 0`` and 1 for ``p >= 1`` (past an empty lattice, as in
    :func:`_eligible`). Below 0, an integrator's overshoot past a full lattice,
    it continues by its tangent at 0, ``m + m (m - 1) |p| / 2``: the birth flux
    stays restoring and grows linearly, where the power would grow as
    ``e^(m |p|)`` (rates of 1e11 at ``p = -0.005`` on a 30 x 30 lattice, which
    stopped Radau). This is a continuation outside the domain, not a clamp: for
    ``p`` in ``[0, 1]`` the value is exact.
    """
    m = z * np.maximum(n_parents, 1.0)
    inside = (p > 0.0) & (p < 1.0)
    safe = np.where(inside, p, 0.5)  # any p in (0, 1); the others take the branches below
    ratio = -np.expm1(m * np.log1p(-safe)) / safe
    tangent = m - 0.5 * m * (m - 1.0) * np.minimum(p, 0.0)
    return np.where(inside, ratio, np.where(p >= 1.0, 1.0, tangent))


@dataclass(frozen=True)
class _EventTables:
    """A network's events on a lattice, built once (``K = n_species + 1`` states).

    ``site[x, y]``: rate of a site event ``x -> y`` (decay, conversion,
    creation), rows summing to 0. ``bond[x, y, x', y']``: rate of the
    constant-rate events on a bond, in both directions (``T[x, y, x', y'] +
    T[y, x, y', x']`` with ``T`` for mover on the first site): hops into an empty
    site and collisions, no-ops left out; ``bond_flat`` is it as a
    ``(K^2, K^2)`` matrix, ``bond_out[x, y]`` its total rate out of ``(x, y)``.
    ``bond_site[x, c, y] = sum_d bond[x, c, y, d]``: the rate at which a bond
    ``(x, c)`` turns its first site into ``y``; ``bond_site_t`` is it as
    ``[c, x, y]`` flattened to ``(K, K^2)``. ``birth_species``, ``birth_rate``:
    the births ``X -> X + X``, whose rate per bond depends on the state.
    """

    site: np.ndarray
    bond_flat: np.ndarray
    bond_out: np.ndarray
    bond_site: np.ndarray
    bond_site_t: np.ndarray
    birth_species: tuple[int, ...]
    birth_rate: tuple[float, ...]

    @classmethod
    def from_network(cls, network: Network, nu: float) -> _EventTables:
        k = network.n_species + 1
        site = np.zeros((k, k))
        directed = np.zeros((k, k, k, k))
        directed[np.arange(1, k), 0, 0, np.arange(1, k)] = nu  # (a, 0) -> (0, a)
        births, birth_rate = [], []
        fail = {}  # per unordered reactant pair: product of (1 - p) of earlier reactions
        for reaction in network.reactions:
            codes = [network.code(s) for s in reaction.reactants]
            made = [network.code(s) for s in reaction.products]
            kind = reaction.kind
            if kind == "creation":
                site[0, made[0]] += reaction.rate
            elif kind in ("decay", "conversion"):
                to = made[0] if made else 0
                if to != codes[0]:  # X -> X is a no-op
                    site[codes[0], to] += reaction.rate
            elif kind == "birth":
                births.append(codes[0])
                birth_rate.append(float(reaction.rate))
            else:
                key = tuple(sorted(codes))
                before = fail.get(key, 1.0)
                fail[key] = before * (1.0 - reaction.prob)
                on_target, on_mover = (made + [0, 0])[:2]
                for mover, target in {tuple(codes), tuple(codes[::-1])}:
                    if (on_mover, on_target) != (mover, target):
                        directed[mover, target, on_mover, on_target] += nu * reaction.prob * before
        np.fill_diagonal(site, -site.sum(axis=1))
        bond = directed + directed.transpose(1, 0, 3, 2)
        bond_site = bond.sum(axis=3)
        return cls(
            site=site,
            bond_flat=np.ascontiguousarray(bond.reshape(k * k, k * k)),
            bond_out=bond.sum(axis=(2, 3)),
            bond_site=bond_site,
            bond_site_t=np.ascontiguousarray(bond_site.transpose(1, 0, 2).reshape(k, k * k)),
            birth_species=tuple(births),
            birth_rate=tuple(birth_rate),
        )


def _site_generator(g, scale, site):
    """``scale`` times the rates ``g[n, x, y]`` of a site going ``x -> y`` as a generator
    (diagonal: minus the off-diagonal row sum; events that leave the site as it is
    drop out), plus the site events' generator ``site``."""
    k = g.shape[-1]
    diag = np.arange(k)
    g[:, diag, diag] = 0.0
    g[:, diag, diag] = -g.sum(axis=-1)
    return g * scale + site


def _pair_rhs(pairs, tables: _EventTables, z: float, n_sites: int, floor: float):
    """``dP(a, b)/dt`` of the pair approximation for pair tables ``pairs`` (n, K, K).

    The Kirkwood conditionals ``P(c | x) = P(x, c) / P(x)`` are taken from the positive
    parts of the table and blended with the marginal ``P(c)`` below ``floor`` (the
    integrator's ``atol``): ``(P+(x, c) + floor P(c)) / (P+(x) + floor)``. Inside the
    domain and above the floor this is the ratio to ``floor / P(x)``. It matters where
    a lattice fills up (``P(0) -> 0``) and a step leaves entries slightly negative:
    the raw ratio leaves [0, 1] and turns the other bonds' rates negative, which
    drives ``P(0, 0)`` and ``P(X, 0)`` apart without bound, and a row with no
    positive mass would have no rates at all, so nothing would pull an entry such
    as ``P(0, 0) < 0`` back (both seen with Radau). With the blend every rate is >= 0,
    bounded and continuous, and the flows, linear in the raw entries, push a negative
    entry back to 0.
    """
    n, k = pairs.shape[0], pairs.shape[1]
    single = pairs.sum(axis=-1)
    positive = np.maximum(pairs, 0.0)
    norm = positive.sum(axis=-1)
    marginal = norm / norm.sum(axis=-1, keepdims=True)  # P(c) from the positive parts
    cond = (positive + floor * marginal[:, None, :]) / (norm + floor)[:, :, None]
    d = (pairs.reshape(n, k * k) @ tables.bond_flat).reshape(n, k, k) - pairs * tables.bond_out
    g = np.matmul(cond.transpose(1, 0, 2), tables.bond_site).transpose(1, 0, 2)
    for x, rate in zip(tables.birth_species, tables.birth_rate, strict=True):
        # per directed (X, 0) bond: k / (z P(0|X)) times the chance that some X has room
        p = cond[:, x, 0]  # P(0 | X), in [0, 1]
        r = rate / z * _eligible_over_p(p, n_sites * single[:, x], z)
        flow = r * pairs[:, x, 0]  # = r P(0, X): the table is symmetric
        d[:, x, x] += 2.0 * flow
        d[:, x, 0] -= flow
        d[:, 0, x] -= flow
        g[:, 0, x] += cond[:, 0, x] * r  # the empty end of a (0, X) bond receives the child
    gen = _site_generator(g, z - 1.0, tables.site)
    return d + np.swapaxes(gen, 1, 2) @ pairs + pairs @ gen


def _mean_field_single_rhs(single, tables: _EventTables, z: float, n_sites: int):
    """``dP(a)/dt`` of the mean field for singlets ``single`` (n, K), pairs ``P(a) P(b)``."""
    n, k = single.shape
    g = (single @ tables.bond_site_t).reshape(n, k, k)
    for x, rate in zip(tables.birth_species, tables.birth_rate, strict=True):
        r = rate / z * _eligible_over_p(single[:, 0], n_sites * single[:, x], z)
        g[:, 0, x] += single[:, x] * r
    gen = _site_generator(g, z, tables.site)
    return (single[:, None, :] @ gen)[:, 0]


class _Closure:
    """A closure's state vector per start and its right-hand side.

    Mean field: ``y = P(1..M)``, ``P(0) = 1 - sum``. Pair approximation: ``y =
    P(x, y)`` for ``0 <= x <= y <= M``, the upper triangle of the symmetric
    pair table with its empty entries, marginals ``P(x) = sum_y P(x, y)``.
    Integrating ``P(a, 0)`` itself, rather than ``P(a) - sum_b P(a, b)``, keeps
    its relative accuracy as a lattice fills: near full, ``P(a, 0)`` is tiny
    and the difference would carry the integrator's error on ``P(a)`` (about
    ``rtol``), enough to turn the triplets ``P(a, 0) P(0, c) / P(0)`` negative.
    """

    def __init__(self, method: str, n_species: int) -> None:
        self.method = method
        self.m = m = n_species
        self.rows, self.cols = np.triu_indices(m + 1)
        self.size = m if method == "mean field" else (m + 1) * (m + 2) // 2

    def pack(self, table):
        """The state (n, size) from pair tables (n, K, K) (mean field: their marginals)."""
        if self.method == "mean field":
            return table[:, 1:].sum(-1)
        return table[:, self.rows, self.cols]

    def unpack(self, y):
        """Species probabilities (..., M) and species pair block (..., M, M) of states y."""
        if self.method == "mean field":
            return y, y[..., :, None] * y[..., None, :]
        table = self.table(y)
        return table[..., 1:, :].sum(-1), table[..., 1:, 1:]

    def table(self, y):
        """The symmetric pair tables (..., K, K) of pair-approximation states y."""
        k = self.m + 1
        table = np.empty((*y.shape[:-1], k, k))
        table[..., self.rows, self.cols] = y
        table[..., self.cols, self.rows] = y
        return table

    def rhs(self, y, tables, z, n_sites, floor):
        if self.method == "mean field":
            single = np.concatenate([1.0 - y.sum(1, keepdims=True), y], 1)
            return _mean_field_single_rhs(single, tables, z, n_sites)[:, 1:]
        d = _pair_rhs(self.table(y), tables, z, n_sites, floor)
        return d[:, self.rows, self.cols]


def _full_table(single_species, block):
    """Pair table (n, K, K) from species probabilities (n, M) and species block (n, M, M)."""
    n, m = single_species.shape
    table = np.empty((n, m + 1, m + 1))
    table[:, 1:, 1:] = block
    edge = single_species - block.sum(-1)
    table[:, 1:, 0] = edge
    table[:, 0, 1:] = edge
    table[:, 0, 0] = 1.0 - single_species.sum(-1) - edge.sum(-1)
    return table


CLOSURES = ("pair", "mean field")
"""The closures of :func:`classical_moments`."""

SOLVERS = ("LSODA", "BDF", "Radau")
"""The :func:`scipy.integrate.solve_ivp` methods :func:`classical_moments` accepts."""


@dataclass(frozen=True)
class ClassicalMoments:
    """Counts and nearest-neighbour pairs of a network under a classical closure.

    Attributes
    ----------
    times : ndarray, shape (n_times,)
    counts : ndarray, shape (..., n_times, n_species)
        Mean number of each species, ``n_sites P(a)``.
    pairs : ndarray, shape (..., n_times, n_species, n_species)
        Mean pair counts in the layout of :func:`dbmtools.pair_counts`:
        ``[a, a] = n_bonds P(a, a)`` and ``[a, b] = 2 n_bonds P(a, b)`` for ``a != b``.
    method : str
        ``"pair"`` or ``"mean field"``.
    n_sites, n_bonds : int
        Of the lattice (:func:`dbmtools.bond_table`).
    coordination : float
        ``z = 2 n_bonds / n_sites``: ``2 dim`` with periodic boundaries, less
        with reflecting ones.
    """

    times: np.ndarray
    counts: np.ndarray
    pairs: np.ndarray
    method: str
    n_sites: int
    n_bonds: int
    coordination: float

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=np.float64)
        counts = np.asarray(self.counts, dtype=np.float64)
        pairs = np.asarray(self.pairs, dtype=np.float64)
        if times.ndim != 1 or counts.ndim < 2 or counts.shape[-2] != times.size:
            raise ValueError(
                f"`counts` must have shape (..., {times.size}, n_species) for {times.size} "
                f"times; got {counts.shape}."
            )
        if pairs.shape != (*counts.shape, counts.shape[-1]):
            raise ValueError(
                f"`pairs` must have shape {(*counts.shape, counts.shape[-1])}; got {pairs.shape}."
            )
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "pairs", pairs)


def classical_moments(
    network: Network,
    initial_counts: np.ndarray,
    times: np.ndarray,
    *,
    initial_pairs: np.ndarray | None = None,
    dt: float,
    shape: tuple[int, ...],
    boundary: str = "periodic",
    hop_prob: float = 1.0,
    method: str = "pair",
    solver: str = "LSODA",
    rtol: float = 1e-8,
    atol: float = 1e-12,
) -> ClassicalMoments:
    """Mean counts and pairs of any lattice network under mean field or the pair approximation.

    The simulator's process (:mod:`dbmtools.simulate`) on a ``dim``-dimensional
    cubic lattice, with hop rate ``nu = hop_prob / (2 dim dt)`` per neighbour,
    closed at the level of single sites (``method="mean field"``: ``P(a, b) =
    P(a) P(b)``, with volume exclusion) or of nearest-neighbour pairs
    (``method="pair"``: triplets by the Kirkwood superposition). Many starting
    conditions are integrated at once (leading axes of ``initial_counts``).

    Parameters
    ----------
    network : Network
        Any network of creations, decays, conversions, births and collisions.
    initial_counts : array_like, shape (..., n_species)
        Mean counts at ``times[0]``: finite, >= 0, summing to at most ``n_sites``.
    times : array_like, shape (n_times,)
        Output times, >= 0 and strictly increasing; the start is ``times[0]``.
    initial_pairs : array_like, shape (..., n_species, n_species), optional
        Mean pair counts at ``times[0]`` in the layout of
        :func:`dbmtools.pair_counts` (e.g. measured on the initial lattices).
        By default random mixing of ``initial_counts``
        (:func:`random_mixing_pairs`). Only the pair approximation starts
        from them; the mean field checks them but its pairs are random mixing
        of its counts at every time, ``times[0]`` included.
    dt, hop_prob : float
        The simulator's timestep and hop probability (they set ``nu``).
    shape : tuple of int
        Lattice shape (sets ``dim``, ``n_sites`` and ``n_bonds``).
    boundary : {"periodic", "reflecting"}
        With reflecting walls the lattice's real numbers of sites and bonds are
        used, with the effective coordination ``z = 2 n_bonds / n_sites`` in
        place of ``2 dim`` (a homogeneous lattice of that coordination: the
        walls' own profile is not resolved). Hops towards a wall are rejected
        (the simulator's ``walls="reject"``).
    method : {"pair", "mean field"}
    solver : {"LSODA", "BDF", "Radau"}
        The :func:`scipy.integrate.solve_ivp` method. Births near a full lattice
        make the equations stiff: all three handle that; the Jacobian is
        estimated by finite differences with its block structure (one block a
        start).
    rtol, atol : float
        Tolerances of the integrator, on site and bond probabilities.

    Returns
    -------
    ClassicalMoments
        ``counts`` (..., n_times, n_species) and ``pairs`` (..., n_times,
        n_species, n_species).

    Raises
    ------
    ValueError, TypeError
        For a bad argument, naming it, the rule and what was received.
    RuntimeError
        If the integrator fails, with its message and the time it reached.

    See Also
    --------
    solve_mean_field : the same mean field for one start, from :func:`mean_field_rhs`.
    classical_closure : the 1D closures of ``A + A -> 0`` in the paper's chain moments.

    Notes
    -----
    **Events.** With ``K = n_species + 1`` site states (0 empty), every event
    is a site event ``x -> x'`` (decay and conversion at rate ``k``, creation
    ``0 -> X`` at rate ``c`` per empty site) or an event on a directed bond
    ``i -> j``, ``(x_i, x_j) -> (x_i', x_j')``: a hop ``(a, 0) -> (0, a)`` at rate
    ``nu``; a collision of mover ``a`` with target ``b`` through reaction ``r`` at
    rate ``nu p_r prod_{r' < r}(1 - p_r')`` (the pair's reactions in network
    order, first success wins) giving ``(second product or 0, first product)``;
    a birth ``(X, 0) -> (X, X)``. These are built once into a site generator
    ``S[x, x']`` and a bond tensor ``W[x, y, x', y']`` (both directions of the
    bond), and the right-hand sides below are tensor contractions over all
    starts at once.

    **Births.** The simulator gives a birth to a parent chosen uniformly among
    the ``X`` that have an empty neighbour, with propensity ``k N_X``, and
    drops it only when no ``X`` has one. With ``p = P(0 | X)`` and neighbours
    of an ``X`` empty independently, the ``e`` empty neighbours of an ``X``
    known to have the empty neighbour ``j`` number ``e = 1 + Binomial(z - 1, p)``,
    and ``E[1/e] = (1 - (1 - p)^z) / (z p)``; the eligible parents number
    ``N_X (1 - (1 - p)^z)``, each firing at ``k N_X / N_elig``. So a directed
    ``(X, 0)`` bond sees births at ``k / (z p)`` (the two factors
    ``1 - (1 - p)^z`` cancel), times ``1 - (1 - p)^(z N_X)``, the chance that
    some ``X`` has room (``N_X`` read as at least 1). Summed over the
    ``N_X z p`` such bonds this is ``k N_X [1 - (1 - p)^(z N_X)]``. Mean field
    has ``p = P(0)`` (:func:`mean_field_rhs`).

    **Mean field.** ``dP(a)/dt = sum_x P(x) [z G(x, a) + S(x, a)]``, where
    ``G(x, y) = sum_{c, d} P(c) W[x, c, y, d]`` is the rate at which one bond
    turns a site ``x`` into ``y`` (diagonal: minus the row sum).

    **Pair approximation** (Matsuda et al. 1992, :cite:`matsuda1992`;
    Satulovsky and Tomé 1994, :cite:`satulovsky1994`):

    ``dP(a, b)/dt = sum_{x, y} P(x, y) W[x, y, a, b] - P(a, b) sum W[a, b, :, :]
    + sum_x [P(x, b) H(x, a) + P(a, x) H(x, b)]``

    with ``H = (z - 1) G + S`` and ``G(x, y) = sum_{c, d} P(c | x) W[x, c, y, d]``:
    the events on the bond itself, then site events and the events on the
    ``z - 1`` other bonds of each end, whose triplets are closed by the
    Kirkwood superposition ``P(b, x, c) = P(b, x) P(x, c) / P(x)``. The state is
    the symmetric table ``P(x, y)``, empty entries included, and the singlets are
    its marginals, ``P(a) = sum_b P(a, b)``: integrating ``P(a, 0)`` itself keeps
    its accuracy where a lattice fills up and ``P(0) -> 0``. There the ratios
    ``P(x, c) / P(x)`` are 0 / 0: they are taken from the table's positive parts
    and, below ``atol``, blended with ``P(c)`` (:func:`_pair_rhs`), which changes
    nothing above it and keeps every rate >= 0 and bounded, so a full lattice
    stays full (``tests/test_theory.py`` checks every solver).

    From random mixing, both closures are exact for creation, decay and
    conversion with hops (which keep a product measure). The Kirkwood triplets
    are exact for a 1D nearest-neighbour Markov chain; on a cubic lattice (no
    triangles) the pair approximation is the Bethe approximation.

    Examples
    --------
    Creation and decay from an empty lattice, ``N c / (c + k) (1 - e^{-(c + k) t})``:

    >>> from dbmtools import Network
    >>> net = Network([("0 -> X", 1.0), ("X -> 0", 3.0)])
    >>> res = classical_moments(net, [0.0], [0.0, 0.5], dt=0.01, shape=(20, 20))
    >>> round(float(res.counts[-1, 0]), 4), round(float(400 / 4 * (1 - np.exp(-2.0))), 4)
    (86.4665, 86.4665)

    Three starts of 1D annihilation at once, both closures; from half filling the
    exact count at ``t = 0.2`` is 62.9 (:func:`annihilation_density_exact`):

    >>> from dbmtools import annihilation
    >>> starts = [[500.0], [300.0], [100.0]]
    >>> pa = classical_moments(annihilation(1.0), starts, [0.0, 0.2], dt=0.01, shape=1000)
    >>> mf = classical_moments(annihilation(1.0), starts, [0.0, 0.2], dt=0.01, shape=1000,
    ...                        method="mean field")
    >>> pa.counts.shape, pa.pairs.shape
    ((3, 2, 1), (3, 2, 1, 1))
    >>> pa.counts[:, -1, 0].round(1).tolist(), mf.counts[:, -1, 0].round(1).tolist()
    ([40.8, 39.4, 31.9], [23.8, 23.1, 20.0])
    """
    from scipy.integrate import solve_ivp

    from .lattice import bond_table, check_boundary, check_shape

    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a dbmtools Network; got {type(network).__name__}.")
    shape = check_shape(shape)
    boundary = check_boundary(boundary)
    method = check_choice("method", method, CLOSURES)
    solver = check_choice("solver", solver, SOLVERS)
    rtol, atol = check_positive("rtol", rtol), check_positive("atol", atol)
    dt = check_positive("dt", dt)
    nu = check_probability("hop_prob", hop_prob) / (2.0 * len(shape) * dt)
    n_sites = int(np.prod(shape))
    n_bonds = int((bond_table(shape, boundary) >= 0).sum())
    z = 2.0 * n_bonds / n_sites
    times = _check_output_times(times)
    m = network.n_species
    counts = _check_counts("initial_counts", initial_counts, m, n_sites)
    lead = counts.shape[:-1]
    single = counts.reshape(-1, m) / n_sites
    if initial_pairs is None:
        block = single[:, :, None] * single[:, None, :]
    else:
        block = _check_pairs(initial_pairs, lead, m, n_bonds).reshape(-1, m, m) / (
            n_bonds * (2.0 - np.eye(m))
        )
    table = _full_table(single, block)
    if initial_pairs is not None:
        _check_table(table, shape, boundary, n_sites, n_bonds)

    closure = _Closure(method, m)
    tables = _EventTables.from_network(network, nu)
    n_starts, size = single.shape[0], closure.size
    y0 = closure.pack(table).ravel()

    def rhs(t, y):
        return closure.rhs(y.reshape(n_starts, size), tables, z, n_sites, atol).ravel()

    if solver == "LSODA":  # one dense block per start, handed over in LSODA's band format
        options = {"lband": size - 1, "uband": size - 1, "jac": _block_jacobian(rhs, size, True)}
    else:
        options = {"jac": _block_jacobian(rhs, size, False)}
    if times.size == 1:
        ys = y0[:, None]
    else:
        sol = solve_ivp(
            rhs,
            (times[0], times[-1]),
            y0,
            method=solver,
            t_eval=times,
            rtol=rtol,
            atol=atol,
            **options,
        )
        if not sol.success or sol.y.shape[1] != times.size or not np.all(np.isfinite(sol.y)):
            reached = sol.t[-1] if sol.t.size else times[0]
            others = " or ".join(repr(s) for s in SOLVERS if s != solver)
            raise RuntimeError(
                f"The {method} closure did not integrate with solver={solver!r} (reached "
                f"t = {reached:g} of {times[-1]:g}): {sol.message} Try solver={others}, "
                "or a looser `rtol`."
            )
        ys = sol.y
    ys = ys.reshape(n_starts, size, times.size).transpose(0, 2, 1)  # (n, n_times, size)
    out_single, out_block = closure.unpack(ys)
    pairs = out_block * (n_bonds * (2.0 - np.eye(m)))
    return ClassicalMoments(
        times=times,
        counts=(out_single * n_sites).reshape(*lead, times.size, m),
        pairs=pairs.reshape(*lead, times.size, m, m),
        method=method,
        n_sites=n_sites,
        n_bonds=n_bonds,
        coordination=z,
    )


def _block_jacobian(rhs, size: int, banded: bool):
    """A finite-difference Jacobian of ``rhs`` for states of independent blocks of ``size``.

    Starts do not interact, so perturbing entry ``j`` of every block at once gives
    column ``j`` of every block: ``size`` evaluations of the vectorised ``rhs``
    (forward differences, steps ``sqrt(eps) max(|y|, 1e-8)``). Returns the dense
    block-diagonal matrix as a sparse one (BDF, Radau), or in LSODA's packed band
    format, ``jac_packed[uband + i - j, j] = jac[i, j]`` with ``uband = size - 1``.
    """
    from scipy.sparse import csc_array

    eps = np.sqrt(np.finfo(float).eps)

    def jac(t, y):
        n = y.size // size
        f0 = rhs(t, y).reshape(n, size)
        blocks = np.empty((n, size, size))  # blocks[b, i, j] = d f_i / d y_j of block b
        y2 = y.reshape(n, size)
        for j in range(size):
            h = eps * np.maximum(np.abs(y2[:, j]), 1e-8)
            yp = y2.copy()
            yp[:, j] += h
            h = yp[:, j] - y2[:, j]  # the step actually taken, after rounding
            blocks[:, :, j] = (rhs(t, yp.ravel()).reshape(n, size) - f0) / h[:, None]
        i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        rows = (np.arange(n)[:, None, None] * size + i).ravel()
        cols = (np.arange(n)[:, None, None] * size + j).ravel()
        if not banded:
            return csc_array((blocks.ravel(), (rows, cols)), shape=(y.size, y.size))
        packed = np.zeros((2 * size - 1, y.size))
        packed[size - 1 + rows - cols, cols] = blocks.ravel()
        return packed

    return jac


def _check_pairs(value, lead: tuple, n_species: int, n_bonds: int) -> np.ndarray:
    """Mean pair counts (*lead, M, M) in pair_counts' layout: finite, >= 0, symmetric."""
    arr = _real_array("initial_pairs", value)
    want = (*lead, n_species, n_species)
    if arr.shape != want:
        raise ValueError(
            f"`initial_pairs` must have shape {want} (the leading shape of `initial_counts`, "
            f"then species x species, as dbmtools.pair_counts); got {arr.shape}."
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"`initial_pairs` must be pair counts >= 0; got {arr.min():g}.")
    asym = np.abs(arr - np.swapaxes(arr, -1, -2))
    if asym.size and asym.max() > 1e-9 * max(1.0, float(np.abs(arr).max())):
        raise ValueError(
            f"`initial_pairs` must be symmetric (pair_counts layout); got entries that differ "
            f"by {asym.max():g} from their transposes."
        )
    # each a-b bond (a != b) appears at [a, b] and at [b, a]
    occupied = 0.5 * (arr.sum(axis=(-2, -1)) + np.trace(arr, axis1=-2, axis2=-1))
    if arr.size and occupied.max() > n_bonds * (1 + 1e-12):
        raise ValueError(
            f"`initial_pairs` must count at most the {n_bonds} bonds of the lattice (the "
            f"diagonal plus one triangle); got {occupied.max():g}."
        )
    return 0.5 * (arr + np.swapaxes(arr, -1, -2))


def _check_table(table, shape, boundary, n_sites: int, n_bonds: int) -> None:
    """The pair table implied by the initial counts and pairs must be a distribution.

    Its empty entries are marginals' remainders, ``P(a, 0) = P(a) - sum_b P(a, b)``.
    On a periodic lattice every site is a bond end equally often, so they are >= 0
    for any real lattice (to rounding). With reflecting walls a bond end is a
    degree-weighted site, and measured pairs can leave them negative by up to twice
    the total variation between the two weightings; more than that is an error.
    """
    from .lattice import neighbour_table

    if boundary == "periodic":
        slack = 1e-9
    else:
        degree = (neighbour_table(shape, boundary) >= 0).sum(1)
        slack = 2.0 * np.abs(degree / (2.0 * n_bonds) - 1.0 / n_sites).sum() + 1e-9
    if not table.size or table[:, :, 0].min() >= -slack:
        return
    start, x = np.unravel_index(np.argmin(table[:, :, 0]), table[:, :, 0].shape)
    what = "the empty sites" if x == 0 else f"species code {x}"
    raise ValueError(
        f"`initial_pairs` and `initial_counts` disagree (start {start}): they leave "
        f"{what} with more occupied neighbours than the counts allow (the implied "
        f"P({x}, empty) is {table[start, x, 0]:.3g}, below -{slack:.3g}); pass pairs "
        "measured on the same lattices as the counts."
    )

"""Lattice Boltzmann families as plug-ins: what the closure pipeline needs from a model.

A *family* is a Boltzmann distribution on a lattice,
``p(v; theta) = sum_h exp(theta . phi(v, h)) / Z(theta)`` (the paper's eqs. 25
and 35, sign convention ``E = -theta . phi``), with one parameter per
sufficient statistic ``phi_k`` (raw lattice sums). Everything the closure
pipeline does (MaxEnt fits of simulated ensembles, :mod:`dbmtools.maxent`;
Algorithm 1, :class:`dbmtools.estimators.FamilyMoments`; the data-driven
closure, :func:`dbmtools.closures.learn_closure`) asks a family for the same
few things, so a new model is a new subclass of :class:`LatticeFamily`, as a
new distribution in scipy is an ``rv_continuous`` that supplies ``_pdf``:

* ``names``, ``shape``, ``boundary``, ``n_species``: its parameters and lattice;
* ``_statistics(states, theta)``: the statistics of lattices (for a family with
  hidden units, their expectation given the visible lattice, which depends on
  ``theta``);
* ``_sample(theta, init, n_sweeps, seeds)``: Gibbs sweeps of many chains;
* optionally ``_exact_moments`` and ``_exact_covariance`` (the family is then
  ``exact``), ``_from_recorded`` (statistics from counts and pair counts recorded
  on the fly, :class:`~dbmtools.MomentEnsemble`) and ``_estimate`` (a fused
  sampler that accumulates the statistics itself).

The base class does the rest: validation, statistics of any data the
simulator returns (:meth:`LatticeFamily.statistics`), sampled or exact moments
and their covariance (:meth:`LatticeFamily.estimate`), and samples
(:meth:`LatticeFamily.sample`).

The families here:

* :class:`ChainFamily`: the paper's 1D b/J/K chain (eq. 37), exact by transfer matrix;
* :class:`LayeredFamily`: any layered Boltzmann machine (:class:`dbmtools.LayeredModel`),
  e.g. the paper's hidden chain (39), :func:`hidden_chain_family`, and its Rössler RBM
  (44), :func:`rossler_family`;
* :class:`LatticeGas`: the visible multi-species nearest-neighbour lattice gas
  in 1-3D, the maximum-entropy family of the species counts and the
  nearest-neighbour pair counts (:mod:`dbmtools.lattice_gas`), exact in 1D.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._checks import check_int
from ._random import SeedLike, as_seed_sequence, draw_seeds
from .lattice import check_boundary, check_shape, check_state

__all__ = [
    "LatticeFamily",
    "MomentEstimate",
    "ChainFamily",
    "LayeredFamily",
    "LatticeGas",
    "hidden_chain_family",
    "rossler_family",
    "check_family",
]


@dataclass
class MomentEstimate:
    """Model moments of a family at some parameter sets: :meth:`LatticeFamily.estimate`.

    Attributes
    ----------
    mean : ndarray, shape (n, K)
        ``<phi>_theta`` (raw lattice sums).
    covariance : ndarray, shape (n, K, K)
        ``Cov_theta(phi)``, the Fisher matrix ``d^2 ln Z / d theta^2`` of a
        visible family (for one with hidden units, the covariance of the
        statistics given the visible lattices, which is not).
    sem : ndarray, shape (n, K)
        Standard error of ``mean`` (0 when exact), from the spread over
        independent chains.
    states : ndarray of int8, shape ``(n, n_chains, *shape)`` or None
        The chains' final lattices (to continue them: persistent chains).
    exact : bool
    """

    mean: np.ndarray
    covariance: np.ndarray
    sem: np.ndarray
    states: np.ndarray | None = None
    exact: bool = False


class LatticeFamily:
    """Base of every lattice Boltzmann family (see the module docstring).

    Attributes
    ----------
    names : tuple of str
        One name per parameter (and per statistic), ``K`` of them.
    shape : tuple of int
        Lattice shape.
    boundary : {"periodic", "reflecting"}
    n_species : int
        Visible species codes ``1..M`` (0 is empty).
    species : tuple of str or None
        Species names, checked against a simulation's network when given.
    exact : bool
        Whether moments and covariance are exact (``_exact_moments``).
    visible : bool
        Whether the statistics depend on the lattice alone (no hidden units);
        only then is the covariance the Fisher matrix and a Newton MaxEnt fit
        possible.
    default_sweeps : int
        Gibbs sweeps from a random start that :meth:`estimate` uses by default.
    """

    names: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    boundary: str = "periodic"
    n_species: int = 1
    species: tuple[str, ...] | None = None
    exact: bool = False
    visible: bool = True
    default_sweeps: int = 50

    # -- what a subclass supplies ---------------------------------------------------
    def _statistics(self, states: np.ndarray, theta: np.ndarray | None) -> np.ndarray:
        """Statistics of validated lattices ``(n, *shape)`` int8 -> ``(n, K)`` float64."""
        raise NotImplementedError

    def _sample(self, theta: np.ndarray, init: np.ndarray | None, n_chains: int, n_sweeps: int,
                seeds: np.ndarray) -> np.ndarray:  # fmt: skip
        """``n_sweeps`` Gibbs sweeps of ``n_chains`` chains per row of ``theta`` (n, K).

        ``init`` is None (a uniformly random start) or validated lattices
        ``(n, n_chains, *shape)``; ``seeds`` (n, n_chains) int64, one stream per
        chain. Returns ``(n, n_chains, *shape)`` int8.
        """
        raise NotImplementedError

    def _exact_moments(self, theta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _exact_covariance(self, theta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _from_recorded(self, data) -> np.ndarray:
        """Statistics ``(n_samples, n_times, K)`` of a MomentEnsemble/MomentTrajectory."""
        raise ValueError(
            f"{type(self).__name__} needs the lattices themselves: simulate with "
            "record='states' (an Ensemble), not a MomentEnsemble."
        )

    def _check_theta_values(self, theta: np.ndarray) -> None:
        """Extra rules on validated parameters (e.g. overflow limits); raise ValueError."""

    # -- what the base class provides ----------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of parameters ``K``."""
        return len(self.names)

    @property
    def dim(self) -> int:
        """Lattice dimension."""
        return len(self.shape)

    @property
    def n_sites(self) -> int:
        """Number of lattice sites."""
        return int(np.prod(self.shape))

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "sampled"
        return (
            f"{type(self).__name__}(names={self.names}, shape={self.shape}, "
            f"boundary={self.boundary!r}, {kind})"
        )

    def check_theta(self, theta, name: str = "theta") -> tuple[np.ndarray, tuple[int, ...]]:
        """``theta`` (..., K) as finite float64 rows ``(n, K)`` and its leading shape.

        Examples
        --------
        >>> th, lead = ChainFamily(100).check_theta([0.1, 0.2, 0.3])
        >>> th.shape, lead
        ((1, 3), ())
        """
        try:
            th = np.asarray(theta, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"`{name}` must be an array of real numbers; got {theta!r}.") from None
        if th.ndim == 0 or th.shape[-1] != self.n_params:
            raise ValueError(
                f"`{name}` must have shape (..., {self.n_params}) = {self.names}; got {th.shape}."
            )
        if not np.all(np.isfinite(th)):
            raise ValueError(f"`{name}` must be finite; got NaN or inf.")
        flat = np.ascontiguousarray(th.reshape(-1, self.n_params))
        self._check_theta_values(flat)
        return flat, th.shape[:-1]

    def check_states(self, states, name: str = "states") -> tuple[np.ndarray, tuple[int, ...]]:
        """Lattices ``(..., *shape)`` as int8 ``(n, *shape)`` and their leading shape."""
        arr = np.asarray(states)
        k = len(self.shape)
        if arr.ndim < k or tuple(arr.shape[arr.ndim - k :]) != self.shape:
            raise ValueError(
                f"`{name}` must end in the family's lattice shape {self.shape}; got {arr.shape}."
            )
        flat = check_state(arr, self.n_species, name=name)
        return flat.reshape(-1, *self.shape), arr.shape[: arr.ndim - k]

    def statistics(self, data, theta=None) -> np.ndarray:
        """The family's statistics (raw lattice sums) of lattices or of a simulation.

        Parameters
        ----------
        data : ndarray of int, Trajectory, Ensemble, MomentTrajectory or MomentEnsemble
            Lattices ``(..., *shape)``, or a simulation result: its records
            become the leading axes, ``(n_times,)`` or ``(n_samples, n_times)``.
            A moment record (``record=["counts", "pair_counts"]``) serves the
            families that can read their statistics from it
            (:class:`LatticeGas`, :class:`ChainFamily` with chain moments).
        theta : array_like, shape (K,), optional
            Needed by a family with hidden units, whose statistics are
            expectations given the visible lattice.

        Returns
        -------
        ndarray, shape (..., K)

        Examples
        --------
        >>> fam = ChainFamily(5)
        >>> fam.statistics(np.array([1, 1, 1, 0, 1], dtype=np.int8)).tolist()
        [4.0, 2.0, 1.0]
        """
        from .trajectory import Ensemble, MomentEnsemble, MomentTrajectory, Trajectory

        th = None
        if theta is not None:
            th = self.check_theta(theta)[0]
            if th.shape[0] != 1:
                raise ValueError(f"`theta` must be one parameter set of {self.n_params}.")
            th = th[0]
        elif not self.visible:
            raise ValueError(
                f"{type(self).__name__} has hidden units: its statistics need `theta`."
            )
        if isinstance(data, (MomentEnsemble, MomentTrajectory)):
            self._check_simulation(data)
            return np.asarray(self._from_recorded(data), dtype=np.float64)
        if isinstance(data, (Ensemble, Trajectory)):
            self._check_simulation(data)
            data = data.states
        flat, lead = self.check_states(data, "data")
        return self._statistics(flat, th).reshape(*lead, self.n_params)

    def _check_simulation(self, sim) -> None:
        """A simulation's lattice, boundary and species must be the family's."""
        if tuple(sim.shape) != self.shape:
            raise ValueError(
                f"The simulation's lattice {tuple(sim.shape)} is not the family's {self.shape}."
            )
        meta_boundary = sim.meta.get("boundary")
        if meta_boundary is not None and meta_boundary != self.boundary:
            raise ValueError(
                f"The simulation ran with boundary {meta_boundary!r}; the family's statistics "
                f"use {self.boundary!r}: build the family with boundary={meta_boundary!r}."
            )
        if "network" in sim.meta:
            net = sim.network
            if net.n_species != self.n_species:
                raise ValueError(
                    f"The simulation has {net.n_species} species {net.species}; the family "
                    f"has {self.n_species}."
                )
            if self.species is not None and tuple(net.species) != tuple(self.species):
                raise ValueError(
                    f"The simulation's species {net.species} are not the family's "
                    f"{self.species} (same names, same order)."
                )

    def sample(
        self,
        theta,
        *,
        n_chains: int | None = None,
        n_sweeps: int | None = None,
        init=None,
        seed: SeedLike = None,
    ) -> np.ndarray:
        """Lattices from ``n_sweeps`` Gibbs sweeps of independent chains at each ``theta``.

        Parameters
        ----------
        theta : array_like, shape (..., K)
        n_chains : int, optional
            Chains per parameter set (required without ``init``).
        n_sweeps : int, optional
            Sweeps (``default_sweeps`` from a random start; give it with ``init``).
        init : ndarray of int, shape ``(..., n_chains, *shape)``, optional
            Lattices to start from (the data for CD-k; persistent chains).
        seed : None, int, SeedSequence or Generator

        Returns
        -------
        ndarray of int8, shape ``(..., n_chains, *shape)``

        Examples
        --------
        >>> v = ChainFamily(50).sample([0.0, 0.0, 0.0], n_chains=4, n_sweeps=10, seed=0)
        >>> v.shape, v.dtype
        ((4, 50), dtype('int8'))
        """
        th, lead = self.check_theta(theta)
        start, n_chains = self._check_init(init, n_chains, th.shape[0])
        n_sweeps = check_int("n_sweeps", self.default_sweeps if n_sweeps is None else n_sweeps, 0)
        rng = np.random.default_rng(as_seed_sequence(seed))
        seeds = draw_seeds(rng, (th.shape[0], n_chains))
        out = self._sample(th, start, n_chains, n_sweeps, seeds)
        return out.reshape(*lead, n_chains, *self.shape)

    def _check_init(self, init, n_chains, n_theta: int) -> tuple[np.ndarray | None, int]:
        if init is None:
            if n_chains is None:
                raise ValueError("`n_chains` must be given when `init` is omitted.")
            return None, check_int("n_chains", n_chains, 1)
        flat, lead = self.check_states(init, "init")
        if len(lead) == 1:  # (n_chains, *shape): the same starts for every theta
            flat = np.broadcast_to(flat, (n_theta, *flat.shape)).copy()
        elif len(lead) == 2 and lead[0] == n_theta:
            flat = flat.reshape(n_theta, lead[1], *self.shape)
        else:
            raise ValueError(
                f"`init` must have shape (n_chains, *shape) or ({n_theta}, n_chains, *shape); "
                f"got {np.shape(init)}."
            )
        if n_chains is not None and check_int("n_chains", n_chains, 1) != flat.shape[1]:
            raise ValueError(
                f"`n_chains` ({n_chains}) disagrees with `init` ({flat.shape[1]} chains)."
            )
        return np.ascontiguousarray(flat), flat.shape[1]

    def estimate(
        self,
        theta,
        *,
        n_chains: int = 32,
        n_sweeps: int = 20,
        n_burn: int | None = None,
        init=None,
        seed: SeedLike = None,
    ) -> MomentEstimate:
        """Model moments and their covariance at each ``theta``: exact, or by Gibbs sampling.

        An exact family returns exact values (the sampling options are checked
        and not used). Otherwise ``n_chains`` chains per parameter set run
        ``n_burn`` sweeps (``default_sweeps`` from a random start, 5 from
        ``init``), then ``n_sweeps`` sweeps, after each of which their statistics
        are recorded: ``mean`` and ``covariance`` pool every recorded lattice,
        ``sem`` is the standard deviation of the chain means over
        ``sqrt(n_chains)`` (chains are independent; sweeps of one chain are not).

        Parameters
        ----------
        theta : array_like, shape (..., K)
        n_chains, n_sweeps, n_burn : int
        init : ndarray of int, shape ``(n_chains, *shape)`` or ``(n, n_chains, *shape)``, optional
            Where the chains start (persistent chains: a previous ``states``).
        seed : None, int, SeedSequence or Generator

        Returns
        -------
        MomentEstimate
            With leading axes flattened to ``n`` rows.

        Examples
        --------
        >>> est = ChainFamily(200).estimate([0.2, -0.5, 0.0])
        >>> est.exact, est.mean.shape, est.covariance.shape
        (True, (1, 3), (1, 3, 3))
        """
        th, _ = self.check_theta(theta)
        n_chains = check_int("n_chains", n_chains, 2)
        n_sweeps = check_int("n_sweeps", n_sweeps, 1)
        start, n_chains = self._check_init(init, n_chains, th.shape[0])
        burn = (self.default_sweeps if start is None else 5) if n_burn is None else n_burn
        burn = check_int("n_burn", burn, 0)
        if self.exact:
            mean = self._exact_moments(th)
            return MomentEstimate(mean, self._exact_covariance(th), np.zeros_like(mean), None, True)
        rng = np.random.default_rng(as_seed_sequence(seed))
        return self._estimate(th, start, n_chains, n_sweeps, burn, rng)

    def _estimate(self, th, start, n_chains, n_sweeps, n_burn, rng) -> MomentEstimate:
        """Generic sampled estimate: sweep by sweep through :meth:`_sample`."""
        n, K = th.shape
        v = self._sample(th, start, n_chains, n_burn, draw_seeds(rng, (n, n_chains)))
        chain_sum = np.zeros((n, n_chains, K))
        outer = np.zeros((n, K, K))
        for _ in range(n_sweeps):
            v = self._sample(th, v, n_chains, 1, draw_seeds(rng, (n, n_chains)))
            for r in range(n):
                s = self._statistics(v[r], th[r] if not self.visible else None)
                chain_sum[r] += s
                outer[r] += s.T @ s
        total = n_chains * n_sweeps
        mean = chain_sum.sum(1) / total
        cov = outer / total - mean[:, :, None] * mean[:, None, :]
        chain_means = chain_sum / n_sweeps
        sem = chain_means.std(axis=1, ddof=1) / np.sqrt(n_chains)
        return MomentEstimate(mean, 0.5 * (cov + np.swapaxes(cov, 1, 2)), sem, v, False)

    def moments(self, theta, **options) -> np.ndarray:
        """Model moments ``<phi>_theta``, shape (..., K); ``options`` as :meth:`estimate`.

        Examples
        --------
        >>> ChainFamily(10).moments([0.0, 0.0, 0.0]).round(4).tolist()
        [5.0, 2.25, 1.0]
        """
        lead = np.shape(theta)[:-1]
        return self.estimate(theta, **options).mean.reshape(*lead, self.n_params)

    def covariance(self, theta, **options) -> np.ndarray:
        """``Cov_theta(phi)``, shape (..., K, K); ``options`` as :meth:`estimate`."""
        lead = np.shape(theta)[:-1]
        return self.estimate(theta, **options).covariance.reshape(
            *lead, self.n_params, self.n_params
        )

    def observables(
        self,
        theta,
        *,
        n_chains: int = 32,
        n_sweeps: int = 20,
        seed: SeedLike = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean species counts and nearest-neighbour pair counts the family gives at ``theta``.

        What a closure is compared on, whatever the family's own statistics:
        from the model moments where they contain them (:class:`LatticeGas`,
        :class:`ChainFamily`; exact where the moments are), otherwise from
        ``n_chains`` chains per parameter set, each run ``default_sweeps`` sweeps
        from a random start and then ``n_sweeps`` sweeps with a record after each.
        Rows of ``theta`` holding NaN (a closure that left its domain) give NaN.

        Parameters
        ----------
        theta : array_like, shape (..., K)
        n_chains, n_sweeps : int
        seed : None, int, SeedSequence or Generator

        Returns
        -------
        counts : ndarray, shape (..., M)
        pairs : ndarray, shape (..., M, M)
            In the layout of :func:`dbmtools.pair_counts` (symmetric).

        Examples
        --------
        >>> counts, pairs = ChainFamily(10, order=2).observables([0.0, 0.0])
        >>> counts.tolist(), pairs.tolist()
        ([5.0], [[2.25]])
        """
        raw = np.asarray(theta, dtype=np.float64)
        if raw.ndim == 0 or raw.shape[-1] != self.n_params:
            raise ValueError(
                f"`theta` must have shape (..., {self.n_params}) = {self.names}; got {raw.shape}."
            )
        lead, M = raw.shape[:-1], self.n_species
        flat = raw.reshape(-1, self.n_params)
        good = np.all(np.isfinite(flat), axis=1)
        counts = np.full((flat.shape[0], M), np.nan)
        pairs = np.full((flat.shape[0], M, M), np.nan)
        if good.any():
            c, p = self._observables(flat[good], n_chains, n_sweeps, seed)
            counts[good], pairs[good] = c, p
        return counts.reshape(*lead, M), pairs.reshape(*lead, M, M)

    def _observables(self, theta, n_chains, n_sweeps, seed):
        """Counts (n, M) and pairs (n, M, M) at validated-or-finite ``theta`` (n, K): sampled."""
        from .observables import counts as lattice_counts
        from .observables import pair_counts

        th = self.check_theta(theta)[0]
        n_chains = check_int("n_chains", n_chains, 1)
        n_sweeps = check_int("n_sweeps", n_sweeps, 1)
        rng = np.random.default_rng(as_seed_sequence(seed))
        n, M = th.shape[0], self.n_species
        v = self._sample(th, None, n_chains, self.default_sweeps, draw_seeds(rng, (n, n_chains)))
        counts, pairs = np.zeros((n, M)), np.zeros((n, M, M))
        opts = dict(dim=self.dim, n_species=M)
        for _ in range(n_sweeps):
            v = self._sample(th, v, n_chains, 1, draw_seeds(rng, (n, n_chains)))
            counts += lattice_counts(v, **opts).mean(axis=1)
            pairs += pair_counts(v, boundary=self.boundary, **opts).mean(axis=1)
        return counts / n_sweeps, pairs / n_sweeps


def check_family(family) -> LatticeFamily:
    """``family`` if it is a :class:`LatticeFamily`; a TypeError naming what to pass otherwise."""
    if not isinstance(family, LatticeFamily):
        raise TypeError(
            "`family` must be a dbmtools.families.LatticeFamily (e.g. LatticeGas, ChainFamily, "
            f"LayeredFamily); got {type(family).__name__}."
        )
    return family


# ---------------------------------------------------------------------------
# The 1D b/J/K chain of eq. (37)
# ---------------------------------------------------------------------------
class ChainFamily(LatticeFamily):
    """The paper's 1D lattice gas (37): ``theta = (b, J, K)``, or ``(b, J)`` with ``K = 0``.

    Statistics: the raw sums of chains of 1, 2 (and 3) occupied sites
    (:func:`dbmtools.chain_moments`). With a reflecting boundary (the open
    chain of eq. 37) moments and covariance are exact, by the transfer matrix
    (:func:`dbmtools.ising.exact_chain_moments`,
    :func:`~dbmtools.ising.exact_chain_covariance`); on a ring they are sampled
    (:func:`dbmtools.ising.sample`).

    Parameters
    ----------
    n_sites : int
    order : {3, 2}
        ``(b, J, K)`` or ``(b, J)``.
    boundary : {"reflecting", "periodic"}

    Examples
    --------
    >>> fam = ChainFamily(1000, order=2)
    >>> fam.names, fam.exact
    (('b', 'J'), True)
    >>> fam.moments([0.0, 0.0]).tolist()
    [500.0, 249.75]
    """

    def __init__(self, n_sites: int, *, order: int = 3, boundary: str = "reflecting") -> None:
        self.order = check_int("order", order, 2, 3)
        self.shape = (check_int("n_sites", n_sites, 3),)
        self.boundary = check_boundary(boundary)
        self.names = ("b", "J", "K")[: self.order]
        self.n_species = 1
        self.exact = self.boundary == "reflecting"
        self.default_sweeps = 100

    def _full(self, theta):
        if self.order == 3:
            return theta
        return np.concatenate([theta, np.zeros((*theta.shape[:-1], 1), theta.dtype)], axis=-1)

    def _statistics(self, states, theta):
        from .observables import chain_moments

        return chain_moments(states, max_order=self.order, boundary=self.boundary).astype(
            np.float64
        )

    def _from_recorded(self, data):
        if "chain_moments" not in data.recorded:
            raise ValueError(
                "ChainFamily reads chain moments: simulate with record=['chain_moments'] "
                "(max_order >= 3) or record='states'."
            )
        m = data.chain_moments()
        if m.shape[-1] < self.order:
            raise ValueError(f"The simulation recorded chain moments up to {m.shape[-1]} only.")
        return m[..., : self.order]

    def _exact_moments(self, theta):
        from .ising import exact_chain_moments

        return exact_chain_moments(self._full(theta), self.n_sites, 3)[..., : self.order]

    def _exact_covariance(self, theta):
        from .ising import exact_chain_covariance

        cov = exact_chain_covariance(self._full(theta), self.n_sites)
        return cov[..., : self.order, : self.order]

    def _observables(self, theta, n_chains, n_sweeps, seed):
        m = self.moments(theta, n_chains=max(2, n_chains), n_sweeps=n_sweeps, seed=seed)
        return m[:, :1], m[:, 1:2, None]

    def _sample(self, theta, init, n_chains, n_sweeps, seeds):
        from .ising import sample

        out = np.empty((theta.shape[0], n_chains, self.n_sites), dtype=np.int8)
        full = self._full(theta)
        for r in range(theta.shape[0]):
            out[r] = sample(
                *full[r],
                n_sites=self.n_sites,
                n_chains=n_chains,
                n_sweeps=n_sweeps,
                boundary=self.boundary,
                init=None if init is None else init[r],
                seed=int(seeds[r, 0]),
            )
        return out


# ---------------------------------------------------------------------------
# Layered Boltzmann machines (eqs. 35, 39, 44)
# ---------------------------------------------------------------------------
class LayeredFamily(LatticeFamily):
    """Any layered lattice Boltzmann machine (:class:`dbmtools.LayeredModel`) as a family.

    Statistics of a visible lattice are the raw sums of eq. (35) with the hidden
    units as their conditional probabilities ``p(h | v)`` (the paper's choice,
    :func:`dbmtools.rbm.moments`); samples come from block Gibbs sweeps
    ``V -> H -> V`` (:func:`dbmtools.rbm.gibbs`). The hidden units make the
    statistics depend on ``theta`` (``visible = False``), so MaxEnt fits of this
    family are likelihood fits by persistent chains, not Newton steps.

    Parameters
    ----------
    model : LayeredModel
    boundary : {"periodic", "reflecting"}
        How the model's connections treat the lattice edge (the Rössler RBM of
        eq. 44 wraps: ``"periodic"``; the hidden chain of eq. 39 is open:
        ``"reflecting"``); checked against a simulation's boundary.

    Examples
    --------
    >>> fam = hidden_chain_family(30)
    >>> fam.names, fam.visible
    (('b', 'W', "b'"), False)
    >>> full = np.ones(30, dtype=np.int8)
    >>> fam.statistics(full, theta=[0.0, 0.0, 0.0]).tolist()   # hidden units at p = 1/2
    [30.0, 29.0, 14.5]
    """

    visible = False

    def __init__(self, model, *, boundary: str = "periodic", species=None) -> None:
        from .rbm import LayeredModel

        if not isinstance(model, LayeredModel):
            raise TypeError(f"`model` must be a dbmtools LayeredModel; got {type(model).__name__}.")
        self.model = model
        self.shape = tuple(model.visible_shape)
        self.boundary = check_boundary(boundary)
        self.names = tuple(model.param_names)
        self.n_species = model.n_species_v
        if species is not None:
            species = tuple(str(s) for s in species)
            if len(species) != self.n_species:
                raise ValueError(
                    f"`species` must name the model's {self.n_species} visible species; got "
                    f"{species}."
                )
        self.species = species
        self.default_sweeps = 25

    def _check_theta_values(self, theta):
        bv = np.abs(theta[:, : self.model.n_species_v]).max(initial=0.0)
        w = np.abs(theta[:, self.model.n_species_v : -self.model.n_species_h]).max(initial=0.0)
        bh = np.abs(theta[:, -self.model.n_species_h :]).max(initial=0.0)
        degree = int(np.diff(self.model._h_ptr).max(initial=0))
        if max(bv, bh) + degree * w > 700:
            raise ValueError(
                f"`theta`: |b| + {degree} |W| reaches {max(bv, bh) + degree * w:.3g}; the "
                "Boltzmann factors would overflow (limit 700)."
            )

    def _statistics(self, states, theta):
        from .rbm import moments

        return moments(self.model, theta, states.reshape(states.shape[0], -1))

    def _sample(self, theta, init, n_chains, n_sweeps, seeds):
        from .rbm import gibbs

        out = np.empty((theta.shape[0], n_chains, *self.shape), dtype=np.int8)
        for r in range(theta.shape[0]):
            v, _ = gibbs(
                self.model,
                theta[r],
                n_sweeps=n_sweeps,
                init=None if init is None else init[r],
                n_chains=n_chains,
                seed=int(seeds[r, 0]),
            )
            out[r] = v
        return out


def hidden_chain_family(n_sites: int) -> LayeredFamily:
    """The paper's 1D hidden model (39) as a family: ``theta = (b, W, b')``, open chain.

    Examples
    --------
    >>> hidden_chain_family(100).shape
    (100,)
    """
    from .rbm import hidden_model_1d

    return LayeredFamily(hidden_model_1d(n_sites), boundary="reflecting")


def rossler_family(shape=(10, 10, 10)) -> LayeredFamily:
    """The paper's Rössler RBM (44) as a family: 9 parameters, species A, B, C.

    Examples
    --------
    >>> rossler_family((4, 4, 4)).names[:4]
    ('b_A', 'b_B', 'b_C', 'W_AX')
    """
    from .rbm import rossler_rbm

    return LayeredFamily(rossler_rbm(shape), boundary="periodic", species=("A", "B", "C"))


# ---------------------------------------------------------------------------
# The visible multi-species nearest-neighbour lattice gas
# ---------------------------------------------------------------------------
class LatticeGas(LatticeFamily):
    """The maximum-entropy family of species counts and nearest-neighbour pair counts.

    ``p(v) ~ exp(sum_s b_s n_s(v) + sum_{a <= b} J_ab n_ab(v))``, with ``n_s``
    the number of sites holding species ``s`` and ``n_ab`` the number of
    nearest-neighbour bonds joining an ``a`` and a ``b`` (the bonds of
    :func:`dbmtools.bond_table`; with ``per_axis``, one coupling per species
    pair and lattice axis). Among all distributions with given mean counts and
    pair counts it has the largest entropy, so it is the family of exactly the
    moments a simulation records (``record=["counts", "pair_counts"]``) and that
    eq. (43) needs. Exact in 1D (transfer matrix, any number of species);
    sampled by heat-bath Gibbs sweeps in 2D and 3D
    (:func:`dbmtools.lattice_gas.sample_lattice_gas`).

    Parameters
    ----------
    species : sequence of str or int
        The species names in lattice-code order (checked against a
        simulation's network), or their number ``M``.
    shape : tuple of int
    boundary : {"periodic", "reflecting"}
    per_axis : bool
        A coupling per lattice axis (for anisotropic lattices, or walls).

    Examples
    --------
    >>> gas = LatticeGas(["X", "Y"], (40, 40))
    >>> gas.names
    ('b_X', 'b_Y', 'J_XX', 'J_XY', 'J_YY')
    """

    def __init__(
        self,
        species: Sequence[str] | int,
        shape,
        *,
        boundary: str = "periodic",
        per_axis: bool = False,
    ) -> None:
        from . import lattice_gas

        if isinstance(species, (int, np.integer)) and not isinstance(species, bool):
            n = check_int("species", species, 1, 127)
            names = tuple(str(k) for k in range(1, n + 1))
            self.species = None
        else:
            if isinstance(species, str):
                raise TypeError("`species` must be a sequence of names, e.g. ['X', 'Y'].")
            names = tuple(str(s) for s in species)
            if not names or len(set(names)) != len(names):
                raise ValueError(f"`species` must be distinct names; got {names}.")
            self.species = names
            n = len(names)
        self.shape = check_shape(shape)
        self.boundary = check_boundary(boundary)
        if not isinstance(per_axis, (bool, np.bool_)):
            raise TypeError(f"`per_axis` must be True or False; got {per_axis!r}.")
        self.per_axis = bool(per_axis)
        self.n_species = n
        self.names = lattice_gas.parameter_names(names, dim=self.dim, per_axis=self.per_axis)
        self.exact = self.dim == 1
        self.default_sweeps = 50

    def _options(self):
        return {"n_species": self.n_species, "boundary": self.boundary, "per_axis": self.per_axis}

    def _statistics(self, states, theta):
        from .lattice_gas import lattice_gas_statistics

        return lattice_gas_statistics(states, dim=self.dim, **self._options())

    def _from_recorded(self, data):
        from .lattice_gas import statistics_from_recorded

        if self.per_axis:
            raise ValueError(
                "A per-axis LatticeGas needs the lattices (record='states'): the simulator "
                "records pair counts summed over axes."
            )
        missing = [k for k in ("counts", "pair_counts") if k not in data.recorded]
        if missing:
            raise ValueError(
                f"LatticeGas reads counts and pair counts; the simulation did not record "
                f"{missing} (use record=['counts', 'pair_counts'])."
            )
        return statistics_from_recorded(data.counts(), data.pair_counts())

    def _exact_moments(self, theta):
        from .lattice_gas import exact_moments_1d

        return exact_moments_1d(theta, self.n_sites, self.n_species, boundary=self.boundary)

    def _exact_covariance(self, theta):
        from .lattice_gas import exact_covariance_1d

        return exact_covariance_1d(theta, self.n_sites, self.n_species, boundary=self.boundary)

    def _sample(self, theta, init, n_chains, n_sweeps, seeds):
        from .lattice_gas import sample_lattice_gas

        return sample_lattice_gas(
            theta, self.shape, n_chains=n_chains, n_sweeps=n_sweeps, init=init,
            seed=np.random.SeedSequence(seeds.ravel().tolist()), **self._options(),
        )  # fmt: skip

    def _observables(self, theta, n_chains, n_sweeps, seed):
        M = self.n_species
        m = self.moments(theta, n_chains=max(2, n_chains), n_sweeps=n_sweeps, seed=seed)
        blocks = m[:, M:].reshape(m.shape[0], -1, M * (M + 1) // 2).sum(axis=1)
        pairs = np.zeros((m.shape[0], M, M))
        iu = np.triu_indices(M)
        pairs[:, iu[0], iu[1]] = blocks
        pairs[:, iu[1], iu[0]] = blocks
        return m[:, :M], pairs

    def _estimate(self, th, start, n_chains, n_sweeps, n_burn, rng):
        from .lattice_gas import sampled_moments

        r = sampled_moments(
            th, self.shape, n_chains=n_chains, n_sweeps=n_sweeps, n_burn=n_burn, init=start,
            seed=rng, **self._options(),
        )  # fmt: skip
        return MomentEstimate(r.mean, r.covariance, r.sem, r.states, False)

"""Results of the simulator: :class:`Trajectory` and :class:`Ensemble`, and their
lattice-free forms :class:`MomentTrajectory` and :class:`MomentEnsemble`.

All hold ``times`` and a JSON-ready ``meta`` dict with the parameters that made
them (network, shape, boundary, dt, hop_prob, seed, ...). A Trajectory or
Ensemble holds the lattices (``states``, int8); a MomentTrajectory or
MomentEnsemble holds only observables computed during the run (``simulate(...,
record=[...])``), with the same ``counts()``, ``pair_counts()`` and
``chain_moments()`` methods. Every class checks its arrays and its metadata
on construction, and :meth:`load` builds through the constructor, so a file is
validated exactly as a new object. Files are written with
:func:`dbmtools._io.save_npz`: atomically, to exactly the path given, read
back with ``allow_pickle=False``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from . import observables
from ._io import json_ready, load_npz, save_npz
from .lattice import BOUNDARIES
from .reactions import MAX_SPECIES, Network

__all__ = ["Ensemble", "MomentEnsemble", "MomentTrajectory", "Trajectory"]

_SELECTIONS = ("uniform", "authors")


def _check_times(times) -> np.ndarray:
    arr = np.asarray(times)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"`times` must be real numbers; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"`times` must be 1-D; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(f"`times` must be finite; got {bad}.")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise ValueError("`times` must be strictly increasing.")
    return arr


def _check_meta(
    meta, times: np.ndarray, shape: tuple[int, ...] | None
) -> tuple[dict[str, Any], int | None]:
    """JSON-ready copy of ``meta``, with the simulator's keys checked against the
    arrays, and the number of species of ``meta['network']`` (None if absent)."""
    meta = json_ready(meta)
    n_species = None
    if "network" in meta:
        try:
            n_species = Network.from_dict(meta["network"]).n_species
        except (TypeError, ValueError) as err:
            raise ValueError(f"`meta['network']` does not describe a network: {err}") from err
    if "shape" in meta and shape is not None and list(meta["shape"]) != list(shape):
        raise ValueError(
            f"`meta['shape']` is {meta['shape']} but the lattices have shape {list(shape)}."
        )
    if "boundary" in meta and meta["boundary"] not in BOUNDARIES:
        raise ValueError(
            f"`meta['boundary']` must be 'periodic' or 'reflecting'; got {meta['boundary']!r}."
        )
    if "selection" in meta and meta["selection"] not in _SELECTIONS:
        raise ValueError(
            f"`meta['selection']` must be 'uniform' or 'authors'; got {meta['selection']!r}."
        )
    if "hop_prob" in meta:
        p = meta["hop_prob"]
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"`meta['hop_prob']` must be a probability in [0, 1]; got {p!r}.")
    for key in ("record_every", "n_steps"):
        v = meta.get(key)
        if key in meta and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError(f"`meta[{key!r}]` must be an integer >= 0; got {v!r}.")
    if "dt" in meta:
        dt = meta["dt"]
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not 0 < dt < math.inf:
            raise ValueError(f"`meta['dt']` must be a finite number > 0; got {dt!r}.")
        every = meta.get("record_every", 1)
        if every < 1:
            raise ValueError(f"`meta['record_every']` must be >= 1; got {every}.")
        spacing = np.diff(times) / (dt * every)
        if "record_every" in meta:
            if spacing.size and np.max(np.abs(spacing - 1.0)) > 1e-9:
                raise ValueError(
                    f"`times` are not {dt} x {every} apart, as `meta['dt']` and "
                    "`meta['record_every']` say."
                )
        elif spacing.size and (
            np.max(np.abs(spacing - np.round(spacing))) > 1e-9 * np.max(spacing)
            or np.min(spacing) < 0.5
        ):
            raise ValueError(f"`times` are not whole multiples of `meta['dt']` = {dt} apart.")
        if "n_steps" in meta and times.size != meta["n_steps"] // every + 1:
            raise ValueError(
                f"`meta` says {meta['n_steps']} steps recorded every {every}, i.e. "
                f"{meta['n_steps'] // every + 1} records; `times` has {times.size}."
            )
    return meta, n_species


@dataclass
class _Recorded:
    times: np.ndarray
    states: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    _time_axis: ClassVar[int] = 0

    def __post_init__(self) -> None:
        self.times = _check_times(self.times)
        self.states = np.asarray(self.states)
        if self.states.ndim < self._time_axis + 2 or self.states.ndim > self._time_axis + 4:
            lead = "(n_samples, n_times" if self._time_axis else "(n_times"
            raise ValueError(
                f"`states` must have shape {lead}, *lattice_shape) with a 1-3D lattice; got "
                f"shape {self.states.shape}."
            )
        if self.states.shape[self._time_axis] != self.times.size:
            raise ValueError(
                f"`states` has {self.states.shape[self._time_axis]} records along axis "
                f"{self._time_axis} but `times` has {self.times.size}."
            )
        if not np.issubdtype(self.states.dtype, np.integer):
            raise TypeError(f"`states` must hold integer species codes; got {self.states.dtype}.")
        self.meta, n_species = _check_meta(self.meta, self.times, self.shape)
        top = MAX_SPECIES if n_species is None else n_species
        if self.states.size:
            lo, hi = int(self.states.min()), int(self.states.max())
            if lo < 0 or hi > top:
                raise ValueError(
                    f"`states` holds codes in [{lo}, {hi}]; allowed are 0 (empty) to {top}"
                    + (" (the network's species)." if "network" in self.meta else ".")
                )
        self.states = self.states.astype(np.int8, copy=False)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one lattice."""
        return self.states.shape[self._time_axis + 1 :]

    @property
    def dim(self) -> int:
        """Lattice dimension (1, 2 or 3)."""
        return len(self.shape)

    @property
    def network(self) -> Network:
        """The reaction network that made the data (from ``meta``)."""
        if "network" not in self.meta:
            raise ValueError("This result has no `meta['network']`; it was not made by simulate.")
        return Network.from_dict(self.meta["network"])

    @property
    def boundary(self) -> str:
        """The boundary the data were simulated with (default ``"periodic"``)."""
        return self.meta.get("boundary", "periodic")

    def counts(self) -> np.ndarray:
        """Particles of each species at every record: shape (..., n_times, M)."""
        return observables.counts(self.states, dim=self.dim, n_species=self.network.n_species)

    def pair_counts(self, boundary: str | None = None) -> np.ndarray:
        """Nearest-neighbour pair counts, shape (..., n_times, M, M); see
        :func:`dbmtools.pair_counts`. ``boundary`` defaults to the simulation's."""
        return observables.pair_counts(
            self.states,
            dim=self.dim,
            n_species=self.network.n_species,
            boundary=boundary or self.boundary,
        )

    def chain_moments(
        self, max_order: int = 4, boundary: str | None = None, species: int = 1
    ) -> np.ndarray:
        """1D chain moments, shape (..., n_times, max_order); see
        :func:`dbmtools.chain_moments`. ``species`` must be one of the network's codes."""
        if self.dim != 1:
            raise ValueError(f"Chain moments are defined for 1D lattices; this one is {self.dim}D.")
        return observables.chain_moments(
            self.states,
            max_order=max_order,
            boundary=boundary or self.boundary,
            species=species,
            n_species=self.network.n_species if "network" in self.meta else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"times", "states", "meta"}``; :meth:`from_dict` inverts it."""
        return {"times": self.times, "states": self.states, "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Rebuild from :meth:`to_dict` output."""
        missing = [k for k in ("times", "states", "meta") if k not in data]
        if missing:
            raise ValueError(f"`data` lacks the key(s) {missing} of a {cls.__name__}.")
        return cls(times=data["times"], states=data["states"], meta=dict(data["meta"]))

    def save(self, path: str | os.PathLike) -> None:
        """Write a compressed ``.npz`` to exactly ``path`` (atomically), ``meta`` as JSON."""
        save_npz(path, type(self).__name__, {"times": self.times, "states": self.states}, self.meta)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a file written by :meth:`save` (no pickles are loaded), validated as on
        construction; a bad file raises ``ValueError`` naming it."""
        arrays, meta = load_npz(path, cls.__name__, ["times", "states"])
        try:
            return cls(times=arrays["times"], states=arrays["states"], meta=meta)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{os.fspath(path)!r} holds an invalid {cls.__name__}: {err}") from err


@dataclass
class Trajectory(_Recorded):
    """One simulated trajectory.

    Attributes
    ----------
    times : ndarray of float64, shape (n_times,)
        Finite, strictly increasing record times; ``times[0]`` is the initial state.
    states : ndarray of int8, shape ``(n_times, *shape)``
        The lattice at each record time: codes 0 (empty) to the network's ``M``.
    meta : dict
        JSON-ready parameters of the run (network, shape, boundary, dt, ...);
        numpy scalars are converted, and the simulator's keys are checked
        against the arrays (shape, ``times`` spacing ``dt * record_every``, ...).

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state(50, counts=[10], seed=0)
    >>> traj = dbm.simulate(s0, dbm.annihilation(1.0), n_steps=20, dt=0.01, seed=0)
    >>> traj.counts().shape, traj.pair_counts().shape
    ((21, 1), (21, 1, 1))
    """


@dataclass
class Ensemble(_Recorded):
    """Many trajectories with shared record times.

    Indexing, ``ens[i]``, gives sample ``i`` as a :class:`Trajectory`.

    Attributes
    ----------
    times : ndarray of float64, shape (n_times,)
        Finite, strictly increasing record times, shared by every sample.
    states : ndarray of int8, shape ``(n_samples, n_times, *shape)``
        The lattices of every sample at each record time.
    meta : dict
        JSON-ready parameters of the run; ``meta["interrupted"]`` is True for
        the partial result of an interrupted :func:`~dbmtools.simulate_ensemble`.
    """

    _time_axis: ClassVar[int] = 1

    def __len__(self) -> int:
        return self.states.shape[0]

    def __getitem__(self, i: int) -> Trajectory:
        return Trajectory(times=self.times, states=self.states[i], meta=self.meta)

    @property
    def n_samples(self) -> int:
        """Number of trajectories."""
        return self.states.shape[0]


# --------------------------------------------------------------------------
# Lattice-free results: observables recorded during the run
# --------------------------------------------------------------------------

_RECORDABLE = ("counts", "pair_counts", "chain_moments")


@dataclass
class _RecordedMoments:
    times: np.ndarray
    moments: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    _time_axis: ClassVar[int] = 0

    def __post_init__(self) -> None:
        self.times = _check_times(self.times)
        for key in ("network", "shape", "boundary"):
            if key not in self.meta:
                raise ValueError(
                    f"`meta` must hold {key!r} (as simulate writes it); got keys {list(self.meta)}."
                )
        shape = self.meta["shape"]
        if not isinstance(shape, (list, tuple)) or not 1 <= len(shape) <= 3:
            raise ValueError(f"`meta['shape']` must list 1 to 3 extents; got {shape!r}.")
        self.meta, m = _check_meta(self.meta, self.times, None)
        if not isinstance(self.moments, dict) or not self.moments:
            raise ValueError(f"`moments` must be a non-empty dict of {_RECORDABLE}.")
        lead = self._lead()
        checked = {}
        for name, value in self.moments.items():
            if name not in _RECORDABLE:
                raise ValueError(f"`moments` keys must be among {_RECORDABLE}; got {name!r}.")
            arr = np.asarray(value)
            if not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(f"`moments[{name!r}]` must hold integers; got {arr.dtype}.")
            tail = {"counts": (m,), "pair_counts": (m, m)}.get(name)
            if name == "chain_moments":
                if len(shape) != 1:
                    raise ValueError("`moments['chain_moments']` needs a 1D lattice.")
                tail = (m, arr.shape[-1] if arr.ndim else 0)
            if arr.shape[: len(lead)] != lead[: arr.ndim] or arr.shape[len(lead) :] != tail:
                raise ValueError(
                    f"`moments[{name!r}]` must have shape {(*lead, *tail)}; got {arr.shape}."
                )
            if arr.size and arr.min() < 0:
                raise ValueError(f"`moments[{name!r}]` must be >= 0; got {arr.min()}.")
            checked[name] = arr.astype(np.int64, copy=False)
        if len(lead) == 2 and len({a.shape[0] for a in checked.values()}) != 1:
            raise ValueError("Every entry of `moments` must have the same number of samples.")
        self.moments = checked

    def _lead(self) -> tuple[int, ...]:
        if self._time_axis == 0:
            return (self.times.size,)
        first = np.asarray(next(iter(self.moments.values())))
        return (first.shape[0] if first.ndim else 0, self.times.size)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one lattice (from ``meta``)."""
        return tuple(self.meta["shape"])

    @property
    def dim(self) -> int:
        """Lattice dimension (1, 2 or 3)."""
        return len(self.shape)

    @property
    def network(self) -> Network:
        """The reaction network that made the data (from ``meta``)."""
        return Network.from_dict(self.meta["network"])

    @property
    def boundary(self) -> str:
        """The boundary the data were simulated with."""
        return self.meta["boundary"]

    @property
    def recorded(self) -> tuple[str, ...]:
        """Names of the recorded observables."""
        return tuple(self.moments)

    def _get(self, name: str) -> np.ndarray:
        if name not in self.moments:
            raise ValueError(
                f"{name} were not recorded (recorded: {list(self.moments)}); simulate with "
                f"record=[..., {name!r}]."
            )
        return self.moments[name]

    def _same_boundary(self, boundary: str | None) -> None:
        if boundary is not None and boundary != self.boundary:
            raise ValueError(
                f"These moments were recorded with the simulation's boundary {self.boundary!r}; "
                f"they cannot be recomputed for `boundary`={boundary!r} without the lattices."
            )

    def counts(self) -> np.ndarray:
        """Particles of each species at every record: shape (..., n_times, M)."""
        return self._get("counts")

    def pair_counts(self, boundary: str | None = None) -> np.ndarray:
        """Nearest-neighbour pair counts, shape (..., n_times, M, M), as
        :func:`dbmtools.pair_counts` with the simulation's boundary."""
        self._same_boundary(boundary)
        return self._get("pair_counts")

    def chain_moments(
        self, max_order: int | None = None, boundary: str | None = None, species: int = 1
    ) -> np.ndarray:
        """1D chain moments of ``species``, shape (..., n_times, max_order), as
        :func:`dbmtools.chain_moments`; ``max_order`` defaults to all recorded."""
        from ._checks import check_int

        self._same_boundary(boundary)
        chains = self._get("chain_moments")
        species = check_int("species", species, 1, self.network.n_species)
        k = chains.shape[-1]
        k = k if max_order is None else check_int("max_order", max_order, 1, k)
        return chains[..., species - 1, :k]

    def to_dict(self) -> dict[str, Any]:
        """``{"times", "moments", "meta"}``; :meth:`from_dict` inverts it."""
        return {"times": self.times, "moments": dict(self.moments), "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Rebuild from :meth:`to_dict` output."""
        missing = [k for k in ("times", "moments", "meta") if k not in data]
        if missing:
            raise ValueError(f"`data` lacks the key(s) {missing} of a {cls.__name__}.")
        return cls(times=data["times"], moments=dict(data["moments"]), meta=dict(data["meta"]))

    def save(self, path: str | os.PathLike) -> None:
        """Write a compressed ``.npz`` to exactly ``path`` (atomically), ``meta`` as JSON."""
        save_npz(path, type(self).__name__, {"times": self.times, **self.moments}, self.meta)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a file written by :meth:`save`, validated as on construction."""
        arrays, meta = load_npz(path, cls.__name__, ["times"])
        times = arrays.pop("times")
        try:
            return cls(times=times, moments=arrays, meta=meta)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{os.fspath(path)!r} holds an invalid {cls.__name__}: {err}") from err


@dataclass
class MomentTrajectory(_RecordedMoments):
    """Observables of one trajectory, recorded during the run without its lattices.

    Made by ``simulate(..., record=["counts", "pair_counts", ...])``.

    Attributes
    ----------
    times : ndarray of float64, shape (n_times,)
        Record times.
    moments : dict of str to ndarray of int64
        ``"counts"`` (n_times, M), ``"pair_counts"`` (n_times, M, M),
        ``"chain_moments"`` (n_times, M, K): chain moments of orders 1..K of
        each species (1D only), with the simulation's boundary.
    meta : dict
        As for :class:`Trajectory`, plus ``record`` (and ``max_order``).

    Examples
    --------
    >>> import dbmtools as dbm
    >>> s0 = dbm.random_state(50, counts=[10], seed=0)
    >>> m = dbm.simulate(s0, dbm.annihilation(1.0), n_steps=20, dt=0.01, seed=0,
    ...                  record=["counts", "chain_moments"])
    >>> m.counts().shape, m.chain_moments().shape
    ((21, 1), (21, 4))
    """


@dataclass
class MomentEnsemble(_RecordedMoments):
    """Observables of many trajectories, recorded during the run without lattices.

    Indexing, ``ens[i]``, gives sample ``i`` as a :class:`MomentTrajectory`.

    Attributes
    ----------
    times : ndarray of float64, shape (n_times,)
    moments : dict of str to ndarray of int64
        As for :class:`MomentTrajectory`, with a leading sample axis.
    meta : dict
    """

    _time_axis: ClassVar[int] = 1

    def __len__(self) -> int:
        return self.n_samples

    def __getitem__(self, i: int) -> MomentTrajectory:
        return MomentTrajectory(
            times=self.times, moments={k: v[i] for k, v in self.moments.items()}, meta=self.meta
        )

    @property
    def n_samples(self) -> int:
        """Number of trajectories."""
        return next(iter(self.moments.values())).shape[0]

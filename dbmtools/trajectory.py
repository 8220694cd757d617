"""Results of the simulator: :class:`Trajectory` and :class:`Ensemble`.

Both hold ``times`` and ``states`` (int8 lattices) and a JSON-ready ``meta``
dict with the parameters that made them (network, shape, boundary, dt,
hop_prob, seed, ...). They save losslessly to ``.npz`` and load back with
``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from . import observables
from .reactions import Network

__all__ = ["Trajectory", "Ensemble"]


@dataclass
class _Recorded:
    times: np.ndarray
    states: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    _time_axis: ClassVar[int] = 0

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.float64)
        self.states = np.asarray(self.states)
        if self.times.ndim != 1:
            raise ValueError(f"`times` must be 1-D; got shape {self.times.shape}.")
        if self.times.size > 1 and np.any(np.diff(self.times) <= 0):
            raise ValueError("`times` must be strictly increasing.")
        if self.states.ndim < self._time_axis + 2:
            raise ValueError(f"`states` has too few axes: shape {self.states.shape}.")
        if self.states.shape[self._time_axis] != self.times.size:
            raise ValueError(
                f"`states` has {self.states.shape[self._time_axis]} records along axis "
                f"{self._time_axis} but `times` has {self.times.size}."
            )
        if not np.issubdtype(self.states.dtype, np.integer):
            raise TypeError(f"`states` must hold integer species codes; got {self.states.dtype}.")
        self.states = self.states.astype(np.int8, copy=False)
        json.dumps(self.meta)  # fail now, not at save time, if meta is not JSON-ready

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
        :func:`dbmtools.chain_moments`."""
        if self.dim != 1:
            raise ValueError(f"Chain moments are defined for 1D lattices; this one is {self.dim}D.")
        return observables.chain_moments(
            self.states, max_order=max_order, boundary=boundary or self.boundary, species=species
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"times", "states", "meta"}``; :meth:`from_dict` inverts it."""
        return {"times": self.times, "states": self.states, "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Rebuild from :meth:`to_dict` output."""
        return cls(times=data["times"], states=data["states"], meta=dict(data["meta"]))

    def save(self, path: str | os.PathLike) -> None:
        """Write a compressed ``.npz`` with ``meta`` stored as JSON."""
        np.savez_compressed(
            path,
            kind=np.array(type(self).__name__),
            times=self.times,
            states=self.states,
            meta=np.array(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a file written by :meth:`save` (no pickles are loaded)."""
        with np.load(path, allow_pickle=False) as data:
            kind = str(data["kind"])
            if kind != cls.__name__:
                raise ValueError(f"{os.fspath(path)!r} holds a {kind}, not a {cls.__name__}.")
            return cls(
                times=data["times"], states=data["states"], meta=json.loads(str(data["meta"]))
            )


@dataclass
class Trajectory(_Recorded):
    """One simulated trajectory.

    Attributes
    ----------
    times : ndarray of float64, shape (n_times,)
        Strictly increasing record times; ``times[0]`` is the initial state.
    states : ndarray of int8, shape ``(n_times, *shape)``
        The lattice at each record time.
    meta : dict
        JSON-ready parameters of the run (network, shape, boundary, dt, ...).

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
        Strictly increasing record times, shared by every sample.
    states : ndarray of int8, shape ``(n_samples, n_times, *shape)``
        The lattices of every sample at each record time.
    meta : dict
        JSON-ready parameters of the run.
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

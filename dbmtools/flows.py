"""Parameter flows with more than three parameters: sums of low-dimensional Hermite grids.

A :class:`~dbmtools.ParameterODE` gives every ``F_k`` the same arguments, at
most three (a Q3 C1 grid in ``d`` dimensions has ``2^d`` coefficients per
vertex, and the number of cells grows as ``n^d``). A family with more
parameters (the two-species lattice gas has five, the Rössler pair family
nine) needs another structure. :class:`AdditiveFlow` is

    dtheta_k / dt = F_k(theta) = sum_g F_kg(theta[args_g]),

a sum of grids over chosen groups of at most three arguments each (one group:
a plain ParameterODE, bit for bit). Each group is a ParameterODE of its own;
the groups are fitted together by one penalised least-squares solve
(:meth:`AdditiveFlow.fit`) and integrated by explicit Euler. Which groups to
use is a modelling choice, measured on validation data by
:func:`dbmtools.closures.learn_closure` (``groups="pairs"``, ``"triples"``, a
single subset, or an explicit list).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ._checks import check_finite_array, check_int, check_nonnegative
from .dynamics import ParameterODE

__all__ = ["AdditiveFlow", "flow_groups", "domain_around"]


def flow_groups(n_params: int, groups) -> list[tuple[int, ...]]:
    """The argument groups of an :class:`AdditiveFlow` from a short description.

    Parameters
    ----------
    n_params : int
    groups : "all", "pairs", "triples", a sequence of int (one group), or a sequence of sequences
        ``"all"``: one group of every parameter (at most 3); ``"pairs"`` /
        ``"triples"``: every pair / triple of parameters.

    Examples
    --------
    >>> flow_groups(3, "pairs")
    [(0, 1), (0, 2), (1, 2)]
    >>> flow_groups(5, [0, 1, 3])
    [(0, 1, 3)]
    """
    K = check_int("n_params", n_params, 1)
    if isinstance(groups, str):
        if groups == "all":
            if K > 3:
                raise ValueError(
                    f"`groups='all'` makes one grid over all {K} parameters; at most 3 fit in a "
                    "Hermite grid: use 'pairs', 'triples' or a list of groups."
                )
            return [tuple(range(K))]
        size = {"pairs": 2, "triples": 3}.get(groups)
        if size is None:
            raise ValueError(
                f"`groups` must be 'all', 'pairs', 'triples' or a list of groups; got {groups!r}."
            )
        return list(itertools.combinations(range(K), min(size, K)))
    items = list(groups)
    if items and all(isinstance(g, (int, np.integer)) for g in items):
        items = [items]
    out = []
    for g in items:
        idx = tuple(check_int("groups", int(a) if isinstance(a, np.integer) else a, 0, K - 1)
                    for a in g)  # fmt: skip
        if not 1 <= len(idx) <= 3 or len(set(idx)) != len(idx):
            raise ValueError(
                f"`groups`: each group must hold 1 to 3 distinct parameter indices; got {g!r}."
            )
        out.append(idx)
    if not out or len(set(out)) != len(out):
        raise ValueError(f"`groups` must be a non-empty list of distinct groups; got {groups!r}.")
    return out


def domain_around(points, cell_size, margin) -> tuple[np.ndarray, np.ndarray]:
    """A box of whole cells (vertices on multiples of ``cell_size``) around ``points`` +- margin.

    Examples
    --------
    >>> lo, hi = domain_around(np.array([[0.1, -0.3], [0.7, 0.2]]), 0.5, 0.0)
    >>> lo.tolist(), hi.tolist()
    ([0.0, -0.5], [1.0, 0.5])
    """
    pts = check_finite_array("points", points, ndim=2)
    cell = np.broadcast_to(np.asarray(cell_size, dtype=np.float64), pts.shape[1:])
    if np.any(~np.isfinite(cell)) or np.any(cell <= 0):
        raise ValueError(f"`cell_size` must be finite and > 0; got {np.asarray(cell_size)}.")
    margin = np.broadcast_to(np.asarray(margin, dtype=np.float64), pts.shape[1:])
    lo = np.floor((pts.min(0) - margin) / cell) * cell
    hi = np.ceil((pts.max(0) + margin) / cell) * cell
    hi = np.where(hi <= lo, lo + cell, hi)
    return lo, hi


class AdditiveFlow:
    """``dtheta/dt = sum_g F_g(theta[args_g])``: a sum of ParameterODEs over argument groups.

    Parameters
    ----------
    odes : sequence of ParameterODE
        One per group, all with the same ``names``, ``dt`` and ``n_substeps``.

    Attributes
    ----------
    odes : list of ParameterODE
    names : tuple of str
    n_params, dt, n_substeps

    Examples
    --------
    >>> flow = AdditiveFlow.around(["x", "y", "z", "w"], "pairs", np.zeros((1, 4)), 0.5,
    ...                            margin=1.0, dt=0.1)
    >>> len(flow.odes), flow.rhs(np.zeros((2, 4))).shape
    (6, (2, 4))
    """

    def __init__(self, odes: Sequence[ParameterODE]) -> None:
        odes = list(odes)
        if not odes or not all(isinstance(o, ParameterODE) for o in odes):
            raise TypeError("`odes` must be a non-empty sequence of ParameterODE.")
        first = odes[0]
        for o in odes[1:]:
            if o.names != first.names or o.dt != first.dt or o.n_substeps != first.n_substeps:
                raise ValueError(
                    "Every ParameterODE of an AdditiveFlow needs the same names, dt and n_substeps."
                )
        self.odes = odes

    @classmethod
    def around(
        cls,
        names: Sequence[str],
        groups,
        points: np.ndarray,
        cell_size: float,
        *,
        margin: float = 0.5,
        dt: float = 0.01,
        n_substeps: int = 1,
    ) -> AdditiveFlow:
        """A zero flow whose grids cover ``points`` (n, K) with whole cells and a ``margin``."""
        pts = check_finite_array("points", points, ndim=2)
        if pts.shape[1] != len(names):
            raise ValueError(f"`points` must have {len(names)} columns; got {pts.shape}.")
        odes = []
        for g in flow_groups(len(names), groups):
            lo, hi = domain_around(pts[:, list(g)], cell_size, margin)
            odes.append(ParameterODE(names, list(g), lo, hi, cell_size, dt=dt,
                                     n_substeps=n_substeps))  # fmt: skip
        return cls(odes)

    @property
    def names(self) -> tuple[str, ...]:
        return self.odes[0].names

    @property
    def n_params(self) -> int:
        return self.odes[0].n_params

    @property
    def dt(self) -> float:
        return self.odes[0].dt

    @property
    def n_substeps(self) -> int:
        return self.odes[0].n_substeps

    @property
    def groups(self) -> list[tuple[int, ...]]:
        """Argument indices of every grid."""
        return [tuple(int(a) for a in o.args) for o in self.odes]

    @property
    def n_dofs(self) -> int:
        """Coefficients of one ``F_k``, summed over the groups."""
        return sum(o.n_dofs for o in self.odes)

    def __repr__(self) -> str:
        groups = [[self.names[a] for a in g] for g in self.groups]
        return f"AdditiveFlow(names={self.names}, groups={groups}, n_dofs={self.n_dofs})"

    def rhs(self, theta: np.ndarray) -> np.ndarray:
        """``F(theta)``, shape like ``theta`` (..., K); raises outside any grid's domain."""
        out = self.odes[0].rhs(theta)
        for o in self.odes[1:]:
            out = out + o.rhs(theta)
        return out

    def inside(self, theta: np.ndarray) -> np.ndarray:
        """Whether each point (..., K) lies inside every grid's domain, shape (...)."""
        th = np.asarray(theta, dtype=np.float64)
        ok = np.all(np.isfinite(th), axis=-1)
        for o in self.odes:
            x = th[..., o.args]
            lo, hi = o.lower, o.upper
            tol = 1e-12 * (np.abs(lo) + (hi - lo))
            ok &= np.all((x >= lo) & (x <= hi + tol), axis=-1)
        return ok

    def solve(self, initial_theta: np.ndarray, n_steps: int, *, outside: str = "raise"):
        """Explicit Euler, ``n_substeps`` per data step, for many initial conditions at once.

        Parameters
        ----------
        initial_theta : array_like, shape (n, K) or (K,)
        n_steps : int
        outside : {"raise", "nan"}
            A trajectory that leaves a grid's domain raises ValueError (naming it,
            the parameter and the time), or continues as NaN from there on.

        Returns
        -------
        ndarray, shape (n, n_steps + 1, K) (or (n_steps + 1, K) for one condition)
        """
        if outside not in ("raise", "nan"):
            raise ValueError(f"`outside` must be 'raise' or 'nan'; got {outside!r}.")
        th0 = check_finite_array("initial_theta", initial_theta)
        single = th0.ndim == 1
        th = np.atleast_2d(th0).astype(np.float64).copy()
        if th.ndim != 2 or th.shape[1] != self.n_params:
            raise ValueError(
                f"`initial_theta` must have shape (n, {self.n_params}); got {th0.shape}."
            )
        n_steps = check_int("n_steps", n_steps, 0)
        if len(self.odes) == 1 and outside == "raise":  # a plain ParameterODE: its numba solve
            out = self.odes[0].solve(th, n_steps)
            return out[0] if single else out
        h = self.dt / self.n_substeps
        out = np.full((th.shape[0], n_steps + 1, self.n_params), np.nan)
        alive = self.inside(th)
        if outside == "raise" and not alive.all():
            self.odes[0]._check_inside(th[~alive], "initial_theta")
            for o in self.odes:
                o._check_inside(th[~alive], "initial_theta")
        out[alive, 0] = th[alive]
        for n in range(n_steps):
            for s in range(self.n_substeps):
                if alive.any():
                    th[alive] = th[alive] + h * self.rhs(th[alive])
                ok = self.inside(th)
                gone = alive & ~ok
                if gone.any():
                    if outside == "raise":
                        i = int(np.flatnonzero(gone)[0])
                        t = n * self.dt + (s + 1) * h
                        for o in self.odes:
                            o._check_inside(th[i : i + 1], f"initial_theta[{i}]", np.array([t]))
                    alive &= ok
            out[alive, n + 1] = th[alive]
        return out[0] if single else out

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        ridge: float = 1e-8,
        roughness: float = 0.0,
        order: int = 2,
        weights: np.ndarray | None = None,
    ) -> AdditiveFlow:
        """Fit every ``F_k`` to rate samples by one penalised least-squares solve over all grids.

        Minimises ``sum_i w_i (F_k(x_i) - y_ik)^2 + ridge |u_k|^2 + roughness
        sum_g u_kg^T R_g u_kg`` for the **change** ``u`` from the coefficients
        held on entry (as :func:`dbmtools.closures.fit_flow`, which this is for one
        group), ``R_g`` the roughness form of grid ``g``
        (:meth:`dbmtools.HermiteGrid.roughness_matrix`). The grids share one
        sparse factorisation for all ``K`` right-hand sides; with one group this
        is :func:`dbmtools.closures.fit_flow`.

        Returns
        -------
        AdditiveFlow
            ``self``, fitted in place.
        """
        import scipy.sparse
        import scipy.sparse.linalg

        pts = check_finite_array("x", x, ndim=2)
        rates = check_finite_array("y", y, ndim=2)
        if pts.shape[1] != self.n_params or rates.shape != pts.shape:
            raise ValueError(
                f"`x` and `y` must both have shape (n, {self.n_params}); got "
                f"{pts.shape} and {rates.shape}."
            )
        ridge = check_nonnegative("ridge", ridge)
        roughness = check_nonnegative("roughness", roughness)
        wts = np.ones(len(pts)) if weights is None else check_finite_array("weights", weights,
                                                                            ndim=1)  # fmt: skip
        if wts.shape != (len(pts),) or np.any(wts < 0):
            raise ValueError(f"`weights` must be {len(pts)} non-negative numbers.")
        blocks, penalties = [], []
        for o in self.odes:
            grid = o.grid(0)
            idx, w = grid.basis(pts[:, o.args])
            n, nb = w.shape
            blocks.append(
                scipy.sparse.csr_matrix(
                    (w.ravel(), idx.ravel(), np.arange(0, n * nb + 1, nb)), shape=(n, o.n_dofs)
                )
            )
            penalties.append(
                roughness * grid.roughness_matrix(order)
                if roughness > 0
                else scipy.sparse.csr_matrix((o.n_dofs, o.n_dofs))
            )
        a = scipy.sparse.hstack(blocks).tocsr()
        normal = (
            a.T @ scipy.sparse.diags(wts) @ a
            + ridge * scipy.sparse.identity(a.shape[1])
            + scipy.sparse.block_diag(penalties)
        )
        diag = normal.diagonal()
        if np.any(diag <= 0):
            raise ValueError(
                f"{int(np.sum(diag <= 0))} degrees of freedom see no sample and no penalty: "
                "pass `ridge` > 0 or `roughness` > 0."
            )
        scale = 1.0 / np.sqrt(diag)
        scaled = (scipy.sparse.diags(scale) @ normal @ scipy.sparse.diags(scale)).tocsc()
        lu = scipy.sparse.linalg.splu(scaled)
        rhs = a.T @ (wts[:, None] * (rates - self.rhs(pts)))
        change = scale[:, None] * lu.solve(scale[:, None] * rhs)
        change += scale[:, None] * lu.solve(scale[:, None] * (rhs - normal @ change))
        if not np.all(np.isfinite(change)):
            raise ValueError("The least-squares system is singular; raise `ridge` or `roughness`.")
        start = 0
        for o in self.odes:
            o.coeffs = o.coeffs + change[start : start + o.n_dofs].T
            start += o.n_dofs
        return self

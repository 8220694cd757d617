"""Q3 C1 (cubic Hermite) finite elements on tensor-product grids in 1 to 3 dimensions.

The paper parameterises the right-hand side of every parameter ODE by these
elements (eq. 34, Fig. 1(d)): ``F(x) = sum_l u_l f_l(x)``. In 1D each vertex
carries two degrees of freedom, the value and the first derivative; the
basis functions on a cell ``[x_i, x_i + h]`` are, with ``t = (x - x_i) / h``,

* ``h00(t) = 1 - 3t^2 + 2t^3``      (value at the left vertex),
* ``h10(t) = t - 2t^2 + t^3``       (slope at the left vertex),
* ``h01(t) = 3t^2 - 2t^3``          (value at the right vertex),
* ``h11(t) = -t^2 + t^3``           (slope at the right vertex).

In ``d`` dimensions the basis functions are products of one 1D function per
axis, so each vertex carries ``2**d`` degrees of freedom and each cell has
``4**d`` non-zero basis functions.

Coefficient layout
------------------
``grid.coeffs`` has shape ``(*n_vertices, 2**d)``. Entry ``[i_0, .., i_{d-1}, m]``
is the derivative of ``F`` at vertex ``lower + i * cell_size``, taken once along
every axis ``k`` whose bit ``(m >> k) & 1`` is set: ``m = 0`` is ``F``, and in 3D
``m = 1, 2, 3, 4, 5, 6, 7`` are ``F_x, F_y, F_xy, F_z, F_xz, F_yz, F_xyz``.

Derivatives are **physical** (with respect to the coordinates ``x``), not
cell-local (with respect to ``t``): the slope basis function of a cell of size
``h`` is ``h * h10(t)``. The authors' published code (Q3-C1-Finite-Elements 2.0)
stored cell-local slopes ``dF/dt = h dF/dx``; divide those by ``h`` once per
differentiated axis to convert them to ours.

Kernel-level access
-------------------
Numba code (the learning loop) can skip the Python layer: ``grid.kernel_args``
is a tuple ``(lower, cell_size, n_cells, vertex_strides, coeffs_flat)`` of
arrays (``coeffs_flat`` is a live view of ``grid.coeffs``) and
:func:`evaluate_point` is an ``@njit`` function that evaluates one point with
them, filling caller-owned buffers. It never raises: a point outside the grid
or a non-finite one gives NaN.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import check_nonnegative
from ._config import njit
from ._io import load_npz, save_npz

__all__ = [
    "HermiteGrid",
    "cell_tables",
    "evaluate_point",
    "Interpolation1D",
    "hermite_cubics",
    "interpolate_1d",
    "convergence_order",
]

_OUTSIDE = ("raise", "nan")
#: Largest number of coefficients for which :meth:`HermiteGrid.fit` factorises densely.
_DENSE_FIT_MAX = 4000
_SINGULAR = (
    "`x`: the samples do not determine all coefficients (the normal equations are "
    "singular); pass `ridge` > 0 (e.g. 1e-8) or add samples."
)


# ---------------------------------------------------------------------------
# 1D cubics
# ---------------------------------------------------------------------------
def hermite_cubics(t: np.ndarray | float, *, derivative: int = 0) -> np.ndarray:
    """The four 1D Hermite cubics on the reference cell ``[0, 1]`` (Fig. 1(d)).

    Parameters
    ----------
    t : array_like of float
        Points in ``[0, 1]``.
    derivative : {0, 1, 2}
        ``0`` for the functions, ``1`` for their derivatives ``d/dt``, ``2`` for
        their second derivatives.

    Returns
    -------
    ndarray, shape ``(4, *t.shape)``
        ``h00, h10, h01, h11``: value at 0, slope at 0, value at 1, slope at 1.

    Examples
    --------
    >>> hermite_cubics([0.0, 0.5, 1.0]).round(3).tolist()
    [[1.0, 0.5, 0.0], [0.0, 0.125, 0.0], [0.0, 0.5, 1.0], [0.0, -0.125, 0.0]]
    """
    t = np.asarray(t, dtype=np.float64)
    if derivative not in (0, 1, 2):
        raise ValueError(f"`derivative` must be 0, 1 or 2; got {derivative!r}.")
    if not np.all(np.isfinite(t)) or np.any((t < 0) | (t > 1)):
        raise ValueError("`t` must hold finite points in [0, 1] (the reference cell).")
    if derivative == 0:
        return np.stack(
            [1 - 3 * t**2 + 2 * t**3, t - 2 * t**2 + t**3, 3 * t**2 - 2 * t**3, t**3 - t**2]
        )
    if derivative == 1:
        return np.stack(
            [6 * t**2 - 6 * t, 1 - 4 * t + 3 * t**2, 6 * t - 6 * t**2, 3 * t**2 - 2 * t]
        )
    return np.stack([12 * t - 6, 6 * t - 4, 6 - 12 * t, 6 * t - 2])


# ---------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------
class HermiteGrid:
    """A function ``F: R^d -> R`` in Q3 C1 (cubic Hermite) finite elements, d = 1, 2, 3.

    Parameters
    ----------
    lower, upper : sequence of float, length d
        Corners of the box-shaped domain; ``lower < upper`` on every axis.
    cell_size : float or sequence of float
        Side of the cells, one for all axes or one per axis. The vertices are at
        ``lower + i * cell_size``; ``upper`` must be one of them (relative
        tolerance 1e-9), so the cells tile the domain exactly; the stored
        ``cell_size`` is ``(upper - lower) / n_cells``.
    coeffs : array_like, shape ``(*n_vertices, 2**d)``, optional
        Degrees of freedom (see the module docstring); zeros by default.

    Attributes
    ----------
    dim : int
        Number of coordinates ``d``.
    lower, upper, cell_size : ndarray, shape (d,)
    n_cells : tuple of int
        Cells per axis.
    n_vertices : tuple of int
        Vertices per axis, ``n_cells + 1``.
    coeffs : ndarray, shape ``(*n_vertices, 2**d)``
        Value and physical mixed derivatives at each vertex. Assigning to it
        copies into the existing buffer, so ``kernel_args`` stays valid.

    Raises
    ------
    ValueError
        Bounds or cell sizes of the wrong length, non-finite, ``upper <= lower``,
        ``cell_size <= 0``, or ``upper`` not on the vertex lattice; later, points
        outside the domain or non-finite, and coefficients of the wrong shape.
    TypeError
        Non-numeric bounds.

    Notes
    -----
    ``F(x) = sum_l u_l f_l(x)`` (eq. 34 of :cite:`ernst2019`), where each
    ``f_l`` is a product over axes of one of the 1D cubics of
    :func:`hermite_cubics`, scaled by the cell size along every axis on which
    it carries a slope. Value and first derivatives are continuous across
    cell faces (C1), which the adjoint (eq. 31) and sensitivity (eq. 30)
    equations need. Every polynomial of degree <= 3 in each coordinate is
    reproduced exactly.

    Examples
    --------
    >>> g = HermiteGrid([-1.0, -1.0], [1.0, 1.0], 0.5)
    >>> g.n_cells, g.coeffs.shape
    ((4, 4), (5, 5, 4))
    >>> _ = g.interpolate(lambda x: x[:, 0] ** 3 * x[:, 1],
    ...                   lambda x: np.stack([3 * x[:, 0] ** 2 * x[:, 1], x[:, 0] ** 3,
    ...                                       3 * x[:, 0] ** 2], axis=1))
    >>> round(float(g([0.3, -0.7])), 6), round(0.3 ** 3 * -0.7, 6)
    (-0.0189, -0.0189)
    >>> g.gradient([0.3, -0.7]).round(4).tolist()
    [-0.189, 0.027]
    """

    def __init__(
        self,
        lower: Sequence[float],
        upper: Sequence[float],
        cell_size: float | Sequence[float],
        *,
        coeffs: np.ndarray | None = None,
    ) -> None:
        lo, hi, h, n = _check_domain(lower, upper, cell_size)
        self.dim = lo.size
        self.lower, self.upper, self.cell_size = lo, hi, h
        self.n_cells = tuple(int(v) for v in n)
        self.n_vertices = tuple(int(v) + 1 for v in n)
        self._n_cells = n.astype(np.int64)
        # C-order strides of the vertex array, in vertices
        self._strides = np.array(
            [int(np.prod(self.n_vertices[k + 1 :])) for k in range(self.dim)], dtype=np.int64
        )
        self._coeffs = np.zeros((*self.n_vertices, 2**self.dim), dtype=np.float64)
        if coeffs is not None:
            self.coeffs = coeffs

    # -- properties ---------------------------------------------------------
    @property
    def coeffs(self) -> np.ndarray:
        """Degrees of freedom, shape ``(*n_vertices, 2**dim)`` (layout: module docstring)."""
        return self._coeffs

    @coeffs.setter
    def coeffs(self, value: np.ndarray) -> None:
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != self._coeffs.shape:
            raise ValueError(
                f"`coeffs` must have shape {self._coeffs.shape} (*n_vertices, 2**dim); "
                f"got {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("`coeffs` must be finite; got NaN or inf.")
        self._coeffs[...] = arr

    @property
    def n_dofs(self) -> int:
        """Total number of degrees of freedom, ``prod(n_vertices) * 2**dim``."""
        return self._coeffs.size

    @property
    def vertices(self) -> np.ndarray:
        """Coordinates of the vertices, shape ``(*n_vertices, dim)``."""
        axes = [
            self.lower[k] + self.cell_size[k] * np.arange(n) for k, n in enumerate(self.n_vertices)
        ]
        mesh = np.meshgrid(*axes, indexing="ij")
        pts = np.stack(mesh, axis=-1)
        # pin the last vertex to `upper` exactly (it is within 1e-9 relative)
        for k in range(self.dim):
            idx = [slice(None)] * self.dim
            idx[k] = -1
            pts[(*idx, k)] = self.upper[k]
        return pts

    @property
    def kernel_args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(lower, cell_size, n_cells, vertex_strides, coeffs_flat)`` for :func:`evaluate_point`.

        ``coeffs_flat`` is a view of :attr:`coeffs`, so in-place updates (and
        assignments to ``grid.coeffs``) are seen by numba code holding it.
        """
        return self.lower, self.cell_size, self._n_cells, self._strides, self._coeffs.reshape(-1)

    def __repr__(self) -> str:
        return (
            f"HermiteGrid(lower={self.lower.tolist()}, upper={self.upper.tolist()}, "
            f"cell_size={self.cell_size.tolist()}, n_dofs={self.n_dofs})"
        )

    # -- evaluation ----------------------------------------------------------
    def __call__(self, x: np.ndarray, *, outside: str = "raise") -> np.ndarray | float:
        """Values ``F(x)``.

        Parameters
        ----------
        x : array_like, shape (n, dim) or (dim,)
            Points (for ``dim == 1`` also shape (n,) is not accepted: use (n, 1)).
        outside : {"raise", "nan"}
            Points outside the closed domain raise ``ValueError`` (default) or
            give NaN. They are never clamped.

        Returns
        -------
        ndarray, shape (n,), or float for a single point of shape (dim,).
        """
        pts, single, inside = self._check_points(x, outside)
        val, _, _, _ = self._run(pts, inside, want_grad=False, want_basis=False)
        return float(val[0]) if single else val

    def gradient(self, x: np.ndarray, *, outside: str = "raise") -> np.ndarray:
        """Physical gradient ``dF/dx``, shape (n, dim) (or (dim,) for one point).

        Parameters and policy as in :meth:`__call__`.
        """
        pts, single, inside = self._check_points(x, outside)
        _, grad, _, _ = self._run(pts, inside, want_grad=True, want_basis=False)
        return grad[0] if single else grad

    def value_and_gradient(
        self, x: np.ndarray, *, outside: str = "raise"
    ) -> tuple[np.ndarray | float, np.ndarray]:
        """``(grid(x), grid.gradient(x))`` from one pass of the kernel."""
        pts, single, inside = self._check_points(x, outside)
        val, grad, _, _ = self._run(pts, inside, want_grad=True, want_basis=False)
        return (float(val[0]), grad[0]) if single else (val, grad)

    def basis(self, x: np.ndarray, *, outside: str = "raise") -> tuple[np.ndarray, np.ndarray]:
        """The ``4**dim`` basis functions that are non-zero at each point.

        Returns
        -------
        indices : ndarray of int64, shape ``(n, 4**dim)`` (or ``(4**dim,)`` for one point)
            Positions in ``coeffs.flat`` (equivalently ``coeffs.reshape(-1)``).
        weights : ndarray of float, same shape
            Basis function values, so that
            ``grid(x) == ``(weights * grid.coeffs.flat[indices])``.sum(-1)``; this is
            ``dF/du`` for the sensitivity equation (30). For points outside the
            domain under ``outside="nan"`` the indices are 0 and the weights NaN.

        Examples
        --------
        >>> g = HermiteGrid([0.0], [2.0], 1.0)
        >>> idx, w = g.basis([0.5])
        >>> idx.tolist(), w.round(4).tolist()
        ([0, 1, 2, 3], [0.5, 0.125, 0.5, -0.125])
        """
        pts, single, inside = self._check_points(x, outside)
        _, _, idx, w = self._run(pts, inside, want_grad=False, want_basis=True)
        return (idx[0], w[0]) if single else (idx, w)

    def cell_index(self, x: np.ndarray) -> np.ndarray:
        """Index of the cell that holds each point, per axis.

        The rule of the evaluation kernel (:func:`cell_tables`): a point on an
        interior face belongs to the cell above it, and a point on the upper
        boundary to the last cell (it is that cell's ``t = 1`` face, not a
        clamped outside point: points outside the domain raise).

        Parameters
        ----------
        x : array_like, shape (n, dim) or (dim,)

        Returns
        -------
        ndarray of int64, shape (n, dim) or (dim,)

        Examples
        --------
        >>> g = HermiteGrid([0.0], [2.0], 0.5)
        >>> g.cell_index([[0.1], [0.5], [2.0]]).ravel().tolist()
        [0, 1, 3]
        """
        pts, single, _ = self._check_points(x, "raise")
        idx = np.floor((pts - self.lower) / self.cell_size).astype(np.int64)
        idx = np.minimum(idx, self._n_cells - 1)  # x == upper: the last cell's far face
        return idx[0] if single else idx

    def _run(self, pts, inside, want_grad, want_basis):
        n, d = pts.shape
        nb = 4**d
        val = np.empty(n)
        grad = np.empty((n, d) if want_grad else (0, d))
        idx = np.empty((n, nb) if want_basis else (0, nb), dtype=np.int64)
        w = np.empty((n, nb) if want_basis else (0, nb))
        lo, h, nc, st, cf = self.kernel_args
        _evaluate_points(pts, inside, lo, h, nc, st, cf, val, grad, idx, w)
        return val, grad, idx, w

    def _check_points(self, x, outside):
        if outside not in _OUTSIDE:
            raise ValueError(f"`outside` must be 'raise' or 'nan'; got {outside!r}.")
        pts = np.asarray(x, dtype=np.float64)
        single = pts.ndim == 1
        if single:
            pts = pts.reshape(1, -1)
        if pts.ndim != 2 or pts.shape[1] != self.dim:
            raise ValueError(
                f"`x` must have shape (n, {self.dim}) or ({self.dim},) for this {self.dim}D "
                f"grid; got {np.shape(x)}."
            )
        if not pts.flags.c_contiguous:
            pts = np.ascontiguousarray(pts)
        inside = np.empty(pts.shape[0], dtype=np.bool_)
        bad, out = _check_points_kernel(pts, self.lower, self.upper, inside)
        if bad >= 0:
            raise ValueError(f"`x` must be finite; point {bad} is {pts[bad].tolist()}.")
        if outside == "raise" and out >= 0:
            raise ValueError(
                f"`x`: point {out} = {pts[out].tolist()} is outside the grid's domain "
                f"[{self.lower.tolist()}, {self.upper.tolist()}] (pass outside='nan' for NaN)."
            )
        return pts, single, inside

    # -- setting coefficients -------------------------------------------------
    def interpolate(
        self,
        f: Callable[[np.ndarray], np.ndarray],
        derivatives: Callable[[np.ndarray], np.ndarray] | str,
        *,
        step: float | None = None,
    ) -> HermiteGrid:
        """Set the coefficients from a function and its derivatives at the vertices.

        Parameters
        ----------
        f : callable
            ``f(x)`` for points ``x`` of shape (n, dim) returns values, shape (n,).
        derivatives : callable or "central"
            ``derivatives(x)`` returns shape ``(n, 2**dim - 1)``: the physical
            derivatives ``m = 1 .. 2**dim - 1`` in the layout of the module
            docstring (1D: ``f'``; 2D: ``f_x, f_y, f_xy``; 3D: ``f_x, f_y,
            f_xy, f_z, f_xz, f_yz, f_xyz``). ``"central"`` estimates them by
            central differences of ``f`` with ``step`` (which evaluates ``f``
            up to ``step`` outside the domain): an approximation, O(step^2).
        step : float, optional
            Relative step for ``"central"``, as a fraction of the cell size
            (default 1e-3).

        Returns
        -------
        HermiteGrid
            ``self``, with :attr:`coeffs` set.
        """
        pts = self.vertices.reshape(-1, self.dim)
        nd = 2**self.dim
        vals = _call(f, pts, (pts.shape[0],), "f")
        if isinstance(derivatives, str):
            if derivatives != "central":
                raise ValueError(
                    f"`derivatives` must be a callable or 'central'; got {derivatives!r}."
                )
            rel = 1e-3 if step is None else step
            if isinstance(rel, bool) or not isinstance(rel, numbers.Real) or not 0 < rel <= 0.1:
                raise ValueError(
                    f"`step` must be in (0, 0.1] (a fraction of the cell); got {step!r}."
                )
            ders = _central_derivatives(f, pts, float(rel) * self.cell_size)
        elif callable(derivatives):
            ders = _call(derivatives, pts, (pts.shape[0], nd - 1), "derivatives")
        else:
            raise TypeError(f"`derivatives` must be a callable or 'central'; got {derivatives!r}.")
        self.coeffs = np.concatenate([vals[:, None], ders], axis=1).reshape(self._coeffs.shape)
        return self

    def roughness_matrix(self, order: int = 2):
        """The ``H^order`` seminorm of the interpolant as a quadratic form in the coefficients.

        Returns the sparse symmetric matrix ``R`` with
        ``u @ R @ u == integral over the domain of sum_{|a| = order} (order! / a!) (d^a F)^2``
        for ``u = coeffs.reshape(-1)``, where ``a`` runs over multi-indices of
        derivative orders per axis. ``order=1`` gives the Dirichlet energy
        ``int |grad F|^2`` (its null space: constants), ``order=2`` the thin-plate
        energy ``int F_xx^2 + 2 F_xy^2 + F_yy^2`` in 2D (null space: affine functions);
        the multinomial weights make both invariant under rotations. Used as a
        roughness penalty that spreads what samples determine into the cells
        around them (:meth:`fit`).

        The matrix is exact: the element integrals of the products of cubics are
        computed by 4-point Gauss-Legendre quadrature per axis, exact for
        polynomials of degree 7, and assembled as Kronecker products of 1D matrices.

        Parameters
        ----------
        order : {0, 1, 2}
            Derivative order; ``0`` gives the mass matrix (the L2 norm).

        Returns
        -------
        scipy.sparse.csr_matrix, shape (n_dofs, n_dofs)

        Examples
        --------
        The thin-plate energy of ``F(x) = x**3`` on ``[0, 1]`` is ``int (6x)^2 = 12``:

        >>> g = HermiteGrid([0.0], [1.0], 0.25)
        >>> _ = g.interpolate(lambda x: x[:, 0] ** 3, lambda x: 3 * x[:, :1] ** 2)
        >>> u = g.coeffs.reshape(-1)
        >>> round(float(u @ (g.roughness_matrix(2) @ u)), 10)
        12.0
        """
        import math

        import scipy.sparse

        if order not in (0, 1, 2):
            raise ValueError(f"`order` must be 0, 1 or 2; got {order!r}.")
        per_axis = [
            [_matrix_1d(self.n_cells[k], self.cell_size[k], j) for j in range(order + 1)]
            for k in range(self.dim)
        ]
        total = None
        for alpha in _multi_indices(self.dim, order):
            weight = math.factorial(order) / np.prod([math.factorial(a) for a in alpha])
            term = per_axis[0][alpha[0]]
            for k in range(1, self.dim):
                term = scipy.sparse.kron(term, per_axis[k][alpha[k]], format="csr")
            total = weight * term if total is None else total + weight * term
        # Kronecker order is (i_0, bit_0, i_1, bit_1, ...); coeffs.flat orders the vertex
        # first, then the bits (axis k in bit k): permute rows and columns to it
        perm = self._kron_to_flat()
        out = scipy.sparse.csr_matrix(total)
        inverse = np.empty_like(perm)
        inverse[perm] = np.arange(perm.size)
        return out[inverse][:, inverse].tocsr()

    def _kron_to_flat(self) -> np.ndarray:
        """``coeffs.flat`` index of each Kronecker position ``(i_0, b_0, .., i_{d-1}, b_{d-1})``."""
        grids = np.meshgrid(
            *[np.arange(2 * n) for n in self.n_vertices], indexing="ij"
        )  # 1D index 2 i + b per axis
        flat = np.zeros(grids[0].shape, dtype=np.int64)
        bits = np.zeros_like(flat)
        for k, g in enumerate(grids):
            flat += (g // 2) * self._strides[k]
            bits += (g % 2) << k
        return (flat * 2**self.dim + bits).reshape(-1)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        ridge: float = 0.0,
        roughness: float = 0.0,
        order: int = 2,
        weights: np.ndarray | None = None,
    ) -> HermiteGrid:
        """Least-squares coefficients from samples ``y ~ F(x)``, optionally smoothed.

        Minimises ``sum_i w_i (F(x_i) - y_i)^2 + ridge * sum_l u_l^2 +
        roughness * u @ R @ u`` and sets :attr:`coeffs`, where ``R`` is the
        ``H^order`` seminorm of :meth:`roughness_matrix`. The normal equations are
        assembled sparsely from :meth:`basis`, scaled to unit diagonal, factorised
        (dense Cholesky up to 4000 coefficients, sparse LU above) and the solution
        refined twice with the residual of the least-squares problem itself.

        Parameters
        ----------
        x : array_like, shape (n, dim)
            Sample points inside the domain.
        y : array_like, shape (n,)
        ridge : float
            Tikhonov weight ``>= 0``. Needed when some degrees of freedom are
            not determined by the samples (e.g. cells with too few points);
            without it (or a roughness penalty) that case raises ``ValueError``.
        roughness : float
            Weight ``>= 0`` of the roughness penalty. It carries what the samples
            determine into cells without samples, smoothly: as ``roughness`` grows
            the fit tends to the least-squares fit by the penalty's null space
            (affine functions for ``order=2``).
        order : {1, 2}
            Derivative order of the roughness penalty.
        weights : array_like, shape (n,), optional
            Non-negative sample weights ``w_i`` (ones by default); an integer
            weight counts a sample that many times.

        Returns
        -------
        HermiteGrid
            ``self``, with :attr:`coeffs` set.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> g = HermiteGrid([0.0], [1.0], 0.5)
        >>> x = rng.uniform(0, 1, (50, 1))
        >>> _ = g.fit(x, np.sin(3 * x[:, 0]))
        >>> round(g([0.4]), 3), round(float(np.sin(1.2)), 3)
        (0.932, 0.932)

        Samples only in ``[0, 0.3]``: the roughness penalty extends their straight
        line over the empty cells, where a ridge alone would pull ``F`` to zero.

        >>> g = HermiteGrid([0.0], [1.0], 0.1)
        >>> x = np.linspace(0, 0.3, 20)[:, None]
        >>> round(float(g.fit(x, 2 * x[:, 0] + 1, roughness=1e-6)([0.9])), 6)
        2.8
        """
        import scipy.sparse

        pts = np.asarray(x, dtype=np.float64)
        if pts.ndim != 2:
            raise ValueError(f"`x` must have shape (n, {self.dim}); got {pts.shape}.")
        yy = np.asarray(y, dtype=np.float64)
        if yy.shape != (pts.shape[0],):
            raise ValueError(f"`y` must have shape ({pts.shape[0]},) to match `x`; got {yy.shape}.")
        if not np.all(np.isfinite(yy)):
            raise ValueError("`y` must be finite; got NaN or inf.")
        ridge = check_nonnegative("ridge", ridge)
        roughness = check_nonnegative("roughness", roughness)
        if order not in (1, 2):
            raise ValueError(f"`order` must be 1 or 2; got {order!r}.")
        if weights is None:
            ww = np.ones_like(yy)
        else:
            ww = np.asarray(weights, dtype=np.float64)
            if ww.shape != yy.shape:
                raise ValueError(
                    f"`weights` must have shape {yy.shape} to match `y`; got {ww.shape}."
                )
            if not np.all(np.isfinite(ww)) or np.any(ww < 0):
                raise ValueError("`weights` must be finite and non-negative.")
        idx, w = self.basis(pts)
        n, nb = w.shape
        a = scipy.sparse.csr_matrix(
            (w.ravel(), idx.ravel(), np.arange(0, n * nb + 1, nb)), shape=(n, self.n_dofs)
        )
        aw = scipy.sparse.diags(ww) @ a
        penalty = ridge * scipy.sparse.identity(self.n_dofs, format="csc")
        if roughness > 0:
            penalty = penalty + roughness * self.roughness_matrix(order)
        normal = (a.T @ aw + penalty).tocsc()
        rhs = aw.T @ yy
        diag = normal.diagonal()
        if np.any(diag <= 0):
            raise ValueError(
                f"`x`: {int(np.sum(diag <= 0))} of {self.n_dofs} degrees of freedom see no "
                "sample; pass `ridge` > 0 (e.g. 1e-8), `roughness` > 0, or add samples."
            )
        s = 1.0 / np.sqrt(diag)
        scale = scipy.sparse.diags(s)
        solve = _spd_solver(scale @ normal @ scale, dense=self.n_dofs <= _DENSE_FIT_MAX)
        u = solve(rhs * s) * s
        for _ in range(2):  # corrected semi-normal equations: refine with the true residual
            res = aw.T @ (yy - a @ u) - penalty @ u
            u += solve(res * s) * s
        if not np.all(np.isfinite(u)):
            raise ValueError(_SINGULAR)
        self.coeffs = u.reshape(self._coeffs.shape)
        return self

    # -- persistence -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"lower", "upper", "cell_size", "coeffs"}``; :meth:`from_dict` inverts it."""
        return {
            "lower": self.lower.copy(),
            "upper": self.upper.copy(),
            "cell_size": self.cell_size.copy(),
            "coeffs": self._coeffs.copy(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HermiteGrid:
        """Rebuild a grid from :meth:`to_dict` output (arrays or lists)."""
        missing = {"lower", "upper", "cell_size", "coeffs"} - set(data)
        if missing:
            raise ValueError(f"`data` lacks the keys {sorted(missing)}.")
        return cls(data["lower"], data["upper"], data["cell_size"], coeffs=data["coeffs"])

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` file (no pickles) that :meth:`load` reads back exactly.

        Written atomically to exactly ``path`` (no suffix is added), by
        :func:`dbmtools._io.save_npz`.
        """
        save_npz(path, type(self).__name__, self.to_dict(), {"format": 1})

    @classmethod
    def load(cls, path: str | os.PathLike) -> HermiteGrid:
        """Read a file written by :meth:`save` (``allow_pickle=False``), validated as on
        construction; a bad file raises ``ValueError`` naming it."""
        names = ("lower", "upper", "cell_size", "coeffs")
        arrays, _ = load_npz(path, cls.__name__, names)
        try:
            return cls.from_dict({k: arrays[k] for k in names})
        except (TypeError, ValueError) as err:
            raise ValueError(f"{os.fspath(path)!r} holds an invalid {cls.__name__}: {err}") from err


# ---------------------------------------------------------------------------
# Convergence and interpolation helpers for the notebook
# ---------------------------------------------------------------------------
def convergence_order(cell_sizes: np.ndarray, errors: np.ndarray) -> float:
    """Slope of ``log(error)`` against ``log(cell_size)`` (least squares).

    Examples
    --------
    >>> round(convergence_order([0.5, 0.25, 0.125], [1e-2, 6.25e-4, 3.90625e-5]), 6)
    4.0
    """
    h = np.asarray(cell_sizes, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if h.shape != e.shape or h.ndim != 1 or h.size < 2:
        raise ValueError("`cell_sizes` and `errors` must be 1-D of equal length >= 2.")
    if np.any(h <= 0) or np.any(e <= 0) or not np.all(np.isfinite(e)):
        raise ValueError("`cell_sizes` and `errors` must be positive and finite.")
    return float(np.polyfit(np.log(h), np.log(e), 1)[0])


@dataclass
class Interpolation1D:
    """Result of :func:`interpolate_1d`.

    Attributes
    ----------
    grid : HermiteGrid
        The interpolant (values and slopes of ``f`` at the vertices).
    fitted : HermiteGrid or None
        The least-squares fit to the samples, if any were given.
    errors : dict
        ``{"interpolation": max |F - f|}``, and ``"fit": max |F_fit - f|`` with
        samples, both on 801 points of ``[lower, upper]``.
    lower, upper : float
        The interval the errors (and the figure) cover.
    """

    grid: HermiteGrid
    fitted: HermiteGrid | None
    errors: dict
    lower: float
    upper: float


def interpolate_1d(
    f: Callable,
    derivative: Callable,
    cell_size: float,
    samples=None,
    *,
    lower: float = -1.0,
    upper: float = 1.0,
) -> Interpolation1D:
    """Interpolate ``f`` (and least-squares fit ``samples``) on 1D cells of size ``cell_size``.

    The grid starts at ``lower`` and has ``ceil((upper - lower) / cell_size)``
    cells of exactly ``cell_size``, so it covers ``[lower, upper]`` (its last
    cell may reach beyond ``upper``; ``f`` must be defined there).

    Parameters
    ----------
    f, derivative : callable
        The function and its derivative, 1-D arrays in and out.
    cell_size : float
    samples : tuple of two 1-D arrays, optional
        Noisy samples ``(x, y)`` to fit, with a ridge of 1e-8 so that cells
        without samples stay defined.
    lower, upper : float
        The interval on which the errors are measured.

    Returns
    -------
    Interpolation1D
        Draw it with :func:`dbmtools.plotting.plot_interpolation_1d`.

    Examples
    --------
    >>> r = interpolate_1d(np.sin, np.cos, 0.5)
    >>> r.grid.n_cells, r.errors["interpolation"] < 1e-3
    ((4,), True)
    """
    n = int(np.ceil((upper - lower) / cell_size - 1e-9))
    grid = HermiteGrid([lower], [lower + n * cell_size], cell_size)
    grid.interpolate(lambda p: f(p[:, 0]), lambda p: derivative(p[:, 0])[:, None])
    x = np.linspace(lower, upper, 801)
    errors = {"interpolation": float(np.abs(grid(x[:, None]) - f(x)).max())}
    fitted = None
    if samples is not None:
        fitted = HermiteGrid(grid.lower, grid.upper, cell_size)
        fitted.fit(np.asarray(samples[0])[:, None], samples[1], ridge=1e-8)
        errors["fit"] = float(np.abs(fitted(x[:, None]) - f(x)).max())
    return Interpolation1D(grid, fitted, errors, float(lower), float(upper))


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------
def _multi_indices(dim: int, order: int) -> list[tuple[int, ...]]:
    """Every tuple of ``dim`` non-negative integers summing to ``order``."""
    if dim == 1:
        return [(order,)]
    return [(a, *rest) for a in range(order, -1, -1) for rest in _multi_indices(dim - 1, order - a)]


def _matrix_1d(n_cells: int, h: float, derivative: int):
    """``int f_a^(j) f_b^(j) dx`` over the 1D Hermite basis, dofs ordered ``2 i + bit``."""
    import scipy.sparse

    nodes, gauss_weights = np.polynomial.legendre.leggauss(4)
    t = (nodes + 1) / 2
    phi = hermite_cubics(t, derivative=derivative)  # (4, n_q) in t
    phi = phi * np.array([1.0, h, 1.0, h])[:, None] * h**-derivative  # physical
    local = (phi * (gauss_weights / 2 * h)) @ phi.T  # (4, 4)
    rows, cols, vals = [], [], []
    for c in range(n_cells):
        dofs = np.arange(2 * c, 2 * c + 4)
        rows.append(np.repeat(dofs, 4))
        cols.append(np.tile(dofs, 4))
        vals.append(local.ravel())
    size = 2 * (n_cells + 1)
    return scipy.sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )


def _as_vector(value, name, dim=None):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a number or a sequence of numbers; got {value!r}."
        ) from None
    if arr.ndim == 0 and dim is not None:
        arr = np.full(dim, float(arr))
    if arr.ndim != 1 or not 1 <= arr.size <= 3:
        raise ValueError(f"`{name}` must be a sequence of 1 to 3 numbers; got {value!r}.")
    if dim is not None and arr.size != dim:
        raise ValueError(f"`{name}` must have length {dim} (the grid's dim); got {arr.size}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    return np.ascontiguousarray(arr)


def _check_domain(lower, upper, cell_size):
    lo = _as_vector(lower, "lower")
    hi = _as_vector(upper, "upper", lo.size)
    h = _as_vector(cell_size, "cell_size", lo.size)
    if np.any(hi <= lo):
        raise ValueError(
            f"`upper` must exceed `lower` on every axis; got {lo.tolist()} and {hi.tolist()}."
        )
    if np.any(h <= 0):
        raise ValueError(f"`cell_size` must be > 0 on every axis; got {h.tolist()}.")
    ratio = (hi - lo) / h
    n = np.round(ratio)
    if np.any(np.abs(ratio - n) > 1e-9 * np.maximum(1.0, n)) or np.any(n < 1):
        raise ValueError(
            f"`upper` - `lower` = {(hi - lo).tolist()} must be a whole number (>= 1) of "
            f"`cell_size` = {h.tolist()} on every axis; got {ratio.tolist()} cells."
        )
    h = (hi - lo) / n  # exact tiling: lower + n * cell_size == upper up to rounding
    if np.prod(n + 1) * 2**lo.size > 5e7:
        raise ValueError(f"The grid would have {int(np.prod(n + 1))} vertices; use larger cells.")
    return lo, hi, h, n


def _call(func, pts, shape, name):
    out = np.asarray(func(pts), dtype=np.float64)
    if shape[1:] == (1,) and out.shape == shape[:1]:
        out = out[:, None]
    if out.shape != shape:
        raise ValueError(
            f"`{name}` must return shape {shape} for {shape[0]} points; got {out.shape}."
        )
    if not np.all(np.isfinite(out)):
        raise ValueError(f"`{name}` returned NaN or inf at some vertex.")
    return out


def _central_derivatives(f, pts, step):
    """Mixed central differences of ``f`` for every derivative bit pattern m >= 1."""
    d = pts.shape[1]
    out = np.empty((pts.shape[0], 2**d - 1))
    for m in range(1, 2**d):
        axes = [k for k in range(d) if (m >> k) & 1]
        acc = np.zeros(pts.shape[0])
        for signs in np.ndindex(*(2,) * len(axes)):
            shift = np.zeros(d)
            sgn = 1.0
            for k, s in zip(axes, signs, strict=True):
                shift[k] = step[k] if s == 0 else -step[k]
                sgn *= 1.0 if s == 0 else -1.0
            acc += sgn * np.asarray(f(pts + shift), dtype=np.float64)
        out[:, m - 1] = acc / np.prod(2 * step[axes])
    return out


def _spd_solver(matrix, dense):
    """A solve function for the unit-diagonal SPD normal matrix, or ValueError if singular.

    Dense: Cholesky with LAPACK's condition estimate (singular if rcond <= 1e-14).
    Large grids: sparse LU (SuperLU, COLAMD ordering), singular if a pivot is
    below 1e-14 times the largest. (LAPACK's banded Cholesky was 3x slower here.)
    """
    import scipy.linalg
    import scipy.sparse.linalg

    if dense:
        full = matrix.toarray()
        try:
            factor = scipy.linalg.cho_factor(full)
            rcond, _ = scipy.linalg.lapack.dpocon(factor[0], np.abs(full).sum(axis=0).max())
        except np.linalg.LinAlgError:
            rcond = 0.0
        if not rcond > 1e-14:
            raise ValueError(_SINGULAR)
        return lambda b: scipy.linalg.cho_solve(factor, b)
    try:
        lu = scipy.sparse.linalg.splu(matrix.tocsc())
    except RuntimeError:  # "Factor is exactly singular"
        raise ValueError(_SINGULAR) from None
    pivots = np.abs(lu.U.diagonal())
    if not pivots.min() > 1e-14 * pivots.max():
        raise ValueError(_SINGULAR)
    return lu.solve


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------
@njit
def cell_tables(x, lower, cell_size, n_cells, strides, work):
    """The 1D Hermite cubics and their physical derivatives at ``x``, per axis (numba).

    Fills ``work[0, k, q]`` (value) and ``work[1, k, q]`` (d/dx) of the four
    cubics of axis ``k`` (``q = 2 * vertex + slope bit``) in the cell holding
    ``x``, and returns that cell's vertex offset ``sum(i_k * strides[k])``,
    or -1 (``work`` untouched beyond the failing axis) if ``x`` is outside the
    closed domain or not finite. The shared first step of
    :func:`evaluate_point` and the trainer's basis kernel.
    """
    base = 0
    for k in range(x.shape[0]):
        hk = cell_size[k]
        span = n_cells[k] * hk  # upper - lower, up to rounding
        if not (x[k] >= lower[k] and x[k] <= lower[k] + span + 1e-12 * (abs(lower[k]) + span)):
            return -1
        s = (x[k] - lower[k]) / hk
        i = int(np.floor(s))
        if i >= n_cells[k]:  # x == upper: the last cell (t = 1), not a clamp of x
            i = n_cells[k] - 1
        t = s - i
        t2 = t * t
        t3 = t2 * t
        work[0, k, 0] = 1.0 - 3.0 * t2 + 2.0 * t3
        work[0, k, 1] = hk * (t - 2.0 * t2 + t3)
        work[0, k, 2] = 3.0 * t2 - 2.0 * t3
        work[0, k, 3] = hk * (t3 - t2)
        work[1, k, 0] = (6.0 * t2 - 6.0 * t) / hk
        work[1, k, 1] = 1.0 - 4.0 * t + 3.0 * t2
        work[1, k, 2] = (6.0 * t - 6.0 * t2) / hk
        work[1, k, 3] = 3.0 * t2 - 2.0 * t
        base += i * strides[k]
    return base


@njit
def evaluate_point(x, lower, cell_size, n_cells, strides, coeffs_flat, work, grad, idx, w):
    """Value, physical gradient and basis of a Hermite grid at one point (numba).

    Callable from other ``@njit`` code with ``grid.kernel_args``; it allocates
    nothing. It checks its arguments first (a few integer comparisons): a
    point whose dimension differs from the grid's, or a buffer that is too
    small, raises ``ValueError`` instead of reading or writing out of bounds.

    Parameters
    ----------
    x : float64 array (d,), d = 1, 2 or 3
    lower, cell_size, n_cells, strides, coeffs_flat
        ``grid.kernel_args``.
    work : float64 array (2, d, 4)
        Scratch for the 1D functions and their derivatives.
    grad : float64 array (d,)
        Output: ``dF/dx``.
    idx, w : int64 and float64 arrays ``(4**d,)``
        Output: indices into ``coeffs_flat`` and basis weights.

    Returns
    -------
    float
        ``F(x)``. A point outside the closed domain (or non-finite) returns NaN
        and fills ``grad`` and ``w`` with NaN and ``idx`` with 0.

    Raises
    ------
    ValueError
        If ``x`` has not the grid's dimension (1 to 3), or ``work``, ``grad``,
        ``idx``, ``w`` or ``coeffs_flat`` are smaller than the shapes above.
    """
    d = x.shape[0]
    if d < 1 or d > 3:
        raise ValueError("evaluate_point: `x` must hold 1, 2 or 3 coordinates.")
    if lower.shape[0] != d or cell_size.shape[0] != d or n_cells.shape[0] != d:
        raise ValueError("evaluate_point: `x` has not the grid's dimension (grid.kernel_args).")
    if strides.shape[0] != d:
        raise ValueError("evaluate_point: `strides` has not the grid's dimension.")
    if work.shape[0] < 2 or work.shape[1] < d or work.shape[2] < 4:
        raise ValueError("evaluate_point: `work` must have shape (2, d, 4), d = x.size.")
    if grad.shape[0] < d:
        raise ValueError("evaluate_point: `grad` must have d = x.size entries.")
    if idx.shape[0] < 1 << (2 * d) or w.shape[0] < 1 << (2 * d):
        raise ValueError("evaluate_point: `idx` and `w` must have 4**d entries, d = x.size.")
    if coeffs_flat.shape[0] < strides[0] * (n_cells[0] + 1) * (1 << d):
        raise ValueError("evaluate_point: `coeffs_flat` is smaller than the grid's (kernel_args).")
    return _evaluate_point(x, lower, cell_size, n_cells, strides, coeffs_flat, work, grad, idx, w)


@njit
def _evaluate_point(x, lower, cell_size, n_cells, strides, coeffs_flat, work, grad, idx, w):
    """:func:`evaluate_point` without its checks: for kernels whose buffers are
    allocated to fit (``_evaluate_points``)."""
    d = x.shape[0]
    nd = 1 << d
    nb = 1 << (2 * d)
    base = cell_tables(x, lower, cell_size, n_cells, strides, work)
    if base < 0:
        for j in range(nb):
            idx[j] = 0
            w[j] = np.nan
        for l in range(d):  # noqa: E741
            grad[l] = np.nan
        return np.nan
    value = 0.0
    g0 = 0.0
    g1 = 0.0
    g2 = 0.0
    for j in range(nb):
        # digit q of axis k: q = 2 * a + b, a = which vertex, b = slope bit
        off = base
        m = 0
        wj = 1.0
        # d <= 3: the gradient's partial products stay in three scalars (registers)
        p0 = 1.0
        p1 = 1.0
        p2 = 1.0
        jj = j
        for k in range(d):
            q = jj & 3
            jj >>= 2
            off += (q >> 1) * strides[k]
            m |= (q & 1) << k
            phi = work[0, k, q]
            dphi = work[1, k, q]
            wj *= phi
            p0 *= dphi if k == 0 else phi
            p1 *= dphi if k == 1 else phi
            p2 *= dphi if k == 2 else phi
        flat = off * nd + m
        c = coeffs_flat[flat]
        idx[j] = flat
        w[j] = wj
        value += wj * c
        g0 += p0 * c
        g1 += p1 * c
        g2 += p2 * c
    grad[0] = g0
    if d > 1:
        grad[1] = g1
    if d > 2:
        grad[2] = g2
    return value


@njit
def _check_points_kernel(pts, lower, upper, inside):
    """Fill ``inside`` (n,) with ``lower <= x <= upper``; return the first row that is
    non-finite and the first that is outside (each -1 if none). Python-side validation
    in one call, so that few-point queries stay cheap."""
    bad = -1
    out = -1
    for p in range(pts.shape[0]):
        ok = True
        for k in range(pts.shape[1]):
            v = pts[p, k]
            if not np.isfinite(v):
                if bad < 0:
                    bad = p
                ok = False
            elif v < lower[k] or v > upper[k]:
                ok = False
        inside[p] = ok
        if not ok and out < 0:
            out = p
    return bad, out


@njit
def _evaluate_points(
    pts, inside, lower, cell_size, n_cells, strides, coeffs_flat, val, grad, idx, w
):
    """Fill ``val`` (n,), and ``grad`` (n, d), ``idx``/``w`` (n, 4**d) when they have n rows.

    ``pts`` are finite (validated); rows with ``inside[p] == False`` get NaN.
    """
    n, d = pts.shape
    nb = 1 << (2 * d)
    work = np.empty((2, d, 4))
    g = np.empty(d)
    ib = np.empty(nb, dtype=np.int64)
    wb = np.empty(nb)
    want_grad = grad.shape[0] == n
    want_basis = w.shape[0] == n
    for p in range(n):
        if inside[p]:
            val[p] = _evaluate_point(
                pts[p], lower, cell_size, n_cells, strides, coeffs_flat, work, g, ib, wb
            )
        else:
            val[p] = np.nan
            g[:] = np.nan
            ib[:] = 0
            wb[:] = np.nan
        if want_grad:
            grad[p, :] = g
        if want_basis:
            idx[p, :] = ib
            w[p, :] = wb

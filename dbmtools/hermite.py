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
from typing import Any

import numpy as np

from ._config import njit
from ._io import load_npz, save_npz

__all__ = [
    "HermiteGrid",
    "cell_tables",
    "evaluate_point",
    "hermite_cubics",
    "plot_hermite_cubics",
    "plot_cell_basis",
    "plot_convergence",
    "plot_c0_vs_c1",
    "plot_interpolation_1d",
    "plot_slice",
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
    derivative : {0, 1}
        ``0`` for the functions, ``1`` for their derivatives ``d/dt``.

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
    if derivative not in (0, 1):
        raise ValueError(f"`derivative` must be 0 or 1; got {derivative!r}.")
    if not np.all(np.isfinite(t)) or np.any((t < 0) | (t > 1)):
        raise ValueError("`t` must hold finite points in [0, 1] (the reference cell).")
    if derivative == 0:
        return np.stack(
            [1 - 3 * t**2 + 2 * t**3, t - 2 * t**2 + t**3, 3 * t**2 - 2 * t**3, t**3 - t**2]
        )
    return np.stack([6 * t**2 - 6 * t, 1 - 4 * t + 3 * t**2, 6 * t - 6 * t**2, 3 * t**2 - 2 * t])


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

    def fit(self, x: np.ndarray, y: np.ndarray, *, ridge: float = 0.0) -> HermiteGrid:
        """Least-squares coefficients from samples ``y ~ F(x)``.

        Minimises ``sum_i (F(x_i) - y_i)^2 + ridge * sum_l u_l^2`` and sets
        :attr:`coeffs`. The normal equations are assembled sparsely from
        :meth:`basis`, scaled to unit diagonal, factorised (dense Cholesky up to
        4000 coefficients, sparse LU above) and the solution refined twice with
        the residual of the least-squares problem itself.

        Parameters
        ----------
        x : array_like, shape (n, dim)
            Sample points inside the domain.
        y : array_like, shape (n,)
        ridge : float
            Tikhonov weight ``>= 0``. Needed when some degrees of freedom are
            not determined by the samples (e.g. cells with too few points);
            without it that case raises ``ValueError``.

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
        if isinstance(ridge, bool) or not isinstance(ridge, (int, float, np.floating)):
            raise TypeError(f"`ridge` must be a float; got {ridge!r}.")
        if not (np.isfinite(ridge) and ridge >= 0):
            raise ValueError(f"`ridge` must be a finite number >= 0; got {ridge!r}.")
        idx, w = self.basis(pts)
        n, nb = w.shape
        a = scipy.sparse.csr_matrix(
            (w.ravel(), idx.ravel(), np.arange(0, n * nb + 1, nb)), shape=(n, self.n_dofs)
        )
        normal = (a.T @ a).tocsc()
        rhs = a.T @ yy
        diag = normal.diagonal() + ridge
        if np.any(diag <= 0):
            raise ValueError(
                f"`x`: {int(np.sum(diag <= 0))} of {self.n_dofs} degrees of freedom see no "
                "sample; pass `ridge` > 0 (e.g. 1e-8) or add samples."
            )
        s = 1.0 / np.sqrt(diag)
        scale = scipy.sparse.diags(s)
        scaled = scale @ (normal + ridge * scipy.sparse.identity(self.n_dofs)) @ scale
        solve = _spd_solver(scaled, dense=self.n_dofs <= _DENSE_FIT_MAX)
        u = solve(rhs * s) * s
        for _ in range(2):  # corrected semi-normal equations: refine with the true residual
            res = a.T @ (yy - a @ u) - ridge * u
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
# Convergence and plotting helpers for the notebook
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


def plot_hermite_cubics(ax=None):
    """Recreate Fig. 1(d): the four 1D Hermite cubics on the reference cell.

    Returns the Matplotlib axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    t = np.linspace(0, 1, 201)
    labels = [
        r"$h_{00}$: value at 0",
        r"$h_{10}$: slope at 0",
        r"$h_{01}$: value at 1",
        r"$h_{11}$: slope at 1",
    ]
    for curve, label, style in zip(hermite_cubics(t), labels, ["-", "--", "-", "--"], strict=True):
        ax.plot(t, curve, style, lw=2, label=label)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xlabel("$t = (x - x_i)/h$")
    ax.set_ylabel("basis function")
    ax.set_title("Q3 C1 Hermite cubics on one cell")
    ax.legend(fontsize=8, loc="center right")
    return ax


def plot_cell_basis(cell_size: float = 1.0, n: int = 61, *, labels=("$x$", "$y$")):
    """Heat maps of the 16 basis functions of one 2D cell ``[0, h]^2``.

    Panel ``(r, c)`` is the product of 1D function ``r`` along y and ``c``
    along x, in the order ``h00, h h10, h01, h h11`` (slope functions scaled
    by the cell size, as in the physical-derivative layout). Each panel has its
    own symmetric colour scale (red positive, blue negative); its title gives
    the degree of freedom, the vertex in cell-local coordinates and the
    largest absolute value. ``labels`` names the horizontal and vertical axes
    (e.g. ``("$u$", "$v$")``); they label the outer panels.
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    t = np.linspace(0, 1, n)
    one = hermite_cubics(t) * np.array([1, cell_size, 1, cell_size])[:, None]
    where = ["0", "0", "1", "1"]
    fig, axes = plt.subplots(4, 4, figsize=(8, 8.6), sharex=True, sharey=True)
    for r in range(4):
        for c in range(4):
            img = np.outer(one[r], one[c])  # rows: y, columns: x
            vmax = np.abs(img).max()
            ax = axes[r, c]
            ax.imshow(
                img,
                origin="lower",
                extent=(0, cell_size, 0, cell_size),
                cmap="RdBu_r",
                vmin=-vmax,
                vmax=vmax,
            )
            dx = "x" if c % 2 else ""
            dy = "y" if r % 2 else ""
            deriv = f"$F_{{{dx}{dy}}}$" if dx or dy else "$F$"
            ax.set_title(f"{deriv} at ({where[c]},{where[r]})\nmax {vmax:.3g}", fontsize=9)
            ax.set_xticks([0, cell_size])
            ax.set_yticks([0, cell_size])
            if r == 3:
                ax.set_xlabel(labels[0])
            if c == 0:
                ax.set_ylabel(labels[1])
    fig.suptitle(
        "The 16 basis functions of one 2D cell (degree of freedom at vertex (x, y));\n"
        "red > 0, blue < 0, each panel on its own scale"
    )
    fig.tight_layout()
    return fig


def plot_convergence(
    cell_sizes, errors, order: float | None = None, ax=None, label="max error", guide=True, **style
):
    """Log-log plot of interpolation error against cell size, with an h^4 guide line.

    ``style`` goes to ``ax.loglog`` for the data (e.g. ``marker="s"``).
    Returns the axes.
    """
    import matplotlib.pyplot as plt

    h = np.asarray(cell_sizes, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    if order is None:
        order = convergence_order(h, e)
    style = {"marker": "o", **style}
    ax.loglog(h, e, label=f"{label} (slope {order:.2f})", **style)
    if guide:
        ax.loglog(h, e[0] * (h / h[0]) ** 4, "k--", lw=1, label=r"$\propto h^4$")
    ax.set_xticks(h, labels=[f"{v:g}" for v in h])
    ax.minorticks_off()
    ax.set_xlabel("cell size $h$")
    ax.set_ylabel("max interpolation error")
    ax.legend(fontsize=8)
    return ax


def plot_c0_vs_c1(f, derivative, cell_size: float = 0.5, lower: float = 0.0, upper: float = 3.0):
    """Derivative of a piecewise-linear (C0) and a Hermite (C1) interpolant of ``f``.

    ``f`` and ``derivative`` act on 1-D arrays. The C0 derivative jumps at every
    vertex; the C1 one is continuous. Returns the figure.
    """
    import matplotlib.pyplot as plt

    grid = HermiteGrid([lower], [upper], cell_size)
    grid.interpolate(lambda p: f(p[:, 0]), lambda p: derivative(p[:, 0])[:, None])
    xv = grid.vertices[:, 0]
    x = np.linspace(lower, upper, 1201)
    slopes = np.diff(f(xv)) / np.diff(xv)
    cell = np.minimum(((x - lower) / grid.cell_size[0]).astype(int), xv.size - 2)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.5))
    a0.plot(x, f(x), "k", lw=3, alpha=0.3, label="$F$")
    a0.plot(x, np.interp(x, xv, f(xv)), label="C0: piecewise linear")
    a0.plot(x, grid(x[:, None]), "--", label="C1: Hermite cubic")
    a1.plot(x, derivative(x), "k", lw=3, alpha=0.3, label="$dF/d\\theta$")
    a1.plot(x, slopes[cell], label="C0 derivative (jumps)")
    a1.plot(x, grid.gradient(x[:, None])[:, 0], "--", label="C1 derivative")
    for ax, title in ((a0, "interpolant"), (a1, "its derivative, as eq. (31) needs it")):
        ax.plot(xv, np.zeros_like(xv) + ax.get_ylim()[0], "|", color="0.4", ms=12)
        ax.set_xlabel(r"$\theta$")
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig


def plot_interpolation_1d(
    f, derivative, cell_size: float, samples=None, *, lower: float = -1.0, upper: float = 1.0
):
    """Interpolate ``f`` (and least-squares fit ``samples``) on 1D cells of size ``cell_size``.

    The grid starts at ``lower`` and has ``ceil((upper - lower) / cell_size)``
    cells of exactly ``cell_size``, so it covers ``[lower, upper]`` (its last
    cell may reach beyond ``upper``; ``f`` must be defined there). ``samples``
    is ``(x, y)`` with 1-D arrays; the fit uses a ridge of 1e-8 so that cells
    without samples stay defined. Returns the figure and the errors
    ``{"interpolation": max |F - f|, "fit": max |F_fit - f|}`` on ``[lower, upper]``.
    """
    import matplotlib.pyplot as plt

    n = int(np.ceil((upper - lower) / cell_size - 1e-9))
    grid = HermiteGrid([lower], [lower + n * cell_size], cell_size)
    grid.interpolate(lambda p: f(p[:, 0]), lambda p: derivative(p[:, 0])[:, None])
    x = np.linspace(lower, upper, 801)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.6))
    a0.plot(x, f(x), "k", lw=4, alpha=0.25, label="$f$")
    a0.plot(x, grid(x[:, None]), label="interpolant (values + slopes)")
    err = {"interpolation": float(np.abs(grid(x[:, None]) - f(x)).max())}
    a1.semilogy(x, np.abs(grid(x[:, None]) - f(x)) + 1e-17, label="interpolation")
    if samples is not None:
        fitted = HermiteGrid(grid.lower, grid.upper, cell_size)
        fitted.fit(np.asarray(samples[0])[:, None], samples[1], ridge=1e-8)
        a0.plot(samples[0], samples[1], ".", color="0.5", ms=4, label="noisy samples")
        a0.plot(x, fitted(x[:, None]), "--", label="least-squares fit")
        a1.semilogy(x, np.abs(fitted(x[:, None]) - f(x)) + 1e-17, "--", label="fit")
        err["fit"] = float(np.abs(fitted(x[:, None]) - f(x)).max())
    xv = grid.vertices[:, 0]
    a0.plot(xv[xv <= upper], grid(xv[xv <= upper, None]), "o", color="C3", ms=4, label="vertices")
    a0.set_title(f"cell size h = {cell_size:g} ({n} cells)")
    a1.set_title("error $|F(x) - f(x)|$")
    a1.set_ylim(1e-8, 1)
    for ax in (a0, a1):
        ax.set_xlabel("$x$")
        ax.legend(fontsize=8)
    return fig, err


def plot_slice(grid: HermiteGrid, func=None, *, axis: int = 2, value: float = 0.0, labels=None):
    """Heat map of a 3D grid on the plane ``x[axis] == value``, with cell faces drawn.

    If ``func`` (points (n, 3) -> values (n,)) is given, two more panels show
    it and the difference ``grid - func``. Returns the figure.
    """
    import matplotlib.pyplot as plt

    if grid.dim != 3:
        raise ValueError(f"`grid` must be 3D for a slice; got {grid.dim}D.")
    labels = labels or ["$x_0$", "$x_1$", "$x_2$"]
    a, b = [k for k in range(3) if k != axis]
    u = np.linspace(grid.lower[a], grid.upper[a], 121)
    v = np.linspace(grid.lower[b], grid.upper[b], 121)
    uu, vv = np.meshgrid(u, v, indexing="xy")
    pts = np.empty((uu.size, 3))
    pts[:, a], pts[:, b], pts[:, axis] = uu.ravel(), vv.ravel(), value
    panels = [("Hermite grid $F$", grid(pts))]
    if func is not None:
        target = np.asarray(func(pts), dtype=np.float64)
        panels += [("target", target), ("difference $F$ - target", panels[0][1] - target)]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.3 * len(panels), 3.8), squeeze=False, layout="constrained"
    )
    vmax = max(np.abs(p[1]).max() for p in panels[:2])
    for n, (ax, (title, z)) in enumerate(zip(axes[0], panels, strict=True)):
        scale = vmax if n < 2 else np.abs(z).max()
        im = ax.pcolormesh(u, v, z.reshape(uu.shape), cmap="RdBu_r", vmin=-scale, vmax=scale)
        for edge in np.unique(grid.vertices[..., a]):
            ax.axvline(edge, color="k", lw=0.5, alpha=0.5)
        for edge in np.unique(grid.vertices[..., b]):
            ax.axhline(edge, color="k", lw=0.5, alpha=0.5)
        ax.set_xlabel(labels[a])
        ax.set_ylabel(labels[b])
        ax.set_title(f"{title}, {labels[axis]} = {value:g}", fontsize=10)
        if n != 0:
            fig.colorbar(im, ax=ax, shrink=0.9)
    if len(panels) == 1:
        fig.colorbar(im, ax=axes[0, 0], shrink=0.9)
    return fig


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------
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

"""Tests of dbmtools.hermite against independent truths (issue 3).

Truths: scipy's CubicHermiteSpline (1D), exact polynomials built with
numpy.polynomial (every polynomial of degree <= 3 per coordinate is in the Q3
space), central finite differences, and the h^4 interpolation rate.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest
from numpy.polynomial import polynomial as P
from scipy.interpolate import CubicHermiteSpline

from dbmtools import HermiteGrid
from dbmtools.hermite import convergence_order, evaluate_point, hermite_cubics

DIMS = [1, 2, 3]


def _grid(dim, seed=0, coeffs=True):
    """An anisotropic grid with random coefficients."""
    lower = [-1.0, 0.5, -0.25][:dim]
    cell = [0.5, 0.25, 0.4][:dim]
    ncell = [4, 3, 2][:dim]
    upper = [lo + n * h for lo, n, h in zip(lower, ncell, cell, strict=True)]
    g = HermiteGrid(lower, upper, cell)
    if coeffs:
        g.coeffs = np.random.default_rng(seed).normal(size=g.coeffs.shape)
    return g


def _points(g, n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(g.lower, g.upper, size=(n, g.dim))


# ---- exact polynomials (numpy.polynomial), the independent truth -------------
def _polyval(c, x):
    """Value of the tensor polynomial with coefficient array ``c`` (axis k = x_k)."""
    out = np.zeros(x.shape[0])
    for alpha in itertools.product(*(range(s) for s in c.shape)):
        out += c[alpha] * np.prod(x ** np.array(alpha), axis=1)
    return out


def _polyder(c, axes):
    for k in axes:
        c = P.polyder(c, axis=k)
    return c


def _poly_derivatives(c, dim):
    """Callable returning the dofs m = 1 .. 2**dim - 1 of the polynomial."""

    def der(x):
        cols = [
            _polyval(_polyder(c, [k for k in range(dim) if (m >> k) & 1]), x)
            for m in range(1, 2**dim)
        ]
        return np.stack(cols, axis=1)

    return der


# ---- 1D against scipy ---------------------------------------------------------
def test_1d_matches_scipy_cubic_hermite_spline():
    g = _grid(1)
    xv = g.vertices[:, 0]
    y, dydx = g.coeffs[:, 0], g.coeffs[:, 1]
    ref = CubicHermiteSpline(xv, y, dydx)
    x = np.concatenate([_points(g, 500)[:, 0], xv])  # include the vertices themselves
    assert np.allclose(g(x[:, None]), ref(x), rtol=0, atol=1e-13)
    assert np.allclose(g.gradient(x[:, None])[:, 0], ref(x, 1), rtol=0, atol=1e-12)


def test_hermite_cubics_nodal_values_and_slopes():
    v0, v1 = hermite_cubics([0.0, 1.0]).T
    d0, d1 = hermite_cubics([0.0, 1.0], derivative=1).T
    assert np.array_equal(v0, [1, 0, 0, 0]) and np.array_equal(v1, [0, 0, 1, 0])
    assert np.array_equal(d0, [0, 1, 0, 0]) and np.array_equal(d1, [0, 0, 0, 1])


# ---- exact reproduction of every (tri-)cubic polynomial -----------------------
@pytest.mark.parametrize("dim", DIMS)
def test_reproduces_every_q3_polynomial(dim):
    rng = np.random.default_rng(10 + dim)
    c = rng.normal(size=(4,) * dim)  # all monomials of degree <= 3 per coordinate
    g = _grid(dim, coeffs=False)
    g.interpolate(lambda x: _polyval(c, x), _poly_derivatives(c, dim))
    x = _points(g, 300)
    assert np.allclose(g(x), _polyval(c, x), rtol=1e-12, atol=1e-11)
    exact_grad = np.stack([_polyval(_polyder(c, [k]), x) for k in range(dim)], axis=1)
    assert np.allclose(g.gradient(x), exact_grad, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("dim", DIMS)
def test_fit_recovers_polynomial_coefficients(dim):
    rng = np.random.default_rng(20 + dim)
    c = rng.normal(size=(4,) * dim)
    exact = _grid(dim, coeffs=False).interpolate(
        lambda x: _polyval(c, x), _poly_derivatives(c, dim)
    )
    g = _grid(dim, coeffs=False)
    x = _points(g, 40 * g.n_dofs, seed=2)
    g.fit(x, _polyval(c, x))
    assert np.allclose(g.coeffs, exact.coeffs, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("dim", DIMS)
def test_fit_recovers_random_coefficients(dim):
    truth = _grid(dim, seed=3)
    g = _grid(dim, coeffs=False)
    x = _points(g, 40 * g.n_dofs, seed=4)
    g.fit(x, truth(x))
    assert np.allclose(g.coeffs, truth.coeffs, rtol=1e-10, atol=1e-9)


def test_fit_underdetermined_needs_ridge():
    g = HermiteGrid([0.0, 0.0], [2.0, 2.0], 1.0)
    x = np.array([[0.2, 0.3], [0.7, 0.9], [0.5, 0.5]])  # one cell, three samples
    with pytest.raises(ValueError, match="ridge"):
        g.fit(x, np.ones(3))
    g.fit(x, np.ones(3), ridge=1e-6)
    assert np.allclose(g(x), 1.0, atol=1e-3)


# ---- C1 continuity, gradient, basis --------------------------------------------
@pytest.mark.parametrize("dim", DIMS)
def test_value_and_gradient_continuous_across_faces(dim):
    g = _grid(dim, seed=5)
    x = _points(g, 200, seed=6)
    eps = 1e-9
    for k in range(dim):
        faces = g.vertices.reshape(-1, dim)[:, k]
        interior = np.unique(faces[(faces > g.lower[k]) & (faces < g.upper[k])])
        xf = x.copy()
        xf[:, k] = np.resize(interior, x.shape[0])
        left, right = xf.copy(), xf.copy()
        left[:, k] -= eps
        right[:, k] += eps
        assert np.allclose(g(left), g(right), rtol=0, atol=1e-7)
        assert np.allclose(g.gradient(left), g.gradient(right), rtol=0, atol=1e-6)
        assert np.allclose(g.gradient(left), g.gradient(xf), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dim", DIMS)
def test_gradient_matches_finite_differences(dim):
    g = _grid(dim, seed=7)
    x = _points(g, 100, seed=8)
    x = np.clip(x, g.lower + 1e-3, g.upper - 1e-3)  # keep the stencil inside the domain
    step = 1e-6
    fd = np.empty_like(x)
    for k in range(dim):
        e = np.zeros(dim)
        e[k] = step
        fd[:, k] = (g(x + e) - g(x - e)) / (2 * step)
    assert np.allclose(g.gradient(x), fd, rtol=1e-6, atol=1e-6)
    val, grad = g.value_and_gradient(x)
    assert np.array_equal(val, g(x)) and np.array_equal(grad, g.gradient(x))


@pytest.mark.parametrize("dim", DIMS)
def test_basis_weights_reproduce_values_and_partition_unity(dim):
    g = _grid(dim, seed=9)
    x = np.concatenate([_points(g, 200), g.vertices.reshape(-1, dim)])
    idx, w = g.basis(x)
    assert idx.shape == w.shape == (x.shape[0], 4**dim)
    assert np.allclose((w * g.coeffs.flat[idx]).sum(axis=1), g(x), rtol=1e-13, atol=1e-13)
    # the value basis functions (dof m = 0) sum to one: constants are reproduced
    value_dofs = idx % 2**dim == 0
    assert np.allclose((w * value_dofs).sum(axis=1), 1.0, atol=1e-13)
    # every index is distinct within a point (4**dim different basis functions)
    assert all(len(set(row)) == 4**dim for row in idx[:20])


@pytest.mark.parametrize("dim", DIMS)
def test_single_point_matches_batch(dim):
    g = _grid(dim, seed=11)
    x = _points(g, 5)
    assert g(x[2]) == g(x)[2]
    assert np.array_equal(g.gradient(x[2]), g.gradient(x)[2])
    i, w = g.basis(x[2])
    assert np.array_equal(i, g.basis(x)[0][2]) and np.array_equal(w, g.basis(x)[1][2])


def test_kernel_callable_from_numba():
    g = _grid(3, seed=12)
    x = _points(g, 7)

    @numba.njit
    def values(pts, lower, h, n, strides, cf):
        work = np.empty((2, 3, 4))
        grad = np.empty(3)
        idx = np.empty(64, dtype=np.int64)
        w = np.empty(64)
        out = np.empty(pts.shape[0])
        for p in range(pts.shape[0]):
            out[p] = evaluate_point(pts[p], lower, h, n, strides, cf, work, grad, idx, w)
        return out

    assert np.allclose(values(x, *g.kernel_args), g(x), rtol=1e-14, atol=1e-14)
    g.coeffs = 2 * g.coeffs  # kernel_args hold a live view
    assert np.allclose(values(x, *g.kernel_args), g(x), rtol=1e-14, atol=1e-14)
    outside = np.array([[g.upper[0] + 0.1, g.lower[1], g.lower[2]]])
    assert np.isnan(values(outside, *g.kernel_args)[0])


def test_physical_not_cell_local_derivatives():
    # F(x) = x on cells of size 0.5: every slope dof is 1 (cell-local units would give 0.5)
    g = HermiteGrid([0.0], [2.0], 0.5).interpolate(
        lambda x: x[:, 0], lambda x: np.ones((len(x), 1))
    )
    assert np.allclose(g.coeffs[:, 1], 1.0)
    assert np.allclose(g([[0.8], [1.3]]), [0.8, 1.3], atol=1e-15)


# ---- convergence rate ------------------------------------------------------------
def _sines(dim):
    a = np.array([1.3, 2.1, 0.7])[:dim]
    c = np.array([0.2, -0.4, 1.1])[:dim]

    def f(x):
        return np.prod(np.sin(a * x + c), axis=1)

    def der(x):
        s, co = np.sin(a * x + c), a * np.cos(a * x + c)
        cols = [
            np.prod(np.where([(m >> k) & 1 for k in range(dim)], co, s), axis=1)
            for m in range(1, 2**dim)
        ]
        return np.stack(cols, axis=1)

    return f, der


@pytest.mark.parametrize("dim", DIMS)
def test_interpolation_error_falls_as_h4(dim):
    f, der = _sines(dim)
    sizes = np.array([0.5, 0.25, 0.125, 0.0625])
    x = np.random.default_rng(13).uniform(0, 1, size=(2000, dim))
    errors = []
    for h in sizes:
        g = HermiteGrid([0.0] * dim, [1.0] * dim, h).interpolate(f, der)
        errors.append(np.abs(g(x) - f(x)).max())
    order = convergence_order(sizes, errors)
    assert 3.7 < order < 4.3, (order, errors)


def test_central_differences_interpolation_is_close():
    f, der = _sines(2)
    exact = HermiteGrid([0, 0], [1, 1], 0.25).interpolate(f, der)
    approx = HermiteGrid([0, 0], [1, 1], 0.25).interpolate(f, "central")
    assert np.allclose(approx.coeffs, exact.coeffs, atol=1e-6)


# ---- persistence -----------------------------------------------------------------
def test_save_load_and_dict_round_trip(tmp_path):
    g = _grid(3, seed=14)
    path = tmp_path / "grid.npz"
    g.save(path)
    h = HermiteGrid.load(path)
    assert np.array_equal(h.coeffs, g.coeffs)
    assert np.array_equal(h.lower, g.lower) and np.array_equal(h.upper, g.upper)
    assert np.array_equal(h.cell_size, g.cell_size)
    d = HermiteGrid.from_dict(g.to_dict())
    x = _points(g, 10)
    assert np.array_equal(d(x), g(x))
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a HermiteGrid"):
        HermiteGrid.load(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="lacks the keys"):
        HermiteGrid.from_dict({"lower": [0.0]})


# ---- bad input -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (([0.0, 0.0], [1.0], 0.5), ValueError, "`upper` must have length 2"),
        (([0.0], [1.0], [0.5, 0.5]), ValueError, "`cell_size` must have length 1"),
        (([0.0] * 4, [1.0] * 4, 0.5), ValueError, "`lower` must be a sequence of 1 to 3"),
        (([0.0], [1.0], 0.3), ValueError, "whole number"),
        (([0.0], [1.0], 0.0), ValueError, "`cell_size` must be > 0"),
        (([0.0], [1.0], -0.5), ValueError, "`cell_size` must be > 0"),
        (([1.0], [0.0], 0.5), ValueError, "`upper` must exceed `lower`"),
        (([0.0], [np.inf], 0.5), ValueError, "`upper` must be finite"),
        (([0.0], [1.0], 2.0), ValueError, "whole number"),
        ((["a"], [1.0], 0.5), TypeError, "`lower` must be a number"),
    ],
)
def test_bad_domain_raises(args, error, match):
    with pytest.raises(error, match=match):
        HermiteGrid(*args)


def test_bad_points_raise():
    g = _grid(2)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, 2\)"):
        g(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="`x` must be finite; point 1"):
        g([[0.0, 0.6], [np.nan, 0.6]])
    with pytest.raises(ValueError, match=r"`x`: point 0 = \[5.0, 0.6\] is outside .*-1.0, 0.5"):
        g.gradient([[5.0, 0.6]])
    with pytest.raises(ValueError, match="outside"):
        g.basis([[g.lower[0] - 1e-12, 0.6]])
    with pytest.raises(ValueError, match="`outside` must be 'raise' or 'nan'"):
        g([0.0, 0.6], outside="clip")
    v = g([[5.0, 0.6], [0.0, 0.6]], outside="nan")
    assert np.isnan(v[0]) and np.isfinite(v[1])
    idx, w = g.basis([[5.0, 0.6]], outside="nan")
    assert np.all(idx == 0) and np.all(np.isnan(w))
    assert np.all(np.isnan(g.gradient([5.0, 0.6], outside="nan")))
    # the domain's corners are inside
    assert np.isfinite(g(g.upper)) and np.isfinite(g(g.lower))


def test_bad_coeffs_and_fit_inputs_raise():
    g = _grid(2, coeffs=False)
    with pytest.raises(ValueError, match=r"`coeffs` must have shape \(5, 4, 4\)"):
        g.coeffs = np.zeros((5, 4))
    with pytest.raises(ValueError, match="`coeffs` must be finite"):
        g.coeffs = np.full(g.coeffs.shape, np.nan)
    x = _points(g, 400)
    with pytest.raises(ValueError, match=r"`y` must have shape \(400,\)"):
        g.fit(x, np.zeros(399))
    with pytest.raises(ValueError, match="`y` must be finite"):
        g.fit(x, np.full(400, np.inf))
    with pytest.raises(ValueError, match="`ridge` must be a finite number >= 0"):
        g.fit(x, np.zeros(400), ridge=-1.0)
    with pytest.raises(TypeError, match="`ridge` must be a real number"):
        g.fit(x, np.zeros(400), ridge="big")
    with pytest.raises(ValueError, match="outside"):
        g.fit(x + 10, np.zeros(400))
    with pytest.raises(ValueError, match="see no sample"):
        g.fit(x[:3], np.zeros(3))


def test_bad_interpolate_inputs_raise():
    g = _grid(2, coeffs=False)
    f = lambda x: x[:, 0]  # noqa: E731
    with pytest.raises(ValueError, match=r"`derivatives` must return shape \(20, 3\)"):
        g.interpolate(f, lambda x: np.zeros((len(x), 2)))
    with pytest.raises(ValueError, match=r"`f` must return shape \(20,\)"):
        g.interpolate(lambda x: x, "central")
    with pytest.raises(ValueError, match="`derivatives` must be a callable or 'central'"):
        g.interpolate(f, "forward")
    with pytest.raises(TypeError, match="`derivatives` must be a callable"):
        g.interpolate(f, 3)
    with pytest.raises(ValueError, match="`step` must be in"):
        g.interpolate(f, "central", step=1.0)
    with pytest.raises(ValueError, match="`f` returned NaN"):
        g.interpolate(lambda x: np.full(len(x), np.nan), "central")
    with pytest.raises(ValueError, match="`derivative` must be 0, 1 or 2"):
        hermite_cubics(0.5, derivative=3)
    with pytest.raises(ValueError, match="`t` must hold finite points in"):
        hermite_cubics(1.5)


# ---- interpolate_1d (notebook 02's slider; the figures are in tests/test_plotting.py) ----
def test_interpolate_1d_matches_scipy_and_fits_samples():
    from scipy.interpolate import CubicHermiteSpline

    from dbmtools import hermite

    f, df = np.sin, np.cos
    x = np.linspace(-1, 1, 40)
    r = hermite.interpolate_1d(f, df, 0.3, samples=(x, f(x)))
    # the grid covers [-1, 1] with 7 cells of exactly 0.3
    assert r.grid.n_cells == (7,) and r.grid.upper[0] == pytest.approx(1.1)
    knots = r.grid.vertices[:, 0]
    spline = CubicHermiteSpline(knots, f(knots), df(knots))
    t = np.linspace(-1, 1, 801)
    np.testing.assert_allclose(r.grid(t[:, None]), spline(t), atol=1e-13)
    assert r.errors["interpolation"] == pytest.approx(np.abs(spline(t) - f(t)).max(), abs=1e-13)
    assert r.errors["interpolation"] < 1e-3
    # exact samples of a smooth function: the least-squares fit is close to it as well
    assert r.errors["fit"] < 1e-3 and r.fitted is not None
    assert hermite.interpolate_1d(f, df, 0.5).fitted is None


@pytest.mark.parametrize("dim", [2, 3])
def test_sparse_fit_route_matches(dim, monkeypatch):
    from dbmtools import hermite

    monkeypatch.setattr(hermite, "_DENSE_FIT_MAX", 0)  # force the sparse LU route
    truth = _grid(dim, seed=15)
    g = _grid(dim, coeffs=False)
    x = _points(g, 40 * g.n_dofs, seed=16)
    g.fit(x, truth(x))
    assert np.allclose(g.coeffs, truth.coeffs, rtol=1e-10, atol=1e-9)
    with pytest.raises(ValueError, match="ridge"):
        g.fit(x[:20], truth(x[:20]))


@pytest.mark.parametrize("dense_max", [0, 4000])
def test_rank_deficient_fit_raises_on_both_routes(dense_max, monkeypatch):
    from dbmtools import hermite

    monkeypatch.setattr(hermite, "_DENSE_FIT_MAX", dense_max)
    g = HermiteGrid([0.0, 0.0], [1.0, 1.0], 1.0)  # 16 dofs, every one seen by each sample
    x = np.random.default_rng(17).uniform(0.1, 0.9, size=(10, 2))
    with pytest.raises(ValueError, match="do not determine all coefficients"):
        g.fit(x, np.ones(10))
    g.fit(x, np.ones(10), ridge=1e-8)
    assert np.allclose(g(x), 1.0, atol=1e-4)


def test_upper_corner_inside_far_from_origin():
    # rounding of lower + n * cell_size must not push `upper` itself out of the kernel's domain
    g = HermiteGrid([1000.0, -3e5], [1000.003, -2.9e5], [0.001, 2500.0])
    g.coeffs = np.random.default_rng(18).normal(size=g.coeffs.shape)
    corner = g.upper
    assert np.isfinite(g(corner)) and np.all(np.isfinite(g.gradient(corner)))
    assert np.isclose(g(corner), g.coeffs[-1, -1, 0], rtol=1e-9)


# ---- roughness penalty: against Gauss quadrature of the interpolant ---------------
def _gauss_points(g, n=5):
    """Points and weights of an n-point Gauss-Legendre rule on every cell of ``g``."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    axes_pts, axes_w = [], []
    for k in range(g.dim):
        left = g.lower[k] + g.cell_size[k] * np.arange(g.n_cells[k])
        axes_pts.append((left[:, None] + g.cell_size[k] * (nodes + 1) / 2).ravel())
        axes_w.append(np.tile(weights * g.cell_size[k] / 2, g.n_cells[k]))
    pts = np.stack(np.meshgrid(*axes_pts, indexing="ij"), axis=-1).reshape(-1, g.dim)
    w = np.prod(np.stack(np.meshgrid(*axes_w, indexing="ij"), axis=-1), axis=-1).ravel()
    return pts, w


@pytest.mark.parametrize("dim", DIMS)
def test_roughness_order0_and_1_match_quadrature_of_values_and_gradient(dim):
    g = _grid(dim, seed=3)
    u = g.coeffs.reshape(-1)
    pts, w = _gauss_points(g)  # exact: |F|^2 and |grad F|^2 have degree <= 6 per axis
    l2 = np.sum(w * g(pts) ** 2)
    dirichlet = np.sum(w * np.sum(g.gradient(pts) ** 2, axis=1))
    assert np.isclose(u @ (g.roughness_matrix(0) @ u), l2, rtol=1e-11)
    assert np.isclose(u @ (g.roughness_matrix(1) @ u), dirichlet, rtol=1e-11)


@pytest.mark.parametrize("dim", DIMS)
def test_roughness_order2_matches_exact_polynomial_energy(dim):
    """Thin-plate energy of an interpolated Q3 polynomial, from its exact derivatives."""
    c = np.random.default_rng(4).normal(size=(4,) * dim)
    g = _grid(dim, coeffs=False)
    g.interpolate(lambda x: _polyval(c, x), _poly_derivatives(c, dim))
    pts, w = _gauss_points(g)
    energy = 0.0
    for a in range(dim):
        for b in range(dim):  # sum over ordered pairs = sum_|alpha|=2 (2!/alpha!) (d^alpha p)^2
            energy += np.sum(w * _polyval(_polyder(c, [a, b]), pts) ** 2)
    u = g.coeffs.reshape(-1)
    assert np.isclose(u @ (g.roughness_matrix(2) @ u), energy, rtol=1e-10)


def test_roughness_matrix_is_symmetric_psd_with_the_right_null_space():
    g = _grid(2, coeffs=False)
    r2 = g.roughness_matrix(2).toarray()
    assert np.allclose(r2, r2.T, atol=1e-12)
    eig = np.linalg.eigvalsh(r2)
    assert eig.min() > -1e-10 * eig.max()
    assert np.sum(eig < 1e-10 * eig.max()) == 3  # null space: 1, x, y
    g.interpolate(
        lambda x: 2 - x[:, 0] + 3 * x[:, 1], lambda x: np.tile([-1.0, 3.0, 0.0], (len(x), 1))
    )
    u = g.coeffs.reshape(-1)
    assert abs(u @ r2 @ u) < 1e-10


def test_fit_with_heavy_roughness_tends_to_the_affine_least_squares_fit():
    g = _grid(2, coeffs=False)
    x = _points(g, 60, seed=5)
    y = np.random.default_rng(6).normal(size=60)
    design = np.column_stack([np.ones(60), x])
    affine = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    g.fit(x, y, roughness=1e6)  # the deviation from the null-space fit is O(1 / roughness)
    assert np.allclose(g(x), affine, atol=1e-4)
    g.fit(x, y, roughness=1e-9)  # a vanishing penalty leaves the least-squares fit
    plain = HermiteGrid(g.lower, g.upper, g.cell_size).fit(x, y, ridge=1e-9)
    assert np.linalg.norm(g(x) - y) <= np.linalg.norm(plain(x) - y) + 1e-6


def test_fit_integer_weights_equal_repeated_samples():
    g = _grid(2, coeffs=False)
    x = _points(g, 80, seed=7)
    y = np.sin(x[:, 0]) + x[:, 1] ** 2
    k = np.random.default_rng(8).integers(0, 4, size=80)
    weighted = g.fit(x, y, weights=k, roughness=1e-3).coeffs.copy()
    repeated = g.fit(np.repeat(x, k, axis=0), np.repeat(y, k), roughness=1e-3).coeffs
    assert np.allclose(weighted, repeated, atol=1e-10)


def test_bad_roughness_and_weights_raise():
    g = _grid(1, coeffs=False)
    x = _points(g, 20)
    with pytest.raises(ValueError, match="roughness"):
        g.fit(x, np.ones(20), roughness=-1.0)
    with pytest.raises(ValueError, match="order"):
        g.fit(x, np.ones(20), roughness=1.0, order=3)
    with pytest.raises(ValueError, match="weights"):
        g.fit(x, np.ones(20), weights=np.ones(19))
    with pytest.raises(ValueError, match="weights"):
        g.fit(x, np.ones(20), weights=-np.ones(20))
    with pytest.raises(ValueError, match="order"):
        g.roughness_matrix(3)
    with pytest.raises(ValueError, match="derivative"):
        hermite_cubics(0.5, derivative=3)


def test_hermite_cubics_second_derivative_matches_finite_differences():
    t = np.linspace(0.1, 0.9, 9)
    fd = (hermite_cubics(t + 1e-6, derivative=1) - hermite_cubics(t - 1e-6, derivative=1)) / 2e-6
    assert np.allclose(hermite_cubics(t, derivative=2), fd, atol=1e-7)

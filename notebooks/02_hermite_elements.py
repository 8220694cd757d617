# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Q3 C1 Hermite finite elements
#
# ## Overview
#
# A dynamic Boltzmann distribution lets its interaction parameters $\boldsymbol\theta(t)$
# evolve by an ODE whose right-hand side is *learned*,
# $d\theta_k/dt = F_k(\boldsymbol\theta(t); \mathbf{u}_k)$ (eq. 27 of {cite}`ernst2019`).
# This notebook answers the question: **what function family should $F_k$ be, so that
# the learning rule can differentiate it?** The paper's answer is the cubic Hermite
# ("Q3, C1") finite elements of its eq. (34) and Fig. 1(d). We build them up from
# four 1D cubics to the 3D grids that notebooks 04 and 05 learn on.
#
# **Learning objectives.** After this notebook you can
#
# 1. explain why the adjoint learning rule needs $C^1$ (not merely $C^0$) elements;
# 2. derive the four Hermite cubics and say what each degree of freedom controls;
# 3. build tensor-product elements in 2D and 3D and read the coefficient layout of
#    `dbm.HermiteGrid` (values and *physical* mixed derivatives at each vertex);
# 4. interpolate and least-squares fit a function, and measure the $h^4$ convergence.
#
# **Prerequisites.** Calculus (Taylor series, partial derivatives), NumPy, a first look at
# finite elements helps ({cite}`hughes2000`) but is not needed. Notebook 01 is not needed.
#
# **Time.** About 40 minutes; the notebook runs in well under a minute.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import dbmtools as dbm
from dbmtools.widgets import defaults, float_slider, slider_view

# %%
SEED = 2019
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## 1. Why C1 elements?
#
# Write the parameterisation of one right-hand side as a sum over basis functions with
# learned coefficients $u_l$ (eq. 34 of {cite}`ernst2019`):
#
# $$F_k(\boldsymbol\theta; \mathbf{u}_k) = \sum_l u_{k,l}\, f_l(\boldsymbol\theta).$$
#
# The learning rule needs two derivatives of $F$:
#
# * the **sensitivity** (30), $dS/du_{k,i} = -\int dt\, \partial F_k/\partial u_{k,i}\,\phi_k$,
#   where $\partial F_k/\partial u_{k,i} = f_i(\boldsymbol\theta(t))$: just the basis
#   function values along the trajectory;
# * the **adjoint** ODE (31),
#   $d\phi_k/dt = \tilde\mu_k - \mu_k - \sum_l (\partial F_l/\partial\theta_k)\,\phi_l$,
#   which needs the derivative of $F$ **with respect to its arguments** $\boldsymbol\theta$.
#
# With ordinary piecewise-linear ($C^0$) elements, $\partial F/\partial\theta$ is piecewise
# constant and *jumps* every time the trajectory $\boldsymbol\theta(t)$ crosses a cell face:
# the adjoint ODE then has a discontinuous coefficient and its solution depends on where the
# Euler steps happen to fall. $C^1$ elements keep the value *and* the first derivatives
# continuous, so (31) is an ODE with a continuous right-hand side. Below, both interpolate the
# same function on cells of size $0.5$; look at the right panel.

# %%
fig = dbm.hermite.plot_c0_vs_c1(lambda x: np.sin(2 * x), lambda x: 2 * np.cos(2 * x))
plt.show()

# %% [markdown]
# ## 2. The four 1D Hermite cubics
#
# On one cell $[x_i, x_i + h]$ use the local coordinate $t = (x - x_i)/h \in [0, 1]$ and look
# for a cubic $p(t) = a + b t + c t^2 + d t^3$ that matches a value and a slope at each end:
# $p(0), p'(0), p(1), p'(1)$. These are four linear conditions on $(a, b, c, d)$,
#
# $$\begin{pmatrix}1&0&0&0\\0&1&0&0\\1&1&1&1\\0&1&2&3\end{pmatrix}
#   \begin{pmatrix}a\\b\\c\\d\end{pmatrix} =
#   \begin{pmatrix}p(0)\\p'(0)\\p(1)\\p'(1)\end{pmatrix},$$
#
# and the columns of the inverse matrix are the four basis cubics, each equal to one for
# "its" condition and zero for the other three. Let us solve it and compare with
# `dbm.hermite.hermite_cubics`.

# %%
conditions = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 1], [0, 1, 2, 3]], dtype=float)
monomial_coeffs = np.linalg.inv(conditions).T  # row r: (a, b, c, d) of basis function r
print(monomial_coeffs)

t = np.linspace(0, 1, 11)
from_monomials = monomial_coeffs @ np.vstack([t**0, t, t**2, t**3])
assert np.allclose(from_monomials, dbm.hermite.hermite_cubics(t))

# %% [markdown]
# Reading off the rows:
#
# $$h_{00} = 1 - 3t^2 + 2t^3,\quad h_{10} = t - 2t^2 + t^3,\quad
#   h_{01} = 3t^2 - 2t^3,\quad h_{11} = -t^2 + t^3 .$$
#
# These are the curves of Fig. 1(d) of {cite}`ernst2019`:

# %%
ax = dbm.hermite.plot_hermite_cubics()
plt.show()

# %% [markdown]
# **Physical units.** With $dt/dx = 1/h$, the cubic on the cell in terms of *physical*
# values $F_i$ and slopes $F'_i = dF/dx$ at the two vertices is
#
# $$F(x) = F_i\,h_{00}(t) + h\,F'_i\,h_{10}(t) + F_{i+1}\,h_{01}(t) + h\,F'_{i+1}\,h_{11}(t).$$
#
# `dbm.HermiteGrid` stores $F'_i$ (physical derivatives), so a coefficient means the same
# thing whatever the cell size. (The authors' code stored the cell-local slope
# $dF/dt = h\,F'$ instead; to convert, multiply by $h$ once per differentiated axis.)
#
# ## 3. Value and derivative degrees of freedom
#
# On a grid every vertex carries a value and a slope, shared by the two cells that meet
# there; that sharing is what makes the function $C^1$. We build a 1D grid on $[0, 3]$ with
# unit cells and switch on one degree of freedom at a time.

# %%
grid1 = dbm.HermiteGrid([0.0], [3.0], 1.0)
x = np.linspace(0, 3, 301)[:, None]
examples = {
    "value 1 at x = 1": (1, 0, 1.0),
    "slope 1 at x = 1": (1, 1, 1.0),
    "slope -2 at x = 2": (2, 1, -2.0),
}
fig, ax = plt.subplots(figsize=(6, 3.2))
total = np.zeros(grid1.coeffs.shape)
for label, (vertex, dof, amount) in examples.items():
    grid1.coeffs = np.zeros(grid1.coeffs.shape)
    grid1.coeffs[vertex, dof] = amount
    total[vertex, dof] = amount
    ax.plot(x[:, 0], grid1(x), label=label)
grid1.coeffs = total
ax.plot(x[:, 0], grid1(x), "k", lw=2, label="sum of the three")
ax.plot(grid1.vertices[:, 0], grid1.coeffs[:, 0], "ko")
ax.set_xlabel("$x$")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The sum interpolates: at every vertex it takes the stored value and slope.

# %%
vertex_points = grid1.vertices.reshape(-1, 1)
assert np.allclose(grid1(vertex_points), grid1.coeffs[:, 0])
assert np.allclose(grid1.gradient(vertex_points)[:, 0], grid1.coeffs[:, 1])

# %% [markdown]
# ## 4. Tensor products in 2D
#
# In $d$ dimensions the Q3 elements are products of one 1D cubic per axis
# {cite}`ernst2019,arnold2014`. A cell has $4^d$ of them: $16$ in 2D, $64$ in 3D. Each vertex
# carries $2^d$ degrees of freedom: in 2D $F, F_x, F_y, F_{xy}$; the mixed derivative
# $F_{xy}$ belongs to the product of the two slope cubics. In `dbm.HermiteGrid.coeffs`,
# shaped `(*n_vertices, 2**d)`, degree of freedom $m$ is the derivative taken once along every
# axis $k$ whose bit `(m >> k) & 1` is set: in 2D, $m = 0, 1, 2, 3$ are $F, F_x, F_y, F_{xy}$.
#
# The 16 basis functions of a unit cell, one vertex per corner:

# %%
fig = dbm.hermite.plot_cell_basis(cell_size=1.0)
plt.show()

# %% [markdown]
# Each point lies in one cell, so only the $4^d$ basis functions of that cell are non-zero
# there. `grid.basis(x)` returns their positions in `coeffs.flat` and their values, which
# are exactly the $\partial F/\partial u_l$ of the sensitivity (30). Two checks: the weights
# reproduce $F(x)$, and the value basis functions sum to one (constants are reproduced).

# %%
grid2 = dbm.HermiteGrid([-1.0, -1.0], [1.0, 1.0], 0.5)
grid2.coeffs = rng.normal(size=grid2.coeffs.shape)
points = rng.uniform(-1, 1, size=(1000, 2))
idx, w = grid2.basis(points)
print("basis functions per point:", idx.shape[1])
assert np.allclose((w * grid2.coeffs.flat[idx]).sum(axis=1), grid2(points))
assert np.allclose((w * (idx % 4 == 0)).sum(axis=1), 1.0)

# %% [markdown]
# ## 5. Interpolating and fitting
#
# There are two ways to set the coefficients.
#
# * **Interpolation** (`grid.interpolate(f, derivatives)`): read the value and derivatives
#   of a known function at the vertices.
# * **Least squares** (`grid.fit(x, y, ridge=...)`): minimise
#   $\sum_i (F(x_i) - y_i)^2 + \lambda \sum_l u_l^2$ over the coefficients. Because $F$ is
#   linear in $\mathbf u$ (eq. 34), this is a linear least-squares problem whose design
#   matrix has the basis weights in each row. The learning algorithm of notebooks 04–05
#   instead moves the same coefficients by gradient descent on (30).
#
# Move the slider to change the cell size $h$: smaller cells follow $f$ more closely, and
# the fit to 80 noisy samples ($\sigma = 0.02$) degrades once a cell holds only a few samples.

# %%
def target(x):
    return np.sin(3 * x) + 0.5 * x**2


def target_slope(x):
    return 3 * np.cos(3 * x) + x


x_samples = np.sort(rng.uniform(-1, 1, 80))
y_samples = target(x_samples) + rng.normal(0, 0.02, x_samples.size)


def show_interpolation(cell_size):
    fig, errors = dbm.hermite.plot_interpolation_1d(
        target, target_slope, cell_size, samples=(x_samples, y_samples)
    )
    plt.show()
    return errors


sliders = {"cell_size": float_slider(0.5, 0.1, 1.0, 0.05, "cell size h")}

# %% tags=["nbval-ignore-output"]
slider_view(show_interpolation, **sliders)

# %% [markdown]
# The same figure at the default cell size, for the book:

# %%
errors = show_interpolation(**defaults(sliders))
print(errors)
assert errors["interpolation"] < 0.02 and errors["fit"] < 0.05

# %% [markdown]
# ## 6. Measuring the $h^4$ convergence
#
# On one cell, the error of cubic Hermite interpolation has the form (the Hermite
# remainder, a Taylor argument)
#
# $$f(x) - F(x) = \frac{f^{(4)}(\xi)}{4!}\,(x - x_i)^2 (x - x_{i+1})^2
#   = \frac{f^{(4)}(\xi)}{24}\, h^4\, t^2 (1-t)^2,$$
#
# and $t^2(1-t)^2 \le 1/16$, so $\max|f - F| \le \frac{h^4}{384}\max|f^{(4)}|$: halving $h$
# divides the error by $16$. In $d$ dimensions the tensor product inherits the same order.
# We measure it for $f(\mathbf x) = \prod_k \sin(a_k x_k + c_k)$, whose mixed derivatives are
# products of sines and cosines.

# %%
a = np.array([1.3, 2.1, 0.7])
c = np.array([0.2, -0.4, 1.1])


def sines(dim):
    """f and its 2**dim - 1 mixed derivatives, in HermiteGrid's layout."""

    def f(x):
        return np.prod(np.sin(a[:dim] * x + c[:dim]), axis=1)

    def derivatives(x):
        s, ds = np.sin(a[:dim] * x + c[:dim]), a[:dim] * np.cos(a[:dim] * x + c[:dim])
        bits = [[(m >> k) & 1 for k in range(dim)] for m in range(1, 2**dim)]
        return np.stack([np.prod(np.where(b, ds, s), axis=1) for b in bits], axis=1)

    return f, derivatives


# %%
cell_sizes = np.array([0.5, 0.25, 0.125, 0.0625])
orders = {}
fig, ax = plt.subplots(figsize=(5.5, 4))
for dim in (1, 2, 3):
    f, derivatives = sines(dim)
    x_test = rng.uniform(0, 1, size=(4000, dim))
    errs = []
    for h in cell_sizes:
        grid = dbm.HermiteGrid([0.0] * dim, [1.0] * dim, h).interpolate(f, derivatives)
        errs.append(np.abs(grid(x_test) - f(x_test)).max())
    orders[dim] = dbm.hermite.convergence_order(cell_sizes, errs)
    dbm.hermite.plot_convergence(
        cell_sizes, errs, orders[dim], ax=ax, label=f"{dim}D", guide=dim == 3,
        marker="os^"[dim - 1], ls=["-", "-", ":"][dim - 1], ms=9 - 2 * dim,
    )
    if dim == 1:  # the 1D bound from the remainder formula, max |f''''| <= a^4
        bound = cell_sizes**4 / 384 * a[0] ** 4
        assert np.all(np.array(errs) <= bound)
        ax.loglog(cell_sizes, bound, ":", color="C0", label="1D bound $h^4 a^4/384$")
ax.legend(fontsize=8)
plt.show()
print({dim: round(order, 3) for dim, order in orders.items()})
assert all(3.7 < order < 4.3 for order in orders.values())

# %% [markdown]
# All three slopes are close to 4. (The 2D and 3D errors nearly coincide: the largest error
# comes from the fastest-varying factor, $\sin(2.1 x_1 - 0.4)$, which both contain.)

# %% [markdown]
# ## 7. A 3D grid like the later notebooks
#
# Notebook 04 learns $F_b, F_J, F_K$ as functions of $(b, J, K)$ on cells of side $0.5$
# covering the box of initial conditions $[-1, 1]^3$ (paper Fig. 2). That grid has
# $5^3 = 125$ vertices with $2^3 = 8$ degrees of freedom each ($F$, three first, three
# second mixed and one third mixed derivative), 1000 coefficients in all. (Eq. (34) counts
# "8V" for V cells; the exact count is 8 per *vertex*.)
#
# We fit a smooth stand-in for a learned $F_b(b, J, K)$ from 3000 scattered samples and
# look at the slice $K = 0$.

# %%
grid3 = dbm.HermiteGrid([-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], 0.5)
print(grid3, "coeffs shape:", grid3.coeffs.shape)


def stand_in(theta):
    b, J, K = theta.T
    return -0.5 * b + 0.3 * J * K - 0.2 * np.tanh(2 * (b + J))


theta_train = rng.uniform(-1, 1, size=(3000, 3))
grid3.fit(theta_train, stand_in(theta_train), ridge=1e-10)
theta_test = rng.uniform(-1, 1, size=(2000, 3))
rmse = np.sqrt(np.mean((grid3(theta_test) - stand_in(theta_test)) ** 2))
print(f"test RMSE of the fit: {rmse:.2e}")
assert rmse < 5e-3

# %%
fig = dbm.hermite.plot_slice(grid3, stand_in, axis=2, value=0.0, labels=["$b$", "$J$", "$K$"])
plt.show()

# %% [markdown]
# What the learning loop asks of this grid at each Euler substep, for the current
# $\boldsymbol\theta$: the value $F$ (to step eq. 27), the gradient
# $\partial F/\partial\boldsymbol\theta$ (for the adjoint, eq. 31) and the 64 basis weights
# (for the sensitivity, eq. 30). The gradient agrees with finite differences:

# %%
theta = np.array([0.3, -0.2, 0.55])
value, gradient = grid3.value_and_gradient(theta)
idx, w = grid3.basis(theta)
step = 1e-6
finite_diff = [(grid3(theta + e) - grid3(theta - e)) / (2 * step) for e in step * np.eye(3)]
print(f"F = {value:.5f}, dF/dtheta = {np.round(gradient, 5)}, {idx.size} basis weights")
assert np.allclose(gradient, finite_diff, atol=1e-7)
assert np.isclose((w * grid3.coeffs.flat[idx]).sum(), value)

# %% [markdown]
# Numba code can call the same kernel without the Python layer, with
# `dbm.hermite.evaluate_point(theta, *grid3.kernel_args, work, grad, idx, w)`;
# `benchmarks/hermite.py` times both routes. A learned grid is saved with the rest of a model:

# %%
with tempfile.TemporaryDirectory() as tmp:
    grid3.save(Path(tmp) / "F_b.npz")
    loaded = dbm.HermiteGrid.load(Path(tmp) / "F_b.npz")
assert np.array_equal(loaded(theta_test), grid3(theta_test))

# %% [markdown]
# Points outside the grid are an error, never silently clamped; ask for NaN explicitly:

# %%
try:
    grid3([1.2, 0.0, 0.0])
except ValueError as error:
    print(error)
print(grid3([1.2, 0.0, 0.0], outside="nan"))

# %% [markdown]
# ## 8. Exercises
#
# ```{exercise-start}
# :label: hermite-ex1
# ```
#
# **Physical versus cell-local slopes.** Interpolate $f(x) = x^2$ on $[0, 2]$ with cells of
# size $h = 0.5$. Check that `coeffs[:, 1]` holds $f'(x_i) = 2x_i$. What would the authors'
# cell-local coefficients $dF/dt$ be? Build a function from such cell-local coefficients by
# converting them, and check it still reproduces $x^2$ exactly.
#
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} hermite-ex1
# :class: dropdown
# ```

# %%
h = 0.5
g = dbm.HermiteGrid([0.0], [2.0], h).interpolate(lambda x: x[:, 0] ** 2, lambda x: 2 * x)
xv = g.vertices[:, 0]
assert np.allclose(g.coeffs[:, 1], 2 * xv)
cell_local = h * g.coeffs[:, 1]  # dF/dt = h dF/dx
print("cell-local slopes:", cell_local)

converted = dbm.HermiteGrid([0.0], [2.0], h)
converted.coeffs = np.stack([xv**2, cell_local / h], axis=1)  # back to physical units
x = np.linspace(0, 2, 101)[:, None]
assert np.allclose(converted(x), x[:, 0] ** 2, atol=1e-14)

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: hermite-ex2
# ```
#
# **The error constant is sharp.** $x^4$ is the simplest function the cubics cannot
# reproduce. By the remainder formula of section 6 (with $f^{(4)} = 24$) the interpolation
# error of $x^4$ on any cell is exactly $h^4 t^2 (1 - t)^2$. Verify this numerically on
# $[0, 1]$ for $h = 0.25$, and confirm the maximum error $h^4/16$ at the cell midpoints.
#
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} hermite-ex2
# :class: dropdown
# ```

# %%
h = 0.25
g = dbm.HermiteGrid([0.0], [1.0], h).interpolate(lambda x: x[:, 0] ** 4, lambda x: 4 * x**3)
x = np.linspace(0, 1, 401)
t_local = (x / h) % 1.0
error = x**4 - g(x[:, None])
assert np.allclose(error, h**4 * t_local**2 * (1 - t_local) ** 2, atol=1e-15)
print(f"max error {error.max():.6g} vs h^4/16 = {h**4 / 16:.6g}")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: hermite-ex3
# ```
#
# **Counting degrees of freedom.** The Rössler model of notebook 05 learns nine functions of
# $(b_A, b_B, b_C)$ on cells of side $0.1$. How many coefficients does one such function have
# on a box of 10 cells per axis (say $[-1, 0]^3$; the paper centres its cells on the initial
# condition), and how many basis functions are non-zero at any one point? Check with
# `HermiteGrid`.
#
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} hermite-ex3
# :class: dropdown
# ```

# %%
g = dbm.HermiteGrid([-1.0] * 3, [0.0] * 3, 0.1)
print(g.n_cells, "cells per axis;", g.n_dofs, "coefficients =", 11**3, "vertices x 8")
assert g.n_dofs == 11**3 * 8
assert g.basis([-0.5, -0.5, -0.5])[0].size == 4**3

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# * The adjoint equation (31) differentiates $F$ with respect to $\boldsymbol\theta$, so the
#   elements must be $C^1$; cubic Hermite (Q3) elements are the simplest tensor-product
#   choice (eq. 34, Fig. 1(d) of {cite}`ernst2019`).
# * In 1D four cubics per cell control value and slope at the two ends; in $d$ dimensions
#   their products give $4^d$ functions per cell and $2^d$ degrees of freedom per vertex
#   (value and mixed derivatives, stored in **physical** units by `dbm.HermiteGrid`).
# * `grid(x)`, `grid.gradient(x)` and `grid.basis(x)` give $F$, $\partial F/\partial\theta$
#   and $\partial F/\partial u$, the three quantities the learning rule needs.
# * Interpolation error falls as $h^4$ (measured orders printed above, asserted in
#   $[3.7, 4.3]$), with the sharp 1D constant $\max|f^{(4)}|/384$.
#
# Next: notebook 03 builds the Boltzmann machines whose parameters these functions evolve.
#
# ## References
#
# The full list is on the book's bibliography page. This notebook cites
# {cite}`ernst2019` (eqs. 27, 30, 31, 34; Fig. 1(d)), {cite}`hughes2000` (finite elements)
# and {cite}`arnold2014` (the Q3 family).

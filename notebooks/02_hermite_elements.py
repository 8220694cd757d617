# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Q3 C1 Hermite finite elements
#
# $\newcommand{\vtheta}{\boldsymbol{\theta}}\newcommand{\vF}{\mathbf{F}}$
# $\newcommand{\vV}{\mathbf{V}}\newcommand{\vH}{\mathbf{H}}$
#
# ## Overview
#
# A dynamic Boltzmann distribution lets its interaction parameters $\vtheta(t)$
# evolve by an ODE whose right-hand side is *learned*,
# $d\theta_k/dt = F_k(\vtheta(t); \mathbf{u}_k)$ (eq. 27 of {cite}`ernst2019`).
# This notebook answers the question: **what function family should $F_k$ be, so that
# the learning rule can differentiate it?** The paper's answer is the cubic Hermite
# ("Q3, C1") finite elements of its eq. (34) and Fig. 1(d). We build them up from
# four 1D cubics to 3D grids like the ones the paper's experiments learn on (section IV).
#
# **Learning objectives.** After this notebook you can
#
# 1. explain why a gradient computed backward through Euler steps (the adjoint learning
#    rule of eqs. (30)-(31)) needs $C^1$ (not merely $C^0$) elements, and see what goes
#    wrong with $C^0$ ones;
# 2. derive the four Hermite cubics and say what each degree of freedom controls;
# 3. build tensor-product elements in 2D and 3D and read the coefficient layout of
#    `dbm.HermiteGrid` (values and *physical* mixed derivatives at each vertex);
# 4. interpolate and least-squares fit a function, and measure the $\ell^4$ convergence.
#
# **Prerequisites.** Calculus (Taylor series, partial derivatives), NumPy, a first look at
# finite elements helps ({cite}`hughes2000`) but is not needed. Notebook 01 is not needed.
#
# **Time.** 60 to 90 minutes to work through, the three exercises included (the project is
# extra): it is about as long as notebook 01, which takes a student 60 to 75 minutes, with
# more derivation to follow by hand. Executing the whole notebook takes about 10 seconds in
# the book build on a 2-core machine.
#
# Symbols are defined once for the whole book on the [notation page](../notation.md).
#
# **Notation.** In this notebook $t$ is *time*, as in the paper; the coordinate inside one
# finite-element cell is called $\xi$ (the docstrings of `dbm.hermite` call it `t`), and
# $\ell$ is the cell size (`h` in the code and in most finite-element texts; in this book $h$
# is a hidden unit, as in the paper).

# %% tags=["colab-setup", "remove-cell"]
# Google Colab only: install dbmtools, pinned to the version of this book
# (tests/test_publishing.py keeps the pin equal to pyproject.toml). Anywhere else
# (JupyterLab, Binder, nbval, the book) this cell does nothing. The install needs
# dbmtools 0.1.0 on PyPI: until the release workflow has published it, it fails on Colab.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "dbmtools==0.1.0"], check=True)

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
# ### 1.1 What the learning rule computes
#
# Write the parameterisation of one right-hand side as a sum over basis functions with
# learned coefficients $u_l$ (eq. 34 of {cite}`ernst2019`):
#
# $$F_k(\vtheta; \mathbf{u}_k) = \sum_l u_{k,l}\, f_l(\vtheta).$$
#
# Two pieces of the learning machinery meet this $F$; [notebook 4](04_adjoint_method)
# derives them in full, and here we need only their shape.
#
# * **Euler steps.** The parameters are integrated forward in time with explicit Euler
#   steps of size $\Delta t$: $\vtheta_{n+1} = \vtheta_n + \Delta t\,
#   \vF(\vtheta_n)$. A step uses $F$, and its derivatives, at the point $\vtheta_n$
#   where it *starts*, for the whole step.
# * **The adjoint.** The learning rule needs the derivative of an objective with
#   respect to every coefficient $u_{k,i}$. Instead of perturbing each coefficient, one
#   runs the chain rule backward in time through the Euler steps: a second set of
#   variables $\phi_k(t)$, the *adjoint*, carries "how much does the objective change if
#   $\theta_k$ changes at time $t$" from the end back to the start. In the paper's
#   continuous form, the adjoint obeys the ODE (31),
#   $d\phi_k/dt = \tilde\mu_k - \mu_k - \sum_l (\partial F_l/\partial\theta_k)\,\phi_l$
#   ($\mu$, $\tilde\mu$: the moments of the data and of the model), and the gradient is
#   the **sensitivity** (30), $dS/du_{k,i} = -\int dt\, (\partial F_k/\partial
#   u_{k,i})\,\phi_k$, with $\partial F_k/\partial u_{k,i} = f_i(\vtheta(t))$: just the
#   basis function values along the trajectory.
#
# So the learning rule evaluates $F$ (Euler steps), $\partial F/\partial u$ (30) and
# $\partial F/\partial\vtheta$ (31) along the trajectory. The paper states the
# consequence in one line: "the learning rule (30) requires $C_1$ finite elements"
# (section II B of {cite}`ernst2019`): the adjoint (31) *differentiates* $F$ with respect
# to its arguments.
#
# ### 1.2 What goes wrong with $C^0$ elements
#
# With ordinary piecewise-linear ($C^0$) elements, $\partial F/\partial\theta$ is piecewise
# constant and *jumps* every time the trajectory $\vtheta(t)$ crosses a cell face,
# so the term $\sum_l (\partial F_l/\partial\theta_k)\,\phi_l$ of (31) is discontinuous in
# time. An Euler step that straddles a face uses the slope of the cell where it starts for
# the whole step, so it makes an $O(\Delta t)$ error proportional to the jump (instead of
# the $O(\Delta t^2)$ of a step where the coefficient is smooth), and how large that error
# is depends on where the step falls relative to the face. The computed gradient then
# changes in jumps whenever a small change of the coefficients (or of the initial
# condition) moves a step across a face. $C^1$ elements keep the value *and* the first
# derivatives continuous, so (31) has a continuous coefficient and the computed gradient
# is a smooth function of the coefficients. Below, both kinds of element interpolate the
# same function on cells of size $0.5$; look at the right panel.

# %%
fig = dbm.plotting.plot_c0_vs_c1(lambda x: np.sin(2 * x), lambda x: 2 * np.cos(2 * x))
plt.show()

# %% [markdown]
# **Figure 2.1.** $F(\theta) = \sin 2\theta$ interpolated on cells of size 0.5 (ticks:
# vertices) piecewise-linearly (C0) and by Hermite cubics (C1), left, and the derivatives
# of the two interpolants, right: the C0 derivative jumps at every vertex.
#
# ### 1.3 A small experiment
#
# **The setting.** Take one parameter with $d\theta/dt = F(\theta)$, where $F$
# interpolates $1 + \tfrac12\sin 2\theta$ on cells of size $0.5$, either piecewise-linearly
# ($C^0$) or with Hermite cubics ($C^1$). Take Euler steps $\theta_{n+1} = \theta_n + \Delta t\,
# F(\theta_n)$ with $\Delta t = 0.05$ up to $T = 1.5$, and ask for the derivative of the end
# point $\theta_{N_t} = \theta(T)$ (after $N_t$ steps) with respect to one coefficient $u_i$, the
# value of $F$ at the
# vertex $\theta = 2$ (the simplest stand-in for $dS/du_{k,i}$). The chain rule, run backward
# from the end through the Euler steps, gives the adjoint recursion (the discrete form of
# the adjoint of section 1.1)
#
# $$\phi_{N_t} = 1,\qquad \phi_n = \phi_{n+1}\Big(1 + \Delta t\,\frac{\partial F}{\partial\theta}
#   (\theta_n)\Big),\qquad \frac{d\theta_{N_t}}{du_i} = \sum_{n=0}^{N_t-1} \Delta t\,
#   f_i(\theta_n)\,
#   \phi_{n+1},$$
#
# with $\phi_n = \partial\theta_{N_t}/\partial\theta_n$ and $f_i = \partial F/\partial u_i$. This is
# an Euler step of $d\phi/dt = -(\partial F/\partial\theta)\,\phi$, eq. (31) with the moment
# source $\tilde\mu - \mu$ replaced by the end condition $\phi(T) = 1$ of this objective, and a
# Riemann sum for the integral (30) (whose minus sign comes from the paper's objective).
# `models` holds $F$, $\partial F/\partial\theta$ and $f_i$ for both kinds of element.

# %%
def rhs(x):
    return 1 + 0.5 * np.sin(2 * x)


h_demo, i_vertex = 0.5, 4  # u_i is the value coefficient at the vertex theta = 2
c1 = dbm.HermiteGrid([0.0], [4.0], h_demo)
c1.interpolate(lambda p: rhs(p[:, 0]), lambda p: np.cos(2 * p))
c1_basis = dbm.HermiteGrid([0.0], [4.0], h_demo)  # f_i: coefficient i is 1, all others 0
c1_basis.coeffs[i_vertex, 0] = 1.0
xv = c1.vertices[:, 0]
c0_slopes = np.diff(rhs(xv)) / h_demo
models = {  # (F, dF/dtheta, f_i), each acting on an array of theta values
    "C0": (
        lambda th: np.interp(th, xv, rhs(xv)),
        lambda th: c0_slopes[np.floor(th / h_demo).astype(int)],
        lambda th: np.interp(th, xv, np.arange(xv.size) == i_vertex),
    ),
    "C1": (
        lambda th: c1(th[:, None]),
        lambda th: c1.gradient(th[:, None])[:, 0],
        lambda th: c1_basis(th[:, None]),
    ),
}


def euler_adjoint(theta0, F, dF, f_i, T=1.5, dt=0.05, du=0.0):
    """Euler paths of dtheta/dt = F + du f_i from each theta0, and dtheta(T)/du_i (adjoint)."""
    path = [np.asarray(theta0, dtype=np.float64)]
    for _ in range(round(T / dt)):
        path.append(path[-1] + dt * (F(path[-1]) + du * f_i(path[-1])))
    phi, grad = np.ones_like(path[0]), np.zeros_like(path[0])
    for theta in path[-2::-1]:  # n = N-1, ..., 0: add dt f_i phi_{n+1}, then phi -> phi_n
        grad += dt * f_i(theta) * phi
        phi = phi * (1 + dt * dF(theta))
    return np.array(path), grad


# %% [markdown]
# First, the adjoint is right for *both* elements: it agrees with a central finite difference
# of the Euler end point ($F$ is linear in $u_i$, so moving $u_i$ by $\pm\epsilon$ adds
# $\pm\epsilon f_i$ to $F$: the argument `du`). Then we slide the starting point $\theta(0)$ over $[0.5, 1]$,
# which moves every step relative to the cell faces, and record the gradient, at
# $\Delta t = 0.05$ and at $\Delta t = 5\times 10^{-4}$ (close to the $\Delta t \to 0$ limit).

# %%
theta0 = np.linspace(0.5, 1.0, 201)
eps = 1e-6
grads, jumps, steps_only = {}, {}, {}
dts = (0.05, 0.025, 0.0125)
for name, (F, dF, f_i) in models.items():
    grads[name] = euler_adjoint(theta0, F, dF, f_i)[1]
    end_plus = euler_adjoint(theta0, F, dF, f_i, du=eps)[0][-1]
    end_minus = euler_adjoint(theta0, F, dF, f_i, du=-eps)[0][-1]
    assert np.allclose(grads[name], (end_plus - end_minus) / (2 * eps), atol=1e-7)
    grads[name, "fine"] = euler_adjoint(theta0, F, dF, f_i, dt=5e-4)[1]
    for dt in dts:  # largest change between neighbouring starting points
        grad = euler_adjoint(theta0, F, dF, f_i, dt=dt)[1]
        jumps[name, dt] = np.abs(np.diff(grad)).max()
        # without the smooth part: the change of the (nearly smooth) dt = 5e-4 gradient
        steps_only[name, dt] = np.abs(np.diff(grad - grads[name, "fine"])).max()
for name in models:
    print(f"{name}, dt = {dts}:")
    print("    largest change between neighbouring theta(0):     ",
          ", ".join(f"{jumps[name, dt]:.4f}" for dt in dts))
    print("    the same, after the smooth part is subtracted:  ",
          ", ".join(f"{steps_only[name, dt]:.4f}" for dt in dts))
    error = np.abs(grads[name] - grads[name, "fine"]).max()
    print(f"    largest distance from the dt = 5e-4 gradient at dt = 0.05: {error:.4f}")
assert jumps["C0", 0.05] > 5 * jumps["C1", 0.05]
halving = [
    steps_only["C0", big] / steps_only["C0", small]
    for big, small in zip(dts, dts[1:], strict=False)
]
print("C0: ratio of the jumps when dt halves:", np.round(halving, 2))
assert all(1.7 < ratio < 2.3 for ratio in halving)  # jumps proportional to dt

# %%
paths = euler_adjoint(theta0, *models["C1"])[0]  # shape (steps + 1, 201)
time = np.linspace(0, 1.5, paths.shape[0])
shown = [0, 100, 200]  # three of the 201 paths
fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
a0.plot(time, paths[:, shown], ".-", color="0.3", ms=3)
a0.plot([], [], ".-", color="0.3", ms=3, label="Euler paths (dots: steps)")
a0.plot(np.zeros(3), paths[0, shown], "ko", label=r"start: $\theta(0)$ at $t = 0$")
a0.plot(np.full(3, time[-1]), paths[-1, shown], "ks", mfc="w", label=r"end: $\theta(T)$")
a0.hlines(xv[xv < 2.6], 0, time[-1], color="0.7", lw=0.8, zorder=0, label="cell faces")
a0.axhline(xv[i_vertex], color="C3", ls="--", lw=1, label=r"vertex of $u_i$")
a0.set(xlabel="time $t$", ylabel=r"$\theta$", title=r"Euler paths, $\Delta t = 0.05$ (C1)")
for k, name in enumerate(models):
    a1.plot(theta0, grads[name], color=f"C{k}", label=rf"{name}, $\Delta t = 0.05$")
    a1.plot(theta0, grads[name, "fine"], ":", color=f"C{k}", lw=2,
            label=rf"{name}, $\Delta t = 5 \cdot 10^{{-4}}$")
a1.set(xlabel=r"starting point $\theta(0)$", ylabel=r"adjoint gradient $d\theta(T)/du_i$",
       title="the gradient as the paths slide over the faces")
for ax in (a0, a1):
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Figure 2.2.** Left: three of the 201 Euler paths of the C1 model, from starting points
# $\theta(0)$ spread over $[0.5, 1]$, against the cell faces (grey) and the vertex of the
# coefficient $u_i$ (red). Right: the adjoint gradient $d\theta(T)/du_i$ as a function of
# the starting point, for both elements, at $\Delta t = 0.05$ and near the
# $\Delta t \to 0$ limit.
#
# With $C^0$ elements the gradient is a staircase: it jumps each time a step of some path
# passes over a face, around a limit it only reaches as $\Delta t \to 0$. How big are the
# jumps? The largest change between neighbouring starting points (first printed row)
# falls more slowly than $\Delta t$, because it also contains the smooth change of the
# gradient between two starting points $0.0025$ apart, which does not depend on
# $\Delta t$ (about $0.0013$: the whole of the C1 row). Subtract that smooth part (the
# change of the $\Delta t = 5\cdot10^{-4}$ gradient) and what is left, the jump itself
# (second row), halves each time $\Delta t$ halves (ratios printed, asserted between 1.7
# and 2.3): the jumps shrink in proportion to $\Delta t$, and for C1 nothing is left. Gradient descent on the coefficients
# would see these jumps as noise. With $C^1$ elements the gradient is smooth and already close
# to its limit at $\Delta t = 0.05$. Both are still first-order accurate in $\Delta t$ (Euler);
# the difference is that only the $C^1$ gradient depends smoothly on the coefficients and
# initial conditions, which is what the learning rule (30)-(31) needs.

# %% [markdown]
# ## 2. The four 1D Hermite cubics
#
# On one cell $[x_i, x_i + \ell]$ use the cell-local coordinate $\xi = (x - x_i)/\ell \in [0, 1]$
# (not time) and look for a cubic $P(\xi) = c_0 + c_1 \xi + c_2 \xi^2 + c_3 \xi^3$ that matches a
# value and a slope at each end: $P(0), P'(0), P(1), P'(1)$. These are four linear conditions
# on $(c_0, c_1, c_2, c_3)$,
#
# $$\begin{pmatrix}1&0&0&0\\0&1&0&0\\1&1&1&1\\0&1&2&3\end{pmatrix}
#   \begin{pmatrix}c_0\\c_1\\c_2\\c_3\end{pmatrix} =
#   \begin{pmatrix}P(0)\\P'(0)\\P(1)\\P'(1)\end{pmatrix},$$
#
# and the columns of the inverse matrix are the four basis cubics, each equal to one for
# "its" condition and zero for the other three. Let us solve it and compare with
# `dbm.hermite.hermite_cubics`.

# %%
conditions = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 1], [0, 1, 2, 3]], dtype=float)
monomial_coeffs = np.linalg.inv(conditions).T  # row r: (c_0, c_1, c_2, c_3) of basis function r
print(monomial_coeffs)

s = np.linspace(0, 1, 11)
from_monomials = monomial_coeffs @ np.vstack([s**0, s, s**2, s**3])
assert np.allclose(from_monomials, dbm.hermite.hermite_cubics(s))

# %% [markdown]
# Reading off the rows:
#
# $$\psi_{00} = 1 - 3\xi^2 + 2\xi^3,\quad \psi_{10} = \xi - 2\xi^2 + \xi^3,\quad
#   \psi_{01} = 3\xi^2 - 2\xi^3,\quad \psi_{11} = -\xi^2 + \xi^3 .$$
#
# (Most texts call these cubics $h_{00}, \dots, h_{11}$, as the code does; in this book $h$ is a
# hidden unit, so they are $\psi$ here, the usual letter of finite-element shape functions.) These
# are the curves of Fig. 1(d) of {cite}`ernst2019`:

# %%
fig = dbm.plotting.plot_hermite_cubics()
plt.show()

# %% [markdown]
# **Figure 2.3.** The four Hermite cubics on one cell, as in Fig. 1(d) of the paper: each
# is 1 in value or slope at one end and 0 in the other three conditions.

# %% [markdown]
# **Physical units.** The cubics match slopes with respect to $\xi$. With $d\xi/dx = 1/\ell$,
# the cell-local slope is $dF/d\xi = \ell\,F'$ where $F' = dF/dx$ is the *physical* slope, so in
# terms
# of the values $F_i$ and physical slopes $F'_i$ at the two vertices the cubic on the cell is
#
# $$F(x) = F_i\,\psi_{00}(\xi) + \ell\,F'_i\,\psi_{10}(\xi) + F_{i+1}\,\psi_{01}(\xi) +
# \ell\,F'_{i+1}\,\psi_{11}(\xi).$$
#
# Written with cell-local slopes $(dF/d\xi)_i$ instead, the factors $\ell$ disappear:
# $F = F_i \psi_{00} + (dF/d\xi)_i \psi_{10} + F_{i+1} \psi_{01} + (dF/d\xi)_{i+1} \psi_{11}$
# (exercise 1
# builds $F$ this way). `dbm.HermiteGrid` stores $F'_i$ (physical derivatives), so a
# coefficient means the same thing whatever the cell size. (A remark for readers who compare
# with other implementations: the authors' published code, Q3-C1-Finite-Elements 2.0, stored
# cell-local slopes; dividing such a coefficient by $\ell$ once per differentiated axis gives
# ours.)
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
ax.set_ylabel("$F(x)$")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Figure 2.4.** Three degrees of freedom of a 1D grid with unit cells, switched on one
# at a time, and their sum (black, dots: the stored vertex values). Each affects only the
# two cells that share its vertex.
#
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
# The 16 basis functions of a unit cell $[0, 1]^2$ in the plane $(x, y)$, one vertex per
# corner (for a learned $F_k$ the axes would be two parameters, say $\theta_1, \theta_2$):

# %%
fig = dbm.plotting.plot_cell_basis(cell_size=1.0)
plt.show()

# %% [markdown]
# **Figure 2.5.** The 16 basis functions of a unit cell in 2D, row by row the degree of
# freedom along $y$, column by column along $x$; each is divided by its largest absolute
# value (in its title) so that one colour bar serves all 16.

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
#   of a known function $y(x)$ at the vertices.
# * **Least squares** (`grid.fit(x, y, ridge=...)`): minimise
#   $\sum_i (F(x_i) - y_i)^2 + \lambda_\text{ridge} \sum_l u_l^2$ over the coefficients. Because $F$
#   is
#   linear in $\mathbf u$ (eq. 34), this is a linear least-squares problem whose design
#   matrix has the basis weights in each row. The paper's learning algorithm (its
#   Algorithm 1, the subject of [notebook 4](04_adjoint_method)) instead moves the same
#   coefficients by gradient descent on (30).
#
# Move the slider to change the cell size $\ell$: smaller cells follow $y$ more closely, and
# the fit to 80 noisy samples $y_i = y(x_i) + {}$noise (standard deviation 0.02) degrades once a
# cell holds only a few samples.

# %%
def target(x):
    return np.sin(3 * x) + 0.5 * x**2


def target_slope(x):
    return 3 * np.cos(3 * x) + x


x_samples = np.sort(rng.uniform(-1, 1, 80))
y_samples = target(x_samples) + rng.normal(0, 0.02, x_samples.size)


def show_interpolation(cell_size):
    result = dbm.hermite.interpolate_1d(target, target_slope, cell_size,
                                        samples=(x_samples, y_samples))
    dbm.plotting.plot_interpolation_1d(target, result, samples=(x_samples, y_samples))
    plt.show()
    return result.errors


sliders = {"cell_size": float_slider(0.5, 0.1, 1.0, 0.05, "cell size ℓ")}

# %% tags=["nbval-ignore-output"]
slider_view(show_interpolation, **sliders)

# %% [markdown]
# The same figure at the default cell size, for the book:

# %%
errors = show_interpolation(**defaults(sliders))
print(errors)
assert errors["interpolation"] < 0.02 and errors["fit"] < 0.05

# %% [markdown]
# **Figure 2.6.** Left: $y(x) = \sin 3x + x^2/2$, its Hermite interpolant and a
# least-squares fit to 80 noisy samples, on cells of size $\ell = 0.5$. Right: the errors of
# both on a log scale.

# %% [markdown]
# ## 6. Measuring the $\ell^4$ convergence
#
# On one cell, the error of cubic Hermite interpolation has the form (the Hermite
# remainder, a Taylor argument)
#
# $$y(x) - F(x) = \frac{y^{(4)}(x^\star)}{4!}\,(x - x_i)^2 (x - x_{i+1})^2
#   = \frac{y^{(4)}(x^\star)}{24}\, \ell^4\, \xi^2 (1-\xi)^2,$$
#
# for some $x^\star$ in the cell, with $\xi$ the cell-local coordinate, and $\xi^2(1-\xi)^2 \le
# 1/16$,
# so $\max|y - F| \le \frac{\ell^4}{384}\max|y^{(4)}|$: halving $\ell$
# divides the error by $16$. In $d$ dimensions the tensor product inherits the same order.
# We measure it for $y(\mathbf x) = \prod_k \sin(\omega_k x_k + c_k)$, whose mixed derivatives are
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
    dbm.plotting.plot_convergence(
        cell_sizes, errs, orders[dim], ax=ax, label=f"{dim}D", guide=dim == 3,
        marker="os^"[dim - 1], ls=["-", "-", ":"][dim - 1], ms=9 - 2 * dim,
    )
    if dim == 1:  # the 1D bound from the remainder formula, max |f''''| <= a^4
        bound = cell_sizes**4 / 384 * a[0] ** 4
        assert np.all(np.array(errs) <= bound)
        ax.loglog(cell_sizes, bound, ":", color="C0", label=r"1D bound $\ell^4 \omega_1^4/384$")
ax.legend(fontsize=8)
dbm.plotting.glue_figure("intro-02", fig)  # the book's intro page shows it too
plt.show()
print({dim: round(order, 3) for dim, order in orders.items()})
assert all(3.7 < order < 4.3 for order in orders.values())
dbm.plotting.glue_value("key-02-order", orders[3])  # 3D, as the paper's grids

# %% [markdown]
# **Figure 2.7.** Largest interpolation error at 4000 random points against the cell size
# $\ell$, in 1D, 2D and 3D, with the $\ell^4$ guide and the sharp 1D bound of the remainder
# formula.
#
# All three slopes are close to 4 (in 3D, the dimension of the paper's grids:
# {glue:text}`key-02-order:.2f`). (The 2D and 3D errors nearly coincide: the largest error
# comes from the fastest-varying factor, $\sin(2.1 x_1 - 0.4)$, which both contain.)

# %% [markdown]
# ## 7. A 3D grid like the paper's
#
# The 1D annihilation experiment (section IV A of the paper,
# [notebook 5](05_moment_closure_annihilation))
# learns $F_b, F_J, F_K$ as functions of $(b, J, K)$ on cells of side $0.5$ covering the box
# of initial conditions $[-1, 1]^3$ (paper Fig. 2). That grid has
# $5^3 = 125$ vertices with $2^3 = 8$ degrees of freedom each ($F$, three first, three
# second mixed and one third mixed derivative), 1000 coefficients in all. (Eq. (34) counts
# "8V" for V cells; the exact count is 8 per *vertex*.)
#
# We fit a smooth stand-in for a learned $F_b(b, J, K)$ from 3000 scattered samples and
# look at the slice $K = 0$. In the figure below, the left panel is the fitted grid, the
# middle panel the stand-in it was fitted to (same colour scale), and the right panel their
# difference on its own scale, several hundred times finer; the thin lines are the cell faces.
# Nothing in this figure is a trajectory: it shows $F_b$ itself.

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
fig = dbm.plotting.plot_hermite_slice(grid3, stand_in, axis=2, value=0.0,
                                      labels=["$b$", "$J$", "$K$"])
plt.show()

# %% [markdown]
# **Figure 2.8.** The slice $K = 0$ of a 3D Hermite grid fitted to a stand-in for $F_b$
# (left), the stand-in (middle, same colour scale, one colour bar for both) and their
# difference (right, its own colour bar).

# %% [markdown]
# What the learning loop asks of this grid at each Euler substep, for the current
# $\vtheta$: the value $F$ (to step eq. 27), the gradient
# $\partial F/\partial\vtheta$ (for the adjoint, eq. 31) and the 64 basis weights
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
# Each exercise comes with a code cell to complete (replace every `...`); the solution
# follows it.
#
# ```{exercise-start}
# :label: hermite-ex1
# ```
#
# **Physical versus cell-local slopes.** Interpolate $y(x) = x^2$ on $[0, 2]$ with cells of
# size $\ell = 0.5$ (`h` in the code). Check that `coeffs[:, 1]` holds $y'(x_i) = 2x_i$. What
# are the cell-local slopes $(dF/d\xi)_i$? Without `HermiteGrid`, build $F$ yourself from the
# cell-local formula of
# section 2, $F = F_i \psi_{00}(\xi) + (dF/d\xi)_i \psi_{10}(\xi) + F_{i+1} \psi_{01}(\xi) +
# (dF/d\xi)_{i+1} \psi_{11}(\xi)$, using `dbm.hermite.hermite_cubics` and no factors of $\ell$.
# Check
# that it reproduces $x^2$ and agrees with the grid. What goes wrong if you put the physical
# slopes into this formula, or give `HermiteGrid` the cell-local ones?
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
h = 0.5
g = ...  # a HermiteGrid on [0, 2] with cells of size h, interpolating x**2 (values and slopes)
cell_local = ...  # the cell-local slopes (dF/dxi)_i at the vertices


def cell_local_formula(x, values, slopes):
    """F on each cell from the end values and slopes, with the bare cubics (no h)."""
    ...


x = np.linspace(0, 2, 101)

# %% [markdown] tags=["solution"]
# ```{solution-start} hermite-ex1
# :class: dropdown
# ```

# %% tags=["solution"]
h = 0.5
g = dbm.HermiteGrid([0.0], [2.0], h).interpolate(lambda x: x[:, 0] ** 2, lambda x: 2 * x)
xv = g.vertices[:, 0]
assert np.allclose(g.coeffs[:, 1], 2 * xv)
cell_local = h * 2 * xv  # chain rule: dF/dxi = (dx/dxi) dF/dx = h * 2 x_i
print("cell-local slopes:", cell_local)


def cell_local_formula(x, values, slopes):
    """F on each cell from the end values and slopes, with the bare cubics (no h)."""
    i = np.minimum(np.floor(x / h).astype(int), values.size - 2)  # cell of each point
    h00, h10, h01, h11 = dbm.hermite.hermite_cubics(x / h - i)  # argument: xi in [0, 1]
    return values[i] * h00 + slopes[i] * h10 + values[i + 1] * h01 + slopes[i + 1] * h11


x = np.linspace(0, 2, 101)
from_local = cell_local_formula(x, xv**2, cell_local)
assert np.allclose(from_local, x**2, atol=1e-14)
assert np.allclose(from_local, g(x[:, None]), atol=1e-14)

unconverted = dbm.HermiteGrid([0.0], [2.0], h)
unconverted.coeffs = np.stack([xv**2, cell_local], axis=1)  # forgot to divide by h
mixed_up = {
    "physical slopes in the cell-local formula": cell_local_formula(x, xv**2, 2 * xv),
    "cell-local slopes in HermiteGrid": unconverted(x[:, None]),
}
for label, values in mixed_up.items():
    print(f"{label}: max |F - x^2| = {np.abs(values - x**2).max():.4f}")
    assert not np.allclose(values, x**2)

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: hermite-ex2
# ```
#
# **The error constant is sharp.** $x^4$ is the simplest function the cubics cannot
# reproduce. By the remainder formula of section 6 (with $y^{(4)} = 24$) the interpolation
# error of $x^4$ on any cell is exactly $\ell^4 \xi^2 (1 - \xi)^2$. Verify this numerically on
# $[0, 1]$ for $\ell = 0.25$ (`h` in the code), and confirm the maximum error $\ell^4/16$ at
# the cell midpoints.
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
h = 0.25
g = ...  # a HermiteGrid on [0, 1] interpolating x**4
x = np.linspace(0, 1, 401)
s_local = ...  # the cell-local coordinate xi of each x
error = ...  # x**4 minus the interpolant at x

# %% [markdown] tags=["solution"]
# ```{solution-start} hermite-ex2
# :class: dropdown
# ```

# %% tags=["solution"]
h = 0.25
g = dbm.HermiteGrid([0.0], [1.0], h).interpolate(lambda x: x[:, 0] ** 4, lambda x: 4 * x**3)
x = np.linspace(0, 1, 401)
s_local = (x / h) % 1.0
error = x**4 - g(x[:, None])
assert np.allclose(error, h**4 * s_local**2 * (1 - s_local) ** 2, atol=1e-15)
print(f"max error {error.max():.6g} vs h^4/16 = {h**4 / 16:.6g}")

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: hermite-ex3
# ```
#
# **Counting degrees of freedom.** The Rössler model (section IV B of the paper) learns nine
# functions of $(b_A, b_B, b_C)$ on cells of side $0.1$. How many coefficients does one such
# function have on a box of 10 cells per axis (say $[-1, 0]^3$; the paper centres its cells on
# the initial condition), and how many basis functions are non-zero at any one point? Check
# with `HermiteGrid`.
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
g = ...  # a HermiteGrid on [-1, 0]^3 with cells of side 0.1
n_coefficients = ...  # from g
n_nonzero = ...  # basis functions that are non-zero at one point inside (g.basis)

# %% [markdown] tags=["solution"]
# ```{solution-start} hermite-ex3
# :class: dropdown
# ```

# %% tags=["solution"]
g = dbm.HermiteGrid([-1.0] * 3, [0.0] * 3, 0.1)
print(g.n_cells, "cells per axis;", g.n_dofs, "coefficients =", 11**3, "vertices x 8")
assert g.n_dofs == 11**3 * 8
assert g.basis([-0.5, -0.5, -0.5])[0].size == 4**3

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ### Project
#
# **Does $C^1$ matter for learning, not just for one gradient?** Section 1.3 showed that the
# $C^0$ gradient jumps. Turn the experiment into learning: with the `euler_adjoint`
# function of section 1.3, let the values $u_l$ of $F$ at all vertices (and, for $C^1$, the
# slopes) be unknowns, pick a target end point $\theta^\star(T)$ for each of many starting
# points (generate them from a known $F^\star$), and minimise $\sum(\theta(T) -
# \theta^\star(T))^2$ by gradient descent with the adjoint gradient. Compare $C^0$ and $C^1$
# elements at several $\Delta t$ and learning rates: how fast does the loss fall, how noisy is
# its descent, and does the learned $F$ approach $F^\star$? Is there a cell size below which
# $C^0$ elements stop learning at a given $\Delta t$?

# %% [markdown]
# ## Summary
#
# * The learning rule differentiates $F$: the sensitivity (30) needs $\partial F/\partial u$
#   and the adjoint (31) needs $\partial F/\partial\vtheta$ along the trajectory.
#   With $C^0$ elements $\partial F/\partial\vtheta$ jumps at every cell face, and
#   the time-stepped gradient jumps by $O(\Delta t)$ whenever a step moves across a face
#   (section 1's experiment); with $C^1$ elements it is smooth. Cubic Hermite (Q3) elements
#   are the simplest tensor-product $C^1$ choice (eq. 34, Fig. 1(d) of {cite}`ernst2019`).
# * In 1D four cubics per cell control value and slope at the two ends; in $d$ dimensions
#   their products give $4^d$ functions per cell and $2^d$ degrees of freedom per vertex
#   (value and mixed derivatives, stored in **physical** units by `dbm.HermiteGrid`).
# * `grid(x)`, `grid.gradient(x)` and `grid.basis(x)` give $F$, $\partial F/\partial\theta$
#   and $\partial F/\partial u$, the three quantities the learning rule needs.
# * Interpolation error falls as $\ell^4$ (measured orders printed above, asserted in
#   $[3.7, 4.3]$), with the sharp 1D constant $\max|y^{(4)}|/384$.
#
# Next: [notebook 3](03_boltzmann_machines) builds the Boltzmann machines whose parameters
# these functions evolve.
#
# ## References
#
# The full list is on the book's bibliography page. This notebook cites
# {cite}`ernst2019` (eqs. 27, 30, 31, 34; Fig. 1(d)), {cite}`hughes2000` (finite elements)
# and {cite}`arnold2014` (the Q3 family).

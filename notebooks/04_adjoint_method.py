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
# # 4. The adjoint method and Algorithm 1
#
# $\newcommand{\vtheta}{\boldsymbol{\theta}}\newcommand{\vF}{\mathbf{F}}$
# $\newcommand{\vV}{\mathbf{V}}\newcommand{\vH}{\mathbf{H}}$
#
# ## Overview
#
# A dynamic Boltzmann distribution moves its parameters $\vtheta(t)$ along an ODE
# $\dot\vtheta = \vF(\vtheta; \mathbf u)$ whose right-hand side is learned. Learning needs the
# gradient of an objective that depends on $\mathbf u$ only *through the whole solution*
# $\vtheta(t)$: change one coefficient of $\vF$ and every later $\vtheta$ moves. The
# **adjoint method** gets that gradient, for all coefficients at once, from one forward and
# one backward solve. This notebook derives it (sections III A and IV A of
# {cite}`ernst2019`, eqs. 26-33 and 41; section II B is the same derivation for fields in
# continuous space), writes Algorithm 1 out as plain NumPy on a small model whose moments
# are exact, and checks it against the package's trainer and against finite differences.
# Notebooks 05 and 06 then run the same algorithm at the paper's scale.
#
# **Learning objectives.** After this notebook you can
#
# 1. state the learning problem (eqs. 26-28) and show that the gradient of the KL divergence
#    with respect to the parameters is "model minus data moments";
# 2. derive the adjoint system (30)-(31) from the Lagrangian (29), step by step;
# 3. write the sensitivity for a finite-element right-hand side (eq. 34 in 30) and say why
#    the paper asks for $C^1$ elements; add a regularisation term (eqs. 32-33);
# 4. derive the *discrete* adjoint of the Euler scheme, explain why it (and not a discretised
#    continuous adjoint) gives the exact gradient, and verify it by finite differences;
# 5. implement Algorithm 1 in about 40 lines of NumPy and match the package's trainer;
# 6. relate the adjoint to backpropagation through time and to neural ODEs, and explain what
#    the truncated window of eq. (41) computes.
#
# **Prerequisites.** [Notebook 02](02_hermite_elements) (Hermite elements, eq. 34) and
# [notebook 03](03_boltzmann_machines) (Boltzmann distributions, awake and asleep moments);
# calculus of variations at the level of "integrate by parts", the chain rule, NumPy.
#
# **Time.** About 2 hours to work through: an hour for the derivations of sections 1-4 with
# pen and paper, the rest for the code and the three exercises (the project is extra). The
# notebook runs in about 20 seconds on 2 cores.
#
# Symbols are defined once for the whole book on the [notation page](../notation.md).

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
import matplotlib.pyplot as plt
import numpy as np

import dbmtools as dbm

# %%
SEED = 2019
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## 1. The learning problem (eqs. 26-28)
#
# A Boltzmann distribution over lattice states $\mathbf v$ with parameters $\theta_k$,
#
# $$\tilde p(\mathbf v; \vtheta) = \frac{1}{Z(\vtheta)}\exp\Big(\sum_k \theta_k\,
#   s_k(\mathbf v)\Big), \qquad Z(\vtheta) = \sum_{\mathbf v} \exp\Big(\sum_k \theta_k\,
#   s_k(\mathbf v)\Big),$$
#
# where each $s_k$ is a lattice sum such as $\sum_i v_i$ or $\sum_i v_i v_{i+1}$
# (notebook 03). Its moments are derivatives of $\ln Z$:
# $\tilde\mu_k = \langle s_k\rangle_{\tilde p} = \partial \ln Z / \partial\theta_k$. The
# data, stochastic simulations of a reaction-diffusion system, have a distribution $p(\mathbf
# v, t)$ with moments $\mu_k(t) = \langle s_k\rangle_{p(t)}$.
#
# A *dynamic* Boltzmann distribution lets the parameters move (eqs. 26-27):
#
# $$\frac{d\theta_k}{dt} = F_k(\vtheta(t); \mathbf u_k), \qquad \theta_k(t_0) = \theta_{k,0},$$
#
# with coefficients $\mathbf u_k$ to learn. The objective is the KL divergence from the data
# to the model, integrated over time (eq. 28):
#
# $$S[\mathbf u] = \int_{t_0}^{t_f} dt\, D_{KL}\big(p(t)\,\|\,\tilde p(\vtheta(t))\big),
#   \qquad D_{KL}(p\|\tilde p) = \sum_{\mathbf v} p \ln\frac{p}{\tilde p}.$$
#
# Write out $\ln\tilde p = \vtheta\cdot\mathbf s - \ln Z$:
#
# $$D_{KL}(p\|\tilde p) = \underbrace{\textstyle\sum_{\mathbf v} p\ln p}_{\text{independent
#   of }\vtheta} - \vtheta\cdot\boldsymbol\mu + \ln Z(\vtheta), \qquad
#   \frac{\partial D_{KL}}{\partial\theta_k} = \tilde\mu_k - \mu_k.$$
#
# So the pointwise gradient is **asleep minus awake** moments, exactly as in static
# Boltzmann-machine learning (notebook 03). What is new is that $\vtheta(t)$ is not free: it
# is the solution of the ODE, so $dS/d\mathbf u$ needs the chain rule through the solution.
#
# ## 2. The Lagrangian and the adjoint system (eqs. 29-31), step by step
#
# **Step 1: add the constraint with a multiplier.** For any functions $\phi_k(t)$, the
# Lagrangian (29)
#
# $$S = \int_{t_0}^{t_f} dt\,\Big[D_{KL}\big(p\|\tilde p(\vtheta)\big) + \sum_k \phi_k(t)
#   \Big(\frac{d\theta_k}{dt} - F_k(\vtheta; \mathbf u_k)\Big)\Big]$$
#
# has the same value as the objective whenever $\vtheta$ solves the ODE (the bracket
# vanishes). So its derivative with respect to $\mathbf u$ is the one we want, for *every*
# choice of $\boldsymbol\phi$; we will choose $\boldsymbol\phi$ to make it easy.
#
# **Step 2: perturb.** Change $\mathbf u \to \mathbf u + \delta\mathbf u$. The solution
# changes by $\delta\vtheta(t)$, with $\delta\vtheta(t_0) = 0$ (the initial condition is
# given). To first order,
#
# $$\delta S = \int dt\,\Big[\sum_k(\tilde\mu_k - \mu_k)\,\delta\theta_k
#   + \sum_k\phi_k\,\frac{d\,\delta\theta_k}{dt}
#   - \sum_{k,l}\phi_l\,\frac{\partial F_l}{\partial\theta_k}\,\delta\theta_k
#   - \sum_{k,i}\phi_k\,\frac{\partial F_k}{\partial u_{k,i}}\,\delta u_{k,i}\Big].$$
#
# The unknown $\delta\vtheta(t)$ appears in three terms; the middle one has its time
# derivative. (A change of $\boldsymbol\phi$ itself would multiply the bracket of (29),
# which vanishes, so it contributes nothing.)
#
# **Step 3: integrate by parts** to move the derivative onto $\boldsymbol\phi$:
#
# $$\int_{t_0}^{t_f} dt\,\phi_k\,\frac{d\,\delta\theta_k}{dt} = \phi_k(t_f)\,\delta\theta_k(t_f)
#   - \underbrace{\phi_k(t_0)\,\delta\theta_k(t_0)}_{=0}
#   - \int_{t_0}^{t_f} dt\,\frac{d\phi_k}{dt}\,\delta\theta_k.$$
#
# **Step 4: choose $\boldsymbol\phi$ so that every $\delta\vtheta$ term cancels.** Collecting
# the coefficients of $\delta\theta_k(t)$ inside the integral and at $t_f$:
#
# $$\frac{d\phi_k}{dt} = \tilde\mu_k(t) - \mu_k(t) - \sum_l\frac{\partial F_l}{\partial
#   \theta_k}\,\phi_l(t), \qquad \phi_k(t_f) = 0. \tag{31}$$
#
# This is the **adjoint system**: a linear ODE for $\boldsymbol\phi$, solved *backwards* from
# $t_f$, driven by the moment mismatch, with the *transposed* Jacobian of $\vF$ along the
# forward solution.
#
# **Step 5: read off the gradient.** What is left is the sensitivity equation (30),
#
# $$\frac{dS}{du_{k,i}} = -\int_{t_0}^{t_f} dt\,\frac{\partial F_k}{\partial u_{k,i}}
#   \big(\vtheta(t)\big)\,\phi_k(t). \tag{30}$$
#
# **The cost.** One forward solve for $\vtheta$, the moments along it, one backward solve for
# $\boldsymbol\phi$, one integral per coefficient: the number of ODE solves does not grow
# with the number of coefficients. The alternative, *forward sensitivities*
# $\partial\vtheta/\partial u_{k,i}$, needs one extra ODE solve per coefficient (2.4 million
# of them in the Rössler model of notebook 06).
#
# ## 3. The finite-element sensitivity (eqs. 30 with 34) and regularisation (32-33)
#
# With the Hermite parameterisation of notebook 02 (eq. 34), $F_k(\vtheta) = \sum_l u_{k,l}
# f_l(\vtheta)$, so $\partial F_k/\partial u_{k,l} = f_l(\vtheta)$ and (30) becomes
#
# $$\frac{dS}{du_{k,l}} = -\int_{t_0}^{t_f} dt\, f_l\big(\vtheta(t)\big)\,\phi_k(t).$$
#
# Two consequences. **Locality:** $f_l$ vanishes outside the cells around its vertex, so a
# trajectory changes only the coefficients of the cells it passes through; where no training
# trajectory goes, $F$ stays at its initial value (notebook 05 meets this). **Smoothness:**
# the adjoint system (31) needs $\partial F_l/\partial\theta_k = \sum_m u_{l,m}\,\partial
# f_m/\partial\theta_k$ along the trajectory; with merely continuous ($C^0$) elements that
# derivative jumps at every cell face, with $C^1$ elements it is continuous. This is why the
# paper uses $Q_3$ $C^1$ elements ("the learning rule (30) requires $C_1$ finite elements");
# notebook 02, section 1, showed what the jumps do to a computed gradient.
#
# **Regularisation.** Adding $\lambda_r\int dt\sum_k(\theta_k - \bar\theta_k)^2$ to $S$
# (eq. 32) changes nothing in steps 1-5 except the pointwise gradient: the source of (31)
# gains $2\lambda_r(\theta_k - \bar\theta_k)$, which is eq. (33); the sensitivity (30) keeps
# its form. Exercise 2 below implements it.
#
# ## 4. Discretise first: the discrete adjoint
#
# The computer does not minimise $S$; it minimises a *discretised* $S$. The data exist at
# times $t_m = m\,\Delta t$, and the ODE is solved by explicit Euler with $n_\text{sub}$
# substeps of $\delta t = \Delta t/n_\text{sub}$, $N_t$ of them in all:
#
# $$\vtheta_{n+1} = \vtheta_n + \delta t\,\vF(\vtheta_n; \mathbf u), \qquad
#   S_{\delta t} = \sum_m \Delta t\,\big[\ln Z(\vtheta_{m n_\text{sub}}) - \vtheta_{m n_\text{sub}}
#   \cdot\boldsymbol\mu_m\big] + \text{const}.$$
#
# There are two ways to get a gradient:
#
# * **Optimise, then discretise (continuous adjoint).** Derive (30)-(31) as above, then solve
#   them with *some* numerical scheme. The result approximates $dS/d\mathbf u$ of the exact
#   problem, with an error of the order of the scheme's step, and it is not the gradient of
#   the $S_{\delta t}$ that is being minimised.
# * **Discretise, then optimise (discrete adjoint).** Repeat steps 1-5 on $S_{\delta t}$ itself,
#   with
#   one multiplier $\boldsymbol\chi_{n+1}$ per Euler step:
#   $\mathcal L = S_{\delta t} + \sum_n \boldsymbol\chi_{n+1}\cdot\big(\vtheta_n + \delta
#   t\,\vF(\vtheta_n) -
#   \vtheta_{n+1}\big)$. Setting $\partial\mathcal L/\partial\vtheta_n = 0$ and writing
#   $\mathbf e_n = \partial S_{\delta t}/\partial\vtheta_n = \Delta t\,(\tilde{\boldsymbol\mu} -
#   \boldsymbol\mu)$ at data times (zero between them) and $\vF'_n = \partial\vF/\partial
#   \vtheta$ (the Jacobian) at $\vtheta_n$:
#
# $$\boldsymbol\chi_{N_t} = \mathbf e_{N_t}, \qquad \boldsymbol\chi_n = \mathbf e_n +
#   \boldsymbol\chi_{n+1} + \delta t\,(\vF'_n)^{\mathsf T}\boldsymbol\chi_{n+1}, \qquad
#   \frac{dS_{\delta t}}{du_{k,l}} = \sum_{n=0}^{N_t-1} \delta t\, f_l(\vtheta_n)\,\chi_{n+1,k}.$$
#
# This is the **exact** gradient of $S_{\delta t}$: every step is the chain rule, nothing is
# approximated. As $\delta t \to 0$ (and $\Delta t \to 0$, so that the sum over data times becomes
# the integral of (28)), $\boldsymbol\chi_n \to -\boldsymbol\phi(t_n)$ and these
# lines become (31) and (30) (the minus sign because the step's constraint,
# $\vtheta_n + \delta t\,\vF - \vtheta_{n+1} \approx -\delta t\,(\dot\vtheta - \vF)$, has the
# opposite sign
# to the bracket of (29)); the jumps $\mathbf e_n$ at the data times are the discrete form
# of the source $\tilde{\boldsymbol\mu} - \boldsymbol\mu$. Note where the Jacobian and the
# basis are evaluated: at $\vtheta_n$, the point the forward step started from. A continuous
# adjoint discretised "naturally", e.g. (31) stepped backwards by explicit Euler from
# $t_{n+1}$ to $t_n$, evaluates them at $\vtheta_{n+1}$ instead, and is off by $O(\delta t)$.
#
# **Why this package uses the discrete adjoint** (`dbm.dynamics.adjoint_gradient`):
#
# 1. It is the gradient of what is minimised, so gradient descent behaves as the theory of
#    gradient descent says; an $O(\delta t)$-inconsistent gradient can point uphill near a minimum.
# 2. It can be *tested*: against central finite differences it agrees to rounding error
#    (section 5.3), so any bug, even a small one, shows. A continuous adjoint agrees only
#    to $O(\delta t)$, which hides bugs of that size. The authors' published reference code had such
#    a bug: its adjoint step (DynamicBoltzmann 3.0/3.1, the version used for
#    {cite}`ernst2019`) multiplied by a wrong derivative term instead of $\sum_l \phi_l\,
#    \partial F_l/\partial\theta_k$ of (31) (repository `smrfeld/DynamicBoltzmann`). A
#    finite-difference check catches such a slip at once (exercise 3 shows how loudly).
# 3. It costs the same: one backward sweep, plus storing the forward solution at every
#    substep ($n_\theta$ numbers per substep, one per parameter; negligible here).
#
# ## 5. Algorithm 1 in forty lines of NumPy
#
# ### 5.1 A small model with exact moments
#
# To see every piece, take a model whose $\ln Z$ is known in closed form: $L = 100$
# independent sites with one parameter $\theta$, $s(\mathbf v) = \sum_i v_i$,
# $\ln Z = L\ln(1 + e^{\theta})$, $\tilde\mu = L\,\sigma(\theta) = L/(1 + e^{-\theta})$. The
# data come from a known right-hand side, $F^*(\theta) = -\theta$ (interpolated on Hermite
# cells of $0.5$ on $[-2, 2]$), from four initial conditions, 10 data steps of $\Delta t =
# 0.1$, two Euler substeps each. The package wraps such a problem as `dbm.ExactMoments`.

# %%
L_SITES = 100.0
LO, HI, CELL, DT, NS, N_STEPS = -2.0, 2.0, 0.5, 0.1, 2, 10  # domain, cell, data step, substeps
N_CELLS = round((HI - LO) / CELL)


def mu_model(theta):
    """Asleep phase, exact: the model moment L sigma(theta)."""
    return L_SITES / (1 + np.exp(-theta))


def lnz(theta):
    return L_SITES * np.logaddexp(0, theta)


truth = dbm.dynamics.ParameterODE(["θ"], ["θ"], [LO], [HI], CELL, dt=DT, n_substeps=NS)
grid = truth.grid(0)
grid.interpolate(lambda x: -x[:, 0], lambda x: -np.ones((len(x), 1)))  # F* = -theta
truth.set_grid(0, grid)
theta0 = np.array([[-1.5], [-0.5], [0.5], [1.5]])
toy = dbm.ExactMoments(mu_model(truth.solve(theta0, N_STEPS)), theta0, model_moments=mu_model)
print(f"{truth.n_dofs} coefficients u (value and slope at {truth.n_dofs // 2} vertices); "
      f"data moments of shape {toy.data_moments.shape} (trajectory, time, moment k)")

# %% [markdown]
# ### 5.2 The code
#
# One cell, nothing from the package: the Hermite basis of notebook 02 in 1D (value and
# physical slope at each vertex, the package's coefficient order), the forward Euler solve,
# the discrete adjoint of section 4 (with a switch for the "natural" continuous one), the
# objective and its gradient for one trajectory, and the loop of Algorithm 1 with plain
# gradient descent, $\mathbf u \to \mathbf u - \eta\,\Delta\mathbf F$ (the paper's learning
# rate $\lambda$ is $\eta$ here). Read it against the equations.

# %%
def basis(x):
    """Indices into u, values and slopes of the four basis functions f_l that are non-zero at x."""
    c = min(int((x - LO) // CELL), N_CELLS - 1)  # the cell of x
    t = (x - LO) / CELL - c  # position in the cell, 0..1
    w = np.array([1 - 3 * t**2 + 2 * t**3, CELL * (t - 2 * t**2 + t**3), 3 * t**2 - 2 * t**3,
                  CELL * (t**3 - t**2)])
    dw = np.array([6 * t**2 - 6 * t, CELL * (1 - 4 * t + 3 * t**2), 6 * t - 6 * t**2,
                   CELL * (3 * t**2 - 2 * t)]) / CELL
    return 2 * c + np.arange(4), w, dw  # u holds (F, F') at vertex c, then at c + 1


def forward(u, th0, ns=NS):
    """Explicit Euler for d theta/dt = F(theta; u) (eq. 27): theta at every substep."""
    theta = np.empty(N_STEPS * ns + 1)
    theta[0] = th0
    for n in range(N_STEPS * ns):
        idx, w, _ = basis(theta[n])
        theta[n + 1] = theta[n] + DT / ns * (w @ u[idx])
    return theta


def adjoint(u, theta, g, ns=NS, continuous=False):
    """Backward sweep: dS/du from g = e_n = dS/dtheta at the data times (section 4)."""
    lam, grad = g[-1], np.zeros_like(u)  # lam = chi_{N_t} = e_{N_t}
    for n in range(len(theta) - 2, -1, -1):
        idx, w, dw = basis(theta[n + 1] if continuous else theta[n])
        grad[idx] += DT / ns * w * lam  # (30): dt_sub f_l(theta_n) chi_{n+1}
        lam = lam + DT / ns * (dw @ u[idx]) * lam  # (31): + dt_sub F'_n^T chi_{n+1}
        if n % ns == 0:
            lam = lam + g[n // ns]  # the source at a data time
    return grad


def objective_and_gradient(u, i, ns=NS, continuous=False):
    """S, dS/du and the moment mismatch of trajectory i (Algorithm 1, lines 7-16)."""
    theta = forward(u, theta0[i, 0], ns)
    th = theta[::ns]  # theta at the data times
    mu = toy.data_moments[i, :, 0]  # awake phase
    mismatch = mu_model(th) - mu  # asleep minus awake
    S = DT * np.sum(lnz(th) - th * mu)  # eq. (28) up to a constant
    return S, adjoint(u, theta, DT * mismatch, ns, continuous), mismatch


def algorithm1(n_iter, lr, gradient=objective_and_gradient):
    """Gradient descent over the whole training set (lines 4-18); u and the RMS mismatch."""
    u, loss = np.zeros(2 * (N_CELLS + 1)), []  # F = 0 to start
    for _ in range(n_iter):
        total, sq = np.zeros_like(u), []
        for i in range(len(theta0)):  # the batch: every trajectory
            _, grad, mismatch = gradient(u, i)
            total += grad
            sq.append(mismatch**2)
        u = u - lr * total / len(theta0)  # line 18
        loss.append(np.sqrt(np.mean(sq)))
    return u, np.array(loss)


# %% [markdown]
# ### 5.3 Three checks
#
# **Against the package.** On an arbitrary $F$ ($F^*$ with every coefficient perturbed by
# a random number of standard deviation 0.3), the NumPy gradient of trajectory 3 must equal
# `dbm.dynamics.adjoint_gradient`, which runs the same recursion in a numba kernel.
# **Against finite differences.** Central differences of $S_{\delta t}$ with step $\epsilon =
# 10^{-6}$ have a truncation error of order $\epsilon^2$ and a rounding error of order
# $\epsilon_\text{mach}|S_{\delta t}|/\epsilon$ per coefficient ($\epsilon_\text{mach} \approx 2
# \times 10^{-16}$), about $10^{-8}$ here: that, not the adjoint, limits the agreement. We
# assert the difference below ten times that rounding level; an error in the adjoint would
# show as a relative difference of percents (exercise 3).

# %%
def central_differences(f, u, eps=1e-6):
    """dF/du by central differences, one coefficient at a time."""
    return np.array([(f(u + e) - f(u - e)) / (2 * eps) for e in eps * np.eye(u.size)])


def relative_difference(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def rounding_level(S, n, eps=1e-6):
    """Rounding error of the norm of n central differences of a function of size S."""
    return np.finfo(float).eps * abs(S) / eps * np.sqrt(n)


U = truth.coeffs[0] + 0.3 * rng.standard_normal(truth.n_dofs)  # an arbitrary F
ode = dbm.dynamics.ParameterODE(["θ"], ["θ"], [LO], [HI], CELL, dt=DT, n_substeps=NS)
ode.coeffs = U[None]
S0, grad_numpy, _ = objective_and_gradient(U, 3)
grad_package = dbm.dynamics.adjoint_gradient(ode, toy, 3).grad[0]
fd = central_differences(lambda v: objective_and_gradient(v, 3)[0], U)
rel_package = relative_difference(grad_numpy, grad_package)
rel_fd = relative_difference(grad_numpy, fd)
rounding = rounding_level(S0, U.size)
print(f"NumPy vs package adjoint: relative difference {rel_package:.1e}")
print(f"NumPy adjoint vs finite differences: relative difference {rel_fd:.1e} "
      f"(|difference| {np.linalg.norm(grad_numpy - fd):.1e}, FD rounding level {rounding:.1e})")
assert rel_package < 1e-12
assert np.linalg.norm(grad_numpy - fd) < 10 * rounding

_ = dbm.plotting.glue_value("key-04-adjoint-fd", rel_fd)  # for the overview page

# %% [markdown]
# **Against the trainer.** Run Algorithm 1 from $F = 0$ with plain gradient descent, learning
# rate $\eta = 1$ (the paper's value for section IV A), all four trajectories in every step,
# 300 steps; then the same with `dbm.dynamics.train` (SGD, `batch_size=4`, no window). The
# two must follow the same path to rounding error, and both should recover $F^* = -\theta$
# where the trajectories go.

# %%
u_numpy, loss_numpy = algorithm1(300, 1.0)
ode_fit = dbm.dynamics.ParameterODE(["θ"], ["θ"], [LO], [HI], CELL, dt=DT, n_substeps=NS)
fit = dbm.dynamics.train(ode_fit, toy, n_iter=300, lr=1.0, batch_size=4, seed=SEED,
                         progress=False)
x = np.linspace(-1.2, 1.2, 49)  # where the trajectories spend their time
err_f = np.abs(ode_fit.rhs(x[:, None])[:, 0] + x).max()
print(f"largest |u_numpy - u_package| = {np.abs(u_numpy - ode_fit.coeffs[0]).max():.1e}")
print(f"RMS moment mismatch: {loss_numpy[0]:.2f} -> {loss_numpy[-1]:.3f}; "
      f"max |F - F*| on [-1.2, 1.2]: {err_f:.3f}")
assert np.abs(u_numpy - ode_fit.coeffs[0]).max() < 1e-10
assert np.allclose(loss_numpy, fit.loss_history, rtol=1e-9)
assert loss_numpy[-1] < 0.02 * loss_numpy[0] and err_f < 0.1
dbm.plotting.plot_training_1d(fit.loss_history, ode_fit, truth=truth)
plt.show()

# %% [markdown]
# **Figure 4.1.** Algorithm 1 on the small model. Left: the RMS mismatch of model and data
# moments at every step (the NumPy loop and the package give the same curve). Right: the
# learned $F$ against $F^* = -\theta$. The trajectories start at $\pm 0.5$, $\pm 1.5$ and
# decay towards 0 for $t \le 1$, so they cover $[-1.5, 1.5]$ except $|\theta| < 0.18$. No
# trajectory reaches the vertices $\pm 2$: their coefficients keep their initial value 0, and
# between $\pm 1.5$ and $\pm 2$ the learned $F$ bends back to 0 (the locality of section 3).
# Between the vertices $F$ wiggles around $F^*$: the slope coefficients enter through basis
# functions that are small (at most $0.074$ on cells of $0.5$), so the data constrain them
# weakly and gradient descent learns them slowly; the mismatch is still falling, slowly, at
# step 300.
#
# ### 5.4 Continuous against discrete adjoint, measured
#
# The `continuous=True` switch of `adjoint` evaluates the Jacobian and the basis at
# $\vtheta_{n+1}$: (31) stepped backwards by explicit Euler, (30) by the rectangle rule, a
# consistent discretisation of the continuous adjoint. Compare both with finite
# differences of the same $S_{\delta t}$ while the number of substeps grows.

# %%
n_substeps = [1, 2, 4, 8, 16, 32]
errors = {"discrete adjoint": [], "continuous adjoint (31), discretised": []}
for ns in n_substeps:
    fd_ns = central_differences(lambda v, ns=ns: objective_and_gradient(v, 3, ns)[0], U)
    for name, continuous in zip(errors, (False, True), strict=True):
        g_ns = objective_and_gradient(U, 3, ns, continuous)[1]
        errors[name].append(relative_difference(g_ns, fd_ns))
for name, e in errors.items():
    print(f"{name:38s}", " ".join(f"{v:8.1e}" for v in e))
cont = np.array(errors["continuous adjoint (31), discretised"])
order = -np.polyfit(np.log(n_substeps[-4:]), np.log(cont[-4:]), 1)[0]
print(f"order of the continuous adjoint's error over the last four step sizes: {order:.2f}")
assert max(errors["discrete adjoint"]) < 1e-4 * cont.min()
assert abs(order - 1) < 0.1  # first order in the substep dt/ns
dbm.plotting.plot_gradient_consistency(n_substeps, errors)
plt.show()

# %% [markdown]
# **Figure 4.2.** Relative error of two gradients of the same discretised objective against
# finite differences. The discrete adjoint is exact at every step size (what is left is the
# finite differences' rounding); the discretised continuous adjoint converges to it only as
# $\delta t \to 0$, at first order (its error halves with $\delta t$ once $\delta t$ is small,
# asserted above).
#
# ### 5.5 Explore: learning rate and cell size
#
# Gradient descent with a fixed learning rate $\eta$ converges only when $\eta$ is below
# $2/\kappa$, with $\kappa$ the largest curvature of $S$; coarser cells change how many
# trajectories inform each coefficient, and with it the curvature. Move the learning rate and
# the number of cells on $[-2, 2]$ (the view trains with `dbm.dynamics.train`, 300 steps, in
# a fraction of a second). At $\eta = 2$, 8 cells still converge, while 2 or 4 cells do not
# (the mismatch climbs back up; 2 cells already fail at $\eta = 1$). Beyond the slider's
# range training diverges: at $\eta = 4$ or 5 with 8 cells (at $\eta = 2.5$ with 2 or 4) a
# trajectory is thrown out of the domain and `train` stops with an error that says so (try
# it by editing the slider's range).

# %% tags=["nbval-ignore-output"]
def show_training(lr=1.0, n_cells=8):
    dbm.widgets.adjoint_training_view(toy, truth, lr, n_cells, seed=SEED)
    plt.show()


sliders_t = {"lr": dbm.widgets.float_slider(1.0, 0.1, 2.0, 0.1, "learning rate η"),
             "n_cells": dbm.widgets.int_slider(8, 2, 16, 2, "cells on [-2, 2]")}
dbm.widgets.slider_view(show_training, **sliders_t)

# %%
show_training(**dbm.widgets.defaults(sliders_t))

# %% [markdown]
# **Figure 4.3.** The slider view at its defaults ($\eta = 1$, 8 cells of 0.5): the same run
# as Figure 4.1.
#
# ## 6. Backpropagation through time and neural ODEs
#
# Unroll the Euler solve: $\vtheta_{n+1} = \vtheta_n + \delta t\,\vF(\vtheta_n; \mathbf u)$ is one
# layer of a *residual network*, and since $\mathbf u$ is the same in every layer, the
# unrolled solve is a *recurrent* network run for $N_t$ steps. The discrete adjoint of
# section 4 is then nothing but reverse-mode differentiation of that network:
# **backpropagation through time** {cite}`werbos1990`. $\boldsymbol\chi_n =
# dS_{\delta t}/d\vtheta_n$ (through all later steps) is the error signal backpropagated to step
# $n$; the
# mismatch $\Delta t\,(\tilde{\boldsymbol\mu} - \boldsymbol\mu)$ is injected at every data
# time, like the loss of a sequence model at every output; $\mathbf u$, shared by all steps,
# collects its gradient from every step, as shared weights do. The general method, of which
# both are instances, is the adjoint-state method {cite}`plessix2006`.
#
# **Neural ODEs** {cite}`chen2018` take the continuous view: $\vF$ is a neural network,
# its gradient comes from the continuous adjoint (30)-(31), solved backwards with an adaptive
# ODE solver, and the forward solution is recomputed backwards instead of stored, to save
# memory. That is "optimise, then discretise": the gradient is exact only up to the solver's
# tolerance, and solving the forward ODE backwards can be unstable. {cite}`gholami2019`
# showed that this inconsistency can derail training and proposed the discrete adjoint with
# checkpointing instead: the choice this package makes (section 4), here without
# checkpoints because the stored trajectory is small.
#
# Two things set Algorithm 1 apart from both. Its loss is a KL divergence whose gradient
# needs the moments of a *Boltzmann distribution* at every data time, so each forward pass
# needs sampling in general (the asleep phase), and the gradient is then stochastic even for
# a full batch.
# And its "network" $\vF$ is a finite-element expansion: each coefficient acts only in the
# cells around its vertex, so a trajectory's gradient is sparse, and the package's SGD step
# updates only the coefficients a step touched.
#
# ## 7. The truncated window (eq. 41)
#
# The paper does not minimise $S$ over the whole trajectory at once. At each optimisation
# step it uses only a window of data times $[\tau, \tau + \Delta\tau]$, shifting $\tau$ by one
# data step every few optimisation steps, and solves the adjoint only from
# $\boldsymbol\phi(\tau + \Delta\tau) = 0$ back to $\tau$ (eq. 41):
#
# $$\frac{dS}{du_{k,i}} \approx -\int_\tau^{\tau + \Delta\tau} dt\,
#   \frac{\partial F_k}{\partial u_{k,i}}\,\phi_k(t).$$
#
# (As printed, eq. 41 lacks the minus sign of (30). With $\boldsymbol\phi$ defined by (31)
# the sign must be that of (30); the package's gradient is checked against finite
# differences, which settles such questions.) What does it compute? The adjoint stops at
# $\tau$, so the dependence of $\vtheta(\tau)$ on $\mathbf u$, through the dynamics before
# $\tau$, is dropped: (41) is the **exact gradient of the window's objective with
# $\vtheta(\tau)$ held fixed** (exercise 1 checks it by finite differences). In the language
# of section 6 it is *truncated* backpropagation through time {cite}`williams1990`. It is
# cheaper (the backward sweep is $\Delta\tau$ long, however long the trajectory), its size
# does not grow with $\tau$ (so one learning rate serves the whole run), and, the paper
# argues, it avoids the spurious minima that a time integral over a periodic trajectory can
# have; the price is a biased gradient, which ignores how a change of $F$ early on moves the
# start of the window.
#
# Where does the difference show? Below, for the arbitrary $F$ of section 5.3 and
# trajectory 3, the value coefficients of the full gradient over a window (adjoint back to
# $t = 0$) and of the truncated one (back to $\tau$). Move the window's start $\tau$ and its
# length $\Delta\tau$ (in data steps).

# %% tags=["nbval-ignore-output"]
def show_window(start=4, window=4):
    dbm.widgets.window_gradient_view(ode, toy, 3, start=start, window=window)
    plt.show()


sliders_w = {"start": dbm.widgets.int_slider(4, 0, 5, 1, "window start τ (data steps)"),
             "window": dbm.widgets.int_slider(4, 1, 5, 1, "window length Δτ (data steps)")}
dbm.widgets.slider_view(show_window, **sliders_w)

# %%
show_window(**dbm.widgets.defaults(sliders_w))

# %% [markdown]
# **Figure 4.4.** Left: trajectory 3 under the arbitrary $F$ and the window (data steps 4 to
# 8). Right: the value coefficients of $dS/d\mathbf u$ at the vertices: the full gradient
# also reaches the vertices around the part of the trajectory *before* the window, which the
# truncated gradient leaves untouched. How different are the two? Over all windows of length
# 4:

# %%
print(" tau   cosine(full, truncated)   |truncated| / |full|")
cosines = []
for start in range(0, N_STEPS - 4 + 1):
    full, trunc = (dbm.dynamics.adjoint_gradient(ode, toy, 3, start=start, stop=start + 4,
                                                 truncated=t).grad.ravel() for t in (False, True))
    cosines.append(full @ trunc / np.linalg.norm(full) / np.linalg.norm(trunc))
    print(f"{start:4d} {cosines[-1]:18.3f} {np.linalg.norm(trunc) / np.linalg.norm(full):20.3f}")
assert abs(cosines[0] - 1) < 1e-12  # a window that starts at t = 0 has nothing to drop
assert min(cosines) < 0.9  # later windows: a different direction, not only a shorter vector

# %% [markdown]
# At $\tau = 0$ the two are the same (nothing lies before the window). Later windows give a
# truncated gradient that is shorter *and* points elsewhere (cosines from 0.95 down to
# 0.35): the paper's online scheme (and the package's `train` with `window=` and
# `truncated=True`, its default) follows a biased gradient, whose consequences notebook 05
# meets at the paper's scale.
#
# ## 8. Exercises
#
# Each exercise comes with a code cell to complete (replace every `...`); the solution
# follows it.
#
# ```{exercise-start}
# :label: adjoint-ex1
# ```
#
# **The truncated gradient.** For trajectory 3 and the arbitrary $F$ of section 5.3 (the
# coefficients `U`, in `ode`), compute `adjoint_gradient(..., start=4, stop=8,
# truncated=True)` and the full gradient (`truncated=False`). Show by finite differences that
# the truncated one is the gradient of $S$ over the window (data times 4 to 8) with
# $\theta(\tau)$ **held fixed**: solve from $\theta(\tau)$ for 4 data steps, sum the
# objective over the window, and differentiate that with respect to the coefficients.
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
truncated = ...  # dbm.dynamics.adjoint_gradient(ode, toy, 3, ...).grad.ravel()
full = ...  # the same with truncated=False
theta_tau = ...  # theta of trajectory 3 at data time 4 (ode.solve), held fixed below


def S_window(coeffs):
    """The objective over data times 4..8, solved from theta_tau with coefficients coeffs."""
    # solve with a ParameterODE of your own (built like `ode` in section 5.3), so that `ode`
    # keeps the coefficients U for what follows
    ...


fd_window = ...  # central_differences(S_window, U)

# %% [markdown] tags=["solution"]
# ```{solution-start} adjoint-ex1
# :class: dropdown
# ```

# %% tags=["solution"]
truncated = dbm.dynamics.adjoint_gradient(ode, toy, 3, start=4, stop=8, truncated=True)
truncated = truncated.grad.ravel()
full = dbm.dynamics.adjoint_gradient(ode, toy, 3, start=4, stop=8).grad.ravel()
theta_tau = ode.solve(theta0[3], 4)[-1]  # theta(tau), held fixed
ode_w = dbm.dynamics.ParameterODE(["θ"], ["θ"], [LO], [HI], CELL, dt=DT, n_substeps=NS)


def S_window(coeffs):
    """The objective over data times 4..8, solved from theta_tau with coefficients coeffs."""
    ode_w.coeffs = coeffs[None]
    th = ode_w.solve(theta_tau, 4)[:, 0]
    return DT * np.sum(lnz(th) - th * toy.data_moments[3, 4:9, 0])


fd_window = central_differences(S_window, U)
print(f"truncated vs finite differences with theta(tau) fixed: "
      f"{relative_difference(truncated, fd_window):.1e}")
print(f"full vs truncated: {relative_difference(full, truncated):.2f}")
# below ten times the finite differences' rounding level, as in section 5.3
assert np.linalg.norm(truncated - fd_window) < 10 * rounding_level(S_window(U), U.size)

# %% [markdown] tags=["solution"]
# The truncated gradient matches the finite differences of the window objective with
# $\theta(\tau)$ frozen, to rounding error. The full gradient differs from it by the part
# that flows through $\theta(\tau)$, here 2.7 times as large as the truncated gradient
# itself (the printed relative difference).
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: adjoint-ex2
# ```
#
# **Regularisation (eqs. 32-33).** Add $\lambda_r\sum_m\Delta t\,(\theta_m - \bar\theta)^2$
# to the objective of trajectory 3, with $\lambda_r = 0.5$ and $\bar\theta = 0.3$. Using the
# NumPy pieces `forward` and `adjoint` of section 5.2, compute its gradient (only the source
# $\mathbf e$ changes, as eq. 33 says), and check it against
# `dbm.dynamics.adjoint_gradient(..., l2=0.5, theta_bar=[0.3])` and against finite
# differences.
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
l2, theta_bar = 0.5, 0.3


def S_regularised(u):
    """The objective of trajectory 3 plus the L2 term of eq. (32)."""
    ...


grad_regularised = ...  # adjoint(U, theta, g) with the source g of eq. (33)
grad_package_l2 = ...  # the package's gradient with l2= and theta_bar=

# %% [markdown] tags=["solution"]
# ```{solution-start} adjoint-ex2
# :class: dropdown
# ```

# %% tags=["solution"]
l2, theta_bar = 0.5, 0.3


def S_regularised(u):
    """The objective of trajectory 3 plus the L2 term of eq. (32)."""
    th = forward(u, theta0[3, 0])[::NS]
    return objective_and_gradient(u, 3)[0] + l2 * DT * np.sum((th - theta_bar) ** 2)


theta = forward(U, theta0[3, 0])
th = theta[::NS]
g = DT * (mu_model(th) - toy.data_moments[3, :, 0]) + 2 * l2 * DT * (th - theta_bar)
grad_regularised = adjoint(U, theta, g)
grad_package_l2 = dbm.dynamics.adjoint_gradient(ode, toy, 3, l2=l2, theta_bar=[theta_bar])
grad_package_l2 = grad_package_l2.grad[0]
fd_l2 = central_differences(S_regularised, U)
print(f"vs package: {relative_difference(grad_regularised, grad_package_l2):.1e}; "
      f"vs finite differences: {relative_difference(grad_regularised, fd_l2):.1e}")
assert relative_difference(grad_regularised, grad_package_l2) < 1e-12
assert np.linalg.norm(grad_regularised - fd_l2) < 10 * rounding_level(S_regularised(U), U.size)

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: adjoint-ex3
# ```
#
# **A wrong adjoint term.** The authors' reference code got the derivative term of (31)
# wrong (section 4). Make a wrong adjoint of your own: drop the Jacobian term (the line
# marked (31) in `adjoint`), so that $\boldsymbol\chi_n = \mathbf e_n +
# \boldsymbol\chi_{n+1}$. (a) How far is its gradient from finite differences? (b) Train
# with it (`algorithm1(300, 1.0, gradient=...)`): does the moment mismatch still fall, and
# what $F$ does it learn? What does this say about "the loss went down" as a test of a
# gradient?
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
def adjoint_without_jacobian(u, theta, g, ns=NS):
    """Like `adjoint`, without the dt_sub F'^T chi term."""
    ...


def gradient_without_jacobian(u, i):
    """Like `objective_and_gradient`, with `adjoint_without_jacobian`."""
    ...


# %% [markdown] tags=["solution"]
# ```{solution-start} adjoint-ex3
# :class: dropdown
# ```

# %% tags=["solution"]
def adjoint_without_jacobian(u, theta, g, ns=NS):
    """Like `adjoint`, without the dt_sub F'^T chi term."""
    lam, grad = g[-1], np.zeros_like(u)
    for n in range(len(theta) - 2, -1, -1):
        idx, w, _ = basis(theta[n])
        grad[idx] += DT / ns * w * lam
        if n % ns == 0:
            lam = lam + g[n // ns]
    return grad


def gradient_without_jacobian(u, i):
    """Like `objective_and_gradient`, with `adjoint_without_jacobian`."""
    S, _, mismatch = objective_and_gradient(u, i)
    theta = forward(u, theta0[i, 0])
    return S, adjoint_without_jacobian(u, theta, DT * mismatch), mismatch


wrong = gradient_without_jacobian(U, 3)[1]
print(f"(a) wrong adjoint vs finite differences: {relative_difference(wrong, fd):.2f} "
      f"(the right one: {rel_fd:.0e}); |difference| "
      f"{np.linalg.norm(wrong - fd) / rounding:.0f} times the FD rounding level")
u_wrong, loss_wrong = algorithm1(300, 1.0, gradient=gradient_without_jacobian)
ode_wrong = dbm.dynamics.ParameterODE(["θ"], ["θ"], [LO], [HI], CELL, dt=DT, n_substeps=NS)
ode_wrong.coeffs = u_wrong[None]
print(f"(b) mismatch {loss_wrong[0]:.2f} -> {loss_wrong[-1]:.3f} (right gradient: "
      f"{loss_numpy[-1]:.3f}); max |F - F*| on [-1.2, 1.2]: "
      f"{np.abs(ode_wrong.rhs(x[:, None])[:, 0] + x).max():.3f} (right gradient: {err_f:.3f})")
dbm.plotting.plot_training_1d(loss_wrong, ode_wrong, truth=truth)
plt.show()

# %% [markdown] tags=["solution"]
# (a) Without the Jacobian term the gradient is off by about 10% (printed above), some
# $6 \times 10^4$ times the finite differences' rounding level: the check fails loudly.
# (b) Yet training with it goes just as well: the mismatch falls to the same level and $F$ is
# as close to $F^*$. The reason: these data can be matched exactly, and where the mismatch
# $\tilde\mu - \mu$ vanishes, the right and the wrong gradient both vanish; the wrong one,
# only 10% off, still points downhill, so both descents head for an $F$ that reproduces the
# data. "The loss went down" is therefore no test of a gradient. When the data cannot be
# matched exactly (sampled moments, a model that cannot represent the data, as in notebooks
# 05 and 06), the point where a wrong gradient vanishes is in general not a minimum of $S$,
# and nothing in the loss curve says so; only the finite-difference check does.
#
# ```{solution-end}
# ```

# %% [markdown]
# ### Project
#
# **Two parameters, and a periodic system.** Extend the NumPy Algorithm 1 to two parameters
# on 2D Hermite cells (take the basis from `dbm.HermiteGrid.basis`, or write the tensor
# product yourself), with a model whose moments are exact: e.g. $L$ independent sites that are
# empty, $A$ or $B$, $\ln Z = L\ln(1 + e^{\theta_A} + e^{\theta_B})$. Check your gradient
# against finite differences: now $J^{\mathsf T}$ and $J$ differ, so transposing the Jacobian
# is a bug the check must catch. Then make the data periodic, e.g. from
# $\dot\theta_A = -\omega(\theta_B - c)$, $\dot\theta_B = \omega(\theta_A - c)$, and
# train over long trajectories with and without the moving window of eq. (41). The paper
# introduces the window because "the time integral in the action can lead to undesired
# extrema, e.g. for periodic trajectories": can you find such an extremum, and does the
# window avoid it?
#
# ## Summary
#
# * The gradient of the KL divergence with respect to a Boltzmann distribution's parameters
#   is asleep minus awake moments (eq. 28); the adjoint method carries it back through the
#   parameter ODE (eqs. 29-31) to every coefficient of $F$ in one backward solve (eq. 30).
# * With finite elements (eq. 34) the sensitivity is local and needs $C^1$ elements;
#   regularisation (eq. 32) only adds to the adjoint's source (eq. 33).
# * The package differentiates the *discretised* objective exactly (the discrete adjoint of
#   the Euler scheme): it matches finite differences to rounding error, while a discretised
#   continuous adjoint is off by $O(\delta t)$ (measured above). Algorithm 1 in forty lines of NumPy
#   reproduces `dbm.dynamics.adjoint_gradient` and `dbm.dynamics.train` to rounding error.
# * The discrete adjoint is backpropagation through time of the unrolled Euler solve; neural
#   ODEs use the continuous adjoint; the paper's moving window (eq. 41) is truncated
#   backpropagation, the exact gradient with $\vtheta(\tau)$ held fixed.
# * Next: [notebook 05](05_moment_closure_annihilation) runs Algorithm 1 with sampled moments
#   at the scale of the paper's section IV A.
#
# ## References
#
# The full list is on the book's bibliography page. This notebook cites {cite}`ernst2019`
# (eqs. 26-34, 41, Algorithm 1), {cite}`werbos1990` (backpropagation through time),
# {cite}`williams1990` (its truncated form), {cite}`plessix2006` (the adjoint-state method),
# {cite}`chen2018` (neural ODEs) and {cite}`gholami2019` (discrete against continuous adjoints
# for neural ODEs).

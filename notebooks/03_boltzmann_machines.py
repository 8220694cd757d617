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
# # 3. Boltzmann machines on lattices
#
# $\newcommand{\vtheta}{\boldsymbol{\theta}}\newcommand{\vF}{\mathbf{F}}$
# $\newcommand{\vV}{\mathbf{V}}\newcommand{\vH}{\mathbf{H}}$
#
# ## Overview
#
# Algorithm 1 of {cite}`ernst2019` (the subject of [notebook 4](04_adjoint_method)) needs, at
# every timepoint, two sets of moments: those of the data (the **awake** phase) and those of
# the model (the **asleep** phase). This notebook
# builds the lattice models whose moments those are, samples them, and checks every sampler
# against an exact answer. It then does ordinary (static) Boltzmann-machine learning, which the
# paper uses to find the initial conditions of its dynamic models.
#
# **Learning objectives.** After this notebook you can
#
# 1. write down the maximum-entropy (Boltzmann) distribution that matches a set of lattice
#    moments, and say which moment each parameter $b$, $J$, $K$ controls;
# 2. build the $4\times4$ transfer matrix of the 1D lattice gas (eq. 37), compute its exact
#    moments, and sample it by Gibbs sampling;
# 3. say when a hidden unit per bond (eq. 39, Fig. 1(a)-(c)) detects neighbour pairs, derive its
#    visible marginal, and explain why that makes the hidden model statically *less*
#    expressive than eq. (37);
# 4. run the awake/asleep phases with CD-$k$ and persistent CD, measure the bias of short
#    chains, and compare CD-$k$ with PCD in learning;
# 5. learn $(b, W, b')$ for given $(b, J, K)$ initial conditions, as in Fig. 2 (bottom left),
#    and check the fit against what the data determine.
#
# **Prerequisites.** Probability (conditional distributions, Markov chains), a little linear
# algebra (eigenvalues), NumPy. Notebook 01 (the lattice simulator) helps for context.
#
# **Time.** Two to three hours to work through: there are eight sections of derivations and
# checks, and the two exercises take a while (the project is extra). Running it takes
# about a minute on a 2-core machine, almost all of it in the learning cells of section 6.
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
from dbmtools.widgets import defaults, float_slider, slider_view

# %%
SEED = 2019
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## 1. Maximum-entropy distributions on a lattice
#
# Suppose all we know about a random lattice state $\mathbf v$ are a few average lattice sums
# ("moments") $\mu_k = \langle s_k(\mathbf v)\rangle$, for example the number of particles
# $s_1 = \sum_i v_i$ and the number of neighbouring pairs $s_2 = \sum_i v_i v_{i+1}$. Of all
# distributions with these moments, the one with the largest entropy
# $-\sum_{\mathbf v} p\ln p$ follows from a Lagrange multiplier $\theta_k$ per constraint
# (in this notebook $p$ always denotes a probability distribution; the collision probability
# $p$ of notebook 01 does not appear):
# setting the derivative of $-\sum p \ln p + \sum_k \theta_k(\sum p\, s_k - \mu_k)
# - \zeta(\sum p - 1)$ (the multiplier $\zeta$ normalises $p$) with respect to $p(\mathbf v)$ to
# zero gives
#
# $$p(\mathbf v) = \frac{1}{Z(\vtheta)}\exp\Big[\sum_k \theta_k s_k(\mathbf v)\Big]
#   = \frac{e^{-E(\mathbf v)}}{Z}, \qquad
#   \mu_k = \frac{\partial \ln Z}{\partial \theta_k}.$$
#
# This is the Boltzmann distribution of eqs. (1)-(3) and (23) of {cite}`ernst2019`, on a lattice:
# each **parameter controls the moment it multiplies**. For the 1D lattice gas of eq. (37),
#
# $$p(\mathbf v) \propto \exp\Big(b\sum_i v_i + J\sum_i v_i v_{i+1} + K\sum_i v_i v_{i+1}
#   v_{i+2}\Big),$$
#
# * $b$ (a chemical potential) controls the density $\langle\sum v_i\rangle$;
# * $J$ controls nearest-neighbour pairs: $J>0$ makes particles cluster, $J<0$ makes them avoid
#   each other (alternating patterns);
# * $K$ controls triples: runs of three or more.
#
# The gradient of the log-likelihood of data, $\partial \langle\ln p\rangle_\text{data}/
# \partial\theta_k = \mu_k^\text{data} - \mu_k^\text{model}$, is the difference between the
# awake and asleep moments: learning stops when the model's moments equal the data's
# {cite}`ackley1985`.
#
# **Units.** The paper and notebook 01 count moments as raw lattice sums (the number of
# particles, of neighbouring pairs, ...). From section 2 on, the 1D gas moments here are
# **per site**: the raw sum divided by $L$, which makes lattices of different sizes
# comparable. Multiply by $L$ to get the raw sums. The hidden-model moments of sections 4 and 7
# are raw sums, as the plots and printouts say.

# %% [markdown]
# ## 2. Exact moments by the transfer matrix
#
# Add the sites one at a time. Adding site $i+2$ to a chain whose last two sites are
# $(v_i, v_{i+1}) = (a, c)$ with value $v_{i+2} = d$ multiplies the weight by
# $\exp(b d + J c d + K a c d)$: a $4\times4$ matrix $T$ on the **pair** states
# $(v_i, v_{i+1})$, from $(a, c)$ to $(c, d)$ (here $a, c, d \in \{0, 1\}$ are site values), nonzero
# only when the shared site $c$
# agrees. With the pair states in the order $00, 01, 10, 11$ (rows: $(a,c)$; columns: $(c,d)$),
#
# $$T = \begin{pmatrix}
#   1 & e^{b} & 0 & 0\\
#   0 & 0 & 1 & e^{b+J}\\
#   1 & e^{b} & 0 & 0\\
#   0 & 0 & 1 & e^{b+J+K}
# \end{pmatrix}.$$
#
# Each factor of a lattice's weight appears exactly once along the closed path of pair
# states, so on a ring of $L$ sites $Z = \operatorname{Tr} T^L$. A run of $k\ge2$ particles
# starting at $i$ is the event that the pair states at $i, \dots, i+k-2$ are all $(1,1)$, so
# with $P$ the projector on $(1,1)$
#
# $$\langle v_i\cdots v_{i+k-1}\rangle = \frac{\operatorname{Tr}\big[(PT)^{k-2}P\,
#   T^{L-k+2}\big]}{\operatorname{Tr}T^L}
#   \;\xrightarrow{L\to\infty}\; \frac{\mathbf l^\top (PT)^{k-2}P\,\mathbf r}
#   {\Lambda^{k-2}\,\mathbf l^\top\mathbf r},$$
#
# with $\Lambda$ the largest eigenvalue of $T$ and $\mathbf l, \mathbf r$ its left and right
# eigenvectors; the density is $\mathbf l^\top P'\mathbf r/\mathbf l^\top\mathbf r$ with $P'$ the
# projector on pairs whose first site is occupied ($10$ and $11$). `dbm.ising.transfer_matrix`
# builds $T$ entry by entry, $T_{(a,c),(c,d)} = e^{bd + Jcd + Kacd}$; here are its Perron
# eigenvectors and the moments in a few lines, checked against
# `dbm.ising.exact_moments_per_site`, which does the same (for finite rings and open chains
# too):

# %%
b, J, K = -0.5, 1.0, 0.5
T = dbm.ising.transfer_matrix(b, J, K)
print("T =\n", np.round(T, 3))
eigvals, right = np.linalg.eig(T)
k = np.argmax(eigvals.real)
lam, r = eigvals[k].real, np.abs(right[:, k].real)  # Perron eigenvector: positive
eigvals_l, left = np.linalg.eig(T.T)
l_vec = np.abs(left[:, np.argmax(eigvals_l.real)].real)
N, P = np.diag([0.0, 0, 1, 1]), np.diag([0.0, 0, 0, 1])
mine = np.array([l_vec @ N @ r, l_vec @ P @ r, l_vec @ P @ T @ P @ r / lam]) / (l_vec @ r)
print("density, pairs, triples per site:", np.round(mine, 4))
print("dbm.ising.exact_moments_per_site:", np.round(dbm.ising.exact_moments_per_site(b, J, K)[:3],
                                                    4))
assert np.allclose(mine, dbm.ising.exact_moments_per_site(b, J, K)[:3])

# %% [markdown]
# For $J = K = 0$ the sites are independent, each occupied with probability
# $\rho = 1/(1+e^{-b})$, so the order-$k$ moment is $\rho^k$: a second check.

# %%
for b, J, K in [(0.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (-0.5, 1.0, 0.0), (0.5, -1.0, 1.0)]:
    print(f"b={b:+.1f} J={J:+.1f} K={K:+.1f}:",
          np.round(dbm.ising.exact_moments_per_site(b, J, K), 4))
rho = 1 / (1 + np.exp(1.0))
assert np.allclose(dbm.ising.exact_moments_per_site(-1.0, 0, 0), rho ** np.arange(1, 5))

# %% [markdown]
# The test suite checks the transfer matrix against brute-force enumeration of all $2^L$
# chains (rings and open chains, couplings up to $|J|, |K| = 3$).
#
# ## 3. Sampling the 1D gas
#
# **Gibbs sampling** updates one site at a time from its conditional distribution. Only the
# terms containing $v_i$ matter, so the log-odds of $v_i = 1$ is minus the energy cost
# $\Delta E_i$ of occupying site $i$ (the *local field*, often written $h_i$; in this book $h$
# is a hidden unit)
#
# $$-\Delta E_i = b + J(v_{i-1}+v_{i+1}) + K(v_{i-2}v_{i-1} + v_{i-1}v_{i+1} + v_{i+1}v_{i+2}),
# \qquad p(v_i = 1\mid \text{rest}) = \frac{1}{1+e^{\Delta E_i}}.$$
#
# A **sweep** of `dbm.ising.sample` visits the sites in the order $0, 3, 6, \dots$, then
# $1, 4, 7, \dots$, then $2, 5, 8, \dots$ (the sublattices $i \bmod 3$), updating one site at a
# time from its conditional given the current values of the others. That is a
# systematic-scan Gibbs sweep, and it leaves $p(\mathbf v)$ invariant for any $L$. Sites of one
# sublattice are at least three apart and so never share a term; on an open chain, or on a
# ring whose length is a multiple of 3, each sublattice could equally be updated as one block.
# On our ring of $L = 100$ sites it could not (sites 99 and 0, both in sublattice 0, are
# neighbours), but the one-site-at-a-time sweep is exact regardless. What runs in parallel
# is many independent chains, one random stream each.
#
# Move the sliders. Left: sampled lattices, one per row (particles in pink, the colour of
# species $A$ in every lattice figure of the book). Right: the sampled moments per site (dots, $\pm2$ standard errors over independent
# chains), which must sit on the exact ones (crosses).


# %%
def show_gas(b, J, K):
    dbm.widgets.ising_samples_view(b, J, K, n_sites=100, n_chains=400, n_sweeps=200, seed=SEED)
    plt.show()


gas_sliders = {
    "b": float_slider(-0.5, -3.0, 3.0, 0.1, "b"),
    "J": float_slider(1.0, -3.0, 3.0, 0.1, "J"),
    "K": float_slider(0.5, -3.0, 3.0, 0.1, "K"),
}

# %% tags=["nbval-ignore-output"]
slider_view(show_gas, **gas_sliders)

# %% [markdown]
# The same figure at the default values, for the book:

# %%
show_gas(**defaults(gas_sliders))

# %% [markdown]
# **Figure 3.1.** Gibbs samples of the 1D gas (eq. 37) at $(b, J, K) = (-0.5, 1, 0.5)$ on a
# ring of 100 sites. Left: 30 of the 400 sampled lattices, one per row (particles pink).
# Right: their chain moments per site of orders 1 to 4 ($\pm 2$ SE over the chains) and
# the exact values of the transfer matrix.

# %% [markdown]
# We assert the agreement for a few couplings, including strong ones, on a ring of
# $L = 100$: each sampled moment is within 4 standard errors of the exact value (the standard
# error is the standard deviation over independent chains divided by $\sqrt{n}$).

# %%
L = 100
for b, J, K in [(-0.5, 1.0, 0.5), (0.5, -2.0, 2.0), (-1.5, 3.0, -1.0)]:
    v = dbm.ising.sample(b, J, K, n_sites=L, n_chains=1000, n_sweeps=300, seed=SEED)
    m = dbm.chain_moments(v, max_order=4) / L
    exact = dbm.ising.exact_moments_per_site(b, J, K, n_sites=L)
    z = (m.mean(0) - exact) / (m.std(0) / np.sqrt(1000))
    print(f"(b, J, K) = ({b}, {J}, {K}): z-scores", np.round(z, 2))
    assert np.all(np.abs(z) < 4)

# %% [markdown]
# ## 4. A hidden unit on every bond
#
# A fully visible model must name every moment it wants to control: eq. (37) needs $J$ for
# pairs, $K$ for triples, and so on up the moment hierarchy of eq. (36). The model of eq. (39)
# (Fig. 1(a)) instead puts a **hidden unit $h_j$ on every bond** $(j, j+1)$, connected to both
# sites with one weight $W$:
#
# $$-E(\mathbf v, \mathbf h) = b\sum_{i=1}^{L} v_i + b'\sum_{j=1}^{L-1} h_j
#   + W\sum_{j=1}^{L-1} h_j (v_j + v_{j+1}).$$
#
# **What a hidden unit detects.** Given the visible layer the hidden units are independent,
# and with $n_j = v_j + v_{j+1} \in \{0, 1, 2\}$ the number of occupied sites of bond $j$,
# $p(h_j = 1\mid\mathbf v) = \sigma(b' + W n_j)$. The unit is a **pair detector**, more likely
# on than off exactly when both of its sites are occupied, if
# $\sigma(b' + W) < \tfrac12 < \sigma(b' + 2W)$, i.e.
#
# $$-2W < b' < -W \qquad (\text{which needs } W > 0).$$
#
# For $b' > -W$ one particle already switches it on; for $b' < -2W$ not even a pair does.
# Fig. 1(c) of the paper shows a state inside the window; so does the figure below, at
# $(b, W, b') = (-2, 4, -6)$:

# %%
hidden = dbm.hidden_model_1d(60)
theta_h = np.array([-2.0, 4.0, -6.0])
b_h, W_h, bp_h = theta_h
print(f"pair detector: -2W < b' < -W is {-2 * W_h} < {bp_h} < {-W_h}:", -2 * W_h < bp_h < -W_h)
for n in (0, 1, 2):
    print(f"  {n} occupied site(s): p(h = 1) = {1 / (1 + np.exp(-(bp_h + W_h * n))):.3f}")
v_h, _ = dbm.rbm.gibbs(hidden, theta_h, n_sweeps=100, n_chains=1, seed=SEED)
dbm.plotting.plot_hidden_1d(theta_h, v_h[0])
plt.show()
print("effective (b, J):", np.round(dbm.rbm.effective_ising(theta_h), 3))

# %% [markdown]
# **Figure 3.2.** The hidden model of eq. (39) at $(b, W, b') = (-2, 4, -6)$, as in Fig. 1(c)
# of the paper: a sampled visible lattice (top row, particles filled pink) and, on each bond
# between two sites, the probability $p(h_j = 1\mid\mathbf v)$ that its hidden unit is on
# (bottom row, white 0 to black 1, colour bar).
#
# The hidden units light up on the bonds inside runs of particles and stay dim
# elsewhere.
#
# **What the visible layer sees.** Summing $h_j$ out multiplies $p(\mathbf v)$ by
# $1 + e^{b' + W n_j}$. With the softplus $\operatorname{sp}(x) = \ln(1+e^x)$, a function of
# $n \in \{0, 1, 2\}$ is a quadratic in $(v_j, v_{j+1})$:
#
# $$\operatorname{sp}(b' + W n_j) = \operatorname{sp}(b') + (v_j +
# v_{j+1})\,[\operatorname{sp}(b'+W) - \operatorname{sp}(b')]
#   + v_j v_{j+1}\,[\operatorname{sp}(b'+2W) - 2\operatorname{sp}(b'+W) + \operatorname{sp}(b')].$$
#
# So the visible marginal is **exactly** an Ising chain, with
#
# $$b_\text{eff} = b + 2[\operatorname{sp}(b'+W) - \operatorname{sp}(b')], \qquad J_\text{eff} =
# \operatorname{sp}(b'+2W) - 2\operatorname{sp}(b'+W) + \operatorname{sp}(b')
#   \;\ge 0, \qquad K_\text{eff} = 0$$
#
# in the bulk ($J_\text{eff} \ge 0$ because $\operatorname{sp}$ is convex;
# `dbm.rbm.effective_ising`; the two
# end sites see one hidden unit each). A scan of $(W, b')$ over $[-5, 5]^2$ (the bias $b$
# does not enter $J_\text{eff}$) confirms it: the smallest effective coupling is zero,
# reached where $W = 0$, never below.

# %%
scan = np.linspace(-5, 5, 81)
j_eff = np.array([[dbm.rbm.effective_ising([0.0, w, bp])[1] for bp in scan] for w in scan])
i_min = np.unravel_index(j_eff.argmin(), j_eff.shape)
print(f"smallest J_eff over W, b' in [-5, 5]: {j_eff.min():.3g} at W = {scan[i_min[0]]:g}, "
      f"b' = {scan[i_min[1]]:g}; largest {j_eff.max():.2f}")
assert j_eff.min() >= -1e-12  # sp(x) = ln(1 + e^x) is convex
dbm.plotting.glue_value("key-03-jeff-min", max(j_eff.min(), 0.0))  # rounding: -1e-16 is 0

# %% [markdown]
#
# **Statically, the hidden model is *less* expressive than eq. (37).** Its three parameters
# reach only the Ising chains with $K = 0$ and $J \ge 0$, a two-parameter subset of what
# $(b, J, K)$ reach; one combination of $(W, b')$ does not change the visible distribution at
# all. It cannot set the triples independently of the density and the pairs, nor make
# particles avoid each other. Section 6 shows it: fitted to lattices of the $(b, J, K)$ gas,
# it reproduces density and pairs but misses triples and quadruples where $K > 0$. (By the same
# calculation, a unit wired to $k$ sites contributes $\operatorname{sp}(b' + W n)$ with $n \le k$, a
# polynomial
# of order $k$ in the $v$'s: units on 3 or more sites, such as the $2\times2\times2$ cubes of
# the Rössler model in section 7, do give three-site and higher terms. The bond model does not.)
#
# How then can the paper find (Fig. 3(c)) that the hidden model predicts the third- and
# fourth-order moments *better* than the visible model? Not from its static distributions: at
# $t = 0$ the data are drawn from eq. (37) itself, so there the visible model is exact and the
# hidden one is not. Any advantage must come from the learned **dynamics** of $(b, W, b')$:
# which moments its parameters track as the lattice evolves, and how compactly its
# trajectories are organised. The paper reports that initial conditions spread uniformly in
# $(b, J, K)$ land on an approximately one-dimensional curve in $(b, W, b')$, ordered by the
# nearest-neighbour moment (Fig. 3(a)), and that $W$ and $b'$ follow the decay of the
# neighbour correlation (Fig. 3(b)). Whether that compact organisation really buys the lower
# error is what the learning experiment of section IV A of the paper tests, the subject of
# [notebook 5](05_moment_closure_annihilation) (which finds that, in our reproduction, it
# does not).
#
# The block Gibbs sampler (`dbm.rbm.gibbs`) alternates $\vH \sim p(\vH\mid
# \vV)$ and $\vV\sim p(\vV\mid \vH)$. For a tiny lattice we can
# enumerate all visible states exactly (`dbm.rbm.exact_moments`, the hidden units summed out)
# and check the sampler's moments, one per parameter $(b, W, b')$; these are raw lattice sums
# over the 6 sites and 5 bonds:

# %%
tiny = dbm.hidden_model_1d(6)
exact = dbm.rbm.exact_moments(tiny, theta_h)
v_t, _ = dbm.rbm.gibbs(tiny, theta_h, n_sweeps=50, n_chains=20_000, seed=SEED)
m_t = dbm.rbm.moments(tiny, theta_h, v_t)
se_t = m_t.std(0) / np.sqrt(len(m_t))
print("exact  ", np.round(exact, 4))
print("sampled", np.round(m_t.mean(0), 4), "+-", np.round(se_t, 4))
assert np.all(np.abs(m_t.mean(0) - exact) < 4 * se_t)

# %% [markdown]
# ## 5. Awake and asleep phases: CD-$k$ and persistent CD
#
# The learning gradient is $\mu^\text{awake} - \mu^\text{asleep}$. For a model with hidden
# units the awake moments average over $p(\vH\mid\vV_\text{data})$: we use the
# hidden **probabilities**, not samples, as the paper does (same mean, less noise). The asleep
# moments need samples of the model, and a Markov chain needs time to forget its start:
#
# * **CD-$k$** {cite}`hinton2002` runs $k$ Gibbs steps, restarting every iteration (from the
#   data, or from random states);
# * **PCD** {cite}`tieleman2008` keeps the chains from one iteration to the next, so they keep
#   mixing while the parameters move slowly.
#
# How biased are short chains? Below, chains of the 1D gas run $k$ sweeps from fair coin flips
# (circles) or from samples of the model itself (squares), for a clustered gas at
# $(b, J, K) = (-4, 4, 0)$: by particle-hole symmetry (exercise 1) its density is exactly
# $1/2$, and particles come in runs of about eight. From equilibrium any $k$ is exact; from
# coin flips the runs have to form first.

# %%
ks = [1, 2, 5, 10, 30, 100, 300]
bias = dbm.ising.short_chain_bias(-4.0, 4.0, 0.0, n_sweeps=ks, n_sites=100, n_chains=1000,
                                  seed=SEED)
m1, m2 = bias["exact"][:2]
print(f"exact per site: density {m1:.3f}, pairs {m2:.3f}; mean run m1/(m1 - m2) = "
      f"{m1 / (m1 - m2):.1f} sites")
dbm.plotting.plot_short_chain_bias(bias)
plt.show()
z_random = (bias["random"] - bias["exact"]) / bias["random_se"]
z_data = (bias["data"] - bias["exact"]) / bias["data_se"]
print("(sampled - exact) / SE from coin flips, chain orders 1-4:")
for k, z in zip(ks, z_random, strict=True):
    print(f"  k = {k:3d}:", np.round(z, 1))
print("from model samples, largest |z| over all k and orders:", round(np.abs(z_data).max(), 1))
assert np.abs(z_random[0]).max() > 10 and np.abs(z_random[3:]).max() < 4  # k >= 10
assert np.abs(z_data).max() < 4.5

# %% [markdown]
# **Figure 3.3.** Chain moments per site of the clustered gas $(b, J, K) = (-4, 4, 0)$ after
# $k$ Gibbs sweeps started from coin flips (circles) or from model samples (squares),
# $\pm 2$ SE over 1000 chains, against the exact values (lines).
#
# Read the numbers. From coin flips, one sweep leaves the pairs 19 standard errors (SE) low,
# the triples 33 and the quadruples 44; after two sweeps they are still 8, 15 and 21 SE low;
# after five only the longest runs lag (quadruples 3.5 SE low); from $k = 10$ on every
# moment is within 1 SE of the exact value, i.e. within noise. (The density is right from the
# start: coin flips already have density $1/2$.) From model samples every $k$ is unbiased, as
# it must be. So for this gas, with runs of about eight particles, the bias of short chains
# from random states lasts a few sweeps, not tens; but a few steps is what CD-1 to CD-3 use,
# and the end of section 6 shows that this is enough to spoil a fit.
#
# ## 6. Learning $(b, W, b')$ from $(b, J, K)$ initial conditions
#
# The paper samples 50 lattices of $L = 1000$ sites from the 1D gas at each $(b, J, K)$ initial
# condition, then finds the hidden model's $(b, W, b')$ by static Boltzmann-machine learning
# (Fig. 2, bottom left). `dbm.rbm.fit` does that: awake moments of a batch of data, asleep
# moments of persistent chains after 3 Gibbs steps (PCD-3), and Adam steps {cite}`kingma2014`
# on the gradient per site, with batches of 10 lattices as in the paper. We use open
# boundaries (eqs. 37 and 39) and four initial conditions in $[-1, 1]^3$.
#
# Two things make this fit slow. Only two combinations of the three parameters are pinned down
# by the visible data ($b_\text{eff}$ and $J_\text{eff}$ of section 4), so $(W, b')$ can slide
# along a valley of equal likelihood. And for a dense gas even $(b_\text{eff}, J_\text{eff})$
# are determined weakly along one direction: many (bias, coupling) pairs give nearly the same
# density and pairs. We therefore fit in two stages (`dbm.rbm.fit_two_stage`, two calls of
# `dbm.rbm.fit`): 600 large steps (learning rate 0.2) to travel, then 600 small ones (0.02)
# whose last quarter is averaged into the estimate (this averaging removes most of the
# gradient noise).

# %%
conditions = [(-0.5, 0.5, 0.5), (0.5, 1.0, -0.5), (-1.0, 1.0, 1.0), (0.0, -0.5, 0.5)]
L, n_lattices = 1000, 50
model = dbm.hidden_model_1d(L)
fit_options = {"n_iter": (600, 600), "lr": (0.2, 0.02), "cd_k": 3, "batch_size": 10,
               "n_chains": 20, "progress": False}  # PCD-3: start="persistent", the default
data, fits = {}, {}
for i, bjk in enumerate(conditions):
    data[bjk] = dbm.ising.sample(*bjk, n_sites=L, n_chains=n_lattices, n_sweeps=300,
                                 boundary="reflecting", seed=SEED + i)
    fits[bjk] = dbm.rbm.fit_two_stage(model, data[bjk], seed=SEED + i, **fit_options)
    print(bjk, "->", dict(zip(model.param_names, fits[bjk].params.round(3).tolist(), strict=True)))
fig = dbm.plotting.plot_rbm_fits(fits)
fig.axes[3].axvline(600, color="0.5", ls=":", lw=1)  # travel | settle
dbm.plotting.glue_figure("intro-03", fig)  # the book's intro page shows it too
plt.show()

# %% [markdown]
# **Figure 3.4.** Static learning of the hidden model for four $(b, J, K)$ initial
# conditions (Fig. 2 of the paper, bottom left). The first three panels are the three
# projections of the parameter space $(b, W, b')$: each fit's path from the start
# $(0, 0, 0)$ (cross) as a thin line, its fitted, averaged parameters as a large dot. The
# last panel is the wake-sleep mismatch per iteration (dotted line: the small steps start).
#
# **Is the fit right?** The mismatch of the last panel cannot tell. With large steps the
# persistent chains lag behind the parameters and it jumps about; with small steps it is
# mostly the noise of the gradient. Its mean over the averaging window (printed below) is
# under the default tolerance of `fit` (0.02, which `FitResult.converged` reports) for every
# fit, and it would be whether or not the parameters had arrived: the CD comparison below
# shows a badly wrong model at the same level. What the data do determine is the visible
# marginal, so we check that. The data's own answer is the Ising chain ($K = 0$, open,
# $L = 1000$) whose density and pair moment per site equal the data's, found by a root
# search on `dbm.ising.exact_moments_per_site` (`dbm.ising.implied_ising`). Its standard
# errors follow from those of the data moments (over the 50 lattices) through the inverse
# Jacobian of the map $(b, J) \mapsto$ (density, pairs). Each fit's
# $(b_\text{eff}, J_\text{eff})$ must lie within 4 standard errors of it.

# %%
implied = {}
print("(b, J, K)          mismatch  data (b, J) +- SE                 fit (b_eff, J_eff)   z")
for bjk, r in fits.items():
    implied[bjk] = dbm.ising.implied_ising(data[bjk])
    bj, se = implied[bjk].params, implied[bjk].se
    eff = np.array(dbm.rbm.effective_ising(r.params))
    z = (eff - bj) / se
    print(f"{bjk!s:18} {r.loss_history[-150:].mean():.4f}    ({bj[0]:+.3f}, {bj[1]:.3f}) +- "
          f"({se[0]:.3f}, {se[1]:.3f})   ({eff[0]:+.3f}, {eff[1]:.3f})    {np.round(z, 1)}")
    assert np.all(np.abs(z) < 4)

# %% [markdown]
# All four fits pass. They have not, however, stopped moving, which the next cell measures
# by comparing the mean iterate of the first and the second half of the settle stage. At
# $(0, -0.5, 0.5)$, $W$ and $b'$ slide by $-0.07$ and $-0.16$ while $(b_\text{eff},
# J_\text{eff})$ move by less than 0.01 (a quarter of an SE): that is the valley, where the
# hidden units are nearly always off and $(W, b')$ hardly matter to the visible layer. At
# $(-1, 1, 1)$ everything still creeps, $(b_\text{eff}, J_\text{eff})$ by about 2.5 to 3 SE
# along the weakly determined direction, towards the data's values. So the $(W, b')$ a fit
# reports is one point along a valley, where it happened to stop; only $(b_\text{eff},
# J_\text{eff})$ are determined by the data, and that is what the check above tests. The
# dynamic models of section IV A of the paper start from such points, so this choice is part
# of their set-up.

# %%
print("mean of the 2nd half of the settle stage minus the 1st half")
print("(b, J, K)          (b, W, b')                   (b_eff, J_eff)")
for bjk, r in fits.items():
    path = r.param_history[601:]  # the 600 small steps
    eff = np.array([dbm.rbm.effective_ising(theta) for theta in path])
    moved = path[300:].mean(0) - path[:300].mean(0)
    moved_eff = eff[300:].mean(0) - eff[:300].mean(0)
    print(f"{bjk!s:18} {np.round(moved, 3)!s:28} {np.round(moved_eff, 3)}")

# %% [markdown]
# ### CD-$k$ versus PCD in learning
#
# Section 5 showed that chains started from coin flips need a few sweeps to forget their
# start. What does that do to learning? We refit the first initial condition with the same
# two-stage schedule but non-persistent chains, restarted every iteration either from the
# data batch (`start="data"`: CD-3 from data, Hinton's original recipe) or from coin flips
# (`start="random"`: CD-3 from random states), and compare with the PCD-3 fit above
# (`start="persistent"`, the default). Two numbers for each: the mismatch the algorithm itself
# sees (mean over the averaging window), and the true mismatch, between the data's density and
# pairs and those of the learned model, computed exactly from its effective Ising chain
# (section 4; the end sites differ slightly, an effect of order $1/L$).

# %%
bjk = conditions[0]
target = dbm.chain_moments(data[bjk], max_order=2, boundary="reflecting") / L
target_mean, target_se = target.mean(0), target.std(0) / np.sqrt(len(target))
runs = {
    "PCD-3": fits[bjk],
    "CD-3 from data": dbm.rbm.fit_two_stage(model, data[bjk], seed=SEED,
                                            **fit_options | {"start": "data", "n_chains": 10}),
    "CD-3 from random": dbm.rbm.fit_two_stage(model, data[bjk], seed=SEED,
                                              **fit_options | {"start": "random"}),
}
print(f"data {bjk}: density, pairs per site = {np.round(target_mean, 4)}")
print("                   seen mismatch   learned density, pairs   (learned - data) / SE")
true_z = {}
for name, r in runs.items():
    learned = dbm.ising.exact_moments_per_site(*dbm.rbm.effective_ising(r.params), 0.0,
                                               n_sites=L, boundary="reflecting", max_order=2)
    true_z[name] = (learned - target_mean) / target_se
    print(f"{name:18} {r.loss_history[-150:].mean():10.4f}      {np.round(learned, 4)!s:24} "
          f"{np.round(true_z[name], 1)}")
assert np.abs(true_z["PCD-3"]).max() < 4 and np.abs(true_z["CD-3 from data"]).max() < 4
assert np.abs(true_z["CD-3 from random"]).min() > 10

# %% [markdown]
# By its own measure, CD-3 from random states has converged as well as the others (its
# mismatch, 0.011, is even below PCD's), yet the model it learned has density 0.80 and pairs
# 0.68 per site against the data's 0.71 and 0.55: more than 30 SE off. It has found parameters
# for which three Gibbs steps from coin flips reproduce the data, not parameters whose
# equilibrium does: the short-chain bias of section 5, turned into a wrong model. PCD-3 and
# CD-3 from data both land within about 1 SE of the data. (PCD's own mismatch is larger only
# because its chains are independent of the batch, so the noise of the two does not cancel
# as it does when the chains start from the batch.)
#
# How well does each learned hidden model reproduce the data beyond the moments it was fitted
# to? We sample it (50 chains, 300 block-Gibbs steps) and compare the chain moments per site
# of orders 1 to 4, in units of the combined standard error of the two means. The density and
# the pairs are what the parameters control, so they must match (asserted within 4 standard
# errors); the triples and quadruples are **predictions**, and they fall short where the data
# have $K > 0$ (more long runs than pairs alone explain) and overshoot where $K < 0$: the
# static limitation of section 4. At $(-1, 1, 1)$ they agree, but there the lattice is 96%
# full and every moment follows from the density and the pairs. Nor can the hidden model
# follow a gas with $J < 0$ in general, since its effective coupling is never negative; at
# $(0, -0.5, 0.5)$ the positive $K$ happens to cancel most of the anticorrelation, and the
# best it can do is $J_\text{eff} \approx 0$ (above), with $b'$ so negative that the hidden
# units are nearly always off.

# %%
print("(b, J, K)          order:      1       2       3       4")
for i, bjk in enumerate(conditions):
    v_fit, _ = dbm.rbm.gibbs(model, fits[bjk].params, n_sweeps=300, n_chains=50, seed=SEED + i)
    learned = dbm.chain_moments(v_fit, boundary="reflecting") / L
    target = dbm.chain_moments(data[bjk], boundary="reflecting") / L
    se = np.sqrt(learned.var(0) / len(learned) + target.var(0) / len(target))
    z = (learned.mean(0) - target.mean(0)) / se
    print(f"{bjk!s:18} data   ", np.round(target.mean(0), 4))
    print(f"{'':18} learned", np.round(learned.mean(0), 4), "  z:", np.round(z, 1))
    assert np.all(np.abs(z[:2]) < 4)

# %% [markdown]
# ## 7. The Rössler RBM in three dimensions
#
# For the Rössler oscillator (section IV B) the visible lattice is $10\times10\times10$, each
# site in $\{\emptyset, A, B, C\}$; a hidden layer of the same size has units in
# $\{\emptyset, X, Y, Z\}$, each connected to a $2\times2\times2$ cube of visible sites with
# periodic wrap (Fig. 5). Each hidden unit sees 8 visible sites, so (section 4) summing it
# out leaves interactions among up to eight sites. Eq. (44) keeps 9 parameters:
# $b_A, b_B, b_C$, $W_{AX}, W_{BY}, W_{CZ}$, $b_X, b_Y, b_Z$. With zero weights the sites are
# independent, and eq. (46) gives
# $\mu_\alpha = 1000\, e^{b_\alpha}/(1 + \sum_\beta e^{b_\beta}) = 200$ for $b_\alpha = -\ln 2$;
# the hidden bias $\ln(1/7)$ gives 100 of each hidden species (the paper prints
# $-\ln(1/7)$, a sign slip). Counts here are raw lattice sums over the 1000 sites, as in the
# paper.

# %%
rossler = dbm.rossler_rbm((10, 10, 10))
theta_r = dbm.rbm.rossler_initial_params()
v_r, h_r = dbm.rbm.gibbs(rossler, theta_r, n_sweeps=5, n_chains=100, seed=SEED)
visible_counts = [(v_r == a).sum(axis=(1, 2, 3)).mean() for a in (1, 2, 3)]
hidden_counts = [(h_r == c).sum(axis=1).mean() for c in (1, 2, 3)]
print("mean A, B, C:", np.round(visible_counts, 1), " mean X, Y, Z:", np.round(hidden_counts, 1))
assert np.allclose(visible_counts, 200, atol=4 * np.sqrt(160 / 100))
assert np.allclose(hidden_counts, 100, atol=4 * np.sqrt(90 / 100))

# %% [markdown]
# Turning on $W_{AX} > 0$ makes $X$ units appear where $A$ particles cluster, and through them the
# $A$ particles attract each other: the moment $\sum_{(i,j)} v_{i,A}h_{j,X}$ rises above its
# independent value $8\,\mu_A\,\mu_X/1000$. (Much larger weights, around $W_{AX} = 1$, tip the
# lattice into a state filled with $A$: eight neighbours multiply every weight by eight.)

# %%
theta_w = theta_r.copy()
theta_w[3] = 0.25
m_w = dbm.rbm.moments(rossler, theta_w, dbm.rbm.gibbs(rossler, theta_w, n_sweeps=50,
                                                      n_chains=20, seed=SEED)[0]).mean(0)
print(dict(zip(rossler.param_names, m_w.round(1).tolist(), strict=True)))
assert m_w[3] > 8 * m_w[0] * m_w[6] / 1000

# %% [markdown]
# ## 8. Exercises
#
# Each exercise comes with a code cell to complete (replace every `...`); the solution
# follows it.
#
# ```{exercise-start}
# :label: bm-ex1
# ```
#
# **Particle-hole symmetry.** Show that for $K = 0$ the substitution $v_i \to 1 - v_i$ maps the
# gas $(b, J)$ on a ring to $(-b - 2J, J)$. Conclude that the density is exactly $1/2$ at
# $b = -J$, for every $J$, and check it with `dbm.ising.exact_moments_per_site` and with the
# sampler.
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
for J in (-2.0, 0.5, 3.0):
    rho = ...  # exact density per site at b = -J, K = 0 (dbm.ising.exact_moments_per_site)
    v = ...  # 500 sampled rings of 100 sites at the same (b, J, K) (dbm.ising.sample)
    print(f"J = {J:+.1f}: exact density {rho}")

# %% [markdown] tags=["solution"]
# ```{solution-start} bm-ex1
# :class: dropdown
# ```
#
# With $u_i = 1 - v_i$: $b\sum v_i = bL - b\sum u_i$ and
# $J\sum v_i v_{i+1} = J\sum(1 - u_i - u_{i+1} + u_i u_{i+1}) = JL - 2J\sum u_i + J\sum u_iu_{i+1}$
# on a ring. Up to a constant the exponent is $(-b-2J)\sum u_i + J\sum u_iu_{i+1}$. At
# $b = -J$ the map sends $(b, J)$ to itself, so $\langle v\rangle = \langle 1 - v\rangle = 1/2$.

# %% tags=["solution"]
for J in (-2.0, 0.5, 3.0):
    rho = dbm.ising.exact_moments_per_site(-J, J, 0.0)[0]
    v = dbm.ising.sample(-J, J, 0.0, n_sites=100, n_chains=500, n_sweeps=300, seed=SEED)
    se = v.mean(axis=1).std() / np.sqrt(len(v))  # over independent chains
    print(f"J = {J:+.1f}: exact density {rho:.6f}, sampled {v.mean():.4f} +- {se:.4f}")
    assert abs(rho - 0.5) < 1e-12 and abs(v.mean() - 0.5) < 4 * se

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: bm-ex2
# ```
#
# **The visible marginal, exactly.** Section 4 derived that the hidden model's visible
# marginal is an Ising chain with $(b_\text{eff}, J_\text{eff})$ from
# `dbm.rbm.effective_ising`. Verify it by exact enumeration: for $L = 6$ and
# $(b, W, b') = (0.3, -1.2, 0.8)$, compare the probabilities of `dbm.rbm.enumerate_visible`
# with the normalised Ising weights $\exp(\sum_i b_i v_i + J_\text{eff}\sum v_iv_{i+1})$.
# Mind the end sites: they have one hidden neighbour, so their bias $b_i$ is not
# $b_\text{eff}$ (by how much does it differ?).
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
theta_x = np.array([0.3, -1.2, 0.8])
b_eff, J_eff = dbm.rbm.effective_ising(theta_x)
states, prob = dbm.rbm.enumerate_visible(dbm.hidden_model_1d(6), theta_x)
bias_sites = ...  # the bias b_i of each of the 6 sites
logw = ...  # the log Ising weight of each row of `states`

# %% [markdown] tags=["solution"]
# ```{solution-start} bm-ex2
# :class: dropdown
# ```

# %% tags=["solution"]
theta_x = np.array([0.3, -1.2, 0.8])
b_eff, J_eff = dbm.rbm.effective_ising(theta_x)
states, prob = dbm.rbm.enumerate_visible(dbm.hidden_model_1d(6), theta_x)
edge = np.logaddexp(0, theta_x[2] + theta_x[1]) - np.logaddexp(0, theta_x[2])
bias_sites = np.full(6, b_eff)
bias_sites[[0, -1]] -= edge
logw = states @ bias_sites + J_eff * (states[:, 1:] * states[:, :-1]).sum(1)
assert np.allclose(prob, np.exp(logw) / np.exp(logw).sum())
print(f"bias of the end sites {bias_sites[0]:.3f}, of the bulk b_eff = {b_eff:.3f}; "
      f"largest |difference| of the 64 probabilities: "
      f"{np.abs(prob - np.exp(logw) / np.exp(logw).sum()).max():.1e}")

# %% [markdown] tags=["solution"]
# The enumerated marginal of the hidden model is exactly this Ising chain. Since
# $J_\text{eff} \ge 0$ whatever the sign of $W$ (section 4), a binary hidden unit between
# two sites can only make them attract. Anticorrelation needs a different hidden layer (e.g.
# more hidden species, or a visible $J$).
#
# ```{solution-end}
# ```

# %% [markdown]
# ### Project
#
# **A hidden layer that can repel.** The bond model of eq. (39) cannot make particles
# avoid each other ($J_\text{eff} \ge 0$), and it has no triple term. Design a hidden layer
# that can: for example a hidden unit with three states $\{0, 1, 2\}$ per bond, a unit
# wired to three sites, or a negative coupling to a *pair* of hidden units. Derive its
# visible marginal as in section 4 (which $(b, J, K)$ can it reach?), check the derivation by
# enumeration on a small chain, and fit it to lattices of the gas at $(0, -0.5, 0.5)$ and
# $(-0.5, 0.5, 0.5)$ to see whether its predicted triples and quadruples now match the data
# (section 6's last table). What does the richer hidden layer cost in parameters and in
# sampling time?

# %% [markdown]
# ## 9. Summary
#
# * A Boltzmann distribution is the maximum-entropy distribution for given moments; each
#   parameter controls the moment it multiplies, $\mu_k = \partial\ln Z/\partial\theta_k$
#   (eqs. 1-3, 23 of {cite}`ernst2019`).
# * The 1D gas of eq. (37) has exact moments from a $4\times4$ transfer matrix on pairs of
#   sites; the Gibbs sampler agrees with them within standard errors (asserted above).
# * A hidden unit per bond (eq. 39) detects neighbour pairs when $-2W < b' < -W$. Its visible
#   marginal is an Ising chain with $J_\text{eff} \ge 0$ and no triple term, so statically it
#   is *less* expressive than eq. (37): it misses triples and quadruples where $K > 0$. The
#   paper's advantage for it (Fig. 3(c)) has to come from its learned dynamics, which
#   [notebook 5](05_moment_closure_annihilation) tests.
# * The learning gradient is awake minus asleep moments. Short chains from random states are
#   biased for a few sweeps; in learning, CD-3 from random states converges, by its own
#   measure, to a wrong model, while PCD-3 and CD-3 from data match the data.
# * Static learning maps each $(b, J, K)$ initial condition to $(b, W, b')$ (Fig. 2). The data
#   fix only $(b_\text{eff}, J_\text{eff})$, which is what we check; where a fit ends along the
#   $(W, b')$ valley depends on how long it ran. These are the starting points of the dynamic
#   models of section IV A ([notebook 5](05_moment_closure_annihilation)); the 9-parameter
#   Rössler RBM of eq. (44) is the model of section IV B
#   ([notebook 6](06_rossler_oscillator)).
#
# ## References
#
# The full list is on the book's bibliography page. This notebook cites {cite}`ernst2019`
# (eqs. 1-3, 23, 25, 35-39, 44-46; Figs. 1, 2, 3, 5), {cite}`ackley1985` (Boltzmann machine
# learning), {cite}`hinton2002` (contrastive divergence), {cite}`tieleman2008` (persistent CD)
# and {cite}`kingma2014` (Adam).

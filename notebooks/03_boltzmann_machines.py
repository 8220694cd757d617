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
# # 3. Boltzmann machines on lattices
#
# ## Overview
#
# Algorithm 1 of {cite}`ernst2019` needs, at every timepoint, two sets of moments: those of
# the data (the **awake** phase) and those of the model (the **asleep** phase). This notebook
# builds the lattice models whose moments those are, samples them, and checks every sampler
# against an exact answer. It then does ordinary (static) Boltzmann-machine learning, which the
# paper uses to find the initial conditions of its dynamic models.
#
# **Learning objectives.** After this notebook you can
#
# 1. write down the maximum-entropy (Boltzmann) distribution that matches a set of lattice
#    moments, and say which moment each parameter $b$, $J$, $K$ controls;
# 2. compute the exact moments of the 1D lattice gas (eq. 37) with a $4\times4$ transfer matrix,
#    and sample it by Gibbs sampling;
# 3. explain why the hidden-layer model of eq. (39) (Fig. 1(a)-(c)) captures neighbour
#    correlations with a hidden unit per bond, and what its visible marginal is;
# 4. run the awake/asleep phases with CD-$k$ and persistent CD, and see the bias of short chains;
# 5. learn $(b, W, b')$ for given $(b, J, K)$ initial conditions, as in Fig. 2 (bottom left).
#
# **Prerequisites.** Probability (conditional distributions, Markov chains), a little linear
# algebra (eigenvalues), NumPy. Notebook 01 (the lattice simulator) helps for context.
#
# **Time.** About 45 minutes to work through; the notebook runs in about a minute.

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
# $-\sum_{\mathbf v} p\ln p$ follows from a Lagrange multiplier $\theta_k$ per constraint:
# setting the derivative of $-\sum p \ln p + \sum_k \theta_k(\sum p\, s_k - \mu_k)
# - \lambda(\sum p - 1)$ with respect to $p(\mathbf v)$ to zero gives
#
# $$p(\mathbf v) = \frac{1}{Z(\boldsymbol\theta)}\exp\Big[\sum_k \theta_k s_k(\mathbf v)\Big]
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

# %% [markdown]
# ## 2. Exact moments by the transfer matrix
#
# Add the sites one at a time. Adding site $i+2$ to a chain whose last two sites are
# $(v_i, v_{i+1})$ multiplies the weight by $\exp(b v_{i+2} + J v_{i+1}v_{i+2}
# + K v_i v_{i+1} v_{i+2})$: a $4\times4$ matrix $T$ on the **pair** states
# $s_i = (v_i, v_{i+1})$, nonzero only when the shared site agrees. On a ring of $L$ sites
# $Z = \operatorname{Tr} T^L$. A run of $k\ge2$ particles starting at $i$ is the event
# $s_i = \dots = s_{i+k-2} = (1,1)$, so with $P$ the projector on $(1,1)$
#
# $$\langle v_i\cdots v_{i+k-1}\rangle = \frac{\operatorname{Tr}\big[(PT)^{k-2}P\,
#   T^{L-k+2}\big]}{\operatorname{Tr}T^L}
#   \;\xrightarrow{L\to\infty}\; \frac{\mathbf l^\top (PT)^{k-2}P\,\mathbf r}
#   {\lambda^{k-2}\,\mathbf l^\top\mathbf r},$$
#
# with $\lambda$ the largest eigenvalue of $T$ and $\mathbf l, \mathbf r$ its left and right
# eigenvectors. `dbm.ising.exact_moments` does this (per site; open chains too). For
# $J = K = 0$ the sites are independent with $p = 1/(1+e^{-b})$, a first check:

# %%
for b, J, K in [(0.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (-0.5, 1.0, 0.0), (0.5, -1.0, 1.0)]:
    print(f"b={b:+.1f} J={J:+.1f} K={K:+.1f}:", np.round(dbm.ising.exact_moments(b, J, K), 4))
p = 1 / (1 + np.exp(1.0))
assert np.allclose(dbm.ising.exact_moments(-1.0, 0, 0), p ** np.arange(1, 5))

# %% [markdown]
# The test suite checks the transfer matrix against brute-force enumeration of all $2^L$
# chains (rings and open chains, couplings up to $|J|, |K| = 3$).
#
# ## 3. Sampling the 1D gas
#
# **Gibbs sampling** updates one site at a time from its conditional distribution. Only the
# terms containing $v_i$ matter, so the log-odds of $v_i = 1$ is the *local field*
#
# $$h_i = b + J(v_{i-1}+v_{i+1}) + K(v_{i-2}v_{i-1} + v_{i-1}v_{i+1} + v_{i+1}v_{i+2}),
# \qquad p(v_i = 1\mid \text{rest}) = \frac{1}{1+e^{-h_i}}.$$
#
# Sites three apart never share a term, so the three sublattices $i \bmod 3$ can each be
# updated as a block. `dbm.ising.sample` runs many independent chains in parallel, one
# random stream each. Move the sliders: the sampled moments (dots, $\pm2$ standard errors over
# independent chains) must sit on the exact ones (crosses).


# %%
def show_gas(b, J, K):
    dbm.ising.plot_samples(b, J, K, n_sites=100, n_samples=400, n_sweeps=200, seed=SEED)
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
# We assert the agreement for a few couplings, including strong ones, on a ring of
# $L = 100$: each sampled moment is within 4 standard errors of the exact value (the standard
# error is the standard deviation over independent chains divided by $\sqrt{n}$).

# %%
L = 100
for b, J, K in [(-0.5, 1.0, 0.5), (0.5, -2.0, 2.0), (-1.5, 3.0, -1.0)]:
    v = dbm.ising.sample(b, J, K, n_sites=L, n_samples=1000, n_sweeps=300, seed=SEED)
    m = dbm.chain_moments(v, max_order=4) / L
    z = (m.mean(0) - dbm.ising.exact_moments(b, J, K, n_sites=L)) / (m.std(0) / np.sqrt(1000))
    print(f"(b, J, K) = ({b}, {J}, {K}): z-scores", np.round(z, 2))
    assert np.all(np.abs(z) < 4)

# %% [markdown]
# ## 4. Why hidden units help
#
# A fully visible model must name every moment it wants to control: eq. (37) needs $J$ for
# pairs, $K$ for triples, and so on up the moment hierarchy of eq. (36). The model of eq. (39)
# (Fig. 1(a)) instead puts a **hidden unit $h_j$ on every bond** $(j, j+1)$, connected to both
# sites with one weight $W$:
#
# $$-E(\mathbf v, \mathbf h) = b\sum_{i=1}^{L} v_i + b'\sum_{j=1}^{L-1} h_j
#   + W\sum_{j=1}^{L-1} h_j (v_j + v_{j+1}).$$
#
# Given the visible layer the hidden units are independent, and
# $p(h_j = 1\mid\mathbf v) = \sigma(b' + W(v_j + v_{j+1}))$: with $W > 0$ and $b' < 0$ a hidden
# unit switches on only when **both** of its sites are occupied, i.e. it detects a neighbour
# pair (Fig. 1(c)). Summing each $h_j$ out multiplies $p(\mathbf v)$ by
# $1 + e^{b' + W(v_j+v_{j+1})}$; with $f(x) = \ln(1+e^x)$ this is an Ising model with
#
# $$b_\text{eff} = b + 2[f(b'+W) - f(b')], \qquad J_\text{eff} = f(b'+2W) - 2f(b'+W) + f(b')
#   \;\ge 0$$
#
# in the bulk (`dbm.rbm.effective_ising`). The hidden units thus carry the pair correlations
# as a latent variable, with a single species and a single weight; with more hidden species
# or wider connectivity (the Rössler model below) they reach higher-order correlations the
# same way. Here is what the hidden units see in a lattice of the hidden model:

# %%
hidden = dbm.hidden_model_1d(60)
theta_h = np.array([-0.5, 2.0, -3.0])
v_h, _ = dbm.rbm.gibbs(hidden, theta_h, n_steps=100, n_chains=1, seed=SEED)
dbm.rbm.plot_hidden_1d(theta_h, v_h[0])
plt.show()
print("effective (b, J):", np.round(dbm.rbm.effective_ising(theta_h), 3))

# %% [markdown]
# The block Gibbs sampler (`dbm.rbm.gibbs`) alternates $\mathbf H \sim p(\mathbf H\mid
# \mathbf V)$ and $\mathbf V\sim p(\mathbf V\mid \mathbf H)$. For a tiny lattice we can
# enumerate all visible states exactly (`dbm.rbm.exact_moments`, the hidden units summed out)
# and check the sampler's moments, one per parameter $(b, W, b')$:

# %%
tiny = dbm.hidden_model_1d(6)
exact = dbm.rbm.exact_moments(tiny, theta_h)
v_t, _ = dbm.rbm.gibbs(tiny, theta_h, n_steps=50, n_chains=20_000, seed=SEED)
m_t = dbm.rbm.moments(tiny, theta_h, v_t)
se_t = m_t.std(0) / np.sqrt(len(m_t))
print("exact  ", np.round(exact, 4))
print("sampled", np.round(m_t.mean(0), 4), "+-", np.round(se_t, 4))
assert np.all(np.abs(m_t.mean(0) - exact) < 4 * se_t)

# %% [markdown]
# ## 5. Awake and asleep phases: CD-$k$ and persistent CD
#
# The learning gradient is $\mu^\text{awake} - \mu^\text{asleep}$. For a model with hidden
# units the awake moments average over $p(\mathbf H\mid\mathbf V_\text{data})$: we use the
# hidden **probabilities**, not samples, as the paper does (same mean, less noise). The asleep
# moments need samples of the model, and a Markov chain needs time to forget its start:
#
# * **CD-$k$** {cite}`hinton2002` runs $k$ Gibbs steps, restarting every iteration (from the
#   data, or from random states);
# * **PCD** {cite}`tieleman2008` keeps the chains from one iteration to the next, so they keep
#   mixing while the parameters move slowly.
#
# How biased are short chains? Below, chains of the 1D gas run $k$ sweeps from fair coin flips
# (o) or from samples of the model itself (squares), for a strongly clustered gas. From
# equilibrium any $k$ is exact; from random states the moments need tens of sweeps.

# %%
bias = dbm.ising.short_chain_bias(-1.5, 3.0, 0.0, n_sweeps=[1, 2, 5, 10, 30, 100, 300],
                                  n_sites=100, n_chains=300, seed=SEED)
dbm.ising.plot_short_chain_bias(bias)
plt.show()
z_first = np.abs(bias["random"][0] - bias["exact"]) / bias["random_se"][0]
z_last = np.abs(bias["random"][-1] - bias["exact"]) / bias["random_se"][-1]
z_data = np.abs(bias["data"] - bias["exact"]) / bias["data_se"]
print("k=1 from random: z =", np.round(z_first, 1), "| k=300:", np.round(z_last, 1))
assert z_first.max() > 10 and z_last.max() < 4 and z_data.max() < 4.5

# %% [markdown]
# ## 6. Learning $(b, W, b')$ from $(b, J, K)$ initial conditions
#
# The paper samples 50 lattices of $L = 1000$ sites from the 1D gas at each $(b, J, K)$ initial
# condition, then finds the hidden model's $(b, W, b')$ by static Boltzmann-machine learning
# (Fig. 2, bottom left). `dbm.rbm.fit` does that: awake moments of a batch of data, asleep
# moments of persistent chains after 3 Gibbs steps, and Adam steps {cite}`kingma2014` on the gradient per
# site, with batches of 10 lattices as in the paper. We use open boundaries (eqs. 37 and 39)
# and four initial conditions in $[-1, 1]^3$. The returned parameters average the last quarter
# of the iterates, which removes most of the sampling noise of the gradient.
#
# Only two combinations of the three parameters are pinned down by the visible data
# ($b_\text{eff}$ and $J_\text{eff}$ of section 4), so $(W, b')$ can slide along a valley of
# equal likelihood; a modest learning rate keeps the persistent chains in step.

# %%
conditions = [(-0.5, 0.5, 0.5), (0.5, 1.0, -0.5), (-1.0, 1.0, 1.0), (0.0, -0.5, 0.5)]
L, n_lattices = 1000, 50
model = dbm.hidden_model_1d(L)
data, fits = {}, {}
for i, bjk in enumerate(conditions):
    data[bjk] = dbm.ising.sample(*bjk, n_sites=L, n_samples=n_lattices, n_sweeps=300,
                                 boundary="reflecting", seed=SEED + i)
    fits[bjk] = dbm.rbm.fit(model, data[bjk], n_iter=800, lr=0.02, cd_k=3, persistent=True,
                            batch_size=10, n_chains=20, seed=SEED + i, progress=False)
    print(bjk, "->", dict(zip(model.param_names, fits[bjk].params.round(3).tolist(), strict=True)))
    assert fits[bjk].converged
dbm.rbm.plot_fit(fits)
plt.show()

# %% [markdown]
# How well does each learned hidden model reproduce the data? We sample it and compare the
# chain moments per site of orders 1 to 4. The density and the pairs are what the parameters
# control, so they must match (asserted within 3%); the triples and quadruples are
# **predictions**, and they fall short where the data have $K > 0$ (more long runs than pairs
# alone explain). Nor can the hidden model follow a gas with $J < 0$ in general: its effective
# coupling is never negative (section 4); at $(0, -0.5, 0.5)$ the positive $K$ happens to
# cancel most of the anticorrelation, and $W$ comes out near 0.

# %%
print("(b, J, K)          order:      1       2       3       4")
for i, bjk in enumerate(conditions):
    v_fit, _ = dbm.rbm.gibbs(model, fits[bjk].params, n_steps=300, n_chains=50, seed=SEED + i)
    learned = dbm.chain_moments(v_fit, boundary="reflecting").mean(0) / L
    target = dbm.chain_moments(data[bjk], boundary="reflecting").mean(0) / L
    print(f"{bjk!s:18} data   ", np.round(target, 4))
    print(f"{'':18} learned", np.round(learned, 4))
    assert np.all(np.abs(learned[:2] / target[:2] - 1) < 0.03)

# %% [markdown]
# ## 7. The Rössler RBM in three dimensions
#
# For the Rössler oscillator (section IV B) the visible lattice is $10\times10\times10$, each
# site in $\{\emptyset, A, B, C\}$; a hidden layer of the same size has units in
# $\{\emptyset, X, Y, Z\}$, each connected to a $2\times2\times2$ cube of visible sites with
# periodic wrap (Fig. 5). Eq. (44) keeps 9 parameters: $b_A, b_B, b_C$, $W_{AX}, W_{BY},
# W_{CZ}$, $b_X, b_Y, b_Z$. With zero weights the sites are independent, and eq. (46) gives
# $\mu_\alpha = 1000\, e^{b_\alpha}/(1 + \sum_\beta e^{b_\beta}) = 200$ for $b_\alpha = -\ln 2$;
# the hidden bias $\ln(1/7)$ gives 100 of each hidden species (the paper prints
# $-\ln(1/7)$, a sign slip).

# %%
rossler = dbm.rossler_rbm((10, 10, 10))
theta_r = dbm.rbm.rossler_initial_params()
v_r, h_r = dbm.rbm.gibbs(rossler, theta_r, n_steps=5, n_chains=100, seed=SEED)
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
m_w = dbm.rbm.moments(rossler, theta_w, dbm.rbm.gibbs(rossler, theta_w, n_steps=50,
                                                      n_chains=20, seed=SEED)[0]).mean(0)
print(dict(zip(rossler.param_names, m_w.round(1).tolist(), strict=True)))
assert m_w[3] > 8 * m_w[0] * m_w[6] / 1000

# %% [markdown]
# ## 8. Exercises
#
# ```{exercise-start}
# :label: bm-ex1
# ```
#
# **Particle-hole symmetry.** Show that for $K = 0$ the substitution $v_i \to 1 - v_i$ maps the
# gas $(b, J)$ on a ring to $(-b - 2J, J)$. Conclude that the density is exactly $1/2$ at
# $b = -J$, for every $J$, and check it with `dbm.ising.exact_moments` and with the sampler.
#
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} bm-ex1
# :class: dropdown
# ```
#
# With $u_i = 1 - v_i$: $b\sum v_i = bL - b\sum u_i$ and
# $J\sum v_i v_{i+1} = J\sum(1 - u_i - u_{i+1} + u_i u_{i+1}) = JL - 2J\sum u_i + J\sum u_iu_{i+1}$
# on a ring. Up to a constant the exponent is $(-b-2J)\sum u_i + J\sum u_iu_{i+1}$. At
# $b = -J$ the map sends $(b, J)$ to itself, so $\langle v\rangle = \langle 1 - v\rangle = 1/2$.

# %%
for J in (-2.0, 0.5, 3.0):
    rho = dbm.ising.exact_moments(-J, J, 0.0)[0]
    v = dbm.ising.sample(-J, J, 0.0, n_sites=100, n_samples=500, n_sweeps=300, seed=SEED)
    se = v.mean(axis=1).std() / np.sqrt(len(v))  # over independent chains
    print(f"J = {J:+.1f}: exact density {rho:.6f}, sampled {v.mean():.4f} +- {se:.4f}")
    assert abs(rho - 0.5) < 1e-12 and abs(v.mean() - 0.5) < 4 * se

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: bm-ex2
# ```
#
# **What the hidden model cannot do.** Using `dbm.rbm.effective_ising`, scan $W$ and $b'$ over
# $[-5, 5]^2$ and find the smallest effective coupling $J_\text{eff}$. Then verify the effective
# model by exact enumeration: for $L = 6$, compare `dbm.rbm.enumerate_visible` with the Ising
# weights $\exp(b_\text{eff}\sum v_i + J_\text{eff}\sum v_iv_{i+1})$ (mind the end sites, which
# have one hidden neighbour).
#
# ```{exercise-end}
# ```

# %% [markdown]
# ```{solution-start} bm-ex2
# :class: dropdown
# ```

# %%
grid = np.linspace(-5, 5, 41)
j_eff = np.array([[dbm.rbm.effective_ising([0.0, w, bp])[1] for bp in grid] for w in grid])
print("smallest J_eff on the grid:", j_eff.min())
assert j_eff.min() >= -1e-12  # f(x) = ln(1 + e^x) is convex

theta_x = np.array([0.3, -1.2, 0.8])
b_eff, J_eff = dbm.rbm.effective_ising(theta_x)
states, prob = dbm.rbm.enumerate_visible(dbm.hidden_model_1d(6), theta_x)
edge = np.logaddexp(0, theta_x[2] + theta_x[1]) - np.logaddexp(0, theta_x[2])
bias_sites = np.full(6, b_eff)
bias_sites[[0, -1]] -= edge
logw = states @ bias_sites + J_eff * (states[:, 1:] * states[:, :-1]).sum(1)
assert np.allclose(prob, np.exp(logw) / np.exp(logw).sum())

# %% [markdown]
# Whatever the sign of $W$, $J_\text{eff} \ge 0$: a binary hidden unit between two sites can
# only make them attract. Anticorrelation needs a different hidden layer (e.g. more hidden
# species, or a visible $J$).
#
# ```{solution-end}
# ```

# %% [markdown]
# ## 9. Summary
#
# * A Boltzmann distribution is the maximum-entropy distribution for given moments; each
#   parameter controls the moment it multiplies, $\mu_k = \partial\ln Z/\partial\theta_k$
#   (eqs. 1-3, 23 of {cite}`ernst2019`).
# * The 1D gas of eq. (37) has exact moments from a $4\times4$ transfer matrix on pairs of
#   sites; the Gibbs sampler agrees with them within standard errors (asserted above).
# * A hidden unit per bond (eq. 39) captures neighbour correlations as a latent variable; its
#   visible marginal is an Ising model with $J_\text{eff} \ge 0$.
# * The learning gradient is awake minus asleep moments. Short chains from random states are
#   biased; PCD keeps chains near equilibrium.
# * Static learning maps each $(b, J, K)$ initial condition to $(b, W, b')$ (Fig. 2), the
#   starting points of the dynamic models of notebook 04; the 9-parameter Rössler RBM of
#   eq. (44) is the model of notebook 05.
#
# ## References
#
# The full list is on the book's bibliography page. This notebook cites {cite}`ernst2019`
# (eqs. 1-3, 23, 25, 35-39, 44-46; Figs. 1, 2, 5), {cite}`ackley1985` (Boltzmann machine
# learning), {cite}`hinton2002` (contrastive divergence), {cite}`tieleman2008` (persistent CD)
# and {cite}`kingma2014` (Adam).

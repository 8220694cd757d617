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
# # 1. The lattice reaction-diffusion simulator
#
# **The question.** The paper {cite}`ernst2019` learns reduced models of
# reaction-diffusion systems from stochastic simulations. Before any learning,
# we need those simulations, and we need to trust them. This notebook builds
# that trust: it explains the lattice algorithm the paper uses (its section
# IV), then checks it against an exact solution of one-dimensional
# annihilation.
#
# **Learning objectives.** After this notebook you can
#
# 1. state the paper's per-timestep algorithm and what `dt`, the hop rate and
#    the collision probability mean physically, including $D = a^2\nu = a^2/(2 d\,\Delta t)$;
# 2. simulate a reaction network on a 1D, 2D or 3D lattice with `dbmtools`;
# 3. derive the reaction-limited law for $A + A \to \emptyset$ and explain why it
#    fails at late times, where the exact diffusion-limited result takes over;
# 4. produce the paper's training ensemble (50 initial conditions × 50 lattices)
#    and its moments $\langle \sum_i v_i \rangle$, $\langle \sum_i v_i v_{i+1} \rangle$.
#
# **Prerequisites.** Python and NumPy; exponential waiting times; the idea of a
# random walk. **Time:** 60 to 75 minutes to work through (reading, running
# the cells, the two exercises; the project is extra); the notebook itself runs
# in about 20 seconds on a 2-core machine.
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
SEED = 2019  # every stochastic call below derives its randomness from this
plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 1. The algorithm
#
# Particles of species $A, B, \dots$ sit on the sites of a lattice, at most one
# per site (the *single-occupancy* limit). Following Takayasu and Tretyakov
# {cite}`takayasu1992`, the paper advances time in steps of $\Delta t$; in each
# step
#
# 1. **unimolecular reactions** ($A \to \emptyset$, $A \to B$, $A \to A + A$)
#    fire by the Gillespie algorithm {cite}`gillespie1977`: with total rate
#    $R = \sum_m k_m\, n_m$ (reaction $m$ has rate constant $k_m$ and $n_m$ is the number
#    of particles of the species it consumes), the next event comes after an exponential
#    waiting time of mean $1/R$; events run while they fall inside the step;
# 2. **every particle**, in random order, tries one hop to a random nearest
#    neighbour. An empty target: it moves. An occupied one: a *collision*, and
#    a bimolecular reaction $A + B \to \dots$ happens with probability $p$; if
#    none does, the particle stays where it was.
#
# Where products go: in a collision the first product takes the target's site
# and the second the mover's old site; in $A \to A + A$ the child goes to a
# random empty neighbour of a parent chosen among the $A$ that have one (the
# event is dropped if none has).
#
# Algorithm 1.1 below writes the step out as pseudocode.
#
# ```{admonition} Algorithm 1.1: one time step of the lattice simulator
# :class: tip
#
# **Input:** lattice state $\mathbf v$ (one species code or empty per site), reaction
# network, time step $\Delta t$, collision probability $p$ per bimolecular reaction,
# `hop_prob`.
#
# 1. $t_\text{in} \leftarrow 0$ (time used inside this step).
# 2. **loop** (unimolecular reactions, Gillespie):
#    1. $R \leftarrow \sum_m k_m\, n_m$ (total rate, or propensity); **if** $R = 0$ **break**.
#    2. Draw $\delta \sim \mathrm{Exp}(R)$; $t_\text{in} \leftarrow t_\text{in} + \delta$;
#       **if** $t_\text{in} > \Delta t$ **break**.
#    3. Pick reaction $m$ with probability $k_m n_m/R$ and a particle of the species it
#       consumes uniformly; apply $m$ (for $A \to A + A$: the child goes to a random empty
#       neighbour; drop the event if no $A$ has one).
# 3. **for each** particle, in a random order (hops):
#    1. With probability $1 -$ `hop_prob`, skip it.
#    2. Pick one of the $2d$ nearest neighbours uniformly.
#    3. **if** the neighbour is empty: move there.
#    4. **else** (a collision): with probability $p$ apply a bimolecular reaction
#       $A + B \to \dots$ of the two species (first product on the target's site,
#       second on the mover's old site); otherwise stay.
# 4. $t \leftarrow t + \Delta t$.
# ```
#
# One hop attempt per $\Delta t$, spread over $2d$ neighbours, is a hop rate
# $\nu = 1/(2 d\, \Delta t)$ per neighbour (our $\nu$ is a rate; the paper's
# $\nu_1, \nu_2$ are interaction functions of its section II). A random walk with that rate spreads
# as $\langle |\Delta x|^2 \rangle = 2 d D t$ with diffusion constant
#
# $$ D = a^2\nu = \frac{a^2}{2 d\, \Delta t}, $$
#
# for lattice spacing $a$. `hop_prob` $< 1$ lets a particle skip its attempt,
# scaling $\nu$ and $D$ by `hop_prob`: this is how we slow diffusion without
# changing $\Delta t$. The exact conventions (where products go, what a
# reflecting wall does) are in the docstring of `dbm.simulate`.

# %%
net = dbm.annihilation(prob=0.01)  # the paper's section IV A: A + A -> 0, p = 0.01
print(net)
dt = 0.01
print("hop rate per neighbour:", dbm.hop_rate(dt, dim=1), "  D =", dbm.diffusion_constant(dt, 1))

# %% [markdown]
# A reaction network is written the way a chemist would. Here is the paper's
# three-species oscillator of section IV B (its equation 42, lost from the
# published text), which the paper's section IV B studies:

# %%
print(dbm.rossler())

# %% [markdown]
# ## 2. A first trajectory
#
# Start from a half-filled lattice of $L = 1000$ sites (each site occupied with
# probability 1/2) and run the paper's 200 steps. The kymograph shows every
# site (across) at every time (down); we let every collision react, $p = 1$, so
# the annihilation is easy to see.

# %%
state0 = dbm.random_state(1000, densities=[0.5], seed=SEED)
traj = dbm.simulate(state0, dbm.annihilation(1.0), n_steps=200, dt=dt, seed=SEED)
print(traj.states.shape, traj.states.dtype)
print("particles at start and end:", traj.counts()[[0, -1], 0])

fig, ax = plt.subplots(figsize=(8, 4))
dbm.plotting.plot_kymograph(traj, ax=ax, max_sites=250)
ax.set_title("A + A → ∅, p = 1: the first 250 sites", loc="left")
plt.show()

# %% [markdown]
# **Figure 1.1.** Kymograph of $A + A \to \emptyset$ with $p = 1$: the first 250 of
# $L = 1000$ sites (across) over 200 steps of $\Delta t = 0.01$ (down). Particles are pink,
# the colour of species $A$ in every figure of the book; empty sites light grey.
#
# Particles wander and vanish in pairs. Neighbouring particles meet quickly;
# survivors are those whose neighbours were far away, so the gaps grow with
# time. That growth, $\ell \sim \sqrt{D t}$, is what makes the density decay as
# $t^{-1/2}$ rather than the $t^{-1}$ of a well-mixed reaction.
#
# ## 3. Checking against exact results
#
# ### 3.1 Diffusion-limited: $p = 1$
#
# For annihilation on every collision, started from a random half-filled
# lattice, the density is known exactly {cite}`lushnikov1987,benavraham2000,krebs1995`:
#
# $$ \rho(t) = \tfrac12\, e^{-4\nu t}\left[I_0(4\nu t) + I_1(4\nu t)\right]
#    \;\xrightarrow{t\to\infty}\; \frac{1}{\sqrt{8\pi \nu t}}, $$
#
# with $I_n$ the modified Bessel functions. It is a continuous-time result; our
# sweep moves particles one at a time in discrete steps, so we expect agreement
# once many sweeps have passed, not in the first few.
#
# ### 3.2 Reaction-limited: small $p$
#
# When $p \ll 1$ particles collide many times before reacting, the lattice stays
# well mixed, and we can count: a particle hops onto an occupied site at rate
# $2\nu\rho$, reacts with probability $p$, and each reaction removes two
# particles, so
#
# $$ \frac{d\rho}{dt} = -4\nu p \rho^2 \quad\Rightarrow\quad
#    \rho(t) = \frac{\rho_0}{1 + 4\nu p \rho_0 t}. $$
#
# This decays as $1/(4\nu p t)$, faster than the diffusion-limited $t^{-1/2}$,
# so it cannot last: the two meet at the **crossover time**
# $t^* = \pi / (2 \nu p^2)$, after which even slow reactions have emptied each
# particle's neighbourhood and diffusion limits the decay again.
#
# We simulate the three regimes on long lattices ($L = 10^5$, 4 samples each)
# for 40,000 steps, and a finer ensemble for the first 200 steps.

# %%
nu = dbm.hop_rate(dt, 1)
long_runs, short_runs = {}, {}
for p in (1.0, 0.1, 0.01):
    starts = np.stack([dbm.random_state(100_000, densities=[0.5], seed=SEED + k) for k in range(4)])
    long_runs[p] = dbm.simulate_ensemble(
        starts, dbm.annihilation(p), n_steps=40_000, dt=dt, dim=1, record_every=200, seed=SEED
    )
    starts = np.stack([dbm.random_state(10_000, densities=[0.5], seed=SEED + k) for k in range(50)])
    short_runs[p] = dbm.simulate_ensemble(
        starts, dbm.annihilation(p), n_steps=200, dt=dt, dim=1, seed=SEED
    )

# %%
fig, ax = plt.subplots(figsize=(8, 5.5))
t = np.logspace(-2, np.log10(400), 300)
for p, color in zip((1.0, 0.1, 0.01), ("k", "C0", "C3"), strict=True):
    for runs in (short_runs, long_runs):
        dbm.plotting.plot_density_band(runs[p], ax=ax, skip_first=True, color=color,
                                       label=f"simulation, p = {p}" if runs is long_runs else None)
    if p < 1:
        ax.plot(t, dbm.theory.annihilation_density_reaction_limited(t, nu, p), ":", color=color)
        ax.axvline(dbm.theory.annihilation_crossover_time(nu, p), color=color, lw=0.8, alpha=0.5)
ax.plot(t, dbm.theory.annihilation_density_exact(t, nu), "--", color="0.4", label="exact, p = 1")
ax.plot([], [], ":", color="0.4", label="reaction-limited law")
ax.set(xscale="log", yscale="log", xlabel="time $t$", ylabel=r"density $\rho(t)$",
       ylim=(5e-4, 0.6), title="1D A + A → ∅ (vertical lines: crossover times $t^*$)")
ax.legend()
dbm.plotting.glue_figure("intro-01", fig)  # the book's intro page shows it too
plt.show()

# %% [markdown]
# **Figure 1.2.** Density of 1D $A + A \to \emptyset$ for $p = 1, 0.1, 0.01$ (bands: mean
# $\pm 2$ standard errors; 50 lattices of $10^4$ sites up to $t = 2$, 4 lattices of $10^5$
# sites after), the exact $p = 1$ density (dashed), the reaction-limited law (dotted) and
# the crossover times $t^*$ (vertical lines).
#
# The black band (simulation, $p=1$, mean ± 2 standard errors) lies on the
# dashed exact curve over four decades of time. For $p = 0.1$ and $p = 0.01$
# the early decay follows the dotted reaction-limited law. The crossover is
# not a sharp event: $t^*$ only marks where the two asymptotes cross. The
# simulated curves leave the dotted law one to two decades *before* $t^*$ (at
# $t \approx 0.3$ for $p = 0.1$, one decade before $t^* = 3.1$; at $t \approx 5$ for
# $p = 0.01$, two decades before $t^* = 314$), as correlations build up, and reach the $p = 1$ curve about one to two decades
# *after* it: for $p = 0.1$ by $t \approx 100$; for $p = 0.01$ the density is
# still about 50% above it at $t = 400$. The whole crossover spans two to three
# decades of time.
#
# Numbers, not just pictures: at every recorded time from 50 sweeps on, the
# $p = 1$ density must be within 3% of the exact value and within 4 standard
# errors. In the first sweeps the discrete sweep lags the continuous-time
# result (particles that moved early in a sweep cannot collide with each other
# again until the next one), which we print rather than hide.

# %%
ens = short_runs[1.0]
rho_mean, rho_sem = dbm.theory.mean_and_sem(ens.counts()[..., 0] / 10_000)
exact = dbm.theory.annihilation_density_exact(ens.times, nu)
late = ens.times >= 50 * dt
rel_err = np.abs(rho_mean - exact) / exact
z = np.abs(rho_mean - exact) / rho_sem
print(f"sweeps >= 50: max relative error {rel_err[late].max():.2%}, max |z| {z[late].max():.2f}")
print(f"sweeps 1-5:   relative error {np.round(rel_err[1:6], 3)} (discrete-sweep lag)")
assert rel_err[late].max() < 0.03 and z[late].max() < 4

long = long_runs[1.0]
rho_long, sem_long = dbm.theory.mean_and_sem(long.counts()[..., 0] / 100_000)
z_long = np.abs(rho_long - dbm.theory.annihilation_density_exact(long.times, nu)) / sem_long
print(f"long run, t in [2, 400]: max |z| {z_long[1:].max():.2f} (only 4 lattices: wide error bars)")
assert z_long[1:].max() < 4

# %%
ens = short_runs[0.01]
rho_mean, rho_sem = dbm.theory.mean_and_sem(ens.counts()[..., 0] / 10_000)
law = dbm.theory.annihilation_density_reaction_limited(ens.times, nu, 0.01, rho_mean[0])
early = ens.times <= 0.5
z = np.abs(rho_mean - law)[early][1:] / rho_sem[early][1:]
print(f"p = 0.01, t <= 0.5: max |z| against the reaction-limited law {z.max():.2f}")
print(f"p = 0.01, t = 2: simulation {rho_mean[-1]:.4f} vs law {law[-1]:.4f} "
      "(the law is already too low: correlations have begun)")
assert z.max() < 4

# %% [markdown]
# ## 4. The paper's training ensemble
#
# Section IV A of the paper simulates 50 initial conditions, 50 lattices each,
# $L = 1000$, $p = 0.01$, $\Delta t = 0.01$, 200 steps, with reflecting walls
# (the settings of the authors' published scripts). Each initial condition is a
# point $(b, J, K)$ drawn uniformly from $[-1, 1]^3$, and its 50 lattices are
# samples of the Boltzmann distribution (37),
#
# $$p(\mathbf v) \propto \exp\Big(b \sum_i v_i + J \sum_i v_i v_{i+1}
#   + K \sum_i v_i v_{i+1} v_{i+2}\Big),$$
#
# drawn by Gibbs sampling ([notebook 3](03_boltzmann_machines) explains the sampler). We do exactly
# that, then simulate the 2,500 lattices; the kernels run them on all cores
# in seconds. The long runs above are dropped first: they hold half a gigabyte.

# %%
del long_runs, short_runs, long, ens  # free memory before the big ensemble
bjk = np.random.default_rng(SEED).uniform(-1, 1, size=(50, 3))  # initial conditions
starts = np.concatenate([
    dbm.ising.sample(b, J, K, n_sites=1000, n_chains=50, n_sweeps=100,
                     boundary="reflecting", seed=[SEED, i])
    for i, (b, J, K) in enumerate(bjk)
])
paper = dbm.simulate_ensemble(starts, dbm.annihilation(0.01), n_steps=200, dt=dt,
                              dim=1, boundary="reflecting", seed=SEED)
chains = paper.chain_moments(max_order=4).reshape(50, 50, -1, 4)  # (IC, lattice, time, k)
moments = chains.mean(axis=1)  # (IC, time, k)
print("trajectories:", paper.n_samples, " states:", paper.states.shape,
      f" {paper.states.nbytes / 1e6:.0f} MB")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True, layout="constrained")
density = moments[:, 0, 0] / 1000
colors = plt.cm.viridis(plt.Normalize(0, 1)(density))
for i in range(0, 50, 5):
    axes[0].plot(paper.times, moments[i, :, 0], color=colors[i])
    axes[1].plot(paper.times, moments[i, :, 1], color=colors[i])
axes[0].set(xlabel="time $t$", ylabel=r"$\langle \sum v_i \rangle$", title="particles")
axes[1].set(xlabel="time $t$", ylabel=r"$\langle \sum v_i v_{i+1} \rangle$",
            title="nearest-neighbour pairs")
fig.colorbar(plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0, 1)), ax=axes,
             label="initial density")
plt.show()

# %% [markdown]
# **Figure 1.3.** The paper's Fig. 1(e) recomputed: the particle count (left) and the
# nearest-neighbour pair moment (right) of ten of the fifty initial conditions, each curve
# an average over 50 lattices, coloured by the initial density.
#
# The pair moment falls faster than the count: reactions remove exactly the particles
# that have neighbours, and this is the moment that drives the count (first line of
# eq. 36; the exercise below checks it). That equation is not closed: the pairs' own
# equation needs the triplets, theirs the quadruplets, and so on. Cutting this hierarchy
# by expressing a high moment through lower ones is a *moment closure*
# {cite}`kuehn2016`, the problem the paper attacks.
#
# Some pair curves first **rise**, over the first few steps, before they fall. Those are
# initial conditions with mostly negative $J$ or $K$: their lattices hold fewer
# neighbouring pairs than a random arrangement of the same particles would, $\langle\sum v_i v_{i+1}\rangle <
# \langle \sum v_i\rangle^2/L$. Each particle hops once per step, so within a few steps
# diffusion scrambles these anticorrelated arrangements and the pair count climbs
# towards its uncorrelated value; reactions, with $p = 0.01$, remove pairs much more
# slowly, and only later does the decay take over. The next cell checks this reading:
# every initial condition whose pair moment rises within $t < 0.4$ starts below the
# uncorrelated value (a few that start just below it do not rise: reactions win there).
#
# A check on the ensemble: at $t = 0$ the mean moments of each initial
# condition must agree, within their standard errors, with the exact moments
# of the Boltzmann distribution (37) on an open chain of 1000 sites, computed
# by the transfer matrix ([notebook 3](03_boltzmann_machines)). All 50 initial conditions × 4 orders are
# compared.

# %%
exact0 = np.array([
    1000 * dbm.ising.exact_moments_per_site(b, J, K, n_sites=1000, boundary="reflecting")
    for b, J, K in bjk
])
sem0 = chains[:, :, 0, :].std(axis=1, ddof=1) / np.sqrt(50)
z0 = np.abs(moments[:, 0, :] - exact0) / sem0
print(f"t = 0: max |z| over 50 initial conditions x 4 orders: {z0.max():.2f}")
assert z0.max() < 4.5  # 200 comparisons: |z| > 4.5 by chance with probability ~1e-3

# %%
count0, pairs0 = moments[:, 0, 0], moments[:, 0, 1]
rises = moments[:, 1:40, 1].max(axis=1) > pairs0  # the pair moment goes up before t = 0.4
anticorrelated = pairs0 < count0**2 / 1000  # fewer pairs than a random arrangement
print(f"{rises.sum()} of 50 pair curves rise at first; {anticorrelated.sum()} initial "
      f"conditions start anticorrelated, {(rises & anticorrelated).sum()} of them rise")
assert rises.any() and np.all(anticorrelated[rises])

# %% [markdown]
# ## 5. Two dimensions: segregation in $A + B \to \emptyset$
#
# The same code runs in 2D and 3D. A classic surprise: with two species that
# annihilate each other, local excesses of $A$ or $B$ cannot disappear, so the
# lattice *segregates* into growing $A$ and $B$ domains, and reactions happen
# only at their borders. The top row shows the lattice, the bottom row the
# local excess of $A$ over $B$ (pink: more $A$, orange: more $B$, on one colour scale
# for all three times). Reactions
# conserve the excess, so what is left after long times is the initial random
# excess, averaged over the region a particle has explored, of size
# $\ell \sim \sqrt{Dt}$: about $\sqrt{\rho_0 \ell^2}$ particles in a region of
# $\ell^2$ sites. The density then decays as $t^{-d/4} = t^{-1/2}$ in 2D
# {cite}`toussaint1983`, slower than the $t^{-1}$ of a well-mixed reaction.

# %%
two = dbm.Network([("A + B -> 0", 1.0)])
start2d = dbm.random_state((128, 128), densities=[0.45, 0.45], seed=SEED)
traj2d = dbm.simulate(start2d, two, n_steps=1000, dt=dt, dim=2, record_every=250, seed=SEED)

shown = (0, 1, 4)  # t = 0, 2.5, 10
fig, axes = plt.subplots(2, 3, figsize=(11, 6.8), layout="constrained")
for col, k in enumerate(shown):
    state = traj2d.states[k]
    dbm.plotting.plot_lattice_image(state, 2, ax=axes[0, col], title=f"t = {traj2d.times[k]:g}",
                                    species=two.species if col == 2 else None)
    dbm.plotting.plot_species_excess(state, 8, ax=axes[1, col], colorbar=False,
                                     title="A − B per 8×8 block")
excess_max = max(np.abs(a.images[0].get_array()).max() for a in axes[1])
for a in axes[1]:  # one colour scale for the three times
    a.images[0].set_clim(-excess_max, excess_max)
fig.colorbar(axes[1, 2].images[0], ax=axes[1, :], shrink=0.8,
             label=r"$n_A - n_B$ per 8×8 block")
plt.show()

# %% [markdown]
# **Figure 1.4.** $A + B \to \emptyset$ on a $128 \times 128$ periodic lattice, $p = 1$,
# started with 45% $A$ (pink) and 45% $B$ (orange). Top: the lattice at $t = 0, 2.5, 10$.
# Bottom: the excess $n_A - n_B$ in $8 \times 8$ blocks, all three on the colour scale of
# the one colour bar.
#
# **Measuring the exponent.** One lattice and a few times give a number, not a measurement.
# We simulate 8 independent lattices of $384 \times 384$ sites up to $t = 40$ (4000 steps),
# keeping only the particle counts (`record=["counts"]`, no lattices stored), fit
# $\ln N(t)$ against $\ln t$ on each lattice for $2.5 \le t \le 40$, and report the mean
# slope with its standard error over the lattices. The window starts once the density has
# fallen below 2% (before that the decay is still reaction-dominated) and ends while the
# particles left are still several times the global excess $|N_A - N_B|$ of a lattice, the
# floor at which a finite lattice stops decaying.

# %%
starts2d = np.stack([dbm.random_state((384, 384), densities=[0.45, 0.45], seed=[SEED, k])
                     for k in range(8)])
decay2d = dbm.simulate_ensemble(starts2d, two, n_steps=4000, dt=dt, dim=2, record_every=50,
                                record=["counts"], seed=SEED, progress=False)
n_ab2d = decay2d.counts().sum(axis=2)  # (lattice, time): A + B
window = (decay2d.times >= 2.5) & (decay2d.times <= 40)
slopes = np.array([np.polyfit(np.log(decay2d.times[window]), np.log(n[window]), 1)[0]
                   for n in n_ab2d])
exponent, exponent_err = slopes.mean(), slopes.std(ddof=1) / np.sqrt(slopes.size)
floor = np.abs(np.diff(decay2d.counts()[:, -1], axis=1)).mean()
print("slopes of the 8 lattices:", np.round(slopes, 3))
for lo, hi in [(2.5, 10), (10, 40)]:  # the two halves of the window (in log t)
    part = (decay2d.times >= lo) & (decay2d.times <= hi)
    sub = [np.polyfit(np.log(decay2d.times[part]), np.log(n[part]), 1)[0] for n in n_ab2d]
    print(f"  t in [{lo}, {hi}]: {np.mean(sub):.3f} +- {np.std(sub, ddof=1) / np.sqrt(8):.3f}")
print(f"decay exponent, t in [2.5, 40]: {exponent:.3f} +- {exponent_err:.3f} "
      f"(segregated 2D: -1/2); particles left at t = 40: {n_ab2d[:, -1].mean():.0f}, "
      f"global excess {floor:.0f}")
assert abs(exponent + 0.5) < 4 * exponent_err  # consistent with -1/2
assert abs(exponent + 1.0) > 10 * exponent_err  # and not the well-mixed -1
dbm.plotting.glue_value("key-01-exponent", exponent)  # for the book's overview page
dbm.plotting.glue_value("key-01-exponent-err", exponent_err)

fig, ax = plt.subplots(figsize=(5.5, 3.8))
dbm.plotting.plot_mean_band(decay2d.times[1:], n_ab2d[:, 1:] / 384**2, ax=ax, color="k",
                            label="simulation (8 lattices, ±2 SE)")
guide = n_ab2d[:, window].mean(axis=0)[0] / 384**2 * (decay2d.times[1:] / 2.5) ** -0.5
ax.plot(decay2d.times[1:], guide, "--", color="0.5", label=r"$\propto t^{-1/2}$")
ax.axvspan(2.5, 40, color="0.92", zorder=-1, label="fit window")
ax.set(xscale="log", yscale="log", xlabel="time $t$", ylabel=r"density of $A + B$")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Figure 1.5.** Density of $A$ and $B$ together on 8 lattices of $384 \times 384$ sites
# (mean $\pm 2$ SE), with the $t^{-1/2}$ law through the start of the fit window.
#
# The fitted exponent is {glue:text}`key-01-exponent:.3f` $\pm$
# {glue:text}`key-01-exponent-err:.3f` (one standard error over 8 lattices): consistent
# with the $-1/2$ of segregated 2D annihilation, and far from the $-1$ of a well-mixed
# reaction. Fits over the two halves of the window (printed above) agree within their
# standard errors, so within this precision the decay has settled on its power law; to test
# it more closely, at later times, needs larger lattices, since the decay stops at the
# global excess.

# %% [markdown]
# ## 6. Explore: collision probability, hop probability, lattice size
#
# Move the sliders to rerun a small ensemble (20 lattices, 200 steps) and
# compare with the exact $p=1$ curve and the reaction-limited law. Things to
# try: lower `hop_prob` (slower diffusion: which curve moves?); raise `prob` to 1
# (does the dotted law still help?); shrink the lattice (when do finite-size
# effects show?).
#
# The view needs a live kernel (JupyterLab); the static figure below it shows
# the default values.

# %% tags=["nbval-ignore-output"]
sliders = dict(
    prob=dbm.widgets.float_slider(0.01, 0.001, 1.0, 0.001, "collision probability p"),
    hop_prob=dbm.widgets.float_slider(1.0, 0.05, 1.0, 0.05, "hop probability"),
    n_sites=dbm.widgets.int_slider(1000, 100, 5000, 100, "lattice size L"),
)


def show_decay(prob, hop_prob, n_sites):
    dbm.widgets.annihilation_decay_view(prob, hop_prob, n_sites, seed=SEED)
    plt.show()


dbm.widgets.slider_view(show_decay, **sliders)

# %%
show_decay(**dbm.widgets.defaults(sliders))

# %% [markdown]
# **Figure 1.6.** The view above at its default values: $p = 0.01$, `hop_prob` = 1,
# $L = 1000$, 20 lattices (band: mean $\pm 2$ SE), with the exact $p = 1$ density and the
# reaction-limited law.

# %% [markdown]
# ## Exercises
#
# Each exercise comes with a code cell to complete (replace every `...`); the solution
# follows it.
#
# ```{exercise-start}
# :label: sim-diffusion
# ```
# Measure the diffusion constant. Put a single particle in the middle of a
# $41 \times 41$ periodic lattice, simulate 2,000 copies for 20 steps with
# `hop_prob=0.5`, and estimate $\langle |\Delta x|^2 \rangle$ after each step.
# Fit a line and compare its slope with $2 d D = $ `hop_prob` $/\Delta t$.
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
shape, n = (41, 41), 2000
single = np.zeros(shape, dtype=np.int8)
single[20, 20] = 1
walks = ...  # n copies of `single`, no reactions (dbm.Network([], species=["A"])), 20 steps
msd = ...  # mean squared distance from (20, 20) after each step, shape (21,)
slope = ...  # slope of a straight-line fit of msd against walks.times
D = dbm.diffusion_constant(dt, 2, hop_prob=0.5)
print(f"fitted slope {slope}, 2 d D = {2 * 2 * D:.1f}")

# %% [markdown] tags=["solution"]
# ```{solution-start} sim-diffusion
# :class: dropdown
# ```

# %% tags=["solution"]
shape, n = (41, 41), 2000
single = np.zeros(shape, dtype=np.int8)
single[20, 20] = 1
walks = dbm.simulate_ensemble(np.broadcast_to(single, (n, *shape)), dbm.Network([], species=["A"]),
                              n_steps=20, dt=dt, dim=2, hop_prob=0.5, seed=SEED, progress=False)
flat = walks.states.reshape(n, walks.times.size, -1).argmax(axis=2)
rows, cols = np.unravel_index(flat, shape)
msd = ((rows - 20) ** 2 + (cols - 20) ** 2).mean(axis=0)
slope = np.polyfit(walks.times, msd, 1)[0]
D = dbm.diffusion_constant(dt, 2, hop_prob=0.5)
print(f"fitted slope {slope:.1f}, 2 d D = {2 * 2 * D:.1f}")
assert abs(slope / (4 * D) - 1) < 0.05

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: sim-hierarchy
# ```
# Check the first line of the moment hierarchy (eq. 36),
# $\frac{d}{dt}\langle \sum_i v_i \rangle = -2 k_r \langle \sum_i v_i v_{i+1} \rangle$,
# on the paper's ensemble above. Each neighbouring pair reacts when either
# particle hops towards the other (rate $\nu$ each) and the collision succeeds
# (probability $p$), removing two particles: what is $k_r$ in terms of $p$ and
# $\Delta t$? Integrate both sides from 0 to $t$ and compare the particles lost
# with the integrated right-hand side.
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
k_r = ...  # the rate at which one neighbouring pair reacts, from nu (or dt) and p = 0.01
count = moments[:, :, 0].mean(axis=0)  # over the 50 initial conditions, per time
pairs = moments[:, :, 1].mean(axis=0)
lost = ...  # particles lost by each time: count[0] - count
predicted = ...  # 2 k_r times the integral of `pairs` from 0 to each time (trapezoids, step dt)

# %% [markdown] tags=["solution"]
# ```{solution-start} sim-hierarchy
# :class: dropdown
# ```

# %% tags=["solution"]
k_r = 2 * nu * 0.01  # = p / dt in 1D: each pair reacts at rate 2 nu p
count = moments[:, :, 0].mean(axis=0)
pairs = moments[:, :, 1].mean(axis=0)
# integrate both sides from 0 to t: a finite-difference derivative would be noisy
lost = count[0] - count
predicted = 2 * k_r * np.concatenate([[0], np.cumsum((pairs[1:] + pairs[:-1]) / 2) * dt])
print(f"k_r = {k_r:g}; particles lost by t = 2: simulated {lost[-1]:.1f}, "
      f"predicted {predicted[-1]:.1f} ({lost[-1] / predicted[-1] - 1:+.1%})")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(paper.times, lost, label=r"$\langle N(0)\rangle - \langle N(t)\rangle$")
ax.plot(paper.times, predicted, "--", label=r"$2k_r\int_0^t\langle\sum v_i v_{i+1}\rangle\,dt'$")
ax.set(xlabel="time $t$", ylabel="particles lost")
ax.legend()
plt.show()
assert abs(lost[-1] / predicted[-1] - 1) < 0.02

# %% [markdown] tags=["solution"]
# **Figure 1.7.** Particles lost by time $t$ (mean over the 50 initial conditions) and the
# integrated right-hand side of the first line of eq. (36).
#
# The two agree to within about a percent: the count is driven by the pair
# moment, which is not closed: its own equation needs the triplets, and so
# on. That is the closure problem the paper's section IV A attacks.

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ### Project
#
# **When does the reaction-limited law fail?** Section 3.2 says that the simulated density
# leaves the reaction-limited law one to two decades before $t^* = \pi/(2\nu p^2)$. Make
# this quantitative. For several collision probabilities (say $p$ = 0.3, 0.1, 0.03, 0.01,
# 0.003) define a departure time $t_{10}$ at which the simulated density first exceeds
# the law by 10%, measure it with error bars (how many lattices, how long a run, how large
# a lattice do you need?), and find how $t_{10}$ scales with $p$. Does it follow $t^*
# \propto p^{-2}$, or another power? Can you explain the power with the picture of
# section 2 (a pair that has not reacted leaves a gap that diffusion must close)? Then
# repeat the question for `hop_prob` < 1: does only the product $\nu p$ matter?
#
# ## Summary
#
# * The paper's simulator alternates exact Gillespie unimolecular events with
#   one random-order hop attempt per particle per step; collisions react with
#   probability $p$. The hop rate is $\nu = $ `hop_prob`$/(2d\,\Delta t)$ and
#   $D = a^2 \nu$.
# * For $A + A \to \emptyset$ with $p = 1$ the simulation reproduces the exact
#   Bessel-function density to within 3% from 50 sweeps on; for small $p$ the
#   decay starts reaction-limited ($\propto 1/t$) and crosses over to the
#   diffusion-limited $t^{-1/2}$ near $t^* = \pi/(2\nu p^2)$.
# * In 2D, $A + B \to \emptyset$ segregates into $A$ and $B$ domains, and the density
#   decays with exponent {glue:text}`key-01-exponent:.2f` $\pm$
#   {glue:text}`key-01-exponent-err:.2f` (8 lattices of $384^2$ sites), consistent with
#   the $-1/2$ of segregated annihilation {cite}`toussaint1983`.
# * The paper's 2,500-trajectory training set takes seconds; its moments show the
#   hierarchy that needs closing {cite}`kuehn2016`: the subject of notebooks
#   [4](04_adjoint_method) (how the paper learns a closure) and
#   [5](05_moment_closure_annihilation) (the closure of this very ensemble).
#
# The works cited here are listed in the book's bibliography.

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
# # 7. Bring your own system: a predator-prey lattice
#
# $\newcommand{\vtheta}{\boldsymbol{\theta}}\newcommand{\vF}{\mathbf{F}}$
#
# ## Overview
#
# The method of this book is not tied to the paper's two experiments. This notebook applies
# it, from the first reaction to the last comparison, to a system the paper never touched:
# the two-dimensional lattice Lotka-Volterra model that the same authors studied next
# {cite}`ernst2019deep`. Prey $X$ appear on empty sites, predators $Y$ die, and a predator
# that meets a prey turns it into a predator. The recipe is the same for any system, and
# section 5 lists the handful of calls you change for your own.
#
# Symbols are defined once for the whole book on the [notation page](../notation.md).
#
# **Learning objectives.** After this notebook you can
#
# 1. write a reaction network with creation, decay and predation as text, simulate it on a
#    2D lattice and see the spatial patterns that its mean numbers hide;
# 2. derive the mean-field equations of a network and state what the pair approximation
#    adds, and compute both for any network;
# 3. explain why the visible nearest-neighbour lattice gas is the maximum-entropy family
#    of the counts and pairs a simulation records, and when hidden units cannot help;
# 4. learn a closure from simulations of some starting compositions and test it on
#    others, with a bootstrap interval for every claim that it beats a classical closure;
# 5. repeat the whole recipe for a network of your own.
#
# **Prerequisites.** Notebooks 01 (the simulator), 03 (maximum entropy, Boltzmann machines)
# and 05 (moment closures, the data-driven closure).
#
# **Time.** About 90 minutes; the notebook runs in one to three minutes.

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
from scipy.integrate import solve_ivp

import dbmtools as dbm

SEED = 2019
SPECIES = ["X", "Y"]

# %% [markdown]
# ## 1. The system
#
# The authors' setup {cite}`ernst2019deep` (their repository `smrfeld/ReducedLotkaVolterra`,
# file `stoch_sims/src/main.cpp`, run with the simulator `physics-based-ml/LatticeGillespieCpp`
# at tag 2.0) is a periodic $40 \times 40$ lattice, one molecule per site at most, with
#
# | reaction | rate or probability | meaning |
# |---|---|---|
# | $\emptyset \to X$ | $c = 0.025$ per empty site | prey appear on empty sites |
# | $Y \to \emptyset$ | $k = 0.06$ | predators die |
# | $X + Y \to Y + Y$ | $p = 0.4$ per encounter | a predator eats a prey and breeds into its site |
#
# with a timestep $\Delta t = 1$ (every molecule attempts one hop to a random neighbour per
# step), 500 steps, and 100 prey and 100 predators placed at random. The network is written as
# text, exactly as in the table:

# %%
network = dbm.Network(
    [("0 -> X", 0.025), ("Y -> 0", 0.06), ("X + Y -> Y + Y", 0.4)], species=SPECIES
)
SHAPE, DT, N_STEPS = (40, 40), 1.0, 500
print(network)

# %% [markdown]
# **One rule to check.** "$c$ per empty site" is how this book's simulator reads a creation
# (`selection="uniform"`, the default): each empty site fills at rate $c$. The authors'
# simulator at tag 2.0 gives the whole creation reaction the propensity $c \max(n_X, 1)$
# instead, in file `src/lattice_gillespie.cpp`: a birth whose child lands on the first empty
# site of a shuffled scan (`selection="authors"` reproduces it). The two rules make different
# systems, so we simulate both from the authors' start and look.

# %%
starts = np.stack([dbm.random_state(SHAPE, counts=[100, 100], seed=[SEED, 0, k])
                   for k in range(32)])  # fmt: skip
runs = {
    rule: dbm.simulate_ensemble(starts, network, n_steps=N_STEPS, dt=DT, dim=2,
                                boundary="periodic", selection=rule, record_every=5,
                                seed=[SEED, 1], progress=False)  # fmt: skip
    for rule in ("uniform", "authors")
}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained", sharey=True)
for ax, (rule, ens) in zip(axes, runs.items(), strict=True):
    for s, color in zip(range(2), ["C2", "C3"], strict=True):
        dbm.plotting.plot_mean_band(ens.times, ens.counts()[:, :, s], ax=ax, color=color,
                                    label=SPECIES[s])  # fmt: skip
        ax.plot(ens.times, ens.counts()[0, :, s], color=color, lw=0.6, alpha=0.6)
    ax.set(title=f'selection="{rule}"', xlabel="t")
axes[0].set_ylabel("molecules")
axes[0].legend()
plt.show()

# %% [markdown]
# **Figure 7.1.** Mean numbers of prey (green) and predators (red) over 32 simulations from
# 100 of each ($\pm 2$ SE bands) and one simulation (thin lines). Left: creation at $c$ per
# empty site. Right: the authors' rule, $c \max(n_X, 1)$. Under the authors' rule prey breed
# in proportion to their number and the populations swing in large, noisy waves; per empty
# site, they settle within a few tens of steps. The rest of this notebook uses the rule per
# empty site, which is the one mean field and the pair approximation describe (section 2);
# the Project returns to the other.
#
# **What the means hide.** The lattice is not well mixed. Predators that eat breed into the
# eaten prey's site, so they grow in fronts into prey patches and leave empty space behind,
# which prey refill. The picture below is one simulation at three times.

# %%
one = dbm.simulate(starts[0], network, n_steps=N_STEPS, dt=DT, dim=2, boundary="periodic",
                   seed=[SEED, 2])  # fmt: skip
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), layout="constrained")
for ax, step in zip(axes, [0, 50, 500], strict=True):
    dbm.plotting.plot_lattice_image(one.states[step], 2, ax=ax, species=SPECIES,
                                    title=f"t = {step * DT:g}")  # fmt: skip
plt.show()

# %% [markdown]
# **Figure 7.2.** One simulation at $t = 0$ (random placement), 50 and 500: prey (green),
# predators (red), empty sites (grey). Predators gather in clumps and prey in the gaps.
#
# **Counting it.** The pair correlation $g_{ab} = \Delta_{ab} / \Delta^\text{mix}_{ab}$
# compares the number of nearest-neighbour $a$–$b$ bonds with random mixing at the same
# counts ($\Delta^\text{mix}_{aa} = N_b \rho_a^2$, $\Delta^\text{mix}_{ab} = 2 N_b \rho_a
# \rho_b$ for $a \ne b$, with $N_b = 2L$ bonds on a periodic square lattice of $L$ sites and
# $\rho_a = n_a / L$). Above 1: clustering; below 1: avoidance.

# %%
ens = runs["uniform"]
n_sites, n_bonds = 1600, 3200
mu = ens.counts().mean(0)
pairs = ens.pair_counts().mean(0)
rho = mu / n_sites
g = {
    "(X,X)": pairs[:, 0, 0] / (n_bonds * rho[:, 0] ** 2),
    "(X,Y)": pairs[:, 0, 1] / (2 * n_bonds * rho[:, 0] * rho[:, 1]),
    "(Y,Y)": pairs[:, 1, 1] / (n_bonds * rho[:, 1] ** 2),
}
fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
for name, curve in g.items():
    ax.plot(ens.times, curve, label=name)
ax.axhline(1.0, color="0.5", lw=0.8)
ax.set(xlabel="t", ylabel="$g_{ab}$", yscale="log")
ax.legend()
plt.show()
g_late = {k: float(v[-20:].mean()) for k, v in g.items()}
print({k: round(v, 2) for k, v in g_late.items()})
assert g_late["(X,Y)"] < 1 < g_late["(Y,Y)"]
_ = dbm.plotting.glue_value("key-07-gxy", g_late["(X,Y)"])

# %% [markdown]
# **Figure 7.3.** Pair correlations of the 32 simulations. They start at 1 (random
# placement) and settle within about 50 steps: over the last 100 steps prey and predators
# meet {glue:text}`key-07-gxy:.2f` times as often as random mixing would have them
# (printout), and like species cluster. A closure that assumes random mixing predicts far
# too many encounters.
#
# ## 2. What classical closures predict
#
# **Mean field.** Let $x = \mu_X / L$, $y = \mu_Y / L$ be the densities. Creation adds prey
# at rate $c$ per empty site, $c(1 - x - y)$ per site; predators die at $k y$. An encounter
# is a hop across a bond that joins an $X$ and a $Y$: each molecule attempts a hop to a given
# neighbour at rate $\nu = 1/(z \Delta t)$ ($z = 4$), so such a bond sees an attempt at rate
# $2\nu$ and reacts at $\kappa = 2 \nu p$. With random mixing there are $\Delta_{XY} = 2 N_b
# x y = z L x y$ such bonds, so predation converts $\kappa z x y = 2 p x y / \Delta t$ prey
# per site per unit time:
#
# \begin{align*}
# \dot x &= c\,(1 - x - y) - \frac{2p}{\Delta t}\, x y, \\
# \dot y &= \frac{2p}{\Delta t}\, x y - k\, y .
# \end{align*}
#
# **The pair approximation** {cite}`matsuda1992,satulovsky1994` keeps the pair table
# $P(a, b)$ of a bond (empty sites included) as its state: the events on the bond itself are
# exact, and those on the $z - 1$ other bonds at each end need a triplet, which it closes by
# the Kirkwood superposition $P(b, x, c) \approx P(b, x) P(x, c) / P(x)$. It sees that a
# predator's neighbours are more often predators, so it predicts fewer encounters than mean
# field. `dbm.theory.classical_moments` integrates both for any network in 1–3D; first we
# check that its mean field is the pair of equations above.

# %%
times = ens.times
c_rate, k_rate, p_eat = 0.025, 0.06, 0.4


def mean_field_rhs(t, u):
    x, y = u
    return [c_rate * (1 - x - y) - 2 * p_eat * x * y / DT, 2 * p_eat * x * y / DT - k_rate * y]


by_hand = solve_ivp(mean_field_rhs, (0, times[-1]), [100 / n_sites, 100 / n_sites],
                    t_eval=times, rtol=1e-10, atol=1e-12).y.T * n_sites  # fmt: skip
classical = {
    method: dbm.theory.classical_moments(network, [100, 100], times, dt=DT, shape=SHAPE,
                                         boundary="periodic", method=method)  # fmt: skip
    for method in ("mean field", "pair")
}
np.testing.assert_allclose(classical["mean field"].counts, by_hand, rtol=1e-6, atol=1e-4)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
for s, ax in enumerate(axes):
    dbm.plotting.plot_mean_band(times, ens.counts()[:, :, s], ax=ax, color="0.4",
                                label="simulations")  # fmt: skip
    ax.plot(times, classical["mean field"].counts[:, s], "--", color="0.2", label="mean field")
    ax.plot(times, classical["pair"].counts[:, s], ":", color="C0", lw=2, label="pair")
    ax.set(title=SPECIES[s], xlabel="t", ylabel="molecules")
axes[0].legend()
plt.show()
late = {name: cm.counts[-1] for name, cm in classical.items()} | {"simulations": mu[-1]}
print({name: v.round(1) for name, v in late.items()})

# %% [markdown]
# **Figure 7.4.** Mean numbers of prey (left) and predators (right): simulations ($\pm 2$ SE),
# mean field (dashed) and the pair approximation (dotted). Both closures settle too fast and
# at too few prey (printout: the counts at $t = 500$); the pair approximation is closer, as
# the segregation of Figure 7.3 suggests, but it keeps the correlations of neighbouring
# sites only, and the clumps of Figure 7.2 span many sites.
#
# **Change the predation probability.** The slider sets $p$ for a small re-simulation (16
# trajectories, 200 steps) and both closures. Try a small $p$, where few encounters react,
# and a large one: how does the gap between the closures and the simulations change, and
# why?

# %% tags=["nbval-ignore-output"]
def show_predation(p=0.4):
    net = dbm.Network([("0 -> X", c_rate), ("Y -> 0", k_rate), ("X + Y -> Y + Y", p)],
                      species=SPECIES)  # fmt: skip
    small = dbm.simulate_ensemble(starts[:16], net, n_steps=200, dt=DT, dim=2,
                                  boundary="periodic", record=["counts"], record_every=5,
                                  seed=[SEED, 3], progress=False)  # fmt: skip
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    for s, color in enumerate(["C2", "C3"]):
        dbm.plotting.plot_mean_band(small.times, small.counts()[:, :, s], ax=ax, color=color,
                                    label=SPECIES[s])  # fmt: skip
    for method, ls in (("mean field", "--"), ("pair", ":")):
        cm = dbm.theory.classical_moments(net, [100, 100], small.times, dt=DT, shape=SHAPE,
                                          boundary="periodic", method=method)  # fmt: skip
        ax.plot(small.times, cm.counts, ls, color="0.2")
    ax.set(title=f"p = {p:.2f}: simulations (bands), mean field (--), pair (:)", xlabel="t",
           ylabel="molecules")  # fmt: skip
    ax.legend()
    plt.show()


predation_sliders = {"p": dbm.widgets.float_slider(0.4, 0.0, 1.0, 0.05, "p (X + Y → 2Y)")}
dbm.widgets.slider_view(show_predation, **predation_sliders)

# %%
show_predation(**dbm.widgets.defaults(predation_sliders))

# %% [markdown]
# **Figure 7.5.** The view above at its default, $p = 0.4$: prey (green) and predators (red)
# of 16 simulations ($\pm 2$ SE), with mean field (dashed) and the pair approximation
# (dotted).
#
# ## 3. Choosing a family
#
# A simulation that records counts and pairs gives, at each time, the means of
# $n_X, n_Y$ and of the three pair counts $n_{XX}, n_{XY}, n_{YY}$. Among all distributions
# of lattices with these means, the one of largest entropy is
#
# $$\tilde p(\mathbf v) \propto \exp\Big(\sum_s b_s n_s(\mathbf v) + \sum_{a \le b} J_{ab}
# n_{ab}(\mathbf v)\Big),$$
#
# a lattice gas with a bias per species and a coupling per species pair (the argument of
# notebook 03: a Lagrange multiplier per constraint). It assumes nothing the data do not
# say, and its five parameters are the state the closure moves: $\vtheta = (b_X, b_Y,
# J_{XX}, J_{XY}, J_{YY})$, following $d\vtheta/dt = \vF(\vtheta)$. It is
# `dbm.LatticeGas(["X", "Y"], (40, 40))`: exact in 1D, sampled by Gibbs sweeps in 2D.
#
# **Why not hidden units?** Notebook 03 showed that a layer of hidden units with tied
# positive weights makes only *positive* effective couplings between the visible sites it
# touches. Predators and prey avoid each other ($g_{XY} < 1$, Figure 7.3), which needs
# $J_{XY} < 0$; the visible family has it directly. The authors chose a deep Boltzmann
# machine (two hidden layers with a centring transformation) {cite}`ernst2019deep`, which
# can represent more than pairs at the price of sampled, slower fits; the Project compares.
#
# ## 4. The closure, on starting compositions it never saw
#
# **The data.** Sixteen training compositions $(n_X, n_Y)$ and eight test compositions are
# drawn from $[50, 250]^2$ with different seeds; each is an ensemble of 32 random
# placements, simulated for 500 steps with counts and pairs recorded every 5 steps. The test
# compositions are used for nothing but the final comparison.

# %%
rng = np.random.default_rng([SEED, 4])
train_comps, test_comps = rng.integers(50, 251, (16, 2)), rng.integers(50, 251, (8, 2))
common = dict(n_samples=32, n_steps=N_STEPS, dt=DT, boundary="periodic", record_every=5,
              progress=False)  # fmt: skip
gas = dbm.LatticeGas(SPECIES, SHAPE, boundary="periodic")
train = dbm.closure_data(gas, dbm.simulate_conditions(network, SHAPE, train_comps,
                                                      seed=[SEED, 5], **common))  # fmt: skip
test = dbm.closure_data(gas, dbm.simulate_conditions(network, SHAPE, test_comps,
                                                     seed=[SEED, 6], **common))  # fmt: skip
print(train.moments.shape, test.moments.shape)

# %% [markdown]
# **Learning.** `dbm.learn_closure` does what notebook 05 did by hand: at every recorded time
# of every training condition it fits the family's parameters whose moments are the data's
# (the MaxEnt path; here by sampled Newton steps), then fits $\vF$ to the steps of those
# paths by penalised least squares on Hermite elements (notebook 02). Five parameters are
# too many for one grid ($4^5$ coefficients per vertex), so each $F_k$ is a sum of functions
# of two parameters each (`groups="pairs"`), or of one (`[[0], [1], ...]`). The roughness
# weight, and here also the grouping, are chosen on a validation split of the *training*
# conditions.

# %%
candidates = {"pairs": "pairs", "singletons": [[k] for k in range(gas.n_params)]}
closures, fit = {}, None
for name, groups in candidates.items():
    closures[name] = dbm.learn_closure(gas, train, groups=groups, maxent=fit,
                                       roughness=(1e-3, 1e-2, 1e-1, 1.0), seed=0,
                                       progress=False)  # fmt: skip
    fit = closures[name].maxent  # the MaxEnt paths are fitted once and shared
best_val = {name: min(c.validation.values()) for name, c in closures.items()}
chosen = min(best_val, key=best_val.get)
closure = closures[chosen]
print(fit.summary())
print("validation error:", {k: round(v, 4) for k, v in best_val.items()}, "->", chosen,
      f"roughness {closure.roughness:g}")  # fmt: skip
j_xy = fit.params[..., gas.names.index("J_XY")]
print(f"J_XY over the training paths: {j_xy.min():.2f} to {j_xy.max():.2f}")

# %% [markdown]
# The MaxEnt paths confirm section 3: $J_{XY}$ turns negative as the lattices segregate
# (printout), which no tied positive-weight hidden layer could represent.
#
# **Testing.** `dbm.compare_closures` starts the learned closure from the MaxEnt fit of
# each test condition's first lattices, integrates it over the whole run, reads its
# counts and pairs by sampling the family, runs mean field and the pair approximation
# from the same starts, and scores all three by the relative RMS error over time of every
# column. The noise floor is the data's own standard error on the same scale; the last two
# rows are 95% bootstrap intervals over the eight test conditions of the learned closure's
# error minus each classical closure's (paired: the same conditions in both).

# %%
result = dbm.compare_closures(closure, test, seed=0)
print(result.table())
errors = result.mean_errors()
floor = result.noise_floor.mean(axis=0)
beats_all = bool(result.beats("mean field").all() and result.beats("pair").all())
print("learned below both classical closures on every column:", beats_all)
assert beats_all
assert np.all(errors["learned"][:2] < 2 * floor[:2])  # means within twice the sampling error
means_err = {name: float(e[:2].max()) for name, e in errors.items()}  # largest of X, Y
pairs_err = {name: float(e[2:].max()) for name, e in errors.items()}  # largest of the pairs
_ = dbm.plotting.glue_value("key-07-means-err-learned", means_err["learned"])
_ = dbm.plotting.glue_value("key-07-means-err-meanfield", means_err["mean field"])
_ = dbm.plotting.glue_value("key-07-means-err-pair", means_err["pair"])
_ = dbm.plotting.glue_value("key-07-pairs-err-learned", pairs_err["learned"])
_ = dbm.plotting.glue_value("key-07-pairs-err-meanfield", pairs_err["mean field"])
_ = dbm.plotting.glue_value("key-07-pairs-err-pair", pairs_err["pair"])
_ = dbm.plotting.glue_value("key-07-means-floor", float(floor[:2].max()))
worst = result.difference["pair"][2].max()
_ = dbm.plotting.glue_value("key-07-worst-upper", float(worst))

# %%
fig = dbm.plotting.plot_heldout_condition(result, test, condition=0)
plt.show()
fig = dbm.plotting.plot_closure_errors(result)
plt.show()

# %% [markdown]
# **Figure 7.6.** Top: the first test condition, every column over the whole run:
# simulations ($\pm 2$ SE, grey band), the learned closure (red), mean field (dashed) and the
# pair approximation (dotted). Bottom: relative RMS error per column, mean over the eight
# test conditions (dots) and their range (bars), with the noise floor (grey). On conditions
# it was not fitted to, the learned closure's largest error of the two means is
# {glue:text}`key-07-means-err-learned:.3f` against a sampling error of
# {glue:text}`key-07-means-floor:.3f`, and of the pairs {glue:text}`key-07-pairs-err-learned:.2f`;
# mean field reaches {glue:text}`key-07-means-err-meanfield:.2f` and
# {glue:text}`key-07-pairs-err-meanfield:.2f`, the pair approximation
# {glue:text}`key-07-means-err-pair:.2f` and {glue:text}`key-07-pairs-err-pair:.2f`. Every
# bootstrap interval of the difference lies below zero (the closest upper end,
# against the pair approximation: {glue:text}`key-07-worst-upper:.3f`).
#
# **The cell size.** The finite-element cells set how finely $\vF$ can bend. The slider refits
# the chosen closure with another cell size (the MaxEnt paths are kept) and shows its
# prediction of the prey of the first test condition.

# %% tags=["nbval-ignore-output"]
first = test.subset([0])


def show_cell_size(cell_size=0.5):
    c = dbm.learn_closure(gas, train, groups=candidates[chosen], cell_size=cell_size,
                          roughness=(closure.roughness,), maxent=fit, seed=0,
                          progress=False)  # fmt: skip
    theta = c.predict(first, seed=0, outside="nan")
    counts, _ = gas.observables(theta, n_chains=16, n_sweeps=10, seed=0)
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    band = 2 * first.counts_sem[0, :, 0]
    ax.fill_between(first.times, first.counts[0, :, 0] - band, first.counts[0, :, 0] + band,
                    color="0.6", alpha=0.5, lw=0, label="simulations ±2 SE")  # fmt: skip
    ax.plot(first.times, counts[0, :, 0], color="C3", label="learned")
    ax.set(title=f"cell size {cell_size:g}: {c.flow.n_dofs} coefficients", xlabel="t",
           ylabel="prey")  # fmt: skip
    ax.legend()
    plt.show()


cell_sliders = {"cell_size": dbm.widgets.float_slider(0.5, 0.25, 2.0, 0.25, "cell size")}
dbm.widgets.slider_view(show_cell_size, **cell_sliders)

# %%
show_cell_size(**dbm.widgets.defaults(cell_sliders))

# %% [markdown]
# **Figure 7.7.** The view above at its default, cells of 0.5 in every parameter: the
# learned closure's prey on the first test condition against the simulations. Move the
# slider: coarse cells give $\vF$ fewer coefficients to bend with, fine cells more, many of
# them in cells no training path visits, where only the roughness penalty holds $\vF$.
# Which of the two limits shows first on this condition?
#
# ## 5. Your own system
#
# Everything above was five calls. For a system of your own, change what is marked:
#
# ```python
# network = dbm.Network([...], species=[...])              # your reactions, as text
# shape = (30, 30)                                         # your lattice (1D, 2D or 3D)
# family = dbm.LatticeGas(species, shape)                  # or a family with hidden units
# comps_train, comps_test = ..., ...                       # starting compositions
# run = dict(n_samples=32, n_steps=..., dt=...)            # the ensemble and the horizon
# train = dbm.closure_data(family, dbm.simulate_conditions(network, shape, comps_train, **run))
# test = dbm.closure_data(family, dbm.simulate_conditions(network, shape, comps_test, **run))
# closure = dbm.learn_closure(family, train, groups="pairs")
# print(dbm.compare_closures(closure, test).table())
# ```
#
# What to watch: the MaxEnt summary (`closure.maxent.summary()`: fits that did not converge
# are left out of the flow fit, and many of them mean the family, or its sampler, is
# struggling); the validation table (`closure.validation`); and the noise floor of the
# comparison, below which no closure can be judged.
#
# ## 6. Exercises
#
# Each exercise comes with a code cell to complete (replace every `...`); the solution
# follows it.
#
# ```{exercise-start}
# :label: byos-ex1
# ```
#
# **Mean field of a new network.** Add the reaction $X \to \emptyset$ (prey also die, at
# rate $m = 0.01$). Derive the new mean-field equations for $x$ and $y$ by the argument of
# section 2, write them as a function, and check them against
# `dbm.theory.classical_moments` over 200 time units from 100 prey and 100 predators.
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
m_rate = 0.01
net_ex1 = ...  # the four reactions


def rhs_ex1(t, u):
    x, y = u
    return [..., ...]  # your mean-field equations


if net_ex1 is not ...:  # checks your answer once the blanks are filled
    t_check = np.linspace(0, 200, 41)
    yours = solve_ivp(rhs_ex1, (0, 200), [100 / n_sites] * 2, t_eval=t_check, rtol=1e-10,
                      atol=1e-12).y.T * n_sites  # fmt: skip
    theirs = dbm.theory.classical_moments(net_ex1, [100, 100], t_check, dt=DT, shape=SHAPE,
                                          boundary="periodic", method="mean field").counts
    print("agrees with the package:", np.allclose(yours, theirs, rtol=1e-6, atol=1e-3),
          "(if not: which reaction's term is off?)")  # fmt: skip

# %% [markdown] tags=["solution"]
# ```{solution-start} byos-ex1
# :class: dropdown
# ```
#
# Prey now also leave at $m x$ per site: $\dot x = c(1 - x - y) - 2pxy/\Delta t - m x$,
# $\dot y = 2pxy/\Delta t - k y$. Nothing else changes, since a decay needs no neighbour.

# %% tags=["solution"]
m_rate = 0.01
net_ex1 = dbm.Network([("0 -> X", c_rate), ("Y -> 0", k_rate), ("X + Y -> Y + Y", p_eat),
                       ("X -> 0", m_rate)], species=SPECIES)  # fmt: skip


def rhs_ex1(t, u):
    x, y = u
    eat = 2 * p_eat * x * y / DT
    return [c_rate * (1 - x - y) - eat - m_rate * x, eat - k_rate * y]


t_ex1 = np.linspace(0, 200, 41)
mine = solve_ivp(rhs_ex1, (0, 200), [100 / n_sites] * 2, t_eval=t_ex1, rtol=1e-10,
                 atol=1e-12).y.T * n_sites  # fmt: skip
package = dbm.theory.classical_moments(net_ex1, [100, 100], t_ex1, dt=DT, shape=SHAPE,
                                       boundary="periodic", method="mean field").counts  # fmt: skip
print("largest difference:", np.abs(mine - package).max())
assert np.allclose(mine, package, rtol=1e-6, atol=1e-4)

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: byos-ex2
# ```
#
# **The sign of the coupling.** For a random lattice the MaxEnt couplings are zero. Show
# from the family's definition that, at fixed counts, $J_{XY} < 0$ makes $X$–$Y$ bonds rarer
# than random mixing. Then check it: fit the family to the test data's moments at $t = 0$
# and at the last time, and compare the sign of $J_{XY}$ with $g_{XY}$ at those times.
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
theta_start = ...  # MaxEnt parameters of the test conditions at t = 0 (dbm.maxent.fit_maxent)
theta_end = ...  # and at the last recorded time
if theta_end is not ...:  # checks your answer once the blanks are filled
    j = gas.names.index("J_XY")
    print("J_XY < 0 at the end in every test condition:", bool(np.all(theta_end[:, j] < 0)))

# %% [markdown] tags=["solution"]
# ```{solution-start} byos-ex2
# :class: dropdown
# ```
#
# $\partial \langle n_{XY} \rangle / \partial J_{XY} = \mathrm{Var}(n_{XY}) > 0$: the mean
# number of $X$–$Y$ bonds rises with $J_{XY}$, and at $J = 0$ (with the biases set by the
# counts) it is that of random mixing. So a negative $J_{XY}$ gives fewer $X$–$Y$ bonds than
# random mixing, $g_{XY} < 1$. At $t = 0$ the fitted $J_{XY}$ is zero within its sampling
# error; at the end it is negative in every test condition.

# %% tags=["solution"]
idx = gas.names.index("J_XY")
theta_start = dbm.maxent.fit_maxent(gas, test.moments[:, 0], sem=test.sem[:, 0], seed=0).params
theta_end = dbm.maxent.fit_maxent(gas, test.moments[:, -1], sem=test.sem[:, -1], seed=0).params
print("J_XY at t = 0:", theta_start[:, idx].round(3))
print("J_XY at the end:", theta_end[:, idx].round(3))
assert np.all(theta_end[:, idx] < 0) and np.abs(theta_start[:, idx]).max() < 0.2

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise-start}
# :label: byos-ex3
# ```
#
# **Your own system.** Repeat the recipe of section 5 for a lattice epidemic on a periodic
# $30 \times 30$ lattice: susceptibles $S$ and infecteds $I$, $S + I \to I + I$ with
# probability 0.3 per encounter, $I \to S$ at rate 0.2, $\Delta t = 0.5$, 60 steps recorded
# every 3. Train on 8 compositions drawn from $[50, 200]^2$ and test on 4 others (16
# simulations each). Does the learned closure beat both classical closures on every column?
#
# ```{exercise-end}
# ```

# %% tags=["scaffold"]
sis = ...  # the network
result_sis = ...  # dbm.compare_closures(...) on the 4 test compositions
if result_sis is not ...:  # checks your answer once the blanks are filled
    print(result_sis.table())
    print("columns scored:", result_sis.columns == ["S", "I", "(S,S)", "(S,I)", "(I,I)"])

# %% [markdown] tags=["solution"]
# ```{solution-start} byos-ex3
# :class: dropdown
# ```
#
# The same five calls with another network, lattice and timestep. Read the table's last two
# rows: where an interval lies below zero the learned closure is better on that column; the
# noise floor of 16 simulations is large, so some intervals may straddle zero.

# %% tags=["solution"]
sis = dbm.Network([("S + I -> I + I", 0.3), ("I -> S", 0.2)], species=["S", "I"])
sis_gas = dbm.LatticeGas(["S", "I"], (30, 30))
sis_kw = dict(n_samples=16, n_steps=60, dt=0.5, record_every=3, progress=False)
r = np.random.default_rng([SEED, 7])
sis_train = dbm.closure_data(sis_gas, dbm.simulate_conditions(
    sis, (30, 30), r.integers(50, 200, (8, 2)), seed=[SEED, 8], **sis_kw))  # fmt: skip
sis_test = dbm.closure_data(sis_gas, dbm.simulate_conditions(
    sis, (30, 30), r.integers(50, 200, (4, 2)), seed=[SEED, 9], **sis_kw))  # fmt: skip
sis_closure = dbm.learn_closure(sis_gas, sis_train, groups="pairs", seed=0, progress=False)
result_sis = dbm.compare_closures(sis_closure, sis_test, seed=0)
print(result_sis.table())
assert all(np.isfinite(e).all() for e in result_sis.mean_errors().values())

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ### Project
#
# **The authors' rule and the authors' family.** (a) Repeat section 4 with
# `selection="authors"` (Figure 7.1, right). No classical closure here describes that
# creation rule, so compare the learned closure with the noise floor alone: how far does it
# follow the waves, and where does it lose them? (b) The authors used a deep Boltzmann
# machine for this system {cite}`ernst2019deep`. Build a family with hidden units
# (`dbm.families.LayeredFamily` with a layered machine from `dbm.rbm`, as
# `dbm.families.rossler_family` does for notebook 06) and compare it with the visible
# family on the same test conditions. Which columns does it improve, and what does it cost
# in fitting time?
#
# ## Summary
#
# * The recipe is five calls: a network as text, ensembles of several starting
#   compositions, a family, `learn_closure` on the training compositions and
#   `compare_closures` on the others.
# * On the predator-prey lattice, prey and predators segregate (they meet
#   {glue:text}`key-07-gxy:.2f` times as often as random mixing has them), and mean field
#   and the pair approximation, which assume mixing at one and two sites, miss the means by
#   up to {glue:text}`key-07-means-err-meanfield:.2f` and
#   {glue:text}`key-07-means-err-pair:.2f` (relative RMS over the run).
# * The learned closure, in the maximum-entropy family of the recorded counts and pairs, is
#   within {glue:text}`key-07-means-err-learned:.3f` on the means of compositions it never
#   saw (sampling error {glue:text}`key-07-means-floor:.3f`) and below both classical
#   closures on every column, with every bootstrap interval below zero.
# * Hidden units with tied positive weights cannot make the negative predator-prey coupling
#   that the MaxEnt paths show; the visible family has it directly.

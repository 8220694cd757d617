"""dbmtools: spatial dynamic Boltzmann distributions on lattices.

A fast, tested companion to O. K. Ernst, T. Bartol, T. Sejnowski and
E. Mjolsness, "Learning moment closure in reaction-diffusion systems with
spatial dynamic Boltzmann distributions", Phys. Rev. E 99, 063315 (2019).

The data flow: ``network + initial lattices -> simulate -> trajectories ->
observables (moments)``.
"""

from . import plotting, theory, widgets
from .lattice import bond_table, neighbour_table, random_state
from .observables import chain_moments, counts, pair_counts
from .reactions import Network, Reaction, annihilation, rossler
from .simulate import (
    SimulationInterrupted,
    diffusion_constant,
    hop_rate,
    simulate,
    simulate_ensemble,
)
from .trajectory import Ensemble, MomentEnsemble, MomentTrajectory, Trajectory

__version__ = "0.1.0"

__all__ = [
    "Ensemble",
    "Network",
    "Reaction",
    "Trajectory",
    "annihilation",
    "bond_table",
    "chain_moments",
    "counts",
    "diffusion_constant",
    "hop_rate",
    "neighbour_table",
    "pair_counts",
    "plotting",
    "random_state",
    "rossler",
    "SimulationInterrupted",
    "MomentEnsemble",
    "MomentTrajectory",
    "simulate",
    "simulate_ensemble",
    "theory",
    "widgets",
]

# Each block below imports one module's public API and extends __all__ itself,
# so that work on different modules never edits the same lines.

# --- Hermite finite elements (issue 3) ---
from . import hermite  # noqa: E402
from .hermite import HermiteGrid  # noqa: E402

__all__ += ["HermiteGrid", "hermite"]

# --- Boltzmann machines (issue 4) ---
from . import ising, rbm  # noqa: E402
from .rbm import FitResult, LayeredModel, hidden_model_1d, rossler_rbm  # noqa: E402

__all__ += ["FitResult", "LayeredModel", "hidden_model_1d", "ising", "rbm", "rossler_rbm"]

# --- The Rössler experiment (issue 6) ---
from . import rossler_moments  # noqa: E402
from .rossler_moments import RosslerMoments, sample_rossler  # noqa: E402

__all__ += ["RosslerMoments", "rossler_moments", "sample_rossler"]

# --- Learned parameter dynamics (issue 5) ---
from . import dynamics  # noqa: E402
from .dynamics import ParameterODE, TrainResult, predict, train  # noqa: E402

__all__ += ["ParameterODE", "TrainResult", "dynamics", "predict", "train"]

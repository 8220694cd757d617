"""dbmtools: spatial dynamic Boltzmann distributions on lattices.

A fast, tested companion to O. K. Ernst, T. Bartol, T. Sejnowski and
E. Mjolsness, "Learning moment closure in reaction-diffusion systems with
spatial dynamic Boltzmann distributions", Phys. Rev. E 99, 063315 (2019).

The data flow: ``network + initial lattices -> simulate -> trajectories ->
observables (moments) -> model (energy + F on Hermite grids) -> train
(wake/sleep + adjoint) -> sample model -> compare moments``.

Where things are (one module a concept; CONTRIBUTING.md has the full map):
``reactions``, ``lattice``, ``simulate``, ``trajectory``, ``observables`` (the
simulator and what it records); ``hermite`` (Q3 C1 elements); ``ising``,
``rbm`` (Boltzmann machines on lattices); ``families`` (any lattice Boltzmann
family as a plug-in) and ``maxent`` (MaxEnt fits of any family to moments);
``estimators`` (moment estimators for Algorithm 1); ``dynamics`` (parameter
ODEs, adjoint, training); ``flows`` (sums of low-dimensional grids for larger
families); ``data_closure`` (learn a closure from any family and ensembles) and
``comparison`` (score it against classical closures on held-out starts);
``theory`` (exact results and classical closures); the paper's two experiments ``annihilation1d``
and ``rossler3d``; ``plotting`` and ``widgets`` (imported on first use, so
``import dbmtools`` needs neither matplotlib nor ipywidgets).
"""

from importlib import import_module

from . import (
    annihilation1d,
    closures,
    comparison,
    data_closure,
    dynamics,
    estimators,
    families,
    flows,
    hermite,
    ising,
    lattice_gas,
    maxent,
    rbm,
    rossler3d,
    theory,
)
from .comparison import ClosureComparison, compare_closures
from .data_closure import (
    ClosureData,
    LearnedClosure,
    closure_data,
    learn_closure,
    simulate_conditions,
)
from .dynamics import ParameterODE, TrainResult, predict, train
from .estimators import (
    ExactMoments,
    FamilyMoments,
    HiddenMoments,
    IsingMoments,
    RosslerMoments,
)
from .families import ChainFamily, LatticeFamily, LatticeGas, LayeredFamily
from .flows import AdditiveFlow, flow_groups
from .hermite import HermiteGrid
from .lattice import bond_table, neighbour_table, random_state
from .maxent import MaxEntFit, fit_maxent, maxent_path
from .observables import chain_moments, counts, pair_counts
from .rbm import FitResult, LayeredModel, hidden_model_1d, rossler_rbm
from .reactions import Network, Reaction, annihilation, rossler
from .rossler3d import sample_rossler
from .simulate import (
    SimulationInterrupted,
    diffusion_constant,
    hop_rate,
    simulate,
    simulate_ensemble,
)
from .trajectory import Ensemble, MomentEnsemble, MomentTrajectory, Trajectory

__version__ = "0.1.0"

#: Modules imported on first attribute access (they import matplotlib / ipywidgets).
_LAZY_MODULES = ("plotting", "widgets")

__all__ = [
    "AdditiveFlow",
    "ClosureComparison",
    "ClosureData",
    "LearnedClosure",
    "closure_data",
    "compare_closures",
    "comparison",
    "data_closure",
    "flow_groups",
    "flows",
    "learn_closure",
    "simulate_conditions",
    "ChainFamily",
    "Ensemble",
    "ExactMoments",
    "FamilyMoments",
    "LatticeFamily",
    "LatticeGas",
    "LayeredFamily",
    "MaxEntFit",
    "families",
    "fit_maxent",
    "maxent",
    "maxent_path",
    "FitResult",
    "HermiteGrid",
    "HiddenMoments",
    "IsingMoments",
    "LayeredModel",
    "Network",
    "ParameterODE",
    "Reaction",
    "RosslerMoments",
    "TrainResult",
    "Trajectory",
    "annihilation",
    "annihilation1d",
    "bond_table",
    "closures",
    "chain_moments",
    "counts",
    "diffusion_constant",
    "dynamics",
    "estimators",
    "hermite",
    "hidden_model_1d",
    "hop_rate",
    "ising",
    "lattice_gas",
    "neighbour_table",
    "pair_counts",
    "plotting",
    "predict",
    "random_state",
    "rbm",
    "rossler",
    "rossler3d",
    "rossler_rbm",
    "sample_rossler",
    "SimulationInterrupted",
    "MomentEnsemble",
    "MomentTrajectory",
    "simulate",
    "simulate_ensemble",
    "theory",
    "train",
    "widgets",
]


def __getattr__(name: str):
    """Import :mod:`dbmtools.plotting` and :mod:`dbmtools.widgets` on first use."""
    if name in _LAZY_MODULES:
        module = import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

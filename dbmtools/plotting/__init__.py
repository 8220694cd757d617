"""Every figure of the package (Matplotlib), imported lazily by ``dbmtools.plotting``.

One contract for every ``plot_*`` function: it takes results (arrays,
dataclasses) computed elsewhere, draws them into ``ax`` (an Axes, or a
sequence of Axes for a figure of several panels; a new figure when
``ax=None``) and returns the :class:`matplotlib.figure.Figure`. None of them
simulates, fits, trains or samples: the slider views of
:mod:`dbmtools.widgets` compute, then call them.

The functions are grouped by topic in sub-modules and re-exported here:

* ``style``: ``SPECIES_COLORS``, :func:`species_cmap`, :func:`glue_figure`,
  :func:`glue_value`;
* ``lattice``: lattice states, kymographs, ensemble means (notebooks 01, 05);
* ``hermite``: Hermite elements and grids (notebooks 02, 05, 06);
* ``boltzmann``: samples and fits of Boltzmann machines (notebook 03);
* ``adjoint``: the adjoint method and Algorithm 1 (notebook 04);
* ``closure``: the 1D moment-closure experiment (notebook 05);
* ``rossler``: the Rössler experiment (notebook 06);
* ``comparison``: a learned closure against classical ones on held-out
  conditions (notebook 07, any system).
"""

from .adjoint import (
    plot_gradient_consistency,
    plot_training_1d,
    plot_window_gradient,
)
from .boltzmann import (
    plot_hidden_1d,
    plot_ising_samples,
    plot_rbm_fits,
    plot_short_chain_bias,
)
from .closure import (
    plot_closure_density,
    plot_closure_rmse,
    plot_closure_trajectories,
    plot_hidden_correlation,
    plot_initial_nn_moment,
    plot_maxent_trajectories,
    plot_small_closure_run,
)
from .comparison import plot_closure_errors, plot_heldout_condition
from .hermite import (
    plot_c0_vs_c1,
    plot_cell_basis,
    plot_convergence,
    plot_hermite_cubics,
    plot_hermite_slice,
    plot_interpolation_1d,
)
from .lattice import (
    plot_annihilation_decay,
    plot_density_band,
    plot_kymograph,
    plot_lattice_3d,
    plot_lattice_image,
    plot_mean_band,
    plot_species_excess,
)
from .rossler import (
    plot_attractor,
    plot_rossler_coarse_graining,
    plot_rossler_ensemble,
    plot_rossler_moments,
    plot_rossler_rhs,
    plot_rossler_rhs_slice,
    plot_rossler_simulation,
    plot_rossler_snapshot,
    plot_rossler_trajectory,
    plot_window_loss,
)
from .style import (
    SPECIES_COLORS,
    glue_figure,
    glue_value,
    species_cmap,
)

__all__ = [
    # style
    "SPECIES_COLORS",
    "glue_figure",
    "glue_value",
    "species_cmap",
    # lattice
    "plot_annihilation_decay",
    "plot_density_band",
    "plot_kymograph",
    "plot_lattice_3d",
    "plot_lattice_image",
    "plot_mean_band",
    "plot_species_excess",
    # hermite
    "plot_c0_vs_c1",
    "plot_cell_basis",
    "plot_convergence",
    "plot_hermite_cubics",
    "plot_hermite_slice",
    "plot_interpolation_1d",
    # boltzmann
    "plot_hidden_1d",
    "plot_ising_samples",
    "plot_rbm_fits",
    "plot_short_chain_bias",
    # adjoint
    "plot_gradient_consistency",
    "plot_training_1d",
    "plot_window_gradient",
    # closure
    "plot_closure_density",
    "plot_closure_rmse",
    "plot_closure_trajectories",
    "plot_hidden_correlation",
    "plot_initial_nn_moment",
    "plot_maxent_trajectories",
    "plot_small_closure_run",
    # rossler
    "plot_attractor",
    "plot_rossler_coarse_graining",
    "plot_rossler_ensemble",
    "plot_rossler_moments",
    "plot_rossler_rhs",
    "plot_rossler_rhs_slice",
    "plot_rossler_simulation",
    "plot_rossler_snapshot",
    "plot_rossler_trajectory",
    "plot_window_loss",
    # comparison
    "plot_closure_errors",
    "plot_heldout_condition",
]

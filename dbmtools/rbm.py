"""Layered lattice Boltzmann machines with multinomial units (paper eqs. 25, 35, 39, 44).

A :class:`LayeredModel` has ``n_visible`` visible sites, each empty (code 0) or
holding one of ``M`` species (codes ``1..M``), and ``n_hidden`` hidden units,
each empty or one of ``M'`` hidden species. Its energy is eq. (35) with
parameters tied over the lattice,

    -E(V, H) = sum_i b[v_i] + sum_j b'[h_j] + sum_{(i, j) in edges} W[v_i, h_j],

with ``b[0] = b'[0] = W[0, .] = W[., 0] = 0`` (an empty unit adds nothing).
Which entries of ``W`` are parameters is given by a boolean ``weight_mask``;
the flat parameter vector is ``theta = (b_1..b_M, W[mask] (row-major),
b'_1..b'_M')``, e.g. ``(b, W, b')`` for the 1D hidden model of eq. (39) and
``(b_A, b_B, b_C, W_AX, W_BY, W_CZ, b_X, b_Y, b_Z)`` for the Rössler RBM of
eq. (44).

Moments are raw lattice sums, one per parameter, in the same order: visible
counts, edge counts ``sum_(i,j) [v_i = a][h_j = c]``, hidden counts. Hidden
units enter moments as their conditional probabilities ``p(h_j | V)`` (the
paper's choice, in both phases), which has the same expectation as the hidden
samples and less noise.

* :func:`hidden_probabilities`, :func:`visible_probabilities`: ``p(H | V)``, ``p(V | H)``.
* :func:`gibbs`: block Gibbs chains (CD-k from data, PCD, or from random states).
* :func:`moments`: awake moments of given visible states.
* :func:`exact_moments`, :func:`enumerate_visible`: exact enumeration of tiny models.
* :func:`fit`: static Boltzmann-machine learning (wake/sleep gradient, SGD or Adam);
  :func:`fit_two_stage` runs it with large, then small steps.
* :func:`effective_ising`: the visible marginal of the 1D hidden model.

:mod:`dbmtools.plotting` draws the figures (``plot_rbm_fits``, ``plot_hidden_1d``).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field, replace

import numba
import numpy as np

from ._checks import check_choice, check_finite_array, check_int, check_positive
from ._config import njit, pjit, show_progress
from ._optim import OPTIMIZERS, Adam
from ._random import (
    SeedLike,
    as_seed_sequence,
    draw_seeds,
    rng_seed,
    rng_uniform,
    sample_seeds,
)
from .lattice import check_shape, check_state

__all__ = [
    "hidden_chain_moments",
    "LayeredModel",
    "FitResult",
    "hidden_model_1d",
    "rossler_rbm",
    "rossler_initial_params",
    "hidden_probabilities",
    "visible_probabilities",
    "gibbs",
    "moments",
    "exact_moments",
    "enumerate_visible",
    "fit",
    "fit_two_stage",
    "effective_ising",
]

#: Where the asleep chains of :func:`fit` start (the estimators of Algorithm 1 use the same).
STARTS = ("persistent", "data", "random")


# --------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LayeredModel:
    """A two-layer lattice Boltzmann machine with tied parameters (eq. 35).

    Attributes
    ----------
    n_visible, n_hidden : int
        Numbers of visible sites and hidden units.
    n_species_v, n_species_h : int
        ``M`` and ``M'``: species codes ``1..M`` (visible) and ``1..M'`` (hidden).
    edges : ndarray of int64, shape (n_edges, 2)
        Rows ``(i, j)``: visible site ``i`` is connected to hidden unit ``j``.
    weight_mask : ndarray of bool, shape (M, M')
        ``weight_mask[a - 1, c - 1]``: whether ``W[a, c]`` is a parameter
        (otherwise it is 0).
    visible_shape : tuple of int
        Lattice shape of the visible layer (for reshaping states).
    param_names : tuple of str
        One name per entry of ``theta``.
    """

    n_visible: int
    n_hidden: int
    n_species_v: int
    n_species_h: int
    edges: np.ndarray
    weight_mask: np.ndarray
    visible_shape: tuple = ()
    param_names: tuple = ()
    # CSR adjacency, derived
    _v_ptr: np.ndarray = field(init=False, repr=False)
    _v_idx: np.ndarray = field(init=False, repr=False)
    _h_ptr: np.ndarray = field(init=False, repr=False)
    _h_idx: np.ndarray = field(init=False, repr=False)
    _w_index: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        for name in ("n_visible", "n_hidden", "n_species_v", "n_species_h"):
            check_int(name, getattr(self, name), 1)
        if self.n_species_v > 127 or self.n_species_h > 127:
            raise ValueError("At most 127 species per layer fit in int8 codes.")
        e = np.asarray(self.edges)
        if (
            e.ndim != 2
            or e.shape[1] != 2
            or e.shape[0] == 0
            or not np.issubdtype(e.dtype, np.integer)
        ):
            raise ValueError(
                f"`edges` must be a non-empty integer array of shape (n_edges, 2); got shape "
                f"{e.shape} and dtype {e.dtype}."
            )
        if e[:, 0].min() < 0 or e[:, 0].max() >= self.n_visible:
            raise ValueError(
                f"`edges[:, 0]` must be visible sites in [0, {self.n_visible - 1}]; got "
                f"[{e[:, 0].min()}, {e[:, 0].max()}]."
            )
        if e[:, 1].min() < 0 or e[:, 1].max() >= self.n_hidden:
            raise ValueError(
                f"`edges[:, 1]` must be hidden units in [0, {self.n_hidden - 1}]; got "
                f"[{e[:, 1].min()}, {e[:, 1].max()}]."
            )
        mask = np.asarray(self.weight_mask)
        if mask.shape != (self.n_species_v, self.n_species_h) or mask.dtype != bool:
            raise ValueError(
                f"`weight_mask` must be a bool array of shape (M, M') = ({self.n_species_v}, "
                f"{self.n_species_h}); got {mask.dtype} {mask.shape}."
            )
        shape = self.visible_shape or (self.n_visible,)
        if int(np.prod(shape)) != self.n_visible:
            raise ValueError(f"`visible_shape` {shape} does not hold {self.n_visible} sites.")
        e = np.ascontiguousarray(e, dtype=np.int64)
        set_ = object.__setattr__
        set_(self, "edges", e)
        set_(self, "weight_mask", mask.copy())
        set_(self, "visible_shape", tuple(int(x) for x in shape))
        v_ptr, v_idx = _csr(e[:, 0], e[:, 1], self.n_visible)
        h_ptr, h_idx = _csr(e[:, 1], e[:, 0], self.n_hidden)
        set_(self, "_v_ptr", v_ptr)
        set_(self, "_v_idx", v_idx)
        set_(self, "_h_ptr", h_ptr)
        set_(self, "_h_idx", h_idx)
        w_index = np.full((self.n_species_v + 1, self.n_species_h + 1), -1, dtype=np.int64)
        rows, cols = np.nonzero(mask)
        w_index[rows + 1, cols + 1] = self.n_species_v + np.arange(rows.size)
        set_(self, "_w_index", w_index)
        if not self.param_names:
            names = [f"b_{a}" for a in range(1, self.n_species_v + 1)]
            names += [f"W_{a + 1}{c + 1}" for a, c in zip(rows, cols, strict=True)]
            names += [f"b'_{c}" for c in range(1, self.n_species_h + 1)]
            set_(self, "param_names", tuple(names))
        elif len(self.param_names) != self.n_params:
            raise ValueError(
                f"`param_names` must have {self.n_params} entries; got {len(self.param_names)}."
            )

    @property
    def n_weights(self) -> int:
        """Number of free weights (true entries of ``weight_mask``)."""
        return int(self.weight_mask.sum())

    @property
    def n_params(self) -> int:
        """Length of ``theta``: ``M + n_weights + M'``."""
        return self.n_species_v + self.n_weights + self.n_species_h

    def unpack(self, theta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded arrays ``(b, b', W)`` of shapes (M+1,), (M'+1,), (M+1, M'+1), zero for empties."""
        t = self.check_params(theta)
        bv = np.zeros(self.n_species_v + 1)
        bv[1:] = t[: self.n_species_v]
        bh = np.zeros(self.n_species_h + 1)
        bh[1:] = t[self.n_species_v + self.n_weights :]
        W = np.zeros((self.n_species_v + 1, self.n_species_h + 1))
        sel = self._w_index >= 0
        W[sel] = t[self._w_index[sel]]
        return bv, bh, W

    def check_params(self, theta) -> np.ndarray:
        """Validate ``theta``: finite, shape (n_params,); return it as float64."""
        t = np.asarray(theta, dtype=np.float64)
        if t.shape != (self.n_params,):
            raise ValueError(
                f"`theta` must have shape ({self.n_params},) {self.param_names}; got {t.shape}."
            )
        if not np.all(np.isfinite(t)):
            raise ValueError(f"`theta` must be finite; got {t.tolist()}.")
        return t

    def check_visible(self, states, name: str = "states") -> tuple[np.ndarray, tuple]:
        """Validate visible states ``(..., *visible_shape)`` or ``(..., n_visible)``.

        Returns the states flattened to ``(n, n_visible)`` int8 and the leading shape.
        """
        arr = np.asarray(states)
        shape = self.visible_shape
        if arr.shape[arr.ndim - len(shape) :] == shape and arr.ndim >= len(shape):
            lead = arr.shape[: arr.ndim - len(shape)]
        elif arr.ndim >= 1 and arr.shape[-1] == self.n_visible:
            lead = arr.shape[:-1]
        else:
            raise ValueError(
                f"`{name}` must have shape (..., {', '.join(map(str, shape))}) or "
                f"(..., {self.n_visible}); got {arr.shape}."
            )
        flat = check_state(arr, self.n_species_v, name=name)
        return np.ascontiguousarray(flat.reshape(-1, self.n_visible)), lead


def _csr(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(ptr, src + 1, 1)
    return np.cumsum(ptr), np.ascontiguousarray(dst[order], dtype=np.int64)


def hidden_model_1d(n_sites: int) -> LayeredModel:
    """The 1D hidden-layer model of eq. (39) / Fig. 1(a): parameters ``(b, W, b')``.

    One binary hidden unit ``j`` between each pair of neighbouring visible
    sites ``j, j + 1`` (``L - 1`` hidden units, open boundaries), connected to
    both with the same weight ``W``.

    Examples
    --------
    >>> m = hidden_model_1d(5)
    >>> m.n_hidden, m.param_names, m.edges[:4].tolist()
    (4, ('b', 'W', "b'"), [[0, 0], [1, 0], [1, 1], [2, 1]])
    """
    n = check_int("n_sites", n_sites, 2)
    j = np.arange(n - 1)
    edges = np.stack([np.stack([j, j], 1), np.stack([j + 1, j], 1)], 1).reshape(-1, 2)
    return LayeredModel(
        n_visible=n,
        n_hidden=n - 1,
        n_species_v=1,
        n_species_h=1,
        edges=edges,
        weight_mask=np.ones((1, 1), dtype=bool),
        visible_shape=(n,),
        param_names=("b", "W", "b'"),
    )


def rossler_rbm(shape=(10, 10, 10)) -> LayeredModel:
    """The 3D Rössler RBM of eq. (44) / Fig. 5: 9 parameters.

    Visible sites hold ``{empty, A, B, C}`` (codes 0-3), hidden units
    ``{empty, X, Y, Z}``; hidden unit ``(x, y, z)`` connects to the 2 x 2 x 2
    cube of visible sites ``(x + dx, y + dy, z + dz)``, ``d in {0, 1}``, wrapped
    periodically. Only ``W_AX``, ``W_BY``, ``W_CZ`` are parameters. ``theta``
    is ``(b_A, b_B, b_C, W_AX, W_BY, W_CZ, b_X, b_Y, b_Z)``.

    Examples
    --------
    >>> m = rossler_rbm((4, 4, 4))
    >>> m.n_visible, m.n_hidden, m.edges.shape, m.n_params
    (64, 64, (512, 2), 9)
    """
    dims = check_shape(shape)
    index = np.arange(int(np.prod(dims))).reshape(dims)
    edges = []
    for offset in itertools.product((0, 1), repeat=len(dims)):
        shifted = index
        for axis, d in enumerate(offset):
            shifted = np.roll(shifted, -d, axis=axis)
        edges.append(np.stack([shifted.ravel(), index.ravel()], 1))
    edges = np.concatenate(edges)
    edges = edges[np.lexsort((edges[:, 0], edges[:, 1]))]
    return LayeredModel(
        n_visible=index.size,
        n_hidden=index.size,
        n_species_v=3,
        n_species_h=3,
        edges=edges,
        weight_mask=np.eye(3, dtype=bool),
        visible_shape=dims,
        param_names=("b_A", "b_B", "b_C", "W_AX", "W_BY", "W_CZ", "b_X", "b_Y", "b_Z"),
    )


def rossler_initial_params() -> np.ndarray:
    """The paper's initial Rössler parameters: ``b = -ln 2``, ``W = 0``, ``b' = ln(1/7)``.

    ``b_alpha = -ln 2`` makes each species fill 1/5 of the sites (eq. 46: 200
    of 1000); ``b' = ln(1/7)`` makes each hidden species fill 1/10. (The paper
    prints ``-ln(1/7)``, a sign slip: a hidden fraction e^b / (1 + 3 e^b) = 0.1
    needs b = ln(1/7).)

    Examples
    --------
    >>> np.round(rossler_initial_params(), 3).tolist()
    [-0.693, -0.693, -0.693, 0.0, 0.0, 0.0, -1.946, -1.946, -1.946]
    """
    return np.array([-np.log(2)] * 3 + [0.0] * 3 + [np.log(1 / 7)] * 3)


# --------------------------------------------------------------------------
# conditionals
# --------------------------------------------------------------------------


def hidden_probabilities(model: LayeredModel, theta, states) -> np.ndarray:
    """``p(h_j = c | V)`` for every hidden unit: a softmax over ``c = 0..M'``.

    Parameters
    ----------
    model : LayeredModel
    theta : array_like, shape (n_params,)
    states : ndarray of int, shape ``(..., *visible_shape)`` or (..., n_visible)

    Returns
    -------
    ndarray of float, shape (..., n_hidden, M' + 1)
        Column 0 is the probability of an empty hidden unit.

    Examples
    --------
    >>> m = hidden_model_1d(3)
    >>> p = hidden_probabilities(m, [0.0, 1.0, 0.0], np.array([1, 1, 0], dtype=np.int8))
    >>> np.round(p[:, 1], 3).tolist()         # sigmoid(2 W) and sigmoid(W)
    [0.881, 0.731]
    """
    bv, bh, W = model.unpack(theta)
    flat, lead = model.check_visible(states)
    out = np.empty((flat.shape[0], model.n_hidden, model.n_species_h + 1))
    _hidden_prob_kernel(flat, model._h_ptr, model._h_idx, bh, W, out)
    return out.reshape((*lead, model.n_hidden, model.n_species_h + 1))


def visible_probabilities(model: LayeredModel, theta, hidden) -> np.ndarray:
    """``p(v_i = a | H)`` for every visible site: a softmax over ``a = 0..M``.

    Parameters
    ----------
    model : LayeredModel
    theta : array_like, shape (n_params,)
    hidden : ndarray of int, shape (..., n_hidden)
        Hidden codes ``0..M'``.

    Returns
    -------
    ndarray of float, shape (..., n_visible, M + 1)

    Examples
    --------
    >>> m = hidden_model_1d(3)
    >>> p = visible_probabilities(m, [0.0, 1.0, 0.0], np.array([1, 0], dtype=np.int8))
    >>> np.round(p[:, 1], 3).tolist()
    [0.731, 0.731, 0.5]
    """
    bv, bh, W = model.unpack(theta)
    arr = np.asarray(hidden)
    if arr.ndim < 1 or arr.shape[-1] != model.n_hidden:
        raise ValueError(f"`hidden` must have shape (..., {model.n_hidden}); got {arr.shape}.")
    flat = check_state(arr, model.n_species_h, name="hidden").reshape(-1, model.n_hidden)
    out = np.empty((flat.shape[0], model.n_visible, model.n_species_v + 1))
    _visible_prob_kernel(flat, model._v_ptr, model._v_idx, bv, W, out)
    return out.reshape((*arr.shape[:-1], model.n_visible, model.n_species_v + 1))


@pjit
def _hidden_prob_kernel(v, h_ptr, h_idx, bh, W, out):
    for s in numba.prange(v.shape[0]):
        for j in range(h_ptr.size - 1):
            _softmax_hidden(v[s], j, h_ptr, h_idx, bh, W, out[s, j])


@pjit
def _visible_prob_kernel(h, v_ptr, v_idx, bv, W, out):
    for s in numba.prange(h.shape[0]):
        for i in range(v_ptr.size - 1):
            _softmax_visible(h[s], i, v_ptr, v_idx, bv, W, out[s, i])


@njit(inline="always")
def _softmax_hidden(v, j, h_ptr, h_idx, bh, W, p):
    """``p[c] = p(h_j = c | v)``; ``p`` has length M' + 1."""
    m = p.size
    for c in range(m):
        p[c] = bh[c]
    for e in range(h_ptr[j], h_ptr[j + 1]):
        a = v[h_idx[e]]
        if a > 0:
            for c in range(1, m):
                p[c] += W[a, c]
    _normalise_logits(p)


@njit(inline="always")
def _softmax_visible(h, i, v_ptr, v_idx, bv, W, p):
    m = p.size
    for a in range(m):
        p[a] = bv[a]
    for e in range(v_ptr[i], v_ptr[i + 1]):
        c = h[v_idx[e]]
        if c > 0:
            for a in range(1, m):
                p[a] += W[a, c]
    _normalise_logits(p)


@njit(inline="always")
def _normalise_logits(p):
    top = p[0]
    for k in range(1, p.size):
        if p[k] > top:
            top = p[k]
    total = 0.0
    for k in range(p.size):
        p[k] = np.exp(p[k] - top)
        total += p[k]
    for k in range(p.size):
        p[k] /= total


@njit(inline="always")
def _draw(p, u):
    """Index drawn from probabilities ``p`` with the uniform ``u``."""
    acc = 0.0
    for k in range(p.size - 1):
        acc += p[k]
        if u < acc:
            return k
    return p.size - 1


# --------------------------------------------------------------------------
# Gibbs sampling and moments
# --------------------------------------------------------------------------


def gibbs(
    model: LayeredModel,
    theta,
    *,
    n_sweeps: int,
    init=None,
    n_chains: int | None = None,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Block Gibbs chains ``V -> H -> V``: CD-k from data, PCD, or from random states.

    One sweep samples every hidden unit from ``p(H | V)`` and then every visible
    site from ``p(V | H)`` (each layer is conditionally independent given the
    other, so the block update is exact). Chains run in parallel with one
    random stream each.

    Parameters
    ----------
    model : LayeredModel
    theta : array_like, shape (n_params,)
    n_sweeps : int
        Number of ``V -> H -> V`` sweeps (the ``k`` of CD-k), >= 0.
    init : ndarray of int, shape ``(n_chains, *visible_shape)`` or (n_chains, n_visible), optional
        Starting visible states: the data for CD-k, the persistent chains for
        PCD. Omitted: every site independently uniform over ``0..M`` (give
        ``n_chains``).
    n_chains : int, optional
        Number of chains when ``init`` is omitted.
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    visible : ndarray of int8, shape ``(n_chains, *visible_shape)``
        The visible states after ``n_sweeps`` sweeps (``init`` itself for 0 sweeps).
    hidden : ndarray of int8, shape (n_chains, n_hidden)
        The last hidden sample (zeros for 0 sweeps).

    Examples
    --------
    >>> m = hidden_model_1d(10)
    >>> v, h = gibbs(m, [-1.0, 1.0, -1.0], n_sweeps=5, n_chains=3, seed=0)
    >>> v.shape, h.shape, v.dtype
    ((3, 10), (3, 9), dtype('int8'))
    """
    bv, bh, W = model.unpack(theta)
    n_sweeps = check_int("n_sweeps", n_sweeps, 0)
    if init is None:
        if n_chains is None:
            raise ValueError("`n_chains` must be given when `init` is omitted.")
        n_chains = check_int("n_chains", n_chains, 1)
        v0 = np.zeros((n_chains, model.n_visible), dtype=np.int8)
        random_start = True
    else:
        v0, lead = model.check_visible(init, name="init")
        if len(lead) != 1:
            raise ValueError(
                f"`init` must be a stack of visible states (n_chains, ...); got shape "
                f"{np.shape(init)}."
            )
        if n_chains is not None and n_chains != v0.shape[0]:
            raise ValueError(f"`n_chains` ({n_chains}) disagrees with `init` ({v0.shape[0]}).")
        random_start = False
    out_v, out_h = _run_gibbs(
        model, bv, bh, W, v0, random_start, n_sweeps, sample_seeds(seed, v0.shape[0])
    )
    return out_v.reshape((v0.shape[0], *model.visible_shape)), out_h


def _run_gibbs(model, bv, bh, W, v0, random_start, n_sweeps, seeds):
    """Validated inputs -> flat visible (S, N) and hidden (S, N') int8 after ``n_sweeps``."""
    out_v = np.empty_like(v0)
    out_h = np.zeros((v0.shape[0], model.n_hidden), dtype=np.int8)
    _gibbs_kernel(
        v0, random_start, model._v_ptr, model._v_idx, model._h_ptr, model._h_idx,
        bv, bh, W, n_sweeps, seeds, out_v, out_h,
    )  # fmt: skip
    return out_v, out_h


@pjit
def _gibbs_kernel(
    v0, random_start, v_ptr, v_idx, h_ptr, h_idx, bv, bh, W, n_sweeps, seeds, out_v, out_h
):
    """One block-Gibbs chain per row of ``out_v`` (S, N) / ``out_h`` (S, N') int8.

    Assumes validated codes and padded parameters (``bv[0] = bh[0] = 0``,
    ``W[0, :] = W[:, 0] = 0``). Buffers are allocated once per chain.

    The unnormalised probability of species ``c`` of a unit is a product,
    ``exp(b_c) prod_neighbours exp(W[a, c])``, of factors exponentiated once per
    call, so the hot loop has no ``exp``. If a product overflows or every one
    underflows (couplings of order 100), the unit falls back to the log-domain
    softmax.
    """
    n_v = out_v.shape[1]
    n_h = out_h.shape[1]
    m_v = bv.size
    m_h = bh.size
    ebv = np.exp(bv)
    ebh = np.exp(bh)
    eW = np.exp(W)
    for s in numba.prange(out_v.shape[0]):
        rng = np.empty(4, dtype=np.uint64)
        rng_seed(seeds[s], rng)
        pv = np.empty(m_v)
        ph = np.empty(m_h)
        v = out_v[s]
        h = out_h[s]
        for i in range(n_v):
            if random_start:
                v[i] = min(int(rng_uniform(rng) * m_v), m_v - 1)
            else:
                v[i] = v0[s, i]
        for _ in range(n_sweeps):
            for j in range(n_h):
                for c in range(m_h):
                    ph[c] = ebh[c]
                for e in range(h_ptr[j], h_ptr[j + 1]):
                    a = v[h_idx[e]]
                    if a > 0:
                        for c in range(1, m_h):
                            ph[c] *= eW[a, c]
                h[j] = _draw_weights(ph, rng_uniform(rng))
                if h[j] < 0:
                    _softmax_hidden(v, j, h_ptr, h_idx, bh, W, ph)
                    h[j] = _draw(ph, rng_uniform(rng))
            for i in range(n_v):
                for a in range(m_v):
                    pv[a] = ebv[a]
                for e in range(v_ptr[i], v_ptr[i + 1]):
                    c = h[v_idx[e]]
                    if c > 0:
                        for a in range(1, m_v):
                            pv[a] *= eW[a, c]
                v[i] = _draw_weights(pv, rng_uniform(rng))
                if v[i] < 0:
                    _softmax_visible(h, i, v_ptr, v_idx, bv, W, pv)
                    v[i] = _draw(pv, rng_uniform(rng))


@njit(inline="always")
def _draw_weights(w, u):
    """Index drawn with probabilities ``w / sum(w)``; -1 if the sum is 0 or not finite."""
    total = 0.0
    for k in range(w.size):
        total += w[k]
    if not (0.0 < total < np.inf):
        return -1
    target = u * total
    acc = 0.0
    for k in range(w.size - 1):
        acc += w[k]
        if target < acc:
            return k
    return w.size - 1


def moments(model: LayeredModel, theta, states) -> np.ndarray:
    """Moments of visible states with the hidden units as probabilities (awake phase).

    For each visible state ``V``, the raw lattice sums conjugate to each
    parameter, averaged over ``p(H | V)``:
    ``sum_i [v_i = a]`` (for ``b_a``),
    ``sum_(i,j) [v_i = a] p(h_j = c | V)`` (for ``W_ac``),
    ``sum_j p(h_j = c | V)`` (for ``b'_c``). Applied to model samples, this is
    the asleep phase.

    Parameters
    ----------
    model : LayeredModel
    theta : array_like, shape (n_params,)
    states : ndarray of int, shape ``(..., *visible_shape)`` or (..., n_visible)

    Returns
    -------
    ndarray of float, shape (..., n_params)

    Examples
    --------
    >>> m = hidden_model_1d(3)
    >>> np.round(moments(m, [0.0, 1.0, 0.0], np.array([1, 1, 0], dtype=np.int8)), 3).tolist()
    [2.0, 2.493, 1.612]
    """
    bv, bh, W = model.unpack(theta)
    flat, lead = model.check_visible(states)
    return _run_moments(model, bh, W, flat).reshape((*lead, model.n_params))


def _run_moments(model, bh, W, flat):
    out = np.zeros((flat.shape[0], model.n_params))
    _moment_kernel(
        flat,
        model._h_ptr,
        model._h_idx,
        bh,
        W,
        model._w_index,
        model.n_species_v,
        model.n_species_v + model.n_weights,
        out,
    )
    return out


@pjit
def _moment_kernel(v, h_ptr, h_idx, bh, W, w_index, n_b, off_h, out):
    """``out`` (S, n_params) zeros; ``w_index[a, c]`` the parameter of ``W[a, c]`` or -1."""
    n_h = h_ptr.size - 1
    m_h = bh.size
    for s in numba.prange(v.shape[0]):
        p = np.empty(m_h)
        for i in range(v.shape[1]):
            a = v[s, i]
            if a > 0:
                out[s, a - 1] += 1.0
        for j in range(n_h):
            _softmax_hidden(v[s], j, h_ptr, h_idx, bh, W, p)
            for c in range(1, m_h):
                out[s, off_h + c - 1] += p[c]
            for e in range(h_ptr[j], h_ptr[j + 1]):
                a = v[s, h_idx[e]]
                if a > 0:
                    for c in range(1, m_h):
                        k = w_index[a, c]
                        if k >= 0:
                            out[s, k] += p[c]


# --------------------------------------------------------------------------
# exact enumeration
# --------------------------------------------------------------------------

_MAX_ENUMERATION = 2**20


def enumerate_visible(model: LayeredModel, theta) -> tuple[np.ndarray, np.ndarray]:
    """Every visible state of a tiny model with its exact marginal probability.

    Hidden units are summed out analytically (they are independent given
    ``V``): ``p(V) ~ exp(sum_i b[v_i]) prod_j sum_c exp(b'_c + sum_{i~j} W[v_i, c])``.

    Returns
    -------
    states : ndarray of int8, shape ((M+1)^N, n_visible)
        In lexicographic order.
    probs : ndarray of float, shape ((M+1)^N,)

    Raises
    ------
    ValueError
        If there are more than 2^20 visible states.

    Examples
    --------
    >>> s, p = enumerate_visible(hidden_model_1d(2), [0.0, 0.0, 0.0])
    >>> s.tolist(), np.round(p, 3).tolist()
    ([[0, 0], [0, 1], [1, 0], [1, 1]], [0.25, 0.25, 0.25, 0.25])
    """
    bv, bh, W = model.unpack(theta)
    n_states = (model.n_species_v + 1) ** model.n_visible
    if n_states > _MAX_ENUMERATION:
        raise ValueError(
            f"`model` has {n_states} visible states; exact enumeration allows at most "
            f"{_MAX_ENUMERATION}. Use `gibbs` for larger models."
        )
    states = np.array(
        list(itertools.product(range(model.n_species_v + 1), repeat=model.n_visible)),
        dtype=np.int8,
    )
    logp = bv[states].sum(axis=1)
    for j in range(model.n_hidden):
        nbrs = model._h_idx[model._h_ptr[j] : model._h_ptr[j + 1]]
        field = bh[None, :] + W[states[:, nbrs]].sum(axis=1)  # (n_states, M'+1)
        top = field.max(axis=1, keepdims=True)
        logp += top[:, 0] + np.log(np.exp(field - top).sum(axis=1))
    p = np.exp(logp - logp.max())
    return states, p / p.sum()


def exact_moments(model: LayeredModel, theta) -> np.ndarray:
    """Exact expected moments (raw sums, one per parameter) of a tiny model.

    The average of :func:`moments` over :func:`enumerate_visible`.

    Examples
    --------
    >>> np.round(exact_moments(hidden_model_1d(2), [0.0, 0.0, 0.0]), 3).tolist()
    [1.0, 0.5, 0.5]
    """
    states, p = enumerate_visible(model, theta)
    return p @ moments(model, theta, states)


# --------------------------------------------------------------------------
# static Boltzmann-machine learning
# --------------------------------------------------------------------------


@dataclass
class FitResult:
    """Result of :func:`fit`.

    Attributes
    ----------
    params : ndarray, shape (n_params,)
        The fitted parameters: the average of the iterates over the last
        ``n_average`` iterations (Polyak averaging, which removes most of the
        sampling noise of the stochastic gradient).
    loss_history : ndarray, shape (n_iter,)
        Root-mean-square moment mismatch per site, ``||awake - asleep|| / (sqrt(P) N)``,
        at every iteration.
    n_iter : int
        Iterations run.
    converged : bool
        Whether the mean mismatch over the last ``n_average`` iterations is below ``tol``.
    param_history : ndarray, shape (n_iter + 1, n_params)
        The iterates, starting with ``initial_theta``.
    names : tuple of str
        Parameter names.
    interrupted : bool
        Whether Ctrl-C (KeyboardInterrupt) stopped the fit early: the
        histories then hold the ``n_iter`` iterations that finished, and
        ``params`` averages the last of them.
    """

    params: np.ndarray
    loss_history: np.ndarray
    n_iter: int
    converged: bool
    param_history: np.ndarray
    names: tuple
    interrupted: bool = False


def fit(
    model: LayeredModel,
    data,
    *,
    initial_theta=None,
    n_iter: int = 300,
    lr: float = 0.05,
    optimizer: str = "adam",
    cd_k: int = 1,
    start: str = "persistent",
    batch_size: int | None = None,
    n_chains: int | None = None,
    n_average: int | None = None,
    tol: float = 0.02,
    seed: SeedLike = None,
    progress: bool = True,
) -> FitResult:
    """Static Boltzmann-machine learning: fit ``theta`` so model moments match data moments.

    The gradient of the mean log-likelihood per site is ``(awake - asleep) / N``
    (eq. 31 without the dynamics): awake moments of a batch of data with the
    hidden units as probabilities, asleep moments of the model's chains after
    ``cd_k`` Gibbs sweeps, again with hidden probabilities. Ascent by SGD or Adam
    (:class:`dbmtools._optim.Adam`, shared with :func:`dbmtools.train`).

    Parameters
    ----------
    model : LayeredModel
    data : ndarray of int, shape ``(n_data, *visible_shape)`` or (n_data, n_visible)
    initial_theta : array_like, shape (n_params,), optional
        Start; zeros by default.
    n_iter : int
        Number of gradient steps.
    lr : float
        Learning rate (step size per site-normalised gradient).
    optimizer : {"adam", "sgd"}
    cd_k : int
        Gibbs sweeps of the asleep phase per iteration.
    start : {"persistent", "data", "random"}
        Where the asleep chains start, as for the estimators of Algorithm 1:
        ``"persistent"`` (PCD, Tieleman 2008): ``n_chains`` chains started once
        from data lattices drawn at random, then carried over from one
        iteration to the next; ``"data"`` (CD-k): every iteration from the
        batch; ``"random"`` (CD-k): every iteration from uniformly random states.
    batch_size : int, optional
        Data lattices per iteration (all by default).
    n_chains : int, optional
        Asleep chains; ``batch_size`` by default (must equal it for ``start="data"``).
    n_average : int, optional
        Iterates averaged into ``params``; ``n_iter // 4`` by default.
    tol : float
        Convergence threshold on the mean RMS moment mismatch per site.
    seed : None, int, SeedSequence or Generator
    progress : bool
        Show a progress bar.

    Returns
    -------
    FitResult

    Warns
    -----
    RuntimeWarning
        If the fit did not converge (``converged`` is False; the message says
        whether the mismatch grew, so ``lr`` is too large, or fell too slowly),
        or was interrupted.

    Raises
    ------
    FloatingPointError
        If the parameters diverge (non-finite, or beyond 700 where ``exp``
        overflows): the learning rate is too large.

    Notes
    -----
    **Interrupting.** Ctrl-C (KeyboardInterrupt) after the first iteration
    ends the fit with a warning and returns the iterations done
    (``interrupted=True``).

    See Also
    --------
    fit_two_stage : large steps to travel, then small steps to settle.

    Examples
    --------
    >>> from dbmtools import ising
    >>> data = ising.sample(-0.5, 0.5, 0.0, n_sites=50, n_chains=20, n_sweeps=50,
    ...                     boundary="reflecting", seed=1)
    >>> r = fit(hidden_model_1d(50), data, n_iter=100, lr=0.05, seed=2, progress=False)
    >>> r.params.shape, r.converged
    ((3,), True)
    """
    opts = _check_fit(
        model,
        data,
        initial_theta,
        n_iter,
        lr,
        optimizer,
        cd_k,
        start,
        batch_size,
        n_chains,
        n_average,
        tol,
    )
    flat, theta, n_iter, cd_k, batch_size, n_chains, n_average = opts
    rng = np.random.default_rng(as_seed_sequence(seed))
    n = model.n_visible
    adam = Adam(theta.shape) if optimizer == "adam" else None
    history = np.empty((n_iter + 1, theta.size))
    history[0] = theta
    loss = np.empty(n_iter)
    chains = None
    if start == "persistent":
        chains = flat[rng.choice(flat.shape[0], n_chains, replace=n_chains > flat.shape[0])]
        chains = np.ascontiguousarray(chains.reshape(n_chains, n))
    from tqdm.auto import tqdm

    bar = tqdm(range(n_iter), desc="fit", disable=not show_progress(progress))
    n_done = 0
    try:
        for it in bar:
            bv, bh, W = model.unpack(theta)
            batch = flat[rng.choice(flat.shape[0], batch_size, replace=False)]
            awake = _run_moments(model, bh, W, batch).mean(axis=0)
            seeds = draw_seeds(rng, n_chains)  # one per chain: thread-count independent
            if start == "persistent":
                chains = _run_gibbs(model, bv, bh, W, chains, False, cd_k, seeds)[0]
            elif start == "data":
                chains = _run_gibbs(model, bv, bh, W, batch, False, cd_k, seeds)[0]
            else:
                chains = _run_gibbs(
                    model, bv, bh, W, np.zeros((n_chains, n), np.int8), True, cd_k, seeds
                )[0]
            asleep = _run_moments(model, bh, W, chains).mean(axis=0)
            grad = (awake - asleep) / n
            loss[it] = np.sqrt(np.mean(grad**2))
            step = grad if adam is None else adam.direction(grad)
            theta = theta + lr * step
            _check_not_diverged(theta, it, lr, loss[: it + 1])
            history[it + 1] = theta
            n_done = it + 1
            if it % 10 == 0:
                bar.set_postfix(mismatch=f"{loss[it]:.3g}")
    except KeyboardInterrupt:
        if n_done == 0:
            raise
        warnings.warn(
            f"fit was interrupted after {n_done} of {n_iter} iterations; the result averages "
            f"the last {min(n_average, n_done)} of them.",
            RuntimeWarning,
            stacklevel=2,
        )
    finally:
        bar.close()
    n_avg = min(n_average, n_done)
    loss, history = loss[:n_done], history[: n_done + 1]
    params = history[n_done - n_avg + 1 :].mean(axis=0)
    tail = loss[n_done - n_avg :].mean()
    converged = bool(n_done == n_iter and tail < tol)
    if not converged and n_done == n_iter:
        grew = tail > loss[:n_avg].mean()
        advice = "it grew from the start: lower `lr`" if grew else "Increase `n_iter` or `lr`"
        warnings.warn(
            f"fit did not converge: mean moment mismatch per site over the last {n_avg} "
            f"iterations is {tail:.3g} >= tol={tol}; {advice}.",
            RuntimeWarning,
            stacklevel=2,
        )
    return FitResult(
        params=params,
        loss_history=loss,
        n_iter=n_done,
        converged=converged,
        param_history=history,
        names=model.param_names,
        interrupted=n_done < n_iter,
    )


def _check_not_diverged(theta, it, lr, loss):
    """Raise if an update left the range where Boltzmann factors exist (exp overflows)."""
    if not np.all(np.isfinite(theta)) or np.abs(theta).max() > 700:
        raise FloatingPointError(
            f"fit diverged at iteration {it}: the parameters reached "
            f"{np.abs(theta).max():.3g} (exp overflows beyond 700) after a step of lr = {lr:g} "
            f"(moment mismatch per site {loss[0]:.3g} at the start, {loss[-1]:.3g} now); "
            "lower `lr`."
        )


def _check_fit(
    model,
    data,
    initial_theta,
    n_iter,
    lr,
    optimizer,
    cd_k,
    start,
    batch_size,
    n_chains,
    n_average,
    tol,
):
    if not isinstance(model, LayeredModel):
        raise TypeError(f"`model` must be a LayeredModel; got {type(model).__name__}.")
    flat, lead = model.check_visible(data, name="data")
    if len(lead) != 1 or flat.shape[0] == 0:
        raise ValueError(
            f"`data` must be a non-empty stack of visible states; got shape {np.shape(data)}."
        )
    if initial_theta is None:
        theta = np.zeros(model.n_params)
    else:
        theta = model.check_params(initial_theta).copy()
    n_iter = check_int("n_iter", n_iter, 1)
    cd_k = check_int("cd_k", cd_k, 1)
    check_positive("lr", lr)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("start", start, STARTS)
    n_data = flat.shape[0]
    batch_size = check_int("batch_size", n_data if batch_size is None else batch_size, 1, n_data)
    n_chains = check_int("n_chains", batch_size if n_chains is None else n_chains, 1)
    if start == "data" and n_chains != batch_size:
        raise ValueError(
            f"CD from data runs one chain per data lattice: `n_chains` ({n_chains}) must equal "
            f"`batch_size` ({batch_size})."
        )
    n_average = check_int(
        "n_average", max(1, n_iter // 4) if n_average is None else n_average, 1, n_iter
    )
    check_positive("tol", tol)
    return flat, theta, n_iter, cd_k, batch_size, n_chains, n_average


def fit_two_stage(
    model: LayeredModel,
    data,
    *,
    seed: SeedLike = None,
    n_iter: tuple[int, int] = (600, 600),
    lr: tuple[float, float] = (0.2, 0.02),
    **options,
) -> FitResult:
    """Fit in two stages: large steps to travel, then small steps to settle.

    Two calls of :func:`fit`. The travel stage (``n_iter[0]`` steps of
    learning rate ``lr[0]``, from zeros or ``initial_theta``) is judged only by
    its end point (its ``tol`` is 1); the settle stage starts there
    (``n_iter[1]`` steps of ``lr[1]``) and its averaged last iterates are the
    estimate. Each stage has its own random stream, spawned from ``seed``.

    Parameters
    ----------
    model : LayeredModel
    data : ndarray of int
        As for :func:`fit`.
    seed : None, int, SeedSequence or Generator
    n_iter : (int, int)
        Iterations of the travel and the settle stage.
    lr : (float, float)
        Their learning rates.
    **options
        Passed to both calls of :func:`fit` (``cd_k``, ``start``,
        ``batch_size``, ``n_chains``, ``progress``, ...); ``initial_theta``
        and ``tol`` (default 0.02) apply to the travel and the settle stage
        respectively.

    Returns
    -------
    FitResult
        Of the settle stage, with ``n_iter``, ``loss_history`` and
        ``param_history`` covering both stages (rows ``0..n_iter[0]`` are the
        travel iterates; the settle stage starts from the travel stage's
        averaged ``params``, which is not a row).

    Examples
    --------
    >>> from dbmtools import ising
    >>> data = ising.sample(-0.5, 0.5, 0.0, n_sites=50, n_chains=20, n_sweeps=50,
    ...                     boundary="reflecting", seed=1)
    >>> r = fit_two_stage(hidden_model_1d(50), data, n_iter=(50, 50), seed=2, progress=False)
    >>> r.n_iter, r.param_history.shape, r.loss_history.shape
    (100, (101, 3), (100,))
    """
    seed_travel, seed_settle = as_seed_sequence(seed).spawn(2)
    initial_theta = options.pop("initial_theta", None)
    tol = options.pop("tol", 0.02)
    # the travel stage is not judged by its mismatch (tol=1): only its end point is used
    travel = fit(
        model,
        data,
        initial_theta=initial_theta,
        n_iter=n_iter[0],
        lr=lr[0],
        tol=1.0,
        seed=seed_travel,
        **options,
    )
    settle = fit(
        model,
        data,
        initial_theta=travel.params,
        n_iter=n_iter[1],
        lr=lr[1],
        tol=tol,
        seed=seed_settle,
        **options,
    )
    return replace(
        settle,
        n_iter=n_iter[0] + n_iter[1],
        loss_history=np.concatenate([travel.loss_history, settle.loss_history]),
        param_history=np.vstack([travel.param_history, settle.param_history[1:]]),
    )


def hidden_chain_moments(theta: np.ndarray, n_sites: int, max_order: int = 4) -> np.ndarray:
    """Exact raw chain moments of the visible marginal of the hidden model (39), open chain.

    ``p(v) ~ exp(b sum v_i) prod_j (1 + exp(b' + W (v_j + v_{j+1})))`` summed
    by a 2 x 2 transfer matrix with rescaling.

    The visible marginal of :func:`hidden_model_1d` (the hidden units summed
    out), so these are the model moments of the 1D closure experiment; exact
    enumeration (:func:`exact_moments`) checks them on short chains.

    Parameters
    ----------
    theta : array_like, shape (..., 3)
        ``(b, W, b')``.
    n_sites : int
        ``L`` >= max(2, max_order).
    max_order : int

    Returns
    -------
    ndarray, shape (..., max_order)
        ``<sum_i v_i ... v_{i+k-1}>`` over the ``L - k + 1`` chains, k = 1..max_order.

    Examples
    --------
    >>> hidden_chain_moments([0.0, 0.0, 0.0], 10).round(4).tolist()
    [5.0, 2.25, 1.0, 0.4375]
    """
    th = check_finite_array("theta", theta)
    if th.ndim == 0 or th.shape[-1] != 3:
        raise ValueError(f"`theta` must have shape (..., 3) = (b, W, b'); got {th.shape}.")
    max_order = check_int("max_order", max_order, 1)
    n_sites = check_int("n_sites", n_sites, max(2, max_order))
    flat = np.ascontiguousarray(th.reshape(-1, 3))
    out = np.empty((flat.shape[0], max_order))
    _hidden_chain_kernel(flat, n_sites, max_order, out)
    return out.reshape((*th.shape[:-1], max_order))


@njit
def _hidden_chain_kernel(theta, L, max_order, out):
    """Forward/backward vectors of the open chain; ``out`` (n, max_order)."""
    alpha = np.empty((L, 2))
    beta = np.empty((L, 2))
    la = np.empty(L)  # log scale of alpha_i
    lb = np.empty(L)
    M = np.empty((2, 2))
    for p in range(theta.shape[0]):
        b, W, bh = theta[p, 0], theta[p, 1], theta[p, 2]
        for x in range(2):
            for y in range(2):
                M[x, y] = 1.0 + np.exp(bh + W * (x + y))
        eb = np.exp(b)
        # alpha_i[x]: weight of v_0..v_i with v_i = x (site i's field included)
        alpha[0, 0] = 1.0
        alpha[0, 1] = eb
        la[0] = 0.0
        for i in range(1, L):
            a0 = alpha[i - 1, 0] * M[0, 0] + alpha[i - 1, 1] * M[1, 0]
            a1 = (alpha[i - 1, 0] * M[0, 1] + alpha[i - 1, 1] * M[1, 1]) * eb
            s = a0 + a1
            alpha[i, 0] = a0 / s
            alpha[i, 1] = a1 / s
            la[i] = la[i - 1] + np.log(s)
        # beta_i[x]: weight of v_{i+1}..v_{L-1} given v_i = x
        beta[L - 1, 0] = 1.0
        beta[L - 1, 1] = 1.0
        lb[L - 1] = 0.0
        for i in range(L - 2, -1, -1):
            b0 = M[0, 0] * beta[i + 1, 0] + M[0, 1] * eb * beta[i + 1, 1]
            b1 = M[1, 0] * beta[i + 1, 0] + M[1, 1] * eb * beta[i + 1, 1]
            s = b0 + b1
            beta[i, 0] = b0 / s
            beta[i, 1] = b1 / s
            lb[i] = lb[i + 1] + np.log(s)
        logz = la[0] + lb[0] + np.log(alpha[0, 0] * beta[0, 0] + alpha[0, 1] * beta[0, 1])
        step = np.log(M[1, 1] * eb)
        for k in range(1, max_order + 1):
            tot = 0.0
            for i in range(L - k + 1):
                j = i + k - 1
                tot += alpha[i, 1] * beta[j, 1] * np.exp(la[i] + lb[j] + (k - 1) * step - logz)
            out[p, k - 1] = tot


def effective_ising(theta) -> tuple[float, float]:
    """Bulk ``(b, J)`` of the visible marginal of the 1D hidden model (eq. 39).

    Summing out the hidden unit between sites ``i`` and ``i + 1`` multiplies
    ``p(v)`` by ``1 + exp(b' + W (v_i + v_{i+1}))``. With
    ``f(x) = ln(1 + e^x)`` this is an Ising model with bulk bias
    ``b + 2 [f(b' + W) - f(b')]`` and coupling
    ``J = f(b' + 2W) - 2 f(b' + W) + f(b')`` (>= 0, as ``f`` is convex) and no
    three-site term: the visible marginal is identified only up to these two
    numbers (the two end sites see one hidden unit each).

    Examples
    --------
    >>> np.round(effective_ising([0.0, 0.0, 0.0]), 3).tolist()
    [0.0, 0.0]
    """
    b, W, bp = (float(x) for x in np.asarray(theta, dtype=float))
    f = np.logaddexp.reduce  # f(x) = ln(e^0 + e^x)
    fx = [f([0.0, bp + k * W]) for k in range(3)]
    return b + 2 * (fx[1] - fx[0]), fx[2] - 2 * fx[1] + fx[0]

"""Slow, obviously correct references for the fast kernels (pure NumPy / Python)."""

from __future__ import annotations

import itertools

import numpy as np


def counts(state: np.ndarray, n_species: int) -> np.ndarray:
    return np.array([(state == c).sum() for c in range(1, n_species + 1)])


def pair_counts(state: np.ndarray, n_species: int, periodic: bool) -> np.ndarray:
    """Visit every site and every axis, look one step up; count each bond once."""
    out = np.zeros((n_species, n_species), dtype=np.int64)
    for idx in itertools.product(*(range(n) for n in state.shape)):
        for axis, extent in enumerate(state.shape):
            up = list(idx)
            up[axis] += 1
            if up[axis] == extent:
                if not periodic:
                    continue
                up[axis] = 0
            a, b = state[idx], state[tuple(up)]
            if a and b:
                out[a - 1, b - 1] += 1
                if a != b:
                    out[b - 1, a - 1] += 1
    return out


def chain_moment(state: np.ndarray, k: int, periodic: bool, species: int = 1) -> int:
    v = (state == species).astype(np.int64)
    n = v.size
    starts = range(n) if periodic else range(n - k + 1)
    return int(sum(np.prod([v[(i + j) % n] for j in range(k)]) for i in starts))


def open_chain_moments_per_site(b: float, J: float, K: float, n: int, max_order: int = 4):
    """Chain moments per site of the open b/J/K chain (eq. 37), by numpy matrix products.

    Independent of ``dbmtools.ising``'s numba kernel: forward/backward vectors of
    the pair states ``(v_i, v_{i+1})`` with explicit 4 x 4 matrices, the chain of
    ``k`` ones as products of the projector on (1, 1) and the transfer matrix.
    """
    T = np.zeros((4, 4))
    for a, c, d in itertools.product((0, 1), repeat=3):
        T[2 * a + c, 2 * c + d] = np.exp(b * d + J * c * d + K * a * c * d)
    P = np.diag([0.0, 0.0, 0.0, 1.0])
    first = np.array([np.exp(b * (a + c) + J * a * c) for a in (0, 1) for c in (0, 1)])
    fwd = [first / first.max()]
    for _ in range(n - 2):
        x = fwd[-1] @ T
        fwd.append(x / x.max())
    bwd = [np.ones(4)]
    for _ in range(n - 2):
        x = T @ bwd[0]
        bwd.insert(0, x / x.max())
    out = np.zeros(max_order)
    for i in range(n - 1):
        z = fwd[i] @ bwd[i]
        out[0] += fwd[i] @ np.diag([0.0, 0.0, 1.0, 1.0]) @ bwd[i] / z
        if i == n - 2:
            out[0] += fwd[i] @ np.diag([0.0, 1.0, 0.0, 1.0]) @ bwd[i] / z
    for k in range(2, max_order + 1):
        A = P.copy()
        for _ in range(k - 2):
            A = P @ T @ A
        B = np.linalg.matrix_power(T, k - 2)
        for i in range(n - 1 - (k - 2)):
            j = i + k - 2
            out[k - 1] += (fwd[i] @ A @ bwd[j]) / (fwd[i] @ B @ bwd[j])
    return out / n


def pair_counts_by_axis(state: np.ndarray, n_species: int, periodic: bool) -> np.ndarray:
    """Pair counts of the bonds along each axis, (dim, M, M); they sum to ``pair_counts``."""
    out = np.zeros((state.ndim, n_species, n_species), dtype=np.int64)
    for idx in itertools.product(*(range(n) for n in state.shape)):
        for axis, extent in enumerate(state.shape):
            up = list(idx)
            up[axis] += 1
            if up[axis] == extent:
                if not periodic:
                    continue
                up[axis] = 0
            a, b = state[idx], state[tuple(up)]
            if a and b:
                out[axis, a - 1, b - 1] += 1
                if a != b:
                    out[axis, b - 1, a - 1] += 1
    return out


def lattice_gas_phi(state: np.ndarray, n_species: int, periodic: bool, per_axis: bool):
    """Statistics of the lattice gas, written out: counts, then J_11, J_12, ..., J_MM per block."""
    by_axis = pair_counts_by_axis(state, n_species, periodic)
    blocks = by_axis if per_axis else by_axis.sum(axis=0, keepdims=True)
    out = list(counts(state, n_species))
    for pc in blocks:
        out += [pc[a, b] for a in range(n_species) for b in range(a, n_species)]
    return np.array(out, dtype=np.float64)


def lattice_gas_enumerate(theta, shape, n_species: int, periodic: bool, per_axis: bool = False):
    """Every lattice of a tiny lattice gas with its probability, by brute force.

    All ``(M+1)^N`` states (C order, site 0 most significant), their statistics
    from :func:`lattice_gas_phi` and ``p ~ exp(theta . phi)``. Returns
    ``(states, phi, p, mean, covariance)``.
    """
    shape = tuple(shape)
    n = int(np.prod(shape))
    states = np.array(list(itertools.product(range(n_species + 1), repeat=n)), dtype=np.int8)
    phi = np.array(
        [lattice_gas_phi(s.reshape(shape), n_species, periodic, per_axis) for s in states]
    )
    logw = phi @ np.asarray(theta, dtype=np.float64)
    p = np.exp(logw - logw.max())
    p /= p.sum()
    mean = p @ phi
    d = phi - mean
    return states.reshape(-1, *shape), phi, p, mean, (d * p[:, None]).T @ d


def lattice_gas_chain_log_z(theta, n_sites: int, n_species: int, periodic: bool, digits=60):
    """``ln Z`` of the 1D lattice gas in ``digits``-digit decimal arithmetic (no rescaling).

    ``Z = sum_q alpha_{L-1}(q)`` with ``alpha_0(q) = e^{b_q}``, ``alpha_i(r) =
    sum_q alpha_{i-1}(q) e^{J_qr + b_r}`` (open chain), or ``Tr T^L`` with
    ``T[q, r] = e^{J_qr + b_r}`` (ring), written straight from the definition;
    the exponent range of ``decimal`` is unbounded, so nothing needs scaling.
    """
    import decimal

    ctx = decimal.Context(prec=digits, Emax=10**9, Emin=-(10**9))
    th = [ctx.create_decimal(repr(float(x))) if not isinstance(x, decimal.Decimal) else x
          for x in theta]  # fmt: skip
    M = n_species
    Q = M + 1
    b = [decimal.Decimal(0)] + th[:M]
    J = [[decimal.Decimal(0)] * Q for _ in range(Q)]
    k = M
    for a in range(1, Q):
        for c in range(a, Q):
            J[a][c] = J[c][a] = th[k]
            k += 1
    T = [[ctx.exp(J[q][r] + b[r]) for r in range(Q)] for q in range(Q)]

    def matmul(A, B):
        return [[ctx.add(0, sum((A[i][m] * B[m][j] for m in range(Q)), decimal.Decimal(0)))
                 for j in range(Q)] for i in range(Q)]  # fmt: skip

    with decimal.localcontext(ctx):
        if periodic:
            R = [[decimal.Decimal(int(i == j)) for j in range(Q)] for i in range(Q)]
            base, e = T, n_sites
            while e:
                if e & 1:
                    R = matmul(R, base)
                e >>= 1
                if e:
                    base = matmul(base, base)
            return ctx.ln(sum(R[q][q] for q in range(Q)))
        alpha = [ctx.exp(b[q]) for q in range(Q)]
        for _ in range(n_sites - 1):
            alpha = [sum(alpha[q] * T[q][r] for q in range(Q)) for r in range(Q)]
        return ctx.ln(sum(alpha))


def lattice_gas_chain_covariance(theta, n_sites: int, n_species: int, periodic: bool):
    """Mean and covariance of the 1D lattice gas as derivatives of the 160-digit ``ln Z``.

    Central differences with step ``h = 1e-30``: truncation ``~h^2 = 1e-60`` relative,
    rounding ``~|ln Z| 1e-160 / h^2 < 1e-95`` absolute, both far below float64's.
    """
    import decimal

    digits = 160
    decimal.getcontext().prec = digits
    th = [decimal.Decimal(repr(float(x))) for x in theta]
    K = len(th)
    h = decimal.Decimal("1e-30")

    def f(*shifts):
        t = list(th)
        for k, s in shifts:
            t[k] += s
        return lattice_gas_chain_log_z(t, n_sites, n_species, periodic, digits)

    mean = np.array([float((f((k, h)) - f((k, -h))) / (2 * h)) for k in range(K)])
    cov = np.empty((K, K))
    for k in range(K):
        for m in range(k, K):
            d = (f((k, h), (m, h)) - f((k, h), (m, -h)) - f((k, -h), (m, h))
                 + f((k, -h), (m, -h))) / (4 * h * h)  # fmt: skip
            cov[k, m] = cov[m, k] = float(d)
    return mean, cov

"""Higher-order statistics attack on RMT, level (a): any invertible R_i, no pairs (docs/method.md §4
"Linear maps beyond orthogonal", beyond the paper).

For rows x of a block and y = x R with R invertible (orthogonal or Gaussian), the covariance alone fixes
R only up to a rotation: whitened, z_y = y W_y and z_x = x W_x (W = Σ^{-1/2}) satisfy z_y = z_x Q with Q
orthogonal, and every rotation Q is consistent with the second moments. Image rows are far from Gaussian,
so Q is fixed by what second moments do not see: independent component analysis (symmetric FastICA)
finds, in each whitened set, the rotation that makes its coordinates as non-Gaussian as it can; the
components found on the disguised rows are those found on public rows, in another order and with other
signs. They are paired by their whole distributions (Hungarian assignment on the gap between standardized
quantile functions, each compared as it is and negated, which also gives the sign), and composed:
Q̂ = A_x P S A_yᵀ, x̂ = (y − μ_y) W_y Q̂ᵀ W_x⁻¹ + μ_x. Where the moment tensors stay small (d ≤ 16), the
rotation is then refined until the third and fourth moment tensors of both sides agree.

Noise added before the transform (the public setting) is simulated on the public rows, so both sides
are whitened with their noise; the reconstruction of x + n is then shrunk to x by the linear MMSE map
Σ_{x+n}⁻¹ Σ_x, both covariances measured on public rows.

Where it cannot work: rows whose distribution is Gaussian are rotation-invariant after whitening, and
no statistic fixes Q (the attack is then no better than a random rotation); components with the same
distribution are paired arbitrarily (many of flat mode's b² components are near-Gaussian and alike); a scheme
that whitens its own output or draws R per image defeats it.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.attacks.regression import _centred_covariance, _rows

__all__ = ["MAX_TENSOR_DIM", "fast_ica", "higher_order_attack", "match_components", "quantile_functions", "whiten"]

MAX_TENSOR_DIM = 16   # the moment-tensor refinement holds (t, K, d⁴) tensors: matrix mode (d = b ≤ 16) only,
TENSOR_BUDGET = 300_000   # and t·d⁴ within this (every matrix-mode RMT on 28×28: b = 14 has 4·14⁴ ≈ 154,000;
#                           a flat map on 4×4 blocks, 49·16⁴ ≈ 3.2 million, is left to the pairing alone)


def whiten(rows: np.ndarray, eps: float = 1e-9):
    """(t, n, d) rows → (centred·W, W, W⁻¹, mean) with W = Σ^{-1/2} per position (symmetric)."""
    mean = rows.mean(axis=1, keepdims=True)
    centred, cov = _centred_covariance(rows)
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, eps * np.maximum(values.max(axis=1, keepdims=True), 1e-300))
    w = (vectors / np.sqrt(values)[:, None, :]) @ vectors.transpose(0, 2, 1)
    w_inv = (vectors * np.sqrt(values)[:, None, :]) @ vectors.transpose(0, 2, 1)
    return centred @ w, w, w_inv, mean


def _symmetric_decorrelation(w: np.ndarray) -> np.ndarray:
    """W (W Wᵀ)^{-1/2}, per position: the nearest orthogonal matrix."""
    u, _, vt = np.linalg.svd(w)
    return u @ vt


def fast_ica(z: np.ndarray, *, iterations: int = 200, tol: float = 1e-5, seed: int = 0,
             max_rows: int = 50_000) -> np.ndarray:
    """Symmetric FastICA (log-cosh contrast) on whitened rows (t, n, d), all positions at once →
    orthogonal unmixing A (t, d, d): the components are z @ A. Fits on at most ``max_rows`` rows."""
    t, n, d = z.shape
    rng = np.random.default_rng(seed)
    if n > max_rows:
        z = z[:, np.sort(rng.choice(n, max_rows, replace=False))]
    z = np.ascontiguousarray(z, np.float32)       # single precision: the contrast needs no more, and it is 3× faster
    zt = np.ascontiguousarray(z.transpose(0, 2, 1))
    a = _symmetric_decorrelation(rng.standard_normal((t, d, d)))
    for _ in range(iterations):
        g = np.tanh(np.einsum("tnd,tdk->tnk", z, a.astype(np.float32), optimize=True))
        g_prime = 1.0 - np.einsum("tnk,tnk->tk", g, g) / z.shape[1]
        new = _symmetric_decorrelation((zt @ g).astype(np.float64) / z.shape[1] - a * g_prime[:, None, :])
        change = np.max(np.abs(np.abs(np.einsum("tdk,tdk->tk", new, a)) - 1))
        a = new
        if change < tol:
            break
    return a


def quantile_functions(s: np.ndarray, levels: int = 200) -> np.ndarray:
    """(t, n, d) components → (t, d, levels) the quantile function of each, standardized (mean 0, variance 1),
    at the levels (k + ½)/levels."""
    s = (s - s.mean(axis=1, keepdims=True)) / np.maximum(s.std(axis=1, keepdims=True), 1e-12)
    return np.quantile(s, (np.arange(levels) + 0.5) / levels, axis=1).transpose(1, 2, 0)


def match_components(quantiles_x: np.ndarray, quantiles_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per position, which public component each disguised one is, the sign that aligns them, and the
    assignment's cost: (t, d) indices, (t, d) ±1, (t,). Components are compared whole — the mean absolute gap
    between their standardized quantile functions, a negated component's being −Q(1 − p) — and assigned by the
    Hungarian method. (Four moments pair components of close skewness wrongly; the quantiles do not.)"""
    t, d, _ = quantiles_x.shape
    negated = -quantiles_x[..., ::-1]
    same = np.abs(quantiles_y[:, :, None] - quantiles_x[:, None]).mean(-1)      # (t, d_y, d_x)
    flipped = np.abs(quantiles_y[:, :, None] - negated[:, None]).mean(-1)
    cost = np.minimum(same, flipped)
    order, signs, total = np.empty((t, d), int), np.empty((t, d)), np.empty(t)
    for i in range(t):  # per block position (≤ 64): d × d assignments
        rows, cols = linear_sum_assignment(cost[i])
        order[i, rows] = cols
        signs[i, rows] = np.where(same[i, rows, cols] <= flipped[i, rows, cols], 1.0, -1.0)
        total[i] = cost[i, rows, cols].sum()
    return order, signs, total


def moment_tensors(z: np.ndarray, max_rows: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Third and fourth moment tensors of whitened rows (t, n, d) → (t, d, d, d), (t, d, d, d, d)."""
    z = np.asarray(z[:, :max_rows], np.float64)
    n = z.shape[1]
    zz = np.einsum("tni,tnj->tnij", z, z).reshape(*z.shape[:2], -1)                  # (t, n, d²)
    m3 = (zz.transpose(0, 2, 1) @ z / n).reshape(z.shape[0], *(z.shape[2],) * 3)
    m4 = (zz.transpose(0, 2, 1) @ zz / n).reshape(z.shape[0], *(z.shape[2],) * 4)
    return m3, m4


def refine_rotation(zx: np.ndarray, zy: np.ndarray, starts: np.ndarray, *, steps: int = 150,
                    lr: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """The orthogonal maps P from disguised to public whitened rows that best carry the disguised rows'
    third and fourth moment tensors onto the public rows' (least squares), one from each start: ``starts``
    (t, K, d, d) → (P (t, K, d, d), the loss of each (t, K)). P = start · exp(S − Sᵀ), Adam on S, all
    positions and starts at once."""
    import torch

    m3x, m4x = (torch.as_tensor(m)[:, None] for m in moment_tensors(zx))
    m3y, m4y = (torch.as_tensor(m)[:, None] for m in moment_tensors(zy))
    q0 = torch.as_tensor(starts)
    skew = torch.zeros_like(q0, requires_grad=True)
    opt = torch.optim.Adam([skew], lr=lr)

    def loss_of(p):
        k = p.shape[1]
        m3 = torch.einsum("sxijk,sxia,sxjb,sxkc->sxabc", m3y.expand(-1, k, -1, -1, -1), p, p, p)
        m4 = torch.einsum("sxijkl,sxia,sxjb,sxkc,sxld->sxabcd", m4y.expand(-1, k, -1, -1, -1, -1), p, p, p, p)
        return ((m3 - m3x) ** 2).sum((2, 3, 4)) + ((m4 - m4x) ** 2).sum((2, 3, 4, 5))

    rotate = lambda: q0 @ torch.linalg.matrix_exp(skew - skew.transpose(-1, -2))  # noqa: E731
    for _ in range(steps):
        opt.zero_grad()
        loss_of(rotate()).sum().backward()
        opt.step()
    with torch.no_grad():
        p = rotate()
        return p.numpy(), loss_of(p).numpy()


def higher_order_attack(public_plain: np.ndarray, observed_disguised: np.ndarray, target_disguised: np.ndarray,
                        *, mode: str = "matrix", public_noised: np.ndarray | None = None, seed: int = 0,
                        iterations: int = 200, restarts: int = 8, refine_steps: int = 150) -> np.ndarray:
    """Blocks (t, P, b, b) of public images at the original positions of the disguised positions (and,
    with noise before the transform, the same blocks noised as the public setting says), the disguised
    blocks (t, N, b, b) the cloud holds, and the targets → reconstructed (t, n, b, b) float32."""
    if mode not in ("matrix", "flat"):
        raise ValueError(f"mode must be 'matrix' or 'flat'; got {mode!r}.")
    t, n, b, _ = target_disguised.shape
    clean = _rows(np.asarray(public_plain, np.float64), mode)
    noised = clean if public_noised is None else _rows(np.asarray(public_noised, np.float64), mode)
    observed = _rows(np.asarray(observed_disguised, np.float64), mode)
    zx, _, wx_inv, mean_x = whiten(noised)
    zy, wy, _, mean_y = whiten(observed)
    ax = fast_ica(zx, seed=seed, iterations=iterations)
    quantiles_x = quantile_functions(zx @ ax)
    starts, match_cost = [], []
    for r in range(restarts):  # FastICA's optima depend on its start: each start paired, composed, then refined
        ay = fast_ica(zy, seed=seed + 1 + r, iterations=iterations)
        order, signs, cost = match_components(quantiles_x, quantile_functions(zy @ ay))
        # Disguised component k is public component order[k] times signs[k]: z_x = z_y A_y S Pᵀ A_xᵀ
        ax_matched = np.take_along_axis(ax, order[:, None, :], axis=2) * signs[:, None, :]   # (t, d, d)
        starts.append(ay @ ax_matched.transpose(0, 2, 1))                                    # z_y → z_x
        match_cost.append(cost)
    starts = np.stack(starts, axis=1)                                                         # (t, K, d, d)
    if zx.shape[2] <= MAX_TENSOR_DIM and t * zx.shape[2] ** 4 <= TENSOR_BUDGET:   # d⁴-entry tensors: where small
        starts, loss = refine_rotation(zx, zy, starts, steps=refine_steps)
    else:                               # flat mode (d = b²): the start whose components' distributions pair best
        loss = np.stack(match_cost, axis=1)
    q_inv = starts[np.arange(t), np.argmin(loss, axis=1)]   # per position, the start that matches best
    target = _rows(np.asarray(target_disguised, np.float64), mode)
    recon = (target - mean_y) @ wy @ q_inv @ wx_inv                                        # x + n, centred
    if public_noised is not None:  # the linear MMSE estimate of x from x + n: Σ_{x+n}⁻¹ Σ_x, both measured publicly
        cov_clean, cov_noised = _centred_covariance(clean)[1], _centred_covariance(noised)[1]
        recon = recon @ np.linalg.solve(cov_noised, cov_clean)
        recon = recon + clean.mean(axis=1, keepdims=True)
    else:
        recon = recon + mean_x
    return recon.astype(np.float32).reshape(t, n, b, b)  # raw: the attacker's clean-up clips

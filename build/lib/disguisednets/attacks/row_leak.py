"""Row-leak attack on noiseless RMT (ciphertext only, level (a); docs/method.md §4).

In matrix mode a block row x (1×b) is disguised as y = x R_i. A row with a single non-zero pixel
x_j = c gives y = c R_i[j]: a scaled row of the secret matrix, in the clear. Natural images have
many such rows (a stroke's edge), so the rows of R_i are the *extreme rays* of the cone spanned by
the disguised rows of position i (pixels are ≥ 0): every other row is a non-negative combination
of them. The attack finds them without any pair:

1. per position, the most frequent directions y/|y| among the observed disguised rows;
2. the extreme rays among them (a direction that no non-negative combination of the others
   reproduces, by NNLS);
3. which pixel column each ray belongs to, and its scale: the columns of Y D⁻¹ are matched to the
   pixel columns of public images at that position (their correlations and shares of zero pixels,
   over every one-to-one map); orthogonal R_i have unit rows, Gaussian ones get the scale of the
   public images' non-zero pixels;
4. reconstruct X = Y D⁻¹ with the rows so ordered.

Uniform noise before the transform leaves no single-pixel row, and the attack finds nothing.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

__all__ = ["row_leak_attack"]


def _extreme_directions(rows: np.ndarray, b: int, candidates: int, orthogonal: bool = True,
                        decimals: int = 4) -> np.ndarray:
    """Up to ``b`` unit directions (k, b): the most frequent extreme rays of the rows' cone that are
    orthogonal to one another (orthogonal R) or keep the matrix well conditioned (Gaussian R)."""
    norm = np.linalg.norm(rows, axis=1)
    live = norm > 1e-6 * max(float(norm.max(initial=0.0)), 1e-12)
    if not live.any():
        return np.zeros((0, b))
    unit = np.round(rows[live] / norm[live, None], decimals)
    dirs, counts = np.unique(unit, axis=0, return_counts=True)
    top = np.argsort(-counts, kind="stable")[:candidates]
    dirs, counts = dirs[top], counts[top]
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    extreme = []
    for k in range(len(dirs)):
        others = dirs[np.abs(dirs @ dirs[k]) < 0.999]  # not the ray itself (or its rounding twins)
        residual = nnls(others.T, dirs[k])[1] if len(others) else 1.0
        if residual > 0.05:
            extreme.append(k)
    # most frequent first; drop near-duplicates
    chosen: list[int] = []
    for k in sorted(extreme, key=lambda k: -counts[k]):
        if orthogonal:
            fits = all(abs(dirs[k] @ dirs[c]) < 0.05 for c in chosen)
        else:
            fits = np.linalg.cond(dirs[chosen + [k]]) < 1e3
        if fits:
            chosen.append(k)
        if len(chosen) == b:
            break
    return dirs[chosen]


def _corr(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    sd = np.sqrt((x ** 2).mean(axis=0))
    sd[sd == 0] = 1.0
    return (x.T @ x) / len(x) / np.outer(sd, sd)


def _assign(x_hat: np.ndarray, pub: np.ndarray, orthogonal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Which pixel column (of b) each of the k found columns is: the injective map that best matches
    the public images' column correlations and shares of zero pixels (and, for orthogonal R, where
    the scale is exact, their means). All b!/(b−k)! maps are scored at once (5,040 for b = 7)."""
    from itertools import permutations

    k, b = x_hat.shape[1], pub.shape[1]
    maps = np.array(list(permutations(range(b), k)))                       # (M, k)
    c_hat, c_pub = _corr(x_hat), _corr(pub)
    cost = ((c_hat[None] - c_pub[maps[:, :, None], maps[:, None, :]]) ** 2).sum(axis=(1, 2))
    zero_hat = (np.abs(x_hat) < 1e-3 * np.abs(x_hat).max()).mean(axis=0)
    cost += 4 * np.abs(zero_hat[None] - (pub == 0).mean(axis=0)[maps]).sum(axis=1)
    if orthogonal:
        cost += 4 * np.abs(x_hat.mean(axis=0)[None] - pub.mean(axis=0)[maps]).sum(axis=1) / 255
    best = maps[int(np.argmin(cost))]
    return np.arange(k), best


def row_leak_attack(observed_blocks: np.ndarray, target_blocks: np.ndarray, public_blocks: np.ndarray, *,
                    orthogonal: bool = True, candidates: int = 300,
                    max_rows: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruct target blocks (t, N, b, b) from disguised blocks only.

    ``observed_blocks`` (t, M, b, b): the disguised data the cloud holds (block positions in the
    disguised image's order); ``public_blocks`` (t, P, b, b): public originals at the matching
    original positions. Returns (reconstructed blocks, directions (t, b, b) with NaN rows where a
    position's row was not found).
    """
    t, _, b, _ = observed_blocks.shape
    out = np.zeros(target_blocks.shape, np.float64)
    found = np.full((t, b, b), np.nan)
    for i in range(t):  # per block position (each has its own R_i), vectorized over images and rows
        rows = observed_blocks[i].reshape(-1, b).astype(np.float64)[:max_rows]
        d = _extreme_directions(rows, b, candidates, orthogonal)
        if not len(d):
            continue
        inverse = d.T if orthogonal else np.linalg.pinv(d)  # orthonormal rows: D⁻¹ = Dᵀ, exact
        x_hat = rows @ inverse                              # (rows, k): the pixel columns, order unknown
        pub = public_blocks[i].reshape(-1, b).astype(np.float64)
        k_idx, j_idx = _assign(x_hat, pub, orthogonal)
        scale = np.ones(len(d))
        if not orthogonal:  # |R_i[j]| unknown: match the mean non-zero pixel of the public images
            for k, j in zip(k_idx, j_idx):
                nz_hat = np.abs(x_hat[:, k])[np.abs(x_hat[:, k]) > 1e-3 * np.abs(x_hat[:, k]).max()]
                nz_pub = pub[:, j][pub[:, j] > 0]
                if len(nz_hat) and len(nz_pub):
                    scale[k] = nz_pub.mean() / nz_hat.mean()
        rows_t = target_blocks[i].reshape(-1, b).astype(np.float64) @ inverse
        recon = np.zeros((len(rows_t), b))
        recon[:, j_idx] = rows_t[:, k_idx] * scale[k_idx]
        out[i] = recon.reshape(target_blocks[i].shape)
        found[i, j_idx] = d[k_idx] / scale[k_idx, None]
    return out.astype(np.float32), found

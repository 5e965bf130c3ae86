"""The denoising attack on DP pixelization (docs/method.md §6 "Peers"), level (a).

DP pixelization has no secret: b, m and ε are public settings, so the attacker pixelizes public images
and adds Laplace noise of the same scale itself, and fits the least-squares linear map from noisy cell
means (with an intercept) back to the full images — the best linear (MMSE) estimate of an image from its
release, given the public images' statistics. It undoes what noise it can and fills each cell with the
pixels that images like the public ones have there.
"""

from __future__ import annotations

import numpy as np

from disguisednets.mechanisms.pixelization import pixelize

__all__ = ["dp_denoise_attack"]


def dp_denoise_attack(public: np.ndarray, target: np.ndarray, block_size: int, scale: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Public (M, H, W) originals and released (N, H, W) targets → (N, H, W) float32 estimates.

    ``scale``: the Laplace scale of a cell mean (0: pixelization alone). The fit is the minimum-norm
    least-squares solution, defined also for cells blank in every public image."""
    public = np.asarray(public, np.float64)
    n_pub, h, w = public.shape
    z = pixelize(public, block_size)
    if scale > 0:
        z += rng.laplace(0.0, scale, size=z.shape)
    feats = np.concatenate([z, np.ones((n_pub, 1))], axis=1)
    coef = np.linalg.lstsq(feats, public.reshape(n_pub, -1), rcond=None)[0]     # (t + 1, H·W)
    cells = pixelize(target, block_size)  # a released image is constant on each cell: its means are the release
    est = np.concatenate([cells, np.ones((len(cells), 1))], axis=1) @ coef
    return est.reshape(len(cells), h, w).astype(np.float32)

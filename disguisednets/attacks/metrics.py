"""Attack metrics (SPEC §4): success rate, hit rates, reconstruction error (MSE, SSIM)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

__all__ = ["success_rate", "mse", "ssim", "hit_rates"]


def success_rate(acc_attacked: float, acc_original: float) -> float:
    """100 × examiner accuracy on reconstructed (or disguised) images / accuracy on originals."""
    if acc_original <= 0:
        raise ValueError("The examiner's accuracy on the original images is 0; the success rate is undefined.")
    return 100.0 * acc_attacked / acc_original


def mse(reconstructed: np.ndarray, original: np.ndarray) -> float:
    """Mean squared error per pixel on the 0..255 scale."""
    return float(np.mean((np.asarray(reconstructed, np.float64) - np.asarray(original, np.float64)) ** 2))


def ssim(reconstructed: np.ndarray, original: np.ndarray, data_range: float = 255.0, window: int = 7) -> float:
    """Mean structural similarity (Wang et al. 2004) over (N, H, W) images, uniform 7×7 window."""
    x = np.asarray(reconstructed, np.float64)
    y = np.asarray(original, np.float64)
    size = (1, window, window)
    mx, my = uniform_filter(x, size), uniform_filter(y, size)
    n = window * window
    cov = n / (n - 1)  # unbiased local (co)variances, as in the reference implementation
    vx = cov * (uniform_filter(x * x, size) - mx * mx)
    vy = cov * (uniform_filter(y * y, size) - my * my)
    vxy = cov * (uniform_filter(x * y, size) - mx * my)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = window // 2
    return float(s[:, pad:-pad or None, pad:-pad or None].mean())


def hit_rates(hits: np.ndarray, foreground: np.ndarray) -> dict[str, float]:
    """Fraction of attacked units found in the codebook, over all units and over the units whose
    original pixels are not all background (zero)."""
    hits = np.asarray(hits, bool)
    foreground = np.asarray(foreground, bool)
    out = {"hit_rate": float(hits.mean())}
    out["hit_rate_foreground"] = float(hits[foreground].mean()) if foreground.any() else float("nan")
    return out

"""Attack metrics (docs/method.md §4): success rate, linkage rate, hit rates, reconstruction error (MSE, SSIM)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

__all__ = ["success_rate", "linkage_rate", "mse", "ssim", "hit_rates", "images_recovered", "recovered_ssim"]


def success_rate(acc_attacked: float, acc_original: float) -> float:
    """100 × examiner accuracy on reconstructed (or disguised) images / accuracy on originals."""
    if acc_original <= 0:
        raise ValueError("The examiner's accuracy on the original images is 0; the success rate is undefined.")
    return 100.0 * acc_attacked / acc_original


def _unit_rows(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) → rows centred and scaled to unit norm (float32), and which rows are not constant."""
    x = np.asarray(images, np.float32).reshape(len(images), -1)
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    varies = norm[:, 0] > 1e-6
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 1e-6), varies


def _best_matches(reconstructed: np.ndarray, originals: np.ndarray, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """For each reconstruction, the index of the original of highest normalised correlation with it, and
    whether it is not constant; blocks of ``chunk`` rows, each one matrix product against all originals."""
    r, r_varies = _unit_rows(reconstructed)
    o, _ = _unit_rows(originals)
    best = np.concatenate([(r[s:s + chunk] @ o.T).argmax(axis=1) for s in range(0, len(r), chunk)] or
                          [np.zeros(0, np.int64)])
    return best, r_varies


def linkage_rate(reconstructed: np.ndarray, originals: np.ndarray, chunk: int = 2048,
                 candidates: np.ndarray | None = None) -> float:
    """Examiner-free re-identification (docs/method.md §4), in %: the share of reconstructed images whose own
    original (same index) is, of all ``originals``, the one of highest normalised (Pearson)
    correlation with them. A constant reconstruction links to nothing; chance is 100/N.

    Blocks of ``chunk`` rows against all originals, one matrix product each (10,000 × 10,000 in
    seconds). ``candidates`` (N, k): a reconstruction also counts as linked when its best match is any of
    its row's originals (InstaHide: the k images mixed into the encoding it came from)."""
    if len(reconstructed) != len(originals):
        raise ValueError(f"linkage_rate needs one original per reconstruction; got {len(reconstructed)} "
                         f"reconstructions and {len(originals)} originals.")
    if len(originals) == 0:
        raise ValueError("linkage_rate needs at least one image.")
    best, r_varies = _best_matches(reconstructed, originals, chunk)
    linked = (best == np.arange(len(best)) if candidates is None else (best[:, None] == candidates).any(axis=1))
    return 100.0 * float(np.mean(linked & r_varies))


def images_recovered(reconstructed: np.ndarray, originals: np.ndarray, candidates: np.ndarray) -> float:
    """The share (%) of distinct ``originals`` that some reconstruction links to, counting a link only to one
    of its row's ``candidates`` (N, k) (InstaHide: the images its encoding mixes) — Carlini et al.'s "how many
    private images came back", as a share of the private set."""
    best, r_varies = _best_matches(reconstructed, originals)
    ok = r_varies & (best[:, None] == candidates).any(axis=1)
    return 100.0 * len(np.unique(best[ok])) / len(originals)


def recovered_ssim(reconstructed: np.ndarray, originals: np.ndarray, candidates: np.ndarray) -> float:
    """How close the images that came back are: the mean SSIM of each reconstruction that links to one of its
    row's ``candidates`` against the original it links to (InstaHide: the mixed image it recovered, not
    necessarily its encoding's own); nan when none links."""
    best, r_varies = _best_matches(reconstructed, originals)
    ok = r_varies & (best[:, None] == candidates).any(axis=1)
    if not ok.any():
        return float("nan")
    return ssim(np.clip(np.asarray(reconstructed)[ok], 0, 255), np.asarray(originals)[best[ok]])


def mse(reconstructed: np.ndarray, original: np.ndarray) -> float:
    """Mean squared error per pixel on the 0..255 scale."""
    return float(np.mean((np.asarray(reconstructed, np.float64) - np.asarray(original, np.float64)) ** 2))


def ssim(reconstructed: np.ndarray, original: np.ndarray, data_range: float = 255.0, window: int = 7) -> float:
    """Mean structural similarity (Wang et al. 2004) over (N, H, W) images, uniform 7×7 window; over
    (N, H, W, C) colour images, the mean of each channel's (as scikit-image's ``channel_axis``).

    float32 on pixels centred at mid-range (local variances are shift-invariant; the means get the
    shift back), so that E[x²] − E[x]² loses nothing that matters against c2."""
    mid = np.float32(data_range / 2)
    x = np.asarray(reconstructed, np.float32) - mid
    y = np.asarray(original, np.float32) - mid
    size = (1, window, window) + (1,) * (x.ndim - 3)   # never across images or channels
    mx, my = uniform_filter(x, size), uniform_filter(y, size)
    n = window * window
    cov = np.float32(n / (n - 1))  # unbiased local (co)variances, as in the reference implementation
    vx = cov * (uniform_filter(x * x, size) - mx * mx)
    vy = cov * (uniform_filter(y * y, size) - my * my)
    vxy = cov * (uniform_filter(x * y, size) - mx * my)
    mx += mid
    my += mid
    c1, c2 = np.float32((0.01 * data_range) ** 2), np.float32((0.03 * data_range) ** 2)
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = window // 2
    return float(s[:, pad:-pad or None, pad:-pad or None].mean(dtype=np.float64))


def hit_rates(hits: np.ndarray, foreground: np.ndarray) -> dict[str, float]:
    """Share (%) of attacked units found in the codebook, over all units and over the units whose
    original pixels are not all background (zero)."""
    hits = np.asarray(hits, bool)
    foreground = np.asarray(foreground, bool)
    out = {"hit_rate": 100.0 * float(hits.mean())}
    out["hit_rate_foreground"] = 100.0 * float(hits[foreground].mean()) if foreground.any() else float("nan")
    return out

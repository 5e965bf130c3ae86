"""The attacker's clean-up (docs/method.md §4): a reconstruction is the attacker's best image, not the raw
output of a linear map, so every reconstruction attack ends with a domain prior fitted only on
what that attacker knows.

- Always: clip to the pixel range 0..255.
- With at least two known pairs: a Gaussian denoise of width σ, then a background threshold τ
  (pixels below τ become 0), both chosen to minimise the squared error on *cross-fitted*
  reconstructions of the attacker's own known images (each reconstructed by the attack fitted
  without it; :func:`disguisednets.attacks.registry.cross_fit`). σ = 0, τ = 0 (clip only) is a
  candidate, so the fit never makes those reconstructions worse.
- Otherwise (no pairs, or one): τ such that the reconstructions have the share of background
  (zero) pixels of the originals the attacker holds (its known pair, else public images of the
  domain); σ = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

__all__ = ["Cleanup", "SIGMAS", "THRESHOLDS", "fit_cleanup", "prior_cleanup"]

SIGMAS = (0.0, 0.5, 0.8, 1.2)                   # denoise widths tried (pixels)
THRESHOLDS = np.arange(0.0, 161.0, 4.0)          # background thresholds tried (grey levels)


@dataclass(frozen=True)
class Cleanup:
    """Clip to 0..255, blur with a Gaussian of width ``sigma`` (0: none), set pixels below
    ``threshold`` to 0."""

    sigma: float = 0.0
    threshold: float = 0.0
    fitted_on: str = "nothing"

    def __call__(self, images: np.ndarray) -> np.ndarray:
        x = _denoise(np.clip(np.asarray(images, np.float32), 0, 255), self.sigma)
        return np.where(x < self.threshold, np.float32(0), x).astype(np.float32)

    def describe(self) -> str:
        return f"clip, blur σ={self.sigma:g}, threshold {self.threshold:g} (fitted on {self.fitted_on})"


def _denoise(x: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(x, sigma=(0, sigma, sigma), mode="nearest") if sigma > 0 else x


def fit_cleanup(reconstructed: np.ndarray, originals: np.ndarray, fitted_on: str = "cross-fitted known pairs"
                ) -> Cleanup:
    """The (σ, τ) of the grid that minimises the mean squared error of cleaned ``reconstructed``
    images against their ``originals`` (N, H, W). For each σ every τ is scored at once: sort the
    pixels, and the error of a threshold is the error of keeping everything plus the cumulative
    change of zeroing the pixels below it."""
    truth = np.asarray(originals, np.float64).reshape(-1)
    if np.asarray(reconstructed).shape != np.asarray(originals).shape:
        raise ValueError(f"fit_cleanup needs reconstructions and originals of one shape; got "
                         f"{np.asarray(reconstructed).shape} and {np.asarray(originals).shape}.")
    best = (np.inf, 0.0, 0.0)
    for sigma in SIGMAS:
        x = _denoise(np.clip(np.asarray(reconstructed, np.float32), 0, 255), sigma).reshape(-1).astype(np.float64)
        keep = (x - truth) ** 2
        order = np.argsort(x, kind="stable")
        gain = np.concatenate([[0.0], np.cumsum(truth[order] ** 2 - keep[order])])  # zero the k smallest
        k = np.searchsorted(x[order], THRESHOLDS, side="left")                     # pixels below each τ
        errors = keep.sum() + gain[k]
        i = int(np.argmin(errors))
        if errors[i] < best[0]:  # ties keep the milder clean-up (smaller σ, then τ)
            best = (float(errors[i]), sigma, float(THRESHOLDS[i]))
    return Cleanup(sigma=best[1], threshold=best[2], fitted_on=fitted_on)


def prior_cleanup(reconstructed: np.ndarray, reference: np.ndarray | None, fitted_on: str) -> Cleanup:
    """Clip, and threshold at the quantile that gives ``reconstructed`` the share of zero pixels of
    the ``reference`` originals (none: clip only). An exact reconstruction is left as it is."""
    if reference is None or len(reference) == 0:
        return Cleanup(fitted_on="nothing (clip only)")
    background = float(np.mean(np.asarray(reference) == 0))
    x = np.clip(np.asarray(reconstructed, np.float32), 0, 255)
    threshold = float(np.quantile(x, background)) if background > 0 else 0.0
    return Cleanup(threshold=threshold, fitted_on=fitted_on)

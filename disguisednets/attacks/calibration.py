"""The examiner's calibration set (docs/method.md §4): original test images under perturbations a person
shrugs off. An examiner that stands in for a person must recognise them about as well as the
clean originals; each examiner's accuracy on every perturbation is logged with the attacks it
scores, relative to its accuracy on the clean images.

The set is fixed: the dataset's whole test set, each perturbation drawn from seed 0, clipped to
0..255. The perturbations sit inside the ranges the robust examiner is trained with
(:class:`disguisednets.augment.PersonInvariances`); the paper-protocol examiner sees none of them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.ndimage import gaussian_filter

__all__ = ["PERTURBATIONS", "calibration_set", "calibrate"]


def _shift(x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    out[:, 1:, 1:] = x[:, :-1, :-1]  # one pixel right and down, zeros enter
    return out


PERTURBATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "noise_pm20": lambda x, rng: x + rng.uniform(-20, 20, x.shape),
    "noise_pm50": lambda x, rng: x + rng.uniform(-50, 50, x.shape),
    "noise_0_100": lambda x, rng: x + rng.uniform(0, 100, x.shape),
    "gauss_25": lambda x, rng: x + rng.normal(0, 25, x.shape),
    "offset_40": lambda x, rng: x + 40,
    "contrast_0.7": lambda x, rng: 0.7 * x,
    "blur_1": lambda x, rng: gaussian_filter(x, sigma=(0, 1, 1) + (0,) * (x.ndim - 3), mode="nearest"),  # not across channels
    "shift_1": lambda x, rng: _shift(x),
}


def calibration_set(images: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Every perturbation of (N, H, W) or (N, H, W, C) images, float32 on 0..255."""
    x = np.asarray(images, np.float32)
    rng = np.random.default_rng(seed)
    return {name: np.clip(f(x, rng), 0, 255).astype(np.float32) for name, f in PERTURBATIONS.items()}


def calibrate(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
              seed: int = 0) -> dict[str, float]:
    """``clean``: accuracy (%) on the images; each perturbation: accuracy relative to clean (%)."""
    labels = np.asarray(labels)
    clean = float(np.mean(predict(images) == labels))
    if clean <= 0:
        raise ValueError("The examiner's accuracy on the clean calibration images is 0; it cannot be calibrated.")
    out = {"clean": 100.0 * clean}
    for name, x in calibration_set(images, seed).items():
        out[name] = 100.0 * float(np.mean(predict(x) == labels)) / clean
    return out

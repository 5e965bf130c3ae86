"""Attacks on InstaHide encodings (docs/method.md §6 "Peers").

An encoding is e = σ ⊙ Σ_j λ_j x̃_j with x̃ = (x − μ)/s (the domain's public mean and std) and a random
sign σ per pixel. Since Σ_j λ_j = 1, s·e = ±(Σ_j λ_j x_j − μ): the sign hides nothing of the magnitude
(Carlini et al., "Is private learning possible with instance encoding?", 2021, step 1), and the
mixture m = Σ_j λ_j x_j is μ ± s·|e|. :func:`mixture_picture` takes μ + s|e| where s|e| > μ (m > μ: it
must be) and μ − s|e| otherwise (the common dark background, m < μ, is the likelier side), which gives
m exactly except where μ < m < 2μ: the k images superimposed, weighted by their coefficients.
Scored against the encoding's own image (its first term).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mixture_picture"]


def mixture_picture(encodings: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The mixture Σ_j λ_j x_j read off encodings with their signs dropped, 0..255 float32."""
    a = std * np.abs(np.asarray(encodings, np.float32))
    return np.clip(np.where(a > mean, mean + a, mean - a), 0, 255).astype(np.float32)

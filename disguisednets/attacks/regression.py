"""Regression attack on RMT (paper §IV-B "Projection Matrix Estimation", docs/method.md §4), level (b).

Per block position, fit the inverse map directly by least squares from the m known pairs,
X_i ≈ Y_i W_i + c_i (the intercept absorbs the noise's mean), and apply it to the attacked
blocks (``form='inverse'``, the default). ``form='forward'`` is the paper's variant: estimate
Y_i ≈ X_i R̂_i + c_i and reconstruct with the pseudo-inverse of R̂_i. Minimum-norm solutions
(pseudo-inverse) keep both defined when the pairs are too few. Batched over positions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FORMS", "forward_fit", "regression_attack"]

FORMS = ("inverse", "forward")


def _rows(blocks: np.ndarray, mode: str) -> np.ndarray:
    """(t, N, b, b) → the rows the transform acts on: (t, N·b, b) for 'matrix', (t, N, b²) for 'flat'."""
    t, n, b, _ = blocks.shape
    return blocks.reshape(t, n * b, b) if mode == "matrix" else blocks.reshape(t, n, b * b)


def _centred_covariance(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, n, d) rows → (the rows centred per position, their covariances (t, d, d), unbiased)."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    return centred, np.einsum("tnd,tne->tde", centred, centred) / max(rows.shape[1] - 1, 1)


def _with_intercept(rows: np.ndarray) -> np.ndarray:
    return np.concatenate([rows, np.ones((*rows.shape[:2], 1), rows.dtype)], axis=2)


def forward_fit(x_rows: np.ndarray, y_rows: np.ndarray) -> np.ndarray:
    """Per position, the minimum-norm least squares Y ≈ [X 1] coef: (t, d+1, d), R̂ over the intercept row."""
    return np.linalg.pinv(_with_intercept(x_rows)) @ y_rows


def regression_attack(known_plain: np.ndarray, known_disguised: np.ndarray, target_disguised: np.ndarray, *,
                      mode: str = "matrix", form: str = "inverse") -> np.ndarray:
    """Blocks (t, m, b, b) of known pairs aligned by position → reconstructed (t, n, b, b) float32."""
    if form not in FORMS:
        raise ValueError(f"The regression attack's form must be one of {FORMS}; got {form!r}.")
    if mode not in ("matrix", "flat"):
        raise ValueError(f"mode must be 'matrix' or 'flat'; got {mode!r}.")
    t, n, b, _ = target_disguised.shape
    x = _rows(known_plain.astype(np.float64), mode)
    y = _rows(known_disguised.astype(np.float64), mode)
    target = _rows(target_disguised.astype(np.float64), mode)
    if form == "inverse":
        w = np.linalg.pinv(_with_intercept(y)) @ x               # (t, d+1, d)
        recon = _with_intercept(target) @ w
    else:
        coef = forward_fit(x, y)                                 # Y ≈ X R̂ + c
        r_hat, c = coef[:, :-1], coef[:, -1:]
        recon = (target - c) @ np.linalg.pinv(r_hat)
    return recon.astype(np.float32).reshape(t, n, b, b)  # raw: the attacker's clean-up clips

"""Covariance-matching attack on orthogonal RMT, level (a): public same-domain images, no pairs
(SPEC §4, beyond the paper).

For rows x of a block and y = x R with R orthogonal, Σ_y = Rᵀ Σ_x R: the eigenvectors V of the
disguised rows' covariance are Rᵀ U up to sign, U those of public images' rows at the same
position. Hence R̂ = U S Vᵀ, with the signs S chosen so the third moments of the projections
agree, and X̂ = Y R̂ᵀ. Uniform noise adds (u²/12)·I to Σ_x and changes no eigenvector.
"""

from __future__ import annotations

import numpy as np

from disguisednets.attacks.regression import _rows

__all__ = ["covariance_attack", "estimate_rotations"]


def _eig(rows: np.ndarray):
    centred = rows - rows.mean(axis=1, keepdims=True)
    cov = np.einsum("tnd,tne->tde", centred, centred) / max(rows.shape[1] - 1, 1)
    return np.linalg.eigh(cov)  # ascending eigenvalues, (t, d), (t, d, d)


def estimate_rotations(public_rows: np.ndarray, disguised_rows: np.ndarray) -> np.ndarray:
    """(t, P, d) public rows and (t, N, d) disguised rows of the same positions → R̂ (t, d, d)."""
    _, u = _eig(public_rows)
    _, v = _eig(disguised_rows)
    skew_x = np.mean((public_rows @ u) ** 3, axis=1)      # (t, d) raw third moments of projections
    skew_y = np.mean((disguised_rows @ v) ** 3, axis=1)
    signs = np.sign(skew_x) * np.sign(skew_y)
    signs[signs == 0] = 1
    return (u * signs[:, None, :]) @ v.transpose(0, 2, 1)


def covariance_attack(public_plain: np.ndarray, observed_disguised: np.ndarray, target_disguised: np.ndarray,
                      *, mode: str = "matrix") -> np.ndarray:
    """Blocks (t, P, b, b) of public images at the original positions of the disguised positions,
    the disguised blocks (t, N, b, b) the cloud sees, and the targets → (t, n, b, b) float32."""
    t, n, b, _ = target_disguised.shape
    r_hat = estimate_rotations(_rows(public_plain.astype(np.float64), mode),
                               _rows(observed_disguised.astype(np.float64), mode))
    recon = _rows(target_disguised.astype(np.float64), mode) @ r_hat.transpose(0, 2, 1)
    return np.clip(recon, 0, 255).astype(np.float32).reshape(t, n, b, b)

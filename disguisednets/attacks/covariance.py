"""Covariance-matching attack on orthogonal RMT, level (a): public same-domain images, no pairs
(docs/method.md §4, beyond the paper).

For rows x of a block and y = x R with R orthogonal, Σ_y = Rᵀ Σ_x R: the eigenvectors V of the
disguised rows' covariance are Rᵀ U up to sign, U those of public images' rows at the same
position. Hence R̂ = U S Vᵀ, with the signs S chosen so the third central moments of the
projections agree, and X̂ = (Y − μ_y) R̂ᵀ + μ_x (means matched to the public images'). Uniform
noise adds σ²·I (σ² = u²/12) to Σ_x, which changes no eigenvector, and shifts the mean, which the
mean matching removes; its third central moment is zero. The attacker estimates σ² as the median
gap between the disguised and public eigenvalues and shrinks each eigen-coordinate by
λ_k / (λ_k + σ²) (a Wiener filter), which undoes none of the rotation but much of the noise.
"""

from __future__ import annotations

import numpy as np

from disguisednets.attacks.regression import _centred_covariance, _rows

__all__ = ["covariance_attack", "estimate_rotations"]


def _centred_eig(rows: np.ndarray):
    centred, cov = _centred_covariance(rows)
    values, vectors = np.linalg.eigh(cov)  # ascending eigenvalues; (t, d), (t, d, d)
    return centred, values, vectors


def _aligned_bases(public_rows: np.ndarray, disguised_rows: np.ndarray):
    cx, lx, u = _centred_eig(public_rows)
    cy, ly, v = _centred_eig(disguised_rows)
    skew_x = np.mean((cx @ u) ** 3, axis=1)      # (t, d) third central moments of the projections
    skew_y = np.mean((cy @ v) ** 3, axis=1)
    signs = np.sign(skew_x) * np.sign(skew_y)
    signs[signs == 0] = 1
    return u, v * signs[:, None, :], lx, ly


def estimate_rotations(public_rows: np.ndarray, disguised_rows: np.ndarray) -> np.ndarray:
    """(t, P, d) public rows and (t, N, d) disguised rows of the same positions → R̂ (t, d, d)."""
    u, v, _, _ = _aligned_bases(public_rows, disguised_rows)
    return u @ v.transpose(0, 2, 1)


def covariance_attack(public_plain: np.ndarray, observed_disguised: np.ndarray, target_disguised: np.ndarray,
                      *, mode: str = "matrix") -> np.ndarray:
    """Blocks (t, P, b, b) of public images at the original positions of the disguised positions,
    the disguised blocks (t, N, b, b) the cloud sees, and the targets → (t, n, b, b) float32."""
    t, n, b, _ = target_disguised.shape
    public = _rows(public_plain.astype(np.float64), mode)
    observed = _rows(observed_disguised.astype(np.float64), mode)
    u, v, lx, ly = _aligned_bases(public, observed)
    noise_var = np.maximum(np.median(ly - lx, axis=1, keepdims=True), 0.0)   # (t, 1)
    shrink = lx / np.maximum(lx + noise_var, 1e-12)
    coords = (_rows(target_disguised.astype(np.float64), mode) - observed.mean(axis=1, keepdims=True)) @ v
    recon = (coords * shrink[:, None, :]) @ u.transpose(0, 2, 1) + public.mean(axis=1, keepdims=True)
    return recon.astype(np.float32).reshape(t, n, b, b)  # raw: the attacker's clean-up clips

"""The cloud's estimate T̂ of the disguise T_K (plain → disguised images), for model theft: with T̂
the cloud turns the model it trained for the owner, which predicts disguised classes of disguised
images, into a classifier of plain images, x ↦ M(T̂(x)).

From m known pairs (level b), per block position, in the disguised image's block order (by the π
the caller gives: its estimate π̂, or the true π for an upper bound):

- RMT: least squares Y_i ≈ X_i R̂_i + c_i (the regression attack's forward fit);
- AES-ECB: the codebook read the other way, plaintext unit → ciphertext unit, misses filled with
  the position's most frequent ciphertext unit;
- block permutation and no disguise: exact, given π.

Without pairs (level a), from the disguised data the cloud holds and public images
(:func:`estimate_disguise_level_a`): orthogonal RMT by covariance matching (R̂_i from the aligned
eigenvectors of public and disguised row covariances, means matched), AES-ECB by the frequency-rank
pairing read the other way (plaintext unit → the ciphertext unit paired with it; a plaintext unit
outside the pairing → the ciphertext of the nearest paired plaintext unit), block permutation by the
jigsaw attack's estimate of π.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from disguisednets.attacks.codebook import codebook_attack
from disguisednets.attacks.covariance import estimate_rotations
from disguisednets.attacks.frequency_rank import lookup, unit_pairings
from disguisednets.attacks.jigsaw import border_value, jigsaw_attack
from disguisednets.attacks.regression import _rows, _with_intercept, forward_fit
from disguisednets.attacks._units import as_units, from_units
from disguisednets.attacks.permutation_estimate import unit_ids
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks
from disguisednets.mechanisms.noise import apply_noise, make_noise_spec

__all__ = ["estimate_disguise", "estimate_disguise_level_a", "known_disguise"]

Disguise = Callable[[np.ndarray], np.ndarray]


def _blockwise(fn: Callable[[np.ndarray], np.ndarray], block_size: int, permutation: np.ndarray) -> Disguise:
    """Plain images → disguised-like images: blocks in disguised order, mapped by ``fn``, placed."""
    def disguise(images: np.ndarray) -> np.ndarray:
        blocks = gather_blocks(np.asarray(images), block_size, permutation)
        return scatter_blocks(fn(blocks).astype(np.float32), images.shape[1:])
    return disguise


def estimate_disguise(mechanism: str, block_size: int, permutation: np.ndarray, known_plain: np.ndarray,
                      known_disguised: np.ndarray, *, unit: int = 1, mode: str = "matrix") -> Disguise:
    """T̂ fitted on the pairs (``known_plain`` (m, H, W) and their disguised images)."""
    b, perm = block_size, permutation
    if mechanism in ("none", "permutation"):
        return _blockwise(lambda blocks: blocks, b, perm)
    plain_blocks = gather_blocks(np.asarray(known_plain), b, perm)
    disguised_blocks = gather_blocks(known_disguised, b)
    if mechanism == "rmt":
        plain_blocks = plain_blocks.astype(np.float64)
        coef = forward_fit(_rows(plain_blocks, mode), _rows(disguised_blocks.astype(np.float64), mode))
        def forward(blocks):  # noqa: E306
            t, n = blocks.shape[:2]
            rows = _with_intercept(_rows(blocks.astype(np.float64), mode)) @ coef
            return rows.reshape(t, n, b, b)
        return _blockwise(forward, b, perm)
    if mechanism in ("aes_ecb", "aes_cbc"):
        # the codebook's lookup compares exact bytes: plain queries in the dtype of the plain pairs
        return _blockwise(lambda blocks: codebook_attack(disguised_blocks, plain_blocks,
                                                         blocks.astype(plain_blocks.dtype), unit=unit,
                                                         miss_fill="mode")[0], b, perm)
    raise ValueError(f"No disguise estimate for mechanism {mechanism!r}.")


def known_disguise(mechanism_object) -> Disguise:
    """T̂ = T_K itself (the key's own disguise, noise included): the cloud's best case."""
    return lambda images: mechanism_object.disguise(images, rng=np.random.default_rng(0))


def _nearest(candidates: np.ndarray, queries: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Index of the nearest (L2) of ``candidates`` (K, u) for each of ``queries`` (Q, u)."""
    c = candidates.astype(np.float32)
    out = np.empty(len(queries), np.int64)
    for s in range(0, len(queries), chunk):  # chunks of queries, each against every candidate at once
        q = queries[s:s + chunk].astype(np.float32)
        out[s:s + chunk] = np.argmin((c ** 2).sum(1)[None] - 2 * q @ c.T, axis=1)
    return out


def _aes_level_a(observed_blocks: np.ndarray, public_blocks: np.ndarray, unit: int) -> Callable:
    pairings = unit_pairings(observed_blocks, public_blocks, unit=unit)
    plain_dtype = public_blocks.dtype

    def forward(blocks):
        blocks = blocks.astype(plain_dtype)
        ids, units = unit_ids(blocks, unit), as_units(blocks, unit)
        out = np.empty(units.shape, np.float32)
        for j, p in enumerate(pairings):  # per block position (≤ 64)
            where, hit = lookup(p.plain_ids, ids[j])
            missed = ~hit
            if missed.any():   # unseen plaintext units: the ciphertext of the nearest paired plaintext unit
                where[missed] = _nearest(p.plain_units, units[j][missed])
            out[j] = p.cipher_units[where]
        return from_units(out, blocks.shape[-1])
    return forward


def estimate_disguise_level_a(mechanism: str, block_size: int, permutation: np.ndarray, observed: np.ndarray,
                              public: np.ndarray, *, mode: str = "matrix", unit: int = 1, noise: dict | None = None,
                              rng: np.random.Generator | None = None) -> Disguise | None:
    """T̂ from the observed disguised images and public originals only; None where there is none. AES-ECB
    pairs units by frequency, so its public images first get noise of the public ``noise`` setting. RMT and AES-ECB use the π the caller gives
    (π̂ or the true π); the permutation's π is estimated here by the jigsaw."""
    b = block_size
    if mechanism == "rmt" and mode == "matrix":
        public_rows = _rows(gather_blocks(public, b, permutation).astype(np.float64), mode)
        observed_rows = _rows(gather_blocks(observed, b).astype(np.float64), mode)
        r_hat = estimate_rotations(public_rows, observed_rows)                 # Y − μ_y ≈ (X − μ_x) R̂
        mu_x, mu_y = public_rows.mean(axis=1, keepdims=True), observed_rows.mean(axis=1, keepdims=True)

        def forward(blocks):
            t, n = blocks.shape[:2]
            return ((_rows(blocks.astype(np.float64), mode) - mu_x) @ r_hat + mu_y).reshape(t, n, b, b)
        return _blockwise(forward, b, permutation)
    if mechanism == "aes_ecb":
        noised = apply_noise(public, make_noise_spec(noise), rng if rng is not None else np.random.default_rng(0))
        return _blockwise(_aes_level_a(gather_blocks(observed, b), gather_blocks(noised, b, permutation), unit),
                          b, permutation)
    if mechanism == "permutation":
        h, w = observed.shape[1:]
        perm_hat = jigsaw_attack(gather_blocks(observed, b), (h // b, w // b), border_value=border_value(public))
        return _blockwise(lambda blocks: blocks, b, perm_hat)
    return None

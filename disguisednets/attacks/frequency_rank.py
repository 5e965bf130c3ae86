"""Frequency-rank attack on AES-ECB, level (a): no known pairs (docs/method.md §4, beyond the paper).

ECB with one key per block position is a fixed bijection on that position's u-pixel units, so it
keeps every unit's frequency and where in the block it occurs, not only the background's. Per
position, the attacker takes the ``top`` most frequent ciphertext units of the disguised data it
holds and the ``top`` most frequent plaintext units of public images at the original position
(noised as the public setting says), describes each by its log frequency and its distribution over
the unit offsets in the block, and pairs them one-to-one (Hungarian assignment on |Δ log frequency| +
``weight`` × squared Hellinger distance of the offset distributions). A target unit found among the
paired ciphertext units becomes its plaintext unit; any other unit becomes the public images' mean
foreground unit at that offset (the frequency attack's silhouette, with grey levels).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.attacks._units import as_units, from_units
from disguisednets.attacks.permutation_estimate import unit_ids

__all__ = ["frequency_rank_attack"]


def _top_profiles(ids: np.ndarray, top: int):
    """(N, M) unit ids of one position → the ``top`` most frequent ids, their log frequency per image,
    their offset distributions (top, M), and for every unit its row among them (or -1)."""
    n, m = ids.shape
    uniq, inverse, counts = np.unique(ids.ravel(), return_inverse=True, return_counts=True)
    keep = np.argsort(-counts, kind="stable")[:top]
    row = np.full(len(uniq), -1)
    row[keep] = np.arange(len(keep))
    r = row[inverse]
    chosen = r >= 0
    offsets = np.tile(np.arange(m), n)[chosen]
    hist = np.bincount(r[chosen] * m + offsets, minlength=len(keep) * m).reshape(len(keep), m)
    return uniq[keep], np.log(counts[keep] / n), hist / counts[keep, None], inverse, row


def frequency_rank_attack(observed_disguised: np.ndarray, public_plain: np.ndarray, target_disguised: np.ndarray,
                          *, unit: int, top: int = 1024, weight: float = 1.0) -> np.ndarray:
    """Disguised blocks (t, N, b, b) the cloud holds, public plain blocks (t, P, b, b) at the original
    positions of the disguised ones, target blocks (t, n, b, b) → reconstructed (t, n, b, b) float32."""
    b = target_disguised.shape[-1]
    observed, target = unit_ids(observed_disguised, unit), unit_ids(target_disguised, unit)
    public_ids = unit_ids(public_plain, unit)
    public_units = as_units(public_plain, unit).astype(np.float32)                # (t, P, M, u)
    t, n, m = target.shape
    out = np.empty((t, n, m, unit), np.float32)
    for j in range(t):  # per block position (≤ 64), vectorized over units and images
        c_ids, c_freq, c_dist, _, _ = _top_profiles(observed[j], top)
        p_ids, p_freq, p_dist, p_inverse, _ = _top_profiles(public_ids[j], top)
        hellinger = np.clip(2 - 2 * np.sqrt(c_dist) @ np.sqrt(p_dist).T, 0, None)
        rows, cols = linear_sum_assignment(np.abs(c_freq[:, None] - p_freq[None, :]) + weight * hellinger)
        first = np.zeros(len(p_ids), np.int64)          # where each chosen public unit first occurs
        flat = public_ids[j].ravel()
        order = np.argsort(flat, kind="stable")
        first[:] = order[np.searchsorted(flat[order], p_ids)]
        plain_of = public_units[j].reshape(-1, unit)[first]                       # (top, u)
        background = p_ids[np.argmax(p_freq)]
        foreground = public_ids[j] != background                                  # (P, M)
        fill = (public_units[j] * foreground[..., None]).sum(0) / np.maximum(foreground.sum(0), 1)[:, None]
        known = c_ids[rows]
        sort = np.argsort(known)
        pos = np.clip(np.searchsorted(known[sort], target[j]), 0, max(len(known) - 1, 0))
        hit = known[sort][pos] == target[j] if len(known) else np.zeros_like(target[j], bool)
        mapped = plain_of[cols[sort][pos]]                                        # (n, M, u)
        out[j] = np.where(hit[..., None], mapped, fill[None])
    return from_units(out, b)

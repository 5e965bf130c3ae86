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

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.attacks._units import as_units, from_units
from disguisednets.attacks.permutation_estimate import unit_ids

__all__ = ["UnitPairing", "frequency_rank_attack", "lookup", "unit_pairings"]


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


@dataclass(frozen=True)
class UnitPairing:
    """One block position's pairing: ``cipher_ids[k]`` (values ``cipher_units[k]``) ↔ ``plain_ids[k]``
    (values ``plain_units[k]``), and the public mean foreground unit per offset for the rest."""

    cipher_ids: np.ndarray    # (K,) int64
    cipher_units: np.ndarray  # (K, u) as the cloud sees them
    plain_ids: np.ndarray     # (K,) int64
    plain_units: np.ndarray   # (K, u) float32
    fill: np.ndarray          # (M, u) float32


def _first_values(ids: np.ndarray, units: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The unit values (K, u) of the ``wanted`` ids, from (N, M) ids and their (N, M, u) values."""
    flat = ids.ravel()
    order = np.argsort(flat, kind="stable")
    return units.reshape(-1, units.shape[-1])[order[np.searchsorted(flat[order], wanted)]]


def unit_pairings(observed_disguised: np.ndarray, public_plain: np.ndarray, *, unit: int, top: int = 1024,
                  weight: float = 1.0) -> list[UnitPairing]:
    """Per position, the ``top`` most frequent ciphertext units paired one-to-one with the ``top`` most
    frequent public plaintext units (blocks (t, N, b, b) and (t, P, b, b), aligned by position)."""
    observed, public = unit_ids(observed_disguised, unit), unit_ids(public_plain, unit)
    observed_units, public_units = as_units(observed_disguised, unit), as_units(public_plain, unit).astype(np.float32)
    pairings = []
    for j in range(observed.shape[0]):  # per block position (≤ 64), vectorized over units and images
        c_ids, c_freq, c_dist, _, _ = _top_profiles(observed[j], top)
        p_ids, p_freq, p_dist, _, _ = _top_profiles(public[j], top)
        hellinger = np.clip(2 - 2 * np.sqrt(c_dist) @ np.sqrt(p_dist).T, 0, None)
        rows, cols = linear_sum_assignment(np.abs(c_freq[:, None] - p_freq[None, :]) + weight * hellinger)
        foreground = public[j] != p_ids[0]                                        # p_ids[0]: the most frequent
        fill = (public_units[j] * foreground[..., None]).sum(0) / np.maximum(foreground.sum(0), 1)[:, None]
        pairings.append(UnitPairing(c_ids[rows], _first_values(observed[j], observed_units[j], c_ids[rows]),
                                    p_ids[cols], _first_values(public[j], public_units[j], p_ids[cols]),
                                    fill.astype(np.float32)))
    return pairings


def lookup(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``queries`` (any shape) is in ``keys`` (K,), and whether it is there at all."""
    if not len(keys):
        return np.zeros(queries.shape, np.int64), np.zeros(queries.shape, bool)
    sort = np.argsort(keys)
    pos = np.clip(np.searchsorted(keys[sort], queries), 0, len(keys) - 1)
    return sort[pos], keys[sort][pos] == queries


def frequency_rank_attack(observed_disguised: np.ndarray, public_plain: np.ndarray, target_disguised: np.ndarray,
                          *, unit: int, top: int = 1024, weight: float = 1.0) -> np.ndarray:
    """Disguised blocks (t, N, b, b) the cloud holds, public plain blocks (t, P, b, b) at the original
    positions of the disguised ones, target blocks (t, n, b, b) → reconstructed (t, n, b, b) float32."""
    b = target_disguised.shape[-1]
    target = unit_ids(target_disguised, unit)
    out = np.empty((*target.shape, unit), np.float32)
    for j, pairing in enumerate(unit_pairings(observed_disguised, public_plain, unit=unit, top=top, weight=weight)):
        where, hit = lookup(pairing.cipher_ids, target[j])
        out[j] = np.where(hit[..., None], pairing.plain_units[where], pairing.fill[None])
    return from_units(out, b)

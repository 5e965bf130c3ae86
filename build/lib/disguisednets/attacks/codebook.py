"""Codebook attack on AES-ECB (paper §IV-B, docs/method.md §4), level (b): m known (original, disguised) pairs.

Per block position, a dictionary from ciphertext unit to plaintext unit, built from the known
pairs; each ciphertext unit of an attacked image is looked up. A miss is filled with zeros, the
most frequent plaintext unit of that position, or a foreground value. Exact lookups on the unit's
values: for u < 16 the "ciphertext unit" is the u averaged values the cloud sees.

Vectorized: one sort of all known units and one binary search of all attacked units.
"""

from __future__ import annotations

import numpy as np

from disguisednets.attacks._units import as_units, from_units, position_keys

__all__ = ["MISS_FILLS", "codebook_attack"]

MISS_FILLS = ("zeros", "mode", "foreground")


def _mode_units(keys_plain: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """(t, M', u) → the most frequent plaintext unit of each position, (t, u)."""
    t = plain.shape[0]
    flat_keys = keys_plain.reshape(t, -1)
    flat_plain = plain.reshape(t, -1, plain.shape[-1])
    out = np.empty((t, plain.shape[-1]), dtype=plain.dtype)
    for j in range(t):  # per block position (≤ 64), not per image
        uniq, first, counts = np.unique(flat_keys[j], return_index=True, return_counts=True)
        out[j] = flat_plain[j, first[np.argmax(counts)]]
    return out


def codebook_attack(known_plain: np.ndarray, known_disguised: np.ndarray, target_disguised: np.ndarray, *,
                    unit: int, miss_fill: str = "mode", foreground_value: float | None = None):
    """Reconstruct the plaintext blocks of ``target_disguised``.

    Parameters
    ----------
    known_plain : (t, m, b, b) uint8
        Original blocks of the known pairs, aligned with the disguised block positions (the
        attacker knows π).
    known_disguised, target_disguised : (t, m, b, b), (t, n, b, b)
        Disguised blocks (uint8 ciphertext for u = 16, float32 averages otherwise).
    unit : int
        Pixels per AES unit.
    miss_fill : {'zeros', 'mode', 'foreground'}
    foreground_value : float, optional
        The fill for 'foreground'; default: the mean non-zero pixel of the known originals.

    Returns
    -------
    blocks : (t, n, b, b) float32 reconstruction; hits : (t, n, M) bool
    """
    if miss_fill not in MISS_FILLS:
        raise ValueError(f"miss_fill must be one of {MISS_FILLS}; got {miss_fill!r}.")
    b = known_plain.shape[-1]
    plain = as_units(known_plain, unit)
    book = position_keys(as_units(known_disguised, unit)).ravel()
    uniq, first = np.unique(book, return_index=True)
    plain_rows = plain.reshape(-1, unit)[first]

    queries = position_keys(as_units(target_disguised, unit))
    idx = np.searchsorted(uniq, queries.ravel())
    idx[idx == len(uniq)] = 0
    hits = (uniq[idx] == queries.ravel()) if len(uniq) else np.zeros(queries.size, bool)

    t, n, m = queries.shape
    if miss_fill == "zeros":
        fill = np.zeros((t, 1, 1, unit), np.float32)
    elif miss_fill == "mode":
        fill = _mode_units(position_keys(plain), plain).astype(np.float32)[:, None, None, :]
    else:
        if foreground_value is None:
            nz = known_plain[known_plain > 0]
            foreground_value = float(nz.mean()) if nz.size else 255.0
        fill = np.full((t, 1, 1, unit), foreground_value, np.float32)
    recon = np.broadcast_to(fill, (t, n, m, unit)).copy()
    hits = hits.reshape(t, n, m)
    recon[hits] = plain_rows[idx.reshape(t, n, m)[hits]]
    return from_units(recon, b), hits

"""Frequency attack on AES-ECB, level (a): no known pairs (docs/method.md §4, beyond the paper).

Under ECB with one key per block position, every all-background unit of a position encrypts to
the same ciphertext, which is therefore that position's most frequent unit across the disguised
dataset. Map it to 0 and every other unit to a foreground value: a silhouette of each image.
"""

from __future__ import annotations

import numpy as np

from disguisednets.attacks._units import as_units, from_units, most_frequent, position_keys

__all__ = ["frequency_attack"]


def frequency_attack(observed_disguised: np.ndarray, target_disguised: np.ndarray, *, unit: int,
                     foreground_value: float = 255.0) -> np.ndarray:
    """Disguised blocks (t, N, b, b) the cloud sees → silhouettes of the targets (t, n, b, b)."""
    b = target_disguised.shape[-1]
    observed = position_keys(as_units(observed_disguised, unit))
    targets = position_keys(as_units(target_disguised, unit))
    background = most_frequent(observed.reshape(observed.shape[0], -1))   # per block position
    is_background = targets == background[:, None, None]
    recon = np.where(is_background[..., None], np.float32(0), np.float32(foreground_value))
    recon = np.broadcast_to(recon, (*targets.shape, unit))
    return from_units(np.ascontiguousarray(recon, dtype=np.float32), b)

"""Unit-level views shared by the ciphertext attacks: per-position lookup keys of pixel units."""

from __future__ import annotations

import numpy as np

__all__ = ["as_units", "from_units", "most_frequent", "position_keys"]


def as_units(blocks: np.ndarray, unit: int) -> np.ndarray:
    """Block-major (t, N, b, b) → (t, N, M, u): the row-major u-pixel units of every block."""
    t, n, b, _ = blocks.shape
    return np.ascontiguousarray(blocks).reshape(t, n, b * b // unit, unit)


def from_units(units: np.ndarray, block_size: int) -> np.ndarray:
    t, n = units.shape[:2]
    return units.reshape(t, n, block_size, block_size)


def position_keys(units: np.ndarray) -> np.ndarray:
    """(t, N, M, u) units → (t, N, M) opaque keys that compare equal iff the block position and
    every value of the unit are equal (exact bytes; for float units, exact float values)."""
    t, n, m, u = units.shape
    data = np.ascontiguousarray(units).reshape(t, n * m, -1).view(np.uint8).reshape(t, n * m, -1)
    pos = np.broadcast_to(np.arange(t, dtype=">u4").view(np.uint8).reshape(t, 1, 4), (t, n * m, 4))
    rows = np.ascontiguousarray(np.concatenate([pos, data], axis=2))
    return rows.view(np.dtype((np.void, rows.shape[2]))).reshape(t, n, m)


def most_frequent(keys: np.ndarray) -> np.ndarray:
    """(R, n) keys → (R,) the most frequent key of each row (a loop over rows — block positions or
    positions × unit offsets, ≤ a few thousand — never over images)."""
    out = np.empty(keys.shape[0], keys.dtype)
    for j, row in enumerate(keys):
        values, counts = np.unique(row, return_counts=True)
        out[j] = values[np.argmax(counts)]
    return out

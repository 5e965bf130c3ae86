"""Unit-level views shared by the ciphertext attacks: per-position lookup keys of pixel units."""

from __future__ import annotations

import numpy as np

__all__ = ["as_units", "position_keys", "from_units"]


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

"""Known-pair attack on key-deterministic block schemes, level (b) (docs/method.md §4 and §6).

A scheme whose key fixes, per block position, which original block lands there and which of a few
bijections it undergoes (the block permutation; EtC's rotation/flip and negative–positive
transformation), or which value of a block goes where (the learnable encryption's shuffle and
flips, one key for every block), gives its key away to anyone holding a few original/disguised
pairs: every candidate is checked against the pairs, and the one that explains them is the key.

* :func:`block_key_from_pairs` — for each disguised position j, the original block i and the variant
  v (one of ``variants``) minimizing Σ_pairs ‖D_j − v(O_i)‖², the blocks assigned one-to-one
  (Hungarian method on the per-pair costs).
* :func:`value_key_from_pairs` — for each disguised value position q of a block, the original value
  position p and flip f (identity or 15 − x) minimizing Σ_{pairs, blocks} (D_q − f(O_p))², one-to-one.

Blank blocks or values that look alike in every pair stay ambiguous; any choice among them explains
the pairs, and the error shows only on images where they differ.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.mechanisms.etc import dihedral, undo_dihedral

__all__ = ["block_key_from_pairs", "value_key_from_pairs", "etc_variants", "apply_block_key", "apply_value_key"]


def etc_variants(blocks: np.ndarray, negative_max: float = 255.0) -> np.ndarray:
    """(m, t, b, b) → (16, m, t, b, b): the 8 rotations/flips of every block, then the same negated."""
    t = blocks.shape[1]
    rot = np.stack([dihedral(blocks, np.full(t, o), axes=(-2, -1)) for o in range(8)])
    return np.concatenate([rot, negative_max - rot])


def _sq_distances(d: np.ndarray, o: np.ndarray) -> np.ndarray:
    """d (J, K), o (V, I, K) → (V, J, I) squared distances."""
    return np.maximum((d * d).sum(-1)[None, :, None] + (o * o).sum(-1)[:, None, :] - 2 * np.einsum("jk,vik->vji", d, o),
                      0)


def block_key_from_pairs(plain_blocks: np.ndarray, disguised_blocks: np.ndarray, variants: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``plain_blocks``/``disguised_blocks`` (m, t, b, b) of the known pairs; ``variants`` (V, m, t, b, b)
    the candidate transforms of the plain blocks (variant 0: as they are). Returns (source, variant):
    disguised position j holds original block ``source[j]`` under variant ``variant[j]``."""
    m, t = disguised_blocks.shape[:2]
    d = disguised_blocks.astype(np.float64).transpose(1, 0, 2, 3).reshape(t, -1)
    o = variants.astype(np.float64).transpose(0, 2, 1, 3, 4).reshape(len(variants), t, -1)
    cost = _sq_distances(d, o)                      # (V, j, i)
    best_v = cost.argmin(0)
    rows, cols = linear_sum_assignment(cost.min(0))
    source = np.empty(t, np.int64)
    source[rows] = cols
    return source, best_v[np.arange(t), source]


def apply_block_key(disguised_blocks: np.ndarray, source: np.ndarray, variant: np.ndarray,
                    negative_max: float = 255.0) -> np.ndarray:
    """Undo an EtC-style key on (N, t, b, b) disguised blocks: variant v = 8·negated + orientation; the
    block at disguised position j goes back to original position ``source[j]``."""
    x = disguised_blocks.astype(np.float32)
    neg = variant >= 8
    x[:, neg] = negative_max - x[:, neg]
    x = undo_dihedral(x, variant % 8, axes=(-2, -1))
    out = np.empty_like(x)
    out[:, source] = x
    return out


def value_key_from_pairs(plain_values: np.ndarray, disguised_values: np.ndarray, flip_max: float = 15.0
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``plain_values``/``disguised_values`` (R, d): the known pairs' blocks as vectors (R = pairs × blocks).
    Returns (source, flipped): disguised value q is original value ``source[q]``, flipped (max − x) where
    ``flipped[q]``."""
    d = disguised_values.astype(np.float64).T                        # (q, R)
    o = plain_values.astype(np.float64).T
    cost = _sq_distances(d, np.stack([o, flip_max - o]))             # (2, q, p)
    rows, cols = linear_sum_assignment(cost.min(0))
    source = np.empty(d.shape[0], np.int64)
    source[rows] = cols
    return source, cost.argmin(0)[np.arange(d.shape[0]), source].astype(bool)


def apply_value_key(disguised_values: np.ndarray, source: np.ndarray, flipped: np.ndarray,
                    flip_max: float = 15.0) -> np.ndarray:
    """Undo a value key on (R, d) disguised block vectors → (R, d) original-order vectors."""
    x = disguised_values.astype(np.float32)
    x[:, flipped] = flip_max - x[:, flipped]
    out = np.empty_like(x)
    out[:, source] = x
    return out

"""Value-frequency attack on any pixelwise block scheme, level (a) (docs/method.md §4, beyond the paper).

A scheme with the traits ``pixelwise`` and ``block_permutation`` sends each pixel through a fixed one-to-one
map of its block position and place in the block, then moves the blocks by π. A one-to-one map changes
*which* values occur, not *how often*: at every (position, place) the sorted value frequencies of the disguised
images are those of the originals. So, with public images of the same domain:

1. **π** — each disguised position's profile (the K largest value frequencies at each place in the block) is
   paired with the public images' profile at each original position (Hungarian assignment);
2. **the maps** — at each paired (position, place), disguised values and public values are paired by frequency
   rank (the most frequent with the most frequent, …), which is exact for the values whose frequencies
   stand apart (the background, saturated strokes) and a guess among values of near-equal frequency.

It needs 8-bit outputs (integers 0..255). The key's maps are never read.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks

__all__ = ["as_8bit", "frequency_profiles", "value_frequency_attack", "value_counts"]


def as_8bit(blocks: np.ndarray, problem: str) -> np.ndarray:
    """``blocks`` as int64 values; ``ValueError(problem)`` unless they are integers in 0..255."""
    x = np.asarray(blocks)
    if x.size and (not np.array_equal(x, np.rint(x)) or x.min() < 0 or x.max() > 255):
        raise ValueError(problem)
    return x.astype(np.int64)


def _as_values(blocks: np.ndarray, what: str) -> np.ndarray:
    return as_8bit(blocks, f"The value_frequency attack reads 8-bit values; the {what} are not integers in 0..255.")


def value_counts(blocks: np.ndarray) -> np.ndarray:
    """Blocks (t, N, b, b) of integers 0..255 → (t, b·b, 256) the share of images with each value at each place."""
    t, n = blocks.shape[:2]
    flat = blocks.reshape(t, n, -1)
    cells = np.arange(t * flat.shape[2]).reshape(t, 1, -1)
    counts = np.bincount((cells * 256 + flat).ravel(), minlength=t * flat.shape[2] * 256)
    return counts.reshape(t, flat.shape[2], 256) / max(n, 1)


def frequency_profiles(counts: np.ndarray, top: int) -> np.ndarray:
    """(t, b·b, 256) value shares → (t, b·b·top) each position's profile: the ``top`` largest shares at each place,
    sorted — what a one-to-one map of each place's values leaves unchanged."""
    return -np.sort(-counts, axis=-1)[..., :top].reshape(len(counts), -1)


def value_frequency_attack(observed: np.ndarray, public: np.ndarray, target: np.ndarray, block_size: int, *,
                           top: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Disguised images the cloud holds (N, H, W), public images (P, H, W) and the targets (n, H, W) →
    (the reconstructions (n, H, W) float32, π̂: the original position of each disguised position)."""
    obs = value_counts(_as_values(gather_blocks(observed, block_size), "disguised images"))
    pub = value_counts(_as_values(gather_blocks(public, block_size), "public images"))
    t = obs.shape[0]
    a, b = frequency_profiles(obs, top), frequency_profiles(pub, top)
    rows, cols = linear_sum_assignment(((a[:, None] - b[None]) ** 2).sum(-1))
    source = np.empty(t, int)
    source[rows] = cols
    rank_obs = np.argsort(-obs, axis=-1, kind="stable")            # (t, b², 256) values, most frequent first
    rank_pub = np.argsort(-pub[source], axis=-1, kind="stable")    # the paired original positions' values
    mapping = np.empty_like(rank_obs)
    np.put_along_axis(mapping, rank_obs, rank_pub, axis=-1)        # disguised value → public value of equal rank
    blocks = _as_values(gather_blocks(target, block_size), "targets")
    n, bs = blocks.shape[1:3]
    cells = np.arange(bs * bs)[None, None, :]
    flat = mapping[np.arange(t)[:, None, None], cells, blocks.reshape(t, n, -1)]
    images = scatter_blocks(flat.reshape(blocks.shape).astype(np.float32), target.shape[1:3], source)
    return images, source

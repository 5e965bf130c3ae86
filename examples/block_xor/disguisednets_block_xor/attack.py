"""The example plugin's own attack: XOR masks read off known pairs (threat level (b)).

It supplies one stage only — undoing each block position. The battery does the rest: it finds the arrangement
π̂ (the example scheme declares itself ``pixelwise`` with a ``block_permutation``, so π is estimated from each
position's value frequencies), cleans up, and scores (tasks/attack.py). One pair gives x ⊕ (x ⊕ K_i) = K_i for
every place of every position; with m pairs, each place takes the mask value most of them agree on.
"""

from __future__ import annotations

import numpy as np

from disguisednets.attacks.registry import Attack, Knowledge, Reconstruction
from disguisednets.mechanisms.blocks import gather_blocks, scatter_blocks

__all__ = ["XOR_PAIRS", "undo_masks"]


def undo_masks(k: Knowledge, options) -> Reconstruction:
    """The undo stage: each disguised position's mask from the pairs, given π̂ (``k.view.permutation``)."""
    v = k.view
    plain = gather_blocks(np.asarray(k.known_plain, np.uint8), v.block_size, v.permutation)   # (t, m, b, b)
    disguised = gather_blocks(np.asarray(k.known_disguised, np.uint8), v.block_size)
    t, m, b, _ = plain.shape
    votes = (plain ^ disguised).reshape(t, m, b * b).astype(np.int64)                    # each pair's mask guess
    cells = np.arange(t * b * b).reshape(t, 1, b * b)
    counts = np.bincount((cells * 256 + votes).ravel(), minlength=t * b * b * 256).reshape(t, b * b, 256)
    mask = counts.argmax(-1).astype(np.uint8).reshape(t, 1, b, b)                         # the value most agree on
    blocks = gather_blocks(np.asarray(k.target, np.uint8), v.block_size) ^ mask
    return Reconstruction(scatter_blocks(blocks, v.image_shape, v.permutation).astype(np.float32), {})


XOR_PAIRS = Attack("xor_pairs", "b", "block_xor: each position's XOR mask read off m known pairs (π̂ from the battery)",
                   undo_masks, needs_pairs=True, places_blocks=True, targets=("block_xor",))

"""A secret XOR mask per block position, then the block permutation (an example scheme, not a recommendation).

Each original block position i has a secret b×b byte mask K_i; a block x at position i becomes x ⊕ K_i, and the
blocks are then permuted by the secret π. It is exactly invertible with the key, keeps 8-bit pixels, and has
one key per block position like the core schemes — so every block attack of DisguisedNets applies to it. (Its
weakness is plain: MNIST's background is 0, so each position's most frequent byte per pixel is K_i itself.)
"""

from __future__ import annotations

import numpy as np

from disguisednets.mechanisms import BlockMechanism
from disguisednets.mechanisms.base import as_bytes

__all__ = ["BlockXOR"]


class BlockXOR(BlockMechanism):
    """Per-position XOR mask, then the block permutation (8-bit pixels in, 8-bit pixels out)."""

    name = "block_xor"
    traits = frozenset({"block_permutation", "pixelwise"})   # what it is: the attacks it meets follow from it

    @classmethod
    def key_arrays(cls, spec):
        arrays = super().key_arrays(spec)
        t, b = arrays["permutation"][0][0], spec["block_size"]
        return arrays | {"mask": ((t, b, b), "u")}

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        arrays = super().draw_key_arrays(spec, rng)
        t, b = len(arrays["permutation"]), spec["block_size"]
        arrays["mask"] = np.frombuffer(rng.bytes(t * b * b), np.uint8).reshape(t, b, b).copy()
        return arrays

    def _transform(self, blocks, positions, rng):
        """Blocks (t, N, b, b), row j from original position ``positions[j]``: XOR with that position's mask."""
        return as_bytes(blocks, "block_xor disguises") ^ self.key.array("mask")[positions][:, None]

    def _inverse(self, blocks, positions):
        return as_bytes(blocks, "block_xor restores") ^ self.key.array("mask")[positions][:, None]

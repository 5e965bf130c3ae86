"""Tanaka's learnable image encryption (docs/method.md §6 "Peers").

After M. Tanaka, "Learnable image encryption", IEEE ICCE-Taiwan 2018. Per M×M block of an 8-bit
image with C channels:

1. each pixel value splits into its upper and lower 4 bits, as 2C channels (upper nibbles of the C
   channels first, then the lower ones): a block becomes a vector of 2C·M² values in 0..15;
2. keyed negative–positive flips: value q of the vector becomes 15 − q where ``negative[q]`` is 1;
3. a keyed shuffle of the vector's 2C·M² values (pixel positions and nibble channels together).

One key for all blocks and all images; blocks stay where they are (no block scrambling). The output
is an (N, H, W, 2C) uint8 image of values 0..15 — for grayscale (N, H, W, 2). Every step is a bijection:
``restore`` gives the 8-bit images back exactly. The network sees it through a block-wise adaptation
layer (:class:`disguisednets.models.BlockAdaptation`). The published scheme has no label map; the key's
is the identity. No noise.
"""

from __future__ import annotations

import numpy as np

from disguisednets.mechanisms import blocks as B
from disguisednets.mechanisms.base import BlockMechanism, as_bytes

__all__ = ["LearnableEncryption", "split_nibbles", "join_nibbles"]


def split_nibbles(blocks: np.ndarray) -> np.ndarray:
    """(..., C) uint8 → (..., 2C): upper 4 bits of each channel, then the lower 4 bits."""
    return np.concatenate([blocks >> 4, blocks & 15], axis=-1)


def join_nibbles(nibbles: np.ndarray) -> np.ndarray:
    """(..., 2C) → (..., C): 16·upper + lower, the inverse of :func:`split_nibbles` (any numeric dtype: 0..15
    nibbles give 0..255, which uint8 holds)."""
    c = nibbles.shape[-1] // 2
    return 16 * nibbles[..., :c] + nibbles[..., c:]


class LearnableEncryption(BlockMechanism):
    """Tanaka's learnable image encryption: nibble split, negative–positive flips, shuffle in the block.

    Example
    -------
    >>> key = generate_key("learnable", (28, 28), block_size=4)
    >>> y = LearnableEncryption(key).disguise(images)   # (N, 28, 28, 2) uint8, values 0..15
    """

    name = "learnable"
    channel_aware = True
    relabels = False

    @property
    def adaptation_block(self) -> int:  # type: ignore[override]
        return self.key.block_size

    @staticmethod
    def _width(spec) -> int:
        c = spec["image_shape"][2] if len(spec["image_shape"]) == 3 else 1
        return 2 * c * spec["block_size"] ** 2

    @classmethod
    def key_arrays(cls, spec):
        d = cls._width(spec)
        return {"label_map": ((spec["n_classes"],), "i"), "shuffle": ((d,), "i"), "negative": ((d,), "i")}

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        d = cls._width(spec)
        return {"label_map": np.arange(spec["n_classes"]), "shuffle": rng.permutation(d),
                "negative": (rng.integers64(d) % 2).astype(np.int64)}

    @property
    def disguised_shape(self) -> tuple[int, ...]:
        h, w = self.image_hw
        return (h, w, 2 * max(self.channels, 1))

    def _disguise_chunk(self, images: np.ndarray, rng=None) -> np.ndarray:
        b = self.key.block_size
        blocks = split_nibbles(B.to_channel_blocks(as_bytes(images, "Learnable encryption disguises"), b))
        n, t = blocks.shape[:2]
        v = blocks.reshape(n, t, self._width(self.key.spec)) ^ (15 * self.key.array("negative")).astype(np.uint8)
        return B.from_channel_blocks(v[..., self.key.array("shuffle")].reshape(blocks.shape), self.image_hw)

    def _restore_chunk(self, disguised: np.ndarray) -> np.ndarray:
        d = as_bytes(disguised, "Learnable encryption restores")
        if d.size and d.max() > 15:
            raise ValueError(f"Disguised images of the learnable encryption hold 4-bit values (0..15); got values up "
                             f"to {d.max()}. Are these images disguised with this key?")
        blocks = B.to_channel_blocks(d, self.key.block_size)
        n, t = blocks.shape[:2]
        d = self._width(self.key.spec)
        v = np.empty((n, t, d), np.uint8)
        v[..., self.key.array("shuffle")] = blocks.reshape(n, t, d)
        v ^= (15 * self.key.array("negative")).astype(np.uint8)
        return B.from_channel_blocks(join_nibbles(v.reshape(blocks.shape)), self.image_hw)

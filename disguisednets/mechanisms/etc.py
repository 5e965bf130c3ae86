"""Block-wise encryption of the Kiya lab's encryption-then-compression (EtC) systems (docs/method.md §6
"Peers"): per block position a keyed block scrambling, rotation and flip, negative–positive
transformation, and, on colour images, colour-component shuffling.

After Kurihara, Kikuchi, Imaizumi, Shiota and Kiya, "An encryption-then-compression system for
JPEG/Motion JPEG standard" (2015), and its use for privacy-preserving DNNs (Sirichotedumrong, Maekawa,
Kinoshita and Kiya, 2019). One key for the dataset: every image is encrypted with the same key
(per block *position*). Step by step, for the block the scrambling brings to position j:

1. block scrambling: position j takes original block π(j);
2. rotation by 90°·(o_j mod 4) and, for o_j ≥ 4, a horizontal flip (o_j ∈ 0..7: the 8 symmetries);
3. negative–positive transformation where n_j = 1: p ↦ 255 − p;
4. colour-component shuffling (C > 1): channel c of the block becomes channel s_j[c].

Every step is a bijection of the block: ``restore`` inverts them exactly. The published scheme has no
label map; the key's is the identity. Pixels are 8-bit (0..255); no noise.
"""

from __future__ import annotations

import numpy as np

from disguisednets.mechanisms import blocks as B
from disguisednets.mechanisms.base import BlockMechanism, as_bytes

__all__ = ["BlockScrambling", "dihedral", "undo_dihedral"]


def dihedral(blocks: np.ndarray, orientation: np.ndarray, axes=(-3, -2)) -> np.ndarray:
    """Rotate block j by 90°·(o mod 4), then flip it left–right where o ≥ 4 (o = ``orientation[j]``);
    ``blocks`` (..., t, b, b, C) with the block axis at position ``axes[0] - 1``: one operation per
    orientation over all images."""
    out = np.empty_like(blocks)
    for o in range(8):
        sel = np.flatnonzero(orientation == o)
        if sel.size:
            x = np.rot90(np.take(blocks, sel, axis=axes[0] - 1), k=o % 4, axes=axes)
            out[(slice(None),) * (blocks.ndim + axes[0] - 1) + (sel,)] = np.flip(x, axis=axes[1]) if o >= 4 else x
    return out


# The symmetry that undoes each: a rotation by k turns back by 4 − k; a rotation followed by a flip is a
# reflection, its own inverse.
_INVERSE = np.array([0, 3, 2, 1, 4, 5, 6, 7])


def undo_dihedral(blocks: np.ndarray, orientation: np.ndarray, axes=(-3, -2)) -> np.ndarray:
    """The inverse of :func:`dihedral`."""
    return dihedral(blocks, _INVERSE[orientation], axes=axes)


class BlockScrambling(BlockMechanism):
    """EtC block-wise encryption: scrambling, rotation/flip, negative–positive, colour shuffle.

    Example
    -------
    >>> key = generate_key("etc", (32, 32, 3), block_size=4)
    >>> y = BlockScrambling(key).disguise(images)    # (N, 32, 32, 3) uint8
    """

    name = "etc"
    channel_aware = True
    traits = frozenset({"block_permutation", "pixel_blocks"})
    relabels = False

    @classmethod
    def key_arrays(cls, spec):
        arrays = super().key_arrays(spec)
        t = arrays["permutation"][0][0]
        c = spec["image_shape"][2] if len(spec["image_shape"]) == 3 else 1
        return arrays | {"orientation": ((t,), "i"), "negative": ((t,), "i"), "channel_order": ((t, c), "i")}

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        arrays = super().draw_key_arrays(spec, rng)
        t = len(arrays["permutation"])
        c = spec["image_shape"][2] if len(spec["image_shape"]) == 3 else 1
        # 64-bit draws reduced mod 8 and mod 2: uniform (8 and 2 divide 2^64)
        arrays["orientation"] = (rng.integers64(t) % 8).astype(np.int64)
        arrays["negative"] = (rng.integers64(t) % 2).astype(np.int64)
        arrays["channel_order"] = np.argsort(rng.integers64((t, c)), axis=1).astype(np.int64)
        return arrays

    def _parts(self):
        k = self.key
        return (k.array("permutation"), k.array("orientation"), k.array("negative").astype(bool),
                k.array("channel_order"))

    def _disguise_chunk(self, images: np.ndarray, rng=None) -> np.ndarray:
        perm, orient, neg, order = self._parts()
        blocks = B.to_channel_blocks(as_bytes(images, "EtC disguises"), self.key.block_size)[:, perm]  # (N, t, b, b, C)
        blocks = dihedral(blocks, orient)
        blocks[:, neg] = 255 - blocks[:, neg]
        blocks = np.take_along_axis(blocks, np.argsort(order, axis=1)[None, :, None, None, :], axis=-1)
        return B.from_channel_blocks(blocks, self.image_hw)

    def _restore_chunk(self, disguised: np.ndarray) -> np.ndarray:
        perm, orient, neg, order = self._parts()
        blocks = B.to_channel_blocks(as_bytes(disguised, "EtC restores"), self.key.block_size)
        blocks = np.take_along_axis(blocks, order[None, :, None, None, :], axis=-1)
        blocks[:, neg] = 255 - blocks[:, neg]
        blocks = undo_dihedral(blocks, orient)
        return B.from_channel_blocks(blocks[:, np.argsort(perm)], self.image_hw)

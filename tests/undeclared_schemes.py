"""Schemes written from docs/plugins.md alone that declare no trait: what the battery finds in them is what its
probe measured (tests/test_probe.py)."""

import numpy as np

from disguisednets.mechanisms import BlockMechanism
from disguisednets.mechanisms.base import as_bytes


def _bijections(rng, shape, values: int) -> np.ndarray:
    """Independent random bijections of 0..values-1, one per leading index: (…, values) int."""
    return np.argsort(rng.uniform((*shape, values)), axis=-1)


class PixelBijection(BlockMechanism):
    """A secret bijection of the 8-bit values at each place of each block position, then the block permutation."""

    name = "pixel_bijection"

    @classmethod
    def key_arrays(cls, spec):
        arrays = super().key_arrays(spec)
        t, b = arrays["permutation"][0][0], spec["block_size"]
        return arrays | {"tables": ((t, b * b, 256), "u")}

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        arrays = super().draw_key_arrays(spec, rng)
        t, b = len(arrays["permutation"]), spec["block_size"]
        arrays["tables"] = _bijections(rng, (t, b * b), 256).astype(np.uint8)
        return arrays

    def _transform(self, blocks, positions, rng):
        t, n, b, _ = blocks.shape
        lut = self.key.array("tables")[positions].reshape(t, 1, b * b * 256)
        index = as_bytes(blocks, "pixel_bijection disguises").reshape(t, n, b * b) + 256 * np.arange(b * b)
        return np.take_along_axis(lut, index, axis=2).reshape(t, n, b, b)


class BothSides(BlockMechanism):
    """Each block multiplied on both sides by secret orthogonal matrices, L_i X R_i, then the block permutation."""

    name = "both_sides"

    @classmethod
    def key_arrays(cls, spec):
        arrays = super().key_arrays(spec)
        t, b = arrays["permutation"][0][0], spec["block_size"]
        return arrays | {"left": ((t, b, b), "f"), "right": ((t, b, b), "f")}

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        arrays = super().draw_key_arrays(spec, rng)
        t, b = len(arrays["permutation"]), spec["block_size"]
        for name in ("left", "right"):
            q, r = np.linalg.qr(rng.normal((t, b, b)))
            arrays[name] = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
        return arrays

    def _transform(self, blocks, positions, rng):
        left, right = self.key.array("left")[positions], self.key.array("right")[positions]
        return np.einsum("tij,tnjk,tkl->tnil", left, np.asarray(blocks, np.float64), right).astype(np.float32)

    def _inverse(self, blocks, positions):
        left, right = self.key.array("left")[positions], self.key.array("right")[positions]
        return np.einsum("tji,tnjk,tlk->tnil", left, np.asarray(blocks, np.float64), right)


class UnitCodebook(BlockMechanism):
    """A secret codebook per block position on 2-pixel units (a bijection of the 65,536 unit values), then the block
    permutation: ECB with 2-pixel units, without AES."""

    name = "unit_codebook"

    @classmethod
    def key_arrays(cls, spec):
        arrays = super().key_arrays(spec)
        return arrays | {"codebooks": ((arrays["permutation"][0][0], 65536), "i")}

    @classmethod
    def draw_key_arrays(cls, spec, rng):
        arrays = super().draw_key_arrays(spec, rng)
        arrays["codebooks"] = _bijections(rng, (len(arrays["permutation"]),), 65536)
        return arrays

    def _transform(self, blocks, positions, rng):
        t, n, b, _ = blocks.shape
        units = as_bytes(blocks, "unit_codebook disguises").reshape(t, n, b * b // 2, 2).astype(np.int64)
        code = np.take_along_axis(self.key.array("codebooks")[positions][:, None, :],
                                  (256 * units[..., 0] + units[..., 1]).reshape(t, 1, -1), axis=2).reshape(units.shape[:3])
        return np.stack([code // 256, code % 256], axis=-1).astype(np.uint8).reshape(t, n, b, b)


UNDECLARED = (PixelBijection, BothSides, UnitCodebook)
